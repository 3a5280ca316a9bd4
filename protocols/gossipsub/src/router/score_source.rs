//! Where the router learns peers' scores and reports what they did (gossipsub-v1.1.md,
//! "Peer Scoring"). The scoring itself lives elsewhere and plugs in through this trait.

use std::hash::Hash;
use std::net::IpAddr;
use std::time::Instant;

use crate::{MessageId, PeerScore, RejectReason};

/// A source of peer scores and the sink of the events that change them.
///
/// Every method has a neutral default, so that [`NoScore`] scores every peer 0 and a real
/// scorer overrides only what it uses. The router calls the hooks in a deterministic order,
/// with the time of the input that caused them: time in mesh (P1) and the mesh delivery
/// window (P3) need it.
pub trait ScoreSource<P> {
    /// The peer's current score; 0 by default.
    fn score(&self, _peer: &P) -> f64 {
        0.0
    }
    /// The peer connected (its stream was added to the router).
    fn peer_connected(&mut self, _peer: &P) {}
    /// The peer disconnected at `now`; a scorer keeps its score for a while so that
    /// reconnecting does not clear a penalty (v1.1 "Parameter Decay", `RetainScore`).
    fn peer_disconnected(&mut self, _peer: &P, _now: Instant) {}
    /// The peer joined our mesh for `topic` (we grafted it or accepted its GRAFT).
    fn graft(&mut self, _peer: &P, _topic: &str, _now: Instant) {}
    /// The peer left our mesh for `topic`.
    fn prune(&mut self, _peer: &P, _topic: &str, _now: Instant) {}
    /// A message with `id` arrived for the first time and passed the signature policy; its
    /// verdict follows (copies arriving meanwhile are judged by it).
    fn validating(&mut self, _id: &MessageId, _now: Instant) {}
    /// The peer delivered the first valid copy of a message.
    fn deliver(&mut self, _peer: &P, _id: &MessageId, _topic: &str, _now: Instant) {}
    /// The peer delivered a copy of a message we had already seen.
    fn duplicate(&mut self, _peer: &P, _id: &MessageId, _topic: &str, _now: Instant) {}
    /// The message the peer delivered first was not accepted, for `reason` (a bad
    /// signature, a rejection or an ignore by validation, no verdict in time).
    fn reject(
        &mut self,
        _peer: &P,
        _id: &MessageId,
        _topic: &str,
        _reason: RejectReason,
        _now: Instant,
    ) {
    }
    /// The peer broke `count` IHAVE promises (did not deliver what it advertised).
    fn broken_promises(&mut self, _peer: &P, _count: usize) {}
    /// The peer misbehaved in a way the spec penalises (P7: GRAFT during backoff).
    fn behaviour_penalty(&mut self, _peer: &P, _count: usize) {}
    /// The peer's connections come from `ips` (for IP colocation, P6).
    fn set_peer_ips(&mut self, _peer: &P, _ips: &[IpAddr]) {}
    /// A heartbeat ran at `now`, after the broken promises were reported: the time to decay
    /// counters and refresh cached scores.
    fn heartbeat(&mut self, _now: Instant) {}
}

/// Scores every peer 0 and ignores every event: the router without scoring.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoScore;

impl<P> ScoreSource<P> for NoScore {}

/// Scoring as the spec gives it: each hook feeds the matching [`PeerScore`] counter.
impl<P: Eq + Hash + Clone> ScoreSource<P> for PeerScore<P> {
    fn score(&self, peer: &P) -> f64 {
        PeerScore::score(self, peer)
    }
    fn peer_connected(&mut self, peer: &P) {
        self.add_peer(peer.clone());
    }
    fn peer_disconnected(&mut self, peer: &P, now: Instant) {
        self.remove_peer(now, peer);
    }
    fn graft(&mut self, peer: &P, topic: &str, now: Instant) {
        PeerScore::graft(self, now, peer, topic);
    }
    fn prune(&mut self, peer: &P, topic: &str, _now: Instant) {
        PeerScore::prune(self, peer, topic);
    }
    fn validating(&mut self, id: &MessageId, now: Instant) {
        self.validate_message(now, id);
    }
    fn deliver(&mut self, peer: &P, id: &MessageId, topic: &str, now: Instant) {
        self.deliver_message(now, peer, id, topic);
    }
    fn duplicate(&mut self, peer: &P, id: &MessageId, topic: &str, now: Instant) {
        self.duplicate_message(now, peer, id, topic);
    }
    fn reject(
        &mut self,
        peer: &P,
        id: &MessageId,
        topic: &str,
        reason: RejectReason,
        now: Instant,
    ) {
        self.reject_message(now, peer, id, topic, reason);
    }
    fn broken_promises(&mut self, peer: &P, count: usize) {
        self.add_penalty(peer, u32::try_from(count).unwrap_or(u32::MAX));
    }
    fn behaviour_penalty(&mut self, peer: &P, count: usize) {
        self.add_penalty(peer, u32::try_from(count).unwrap_or(u32::MAX));
    }
    fn set_peer_ips(&mut self, peer: &P, ips: &[IpAddr]) {
        PeerScore::set_peer_ips(self, peer, ips.iter().copied());
    }
    fn heartbeat(&mut self, now: Instant) {
        self.refresh_scores(now);
    }
}
