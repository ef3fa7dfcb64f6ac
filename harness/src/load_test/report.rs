//! Turns measurements into the report (`stage4_reports::load_test`), renders it as sorted
//! JSON, and summarises it for a terminal the way k6 ends a run: the figures, then each
//! threshold ✓/✗ with its observed value, then the verdict.

use std::fmt::Write as _;
use std::path::Path;

use hdrhistogram::Histogram;
use stage4_reports::load_test::{
    LatencyPercentiles, LoadMode, LoadTestReport, LoadTestSettings, OverheadPercentiles,
    ResourceRatios, ResourceUsage, RunLatency, RunManifest, SCHEMA_VERSION, ScheduleRuns, judge,
    ratio, resource_status,
};

use super::plan::{LoadTestPlan, Pacing, ScheduleSource};
use super::runner::Measurements;

/// `ns` as milliseconds.
fn ms(ns: u64) -> f64 {
    ns as f64 / 1e6
}

/// Rounds to `decimals` places (ratios and percentages: noise past 4 places helps nobody).
fn round(v: f64, decimals: i32) -> f64 {
    let f = 10f64.powi(decimals);
    (v * f).round() / f
}

/// A histogram quantile in ms, never above the exact maximum (the histogram reports the top
/// of a value's 0.1 % bucket, which can sit just above the largest value recorded).
fn quantile_ms(h: &Histogram<u64>, q: f64, max_ns: u64) -> f64 {
    ms(h.value_at_quantile(q).min(max_ns))
}

/// Builds the report of `plan` from `m`; `generated_at` is the RFC 3339 time to stamp.
pub fn build(plan: &LoadTestPlan, m: &Measurements, generated_at: String) -> LoadTestReport {
    let n = f64::from(m.iterations.max(1));
    let latency_ms = LatencyPercentiles {
        p50: quantile_ms(&m.latency, 0.5, m.latency_max_ns),
        p90: quantile_ms(&m.latency, 0.9, m.latency_max_ns),
        p99: quantile_ms(&m.latency, 0.99, m.latency_max_ns),
        p999: quantile_ms(&m.latency, 0.999, m.latency_max_ns),
        max: ms(m.latency_max_ns),
    };
    let overhead_max = m.overhead.max();
    let overhead_ms = OverheadPercentiles {
        p50: quantile_ms(&m.overhead, 0.5, overhead_max),
        p99: quantile_ms(&m.overhead, 0.99, overhead_max),
    };
    let wall_s = m.wall.as_secs_f64();
    let cpu_ratio = round(ratio(m.usage.cpu_percent, plan.cpu_budget_percent), 4);
    let memory_ratio = round(ratio(m.usage.peak_rss_mb, plan.memory_budget_mb), 4);
    let resources = ResourceRatios {
        cpu: cpu_ratio,
        memory: memory_ratio,
    };
    let (verdict, thresholds) = judge(latency_ms.p99, Some(resources), m.failed_runs);
    let (source, config_path, scheduler) = match &plan.source {
        ScheduleSource::Synthetic => ("synthetic", None, None),
        ScheduleSource::Config { path, scheduler } => (
            "config",
            Some(path.display().to_string()),
            Some(scheduler.clone()),
        ),
    };
    LoadTestReport {
        schema_version: SCHEMA_VERSION,
        generated_at,
        schedules: plan.schedule_count(),
        iterations: m.iterations,
        avg_latency_ms: round(m.latency_sum_ns as f64 / n / 1e6, 6),
        max_latency_ms: ms(m.latency_max_ns),
        jitter_ms: ms(m.latency_max_ns - m.latency_min_ns.min(m.latency_max_ns)),
        signals_emitted: m.signals,
        resource_status: resource_status(&[cpu_ratio, memory_ratio]),
        settings: LoadTestSettings {
            iterations: plan.iterations,
            schedules: plan.schedule_count(),
            signals_per_snapshot: plan.signals_per_snapshot,
            simulated_latency_ms: plan.simulated_latency_ms(),
            cpu_budget_percent: plan.cpu_budget_percent,
            memory_budget_mb: plan.memory_budget_mb,
        },
        latency_ms,
        overhead_ms,
        throughput_runs_per_s: if wall_s > 0.0 {
            round(f64::from(m.iterations) / wall_s, 3)
        } else {
            0.0
        },
        resources: ResourceUsage {
            cpu_percent: round(m.usage.cpu_percent, 2),
            cpu_core_percent: round(m.usage.cpu_core_percent, 2),
            cpu_seconds: round(m.usage.cpu_seconds, 6),
            cpu_count: m.usage.cpu_count,
            peak_rss_mb: round(m.usage.peak_rss_mb, 2),
            cpu_ratio,
            memory_ratio,
        },
        schedule_runs: ScheduleRuns {
            count: m.runs,
            failed: m.failed_runs,
            latency_ms: RunLatency {
                p50: quantile_ms(&m.run_latency, 0.5, m.run_latency_max_ns),
                p99: quantile_ms(&m.run_latency, 0.99, m.run_latency_max_ns),
                max: ms(m.run_latency_max_ns),
            },
        },
        thresholds,
        verdict,
        run: RunManifest {
            mode: match plan.pacing {
                Pacing::ClosedLoop => LoadMode::ClosedLoop,
                Pacing::OpenLoop { .. } => LoadMode::OpenLoop,
            },
            target_rate_per_s: match plan.pacing {
                Pacing::ClosedLoop => None,
                Pacing::OpenLoop { rate_per_s } => Some(rate_per_s),
            },
            warmup_iterations: plan.warmup,
            seed: plan.seed,
            source: source.to_owned(),
            config_path,
            scheduler,
            duration_s: round(wall_s, 6),
            behind_schedule: m.behind_schedule,
            start_lag_max_ms: ms(m.start_lag_max_ns),
        },
    }
}

/// The report as sorted, two-space-indented JSON with a trailing newline.
pub fn to_json(report: &LoadTestReport) -> String {
    let mut text = stage4_reports::render::json::to_pretty_sorted(report)
        .expect("the report is plain data and always serialises");
    text.push('\n');
    text
}

/// A terminal summary: figures, thresholds ✓/✗, verdict, and where the report was written.
pub fn summary(report: &LoadTestReport, written_to: Option<&Path>) -> String {
    let mut out = String::new();
    let r = report;
    let mode = match r.run.target_rate_per_s {
        Some(rate) => format!("open loop at {rate} iterations/s (latency from intended start)"),
        None => "closed loop".to_owned(),
    };
    let _ = writeln!(
        out,
        "scheduler load test: {} schedules × {} iterations ({} warm-up), {mode}, seed {}",
        r.schedules, r.iterations, r.run.warmup_iterations, r.run.seed
    );
    let _ = writeln!(
        out,
        "  latency    avg {:.3} ms  p50 {:.3}  p90 {:.3}  p99 {:.3}  p99.9 {:.3}  max {:.3}  jitter {:.3}",
        r.avg_latency_ms,
        r.latency_ms.p50,
        r.latency_ms.p90,
        r.latency_ms.p99,
        r.latency_ms.p999,
        r.latency_ms.max,
        r.jitter_ms
    );
    let _ = writeln!(
        out,
        "  overhead   p50 {:.3} ms  p99 {:.3} ms (run time minus {} ms simulated latency per strategy call)",
        r.overhead_ms.p50, r.overhead_ms.p99, r.settings.simulated_latency_ms
    );
    let _ = writeln!(
        out,
        "  runs       {} schedule runs, {} failed, run latency p50 {:.3} ms  p99 {:.3}  max {:.3}",
        r.schedule_runs.count,
        r.schedule_runs.failed,
        r.schedule_runs.latency_ms.p50,
        r.schedule_runs.latency_ms.p99,
        r.schedule_runs.latency_ms.max
    );
    let _ = writeln!(
        out,
        "  throughput {:.2} iterations/s over {:.3} s; {} signals emitted",
        r.throughput_runs_per_s, r.run.duration_s, r.signals_emitted
    );
    if r.run.target_rate_per_s.is_some() {
        let _ = writeln!(
            out,
            "  pacing     {} iterations started behind schedule; start lag max {:.3} ms",
            r.run.behind_schedule, r.run.start_lag_max_ms
        );
    }
    let _ = writeln!(
        out,
        "  resources  cpu {:.1} % of {} cores ({:.1} % of one core; ratio {:.2} of {} %), peak RSS {:.1} MB (ratio {:.4} of {} MB): {}",
        r.resources.cpu_percent,
        r.resources.cpu_count,
        r.resources.cpu_core_percent,
        r.resources.cpu_ratio,
        r.settings.cpu_budget_percent,
        r.resources.peak_rss_mb,
        r.resources.memory_ratio,
        r.settings.memory_budget_mb,
        r.resource_status.as_str()
    );
    let _ = writeln!(out, "thresholds");
    for t in &r.thresholds {
        let _ = writeln!(
            out,
            "  {} {} {} {} (observed {})",
            if t.passed { "✓" } else { "✗" },
            t.metric,
            t.comparison,
            t.limit,
            round(t.observed, 4)
        );
    }
    let _ = write!(out, "verdict {}", r.verdict.as_str().to_uppercase());
    if let Some(path) = written_to {
        let _ = write!(out, "; report {}", path.display());
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use stage4_reports::load_test::{ResourceStatus, Verdict};

    use super::*;
    use crate::load_test::resources::Usage;

    /// Iterations of 1..=n ms, each with 10 µs of overhead and one 2 ms schedule run.
    fn measurements(n: u64) -> Measurements {
        let mut latency = Histogram::new(3).unwrap();
        let mut overhead = Histogram::new(3).unwrap();
        let mut run_latency = Histogram::new(3).unwrap();
        for i in 1..=n {
            latency.record(i * 1_000_000).unwrap();
            overhead.record(10_000).unwrap();
            run_latency.record(2_000_000).unwrap();
        }
        Measurements {
            latency,
            overhead,
            run_latency,
            latency_sum_ns: u128::from(n * (n + 1) / 2 * 1_000_000),
            latency_min_ns: 1_000_000,
            latency_max_ns: n * 1_000_000,
            run_latency_max_ns: 2_000_000,
            iterations: n as u32,
            signals: 17,
            runs: n,
            failed_runs: 0,
            behind_schedule: 0,
            start_lag_max_ns: 0,
            wall: Duration::from_secs(2),
            usage: Usage {
                cpu_seconds: 1.0,
                cpu_core_percent: 50.0,
                cpu_percent: 25.0,
                cpu_count: 2,
                peak_rss_mb: 100.0,
            },
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= b * 0.001
    }

    #[test]
    fn figures_come_from_the_measurements() {
        let mut plan = LoadTestPlan::synthetic(3);
        plan.iterations = 100;
        let r = build(&plan, &measurements(100), "2026-11-28T12:00:00.000Z".into());
        assert_eq!((r.iterations, r.schedules, r.signals_emitted), (100, 3, 17));
        assert_eq!(r.avg_latency_ms, 50.5);
        assert_eq!((r.max_latency_ms, r.jitter_ms), (100.0, 99.0));
        assert!(close(r.latency_ms.p50, 50.0), "{:?}", r.latency_ms);
        assert!(close(r.latency_ms.p90, 90.0), "{:?}", r.latency_ms);
        assert!(close(r.latency_ms.p99, 99.0), "{:?}", r.latency_ms);
        assert_eq!(r.latency_ms.p999, 100.0, "never above the exact max");
        assert!(close(r.overhead_ms.p99, 0.01), "{:?}", r.overhead_ms);
        assert_eq!(r.throughput_runs_per_s, 50.0);
        assert_eq!(
            (r.resources.cpu_ratio, r.resources.memory_ratio),
            (0.3571, 0.0326)
        );
        assert_eq!(r.resource_status, ResourceStatus::Ok);
        assert_eq!(r.verdict, Verdict::Pass);
        assert_eq!(r.settings.simulated_latency_ms, 2.0);
        let text = summary(&r, Some(Path::new("logs/load_tests/x.json")));
        assert!(text.contains("✓ latency_ms.p99 < 250"), "{text}");
        assert!(
            text.ends_with("verdict PASS; report logs/load_tests/x.json\n"),
            "{text}"
        );
    }

    #[test]
    fn a_slow_tail_or_a_tight_budget_fails_the_verdict() {
        let mut plan = LoadTestPlan::synthetic(3);
        plan.iterations = 300;
        let slow = build(&plan, &measurements(300), String::new());
        assert!(slow.latency_ms.p99 >= 250.0);
        assert_eq!(slow.verdict, Verdict::Fail);
        assert!(summary(&slow, None).contains("✗ latency_ms.p99 < 250"));

        plan.memory_budget_mb = 110.0;
        plan.iterations = 10;
        let tight = build(&plan, &measurements(10), String::new());
        assert_eq!(
            tight.resource_status,
            ResourceStatus::Warning,
            "100 of 110 MB"
        );
        assert_eq!(tight.verdict, Verdict::Pass, "a warning does not fail");
        plan.memory_budget_mb = 100.0;
        let breached = build(&plan, &measurements(10), String::new());
        assert_eq!(breached.resource_status, ResourceStatus::Error);
        assert_eq!(breached.verdict, Verdict::Fail);
        assert!(summary(&breached, None).ends_with("verdict FAIL\n"));
    }
}
