//! What the tests share: proptest strategies for RPCs, and an independent protobuf model of
//! the specs' schema to check our encoding against.

#![allow(dead_code, unreachable_pub)]

pub mod reference;

use bytes::Bytes;
use hyphae_gossipsub::{
    ControlExtensions, ControlGraft, ControlIDontWant, ControlIHave, ControlIWant, ControlMessage,
    ControlPrune, Message, MessageId, PeerInfo, Rpc, SubOpts,
};
use proptest::collection::vec;
use proptest::option::of;
use proptest::prelude::*;

fn topic() -> impl Strategy<Value = String> {
    "\\PC{0,12}"
}

fn bytes() -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u8>(), 0..24)
}

fn message_ids() -> impl Strategy<Value = Vec<MessageId>> {
    vec(bytes().prop_map(MessageId::from), 0..4)
}

fn sub_opts() -> impl Strategy<Value = SubOpts> {
    (any::<bool>(), topic()).prop_map(|(subscribe, topic)| SubOpts { subscribe, topic })
}

fn message() -> impl Strategy<Value = Message> {
    (
        of(bytes()),
        of(bytes().prop_map(Bytes::from)),
        of(bytes()),
        topic(),
        of(bytes()),
        of(bytes()),
    )
        .prop_map(|(from, data, seqno, topic, signature, key)| Message {
            from,
            data,
            seqno,
            topic,
            signature,
            key,
        })
}

fn peer_info() -> impl Strategy<Value = PeerInfo> {
    (of(bytes()), of(bytes())).prop_map(|(peer_id, signed_peer_record)| PeerInfo {
        peer_id,
        signed_peer_record,
    })
}

fn control() -> impl Strategy<Value = ControlMessage> {
    (
        vec(
            (topic(), message_ids())
                .prop_map(|(topic, message_ids)| ControlIHave { topic, message_ids }),
            0..3,
        ),
        vec(
            message_ids().prop_map(|message_ids| ControlIWant { message_ids }),
            0..3,
        ),
        vec(topic().prop_map(|topic| ControlGraft { topic }), 0..3),
        vec(
            (topic(), vec(peer_info(), 0..3), of(any::<u64>())).prop_map(
                |(topic, peers, backoff)| ControlPrune {
                    topic,
                    peers,
                    backoff,
                },
            ),
            0..3,
        ),
        vec(
            message_ids().prop_map(|message_ids| ControlIDontWant { message_ids }),
            0..3,
        ),
        of(any::<bool>().prop_map(|test_extension| ControlExtensions { test_extension })),
    )
        .prop_map(
            |(ihave, iwant, graft, prune, idontwant, extensions)| ControlMessage {
                ihave,
                iwant,
                graft,
                prune,
                idontwant,
                extensions,
            },
        )
}

/// Any RPC within the default limits.
pub fn rpc() -> impl Strategy<Value = Rpc> {
    (
        vec(sub_opts(), 0..4),
        vec(message(), 0..4),
        of(control()),
        any::<bool>(),
    )
        .prop_map(|(subscriptions, publish, control, test_extension)| Rpc {
            subscriptions,
            publish,
            control,
            test_extension,
        })
}

/// A router with `config` whose `peers` (meshsub 1.2, inbound) are subscribed to `topic`,
/// joined to `topic` (so they are in its mesh, up to `D`), with its events and the RPCs of
/// the set-up drained.
pub fn subscribed_router(
    config: hyphae_gossipsub::Config,
    peers: impl IntoIterator<Item = u32>,
    topic: &str,
    now: std::time::Instant,
) -> hyphae_gossipsub::Router<u32> {
    use hyphae_gossipsub::{Direction, Publisher, Router};
    let mut router = Router::new(config, Publisher::anonymous(), 5).expect("valid config");
    join_with_peers(&mut router, peers, Direction::Inbound, topic, now);
    router
}

/// Adds `peers` (meshsub 1.2, connected in `direction`) to `router`, subscribes them to
/// `topic`, joins it (so they are in its mesh, up to `D`), and drains the set-up's events
/// and RPCs.
pub fn join_with_peers(
    router: &mut hyphae_gossipsub::Router<u32>,
    peers: impl IntoIterator<Item = u32>,
    direction: hyphae_gossipsub::Direction,
    topic: &str,
    now: std::time::Instant,
) {
    for peer in peers {
        router.add_peer(peer, hyphae_gossipsub::Protocol::MeshsubV1_2, direction);
        let subscribe = Rpc {
            subscriptions: vec![SubOpts {
                subscribe: true,
                topic: topic.into(),
            }],
            ..Rpc::default()
        };
        router.handle_rpc(&peer, subscribe, now);
    }
    router.join(topic, now);
    while router.poll_event().is_some() {}
    while router.poll_outbound().is_some() {}
}
