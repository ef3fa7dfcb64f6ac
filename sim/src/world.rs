//! The world: market source, exchanges, latency, faults and the event queue behind one
//! step function.
//!
//! # Driving a run
//! ```
//! use stage4_engine::domain::{SimDuration, SimTime, Symbol, VenueId};
//! use stage4_sim::{Delivered, SimBuilder, SimConfig};
//!
//! let config = SimConfig::new(
//!     7,
//!     SimTime::parse_rfc3339("2026-01-01T00:00:00Z").unwrap(),
//!     SimDuration::from_mins(10),
//!     &[VenueId::new("binance").unwrap()],
//!     &[Symbol::new("BTC_USDT").unwrap()],
//! );
//! let mut sim = SimBuilder::new(config).unwrap().build();
//! let mut bars = 0;
//! while let Some(delivery) = sim.step() {
//!     if let Delivered::Market(stage4_engine::domain::MarketEvent::Bar(_)) = delivery.item {
//!         bars += 1;
//!     }
//! }
//! assert_eq!(bars, 10);
//! println!("digest {}", sim.digest_hex());
//! ```
//!
//! # Contract for drivers
//! - [`Sim::step`] processes queued events in `(time, priority, sequence)` order until one
//!   produces a [`Delivery`] (market data, an execution report or a timer), and returns it;
//!   `None` once nothing is left. [`Sim::step_until`] does the same but never goes past a
//!   time limit, for drivers with their own timers.
//! - Between two deliveries the driver may submit orders and cancels through the engine's
//!   [`Venue`] port, at any time from the last delivery up to [`Sim::next_time`]: the sim
//!   refuses (panics on) a submission dated before its clock or after an event it has not
//!   yet processed, since either would let the driver see the future or rewrite the past.
//! - Reports are never returned by `submit`/`cancel` directly: they travel back through the
//!   queue after the venue's latency.
//! - Feeds are FIFO per venue: market data and reports of one venue never overtake each
//!   other, whatever the latency draws (`delivery = max(now + latency, last delivery)`).

use stage4_engine::domain::{
    AccountId, CancelRequest, ExecKind, ExecReport, InstrumentSpec, MarketEvent, OrderRequest,
    Quote, RejectReason, SimDuration, SimTime, VenueId, VenueStatus,
};
use std::collections::VecDeque;

use stage4_engine::ports::Venue;

use serde::Serialize;

use crate::clock::SimClock;
use crate::config::{SimConfig, VenueConfig};
use crate::error::ConfigError;
use crate::exchange::latency::LatencySampler;
use crate::exchange::ledger::is_reserved;
use crate::exchange::{BookShape, Exchange, report};
use crate::faults::{Fault, FaultKind, Operation, VenueFaults, skewed};
use crate::market::generator::MarketGenerator;
use crate::market::instruments::{default_spec, defaults_for};
use crate::market::process::PriceModel;
use crate::market::replay::ReplayFeed;
use crate::market::{MarketPlan, MarketSource, MarketSymbol, MarketVenue};
use crate::queue::{EventQueue, Priority};
use crate::rng::SimRng;
use crate::trace::{Trace, TraceCounts};

fn invalid(field: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError::invalid(field, message)
}

/// Something the world hands to the driver.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivered {
    /// Market data from a venue.
    Market(MarketEvent),
    /// An execution report for one of the driver's orders.
    Report(ExecReport),
    /// A timer the driver set with [`Sim::set_timer`].
    Timer(u64),
}

/// One delivery and the sim time it reaches the driver.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Delivery {
    /// Delivery time (venue timestamps inside may be earlier, or skewed).
    pub at: SimTime,
    /// What arrived.
    pub item: Delivered,
}

/// Run statistics beyond the trace counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SimStats {
    /// Queue events processed (internal and delivered).
    pub events_processed: u64,
    /// Market events read from the source.
    pub market_events: u64,
    /// Quotes and bars not published because their venue was down.
    pub suppressed_by_outage: u64,
    /// Quotes and bars dropped by a gapped-feed fault.
    pub dropped_by_gap: u64,
    /// Quotes and bars replaced by frozen copies during a stale-feed fault.
    pub stale_repeats: u64,
    /// Largest number of events pending at once.
    pub peak_queue: u64,
}

/// What the queue schedules. Payloads in flight wait in per-venue FIFOs ("pipes") and the
/// queue only says which pipe to pop: every pipe is FIFO by construction (arrival and
/// delivery times are `max(now + latency, last)` per venue, ties keep push order), so this is
/// the same order as queueing the payloads themselves, without moving 100–200-byte values
/// through the heap.
#[derive(Clone, Copy, Debug)]
enum Event {
    FaultStart(usize),
    FaultEnd(usize),
    /// Head of venue `i`'s order-entry pipe reaches its matching engine.
    Entry(usize),
    MarketUpdate,
    /// Head of venue `i`'s market-data pipe reaches the driver.
    DeliverMarket(usize),
    /// Head of report pipe `i` reaches the driver (`i == venues.len()`: the gateway's pipe of
    /// rejects for unknown venues).
    DeliverReport(usize),
    Timer(u64),
}

/// A request travelling to a matching engine.
#[derive(Clone, Copy, Debug)]
enum Entry {
    Order(OrderRequest),
    Cancel(CancelRequest),
}

/// One account's starting balances on one venue, validated.
type StartingBalances = (
    AccountId,
    VenueId,
    Vec<(stage4_engine::domain::Asset, stage4_engine::domain::Amount)>,
);

/// The validated, resolved plan of a run. Building a [`Sim`] from it is infallible and may be
/// repeated (each build is a fresh run from the same inputs).
#[derive(Clone, Debug)]
pub struct SimBuilder {
    seed: u64,
    market: MarketPlan,
    venues: Vec<VenueConfig>,
    accounts: Vec<StartingBalances>,
    faults: Vec<Fault>,
    replay: Option<Vec<stage4_engine::domain::Bar>>,
}

impl SimBuilder {
    /// Validates `config` and resolves its defaults. The error names the first bad field.
    pub fn new(config: SimConfig) -> Result<SimBuilder, ConfigError> {
        if config.duration.is_zero() {
            return Err(invalid("duration", "must be longer than 0s"));
        }
        let end = config
            .start
            .checked_add(config.duration)
            .ok_or_else(|| invalid("duration", "start + duration is past the year 2554"))?;
        let qi = config.quote_interval;
        if qi.is_zero() {
            return Err(invalid("quote_interval", "must be longer than 0s"));
        }
        if !config.start.as_nanos().is_multiple_of(qi.as_nanos()) {
            return Err(invalid(
                "start",
                format!(
                    "{} must be a multiple of the quote interval {qi} (so bar boundaries fall on quotes)",
                    config.start
                ),
            ));
        }
        let day = SimDuration::from_days(1);
        for (i, bar) in config.bar_intervals.iter().enumerate() {
            let field = format!("bar_intervals[{i}]");
            if bar.is_zero() || *bar > day || !day.as_nanos().is_multiple_of(bar.as_nanos()) {
                return Err(invalid(
                    field,
                    format!(
                        "{bar} must be between 1s and 1d and divide one day (1s, 5s, 1m, 5m, 15m, 1h, 4h, 1d, ...)"
                    ),
                ));
            }
            if bar.as_nanos() % qi.as_nanos() != 0 {
                return Err(invalid(
                    field,
                    format!("{bar} must be a multiple of the quote interval {qi}"),
                ));
            }
        }
        let mut sorted_bars = config.bar_intervals.clone();
        sorted_bars.sort();
        sorted_bars.dedup();
        if sorted_bars.len() != config.bar_intervals.len() {
            return Err(invalid("bar_intervals", "lists the same interval twice"));
        }

        if config.venues.is_empty() {
            return Err(invalid("venues", "at least one venue is required"));
        }
        for (i, v) in config.venues.iter().enumerate() {
            let field = format!("venues.{}", v.name);
            if config.venues[..i].iter().any(|w| w.name == v.name) {
                return Err(invalid("venues", format!("`{}` is listed twice", v.name)));
            }
            let non_negative = |name: &str, x: f64| {
                if x.is_finite() && x >= 0.0 {
                    Ok(())
                } else {
                    Err(invalid(
                        format!("{field}.{name}"),
                        format!("must be a finite number ≥ 0, got {x}"),
                    ))
                }
            };
            non_negative("basis_bps", v.basis_bps)?;
            non_negative("spread_bps", v.spread_bps)?;
            non_negative("depth.spacing_bps", v.depth.spacing_bps)?;
            non_negative("depth.growth", v.depth.growth)?;
            if !(1..=crate::exchange::book::MAX_LEVELS as u32).contains(&v.depth.levels) {
                return Err(invalid(
                    format!("{field}.depth.levels"),
                    format!("must be 1 … 64, got {}", v.depth.levels),
                ));
            }
            if let Some(n) = v.depth.top_notional
                && !(n.is_finite() && n > 0.0)
            {
                return Err(invalid(
                    format!("{field}.depth.top_notional"),
                    format!("must be positive, got {n}"),
                ));
            }
            for (name, bps) in [
                ("maker_bps", v.fees.maker_bps),
                ("taker_bps", v.fees.taker_bps),
            ] {
                if bps > 10_000 {
                    return Err(invalid(
                        format!("{field}.fees.{name}"),
                        format!("must be at most 10000 (100 %), got {bps}"),
                    ));
                }
            }
            v.latency
                .order_entry
                .validate(&format!("{field}.latency.order_entry"))?;
            v.latency
                .reports
                .validate(&format!("{field}.latency.reports"))?;
            v.latency
                .market_data
                .validate(&format!("{field}.latency.market_data"))?;
            if v.rate_limit.max_requests == 0 || v.rate_limit.window.is_zero() {
                return Err(invalid(
                    format!("{field}.rate_limit"),
                    "max_requests and window must be positive",
                ));
            }
        }

        if config.symbols.is_empty() {
            return Err(invalid("symbols", "at least one symbol is required"));
        }
        let mut symbols = Vec::new();
        for (i, s) in config.symbols.iter().enumerate() {
            let field = format!("symbols.{}", s.symbol);
            if config.symbols[..i].iter().any(|t| t.symbol == s.symbol) {
                return Err(invalid(
                    "symbols",
                    format!("`{}` is listed twice", s.symbol),
                ));
            }
            let defaults = defaults_for(s.symbol);
            let mut spec = default_spec(s.symbol)?;
            if s.tick_size.is_some() || s.lot_size.is_some() || s.min_notional.is_some() {
                spec = InstrumentSpec::new(
                    s.symbol,
                    spec.base,
                    spec.quote,
                    s.tick_size.as_deref().unwrap_or(defaults.tick),
                    s.lot_size.as_deref().unwrap_or(defaults.lot),
                    spec.min_qty,
                    s.min_notional.map(|u| u.0).unwrap_or(spec.min_notional),
                )
                .map_err(|e| invalid(field.clone(), e.to_string()))?;
            }
            let start_price = s.start_price.unwrap_or(defaults.start_price);
            if !(start_price.is_finite() && start_price > 0.0) {
                return Err(invalid(
                    format!("{field}.start_price"),
                    format!("must be a positive price, got {start_price}"),
                ));
            }
            let model = s.model.clone().unwrap_or(PriceModel::Gbm {
                vol: defaults.vol_per_sqrt_sec,
                drift: 0.0,
            });
            model.validate(&format!("{field}.model"))?;
            symbols.push(MarketSymbol {
                symbol: s.symbol,
                spec,
                start_price,
                model,
                top_notional: defaults.top_notional,
                shocks: Vec::new(),
            });
        }

        for (i, shock) in config.shocks.iter().enumerate() {
            let field = format!("shocks[{i}]");
            let Some(target) = symbols.iter_mut().find(|m| m.symbol == shock.symbol) else {
                return Err(ConfigError::invalid(
                    format!("{field}.symbol"),
                    format!("`{}` is not one of the symbols", shock.symbol),
                ));
            };
            if shock.start >= shock.end {
                return Err(ConfigError::invalid(field, "start must be before end"));
            }
            if !(shock.move_pct.is_finite() && shock.move_pct > -100.0 && shock.move_pct != 0.0) {
                return Err(ConfigError::invalid(
                    format!("{field}.move_pct"),
                    format!(
                        "must be a non-zero percentage above -100, got {}",
                        shock.move_pct
                    ),
                ));
            }
            target
                .shocks
                .push((shock.start, shock.end, libm::log1p(shock.move_pct / 100.0)));
        }

        let mut accounts = Vec::new();
        for (i, a) in config.accounts.iter().enumerate() {
            let field = format!("accounts[{i}]");
            if is_reserved(a.account) {
                return Err(invalid(
                    format!("{field}.account"),
                    format!(
                        "{} is reserved for the venue's fee and outside-world accounts",
                        a.account
                    ),
                ));
            }
            if !config.venues.iter().any(|v| v.name == a.venue) {
                return Err(invalid(
                    format!("{field}.venue"),
                    format!("`{}` is not one of the venues", a.venue),
                ));
            }
            let mut balances = Vec::new();
            for (asset, units) in &a.balances {
                if units.0.0 < 0 {
                    return Err(invalid(
                        format!("{field}.balances.{asset}"),
                        "a starting balance cannot be negative",
                    ));
                }
                balances.push((*asset, units.0));
            }
            accounts.push((a.account, a.venue, balances));
        }

        for (i, f) in config.faults.iter().enumerate() {
            let field = format!("faults[{i}]");
            if !config.venues.iter().any(|v| v.name == f.venue) {
                return Err(invalid(
                    format!("{field}.venue"),
                    format!("`{}` is not one of the venues", f.venue),
                ));
            }
            f.validate(&field)?;
        }

        let replay = match &config.replay {
            None => None,
            Some(bars) => {
                let mut kept = Vec::new();
                for bar in bars {
                    if !config.venues.iter().any(|v| v.name == bar.venue) {
                        return Err(invalid(
                            "replay",
                            format!(
                                "bar of venue `{}` at {}: not one of the venues",
                                bar.venue, bar.open_at
                            ),
                        ));
                    }
                    if !config.symbols.iter().any(|s| s.symbol == bar.symbol) {
                        return Err(invalid(
                            "replay",
                            format!(
                                "bar of symbol `{}` at {}: not one of the symbols",
                                bar.symbol, bar.open_at
                            ),
                        ));
                    }
                    if bar.interval.is_zero() || bar.interval.as_nanos() % qi.as_nanos() != 0 {
                        return Err(invalid(
                            "quote_interval",
                            format!(
                                "{qi} must divide the replayed bar interval {}",
                                bar.interval
                            ),
                        ));
                    }
                    if bar.open_at >= config.start && bar.close_at() <= end {
                        kept.push(*bar);
                    }
                }
                if kept.is_empty() {
                    return Err(invalid(
                        "replay",
                        format!("no recorded bar lies within {} … {end}", config.start),
                    ));
                }
                Some(kept)
            }
        };

        let market = MarketPlan {
            start: config.start,
            duration: config.duration,
            quote_interval: qi,
            bar_intervals: config.bar_intervals.clone(),
            symbols,
            venues: config
                .venues
                .iter()
                .map(|v| MarketVenue {
                    name: v.name,
                    lag: v.lag,
                    basis_bps: v.basis_bps,
                    basis_half_life: v.basis_half_life,
                    spread_bps: v.spread_bps,
                    top_notional: v.depth.top_notional,
                })
                .collect(),
        };
        Ok(SimBuilder {
            seed: config.seed,
            market,
            venues: config.venues,
            accounts,
            faults: config.faults,
            replay,
        })
    }

    /// The resolved market plan (specs, start prices and models after defaults).
    pub fn market_plan(&self) -> &MarketPlan {
        &self.market
    }

    /// The run's master seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// A fresh world at the start of the run.
    pub fn build(&self) -> Sim {
        let root = SimRng::from_seed(self.seed);
        let start = self.market.start;
        let specs: Vec<InstrumentSpec> =
            self.market.symbols.iter().map(|s| s.spec.clone()).collect();
        let mut venues: Vec<VenueRuntime> = self
            .venues
            .iter()
            .map(|v| {
                let stream = |op: &str| root.fork(&format!("latency/{}/{op}", v.name));
                VenueRuntime {
                    exchange: Exchange::new(
                        v.name,
                        &specs,
                        BookShape {
                            levels: v.depth.levels as usize,
                            growth: v.depth.growth,
                            spacing_bps: v.depth.spacing_bps,
                        },
                        v.fees,
                        v.rate_limit,
                    ),
                    faults: VenueFaults::default(),
                    order_entry: LatencySampler::new(
                        v.latency.order_entry.clone(),
                        stream("order_entry"),
                        start,
                    ),
                    reports: LatencySampler::new(
                        v.latency.reports.clone(),
                        stream("reports"),
                        start,
                    ),
                    market_data: LatencySampler::new(
                        v.latency.market_data.clone(),
                        stream("market_data"),
                        start,
                    ),
                    gap_rng: root.fork(&format!("faults/{}/gap", v.name)),
                    storm_rng: root.fork(&format!("faults/{}/reject_storm", v.name)),
                    last_entry: SimTime::EPOCH,
                    last_report: SimTime::EPOCH,
                    last_market: SimTime::EPOCH,
                    published: vec![None; specs.len()],
                    frozen: vec![None; specs.len()],
                    last_bars: Vec::new(),
                    freezes: self
                        .faults
                        .iter()
                        .any(|f| f.venue == v.name && matches!(f.kind, FaultKind::StaleFeed)),
                }
            })
            .collect();
        for (account, venue, balances) in &self.accounts {
            let v = venues
                .iter_mut()
                .find(|r| r.exchange.venue() == *venue)
                .expect("validated venue");
            for (asset, amount) in balances {
                v.exchange.ledger_mut().deposit(*account, *asset, *amount);
            }
        }
        let mut source = match &self.replay {
            Some(bars) => {
                MarketSource::Replay(Box::new(ReplayFeed::new(bars.clone(), &self.market)))
            }
            None => MarketSource::Generated(Box::new(MarketGenerator::new(&self.market, &root))),
        };
        let mut queue = EventQueue::new();
        for (i, f) in self.faults.iter().enumerate() {
            queue.push(f.start, Priority::VenueControl, Event::FaultStart(i));
            queue.push(f.end, Priority::VenueControl, Event::FaultEnd(i));
        }
        if let Some(e) = source.peek() {
            queue.push(e.at(), Priority::MarketUpdate, Event::MarketUpdate);
        }
        Sim {
            seed: self.seed,
            clock: SimClock::new(start),
            queue,
            source: Some(source),
            venues,
            faults: self.faults.clone(),
            trace: Trace::new(),
            stats: SimStats::default(),
            reports: Vec::new(),
            entry_pipes: vec![VecDeque::new(); self.venues.len()],
            market_pipes: vec![VecDeque::new(); self.venues.len()],
            report_pipes: vec![VecDeque::new(); self.venues.len() + 1],
        }
    }
}

#[derive(Clone, Debug)]
struct VenueRuntime {
    exchange: Exchange,
    faults: VenueFaults,
    order_entry: LatencySampler,
    reports: LatencySampler,
    market_data: LatencySampler,
    gap_rng: SimRng,
    storm_rng: SimRng,
    last_entry: SimTime,
    last_report: SimTime,
    last_market: SimTime,
    /// Last quote published per symbol (config order), to freeze on a stale feed.
    published: Vec<Option<Quote>>,
    /// The frozen quotes while a stale feed is active.
    frozen: Vec<Option<Quote>>,
    /// Last bar published per (symbol, interval).
    last_bars: Vec<stage4_engine::domain::Bar>,
    /// True when a stale-feed fault is scheduled on this venue: only then is what it publishes
    /// remembered (`published`, `last_bars`), since only a stale feed reads it back.
    freezes: bool,
}

/// The simulated world of one run.
#[derive(Debug)]
pub struct Sim {
    seed: u64,
    clock: SimClock,
    queue: EventQueue<Event>,
    /// The market, its next event waiting in place. Taken out while a market update reads
    /// it (see [`Sim::market_update`]), so the events are read by reference while the rest of
    /// the world changes.
    source: Option<MarketSource>,
    venues: Vec<VenueRuntime>,
    faults: Vec<Fault>,
    trace: Trace,
    stats: SimStats,
    reports: Vec<ExecReport>,
    entry_pipes: Vec<VecDeque<Entry>>,
    market_pipes: Vec<VecDeque<MarketEvent>>,
    report_pipes: Vec<VecDeque<ExecReport>>,
}

impl Sim {
    /// The master seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Current sim time (the last processed event, or a later submission).
    pub fn now(&self) -> SimTime {
        self.clock.now()
    }

    /// Time of the next pending event, delivered or internal; `None` when the run is over.
    pub fn next_time(&self) -> Option<SimTime> {
        self.queue.peek_time()
    }

    /// Processes events until the next delivery; `None` when nothing is left.
    pub fn step(&mut self) -> Option<Delivery> {
        self.step_until(SimTime::MAX)
    }

    /// Like [`Sim::step`], but processes no event later than `limit`; `None` when nothing is
    /// pending up to `limit` (the clock then stays at the last processed event).
    pub fn step_until(&mut self, limit: SimTime) -> Option<Delivery> {
        while let Some(t) = self.queue.peek_time() {
            if t > limit {
                return None;
            }
            let (t, _, event) = self.queue.pop().expect("peeked");
            self.clock.advance_to(t);
            self.stats.events_processed += 1;
            match event {
                // Traced where it waits, then moved out of the pipe straight into the
                // delivery handed back (no staging copy in between).
                Event::DeliverMarket(pipe) => {
                    let pipe = &mut self.market_pipes[pipe];
                    self.trace
                        .market(t, pipe.front().expect("one event per pipe entry"));
                    return pipe.pop_front().map(|e| Delivery {
                        at: t,
                        item: Delivered::Market(e),
                    });
                }
                Event::DeliverReport(pipe) => {
                    let pipe = &mut self.report_pipes[pipe];
                    let r = pipe.front().expect("one event per pipe entry");
                    self.trace.report(t, r);
                    let delivery = Delivery {
                        at: t,
                        item: Delivered::Report(*r),
                    };
                    pipe.pop_front();
                    return Some(delivery);
                }
                Event::Timer(token) => {
                    self.trace.timer(t, token);
                    return Some(Delivery {
                        at: t,
                        item: Delivered::Timer(token),
                    });
                }
                Event::MarketUpdate => self.market_update(t),
                Event::Entry(vi) => match self.entry_pipes[vi]
                    .pop_front()
                    .expect("one event per pipe entry")
                {
                    Entry::Order(o) => self.order_arrives(t, vi, &o),
                    Entry::Cancel(c) => self.cancel_arrives(t, vi, &c),
                },
                Event::FaultStart(i) => self.fault_edge(t, i, true),
                Event::FaultEnd(i) => self.fault_edge(t, i, false),
            }
        }
        None
    }

    /// Schedules a driver timer: a [`Delivered::Timer`] at `at` (after every other delivery of
    /// that instant). `at` must not be before the clock.
    pub fn set_timer(&mut self, at: SimTime, token: u64) {
        assert!(
            at >= self.clock.now(),
            "timer at {at} is before the sim clock {}",
            self.clock.now()
        );
        self.queue
            .push(at, Priority::EngineTimer, Event::Timer(token));
        self.note_queue();
    }

    /// Hex SHA-256 of the trace so far.
    pub fn digest_hex(&self) -> String {
        self.trace.digest_hex()
    }

    /// Counts per event kind so far.
    pub fn counts(&self) -> &TraceCounts {
        self.trace.counts()
    }

    /// Run statistics so far.
    pub fn stats(&self) -> SimStats {
        self.stats
    }

    /// The exchange of `venue`.
    pub fn exchange(&self, venue: VenueId) -> Option<&Exchange> {
        self.venues
            .iter()
            .find(|v| v.exchange.venue() == venue)
            .map(|v| &v.exchange)
    }

    /// The venues, config order.
    pub fn venue_ids(&self) -> Vec<VenueId> {
        self.venues.iter().map(|v| v.exchange.venue()).collect()
    }

    /// True while `venue` is in an outage.
    pub fn is_down(&self, venue: VenueId) -> bool {
        self.venues
            .iter()
            .any(|v| v.exchange.venue() == venue && v.faults.is_down())
    }

    #[inline]
    fn note_queue(&mut self) {
        let len = self.queue.len() as u64;
        if len > self.stats.peak_queue {
            self.stats.peak_queue = len;
        }
    }

    #[inline]
    fn venue_index(&self, venue: VenueId) -> Option<usize> {
        self.venues.iter().position(|v| v.exchange.venue() == venue)
    }

    fn check_submission_time(&mut self, now: SimTime, what: &str) {
        assert!(
            now >= self.clock.now(),
            "{what} dated {now} is before the sim clock {}: the past cannot change",
            self.clock.now()
        );
        if let Some(next) = self.queue.peek_time() {
            assert!(
                now <= next,
                "{what} dated {now} is after the next pending event at {next}: step the sim first"
            );
        }
        self.clock.advance_to(now);
    }

    /// Sends an order at `now` (see the driver contract in the module doc).
    pub fn submit_order(&mut self, now: SimTime, order: &OrderRequest) {
        self.check_submission_time(now, "order");
        self.trace.order(now, order);
        let Some(vi) = self.venue_index(order.venue) else {
            let r = report(
                now,
                order.venue,
                order.account,
                order.symbol,
                order.client_order_id,
                ExecKind::Reject {
                    reason: RejectReason::UnknownSymbol,
                },
            );
            self.gateway_reject(now, r);
            return;
        };
        let arrival = self.entry_arrival(vi, now);
        self.entry_pipes[vi].push_back(Entry::Order(*order));
        self.queue
            .push(arrival, Priority::OrderEntry, Event::Entry(vi));
        self.note_queue();
    }

    /// Asks to cancel at `now` (see the driver contract in the module doc).
    pub fn submit_cancel(&mut self, now: SimTime, cancel: &CancelRequest) {
        self.check_submission_time(now, "cancel");
        self.trace.cancel(now, cancel);
        let Some(vi) = self.venue_index(cancel.venue) else {
            let r = report(
                now,
                cancel.venue,
                cancel.account,
                cancel.symbol,
                cancel.client_order_id,
                ExecKind::Reject {
                    reason: RejectReason::UnknownOrder,
                },
            );
            self.gateway_reject(now, r);
            return;
        };
        let arrival = self.entry_arrival(vi, now);
        self.entry_pipes[vi].push_back(Entry::Cancel(*cancel));
        self.queue
            .push(arrival, Priority::OrderEntry, Event::Entry(vi));
        self.note_queue();
    }

    /// A reject from the gateway itself (no such venue), delivered at once.
    fn gateway_reject(&mut self, now: SimTime, r: ExecReport) {
        let gateway = self.venues.len();
        self.report_pipes[gateway].push_back(r);
        self.queue
            .push(now, Priority::ReportDelivery, Event::DeliverReport(gateway));
    }

    fn entry_arrival(&mut self, vi: usize, now: SimTime) -> SimTime {
        let v = &mut self.venues[vi];
        let latency = v
            .faults
            .adjust(Operation::OrderEntry, v.order_entry.sample(now));
        let arrival = now
            .checked_add(latency)
            .unwrap_or(SimTime::MAX)
            .max(v.last_entry);
        v.last_entry = arrival;
        arrival
    }

    fn order_arrives(&mut self, now: SimTime, vi: usize, order: &OrderRequest) {
        let mut reports = std::mem::take(&mut self.reports);
        reports.clear();
        let v = &mut self.venues[vi];
        let reason = if v.faults.is_down() {
            Some(RejectReason::VenueDown)
        } else if !v.exchange.admit_request(now, order.account) {
            Some(RejectReason::RateLimited)
        } else if !v.faults.storms.is_empty() && v.storm_rng.bernoulli(v.faults.storm_probability())
        {
            Some(RejectReason::VenueError)
        } else {
            None
        };
        match reason {
            Some(reason) => reports.push(report(
                now,
                order.venue,
                order.account,
                order.symbol,
                order.client_order_id,
                ExecKind::Reject { reason },
            )),
            None => v.exchange.on_order(now, order, &mut reports),
        }
        self.schedule_reports(vi, now, &mut reports);
        self.reports = reports;
    }

    fn cancel_arrives(&mut self, now: SimTime, vi: usize, cancel: &CancelRequest) {
        let mut reports = std::mem::take(&mut self.reports);
        reports.clear();
        let v = &mut self.venues[vi];
        let reason = if v.faults.is_down() {
            Some(RejectReason::VenueDown)
        } else if !v.exchange.admit_request(now, cancel.account) {
            Some(RejectReason::RateLimited)
        } else {
            None
        };
        match reason {
            Some(reason) => reports.push(report(
                now,
                cancel.venue,
                cancel.account,
                cancel.symbol,
                cancel.client_order_id,
                ExecKind::Reject { reason },
            )),
            None => v.exchange.on_cancel(now, cancel, &mut reports),
        }
        self.schedule_reports(vi, now, &mut reports);
        self.reports = reports;
    }

    /// Sends one batch of reports (one venue message burst) back with one latency draw.
    fn schedule_reports(&mut self, vi: usize, now: SimTime, reports: &mut Vec<ExecReport>) {
        if reports.is_empty() {
            return;
        }
        let v = &mut self.venues[vi];
        let latency = v.faults.adjust(Operation::Reports, v.reports.sample(now));
        let delivery = now
            .checked_add(latency)
            .unwrap_or(SimTime::MAX)
            .max(v.last_report);
        v.last_report = delivery;
        let skew = v.faults.skew_ns();
        for mut r in reports.drain(..) {
            if skew != 0 {
                r.at = skewed(r.at, skew);
            }
            self.report_pipes[vi].push_back(r);
            self.queue
                .push(delivery, Priority::ReportDelivery, Event::DeliverReport(vi));
        }
        self.note_queue();
    }

    fn market_update(&mut self, now: SimTime) {
        let mut reports = std::mem::take(&mut self.reports);
        // Each event is read where the source generated it and handed on by reference: a copy
        // taken per stage (out of the source, filter, match, publish) costs more than the work
        // on it. The one copy is the pipe's, in `send_market`.
        let mut source = self
            .source
            .take()
            .expect("the source is back after each update");
        while let Some(event) = source.peek().filter(|e| e.at() <= now) {
            self.stats.market_events += 1;
            let vi = self
                .venue_index(event.venue())
                .expect("feeds only carry configured venues");
            if self.venues[vi].faults.is_down() {
                self.stats.suppressed_by_outage += 1;
            } else if let MarketEvent::Quote(q) = event {
                reports.clear();
                let top = self.venues[vi].exchange.on_quote(now, q, &mut reports);
                self.schedule_reports(vi, now, &mut reports);
                if let Some(top) = top {
                    self.publish(vi, now, &MarketEvent::Quote(top));
                }
            } else {
                self.publish(vi, now, event);
            }
            source.advance();
        }
        self.reports = reports;
        if let Some(next) = source.peek() {
            self.queue.push(
                next.at().max(now),
                Priority::MarketUpdate,
                Event::MarketUpdate,
            );
        }
        self.source = Some(source);
    }

    /// Puts one venue event on its way to the driver through the venue's faults and latency.
    fn publish(&mut self, vi: usize, now: SimTime, event: &MarketEvent) {
        if self.venues[vi].faults.is_clear() {
            return self.send_market(vi, now, event);
        }
        let v = &mut self.venues[vi];
        let mut event = *event;
        if v.faults.stale > 0 && !matches!(event, MarketEvent::Status { .. }) {
            match stale_copy(v, &event) {
                Some(e) => {
                    event = e;
                    self.stats.stale_repeats += 1;
                }
                None => return,
            }
        }
        if !v.faults.gaps.is_empty()
            && !matches!(event, MarketEvent::Status { .. })
            && v.gap_rng.bernoulli(v.faults.gap_probability())
        {
            self.stats.dropped_by_gap += 1;
            return;
        }
        let skew = v.faults.skew_ns();
        if skew != 0 {
            match &mut event {
                MarketEvent::Quote(q) => q.at = skewed(q.at, skew),
                MarketEvent::Bar(b) => b.open_at = skewed(b.open_at, skew),
                MarketEvent::Status { at, .. } => *at = skewed(*at, skew),
            }
        }
        self.send_market(vi, now, &event);
    }

    /// The last leg of [`Sim::publish`]: remembers what the venue published (for a later stale
    /// feed), draws the feed latency and queues the event for the driver.
    fn send_market(&mut self, vi: usize, now: SimTime, event: &MarketEvent) {
        let v = &mut self.venues[vi];
        if v.freezes && v.faults.stale == 0 {
            remember_published(v, event);
        }
        let latency = v
            .faults
            .adjust(Operation::MarketData, v.market_data.sample(now));
        let delivery = now
            .checked_add(latency)
            .unwrap_or(SimTime::MAX)
            .max(v.last_market);
        v.last_market = delivery;
        self.market_pipes[vi].push_back(*event);
        self.queue
            .push(delivery, Priority::MarketDelivery, Event::DeliverMarket(vi));
        self.note_queue();
    }

    fn fault_edge(&mut self, now: SimTime, index: usize, start: bool) {
        let fault = self.faults[index].clone();
        self.trace
            .fault(now, start, index, fault.venue, fault.kind.name());
        let vi = self.venue_index(fault.venue).expect("validated venue");
        let v = &mut self.venues[vi];
        let was_down = v.faults.is_down();
        if start {
            if matches!(fault.kind, FaultKind::StaleFeed) && v.faults.stale == 0 {
                v.frozen = v.published.clone();
            }
            v.faults.open(index, &fault.kind);
        } else {
            v.faults.close(index, &fault.kind);
        }
        let is_down = v.faults.is_down();
        if was_down != is_down {
            let status = if is_down {
                VenueStatus::Down
            } else {
                VenueStatus::Up
            };
            self.publish(
                vi,
                now,
                &MarketEvent::Status {
                    venue: fault.venue,
                    at: now,
                    status,
                },
            );
        }
    }
}

/// The frozen version of `event` during a stale feed, `None` when nothing was published yet.
fn stale_copy(v: &VenueRuntime, event: &MarketEvent) -> Option<MarketEvent> {
    match event {
        MarketEvent::Quote(q) => {
            let si = v.exchange.symbol_index(q.symbol)?;
            v.frozen[si].map(MarketEvent::Quote)
        }
        MarketEvent::Bar(b) => {
            let last = v
                .last_bars
                .iter()
                .find(|l| l.symbol == b.symbol && l.interval == b.interval)?;
            Some(MarketEvent::Bar(stage4_engine::domain::Bar {
                open: last.close,
                high: last.close,
                low: last.close,
                close: last.close,
                volume: stage4_engine::domain::Qty::ZERO,
                ..*b
            }))
        }
        MarketEvent::Status { .. } => Some(*event),
    }
}

fn remember_published(v: &mut VenueRuntime, event: &MarketEvent) {
    match event {
        MarketEvent::Quote(q) => {
            if let Some(si) = v.exchange.symbol_index(q.symbol) {
                v.published[si] = Some(*q);
            }
        }
        MarketEvent::Bar(b) => match v
            .last_bars
            .iter_mut()
            .find(|l| l.symbol == b.symbol && l.interval == b.interval)
        {
            Some(slot) => *slot = *b,
            None => v.last_bars.push(*b),
        },
        MarketEvent::Status { .. } => {}
    }
}

impl Venue for Sim {
    /// Queues the order; its reports arrive later through [`Sim::step`] (`out` is untouched).
    fn submit(&mut self, now: SimTime, order: &OrderRequest, _out: &mut Vec<ExecReport>) {
        self.submit_order(now, order);
    }

    /// Queues the cancel; its report arrives later through [`Sim::step`] (`out` is untouched).
    fn cancel(&mut self, now: SimTime, cancel: &CancelRequest, _out: &mut Vec<ExecReport>) {
        self.submit_cancel(now, cancel);
    }
}
