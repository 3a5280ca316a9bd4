//! hyphae and js-libp2p (the npm releases run by node, see `js/node-peer.mjs`) connect over
//! TCP + Noise + Yamux, ping each other and exchange identify, each side dialling in turn.
//!
//! These tests fail, never skip, when js-libp2p is not installed (`npm ci --prefix interop/js`).

use std::future::Future;
use std::time::Duration;

use hyphae::{Multiaddr, Node};
use hyphae_interop::{
    PeerProcess, assert_identified_by_us, assert_serves_ping_and_identify, identify_events,
    inbound_peer, js_dir,
};
use tokio::process::Command;

/// The agent version `node-peer.mjs` announces.
const PEER_AGENT: &str = "js-interop-peer";
/// How long one whole test may take before it fails.
const TEST_TIMEOUT: Duration = Duration::from_secs(30);

/// `node node-peer.mjs <args>`.
fn node_peer(args: &[&str]) -> Command {
    let dir = js_dir();
    let mut command = Command::new("node");
    command
        .current_dir(&dir)
        .arg(dir.join("node-peer.mjs"))
        .args(args);
    command
}

/// Runs `test`, failing it if it takes longer than [`TEST_TIMEOUT`].
async fn bounded(test: impl Future<Output = ()>) {
    tokio::time::timeout(TEST_TIMEOUT, test)
        .await
        .unwrap_or_else(|_| panic!("the test did not finish within {TEST_TIMEOUT:?}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hyphae_dials_js_libp2p() {
    bounded(async {
        let mut js = PeerProcess::spawn(node_peer(&["listen"]));
        let addr: Multiaddr = js
            .line("LISTEN ")
            .await
            .parse()
            .expect("the LISTEN line holds a multiaddr");

        let node = Node::builder().start().await.expect("start hyphae");
        let mut events = identify_events(&node);
        let js_id = node.dial(&addr).await.expect("hyphae dials js-libp2p");
        assert_eq!(Some(js_id), addr.peer_id(), "the peer we reached");

        let rtt = node.ping(js_id).await.expect("hyphae pings js-libp2p");
        assert!(rtt > Duration::ZERO, "round-trip time {rtt:?}");

        assert_identified_by_us(&node, &mut events, js_id, PEER_AGENT, "js-libp2p").await;

        let theirs = js.identified(&node.peer_id().to_string()).await;
        assert_eq!(theirs.agent, hyphae::identify::DEFAULT_AGENT_VERSION);
        assert_serves_ping_and_identify("hyphae (as js-libp2p saw it)", &theirs.protocols);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn js_libp2p_dials_hyphae() {
    bounded(async {
        let node = Node::builder()
            .listen("/ip4/127.0.0.1/tcp/0".parse().expect("a multiaddr"))
            .start()
            .await
            .expect("start hyphae");
        let mut events = node.events();
        let mut identified = identify_events(&node);
        let addr = node.listen_addrs()[0].to_string();

        let mut js = PeerProcess::spawn(node_peer(&["dial", &addr]));
        let js_id = inbound_peer(&mut events).await;

        // Measured by node-peer.mjs around its ping call, in fractional milliseconds: a ping
        // that happened takes some time, and one that takes seconds on loopback is broken.
        let rtt: f64 = js
            .line("PING ")
            .await
            .parse()
            .expect("the PING line holds milliseconds");
        assert!(rtt > 0.0 && rtt < 5000.0, "round-trip time {rtt} ms");
        let theirs = js.identified(&node.peer_id().to_string()).await;
        assert_eq!(theirs.agent, hyphae::identify::DEFAULT_AGENT_VERSION);
        assert_serves_ping_and_identify("hyphae (as js-libp2p saw it)", &theirs.protocols);
        // The peer stays connected until its stdin closes, so our identify of it can finish.
        assert_identified_by_us(&node, &mut identified, js_id, PEER_AGENT, "js-libp2p").await;
        assert!(
            js.success().await,
            "the js-libp2p peer failed (its stderr is above)"
        );
    })
    .await;
}
