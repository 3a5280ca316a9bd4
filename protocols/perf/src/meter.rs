//! Progress accounting, kept free of I/O and of the clock: callers pass the time in.

use std::time::Duration;

use tokio::time::Instant;

/// Bytes moved during one reporting interval (about [`REPORT_INTERVAL`](crate::REPORT_INTERVAL)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// How long the interval lasted.
    pub elapsed: Duration,
    /// Bytes written during the interval (excluding the 8-byte header).
    pub upload_bytes: u64,
    /// Bytes read during the interval.
    pub download_bytes: u64,
}

/// Accumulates transferred bytes and hands out a [`Progress`] once an interval has passed.
#[derive(Debug)]
pub(crate) struct Meter {
    interval: Duration,
    since: Instant,
    upload_bytes: u64,
    download_bytes: u64,
}

impl Meter {
    pub(crate) fn new(now: Instant, interval: Duration) -> Meter {
        Meter {
            interval,
            since: now,
            upload_bytes: 0,
            download_bytes: 0,
        }
    }

    /// Records bytes moved at `now`; returns the interval's totals once it is over.
    pub(crate) fn record(&mut self, now: Instant, upload: u64, download: u64) -> Option<Progress> {
        self.upload_bytes += upload;
        self.download_bytes += download;
        let elapsed = now.saturating_duration_since(self.since);
        if elapsed < self.interval {
            return None;
        }
        let progress = Progress {
            elapsed,
            upload_bytes: self.upload_bytes,
            download_bytes: self.download_bytes,
        };
        self.since = now;
        self.upload_bytes = 0;
        self.download_bytes = 0;
        Some(progress)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn reports_nothing_before_the_interval_ends() {
        let start = Instant::now();
        let mut meter = Meter::new(start, SECOND);
        assert_eq!(
            meter.record(start + Duration::from_millis(999), 10, 0),
            None
        );
    }

    #[test]
    fn reports_the_interval_totals_and_starts_over() {
        let start = Instant::now();
        let mut meter = Meter::new(start, SECOND);
        assert_eq!(
            meter.record(start + Duration::from_millis(400), 10, 1),
            None
        );
        let first = meter.record(start + Duration::from_millis(1100), 5, 2);
        assert_eq!(
            first,
            Some(Progress {
                elapsed: Duration::from_millis(1100),
                upload_bytes: 15,
                download_bytes: 3
            })
        );
        assert_eq!(
            meter.record(start + Duration::from_millis(2000), 7, 0),
            None
        );
        let second = meter.record(start + Duration::from_millis(2100), 0, 0);
        assert_eq!(
            second,
            Some(Progress {
                elapsed: SECOND,
                upload_bytes: 7,
                download_bytes: 0
            })
        );
    }
}
