//! The world a load test runs in: the real multi-strategy [`Scheduler`] with real strategies,
//! reading a [`MarketBook`] fed bar by bar from the simulator's [`MarketGenerator`].
//!
//! Every schedule trades `BTC_USDT` and `ETH_USDT` on one-minute bars, so each run sees two
//! fresh snapshots, as the reference load test's static feed returned two. Before the first
//! iteration the book receives the longest warm-up any schedule asks for, and one untimed
//! priming `run_once` lets each schedule load that history (it ends at the latest bar, so the
//! priming run itself sees no new bar). [`LoadWorld::advance_bar`] then moves the market one
//! bar forward, so every iteration has new data, and [`LoadWorld::run_once`] is exactly one
//! `Scheduler::run_once` at the new bar's close.
//!
//! The market is deterministic for a seed; run times are whatever the [`RunTimer`] says (the
//! load test passes a wall clock, the bench too).

use stage4_engine::domain::{InstrumentSpec, MarketEvent, SimDuration, SimTime, Symbol, VenueId};
use stage4_engine::market_data::MarketBook;
use stage4_engine::ports::MarketFeed;
use stage4_engine::scheduler::{
    GovernorConfig, PolicyConfig, Rbac, RunRecord, RunTimer, ScheduleError, ScheduleSpec,
    Scheduler, SchedulerSettings, SimulatedCompute,
};
use stage4_engine::strategy::{ParamError, Strategy, StrategyConfig};
use stage4_sim::market::generator::MarketGenerator;
use stage4_sim::rng::SimRng;
use stage4_sim::{SimBuilder, SimConfig};

/// The bar every schedule consumes, and how far the market moves per iteration.
pub const BAR: SimDuration = SimDuration::from_mins(1);

/// The symbols every schedule trades (two snapshots per run, like the reference).
pub const SYMBOLS: [&str; 2] = ["BTC_USDT", "ETH_USDT"];

/// Base bars kept beyond the longest warm-up (slack for the bar being aggregated).
const BOOK_SLACK: usize = 4;

/// The first instant of the simulated market.
pub fn market_start() -> SimTime {
    SimTime::parse_rfc3339("2026-01-01T00:00:00Z").expect("valid constant")
}

/// The symbols as ids.
pub fn symbols() -> Vec<Symbol> {
    SYMBOLS
        .iter()
        .map(|s| Symbol::new(s).expect("valid constant"))
        .collect()
}

/// One schedule of a load test: what the scheduler is told, and the strategy it runs.
#[derive(Clone, Debug, PartialEq)]
pub struct LoadSchedule {
    /// The schedule.
    pub spec: ScheduleSpec,
    /// Its strategy and parameters.
    pub strategy: StrategyConfig,
}

/// The schedules of a load test and the scheduler-wide settings they run under.
#[derive(Clone, Debug, PartialEq)]
pub struct ScheduleSet {
    /// Schedules in registration order.
    pub schedules: Vec<LoadSchedule>,
    /// Capital policy and rebalance cooldown.
    pub capital: PolicyConfig,
    /// The portfolio governor the scheduler names, if any.
    pub governor: Option<GovernorConfig>,
}

impl ScheduleSet {
    /// The venues the schedules trade on, in first-use order (the market quotes all of them).
    pub fn venues(&self) -> Vec<VenueId> {
        let mut out: Vec<VenueId> = Vec::new();
        for s in &self.schedules {
            let market = &s.spec.market;
            for v in std::iter::once(market.venue).chain(market.secondary_venue) {
                if !out.contains(&v) {
                    out.push(v);
                }
            }
        }
        out
    }

    /// The longest warm-up any schedule asks for, in bars (at least 1).
    pub fn warmup_bars(&self) -> u32 {
        self.schedules
            .iter()
            .map(|s| s.spec.warmup_bars)
            .max()
            .unwrap_or(0)
            .max(1)
    }
}

/// Why a load-test world could not be built or moved on.
#[derive(Debug, thiserror::Error)]
pub enum WorldError {
    /// A schedule's strategy parameters are out of range.
    #[error("schedule `{schedule}`: {source}")]
    Strategy {
        /// The schedule.
        schedule: String,
        /// What is wrong.
        source: ParamError,
    },
    /// The scheduler refused the schedules.
    #[error(transparent)]
    Schedule(#[from] ScheduleError),
    /// The simulated market could not be configured.
    #[error("simulated market: {0}")]
    Market(String),
    /// More bars were asked for than the world was built with (a bug in the caller).
    #[error("the simulated market ended at {0}")]
    MarketExhausted(SimTime),
}

/// Wraps a schedule's strategy before the scheduler gets it (simulated latency, counters).
pub type StrategyWrapper<'a> =
    dyn FnMut(&ScheduleSpec, Box<dyn Strategy>) -> Box<dyn Strategy> + 'a;

/// The scheduler, its market book and the market generator behind it.
#[derive(Debug)]
pub struct LoadWorld {
    scheduler: Scheduler,
    book: MarketBook,
    market: MarketGenerator,
    pending: Option<MarketEvent>,
    now: SimTime,
    end: SimTime,
}

impl LoadWorld {
    /// Builds the world for `set` with a market of `seed` long enough for `bars` iterations
    /// after the warm-up, and feeds the warm-up bars. `wrap` sees every strategy once.
    pub fn new(
        set: &ScheduleSet,
        seed: u64,
        bars: u64,
        wrap: &mut StrategyWrapper<'_>,
    ) -> Result<LoadWorld, WorldError> {
        let warmup = u64::from(set.warmup_bars());
        let start = market_start();
        let duration = BAR
            .checked_mul(warmup + bars)
            .ok_or_else(|| WorldError::Market(format!("{bars} bars is too long a market")))?;
        let venues = set.venues();
        let symbols = symbols();
        let mut config = SimConfig::new(seed, start, duration, &venues, &symbols);
        config.bar_intervals = vec![BAR];
        let builder = SimBuilder::new(config).map_err(|e| WorldError::Market(e.to_string()))?;
        let plan = builder.market_plan();
        let specs: Vec<(VenueId, InstrumentSpec)> = venues
            .iter()
            .flat_map(|v| plan.symbols.iter().map(|s| (*v, s.spec.clone())))
            .collect();
        let market = MarketGenerator::new(plan, &SimRng::from_seed(seed));
        let book = MarketBook::new(specs, warmup as usize + BOOK_SLACK);

        let mut schedules = Vec::with_capacity(set.schedules.len());
        for s in &set.schedules {
            let strategy = s.strategy.build().map_err(|source| WorldError::Strategy {
                schedule: s.spec.name.clone(),
                source,
            })?;
            schedules.push((s.spec.clone(), wrap(&s.spec, strategy)));
        }
        let settings = SchedulerSettings {
            environment: "load_test".to_owned(),
            portfolio: "paper".to_owned(),
            capital: set.capital.clone(),
            governor: set.governor.clone(),
        };
        let scheduler = Scheduler::new(settings, schedules, Rbac::default())?;
        let mut world = LoadWorld {
            scheduler,
            book,
            market,
            pending: None,
            now: start,
            end: start + duration,
        };
        world.advance_to(start + BAR.checked_mul(warmup).expect("checked above"))?;
        // Priming run, untimed: each schedule loads its warm-up history (which ends at the
        // latest bar), so from the first iteration on every run gets exactly the new bar.
        drop(world.run_once(&mut SimulatedCompute::default()));
        world.discard_events();
        Ok(world)
    }

    /// The close of the latest bar in the book: the timestamp of the next run.
    pub fn now(&self) -> SimTime {
        self.now
    }

    /// The scheduler (for inspection).
    pub fn scheduler(&self) -> &Scheduler {
        &self.scheduler
    }

    /// Moves the market one bar forward; returns the new bar's close.
    pub fn advance_bar(&mut self) -> Result<SimTime, WorldError> {
        self.advance_to(self.now + BAR)?;
        Ok(self.now)
    }

    fn advance_to(&mut self, target: SimTime) -> Result<(), WorldError> {
        if target > self.end {
            return Err(WorldError::MarketExhausted(self.end));
        }
        while let Some(event) = self.pending.take().or_else(|| self.market.next_event()) {
            if event.at() > target {
                self.pending = Some(event);
                break;
            }
            self.book.apply(event.at(), &event);
        }
        self.now = target;
        Ok(())
    }

    /// One `run_once` of every schedule at the latest bar's close — the unit the load test
    /// times. Nothing else happens here.
    pub fn run_once(&mut self, timer: &mut dyn RunTimer) -> Vec<RunRecord> {
        self.scheduler.run_once(self.now, &mut self.book, timer)
    }

    /// Drops the scheduler's alerts and change events of the last runs. A load test has no
    /// decision log to write them to; without this they would pile up for the whole run.
    pub fn discard_events(&mut self) {
        drop(self.scheduler.drain_events());
        drop(self.scheduler.alerts_snapshot(true));
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use stage4_engine::strategy::{MarketSnapshot, Signal, StrategyError};

    use super::*;
    use crate::load_test::schedules::synthetic;

    /// Records the (schedule, symbol, bar time) of every strategy call.
    #[derive(Debug)]
    struct Calls {
        inner: Box<dyn Strategy>,
        schedule: String,
        log: Arc<Mutex<Vec<(String, Symbol, SimTime)>>>,
    }

    impl Strategy for Calls {
        fn kind(&self) -> &'static str {
            self.inner.kind()
        }
        fn warm_up(&mut self, history: &[MarketSnapshot]) {
            self.inner.warm_up(history);
        }
        fn on_data(
            &mut self,
            s: &MarketSnapshot,
            out: &mut Vec<Signal>,
        ) -> Result<(), StrategyError> {
            self.log
                .lock()
                .unwrap()
                .push((self.schedule.clone(), s.symbol, s.at));
            self.inner.on_data(s, out)
        }
    }

    fn signals_of(seed: u64, iterations: u64) -> Vec<String> {
        let mut world = LoadWorld::new(&synthetic(3, 4), seed, iterations, &mut |_, s| s).unwrap();
        let mut timer = SimulatedCompute::default();
        let mut out = Vec::new();
        for _ in 0..iterations {
            world.advance_bar().unwrap();
            for r in world.run_once(&mut timer) {
                out.extend(r.signals().map(|s| {
                    format!(
                        "{} {} {:?} {}",
                        r.schedule(),
                        s.symbol,
                        s.side,
                        s.confidence
                    )
                }));
            }
            world.discard_events();
        }
        out
    }

    #[test]
    fn every_run_sees_one_fresh_bar_per_symbol() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut wrap = |spec: &ScheduleSpec, inner: Box<dyn Strategy>| -> Box<dyn Strategy> {
            Box::new(Calls {
                inner,
                schedule: spec.name.clone(),
                log: log.clone(),
            })
        };
        let mut world = LoadWorld::new(&synthetic(3, 4), 7, 5, &mut wrap).unwrap();
        let warm = market_start() + BAR.checked_mul(30).unwrap();
        assert_eq!(
            world.now(),
            warm,
            "30 warm-up bars fed before the first iteration"
        );
        let mut timer = SimulatedCompute::default();
        for k in 1..=5u64 {
            let now = world.advance_bar().unwrap();
            assert_eq!(now, warm + BAR.checked_mul(k).unwrap());
            let records = world.run_once(&mut timer);
            assert_eq!(records.len(), 3);
            let calls = std::mem::take(&mut *log.lock().unwrap());
            for schedule in ["schedule_0", "schedule_1", "schedule_2"] {
                let mine: Vec<_> = calls
                    .iter()
                    .filter(|c| c.0 == schedule)
                    .map(|c| (c.1.as_str().to_owned(), c.2))
                    .collect();
                assert_eq!(
                    mine,
                    [("BTC_USDT".to_owned(), now), ("ETH_USDT".to_owned(), now)],
                    "{schedule} at iteration {k}"
                );
            }
        }
        assert!(matches!(
            world.advance_bar(),
            Err(WorldError::MarketExhausted(_))
        ));
    }

    #[test]
    fn the_market_and_the_signals_follow_the_seed() {
        let a = signals_of(7, 60);
        assert!(!a.is_empty(), "the synthetic strategies trade");
        assert_eq!(a, signals_of(7, 60));
        assert_ne!(a, signals_of(8, 60));
        for kind in ["schedule_0", "schedule_1", "schedule_2"] {
            assert!(
                a.iter().any(|s| s.starts_with(kind)),
                "{kind} never traded: {a:?}"
            );
        }
    }
}
