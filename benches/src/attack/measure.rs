//! What the node under attack spends, read from /proc: resident memory sampled every
//! 100 ms (its peak is what an operator's OOM killer would see) and CPU time.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context;

pub use crate::process::rss_kib;

/// How often resident memory is sampled.
pub const SAMPLE_EVERY: Duration = Duration::from_millis(100);

/// CPU time (user + system) process `pid` has used so far.
pub fn cpu_time(pid: u32) -> anyhow::Result<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the command name, which is in parentheses and may hold spaces: the
    // first is field 3 (state), so utime (14) and stime (15) are the 12th and 13th.
    let rest = stat.rsplit_once(')').context("no command name")?.1;
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next().context("no utime")?.parse()?;
    let stime: u64 = fields.next().context("no stime")?.parse()?;
    Ok(Duration::from_secs_f64(
        (utime + stime) as f64 / clock_ticks_per_second() as f64,
    ))
}

/// The kernel's USER_HZ, the unit of /proc/PID/stat times: 100 on every Linux
/// architecture we run on (it is fixed by the ABI, not by the kernel's HZ).
fn clock_ticks_per_second() -> u64 {
    100
}

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
