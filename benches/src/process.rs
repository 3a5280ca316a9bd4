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
