//! What the router keeps per connected peer, each part bounded.

use std::collections::{BTreeSet, HashSet, VecDeque};

use super::{Direction, Protocol};
use crate::MessageId;

/// One connected peer.
#[derive(Debug)]
pub(crate) struct PeerState {
    pub(crate) protocol: Protocol,
    pub(crate) direction: Direction,
    /// Topics it subscribed to, at most `max_topics_per_peer`.
    pub(crate) topics: BTreeSet<String>,
    /// Ids it told us by IDONTWANT not to send (v1.2).
    pub(crate) dont_want: DontWant,
    /// IDONTWANT control messages taken from it in this heartbeat.
    pub(crate) idontwant_messages: usize,
    /// Lazy-push IHAVEs sent to it in this heartbeat.
    pub(crate) announcements: usize,
    /// RPCs queued for it in the router's outbound queue.
    pub(crate) queued: usize,
}

impl PeerState {
    pub(crate) fn new(protocol: Protocol, direction: Direction) -> PeerState {
        PeerState {
            protocol,
            direction,
            topics: BTreeSet::new(),
            dont_want: DontWant::default(),
            idontwant_messages: 0,
            announcements: 0,
            queued: 0,
        }
    }

    pub(crate) fn is_outbound(&self) -> bool {
        self.direction == Direction::Outbound
    }
}

/// A peer's IDONTWANT ids, each honoured for a few heartbeats, oldest dropped first when
/// full (go-libp2p keeps them 3 heartbeats).
#[derive(Debug, Default)]
pub(crate) struct DontWant {
    ids: HashSet<MessageId>,
    /// Ids in arrival order with the heartbeat they arrived in.
    by_age: VecDeque<(u64, MessageId)>,
}

impl DontWant {
    /// Records `id` at heartbeat `now`, keeping at most `max` ids.
    pub(crate) fn insert(&mut self, id: MessageId, now: u64, max: usize) {
        if max == 0 || self.ids.contains(&id) {
            return;
        }
        while self.by_age.len() >= max {
            if let Some((_, old)) = self.by_age.pop_front() {
                self.ids.remove(&old);
            }
        }
        self.ids.insert(id.clone());
        self.by_age.push_back((now, id));
    }

    pub(crate) fn contains(&self, id: &MessageId) -> bool {
        self.ids.contains(id)
    }

    /// Forgets the ids recorded `ttl` or more heartbeats before `now`.
    pub(crate) fn expire(&mut self, now: u64, ttl: u64) {
        while let Some((at, _)) = self.by_age.front() {
            if now.saturating_sub(*at) < ttl {
                break;
            }
            if let Some((_, old)) = self.by_age.pop_front() {
                self.ids.remove(&old);
            }
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.ids.len()
    }
}
