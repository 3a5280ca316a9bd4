//! Many routers on an in-memory network: messages reach every subscriber, meshes keep their
//! degrees, and a seed replays a run exactly.

mod network;

use std::time::Duration;

use hyphae_gossipsub::{Config, Protocol};
use network::Network;

const TOPIC: &str = "blocks";

fn publish_ten_and_check(network: &mut Network) {
    let n = network.routers.len();
    let mut ids = Vec::new();
    for i in 0..10u32 {
        let node = (i * 7) % n as u32;
        let id = network.publish(node, TOPIC, format!("message {i}").into_bytes());
        ids.push((node, id));
    }
    for (node, delivered) in network.delivered.iter().enumerate() {
        for (publisher, id) in &ids {
            let copies = delivered.iter().filter(|got| *got == id).count();
            let expected = usize::from(*publisher as usize != node);
            assert_eq!(copies, expected, "node {node}, message from {publisher}");
        }
    }
}

#[test]
fn every_published_message_reaches_every_subscriber_once() {
    let mut network = Network::random(30, 4, 1, &Config::default());
    network.join_all(TOPIC);
    for _ in 0..3 {
        network.heartbeat();
    }
    publish_ten_and_check(&mut network);
}

#[test]
fn the_mesh_alone_reaches_every_subscriber_without_flood_publishing() {
    let config = Config {
        flood_publish: false,
        ..Config::default()
    };
    let mut network = Network::random(30, 4, 2, &config);
    network.join_all(TOPIC);
    for _ in 0..3 {
        network.heartbeat();
    }
    publish_ten_and_check(&mut network);
}

#[test]
fn messages_cross_links_of_every_protocol_version() {
    let protocols = [
        Protocol::Floodsub,
        Protocol::MeshsubV1_0,
        Protocol::MeshsubV1_1,
        Protocol::MeshsubV1_2,
    ];
    for flood_publish in [true, false] {
        let config = Config {
            flood_publish,
            ..Config::default()
        };
        let mut network = Network::random_mixed(30, 4, 6, &config, &protocols);
        network.join_all(TOPIC);
        for _ in 0..3 {
            network.heartbeat();
        }
        publish_ten_and_check(&mut network);
    }
}

#[test]
fn signed_messages_reach_every_subscriber() {
    let mut network = Network::empty_signed(12, 7, &Config::default());
    for node in 0..12u32 {
        network.connect(node, (node + 1) % 12, Protocol::MeshsubV1_2);
        network.connect(node, (node + 5) % 12, Protocol::MeshsubV1_1);
    }
    network.join_all(TOPIC);
    network.heartbeat();
    publish_ten_and_check(&mut network);
}

#[test]
fn mesh_degrees_stay_within_d_lo_and_d_hi_after_heartbeats() {
    let config = Config::default();
    let mut network = Network::random(30, 6, 3, &config);
    network.join_all(TOPIC);
    for _ in 0..10 {
        // A heartbeat prunes down to D_hi at most; GRAFTs from peers that dialled out to us
        // may take the mesh past it again until the next one (v1.1 "Outbound Mesh Quotas").
        network.now += Duration::from_secs(1);
        let now = network.now;
        for (node, router) in network.routers.iter_mut().enumerate() {
            router.heartbeat(now);
            let degree = router.mesh_peers(TOPIC).count();
            assert!(degree <= config.mesh_n_high, "node {node} has {degree}");
        }
        network.settle();
        for (node, router) in network.routers.iter().enumerate() {
            let degree = router.mesh_peers(TOPIC).count();
            let available = router.topic_peers(TOPIC).count();
            assert!(
                degree >= config.mesh_n_low.min(available),
                "node {node} has {degree} of {available}"
            );
        }
    }
}

#[test]
fn meshes_are_symmetric_after_heartbeats() {
    let mut network = Network::random(20, 5, 4, &Config::default());
    network.join_all(TOPIC);
    for _ in 0..5 {
        network.heartbeat();
    }
    for (node, router) in network.routers.iter().enumerate() {
        for peer in router.mesh_peers(TOPIC) {
            let other = &network.routers[*peer as usize];
            assert!(
                other.mesh_peers(TOPIC).any(|p| *p as usize == node),
                "{node} has {peer} in its mesh but not the reverse"
            );
        }
    }
}

#[test]
fn a_subscriber_outside_the_mesh_gets_messages_by_ihave_and_iwant() {
    let config = Config {
        flood_publish: false,
        ..Config::default()
    };
    let mut network = Network::empty(3, 5, &config);
    network.connect(0, 1, Protocol::MeshsubV1_2);
    network.connect(0, 2, Protocol::MeshsubV1_2);
    network.join_all(TOPIC);
    network.heartbeat();
    assert!(network.routers[0].mesh_peers(TOPIC).any(|p| *p == 1));
    // Node 1 leaves and rejoins: both sides now back off, so 1 stays out of 0's mesh.
    let now = network.now;
    network.routers[1].leave(TOPIC, now);
    network.routers[1].join(TOPIC, now);
    network.settle();
    assert!(!network.routers[0].mesh_peers(TOPIC).any(|p| *p == 1));

    let id = network.publish(0, TOPIC, b"gossiped".to_vec());
    assert!(network.delivered[2].contains(&id));
    assert!(!network.delivered[1].contains(&id));
    network.heartbeat();
    assert_eq!(network.delivered[1], vec![id]);
}

#[test]
fn the_same_seed_gives_the_same_trace() {
    let run = |seed: u64| {
        let mut network = Network::random(20, 4, seed, &Config::default());
        network.join_all(TOPIC);
        for round in 0..5u32 {
            network.heartbeat();
            network.publish(round, TOPIC, vec![round as u8; 1500]);
        }
        network.trace
    };
    assert_eq!(run(9), run(9));
    assert_ne!(run(9), run(10));
}
