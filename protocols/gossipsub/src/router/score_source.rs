//! Where the router learns peers' scores and reports what they did (gossipsub-v1.1.md,
//! "Peer Scoring"). The scoring itself lives elsewhere and plugs in through this trait.

use std::time::Instant;

use crate::MessageId;

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
    /// The peer delivered the first valid copy of a message.
    fn deliver(&mut self, _peer: &P, _id: &MessageId, _topic: &str, _now: Instant) {}
    /// The peer delivered a copy of a message we had already seen.
    fn duplicate(&mut self, _peer: &P, _id: &MessageId, _topic: &str, _now: Instant) {}
    /// The peer delivered an invalid message (bad signature or rejected by validation).
    fn reject(&mut self, _peer: &P, _id: &MessageId, _topic: &str, _now: Instant) {}
    /// The peer broke `count` IHAVE promises (did not deliver what it advertised).
    fn broken_promises(&mut self, _peer: &P, _count: usize) {}
    /// The peer misbehaved in a way the spec penalises (P7: GRAFT during backoff).
    fn behaviour_penalty(&mut self, _peer: &P, _count: usize) {}
    /// A heartbeat ran at `now`, after the broken promises were reported: the time to decay
    /// counters and refresh cached scores.
    fn heartbeat(&mut self, _now: Instant) {}
}

/// Scores every peer 0 and ignores every event: the router without scoring.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoScore;

impl<P> ScoreSource<P> for NoScore {}
