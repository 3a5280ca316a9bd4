//! hyphae-quic against rust-libp2p's `libp2p-quic` (the crates.io release), both
//! directions: the connection authenticates the right peer ids and a stream carries bytes
//! both ways.

use std::future::poll_fn;
use std::pin::Pin;

use futures::io::{AsyncReadExt as _, AsyncWriteExt as _};
use hyphae_identity::Keypair;
use hyphae_quic::{Config, Endpoint};
use libp2p_core::Endpoint as Role;
use libp2p_core::muxing::StreamMuxerExt;
use libp2p_core::transport::{DialOpts, ListenerId, PortUse, Transport, TransportEvent};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn rust_keypair(keypair: &Keypair) -> libp2p_identity::Keypair {
    libp2p_identity::Keypair::from_protobuf_encoding(&keypair.to_protobuf_encoding().unwrap())
        .unwrap()
}

fn rust_transport(keypair: &Keypair) -> libp2p_quic::tokio::Transport {
    libp2p_quic::tokio::Transport::new(libp2p_quic::Config::new(&rust_keypair(keypair)))
}

fn same_peer(ours: &hyphae_identity::PeerId, theirs: &libp2p_identity::PeerId) -> bool {
    ours.to_bytes() == theirs.to_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hyphae_dials_rust_libp2p() {
    let theirs = Keypair::generate_ed25519();
    let mut transport = rust_transport(&theirs);
    transport
        .listen_on(
            ListenerId::next(),
            "/ip4/127.0.0.1/udp/0/quic-v1".parse().unwrap(),
        )
        .unwrap();
    let listen_addr = match poll_fn(|cx| Pin::new(&mut transport).poll(cx)).await {
        TransportEvent::NewAddress { listen_addr, .. } => listen_addr,
        other => panic!("unexpected event {other:?}"),
    };

    let ours = Keypair::generate_ed25519();
    let endpoint = Endpoint::new(&ours, Config::default()).unwrap();
    let target: hyphae_multiaddr::Multiaddr = format!("{listen_addr}/p2p/{}", theirs.peer_id())
        .parse()
        .unwrap();

    let rust_side = tokio::spawn(async move {
        let upgrade = match poll_fn(|cx| Pin::new(&mut transport).poll(cx)).await {
            TransportEvent::Incoming { upgrade, .. } => upgrade,
            other => panic!("unexpected event {other:?}"),
        };
        let (peer, mut connection) = upgrade.await.unwrap();
        let mut stream = poll_fn(|cx| connection.poll_inbound_unpin(cx))
            .await
            .unwrap();
        let mut received = Vec::new();
        stream.read_to_end(&mut received).await.unwrap();
        assert_eq!(received, b"from hyphae");
        stream.write_all(b"from rust-libp2p").await.unwrap();
        stream.close().await.unwrap();
        // Keep the connection (and transport) alive until hyphae has read the reply.
        (peer, connection, transport)
    });

    let connection = endpoint.dial(&target).await.unwrap();
    assert_eq!(connection.remote_peer(), theirs.peer_id());
    let mut stream = connection.open_stream().await.unwrap();
    stream.write_all(b"from hyphae").await.unwrap();
    stream.shutdown().await.unwrap();
    let mut received = Vec::new();
    stream.read_to_end(&mut received).await.unwrap();
    assert_eq!(received, b"from rust-libp2p");

    let (peer, _connection, _transport) = rust_side.await.unwrap();
    assert!(same_peer(&ours.peer_id(), &peer));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_libp2p_dials_hyphae() {
    let ours = Keypair::generate_ed25519();
    let endpoint = Endpoint::new(&ours, Config::default()).unwrap();
    let listen = endpoint
        .listen(&"/ip4/127.0.0.1/udp/0/quic-v1".parse().unwrap())
        .await
        .unwrap();

    let theirs = Keypair::generate_ed25519();
    let mut transport = rust_transport(&theirs);
    let target: libp2p_core::Multiaddr =
        format!("{listen}/p2p/{}", ours.peer_id()).parse().unwrap();
    let dial = transport
        .dial(
            target,
            DialOpts {
                role: Role::Dialer,
                port_use: PortUse::New,
            },
        )
        .unwrap();

    let hyphae_side = async {
        let connection = endpoint.accept().await.unwrap();
        let mut stream = connection.accept().await.unwrap();
        let mut received = [0u8; 16];
        stream.read_exact(&mut received).await.unwrap();
        assert_eq!(&received, b"from rust-libp2p");
        stream.write_all(b"from hyphae").await.unwrap();
        stream.shutdown().await.unwrap();
        connection
    };
    let rust_side = async {
        let (peer, mut connection) = dial.await.unwrap();
        let mut stream = poll_fn(|cx| connection.poll_outbound_unpin(cx))
            .await
            .unwrap();
        stream.write_all(b"from rust-libp2p").await.unwrap();
        stream.flush().await.unwrap();
        let mut received = Vec::new();
        stream.read_to_end(&mut received).await.unwrap();
        assert_eq!(received, b"from hyphae");
        (peer, connection)
    };
    let (connection, (peer, _rust_connection)) = tokio::join!(hyphae_side, rust_side);
    assert_eq!(connection.remote_peer(), theirs.peer_id());
    assert!(same_peer(&ours.peer_id(), &peer));
}
