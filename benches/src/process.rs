//! What /proc says about a process.

use std::time::Duration;

use anyhow::Context;

/// VmRSS of process `pid`, in KiB.
pub fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status
        .lines()
        .find(|line| line.starts_with("VmRSS:"))
        .context("no VmRSS")?;
    Ok(line
        .split_whitespace()
        .nth(1)
        .context("VmRSS without a value")?
        .parse()?)
}

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

/// The machine's CPU time counters (`/proc/stat`, all CPUs), to tell how busy it was in
/// between two readings.
#[derive(Debug, Clone, Copy)]
pub struct MachineCpu {
    busy: u64,
    total: u64,
}

impl MachineCpu {
    /// The counters now.
    pub fn now() -> anyhow::Result<MachineCpu> {
        let stat = std::fs::read_to_string("/proc/stat")?;
        let line = stat
            .lines()
            .find(|line| line.starts_with("cpu "))
            .context("no cpu line")?;
        let ticks = line
            .split_whitespace()
            .skip(1)
            .map(str::parse)
            .collect::<Result<Vec<u64>, _>>()?;
        // user nice system idle iowait irq softirq steal (guest time is inside user).
        let total: u64 = ticks.iter().take(8).sum();
        let idle = ticks.get(3).copied().unwrap_or(0) + ticks.get(4).copied().unwrap_or(0);
        Ok(MachineCpu {
            busy: total - idle,
            total,
        })
    }

    /// The share of all CPUs' time since `earlier` that was not idle, from 0 to 1.
    pub fn busy_since(&self, earlier: &MachineCpu) -> f64 {
        let total = self.total.saturating_sub(earlier.total);
        if total == 0 {
            return 0.0;
        }
        self.busy.saturating_sub(earlier.busy) as f64 / total as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_busy_loop_shows_as_busy_time() {
        let before = MachineCpu::now().unwrap();
        let start = std::time::Instant::now();
        let mut spins = 0u64;
        while start.elapsed() < Duration::from_millis(100) {
            spins = std::hint::black_box(spins + 1);
        }
        let busy = MachineCpu::now().unwrap().busy_since(&before);
        assert!(busy > 0.0 && busy <= 1.0, "{busy}");
        assert_eq!(before.busy_since(&before), 0.0);
    }
}
