//! Where the router learns peers' scores and reports what they did (gossipsub-v1.1.md,
//! "Peer Scoring"). The scoring itself lives elsewhere and plugs in through this trait.

use crate::MessageId;

/// A source of peer scores and the sink of the events that change them.
///
/// Every method has a neutral default, so that [`NoScore`] scores every peer 0 and a real
/// scorer overrides only what it uses. The router calls the hooks in a deterministic order.
pub trait ScoreSource<P> {
    /// The peer's current score; 0 by default.
    fn score(&self, _peer: &P) -> f64 {
        0.0
    }
    /// The peer joined our mesh for `topic` (we grafted it or accepted its GRAFT).
    fn graft(&mut self, _peer: &P, _topic: &str) {}
    /// The peer left our mesh for `topic`.
    fn prune(&mut self, _peer: &P, _topic: &str) {}
    /// The peer delivered the first valid copy of a message.
    fn deliver(&mut self, _peer: &P, _id: &MessageId, _topic: &str) {}
    /// The peer delivered a copy of a message we had already seen.
    fn duplicate(&mut self, _peer: &P, _id: &MessageId, _topic: &str) {}
    /// The peer delivered an invalid message (bad signature or rejected by validation).
    fn reject(&mut self, _peer: &P, _id: &MessageId, _topic: &str) {}
    /// The peer broke `count` IHAVE promises (did not deliver what it advertised).
    fn broken_promises(&mut self, _peer: &P, _count: usize) {}
    /// The peer misbehaved in a way the spec penalises (GRAFT during backoff).
    fn behaviour_penalty(&mut self, _peer: &P, _count: usize) {}
}

/// Scores every peer 0 and ignores every event: the router without scoring.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoScore;

impl<P> ScoreSource<P> for NoScore {}
