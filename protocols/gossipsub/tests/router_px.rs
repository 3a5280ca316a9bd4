//! Peer exchange (gossipsub-v1.1.md "PRUNE Backoff and Peer Exchange"): offered in PRUNEs
//! for want of room, never to a peer pruned for its score, and passed on to the driver only
//! from peers scoring at least `accept_px_threshold`, only when turned on.

mod common;

use std::collections::BTreeMap;
use std::time::Instant;

use hyphae_gossipsub::{
    Config, ControlGraft, ControlMessage, ControlPrune, Direction, Event, PeerInfo, Publisher,
    Router, Rpc, ScoreSource,
};

const TOPIC: &str = "blocks";

/// Fixed scores; 0 for peers not listed.
struct Scores(BTreeMap<u32, f64>);

impl ScoreSource<u32> for Scores {
    fn score(&self, peer: &u32) -> f64 {
        self.0.get(peer).copied().unwrap_or(0.0)
    }
}

fn describe(peer: &u32) -> Option<PeerInfo> {
    Some(PeerInfo {
        peer_id: Some(vec![*peer as u8]),
        signed_peer_record: None,
    })
}

/// A router with `count` subscribed peers, having joined [`TOPIC`], with peer exchange
/// `do_px` and a mesh of at most 2 (D = 2, D_hi = 2).
fn router(do_px: bool, count: u32, scores: &[(u32, f64)], now: Instant) -> Router<u32> {
    let config = Config {
        mesh_n: 2,
        mesh_n_low: 1,
        mesh_n_high: 2,
        mesh_n_score: 1,
        mesh_outbound_min: 0,
        do_px,
        prune_peers: 3,
        ..Config::default()
    };
    let mut router = Router::new(config, Publisher::anonymous(), 9).expect("valid config");
    router.set_score_source(Scores(scores.iter().copied().collect()));
    router.set_peer_info_fn(describe);
    common::join_with_peers(&mut router, 1..=count, Direction::Inbound, TOPIC, now);
    router
}

fn control(control: ControlMessage) -> Rpc {
    Rpc {
        control: Some(control),
        ..Rpc::default()
    }
}

fn graft() -> Rpc {
    control(ControlMessage {
        graft: vec![ControlGraft {
            topic: TOPIC.into(),
        }],
        ..ControlMessage::default()
    })
}

/// The PRUNEs sent, by peer.
fn prunes(router: &mut Router<u32>) -> Vec<(u32, ControlPrune)> {
    std::iter::from_fn(|| router.poll_outbound())
        .flat_map(|(peer, rpc)| {
            rpc.control
                .into_iter()
                .flat_map(|control| control.prune)
                .map(move |prune| (peer, prune))
        })
        .collect()
}

#[test]
fn a_graft_refused_for_want_of_room_gets_other_peers_only_with_px_on() {
    let now = Instant::now();
    for do_px in [false, true] {
        let mut router = router(do_px, 6, &[], now);
        assert_eq!(router.mesh_peers(TOPIC).count(), 2);
        let outsider = (1..=6)
            .find(|peer| !router.mesh_peers(TOPIC).any(|mesh| mesh == peer))
            .unwrap();
        router.handle_rpc(&outsider, graft(), now);
        let prunes = prunes(&mut router);
        assert_eq!(prunes.len(), 1);
        let (to, prune) = &prunes[0];
        assert_eq!(*to, outsider);
        if do_px {
            assert_eq!(prune.peers.len(), 3, "prune_peers bounds the offer");
            assert!(!prune.peers.contains(&describe(&outsider).unwrap()));
        } else {
            assert!(prune.peers.is_empty());
        }
    }
}

#[test]
fn a_peer_pruned_for_its_score_is_offered_no_one() {
    let now = Instant::now();
    let mut router = router(true, 4, &[(1, -5.0)], now);
    router.handle_rpc(&1, graft(), now);
    let prunes = prunes(&mut router);
    assert_eq!(prunes.len(), 1);
    assert!(prunes[0].1.peers.is_empty());
}

#[test]
fn offers_are_passed_on_from_well_scored_peers_only() {
    let now = Instant::now();
    let offered = vec![describe(&7).unwrap(), describe(&8).unwrap()];
    let prune = |peers: Vec<PeerInfo>| {
        control(ControlMessage {
            prune: vec![ControlPrune {
                topic: TOPIC.into(),
                peers,
                backoff: Some(60),
            }],
            ..ControlMessage::default()
        })
    };
    // Peer 1 scores 20 (over the default threshold of 10), peer 2 scores 0.
    let mut router = router(true, 2, &[(1, 20.0)], now);
    router.handle_rpc(&2, prune(offered.clone()), now);
    assert!(router.poll_event().is_none());
    router.handle_rpc(&1, prune(offered.clone()), now);
    match router.poll_event() {
        Some(Event::PeerExchange {
            source: 1,
            topic,
            peers,
        }) => assert_eq!((topic.as_str(), peers), (TOPIC, offered.clone())),
        other => panic!("expected peer exchange, got {other:?}"),
    }
    // Off: nothing is passed on.
    let mut router = self::router(false, 2, &[(1, 20.0)], now);
    router.handle_rpc(&1, prune(offered), now);
    assert!(router.poll_event().is_none());
}
