//! `stage4 scheduler load-test` as a library: run the real multi-strategy scheduler with real
//! strategies on a simulated market, on a tokio runtime, time it on the wall clock, sample the
//! process's resources, and judge the result.
//!
//! - [`plan`]: [`LoadTestPlan`], the validated parameters (reference defaults, flag names in
//!   errors).
//! - [`schedules`]: synthetic schedules, or the schedules of a `core.yaml` scheduler.
//! - [`world`]: [`world::LoadWorld`], the scheduler + market book + market generator (also used
//!   by the `scheduler` criterion bench).
//! - [`timing`]: the wall-clock run timer and the simulated strategy latency.
//! - [`runner`]: closed and open loop on tokio, HdrHistogram measurements.
//! - [`resources`]: CPU and peak RSS from `getrusage`.
//! - [`report`]: building the report, JSON and the terminal summary.
//! - [`simulated`]: the same world timed in simulated time, for scenarios (deterministic).
//!
//! Start with [`run`] (plan in, report out; the caller decides where to write it), or
//! [`LoadTest`] to wrap strategies, observe iterations or show progress.

pub mod plan;
pub mod report;
pub mod resources;
pub mod runner;
pub mod schedules;
pub mod simulated;
pub mod timing;
pub mod world;

use indicatif::ProgressBar;
use stage4_engine::scheduler::ScheduleSpec;
use stage4_engine::strategy::Strategy;
use stage4_reports::load_test::LoadTestReport;

pub use plan::{LoadTestPlan, Pacing, PlanError, ScheduleSource};
pub use runner::{IterationView, Observer};
pub use world::{LoadSchedule, ScheduleSet, StrategyWrapper, WorldError};

use timing::{InsideClock, SimulatedStrategyLatency};

/// Why a load test could not run. The CLI exits 2 on any of these.
#[derive(Debug, thiserror::Error)]
pub enum LoadTestError {
    /// A parameter is out of range.
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// The scheduler or the simulated market refused the setup.
    #[error(transparent)]
    World(#[from] WorldError),
    /// The tokio runtime could not start.
    #[error("cannot start the tokio runtime: {0}")]
    Runtime(std::io::Error),
    /// The process's resource counters could not be read.
    #[error("cannot read the process's resource usage: {0:#}")]
    Resources(anyhow::Error),
}

/// A load test ready to run, with optional hooks.
pub struct LoadTest<'a> {
    plan: LoadTestPlan,
    wrap: Option<Box<StrategyWrapper<'a>>>,
    observe: Option<Box<Observer<'a>>>,
    progress: ProgressBar,
}

impl std::fmt::Debug for LoadTest<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadTest")
            .field("plan", &self.plan)
            .field("wraps_strategies", &self.wrap.is_some())
            .field("observed", &self.observe.is_some())
            .finish_non_exhaustive()
    }
}

impl<'a> LoadTest<'a> {
    /// Validates `plan`.
    pub fn new(plan: LoadTestPlan) -> Result<LoadTest<'a>, LoadTestError> {
        plan.validate()?;
        Ok(LoadTest {
            plan,
            wrap: None,
            observe: None,
            progress: ProgressBar::hidden(),
        })
    }

    /// Wraps every strategy before the simulated latency is added around it (counters,
    /// injected stalls in tests).
    pub fn wrap_strategies(
        mut self,
        wrap: impl FnMut(&ScheduleSpec, Box<dyn Strategy>) -> Box<dyn Strategy> + 'a,
    ) -> LoadTest<'a> {
        self.wrap = Some(Box::new(wrap));
        self
    }

    /// Calls `observe` after every measured iteration with its run records and timings.
    pub fn observe(mut self, observe: impl FnMut(&IterationView<'_>) + 'a) -> LoadTest<'a> {
        self.observe = Some(Box::new(observe));
        self
    }

    /// Advances `bar` by one per iteration (warm-up included); its length is set here.
    pub fn progress(mut self, bar: ProgressBar) -> LoadTest<'a> {
        self.progress = bar;
        self
    }

    /// Builds the world, runs every iteration and returns the report.
    pub fn run(mut self) -> Result<LoadTestReport, LoadTestError> {
        let plan = &self.plan;
        let inside = InsideClock::new();
        let latency = plan.simulated_latency;
        let mut user_wrap = self.wrap.take();
        let mut wrap = |spec: &ScheduleSpec, strategy: Box<dyn Strategy>| -> Box<dyn Strategy> {
            let strategy = match user_wrap.as_mut() {
                Some(w) => w(spec, strategy),
                None => strategy,
            };
            Box::new(SimulatedStrategyLatency::new(
                strategy,
                latency,
                inside.clone(),
            ))
        };
        let total = u64::from(plan.warmup) + u64::from(plan.iterations);
        let mut world = world::LoadWorld::new(&plan.schedules, plan.seed, total, &mut wrap)?;
        self.progress.set_length(total);
        let measurements = runner::execute(
            plan,
            &mut world,
            &inside,
            self.observe.as_deref_mut(),
            &self.progress,
        );
        self.progress.finish_and_clear();
        Ok(report::build(plan, &measurements?, now_rfc3339()))
    }
}

/// Runs `plan` and returns its report (nothing is written; the caller decides where).
pub fn run(plan: &LoadTestPlan) -> Result<LoadTestReport, LoadTestError> {
    LoadTest::new(plan.clone())?.run()
}

/// The wall-clock time now, RFC 3339 UTC with milliseconds.
fn now_rfc3339() -> String {
    let now = time::OffsetDateTime::now_utc();
    let now = now
        .replace_nanosecond(now.nanosecond() / 1_000_000 * 1_000_000)
        .expect("a whole millisecond is a valid nanosecond value");
    now.format(&time::format_description::well_known::Rfc3339)
        .expect("RFC 3339 formats every UTC time after 1970")
}
