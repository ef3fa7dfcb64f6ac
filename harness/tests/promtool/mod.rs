//! Cross-check of our alert evaluator against Prometheus itself.
//!
//! Synthetic runs exercise every Stage4 rule (latency high → critical → clearing, a pending
//! spike that never fires, secondary-venue delay on irregular run times, allocation error,
//! drawdown). Our evaluator computes the alert transitions; the engine writes the rules file
//! and a `promtool test rules` file expecting exactly those alerts; promtool must accept
//! both. A negative control builds the expectations with the other range-boundary semantics
//! and requires promtool to reject them, so the check is shown to be able to fail.
//!
//! Needs `promtool` on PATH (Debian package `prometheus`); without it each test says so on
//! stderr and returns.

use std::path::Path;
use std::process::{Command, Output};

use stage4_engine::domain::{SimDuration, SimTime};
use stage4_engine::telemetry::dashboard::{dashboard_json, panels};
use stage4_engine::telemetry::metrics::names;
use stage4_engine::telemetry::{
    AlertEvaluator, MetricsStore, RangeBoundary, RecordedRun, RuleGroup, RuleTestBuilder,
    TelemetryPayload, TransitionKind, render_exposition, rules_file_yaml,
};

/// The promtool on PATH and the major version of the Prometheus it belongs to.
struct Promtool {
    version: String,
    major: u32,
}

#[allow(clippy::print_stderr)] // a skipped cross-check must say so, never pass silently
fn promtool() -> Option<Promtool> {
    match Command::new("promtool").arg("--version").output() {
        Ok(out) if out.status.success() => {
            let text = String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr);
            let version = text
                .split_whitespace()
                .skip_while(|w| *w != "version")
                .nth(1)
                .unwrap_or_else(|| {
                    panic!("cannot read a version from `promtool --version`: {text}")
                })
                .to_owned();
            let major = version
                .split('.')
                .next()
                .and_then(|m| m.parse().ok())
                .unwrap_or_else(|| panic!("cannot read a major version from `{version}`"));
            Some(Promtool { version, major })
        }
        Ok(out) => panic!(
            "`promtool --version` failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) => {
            eprintln!(
                "SKIPPED: promtool not runnable ({e}); install the Debian package `prometheus` \
                 (apt-get install prometheus) to cross-check the alert evaluator against Prometheus"
            );
            None
        }
    }
}

fn run_promtool(dir: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    use std::io::Write as _;
    let mut cmd = Command::new("promtool");
    cmd.args(args).current_dir(dir);
    if stdin.is_none() {
        return cmd.output().expect("promtool runs");
    }
    let mut child = cmd
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("promtool runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.unwrap().as_bytes())
        .unwrap();
    child.wait_with_output().expect("promtool finishes")
}

fn show(out: &Output) -> String {
    format!(
        "exit {}\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn t0() -> SimTime {
    SimTime::parse_rfc3339("2026-11-28T09:00:00Z").unwrap()
}

fn secs(s: u64) -> SimTime {
    t0() + SimDuration::from_secs(s)
}

/// One synthetic run: the store the rules read, and how long to evaluate.
struct Run {
    name: &'static str,
    store: MetricsStore,
    until: SimTime,
}

fn record(store: &mut MetricsStore, schedule: &str, at: SimTime, key: &str, value: f64) {
    store
        .record_run(schedule, at, &TelemetryPayload::new().with(key, value))
        .unwrap();
}

/// Latency: `core_multi_pipeline` goes 270 ms (HIGH) then 350 ms (CRITICAL) and clears; the
/// last slow run is on a 30 s mark so the window boundary decides the resolution time.
/// `mean_reversion_core` has one slow run off the evaluation grid (in the 2m window for
/// 90 s of evaluations only: pending, never fires) and is suspended for 3 min (no samples).
fn latency_run() -> Run {
    let mut store = MetricsStore::new();
    for step in 0..(30 * 4) {
        let at = secs(15 * step);
        let s = 15 * step;
        let core = match s {
            300..=524 => 270.0,
            525..=690 => 350.0,
            _ => 100.0 + (step % 4) as f64 * 10.0,
        };
        record(
            &mut store,
            "core_multi_pipeline",
            at,
            names::LATENCY_MS,
            core,
        );
        let suspended = (900..1080).contains(&s);
        if !suspended {
            let mr = if s == 435 { 300.0 } else { 90.0 };
            record(&mut store, "mean_reversion_core", at, names::LATENCY_MS, mr);
        }
    }
    Run {
        name: "latency high, critical, clearing",
        store,
        until: secs(30 * 60),
    }
}

/// Secondary delay on irregular run times (every 20 s plus a few seconds of jitter), as
/// Prometheus would scrape them every 15 s.
fn secondary_delay_run() -> Run {
    let mut raw = MetricsStore::new();
    for i in 0..(25 * 3) {
        let at = secs(20 * i + (i * 7) % 5);
        let s = 20 * i;
        // Alternating 600 / 100 while degraded: max_over_time still sees it.
        let delay = if (240..540).contains(&s) && i % 2 == 0 {
            600.0
        } else {
            100.0
        };
        record(
            &mut raw,
            "cross_exchange_arb",
            at,
            names::SECONDARY_DELAY_MS,
            delay,
        );
    }
    let until = secs(25 * 60);
    let store = raw
        .scraped(t0(), SimDuration::from_secs(15), until)
        .unwrap();
    Run {
        name: "secondary delay (scraped every 15s)",
        store,
        until,
    }
}

/// Allocation error per minute: 10 % for 10 min, 35 % for 20 min, then 5 %.
fn allocation_error_run() -> Run {
    let mut store = MetricsStore::new();
    for m in 0..60 {
        let v = match m {
            10..=29 => 35.0 + (m % 3) as f64 * 0.25,
            0..=9 => 10.0,
            _ => 5.0,
        };
        record(
            &mut store,
            "volatility_target_core",
            secs(60 * m),
            names::ALLOCATION_ERROR_PCT,
            v,
        );
    }
    Run {
        name: "allocation error",
        store,
        until: secs(60 * 60),
    }
}

/// Drawdown per minute: sliding to −5.5 % for 15 min, then recovering; the 30 min window
/// keeps the alert firing well after the recovery.
fn drawdown_run() -> Run {
    let mut store = MetricsStore::new();
    for m in 0..100u64 {
        let v = match m {
            0..=9 => -(m as f64) * 0.2,
            10..=24 => -5.5,
            _ => -1.0,
        };
        record(
            &mut store,
            "core_multi_pipeline",
            secs(60 * m),
            names::PNL_DRAWDOWN_PCT,
            v,
        );
    }
    Run {
        name: "drawdown",
        store,
        until: secs(100 * 60),
    }
}

fn runs() -> Vec<Run> {
    vec![
        latency_run(),
        secondary_delay_run(),
        allocation_error_run(),
        drawdown_run(),
    ]
}

fn evaluate(runs: &[Run], boundary: RangeBoundary) -> Vec<AlertEvaluator> {
    runs.iter()
        .map(|run| {
            let mut ev = AlertEvaluator::new(RuleGroup::stage4(), boundary, t0()).unwrap();
            ev.advance_to(&run.store, run.until).unwrap();
            ev
        })
        .collect()
}

fn unit_tests(runs: &[Run], evaluators: &[AlertEvaluator]) -> String {
    let mut builder = RuleTestBuilder::new("rules.yml", &RuleGroup::stage4());
    for (run, ev) in runs.iter().zip(evaluators) {
        builder
            .add_run(RecordedRun::from_evaluator(run.name, &run.store, ev).unwrap())
            .unwrap();
    }
    builder.to_yaml()
}

#[test]
fn the_runs_exercise_every_rule() {
    // Independent of promtool: the synthetic runs must fire and resolve every rule, and
    // show a pending alert that never fires, or the cross-check would prove little.
    let evaluators = evaluate(&runs(), RangeBoundary::Closed);
    let seen = |kind: TransitionKind| -> std::collections::BTreeSet<String> {
        evaluators
            .iter()
            .flat_map(|ev| ev.history())
            .filter(|t| t.kind == kind)
            .map(|t| t.rule.clone())
            .collect()
    };
    let all: std::collections::BTreeSet<String> = RuleGroup::stage4()
        .rules
        .iter()
        .map(|r| r.name.clone())
        .collect();
    assert_eq!(seen(TransitionKind::Firing), all);
    assert_eq!(seen(TransitionKind::Resolved), all);
    assert!(seen(TransitionKind::Cleared).contains("MultiStrategySchedulerLatencyHigh"));
    for ev in &evaluators {
        assert!(
            ev.firing().is_empty(),
            "every incident clears before the run ends"
        );
    }
    // The closed and left-open semantics disagree on these runs (the negative control
    // below depends on it).
    let other = evaluate(&runs(), RangeBoundary::LeftOpen);
    assert!(
        evaluators
            .iter()
            .zip(&other)
            .any(|(a, b)| a.history() != b.history())
    );
}

#[test]
fn promtool_accepts_our_rules_and_agrees_with_our_evaluator() {
    let Some(promtool) = promtool() else { return };
    let boundary = RangeBoundary::for_prometheus_major(promtool.major);
    let runs = runs();
    let evaluators = evaluate(&runs, boundary);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("rules.yml"),
        rules_file_yaml(&RuleGroup::stage4()).unwrap(),
    )
    .unwrap();
    std::fs::write(dir.path().join("tests.yml"), unit_tests(&runs, &evaluators)).unwrap();

    let check = run_promtool(dir.path(), &["check", "rules", "rules.yml"], None);
    assert!(
        check.status.success(),
        "promtool check rules:\n{}",
        show(&check)
    );
    assert!(String::from_utf8_lossy(&check.stdout).contains("5 rules found"));

    let test = run_promtool(dir.path(), &["test", "rules", "tests.yml"], None);
    assert!(
        test.status.success(),
        "promtool {} (boundary {boundary:?}) disagrees with our evaluator:\n{}",
        promtool.version,
        show(&test)
    );

    // Negative control: the other boundary's expectations must be rejected.
    let wrong = match boundary {
        RangeBoundary::Closed => RangeBoundary::LeftOpen,
        RangeBoundary::LeftOpen => RangeBoundary::Closed,
    };
    let wrong_evaluators = evaluate(&runs, wrong);
    std::fs::write(
        dir.path().join("wrong.yml"),
        unit_tests(&runs, &wrong_evaluators),
    )
    .unwrap();
    let rejected = run_promtool(dir.path(), &["test", "rules", "wrong.yml"], None);
    assert!(
        !rejected.status.success(),
        "promtool {} accepted expectations computed with {wrong:?}; the cross-check cannot tell the semantics apart",
        promtool.version
    );
}

#[test]
fn promtool_parses_our_exposition() {
    let Some(_) = promtool() else { return };
    let mut store = MetricsStore::new();
    for run in runs() {
        for (key, series) in run.store.series() {
            let last = series.latest().unwrap();
            store
                .record(&key.metric, &key.labels, last.at, last.value)
                .unwrap();
        }
    }
    let odd = TelemetryPayload::new()
        .with(names::SIGNALS, f64::NAN)
        .with(names::SPREAD_CAPTURE_BPS, f64::NEG_INFINITY)
        .with(names::AVG_CONFIDENCE, 1e-9);
    store.record_run("arb \"b\"\\x\ny", t0(), &odd).unwrap();
    let text = render_exposition(&store);
    let dir = tempfile::tempdir().unwrap();
    let out = run_promtool(dir.path(), &["check", "metrics"], Some(&text));
    // Exit 1 is a parse error. Exit 3 is lint only; the one lint we accept is the reference's
    // naming (`latency_ms`, `secondary_delay_ms` carry abbreviated units by design).
    let report =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    match out.status.code() {
        Some(0) => {}
        Some(3) => {
            for line in report.lines().filter(|l| !l.trim().is_empty()) {
                assert!(
                    line.ends_with("metric names should not contain abbreviated units")
                        && line.starts_with("bot_core_multi_strategy_"),
                    "unexpected promtool lint: {line}\n{}",
                    show(&out)
                );
            }
        }
        _ => panic!(
            "promtool check metrics rejected the exposition:\n{}\n{text}",
            show(&out)
        ),
    }
}

#[test]
fn promtool_parses_the_dashboard_queries() {
    let Some(_) = promtool() else { return };
    // Every panel query as a recording rule: `promtool check rules` parses the PromQL.
    let mut yaml = String::from("groups:\n  - name: stage4_dashboard_queries\n    rules:\n");
    let mut count = 0;
    for (i, panel) in panels().iter().enumerate() {
        for (j, target) in panel.targets.iter().enumerate() {
            yaml.push_str(&format!(
                "      - record: stage4:dashboard_panel_{i}_{j}\n        expr: {}\n",
                serde_json::to_string(&target.expr).unwrap()
            ));
            count += 1;
        }
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("dashboard_queries.yml"), yaml).unwrap();
    let out = run_promtool(
        dir.path(),
        &["check", "rules", "dashboard_queries.yml"],
        None,
    );
    assert!(out.status.success(), "{}", show(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("{count} rules found")));
}

/// The exported rules file and dashboard are kept in `fixtures/prometheus/` for operators
/// who deploy them without building; they must match what the engine generates. Set
/// `STAGE4_UPDATE_FIXTURES=1` to rewrite them after an intended change.
#[test]
fn exported_files_in_fixtures_are_current() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/prometheus");
    let files = [
        (
            "multi_strategy_rules.yml",
            rules_file_yaml(&RuleGroup::stage4()).unwrap(),
        ),
        ("stage4_multi_strategy_dashboard.json", dashboard_json()),
    ];
    let update = std::env::var_os("STAGE4_UPDATE_FIXTURES").is_some_and(|v| v == "1");
    for (name, generated) in files {
        let path = dir.join(name);
        if update {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, &generated).unwrap();
        }
        let stored = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "{}: {e}; run with STAGE4_UPDATE_FIXTURES=1 to create it",
                path.display()
            )
        });
        assert!(
            stored == generated,
            "{} is out of date with the engine; run with STAGE4_UPDATE_FIXTURES=1 and review the diff",
            path.display()
        );
    }
}
