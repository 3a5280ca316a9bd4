//! hyphae and rust-libp2p (the crates.io `libp2p` crate) connect over TCP + Noise + Yamux,
//! ping each other and exchange identify, each side dialling in turn.

use std::time::Duration;

use hyphae::{Multiaddr, Node};
use hyphae_interop::{
    PeerProcess, assert_identified_by_us, assert_serves_ping_and_identify, identify_events,
    inbound_peer,
};
use tokio::process::Command;

const PEER_AGENT: &str = "rust-interop-peer";

fn peer_program() -> Command {
    Command::new(env!("CARGO_BIN_EXE_rust-libp2p-node"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hyphae_dials_rust_libp2p() {
    let mut command = peer_program();
    command.arg("listen");
    let mut peer = PeerProcess::spawn(command);
    let addr: Multiaddr = peer.line("LISTEN ").await.parse().unwrap();

    let node = Node::builder().start().await.unwrap();
    let mut events = identify_events(&node);
    let peer_id = node.dial(&addr).await.unwrap();
    assert_eq!(Some(peer_id), addr.peer_id());
    let rtt = node.ping(peer_id).await.unwrap();
    assert!(rtt > Duration::ZERO && rtt < Duration::from_secs(5));

    assert_identified_by_us(
        &node,
        &mut events,
        peer_id,
        PEER_AGENT,
        "the rust-libp2p peer",
    )
    .await;

    let theirs = peer.identified(&node.peer_id().to_string()).await;
    assert_eq!(theirs.agent, hyphae::identify::DEFAULT_AGENT_VERSION);
    assert_serves_ping_and_identify("hyphae, as rust-libp2p saw it", &theirs.protocols);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_libp2p_dials_hyphae() {
    let node = Node::builder()
        .listen("/ip4/127.0.0.1/tcp/0".parse().unwrap())
        .start()
        .await
        .unwrap();
    let mut connections = node.events();
    let mut events = identify_events(&node);
    let addr = node.listen_addrs()[0].to_string();

    let mut command = peer_program();
    command.args(["dial", &addr]);
    let mut peer = PeerProcess::spawn(command);
    let peer_id = inbound_peer(&mut connections).await;
    let rtt: f64 = peer.line("PING ").await.parse().expect("PING milliseconds");
    assert!(rtt > 0.0 && rtt < 5000.0);
    let theirs = peer.identified(&node.peer_id().to_string()).await;
    assert_eq!(theirs.agent, hyphae::identify::DEFAULT_AGENT_VERSION);
    assert_serves_ping_and_identify("hyphae, as rust-libp2p saw it", &theirs.protocols);

    // The peer stays connected until its stdin closes, so our identify of it can finish.
    assert_identified_by_us(
        &node,
        &mut events,
        peer_id,
        PEER_AGENT,
        "the rust-libp2p peer",
    )
    .await;
    assert!(
        peer.success().await,
        "the rust-libp2p peer reported a failure"
    );
}
