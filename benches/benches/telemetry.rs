//! Telemetry costs on a scenario-sized run: recording payloads, evaluating the five alert
//! rules on the 30 s grid, and rendering the exposition and the promtool test file.
//!
//! The run: 6 hours of simulated time, 10 schedules at a 15 s cadence, 8 metrics per run
//! (1440 runs per schedule, 115 200 samples), with a latency incident on every schedule.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use stage4_engine::domain::{SimDuration, SimTime};
use stage4_engine::telemetry::metrics::names;
use stage4_engine::telemetry::{
    AlertEvaluator, MetricsStore, RangeBoundary, RecordedRun, RuleGroup, RuleTestBuilder,
    TelemetryPayload, render_exposition,
};

const SCHEDULES: usize = 10;
const STEPS: u64 = 6 * 60 * 4;

fn t0() -> SimTime {
    SimTime::parse_rfc3339("2026-11-28T09:00:00Z").unwrap()
}

fn payload(step: u64, schedule: usize) -> TelemetryPayload {
    let slow = (200..260).contains(&((step + 37 * schedule as u64) % 720));
    TelemetryPayload::new()
        .with(names::SIGNALS, (step % 5) as f64)
        .with(
            names::LATENCY_MS,
            if slow {
                340.0
            } else {
                90.0 + (step % 7) as f64
            },
        )
        .with(names::DRIFT_SECONDS, 0.1)
        .with(names::AVG_CONFIDENCE, 0.7)
        .with(names::ALLOCATION_ERROR_PCT, 8.0 + (step % 11) as f64)
        .with(names::SECONDARY_DELAY_MS, 120.0)
        .with(names::SPREAD_CAPTURE_BPS, 7.0)
        .with(names::PNL_DRAWDOWN_PCT, -1.0)
}

/// Records the run and evaluates alerts after every step, as the scenario runner would.
fn run() -> (MetricsStore, AlertEvaluator) {
    let names: Vec<String> = (0..SCHEDULES).map(|i| format!("schedule_{i:02}")).collect();
    let mut store = MetricsStore::new();
    let mut ev = AlertEvaluator::new(RuleGroup::stage4(), RangeBoundary::Closed, t0()).unwrap();
    for step in 0..STEPS {
        let now = t0() + SimDuration::from_secs(15 * step);
        for (i, name) in names.iter().enumerate() {
            store.record_run(name, now, &payload(step, i)).unwrap();
        }
        ev.advance_to(&store, now).unwrap();
    }
    (store, ev)
}

fn bench(c: &mut Criterion) {
    let (store, ev) = run();
    assert!(
        ev.history().len() >= 4 * SCHEDULES,
        "the incidents must produce transitions"
    );
    let mut g = c.benchmark_group("telemetry");
    g.sample_size(10);
    g.bench_function("record_and_evaluate_6h_10_schedules", |b| {
        b.iter(|| black_box(run()))
    });
    g.bench_function("exposition_80_series", |b| {
        b.iter(|| black_box(render_exposition(&store)))
    });
    g.bench_function("promtool_test_file_6h_10_schedules", |b| {
        b.iter(|| {
            let mut builder = RuleTestBuilder::new("rules.yml", &RuleGroup::stage4());
            builder
                .add_run(RecordedRun::from_evaluator("bench", &store, &ev).unwrap())
                .unwrap();
            black_box(builder.to_yaml())
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
