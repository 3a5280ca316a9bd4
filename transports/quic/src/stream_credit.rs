//! The peer's stream limit, granted as the peer uses it.
//!
//! quinn keeps an entry for every stream the peer may open, made when the limit is granted:
//! a connection that allows 4096 concurrent streams pays thousands of hash-map inserts in
//! its handshake, and holds them for its life, though most connections carry a handful of
//! streams (identify, ping, a few requests). So a connection first allows
//! [`INITIAL_STREAM_CREDIT`] streams (or the configured limit, if lower) and doubles that,
//! up to [`Config::max_concurrent_streams`](crate::Config::max_concurrent_streams), whenever
//! the peer's streams we hold reach half of it. A peer that opens streams faster than that
//! waits a round trip per doubling for the larger limit (QUIC's MAX_STREAMS frame); one that
//! opens and closes streams in turn never needs more.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

/// Concurrent streams a peer may open before it has used any: more than the streams a
/// connection's usual protocols keep open together.
pub const INITIAL_STREAM_CREDIT: u32 = 64;

/// The limit granted to a connection's peer, and the peer's streams we hold. Shared by the
/// clones of a connection and by the peer's streams.
#[derive(Debug)]
pub(crate) struct StreamCredit {
    /// The most that may be granted.
    max: u32,
    /// The limit granted so far.
    granted: AtomicU32,
    /// The peer's streams accepted and not yet dropped.
    held: AtomicU32,
}

impl StreamCredit {
    /// The limit a connection starts with, for a configured maximum of `max`.
    pub(crate) fn initial(max: u32) -> u32 {
        max.min(INITIAL_STREAM_CREDIT)
    }

    pub(crate) fn new(max: u32) -> Arc<StreamCredit> {
        Arc::new(StreamCredit {
            max,
            granted: AtomicU32::new(StreamCredit::initial(max)),
            held: AtomicU32::new(0),
        })
    }

    /// Counts a stream the peer opened; returns the larger limit to grant, if the streams
    /// held reach half the current one.
    pub(crate) fn accepted(&self) -> Option<u32> {
        let held = self.held.fetch_add(1, Ordering::Relaxed) + 1;
        let granted = self.granted.load(Ordering::Relaxed);
        if granted >= self.max || held.saturating_mul(2) < granted {
            return None;
        }
        let grown = granted.saturating_mul(2).min(self.max);
        // Another clone accepting at once may have grown it already.
        self.granted
            .compare_exchange(granted, grown, Ordering::Relaxed, Ordering::Relaxed)
            .ok()
            .map(|_| grown)
    }

    /// A stream the peer opened was dropped.
    pub(crate) fn released(&self) {
        self.held.fetch_sub(1, Ordering::Relaxed);
    }

    /// The limit granted so far.
    #[cfg(test)]
    fn granted(&self) -> u32 {
        self.granted.load(Ordering::Relaxed)
    }
}

/// Counts one of the peer's streams in its connection's [`StreamCredit`] until dropped.
#[derive(Debug)]
pub(crate) struct HeldStream(Arc<StreamCredit>);

impl HeldStream {
    /// Counts a stream just accepted; returns it, and the larger limit to grant if any.
    pub(crate) fn accepted(credit: &Arc<StreamCredit>) -> (HeldStream, Option<u32>) {
        let grown = credit.accepted();
        (HeldStream(Arc::clone(credit)), grown)
    }
}

impl Drop for HeldStream {
    fn drop(&mut self) {
        self.0.released();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_doubles_when_half_of_it_is_held_up_to_the_maximum() {
        let credit = StreamCredit::new(200);
        assert_eq!(credit.granted(), INITIAL_STREAM_CREDIT);
        let mut held = Vec::new();
        let mut grants = Vec::new();
        for _ in 0..200 {
            let (stream, grown) = HeldStream::accepted(&credit);
            held.push(stream);
            grants.extend(grown);
        }
        assert_eq!(grants, [128, 200]);
        assert_eq!(credit.granted(), 200);
    }

    #[test]
    fn streams_opened_and_closed_in_turn_never_grow_it() {
        let credit = StreamCredit::new(4096);
        for _ in 0..10_000 {
            let (stream, grown) = HeldStream::accepted(&credit);
            assert_eq!(grown, None);
            drop(stream);
        }
        assert_eq!(credit.granted(), INITIAL_STREAM_CREDIT);
    }

    #[test]
    fn a_maximum_below_the_initial_credit_is_granted_at_once_and_kept() {
        assert_eq!(StreamCredit::initial(8), 8);
        let credit = StreamCredit::new(8);
        let held: Vec<_> = (0..8).map(|_| HeldStream::accepted(&credit)).collect();
        assert!(held.iter().all(|(_, grown)| grown.is_none()));
        assert_eq!(credit.granted(), 8);
    }
}
