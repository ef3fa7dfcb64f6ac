//! Pre-trade checks (engine.md §8.3), evaluated in the reference's order. The first failing
//! check decides the refusal, except the exposure cap of step 8, which is remembered and
//! applied only after every other check passed (step 15).
//!
//! | step | check | refusal |
//! |---|---|---|
//! | 1 | housekeeping: equity marks, day/week roll, peak | — |
//! | 2 | force-liquidation triggers: drawdown, daily loss, kill switch (critical alert), cost/profit (alert) | — (sets reduce-only) |
//! | 3 | a reference price > 0 (and, ours, equity > 0) | [`RiskRefusal::MissingPrice`], [`RiskRefusal::NonPositiveEquity`] |
//! | 4 | no flip through zero in one order | [`RiskRefusal::DirectionFlip`] |
//! | 5 | projected position: new quantity, reducing?, new position? | — |
//! | 6 | hedge-mode loss guardrails | *omitted, see below* |
//! | 7 | reduce-only while force-liquidating | [`RiskRefusal::ReduceOnly`] |
//! | 8 | exposure caps `instrument_limit_pct`, `max_position_pct` (tighter failing cap, deferred) | — |
//! | 9 | ATR/stop sizing (increasing orders, `target_volatility > 0`) | `MissingAtr`, `MissingStopPrice`, `StopOnWrongSide`, `StopTooTight`, `TradeRiskTooHigh`, `VolatilityBudget` |
//! | 10 | a new position within `max_positions` | [`RiskRefusal::MaxPositions`] |
//! | 11 | margin for the added notional | [`RiskRefusal::InsufficientMargin`] |
//! | 12 | instrument exposure (alert, cap) | [`RiskRefusal::InstrumentExposure`] |
//! | 13 | portfolio exposure (alert, cap) and leverage | [`RiskRefusal::PortfolioExposure`], [`RiskRefusal::Leverage`] |
//! | 14 | second stop-distance check with the order's ATR and tolerance | `StopTooTight` |
//! | 15 | the deferred cap of step 8 | [`RiskRefusal::ExposureCap`] |
//! | 16 | decision-orchestrator veto | *not part of the engine* |
//! | 17 | allow | [`RiskDecision::Approved`] |
//!
//! Deliberate differences from the reference, each for a reason:
//! - Positions are signed quantities per (venue, symbol), and exposure is projected at the
//!   order's price (`|new qty| × price`) rather than `stored notional ± qty × price`. Deciding
//!   "reducing" and "flip" on quantities means a price move since the last mark can neither
//!   block a full close nor let a flip through.
//! - Steps 8–14 apply only to orders that increase the position. A reducing order moves every
//!   limit in the right direction; refusing it would trap the book in its breach.
//! - Step 6 (hedge-mode guardrails) is omitted: Stage4 runs without hedge mode, and
//!   reduce-only mode (step 7) already covers the same loss triggers.
//! - Equity ≤ 0 is refused right after the price check: every limit is a fraction of it.
//! - The stop checks compare with a 10⁻⁹ relative tolerance, so a stop placed exactly at the
//!   multiple by [`StopPlan::from_atr`] is not refused for float representation error.
//!
//! **Signals carry no ATR or stop.** The reference refuses an increasing order without them
//! (step 9), and so do we: the check is the engine's only position-sizing guard. The rule for
//! callers is therefore: every increasing order carries a [`StopPlan`]; when the strategy
//! gives none, build it with [`StopPlan::from_atr`] from an ATR estimate of the bars the
//! strategy saw ([`average_true_range`]), which puts the stop at the profile's
//! `stop_loss_atr_multiple` (at least one ATR) on the loss side. Orders then reach the venue
//! sized by the reference's risk budget instead of being refused wholesale.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::RiskError;
use super::profiles::{RiskLimits, RiskProfile};
use super::state::{InstrumentKey, LiquidationTrigger, PositionSide, RiskState, pct};
use crate::domain::{Side, SimTime, Symbol, VenueId};
use crate::strategy::MarketSnapshot;

/// Relative tolerance for quantity and stop comparisons that must survive float rounding.
const TOLERANCE: f64 = 1e-9;

/// An order as risk sees it: `f64` quote and base units, plus the stop that sizes it.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct RiskOrder {
    /// Where it will be sent.
    pub venue: VenueId,
    /// What it trades.
    pub symbol: Symbol,
    /// Buy or sell.
    pub side: Side,
    /// Quantity in base units; must be finite and > 0.
    pub quantity: f64,
    /// The reference price (limit or last price), quote units; missing or ≤ 0 is refused.
    pub price: Option<f64>,
    /// The protective stop and the ATR it was derived from; required for increasing orders
    /// under a profile with `target_volatility > 0`.
    pub stop: Option<StopPlan>,
}

impl RiskOrder {
    /// The instrument the order trades.
    pub fn instrument(&self) -> InstrumentKey {
        InstrumentKey {
            venue: self.venue,
            symbol: self.symbol,
        }
    }

    pub(crate) fn validate(&self) -> Result<(), RiskError> {
        if !(self.quantity.is_finite() && self.quantity > 0.0) {
            return Err(RiskError::InvalidInput {
                field: "order.quantity",
                value: self.quantity,
                expected: "a finite quantity > 0 in base units",
            });
        }
        Ok(())
    }
}

/// A protective stop and the ATR behind it (the reference's `order.atr` / `order.stop_price`).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct StopPlan {
    /// Average true range, quote units; must be > 0.
    pub atr: f64,
    /// Stop price, quote units; must be on the loss side of the order's price.
    pub stop_price: f64,
}

impl StopPlan {
    /// The engine's stop for a signal that brings none: `max(stop_loss_atr_multiple, 1)`
    /// ATRs from `price` on the loss side of `side` (below for a buy, above for a sell).
    pub fn from_atr(side: Side, price: f64, atr: f64, limits: &RiskLimits) -> StopPlan {
        let distance = atr * limits.stop_loss_atr_multiple.max(1.0);
        let stop_price = match side {
            Side::Buy => price - distance,
            Side::Sell => price + distance,
        };
        StopPlan { atr, stop_price }
    }
}

/// The mean true range of the last `period` bars of `history` (the first bar only provides
/// the previous close). `None` without `period + 1` bars or when a price is not finite.
pub fn average_true_range(history: &[MarketSnapshot], period: usize) -> Option<f64> {
    if period == 0 || history.len() < period + 1 {
        return None;
    }
    let window = &history[history.len() - period - 1..];
    let mut sum = 0.0;
    for pair in window.windows(2) {
        let (prev, bar) = (&pair[0], &pair[1]);
        let tr = (bar.high - bar.low)
            .max((bar.high - prev.close).abs())
            .max((bar.low - prev.close).abs());
        sum += tr;
    }
    let atr = sum / period as f64;
    atr.is_finite().then_some(atr)
}

/// The account as risk sees it, quote units.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccountSnapshot {
    /// Total equity (cash plus marked positions).
    pub total_equity: f64,
    /// Margin available for new positions.
    pub available_margin: f64,
    /// Margin already required to keep the open positions.
    pub maintenance_margin: f64,
}

impl AccountSnapshot {
    pub(crate) fn validate(&self) -> Result<(), RiskError> {
        for (field, value) in [
            ("account.total_equity", self.total_equity),
            ("account.available_margin", self.available_margin),
            ("account.maintenance_margin", self.maintenance_margin),
        ] {
            if !value.is_finite() {
                return Err(RiskError::InvalidInput {
                    field,
                    value,
                    expected: "a finite amount in quote units",
                });
            }
        }
        Ok(())
    }
}

/// Which of the two step-8 caps was the tighter failing one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExposureCapKind {
    /// `instrument_limit_pct`.
    InstrumentLimitPct,
    /// `max_position_pct`.
    MaxPositionPct,
}

/// Why risk refused an order. A value for the decision log, never an `Err`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum RiskRefusal {
    /// No reference price, or one ≤ 0 (step 3).
    MissingPrice,
    /// Equity is not positive, so no limit can be computed.
    NonPositiveEquity {
        /// The account's equity.
        equity: f64,
    },
    /// The order would turn a long into a short or back in one go (step 4).
    DirectionFlip {
        /// The side held.
        position_side: PositionSide,
        /// The quantity held, base units.
        position_qty: f64,
        /// The order quantity, base units.
        order_qty: f64,
    },
    /// Force-liquidation is on: only reducing orders pass until the next UTC day (step 7).
    ReduceOnly {
        /// Why force-liquidation is on.
        trigger: LiquidationTrigger,
    },
    /// An increasing order without an ATR > 0 (step 9).
    MissingAtr,
    /// An increasing order without a stop price (step 9).
    MissingStopPrice,
    /// The stop is not on the loss side of the price (step 9).
    StopOnWrongSide {
        /// The order's price.
        price: f64,
        /// The stop.
        stop_price: f64,
    },
    /// The stop is closer than the ATR multiple allows (steps 9 and 14).
    StopTooTight {
        /// Stop distance, quote units.
        distance: f64,
        /// The minimum distance.
        required: f64,
    },
    /// Stop distance × added quantity exceeds the per-trade risk budget (step 9).
    TradeRiskTooHigh {
        /// The trade's risk, quote units.
        risk: f64,
        /// `trade_risk_pct_range_max × equity`.
        limit: f64,
    },
    /// The position would exceed `target_volatility × equity / stop_distance` (steps 9, 14).
    VolatilityBudget {
        /// The projected position, base units.
        quantity: f64,
        /// The largest allowed position, base units.
        limit: f64,
    },
    /// A new position with `max_positions` already open (step 10).
    MaxPositions {
        /// Positions open.
        active: usize,
        /// The limit.
        limit: u32,
    },
    /// Not enough free margin for the added notional (step 11).
    InsufficientMargin {
        /// Margin the order needs.
        required: f64,
        /// Available minus maintenance margin.
        available: f64,
    },
    /// Instrument notional / equity above `max(instrument_limit_pct, max_position_pct)`
    /// (step 12).
    InstrumentExposure {
        /// Projected exposure, fraction of equity.
        exposure_pct: f64,
        /// The limit.
        limit_pct: f64,
    },
    /// Gross notional / equity above `max(portfolio_limit_pct, max_position_pct)` (step 13).
    PortfolioExposure {
        /// Projected exposure, fraction of equity.
        exposure_pct: f64,
        /// The limit.
        limit_pct: f64,
    },
    /// Gross notional above `max_leverage × equity` (step 13).
    Leverage {
        /// Projected gross notional, quote units.
        gross_notional: f64,
        /// `max_leverage × equity`.
        limit_notional: f64,
    },
    /// The tighter of the two instrument caps, deferred from step 8 (step 15).
    ExposureCap {
        /// Which cap.
        cap: ExposureCapKind,
        /// Projected exposure, fraction of equity.
        exposure_pct: f64,
        /// The cap.
        limit_pct: f64,
    },
}

impl RiskRefusal {
    /// The snake-case code written to logs (`reduce_only`, `exposure_cap`, ...).
    pub fn code(&self) -> &'static str {
        match self {
            RiskRefusal::MissingPrice => "missing_price",
            RiskRefusal::NonPositiveEquity { .. } => "non_positive_equity",
            RiskRefusal::DirectionFlip { .. } => "direction_flip",
            RiskRefusal::ReduceOnly { .. } => "reduce_only",
            RiskRefusal::MissingAtr => "missing_atr",
            RiskRefusal::MissingStopPrice => "missing_stop_price",
            RiskRefusal::StopOnWrongSide { .. } => "stop_on_wrong_side",
            RiskRefusal::StopTooTight { .. } => "stop_too_tight",
            RiskRefusal::TradeRiskTooHigh { .. } => "trade_risk_too_high",
            RiskRefusal::VolatilityBudget { .. } => "volatility_budget",
            RiskRefusal::MaxPositions { .. } => "max_positions",
            RiskRefusal::InsufficientMargin { .. } => "insufficient_margin",
            RiskRefusal::InstrumentExposure { .. } => "instrument_exposure",
            RiskRefusal::PortfolioExposure { .. } => "portfolio_exposure",
            RiskRefusal::Leverage { .. } => "leverage",
            RiskRefusal::ExposureCap { .. } => "exposure_cap",
        }
    }
}

impl fmt::Display for RiskRefusal {
    /// A message for people.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            RiskRefusal::MissingPrice => {
                f.write_str("no reference price (or a price ≤ 0) for the order")
            }
            RiskRefusal::NonPositiveEquity { equity } => {
                write!(
                    f,
                    "equity {equity:.2} is not positive; no limit can be computed"
                )
            }
            RiskRefusal::DirectionFlip {
                position_side,
                position_qty,
                order_qty,
            } => {
                let side = match position_side {
                    PositionSide::Long => "long",
                    PositionSide::Short => "short",
                };
                write!(
                    f,
                    "order of {order_qty} would flip the {side} position of {position_qty}; close it first"
                )
            }
            RiskRefusal::ReduceOnly { trigger } => {
                write!(
                    f,
                    "only reducing trades allowed until the next UTC day: {trigger}"
                )
            }
            RiskRefusal::MissingAtr => {
                f.write_str("an increasing order needs an ATR > 0 for stop sizing")
            }
            RiskRefusal::MissingStopPrice => f.write_str("an increasing order needs a stop price"),
            RiskRefusal::StopOnWrongSide { price, stop_price } => write!(
                f,
                "stop {stop_price} is not on the loss side of the price {price}"
            ),
            RiskRefusal::StopTooTight { distance, required } => write!(
                f,
                "stop distance {distance} is below the required {required} (ATR × multiple)"
            ),
            RiskRefusal::TradeRiskTooHigh { risk, limit } => write!(
                f,
                "trade risk {risk:.2} exceeds the per-trade budget {limit:.2}"
            ),
            RiskRefusal::VolatilityBudget { quantity, limit } => write!(
                f,
                "position of {quantity} exceeds the volatility budget of {limit}"
            ),
            RiskRefusal::MaxPositions { active, limit } => {
                write!(f, "{active} positions open; the profile allows {limit}")
            }
            RiskRefusal::InsufficientMargin {
                required,
                available,
            } => write!(
                f,
                "order needs margin {required:.2}; {available:.2} is free"
            ),
            RiskRefusal::InstrumentExposure {
                exposure_pct,
                limit_pct,
            } => write!(
                f,
                "instrument exposure {} exceeds the limit {}",
                pct(exposure_pct),
                pct(limit_pct)
            ),
            RiskRefusal::PortfolioExposure {
                exposure_pct,
                limit_pct,
            } => write!(
                f,
                "portfolio exposure {} exceeds the limit {}",
                pct(exposure_pct),
                pct(limit_pct)
            ),
            RiskRefusal::Leverage {
                gross_notional,
                limit_notional,
            } => write!(
                f,
                "gross notional {gross_notional:.2} exceeds max leverage × equity {limit_notional:.2}"
            ),
            RiskRefusal::ExposureCap {
                cap,
                exposure_pct,
                limit_pct,
            } => {
                let name = match cap {
                    ExposureCapKind::InstrumentLimitPct => "instrument_limit_pct",
                    ExposureCapKind::MaxPositionPct => "max_position_pct",
                };
                write!(
                    f,
                    "position would be {} of equity, above {name} {}",
                    pct(exposure_pct),
                    pct(limit_pct)
                )
            }
        }
    }
}

/// Risk's answer to one order.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum RiskDecision {
    /// The order may go to the venue.
    Approved {
        /// It shrinks the position (allowed even in reduce-only mode).
        reducing: bool,
        /// Projected instrument notional / equity.
        instrument_exposure_pct: f64,
        /// Projected gross notional / equity.
        portfolio_exposure_pct: f64,
    },
    /// The order must not be sent.
    Refused {
        /// Why.
        reason: RiskRefusal,
        /// The largest order quantity (base units) the failing limit would accept, when the
        /// limit is a size limit.
        max_quantity: Option<f64>,
    },
}

impl RiskDecision {
    /// True for [`RiskDecision::Approved`].
    pub fn is_approved(&self) -> bool {
        matches!(self, RiskDecision::Approved { .. })
    }

    /// The refusal, if refused.
    pub fn refusal(&self) -> Option<RiskRefusal> {
        match self {
            RiskDecision::Approved { .. } => None,
            RiskDecision::Refused { reason, .. } => Some(*reason),
        }
    }
}

/// How loud an alert is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertSeverity {
    /// For the record.
    Notice,
    /// Worth a look.
    Warning,
    /// Trading was stopped.
    Critical,
}

impl AlertSeverity {
    /// The severity as the decision log writes it (`notice`, `warning`, `critical`).
    pub fn as_str(self) -> &'static str {
        match self {
            AlertSeverity::Notice => "notice",
            AlertSeverity::Warning => "warning",
            AlertSeverity::Critical => "critical",
        }
    }
}

/// Declares [`RiskAlertKind`] with [`RiskAlertKind::ALL`] and [`RiskAlertKind::code`] from one
/// list, so that a new kind cannot be missing from either.
macro_rules! risk_alert_kinds {
    ($($(#[$doc:meta])* $variant:ident => $code:literal,)+) => {
        /// What an alert is about (the reference's alert names).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum RiskAlertKind {
            $($(#[$doc])* $variant,)+
        }

        impl RiskAlertKind {
            /// Every kind, in declaration order.
            pub const ALL: &'static [RiskAlertKind] = &[$(RiskAlertKind::$variant),+];

            /// The snake-case code used in the decision log and reports
            /// (`instrument_exposure`).
            pub fn code(self) -> &'static str {
                match self {
                    $(RiskAlertKind::$variant => $code,)+
                }
            }
        }
    };
}

risk_alert_kinds! {
    /// The daily or weekly kill switch engaged (critical).
    KillSwitch => "kill_switch",
    /// Rolling costs over profit above the maximum.
    CostToProfitRatio => "cost_to_profit_ratio",
    /// An order takes an instrument to its alert level.
    InstrumentExposure => "instrument_exposure",
    /// An order takes the portfolio to its alert level.
    PortfolioExposure => "portfolio_exposure",
    /// An order risks less than the profile's minimum per-trade risk.
    TradeRiskBelowMinimum => "trade_risk_below_minimum",
}

/// An alert for the caller to log; it never blocks an order by itself.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RiskAlert {
    /// What.
    pub kind: RiskAlertKind,
    /// How loud.
    pub severity: AlertSeverity,
    /// The profile it concerns.
    pub profile: String,
    /// The instrument, for order-level alerts.
    pub instrument: Option<InstrumentKey>,
    /// The measured value.
    pub value: f64,
    /// The threshold it reached.
    pub threshold: f64,
    /// A message for people.
    pub message: String,
}

/// The result of one pre-trade check: the decision plus any alerts raised on the way.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RiskCheckOutcome {
    /// Approved or refused.
    pub decision: RiskDecision,
    /// Alerts raised during the check (also when the order was approved).
    pub alerts: Vec<RiskAlert>,
}

pub(crate) fn liquidation_alert(profile: &str, trigger: LiquidationTrigger) -> RiskAlert {
    let (kind, severity) = if trigger.is_kill_switch() {
        (RiskAlertKind::KillSwitch, AlertSeverity::Critical)
    } else {
        (RiskAlertKind::CostToProfitRatio, AlertSeverity::Warning)
    };
    let (value, threshold) = match trigger {
        LiquidationTrigger::Drawdown { value, limit }
        | LiquidationTrigger::DailyLoss { value, limit }
        | LiquidationTrigger::KillSwitchDailyR { value, limit }
        | LiquidationTrigger::KillSwitchDailyLoss { value, limit }
        | LiquidationTrigger::KillSwitchWeeklyLoss { value, limit }
        | LiquidationTrigger::CostToProfit { value, limit } => (value, limit),
    };
    RiskAlert {
        kind,
        severity,
        profile: profile.to_owned(),
        instrument: None,
        value,
        threshold,
        message: format!("{trigger}; reduce-only until the next UTC day"),
    }
}

/// Runs §8.3 for one order. The caller has validated `order` and `account`.
pub(crate) fn pre_trade(
    profile: &RiskProfile,
    state: &mut RiskState,
    now: SimTime,
    order: &RiskOrder,
    account: &AccountSnapshot,
) -> RiskCheckOutcome {
    let limits = &profile.limits;
    let mut alerts = Vec::new();
    let decision = decide(profile, limits, state, now, order, account, &mut alerts);
    RiskCheckOutcome { decision, alerts }
}

fn refused(reason: RiskRefusal, max_quantity: Option<f64>) -> RiskDecision {
    RiskDecision::Refused {
        reason,
        max_quantity: max_quantity.map(|q| q.max(0.0)),
    }
}

fn decide(
    profile: &RiskProfile,
    limits: &RiskLimits,
    state: &mut RiskState,
    now: SimTime,
    order: &RiskOrder,
    account: &AccountSnapshot,
    alerts: &mut Vec<RiskAlert>,
) -> RiskDecision {
    let equity = account.total_equity;

    // 1. Housekeeping.
    state.housekeeping(now, Some(equity));

    // 2. Forced-liquidation triggers; the last one that fires is the recorded reason.
    state.check_loss_triggers(limits);
    if let Some(trigger) = state.check_kill_switch(limits) {
        alerts.push(liquidation_alert(&profile.name, trigger));
    }
    if let Some(trigger) = state.check_cost_ratio(limits) {
        alerts.push(liquidation_alert(&profile.name, trigger));
    }

    // 3. Price (and equity, without which no limit means anything).
    let price = match order.price {
        Some(p) if p.is_finite() && p > 0.0 => p,
        _ => return refused(RiskRefusal::MissingPrice, None),
    };
    if equity <= 0.0 {
        return refused(RiskRefusal::NonPositiveEquity { equity }, None);
    }

    // 4. No flip through zero.
    let key = order.instrument();
    let current_qty = state.position_qty(&key);
    let signed = order.side.sign() as f64 * order.quantity;
    let opposite = current_qty != 0.0 && current_qty.signum() != signed.signum();
    if opposite && order.quantity > current_qty.abs() * (1.0 + TOLERANCE) {
        return refused(
            RiskRefusal::DirectionFlip {
                position_side: if current_qty > 0.0 {
                    PositionSide::Long
                } else {
                    PositionSide::Short
                },
                position_qty: current_qty.abs(),
                order_qty: order.quantity,
            },
            Some(current_qty.abs()),
        );
    }

    // 5. Projected position, at the order's price.
    let mut new_qty = current_qty + signed;
    if opposite
        && (new_qty.signum() != current_qty.signum()
            || new_qty.abs() <= current_qty.abs() * TOLERANCE)
    {
        new_qty = 0.0; // an exact close, up to rounding
    }
    let current_notional = current_qty.abs() * price;
    let new_notional = new_qty.abs() * price;
    let reducing = new_qty.abs() < current_qty.abs();
    let new_position = current_qty == 0.0 && new_qty != 0.0;
    let other_gross =
        state.gross_notional() - state.positions.get(&key).map_or(0.0, |e| e.notional());
    let gross_new = other_gross + new_notional;
    let instrument_exposure = new_notional / equity;
    let portfolio_exposure = gross_new / equity;
    let approved = RiskDecision::Approved {
        reducing,
        instrument_exposure_pct: instrument_exposure,
        portfolio_exposure_pct: portfolio_exposure,
    };

    // 6. Hedge-mode guardrails: omitted (module doc).

    // 7. Reduce-only.
    if state.force_liquidation && !reducing {
        let trigger = state
            .liquidation_trigger()
            .expect("force_liquidation is only set together with its trigger");
        return refused(RiskRefusal::ReduceOnly { trigger }, None);
    }
    if reducing {
        return approved;
    }
    // From here on the order increases (or opens) a position.
    let qty_for_notional = |cap_notional: f64| (cap_notional - current_notional) / price;

    // 8. Exposure caps: remember the tighter failing one, refuse at step 15.
    let mut deferred: Option<(ExposureCapKind, f64)> = None;
    for (kind, cap) in [
        (
            ExposureCapKind::InstrumentLimitPct,
            limits.instrument_limit_pct,
        ),
        (ExposureCapKind::MaxPositionPct, limits.max_position_pct),
    ] {
        if cap > 0.0
            && new_notional > cap * equity
            && deferred.is_none_or(|(_, tighter)| cap < tighter)
        {
            deferred = Some((kind, cap));
        }
    }

    // 9. ATR/stop sizing.
    let stop_distance = |stop: &StopPlan| match order.side {
        Side::Buy => price - stop.stop_price,
        Side::Sell => stop.stop_price - price,
    };
    let added_qty = new_qty.abs() - current_qty.abs();
    if limits.target_volatility > 0.0 {
        let stop = match order.stop {
            Some(s) if s.atr.is_finite() && s.atr > 0.0 => s,
            _ => return refused(RiskRefusal::MissingAtr, None),
        };
        if !stop.stop_price.is_finite() {
            return refused(RiskRefusal::MissingStopPrice, None);
        }
        let distance = stop_distance(&stop);
        if distance <= 0.0 {
            return refused(
                RiskRefusal::StopOnWrongSide {
                    price,
                    stop_price: stop.stop_price,
                },
                None,
            );
        }
        let required = stop.atr * limits.stop_loss_atr_multiple.max(1.0);
        if distance < required * (1.0 - TOLERANCE) {
            return refused(RiskRefusal::StopTooTight { distance, required }, None);
        }
        let trade_risk = distance * added_qty;
        let max_risk = limits.trade_risk_pct_range_max * equity;
        if limits.trade_risk_pct_range_max > 0.0 && trade_risk > max_risk {
            return refused(
                RiskRefusal::TradeRiskTooHigh {
                    risk: trade_risk,
                    limit: max_risk,
                },
                Some(max_risk / distance),
            );
        }
        let min_risk = limits.trade_risk_pct_range_min * equity;
        if trade_risk < min_risk {
            alerts.push(RiskAlert {
                kind: RiskAlertKind::TradeRiskBelowMinimum,
                severity: AlertSeverity::Notice,
                profile: profile.name.clone(),
                instrument: Some(key),
                value: trade_risk,
                threshold: min_risk,
                message: format!(
                    "trade risk {trade_risk:.2} is below the profile minimum {min_risk:.2}"
                ),
            });
        }
        let max_position = limits.target_volatility * equity / distance;
        if new_qty.abs() > max_position {
            return refused(
                RiskRefusal::VolatilityBudget {
                    quantity: new_qty.abs(),
                    limit: max_position,
                },
                Some(max_position - current_qty.abs()),
            );
        }
    }

    // 10. Max positions.
    let active = state.active_positions();
    if new_position && limits.max_positions > 0 && active >= limits.max_positions as usize {
        return refused(
            RiskRefusal::MaxPositions {
                active,
                limit: limits.max_positions,
            },
            None,
        );
    }

    // 11. Margin for the added notional.
    let leverage = limits.max_leverage.max(1.0);
    let required_margin = (new_notional - current_notional) / leverage;
    let free_margin = account.available_margin - account.maintenance_margin;
    if required_margin > free_margin {
        return refused(
            RiskRefusal::InsufficientMargin {
                required: required_margin,
                available: free_margin,
            },
            Some(free_margin * leverage / price),
        );
    }

    // 12. Instrument exposure.
    if limits.instrument_alert_pct > 0.0 && instrument_exposure >= limits.instrument_alert_pct {
        alerts.push(RiskAlert {
            kind: RiskAlertKind::InstrumentExposure,
            severity: AlertSeverity::Warning,
            profile: profile.name.clone(),
            instrument: Some(key),
            value: instrument_exposure,
            threshold: limits.instrument_alert_pct,
            message: format!(
                "{key} exposure {} reaches the alert level {}",
                pct(instrument_exposure),
                pct(limits.instrument_alert_pct)
            ),
        });
    }
    let instrument_limit = limits.instrument_limit_pct.max(limits.max_position_pct);
    if instrument_limit > 0.0 && instrument_exposure > instrument_limit {
        return refused(
            RiskRefusal::InstrumentExposure {
                exposure_pct: instrument_exposure,
                limit_pct: instrument_limit,
            },
            Some(qty_for_notional(instrument_limit * equity)),
        );
    }

    // 13. Portfolio exposure and leverage.
    if limits.portfolio_alert_pct > 0.0 && portfolio_exposure >= limits.portfolio_alert_pct {
        alerts.push(RiskAlert {
            kind: RiskAlertKind::PortfolioExposure,
            severity: AlertSeverity::Warning,
            profile: profile.name.clone(),
            instrument: Some(key),
            value: portfolio_exposure,
            threshold: limits.portfolio_alert_pct,
            message: format!(
                "portfolio exposure {} reaches the alert level {}",
                pct(portfolio_exposure),
                pct(limits.portfolio_alert_pct)
            ),
        });
    }
    let portfolio_limit = limits.portfolio_limit_pct.max(limits.max_position_pct);
    if portfolio_limit > 0.0 && portfolio_exposure > portfolio_limit {
        return refused(
            RiskRefusal::PortfolioExposure {
                exposure_pct: portfolio_exposure,
                limit_pct: portfolio_limit,
            },
            Some(qty_for_notional(portfolio_limit * equity - other_gross)),
        );
    }
    let leverage_notional = limits.max_leverage * equity;
    if limits.max_leverage > 0.0 && gross_new > leverage_notional {
        return refused(
            RiskRefusal::Leverage {
                gross_notional: gross_new,
                limit_notional: leverage_notional,
            },
            Some(qty_for_notional(leverage_notional - other_gross)),
        );
    }

    // 14. Second stop check with the order's own ATR and the reference's tolerance. It binds
    // when step 9 was skipped (`target_volatility == 0` but a stop multiple is set). Its size
    // half repeats step 9 with the same distance, so it could never fire and is not repeated.
    if let Some(stop) = order.stop {
        let expected = stop.atr * limits.stop_loss_atr_multiple;
        let distance = stop_distance(&stop);
        if stop.atr.is_finite()
            && stop.atr > 0.0
            && expected > 0.0
            && distance < expected - (expected * 1e-4).max(1e-8)
        {
            return refused(
                RiskRefusal::StopTooTight {
                    distance,
                    required: expected,
                },
                None,
            );
        }
    }

    // 15. The deferred cap.
    if let Some((cap, limit_pct)) = deferred {
        return refused(
            RiskRefusal::ExposureCap {
                cap,
                exposure_pct: instrument_exposure,
                limit_pct,
            },
            Some(qty_for_notional(limit_pct * equity)),
        );
    }

    // 16. The decision-orchestrator veto is not part of the engine. 17. Allow.
    approved
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::risk::{MarkToMarket, RiskEngine, RiskFill, RiskPosition, RiskProfileOverrides};

    #[test]
    fn alert_codes_match_their_serde_names() {
        for &kind in RiskAlertKind::ALL {
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.code());
        }
    }

    #[test]
    fn severity_names_are_the_lowercase_variant_names() {
        // What the engine logged before `as_str`: the Debug name, lower-cased.
        for severity in [
            AlertSeverity::Notice,
            AlertSeverity::Warning,
            AlertSeverity::Critical,
        ] {
            let debug = format!("{severity:?}").to_ascii_lowercase();
            assert_eq!(severity.as_str(), debug);
            assert_eq!(serde_json::to_value(severity).unwrap(), debug);
        }
    }

    const EQUITY: f64 = 100_000.0;
    const PRICE: f64 = 50_000.0;
    /// 1 % of the price; with balanced's 1.5 ATR stop the distance is 750.
    const ATR: f64 = 500.0;

    fn now() -> SimTime {
        SimTime::parse_rfc3339("2026-12-01T10:00:00Z").unwrap() // a Tuesday
    }

    fn venue() -> VenueId {
        VenueId::new("binance").unwrap()
    }

    fn sym(s: &str) -> Symbol {
        Symbol::new(s).unwrap()
    }

    fn account() -> AccountSnapshot {
        AccountSnapshot {
            total_equity: EQUITY,
            available_margin: EQUITY,
            maintenance_margin: 0.0,
        }
    }

    /// A BTC order at 50 000 with the engine's default stop for `limits`.
    fn order(side: Side, qty: f64, limits: &RiskLimits) -> RiskOrder {
        RiskOrder {
            venue: venue(),
            symbol: sym("BTC_USDT"),
            side,
            quantity: qty,
            price: Some(PRICE),
            stop: Some(StopPlan::from_atr(side, PRICE, ATR, limits)),
        }
    }

    fn engine_with(profile: RiskProfile) -> RiskEngine {
        let mut e = RiskEngine::new();
        e.register_profile(profile);
        e
    }

    /// Positions placed straight into risk's book (as a mark-to-market does).
    fn hold(e: &mut RiskEngine, profile: &str, positions: &[(&str, f64, f64)]) {
        let mark = MarkToMarket {
            at: now(),
            equity: EQUITY,
            positions: Some(
                positions
                    .iter()
                    .map(|&(s, quantity, price)| RiskPosition {
                        venue: venue(),
                        symbol: sym(s),
                        quantity,
                        price,
                    })
                    .collect(),
            ),
            daily_realized_pnl: None,
            weekly_realized_pnl: None,
            rolling_profit_30d: None,
            rolling_costs_30d: None,
        };
        e.on_mark_to_market(profile, &mark).unwrap();
    }

    /// A realised loss booked today (drives the loss triggers and the kill switch).
    fn lose(e: &mut RiskEngine, profile: &str, pnl: f64) {
        // First a check so today's equity marks exist, then the losing fill.
        e.apply_pre_trade_checks(
            now(),
            profile,
            &order(
                Side::Buy,
                0.001,
                &e.profile(profile).unwrap().limits.clone(),
            ),
            &account(),
        )
        .unwrap();
        // A round trip in ETH that realises `pnl` and leaves no position.
        for (side, realized_pnl) in [(Side::Sell, pnl), (Side::Buy, 0.0)] {
            let fill = RiskFill {
                at: now(),
                venue: venue(),
                symbol: sym("ETH_USDT"),
                side,
                quantity: 1.0,
                price: 3_000.0,
                realized_pnl,
                fee: 0.0,
            };
            e.on_fill(profile, &fill).unwrap();
        }
    }

    /// Balanced's five positions, all tiny.
    fn five_small_positions(e: &mut RiskEngine, profile: &str) {
        let held = ["A_USDT", "B_USDT", "C_USDT", "D_USDT", "E_USDT"].map(|s| (s, 1.0, 10.0));
        hold(e, profile, &held);
    }

    fn limits_with(edit: impl Fn(&mut RiskLimits)) -> RiskProfile {
        let mut p = RiskProfile::balanced();
        p.name = "custom".to_owned();
        edit(&mut p.limits);
        p
    }

    struct Case {
        name: &'static str,
        profile: RiskProfile,
        setup: fn(&mut RiskEngine, &str),
        order: fn(&RiskLimits) -> RiskOrder,
        account: AccountSnapshot,
        /// `None` = approved.
        refusal: Option<&'static str>,
        max_quantity: Option<f64>,
    }

    fn no_setup(_: &mut RiskEngine, _: &str) {}

    fn cases() -> Vec<Case> {
        let base = |name, setup, order: fn(&RiskLimits) -> RiskOrder, refusal, max_quantity| Case {
            name,
            profile: RiskProfile::balanced(),
            setup,
            order,
            account: account(),
            refusal,
            max_quantity,
        };
        vec![
            // TC0
            base(
                "plain buy is approved",
                no_setup,
                |l| order(Side::Buy, 0.1, l),
                None,
                None,
            ),
            // TC1
            base(
                "no price",
                no_setup,
                |l| RiskOrder {
                    price: None,
                    ..order(Side::Buy, 0.1, l)
                },
                Some("missing_price"),
                None,
            ),
            // TC2
            Case {
                account: AccountSnapshot {
                    total_equity: 0.0,
                    ..account()
                },
                ..base(
                    "no equity",
                    no_setup,
                    |l| order(Side::Buy, 0.1, l),
                    Some("non_positive_equity"),
                    None,
                )
            },
            // TC3
            base(
                "sell through a long is a flip",
                |e, p| hold(e, p, &[("BTC_USDT", 0.2, PRICE)]),
                |l| order(Side::Sell, 0.3, l),
                Some("direction_flip"),
                Some(0.2),
            ),
            // TC4
            base(
                "exact close is no flip",
                |e, p| hold(e, p, &[("BTC_USDT", 0.2, PRICE)]),
                |l| RiskOrder {
                    stop: None,
                    ..order(Side::Sell, 0.2, l)
                },
                None,
                None,
            ),
            // TC5
            base(
                "kill switch leaves only reducing orders",
                |e, p| lose(e, p, -5_000.0),
                |l| order(Side::Buy, 0.1, l),
                Some("reduce_only"),
                None,
            ),
            // TC6
            base(
                "reduce-only still lets a reducing order through",
                |e, p| {
                    lose(e, p, -5_000.0);
                    hold(e, p, &[("BTC_USDT", 0.2, PRICE)]);
                },
                |l| RiskOrder {
                    stop: None,
                    ..order(Side::Sell, 0.1, l)
                },
                None,
                None,
            ),
            // TC7
            base(
                "increasing order without an ATR",
                no_setup,
                |l| RiskOrder {
                    stop: None,
                    ..order(Side::Buy, 0.1, l)
                },
                Some("missing_atr"),
                None,
            ),
            // TC8
            base(
                "NaN stop price counts as missing",
                no_setup,
                |l| RiskOrder {
                    stop: Some(StopPlan {
                        atr: ATR,
                        stop_price: f64::NAN,
                    }),
                    ..order(Side::Buy, 0.1, l)
                },
                Some("missing_stop_price"),
                None,
            ),
            // TC9
            base(
                "stop above a buy",
                no_setup,
                |l| RiskOrder {
                    stop: Some(StopPlan {
                        atr: ATR,
                        stop_price: PRICE + 750.0,
                    }),
                    ..order(Side::Buy, 0.1, l)
                },
                Some("stop_on_wrong_side"),
                None,
            ),
            // TC10
            base(
                "stop at 1 ATR under a 1.5 ATR profile",
                no_setup,
                |l| RiskOrder {
                    stop: Some(StopPlan {
                        atr: ATR,
                        stop_price: PRICE - ATR,
                    }),
                    ..order(Side::Buy, 0.1, l)
                },
                Some("stop_too_tight"),
                None,
            ),
            // TC11: risk 2 500 × 0.5 = 1 250 > 1 % of 100 000.
            base(
                "trade risk above 1 % of equity",
                no_setup,
                |l| RiskOrder {
                    stop: Some(StopPlan {
                        atr: ATR,
                        stop_price: PRICE - 2_500.0,
                    }),
                    ..order(Side::Buy, 0.5, l)
                },
                Some("trade_risk_too_high"),
                Some(0.4),
            ),
            // TC12: 0.11 × 100 000 / 750 = 14.67 BTC.
            base(
                "position beyond the volatility budget",
                |e, p| hold(e, p, &[("BTC_USDT", 15.0, PRICE)]),
                |l| order(Side::Buy, 0.1, l),
                Some("volatility_budget"),
                Some(0.0),
            ),
            // TC13
            base(
                "sixth position under balanced",
                five_small_positions,
                |l| order(Side::Buy, 0.1, l),
                Some("max_positions"),
                None,
            ),
            // TC14: 5 000 / 3 > 1 000 free; 1 000 × 3 / 50 000 = 0.06.
            Case {
                account: AccountSnapshot {
                    available_margin: 1_500.0,
                    maintenance_margin: 500.0,
                    ..account()
                },
                ..base(
                    "not enough margin",
                    no_setup,
                    |l| order(Side::Buy, 0.1, l),
                    Some("insufficient_margin"),
                    Some(0.06),
                )
            },
            // TC15: 35 % > max(30 %, 30 %); 30 000 / 50 000 = 0.6.
            base(
                "instrument exposure above 30 %",
                no_setup,
                |l| order(Side::Buy, 0.7, l),
                Some("instrument_exposure"),
                Some(0.6),
            ),
            // TC16: 50 000 held elsewhere + 20 000 = 70 % > 65 %; (65 000 − 50 000) / 50 000.
            base(
                "portfolio exposure above 65 %",
                |e, p| hold(e, p, &[("ETH_USDT", 16.0, 3_125.0)]),
                |l| order(Side::Buy, 0.4, l),
                Some("portfolio_exposure"),
                Some(0.3),
            ),
            // TC17: gross 120 000 > 1 × equity, with the exposure caps switched off.
            Case {
                profile: limits_with(|l| {
                    l.max_leverage = 1.0;
                    l.instrument_limit_pct = 0.0;
                    l.max_position_pct = 0.0;
                    l.portfolio_limit_pct = 0.0;
                }),
                ..base(
                    "gross notional above max leverage",
                    |e, p| hold(e, p, &[("ETH_USDT", 32.0, 3_125.0)]),
                    |l| order(Side::Buy, 0.4, l),
                    Some("leverage"),
                    Some(0.0),
                )
            },
            // TC18: target_volatility 0 skips step 9; step 14 still wants 2 ATR.
            Case {
                profile: limits_with(|l| {
                    l.target_volatility = 0.0;
                    l.stop_loss_atr_multiple = 2.0;
                }),
                ..base(
                    "second stop check binds without a volatility target",
                    no_setup,
                    |l| RiskOrder {
                        stop: Some(StopPlan {
                            atr: ATR,
                            stop_price: PRICE - 1.5 * ATR,
                        }),
                        ..order(Side::Buy, 0.1, l)
                    },
                    Some("stop_too_tight"),
                    None,
                )
            },
            // TC19: 10 % of equity passes step 12's 30 % but not the 5 % max_position_pct.
            Case {
                profile: yaml_balanced(),
                ..base(
                    "deferred max_position_pct cap",
                    no_setup,
                    |l| order(Side::Buy, 0.2, l),
                    Some("exposure_cap"),
                    Some(0.1),
                )
            },
            // TC20: conservative: 15 % breaks instrument_limit_pct 10 % (the tighter cap);
            // 10 000 / 50 000 = 0.2.
            Case {
                profile: RiskProfile::conservative(),
                ..base(
                    "tighter instrument cap wins",
                    no_setup,
                    |l| order(Side::Buy, 0.3, l),
                    Some("exposure_cap"),
                    Some(0.2),
                )
            },
            // Which check wins when two fail.
            // TC21
            base(
                "missing price beats reduce-only",
                |e, p| lose(e, p, -5_000.0),
                |l| RiskOrder {
                    price: None,
                    ..order(Side::Buy, 0.1, l)
                },
                Some("missing_price"),
                None,
            ),
            // TC22
            base(
                "flip beats reduce-only",
                |e, p| {
                    lose(e, p, -5_000.0);
                    hold(e, p, &[("BTC_USDT", 0.2, PRICE)]);
                },
                |l| order(Side::Sell, 0.5, l),
                Some("direction_flip"),
                Some(0.2),
            ),
            // TC23
            base(
                "reduce-only beats a missing ATR",
                |e, p| lose(e, p, -5_000.0),
                |l| RiskOrder {
                    stop: None,
                    ..order(Side::Buy, 0.1, l)
                },
                Some("reduce_only"),
                None,
            ),
            // TC24
            Case {
                profile: yaml_balanced(),
                ..base(
                    "max positions beats the deferred cap",
                    five_small_positions,
                    |l| order(Side::Buy, 0.2, l),
                    Some("max_positions"),
                    None,
                )
            },
            // TC25
            Case {
                profile: yaml_balanced(),
                account: AccountSnapshot {
                    available_margin: 1_000.0,
                    ..account()
                },
                ..base(
                    "margin beats the deferred cap",
                    no_setup,
                    |l| order(Side::Buy, 0.2, l),
                    Some("insufficient_margin"),
                    Some(0.06),
                )
            },
            // TC26
            Case {
                profile: yaml_balanced(),
                ..base(
                    "instrument exposure beats the deferred cap",
                    no_setup,
                    |l| order(Side::Buy, 0.7, l),
                    Some("instrument_exposure"),
                    Some(0.6),
                )
            },
        ]
    }

    fn yaml_balanced() -> RiskProfile {
        let entry = RiskProfileOverrides {
            max_position_pct: Some(0.05),
            ..RiskProfileOverrides::default()
        };
        RiskProfile::from_config("balanced", Some(&entry)).unwrap()
    }

    #[test]
    fn each_refusal_in_the_reference_order() {
        for (i, case) in cases().into_iter().enumerate() {
            let name = case.profile.name.clone();
            let limits = case.profile.limits.clone();
            let mut e = engine_with(case.profile);
            (case.setup)(&mut e, &name);
            let outcome = e
                .apply_pre_trade_checks(now(), &name, &(case.order)(&limits), &case.account)
                .unwrap();
            match (case.refusal, outcome.decision) {
                (None, RiskDecision::Approved { .. }) => {}
                (
                    Some(code),
                    RiskDecision::Refused {
                        reason,
                        max_quantity,
                    },
                ) => {
                    assert_eq!(reason.code(), code, "TC{i} {}: {reason}", case.name);
                    match (case.max_quantity, max_quantity) {
                        (None, None) => {}
                        (Some(want), Some(got)) => {
                            assert!(
                                (want - got).abs() < 1e-9,
                                "TC{i} {}: max_quantity {got}, want {want}",
                                case.name
                            )
                        }
                        (want, got) => {
                            panic!("TC{i} {}: max_quantity {got:?}, want {want:?}", case.name)
                        }
                    }
                }
                (want, got) => panic!("TC{i} {}: got {got:?}, want {want:?}", case.name),
            }
        }
    }

    #[test]
    fn refusal_messages_name_the_numbers() {
        let r = RiskRefusal::ExposureCap {
            cap: ExposureCapKind::MaxPositionPct,
            exposure_pct: 0.1,
            limit_pct: 0.05,
        };
        assert_eq!(
            r.to_string(),
            "position would be 10.00 % of equity, above max_position_pct 5.00 %"
        );
        let json = serde_json::to_string(&r).unwrap();
        assert_eq!(
            json,
            r#"{"code":"exposure_cap","cap":"max_position_pct","exposure_pct":0.1,"limit_pct":0.05}"#
        );
    }

    #[test]
    fn alerts_are_values() {
        // 0.55 BTC = 27.5 % of equity: instrument alert at 25 %, below the 30 % cap; with
        // 30 000 of ETH the portfolio reaches 57.5 % (alert at 55 %). A 1 000 stop risks 550,
        // inside the 0.5–1 % trade-risk range, so no notice.
        let mut e = engine_with(RiskProfile::balanced());
        hold(&mut e, "balanced", &[("ETH_USDT", 10.0, 3_000.0)]);
        let l = RiskProfile::balanced().limits;
        let o = RiskOrder {
            stop: Some(StopPlan {
                atr: ATR,
                stop_price: PRICE - 1_000.0,
            }),
            ..order(Side::Buy, 0.55, &l)
        };
        let outcome = e
            .apply_pre_trade_checks(now(), "balanced", &o, &account())
            .unwrap();
        assert!(outcome.decision.is_approved(), "{:?}", outcome.decision);
        let kinds: Vec<_> = outcome
            .alerts
            .iter()
            .map(|a| (a.kind, a.severity))
            .collect();
        assert_eq!(
            kinds,
            [
                (RiskAlertKind::InstrumentExposure, AlertSeverity::Warning),
                (RiskAlertKind::PortfolioExposure, AlertSeverity::Warning),
            ]
        );

        // A tiny trade risks less than 0.5 % of equity: a notice.
        let outcome = e
            .apply_pre_trade_checks(now(), "balanced", &order(Side::Buy, 0.001, &l), &account())
            .unwrap();
        assert_eq!(outcome.alerts[0].kind, RiskAlertKind::TradeRiskBelowMinimum);
        assert_eq!(outcome.alerts[0].severity, AlertSeverity::Notice);

        // The kill switch alerts once when it engages, not on every later order.
        let mut e = engine_with(RiskProfile::balanced());
        lose(&mut e, "balanced", -5_000.0);
        let first = e
            .apply_pre_trade_checks(now(), "balanced", &order(Side::Buy, 0.1, &l), &account())
            .unwrap();
        let critical: Vec<_> = first
            .alerts
            .iter()
            .filter(|a| a.kind == RiskAlertKind::KillSwitch)
            .collect();
        assert_eq!(critical.len(), 1);
        assert_eq!(critical[0].severity, AlertSeverity::Critical);
        let again = e
            .apply_pre_trade_checks(now(), "balanced", &order(Side::Buy, 0.1, &l), &account())
            .unwrap();
        assert!(
            again
                .alerts
                .iter()
                .all(|a| a.kind != RiskAlertKind::KillSwitch)
        );
    }

    #[test]
    fn default_stop_passes_its_own_check() {
        // Any ATR: the stop from_atr builds is never "too tight" for float reasons.
        for profile in [
            RiskProfile::conservative(),
            RiskProfile::balanced(),
            RiskProfile::aggressive(),
        ] {
            for atr in [0.1, 1.0 / 3.0, 123.456_789, 777.7] {
                let name = profile.name.clone();
                let mut e = engine_with(profile.clone());
                let o = RiskOrder {
                    stop: Some(StopPlan::from_atr(Side::Sell, PRICE, atr, &profile.limits)),
                    ..order(Side::Sell, 0.001, &profile.limits)
                };
                let d = e
                    .apply_pre_trade_checks(now(), &name, &o, &account())
                    .unwrap()
                    .decision;
                assert!(d.is_approved(), "{name} atr {atr}: {d:?}");
            }
        }
    }

    #[test]
    fn average_true_range_uses_previous_close() {
        let bar = |high: f64, low: f64, close: f64| MarketSnapshot {
            symbol: sym("BTC_USDT"),
            at: now(),
            open: close,
            high,
            low,
            close,
            volume: 1.0,
            cross: None,
        };
        // TRs: max(2, |12−8|, |10−8|) = 4 (gap up from 8), then max(1, 0, 1) = 1.
        let history = [
            bar(9.0, 7.0, 8.0),
            bar(12.0, 10.0, 11.0),
            bar(12.0, 11.0, 11.5),
        ];
        assert_eq!(average_true_range(&history, 2), Some(2.5));
        assert_eq!(average_true_range(&history, 1), Some(1.0));
        assert_eq!(
            average_true_range(&history, 3),
            None,
            "needs period + 1 bars"
        );
        assert_eq!(average_true_range(&history, 0), None);
    }

    #[test]
    fn bad_inputs_are_errors_not_refusals() {
        let mut e = engine_with(RiskProfile::balanced());
        let l = RiskProfile::balanced().limits;
        let err = e
            .apply_pre_trade_checks(now(), "balanced", &order(Side::Buy, 0.0, &l), &account())
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "order.quantity = 0: expected a finite quantity > 0 in base units"
        );
        let err = e
            .apply_pre_trade_checks(now(), "desk", &order(Side::Buy, 0.1, &l), &account())
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "risk profile `desk` is not registered (registered: balanced)"
        );
        let bad = AccountSnapshot {
            total_equity: f64::NAN,
            ..account()
        };
        assert!(
            e.apply_pre_trade_checks(now(), "balanced", &order(Side::Buy, 0.1, &l), &bad)
                .is_err()
        );
    }
}
