//! The portfolio governor end to end (engine.md §5, §3.3 steps 4 and 13, §6): a scenario with
//! `engine.portfolio_governor` against the same scenario without one. The governor's factor
//! and weight reach the telemetry, the signal limits move as the factor says, every decision is
//! journalled as `portfolio_rebalance` / `portfolio_review` in a log `stage4 decision-log verify`
//! accepts, and two runs are byte-identical.

use std::path::Path;
use std::process::Command;

use stage4_engine::decision_log::Json;
use stage4_engine::telemetry::metrics::{LabelSet, MetricName};
use stage4_harness::scenario::plan;
use stage4_harness::scenario::report::{Finished, run_and_report};
use stage4_harness::scenario::runner::training_secrets;

/// Two schedules the governor knows. Every score is 0 with the default 5 bps cost, so a
/// decision gives the baseline distribution: minimums 0.1 + 0.4, the remaining 0.5 split by
/// the equal baselines → mr_core 0.35 (factor 0.35 / 0.5 = 0.7), vt_core 0.65 (factor 1.3).
const SCENARIO: &str = r#"
name = "governed"
description = "Mean reversion and volatility targeting under the portfolio governor."
seed = 7
as_of = "2026-11-28T00:00:00Z"
duration = "2h"

[engine]
GOVERNOR

[market]
venues = ["binance"]
symbols = ["BTC_USDT", "ETH_USDT"]
bar = "1m"
model = { kind = "gbm", vol = 0.0004 }

[[schedules]]
name = "mr_core"
strategy = { kind = "mean_reversion", lookback = 20, entry_zscore = 1.2, exit_zscore = 0.3, min_volume_usd = 0 }
cadence = "60s"
warmup_bars = 20

[[schedules]]
name = "vt_core"
strategy = { kind = "volatility_target", lookback = 30, rebalance_threshold = 0.05, target_volatility = 0.002, floor_volatility = 0.0002 }
cadence = "5m"
warmup_bars = 30
symbols = ["ETH_USDT"]

[[expect]]
decision_log = "verifies"
"#;

const GOVERNOR: &str = r#"portfolio_governor = { rebalance_interval_minutes = 30, strategies = { mr_core = { baseline_weight = 0.5, min_weight = 0.1, max_weight = 0.9, baseline_max_signals = 5, max_signal_factor = 1.5 }, vt_core = { baseline_weight = 0.5, min_weight = 0.4, max_weight = 0.9, baseline_max_signals = 3, max_signal_factor = 1.5 } } }"#;

fn scenario(governor: &str) -> String {
    SCENARIO.replace("GOVERNOR", governor)
}

fn run(governor: &str, out: Option<&Path>) -> Finished {
    let plan = plan::parse(Path::new("governed.toml"), &scenario(governor)).unwrap();
    let finished = run_and_report(&plan, None, out).unwrap();
    assert!(finished.passed(), "{}", finished.report.to_text());
    finished
}

/// The values of one run metric of one schedule, in run order.
fn series(f: &Finished, metric: &str, schedule: &str) -> Vec<f64> {
    let name = MetricName::namespaced(metric).unwrap();
    f.outcome
        .metrics
        .get(&name, &LabelSet::schedule(schedule))
        .map(|s| s.samples().iter().map(|x| x.value).collect())
        .unwrap_or_default()
}

fn portfolio_entries(log: &str) -> Vec<Json> {
    log.lines()
        .map(|l| Json::parse(l).unwrap())
        .filter(|e| {
            matches!(
                e.get("event").and_then(Json::as_str),
                Some("portfolio_rebalance" | "portfolio_review")
            )
        })
        .collect()
}

#[test]
fn the_governor_moves_factors_limits_and_the_journal() {
    let dir = tempfile::tempdir().unwrap();
    let governed = run(GOVERNOR, Some(dir.path()));
    let plain = run("", None);

    // (a) the governor's factor and weight reach the telemetry.
    let factor = series(&governed, "governor_signal_factor", "mr_core");
    let weight = series(&governed, "portfolio_weight", "mr_core");
    assert!(factor.len() > 60, "{} mr_core runs", factor.len());
    assert_eq!(
        factor[0], 1.0,
        "before the first decision: weight = baseline"
    );
    assert!(factor.iter().any(|f| (f - 0.7).abs() < 1e-9), "{factor:?}");
    assert!(weight.iter().all(|w| *w > 0.0));
    let vt_factor = series(&governed, "governor_signal_factor", "vt_core");
    assert!(
        vt_factor.iter().any(|f| (f - 1.3).abs() < 1e-9),
        "{vt_factor:?}"
    );
    for schedule in ["mr_core", "vt_core"] {
        assert!(
            series(&plain, "governor_signal_factor", schedule)
                .iter()
                .all(|f| *f == 1.0)
        );
        assert!(
            series(&plain, "portfolio_weight", schedule)
                .iter()
                .all(|w| *w == 0.0)
        );
    }

    // (b) the limit is the governor's base × factor (banker's rounding), not max_signals.
    for schedule in ["mr_core", "vt_core"] {
        let base = series(&governed, "base_max_signals", schedule);
        let factor = series(&governed, "governor_signal_factor", schedule);
        let active = series(&governed, "active_max_signals", schedule);
        let plain_active = series(&plain, "active_max_signals", schedule);
        assert_eq!(active.len(), factor.len());
        for ((b, f), a) in base.iter().zip(&factor).zip(&active) {
            assert_eq!(*a, (b * f).round_ties_even().max(1.0), "{schedule}");
        }
        assert!(plain_active.iter().all(|a| *a == 10.0), "{plain_active:?}");
        assert!(active.iter().all(|a| *a != 10.0), "{schedule}: {active:?}");
    }
    // mr_core: hint 5 at factor 1, then round(5 × 0.7 = 3.5) = 4; vt_core: round(3 × 1.3) = 4.
    let mr_active = series(&governed, "active_max_signals", "mr_core");
    assert_eq!(mr_active[0], 5.0);
    assert_eq!(*mr_active.last().unwrap(), 4.0);
    assert_eq!(
        *series(&governed, "active_max_signals", "vt_core")
            .last()
            .unwrap(),
        4.0
    );

    // The report's timeline shows the rebalance (reviews stay in the journal only).
    let text = governed.report.to_text();
    assert!(
        text.contains("portfolio rebalance: mr_core 35.0%, vt_core 65.0%"),
        "{text}"
    );
    assert_eq!(text.matches("portfolio rebalance").count(), 1, "{text}");
    assert!(!plain.report.to_text().contains("portfolio rebalance"));

    // (c) one journal entry per decision: a rebalance, then reviews every 30 minutes.
    let entries = portfolio_entries(&governed.outcome.decision_log);
    assert!(portfolio_entries(&plain.outcome.decision_log).is_empty());
    let kinds: Vec<&str> = entries
        .iter()
        .map(|e| e.get("event").and_then(Json::as_str).unwrap())
        .collect();
    assert!(kinds.len() >= 4, "{kinds:?}");
    assert_eq!(kinds[0], "portfolio_rebalance");
    assert!(
        kinds[1..].iter().all(|k| *k == "portfolio_review"),
        "{kinds:?}"
    );
    let first = &entries[0];
    let field = |e: &Json, k: &str| e.get(k).and_then(Json::as_str).unwrap().to_owned();
    assert_eq!(field(first, "risk_profile"), "portfolio");
    assert_eq!(field(first, "schedule"), "portfolio_governor");
    assert_eq!(field(first, "strategy"), "portfolio_governor");
    assert_eq!(field(first, "rebalance_required"), "1");
    assert_eq!(field(first, "adjustment_count"), "2");
    assert_eq!(
        field(first, "weights"),
        r#"{"mr_core":0.35,"vt_core":0.65}"#
    );
    assert!(field(first, "adjustments_json").contains(r#""previous_weight":0.5"#));
    assert!(field(first, "portfolio_value").parse::<f64>().unwrap() > 0.0);
    assert_eq!(field(&entries[1], "rebalance_required"), "0");
    assert!(entries[1].get("adjustments_json").is_none());

    // ... and the whole log verifies with the operators' tool.
    let key = training_secrets()
        .unwrap()
        .get("LIVE_DECISION_LOG_HMAC")
        .unwrap()
        .to_owned();
    let verify = Command::new(env!("CARGO_BIN_EXE_stage4"))
        .args(["decision-log", "verify"])
        .arg(dir.path().join("decision_log.jsonl"))
        .args(["--hmac-key-env", "GOVERNOR_TEST_KEY"])
        .env("GOVERNOR_TEST_KEY", key)
        .output()
        .unwrap();
    assert!(
        verify.status.success(),
        "{}{}",
        String::from_utf8_lossy(&verify.stdout),
        String::from_utf8_lossy(&verify.stderr)
    );

    // (d) the same run again: the same digest, the same log.
    let again = run(GOVERNOR, None);
    assert_eq!(governed.outcome.digest, again.outcome.digest);
    assert_eq!(governed.outcome.decision_log, again.outcome.decision_log);
    assert_ne!(governed.outcome.digest, plain.outcome.digest);
}

#[test]
fn scenario_governor_values_and_errors() {
    let parse = |line: &str| plan::parse(Path::new("governed.toml"), &scenario(line));
    // The reference table names the reference deployment's strategies; this scenario runs
    // others, so a governor waiting for all of them would never rebalance: refused.
    for shorthand in ["true", r#""reference""#, r#""stage6_core""#] {
        let err = parse(&format!("portfolio_governor = {shorthand}"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`engine.portfolio_governor.strategies`: configured for core_cross_exchange, core_daily_trend, core_mean_reversion, core_volatility_target, which no schedule runs"),
            "{shorthand}: {err}"
        );
        assert!(err.contains("require_complete_metrics = false"), "{err}");
    }
    // The same check for a table; switching the wait off accepts any strategy list.
    let err = parse(r#"portfolio_governor = { strategies = { mr_core = {}, ghost = {} } }"#)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("configured for ghost, which no schedule runs"),
        "{err}"
    );
    let relaxed = parse(
        r#"portfolio_governor = { require_complete_metrics = false, strategies = { ghost = {} } }"#,
    )
    .unwrap()
    .engine
    .governor
    .unwrap();
    assert!(relaxed.strategies.contains_key("ghost"));
    // The scenario's own strategies are accepted as configured.
    let own = parse(GOVERNOR).unwrap().engine.governor.unwrap();
    assert_eq!(own.strategies.len(), 2);
    assert_eq!(
        parse("portfolio_governor = false").unwrap().engine.governor,
        None
    );
    assert_eq!(parse("").unwrap().engine.governor, None);
    for (line, wanted) in [
        (
            "portfolio_governor = { smoothing = 2.0 }",
            "`engine.portfolio_governor.smoothing`: expected a factor in [0, 1], got 2",
        ),
        (
            "portfolio_governor = { strategies = { mr_core = { min_weight = 0.6, baseline_weight = 0.5 } } }",
            "`engine.portfolio_governor.strategies.mr_core`: expected min_weight ≤ baseline_weight ≤ max_weight, got 0.6 / 0.5 / 0.5",
        ),
        (
            "portfolio_governor = { rebalance = 5 }",
            "unknown field `rebalance`",
        ),
        (
            r#"portfolio_governor = "stage7""#,
            "unknown governor `stage7`",
        ),
    ] {
        let err = parse(line).unwrap_err().to_string();
        assert!(err.contains(wanted), "{line}: {err}");
        assert!(err.contains("engine.portfolio_governor"), "{line}: {err}");
    }
}
