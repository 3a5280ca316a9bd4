//! The per-heartbeat limits on IHAVE gossip taken from each peer (gossipsub-v1.1.md, "Spam
//! Protection Measures"): at most [`MAX_IHAVE_MESSAGES`] IHAVEs are processed per peer, and
//! at most [`MAX_IHAVE_LENGTH`] message ids are asked of it by IWANT; past either, its IHAVEs
//! are ignored until the next heartbeat. This caps how much work and outgoing IWANT traffic
//! a peer flooding IHAVEs can cause.
//!
//! Bound: one pair of counters per peer that sent an IHAVE since the last heartbeat, all
//! cleared by [`reset`](IHaveBudget::reset).

use std::collections::HashMap;
use std::hash::Hash;

use crate::params::{MAX_IHAVE_LENGTH, MAX_IHAVE_MESSAGES};

/// What each peer may still make us do in answer to its IHAVEs in this heartbeat.
#[derive(Debug, Clone)]
pub struct IHaveBudget<P> {
    max_ihave_messages: usize,
    max_ihave_length: usize,
    ihaves_received: HashMap<P, usize>,
    ids_asked: HashMap<P, usize>,
}

impl<P: Eq + Hash + Clone> IHaveBudget<P> {
    /// A budget of `max_ihave_messages` IHAVEs and `max_ihave_length` ids asked per peer and
    /// heartbeat.
    pub fn new(max_ihave_messages: usize, max_ihave_length: usize) -> IHaveBudget<P> {
        IHaveBudget {
            max_ihave_messages,
            max_ihave_length,
            ihaves_received: HashMap::new(),
            ids_asked: HashMap::new(),
        }
    }

    /// Counts an IHAVE from `peer`; true if it is to be processed, false if `peer` already
    /// sent `max_ihave_messages` in this heartbeat or was asked `max_ihave_length` ids.
    pub fn accept_ihave(&mut self, peer: &P) -> bool {
        let received = self.ihaves_received.entry(peer.clone()).or_insert(0);
        *received = received.saturating_add(1);
        *received <= self.max_ihave_messages && self.ids_left(peer) > 0
    }

    /// Of `wanted` ids `peer` advertised and we have not seen, how many we may ask for by
    /// IWANT now; they are counted as asked. The router picks which (go-libp2p shuffles
    /// them, so that a peer cannot choose which of its ids we skip).
    pub fn reserve_iwant(&mut self, peer: &P, wanted: usize) -> usize {
        let granted = wanted.min(self.ids_left(peer));
        if granted > 0 {
            let asked = self.ids_asked.entry(peer.clone()).or_insert(0);
            *asked = asked.saturating_add(granted);
        }
        granted
    }

    /// Starts a new heartbeat: every peer's budget is full again.
    pub fn reset(&mut self) {
        self.ihaves_received.clear();
        self.ids_asked.clear();
    }

    /// How many peers have counters in this heartbeat.
    pub fn peers(&self) -> usize {
        self.ihaves_received.len().max(self.ids_asked.len())
    }

    fn ids_left(&self, peer: &P) -> usize {
        let asked = self.ids_asked.get(peer).copied().unwrap_or(0);
        self.max_ihave_length.saturating_sub(asked)
    }
}

/// go-libp2p's [`MAX_IHAVE_MESSAGES`] and [`MAX_IHAVE_LENGTH`].
impl<P: Eq + Hash + Clone> Default for IHaveBudget<P> {
    fn default() -> IHaveBudget<P> {
        IHaveBudget::new(MAX_IHAVE_MESSAGES, MAX_IHAVE_LENGTH)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_max_ihave_messages_per_peer_and_heartbeat() {
        let mut budget = IHaveBudget::<u8>::new(10, 5000);
        for _ in 0..10 {
            assert!(budget.accept_ihave(&1));
        }
        assert!(!budget.accept_ihave(&1));
        assert!(budget.accept_ihave(&2));
        budget.reset();
        assert!(budget.accept_ihave(&1));
    }

    #[test]
    fn asks_a_peer_for_at_most_max_ihave_length_ids_per_heartbeat() {
        let mut budget = IHaveBudget::<u8>::new(10, 5000);
        assert_eq!(budget.reserve_iwant(&1, 3000), 3000);
        assert_eq!(budget.reserve_iwant(&1, 3000), 2000);
        assert_eq!(budget.reserve_iwant(&1, 1), 0);
        assert_eq!(budget.reserve_iwant(&2, 1), 1);
        // A peer asked its full budget has its further IHAVEs ignored.
        assert!(!budget.accept_ihave(&1));
        assert!(budget.accept_ihave(&2));
        budget.reset();
        assert_eq!(budget.peers(), 0);
        assert_eq!(budget.reserve_iwant(&1, usize::MAX), 5000);
    }

    #[test]
    fn counters_saturate() {
        let mut budget = IHaveBudget::<u8>::new(usize::MAX, usize::MAX);
        budget.ihaves_received.insert(1, usize::MAX);
        assert!(budget.accept_ihave(&1));
        assert_eq!(budget.reserve_iwant(&1, usize::MAX), usize::MAX);
        assert_eq!(budget.reserve_iwant(&1, 1), 0);
    }

    #[test]
    fn asking_for_nothing_records_nothing() {
        let mut budget = IHaveBudget::<u8>::default();
        assert_eq!(budget.reserve_iwant(&1, 0), 0);
        assert_eq!(budget.peers(), 0);
    }
}
