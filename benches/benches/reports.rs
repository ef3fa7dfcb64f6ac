//! Report rendering costs: the failing workshop fixture to every view, an HTML report whose
//! latency series are long enough that thinning dominates (3 schedules × 3 days at 1 s = 777 600
//! points), and merging the 16 shards of a 10 000-seed sweep.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use stage4_reports::render::html;
use stage4_reports::scenario::{LatencySeries, Point, ScenarioReport};
use stage4_reports::sweep::{SeedRange, Shard, SweepReport, SweepRun, merge};

const FAIL_FIXTURE: &str = include_str!("../../reports/tests/fixtures/scenario_fail.json");

fn fixture() -> ScenarioReport {
    serde_json::from_str(FAIL_FIXTURE).expect("fixture parses")
}

fn long_report() -> ScenarioReport {
    let mut report = fixture();
    report.duration = "72h".into();
    report.charts.latency = (0..3)
        .map(|s| LatencySeries {
            schedule: format!("schedule_{s}"),
            points: (0..72 * 3600)
                .map(|t| {
                    let spike = (t + s * 5000) % 20_000 < 300;
                    Point::new(t as f64, if spike { 340.0 } else { 90.0 + (t % 13) as f64 })
                })
                .collect(),
        })
        .collect();
    report
}

fn shards() -> Vec<SweepReport> {
    let seeds = SeedRange::new(1, 10_000).expect("range");
    (1..=16)
        .map(|i| {
            let shard = Shard::new(i, 16).expect("shard");
            let runs = seeds
                .shard_seeds(shard)
                .map(|seed| SweepRun {
                    seed,
                    digest: format!("{seed:064x}"),
                    verdict: stage4_reports::scenario::Verdict::from_passed(seed % 7 != 0),
                    failed: if seed % 7 == 0 {
                        vec!["no orders between 55m and 1h35m".into()]
                    } else {
                        vec![]
                    },
                })
                .collect();
            SweepReport::new("workshop_exercise", seeds, Some(shard), runs)
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let report = fixture();
    c.bench_function("reports/workshop_fixture_all_files", |b| {
        b.iter(|| black_box(report.rendered_files()))
    });
    let long = long_report();
    c.bench_function("reports/html_777k_latency_points", |b| {
        b.iter(|| {
            let mut out = String::new();
            html::scenario(black_box(&long), &mut out).expect("render");
            black_box(out.len())
        })
    });
    let parts = shards();
    c.bench_function("reports/merge_16_shards_10k_seeds", |b| {
        b.iter(|| black_box(merge(parts.clone()).expect("merge")))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
