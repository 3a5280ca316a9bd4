//! hyphae to hyphae over loopback: authentication, streams, half-close, socket reuse.

use std::time::Duration;

use hyphae_identity::{Keypair, PeerId};
use hyphae_multiaddr::Multiaddr;
use hyphae_quic::{Config, Connection, Endpoint, Error};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn addr(text: &str) -> Multiaddr {
    text.parse().unwrap()
}

fn endpoint() -> Endpoint {
    Endpoint::new(&Keypair::generate_ed25519(), Config::default()).unwrap()
}

async fn listening(on: &str) -> (Endpoint, Multiaddr) {
    listening_with(on, Config::default()).await
}

/// An endpoint with `config`, listening on `on`, and its address.
async fn listening_with(on: &str, config: Config) -> (Endpoint, Multiaddr) {
    let endpoint = Endpoint::new(&Keypair::generate_ed25519(), config).unwrap();
    let listen = endpoint.listen(&addr(on)).await.unwrap();
    (endpoint, listen)
}

/// Dials `listener` from `dialer` and returns both ends of the connection.
async fn connect(
    dialer: &Endpoint,
    listener: &Endpoint,
    to: &Multiaddr,
) -> (Connection, Connection) {
    let target = to.clone().with_p2p(listener.local_peer_id()).unwrap();
    let (dialled, accepted) = tokio::join!(dialer.dial(&target), listener.accept());
    (dialled.unwrap(), accepted.unwrap())
}

/// Echoes every stream the peer opens on `connection` until it closes.
fn serve_echo(connection: Connection) {
    tokio::spawn(async move {
        while let Some(mut stream) = connection.accept().await {
            tokio::spawn(async move {
                let mut data = Vec::new();
                stream.read_to_end(&mut data).await.unwrap();
                stream.write_all(&data).await.unwrap();
                stream.shutdown().await.unwrap();
            });
        }
    });
}

#[tokio::test]
async fn both_sides_authenticate_each_other() {
    let (listener, listen) = listening("/ip4/127.0.0.1/udp/0/quic-v1").await;
    let dialer = endpoint();
    let (dialled, accepted) = connect(&dialer, &listener, &listen).await;
    assert_eq!(dialled.remote_peer(), listener.local_peer_id());
    assert_eq!(accepted.remote_peer(), dialer.local_peer_id());
    assert_eq!(dialled.remote_addr(), listen);
    assert_eq!(
        accepted.remote_public_key().to_peer_id(),
        dialer.local_peer_id()
    );
}

#[tokio::test]
async fn every_key_type_authenticates() {
    let (listener, listen) = listening("/ip4/127.0.0.1/udp/0/quic-v1").await;
    for key_type in hyphae_identity::KeyType::ALL {
        let identity = Keypair::generate(key_type).unwrap();
        let dialer = Endpoint::new(&identity, Config::default()).unwrap();
        let (dialled, accepted) = connect(&dialer, &listener, &listen).await;
        assert_eq!(accepted.remote_peer(), identity.peer_id(), "{key_type:?}");
        assert_eq!(dialled.remote_peer(), listener.local_peer_id());
    }
}

#[tokio::test]
async fn dial_rejects_a_listener_with_another_peer_id() {
    let (listener, listen) = listening("/ip4/127.0.0.1/udp/0/quic-v1").await;
    let dialer = endpoint();
    let expected = PeerId::random();
    let target = listen.with_p2p(expected).unwrap();
    match dialer.dial(&target).await {
        Err(Error::PeerIdMismatch {
            expected: e,
            actual,
        }) => {
            assert_eq!(e, expected);
            assert_eq!(actual, listener.local_peer_id());
        }
        other => panic!("expected PeerIdMismatch, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_concurrent_streams_echo() {
    let (listener, listen) = listening("/ip4/127.0.0.1/udp/0/quic-v1").await;
    let dialer = endpoint();
    let (dialled, accepted) = connect(&dialer, &listener, &listen).await;
    serve_echo(accepted);
    let mut tasks = Vec::new();
    for index in 0..300u32 {
        let connection = dialled.clone();
        tasks.push(tokio::spawn(async move {
            let mut stream = connection.open_stream().await.unwrap();
            let data: Vec<u8> = (0..20_000u32).map(|i| (i * 7 + index) as u8).collect();
            stream.write_all(&data).await.unwrap();
            stream.shutdown().await.unwrap();
            let mut echoed = Vec::new();
            stream.read_to_end(&mut echoed).await.unwrap();
            assert_eq!(echoed, data);
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_peer_may_hold_the_configured_streams_open_granted_as_it_opens_them() {
    const MAX: u32 = 200;
    const { assert!(MAX > 2 * hyphae_quic::INITIAL_STREAM_CREDIT) };
    let mut config = Config::default();
    config.max_concurrent_streams = MAX;
    let (listener, listen) = listening_with("/ip4/127.0.0.1/udp/0/quic-v1", config).await;
    let dialer = endpoint();
    let (dialled, accepted) = connect(&dialer, &listener, &listen).await;
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while held.len() < MAX as usize {
            let mut stream = accepted.accept().await.unwrap();
            stream.read_exact(&mut [0]).await.unwrap();
            held.push(stream);
        }
        (accepted, held)
    });

    // Every stream stays open: the peer's limit must grow past its first grant to MAX.
    let mut opened = Vec::new();
    for _ in 0..MAX {
        let open = tokio::time::timeout(Duration::from_secs(10), dialled.open_stream());
        let mut stream = open.await.expect("the limit grew").unwrap();
        stream.write_all(&[1]).await.unwrap();
        opened.push(stream);
    }
    let (_accepted, held) = holder.await.unwrap();
    assert_eq!(held.len(), MAX as usize);
    // And no further.
    let beyond = tokio::time::timeout(Duration::from_millis(500), dialled.open_stream()).await;
    assert!(beyond.is_err(), "a stream beyond the limit opened");
}

/// Echoes 8 MiB on one stream of `dialled` (served by [`serve_echo`]) and checks every byte.
async fn echo_8_mib(dialled: &Connection) {
    let mut stream = dialled.open_stream().await.unwrap();
    let data = vec![0xa5u8; 8 * 1024 * 1024];
    let (mut read, mut write) = tokio::io::split(&mut stream);
    let sender = async {
        write.write_all(&data).await.unwrap();
        write.shutdown().await.unwrap();
    };
    let receiver = async {
        let mut echoed = Vec::new();
        read.read_to_end(&mut echoed).await.unwrap();
        echoed
    };
    let ((), echoed) = tokio::join!(sender, receiver);
    assert_eq!(echoed.len(), data.len());
    assert!(echoed == data);
}

#[tokio::test]
async fn large_transfer_on_one_stream() {
    let (listener, listen) = listening("/ip4/127.0.0.1/udp/0/quic-v1").await;
    let dialer = endpoint();
    let (dialled, accepted) = connect(&dialer, &listener, &listen).await;
    // Loopback carries 64 KiB datagrams: both ends start at the configured 6000 bytes
    // rather than probing up from 1200.
    assert_eq!((dialled.path_mtu(), accepted.path_mtu()), (6000, 6000));
    serve_echo(accepted);
    echo_8_mib(&dialled).await;
    // No packet of that size was lost (which would have sent it back to 1200).
    assert_eq!(dialled.path_mtu(), 6000);
}

/// The host's own address on its default route: traffic to it stays on the host (the
/// kernel's local routes), but it is no loopback address.
fn own_network_address() -> std::net::IpAddr {
    let socket = std::net::UdpSocket::bind("0.0.0.0:0").unwrap();
    // Connecting a UDP socket sends nothing; it only picks the route and source address.
    socket
        .connect("198.51.100.1:9")
        .expect("this test needs an IPv4 default route (a non-loopback address)");
    socket.local_addr().unwrap().ip()
}

#[tokio::test]
async fn other_paths_probe_no_further_than_the_upper_bound() {
    let ip = own_network_address();
    assert!(!ip.is_loopback(), "{ip}");
    let (listener, listen) = listening(&format!("/ip4/{ip}/udp/0/quic-v1")).await;
    let dialer = endpoint();
    let (dialled, accepted) = connect(&dialer, &listener, &listen).await;
    assert_eq!(dialled.path_mtu(), 1200, "starts at QUIC's minimum");
    serve_echo(accepted);
    echo_8_mib(&dialled).await;
    // The path would carry 6000 (it is the host's own); discovery climbs to the upper bound
    // (1452 by default) and no further.
    tokio::time::timeout(Duration::from_secs(5), async {
        while dialled.path_mtu() < 1440 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("path MTU stayed at {}", dialled.path_mtu()));
    assert!(
        dialled.path_mtu() <= 1452,
        "path MTU {}",
        dialled.path_mtu()
    );
}

#[test]
fn udp_payload_sizes_that_quinn_cannot_send_are_refused() {
    let keypair = Keypair::generate_ed25519();
    let payload = |size| {
        let mut config = Config::default();
        config.max_udp_payload_size = size;
        config
    };
    // The probing bound needs QUIC's minimum; above the payload size it is capped by it.
    let probing = |bound| {
        let mut config = Config::default();
        config.mtu_discovery_upper_bound = bound;
        config
    };
    for (config, accepted) in [
        (payload(1199), false),
        (payload(1200), true),
        (payload(6500), true),
        (payload(6501), false),
        (probing(1199), false),
        (probing(1200), true),
        (probing(9000), true),
    ] {
        let result = Endpoint::new(&keypair, config.clone());
        assert_eq!(result.is_ok(), accepted, "{config:?}: {result:?}");
        if !accepted {
            assert!(matches!(result, Err(Error::InvalidConfig(_))));
        }
    }
}

#[tokio::test]
async fn half_closed_stream_still_carries_the_reply() {
    let (listener, listen) = listening("/ip4/127.0.0.1/udp/0/quic-v1").await;
    let dialer = endpoint();
    let (dialled, accepted) = connect(&dialer, &listener, &listen).await;

    let mut outbound = dialled.open_stream().await.unwrap();
    outbound.write_all(b"request").await.unwrap();
    outbound.shutdown().await.unwrap();

    let mut inbound = accepted.accept().await.unwrap();
    let mut request = Vec::new();
    inbound.read_to_end(&mut request).await.unwrap();
    assert_eq!(request, b"request");
    // Our side has seen end of stream; it can still write.
    inbound.write_all(b"response").await.unwrap();
    inbound.shutdown().await.unwrap();

    let mut response = Vec::new();
    outbound.read_to_end(&mut response).await.unwrap();
    assert_eq!(response, b"response");
}

#[tokio::test]
async fn dropping_a_stream_mid_write_resets_it() {
    let (listener, listen) = listening("/ip4/127.0.0.1/udp/0/quic-v1").await;
    let dialer = endpoint();
    let (dialled, accepted) = connect(&dialer, &listener, &listen).await;
    let mut outbound = dialled.open_stream().await.unwrap();
    outbound.write_all(b"partial").await.unwrap();
    let mut inbound = accepted.accept().await.unwrap();
    drop(outbound);
    let mut received = Vec::new();
    let result = inbound.read_to_end(&mut received).await;
    assert!(result.is_err(), "a reset stream must not read as complete");
}

#[tokio::test]
async fn dial_reuses_the_listening_socket() {
    let (listener, listen) = listening("/ip4/127.0.0.1/udp/0/quic-v1").await;
    let (dialer, dialer_listen) = listening("/ip4/127.0.0.1/udp/0/quic-v1").await;
    let (_dialled, accepted) = connect(&dialer, &listener, &listen).await;
    assert_eq!(accepted.remote_addr(), dialer_listen);

    // An unspecified listener serves dials to loopback too.
    let (wildcard, wildcard_listen) = listening("/ip4/0.0.0.0/udp/0/quic-v1").await;
    let (_dialled, accepted) = connect(&wildcard, &listener, &listen).await;
    let port = wildcard.listen_socket_addrs()[0].port();
    assert_eq!(accepted.remote_socket_addr().port(), port);
    assert!(wildcard_listen.to_string().starts_with("/ip4/0.0.0.0/udp/"));

    // Without a listener, dials come from an ephemeral port, the same one every time.
    let client = endpoint();
    let (_first, first) = connect(&client, &listener, &listen).await;
    let (_second, second) = connect(&client, &listener, &listen).await;
    assert_eq!(first.remote_addr(), second.remote_addr());
}

#[tokio::test]
async fn listen_addrs_expand_the_unspecified_address() {
    let (endpoint, listen) = listening("/ip4/0.0.0.0/udp/0/quic-v1").await;
    let port = endpoint.listen_socket_addrs()[0].port();
    assert_ne!(port, 0);
    assert!(
        listen
            .to_string()
            .ends_with(&format!("/udp/{port}/quic-v1"))
    );
    let loopback = addr(&format!("/ip4/127.0.0.1/udp/{port}/quic-v1"));
    assert!(endpoint.listen_addrs().contains(&loopback));
}

#[tokio::test]
async fn ipv6_loopback_works_when_available() {
    if std::net::UdpSocket::bind("[::1]:0").is_err() {
        eprintln!("no IPv6 loopback here; skipping");
        return;
    }
    let (listener, listen) = listening("/ip6/::1/udp/0/quic-v1").await;
    let (dialer, dialer_listen) = listening("/ip6/::1/udp/0/quic-v1").await;
    // The same port is free on IPv4 too: IPv6 sockets are IPv6-only.
    let port = dialer.listen_socket_addrs()[0].port();
    dialer
        .listen(&addr(&format!("/ip4/127.0.0.1/udp/{port}/quic-v1")))
        .await
        .unwrap();
    let (dialled, accepted) = connect(&dialer, &listener, &listen).await;
    assert_eq!(accepted.remote_addr(), dialer_listen);
    serve_echo(accepted);
    let mut stream = dialled.open_stream().await.unwrap();
    stream.write_all(b"v6").await.unwrap();
    stream.shutdown().await.unwrap();
    let mut echoed = Vec::new();
    stream.read_to_end(&mut echoed).await.unwrap();
    assert_eq!(echoed, b"v6");
}

#[tokio::test]
async fn closing_ends_streams_and_accept() {
    let (listener, listen) = listening("/ip4/127.0.0.1/udp/0/quic-v1").await;
    let dialer = endpoint();
    let (dialled, accepted) = connect(&dialer, &listener, &listen).await;
    dialled.close();
    assert!(dialled.is_closed());
    assert!(accepted.accept().await.is_none());
    assert!(accepted.is_closed());
    assert!(dialled.open_stream().await.is_err());

    listener.close();
    assert!(listener.accept().await.is_none());
    assert!(matches!(
        listener.listen(&addr("/ip4/127.0.0.1/udp/0/quic-v1")).await,
        Err(Error::EndpointClosed)
    ));
}

#[tokio::test]
async fn dialing_a_silent_address_times_out() {
    // A bound UDP socket that never answers.
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let mut config = Config::default();
    config.handshake_timeout = Duration::from_millis(300);
    let dialer = Endpoint::new(&Keypair::generate_ed25519(), config).unwrap();
    let result = dialer
        .dial(&addr(&format!("/ip4/127.0.0.1/udp/{port}/quic-v1")))
        .await;
    assert!(
        matches!(result, Err(Error::HandshakeTimeout { .. })),
        "{result:?}"
    );
}

#[tokio::test]
async fn unsupported_addresses_are_refused() {
    let endpoint = endpoint();
    for text in [
        "/ip4/127.0.0.1/tcp/1",
        "/ip4/127.0.0.1/udp/1/quic",
        "/ip4/127.0.0.1/udp/1",
    ] {
        assert!(matches!(
            endpoint.dial(&addr(text)).await,
            Err(Error::UnsupportedAddress { .. })
        ));
        assert!(matches!(
            endpoint.listen(&addr(text)).await,
            Err(Error::UnsupportedAddress { .. })
        ));
    }
}

#[tokio::test]
async fn dials_dns_names() {
    let (listener, listen) = listening("/ip4/127.0.0.1/udp/0/quic-v1").await;
    let port = listener.listen_socket_addrs()[0].port();
    let dialer = endpoint();
    let target = addr(&format!("/dns4/localhost/udp/{port}/quic-v1"));
    let (dialled, accepted) = tokio::join!(dialer.dial(&target), listener.accept());
    assert_eq!(dialled.unwrap().remote_peer(), listener.local_peer_id());
    assert_eq!(accepted.unwrap().remote_peer(), dialer.local_peer_id());
    let _ = listen;
}

/// A client's first datagram (its Initial), caught by a socket posing as a listener.
async fn an_initial_packet() -> Vec<u8> {
    let catcher = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let port = catcher.local_addr().unwrap().port();
    let someone = Keypair::generate_ed25519().peer_id();
    let target = addr(&format!("/ip4/127.0.0.1/udp/{port}/quic-v1/p2p/{someone}"));
    let dialer = endpoint();
    let attempt = tokio::spawn(async move { dialer.dial(&target).await.map(|_| ()) });
    let mut datagram = vec![0u8; 65_536];
    let (len, _) = catcher.recv_from(&mut datagram).await.unwrap();
    attempt.abort();
    datagram.truncate(len);
    datagram
}

/// Sends a fresh Initial to `port` from a socket that never answers (returned, to keep it
/// bound): the handshake it starts is abandoned, as with a flood from spoofed addresses.
async fn abandon_a_handshake(port: u16) -> std::net::UdpSocket {
    let initial = an_initial_packet().await;
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.send_to(&initial, ("127.0.0.1", port)).unwrap();
    socket
}

/// Waits until `listener` runs `count` handshakes.
async fn wait_for_pending(listener: &Endpoint, count: usize) {
    let waited = tokio::time::timeout(Duration::from_secs(10), async {
        while listener.pending_handshakes() != count {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    let now = listener.pending_handshakes();
    assert!(waited.is_ok(), "{now} handshakes pending, not {count}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abandoned_handshakes_hold_no_slot_once_retry_validates_addresses() {
    // With Retry from 2 pending handshakes on, 12 abandoned attempts hold 2 of the 4 slots
    // and an honest peer (which answers the Retry) gets in; without it they hold all 4
    // until they time out, and the honest peer is refused.
    for (retry_above_pending, honest_gets_in) in [(2, true), (usize::MAX, false)] {
        let mut config = Config::default();
        config.max_pending_handshakes = 4;
        config.retry_above_pending = retry_above_pending;
        let (listener, listen) = listening_with("/ip4/127.0.0.1/udp/0/quic-v1", config).await;
        let target = listen.clone().with_p2p(listener.local_peer_id()).unwrap();
        let port = listen
            .to_string()
            .split('/')
            .nth(4)
            .unwrap()
            .parse()
            .unwrap();
        let mut silent = Vec::new();
        for _ in 0..12 {
            silent.push(abandon_a_handshake(port).await);
        }
        wait_for_pending(&listener, retry_above_pending.min(4)).await;
        let honest = endpoint();
        let dialled = tokio::time::timeout(Duration::from_secs(5), async {
            let (dialled, accepted) = tokio::join!(honest.dial(&target), listener.accept());
            dialled.map(|connection| (connection, accepted))
        })
        .await;
        match dialled {
            Ok(Ok((connection, accepted))) => {
                assert!(honest_gets_in, "got in without Retry");
                assert_eq!(connection.remote_peer(), listener.local_peer_id());
                assert_eq!(accepted.unwrap().remote_peer(), honest.local_peer_id());
            }
            other => assert!(!honest_gets_in, "refused with Retry on: {:?}", other.err()),
        }
    }
}
