//! Whatever peers make the router do, in whatever order and time, the bookkeeping never
//! panics and stays within its bounds.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use hyphae_gossipsub::params::MAX_BACKOFF;
use hyphae_gossipsub::{
    BackoffTable, GossipPromises, IHaveBudget, Message, MessageCache, MessageId, SeenCache,
};
use proptest::prelude::*;

const TOPICS: [&str; 3] = ["blocks", "votes", "blobs"];

fn id(byte: u8) -> MessageId {
    MessageId::new([byte])
}

/// A time step: mostly small, sometimes hours.
fn step() -> impl Strategy<Value = Duration> {
    prop_oneof![
        4 => (0u64..3_000).prop_map(Duration::from_millis),
        1 => (0u64..100_000).prop_map(Duration::from_secs),
    ]
}

#[derive(Debug, Clone)]
enum CacheOp {
    Put { topic: usize, id: u8 },
    Iwant { id: u8, peer: u8 },
    Gossip { topic: usize },
    Shift,
}

fn cache_op() -> impl Strategy<Value = CacheOp> {
    prop_oneof![
        4 => (0..TOPICS.len(), 0u8..40).prop_map(|(topic, id)| CacheOp::Put { topic, id }),
        3 => (0u8..40, 0u8..4).prop_map(|(id, peer)| CacheOp::Iwant { id, peer }),
        1 => (0..TOPICS.len()).prop_map(|topic| CacheOp::Gossip { topic }),
        2 => Just(CacheOp::Shift),
    ]
}

#[derive(Debug, Clone)]
enum SeenOp {
    Insert { id: u8, after: Duration },
    Contains { id: u8 },
    Expire { after: Duration },
}

/// Whole seconds, so that ids are often looked up exactly as their TTL ends.
fn seen_op() -> impl Strategy<Value = SeenOp> {
    let after = (0u64..4).prop_map(Duration::from_secs);
    prop_oneof![
        4 => (0u8..30, after.clone()).prop_map(|(id, after)| SeenOp::Insert { id, after }),
        2 => (0u8..30).prop_map(|id| SeenOp::Contains { id }),
        1 => after.prop_map(|after| SeenOp::Expire { after }),
    ]
}

#[derive(Debug, Clone)]
enum BackoffOp {
    Prune {
        topic: usize,
        peer: u8,
        seconds: Option<u64>,
    },
    Add {
        topic: usize,
        peer: u8,
        backoff: Duration,
    },
    Check {
        topic: usize,
        peer: u8,
    },
    Expire {
        after: Duration,
    },
}

fn backoff_op() -> impl Strategy<Value = BackoffOp> {
    let seconds = prop_oneof![
        Just(None),
        (0u64..200).prop_map(Some),
        any::<u64>().prop_map(Some),
        Just(Some(u64::MAX)),
    ];
    let backoff = prop_oneof![
        (0u64..120_000).prop_map(Duration::from_millis),
        Just(Duration::MAX),
    ];
    prop_oneof![
        3 => (0..TOPICS.len(), 0u8..6, seconds)
            .prop_map(|(topic, peer, seconds)| BackoffOp::Prune { topic, peer, seconds }),
        2 => (0..TOPICS.len(), 0u8..6, backoff)
            .prop_map(|(topic, peer, backoff)| BackoffOp::Add { topic, peer, backoff }),
        2 => (0..TOPICS.len(), 0u8..6).prop_map(|(topic, peer)| BackoffOp::Check { topic, peer }),
        1 => step().prop_map(|after| BackoffOp::Expire { after }),
    ]
}

#[derive(Debug, Clone)]
enum GossipOp {
    IHave { peer: u8, ids: usize },
    Received { id: u8 },
    Heartbeat { after: Duration },
}

fn gossip_op() -> impl Strategy<Value = GossipOp> {
    prop_oneof![
        4 => (0u8..5, 0usize..50).prop_map(|(peer, ids)| GossipOp::IHave { peer, ids }),
        2 => (0u8..60).prop_map(|id| GossipOp::Received { id }),
        1 => step().prop_map(|after| GossipOp::Heartbeat { after }),
    ]
}

proptest! {
    #[test]
    fn the_message_cache_stays_within_its_bounds(
        history_length in 0usize..7,
        history_gossip in 0usize..8,
        retransmission in 0u32..4,
        max_messages in 0usize..25,
        ops in proptest::collection::vec(cache_op(), 0..200),
    ) {
        let mut cache = MessageCache::<u8>::new(history_length, history_gossip)
            .with_gossip_retransmission(retransmission)
            .with_max_messages(max_messages);
        let windows = history_length.max(1);
        // Per cached id: heartbeats since it was put, and IWANTs served per peer.
        let mut ages: HashMap<u8, usize> = HashMap::new();
        let mut served: HashMap<(u8, u8), u32> = HashMap::new();
        for op in ops {
            match op {
                CacheOp::Put { topic, id: byte } => {
                    let message = Message { topic: TOPICS[topic].into(), ..Message::default() };
                    let was_cached = cache.contains(&id(byte));
                    if cache.put(id(byte), message) {
                        prop_assert!(!was_cached);
                        ages.insert(byte, 0);
                        served.retain(|(served_id, _), _| *served_id != byte);
                    }
                }
                CacheOp::Iwant { id: byte, peer } => {
                    if cache.get_for_iwant(&id(byte), &peer).is_some() {
                        let count = served.entry((byte, peer)).or_insert(0);
                        *count += 1;
                        prop_assert!(*count <= retransmission);
                    }
                }
                CacheOp::Gossip { topic } => {
                    for gossiped in cache.get_gossip_ids(TOPICS[topic]) {
                        let message = cache.get(&gossiped);
                        prop_assert_eq!(message.map(|m| m.topic.as_str()), Some(TOPICS[topic]));
                        let byte = gossiped.as_bytes()[0];
                        prop_assert!(ages.get(&byte).is_some_and(|age| *age < history_gossip));
                    }
                }
                CacheOp::Shift => {
                    cache.shift();
                    for age in ages.values_mut() {
                        *age += 1;
                    }
                }
            }
            prop_assert!(cache.len() <= max_messages);
            for (byte, age) in &ages {
                if *age >= windows {
                    prop_assert!(!cache.contains(&id(*byte)));
                }
            }
        }
    }

    #[test]
    fn the_seen_cache_stays_within_its_bounds(
        ttl_seconds in 0u64..10,
        max_entries in 0usize..12,
        ops in proptest::collection::vec(seen_op(), 0..300),
    ) {
        let ttl = Duration::from_secs(ttl_seconds);
        let mut seen = SeenCache::new(ttl, max_entries);
        let mut now = Instant::now();
        // When each id was last found new.
        let mut new_at: HashMap<u8, Instant> = HashMap::new();
        for op in ops {
            match op {
                SeenOp::Insert { id: byte, after } => {
                    now += after;
                    let was_seen = seen.contains(&id(byte), now);
                    let is_new = seen.insert(id(byte), now);
                    prop_assert_eq!(is_new, !was_seen);
                    if is_new {
                        new_at.insert(byte, now);
                    }
                }
                SeenOp::Contains { id: byte } => {
                    if seen.contains(&id(byte), now) {
                        let first = new_at.get(&byte).copied();
                        prop_assert!(first.is_some_and(|first| now - first < ttl));
                    }
                }
                SeenOp::Expire { after } => {
                    now += after;
                    seen.expire(now);
                }
            }
            prop_assert!(seen.len() <= max_entries);
        }
    }

    #[test]
    fn backoffs_never_panic_and_stay_within_their_bounds(
        max_entries in 0usize..10,
        slack_ms in 0u64..5_000,
        ops in proptest::collection::vec(backoff_op(), 0..200),
    ) {
        let mut table = BackoffTable::<u8>::new(Duration::from_secs(60), Duration::from_millis(slack_ms))
            .with_max_entries(max_entries);
        let mut now = Instant::now();
        for op in ops {
            match op {
                BackoffOp::Prune { topic, peer, seconds } => {
                    let was_recorded = table.backoff_until(TOPICS[topic], &peer).is_some();
                    let recorded = table.apply_prune(TOPICS[topic], &peer, seconds, now);
                    prop_assert!(recorded || (!was_recorded && table.len() >= max_entries));
                    if recorded {
                        // Every backoff is a second or more, and backoffs only extend.
                        prop_assert!(table.is_backing_off(TOPICS[topic], &peer, now));
                    }
                }
                BackoffOp::Add { topic, peer, backoff } => {
                    table.add(TOPICS[topic], &peer, backoff, now);
                }
                BackoffOp::Check { topic, peer } => {
                    if let Some(until) = table.backoff_until(TOPICS[topic], &peer) {
                        prop_assert!(until <= now + MAX_BACKOFF);
                    }
                    if table.is_backing_off(TOPICS[topic], &peer, now) {
                        prop_assert!(!table.can_graft(TOPICS[topic], &peer, now));
                    }
                }
                BackoffOp::Expire { after } => {
                    now += after;
                    table.expire(now);
                }
            }
            prop_assert!(table.len() <= max_entries);
        }
    }

    #[test]
    fn ihave_accounting_and_promises_stay_within_their_bounds(
        max_ihave_messages in 0usize..4,
        max_ihave_length in 0usize..40,
        max_per_peer in 0usize..6,
        ops in proptest::collection::vec(gossip_op(), 0..200),
    ) {
        let followup = Duration::from_secs(3);
        let mut budget = IHaveBudget::<u8>::new(max_ihave_messages, max_ihave_length);
        let mut promises = GossipPromises::<u8>::new(followup, max_per_peer);
        let mut now = Instant::now();
        let mut ihaves: HashMap<u8, usize> = HashMap::new();
        let mut asked: HashMap<u8, usize> = HashMap::new();
        let mut next_id = 0u8;
        for op in ops {
            match op {
                GossipOp::IHave { peer, ids } => {
                    *ihaves.entry(peer).or_insert(0) += 1;
                    if !budget.accept_ihave(&peer) {
                        continue;
                    }
                    prop_assert!(ihaves[&peer] <= max_ihave_messages);
                    let granted = budget.reserve_iwant(&peer, ids);
                    let total = asked.entry(peer).or_insert(0);
                    *total += granted;
                    prop_assert!(granted <= ids && *total <= max_ihave_length);
                    if granted > 0 {
                        // As the spec: one promise per IWANT.
                        next_id = (next_id + 1) % 60;
                        promises.add(&peer, id(next_id), now);
                    }
                }
                GossipOp::Received { id: byte } => promises.message_received(&id(byte)),
                GossipOp::Heartbeat { after } => {
                    now += after;
                    budget.reset();
                    ihaves.clear();
                    asked.clear();
                    let open_before = promises.len();
                    let broken: usize = promises.take_broken(now).values().sum();
                    prop_assert_eq!(promises.len() + broken, open_before);
                    if after > followup {
                        prop_assert!(promises.is_empty());
                    }
                }
            }
            for peer in 0..5 {
                prop_assert!(promises.open(&peer) <= max_per_peer);
            }
            prop_assert!(budget.peers() <= 5);
        }
    }
}
