//! Gossip promises (gossipsub-v1.1.md, "Spam Protection Measures"): an IHAVE that made us
//! send IWANT promises the message. If it does not arrive, from any peer, within the IWANT
//! follow-up time, the advertising peer broke its promise and the score's behaviour penalty
//! (P₇) counts it, so that peers advertising bogus ids are soon graylisted.
//!
//! The spec tracks one id per IWANT, picked at random among those asked, so that a peer
//! cannot tell which it must deliver; the router picks it and calls
//! [`add`](GossipPromises::add). Bounds: at most `max_per_peer` open promises per peer, and
//! every promise leaves at the first [`take_broken`](GossipPromises::take_broken) after its
//! deadline, or when its message arrives.

use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;
use std::time::{Duration, Instant};

use crate::MessageId;
use crate::params::{IWANT_FOLLOWUP_TIME, MAX_IHAVE_LENGTH};
use crate::time::saturating_add;

/// Messages we asked peers for, by id, with each peer's deadline to deliver.
#[derive(Debug, Clone)]
pub struct GossipPromises<P> {
    followup: Duration,
    max_per_peer: usize,
    deadlines: HashMap<MessageId, HashMap<P, Instant>>,
    open_per_peer: HashMap<P, usize>,
}

impl<P: Eq + Hash + Clone> GossipPromises<P> {
    /// Promises due `followup` after we ask (`iwant_followup_time`), at most `max_per_peer`
    /// open for each peer.
    pub fn new(followup: Duration, max_per_peer: usize) -> GossipPromises<P> {
        GossipPromises {
            followup,
            max_per_peer,
            deadlines: HashMap::new(),
            open_per_peer: HashMap::new(),
        }
    }

    /// Records at `now`, when we send IWANT for `id` after `peer`'s IHAVE, that `peer` owes
    /// us the message by `now + followup`. An open promise of `peer` for `id` keeps its
    /// deadline. Returns false if the promise is not tracked because `peer` already owes
    /// `max_per_peer`.
    pub fn add(&mut self, peer: &P, id: MessageId, now: Instant) -> bool {
        let is_open = self
            .deadlines
            .get(&id)
            .is_some_and(|peers| peers.contains_key(peer));
        if is_open {
            return true;
        }
        let open = self.open(peer);
        if open >= self.max_per_peer {
            return false;
        }
        let deadline = saturating_add(now, self.followup);
        self.deadlines
            .entry(id)
            .or_default()
            .insert(peer.clone(), deadline);
        self.open_per_peer.insert(peer.clone(), open + 1);
        true
    }

    /// The message `id` arrived: every promise of it is kept. Call it when a message is
    /// delivered, and when it is rejected unless the rejection is the sender's fault in a way
    /// a peer should have known (go-libp2p still penalises a missing or invalid signature).
    pub fn message_received(&mut self, id: &MessageId) {
        if let Some(peers) = self.deadlines.remove(id) {
            for peer in peers.into_keys() {
                self.close(&peer, 1);
            }
        }
    }

    /// Removes the promises whose deadline passed before `now` and returns how many each
    /// peer broke, for its behaviour penalty; at each heartbeat. In peer order, so that a
    /// seeded simulation replays exactly.
    pub fn take_broken(&mut self, now: Instant) -> BTreeMap<P, usize>
    where
        P: Ord,
    {
        let mut broken = BTreeMap::new();
        self.deadlines.retain(|_, peers| {
            peers.retain(|peer, deadline| {
                let is_broken = *deadline < now;
                if is_broken {
                    *broken.entry(peer.clone()).or_insert(0) += 1;
                }
                !is_broken
            });
            !peers.is_empty()
        });
        for (peer, count) in &broken {
            self.close(peer, *count);
        }
        broken
    }

    /// Whether some peer owes us `id` already, so that asking another would only fetch
    /// a second copy.
    pub fn is_awaited(&self, id: &MessageId) -> bool {
        self.deadlines.contains_key(id)
    }

    /// How many promises `peer` has open.
    pub fn open(&self, peer: &P) -> usize {
        self.open_per_peer.get(peer).copied().unwrap_or(0)
    }

    /// How many promises are open, over all peers.
    pub fn len(&self) -> usize {
        self.open_per_peer.values().sum()
    }

    /// Whether no promise is open.
    pub fn is_empty(&self) -> bool {
        self.open_per_peer.is_empty()
    }

    fn close(&mut self, peer: &P, count: usize) {
        if let Some(open) = self.open_per_peer.get_mut(peer) {
            *open = open.saturating_sub(count);
            if *open == 0 {
                self.open_per_peer.remove(peer);
            }
        }
    }
}

/// go-libp2p's [`IWANT_FOLLOWUP_TIME`], and at most [`MAX_IHAVE_LENGTH`] promises per peer:
/// as many ids as we ask of a peer in a heartbeat, and far more than the one per IWANT the
/// spec tracks.
impl<P: Eq + Hash + Clone> Default for GossipPromises<P> {
    fn default() -> GossipPromises<P> {
        GossipPromises::new(IWANT_FOLLOWUP_TIME, MAX_IHAVE_LENGTH)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    fn id(byte: u8) -> MessageId {
        MessageId::new([byte])
    }

    #[test]
    fn a_promise_is_broken_after_the_followup_time() {
        let now = Instant::now();
        let mut promises = GossipPromises::<u8>::new(3 * SECOND, 10);
        assert!(promises.add(&1, id(1), now));
        assert!(promises.take_broken(now + 3 * SECOND).is_empty());
        assert_eq!(
            promises.take_broken(now + 4 * SECOND),
            BTreeMap::from([(1, 1)])
        );
        assert!(promises.is_empty());
        // Reported once.
        assert!(promises.take_broken(now + 5 * SECOND).is_empty());
    }

    #[test]
    fn the_message_arriving_from_anyone_keeps_every_promise_of_it() {
        let now = Instant::now();
        let mut promises = GossipPromises::<u8>::default();
        assert!(promises.add(&1, id(1), now));
        assert!(promises.add(&2, id(1), now));
        assert!(promises.add(&2, id(2), now));
        promises.message_received(&id(1));
        assert_eq!(promises.open(&1), 0);
        assert_eq!(promises.open(&2), 1);
        assert_eq!(
            promises.take_broken(now + 10 * SECOND),
            BTreeMap::from([(2, 1)])
        );
        assert!(promises.deadlines.is_empty() && promises.open_per_peer.is_empty());
    }

    #[test]
    fn counts_broken_promises_per_peer() {
        let now = Instant::now();
        let mut promises = GossipPromises::<u8>::new(3 * SECOND, 10);
        for byte in 0..3 {
            assert!(promises.add(&1, id(byte), now));
        }
        assert!(promises.add(&2, id(0), now));
        assert!(promises.add(&3, id(9), now + 2 * SECOND));
        assert_eq!(
            promises.take_broken(now + 4 * SECOND),
            BTreeMap::from([(1, 3), (2, 1)])
        );
        assert_eq!(promises.len(), 1);
    }

    #[test]
    fn asking_again_does_not_move_the_deadline() {
        let now = Instant::now();
        let mut promises = GossipPromises::<u8>::new(3 * SECOND, 10);
        assert!(promises.add(&1, id(1), now));
        assert!(promises.add(&1, id(1), now + 2 * SECOND));
        assert_eq!(promises.open(&1), 1);
        assert_eq!(
            promises.take_broken(now + 4 * SECOND),
            BTreeMap::from([(1, 1)])
        );
    }

    #[test]
    fn a_peer_owes_at_most_max_per_peer() {
        let now = Instant::now();
        let mut promises = GossipPromises::<u8>::new(3 * SECOND, 2);
        assert!(promises.add(&1, id(1), now));
        assert!(promises.add(&1, id(2), now));
        assert!(!promises.add(&1, id(3), now));
        assert!(!promises.deadlines.contains_key(&id(3)));
        assert!(promises.add(&2, id(3), now));
        promises.message_received(&id(1));
        assert!(promises.add(&1, id(3), now));
        assert_eq!(promises.open(&1), 2);
    }

    #[test]
    fn a_huge_followup_time_does_not_panic() {
        let now = Instant::now();
        let mut promises = GossipPromises::<u8>::new(Duration::MAX, 2);
        assert!(promises.add(&1, id(1), now));
        assert!(promises.take_broken(now + 1000 * SECOND).is_empty());
    }
}
