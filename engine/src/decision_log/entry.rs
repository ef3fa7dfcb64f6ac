//! What goes into the decision log: one builder per kind of entry the engine and the operators
//! write, each producing the unsigned [`Json`] object a [`DecisionLogWriter`] signs.
//!
//! Every entry names its kind in `event` (the reference journal's discriminator, engine.md §6)
//! and carries `timestamp` from [`SimTime::to_rfc3339`], never from the wall clock. Inputs are
//! plain values (numbers, strings, [`SimTime`], a few domain enums) so the scheduler, risk and
//! execution code can map their own types onto them.
//!
//! | `event` | builder | written when |
//! |---|---|---|
//! | `strategy_signal` | [`strategy_signal`] + [`SignalContext`] | a bounded signal leaves the scheduler |
//! | `risk_decision` | [`RiskDecision`] | risk approves or refuses a signal |
//! | `order` | [`OrderSubmitted`] | an order is sent to a venue |
//! | `execution_report` | [`ExecutionReport`] | a venue acks, rejects, fills, cancels or expires it |
//! | `schedule_suspension` | [`ScheduleSuspension`] | a schedule is suspended, resumed or auto-resumed |
//! | `override_transition` | [`OverrideTransition`] | the rollback override becomes active, expires or is removed |
//! | `portfolio_rebalance` / `portfolio_review` | [`PortfolioDecision`] | the portfolio governor moves weights / reviews them without a move |
//! | `alert_transition` | [`AlertTransition`] | an alert rule goes pending, firing or resolved |
//! | `incident` | [`IncidentEntry`] | an operator opens, acknowledges, escalates or resolves an incident |
//! | `audit_result` | [`AuditResult`] | an audit tool finishes |
//! | `load_test_result` | [`LoadTestResult`] | a scheduler load test finishes |
//! | `operator_action` | [`OperatorAction`] | anything else an operator does |
//! | `seal` | [`seal_entry`] | a chained log is closed (see [`chain`](super::chain)) |
//!
//! `strategy_signal` reproduces the reference `TradingDecisionEvent` field for field (all values
//! strings, `None` omitted, signal metadata flattened with the `meta_` collision rule). One
//! deliberate difference: **`latency_ms` is always present.** The reference reads it from
//! metrics that were cleared at the start of the run, so it is missing from every reference
//! event although the telemetry profiles require it (engine.md §6, §13 item 7).
//!
//! The other kinds are ours; they keep numbers as JSON numbers. Floats print as Python's
//! `repr` in the canonical form, so every value here is reproducible byte for byte.
//!
//! [`DecisionLogWriter`]: super::writer::DecisionLogWriter

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::domain::{Liquidity, Side, SimTime, TimeInForce};
use crate::strategy::Signal;

use super::canonical::{Json, python_float_repr, write_python_float};
use super::members::{Members, ObjectText};

/// Category of incident entries, as the support playbook requires (ops.md §8).
pub const INCIDENT_CATEGORY: &str = "stage4_incident";

/// `event` values, one per entry kind.
pub mod events {
    /// A bounded strategy signal (the reference `TradingDecisionEvent`).
    pub const STRATEGY_SIGNAL: &str = "strategy_signal";
    /// A risk approval or refusal.
    pub const RISK_DECISION: &str = "risk_decision";
    /// An order sent to a venue.
    pub const ORDER: &str = "order";
    /// A venue's answer about an order.
    pub const EXECUTION_REPORT: &str = "execution_report";
    /// A schedule suspension change.
    pub const SCHEDULE_SUSPENSION: &str = "schedule_suspension";
    /// A rollback override change.
    pub const OVERRIDE_TRANSITION: &str = "override_transition";
    /// A portfolio-governor decision that moved weights.
    pub const PORTFOLIO_REBALANCE: &str = "portfolio_rebalance";
    /// A portfolio-governor decision that moved nothing.
    pub const PORTFOLIO_REVIEW: &str = "portfolio_review";
    /// An alert state change.
    pub const ALERT_TRANSITION: &str = "alert_transition";
    /// An incident lifecycle step.
    pub const INCIDENT: &str = "incident";
    /// An audit outcome.
    pub const AUDIT_RESULT: &str = "audit_result";
    /// A load-test outcome.
    pub const LOAD_TEST_RESULT: &str = "load_test_result";
    /// A free-form operator action.
    pub const OPERATOR_ACTION: &str = "operator_action";
    /// The closing entry of a chained log.
    pub const SEAL: &str = "seal";
}

/// An entry kind: something that turns into one decision-log object.
pub trait Entry {
    /// The `event` value this entry is written with.
    fn event(&self) -> &'static str;
    /// The unsigned entry object.
    fn to_json(&self) -> Json;
    /// The same object as canonical text, for
    /// [`DecisionLogWriter::append_text`](super::writer::DecisionLogWriter::append_text). The
    /// kinds the engine writes for every order build it directly.
    fn to_object_text(&self) -> ObjectText {
        ObjectText::from_json(&self.to_json()).expect("entries are JSON objects")
    }
    /// [`to_object_text`](Self::to_object_text) into an object kept by the caller, whose
    /// previous members are dropped: a writer of many lines reuses one object's buffers.
    fn write_object_text(&self, out: &mut ObjectText) {
        *out = self.to_object_text();
    }
}

/// The [`Entry`] impl of a kind whose members are written by its own `members(&self, e)`:
/// the tree and the canonical text are filled by that one function, so they cannot drift
/// apart.
macro_rules! entry_from_members {
    ($kind:ty, $event:expr) => {
        impl Entry for $kind {
            fn event(&self) -> &'static str {
                $event
            }

            fn to_json(&self) -> Json {
                let mut e = base_entry(self.event(), self.at);
                self.members(&mut e);
                e
            }

            fn to_object_text(&self) -> ObjectText {
                let mut e = ObjectText::new();
                self.write_object_text(&mut e);
                e
            }

            fn write_object_text(&self, out: &mut ObjectText) {
                out.start_entry(self.event(), self.at);
                self.members(out);
            }
        }
    };
}

/// A new entry object holding `event` and `timestamp`.
pub fn base_entry(event: &str, at: SimTime) -> Json {
    let mut entry = Json::object();
    entry
        .insert("event", Json::str(event))
        .insert("timestamp", Json::Str(at.to_rfc3339()));
    entry
}

/// Formats a number the way the reference journal does: `%.10f` with trailing zeros (and a
/// trailing point) stripped, `"0"` for zero; `nan`/`inf`/`-inf` as Python prints them.
pub fn journal_decimal(v: f64) -> String {
    let mut text = String::with_capacity(24);
    write_journal_decimal(v, &mut text);
    text
}

/// Appends [`journal_decimal`] of `v` to `out` without allocating.
pub fn write_journal_decimal(v: f64, out: &mut String) {
    if v.is_nan() {
        return out.push_str("nan");
    }
    if v.is_infinite() {
        return out.push_str(if v > 0.0 { "inf" } else { "-inf" });
    }
    let start = out.len();
    write!(out, "{v:.10}").expect("writing to a String cannot fail");
    let kept = out[start..]
        .trim_end_matches('0')
        .trim_end_matches('.')
        .len();
    out.truncate(start + kept);
    if matches!(&out[start..], "" | "-0") {
        out.truncate(start);
        out.push('0');
    }
}

/// A value as the reference journal stringifies signal metadata: strings as they are,
/// `true`/`false`, `null`, numbers as Python prints them, containers as compact sorted JSON.
pub fn journal_string(v: &Json) -> String {
    match v {
        Json::Str(s) => s.clone(),
        Json::Bool(true) => "true".to_owned(),
        Json::Bool(false) => "false".to_owned(),
        Json::Null => "null".to_owned(),
        Json::Int(digits) => digits.clone(),
        // Python's `str(float)`: like `repr`, except `nan`, `inf`, `-inf`.
        Json::Float(f) if !f.is_finite() => journal_decimal(*f),
        Json::Float(f) => python_float_repr(*f),
        Json::Array(_) | Json::Object(_) => v.canonical(),
    }
}

fn put(entry: &mut Json, key: &str, value: impl Into<Json>) {
    entry.insert(key, value.into());
}

fn put_opt<T: Into<Json>>(entry: &mut Json, key: &str, value: Option<T>) {
    if let Some(v) = value {
        entry.insert(key, v.into());
    }
}

fn put_opt_str(entry: &mut Json, key: &str, value: &Option<String>) {
    if let Some(v) = value {
        entry.insert(key, Json::str(v.as_str()));
    }
}

fn put_opt_text(entry: &mut impl Members, key: &str, value: &Option<impl AsRef<str>>) {
    if let Some(v) = value {
        entry.put_str(key, v.as_ref());
    }
}

fn put_opt_float(entry: &mut impl Members, key: &str, value: Option<f64>) {
    if let Some(v) = value {
        entry.put_float(key, v);
    }
}

fn string_map(map: &BTreeMap<String, String>) -> Json {
    Json::Object(
        map.iter()
            .map(|(k, v)| (k.clone(), Json::str(v.as_str())))
            .collect(),
    )
}

fn time_in_force_name(tif: TimeInForce) -> &'static str {
    match tif {
        TimeInForce::Gtc => "gtc",
        TimeInForce::Ioc => "ioc",
        TimeInForce::PostOnly => "post_only",
    }
}

fn liquidity_name(liquidity: Liquidity) -> &'static str {
    match liquidity {
        Liquidity::Maker => "maker",
        Liquidity::Taker => "taker",
    }
}

// ---------------------------------------------------------------------------------------------
// strategy_signal

/// Where a signal came from: the fields of the reference `TradingDecisionEvent` that the
/// signal itself does not carry. `None` fields take the reference defaults (see each field).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SignalContext {
    /// When the schedule ran (the event timestamp and the ids below use it).
    pub at: SimTime,
    /// Deployment environment, e.g. `binance_paper`.
    pub environment: String,
    /// Portfolio name.
    pub portfolio: String,
    /// Risk profile of the schedule (`balanced`, ...).
    pub risk_profile: String,
    /// Schedule name.
    pub schedule: String,
    /// Strategy name.
    pub strategy: String,
    /// Default `<schedule>:<timestamp>`.
    pub schedule_run_id: Option<String>,
    /// Default: the strategy name.
    pub strategy_instance_id: Option<String>,
    /// Default `<schedule>:<symbol>:<timestamp>`.
    pub signal_id: Option<String>,
    /// Primary venue, when the schedule names one.
    pub primary_exchange: Option<String>,
    /// Secondary venue (arbitrage), when the schedule names one.
    pub secondary_exchange: Option<String>,
    /// Instrument type (`spot`, ...), when known.
    pub instrument_type: Option<String>,
    /// Name of the data feed.
    pub data_feed: String,
    /// Default: the risk profile.
    pub risk_budget_bucket: Option<String>,
    /// How long the schedule's run took up to this signal, in milliseconds.
    pub latency_ms: f64,
    /// Extra metadata to copy next to the signal's own (stringified, `meta_` rule applies).
    pub extra_metadata: BTreeMap<String, Json>,
}

/// Top-level names of a `strategy_signal` entry; metadata keys equal to one of these get a
/// `meta_` prefix. The chain and signature members are included so metadata can never
/// overwrite them.
const SIGNAL_FIELDS: [&str; 25] = [
    "event",
    "timestamp",
    "environment",
    "portfolio",
    "risk_profile",
    "symbol",
    "side",
    "schedule",
    "strategy",
    "schedule_run_id",
    "strategy_instance_id",
    "signal_id",
    "primary_exchange",
    "secondary_exchange",
    "base_asset",
    "quote_asset",
    "instrument_type",
    "data_feed",
    "risk_budget_bucket",
    "confidence",
    "latency_ms",
    "telemetry_namespace",
    "seq",
    "prev_hash",
    "signature",
];

/// The signal's metadata as `key → value` before stringification: the typed metadata fields
/// that are set, then `quantity`, `intent` and `legs` (the reference keeps these in its
/// metadata map too), then the context's extras (which win on equal keys).
fn signal_metadata(ctx: &SignalContext, signal: &Signal) -> BTreeMap<String, Json> {
    let mut meta = BTreeMap::new();
    if let Some(typed) = super::serialize::non_null_members(&signal.metadata) {
        meta.extend(typed);
    }
    if let Some(q) = signal.quantity {
        meta.insert("quantity".to_owned(), Json::Float(q));
    }
    if let Ok(intent) = Json::from_serialize(&signal.intent) {
        meta.insert("intent".to_owned(), intent);
    }
    if !signal.legs.is_empty()
        && let Ok(legs) = Json::from_serialize(&signal.legs)
    {
        meta.insert("legs".to_owned(), legs);
    }
    meta.extend(
        ctx.extra_metadata
            .iter()
            .map(|(k, v)| (k.clone(), v.clone())),
    );
    meta
}

/// The `strategy_signal` entry for one bounded signal (engine.md §6), with `latency_ms`.
pub fn strategy_signal(ctx: &SignalContext, signal: &Signal) -> Json {
    let mut e = base_entry(events::STRATEGY_SIGNAL, ctx.at);
    signal_members(ctx, signal, &mut e);
    e
}

/// [`strategy_signal`] as canonical text (the engine's hot path).
pub fn strategy_signal_text(ctx: &SignalContext, signal: &Signal) -> ObjectText {
    let mut e = ObjectText::new();
    write_strategy_signal_text(ctx, signal, &mut e);
    e
}

/// [`strategy_signal_text`] into an object kept by the caller (its previous members are
/// dropped), so a run's signals reuse one object's buffers.
pub fn write_strategy_signal_text(ctx: &SignalContext, signal: &Signal, out: &mut ObjectText) {
    out.start_entry(events::STRATEGY_SIGNAL, ctx.at);
    signal_members(ctx, signal, out);
}

fn signal_members(ctx: &SignalContext, signal: &Signal, e: &mut impl Members) {
    // One buffer for every value that has to be composed: ids, namespace, metadata floats.
    let mut scratch = String::with_capacity(128);
    let symbol = signal.symbol.as_str();
    e.put_str("environment", &ctx.environment);
    e.put_str("portfolio", &ctx.portfolio);
    e.put_str("risk_profile", &ctx.risk_profile);
    e.put_str("symbol", symbol);
    e.put_str("side", &signal.side.to_reference_string());
    e.put_str("schedule", &ctx.schedule);
    e.put_str("strategy", &ctx.strategy);
    match &ctx.schedule_run_id {
        Some(id) => e.put_str("schedule_run_id", id),
        None => {
            scratch.clear();
            scratch.push_str(&ctx.schedule);
            scratch.push(':');
            ctx.at.write_rfc3339(&mut scratch);
            e.put_str("schedule_run_id", &scratch);
        }
    }
    e.put_str(
        "strategy_instance_id",
        ctx.strategy_instance_id.as_deref().unwrap_or(&ctx.strategy),
    );
    match &ctx.signal_id {
        Some(id) => e.put_str("signal_id", id),
        None => {
            scratch.clear();
            scratch.push_str(&ctx.schedule);
            scratch.push(':');
            scratch.push_str(symbol);
            scratch.push(':');
            ctx.at.write_rfc3339(&mut scratch);
            e.put_str("signal_id", &scratch);
        }
    }
    put_opt_text(e, "primary_exchange", &ctx.primary_exchange);
    put_opt_text(e, "secondary_exchange", &ctx.secondary_exchange);
    if let Some((base, quote)) = signal.symbol.split_assets() {
        e.put_str("base_asset", base.as_str());
        e.put_str("quote_asset", quote.as_str());
    }
    put_opt_text(e, "instrument_type", &ctx.instrument_type);
    e.put_str("data_feed", &ctx.data_feed);
    e.put_str(
        "risk_budget_bucket",
        ctx.risk_budget_bucket
            .as_deref()
            .unwrap_or(&ctx.risk_profile),
    );
    scratch.clear();
    write_journal_decimal(signal.confidence, &mut scratch);
    e.put_str("confidence", &scratch);
    scratch.clear();
    write_journal_decimal(ctx.latency_ms, &mut scratch);
    e.put_str("latency_ms", &scratch);
    scratch.clear();
    scratch.push_str(&ctx.environment);
    scratch.push_str(".multi_strategy.");
    scratch.push_str(&ctx.schedule);
    e.put_str("telemetry_namespace", &scratch);
    for (key, value) in signal_metadata(ctx, signal) {
        let mut key = key;
        while SIGNAL_FIELDS.contains(&key.as_str()) || e.has(&key) {
            key = format!("meta_{key}");
        }
        put_journal_string(e, &key, &value, &mut scratch);
    }
}

/// Sets `key` to [`journal_string`] of `value`, without building a new string when the
/// value already is its text (strings, integers) or can be written into `scratch` (floats).
fn put_journal_string(e: &mut impl Members, key: &str, value: &Json, scratch: &mut String) {
    match value {
        Json::Str(s) => e.put_str(key, s),
        Json::Int(digits) => e.put_str(key, digits),
        Json::Float(f) if f.is_finite() => {
            scratch.clear();
            write_python_float(*f, scratch);
            e.put_str(key, scratch);
        }
        _ => e.put_str(key, &journal_string(value)),
    }
}

// ---------------------------------------------------------------------------------------------
// risk_decision

/// What risk answered.
#[derive(Clone, Debug, PartialEq)]
pub enum RiskOutcome {
    /// The order may go ahead.
    Approved,
    /// The order may not go ahead as asked.
    Refused {
        /// Why (the risk engine's reason code, e.g. `max_position_exceeded`).
        reason: String,
        /// The largest quantity risk would have allowed, when it says.
        max_quantity: Option<f64>,
    },
}

/// `risk_decision`: the risk engine's verdict on one candidate order.
#[derive(Clone, Debug, PartialEq)]
pub struct RiskDecision<'a> {
    /// When risk decided.
    pub at: SimTime,
    /// Risk profile applied.
    pub risk_profile: Cow<'a, str>,
    /// Schedule the signal came from.
    pub schedule: Cow<'a, str>,
    /// Strategy the signal came from.
    pub strategy: Cow<'a, str>,
    /// The signal's id (links to its `strategy_signal` entry).
    pub signal_id: Option<Cow<'a, str>>,
    /// Instrument.
    pub symbol: Cow<'a, str>,
    /// Requested side (reference side string).
    pub side: Cow<'a, str>,
    /// Requested quantity, base units.
    pub quantity: f64,
    /// Reference price used for the checks, when there is one.
    pub price: Option<f64>,
    /// The verdict.
    pub outcome: RiskOutcome,
    /// How long the check took, ms.
    pub latency_ms: Option<f64>,
}

impl RiskDecision<'_> {
    fn members(&self, e: &mut impl Members) {
        e.put_str("risk_profile", &self.risk_profile);
        e.put_str("schedule", &self.schedule);
        e.put_str("strategy", &self.strategy);
        put_opt_text(e, "signal_id", &self.signal_id);
        e.put_str("symbol", &self.symbol);
        e.put_str("side", &self.side);
        e.put_float("quantity", self.quantity);
        put_opt_float(e, "price", self.price);
        match &self.outcome {
            RiskOutcome::Approved => e.put_str("decision", "approved"),
            RiskOutcome::Refused {
                reason,
                max_quantity,
            } => {
                e.put_str("decision", "refused");
                e.put_str("reason", reason);
                put_opt_float(e, "max_quantity", *max_quantity);
            }
        }
        put_opt_float(e, "latency_ms", self.latency_ms);
    }
}

entry_from_members!(RiskDecision<'_>, events::RISK_DECISION);

// ---------------------------------------------------------------------------------------------
// order

/// `order`: an order sent to a venue.
#[derive(Clone, Debug, PartialEq)]
pub struct OrderSubmitted<'a> {
    /// When it was sent.
    pub at: SimTime,
    /// Venue.
    pub venue: Cow<'a, str>,
    /// Account.
    pub account: Option<Cow<'a, str>>,
    /// Instrument.
    pub symbol: Cow<'a, str>,
    /// The engine's id of the order.
    pub client_order_id: u64,
    /// Buy or sell.
    pub side: Side,
    /// Quantity, base units.
    pub quantity: f64,
    /// Limit price; `None` for a market order.
    pub limit_price: Option<f64>,
    /// Time in force.
    pub time_in_force: TimeInForce,
    /// Schedule that caused it.
    pub schedule: Option<Cow<'a, str>>,
    /// Strategy that caused it.
    pub strategy: Option<Cow<'a, str>>,
    /// The signal it implements.
    pub signal_id: Option<Cow<'a, str>>,
    /// Signal-to-order latency, ms.
    pub latency_ms: Option<f64>,
}

impl OrderSubmitted<'_> {
    fn members(&self, e: &mut impl Members) {
        e.put_str("status", "submitted");
        e.put_str("venue", &self.venue);
        put_opt_text(e, "account", &self.account);
        e.put_str("symbol", &self.symbol);
        e.put_int("client_order_id", i128::from(self.client_order_id));
        e.put_str("side", self.side.as_str());
        e.put_float("quantity", self.quantity);
        match self.limit_price {
            Some(price) => {
                e.put_str("order_type", "limit");
                e.put_float("limit_price", price);
            }
            None => e.put_str("order_type", "market"),
        }
        e.put_str("time_in_force", time_in_force_name(self.time_in_force));
        put_opt_text(e, "schedule", &self.schedule);
        put_opt_text(e, "strategy", &self.strategy);
        put_opt_text(e, "signal_id", &self.signal_id);
        put_opt_float(e, "latency_ms", self.latency_ms);
    }
}

entry_from_members!(OrderSubmitted<'_>, events::ORDER);

// ---------------------------------------------------------------------------------------------
// execution_report

/// What a venue said about an order.
#[derive(Clone, Debug, PartialEq)]
pub enum ExecOutcome {
    /// Accepted.
    Ack {
        /// The venue's id for the order.
        order_id: u64,
    },
    /// Refused.
    Reject {
        /// The venue's reason (`RejectReason::as_str`).
        reason: String,
    },
    /// (Part of) the order traded.
    Fill {
        /// Execution price.
        price: f64,
        /// Quantity traded in this fill, base units.
        quantity: f64,
        /// Fee charged, in `fee_asset` units.
        fee: f64,
        /// Asset the fee is charged in.
        fee_asset: String,
        /// Maker or taker.
        liquidity: Liquidity,
        /// Quantity still open, base units.
        leaves: f64,
    },
    /// Cancelled on request.
    Cancel {
        /// Quantity that was still open.
        leaves: f64,
    },
    /// Ended by its time in force.
    Expiry {
        /// Quantity that did not trade.
        leaves: f64,
    },
}

/// `execution_report`: one venue message about one order.
#[derive(Clone, Debug, PartialEq)]
pub struct ExecutionReport<'a> {
    /// Venue time of the event.
    pub at: SimTime,
    /// Venue.
    pub venue: Cow<'a, str>,
    /// Instrument.
    pub symbol: Cow<'a, str>,
    /// The engine's id of the order.
    pub client_order_id: u64,
    /// What happened.
    pub outcome: ExecOutcome,
    /// Order-to-report latency, ms.
    pub latency_ms: Option<f64>,
}

impl ExecutionReport<'_> {
    fn members(&self, e: &mut impl Members) {
        e.put_str("venue", &self.venue);
        e.put_str("symbol", &self.symbol);
        e.put_int("client_order_id", i128::from(self.client_order_id));
        match &self.outcome {
            ExecOutcome::Ack { order_id } => {
                e.put_str("status", "ack");
                e.put_int("order_id", i128::from(*order_id));
            }
            ExecOutcome::Reject { reason } => {
                e.put_str("status", "reject");
                e.put_str("reason", reason);
            }
            ExecOutcome::Fill {
                price,
                quantity,
                fee,
                fee_asset,
                liquidity,
                leaves,
            } => {
                e.put_str("status", "fill");
                e.put_float("price", *price);
                e.put_float("quantity", *quantity);
                e.put_float("fee", *fee);
                e.put_str("fee_asset", fee_asset);
                e.put_str("liquidity", liquidity_name(*liquidity));
                e.put_float("leaves", *leaves);
            }
            ExecOutcome::Cancel { leaves } => {
                e.put_str("status", "cancel");
                e.put_float("leaves", *leaves);
            }
            ExecOutcome::Expiry { leaves } => {
                e.put_str("status", "expiry");
                e.put_float("leaves", *leaves);
            }
        }
        put_opt_float(e, "latency_ms", self.latency_ms);
    }
}

entry_from_members!(ExecutionReport<'_>, events::EXECUTION_REPORT);

// ---------------------------------------------------------------------------------------------
// schedule_suspension

/// A suspension change.
#[derive(Clone, Debug, PartialEq)]
pub enum SuspensionChange {
    /// Suspended now.
    Suspended {
        /// Why (reference default `manual`).
        reason: String,
        /// When it ends by itself; `None` means until resumed.
        until: Option<SimTime>,
    },
    /// Resumed by an operator or the control API.
    Resumed {
        /// Who resumed it.
        actor: Option<String>,
    },
    /// The suspension's `until` passed and it was purged (the reference logs "auto-resumed").
    AutoResumed,
}

/// `schedule_suspension`: a schedule (or a tag) was suspended or resumed (engine.md §3.5).
#[derive(Clone, Debug, PartialEq)]
pub struct ScheduleSuspension {
    /// When.
    pub at: SimTime,
    /// The schedule, or the tag when `origin` is `tag`.
    pub name: String,
    /// `schedule` or `tag`, as the reference's `origin`.
    pub origin: String,
    /// What changed.
    pub change: SuspensionChange,
}

impl Entry for ScheduleSuspension {
    fn event(&self) -> &'static str {
        events::SCHEDULE_SUSPENSION
    }

    fn to_json(&self) -> Json {
        let mut e = base_entry(self.event(), self.at);
        put(&mut e, "name", self.name.as_str());
        put(&mut e, "origin", self.origin.as_str());
        match &self.change {
            SuspensionChange::Suspended { reason, until } => {
                put(&mut e, "status", "suspended");
                put(&mut e, "reason", reason.as_str());
                put_opt(&mut e, "until", until.map(|t| t.to_rfc3339()));
            }
            SuspensionChange::Resumed { actor } => {
                put(&mut e, "status", "resumed");
                put_opt_str(&mut e, "actor", actor);
            }
            SuspensionChange::AutoResumed => put(&mut e, "status", "auto_resumed"),
        }
        e
    }
}

// ---------------------------------------------------------------------------------------------
// portfolio_rebalance / portfolio_review

/// Who a portfolio decision is journalled under: the reference's `risk_profile`, and its
/// `schedule` and `strategy`.
pub const PORTFOLIO_RISK_PROFILE: &str = "portfolio";
/// `schedule` and `strategy` of a portfolio decision.
pub const PORTFOLIO_GOVERNOR: &str = "portfolio_governor";

/// One strategy's weight change in a portfolio decision.
#[derive(Clone, Debug, PartialEq)]
pub struct WeightChange {
    /// Strategy name.
    pub strategy: String,
    /// Weight before.
    pub previous_weight: f64,
    /// Weight after.
    pub weight: f64,
}

/// `portfolio_rebalance` (when `rebalance_required`) or `portfolio_review`: a decision of the
/// portfolio governor (engine.md §6). As in the reference journal every value is a string:
/// `rebalance_required` `"1"`/`"0"`, `portfolio_value`, `adjustment_count`, `advisory_count`,
/// `weights` (compact JSON, rounded to 6 decimals) and, when there are any,
/// `adjustments_json` and — ours — `advisories_json`.
#[derive(Clone, Debug, PartialEq)]
pub struct PortfolioDecision {
    /// When.
    pub at: SimTime,
    /// Deployment environment.
    pub environment: String,
    /// Portfolio name.
    pub portfolio: String,
    /// Whether any weight moved.
    pub rebalance_required: bool,
    /// The portfolio's value (total equity, valuation units) when the decision was journalled.
    pub portfolio_value: f64,
    /// The new weight of every strategy.
    pub weights: BTreeMap<String, f64>,
    /// The strategies whose weight moved.
    pub adjustments: Vec<WeightChange>,
    /// What the governor advises, one JSON object each.
    pub advisories: Vec<Json>,
}

/// A weight as the journal prints it: rounded to 6 decimals as Python's `round(v, 6)` does —
/// the double nearest to `v` correctly rounded to 6 decimals (ties to even on the exact
/// value). Rust's `{:.6}` gives that decimal exactly; `(v · 1e6).round() / 1e6` would not
/// (the product is itself rounded, and `round` breaks ties away from zero).
fn weight6(v: f64) -> Json {
    if !v.is_finite() {
        return Json::Float(v);
    }
    Json::Float(
        format!("{v:.6}")
            .parse()
            .expect("a formatted finite float parses"),
    )
}

impl Entry for PortfolioDecision {
    fn event(&self) -> &'static str {
        if self.rebalance_required {
            events::PORTFOLIO_REBALANCE
        } else {
            events::PORTFOLIO_REVIEW
        }
    }

    fn to_json(&self) -> Json {
        let mut e = base_entry(self.event(), self.at);
        put(&mut e, "environment", self.environment.as_str());
        put(&mut e, "portfolio", self.portfolio.as_str());
        put(&mut e, "risk_profile", PORTFOLIO_RISK_PROFILE);
        put(&mut e, "schedule", PORTFOLIO_GOVERNOR);
        put(&mut e, "strategy", PORTFOLIO_GOVERNOR);
        put(
            &mut e,
            "rebalance_required",
            if self.rebalance_required { "1" } else { "0" },
        );
        put(
            &mut e,
            "portfolio_value",
            journal_string(&Json::Float(self.portfolio_value)),
        );
        put(
            &mut e,
            "adjustment_count",
            self.adjustments.len().to_string(),
        );
        put(&mut e, "advisory_count", self.advisories.len().to_string());
        let weights = Json::Object(
            self.weights
                .iter()
                .map(|(k, v)| (k.clone(), weight6(*v)))
                .collect(),
        );
        put(&mut e, "weights", weights.canonical());
        if !self.adjustments.is_empty() {
            let adjustments = Json::Array(
                self.adjustments
                    .iter()
                    .map(|a| {
                        let mut o = Json::object();
                        o.insert("strategy", Json::str(a.strategy.as_str()))
                            .insert("previous_weight", weight6(a.previous_weight))
                            .insert("weight", weight6(a.weight));
                        o
                    })
                    .collect(),
            );
            put(&mut e, "adjustments_json", adjustments.canonical());
        }
        if !self.advisories.is_empty() {
            put(
                &mut e,
                "advisories_json",
                Json::Array(self.advisories.clone()).canonical(),
            );
        }
        e
    }
}

// ---------------------------------------------------------------------------------------------
// override_transition

/// The state the rollback override moved to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OverrideState {
    /// The override file appeared and the component is disabled.
    Active,
    /// Its `expires_at` passed; the component runs again.
    Expired,
    /// It was removed (restore); the component runs again.
    Removed,
}

impl OverrideState {
    /// `active`, `expired`, `removed`.
    pub fn as_str(self) -> &'static str {
        match self {
            OverrideState::Active => "active",
            OverrideState::Expired => "expired",
            OverrideState::Removed => "removed",
        }
    }
}

/// `override_transition`: the rollback override (`multi_strategy_disable.json`) changed state.
#[derive(Clone, Debug, PartialEq)]
pub struct OverrideTransition {
    /// When the engine noticed.
    pub at: SimTime,
    /// `multi_strategy` or `decision_orchestrator`.
    pub component: String,
    /// New state.
    pub state: OverrideState,
    /// The override's reason.
    pub reason: Option<String>,
    /// The override's ticket.
    pub ticket: Option<String>,
    /// Who requested it.
    pub requested_by: Option<String>,
    /// Its expiry, if it has one.
    pub expires_at: Option<SimTime>,
}

impl Entry for OverrideTransition {
    fn event(&self) -> &'static str {
        events::OVERRIDE_TRANSITION
    }

    fn to_json(&self) -> Json {
        let mut e = base_entry(self.event(), self.at);
        put(&mut e, "component", self.component.as_str());
        put(&mut e, "status", self.state.as_str());
        put_opt_str(&mut e, "reason", &self.reason);
        put_opt_str(&mut e, "ticket", &self.ticket);
        put_opt_str(&mut e, "requested_by", &self.requested_by);
        put_opt(
            &mut e,
            "expires_at",
            self.expires_at.map(|t| t.to_rfc3339()),
        );
        e
    }
}

// ---------------------------------------------------------------------------------------------
// alert_transition

/// Alert states, with Prometheus semantics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AlertState {
    /// The expression is true but `for` has not elapsed.
    Pending,
    /// True for at least `for`.
    Firing,
    /// No longer true.
    Resolved,
}

impl AlertState {
    /// `pending`, `firing`, `resolved`.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Pending => "pending",
            AlertState::Firing => "firing",
            AlertState::Resolved => "resolved",
        }
    }
}

/// `alert_transition`: an alert rule changed state.
#[derive(Clone, Debug, PartialEq)]
pub struct AlertTransition {
    /// Evaluation time.
    pub at: SimTime,
    /// Rule name, e.g. `MultiStrategySchedulerLatencyHigh`.
    pub rule: String,
    /// New state.
    pub state: AlertState,
    /// The alert's labels (`severity`, `team`, `schedule`, ...).
    pub labels: BTreeMap<String, String>,
    /// The expression's value at the transition.
    pub value: f64,
}

impl Entry for AlertTransition {
    fn event(&self) -> &'static str {
        events::ALERT_TRANSITION
    }

    fn to_json(&self) -> Json {
        let mut e = base_entry(self.event(), self.at);
        put(&mut e, "rule", self.rule.as_str());
        put(&mut e, "status", self.state.as_str());
        e.insert("labels", string_map(&self.labels));
        put(&mut e, "value", self.value);
        e
    }
}

// ---------------------------------------------------------------------------------------------
// incident

/// A step of the incident lifecycle (ops.md §8, §10 item 8).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum IncidentAction {
    /// The incident is logged (L1 checklist step 4).
    Open,
    /// Someone took ownership.
    Acknowledge,
    /// Moved up a level (L1 → L2 → Incident Manager).
    Escalate,
    /// Closed.
    Resolve,
}

impl IncidentAction {
    /// `open`, `acknowledge`, `escalate`, `resolve`.
    pub fn as_str(self) -> &'static str {
        match self {
            IncidentAction::Open => "open",
            IncidentAction::Acknowledge => "acknowledge",
            IncidentAction::Escalate => "escalate",
            IncidentAction::Resolve => "resolve",
        }
    }

    /// The incident's status after this step: `open`, `acknowledged`, `escalated`, `resolved`.
    pub fn status(self) -> &'static str {
        match self {
            IncidentAction::Open => "open",
            IncidentAction::Acknowledge => "acknowledged",
            IncidentAction::Escalate => "escalated",
            IncidentAction::Resolve => "resolved",
        }
    }

    /// Parses [`IncidentAction::as_str`] names.
    pub fn from_name(name: &str) -> Option<IncidentAction> {
        [
            IncidentAction::Open,
            IncidentAction::Acknowledge,
            IncidentAction::Escalate,
            IncidentAction::Resolve,
        ]
        .into_iter()
        .find(|a| a.as_str() == name)
    }
}

/// Support levels, lowest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum SupportLevel {
    /// L1 (NOC).
    L1,
    /// L2 (operations).
    L2,
    /// The strategy team's tech lead (strategy incident playbook).
    TechLead,
    /// The Incident Manager.
    IncidentManager,
}

impl SupportLevel {
    /// `L1`, `L2`, `tech_lead`, `IM`.
    pub fn as_str(self) -> &'static str {
        match self {
            SupportLevel::L1 => "L1",
            SupportLevel::L2 => "L2",
            SupportLevel::TechLead => "tech_lead",
            SupportLevel::IncidentManager => "IM",
        }
    }

    /// Parses `L1`, `L2`, `tech_lead`, `IM` / `incident_manager` (case-insensitive), the
    /// names of the escalation checklist included.
    pub fn from_name(name: &str) -> Option<SupportLevel> {
        match name.to_ascii_uppercase().as_str() {
            "L1" => Some(SupportLevel::L1),
            "L2" => Some(SupportLevel::L2),
            "TECH_LEAD" => Some(SupportLevel::TechLead),
            "IM" | "INCIDENT_MANAGER" => Some(SupportLevel::IncidentManager),
            _ => None,
        }
    }
}

/// Incident severities, as the alert rules name them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum IncidentSeverity {
    /// Informational.
    Info,
    /// Degraded.
    Warning,
    /// Broken.
    Critical,
}

impl IncidentSeverity {
    /// `info`, `warning`, `critical`.
    pub fn as_str(self) -> &'static str {
        match self {
            IncidentSeverity::Info => "info",
            IncidentSeverity::Warning => "warning",
            IncidentSeverity::Critical => "critical",
        }
    }

    /// Parses [`IncidentSeverity::as_str`] names (case-insensitive).
    pub fn from_name(name: &str) -> Option<IncidentSeverity> {
        match name.to_ascii_lowercase().as_str() {
            // The `sevN` scale tickets use maps onto the same three states.
            "info" | "sev4" => Some(IncidentSeverity::Info),
            "warning" | "sev3" => Some(IncidentSeverity::Warning),
            "critical" | "sev1" | "sev2" => Some(IncidentSeverity::Critical),
            _ => None,
        }
    }
}

/// `incident`: one step of an incident's lifecycle, category `stage4_incident`.
#[derive(Clone, Debug, PartialEq)]
pub struct IncidentEntry {
    /// When.
    pub at: SimTime,
    /// Which step.
    pub action: IncidentAction,
    /// Ticket id, e.g. `INC-2042`.
    pub ticket: String,
    /// Severity, when known (required when opening).
    pub severity: Option<IncidentSeverity>,
    /// The level handling it after this step.
    pub level: SupportLevel,
    /// Who owns it after this step.
    pub owner: Option<String>,
    /// Free text.
    pub note: Option<String>,
    /// The alert that triggered it, when there is one.
    pub alert: Option<String>,
}

impl Entry for IncidentEntry {
    fn event(&self) -> &'static str {
        events::INCIDENT
    }

    fn to_json(&self) -> Json {
        let mut e = base_entry(self.event(), self.at);
        put(&mut e, "category", INCIDENT_CATEGORY);
        put(&mut e, "action", self.action.as_str());
        put(&mut e, "status", self.action.status());
        put(&mut e, "ticket", self.ticket.as_str());
        put_opt(
            &mut e,
            "severity",
            self.severity.map(IncidentSeverity::as_str),
        );
        put(&mut e, "level", self.level.as_str());
        put_opt_str(&mut e, "owner", &self.owner);
        put_opt_str(&mut e, "note", &self.note);
        put_opt_str(&mut e, "alert", &self.alert);
        e
    }
}

// ---------------------------------------------------------------------------------------------
// audit_result, load_test_result, operator_action

/// `audit_result`: an audit tool's outcome.
#[derive(Clone, Debug, PartialEq)]
pub struct AuditResult {
    /// When it finished (its `--as-of`).
    pub at: SimTime,
    /// Tool, e.g. `audit compliance`.
    pub tool: String,
    /// `ok`, `warn` or `fail`.
    pub status: String,
    /// Number of issues (failures).
    pub issues: u64,
    /// Number of warnings.
    pub warnings: u64,
    /// `sha256:<hex>` of the report as written.
    pub report_digest: Option<String>,
    /// Where the report was written.
    pub report_path: Option<String>,
}

impl Entry for AuditResult {
    fn event(&self) -> &'static str {
        events::AUDIT_RESULT
    }

    fn to_json(&self) -> Json {
        let mut e = base_entry(self.event(), self.at);
        put(&mut e, "tool", self.tool.as_str());
        put(&mut e, "status", self.status.as_str());
        put(&mut e, "issues", self.issues);
        put(&mut e, "warnings", self.warnings);
        put_opt_str(&mut e, "report_digest", &self.report_digest);
        put_opt_str(&mut e, "report_path", &self.report_path);
        e
    }
}

/// `load_test_result`: a scheduler load test's outcome (the reference report's numbers,
/// engine.md §11.3, plus percentiles).
#[derive(Clone, Debug, PartialEq)]
pub struct LoadTestResult {
    /// When it finished.
    pub at: SimTime,
    /// Iterations run.
    pub iterations: u64,
    /// Schedules registered.
    pub schedules: u64,
    /// Signals counted (a real count, not the reference's formula).
    pub signals_emitted: u64,
    /// Mean run time, ms.
    pub avg_latency_ms: f64,
    /// 95th percentile run time, ms.
    pub p95_latency_ms: Option<f64>,
    /// Longest run time, ms.
    pub max_latency_ms: f64,
    /// Max minus min run time, ms.
    pub jitter_ms: f64,
    /// `ok`, `warning` or `error`.
    pub resource_status: String,
    /// `sha256:<hex>` of the report as written.
    pub report_digest: Option<String>,
    /// Where the report was written.
    pub report_path: Option<String>,
}

impl Entry for LoadTestResult {
    fn event(&self) -> &'static str {
        events::LOAD_TEST_RESULT
    }

    fn to_json(&self) -> Json {
        let mut e = base_entry(self.event(), self.at);
        put(&mut e, "iterations", self.iterations);
        put(&mut e, "schedules", self.schedules);
        put(&mut e, "signals_emitted", self.signals_emitted);
        put(&mut e, "avg_latency_ms", self.avg_latency_ms);
        put_opt(&mut e, "p95_latency_ms", self.p95_latency_ms);
        put(&mut e, "max_latency_ms", self.max_latency_ms);
        put(&mut e, "jitter_ms", self.jitter_ms);
        put(&mut e, "resource_status", self.resource_status.as_str());
        put_opt_str(&mut e, "report_digest", &self.report_digest);
        put_opt_str(&mut e, "report_path", &self.report_path);
        e
    }
}

/// `operator_action`: anything else an operator does (rollback, key rotation, restore, ...).
#[derive(Clone, Debug, PartialEq)]
pub struct OperatorAction {
    /// When.
    pub at: SimTime,
    /// What, e.g. `rollback_disable`.
    pub action: String,
    /// Who.
    pub actor: Option<String>,
    /// Ticket it belongs to.
    pub ticket: Option<String>,
    /// Anything else, written under `details`.
    pub details: BTreeMap<String, Json>,
}

impl Entry for OperatorAction {
    fn event(&self) -> &'static str {
        events::OPERATOR_ACTION
    }

    fn to_json(&self) -> Json {
        let mut e = base_entry(self.event(), self.at);
        put(&mut e, "action", self.action.as_str());
        put_opt_str(&mut e, "actor", &self.actor);
        put_opt_str(&mut e, "ticket", &self.ticket);
        if !self.details.is_empty() {
            e.insert("details", Json::Object(self.details.clone()));
        }
        e
    }
}

/// The body of a `seal` entry: how many entries precede it and the hash of the last one. The
/// writer adds `seq` and `prev_hash` (see [`chain`](super::chain)).
pub fn seal_entry(at: SimTime, entries: u64, head_hash: &str) -> Json {
    let mut e = base_entry(events::SEAL, at);
    put(&mut e, "entries", entries);
    put(&mut e, "head_hash", head_hash);
    e
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Symbol, VenueId};
    use crate::strategy::{ArbDirection, Intent, Regime, SignalLeg, SignalMetadata, SignalSide};

    fn t(s: &str) -> SimTime {
        SimTime::parse_rfc3339(s).unwrap()
    }

    #[test]
    fn journal_decimals_follow_the_reference_format() {
        for (v, shown) in [
            (0.0, "0"),
            (-0.0, "0"),
            (0.8, "0.8"),
            (1.0, "1"),
            (0.123456789012, "0.123456789"),
            (1e-11, "0"),
            (-2.5, "-2.5"),
            (12.25, "12.25"),
            (1234567.0, "1234567"),
            (f64::NAN, "nan"),
            (f64::INFINITY, "inf"),
        ] {
            assert_eq!(journal_decimal(v), shown, "{v:?}");
            // Appended after other text, the same characters.
            let mut after = String::from("x-0");
            write_journal_decimal(v, &mut after);
            assert_eq!(after, format!("x-0{shown}"), "{v:?}");
        }
    }

    #[test]
    fn journal_strings_stringify_like_the_reference() {
        for (v, shown) in [
            (Json::Bool(true), "true"),
            (Json::Null, "null"),
            (Json::int(5), "5"),
            (Json::Float(0.1), "0.1"),
            (Json::Float(1e16), "1e+16"),
            (Json::Float(f64::NEG_INFINITY), "-inf"),
            (Json::str("x"), "x"),
            (
                Json::parse(r#"{"b":[1,2],"a":"é"}"#).unwrap(),
                r#"{"a":"é","b":[1,2]}"#,
            ),
        ] {
            assert_eq!(journal_string(&v), shown);
        }
    }

    fn context() -> SignalContext {
        SignalContext {
            at: t("2026-11-28T09:00:00Z"),
            environment: "binance_paper".to_owned(),
            portfolio: "core".to_owned(),
            risk_profile: "balanced".to_owned(),
            schedule: "mean_reversion_intraday".to_owned(),
            strategy: "core_mean_reversion".to_owned(),
            primary_exchange: Some("binance".to_owned()),
            instrument_type: Some("spot".to_owned()),
            data_feed: "ohlcv".to_owned(),
            latency_ms: 12.5,
            ..SignalContext::default()
        }
    }

    #[test]
    fn strategy_signal_has_every_reference_field_and_latency() {
        let signal = Signal {
            symbol: Symbol::new("BTC_USDT").unwrap(),
            side: SignalSide::Buy,
            confidence: 0.75,
            quantity: None,
            intent: Intent::Single,
            legs: vec![],
            metadata: SignalMetadata::default()
                .with_zscore(-2.25)
                .with_regime(Regime::LongEntry),
        };
        let entry = strategy_signal(&context(), &signal);
        assert_eq!(
            entry.canonical(),
            concat!(
                r#"{"base_asset":"BTC","confidence":"0.75","data_feed":"ohlcv","environment":"binance_paper","#,
                r#""event":"strategy_signal","instrument_type":"spot","intent":"single","latency_ms":"12.5","#,
                r#""portfolio":"core","primary_exchange":"binance","quote_asset":"USDT","regime":"long_entry","#,
                r#""risk_budget_bucket":"balanced","risk_profile":"balanced","schedule":"mean_reversion_intraday","#,
                r#""schedule_run_id":"mean_reversion_intraday:2026-11-28T09:00:00Z","side":"buy","#,
                r#""signal_id":"mean_reversion_intraday:BTC_USDT:2026-11-28T09:00:00Z","#,
                r#""strategy":"core_mean_reversion","strategy_instance_id":"core_mean_reversion","#,
                r#""symbol":"BTC_USDT","telemetry_namespace":"binance_paper.multi_strategy.mean_reversion_intraday","#,
                r#""timestamp":"2026-11-28T09:00:00Z","zscore":"-2.25"}"#
            )
        );
    }

    #[test]
    fn journal_strings_are_put_as_journal_string_makes_them() {
        let mut scratch = String::from("left over");
        for value in [
            Json::str("plain"),
            Json::str("q\"\\\n\u{1}é"),
            Json::int(-42),
            Json::Int("123456789012345678901234567890".to_owned()),
            Json::Float(-2.25),
            Json::Float(1e16),
            Json::Float(1e-7),
            Json::Float(-0.0),
            Json::Float(f64::NAN),
            Json::Float(f64::NEG_INFINITY),
            Json::Bool(true),
            Json::Null,
            Json::parse(r#"{"b":[1,2.5],"a":"x"}"#).unwrap(),
        ] {
            let expected = Json::Str(journal_string(&value));
            let mut tree = Json::object();
            put_journal_string(&mut tree, "k", &value, &mut scratch);
            assert_eq!(tree.get("k"), Some(&expected), "{value:?}");
            let mut text = ObjectText::new();
            put_journal_string(&mut text, "k", &value, &mut scratch);
            assert_eq!(text.to_json().get("k"), Some(&expected), "{value:?}");
        }
    }

    #[test]
    fn colliding_metadata_keys_get_meta_prefixes_until_unique() {
        let mut ctx = context();
        ctx.extra_metadata
            .insert("symbol".to_owned(), Json::str("shadow"));
        ctx.extra_metadata
            .insert("meta_symbol".to_owned(), Json::int(1));
        ctx.extra_metadata.insert("seq".to_owned(), Json::int(99));
        ctx.extra_metadata.insert(
            "flags".to_owned(),
            Json::parse(r#"{"b":true,"a":null}"#).unwrap(),
        );
        let signal = Signal {
            symbol: Symbol::new("ETHBTC").unwrap(),
            side: SignalSide::Open(ArbDirection::LongPrimaryShortSecondary),
            confidence: 0.0,
            quantity: Some(0.5),
            intent: Intent::MultiLeg,
            legs: vec![SignalLeg {
                symbol: Symbol::new("ETHBTC").unwrap(),
                side: Side::Buy,
                quantity: 0.5,
                venue: VenueId::new("binance").unwrap(),
                price: 0.05,
            }],
            metadata: SignalMetadata::default(),
        };
        let entry = strategy_signal(&ctx, &signal);
        let get = |k: &str| entry.get(k).and_then(Json::as_str).map(str::to_owned);
        assert_eq!(get("symbol").as_deref(), Some("ETHBTC"));
        // `meta_symbol` (given) sorts before `symbol`, so it takes its name first; the
        // colliding `symbol` then needs two prefixes.
        assert_eq!(get("meta_symbol").as_deref(), Some("1"));
        assert_eq!(get("meta_meta_symbol").as_deref(), Some("shadow"));
        assert_eq!(get("meta_seq").as_deref(), Some("99"));
        assert!(entry.get("seq").is_none());
        assert_eq!(get("flags").as_deref(), Some(r#"{"a":null,"b":true}"#));
        assert_eq!(get("confidence").as_deref(), Some("0"));
        assert_eq!(get("side").as_deref(), Some("long_primary_short_secondary"));
        assert_eq!(get("base_asset").as_deref(), Some("ETH"));
        assert_eq!(get("quote_asset").as_deref(), Some("BTC"));
        assert_eq!(get("quantity").as_deref(), Some("0.5"));
        assert_eq!(
            get("legs").as_deref(),
            Some(
                r#"[{"price":0.05,"quantity":0.5,"side":"buy","symbol":"ETHBTC","venue":"binance"}]"#
            )
        );
        // Every value of a strategy_signal entry is a string, as in the reference journal.
        for (k, v) in entry.as_object().unwrap() {
            assert!(matches!(v, Json::Str(_)), "{k} is {v:?}");
        }
    }

    #[test]
    fn each_kind_writes_its_fields() {
        let at = t("2026-11-28T09:00:00.250Z");
        let cases: Vec<(Box<dyn Entry>, &str)> = vec![
            (
                Box::new(RiskDecision {
                    at,
                    risk_profile: "balanced".into(),
                    schedule: "s".into(),
                    strategy: "x".into(),
                    signal_id: None,
                    symbol: "BTC_USDT".into(),
                    side: "buy".into(),
                    quantity: 0.5,
                    price: None,
                    outcome: RiskOutcome::Refused {
                        reason: "max_position_exceeded".into(),
                        max_quantity: Some(0.25),
                    },
                    latency_ms: None,
                }),
                r#"{"decision":"refused","event":"risk_decision","max_quantity":0.25,"quantity":0.5,"reason":"max_position_exceeded","risk_profile":"balanced","schedule":"s","side":"buy","strategy":"x","symbol":"BTC_USDT","timestamp":"2026-11-28T09:00:00.250Z"}"#,
            ),
            (
                Box::new(OrderSubmitted {
                    at,
                    venue: "binance".into(),
                    account: None,
                    symbol: "BTC_USDT".into(),
                    client_order_id: 7,
                    side: Side::Sell,
                    quantity: 1.0,
                    limit_price: Some(50000.5),
                    time_in_force: TimeInForce::PostOnly,
                    schedule: None,
                    strategy: None,
                    signal_id: None,
                    latency_ms: Some(0.5),
                }),
                r#"{"client_order_id":7,"event":"order","latency_ms":0.5,"limit_price":50000.5,"order_type":"limit","quantity":1.0,"side":"sell","status":"submitted","symbol":"BTC_USDT","time_in_force":"post_only","timestamp":"2026-11-28T09:00:00.250Z","venue":"binance"}"#,
            ),
            (
                Box::new(ExecutionReport {
                    at,
                    venue: "binance".into(),
                    symbol: "BTC_USDT".into(),
                    client_order_id: 7,
                    outcome: ExecOutcome::Fill {
                        price: 50000.5,
                        quantity: 0.25,
                        fee: 0.0125,
                        fee_asset: "USDT".into(),
                        liquidity: Liquidity::Maker,
                        leaves: 0.75,
                    },
                    latency_ms: None,
                }),
                r#"{"client_order_id":7,"event":"execution_report","fee":0.0125,"fee_asset":"USDT","leaves":0.75,"liquidity":"maker","price":50000.5,"quantity":0.25,"status":"fill","symbol":"BTC_USDT","timestamp":"2026-11-28T09:00:00.250Z","venue":"binance"}"#,
            ),
            (
                Box::new(ExecutionReport {
                    at,
                    venue: "kraken".into(),
                    symbol: "BTC_USDT".into(),
                    client_order_id: 8,
                    outcome: ExecOutcome::Reject {
                        reason: "venue_down".into(),
                    },
                    latency_ms: Some(250.0),
                }),
                r#"{"client_order_id":8,"event":"execution_report","latency_ms":250.0,"reason":"venue_down","status":"reject","symbol":"BTC_USDT","timestamp":"2026-11-28T09:00:00.250Z","venue":"kraken"}"#,
            ),
            (
                Box::new(ScheduleSuspension {
                    at,
                    name: "core_arbitrage".into(),
                    origin: "schedule".into(),
                    change: SuspensionChange::Suspended {
                        reason: "manual".into(),
                        until: Some(t("2026-11-28T10:00:00Z")),
                    },
                }),
                r#"{"event":"schedule_suspension","name":"core_arbitrage","origin":"schedule","reason":"manual","status":"suspended","timestamp":"2026-11-28T09:00:00.250Z","until":"2026-11-28T10:00:00Z"}"#,
            ),
            (
                Box::new(OverrideTransition {
                    at,
                    component: "multi_strategy".into(),
                    state: OverrideState::Expired,
                    reason: Some("feed outage".into()),
                    ticket: Some("INC-2042".into()),
                    requested_by: None,
                    expires_at: Some(at),
                }),
                r#"{"component":"multi_strategy","event":"override_transition","expires_at":"2026-11-28T09:00:00.250Z","reason":"feed outage","status":"expired","ticket":"INC-2042","timestamp":"2026-11-28T09:00:00.250Z"}"#,
            ),
            (
                Box::new(AlertTransition {
                    at,
                    rule: "MultiStrategySchedulerLatencyHigh".into(),
                    state: AlertState::Firing,
                    labels: [("severity", "warning"), ("team", "trading-ops")]
                        .into_iter()
                        .map(|(k, v)| (k.to_owned(), v.to_owned()))
                        .collect(),
                    value: 312.0,
                }),
                r#"{"event":"alert_transition","labels":{"severity":"warning","team":"trading-ops"},"rule":"MultiStrategySchedulerLatencyHigh","status":"firing","timestamp":"2026-11-28T09:00:00.250Z","value":312.0}"#,
            ),
            (
                Box::new(IncidentEntry {
                    at,
                    action: IncidentAction::Escalate,
                    ticket: "INC-7".into(),
                    severity: Some(IncidentSeverity::Critical),
                    level: SupportLevel::IncidentManager,
                    owner: Some("im-oncall".into()),
                    note: None,
                    alert: None,
                }),
                r#"{"action":"escalate","category":"stage4_incident","event":"incident","level":"IM","owner":"im-oncall","severity":"critical","status":"escalated","ticket":"INC-7","timestamp":"2026-11-28T09:00:00.250Z"}"#,
            ),
            (
                Box::new(AuditResult {
                    at,
                    tool: "audit compliance".into(),
                    status: "warn".into(),
                    issues: 0,
                    warnings: 2,
                    report_digest: Some("sha256:ab".into()),
                    report_path: None,
                }),
                r#"{"event":"audit_result","issues":0,"report_digest":"sha256:ab","status":"warn","timestamp":"2026-11-28T09:00:00.250Z","tool":"audit compliance","warnings":2}"#,
            ),
            (
                Box::new(LoadTestResult {
                    at,
                    iterations: 30,
                    schedules: 3,
                    signals_emitted: 180,
                    avg_latency_ms: 0.4245,
                    p95_latency_ms: None,
                    max_latency_ms: 0.5062,
                    jitter_ms: 0.1833,
                    resource_status: "ok".into(),
                    report_digest: None,
                    report_path: Some("logs/load_tests/stage4_incident.json".into()),
                }),
                r#"{"avg_latency_ms":0.4245,"event":"load_test_result","iterations":30,"jitter_ms":0.1833,"max_latency_ms":0.5062,"report_path":"logs/load_tests/stage4_incident.json","resource_status":"ok","schedules":3,"signals_emitted":180,"timestamp":"2026-11-28T09:00:00.250Z"}"#,
            ),
            (
                Box::new(OperatorAction {
                    at,
                    action: "rollback_disable".into(),
                    actor: Some("noc".into()),
                    ticket: Some("INC-7".into()),
                    details: [("duration_min".to_owned(), Json::int(45))].into(),
                }),
                r#"{"action":"rollback_disable","actor":"noc","details":{"duration_min":45},"event":"operator_action","ticket":"INC-7","timestamp":"2026-11-28T09:00:00.250Z"}"#,
            ),
        ];
        for (entry, expected) in cases {
            let json = entry.to_json();
            assert_eq!(json.canonical(), expected, "{}", entry.event());
            assert_eq!(
                json.get("event").and_then(Json::as_str),
                Some(entry.event())
            );
        }
    }

    #[test]
    fn names_round_trip() {
        for a in [
            IncidentAction::Open,
            IncidentAction::Acknowledge,
            IncidentAction::Escalate,
            IncidentAction::Resolve,
        ] {
            assert_eq!(IncidentAction::from_name(a.as_str()), Some(a));
        }
        for l in [
            SupportLevel::L1,
            SupportLevel::L2,
            SupportLevel::IncidentManager,
        ] {
            assert_eq!(SupportLevel::from_name(l.as_str()), Some(l));
        }
        assert_eq!(
            SupportLevel::from_name("im"),
            Some(SupportLevel::IncidentManager)
        );
        assert_eq!(SupportLevel::from_name("L3"), None);
        assert_eq!(
            IncidentSeverity::from_name("Critical"),
            Some(IncidentSeverity::Critical)
        );
    }

    #[test]
    fn a_portfolio_decision_is_a_rebalance_or_a_review() {
        let mut d = PortfolioDecision {
            at: t("2026-11-28T10:00:00Z"),
            environment: "paper".to_owned(),
            portfolio: "core".to_owned(),
            rebalance_required: true,
            portfolio_value: 300_125.5,
            weights: BTreeMap::from([
                ("mr".to_owned(), 0.237_700_000_4),
                ("vt".to_owned(), 2.0 / 3.0),
            ]),
            adjustments: vec![WeightChange {
                strategy: "mr".to_owned(),
                previous_weight: 0.27,
                weight: 0.237_700_000_4,
            }],
            advisories: vec![Json::parse(r#"{"kind":"baseline_fallback"}"#).unwrap()],
        };
        let e = d.to_json();
        let text = |k: &str| e.get(k).and_then(Json::as_str).unwrap().to_owned();
        assert_eq!(text("event"), "portfolio_rebalance");
        assert_eq!(text("timestamp"), "2026-11-28T10:00:00Z");
        assert_eq!(text("risk_profile"), "portfolio");
        assert_eq!(text("schedule"), "portfolio_governor");
        assert_eq!(text("strategy"), "portfolio_governor");
        assert_eq!(text("rebalance_required"), "1");
        assert_eq!(text("portfolio_value"), "300125.5");
        assert_eq!(text("adjustment_count"), "1");
        assert_eq!(text("advisory_count"), "1");
        assert_eq!(text("weights"), r#"{"mr":0.2377,"vt":0.666667}"#);
        assert_eq!(
            text("adjustments_json"),
            r#"[{"previous_weight":0.27,"strategy":"mr","weight":0.2377}]"#
        );
        assert_eq!(text("advisories_json"), r#"[{"kind":"baseline_fallback"}]"#);
        assert_eq!(d.to_object_text().to_json(), e, "text and tree agree");

        d.rebalance_required = false;
        d.adjustments.clear();
        d.advisories.clear();
        let e = d.to_json();
        assert_eq!(
            e.get("event").and_then(Json::as_str),
            Some("portfolio_review")
        );
        assert_eq!(
            e.get("rebalance_required").and_then(Json::as_str),
            Some("0")
        );
        assert!(e.get("adjustments_json").is_none() && e.get("advisories_json").is_none());
    }

    #[test]
    fn weights_round_to_six_decimals_as_python_round_does() {
        // Expected values from CPython 3.11 `round(x, 6)`. The first four sit next to a tie
        // in decimal; `(x * 1e6).round() / 1e6` rounds each of them up, Python (and we) down.
        for (x, python) in [
            (0.8885985, 0.888598),
            (0.8008755, 0.800875),
            (0.0661725, 0.066172),
            (0.1234565, 0.123456),
            (0.0000025, 0.000003),
            (0.0000005, 0.0),
            (1.0000005, 1.000001),
            (2.0 / 3.0, 0.666667),
            (0.27, 0.27),
        ] {
            assert_eq!(weight6(x), Json::Float(python), "round({x}, 6)");
        }
    }
}
