//! The risk engine (the reference's `ThresholdRiskEngine`, engine.md §8): per-profile limits
//! and state, pre-trade checks in the reference's order, fills and mark-to-market updates,
//! and a serialisable snapshot.
//!
//! A refusal is a value ([`RiskDecision::Refused`] with a [`RiskRefusal`]); alerts
//! ([`RiskAlert`]) are values the caller logs. `Err` ([`RiskError`]) only means the caller
//! broke the contract: an unregistered profile or a non-finite input.
//!
//! Typical use by the order router:
//! 1. [`RiskEngine::register_profile`] once per profile in use;
//! 2. per candidate order, [`RiskEngine::apply_pre_trade_checks`] with a [`RiskOrder`]
//!    (attach a [`StopPlan`], see [`checks`] for the rule) and the account's
//!    [`AccountSnapshot`];
//! 3. per fill, [`RiskEngine::on_fill`] with the realised PnL the position ledger computed;
//! 4. on each mark, [`RiskEngine::on_mark_to_market`] with the account equity;
//! 5. [`RiskEngine::snapshot_state`] for the decision log and reports.

pub mod checks;
pub mod profiles;
pub mod state;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use checks::{
    AccountSnapshot, AlertSeverity, ExposureCapKind, RiskAlert, RiskAlertKind, RiskCheckOutcome,
    RiskDecision, RiskOrder, RiskRefusal, StopPlan, average_true_range,
};
pub use profiles::{
    BUILTIN_PROFILES, ProfileOrigin, RiskConfigError, RiskLimits, RiskProfile, RiskProfileOverrides,
};
pub use state::{InstrumentKey, LiquidationTrigger, PositionSide, RiskState};

use crate::domain::{Side, SimTime, Symbol, VenueId};
use state::Exposure;

/// The caller broke the risk engine's contract.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum RiskError {
    /// The profile was never registered.
    #[error("risk profile `{name}` is not registered (registered: {registered})")]
    UnknownProfile {
        /// The name asked for.
        name: String,
        /// The registered names, comma-separated.
        registered: String,
    },
    /// A number that must be finite (or positive) is not.
    #[error("{field} = {value}: expected {expected}")]
    InvalidInput {
        /// Which input.
        field: &'static str,
        /// The value given.
        value: f64,
        /// What is accepted.
        expected: &'static str,
    },
}

/// A fill as risk needs it. Quantities in base units, money in quote units.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct RiskFill {
    /// When it traded.
    pub at: SimTime,
    /// Where.
    pub venue: VenueId,
    /// What.
    pub symbol: Symbol,
    /// Buy or sell.
    pub side: Side,
    /// Quantity traded, > 0.
    pub quantity: f64,
    /// Fill price, > 0.
    pub price: f64,
    /// Realised PnL of this fill **net of its fee** (costs are losses), from the position
    /// ledger; 0 for a fill that only opens or extends.
    pub realized_pnl: f64,
    /// The fee paid, ≥ 0 (for the cost breakdown).
    pub fee: f64,
}

/// One position for [`MarkToMarket::positions`].
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct RiskPosition {
    /// The venue.
    pub venue: VenueId,
    /// The symbol.
    pub symbol: Symbol,
    /// Signed quantity in base units (positive long).
    pub quantity: f64,
    /// Mark price, > 0.
    pub price: f64,
}

/// A mark-to-market update (the reference's `on_mark_to_market` arguments).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MarkToMarket {
    /// When.
    pub at: SimTime,
    /// Account equity, quote units.
    pub equity: f64,
    /// The full position list, replacing risk's own (instruments missing from it are
    /// dropped); `None` keeps the positions built from fills.
    pub positions: Option<Vec<RiskPosition>>,
    /// Replaces today's realised PnL when given.
    pub daily_realized_pnl: Option<f64>,
    /// Replaces this week's realised PnL when given.
    pub weekly_realized_pnl: Option<f64>,
    /// Rolling 30-day profit for the cost/profit trigger (only the caller knows it).
    pub rolling_profit_30d: Option<f64>,
    /// Rolling 30-day trading costs for the cost/profit trigger.
    pub rolling_costs_30d: Option<f64>,
}

#[derive(Clone, Debug)]
struct ProfileBook {
    profile: RiskProfile,
    state: RiskState,
}

/// The risk engine: registered profiles, each with its own [`RiskState`].
#[derive(Clone, Debug, Default)]
pub struct RiskEngine {
    books: BTreeMap<String, ProfileBook>,
}

fn finite(field: &'static str, value: f64, positive: bool) -> Result<(), RiskError> {
    let ok = value.is_finite() && (!positive || value > 0.0);
    if ok {
        Ok(())
    } else {
        Err(RiskError::InvalidInput {
            field,
            value,
            expected: if positive {
                "a finite number > 0"
            } else {
                "a finite number"
            },
        })
    }
}

impl RiskEngine {
    /// An engine with no profiles.
    pub fn new() -> RiskEngine {
        RiskEngine::default()
    }

    /// Registers a profile under its name with a fresh state, replacing any profile of that
    /// name (and its state).
    pub fn register_profile(&mut self, profile: RiskProfile) {
        self.books.insert(
            profile.name.clone(),
            ProfileBook {
                profile,
                state: RiskState::default(),
            },
        );
    }

    /// A registered profile.
    pub fn profile(&self, name: &str) -> Option<&RiskProfile> {
        self.books.get(name).map(|b| &b.profile)
    }

    /// A registered profile's state.
    pub fn state(&self, name: &str) -> Option<&RiskState> {
        self.books.get(name).map(|b| &b.state)
    }

    fn book(&self, name: &str) -> Result<&ProfileBook, RiskError> {
        self.books.get(name).ok_or_else(|| self.unknown(name))
    }

    fn book_mut(&mut self, name: &str) -> Result<&mut ProfileBook, RiskError> {
        if !self.books.contains_key(name) {
            return Err(self.unknown(name));
        }
        Ok(self.books.get_mut(name).expect("checked above"))
    }

    fn unknown(&self, name: &str) -> RiskError {
        RiskError::UnknownProfile {
            name: name.to_owned(),
            registered: self.books.keys().cloned().collect::<Vec<_>>().join(", "),
        }
    }

    /// Checks one order against `profile` at `now` (engine.md §8.3; the order of the checks
    /// is tabled in [`checks`]). Updates the profile's calendar, peak and force-liquidation
    /// latch; positions change only through [`RiskEngine::on_fill`].
    pub fn apply_pre_trade_checks(
        &mut self,
        now: SimTime,
        profile: &str,
        order: &RiskOrder,
        account: &AccountSnapshot,
    ) -> Result<RiskCheckOutcome, RiskError> {
        order.validate()?;
        account.validate()?;
        let book = self.book_mut(profile)?;
        Ok(checks::pre_trade(
            &book.profile,
            &mut book.state,
            now,
            order,
            account,
        ))
    }

    /// Records a fill: moves the instrument's position by the fill and adds the realised PnL
    /// to the day and the week (the reference's `on_fill`). Approved orders take up exposure
    /// only once they fill, so a caller with several orders in flight on one instrument must
    /// wait for fills before asking again (the paper venue fills at once).
    pub fn on_fill(&mut self, profile: &str, fill: &RiskFill) -> Result<(), RiskError> {
        finite("fill.quantity", fill.quantity, true)?;
        finite("fill.price", fill.price, true)?;
        finite("fill.realized_pnl", fill.realized_pnl, false)?;
        finite("fill.fee", fill.fee, false)?;
        let state = &mut self.book_mut(profile)?.state;
        state.housekeeping(fill.at, None);
        let key = InstrumentKey {
            venue: fill.venue,
            symbol: fill.symbol,
        };
        let entry = state.positions.entry(key).or_insert(Exposure {
            qty: 0.0,
            price: fill.price,
        });
        let before = entry.qty;
        entry.qty += fill.side.sign() as f64 * fill.quantity;
        entry.price = fill.price;
        // A close is a close, whatever the float sum left behind.
        if entry.qty.abs() <= before.abs().max(fill.quantity) * 1e-9 {
            state.positions.remove(&key);
        }
        state.daily_realized_pnl += fill.realized_pnl;
        state.weekly_realized_pnl += fill.realized_pnl;
        state.daily_fees += fill.fee;
        state.daily_traded_notional += fill.quantity * fill.price;
        Ok(())
    }

    /// Marks the profile to market: equity (and peak), optionally the whole position list and
    /// the realised/rolling figures; then the drawdown and daily-loss triggers, which set
    /// force-liquidation and never clear it (only a new UTC day does).
    pub fn on_mark_to_market(
        &mut self,
        profile: &str,
        mark: &MarkToMarket,
    ) -> Result<(), RiskError> {
        finite("mark.equity", mark.equity, false)?;
        for p in mark.positions.iter().flatten() {
            finite("mark.positions[].quantity", p.quantity, false)?;
            finite("mark.positions[].price", p.price, true)?;
        }
        for (field, value) in [
            ("mark.daily_realized_pnl", mark.daily_realized_pnl),
            ("mark.weekly_realized_pnl", mark.weekly_realized_pnl),
            ("mark.rolling_profit_30d", mark.rolling_profit_30d),
            ("mark.rolling_costs_30d", mark.rolling_costs_30d),
        ] {
            if let Some(v) = value {
                finite(field, v, false)?;
            }
        }
        let book = self.book_mut(profile)?;
        let state = &mut book.state;
        state.housekeeping(mark.at, Some(mark.equity));
        if let Some(positions) = &mark.positions {
            state.positions = positions
                .iter()
                .filter(|p| p.quantity != 0.0)
                .map(|p| {
                    (
                        InstrumentKey {
                            venue: p.venue,
                            symbol: p.symbol,
                        },
                        Exposure {
                            qty: p.quantity,
                            price: p.price,
                        },
                    )
                })
                .collect();
        }
        if let Some(v) = mark.daily_realized_pnl {
            state.daily_realized_pnl = v;
        }
        if let Some(v) = mark.weekly_realized_pnl {
            state.weekly_realized_pnl = v;
        }
        if let Some(v) = mark.rolling_profit_30d {
            state.rolling_profit_30d = v;
        }
        if let Some(v) = mark.rolling_costs_30d {
            state.rolling_costs_30d = v;
        }
        state.check_loss_triggers(&book.profile.limits);
        Ok(())
    }

    /// True while `profile` only lets reducing orders through.
    pub fn is_reduce_only(&self, profile: &str) -> Result<bool, RiskError> {
        Ok(self.book(profile)?.state.is_reduce_only())
    }

    /// The reference's `snapshot_state`: state, metrics, statistics, limits, cost breakdown.
    pub fn snapshot_state(&self, profile: &str) -> Result<RiskSnapshot, RiskError> {
        let book = self.book(profile)?;
        Ok(RiskSnapshot::of(&book.profile, &book.state))
    }
}

/// One position in a [`RiskSnapshot`].
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct PositionSnapshot {
    /// Long or short.
    pub side: PositionSide,
    /// Quantity, base units, ≥ 0.
    pub quantity: f64,
    /// Notional at the last price, quote units, ≥ 0.
    pub notional: f64,
}

/// The camel-case `statistics` block of the reference snapshot.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RiskStatistics {
    /// Realised PnL today.
    pub daily_realized_pnl: f64,
    /// Σ notionals.
    pub gross_notional: f64,
    /// Open positions.
    pub active_positions: usize,
    /// Realised daily loss, fraction.
    pub daily_loss_pct: f64,
    /// Drawdown from peak, fraction.
    pub drawdown_pct: f64,
    /// Gross notional / equity.
    pub used_leverage: f64,
}

/// Where the cost figures came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CostSource {
    /// Today's fees and traded notional.
    Fees,
    /// No trades today: the reference's fallback, `|negative daily PnL| / equity × 10⁴`.
    Approximation,
}

/// The `cost_breakdown` block of the reference snapshot.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CostBreakdown {
    /// Fees / traded notional today, bps.
    pub average_cost_bps: f64,
    /// Fees today / start-of-day equity, bps.
    pub total_cost_bps: f64,
    /// How the figures were obtained.
    pub source: CostSource,
}

/// What `snapshot_state` returns: the state fields, the derived metrics, the reference's
/// camel-case `statistics` and `cost_breakdown` blocks and the active limits.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RiskSnapshot {
    /// The profile name.
    pub profile: String,
    /// Where its limits came from.
    pub origin: ProfileOrigin,
    /// Start of the current UTC day (`None` before the first call).
    pub current_day: Option<SimTime>,
    /// Monday 00:00 UTC of the current week.
    pub start_of_week: Option<SimTime>,
    /// Equity when the day began.
    pub start_of_day_equity: f64,
    /// Equity when the week began.
    pub start_of_week_equity: f64,
    /// Last equity seen.
    pub last_equity: f64,
    /// Highest equity seen.
    pub peak_equity: f64,
    /// Realised PnL today.
    pub daily_realized_pnl: f64,
    /// Realised PnL this week.
    pub weekly_realized_pnl: f64,
    /// Rolling 30-day profit, as last supplied.
    pub rolling_profit_30d: f64,
    /// Rolling 30-day costs, as last supplied.
    pub rolling_costs_30d: f64,
    /// Reduce-only mode is on.
    pub force_liquidation: bool,
    /// Why, if it is on.
    pub liquidation_trigger: Option<LiquidationTrigger>,
    /// Positions by `venue:SYMBOL`.
    pub positions: BTreeMap<String, PositionSnapshot>,
    /// Σ notionals.
    pub gross_notional: f64,
    /// Open positions.
    pub active_positions: usize,
    /// Realised daily loss, fraction.
    pub daily_loss_pct: f64,
    /// Drawdown from peak, fraction (≥ 0; the telemetry `pnl_drawdown_pct` is the negative
    /// percentage from the position ledger).
    pub drawdown_pct: f64,
    /// Realised weekly loss, fraction.
    pub weekly_loss_pct: f64,
    /// Gross notional / equity.
    pub used_leverage: f64,
    /// The reference's camel-case statistics block.
    pub statistics: RiskStatistics,
    /// The limits in force.
    pub limits: RiskLimits,
    /// Trading costs.
    pub cost_breakdown: CostBreakdown,
}

impl RiskSnapshot {
    fn of(profile: &RiskProfile, s: &RiskState) -> RiskSnapshot {
        let gross = s.gross_notional();
        let active = s.active_positions();
        let base = s.start_of_day_equity;
        let cost_breakdown = if s.daily_traded_notional > 0.0 {
            CostBreakdown {
                average_cost_bps: s.daily_fees / s.daily_traded_notional * 1e4,
                total_cost_bps: if base > 0.0 {
                    s.daily_fees / base * 1e4
                } else {
                    0.0
                },
                source: CostSource::Fees,
            }
        } else {
            let approx = if base > 0.0 {
                (-s.daily_realized_pnl).max(0.0) / base * 1e4
            } else {
                0.0
            };
            CostBreakdown {
                average_cost_bps: approx,
                total_cost_bps: approx,
                source: CostSource::Approximation,
            }
        };
        RiskSnapshot {
            profile: profile.name.clone(),
            origin: profile.origin,
            current_day: s.current_day,
            start_of_week: s.start_of_week,
            start_of_day_equity: s.start_of_day_equity,
            start_of_week_equity: s.start_of_week_equity,
            last_equity: s.last_equity,
            peak_equity: s.peak_equity,
            daily_realized_pnl: s.daily_realized_pnl,
            weekly_realized_pnl: s.weekly_realized_pnl,
            rolling_profit_30d: s.rolling_profit_30d,
            rolling_costs_30d: s.rolling_costs_30d,
            force_liquidation: s.force_liquidation,
            liquidation_trigger: s.liquidation_trigger,
            positions: s
                .positions
                .iter()
                .map(|(key, e)| {
                    (
                        key.to_string(),
                        PositionSnapshot {
                            side: if e.qty > 0.0 {
                                PositionSide::Long
                            } else {
                                PositionSide::Short
                            },
                            quantity: e.qty.abs(),
                            notional: e.notional(),
                        },
                    )
                })
                .collect(),
            gross_notional: gross,
            active_positions: active,
            daily_loss_pct: s.daily_loss_pct(),
            drawdown_pct: s.drawdown_pct(),
            weekly_loss_pct: s.weekly_loss_pct(),
            used_leverage: s.used_leverage(),
            statistics: RiskStatistics {
                daily_realized_pnl: s.daily_realized_pnl,
                gross_notional: gross,
                active_positions: active,
                daily_loss_pct: s.daily_loss_pct(),
                drawdown_pct: s.drawdown_pct(),
                used_leverage: s.used_leverage(),
            },
            limits: profile.limits.clone(),
            cost_breakdown,
        }
    }
}
