//! The `stage4 scheduler load-test` report: the reference's keys (engine.md §11.3) with their
//! meaning made honest, plus what a load-test report needs to be trusted (peers.md §3).
//!
//! Reference keys, same names and types: `schedules`, `iterations`, `avg_latency_ms`,
//! `max_latency_ms`, `jitter_ms` (max − min), `signals_emitted`, `resource_status`,
//! `settings{…}`. What changed in their meaning:
//! - `signals_emitted` is the number of signals the scheduler emitted in the measured
//!   iterations, counted from its run records (the reference printed
//!   `iterations × schedules × signals`, half the real number for two symbols);
//! - `resource_status` is judged from the process's measured CPU and peak RSS (the reference
//!   judged a synthetic sample).
//!
//! Added: `schema_version`, `generated_at`, `latency_ms` percentiles (HdrHistogram),
//! `overhead_ms` (run time minus the time spent inside the simulated strategy latency),
//! `throughput_runs_per_s`, `resources`, `schedule_runs`, `thresholds` (each criterion with its
//! observed value), `verdict`, and the `run` manifest (mode, rate, warm-up, seed, source).
//!
//! The verdict rule lives in one place, [`judge`]; the resource rule of the reference
//! resource monitor (engine.md §10) in [`resource_status`].

use serde::{Deserialize, Serialize};

/// Version of this report's schema.
pub const SCHEMA_VERSION: u32 = 1;

/// The Stage4 exit criterion for the scheduler: latency under 250 ms (engine.md §12.4).
pub const LATENCY_CRITERION_MS: f64 = 250.0;

/// Share of a budget at which the reference resource monitor warns (engine.md §10).
pub const RESOURCE_WARNING_THRESHOLD: f64 = 0.85;

/// `resource_status`: the reference resource monitor's three levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ResourceStatus {
    /// Every ratio below the warning threshold.
    Ok,
    /// A ratio at or above the warning threshold, none at or above 1.
    Warning,
    /// A ratio at or above 1: the budget is breached.
    Error,
}

impl ResourceStatus {
    /// `ok`, `warning` or `error`.
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceStatus::Ok => "ok",
            ResourceStatus::Warning => "warning",
            ResourceStatus::Error => "error",
        }
    }
}

/// The overall outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Every threshold held.
    Pass,
    /// At least one threshold failed.
    Fail,
}

impl Verdict {
    /// `pass` or `fail`.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
        }
    }
}

/// How iterations were started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LoadMode {
    /// Each iteration starts when the previous one finished; latency is the run time.
    ClosedLoop,
    /// Iteration k is due at `start + k / rate`; latency is measured from that intended start
    /// (coordinated omission corrected, as wrk2 does). No iteration is ever skipped.
    OpenLoop,
}

/// The reference `settings` block: the parameters as run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadTestSettings {
    /// Measured iterations.
    pub iterations: u32,
    /// Schedules registered.
    pub schedules: u32,
    /// `--signals`: the per-snapshot signal limit (with `--config` and no `--signals`: the
    /// largest `max_signals` among the configured schedules).
    pub signals_per_snapshot: u32,
    /// Simulated compute per strategy call, ms.
    pub simulated_latency_ms: f64,
    /// CPU budget, percent of the machine's CPU capacity.
    pub cpu_budget_percent: f64,
    /// Memory budget, MB.
    pub memory_budget_mb: f64,
}

/// Iteration latency percentiles, ms.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LatencyPercentiles {
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p999: f64,
    /// Largest value, exact (not quantised by the histogram).
    pub max: f64,
}

/// Scheduler overhead percentiles, ms: run time minus time inside the simulated latency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OverheadPercentiles {
    /// Median.
    pub p50: f64,
    /// 99th percentile.
    pub p99: f64,
}

/// What the process used while the measured iterations ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceUsage {
    /// User + system CPU time over the measured wall interval, as a percentage of the CPU
    /// capacity available to the process (`cpu_count` cores): 100 means every core busy.
    pub cpu_percent: f64,
    /// The same CPU time as a percentage of one core (as `top` shows a process).
    pub cpu_core_percent: f64,
    /// User + system CPU seconds over the measured interval.
    pub cpu_seconds: f64,
    /// Cores available to the process.
    pub cpu_count: u32,
    /// Peak resident set size of the process, MB (`ru_maxrss`).
    pub peak_rss_mb: f64,
    /// `cpu_percent / cpu_budget_percent`.
    pub cpu_ratio: f64,
    /// `peak_rss_mb / memory_budget_mb`.
    pub memory_ratio: f64,
}

/// Per-schedule run latency percentiles, ms (what the scheduler's `latency_ms` telemetry
/// reports for each run).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunLatency {
    /// Median.
    pub p50: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Largest value, exact.
    pub max: f64,
}

/// The individual schedule runs inside the measured iterations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScheduleRuns {
    /// Runs (iterations × schedules).
    pub count: u64,
    /// Runs that ended in a feed or strategy failure.
    pub failed: u64,
    /// Run latency as the scheduler measured it.
    pub latency_ms: RunLatency,
}

/// One pass/fail criterion with what was observed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThresholdResult {
    /// The report key checked, e.g. `latency_ms.p99`.
    pub metric: String,
    /// `<` or `==`: how `observed` must compare with `limit` to pass.
    pub comparison: String,
    /// The limit.
    pub limit: f64,
    /// The observed value.
    pub observed: f64,
    /// Whether it held.
    pub passed: bool,
}

/// How the run was driven: what a reader needs to reproduce or compare it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunManifest {
    /// Closed or open loop.
    pub mode: LoadMode,
    /// `--rate`: intended iterations per second (open loop only).
    pub target_rate_per_s: Option<f64>,
    /// Iterations run before measuring and excluded from every figure.
    pub warmup_iterations: u32,
    /// Seed of the simulated market.
    pub seed: u64,
    /// `synthetic` (`--schedules`) or `config` (`--config`).
    pub source: String,
    /// The core.yaml read, with `--config`.
    pub config_path: Option<String>,
    /// The scheduler of the core.yaml whose schedules ran, with `--config`.
    pub scheduler: Option<String>,
    /// Wall time of the measured iterations, seconds (open loop: from the first intended
    /// start).
    pub duration_s: f64,
    /// Measured iterations whose intended start had already passed when the previous
    /// iteration finished (open loop: the offered rate exceeded what the scheduler sustained).
    pub behind_schedule: u64,
    /// The most any measured iteration started after it could have (after its intended
    /// start and after the previous iteration finished): the load generator's own timing
    /// error, which open-loop latency includes.
    pub start_lag_max_ms: f64,
}

/// The load-test report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadTestReport {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// When the report was made (RFC 3339, UTC).
    pub generated_at: String,
    /// Schedules registered.
    pub schedules: u32,
    /// Measured iterations (one iteration = one `run_once` of every schedule).
    pub iterations: u32,
    /// Mean iteration latency, ms, exact.
    pub avg_latency_ms: f64,
    /// Largest iteration latency, ms, exact.
    pub max_latency_ms: f64,
    /// Largest minus smallest iteration latency, ms (the reference's definition).
    pub jitter_ms: f64,
    /// Signals the scheduler emitted in the measured iterations, counted.
    pub signals_emitted: u64,
    /// [`resource_status`] of `resources`.
    pub resource_status: ResourceStatus,
    /// The parameters.
    pub settings: LoadTestSettings,
    /// Iteration latency percentiles (open loop: from the intended start).
    pub latency_ms: LatencyPercentiles,
    /// Scheduler overhead per iteration, excluding the simulated strategy latency.
    pub overhead_ms: OverheadPercentiles,
    /// Measured iterations per second of wall time.
    pub throughput_runs_per_s: f64,
    /// Measured CPU and memory against the budgets.
    pub resources: ResourceUsage,
    /// The schedule runs inside the measured iterations.
    pub schedule_runs: ScheduleRuns,
    /// Each criterion of [`judge`] with its observed value.
    pub thresholds: Vec<ThresholdResult>,
    /// `pass` when every threshold held.
    pub verdict: Verdict,
    /// How the run was driven.
    pub run: RunManifest,
}

/// `actual / limit`, or 0 when the limit is not positive (the reference rule).
pub fn ratio(actual: f64, limit: f64) -> f64 {
    if limit > 0.0 { actual / limit } else { 0.0 }
}

/// The reference resource rule (engine.md §10): `error` when any ratio is at least 1,
/// `warning` when any is at least [`RESOURCE_WARNING_THRESHOLD`], else `ok`. A NaN ratio (a
/// measurement that failed) counts as a breach rather than passing silently.
pub fn resource_status(ratios: &[f64]) -> ResourceStatus {
    if ratios.iter().any(|r| r.is_nan() || *r >= 1.0) {
        ResourceStatus::Error
    } else if ratios.iter().any(|r| *r >= RESOURCE_WARNING_THRESHOLD) {
        ResourceStatus::Warning
    } else {
        ResourceStatus::Ok
    }
}

/// Process CPU and peak memory as fractions of their budgets (see [`ratio`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ResourceRatios {
    /// CPU use / CPU budget.
    pub cpu: f64,
    /// Peak resident memory / memory budget.
    pub memory: f64,
}

/// The verdict rule, in one place.
///
/// The load test **fails** when any of these holds, and passes otherwise:
/// 1. `latency_ms.p99 ≥ 250` — the Stage4 exit criterion (`latency_ms < 250`) applied to
///    whole iterations, each of which runs every schedule once, so it also bounds every single
///    run and the lateness of the last schedule; in open loop the latency counts from the
///    intended start;
/// 2. `resources.cpu_ratio ≥ 1` or `resources.memory_ratio ≥ 1` — a budget is breached
///    (`resource_status` `error`); a `warning` does not fail the test;
/// 3. `schedule_runs.failed > 0` — a run that failed is not a fast run.
///
/// `resources` is `None` where process CPU and memory are not part of the measurement (the load
/// test in simulated time inside a scenario): criterion 2 is then left out of the result — not
/// reported as passed. A real run always passes `Some`; a ratio that could not be measured is
/// NaN there and fails.
///
/// Returns the verdict and every criterion with its observed value, in that order.
pub fn judge(
    latency_p99_ms: f64,
    resources: Option<ResourceRatios>,
    failed_runs: u64,
) -> (Verdict, Vec<ThresholdResult>) {
    let below = |metric: &str, observed: f64, limit: f64| ThresholdResult {
        metric: metric.to_owned(),
        comparison: "<".to_owned(),
        limit,
        observed,
        // NaN compares false: an unmeasured value never passes.
        passed: observed < limit,
    };
    let mut thresholds = vec![below(
        "latency_ms.p99",
        latency_p99_ms,
        LATENCY_CRITERION_MS,
    )];
    if let Some(r) = resources {
        thresholds.push(below("resources.cpu_ratio", r.cpu, 1.0));
        thresholds.push(below("resources.memory_ratio", r.memory, 1.0));
    }
    thresholds.push(ThresholdResult {
        metric: "schedule_runs.failed".to_owned(),
        comparison: "==".to_owned(),
        limit: 0.0,
        observed: failed_runs as f64,
        passed: failed_runs == 0,
    });
    let verdict = if thresholds.iter().all(|t| t.passed) {
        Verdict::Pass
    } else {
        Verdict::Fail
    };
    (verdict, thresholds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_rule_matches_the_reference_vectors() {
        // engine.md §10: budgets 70/2048 with 40/1024 → ok; 60/1024 with 59/1200 → error.
        let ok = [ratio(40.0, 70.0), ratio(1024.0, 2048.0)];
        assert_eq!(resource_status(&ok), ResourceStatus::Ok);
        let breach = [ratio(59.0, 60.0), ratio(1200.0, 1024.0)];
        assert_eq!(resource_status(&breach), ResourceStatus::Error);
        let cases = [
            ("all low", vec![0.1, 0.84], ResourceStatus::Ok),
            (
                "at the warning line",
                vec![0.85, 0.0],
                ResourceStatus::Warning,
            ),
            ("just under 1", vec![0.999, 0.2], ResourceStatus::Warning),
            ("exactly 1", vec![1.0, 0.2], ResourceStatus::Error),
            ("unmeasured", vec![f64::NAN, 0.2], ResourceStatus::Error),
            ("zero limit", vec![ratio(50.0, 0.0)], ResourceStatus::Ok),
        ];
        for (name, ratios, want) in cases {
            assert_eq!(resource_status(&ratios), want, "{name}");
        }
    }

    #[test]
    fn verdict_fails_on_each_criterion_alone() {
        let cases = [
            ("all fine", (12.0, 0.5, 0.01, 0), Verdict::Pass),
            ("p99 just under 250", (249.99, 0.5, 0.01, 0), Verdict::Pass),
            ("p99 at 250", (250.0, 0.5, 0.01, 0), Verdict::Fail),
            ("cpu warning only", (12.0, 0.9, 0.01, 0), Verdict::Pass),
            ("cpu breach", (12.0, 1.0, 0.01, 0), Verdict::Fail),
            ("memory breach", (12.0, 0.5, 1.2, 0), Verdict::Fail),
            ("a failed run", (12.0, 0.5, 0.01, 1), Verdict::Fail),
            (
                "latency not measured",
                (f64::NAN, 0.5, 0.01, 0),
                Verdict::Fail,
            ),
        ];
        for (name, (p99, cpu, memory, failed), want) in cases {
            let resources = ResourceRatios { cpu, memory };
            let (verdict, thresholds) = judge(p99, Some(resources), failed);
            assert_eq!(verdict, want, "{name}");
            assert_eq!(thresholds.len(), 4, "{name}");
            assert_eq!(
                verdict == Verdict::Pass,
                thresholds.iter().all(|t| t.passed),
                "{name}"
            );
        }
    }

    #[test]
    fn without_resources_only_latency_and_failures_are_judged() {
        let cases = [
            ("fast, no failure", (12.0, 0), Verdict::Pass),
            ("p99 at 250", (250.0, 0), Verdict::Fail),
            ("a failed run", (12.0, 1), Verdict::Fail),
            ("latency not measured", (f64::NAN, 0), Verdict::Fail),
        ];
        for (name, (p99, failed), want) in cases {
            let (verdict, thresholds) = judge(p99, None, failed);
            assert_eq!(verdict, want, "{name}");
            let metrics: Vec<&str> = thresholds.iter().map(|t| t.metric.as_str()).collect();
            assert_eq!(
                metrics,
                ["latency_ms.p99", "schedule_runs.failed"],
                "{name}: resources are left out, not reported as passed"
            );
        }
    }

    #[test]
    fn enums_serialise_as_the_reference_words() {
        assert_eq!(
            serde_json::to_string(&ResourceStatus::Warning).unwrap(),
            "\"warning\""
        );
        assert_eq!(serde_json::to_string(&Verdict::Fail).unwrap(), "\"fail\"");
        assert_eq!(
            serde_json::to_string(&LoadMode::OpenLoop).unwrap(),
            "\"open_loop\""
        );
        for s in [
            ResourceStatus::Ok,
            ResourceStatus::Warning,
            ResourceStatus::Error,
        ] {
            assert_eq!(
                serde_json::to_string(&s).unwrap(),
                format!("\"{}\"", s.as_str())
            );
        }
    }
}
