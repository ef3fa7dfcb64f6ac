//! What the process used: CPU time and peak RSS from `getrusage(RUSAGE_SELF)`, turned into
//! the figures the budgets are compared with.
//!
//! CPU is user + system time over a wall interval. It is reported two ways: as a share of one
//! core (`cpu_core_percent`, what `top` shows for a process) and as a share of the CPU
//! capacity available to the process (`cpu_percent` = core percent ÷ cores), which is the
//! figure compared with `--cpu-budget`. The scheduler is a single worker: a closed-loop test
//! keeps it busy all the time, so its `cpu_percent` is one saturated core out of `cpu_count`
//! by construction; an open-loop test (`--rate`) shows the utilisation at that rate.

use std::time::Duration;

use anyhow::{Context, Result};
use nix::sys::resource::{UsageWho, getrusage};
use nix::sys::time::TimeValLike;

/// One reading of the process's counters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UsageSample {
    /// User + system CPU time since the process started.
    pub cpu: Duration,
    /// Peak resident set size so far, bytes.
    pub peak_rss_bytes: u64,
}

/// Reads the process's CPU time and peak RSS now.
pub fn sample() -> Result<UsageSample> {
    let usage = getrusage(UsageWho::RUSAGE_SELF).context("getrusage(RUSAGE_SELF) failed")?;
    let micros = |tv: nix::sys::time::TimeVal| {
        Duration::from_micros(u64::try_from(tv.num_microseconds()).unwrap_or(0))
    };
    Ok(UsageSample {
        cpu: micros(usage.user_time()) + micros(usage.system_time()),
        // Linux reports ru_maxrss in KiB.
        peak_rss_bytes: u64::try_from(usage.max_rss()).unwrap_or(0) * 1024,
    })
}

/// Cores available to this process (affinity and cgroup quota respected), at least 1.
pub fn cpu_count() -> u32 {
    std::thread::available_parallelism()
        .map(|n| u32::try_from(n.get()).unwrap_or(u32::MAX))
        .unwrap_or(1)
}

/// CPU and memory over a measured interval.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Usage {
    /// CPU seconds used in the interval.
    pub cpu_seconds: f64,
    /// CPU time ÷ wall time × 100 (one core = 100).
    pub cpu_core_percent: f64,
    /// `cpu_core_percent ÷ cpu_count`.
    pub cpu_percent: f64,
    /// Cores available.
    pub cpu_count: u32,
    /// Peak RSS at the end of the interval, MB (MiB, as the reference's budgets are read).
    pub peak_rss_mb: f64,
}

/// The usage between two samples taken `wall` apart, on `cpus` cores.
pub fn usage_between(before: UsageSample, after: UsageSample, wall: Duration, cpus: u32) -> Usage {
    let cpu_seconds = after.cpu.saturating_sub(before.cpu).as_secs_f64();
    let wall_s = wall.as_secs_f64();
    let cpu_core_percent = if wall_s > 0.0 {
        cpu_seconds / wall_s * 100.0
    } else {
        0.0
    };
    let cpus = cpus.max(1);
    Usage {
        cpu_seconds,
        cpu_core_percent,
        cpu_percent: cpu_core_percent / f64::from(cpus),
        cpu_count: cpus,
        peak_rss_mb: after.peak_rss_bytes as f64 / (1024.0 * 1024.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_is_cpu_time_over_wall_time_shared_by_cores() {
        let before = UsageSample {
            cpu: Duration::from_millis(500),
            peak_rss_bytes: 10 << 20,
        };
        let after = UsageSample {
            cpu: Duration::from_millis(1_500),
            peak_rss_bytes: 48 << 20,
        };
        let u = usage_between(before, after, Duration::from_secs(2), 4);
        assert_eq!(u.cpu_seconds, 1.0);
        assert_eq!(u.cpu_core_percent, 50.0);
        assert_eq!(u.cpu_percent, 12.5);
        assert_eq!(u.peak_rss_mb, 48.0);
        let idle = usage_between(after, after, Duration::ZERO, 0);
        assert_eq!((idle.cpu_percent, idle.cpu_count), (0.0, 1));
    }

    #[test]
    fn the_process_counters_move_when_we_burn_cpu() {
        let a = sample().unwrap();
        super::super::timing::burn(Duration::from_millis(30));
        let b = sample().unwrap();
        assert!(b.cpu > a.cpu, "{a:?} → {b:?}");
        assert!(b.peak_rss_bytes > 0 && b.peak_rss_bytes >= a.peak_rss_bytes);
        assert!(cpu_count() >= 1);
    }
}
