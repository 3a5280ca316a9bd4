//! The Kademlia service on real nodes (memory transport): joining through a bootstrap node,
//! finding peers, providers and records, client mode, and the routing table following
//! identify.

#![cfg(feature = "kad")]

use std::time::Duration;

use hyphae::kad::{Kademlia, Mode, ModeSetting};
use hyphae::{Multiaddr, Node};

async fn soon<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(30), future)
        .await
        .expect("within 30 s")
}

async fn dht_node(mode: Mode, bootstrap: Option<Multiaddr>) -> Node {
    let service = Kademlia::default()
        .mode(ModeSetting::Fixed(mode))
        .accept_all_records()
        .bootstrap(bootstrap);
    Node::builder()
        .listen("/memory/0".parse().unwrap())
        .service(service)
        .start()
        .await
        .unwrap()
}

/// The node's first listen address, with its `/p2p` suffix.
fn address_of(node: &Node) -> Multiaddr {
    node.listen_addrs()[0].clone()
}

/// A bootstrap node and `count` servers that joined through it.
async fn network(count: usize) -> Vec<Node> {
    let first = dht_node(Mode::Server, None).await;
    let entry = address_of(&first);
    let mut nodes = vec![first];
    for _ in 0..count {
        let node = dht_node(Mode::Server, Some(entry.clone())).await;
        let dht = node.service::<Kademlia>().unwrap();
        soon(dht.bootstrap()).await.unwrap();
        nodes.push(node);
    }
    // A second round, so that early joiners learn of later ones.
    for node in &nodes {
        soon(node.service::<Kademlia>().unwrap().bootstrap())
            .await
            .unwrap();
    }
    nodes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_joining_through_one_find_each_other() {
    let nodes = network(8).await;
    let seeker = nodes[3].service::<Kademlia>().unwrap();
    let target = &nodes[7];
    let found = soon(seeker.find_peer(target.peer_id())).await.unwrap();
    assert_eq!(found.peer, target.peer_id());
    let mut listening = target.listen_addrs()[0].clone();
    listening.pop(); // the /p2p suffix
    assert_eq!(found.addrs, vec![listening]);
    for node in &nodes {
        let table = node
            .service::<Kademlia>()
            .unwrap()
            .routing_table()
            .await
            .unwrap();
        assert!(table.len() >= 4, "{} peers in a table", table.len());
        // The connection manager keeps the table's peers before others.
        for entry in &table {
            let value = node.tags().value(&entry.peer);
            assert_eq!(value, hyphae::kad::ROUTING_TABLE_VALUE);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_is_found_and_reachable() {
    let nodes = network(6).await;
    let provider = nodes[2].service::<Kademlia>().unwrap();
    let accepted = soon(provider.provide(b"some content".to_vec()))
        .await
        .unwrap();
    assert!(accepted >= 3, "accepted by {accepted}");

    let seeker = dht_node(Mode::Client, Some(address_of(&nodes[0]))).await;
    let dht = seeker.service::<Kademlia>().unwrap();
    soon(dht.bootstrap()).await.unwrap();
    let mut providers = dht.find_providers(b"some content".to_vec(), 1).await;
    let first = soon(providers.next()).await.expect("a provider");
    assert_eq!(first.peer, nodes[2].peer_id());
    // The addresses landed in the peerstore: the provider can be reached by id.
    soon(seeker.ping(first.peer)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_put_by_one_node_is_read_by_another() {
    let nodes = network(6).await;
    let writer = nodes[1].service::<Kademlia>().unwrap();
    let stored = soon(writer.put_value(b"/example/greeting".to_vec(), b"hello".to_vec()))
        .await
        .unwrap();
    assert!(stored >= 3, "stored at {stored}");
    let reader = nodes[5].service::<Kademlia>().unwrap();
    let record = soon(
        soon(reader.get_value(b"/example/greeting".to_vec()))
            .await
            .best(),
    )
    .await
    .unwrap();
    assert_eq!(record.value, b"hello");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_is_never_in_a_routing_table_and_a_server_advertises_the_protocol() {
    let nodes = network(3).await;
    let client = dht_node(Mode::Client, Some(address_of(&nodes[0]))).await;
    let dht = client.service::<Kademlia>().unwrap();
    soon(dht.bootstrap()).await.unwrap();
    assert!(!soon(dht.routing_table()).await.unwrap().is_empty());
    assert_eq!(dht.current_mode().await.unwrap(), Mode::Client);
    for node in &nodes {
        let table = node
            .service::<Kademlia>()
            .unwrap()
            .routing_table()
            .await
            .unwrap();
        assert!(table.iter().all(|entry| entry.peer != client.peer_id()));
    }
    // Switching to server mode advertises the protocol; identify push tells the peers, which
    // check the node and add it.
    dht.set_mode(ModeSetting::Fixed(Mode::Server)).await;
    let bootstrap = nodes[0].service::<Kademlia>().unwrap();
    soon(async {
        loop {
            let table = bootstrap.routing_table().await.unwrap();
            if table.iter().any(|entry| entry.peer == client.peer_id()) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_record_is_not_found_and_a_dropped_query_is_cancelled() {
    let nodes = network(4).await;
    let dht = nodes[2].service::<Kademlia>().unwrap();
    let missing = soon(
        soon(dht.get_value(b"/example/nothing".to_vec()))
            .await
            .best(),
    )
    .await;
    assert!(
        matches!(missing, Err(hyphae::kad::Error::NotFound)),
        "{missing:?}"
    );
    let providers = dht.find_providers(b"nobody".to_vec(), 5).await;
    drop(providers);
    // The service keeps working.
    soon(dht.bootstrap()).await.unwrap();
}
