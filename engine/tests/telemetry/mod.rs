//! Telemetry end to end through the public API: a scheduler-like loop records payloads,
//! the evaluator follows on simulated time, and the exports are deterministic.

use stage4_engine::domain::{SimDuration, SimTime};
use stage4_engine::telemetry::metrics::names;
use stage4_engine::telemetry::{
    AlertEvaluator, LabelSet, Level, MetricName, MetricsStore, RangeBoundary, RecordedRun,
    RuleGroup, RuleTestBuilder, TelemetryPayload, TelemetryProfile, ThresholdMetric,
    TransitionKind, evaluate, render_exposition, rules_file_yaml,
};

fn t0() -> SimTime {
    SimTime::parse_rfc3339("2026-11-28T09:00:00Z").unwrap()
}

/// Two hours of two schedules at a 15 s cadence: `core` has a latency incident from 20 to
/// 30 minutes, `arb` a secondary-venue delay from 40 to 47 minutes.
fn simulate(boundary: RangeBoundary) -> (MetricsStore, AlertEvaluator) {
    let mut store = MetricsStore::new();
    let mut ev = AlertEvaluator::new(RuleGroup::stage4(), boundary, t0()).unwrap();
    for step in 0..(2 * 60 * 4) {
        let now = t0() + SimDuration::from_secs(15 * step);
        let minute = step / 4;
        let latency = match minute {
            20..=24 => 280.0,
            25..=29 => 400.0,
            _ => 110.0 + (step % 5) as f64,
        };
        let core = TelemetryPayload::new()
            .with(names::SIGNALS, (step % 3) as f64)
            .with(names::LATENCY_MS, latency)
            .with(names::PNL_DRAWDOWN_PCT, -0.5);
        store.record_run("core", now, &core).unwrap();
        let delay = if (40..47).contains(&minute) {
            600.0
        } else {
            80.0
        };
        let arb = TelemetryPayload::new()
            .with(names::LATENCY_MS, 40.0)
            .with(names::SECONDARY_DELAY_MS, delay)
            .with(names::SPREAD_CAPTURE_BPS, 7.0);
        store.record_run("arb", now, &arb).unwrap();
        // The scheduler evaluates alerts after recording, like a Prometheus scraping it.
        ev.advance_to(&store, now).unwrap();
    }
    (store, ev)
}

fn minutes(at: SimTime) -> f64 {
    at.saturating_since(t0()).as_secs_f64() / 60.0
}

#[test]
fn incidents_fire_and_resolve_on_simulated_time() {
    let (_, ev) = simulate(RangeBoundary::Closed);
    let log: Vec<(f64, &str, &str, &str)> = ev
        .history()
        .iter()
        .map(|t| {
            (
                minutes(t.at),
                t.kind.as_str(),
                t.rule.as_str(),
                t.labels.get("schedule").unwrap(),
            )
        })
        .collect();
    let high = "MultiStrategySchedulerLatencyHigh";
    let crit = "MultiStrategySchedulerLatencyCritical";
    let delay = "MultiStrategySecondaryDelay";
    assert_eq!(
        log,
        [
            (20.0, "pending", high, "core"),
            (22.0, "firing", high, "core"),
            (25.0, "pending", crit, "core"),
            (26.0, "firing", crit, "core"),
            // Last slow run at 29:45; the 2m window [t−2m, t] still holds it at 31:45.
            (32.0, "resolved", high, "core"),
            // The 5m window still holds it at 34:45.
            (35.0, "resolved", crit, "core"),
            (40.0, "pending", delay, "arb"),
            (43.0, "firing", delay, "arb"),
            (52.0, "resolved", delay, "arb"),
        ]
    );
    assert!(ev.firing().is_empty());
    let t = &ev.history()[1];
    assert_eq!(t.kind, TransitionKind::Firing);
    assert_eq!(t.value, Some(280.0));
    assert_eq!(t.active_at, t0() + SimDuration::from_mins(20));
    assert_eq!(
        t.annotations.get("summary"),
        Some("Scheduler latency above 250 ms on core")
    );
}

#[test]
fn prometheus_3_windows_end_one_scrape_earlier() {
    let (_, closed) = simulate(RangeBoundary::Closed);
    let (_, open) = simulate(RangeBoundary::LeftOpen);
    let resolved = |ev: &AlertEvaluator| -> Vec<f64> {
        ev.history()
            .iter()
            .filter(|t| t.kind == TransitionKind::Resolved)
            .map(|t| minutes(t.at))
            .collect()
    };
    // On the 30 s grid from t0, no evaluation is exactly 2m / 5m after the last slow
    // sample (29:45, 46:45), so both semantics resolve at the same evaluations.
    assert_eq!(resolved(&closed), [32.0, 35.0, 52.0]);
    assert_eq!(resolved(&open), [32.0, 35.0, 52.0]);
    // Shift the grid by 15 s: evaluations now land exactly w after the last slow sample,
    // which is in a closed window and out of a left-open one.
    let (store, _) = simulate(RangeBoundary::Closed);
    let shifted = t0() + SimDuration::from_secs(15);
    let mut a = AlertEvaluator::new(RuleGroup::stage4(), RangeBoundary::Closed, shifted).unwrap();
    let mut b = AlertEvaluator::new(RuleGroup::stage4(), RangeBoundary::LeftOpen, shifted).unwrap();
    let end = t0() + SimDuration::from_hours(2);
    a.advance_to(&store, end).unwrap();
    b.advance_to(&store, end).unwrap();
    assert_eq!(resolved(&a), [32.25, 35.25, 52.25]);
    assert_eq!(resolved(&b), [31.75, 34.75, 51.75]);
}

#[test]
fn exposition_shows_the_latest_run() {
    let (store, _) = simulate(RangeBoundary::Closed);
    let text = render_exposition(&store);
    assert!(text.contains("bot_core_multi_strategy_latency_ms{schedule=\"arb\"} 40\n"));
    // Last step is 479: 110 + 479 % 5.
    assert!(text.contains("bot_core_multi_strategy_latency_ms{schedule=\"core\"} 114\n"));
    assert!(text.contains("# TYPE bot_core_multi_strategy_secondary_delay_ms gauge\n"));
    let latency = MetricName::namespaced(names::LATENCY_MS).unwrap();
    let last = store.latest(&latency, &LabelSet::schedule("core")).unwrap();
    assert_eq!(last.at, t0() + SimDuration::from_secs(15 * 479));
}

#[test]
fn thresholds_judge_the_same_numbers_the_rules_see() {
    use TelemetryProfile::*;
    // 280 ms: critical for every profile's loop latency, but only the HIGH rule (250) fires.
    assert_eq!(
        evaluate(Balanced, ThresholdMetric::LoopLatencyMs, 280.0),
        Some(Level::Critical)
    );
    assert_eq!(
        evaluate(Manual, ThresholdMetric::LoopLatencyMs, 280.0),
        None
    );
    // Spread capture 7 bps: fine for balanced (warning at 6), a warning for conservative (8).
    assert_eq!(
        evaluate(Balanced, ThresholdMetric::SpreadCaptureBps, 7.0),
        Some(Level::Ok)
    );
    assert_eq!(
        evaluate(Conservative, ThresholdMetric::SpreadCaptureBps, 7.0),
        Some(Level::Warning)
    );
}

#[test]
fn exports_are_byte_identical_across_runs() {
    let build = || {
        let (store, ev) = simulate(RangeBoundary::Closed);
        let scraped = store
            .scraped(
                t0(),
                SimDuration::from_secs(15),
                t0() + SimDuration::from_hours(2),
            )
            .unwrap();
        let mut b = RuleTestBuilder::new("rules.yml", &RuleGroup::stage4());
        b.add_run(RecordedRun::from_evaluator("two hours", &scraped, &ev).unwrap())
            .unwrap();
        (
            render_exposition(&store),
            rules_file_yaml(&RuleGroup::stage4()).unwrap(),
            b.to_yaml(),
        )
    };
    let first = build();
    assert_eq!(first, build());
    // Scraping on the cadence grid keeps every sample, so the file encodes the raw run.
    assert!(first.2.contains("interval: 15s"));
    assert!(first.2.contains(" 114 280+0x19 400+0x19 110 111 "));
}
