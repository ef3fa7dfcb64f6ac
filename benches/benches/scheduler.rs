//! One scheduler cycle: `Scheduler::run_once` over 3, 100 and 1 000 synthetic schedules (the
//! load test's: mean reversion, volatility targeting and arbitrage in turn, two symbols each),
//! real strategies on a warm `MarketBook`, no simulated latency, runs timed by the load test's
//! wall-clock `RunTimer`.
//!
//! Each iteration first moves the market one bar (so every run has a fresh bar), **outside**
//! the timed window; only `run_once` is timed. Criterion reports the mean with its confidence
//! interval. Criterion gives no percentiles, so after each size a separate loop of
//! [`TAIL_ITERATIONS`] cycles on the same warm world records every cycle in an HdrHistogram
//! and prints p50 / p99 / max; those numbers are from that loop, not from criterion's samples.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use hdrhistogram::Histogram;
use stage4_harness::load_test::schedules::synthetic;
use stage4_harness::load_test::timing::WallClockTimer;
use stage4_harness::load_test::world::LoadWorld;

/// Bars of market to build: more cycles than criterion and the percentile loop run at 3
/// schedules in a few seconds.
const MARKET_BARS: u64 = 20_000_000;

/// Cycles in the percentile loop, per size (about half a second each): a p99 rests on the
/// slowest 1 % of these, so at 100 schedules on 200 cycles, and one burst of host noise moves
/// it less than it did on the 50 of a 5 000-cycle loop.
const TAIL_ITERATIONS: [(u32, u32); 3] = [(3, 200_000), (100, 20_000), (1_000, 2_000)];

fn world(schedules: u32) -> LoadWorld {
    LoadWorld::new(&synthetic(schedules, 4), 7, MARKET_BARS, &mut |_, s| s)
        .expect("the synthetic schedules are valid")
}

/// One timed cycle: the market moves one bar untimed, then `run_once` is timed.
#[allow(
    clippy::disallowed_methods,
    reason = "a benchmark's own measurement loop reads the wall clock; nothing here feeds a simulation"
)]
fn timed_cycle(world: &mut LoadWorld, timer: &mut WallClockTimer) -> Duration {
    world.advance_bar().expect("the market is long enough");
    let start = Instant::now();
    let records = world.run_once(timer);
    let spent = start.elapsed();
    black_box(&records);
    drop(records);
    world.discard_events();
    spent
}

#[allow(
    clippy::print_stdout,
    reason = "the percentiles are this bench's output"
)]
fn print_tail(schedules: u32, cycles: u32, world: &mut LoadWorld) {
    let mut timer = WallClockTimer::new();
    let mut h = Histogram::<u64>::new(3).expect("valid precision");
    for _ in 0..cycles {
        let ns = u64::try_from(timed_cycle(world, &mut timer).as_nanos()).unwrap_or(u64::MAX);
        h.record(ns).expect("auto-resizing histogram");
    }
    let us = |q: f64| h.value_at_quantile(q) as f64 / 1e3;
    println!(
        "scheduler_run_once/{schedules}: percentile loop of {cycles} cycles: mean {:.2} µs  p50 {:.2} µs  p99 {:.2} µs  max {:.2} µs",
        h.mean() / 1e3,
        us(0.5),
        us(0.99),
        h.max() as f64 / 1e3
    );
}

fn scheduler_run_once(c: &mut Criterion) {
    let mut group = c.benchmark_group("scheduler_run_once");
    for (schedules, tail) in TAIL_ITERATIONS {
        let mut w = world(schedules);
        group.throughput(Throughput::Elements(u64::from(schedules)));
        group.bench_function(BenchmarkId::from_parameter(schedules), |b| {
            let mut timer = WallClockTimer::new();
            b.iter_custom(|iters| {
                (0..iters)
                    .map(|_| timed_cycle(&mut w, &mut timer))
                    .sum::<Duration>()
            });
        });
        print_tail(schedules, tail, &mut w);
    }
    group.finish();
}

criterion_group!(benches, scheduler_run_once);
criterion_main!(benches);
