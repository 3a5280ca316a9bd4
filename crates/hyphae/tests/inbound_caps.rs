//! Per-address caps on inbound connections: how many one address holds at once and how
//! fast it may open new ones, with loopback capped here by clearing the allow list.

use std::time::Duration;

use hyphae::{Event, Limit, Limits, Node, RateLimit};

async fn server(limits: Limits) -> Node {
    Node::builder()
        .listen("/ip4/127.0.0.1/tcp/0".parse().unwrap())
        .limits(limits)
        .start()
        .await
        .unwrap()
}

/// A fresh client that connects to `server` and pings it; the outcome.
async fn try_peer(server: &Node) -> (Node, Result<(), String>) {
    let client = Node::builder().start().await.unwrap();
    let addr = server.listen_addrs()[0].clone();
    let outcome = tokio::time::timeout(Duration::from_secs(10), async {
        client.dial(&addr).await.map_err(|e| e.to_string())?;
        client
            .ping(server.peer_id())
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    })
    .await
    .unwrap_or_else(|_| Err("timed out".to_owned()));
    (client, outcome)
}

/// The next refusal `server` reports.
async fn refusal(events: &mut tokio::sync::broadcast::Receiver<Event>) -> Limit {
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if let Ok(Event::IncomingConnectionRefused { limit, .. }) = events.recv().await {
                return limit;
            }
        }
    })
    .await
    .expect("a refusal")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_holds_at_most_its_cap_of_inbound_connections() {
    let server = server(Limits {
        max_inbound_per_ip: 2,
        inbound_rate_per_ip: None,
        allow: Vec::new(),
        ..Limits::default()
    })
    .await;
    let mut events = server.events();
    let (first, outcome) = try_peer(&server).await;
    outcome.unwrap();
    let (_second, outcome) = try_peer(&server).await;
    outcome.unwrap();
    let (_third, outcome) = try_peer(&server).await;
    assert!(outcome.is_err());
    assert_eq!(refusal(&mut events).await, Limit::InboundPerIp(2));
    // A slot frees when a connection ends.
    first.shutdown().await;
    let freed = tokio::time::timeout(Duration::from_secs(10), async {
        while server.connected_peers().len() > 1 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(freed.is_ok());
    let (_fourth, outcome) = try_peer(&server).await;
    outcome.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_opens_connections_no_faster_than_its_rate() {
    let server = server(Limits {
        inbound_rate_per_ip: Some(RateLimit {
            per_second: 0.0,
            burst: 2,
        }),
        allow: Vec::new(),
        ..Limits::default()
    })
    .await;
    let mut events = server.events();
    for _ in 0..2 {
        let (client, outcome) = try_peer(&server).await;
        outcome.unwrap();
        client.shutdown().await;
    }
    let (_third, outcome) = try_peer(&server).await;
    assert!(outcome.is_err());
    assert_eq!(refusal(&mut events).await, Limit::InboundRatePerIp(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loopback_is_exempt_by_the_default_allow_list() {
    let server = server(Limits {
        max_inbound_per_ip: 1,
        ..Limits::default()
    })
    .await;
    let mut clients = Vec::new();
    for _ in 0..3 {
        let (client, outcome) = try_peer(&server).await;
        outcome.unwrap();
        clients.push(client);
    }
    assert_eq!(server.connected_peers().len(), 3);
}
