//! Whatever RPCs a peer sends, in whatever order and time, the router never panics and what
//! it holds for that peer stays within the configured bounds.

mod common;

use std::time::{Duration, Instant};

use bytes::Bytes;
use hyphae_gossipsub::{
    Config, ControlGraft, ControlIDontWant, ControlIHave, ControlIWant, ControlMessage,
    ControlPrune, Direction, Message, MessageId, Protocol, Publisher, Router, Rpc, SubOpts,
};
use proptest::collection::vec;
use proptest::prelude::*;

const TOPICS: [&str; 5] = ["blocks", "votes", "a", "b", "c"];
const ATTACKER: u32 = 1;

fn config() -> Config {
    Config {
        max_topics_per_peer: 3,
        max_idontwant_per_peer: 8,
        max_queued_rpcs_per_peer: 16,
        max_queued_events: 32,
        ..Config::default()
    }
}

fn topic() -> impl Strategy<Value = String> {
    prop::sample::select(TOPICS.to_vec()).prop_map(String::from)
}

fn id() -> impl Strategy<Value = MessageId> {
    (0u8..16).prop_map(|byte| MessageId::new([byte]))
}

fn ids() -> impl Strategy<Value = Vec<MessageId>> {
    vec(id(), 0..12)
}

fn message() -> impl Strategy<Value = Message> {
    (topic(), vec(any::<u8>(), 0..8), any::<bool>()).prop_map(|(topic, data, signed)| Message {
        data: Some(Bytes::from(data)),
        topic,
        // Messages with a `from` break the StrictNoSign policy and are rejected.
        from: signed.then(|| vec![0; 4]),
        ..Message::default()
    })
}

fn control() -> impl Strategy<Value = ControlMessage> {
    (
        vec((topic(), ids()), 0..3),
        vec(ids(), 0..2),
        vec(topic(), 0..3),
        vec((topic(), prop::option::of(any::<u64>())), 0..3),
        vec(ids(), 0..2),
    )
        .prop_map(|(ihave, iwant, graft, prune, idontwant)| ControlMessage {
            ihave: ihave
                .into_iter()
                .map(|(topic, message_ids)| ControlIHave { topic, message_ids })
                .collect(),
            iwant: iwant
                .into_iter()
                .map(|message_ids| ControlIWant { message_ids })
                .collect(),
            graft: graft
                .into_iter()
                .map(|topic| ControlGraft { topic })
                .collect(),
            prune: prune
                .into_iter()
                .map(|(topic, backoff)| ControlPrune {
                    topic,
                    peers: Vec::new(),
                    backoff,
                })
                .collect(),
            idontwant: idontwant
                .into_iter()
                .map(|message_ids| ControlIDontWant { message_ids })
                .collect(),
            extensions: None,
        })
}

fn rpc() -> impl Strategy<Value = Rpc> {
    (
        vec((any::<bool>(), topic()), 0..6),
        vec(message(), 0..3),
        prop::option::of(control()),
    )
        .prop_map(|(subscriptions, publish, control)| Rpc {
            subscriptions: subscriptions
                .into_iter()
                .map(|(subscribe, topic)| SubOpts { subscribe, topic })
                .collect(),
            publish,
            control,
            test_extension: false,
        })
}

/// What the attacker does at each step.
#[derive(Debug, Clone)]
enum Step {
    Send(Rpc),
    /// Time passes by this many seconds and, if true, we drain our outbound queue.
    Heartbeat(u64, bool),
    Publish(String),
    Leave(String),
    Join(String),
}

fn step(rpc: BoxedStrategy<Rpc>) -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => rpc.prop_map(Step::Send),
        2 => (0u64..90, any::<bool>()).prop_map(|(secs, drain)| Step::Heartbeat(secs, drain)),
        1 => topic().prop_map(Step::Publish),
        1 => topic().prop_map(Step::Leave),
        1 => topic().prop_map(Step::Join),
    ]
}

fn run(steps: Vec<Step>) {
    let config = config();
    let mut router: Router<u32> =
        Router::new(config.clone(), Publisher::anonymous(), 1).expect("valid config");
    let start = Instant::now();
    router.join("blocks", start);
    router.add_peer(ATTACKER, Protocol::MeshsubV1_2, Direction::Inbound);
    for (peer, protocol) in [(2, Protocol::MeshsubV1_1), (3, Protocol::Floodsub)] {
        router.add_peer(peer, protocol, Direction::Outbound);
        router.handle_rpc(
            &peer,
            Rpc {
                subscriptions: vec![SubOpts {
                    subscribe: true,
                    topic: "blocks".into(),
                }],
                ..Rpc::default()
            },
            start,
        );
    }
    let mut now = start;
    let mut counter = 0u32;
    for step in steps {
        match step {
            Step::Send(rpc) => router.handle_rpc(&ATTACKER, rpc, now),
            Step::Heartbeat(secs, drain) => {
                now += Duration::from_secs(secs);
                router.heartbeat(now);
                assert!(router.mesh_peers("blocks").count() <= config.mesh_n_high);
                if drain {
                    while router.poll_outbound().is_some() {}
                }
            }
            Step::Publish(topic) => {
                counter += 1;
                let _ = router.publish(&topic, counter.to_be_bytes().to_vec(), now);
            }
            Step::Leave(topic) => router.leave(&topic, now),
            Step::Join(topic) => router.join(&topic, now),
        }
        assert!(router.peer_topics(&ATTACKER).count() <= config.max_topics_per_peer);
        assert!(router.dont_want_len(&ATTACKER) <= config.max_idontwant_per_peer);
        for peer in 1..=3 {
            assert!(router.queued_rpcs(&peer) <= config.max_queued_rpcs_per_peer);
        }
        // Our own topics, plus at most max_topics_per_peer per peer, in each of the three
        // tables (subscriptions, meshes, fanouts).
        assert!(router.topics_tracked() <= 3 * (TOPICS.len() + 3 * config.max_topics_per_peer));
    }
    let events = std::iter::from_fn(|| router.poll_event()).count();
    assert!(events <= config.max_queued_events);
    router.remove_peer(&ATTACKER, now);
    assert_eq!(router.dont_want_len(&ATTACKER), 0);
    assert!(!router.mesh_peers("blocks").any(|peer| *peer == ATTACKER));
    assert!(!router.topic_peers("blocks").any(|peer| *peer == ATTACKER));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn rpcs_on_known_topics_never_panic_nor_exceed_the_bounds(
        steps in vec(step(rpc().boxed()), 0..60),
    ) {
        run(steps);
    }

    #[test]
    fn arbitrary_rpcs_never_panic_nor_exceed_the_bounds(
        steps in vec(step(common::rpc().boxed()), 0..40),
    ) {
        run(steps);
    }
}
