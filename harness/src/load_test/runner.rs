//! Drives the scheduler through the iterations on a tokio runtime and measures them.
//!
//! The scheduler is a single worker, so a current-thread runtime is enough: each iteration is
//! one `Scheduler::run_once` of every schedule, run on the runtime's thread (CPU-bound, like
//! the reference's awaited `run_once`), and the task yields to the runtime between
//! iterations. Before each iteration the market moves one bar.
//!
//! - **Closed loop**: iterations back to back; latency = the iteration's run time.
//! - **Open loop** (`rate`): iteration k is intended to start at `t0 + k / rate`; when the
//!   previous one finished late, it starts at once — none is skipped — and its latency counts
//!   from the intended start. A stall therefore shows up in every iteration it delayed, not
//!   only in the one that stalled (coordinated omission corrected, as wrk2 does).
//!
//! Tokio's timer has millisecond granularity, so the wait sleeps on tokio until shortly
//! before the intended start and the last stretch on the OS timer; how late an iteration
//! still started is reported (`run.start_lag_max_ms`) because open-loop latency includes it.
//!
//! Only the `run_once` call is inside the timed window: advancing the market, dropping the
//! run records and events, and the progress bar happen outside it.

use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use indicatif::ProgressBar;
use stage4_engine::scheduler::{RunOutcome, RunRecord};

use super::LoadTestError;
use super::plan::{LoadTestPlan, Pacing};
use super::resources::{self, Usage};
use super::timing::{InsideClock, WallClockTimer};
use super::world::LoadWorld;

/// What the observer of a load test sees after each measured iteration.
#[derive(Debug)]
pub struct IterationView<'a> {
    /// 0-based index among the measured iterations.
    pub index: u32,
    /// The scheduler's records of this iteration, one per schedule.
    pub records: &'a [RunRecord],
    /// The iteration's latency (open loop: from its intended start).
    pub latency: Duration,
    /// Its run time (start to end of `run_once`).
    pub service: Duration,
    /// Time spent inside the simulated strategy latency.
    pub inside: Duration,
}

/// Called after every measured iteration.
pub type Observer<'a> = dyn FnMut(&IterationView<'_>) + 'a;

/// Raw measurements of the measured iterations.
#[derive(Debug)]
pub struct Measurements {
    /// Iteration latency, ns.
    pub latency: Histogram<u64>,
    /// Run time minus time inside the simulated latency, ns.
    pub overhead: Histogram<u64>,
    /// Per-schedule run latency as the scheduler measured it, ns.
    pub run_latency: Histogram<u64>,
    /// Exact sum, min and max of iteration latency, ns.
    pub latency_sum_ns: u128,
    /// Smallest iteration latency, ns.
    pub latency_min_ns: u64,
    /// Largest iteration latency, ns.
    pub latency_max_ns: u64,
    /// Largest schedule run latency, ns.
    pub run_latency_max_ns: u64,
    /// Measured iterations.
    pub iterations: u32,
    /// Signals in the run records of measured iterations.
    pub signals: u64,
    /// Schedule runs in measured iterations.
    pub runs: u64,
    /// Of which failed.
    pub failed_runs: u64,
    /// Iterations whose intended start had passed when the previous one finished.
    pub behind_schedule: u64,
    /// Largest start lag, ns.
    pub start_lag_max_ns: u64,
    /// Wall time of the measured iterations.
    pub wall: Duration,
    /// What the process used meanwhile.
    pub usage: Usage,
}

fn histogram() -> Histogram<u64> {
    // Three significant digits (0.1 % quantisation); auto-resizing, so no upper bound.
    Histogram::new(3).expect("3 significant digits is a valid histogram")
}

fn ns(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

impl Measurements {
    fn new() -> Measurements {
        Measurements {
            latency: histogram(),
            overhead: histogram(),
            run_latency: histogram(),
            latency_sum_ns: 0,
            latency_min_ns: u64::MAX,
            latency_max_ns: 0,
            run_latency_max_ns: 0,
            iterations: 0,
            signals: 0,
            runs: 0,
            failed_runs: 0,
            behind_schedule: 0,
            start_lag_max_ns: 0,
            wall: Duration::ZERO,
            usage: Usage::default(),
        }
    }

    fn record(&mut self, latency: Duration, overhead: Duration, records: &[RunRecord]) {
        let l = ns(latency);
        self.latency
            .record(l)
            .expect("auto-resizing histograms take any value");
        self.overhead
            .record(ns(overhead))
            .expect("auto-resizing histograms take any value");
        self.latency_sum_ns += u128::from(l);
        self.latency_min_ns = self.latency_min_ns.min(l);
        self.latency_max_ns = self.latency_max_ns.max(l);
        self.iterations += 1;
        for r in records {
            let run = r.latency.as_nanos();
            self.run_latency
                .record(run)
                .expect("auto-resizing histograms take any value");
            self.run_latency_max_ns = self.run_latency_max_ns.max(run);
            self.runs += 1;
            self.signals += r.signals().count() as u64;
            if matches!(r.outcome, RunOutcome::Failed { .. }) {
                self.failed_runs += 1;
            }
        }
    }
}

/// Waits until `at`: tokio's timer for the bulk, the OS timer for the last stretch.
async fn wait_until(at: Instant) {
    // Tokio rounds sleeps up to its 1 ms tick; stop it this far ahead of the target.
    const MARGIN: Duration = Duration::from_millis(2);
    let now = Instant::now();
    if at <= now {
        return;
    }
    if at - now > MARGIN {
        tokio::time::sleep_until((at - MARGIN).into()).await;
    }
    let now = Instant::now();
    if at > now {
        // Blocking is fine here: this task is the runtime's only work, and waking late
        // would be charged to the scheduler as open-loop latency.
        std::thread::sleep(at - now);
    }
}

/// Runs the plan's iterations on a current-thread tokio runtime.
pub fn execute(
    plan: &LoadTestPlan,
    world: &mut LoadWorld,
    inside: &InsideClock,
    observe: Option<&mut Observer<'_>>,
    progress: &ProgressBar,
) -> Result<Measurements, LoadTestError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .map_err(LoadTestError::Runtime)?;
    runtime.block_on(drive(plan, world, inside, observe, progress))
}

async fn drive(
    plan: &LoadTestPlan,
    world: &mut LoadWorld,
    inside: &InsideClock,
    mut observe: Option<&mut Observer<'_>>,
    progress: &ProgressBar,
) -> Result<Measurements, LoadTestError> {
    let total = plan.warmup + plan.iterations;
    let interval_ns = match plan.pacing {
        Pacing::ClosedLoop => None,
        Pacing::OpenLoop { rate_per_s } => Some(1e9 / rate_per_s),
    };
    let mut timer = WallClockTimer::new();
    let mut totals = Measurements::new();
    let t0 = Instant::now();
    let mut previous_end = t0;
    let mut measured_from: Option<(Instant, resources::UsageSample)> = None;

    for k in 0..total {
        world.advance_bar()?;
        // Computed from k, not accumulated, so rounding never drifts the schedule.
        let intended =
            interval_ns.map(|iv| t0 + Duration::from_nanos((iv * f64::from(k)).round() as u64));
        let measured = k >= plan.warmup;
        if k == plan.warmup {
            let before = resources::sample().map_err(LoadTestError::Resources)?;
            measured_from = Some((intended.unwrap_or_else(Instant::now), before));
        }
        if let Some(at) = intended {
            wait_until(at).await;
        }
        let behind = intended.is_some_and(|at| previous_end > at);
        let earliest = intended.map_or(previous_end, |at| at.max(previous_end));

        inside.take();
        let started = Instant::now();
        let records = world.run_once(&mut timer);
        let finished = Instant::now();
        let spent_inside = inside.take();
        previous_end = finished;

        if measured {
            let service = finished - started;
            let latency = finished - intended.unwrap_or(started);
            let overhead = service.saturating_sub(spent_inside);
            totals.record(latency, overhead, &records);
            if behind {
                totals.behind_schedule += 1;
            }
            totals.start_lag_max_ns = totals
                .start_lag_max_ns
                .max(ns(started.saturating_duration_since(earliest)));
            if let Some(f) = observe.as_deref_mut() {
                f(&IterationView {
                    index: k - plan.warmup,
                    records: &records,
                    latency,
                    service,
                    inside: spent_inside,
                });
            }
        }
        drop(records);
        world.discard_events();
        progress.inc(1);
        tokio::task::yield_now().await;
    }

    let after = resources::sample().map_err(LoadTestError::Resources)?;
    let (from, before) = measured_from.expect("iterations ≥ 1, so one was measured");
    let wall = previous_end.saturating_duration_since(from);
    totals.usage = resources::usage_between(before, after, wall, resources::cpu_count());
    totals.wall = wall;
    Ok(totals)
}
