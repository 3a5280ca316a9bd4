//! PRUNE backoff (gossipsub-v1.1.md, "PRUNE Backoff and Peer Exchange"): after a PRUNE,
//! neither side may GRAFT the other in that topic until the backoff ends. We record the
//! backoffs we impose when we prune or leave a topic, and those a PRUNE asks of us.
//!
//! A PRUNE's backoff is a u64 of seconds chosen by the peer. It is capped at
//! [`MAX_BACKOFF`] and all time arithmetic saturates, so no value can panic (rust-libp2p
//! crashed on such an overflow, GHSA-gc42-3jg7-rxr2). Bounds: at most [`MAX_BACKOFFS`]
//! (topic, peer) entries; each leaves at the first [`expire`](BackoffTable::expire) after
//! its backoff and the slack have passed.

use std::collections::HashMap;
use std::hash::Hash;
use std::time::{Duration, Instant};

use crate::params::{BACKOFF_SLACK, HEARTBEAT_INTERVAL, MAX_BACKOFF, MAX_BACKOFFS, PRUNE_BACKOFF};
use crate::time::saturating_add;

/// Per topic and peer, the time until which no GRAFT may pass between us.
///
/// Entries outlive the peer's connection, as in go-libp2p and rust-libp2p, so that a peer
/// cannot end a backoff by reconnecting.
#[derive(Debug, Clone)]
pub struct BackoffTable<P> {
    until: HashMap<String, HashMap<P, Instant>>,
    len: usize,
    prune_backoff: Duration,
    slack: Duration,
    max_entries: usize,
}

impl<P: Eq + Hash + Clone> BackoffTable<P> {
    /// A table applying `prune_backoff` to PRUNEs that name no backoff, and waiting `slack`
    /// past a backoff before we graft again (`backoff_slack` heartbeat intervals).
    pub fn new(prune_backoff: Duration, slack: Duration) -> BackoffTable<P> {
        BackoffTable {
            until: HashMap::new(),
            len: 0,
            prune_backoff,
            slack,
            max_entries: MAX_BACKOFFS,
        }
    }

    /// The same table holding at most `max` (topic, peer) entries.
    pub fn with_max_entries(mut self, max: usize) -> BackoffTable<P> {
        self.max_entries = max;
        self
    }

    /// Backs off from `peer` in `topic` for `backoff` from `now` (at most [`MAX_BACKOFF`]),
    /// unless a longer backoff is already running: backoffs only ever extend.
    ///
    /// Returns false if the table is full and had no entry for (topic, peer): the backoff is
    /// then not recorded, and we may graft the peer early and take its score penalty, a
    /// small cost next to unbounded memory.
    pub fn add(&mut self, topic: &str, peer: &P, backoff: Duration, now: Instant) -> bool {
        let end = saturating_add(now, backoff.min(MAX_BACKOFF));
        if let Some(until) = self
            .until
            .get_mut(topic)
            .and_then(|peers| peers.get_mut(peer))
        {
            *until = (*until).max(end);
            return true;
        }
        if self.len >= self.max_entries {
            return false;
        }
        self.until
            .entry(topic.to_owned())
            .or_default()
            .insert(peer.clone(), end);
        self.len += 1;
        true
    }

    /// Applies the backoff of a PRUNE from `peer` for `topic` (`ControlPrune.backoff`, in
    /// seconds): none, or 0 as go-libp2p reads it, means our `prune_backoff`; any other
    /// value, however large, is capped at [`MAX_BACKOFF`]. Returns what [`add`](Self::add)
    /// returns.
    pub fn apply_prune(
        &mut self,
        topic: &str,
        peer: &P,
        backoff_seconds: Option<u64>,
        now: Instant,
    ) -> bool {
        let backoff = match backoff_seconds {
            Some(seconds) if seconds > 0 => Duration::from_secs(seconds),
            _ => self.prune_backoff,
        };
        self.add(topic, peer, backoff, now)
    }

    /// When the backoff from `peer` in `topic` ends, if one is recorded (possibly already
    /// over, until [`expire`](Self::expire) removes it).
    pub fn backoff_until(&self, topic: &str, peer: &P) -> Option<Instant> {
        self.until.get(topic)?.get(peer).copied()
    }

    /// Whether a backoff from `peer` in `topic` is running at `now`, without slack: a GRAFT
    /// from `peer` now is one the spec says to answer with PRUNE and may penalise.
    pub fn is_backing_off(&self, topic: &str, peer: &P, now: Instant) -> bool {
        self.backoff_until(topic, peer)
            .is_some_and(|until| now < until)
    }

    /// Whether we may GRAFT `peer` in `topic` at `now`: no backoff, or its end and the slack
    /// have passed, so that our GRAFT does not arrive early by the peer's clock.
    pub fn can_graft(&self, topic: &str, peer: &P, now: Instant) -> bool {
        self.backoff_until(topic, peer)
            .is_none_or(|until| past_slack(until, self.slack, now))
    }

    /// Forgets the backoffs whose end and slack have passed at `now`; at heartbeats (every
    /// few suffice: go-libp2p does it every 15). Costs one pass over the table.
    pub fn expire(&mut self, now: Instant) {
        let slack = self.slack;
        let mut removed = 0;
        self.until.retain(|_, peers| {
            peers.retain(|_, until| {
                let keep = !past_slack(*until, slack, now);
                removed += usize::from(!keep);
                keep
            });
            !peers.is_empty()
        });
        self.len -= removed;
    }

    /// How many (topic, peer) backoffs are recorded.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no backoff is recorded.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// Whether `now` is `slack` or more past `until`; never, if that sum is beyond the end of
/// time.
fn past_slack(until: Instant, slack: Duration, now: Instant) -> bool {
    until.checked_add(slack).is_some_and(|end| now >= end)
}

/// The spec's [`PRUNE_BACKOFF`] and go-libp2p's slack of [`BACKOFF_SLACK`] heartbeat
/// intervals.
impl<P: Eq + Hash + Clone> Default for BackoffTable<P> {
    fn default() -> BackoffTable<P> {
        BackoffTable::new(PRUNE_BACKOFF, HEARTBEAT_INTERVAL * BACKOFF_SLACK)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::UNSUBSCRIBE_BACKOFF;

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn a_prune_without_backoff_applies_the_default() {
        let now = Instant::now();
        let mut table = BackoffTable::<u8>::default();
        assert!(table.apply_prune("blocks", &1, None, now));
        assert!(table.apply_prune("blocks", &2, Some(0), now));
        assert_eq!(table.backoff_until("blocks", &1), Some(now + PRUNE_BACKOFF));
        assert_eq!(table.backoff_until("blocks", &2), Some(now + PRUNE_BACKOFF));
        assert_eq!(table.backoff_until("votes", &1), None);
        assert_eq!(table.len(), 2);
    }

    #[test]
    fn a_prune_with_backoff_applies_it() {
        let now = Instant::now();
        let mut table = BackoffTable::<u8>::default();
        assert!(table.apply_prune("blocks", &1, Some(10), now));
        assert_eq!(table.backoff_until("blocks", &1), Some(now + 10 * SECOND));
    }

    #[test]
    fn a_prune_with_backoff_u64_max_is_capped_and_does_not_panic() {
        let now = Instant::now();
        let mut table = BackoffTable::<u8>::default();
        assert!(table.apply_prune("blocks", &1, Some(u64::MAX), now));
        assert_eq!(table.backoff_until("blocks", &1), Some(now + MAX_BACKOFF));
        assert!(table.is_backing_off("blocks", &1, now + MAX_BACKOFF - SECOND));
        assert!(!table.can_graft("blocks", &1, now + MAX_BACKOFF));
        table.expire(now + MAX_BACKOFF + 2 * SECOND);
        assert!(table.is_empty());
    }

    #[test]
    fn backoff_at_the_end_of_time_saturates() {
        let end_of_time = saturating_add(Instant::now(), Duration::MAX);
        let now = end_of_time - SECOND;
        let mut table = BackoffTable::<u8>::default();
        assert!(table.apply_prune("blocks", &1, Some(u64::MAX), now));
        assert_eq!(table.backoff_until("blocks", &1), Some(end_of_time));
        assert!(table.is_backing_off("blocks", &1, now));
        // The slack cannot be added to the end of time: the backoff never passes.
        assert!(!table.can_graft("blocks", &1, end_of_time));
        table.expire(end_of_time);
        assert_eq!(table.len(), 1);
    }

    #[test]
    fn backoffs_only_extend() {
        let now = Instant::now();
        let mut table = BackoffTable::<u8>::default();
        assert!(table.add("blocks", &1, PRUNE_BACKOFF, now));
        assert!(table.add("blocks", &1, UNSUBSCRIBE_BACKOFF, now + SECOND));
        assert_eq!(table.backoff_until("blocks", &1), Some(now + PRUNE_BACKOFF));
        assert!(table.apply_prune("blocks", &1, Some(120), now + SECOND));
        assert_eq!(
            table.backoff_until("blocks", &1),
            Some(now + SECOND + 120 * SECOND)
        );
        assert_eq!(table.len(), 1);
    }

    #[test]
    fn grafting_waits_for_the_slack_but_a_graft_from_the_peer_does_not() {
        let now = Instant::now();
        let mut table = BackoffTable::<u8>::new(PRUNE_BACKOFF, 2 * SECOND);
        assert!(table.can_graft("blocks", &1, now));
        assert!(table.add("blocks", &1, 10 * SECOND, now));
        assert!(table.is_backing_off("blocks", &1, now + 9 * SECOND));
        assert!(!table.is_backing_off("blocks", &1, now + 10 * SECOND));
        assert!(!table.can_graft("blocks", &1, now + 11 * SECOND));
        assert!(table.can_graft("blocks", &1, now + 12 * SECOND));
        // Other topics and peers are unaffected.
        assert!(table.can_graft("votes", &1, now));
        assert!(table.can_graft("blocks", &2, now));
    }

    #[test]
    fn expire_forgets_backoffs_past_their_slack() {
        let now = Instant::now();
        let mut table = BackoffTable::<u8>::new(PRUNE_BACKOFF, 2 * SECOND);
        assert!(table.add("blocks", &1, 10 * SECOND, now));
        assert!(table.add("blocks", &2, 60 * SECOND, now));
        assert!(table.add("votes", &1, 10 * SECOND, now));
        table.expire(now + 11 * SECOND);
        assert_eq!(table.len(), 3);
        table.expire(now + 12 * SECOND);
        assert_eq!(table.len(), 1);
        assert_eq!(table.backoff_until("blocks", &1), None);
        assert!(table.backoff_until("blocks", &2).is_some());
        assert!(!table.until.contains_key("votes"));
    }

    #[test]
    fn a_full_table_refuses_new_entries_but_extends_old_ones() {
        let now = Instant::now();
        let mut table = BackoffTable::<u8>::default().with_max_entries(2);
        assert!(table.add("blocks", &1, SECOND, now));
        assert!(table.add("votes", &1, SECOND, now));
        assert!(!table.apply_prune("blocks", &2, None, now));
        assert_eq!(table.backoff_until("blocks", &2), None);
        assert!(table.add("blocks", &1, PRUNE_BACKOFF, now));
        assert_eq!(table.backoff_until("blocks", &1), Some(now + PRUNE_BACKOFF));
        // Room again once an entry expires.
        table.expire(now + 10 * SECOND);
        assert!(table.add("blocks", &2, SECOND, now + 10 * SECOND));
        assert_eq!(table.len(), 2);
    }
}
