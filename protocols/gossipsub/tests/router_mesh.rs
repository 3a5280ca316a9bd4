//! Mesh maintenance with scores: pruning an oversized mesh, dropping negative peers,
//! opportunistic grafting, fanout, and the hooks the router calls on its score source.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hyphae_gossipsub::{
    Config, ControlGraft, ControlIHave, ControlMessage, Direction, Message, MessageId, Protocol,
    Publisher, RejectReason, Router, Rpc, ScoreSource, SubOpts, Validation,
};

const TOPIC: &str = "blocks";

/// Scores set by the test, and a log of the hooks the router called.
#[derive(Clone, Default)]
struct Scores {
    scores: Arc<Mutex<BTreeMap<u32, f64>>>,
    log: Arc<Mutex<Vec<String>>>,
}

impl Scores {
    fn set(&self, peer: u32, score: f64) {
        self.scores.lock().unwrap().insert(peer, score);
    }

    fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    fn record(&self, entry: String) {
        self.log.lock().unwrap().push(entry);
    }
}

impl ScoreSource<u32> for Scores {
    fn score(&self, peer: &u32) -> f64 {
        self.scores
            .lock()
            .unwrap()
            .get(peer)
            .copied()
            .unwrap_or(0.0)
    }
    fn graft(&mut self, peer: &u32, topic: &str, _now: Instant) {
        self.record(format!("graft {peer} {topic}"));
    }
    fn prune(&mut self, peer: &u32, topic: &str, _now: Instant) {
        self.record(format!("prune {peer} {topic}"));
    }
    fn deliver(&mut self, peer: &u32, _id: &MessageId, _topic: &str, _now: Instant) {
        self.record(format!("deliver {peer}"));
    }
    fn duplicate(&mut self, peer: &u32, _id: &MessageId, _topic: &str, _now: Instant) {
        self.record(format!("duplicate {peer}"));
    }
    fn reject(
        &mut self,
        peer: &u32,
        _id: &MessageId,
        _topic: &str,
        _reason: RejectReason,
        _now: Instant,
    ) {
        self.record(format!("reject {peer}"));
    }
    fn broken_promises(&mut self, peer: &u32, count: usize) {
        self.record(format!("broken {peer} {count}"));
    }
    fn peer_connected(&mut self, peer: &u32) {
        self.record(format!("connected {peer}"));
    }
    fn peer_disconnected(&mut self, peer: &u32, _now: Instant) {
        self.record(format!("disconnected {peer}"));
    }
    fn heartbeat(&mut self, _now: Instant) {
        self.record("heartbeat".to_owned());
    }
}

fn subscribe() -> Rpc {
    Rpc {
        subscriptions: vec![SubOpts {
            subscribe: true,
            topic: TOPIC.into(),
        }],
        ..Rpc::default()
    }
}

fn graft() -> Rpc {
    Rpc {
        control: Some(ControlMessage {
            graft: vec![ControlGraft {
                topic: TOPIC.into(),
            }],
            ..ControlMessage::default()
        }),
        ..Rpc::default()
    }
}

fn publish(data: &[u8]) -> Rpc {
    Rpc {
        publish: vec![Message {
            data: Some(data.to_vec().into()),
            topic: TOPIC.into(),
            ..Message::default()
        }],
        ..Rpc::default()
    }
}

/// A router with a score source, and peers `1..=count` subscribed; peers in `outbound` we
/// dialled.
fn scored_router(
    config: Config,
    count: u32,
    outbound: &[u32],
    now: Instant,
) -> (Router<u32>, Scores) {
    let mut router = Router::new(config, Publisher::anonymous(), 11).expect("valid config");
    let scores = Scores::default();
    router.set_score_source(scores.clone());
    for peer in 1..=count {
        let direction = if outbound.contains(&peer) {
            Direction::Outbound
        } else {
            Direction::Inbound
        };
        router.add_peer(peer, Protocol::MeshsubV1_2, direction);
        router.handle_rpc(&peer, subscribe(), now);
    }
    (router, scores)
}

fn drain(router: &mut Router<u32>) -> Vec<(u32, Rpc)> {
    std::iter::from_fn(|| router.poll_outbound()).collect()
}

#[test]
fn an_oversized_mesh_keeps_the_best_scored_and_enough_outbound_peers() {
    let now = Instant::now();
    let config = Config::default();
    let outbound = [15, 16];
    let (mut router, scores) = scored_router(config.clone(), 16, &outbound, now);
    router.join(TOPIC, now);
    // Peers 1..=4 score best; the outbound peers score lowest of all.
    for peer in 1..=16 {
        scores.set(peer, if peer <= 4 { 10.0 } else { 1.0 });
    }
    scores.set(15, 0.5);
    scores.set(16, 0.5);
    // Everyone grafts us: inbound peers until D_hi, outbound ones beyond it.
    for peer in 1..=16 {
        router.handle_rpc(&peer, graft(), now);
    }
    // Inbound grafts stop at D_hi; the two outbound peers are taken beyond it.
    let oversized = router.mesh_peers(TOPIC).count();
    assert_eq!(oversized, config.mesh_n_high + 2);
    drain(&mut router);
    router.heartbeat(now + Duration::from_secs(1));
    let mesh: Vec<u32> = router.mesh_peers(TOPIC).copied().collect();
    assert_eq!(mesh.len(), config.mesh_n, "{mesh:?}");
    for best in 1..=4 {
        assert!(mesh.contains(&best), "best-scored {best} kept: {mesh:?}");
    }
    for peer in outbound {
        assert!(mesh.contains(&peer), "outbound {peer} kept: {mesh:?}");
    }
    let pruned: usize = drain(&mut router)
        .iter()
        .filter_map(|(_, rpc)| rpc.control.as_ref())
        .map(|control| control.prune.len())
        .sum();
    assert_eq!(pruned, oversized - config.mesh_n);
}

#[test]
fn a_graft_from_a_peer_not_subscribed_is_answered_with_prune() {
    let now = Instant::now();
    let (mut router, _) = scored_router(Config::default(), 0, &[], now);
    router.join(TOPIC, now);
    router.add_peer(9, Protocol::MeshsubV1_1, Direction::Inbound);
    router.handle_rpc(&9, graft(), now);
    let sent = drain(&mut router);
    assert!(sent.iter().any(|(to, rpc)| {
        *to == 9
            && rpc
                .control
                .as_ref()
                .is_some_and(|control| control.prune.len() == 1)
    }));
    assert_eq!(router.mesh_peers(TOPIC).count(), 0);
}

#[test]
fn negative_peers_leave_the_mesh_and_are_not_grafted() {
    let now = Instant::now();
    let (mut router, scores) = scored_router(Config::default(), 4, &[], now);
    router.join(TOPIC, now);
    assert_eq!(router.mesh_peers(TOPIC).count(), 4);
    scores.set(2, -1.0);
    router.heartbeat(now + Duration::from_secs(1));
    assert!(!router.mesh_peers(TOPIC).any(|peer| *peer == 2));
    for second in 2..100 {
        router.heartbeat(now + Duration::from_secs(second));
        assert!(!router.mesh_peers(TOPIC).any(|peer| *peer == 2));
    }
    assert!(scores.log().contains(&"prune 2 blocks".to_owned()));
}

#[test]
fn the_score_source_hears_of_deliveries_duplicates_and_rejections() {
    let now = Instant::now();
    let (mut router, scores) = scored_router(Config::default(), 2, &[], now);
    router.join(TOPIC, now);
    router.set_validator(|_, _, message| {
        if message.data.as_deref() == Some(b"bad") {
            Validation::Reject
        } else {
            Validation::Accept
        }
    });
    router.handle_rpc(&1, publish(b"good"), now);
    router.handle_rpc(&2, publish(b"good"), now);
    router.handle_rpc(&2, publish(b"bad"), now);
    let log = scores.log();
    assert!(log.contains(&"deliver 1".to_owned()), "{log:?}");
    assert!(log.contains(&"duplicate 2".to_owned()), "{log:?}");
    assert!(log.contains(&"reject 2".to_owned()), "{log:?}");
    // Only the good message was forwarded (to peer 2) and delivered.
    let forwarded: usize = drain(&mut router)
        .iter()
        .map(|(_, rpc)| rpc.publish.len())
        .sum();
    assert_eq!(forwarded, 1);
    let delivered = std::iter::from_fn(|| router.poll_event())
        .filter(|event| matches!(event, hyphae_gossipsub::Event::Message { .. }))
        .count();
    assert_eq!(delivered, 1);
}

#[test]
fn an_unkept_ihave_promise_is_reported_as_broken() {
    let now = Instant::now();
    let (mut router, scores) = scored_router(Config::default(), 1, &[], now);
    router.join(TOPIC, now);
    drain(&mut router);
    let ihave = Rpc {
        control: Some(ControlMessage {
            ihave: vec![ControlIHave {
                topic: TOPIC.into(),
                message_ids: vec![MessageId::new([7])],
            }],
            ..ControlMessage::default()
        }),
        ..Rpc::default()
    };
    router.handle_rpc(&1, ihave, now);
    let sent = drain(&mut router);
    assert!(sent.iter().any(|(_, rpc)| {
        rpc.control
            .as_ref()
            .is_some_and(|control| control.iwant.len() == 1)
    }));
    router.heartbeat(now + Duration::from_secs(1));
    assert!(!scores.log().iter().any(|entry| entry.starts_with("broken")));
    router.heartbeat(now + Duration::from_secs(4));
    assert!(scores.log().contains(&"broken 1 1".to_owned()));
}

#[test]
fn graylisted_peers_are_ignored() {
    let now = Instant::now();
    let config = Config::default();
    let (mut router, scores) = scored_router(config.clone(), 1, &[], now);
    router.join(TOPIC, now);
    router.add_peer(2, Protocol::MeshsubV1_2, Direction::Inbound);
    scores.set(2, config.graylist_threshold - 1.0);
    router.handle_rpc(&2, subscribe(), now);
    assert_eq!(router.peer_topics(&2).count(), 0);
}

#[test]
fn opportunistic_grafting_adds_better_peers_when_the_mesh_median_is_low() {
    let start = Instant::now();
    let config = Config::default();
    let (mut router, scores) = scored_router(config.clone(), 6, &[], start);
    router.join(TOPIC, start);
    assert_eq!(router.mesh_peers(TOPIC).count(), 6);
    // Two more peers arrive, better than everyone in the mesh.
    for peer in [7, 8] {
        router.add_peer(peer, Protocol::MeshsubV1_2, Direction::Inbound);
        router.handle_rpc(&peer, subscribe(), start);
        scores.set(peer, 50.0);
    }
    for second in 1..config.opportunistic_graft_ticks {
        router.heartbeat(start + Duration::from_secs(second));
        assert_eq!(router.mesh_peers(TOPIC).count(), 6);
    }
    router.heartbeat(start + Duration::from_secs(config.opportunistic_graft_ticks));
    let mesh: Vec<u32> = router.mesh_peers(TOPIC).copied().collect();
    assert!(mesh.contains(&7) && mesh.contains(&8), "{mesh:?}");
}

#[test]
fn publishing_to_a_topic_not_joined_uses_a_fanout_that_expires() {
    let start = Instant::now();
    let config = Config {
        flood_publish: false,
        ..Config::default()
    };
    let (mut router, _) = scored_router(config.clone(), 10, &[], start);
    router
        .publish(TOPIC, b"hello".to_vec(), start)
        .expect("published");
    let sent = drain(&mut router);
    assert_eq!(sent.len(), config.mesh_n);
    assert_eq!(router.fanout_peers(TOPIC).count(), config.mesh_n);
    router.heartbeat(start + Duration::from_secs(30));
    assert_eq!(router.fanout_peers(TOPIC).count(), config.mesh_n);
    router.heartbeat(start + Duration::from_secs(61));
    assert_eq!(router.fanout_peers(TOPIC).count(), 0);
    // Joining later starts the mesh from the fanout, when there is one.
    router
        .publish(TOPIC, b"again".to_vec(), start + Duration::from_secs(62))
        .expect("published");
    let fanout: Vec<u32> = router.fanout_peers(TOPIC).copied().collect();
    router.join(TOPIC, start + Duration::from_secs(62));
    let mesh: Vec<u32> = router.mesh_peers(TOPIC).copied().collect();
    assert_eq!(mesh, fanout);
    assert_eq!(router.fanout_peers(TOPIC).count(), 0);
}

#[test]
fn the_score_source_hears_of_connections_mesh_changes_and_heartbeats_in_order() {
    let now = Instant::now();
    let (mut router, scores) = scored_router(Config::default(), 1, &[], now);
    router.join(TOPIC, now);
    router.heartbeat(now + Duration::from_secs(1));
    router.remove_peer(&1, now + Duration::from_secs(2));
    assert_eq!(
        scores.log(),
        [
            "connected 1",
            "graft 1 blocks",
            "heartbeat",
            "disconnected 1",
            "prune 1 blocks"
        ]
    );
}
