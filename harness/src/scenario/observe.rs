//! What a run leaves behind for expectations, escalation and reports: a typed record of
//! orders, fills, rejects, refusals, runs, alerts, rollback transitions, action results and
//! sampled series (prices, equity, drawdown, latency), all on simulated time.

use std::collections::BTreeMap;

use serde::Serialize;
use stage4_engine::domain::{RejectReason, Side, SimDuration, SimTime, Symbol, VenueId};
use stage4_engine::engine::EngineEvent;
use stage4_engine::scheduler::SchedulerAlert;
use stage4_engine::telemetry::AlertTransition;

/// One order sent.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OrderSeen {
    /// When.
    pub at: SimTime,
    /// Schedule.
    pub schedule: String,
    /// Venue.
    pub venue: VenueId,
    /// Symbol.
    pub symbol: Symbol,
    /// Side.
    pub side: Side,
    /// Base units.
    pub qty: f64,
    /// An unwind of a broken leg group.
    pub unwind: bool,
}

/// One schedule run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RunSeen {
    /// When it finished.
    pub at: SimTime,
    /// Schedule.
    pub schedule: String,
    /// Duration, ms.
    pub latency_ms: f64,
    /// Signals emitted.
    pub signals: usize,
    /// Outcome word.
    pub outcome: &'static str,
}

/// What an operator action produced.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ActionResult {
    /// 1-based action index.
    pub index: usize,
    /// When.
    pub at: SimTime,
    /// `do` as written.
    pub name: String,
    /// Status word (audits: `ok`/`warn`/`fail`, `ok`/`warning`/`error`, rotation states;
    /// load test: `pass`/`fail`; others: `done` or `refused`).
    pub status: String,
    /// Audit outcome on the common scale (`ok`, `warn`, `fail`), for audits.
    pub audit_status: Option<crate::escalation::AuditStatus>,
    /// Warning check ids (audits).
    pub warnings: Vec<String>,
    /// Issue check ids (audits).
    pub issues: Vec<String>,
    /// One line for people.
    pub detail: String,
}

/// A sampled time series.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Series {
    /// `(time, value)` in time order.
    pub points: Vec<(SimTime, f64)>,
}

/// Everything observed during a run.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Observations {
    /// Orders sent.
    pub orders: Vec<OrderSeen>,
    /// Fills: (at, schedule, venue, symbol, side, qty, price).
    pub fills: Vec<(SimTime, String, VenueId, Symbol, Side, f64, f64)>,
    /// Venue rejects.
    pub rejects: Vec<(SimTime, VenueId, Symbol, RejectReason)>,
    /// Refusals (risk or router): (at, schedule, symbol, reason).
    pub refusals: Vec<(SimTime, String, Symbol, String)>,
    /// Risk alerts: (at, code, message).
    pub risk_alerts: Vec<(SimTime, String, String)>,
    /// Schedule runs.
    pub runs: Vec<RunSeen>,
    /// Prometheus-rule alert transitions.
    pub alerts: Vec<AlertTransition>,
    /// Rollback transitions: (at, state).
    pub rollback: Vec<(SimTime, &'static str)>,
    /// Scheduler alerts.
    pub scheduler_alerts: Vec<SchedulerAlert>,
    /// Portfolio-governor decisions: when, whether a weight moved, the new weights.
    pub portfolio_decisions: Vec<(SimTime, bool, BTreeMap<String, f64>)>,
    /// Action results in execution order.
    pub actions: Vec<ActionResult>,
    /// Bar closes per (venue, symbol).
    pub prices: BTreeMap<(VenueId, Symbol), Series>,
    /// Total equity, sampled once per bar.
    pub equity: Series,
    /// Total drawdown percent (≤ 0), sampled once per bar.
    pub drawdown: Series,
    /// Longest unhedged stretch per cross-exchange schedule (one leg open without an opposite
    /// leg on the other venue), and the stretch in progress.
    pub unhedged: BTreeMap<String, (SimDuration, Option<SimTime>)>,
}

impl Observations {
    /// Files engine events under their kind.
    pub fn ingest(&mut self, events: Vec<EngineEvent>) {
        for event in events {
            match event {
                EngineEvent::Run {
                    at,
                    schedule,
                    latency_ms,
                    signals,
                    outcome,
                    ..
                } => self.runs.push(RunSeen {
                    at,
                    schedule,
                    latency_ms,
                    signals,
                    outcome,
                }),
                EngineEvent::Order {
                    at,
                    schedule,
                    venue,
                    symbol,
                    side,
                    qty,
                    unwind,
                    ..
                } => self.orders.push(OrderSeen {
                    at,
                    schedule,
                    venue,
                    symbol,
                    side,
                    qty,
                    unwind,
                }),
                EngineEvent::Fill {
                    at,
                    schedule,
                    venue,
                    symbol,
                    side,
                    qty,
                    price,
                } => self
                    .fills
                    .push((at, schedule, venue, symbol, side, qty, price)),
                EngineEvent::Reject {
                    at,
                    venue,
                    symbol,
                    reason,
                } => self.rejects.push((at, venue, symbol, reason)),
                EngineEvent::Refused {
                    at,
                    schedule,
                    symbol,
                    reason,
                } => self.refusals.push((at, schedule, symbol, reason)),
                EngineEvent::RiskAlert { at, code, message } => {
                    self.risk_alerts.push((at, code, message))
                }
                EngineEvent::Alert(t) => self.alerts.push(t),
                EngineEvent::Rollback { at, state } => self.rollback.push((at, state)),
                EngineEvent::SchedulerAlert(a) => self.scheduler_alerts.push(a),
                EngineEvent::PortfolioDecision {
                    at,
                    rebalance_required,
                    weights,
                } => self
                    .portfolio_decisions
                    .push((at, rebalance_required, weights)),
            }
        }
    }

    /// Records whether a cross-exchange schedule holds an unhedged leg at `at`.
    pub fn observe_hedge(&mut self, schedule: &str, at: SimTime, unhedged: bool) {
        // Called at every step of the run loop: look the schedule up before allocating its key.
        if !self.unhedged.contains_key(schedule) {
            self.unhedged
                .insert(schedule.to_owned(), (SimDuration::ZERO, None));
        }
        let entry = self.unhedged.get_mut(schedule).expect("inserted above");
        match (unhedged, entry.1) {
            (true, None) => entry.1 = Some(at),
            (true, Some(since)) => entry.0 = entry.0.max(at.saturating_since(since)),
            (false, Some(since)) => {
                entry.0 = entry.0.max(at.saturating_since(since));
                entry.1 = None;
            }
            (false, None) => {}
        }
    }

    /// Total signals emitted.
    pub fn signals(&self) -> usize {
        self.runs.iter().map(|r| r.signals).sum()
    }
}
