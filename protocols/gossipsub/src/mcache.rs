//! The message cache (`mcache`) of gossipsub-v1.0.md, "Message Cache": the messages of the
//! last few heartbeats, which IHAVE gossip advertises and IWANT requests are answered from;
//! with v1.1's limit on how often one peer is answered for one message (gossipsub-v1.1.md,
//! "Spam Protection Measures").
//!
//! Bounds: a message leaves when its window is shifted out, [`MCACHE_LEN`] heartbeats after
//! it was put; at most [`MAX_CACHED_MESSAGES`] are held at once, the oldest leaving first
//! when a burst would pass that; and each message counts IWANTs with one counter per peer
//! that asked for it.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;

use crate::params::{GOSSIP_RETRANSMISSION, MAX_CACHED_MESSAGES, MCACHE_GOSSIP, MCACHE_LEN};
use crate::{Message, MessageId};

/// The recent messages, by id and by heartbeat window.
///
/// Put a message once it is valid: the cache serves it to any peer that asks. `P` is the
/// router's peer key (`PeerId` in a node, anything `Eq + Hash + Clone` in a simulation).
#[derive(Debug, Clone)]
pub struct MessageCache<P> {
    messages: HashMap<MessageId, CachedMessage<P>>,
    /// The ids put during each heartbeat, newest window first; always `history_length`
    /// windows. Each cached id is in exactly one window.
    windows: VecDeque<Vec<MessageId>>,
    history_gossip: usize,
    gossip_retransmission: u32,
    max_messages: usize,
}

#[derive(Debug, Clone)]
struct CachedMessage<P> {
    message: Message,
    /// IWANTs for this message per peer, saturating one past `gossip_retransmission`.
    iwant_counts: HashMap<P, u32>,
}

impl<P: Eq + Hash + Clone> MessageCache<P> {
    /// A cache of `history_length` heartbeat windows (`mcache_len`), gossiping the ids of the
    /// newest `history_gossip` (`mcache_gossip`).
    ///
    /// A `history_length` of 0 is taken as 1 (the current window always exists), and a
    /// `history_gossip` over `history_length` as `history_length`.
    pub fn new(history_length: usize, history_gossip: usize) -> MessageCache<P> {
        let history_length = history_length.max(1);
        MessageCache {
            messages: HashMap::new(),
            windows: (0..history_length).map(|_| Vec::new()).collect(),
            history_gossip: history_gossip.min(history_length),
            gossip_retransmission: GOSSIP_RETRANSMISSION,
            max_messages: MAX_CACHED_MESSAGES,
        }
    }

    /// The same cache answering each peer's IWANT for a message at most `times` times.
    pub fn with_gossip_retransmission(mut self, times: u32) -> MessageCache<P> {
        self.gossip_retransmission = times;
        self
    }

    /// The same cache holding at most `max` messages, the oldest leaving first.
    pub fn with_max_messages(mut self, max: usize) -> MessageCache<P> {
        self.max_messages = max;
        self
    }

    /// Adds a message to the current window (`mcache.put`). Returns false, changing nothing,
    /// if the id is already cached (a message stays in the window it was first put in), or
    /// if the cache may hold no message at all.
    pub fn put(&mut self, id: MessageId, message: Message) -> bool {
        if self.messages.contains_key(&id) {
            return false;
        }
        while self.messages.len() >= self.max_messages {
            if !self.evict_oldest() {
                return false;
            }
        }
        self.messages.insert(
            id.clone(),
            CachedMessage {
                message,
                iwant_counts: HashMap::new(),
            },
        );
        if let Some(current) = self.windows.front_mut() {
            current.push(id);
        }
        true
    }

    /// The cached message with this id (`mcache.get`).
    pub fn get(&self, id: &MessageId) -> Option<&Message> {
        self.messages.get(id).map(|cached| &cached.message)
    }

    /// Whether a message with this id is cached.
    pub fn contains(&self, id: &MessageId) -> bool {
        self.messages.contains_key(id)
    }

    /// The message to send `peer` in answer to its IWANT for `id`, counting the request;
    /// `None` if it is not cached or `peer` already asked for it `gossip_retransmission`
    /// times (v1.1 "Spam Protection Measures": IWANT spam must not drain our resources).
    pub fn get_for_iwant(&mut self, id: &MessageId, peer: &P) -> Option<&Message> {
        let limit = self.gossip_retransmission;
        let cached = self.messages.get_mut(id)?;
        let count = cached.iwant_counts.entry(peer.clone()).or_insert(0);
        // Never past limit + 1, so a counter cannot overflow however often a peer asks.
        *count = count.saturating_add(1).min(limit.saturating_add(1));
        (*count <= limit).then_some(&cached.message)
    }

    /// The ids of the messages of `topic` put in the newest `history_gossip` windows, for
    /// IHAVE gossip (`mcache.get_gossip_ids`): newest window first, each in the order put.
    pub fn get_gossip_ids(&self, topic: &str) -> Vec<MessageId> {
        self.windows
            .iter()
            .take(self.history_gossip)
            .flatten()
            .filter(|id| {
                self.messages
                    .get(*id)
                    .is_some_and(|cached| cached.message.topic == topic)
            })
            .cloned()
            .collect()
    }

    /// Opens a new window and forgets the messages of the oldest (`mcache.shift`), at each
    /// heartbeat after gossip is emitted.
    pub fn shift(&mut self) {
        if let Some(oldest) = self.windows.pop_back() {
            for id in oldest {
                self.messages.remove(&id);
            }
        }
        self.windows.push_front(Vec::new());
    }

    /// How many messages are cached.
    pub fn len(&self) -> usize {
        self.messages.len()
    }

    /// Whether no message is cached.
    pub fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }

    /// Forgets the last message put in the oldest window that has any; false if none has.
    fn evict_oldest(&mut self) -> bool {
        let oldest = self.windows.iter_mut().rev().find(|ids| !ids.is_empty());
        match oldest.and_then(Vec::pop) {
            Some(id) => {
                self.messages.remove(&id);
                true
            }
            None => false,
        }
    }
}

/// The spec's windows ([`MCACHE_LEN`], [`MCACHE_GOSSIP`]) and go-libp2p's retransmission
/// limit ([`GOSSIP_RETRANSMISSION`](crate::params::GOSSIP_RETRANSMISSION)).
impl<P: Eq + Hash + Clone> Default for MessageCache<P> {
    fn default() -> MessageCache<P> {
        MessageCache::new(MCACHE_LEN, MCACHE_GOSSIP)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(topic: &str, byte: u8) -> (MessageId, Message) {
        let message = Message {
            data: Some(vec![byte].into()),
            topic: topic.into(),
            ..Message::default()
        };
        (MessageId::new([byte]), message)
    }

    fn put(cache: &mut MessageCache<u8>, topic: &str, byte: u8) -> MessageId {
        let (id, message) = message(topic, byte);
        assert!(cache.put(id.clone(), message));
        id
    }

    #[test]
    fn serves_a_put_message_by_id() {
        let mut cache = MessageCache::<u8>::default();
        let (id, message) = message("blocks", 1);
        assert!(cache.put(id.clone(), message.clone()));
        assert_eq!(cache.get(&id), Some(&message));
        assert!(cache.contains(&id));
        assert_eq!(cache.get(&MessageId::new([2])), None);
    }

    #[test]
    fn a_second_put_of_an_id_changes_nothing() {
        let mut cache = MessageCache::<u8>::default();
        let id = put(&mut cache, "blocks", 1);
        cache.shift();
        let (_, other) = message("other", 9);
        assert!(!cache.put(id.clone(), other));
        assert_eq!(cache.get(&id).map(|m| m.topic.as_str()), Some("blocks"));
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn gossips_ids_of_the_topic_from_the_newest_windows_only() {
        let mut cache = MessageCache::<u8>::new(5, 3);
        let oldest = put(&mut cache, "blocks", 1);
        put(&mut cache, "votes", 2);
        cache.shift();
        let second = put(&mut cache, "blocks", 3);
        cache.shift();
        let third = put(&mut cache, "blocks", 4);
        assert_eq!(
            cache.get_gossip_ids("blocks"),
            vec![third.clone(), second.clone(), oldest.clone()]
        );
        assert_eq!(cache.get_gossip_ids("votes"), vec![MessageId::new([2])]);

        // The first window is now the fourth newest: still served, no longer gossiped.
        cache.shift();
        assert_eq!(cache.get_gossip_ids("blocks"), vec![third, second]);
        assert!(cache.get(&oldest).is_some());
    }

    #[test]
    fn shifting_history_length_times_forgets_a_message() {
        let mut cache = MessageCache::<u8>::new(5, 3);
        let id = put(&mut cache, "blocks", 1);
        for _ in 0..4 {
            cache.shift();
            assert!(cache.contains(&id));
        }
        cache.shift();
        assert!(!cache.contains(&id));
        assert!(cache.is_empty());
    }

    #[test]
    fn answers_a_peers_iwant_at_most_gossip_retransmission_times() {
        let mut cache = MessageCache::<u8>::default().with_gossip_retransmission(3);
        let id = put(&mut cache, "blocks", 1);
        for _ in 0..3 {
            assert!(cache.get_for_iwant(&id, &7).is_some());
        }
        assert!(cache.get_for_iwant(&id, &7).is_none());
        assert!(cache.get_for_iwant(&id, &7).is_none());
        // Another peer has its own count.
        assert!(cache.get_for_iwant(&id, &8).is_some());
        // Plain `get` is the router's own use and is not counted.
        assert!(cache.get(&id).is_some());
    }

    #[test]
    fn iwant_counts_never_overflow() {
        let mut cache = MessageCache::<u8>::default().with_gossip_retransmission(u32::MAX);
        let id = put(&mut cache, "blocks", 1);
        if let Some(cached) = cache.messages.get_mut(&id) {
            cached.iwant_counts.insert(7, u32::MAX - 1);
        }
        assert!(cache.get_for_iwant(&id, &7).is_some());
        assert!(cache.get_for_iwant(&id, &7).is_some());
    }

    #[test]
    fn iwant_for_an_uncached_id_is_none() {
        let mut cache = MessageCache::<u8>::default();
        assert!(cache.get_for_iwant(&MessageId::new([1]), &7).is_none());
    }

    #[test]
    fn a_full_cache_drops_its_oldest_message_first() {
        let mut cache = MessageCache::<u8>::new(5, 3).with_max_messages(3);
        let oldest = put(&mut cache, "blocks", 1);
        cache.shift();
        let second = put(&mut cache, "blocks", 2);
        let third = put(&mut cache, "blocks", 3);
        let fourth = put(&mut cache, "blocks", 4);
        assert_eq!(cache.len(), 3);
        assert!(!cache.contains(&oldest));
        for id in [&second, &third, &fourth] {
            assert!(cache.contains(id));
        }
        // Within one window, the latest put of the oldest window goes first.
        let fifth = put(&mut cache, "blocks", 5);
        assert!(!cache.contains(&fourth));
        assert!(cache.contains(&fifth));
        assert_eq!(cache.get_gossip_ids("blocks"), vec![second, third, fifth]);
    }

    #[test]
    fn a_cache_of_no_messages_refuses_every_put() {
        let mut cache = MessageCache::<u8>::default().with_max_messages(0);
        let (id, message) = message("blocks", 1);
        assert!(!cache.put(id.clone(), message));
        assert!(!cache.contains(&id));
    }

    #[test]
    fn degenerate_window_counts_are_clamped() {
        let mut cache = MessageCache::<u8>::new(0, 9);
        let id = put(&mut cache, "blocks", 1);
        assert_eq!(cache.get_gossip_ids("blocks"), vec![id.clone()]);
        cache.shift();
        assert!(!cache.contains(&id));
    }
}
