//! `stage4 scheduler load-test`: the report an L2 operator gets, the signal count checked
//! independently of the load test's own counter, coordinated omission exposed in open loop,
//! and bad input refused with exit 2.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use stage4_engine::domain::SimTime;
use stage4_engine::scheduler::ScheduleSpec;
use stage4_engine::strategy::{MarketSnapshot, Signal, Strategy, StrategyError};
use stage4_harness::load_test::plan::{LoadTestPlan, Pacing};
use stage4_harness::load_test::{LoadTest, schedules};
use stage4_reports::load_test::{LoadMode, LoadTestReport, ResourceStatus, Verdict};

fn stage4(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stage4"))
        .args(args)
        .output()
        .expect("stage4 runs")
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Runs the CLI with `--output` in `dir`; returns the exit code, stdout and the report.
fn load_test(dir: &Path, args: &[&str]) -> (i32, String, serde_json::Value) {
    let out = dir.join("report.json");
    let mut all = vec!["scheduler", "load-test", "--output", out.to_str().unwrap()];
    all.extend_from_slice(args);
    let output = stage4(&all);
    let stdout = String::from_utf8(output.stdout).unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let code = output.status.code().unwrap();
    assert!(code == 0 || code == 1, "exit {code}: {stdout}{stderr}");
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.ends_with("}\n"), "JSON with a trailing newline");
    (code, stdout, serde_json::from_str(&text).unwrap())
}

fn plan(schedules: u32, iterations: u32, latency_ms: u64) -> LoadTestPlan {
    let mut p = LoadTestPlan::synthetic(schedules);
    p.iterations = iterations;
    p.simulated_latency = Duration::from_millis(latency_ms);
    // Far above anything a test process uses: the verdict then depends on latency only.
    p.cpu_budget_percent = 1_000.0;
    p
}

// ---------------------------------------------------------------- the report

/// Timing and resource fields change from run to run; everything else must not.
fn redacted(mut report: serde_json::Value) -> serde_json::Value {
    for key in [
        "/avg_latency_ms",
        "/max_latency_ms",
        "/jitter_ms",
        "/throughput_runs_per_s",
        "/generated_at",
        "/run/duration_s",
        "/run/start_lag_max_ms",
    ] {
        *report.pointer_mut(key).unwrap() = "[measured]".into();
    }
    for object in [
        "/latency_ms",
        "/overhead_ms",
        "/resources",
        "/schedule_runs/latency_ms",
    ] {
        let fields = report.pointer_mut(object).unwrap().as_object_mut().unwrap();
        for v in fields.values_mut() {
            *v = "[measured]".into();
        }
    }
    for t in report["thresholds"].as_array_mut().unwrap() {
        if t["metric"] != "schedule_runs.failed" {
            t["observed"] = "[measured]".into();
        }
    }
    if let Some(path) = report
        .pointer_mut("/run/config_path")
        .filter(|p| !p.is_null())
    {
        let text = path
            .as_str()
            .unwrap()
            .replace(repo_root().to_str().unwrap(), "[repo]");
        *path = text.into();
    }
    report
}

#[test]
fn report_keeps_the_reference_keys_and_adds_the_honest_ones() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stdout, report) = load_test(
        dir.path(),
        &[
            "--iterations",
            "12",
            "--schedules",
            "4",
            "--signals",
            "3",
            "--latency-ms",
            "1.5",
            "--cpu-budget",
            "1000",
            "--memory-budget",
            "4096",
            "--warmup",
            "2",
        ],
    );
    assert_eq!(code, 0, "{stdout}");
    // The reference's keys, with the reference's types.
    for key in ["schedules", "iterations", "signals_emitted"] {
        assert!(report[key].is_u64(), "{key}");
    }
    for key in ["avg_latency_ms", "max_latency_ms", "jitter_ms"] {
        assert!(report[key].is_f64(), "{key}");
    }
    let l = &report["latency_ms"];
    let ordered = [
        l["p50"].as_f64().unwrap(),
        l["p90"].as_f64().unwrap(),
        l["p99"].as_f64().unwrap(),
        l["p999"].as_f64().unwrap(),
        l["max"].as_f64().unwrap(),
    ];
    assert!(ordered.windows(2).all(|w| w[0] <= w[1]), "{ordered:?}");
    assert_eq!(l["max"], report["max_latency_ms"]);
    let avg = report["avg_latency_ms"].as_f64().unwrap();
    assert!(avg > 0.0 && avg <= ordered[4]);
    // 4 schedules × 2 snapshots × 1.5 ms of simulated compute per iteration.
    assert!(ordered[0] >= 12.0, "{ordered:?}");
    assert!(stdout.contains("verdict PASS; report "), "{stdout}");
    assert!(stdout.contains("✓ latency_ms.p99 < 250"), "{stdout}");
    insta::assert_json_snapshot!("synthetic_report", redacted(report));
}

#[test]
fn config_schedules_come_from_the_training_site() {
    let dir = tempfile::tempdir().unwrap();
    let config = repo_root().join("fixtures/oem/core.yaml");
    let (code, stdout, report) = load_test(
        dir.path(),
        &[
            "--config",
            config.to_str().unwrap(),
            "--iterations",
            "5",
            "--latency-ms",
            "0",
            "--cpu-budget",
            "1000",
        ],
    );
    assert_eq!(code, 0, "{stdout}");
    assert_eq!(report["schedules"], 3);
    assert_eq!(
        report["settings"]["signals_per_snapshot"], 6,
        "largest configured max_signals"
    );
    insta::assert_json_snapshot!("config_report", redacted(report));
}

#[test]
fn the_same_seed_emits_the_same_signals_and_json_goes_to_stdout_on_request() {
    let dir = tempfile::tempdir().unwrap();
    let run = |seed: &str| {
        let (_, stdout, report) = load_test(
            dir.path(),
            &[
                "--iterations",
                "40",
                "--latency-ms",
                "0",
                "--seed",
                seed,
                "--json",
            ],
        );
        let printed: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!(
            printed, report,
            "--json prints the report written to --output"
        );
        report["signals_emitted"].as_u64().unwrap()
    };
    let a = run("7");
    assert!(a > 0);
    assert_eq!(a, run("7"));
    assert_ne!(a, run("11"), "the seed drives the market");
}

// ---------------------------------------------------------------- signals, counted independently

/// Counts what each strategy call emitted that the scheduler can let through (its top-k keeps
/// at most `cap` per snapshot), by bar time.
#[derive(Debug)]
struct CountingStrategy {
    inner: Box<dyn Strategy>,
    cap: usize,
    emitted: Arc<Mutex<Vec<(SimTime, usize)>>>,
}

impl Strategy for CountingStrategy {
    fn kind(&self) -> &'static str {
        self.inner.kind()
    }
    fn warm_up(&mut self, history: &[MarketSnapshot]) {
        self.inner.warm_up(history);
    }
    fn on_data(
        &mut self,
        snapshot: &MarketSnapshot,
        out: &mut Vec<Signal>,
    ) -> Result<(), StrategyError> {
        let before = out.len();
        let result = self.inner.on_data(snapshot, out);
        let made = out.len() - before;
        self.emitted
            .lock()
            .unwrap()
            .push((snapshot.at, made.min(self.cap)));
        result
    }
}

#[test]
fn signals_emitted_is_the_number_the_scheduler_actually_emitted() {
    for signals in [1, 4] {
        let emitted = Arc::new(Mutex::new(Vec::new()));
        let mut measured_bars: Vec<SimTime> = Vec::new();
        let mut from_records = 0u64;
        let mut p = plan(6, 40, 0);
        p.warmup = 5;
        p.signals_per_snapshot = signals;
        p.schedules = schedules::synthetic(6, signals);
        let report = LoadTest::new(p)
            .unwrap()
            .wrap_strategies(|spec: &ScheduleSpec, inner| {
                Box::new(CountingStrategy {
                    inner,
                    cap: spec.max_signals as usize,
                    emitted: emitted.clone(),
                })
            })
            .observe(|it| {
                measured_bars.push(it.records[0].due_at);
                from_records += it
                    .records
                    .iter()
                    .map(|r| r.signals().count() as u64)
                    .sum::<u64>();
            })
            .run()
            .unwrap();
        assert_eq!(measured_bars.len(), 40);
        let first_measured = measured_bars[0];
        let by_strategies: u64 = emitted
            .lock()
            .unwrap()
            .iter()
            .filter(|(at, _)| *at >= first_measured)
            .map(|(_, n)| *n as u64)
            .sum();
        assert!(by_strategies > 0, "the strategies trade");
        assert_eq!(report.signals_emitted, by_strategies, "--signals {signals}");
        assert_eq!(report.signals_emitted, from_records, "--signals {signals}");
        assert_ne!(
            report.signals_emitted,
            40 * 6 * u64::from(signals),
            "not the reference formula"
        );
        assert_eq!(report.schedule_runs.count, 40 * 6);
        assert_eq!(report.run.warmup_iterations, 5);
    }
}

// ---------------------------------------------------------------- coordinated omission

/// Stalls once, on its `stall_at`-th call, for `stall` (a GC pause, a page fault storm...).
#[derive(Debug)]
struct StallingStrategy {
    inner: Box<dyn Strategy>,
    calls: Arc<AtomicU64>,
    stall_at: u64,
    stall: Duration,
}

impl Strategy for StallingStrategy {
    fn kind(&self) -> &'static str {
        self.inner.kind()
    }
    fn warm_up(&mut self, history: &[MarketSnapshot]) {
        self.inner.warm_up(history);
    }
    fn on_data(
        &mut self,
        snapshot: &MarketSnapshot,
        out: &mut Vec<Signal>,
    ) -> Result<(), StrategyError> {
        if self.calls.fetch_add(1, Ordering::Relaxed) + 1 == self.stall_at {
            std::thread::sleep(self.stall);
        }
        self.inner.on_data(snapshot, out)
    }
}

fn stalled_run(pacing: Pacing) -> LoadTestReport {
    let calls = Arc::new(AtomicU64::new(0));
    let mut p = plan(1, 60, 0);
    p.pacing = pacing;
    LoadTest::new(p)
        .unwrap()
        .wrap_strategies(|_: &ScheduleSpec, inner| {
            Box::new(StallingStrategy {
                inner,
                calls: calls.clone(),
                // 2 calls per iteration: the stall hits iteration 10.
                stall_at: 20,
                stall: Duration::from_millis(200),
            })
        })
        .run()
        .unwrap()
}

#[test]
fn open_loop_shows_the_iterations_a_stall_delayed_closed_loop_hides_them() {
    let closed = stalled_run(Pacing::ClosedLoop);
    let open = stalled_run(Pacing::OpenLoop { rate_per_s: 100.0 });
    // Both saw the 200 ms stall itself.
    assert!(closed.latency_ms.max >= 200.0, "{:?}", closed.latency_ms);
    assert!(open.latency_ms.max >= 200.0, "{:?}", open.latency_ms);
    // Closed loop: one slow sample out of 60, the rest are fast.
    assert!(closed.latency_ms.p90 < 50.0, "{:?}", closed.latency_ms);
    // Open loop at 100/s: the ~20 iterations due during the stall waited for it.
    assert!(open.latency_ms.p90 >= 50.0, "{:?}", open.latency_ms);
    assert!(open.run.behind_schedule >= 15, "{:?}", open.run);
    assert_eq!(closed.run.behind_schedule, 0);
    assert_eq!(open.run.mode, LoadMode::OpenLoop);
    assert_eq!(open.run.target_rate_per_s, Some(100.0));
}

#[test]
fn open_loop_reports_higher_tail_latency_when_runs_are_slower_than_the_rate() {
    let dir = tempfile::tempdir().unwrap();
    // One schedule, 2 calls × 5 ms: at least 10 ms per iteration, asked for every 5 ms.
    let common = [
        "--schedules",
        "1",
        "--iterations",
        "40",
        "--latency-ms",
        "5",
    ];
    let (_, _, closed) = load_test(dir.path(), &common);
    let mut open_args = common.to_vec();
    open_args.extend_from_slice(&["--rate", "200"]);
    let (code, stdout, open) = load_test(dir.path(), &open_args);
    let p99 = |r: &serde_json::Value| r["latency_ms"]["p99"].as_f64().unwrap();
    // Iteration k waits for the k before it: the last one is ≥ 40 × 10 − 39 × 5 = 205 ms late.
    assert!(p99(&open) >= 200.0, "{}", open["latency_ms"]);
    assert!(
        p99(&open) > 2.0 * p99(&closed),
        "open {} vs closed {}",
        open["latency_ms"],
        closed["latency_ms"]
    );
    // The run time itself did not change: what differs is the wait, and it is counted.
    let overhead = |r: &serde_json::Value| r["overhead_ms"]["p50"].as_f64().unwrap();
    assert!(overhead(&open) < 5.0 && overhead(&closed) < 5.0);
    assert_eq!(open["run"]["mode"], "open_loop");
    assert_eq!(open["run"]["target_rate_per_s"], 200.0);
    assert!(
        stdout.contains("iterations started behind schedule"),
        "{stdout}"
    );
    // How far past 250 ms the tail grows depends on the machine; the verdict must follow it.
    let fails = p99(&open) >= 250.0;
    assert_eq!(code, if fails { 1 } else { 0 }, "{stdout}");
    assert_eq!(open["verdict"], if fails { "fail" } else { "pass" });
}

// ---------------------------------------------------------------- verdict and exit codes

#[test]
fn a_breached_budget_fails_with_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    // No process fits in 1 MB of RSS.
    let (code, stdout, report) = load_test(
        dir.path(),
        &[
            "--iterations",
            "3",
            "--latency-ms",
            "0",
            "--memory-budget",
            "1",
        ],
    );
    assert_eq!(code, 1, "{stdout}");
    assert_eq!(report["verdict"], "fail");
    assert_eq!(report["resource_status"], "error");
    assert!(stdout.contains("✗ resources.memory_ratio < 1"), "{stdout}");
    assert!(stdout.contains("verdict FAIL"), "{stdout}");
    let parsed: LoadTestReport = serde_json::from_value(report).unwrap();
    assert_eq!(parsed.verdict, Verdict::Fail);
    assert_eq!(parsed.resource_status, ResourceStatus::Error);
}

#[test]
fn bad_input_exits_2_and_says_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let ok_out = dir.path().join("r.json");
    let ok_out = ok_out.to_str().unwrap();
    let missing = dir.path().join("missing.yaml");
    let cases: Vec<(&str, Vec<&str>, &str)> = vec![
        (
            "zero iterations",
            vec!["--iterations", "0"],
            "invalid value '0' for '--iterations <N>': must be at least 1",
        ),
        (
            "negative latency",
            vec!["--latency-ms", "-1"],
            "invalid value '-1' for '--latency-ms <MS>': -1 is not a latency",
        ),
        (
            "unwritable output",
            vec!["--output", "/proc/stage4/load.json"],
            "--output: cannot create directory /proc/stage4",
        ),
        (
            "output is a directory",
            vec!["--output", "/tmp"],
            "--output: /tmp is a directory",
        ),
        (
            "zero rate",
            vec!["--rate", "0"],
            "invalid value '0' for '--rate <PER_S>': 0 is not a rate",
        ),
        (
            "cpu budget below 1",
            vec!["--cpu-budget", "0.5"],
            "invalid value '0.5' for '--cpu-budget <PERCENT>': 0.5 is not a budget",
        ),
        (
            "not a number",
            vec!["--memory-budget", "lots"],
            "`lots` is not a number",
        ),
        (
            "negative schedules",
            vec!["--schedules", "-3"],
            "invalid value '-3' for '--schedules <N>': must be at least 1 (got -3)",
        ),
        (
            "schedules with config",
            vec!["--schedules", "2", "--config", "core.yaml"],
            "the argument '--schedules <N>' cannot be used with '--config <PATH>'",
        ),
        (
            "scheduler without config",
            vec!["--scheduler", "core_multi_pipeline"],
            "--config <PATH>",
        ),
        (
            "missing config",
            vec!["--config", missing.to_str().unwrap()],
            "missing.yaml does not exist",
        ),
    ];
    for (name, args, needle) in cases {
        let mut all = vec!["scheduler", "load-test"];
        all.extend_from_slice(&args);
        // Fill in what the case does not set, so only its own flag is wrong.
        for (flag, value) in [
            ("--iterations", "1"),
            ("--latency-ms", "0"),
            ("--output", ok_out),
        ] {
            if !args.contains(&flag) {
                all.extend_from_slice(&[flag, value]);
            }
        }
        let output = stage4(&all);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{name}: {stderr}");
        assert!(stderr.contains(needle), "{name}: {stderr}");
        assert!(output.stdout.is_empty(), "{name}: nothing on stdout");
    }
    assert!(!Path::new(ok_out).exists(), "no report from a refused run");
}
