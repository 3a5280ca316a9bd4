//! Instant arithmetic that cannot panic.
//!
//! `Instant + Duration` panics on overflow, and durations here may come from a peer (a
//! PRUNE's backoff) or from configuration; rust-libp2p was crashed remotely this way
//! (GHSA-gc42-3jg7-rxr2, GHSA-xqmp-fxgv-xvq5).

use std::time::{Duration, Instant};

/// `start + duration`, or the latest instant the platform can represent if that overflows.
pub(crate) fn saturating_add(start: Instant, duration: Duration) -> Instant {
    if let Some(end) = start.checked_add(duration) {
        return end;
    }
    // `Instant` has no MAX: add as much as fits, halving the step; under 200 iterations.
    let mut end = start;
    let mut remaining = duration;
    let mut step = duration;
    while !step.is_zero() {
        match end.checked_add(step) {
            Some(later) if step <= remaining => {
                end = later;
                remaining -= step;
            }
            _ => step /= 2,
        }
    }
    end
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_like_plus_when_it_fits() {
        let now = Instant::now();
        let later = Duration::from_secs(60);
        assert_eq!(saturating_add(now, later), now + later);
    }

    #[test]
    fn saturates_instead_of_overflowing() {
        let now = Instant::now();
        let end = saturating_add(now, Duration::MAX);
        assert!(end > now);
        assert_eq!(saturating_add(end, Duration::from_secs(1)), end);
        assert!(end.checked_add(Duration::from_secs(1)).is_none());
    }
}
