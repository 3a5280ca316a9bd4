//! The `seen` cache of gossipsub-v1.0.md, "Message Cache": the ids of messages received in
//! the last `seen_ttl`, so that a message is processed and forwarded once, and IHAVE gossip
//! is answered with IWANT only for ids not yet seen ("Message Processing").
//!
//! An id expires `seen_ttl` after it was first seen, as go-libp2p's default `FirstSeen`
//! strategy does: seeing it again does not extend it, so a peer replaying an id cannot keep
//! it alive. Ids expire in the order they were inserted, so insertion and lookup are O(1)
//! (amortised). Bound: at most [`MAX_SEEN_MESSAGES`] ids, the oldest leaving first, early if
//! a flood demands it.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use crate::MessageId;
use crate::params::{MAX_SEEN_MESSAGES, SEEN_TTL};

/// Message ids seen recently, each for `seen_ttl` from when it was first seen.
///
/// Times must not go backwards between calls (they come from one monotonic clock); if they
/// do, nothing panics and the bound holds, but some ids may live longer than `seen_ttl`.
#[derive(Debug, Clone)]
pub struct SeenCache {
    ttl: Duration,
    max_entries: usize,
    /// When each id still remembered was first seen.
    first_seen: HashMap<MessageId, Instant>,
    /// The same, oldest first. An entry whose time differs from `first_seen`'s is stale (the
    /// id was forgotten and seen again) and is skipped when it reaches the front.
    by_age: VecDeque<(Instant, MessageId)>,
}

impl SeenCache {
    /// A cache remembering each id for `ttl` (`seen_ttl`), at most `max_entries` at once.
    pub fn new(ttl: Duration, max_entries: usize) -> SeenCache {
        SeenCache {
            ttl,
            max_entries,
            first_seen: HashMap::new(),
            by_age: VecDeque::new(),
        }
    }

    /// Records that `id` was seen at `now`. Returns true if it is new: not seen within
    /// `seen_ttl` before `now`. A cache of `max_entries` 0 remembers nothing and finds every
    /// id new.
    pub fn insert(&mut self, id: MessageId, now: Instant) -> bool {
        self.expire(now);
        if self.contains(&id, now) {
            return false;
        }
        while self.by_age.len() >= self.max_entries {
            if !self.forget_oldest() {
                return true;
            }
        }
        self.first_seen.insert(id.clone(), now);
        self.by_age.push_back((now, id));
        true
    }

    /// Whether `id` was seen within `seen_ttl` before `now`.
    pub fn contains(&self, id: &MessageId, now: Instant) -> bool {
        self.first_seen
            .get(id)
            .is_some_and(|&seen| !self.is_expired(seen, now))
    }

    /// Forgets the ids seen `seen_ttl` or longer before `now`. [`insert`](Self::insert) does
    /// this too; call it at heartbeats to free memory when no messages arrive.
    pub fn expire(&mut self, now: Instant) {
        while let Some(&(seen, _)) = self.by_age.front() {
            if !self.is_expired(seen, now) {
                break;
            }
            self.forget_oldest();
        }
    }

    /// How many ids are remembered, including expired ones not yet forgotten.
    pub fn len(&self) -> usize {
        self.first_seen.len()
    }

    /// Whether no id is remembered.
    pub fn is_empty(&self) -> bool {
        self.first_seen.is_empty()
    }

    fn is_expired(&self, seen: Instant, now: Instant) -> bool {
        // Saturating: a `now` before `seen` is age zero, not a panic.
        now.saturating_duration_since(seen) >= self.ttl
    }

    /// Forgets the oldest entry; false if there is none.
    fn forget_oldest(&mut self) -> bool {
        let Some((seen, id)) = self.by_age.pop_front() else {
            return false;
        };
        if self.first_seen.get(&id) == Some(&seen) {
            self.first_seen.remove(&id);
        }
        true
    }
}

/// The spec's [`SEEN_TTL`] and hyphae's [`MAX_SEEN_MESSAGES`].
impl Default for SeenCache {
    fn default() -> SeenCache {
        SeenCache::new(SEEN_TTL, MAX_SEEN_MESSAGES)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(byte: u8) -> MessageId {
        MessageId::new([byte])
    }

    #[test]
    fn an_id_is_new_once_within_the_ttl() {
        let start = Instant::now();
        let mut seen = SeenCache::new(Duration::from_secs(120), 10);
        assert!(!seen.contains(&id(1), start));
        assert!(seen.insert(id(1), start));
        assert!(seen.contains(&id(1), start));
        assert!(!seen.insert(id(1), start + Duration::from_secs(119)));
        assert!(seen.insert(id(2), start + Duration::from_secs(1)));
    }

    #[test]
    fn an_id_expires_ttl_after_it_was_first_seen() {
        let start = Instant::now();
        let ttl = Duration::from_secs(120);
        let mut seen = SeenCache::new(ttl, 10);
        assert!(seen.insert(id(1), start));
        // Seeing it again does not extend it.
        assert!(!seen.insert(id(1), start + Duration::from_secs(100)));
        assert!(seen.contains(&id(1), start + ttl - Duration::from_nanos(1)));
        assert!(!seen.contains(&id(1), start + ttl));
        assert!(seen.insert(id(1), start + ttl));
        assert!(seen.contains(&id(1), start + ttl + Duration::from_secs(100)));
    }

    #[test]
    fn expire_forgets_in_insertion_order() {
        let start = Instant::now();
        let mut seen = SeenCache::new(Duration::from_secs(10), 10);
        for second in 0..5 {
            assert!(seen.insert(id(second), start + Duration::from_secs(second.into())));
        }
        seen.expire(start + Duration::from_secs(12));
        assert_eq!(seen.len(), 2);
        assert!(!seen.contains(&id(2), start + Duration::from_secs(12)));
        assert!(seen.contains(&id(3), start + Duration::from_secs(12)));
        seen.expire(start + Duration::from_secs(60));
        assert!(seen.is_empty());
        assert!(seen.by_age.is_empty());
    }

    #[test]
    fn a_full_cache_forgets_its_oldest_id_early() {
        let start = Instant::now();
        let mut seen = SeenCache::new(Duration::from_secs(120), 3);
        for byte in 0..3 {
            assert!(seen.insert(id(byte), start));
        }
        assert!(seen.insert(id(3), start));
        assert_eq!(seen.len(), 3);
        assert!(!seen.contains(&id(0), start));
        assert!(seen.contains(&id(1), start));
        assert!(seen.contains(&id(3), start));
    }

    #[test]
    fn a_cache_of_no_entries_finds_every_id_new() {
        let start = Instant::now();
        let mut seen = SeenCache::new(Duration::from_secs(120), 0);
        assert!(seen.insert(id(1), start));
        assert!(seen.insert(id(1), start));
        assert!(seen.is_empty());
    }

    #[test]
    fn time_going_backwards_neither_panics_nor_breaks_the_bound() {
        let start = Instant::now() + Duration::from_secs(1000);
        let ttl = Duration::from_secs(10);
        let mut seen = SeenCache::new(ttl, 2);
        assert!(seen.insert(id(1), start));
        assert!(seen.insert(id(2), start - Duration::from_secs(500)));
        // id 2 is expired at `start` but stays behind id 1 in age order; seen again, it is
        // new, and its old entry is skipped when it reaches the front.
        assert!(seen.insert(id(2), start));
        assert!(seen.by_age.len() <= 2);
        assert!(seen.contains(&id(2), start));
        assert!(seen.insert(id(3), start + Duration::from_secs(1)));
        assert!(seen.by_age.len() <= 2 && seen.len() <= 2);
    }
}
