//! What the node under attack spends, read from /proc: resident memory sampled every
//! 100 ms (its peak is what an operator's OOM killer would see) and CPU time.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

pub use crate::process::{cpu_time, rss_kib};

/// How often resident memory is sampled.
pub const SAMPLE_EVERY: Duration = Duration::from_millis(100);

/// The highest resident memory seen by a [`sample_peak`] task, in KiB.
#[derive(Debug, Default)]
pub struct Peak(AtomicU64);

impl Peak {
    /// The highest sample so far.
    pub fn kib(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Samples the resident memory of `pid` every [`SAMPLE_EVERY`] into `peak` until dropped
/// (or the process is gone).
pub async fn sample_peak(pid: u32, peak: Arc<Peak>) {
    let mut ticks = tokio::time::interval(SAMPLE_EVERY);
    loop {
        ticks.tick().await;
        match rss_kib(pid) {
            Ok(kib) => {
                peak.0.fetch_max(kib, Ordering::Relaxed);
            }
            Err(_) => return,
        }
    }
}
