//! Lazy push of large messages (`Config::large_message_push_n`) and IWANT asked of one peer
//! at a time: the two ways the router saves copies that would arrive as duplicates.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use hyphae_gossipsub::{
    Config, ControlIDontWant, ControlIHave, ControlMessage, Message, MessageId, Router, Rpc,
};

const TOPIC: &str = "blocks";

fn lazy_router(now: Instant) -> Router<u32> {
    let config = Config {
        large_message_push_n: Some(1),
        idontwant_message_size_threshold: 1000,
        ..Config::default()
    };
    let router = common::subscribed_router(config, 1..=5, TOPIC, now);
    assert_eq!(router.mesh_peers(TOPIC).count(), 5);
    router
}

fn message(size: usize) -> Rpc {
    Rpc {
        publish: vec![Message {
            data: Some(vec![7; size].into()),
            topic: TOPIC.into(),
            ..Message::default()
        }],
        ..Rpc::default()
    }
}

/// What each peer was sent: full copies, and ids announced with IHAVE.
#[derive(Debug, Default, PartialEq)]
struct Sent {
    copies: usize,
    announced: Vec<MessageId>,
}

fn sent(router: &mut Router<u32>) -> BTreeMap<u32, Sent> {
    let mut sent: BTreeMap<u32, Sent> = BTreeMap::new();
    while let Some((peer, rpc)) = router.poll_outbound() {
        let entry = sent.entry(peer).or_default();
        entry.copies += rpc.publish.len();
        for ihave in rpc.control.iter().flat_map(|control| &control.ihave) {
            entry.announced.extend(ihave.message_ids.iter().cloned());
        }
    }
    sent
}

fn only_id(router: &mut Router<u32>) -> MessageId {
    let ids: Vec<MessageId> = std::iter::from_fn(|| router.poll_event())
        .filter_map(|event| match event {
            hyphae_gossipsub::Event::Message { id, .. } => Some(id),
            _ => None,
        })
        .collect();
    assert_eq!(ids.len(), 1, "one message delivered");
    ids[0].clone()
}

#[test]
fn a_large_message_goes_in_full_to_push_n_mesh_peers_and_as_ihave_to_the_rest() {
    let now = Instant::now();
    let mut router = lazy_router(now);
    router.handle_rpc(&1, message(2000), now);
    let id = only_id(&mut router);
    let sent = sent(&mut router);
    assert_eq!(
        sent.get(&1).map_or(0, |s| s.copies),
        0,
        "not back to its source"
    );
    let pushed: Vec<u32> = (2..=5).filter(|peer| sent[peer].copies == 1).collect();
    assert_eq!(pushed.len(), 1, "one full copy: {sent:?}");
    for peer in (2..=5).filter(|peer| !pushed.contains(peer)) {
        assert_eq!(sent[&peer].copies, 0);
        assert_eq!(sent[&peer].announced, vec![id.clone()], "peer {peer}");
    }
}

#[test]
fn the_pushed_peer_is_drawn_anew_for_each_message() {
    let now = Instant::now();
    let mut router = lazy_router(now);
    let mut pushed = std::collections::BTreeSet::new();
    for size in 2000..2040 {
        router.handle_rpc(&1, message(size), now);
        only_id(&mut router);
        let sent = sent(&mut router);
        pushed.extend((2..=5).filter(|peer| sent[peer].copies == 1));
    }
    assert_eq!(pushed.len(), 4, "every mesh peer is pushed to sometimes");
}

#[test]
fn past_half_the_ihave_budget_a_heartbeat_messages_go_in_full() {
    let now = Instant::now();
    let config = Config {
        large_message_push_n: Some(1),
        max_ihave_messages: 4,
        ..Config::default()
    };
    let mut router = common::subscribed_router(config, 1..=3, TOPIC, now);
    // A budget of 2 announcements a peer: each message announced to one of peers 2 and 3
    // (the other gets it in full), until both budgets are spent; then in full to both.
    let mut announced = BTreeMap::<u32, usize>::new();
    let mut full_to_both = 0;
    for size in 2000..2020 {
        router.handle_rpc(&1, message(size), now);
        only_id(&mut router);
        let sent = sent(&mut router);
        for peer in [2, 3] {
            *announced.entry(peer).or_default() += sent[&peer].announced.len();
        }
        if sent[&2].copies == 1 && sent[&3].copies == 1 {
            full_to_both += 1;
        }
    }
    assert!(announced.values().all(|&n| n <= 2), "{announced:?}");
    assert_eq!(announced.values().sum::<usize>(), 4, "{announced:?}");
    assert_eq!(full_to_both, 16, "the rest went in full to both");
    // A heartbeat renews the budget.
    router.heartbeat(now + Duration::from_secs(1));
    while router.poll_outbound().is_some() {}
    router.handle_rpc(&1, message(3000), now + Duration::from_secs(1));
    only_id(&mut router);
    let sent = sent(&mut router);
    let announcements: usize = [2, 3].iter().map(|p| sent[p].announced.len()).sum();
    assert_eq!(announcements, 1);
}

#[test]
fn small_messages_and_the_default_go_in_full_to_every_mesh_peer() {
    let now = Instant::now();
    let mut lazy = lazy_router(now);
    lazy.handle_rpc(&1, message(999), now);
    only_id(&mut lazy);
    let sent_small = sent(&mut lazy);
    let mut eager = common::subscribed_router(Config::default(), 1..=5, TOPIC, now);
    eager.handle_rpc(&1, message(2000), now);
    only_id(&mut eager);
    let sent_large = sent(&mut eager);
    for sent in [sent_small, sent_large] {
        for peer in 2..=5 {
            assert_eq!(sent[&peer].copies, 1, "peer {peer}: {sent:?}");
            assert!(sent[&peer].announced.is_empty());
        }
    }
}

#[test]
fn a_peer_that_said_idontwant_is_neither_pushed_to_nor_told() {
    let now = Instant::now();
    let mut router = lazy_router(now);
    let rpc = message(2000);
    // The id this router's message-id function gives, learnt from a twin.
    let mut twin = lazy_router(now);
    twin.handle_rpc(&1, rpc.clone(), now);
    let id = only_id(&mut twin);
    for peer in [2, 3, 4] {
        let idontwant = Rpc {
            control: Some(ControlMessage {
                idontwant: vec![ControlIDontWant {
                    message_ids: vec![id.clone()],
                }],
                ..ControlMessage::default()
            }),
            ..Rpc::default()
        };
        router.handle_rpc(&peer, idontwant, now);
    }
    router.handle_rpc(&1, rpc, now);
    only_id(&mut router);
    let sent = sent(&mut router);
    for peer in [2, 3, 4] {
        let copies = sent.get(&peer).map_or(0, |s| s.copies);
        let announced = sent.get(&peer).map_or(0, |s| s.announced.len());
        assert_eq!((copies, announced), (0, 0), "peer {peer}");
    }
    assert_eq!(sent[&5].copies, 1, "the one peer left gets it in full");
}

#[test]
fn an_id_owed_by_one_peer_is_not_asked_of_another_until_the_promise_breaks() {
    let now = Instant::now();
    let mut router = common::subscribed_router(Config::default(), 1..=2, TOPIC, now);
    let id = MessageId::from(b"block 1".to_vec());
    let ihave = Rpc {
        control: Some(ControlMessage {
            ihave: vec![ControlIHave {
                topic: TOPIC.into(),
                message_ids: vec![id.clone()],
            }],
            ..ControlMessage::default()
        }),
        ..Rpc::default()
    };
    let iwants = |router: &mut Router<u32>| -> Vec<u32> {
        std::iter::from_fn(|| router.poll_outbound())
            .filter(|(_, rpc)| rpc.control.as_ref().is_some_and(|c| !c.iwant.is_empty()))
            .map(|(peer, _)| peer)
            .collect()
    };
    router.handle_rpc(&1, ihave.clone(), now);
    router.handle_rpc(&2, ihave.clone(), now);
    assert_eq!(iwants(&mut router), vec![1], "asked of the first peer only");

    // Peer 1 never delivers: once its promise is broken, peer 2 is asked.
    let later = now + Config::default().iwant_followup_time + Duration::from_secs(1);
    router.heartbeat(later);
    router.handle_rpc(&2, ihave, later);
    assert_eq!(iwants(&mut router), vec![2]);
}
