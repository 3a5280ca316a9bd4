//! What a lookup is told ([`LookupConfig`]) and what it tells back ([`LookupPhase`],
//! [`LookupStats`]).

use std::time::Duration;

use crate::{ALPHA, BETA, K};

/// How a [`Lookup`](super::Lookup) walks the keyspace; [`Default`] gives go-libp2p-kad-dht's
/// values where it has them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookupConfig {
    /// How many closest peers the lookup is after (spec: k = 20); at least 1.
    pub k: usize,
    /// Requests in flight at once in the lookup phase (go-libp2p: 10); at least 1.
    pub alpha: usize,
    /// How many of the closest peers must have answered to end the lookup phase
    /// (go-libp2p's resiliency, 3); at least 1, at most `k`.
    pub beta: usize,
    /// After this long without an answer a request counts as failed (go-libp2p: 10 s).
    pub request_timeout: Duration,
    /// After this long without an answer a request is slow: it frees its α slot and stops
    /// holding the lookup open, though its answer is still used. The lookup stretches it to
    /// twice the mean answer time it has seen, if longer, so a node on a slow link still
    /// waits for its answers. 1 s by default: in the simulator's 8-region network, 10 %
    /// silent servers raise the median FIND_NODE by 26 % (1,000 nodes) to 39 % (10,000) with
    /// it, by 101 % with 2 s. Where a new connection costs 3 round trips over intercontinental
    /// links, 1.5 s is better: 1 s then cuts far first contacts short (sim/RESULTS.md).
    pub slow_after: Duration,
    /// Peers known at once, asked or not (default 16 k = 320, about 40 KiB). Also the most
    /// requests one lookup sends. At least `k`.
    pub max_peers: usize,
    /// Peers taken from one answer, in the order given (default 2 k = 40): an honest peer
    /// returns k.
    pub max_peers_per_response: usize,
}

impl Default for LookupConfig {
    fn default() -> LookupConfig {
        LookupConfig {
            k: K,
            alpha: ALPHA,
            beta: BETA,
            request_timeout: Duration::from_secs(10),
            slow_after: Duration::from_secs(1),
            max_peers: 16 * K,
            max_peers_per_response: 2 * K,
        }
    }
}

impl LookupConfig {
    /// The same configuration with every value in its documented range.
    pub(super) fn clamped(self) -> LookupConfig {
        let k = self.k.max(1);
        LookupConfig {
            k,
            alpha: self.alpha.max(1),
            beta: self.beta.clamp(1, k),
            max_peers: self.max_peers.max(k),
            ..self
        }
    }
}

/// Where a [`Lookup`](super::Lookup) is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LookupPhase {
    /// Walking towards the target, at most α fresh requests at a time.
    Lookup,
    /// Asking the rest of the k closest all at once, not chasing what they return.
    FollowUp,
    /// Done: no more requests, answers are ignored.
    Finished,
}

/// What a lookup did, for logs and for the simulator's plots.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LookupStats {
    /// Requests handed out by [`Lookup::poll_request`](super::Lookup::poll_request).
    pub requests: usize,
    /// Answers used (from peers asked and still awaited).
    pub answers: usize,
    /// Requests the caller reported as failed.
    pub failures: usize,
    /// Requests that got no answer within the request timeout.
    pub timeouts: usize,
    /// Rounds: one more than the depth of the closest peer that answered, where seeds have
    /// depth 0 and a peer learned from a peer of depth d has depth d + 1. 0 if none answered.
    pub hops: u32,
    /// Peers taken in as candidates (seeds included; a peer dropped unasked to make room and
    /// heard of again counts twice).
    pub peers_seen: usize,
}
