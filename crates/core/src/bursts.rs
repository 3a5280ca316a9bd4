//! When a connection goes quiet: the one rule drivers use to decide when to let buffers go.
//!
//! A driver keeps buffers (what it reads, frames it seals, payloads it recycles) while bulk
//! data moves: freeing them and allocating them again (and faulting their pages in) for
//! every burst costs more than the data's own processing. A connection that has gone quiet
//! should hold none: most connections are idle most of the time. [`Bursts`] tells the two
//! apart at each pause, the same way in every driver (Noise's stream, Yamux's connection);
//! what to do with its own buffers at a quiet pause stays each driver's business.

/// Bytes moved between two pauses that mean bulk data is moving. Small traffic (pings,
/// requests, the last messages before a connection goes quiet) stays well below it.
pub const BULK: usize = 16 * 1024;

/// Counts the bytes a driver moves between pauses and tells, at each pause, whether the
/// connection is going quiet.
///
/// A pause is wherever the driver finds nothing more to do in one direction: the socket had
/// nothing to read, or everything written was handed to it. The verdict at a pause is about
/// the burst that ended there: going quiet if it moved less than the bulk threshold. A pause
/// with nothing moved since the previous one keeps the verdict of the last burst, so a bulk
/// transfer's buffers are kept until a small burst follows it.
///
/// ```
/// use hyphae_core::bursts::Bursts;
///
/// let mut reads = Bursts::new();
/// reads.record(64 * 1024);
/// reads.record(64 * 1024);
/// assert!(!reads.pause(), "bulk data is moving: keep the buffers");
/// reads.record(12); // a ping
/// assert!(reads.pause(), "going quiet: let them go");
/// ```
///
/// The threshold is [`BULK`] for every driver, a constant rather than a field: a connection
/// holds three of these (Noise's two directions, Yamux's reads) for its whole life.
#[derive(Debug, Clone, Default)]
pub struct Bursts {
    /// Bytes moved since the last pause.
    current: usize,
    /// Bytes moved in the last burst that moved any.
    last: usize,
}

impl Bursts {
    /// Starts counting. Until a burst has moved [`BULK`] bytes, every pause is quiet.
    pub fn new() -> Bursts {
        Bursts::default()
    }

    /// Counts `n` bytes moved.
    pub fn record(&mut self, n: usize) {
        self.current = self.current.saturating_add(n);
    }

    /// A pause: ends the current burst, if it moved anything, and returns whether the
    /// connection is going quiet (the last burst moved less than the bulk threshold).
    #[must_use]
    pub fn pause(&mut self) -> bool {
        if self.current > 0 {
            self.last = std::mem::take(&mut self.current);
        }
        self.last < BULK
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connection_is_quiet_until_bulk_data_moves() {
        let mut bursts = Bursts::new();
        assert!(bursts.pause());
        bursts.record(BULK - 1);
        assert!(bursts.pause());
    }

    #[test]
    fn a_burst_of_at_least_the_threshold_is_bulk() {
        let mut bursts = Bursts::new();
        bursts.record(BULK / 2);
        bursts.record(BULK / 2);
        assert!(!bursts.pause());
    }

    #[test]
    fn pauses_without_traffic_keep_the_last_verdict() {
        let mut bursts = Bursts::new();
        bursts.record(BULK);
        assert!(!bursts.pause());
        assert!(
            !bursts.pause(),
            "still bulk: nothing moved to say otherwise"
        );
        bursts.record(100);
        assert!(bursts.pause());
        assert!(bursts.pause(), "still quiet");
    }

    #[test]
    fn each_burst_is_judged_on_its_own() {
        let mut bursts = Bursts::new();
        bursts.record(BULK);
        assert!(!bursts.pause());
        // Small bursts do not add up across pauses.
        for _ in 0..10 {
            bursts.record(BULK / 4);
            assert!(bursts.pause());
        }
    }

    #[test]
    fn counting_never_overflows() {
        let mut bursts = Bursts::new();
        bursts.record(usize::MAX);
        bursts.record(usize::MAX);
        assert!(!bursts.pause());
    }
}
