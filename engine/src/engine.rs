//! The whole trader as one step function: market data and execution reports in, orders and
//! signed decision-log lines out, on explicit simulated time.
//!
//! ```text
//!  MarketEvent ─► MarketBook ─► Scheduler.run_due ─► RunRecord (at finished_at)
//!                     │                                   │ telemetry ─► MetricsStore ─► AlertEvaluator
//!                     ▼                                   ▼
//!               PositionLedger ◄── fills ◄── venue ◄── orders ◄── risk checks ◄── router
//! ```
//!
//! A driver (the scenario runner) feeds [`Engine::on_market`] and [`Engine::on_exec`], calls
//! [`Engine::poll`] at [`Engine::next_wakeup`], sends the [`VenueCommand`]s it drains, and
//! writes the log lines it drains. Everything is deterministic: ordered collections, no clock,
//! no randomness.
//!
//! Each decision is logged when it is made: signals and routing when the run that produced
//! them finished (`started_at + latency`, so a slow strategy delays its orders), execution
//! reports when they arrive, alert transitions at their 30 s evaluation, scheduler changes when
//! they happen.

use std::borrow::Cow;
use std::collections::{BTreeMap, VecDeque};

use serde::Serialize;

use crate::decision_log::entry::{self as log_entry, Entry};
use crate::decision_log::{DecisionLogWriter, Json, Members, ObjectText};
use crate::domain::{
    AccountId, Amount, Asset, ClientOrderId, ExecKind, ExecReport, InstrumentSpec, MarketEvent,
    OrderKind, OrderRequest, Qty, RejectReason, Side, SimDuration, SimTime, StrategyId, Symbol,
    TimeInForce, VenueId,
};
use crate::execution::PositionLedger;
use crate::execution::positions::PositionKey;
use crate::execution::router::{
    ExecutionSettings, GroupPurpose, GroupVerdict, Leg, LegGroup, LegGroups,
};
use crate::market_data::MarketBook;
use crate::risk::{
    AccountSnapshot, MarkToMarket, RiskDecision, RiskEngine, RiskOrder, RiskProfile, StopPlan,
    average_true_range,
};
use crate::scheduler::runtime::SuspensionChange as SchedSuspensionChange;
use crate::scheduler::{
    GovernorDecision, RollbackOverride, RollbackTransition, RunOutcome, RunRecord, RunTimer,
    Scheduler, SchedulerAlert, SchedulerEvent,
};
use crate::strategy::{Regime, Signal, SignalSide};
use crate::telemetry::{
    AlertEvaluator, AlertTransition as TelemetryTransition, MetricsStore, RangeBoundary, RuleGroup,
    TransitionKind,
};

/// Engine-wide settings.
#[derive(Clone, Debug, PartialEq)]
pub struct EngineSettings {
    /// Environment name (decision log, telemetry namespace).
    pub environment: String,
    /// Portfolio name.
    pub portfolio: String,
    /// The asset everything is valued in (`USDT`).
    pub valuation: Asset,
    /// Total starting capital, split evenly between schedules for PnL accounting.
    pub capital: Amount,
    /// Our account on each venue.
    pub accounts: BTreeMap<VenueId, AccountId>,
    /// Sizing and retries.
    pub execution: ExecutionSettings,
    /// Range-boundary semantics of the alert evaluator (match the Prometheus you compare with).
    pub alert_boundary: RangeBoundary,
    /// The `data_feed` written into signal entries.
    pub data_feed: String,
    /// Base bars kept per venue and symbol (longest warm-up × interval ratio, plus slack).
    pub bar_capacity: usize,
    /// How often the (simulated) Prometheus scrapes the engine's metrics; the alert rules are
    /// evaluated over the scraped samples, as in production. Default 15 s.
    pub scrape_interval: SimDuration,
}

/// An order-entry command for the venue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum VenueCommand {
    /// Send a new order.
    Submit(OrderRequest),
}

/// What happened, in typed form, for reports and expectations (the decision log has the same
/// facts as signed JSON).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EngineEvent {
    /// A schedule run finished.
    Run {
        /// When it finished.
        at: SimTime,
        /// Schedule.
        schedule: String,
        /// Run duration, ms.
        latency_ms: f64,
        /// Lateness, s.
        drift_seconds: f64,
        /// Signals emitted.
        signals: usize,
        /// `completed`, `suspended`, `disabled`, `window_closed`, `failed`.
        outcome: &'static str,
    },
    /// An order was sent.
    Order {
        /// When.
        at: SimTime,
        /// Schedule.
        schedule: String,
        /// Venue.
        venue: VenueId,
        /// Symbol.
        symbol: Symbol,
        /// Side.
        side: Side,
        /// Quantity, base units.
        qty: f64,
        /// The order id.
        client_order_id: u64,
        /// True for an unwind of a broken leg group.
        unwind: bool,
    },
    /// A fill arrived.
    Fill {
        /// When.
        at: SimTime,
        /// Schedule.
        schedule: String,
        /// Venue.
        venue: VenueId,
        /// Symbol.
        symbol: Symbol,
        /// Side.
        side: Side,
        /// Quantity, base units.
        qty: f64,
        /// Price.
        price: f64,
    },
    /// A venue rejected an order.
    Reject {
        /// When.
        at: SimTime,
        /// Venue.
        venue: VenueId,
        /// Symbol.
        symbol: Symbol,
        /// Why.
        reason: RejectReason,
    },
    /// Risk refused an order, or the router skipped one.
    Refused {
        /// When.
        at: SimTime,
        /// Schedule.
        schedule: String,
        /// Symbol.
        symbol: Symbol,
        /// Refusal code (`reduce_only`, `exposure_cap`, `rollback_override`, ...).
        reason: String,
    },
    /// A risk alert (kill switch, cost/profit, exposure).
    RiskAlert {
        /// When.
        at: SimTime,
        /// Alert kind, snake case.
        code: String,
        /// Human text.
        message: String,
    },
    /// A Prometheus alert rule changed state.
    Alert(TelemetryTransition),
    /// The rollback override changed state.
    Rollback {
        /// When.
        at: SimTime,
        /// `activated`, `expired`, `removed`.
        state: &'static str,
    },
    /// A scheduler alert (failure, failover, window, drift, abort).
    SchedulerAlert(SchedulerAlert),
    /// The portfolio governor took a decision (also journalled as `portfolio_rebalance` or
    /// `portfolio_review`).
    PortfolioDecision {
        /// When.
        at: SimTime,
        /// True when a weight moved (a rebalance), false for a review.
        rebalance_required: bool,
        /// The new weight of every strategy the governor knows.
        weights: BTreeMap<String, f64>,
    },
}

/// The engine could not be built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EngineError {
    /// A schedule trades an instrument or venue the engine does not know.
    #[error("schedule `{schedule}` trades {symbol} on {venue}, which is not configured")]
    UnknownInstrument {
        /// The schedule.
        schedule: String,
        /// The venue.
        venue: VenueId,
        /// The symbol.
        symbol: Symbol,
    },
    /// A schedule names a risk profile that is neither built in nor supplied.
    #[error("schedule `{schedule}` uses unknown risk profile `{profile}`")]
    UnknownRiskProfile {
        /// The schedule.
        schedule: String,
        /// The profile.
        profile: String,
    },
    /// No account is configured on a venue a schedule trades.
    #[error("no account configured on venue {0}")]
    NoAccount(VenueId),
    /// Building a component failed.
    #[error("{0}")]
    Component(String),
}

#[derive(Clone, Debug)]
struct TrackedOrder {
    schedule: StrategyId,
    risk_profile: String,
    side: Side,
}

#[derive(Clone, Debug)]
struct RetryClose {
    schedule: StrategyId,
    risk_profile: String,
    venues: [VenueId; 2],
    symbol: Symbol,
}

/// Who asked for an order.
#[derive(Clone, Debug)]
struct OrderOrigin<'a> {
    schedule: StrategyId,
    strategy: &'a str,
    risk_profile: &'a str,
    signal_id: Option<&'a str>,
    interval: crate::domain::SimDuration,
}

/// What finishing a run needs from its schedule's spec, resolved once when the engine is built
/// (specs never change afterwards).
#[derive(Clone, Copy, Debug)]
struct ScheduleRoute {
    id: StrategyId,
    venue: VenueId,
    secondary_venue: Option<VenueId>,
    interval: SimDuration,
}

/// The Stage4 engine.
#[derive(Debug)]
pub struct Engine {
    settings: EngineSettings,
    scheduler: Scheduler,
    market: MarketBook,
    ledger: PositionLedger,
    risk: RiskEngine,
    metrics: MetricsStore,
    /// What Prometheus scraped from `metrics`, every `scrape_interval` from the start.
    scraped: MetricsStore,
    next_scrape: SimTime,
    alerts: AlertEvaluator,
    log: Option<DecisionLogWriter>,
    log_lines: Vec<String>,
    events: Vec<EngineEvent>,
    commands: Vec<VenueCommand>,
    /// Runs in flight, by (finish time, run sequence number).
    pending_runs: DueQueue<RunRecord>,
    orders: BTreeMap<ClientOrderId, TrackedOrder>,
    groups: LegGroups,
    group_purpose: BTreeMap<u64, (GroupPurpose, Option<RetryClose>)>,
    retries: BTreeMap<(SimTime, u64), RetryClose>,
    retry_seq: u64,
    next_order_id: u64,
    /// Intended position per (schedule, venue, symbol), lots: what the strategy asked for.
    targets: BTreeMap<PositionKey, Qty>,
    /// Every schedule's route, by schedule name.
    routes: BTreeMap<String, ScheduleRoute>,
    /// The risk profiles the schedules use, each once, in name order (marked every poll).
    risk_profiles: Vec<String>,
    /// The run being recorded's telemetry payload as (key, value) pairs in key order, kept to
    /// reuse its allocation.
    run_metrics: Vec<(&'static str, f64)>,
    /// The decision-log entry being written: one object whose buffers every line reuses.
    entry_text: ObjectText,
    /// The signal context of the run being finished, kept to reuse its strings' buffers.
    /// Members no run sets (instance id, budget bucket, extra metadata) stay empty.
    signal_context: log_entry::SignalContext,
}

impl Engine {
    /// Builds the engine around a configured scheduler. Every schedule's instruments must be
    /// in `instruments`, every venue must have an account, and every schedule's risk profile
    /// must be built in or among `risk_profiles`. The scheduler starts at `start`, which is
    /// also the origin of the 30 s alert-evaluation grid.
    pub fn new(
        settings: EngineSettings,
        instruments: Vec<(VenueId, InstrumentSpec)>,
        mut scheduler: Scheduler,
        risk_profiles: Vec<RiskProfile>,
        log: Option<DecisionLogWriter>,
        start: SimTime,
    ) -> Result<Engine, EngineError> {
        let mut ledger = PositionLedger::new(settings.valuation);
        for (venue, spec) in &instruments {
            ledger
                .add_instrument(*venue, spec.clone())
                .map_err(|e| EngineError::Component(e.to_string()))?;
        }
        let mut risk = RiskEngine::new();
        for profile in risk_profiles {
            risk.register_profile(profile);
        }
        let specs: Vec<_> = scheduler.specs().cloned().collect();
        let share = Amount(settings.capital.0 / specs.len().max(1) as i128);
        let mut routes = BTreeMap::new();
        for spec in &specs {
            let venues = std::iter::once(spec.market.venue).chain(spec.market.secondary_venue);
            for venue in venues {
                if !settings.accounts.contains_key(&venue) {
                    return Err(EngineError::NoAccount(venue));
                }
                for symbol in &spec.market.symbols {
                    if !instruments
                        .iter()
                        .any(|(v, s)| *v == venue && s.symbol == *symbol)
                    {
                        return Err(EngineError::UnknownInstrument {
                            schedule: spec.name.clone(),
                            venue,
                            symbol: *symbol,
                        });
                    }
                }
            }
            if risk.profile(&spec.risk_profile).is_none() {
                let profile = RiskProfile::builtin(&spec.risk_profile).ok_or_else(|| {
                    EngineError::UnknownRiskProfile {
                        schedule: spec.name.clone(),
                        profile: spec.risk_profile.clone(),
                    }
                })?;
                risk.register_profile(profile);
            }
            let id = schedule_id(&spec.name).map_err(EngineError::Component)?;
            ledger
                .open_schedule(id, share)
                .map_err(|e| EngineError::Component(e.to_string()))?;
            routes.insert(
                spec.name.clone(),
                ScheduleRoute {
                    id,
                    venue: spec.market.venue,
                    secondary_venue: spec.market.secondary_venue,
                    interval: spec.market.interval,
                },
            );
        }
        let risk_profiles: Vec<String> = specs
            .iter()
            .map(|s| s.risk_profile.clone())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let alerts = AlertEvaluator::new(RuleGroup::stage4(), settings.alert_boundary, start)
            .map_err(|e| EngineError::Component(e.to_string()))?;
        scheduler.start(start);
        Ok(Engine {
            market: MarketBook::new(instruments, settings.bar_capacity),
            settings,
            scheduler,
            ledger,
            risk,
            metrics: MetricsStore::new(),
            scraped: MetricsStore::new(),
            next_scrape: start,
            alerts,
            log,
            log_lines: Vec::new(),
            events: Vec::new(),
            commands: Vec::new(),
            pending_runs: DueQueue::default(),
            orders: BTreeMap::new(),
            groups: LegGroups::default(),
            group_purpose: BTreeMap::new(),
            retries: BTreeMap::new(),
            retry_seq: 0,
            next_order_id: 0,
            targets: BTreeMap::new(),
            routes,
            run_metrics: Vec::new(),
            risk_profiles,
            entry_text: ObjectText::new(),
            signal_context: log_entry::SignalContext::default(),
        })
    }

    // ------------------------------------------------------------------ accessors

    /// The scheduler (for the control API).
    pub fn scheduler(&mut self) -> &mut Scheduler {
        &mut self.scheduler
    }

    /// Every telemetry series recorded so far.
    pub fn metrics(&self) -> &MetricsStore {
        &self.metrics
    }

    /// The scraped series the alert rules read.
    pub fn scraped_metrics(&self) -> &MetricsStore {
        &self.scraped
    }

    /// Alert evaluator (history, firing alerts).
    pub fn alerts(&self) -> &AlertEvaluator {
        &self.alerts
    }

    /// Positions and PnL.
    pub fn ledger(&self) -> &PositionLedger {
        &self.ledger
    }

    /// The risk engine.
    pub fn risk(&self) -> &RiskEngine {
        &self.risk
    }

    /// The market as the engine sees it.
    pub fn market(&self) -> &MarketBook {
        &self.market
    }

    /// Takes the venue commands produced since the last call, in order.
    pub fn drain_commands(&mut self) -> Vec<VenueCommand> {
        take_sized(&mut self.commands)
    }

    /// Takes the signed decision-log lines produced since the last call, in order.
    pub fn drain_log_lines(&mut self) -> Vec<String> {
        take_sized(&mut self.log_lines)
    }

    /// Takes the typed events produced since the last call, in order.
    pub fn drain_events(&mut self) -> Vec<EngineEvent> {
        take_sized(&mut self.events)
    }

    /// Appends an entry built elsewhere (an operator action, an audit result, an incident) to
    /// the decision log, so the log keeps one chain in time order.
    pub fn log_entry(&mut self, entry: Json) {
        if let Some(w) = &mut self.log {
            self.log_lines.push(w.append(entry));
        }
    }

    /// Seals a chained decision log (no further entries).
    pub fn seal_log(&mut self, at: SimTime) {
        if let Some(w) = &mut self.log
            && w.is_chained()
            && let Ok(line) = w.seal(at)
        {
            self.log_lines.push(line);
        }
    }

    /// The head hash of the decision log (the hash of its last line).
    pub fn log_head(&self) -> Option<String> {
        self.log
            .as_ref()
            .and_then(|w| w.last_hash().map(str::to_owned))
    }

    fn write<E: Entry>(&mut self, entry: &E) {
        if let Some(w) = &mut self.log {
            entry.write_object_text(&mut self.entry_text);
            self.log_lines.push(w.append_text(&mut self.entry_text));
        }
    }

    // ------------------------------------------------------------------ inputs

    /// When [`Engine::poll`] must next be called: the scheduler's next run, the end of a run in
    /// flight, the next alert evaluation or a retry, whichever is first.
    pub fn next_wakeup(&self) -> Option<SimTime> {
        [
            self.scheduler.next_wakeup(),
            self.pending_runs.first_due(),
            self.retries.keys().next().map(|k| k.0),
            Some(self.next_scrape),
            Some(self.alerts.next_evaluation()),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Applies a market event.
    pub fn on_market(&mut self, now: SimTime, event: &MarketEvent) {
        self.market.apply(now, event);
        self.ledger.on_market_event(event);
    }

    /// Tells the engine what the rollback override file says now (`None`: no file).
    pub fn observe_rollback(&mut self, now: SimTime, current: Option<RollbackOverride>) {
        self.scheduler.observe_rollback(now, current);
        self.flush_scheduler_events();
    }

    /// Runs everything due at `now`: scheduler runs, finished runs (signals → orders), retries,
    /// alert evaluations.
    pub fn poll(&mut self, now: SimTime, timer: &mut dyn RunTimer) {
        for record in self.scheduler.run_due(now, &mut self.market, timer) {
            self.pending_runs
                .insert((record.finished_at, record.run_seq), record);
        }
        self.flush_scheduler_events();
        while let Some(record) = self.pending_runs.pop_due(now) {
            self.finish_run(now, record);
        }
        while let Some(entry) = self.retries.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let retry = entry.remove();
            self.retry_close(now, retry);
        }
        self.mark_risk(now);
        while self.next_scrape <= now {
            if let Err(e) = self
                .metrics
                .scrape_into(self.next_scrape, &mut self.scraped)
            {
                self.log_error(now, "scrape", &e.to_string());
            }
            self.next_scrape += self.settings.scrape_interval.max(SimDuration::from_secs(1));
        }
        match self.alerts.advance_to(&self.scraped, now) {
            Ok(transitions) => {
                let transitions = transitions.to_vec();
                for t in transitions {
                    self.log_alert(&t);
                    self.events.push(EngineEvent::Alert(t));
                }
            }
            Err(e) => self.log_error(now, "alert_evaluation", &e.to_string()),
        }
    }

    /// Applies an execution report.
    pub fn on_exec(&mut self, now: SimTime, report: &ExecReport) {
        // A terminal report ends the order's tracking: take it out rather than copy it.
        let tracked = if report.is_terminal() {
            self.orders.remove(&report.client_order_id)
        } else {
            self.orders.get(&report.client_order_id).cloned()
        };
        let spec = self.market.spec(report.venue, report.symbol).cloned();
        let to_f = |q: Qty| spec.as_ref().map_or(0.0, |s| s.qty_to_f64(q));
        let outcome = match report.kind {
            ExecKind::Ack { order_id } => log_entry::ExecOutcome::Ack {
                order_id: order_id.0,
            },
            ExecKind::Reject { reason } => log_entry::ExecOutcome::Reject {
                reason: reason.as_str().to_owned(),
            },
            ExecKind::Fill {
                price,
                qty,
                fee,
                fee_asset,
                liquidity,
                leaves,
            } => log_entry::ExecOutcome::Fill {
                price: spec.as_ref().map_or(0.0, |s| s.price_to_f64(price)),
                quantity: to_f(qty),
                fee: fee.to_units_f64(),
                fee_asset: fee_asset.as_str().to_owned(),
                liquidity,
                leaves: to_f(leaves),
            },
            ExecKind::Cancelled { leaves } => log_entry::ExecOutcome::Cancel {
                leaves: to_f(leaves),
            },
            ExecKind::Expired { leaves } => log_entry::ExecOutcome::Expiry {
                leaves: to_f(leaves),
            },
        };
        self.write(&log_entry::ExecutionReport {
            at: now,
            venue: report.venue.as_str().into(),
            symbol: report.symbol.as_str().into(),
            client_order_id: report.client_order_id.0,
            outcome,
            latency_ms: Some(now.saturating_since(report.at).as_millis_f64()),
        });
        let Some(tracked) = tracked else {
            return; // not ours (or already finished): logged, nothing else to do
        };
        let mut group = None;
        match report.kind {
            ExecKind::Ack { .. } => {}
            ExecKind::Fill {
                price, qty, leaves, ..
            } => {
                match self
                    .ledger
                    .apply_fill(tracked.schedule, tracked.side, report)
                {
                    Ok(fill) => {
                        if let Err(e) = self.risk.on_fill(&tracked.risk_profile, &fill.risk_fill) {
                            self.log_error(now, "risk_on_fill", &e.to_string());
                        }
                    }
                    Err(e) => self.log_error(now, "ledger_fill", &e.to_string()),
                }
                self.events.push(EngineEvent::Fill {
                    at: now,
                    schedule: tracked.schedule.as_str().to_owned(),
                    venue: report.venue,
                    symbol: report.symbol,
                    side: tracked.side,
                    qty: to_f(qty),
                    price: spec.as_ref().map_or(0.0, |s| s.price_to_f64(price)),
                });
                group = self.groups.on_fill(report.client_order_id, qty, leaves);
            }
            ExecKind::Reject { reason } => {
                self.events.push(EngineEvent::Reject {
                    at: now,
                    venue: report.venue,
                    symbol: report.symbol,
                    reason,
                });
                group = self.groups.on_end(report.client_order_id);
            }
            ExecKind::Cancelled { .. } | ExecKind::Expired { .. } => {
                group = self.groups.on_end(report.client_order_id);
            }
        }
        if let Some(id) = group
            && let Some(done) = self.groups.take_if_done(id)
        {
            let (purpose, retry) = self
                .group_purpose
                .remove(&id)
                .unwrap_or((done.purpose, None));
            self.settle_group(now, &tracked.risk_profile, purpose, retry, done);
        }
    }

    // ------------------------------------------------------------------ runs → orders

    fn finish_run(&mut self, now: SimTime, mut record: RunRecord) {
        // Every schedule has a route (and a valid id): `new` resolved them all.
        let Some(&route) = self.routes.get(record.schedule()) else {
            return;
        };
        let schedule = route.id;
        let signals: usize = record.signals().count();
        self.events.push(EngineEvent::Run {
            at: record.finished_at,
            schedule: record.schedule().to_owned(),
            latency_ms: record.latency.as_millis_f64(),
            drift_seconds: record.drift.as_secs_f64(),
            signals,
            outcome: match record.outcome {
                RunOutcome::Completed { .. } => "completed",
                RunOutcome::Suspended { .. } => "suspended",
                RunOutcome::Disabled => "disabled",
                RunOutcome::WindowClosed => "window_closed",
                RunOutcome::Failed { .. } => "failed",
            },
        });
        if let Some(telemetry) = record.telemetry.take() {
            // The payload is the scheduler's metrics plus the engine's own two, merged in key
            // order straight into the store: no map of owned keys is built per run.
            let drawdown = self.ledger.pnl_drawdown_pct(schedule);
            let deviation = self.exposure_deviation_pct(schedule);
            let own = [
                drawdown.map(|dd| (PNL_DRAWDOWN_PCT, dd)),
                Some((RISK_EXPOSURE_DEVIATION_PCT, deviation)),
            ];
            let mut metrics = std::mem::take(&mut self.run_metrics);
            merge_run_metrics(telemetry.iter(), own.into_iter().flatten(), &mut metrics);
            if let Err(e) = self.metrics.record_run_entries(
                record.schedule(),
                record.finished_at,
                metrics.iter().copied(),
            ) {
                self.log_error(now, "telemetry", &e.to_string());
            }
            self.run_metrics = metrics;
        }
        let RunOutcome::Completed { batches } = &record.outcome else {
            return;
        };
        if signals == 0 {
            return;
        }
        // One context for the whole run; only the signal id changes from signal to signal. It
        // is written over the previous run's, whose strings keep their buffers.
        let mut ctx = std::mem::take(&mut self.signal_context);
        ctx.at = record.started_at;
        overwrite(&mut ctx.environment, &self.settings.environment);
        overwrite(&mut ctx.portfolio, &self.settings.portfolio);
        overwrite(&mut ctx.risk_profile, record.risk_profile());
        overwrite(&mut ctx.schedule, record.schedule());
        overwrite(&mut ctx.strategy, record.strategy());
        // The entry's own default (`schedule:started_at`), computed once for the run.
        let run_id = ctx.schedule_run_id.get_or_insert_with(String::new);
        overwrite(run_id, record.schedule());
        run_id.push(':');
        record.started_at.write_rfc3339(run_id);
        overwrite_opt(&mut ctx.primary_exchange, Some(route.venue.as_str()));
        overwrite_opt(
            &mut ctx.secondary_exchange,
            route.secondary_venue.as_ref().map(VenueId::as_str),
        );
        overwrite_opt(&mut ctx.instrument_type, Some("spot"));
        overwrite(&mut ctx.data_feed, &self.settings.data_feed);
        ctx.latency_ms = record.latency.as_millis_f64();
        for batch in batches {
            for signal in batch.signals {
                // `schedule:symbol:started_at`, in one buffer for the whole run: the log entry
                // and the orders borrow it.
                let signal_id = ctx.signal_id.get_or_insert_with(String::new);
                overwrite(signal_id, record.schedule());
                signal_id.push(':');
                signal_id.push_str(signal.symbol.as_str());
                signal_id.push(':');
                record.started_at.write_rfc3339(signal_id);
                if let Some(w) = &mut self.log {
                    log_entry::write_strategy_signal_text(&ctx, signal, &mut self.entry_text);
                    self.log_lines.push(w.append_text(&mut self.entry_text));
                }
                let origin = OrderOrigin {
                    schedule,
                    strategy: record.strategy(),
                    risk_profile: record.risk_profile(),
                    signal_id: ctx.signal_id.as_deref(),
                    interval: route.interval,
                };
                self.route(now, &origin, &route, signal);
            }
        }
        self.signal_context = ctx;
    }

    fn route(
        &mut self,
        now: SimTime,
        origin: &OrderOrigin<'_>,
        market: &ScheduleRoute,
        signal: &Signal,
    ) {
        if self.scheduler.is_disabled() {
            return self.refuse(now, origin, signal.symbol, "rollback_override");
        }
        let venue = market.venue;
        let key = PositionKey {
            strategy: origin.schedule,
            venue,
            symbol: signal.symbol,
        };
        let current = self.ledger.position(&key).map_or(Qty::ZERO, |p| p.qty);
        let Some(spec) = self.market.spec(venue, signal.symbol).cloned() else {
            return self.refuse(now, origin, signal.symbol, "unknown_instrument");
        };
        let Some(mark) = self.ledger.mark_price(venue, signal.symbol) else {
            return self.refuse(now, origin, signal.symbol, "no_price");
        };
        let price = spec.price_to_f64(mark);
        let capital = self.schedule_capital(origin.schedule);
        let entry_lots =
            spec.qty_floor_from_f64(self.settings.execution.position_size * capital / price);
        match signal.side {
            SignalSide::Buy | SignalSide::Sell => {
                let target = match (signal.metadata.regime(), signal.side) {
                    (Some(Regime::LongEntry), _) => entry_lots,
                    (Some(Regime::ShortEntry), _) => -entry_lots,
                    (Some(Regime::LongExit | Regime::ShortExit), _) => Qty::ZERO,
                    (None, SignalSide::Buy) if current.get() < 0 => Qty::ZERO,
                    (None, SignalSide::Buy) => entry_lots,
                    (None, _) if current.get() > 0 => Qty::ZERO,
                    (None, _) => -entry_lots,
                };
                self.move_to(now, origin, venue, signal.symbol, current, target);
            }
            SignalSide::Rebalance => {
                let allocation = signal.metadata.target_allocation().unwrap_or(0.0).max(0.0);
                let target = spec.qty_floor_from_f64(allocation * capital / price);
                self.move_to(now, origin, venue, signal.symbol, current, target);
            }
            SignalSide::Open(_) => {
                let legs: Vec<(VenueId, Symbol, Side, Qty)> = signal
                    .legs
                    .iter()
                    .filter_map(|leg| {
                        let s = self.market.spec(leg.venue, leg.symbol)?;
                        let q = s.qty_floor_from_f64(leg.quantity);
                        q.is_positive()
                            .then_some((leg.venue, leg.symbol, leg.side, q))
                    })
                    .collect();
                if legs.len() != signal.legs.len() {
                    return self.refuse(now, origin, signal.symbol, "unsized_leg");
                }
                self.send_group(now, origin, GroupPurpose::Open, None, &legs);
            }
            SignalSide::Close(_) => {
                let Some(secondary) = market.secondary_venue else {
                    return self.refuse(now, origin, signal.symbol, "no_secondary_venue");
                };
                let retry = RetryClose {
                    schedule: origin.schedule,
                    risk_profile: origin.risk_profile.to_owned(),
                    venues: [venue, secondary],
                    symbol: signal.symbol,
                };
                self.close_pair(now, origin, retry);
            }
        }
    }

    /// Sends the order that moves a schedule's position from `current` to `target` lots.
    fn move_to(
        &mut self,
        now: SimTime,
        origin: &OrderOrigin<'_>,
        venue: VenueId,
        symbol: Symbol,
        current: Qty,
        target: Qty,
    ) {
        let key = PositionKey {
            strategy: origin.schedule,
            venue,
            symbol,
        };
        self.targets.insert(key, target);
        let delta = target.get() - current.get();
        if delta == 0 {
            return;
        }
        let side = if delta > 0 { Side::Buy } else { Side::Sell };
        if let Some(qty) = self.approve(now, origin, venue, symbol, side, Qty(delta.abs()), true) {
            self.submit(now, origin, venue, symbol, side, qty, false);
        }
    }

    fn close_pair(&mut self, now: SimTime, origin: &OrderOrigin<'_>, retry: RetryClose) {
        // Closing one leg of a pair while the other venue is down would leave the survivor
        // unhedged: keep the pair whole and retry when both venues are up.
        if !retry.venues.iter().all(|v| self.market.is_up(*v)) {
            self.refuse(now, origin, retry.symbol, "venue_down");
            return self.schedule_retry(now, retry);
        }
        let mut legs = Vec::new();
        for venue in retry.venues {
            let key = PositionKey {
                strategy: retry.schedule,
                venue,
                symbol: retry.symbol,
            };
            self.targets.insert(key, Qty::ZERO);
            let qty = self.ledger.position(&key).map_or(Qty::ZERO, |p| p.qty);
            if qty.get() != 0 {
                let side = if qty.get() > 0 { Side::Sell } else { Side::Buy };
                legs.push((venue, retry.symbol, side, Qty(qty.get().abs())));
            }
        }
        if !legs.is_empty() {
            self.send_group(now, origin, GroupPurpose::Close, Some(retry), &legs);
        }
    }

    fn send_group(
        &mut self,
        now: SimTime,
        origin: &OrderOrigin<'_>,
        purpose: GroupPurpose,
        retry: Option<RetryClose>,
        legs: &[(VenueId, Symbol, Side, Qty)],
    ) {
        // An opening pair goes out whole or not at all: every venue must be up and every leg
        // must pass risk unchanged.
        if purpose == GroupPurpose::Open {
            if let Some(&(_, symbol, _, _)) =
                legs.iter().find(|(v, _, _, _)| !self.market.is_up(*v))
            {
                return self.refuse(now, origin, symbol, "venue_down");
            }
            for &(venue, symbol, side, qty) in legs {
                if self.approve(now, origin, venue, symbol, side, qty, false) != Some(qty) {
                    return;
                }
            }
        }
        let mut group_legs = Vec::new();
        for &(venue, symbol, side, qty) in legs {
            let key = PositionKey {
                strategy: origin.schedule,
                venue,
                symbol,
            };
            let sent = match purpose {
                GroupPurpose::Open => {
                    let current = self.ledger.position(&key).map_or(Qty::ZERO, |p| p.qty);
                    self.targets
                        .insert(key, Qty(current.get() + side.sign() * qty.get()));
                    Some(self.submit(now, origin, venue, symbol, side, qty, false))
                }
                _ => self
                    .approve(now, origin, venue, symbol, side, qty, false)
                    .map(|q| self.submit(now, origin, venue, symbol, side, q, false)),
            };
            group_legs.push(Leg {
                client_order_id: sent,
                venue,
                symbol,
                side,
                qty,
                filled: Qty::ZERO,
                done: sent.is_none(),
            });
        }
        if group_legs.iter().all(|l| l.client_order_id.is_none()) {
            if let Some(retry) = retry {
                self.schedule_retry(now, retry);
            }
            return;
        }
        let id = self.groups.insert(LegGroup {
            schedule: origin.schedule,
            purpose,
            legs: group_legs,
        });
        self.group_purpose.insert(id, (purpose, retry));
    }

    /// Risk-checks an order; returns the quantity approved (possibly resized down once to the
    /// limit's `max_quantity` when `allow_resize`), or `None` when it must not be sent. Every
    /// decision is logged.
    #[allow(clippy::too_many_arguments)]
    fn approve(
        &mut self,
        now: SimTime,
        origin: &OrderOrigin<'_>,
        venue: VenueId,
        symbol: Symbol,
        side: Side,
        qty: Qty,
        allow_resize: bool,
    ) -> Option<Qty> {
        if self.scheduler.is_disabled() {
            self.refuse(now, origin, symbol, "rollback_override");
            return None;
        }
        let Some(spec) = self.market.spec(venue, symbol).cloned() else {
            self.refuse(now, origin, symbol, "unknown_instrument");
            return None;
        };
        let Some(mark) = self.ledger.mark_price(venue, symbol) else {
            self.refuse(now, origin, symbol, "no_price");
            return None;
        };
        let Some(profile) = self.risk.profile(origin.risk_profile) else {
            self.refuse(now, origin, symbol, "unknown_risk_profile");
            return None;
        };
        let price = spec.price_to_f64(mark);
        // A flat market has a zero ATR, which risk refuses; one tick is the smallest real range.
        let tick = spec.price_to_f64(crate::domain::Price(1));
        let history = self.market.recent(
            venue,
            symbol,
            origin.interval,
            self.settings.execution.atr_period + 1,
        );
        let atr = average_true_range(&history, self.settings.execution.atr_period)
            .unwrap_or(0.0)
            .max(tick);
        // The stop depends on side, price and ATR only, so it is the same for a resized retry.
        let stop = StopPlan::from_atr(side, price, atr, &profile.limits);
        let equity = self.ledger.total_equity().to_units_f64();
        let account = AccountSnapshot {
            total_equity: equity,
            available_margin: equity,
            maintenance_margin: 0.0,
        };
        let mut qty = qty;
        loop {
            if qty < spec.min_qty || spec.notional(mark, qty) < spec.min_notional {
                self.refuse(now, origin, symbol, "below_venue_minimum");
                return None;
            }
            let order = RiskOrder {
                venue,
                symbol,
                side,
                quantity: spec.qty_to_f64(qty),
                price: Some(price),
                stop: Some(stop),
            };
            let outcome =
                match self
                    .risk
                    .apply_pre_trade_checks(now, origin.risk_profile, &order, &account)
                {
                    Ok(o) => o,
                    Err(e) => {
                        self.log_error(now, "risk", &e.to_string());
                        return None;
                    }
                };
            for alert in &outcome.alerts {
                let code = alert.kind.code();
                // Notices (trade risk below the minimum) go to the log only.
                if alert.severity != crate::risk::AlertSeverity::Notice {
                    self.events.push(EngineEvent::RiskAlert {
                        at: now,
                        code: code.to_owned(),
                        message: alert.message.clone(),
                    });
                }
                self.log_json(now, "risk_alert", |e| {
                    e.put_str("risk_profile", alert.profile.as_str());
                    e.put_str("alert", code);
                    e.put_str("severity", alert.severity.as_str());
                    e.put_str("message", alert.message.as_str());
                    e.put_float("value", alert.value);
                    e.put_float("threshold", alert.threshold);
                });
            }
            let (logged, refusal) = match &outcome.decision {
                RiskDecision::Approved { .. } => (log_entry::RiskOutcome::Approved, None),
                RiskDecision::Refused {
                    reason,
                    max_quantity,
                } => (
                    log_entry::RiskOutcome::Refused {
                        reason: reason.code().to_owned(),
                        max_quantity: *max_quantity,
                    },
                    Some((reason.code(), *max_quantity)),
                ),
            };
            self.write(&log_entry::RiskDecision {
                at: now,
                risk_profile: origin.risk_profile.into(),
                schedule: origin.schedule.as_str().into(),
                strategy: origin.strategy.into(),
                signal_id: origin.signal_id.map(Cow::Borrowed),
                symbol: symbol.as_str().into(),
                side: side.as_str().into(),
                quantity: order.quantity,
                price: Some(price),
                outcome: logged,
                latency_ms: None,
            });
            let Some((code, max_quantity)) = refusal else {
                return Some(qty);
            };
            let smaller = max_quantity
                .map(|q| spec.qty_floor_from_f64(q))
                .filter(|q| allow_resize && q.is_positive() && *q < qty);
            match smaller {
                Some(q) => qty = q,
                None => {
                    self.events.push(EngineEvent::Refused {
                        at: now,
                        schedule: origin.schedule.as_str().to_owned(),
                        symbol,
                        reason: code.to_owned(),
                    });
                    return None;
                }
            }
        }
    }

    /// Sends an approved order and returns its id.
    #[allow(clippy::too_many_arguments)]
    fn submit(
        &mut self,
        now: SimTime,
        origin: &OrderOrigin<'_>,
        venue: VenueId,
        symbol: Symbol,
        side: Side,
        qty: Qty,
        unwind: bool,
    ) -> ClientOrderId {
        self.next_order_id += 1;
        let id = ClientOrderId(self.next_order_id);
        let account = self.settings.accounts[&venue];
        let qty_units = self
            .market
            .spec(venue, symbol)
            .map_or(0.0, |s| s.qty_to_f64(qty));
        self.write(&log_entry::OrderSubmitted {
            at: now,
            venue: venue.as_str().into(),
            account: Some(account.to_string().into()),
            symbol: symbol.as_str().into(),
            client_order_id: id.0,
            side,
            quantity: qty_units,
            limit_price: None,
            time_in_force: TimeInForce::Ioc,
            schedule: Some(origin.schedule.as_str().into()),
            strategy: Some(origin.strategy.into()),
            signal_id: origin.signal_id.map(Cow::Borrowed),
            latency_ms: None,
        });
        self.events.push(EngineEvent::Order {
            at: now,
            schedule: origin.schedule.as_str().to_owned(),
            venue,
            symbol,
            side,
            qty: qty_units,
            client_order_id: id.0,
            unwind,
        });
        self.orders.insert(
            id,
            TrackedOrder {
                schedule: origin.schedule,
                risk_profile: origin.risk_profile.to_owned(),
                side,
            },
        );
        self.commands.push(VenueCommand::Submit(OrderRequest {
            client_order_id: id,
            account,
            venue,
            symbol,
            side,
            kind: OrderKind::Market,
            tif: TimeInForce::Ioc,
            qty,
            strategy: origin.schedule,
        }));
        id
    }

    fn settle_group(
        &mut self,
        now: SimTime,
        risk_profile: &str,
        purpose: GroupPurpose,
        retry: Option<RetryClose>,
        group: LegGroup,
    ) {
        let verdict = group.verdict();
        let unwind = match verdict {
            GroupVerdict::Consistent { filled: true } => return,
            GroupVerdict::Consistent { filled: false } => Vec::new(),
            GroupVerdict::Unwind(legs) => legs,
        };
        let strategy = group.schedule.as_str().to_owned();
        let origin = OrderOrigin {
            schedule: group.schedule,
            strategy: &strategy,
            risk_profile,
            signal_id: None,
            interval: crate::domain::SimDuration::from_mins(1),
        };
        if !unwind.is_empty() {
            self.log_json(now, "leg_group_unwind", |e| {
                e.put_str("schedule", group.schedule.as_str());
                e.put_str("purpose", &format!("{purpose:?}").to_ascii_lowercase());
                e.put_int("legs", unwind.len() as i128);
            });
            for (venue, symbol, side, qty) in &unwind {
                let key = PositionKey {
                    strategy: group.schedule,
                    venue: *venue,
                    symbol: *symbol,
                };
                let current = self.ledger.position(&key).map_or(Qty::ZERO, |p| p.qty);
                self.targets.insert(key, current);
                match self.approve(now, &origin, *venue, *symbol, *side, *qty, false) {
                    Some(q) => {
                        self.submit(now, &origin, *venue, *symbol, *side, q, true);
                    }
                    // The unwind could not go out (override active, no price): flatten later.
                    None => {
                        let pair = retry
                            .clone()
                            .or_else(|| self.pair_of(group.schedule, *symbol, risk_profile));
                        if let Some(r) = pair {
                            self.schedule_retry(now, r);
                        }
                    }
                }
            }
        }
        if purpose == GroupPurpose::Close
            && let Some(r) = retry
        {
            self.schedule_retry(now, r);
        }
    }

    /// The pair a cross-exchange schedule trades, for retries that did not come from a close.
    fn pair_of(
        &self,
        schedule: StrategyId,
        symbol: Symbol,
        risk_profile: &str,
    ) -> Option<RetryClose> {
        let route = self.routes.get(schedule.as_str())?;
        Some(RetryClose {
            schedule,
            risk_profile: risk_profile.to_owned(),
            venues: [route.venue, route.secondary_venue?],
            symbol,
        })
    }

    fn schedule_retry(&mut self, now: SimTime, retry: RetryClose) {
        self.retry_seq += 1;
        self.retries.insert(
            (now + self.settings.execution.retry_interval, self.retry_seq),
            retry,
        );
    }

    fn retry_close(&mut self, now: SimTime, retry: RetryClose) {
        let flat = retry.venues.iter().all(|v| {
            self.ledger
                .position(&PositionKey {
                    strategy: retry.schedule,
                    venue: *v,
                    symbol: retry.symbol,
                })
                .is_none_or(|p| p.qty.is_zero())
        });
        if flat {
            return;
        }
        let blocked =
            self.scheduler.is_disabled() || !retry.venues.iter().all(|v| self.market.is_up(*v));
        if blocked {
            return self.schedule_retry(now, retry);
        }
        let strategy = retry.schedule.as_str().to_owned();
        let profile = retry.risk_profile.clone();
        let origin = OrderOrigin {
            schedule: retry.schedule,
            strategy: &strategy,
            risk_profile: &profile,
            signal_id: None,
            interval: crate::domain::SimDuration::from_mins(1),
        };
        self.close_pair(now, &origin, retry);
    }

    fn refuse(&mut self, now: SimTime, origin: &OrderOrigin<'_>, symbol: Symbol, reason: &str) {
        self.events.push(EngineEvent::Refused {
            at: now,
            schedule: origin.schedule.as_str().to_owned(),
            symbol,
            reason: reason.to_owned(),
        });
        self.log_json(now, "order_skipped", |e| {
            e.put_str("schedule", origin.schedule.as_str());
            e.put_str("strategy", origin.strategy);
            e.put_str("symbol", symbol.as_str());
            e.put_str("reason", reason);
            if let Some(id) = origin.signal_id {
                e.put_str("signal_id", id);
            }
        });
    }

    // ------------------------------------------------------------------ bookkeeping

    fn schedule_capital(&self, schedule: StrategyId) -> f64 {
        let weight = self
            .scheduler
            .allocator_weight(schedule.as_str())
            .unwrap_or(0.0);
        self.ledger.total_equity().to_units_f64() * weight
    }

    /// `|actual − intended| × mark` summed over the schedule's instruments, as a percentage of
    /// the schedule's equity: how far the book is from what the strategy asked for (a rejected
    /// or unhedged leg shows up here).
    fn exposure_deviation_pct(&self, schedule: StrategyId) -> f64 {
        let Some(equity) = self.ledger.schedule_equity(schedule) else {
            return 0.0;
        };
        let equity = equity.to_units_f64();
        if equity <= 0.0 {
            return 0.0;
        }
        // Only targeted positions can differ from their target: a position without one counts
        // as on target and adds nothing (every term is ≥ +0.0, so skipping it keeps the sum).
        let mut gap = 0.0;
        for (key, target) in self.targets.iter().filter(|(k, _)| k.strategy == schedule) {
            let actual = self.ledger.position(key).map_or(0, |p| p.qty.get());
            if let (Some(spec), Some(mark)) = (
                self.market.spec(key.venue, key.symbol),
                self.ledger.mark_price(key.venue, key.symbol),
            ) {
                gap +=
                    spec.qty_to_f64(Qty((actual - target.get()).abs())) * spec.price_to_f64(mark);
            }
        }
        gap / equity * 100.0
    }

    fn mark_risk(&mut self, now: SimTime) {
        let equity = self.ledger.total_equity().to_units_f64();
        let profiles = std::mem::take(&mut self.risk_profiles);
        for profile in &profiles {
            let mark = MarkToMarket {
                at: now,
                equity,
                positions: None,
                daily_realized_pnl: None,
                weekly_realized_pnl: None,
                rolling_profit_30d: None,
                rolling_costs_30d: None,
            };
            if let Err(e) = self.risk.on_mark_to_market(profile, &mark) {
                self.log_error(now, "risk_mark", &e.to_string());
            }
        }
        self.risk_profiles = profiles;
    }

    fn flush_scheduler_events(&mut self) {
        for event in self.scheduler.drain_events() {
            match event {
                SchedulerEvent::Alert(alert) => {
                    self.log_json(alert.timestamp, "scheduler_alert", |e| {
                        e.put_str("code", alert.code);
                        e.put_str(
                            "severity",
                            &format!("{:?}", alert.severity).to_ascii_lowercase(),
                        );
                        e.put_str("message", alert.message.as_str());
                        if let Some(s) = &alert.schedule {
                            e.put_str("schedule", s.as_str());
                        }
                    });
                    self.events.push(EngineEvent::SchedulerAlert(alert));
                }
                SchedulerEvent::Suspension {
                    at,
                    scope,
                    name,
                    change,
                } => {
                    let change = match change {
                        SchedSuspensionChange::Suspended { suspension } => {
                            log_entry::SuspensionChange::Suspended {
                                reason: suspension.reason,
                                until: suspension.until,
                            }
                        }
                        SchedSuspensionChange::Resumed => {
                            log_entry::SuspensionChange::Resumed { actor: None }
                        }
                        SchedSuspensionChange::AutoResumed { .. } => {
                            log_entry::SuspensionChange::AutoResumed
                        }
                    };
                    self.write(&log_entry::ScheduleSuspension {
                        at,
                        name,
                        origin: format!("{scope:?}").to_ascii_lowercase(),
                        change,
                    });
                }
                SchedulerEvent::SignalLimit {
                    at,
                    strategy,
                    profile,
                    change,
                } => {
                    self.log_json(at, "signal_limit", |e| {
                        e.put_str("strategy", strategy.as_str());
                        e.put_str("risk_profile", profile.as_str());
                        e.put_json(
                            "change",
                            &Json::from_serialize(&change).unwrap_or(Json::Null),
                        );
                    });
                }
                SchedulerEvent::Rollback {
                    at,
                    transition,
                    state,
                } => {
                    let (o, log_state) = match &transition {
                        RollbackTransition::Activated(o) => (o, log_entry::OverrideState::Active),
                        RollbackTransition::Expired(o) => (o, log_entry::OverrideState::Expired),
                        RollbackTransition::Removed(o) => (o, log_entry::OverrideState::Removed),
                    };
                    self.write(&log_entry::OverrideTransition {
                        at,
                        component: "multi_strategy".to_owned(),
                        state: log_state,
                        reason: Some(o.reason.clone()),
                        ticket: o.ticket.clone(),
                        requested_by: o.requested_by.clone(),
                        expires_at: o.expires_at,
                    });
                    self.events.push(EngineEvent::Rollback { at, state });
                }
                SchedulerEvent::CapitalRebalanced {
                    at,
                    policy,
                    weights,
                } => {
                    self.log_json(at, "capital_rebalance", |e| {
                        e.put_str("policy", policy);
                        e.put_json(
                            "weights",
                            &Json::from_serialize(&weights).unwrap_or(Json::Null),
                        );
                    });
                }
                SchedulerEvent::PortfolioDecision { at, decision } => {
                    let GovernorDecision {
                        weights,
                        rebalance_required,
                        adjustments,
                        advisories,
                        ..
                    } = *decision;
                    self.events.push(EngineEvent::PortfolioDecision {
                        at,
                        rebalance_required,
                        weights: weights.clone(),
                    });
                    // The governor works in weights; the portfolio's value is ours to add.
                    let entry = log_entry::PortfolioDecision {
                        at,
                        environment: self.settings.environment.clone(),
                        portfolio: self.settings.portfolio.clone(),
                        rebalance_required,
                        portfolio_value: self.ledger.total_equity().to_units_f64(),
                        weights,
                        adjustments: adjustments
                            .into_iter()
                            .map(|a| log_entry::WeightChange {
                                strategy: a.strategy,
                                previous_weight: a.previous_weight,
                                weight: a.weight,
                            })
                            .collect(),
                        advisories: advisories
                            .iter()
                            .map(|a| Json::from_serialize(a).unwrap_or(Json::Null))
                            .collect(),
                    };
                    self.write(&entry);
                }
                SchedulerEvent::Aborted {
                    at,
                    schedule,
                    failures,
                } => {
                    self.log_json(at, "scheduler_aborted", |e| {
                        e.put_str("schedule", schedule.as_str());
                        e.put_int("failures", i128::from(failures));
                    });
                }
            }
        }
    }

    fn log_alert(&mut self, t: &TelemetryTransition) {
        let state = match t.kind {
            TransitionKind::Pending => Some(log_entry::AlertState::Pending),
            TransitionKind::Firing => Some(log_entry::AlertState::Firing),
            TransitionKind::Resolved => Some(log_entry::AlertState::Resolved),
            TransitionKind::Cleared => None,
        };
        let labels: BTreeMap<String, String> = t
            .labels
            .iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        match state {
            Some(state) => self.write(&log_entry::AlertTransition {
                at: t.at,
                rule: t.rule.clone(),
                state,
                labels,
                value: t.value.unwrap_or(f64::NAN),
            }),
            None => self.log_json(t.at, "alert_transition", |e| {
                e.put_str("rule", t.rule.as_str());
                e.put_str("state", "cleared");
                e.put_json(
                    "labels",
                    &Json::from_serialize(&labels).unwrap_or(Json::Null),
                );
            }),
        }
    }

    /// Logs an ad-hoc entry (`event`, `timestamp` and what `fill` sets), written straight to
    /// canonical text.
    fn log_json(&mut self, at: SimTime, event: &str, fill: impl FnOnce(&mut ObjectText)) {
        if let Some(w) = &mut self.log {
            let e = &mut self.entry_text;
            e.start_entry(event, at);
            fill(e);
            self.log_lines.push(w.append_text(e));
        }
    }

    fn log_error(&mut self, at: SimTime, stage: &str, message: &str) {
        self.log_json(at, "engine_error", |e| {
            e.put_str("stage", stage);
            e.put_str("message", message);
        });
    }
}

/// Sets `text` to `value`, keeping its buffer.
fn overwrite(text: &mut String, value: &str) {
    text.clear();
    text.push_str(value);
}

/// Sets an optional text to `value`, keeping its buffer while it stays set.
fn overwrite_opt(text: &mut Option<String>, value: Option<&str>) {
    match value {
        Some(value) => overwrite(text.get_or_insert_with(String::new), value),
        None => *text = None,
    }
}

/// Takes everything out of `queue`, leaving room for as many items as it held: a driver drains
/// after every step, and a queue that starts empty each time regrows (and copies) every step.
fn take_sized<T>(queue: &mut Vec<T>) -> Vec<T> {
    let room = queue.len();
    std::mem::replace(queue, Vec::with_capacity(room))
}

fn schedule_id(name: &str) -> Result<StrategyId, String> {
    StrategyId::new(name).map_err(|e| e.to_string())
}

/// Items waiting for a time, in (time, sequence number) order: a sorted ring buffer. Runs in
/// flight are queued nearly in finishing order and leave from the front, so inserting rarely
/// moves anything and taking one never does, where a B-tree of run records shifts whole records
/// inside its nodes on both. Behaves as a `BTreeMap<(SimTime, u64), T>` would: a key queued
/// twice keeps the later item.
#[derive(Debug)]
struct DueQueue<T> {
    items: VecDeque<((SimTime, u64), T)>,
}

impl<T> Default for DueQueue<T> {
    fn default() -> Self {
        DueQueue {
            items: VecDeque::new(),
        }
    }
}

impl<T> DueQueue<T> {
    /// Queues `item` under `key`.
    fn insert(&mut self, key: (SimTime, u64), item: T) {
        // Usually the newest key: look at the back before searching.
        if self.items.back().is_none_or(|(last, _)| *last < key) {
            return self.items.push_back((key, item));
        }
        let at = self.items.partition_point(|(k, _)| *k < key);
        match self.items.get_mut(at) {
            Some((k, slot)) if *k == key => *slot = item,
            _ => self.items.insert(at, (key, item)),
        }
    }

    /// The earliest time an item waits for.
    fn first_due(&self) -> Option<SimTime> {
        self.items.front().map(|((at, _), _)| *at)
    }

    /// Takes the first item if its time is at or before `now`.
    fn pop_due(&mut self, now: SimTime) -> Option<T> {
        if self.first_due()? > now {
            return None;
        }
        self.items.pop_front().map(|(_, item)| item)
    }
}

/// Payload key of a schedule's PnL drawdown, set by the engine (a ledger metric).
const PNL_DRAWDOWN_PCT: &str = "pnl_drawdown_pct";
/// Payload key of a schedule's exposure deviation, set by the engine (a risk metric).
const RISK_EXPOSURE_DEVIATION_PCT: &str = "risk_exposure_deviation_pct";

/// Fills `out` with a run's telemetry payload as (key, value) pairs in key order: the
/// scheduler's `reported` metrics and the engine's `own`, each in key order, merged; an own
/// metric replaces a reported one of the same name, as setting it in the payload map would.
fn merge_run_metrics(
    reported: impl Iterator<Item = (&'static str, f64)>,
    own: impl Iterator<Item = (&'static str, f64)>,
    out: &mut Vec<(&'static str, f64)>,
) {
    out.clear();
    let mut own = own.peekable();
    for (key, value) in reported {
        while let Some(pair) = own.next_if(|(k, _)| *k < key) {
            out.push(pair);
        }
        if own.peek().is_none_or(|(k, _)| *k != key) {
            out.push((key, value));
        }
    }
    out.extend(own);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Names around, between and equal to the engine's own two.
    const NAMES: [&str; 7] = [
        "avg_confidence",
        "pnl_drawdown_pct",
        "pnl_zzz",
        "risk_exposure_deviation_pct",
        "risk_a",
        "signals",
        "zz",
    ];

    proptest! {
        /// The merged pairs are the payload map the engine used to build: the reported
        /// metrics, then the own ones set over them.
        #[test]
        fn merged_metrics_are_the_payload_map(
            reported in proptest::collection::btree_map(proptest::sample::select(&NAMES[..]), -5.0..5.0f64, 0..7),
            drawdown in proptest::option::of(-5.0..5.0f64),
            deviation in -5.0..5.0f64,
        ) {
            let mut map: BTreeMap<String, f64> =
                reported.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect();
            if let Some(dd) = drawdown {
                map.insert(PNL_DRAWDOWN_PCT.to_owned(), dd);
            }
            map.insert(RISK_EXPOSURE_DEVIATION_PCT.to_owned(), deviation);
            let own = [
                drawdown.map(|dd| (PNL_DRAWDOWN_PCT, dd)),
                Some((RISK_EXPOSURE_DEVIATION_PCT, deviation)),
            ];
            let mut out = vec![("stale", 1.0)];
            merge_run_metrics(
                reported.iter().map(|(k, v)| (*k, *v)),
                own.into_iter().flatten(),
                &mut out,
            );
            let expected: Vec<(&str, f64)> = map.iter().map(|(k, v)| (k.as_str(), *v)).collect();
            prop_assert_eq!(out, expected);
        }
    }

    proptest! {
        /// The due queue hands out exactly what a B-tree keyed the same way would, in the
        /// same order, whatever the insertion order and repeated keys.
        #[test]
        fn due_queue_matches_a_btree(
            steps in proptest::collection::vec((0..6u64, 0..4u64, any::<bool>(), 0..8u64), 0..60),
        ) {
            let mut queue = DueQueue::default();
            let mut tree = BTreeMap::new();
            for (i, (at, seq, poll, now)) in steps.into_iter().enumerate() {
                let key = (SimTime::from_unix_secs(at), seq);
                queue.insert(key, i);
                tree.insert(key, i);
                if poll {
                    let now = SimTime::from_unix_secs(now);
                    loop {
                        let expected = match tree.first_entry() {
                            Some(e) if e.key().0 <= now => Some(e.remove()),
                            _ => None,
                        };
                        prop_assert_eq!(queue.pop_due(now), expected);
                        if expected.is_none() {
                            break;
                        }
                    }
                }
                prop_assert_eq!(queue.first_due(), tree.keys().next().map(|k| k.0));
            }
        }
    }
}
