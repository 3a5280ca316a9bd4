//! The connection manager: a full node still takes new peers by closing its least valued
//! connections, trims down to the low watermark past the high one, and never closes what a
//! service or the user protects or values more.

use std::collections::HashSet;
use std::time::Duration;

use hyphae::{Event, Limits, Multiaddr, Node, PeerId};
use tokio::io::AsyncWriteExt;

const GRACE: Duration = Duration::from_millis(300);

async fn server(limits: Limits) -> Node {
    Node::builder()
        .listen("/ip4/127.0.0.1/tcp/0".parse().unwrap())
        .limits(limits)
        .start()
        .await
        .unwrap()
}

/// `count` fresh identities, each connected to `addr`.
async fn connect_fresh(addr: &Multiaddr, count: usize) -> Vec<Node> {
    let mut clients = Vec::new();
    for _ in 0..count {
        let client = Node::builder().start().await.unwrap();
        client.dial(addr).await.unwrap();
        clients.push(client);
    }
    clients
}

/// Waits until `server` holds exactly `peers`.
async fn wait_for_peers(server: &Node, peers: &HashSet<PeerId>) {
    let within = Duration::from_secs(10);
    let held = tokio::time::timeout(within, async {
        loop {
            let now: HashSet<PeerId> = server.connected_peers().into_iter().collect();
            if now == *peers {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    let now: HashSet<PeerId> = server.connected_peers().into_iter().collect();
    assert!(held.is_ok(), "the server holds {now:?}, not {peers:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_node_closes_its_least_valued_connection_for_a_new_peer() {
    let server = server(Limits {
        max_connections: 4,
        grace_period: GRACE,
        ..Limits::default()
    })
    .await;
    let addr = server.listen_addrs()[0].clone();
    let clients = connect_fresh(&addr, 4).await;
    let ids: Vec<PeerId> = clients.iter().map(Node::peer_id).collect();
    // 0 is valued by a service, 1 protected by the user, 2 busy with a stream, 3 idle.
    server.tags().tag(ids[0], "kad", 5);
    server.tags().protect(ids[1], "test");
    server.handle("/hold/1", |stream| async move {
        let _held = stream;
        std::future::pending::<()>().await;
    });
    let mut busy = clients[2]
        .open_stream(server.peer_id(), "/hold/1")
        .await
        .unwrap();
    busy.write_all(b"x").await.unwrap();
    busy.flush().await.unwrap();
    tokio::time::sleep(GRACE * 2).await;

    // The idle one makes room, then the busy one, then the valued one; never the protected.
    let mut expected: HashSet<PeerId> = ids.iter().copied().collect();
    let mut newcomers = Vec::new();
    for gone in [3, 2, 0] {
        let newcomer = connect_fresh(&addr, 1).await.remove(0);
        newcomer.ping(server.peer_id()).await.unwrap();
        // Valued above the others, so that it is not the next to go.
        server.tags().tag(newcomer.peer_id(), "test", 100);
        expected.remove(&ids[gone]);
        expected.insert(newcomer.peer_id());
        wait_for_peers(&server, &expected).await;
        newcomers.push(newcomer);
    }
    assert!(server.is_connected(&ids[1]), "the protected peer stays");
    let metrics = server.metrics();
    for line in [
        "hyphae_connections_trimmed_total 3",
        "hyphae_connections{direction=\"inbound\"} 4",
        "hyphae_connections_established_total{direction=\"inbound\"} 7",
    ] {
        assert!(metrics.contains(line), "{line} missing from\n{metrics}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_high_watermark_the_node_trims_to_the_low_one() {
    let server = server(Limits {
        max_connections: 100,
        high_watermark: Some(6),
        low_watermark: Some(4),
        grace_period: GRACE,
        ..Limits::default()
    })
    .await;
    let mut events = server.events();
    let addr = server.listen_addrs()[0].clone();
    let old = connect_fresh(&addr, 6).await;
    tokio::time::sleep(GRACE * 2).await;
    let new = connect_fresh(&addr, 1).await;
    // 7 > 6: down to 4, the newcomer (inside its grace period) and the 3 youngest of the
    // old ones staying; the oldest 3 go.
    let mut expected: HashSet<PeerId> = old[3..].iter().map(Node::peer_id).collect();
    expected.insert(new[0].peer_id());
    wait_for_peers(&server, &expected).await;
    let mut closed = HashSet::new();
    while closed.len() < 3 {
        let event = tokio::time::timeout(Duration::from_secs(10), events.recv())
            .await
            .expect("closed events")
            .unwrap();
        if let Event::ConnectionClosed { peer, .. } = event {
            closed.insert(peer);
        }
    }
    let oldest: HashSet<PeerId> = old[..3].iter().map(Node::peer_id).collect();
    assert_eq!(closed, oldest);
    assert!(
        server
            .metrics()
            .contains("hyphae_connections_trimmed_total 3")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fresh_connections_from_one_address_keep_their_grace_against_that_address() {
    // Every client here comes from 127.0.0.1: a crowd from one address makes room for a
    // newcomer from another (the unit tests of the choice cover that), not from its own.
    let server = server(Limits {
        max_connections: 3,
        grace_period: Duration::from_secs(60),
        ..Limits::default()
    })
    .await;
    let addr = server.listen_addrs()[0].clone();
    let clients = connect_fresh(&addr, 3).await;
    let late = Node::builder().start().await.unwrap();
    let outcome = async {
        late.dial(&addr).await?;
        late.ping(server.peer_id()).await
    };
    let outcome = tokio::time::timeout(Duration::from_secs(10), outcome).await;
    assert!(matches!(outcome, Ok(Err(_))), "{outcome:?}");
    let held: HashSet<PeerId> = clients.iter().map(Node::peer_id).collect();
    wait_for_peers(&server, &held).await;
    // Refused once or twice: the ping dials again if it finds the connection gone.
    let metrics = server.metrics();
    let refused = metrics
        .lines()
        .find_map(|line| {
            line.strip_prefix("hyphae_connections_refused_total{reason=\"connections\"} ")
        })
        .and_then(|count| count.parse::<u64>().ok());
    assert!(
        refused.is_some_and(|n| n >= 1),
        "after {outcome:?}:\n{metrics}"
    );
}
