//! Every security protocol and muxer a node runs, negotiated between two nodes over loopback,
//! and the builder's restrictions honoured.

use hyphae::{Event, Multiaddr, Multiplexer, Node, Security, Stream};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const ECHO: &str = "/echo/1.0.0";

fn tcp_loopback() -> Multiaddr {
    "/ip4/127.0.0.1/tcp/0".parse().unwrap()
}

/// A listen address of every transport that upgrades connections, on loopback.
fn upgraded_transports() -> [Multiaddr; 2] {
    [tcp_loopback(), "/ip4/127.0.0.1/tcp/0/ws".parse().unwrap()]
}

async fn echo(mut stream: Stream) {
    let (mut reader, mut writer) = tokio::io::split(&mut stream);
    if tokio::io::copy(&mut reader, &mut writer).await.is_ok() {
        let _ = writer.shutdown().await;
    }
}

/// Dials `server` and returns the security protocol and muxer the connection runs.
async fn connect(client: &Node, server: &Node) -> (Option<Security>, Option<Multiplexer>) {
    let mut events = client.events();
    let peer = client.dial(&server.listen_addrs()[0]).await.unwrap();
    loop {
        match events.recv().await.unwrap() {
            Event::ConnectionEstablished {
                peer: established,
                security,
                muxer,
                ..
            } if established == peer => return (security, muxer),
            _ => {}
        }
    }
}

/// Opens `streams` concurrent streams from `client` to `server`, echoing 256 KiB on each.
async fn echo_many(client: &Node, server: &Node, streams: usize) {
    let peer = server.peer_id();
    let tasks: Vec<_> = (0..streams)
        .map(|index| {
            let client = client.clone();
            tokio::spawn(async move {
                let payload: Vec<u8> = (0..256 * 1024).map(|i| (i * 7 + index) as u8).collect();
                let mut stream = client.open_stream(peer, ECHO).await.unwrap();
                let (mut reader, mut writer) = tokio::io::split(&mut stream);
                let send = async {
                    writer.write_all(&payload).await.unwrap();
                    writer.shutdown().await.unwrap();
                };
                let mut received = Vec::new();
                let receive = reader.read_to_end(&mut received);
                let ((), read) = tokio::join!(send, receive);
                read.unwrap();
                assert!(received == payload, "stream {index} echoed other bytes");
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
}

async fn node(security: &[Security], muxers: &[Multiplexer], listen: Option<Multiaddr>) -> Node {
    let mut builder = Node::builder()
        .security(security.iter().copied())
        .muxers(muxers.iter().copied());
    if let Some(addr) = listen {
        builder = builder.listen(addr);
    }
    let node = builder.start().await.unwrap();
    node.handle(ECHO, echo);
    node
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_security_and_muxer_pair_carries_streams() {
    for (security, muxer, listen) in Security::ALL.into_iter().flat_map(|security| {
        Multiplexer::ALL
            .into_iter()
            .flat_map(move |muxer| upgraded_transports().map(|listen| (security, muxer, listen)))
    }) {
        {
            // The server runs only this pair; the client offers everything, so the
            // negotiation has to find it.
            let server = node(&[security], &[muxer], Some(listen)).await;
            let client = node(&Security::ALL, &Multiplexer::ALL, None).await;
            assert_eq!(
                connect(&client, &server).await,
                (Some(security), Some(muxer))
            );
            echo_many(&client, &server, 32).await;
            let peer = server.peer_id();
            assert!(
                client.ping(peer).await.is_ok(),
                "{security:?}/{muxer:?} ping"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn muxer_preference_order_is_the_dialers() {
    // Both run both muxers, in opposite orders: the dialer's first choice wins in
    // multistream-select and in the early negotiation inside the handshake alike.
    let server = node(
        &Security::ALL,
        &[Multiplexer::Mplex, Multiplexer::Yamux],
        Some(tcp_loopback()),
    )
    .await;
    let client = node(
        &Security::ALL,
        &[Multiplexer::Yamux, Multiplexer::Mplex],
        None,
    )
    .await;
    assert_eq!(connect(&client, &server).await.1, Some(Multiplexer::Yamux));
    echo_many(&client, &server, 8).await;
    let client = node(
        &Security::ALL,
        &[Multiplexer::Mplex, Multiplexer::Yamux],
        None,
    )
    .await;
    assert_eq!(connect(&client, &server).await.1, Some(Multiplexer::Mplex));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_common_muxer_fails_the_dial() {
    let server = node(&Security::ALL, &[Multiplexer::Yamux], Some(tcp_loopback())).await;
    let client = node(&Security::ALL, &[Multiplexer::Mplex], None).await;
    let result = client.dial(&server.listen_addrs()[0]).await;
    assert!(result.is_err(), "dial succeeded without a common muxer");
    assert!(!client.is_connected(&server.peer_id()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_lists_are_refused_by_the_builder() {
    let error = Node::builder().muxers([]).start().await.err().unwrap();
    assert!(error.to_string().contains("stream multiplexer"), "{error}");
    let error = Node::builder().security([]).start().await.err().unwrap();
    assert!(error.to_string().contains("security protocol"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secure_websocket_with_a_certificate_the_client_trusts() {
    let certified =
        rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    let cert = certified.cert.der().clone();
    let key = hyphae::websocket::rustls::pki_types::PrivateKeyDer::Pkcs8(
        certified.key_pair.serialize_der().into(),
    );
    let mut roots = hyphae::websocket::rustls::RootCertStore::empty();
    roots.add(cert.clone()).unwrap();
    let mut config = hyphae::websocket::Config::default();
    config.tls.server =
        Some(hyphae::websocket::TlsConfig::server_with_cert(vec![cert], key).unwrap());
    config.tls.client = Some(hyphae::websocket::TlsConfig::client_with_roots(roots).unwrap());

    let server = Node::builder()
        .websocket(config.clone())
        .listen("/ip4/127.0.0.1/tcp/0/wss".parse().unwrap())
        .start()
        .await
        .unwrap();
    server.handle(ECHO, echo);
    let listen = server.listen_addrs()[0].clone();
    assert!(listen.to_string().contains("/wss/p2p/"), "{listen}");
    let client = Node::builder().websocket(config).start().await.unwrap();
    connect(&client, &server).await;
    echo_many(&client, &server, 4).await;

    // Without the certificate among its roots, the dial fails in the TLS handshake.
    let untrusting = Node::builder().start().await.unwrap();
    assert!(untrusting.dial(&listen).await.is_err());
}

fn quic_loopback() -> Multiaddr {
    "/ip4/127.0.0.1/udp/0/quic-v1".parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quic_connections_carry_streams_without_an_upgrade() {
    let server = node(&Security::ALL, &Multiplexer::ALL, Some(quic_loopback())).await;
    let listen = server.listen_addrs()[0].clone();
    assert!(listen.to_string().contains("/udp/"), "{listen}");
    let client = node(&Security::ALL, &Multiplexer::ALL, Some(quic_loopback())).await;
    let mut server_events = server.events();
    assert_eq!(connect(&client, &server).await, (None, None));
    echo_many(&client, &server, 32).await;
    assert!(client.ping(server.peer_id()).await.is_ok());
    // The client listens too, so its dial left from its listening socket (spec: one socket
    // per address, reused for dials), which is where the server sees it coming from.
    let seen_from = loop {
        if let Event::ConnectionEstablished {
            peer, remote_addr, ..
        } = server_events.recv().await.unwrap()
            && peer == client.peer_id()
        {
            break remote_addr;
        }
    };
    assert_eq!(udp_port(&seen_from), udp_port(&client.listen_addrs()[0]));
}

fn udp_port(addr: &Multiaddr) -> u16 {
    addr.iter()
        .find_map(|protocol| match protocol {
            hyphae::Protocol::Udp(port) => Some(port),
            _ => None,
        })
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quic_refuses_the_wrong_peer_id() {
    let server = node(&Security::ALL, &Multiplexer::ALL, Some(quic_loopback())).await;
    let client = node(&Security::ALL, &Multiplexer::ALL, None).await;
    let mut addr = server.listen_addrs()[0].clone();
    addr.pop();
    let impostor = hyphae::PeerId::random();
    let wrong = addr.clone().with_p2p(impostor).unwrap();
    assert!(client.dial(&wrong).await.is_err());
    assert!(!client.is_connected(&server.peer_id()));
    // The same through the peerstore, whose addresses carry no /p2p/ part.
    client.peerstore().add_addrs(impostor, [addr]);
    assert!(client.dial_peer(impostor).await.is_err());
    assert!(client.connected_peers().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_node_serves_every_transport_at_once() {
    let server = Node::builder()
        .listen(tcp_loopback())
        .listen("/ip4/127.0.0.1/tcp/0/ws".parse().unwrap())
        .listen(quic_loopback())
        .start()
        .await
        .unwrap();
    server.handle(ECHO, echo);
    assert_eq!(server.listen_addrs().len(), 3);
    for addr in server.listen_addrs() {
        let client = Node::builder().start().await.unwrap();
        assert_eq!(
            client.dial(&addr).await.unwrap(),
            server.peer_id(),
            "{addr}"
        );
        echo_many(&client, &server, 4).await;
    }
}
