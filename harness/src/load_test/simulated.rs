//! The load test in simulated time, for scenarios.
//!
//! A scenario must be byte-identical on every run, so inside a scenario the load test cannot read
//! the wall clock. It runs the same world as `stage4 scheduler load-test` (the real scheduler and
//! strategies over the seeded market, one fresh bar per iteration) but times every run with the
//! deterministic [`SimulatedCompute`] model: the configured strategy latency for each of the
//! [`SYMBOLS`] snapshots a run evaluates, plus 50 µs per emitted signal. An iteration takes the sum
//! of its runs (one worker, as in the reference). The verdict applies the latency and
//! failed-run criteria of [`stage4_reports::load_test::judge`]; process CPU and memory are not
//! part of a simulation and are reported as not measured, never as `ok`.

use stage4_engine::domain::SimDuration;
use stage4_engine::scheduler::{RunOutcome, SimulatedCompute};
use stage4_reports::load_test::{Verdict, judge};

use super::world::{LoadWorld, SYMBOLS, ScheduleSet, WorldError};

/// What a simulated load test measured.
#[derive(Clone, Debug, PartialEq)]
pub struct SimulatedLoadTest {
    /// Measured iterations.
    pub iterations: u32,
    /// Schedules registered.
    pub schedules: u32,
    /// Simulated duration of each iteration, in order.
    pub iteration_latencies: Vec<SimDuration>,
    /// Signals the scheduler emitted, counted from the run records.
    pub signals_emitted: u64,
    /// Runs that ended `Failed`.
    pub failed_runs: u64,
}

impl SimulatedLoadTest {
    /// Mean iteration latency, ms, rounded to 4 decimals as the reference reports it.
    pub fn avg_latency_ms(&self) -> f64 {
        let total: f64 = self
            .iteration_latencies
            .iter()
            .map(|d| d.as_millis_f64())
            .sum();
        (total / self.iteration_latencies.len().max(1) as f64 * 1e4).round() / 1e4
    }

    /// Longest iteration, ms.
    pub fn max_latency_ms(&self) -> f64 {
        self.iteration_latencies
            .iter()
            .max()
            .map_or(0.0, |d| d.as_millis_f64())
    }

    /// Longest minus shortest iteration, ms (the reference's jitter).
    pub fn jitter_ms(&self) -> f64 {
        let min = self.iteration_latencies.iter().min();
        let max = self.iteration_latencies.iter().max();
        match (min, max) {
            (Some(min), Some(max)) => max.saturating_sub(*min).as_millis_f64(),
            _ => 0.0,
        }
    }

    /// The `q`-quantile (0 < q ≤ 1) of iteration latency by the nearest-rank rule, ms.
    pub fn percentile_ms(&self, q: f64) -> f64 {
        let mut sorted = self.iteration_latencies.clone();
        sorted.sort_unstable();
        if sorted.is_empty() {
            return 0.0;
        }
        let rank = (q * sorted.len() as f64).ceil().max(1.0) as usize;
        sorted[rank.min(sorted.len()) - 1].as_millis_f64()
    }

    /// The load-test verdict rule ([`judge`]) without the resource criteria: `true` when p99
    /// is under the 250 ms criterion and no run failed.
    pub fn passed(&self) -> bool {
        judge(self.percentile_ms(0.99), None, self.failed_runs).0 == Verdict::Pass
    }
}

/// Runs `iterations` iterations of `set` over the market of `seed`, each strategy call costing
/// `per_call` of simulated time.
pub fn run(
    set: &ScheduleSet,
    seed: u64,
    iterations: u32,
    per_call: SimDuration,
) -> Result<SimulatedLoadTest, WorldError> {
    let per_run = per_call
        .checked_mul(SYMBOLS.len() as u64)
        .unwrap_or(SimDuration::MAX);
    let mut timer = SimulatedCompute::new(per_run, SimDuration::from_micros(50));
    let mut world = LoadWorld::new(set, seed, u64::from(iterations), &mut |_, s| s)?;
    let mut out = SimulatedLoadTest {
        iterations,
        schedules: set.schedules.len() as u32,
        iteration_latencies: Vec::with_capacity(iterations as usize),
        signals_emitted: 0,
        failed_runs: 0,
    };
    for _ in 0..iterations {
        world.advance_bar()?;
        let records = world.run_once(&mut timer);
        let mut took = SimDuration::ZERO;
        for r in &records {
            took = took + r.latency;
            out.signals_emitted += r.signals().count() as u64;
            out.failed_runs += u64::from(matches!(r.outcome, RunOutcome::Failed { .. }));
        }
        out.iteration_latencies.push(took);
        world.discard_events();
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load_test::schedules;

    #[test]
    fn same_seed_same_numbers_and_latency_follows_the_model() {
        let set = schedules::synthetic(3, 4);
        let a = run(&set, 7, 20, SimDuration::from_millis(2)).unwrap();
        let b = run(&set, 7, 20, SimDuration::from_millis(2)).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.iteration_latencies.len(), 20);
        // 3 runs × 2 snapshots × 2 ms, plus 50 µs per signal.
        let floor = SimDuration::from_millis(12);
        assert!(a.iteration_latencies.iter().all(|d| *d >= floor));
        let signal_time: f64 = a.signals_emitted as f64 * 0.05;
        let total: f64 = a
            .iteration_latencies
            .iter()
            .map(|d| d.as_millis_f64())
            .sum();
        assert!((total - (20.0 * 12.0 + signal_time)).abs() < 1e-6);
        assert!(a.passed());
    }

    #[test]
    fn slow_strategies_fail_the_latency_criterion() {
        let set = schedules::synthetic(3, 4);
        let slow = run(&set, 7, 10, SimDuration::from_millis(50)).unwrap();
        assert!(slow.percentile_ms(0.99) >= 300.0);
        assert!(!slow.passed());
    }

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let t = SimulatedLoadTest {
            iterations: 4,
            schedules: 1,
            iteration_latencies: [4, 1, 3, 2].map(SimDuration::from_millis).to_vec(),
            signals_emitted: 0,
            failed_runs: 0,
        };
        assert_eq!(t.percentile_ms(0.5), 2.0);
        assert_eq!(t.percentile_ms(0.95), 4.0);
        assert_eq!(t.max_latency_ms(), 4.0);
        assert_eq!(t.jitter_ms(), 3.0);
        assert_eq!(t.avg_latency_ms(), 2.5);
    }
}
