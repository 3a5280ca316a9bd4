//! Where a joined topic's memory goes in a hyphae node, part by part: the router's state for
//! a topic we and four peers are in (mesh, topic peers, strings), and an application
//! `Subscription`'s channel. Each part is built for many topics in this process alone and
//! measured as RSS growth, so that pages and allocator slack average out (the workspace
//! forbids the unsafe a counting allocator needs). It complements `gossip --bench topics`,
//! which sees only the whole node.
//!
//! `cargo run --release -p hyphae-benches --bin gossip-topic-memory [-- TOPICS]` (default
//! 20000).

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use hyphae::PeerId;
use hyphae::gossipsub::{
    Config, ControlGraft, ControlMessage, Direction, Protocol, Publisher, Received, Router, Rpc,
    SubOpts,
};
use hyphae_benches::gossip_hyphae::topic;
use hyphae_benches::process::rss_kib;
use tokio::sync::mpsc;

/// Bytes of RSS per topic that `build` keeps alive, over `topics` topics.
fn per_topic<T>(topics: usize, build: impl FnOnce() -> T) -> (f64, T) {
    let rss = || rss_kib(std::process::id()).expect("RSS of this process");
    let before = rss();
    let kept = build();
    let after = rss();
    (
        (after as f64 - before as f64) * 1024.0 / topics as f64,
        kept,
    )
}

fn main() {
    let topics: usize = std::env::args()
        .nth(1)
        .map_or(20_000, |arg| arg.parse().expect("TOPICS is a number"));
    let peers: Vec<PeerId> = (0..4).map(|_| PeerId::random()).collect();
    let mesh_peers = peers.clone();
    let start = Instant::now();

    // Two of the router's parts alone: a set of four peers (the router keeps two per topic,
    // its topic peers and its mesh), and a topic's name (kept once per map it keys and once
    // per subscribed peer).
    let (peer_set_bytes, peer_sets) = per_topic(topics, || {
        (0..topics)
            .map(|_| peers.iter().copied().collect::<BTreeSet<PeerId>>())
            .collect::<Vec<_>>()
    });
    let (name_bytes, names) = per_topic(topics, || (0..topics).map(topic).collect::<Vec<_>>());
    // An application `Subscription`: the service makes one bounded tokio channel per joined
    // topic (SUBSCRIPTION_BUFFER = 256); tokio allocates its first block of 32 slots when the
    // channel is made.
    let (channel_bytes, channels) = per_topic(topics, || {
        (0..topics)
            .map(|_| mpsc::channel::<Received>(256))
            .collect::<Vec<_>>()
    });
    let (boxed_bytes, boxed) = per_topic(topics, || {
        (0..topics)
            .map(|_| mpsc::channel::<Box<Received>>(256))
            .collect::<Vec<_>>()
    });
    // The router: four peers connected first, then we and they join every topic (each
    // peer's subscription and GRAFT in its own RPC, as the benchmark's peers send them),
    // then three heartbeats.
    let config = Config {
        max_topics_per_peer: topics.max(1000),
        ..Config::default()
    };
    let mut router: Router<PeerId> =
        Router::new(config, Publisher::anonymous(), 1).expect("valid config");
    for peer in &peers {
        router.add_peer(*peer, Protocol::MeshsubV1_2, Direction::Inbound);
    }
    let drain = |router: &mut Router<PeerId>| {
        while router.poll_outbound().is_some() {}
        while router.poll_event().is_some() {}
    };
    drain(&mut router);
    let (router_bytes, router) = per_topic(topics, move || {
        for index in 0..topics {
            router.join(&topic(index), start);
            for peer in &mesh_peers {
                let subscribe = Rpc {
                    subscriptions: vec![SubOpts {
                        subscribe: true,
                        topic: topic(index),
                    }],
                    ..Rpc::default()
                };
                router.handle_rpc(peer, subscribe, start);
                let graft = Rpc {
                    control: Some(ControlMessage {
                        graft: vec![ControlGraft {
                            topic: topic(index),
                        }],
                        ..ControlMessage::default()
                    }),
                    ..Rpc::default()
                };
                router.handle_rpc(peer, graft, start);
            }
            drain(&mut router);
        }
        for beat in 1..=3 {
            router.heartbeat(start + Duration::from_secs(beat));
            drain(&mut router);
        }
        router
    });
    let mesh: usize = (0..topics)
        .map(|index| router.mesh_peers(&topic(index)).count())
        .sum();
    assert_eq!(mesh, 4 * topics, "every topic's mesh holds the four peers");

    // Kept to the end, so that no part reuses memory another freed (the router, measured
    // last, frees its RPCs as it goes).
    drop((channels, boxed, router, peer_sets, names));

    println!("| per topic ({topics} topics, 4 peers in each) | bytes |");
    println!("|---|---:|");
    println!("| router: joined, 4 subscribed mesh peers, 3 heartbeats | {router_bytes:.0} |");
    println!(
        "| subscription channel of `Received` (size {} B), capacity 256 | {channel_bytes:.0} |",
        std::mem::size_of::<Received>()
    );
    println!("| subscription channel of `Box<Received>`, capacity 256 | {boxed_bytes:.0} |");
    println!(
        "| of the router's: a `BTreeSet` of 4 `PeerId`s (size {} B) | {peer_set_bytes:.0} |",
        std::mem::size_of::<PeerId>()
    );
    println!("| of the router's: a topic name `String` (`bench-N`) | {name_bytes:.0} |");
}
