//! Per-profile risk state (engine.md §8.2): the calendar (UTC day, Monday-started week), the
//! equity marks, realised PnL windows, the force-liquidation latch and the exposure of every
//! instrument, plus the metrics derived from them.
//!
//! Risk math is `f64` in quote units, evaluated in a fixed order, so it is reproducible.
//! Positions are kept as signed base quantities with the last price seen, keyed by
//! [`InstrumentKey`] (venue *and* symbol: the two legs of an arbitrage are two positions, not
//! one netted symbol as in the reference).

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::profiles::RiskLimits;
use crate::domain::{SimDuration, SimTime, Symbol, VenueId};

/// One instrument on one venue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct InstrumentKey {
    /// The venue.
    pub venue: VenueId,
    /// The symbol.
    pub symbol: Symbol,
}

impl fmt::Display for InstrumentKey {
    /// `venue:SYMBOL`, the key used in snapshots.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.venue, self.symbol)
    }
}

/// Long or short.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PositionSide {
    /// Holds the base asset.
    Long,
    /// Owes the base asset.
    Short,
}

/// What risk knows about one position.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Exposure {
    /// Signed base quantity (positive long).
    pub(crate) qty: f64,
    /// Last price seen for it (fill or mark), quote units.
    pub(crate) price: f64,
}

impl Exposure {
    pub(crate) fn notional(&self) -> f64 {
        self.qty.abs() * self.price
    }
}

/// Why the profile is in reduce-only mode. The reference keeps only the last reason that
/// fired; so do we.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LiquidationTrigger {
    /// Drawdown from peak equity reached `drawdown_limit`.
    Drawdown {
        /// Drawdown, fraction of peak.
        value: f64,
        /// The limit.
        limit: f64,
    },
    /// Realised daily loss reached `daily_loss_limit`.
    DailyLoss {
        /// Loss, fraction of start-of-day equity.
        value: f64,
        /// The limit.
        limit: f64,
    },
    /// Kill switch: realised daily PnL at or below −2R.
    KillSwitchDailyR {
        /// Realised daily PnL, quote units.
        value: f64,
        /// The (negative) PnL floor.
        limit: f64,
    },
    /// Kill switch: realised daily loss reached the daily kill-switch percentage.
    KillSwitchDailyLoss {
        /// Loss, fraction of start-of-day equity.
        value: f64,
        /// The limit.
        limit: f64,
    },
    /// Kill switch: realised weekly loss reached the weekly kill-switch percentage.
    KillSwitchWeeklyLoss {
        /// Loss, fraction of start-of-week equity.
        value: f64,
        /// The limit.
        limit: f64,
    },
    /// Rolling 30-day costs over profit above the maximum ratio.
    CostToProfit {
        /// The ratio (infinite when there are costs and no profit).
        value: f64,
        /// The maximum.
        limit: f64,
    },
}

impl LiquidationTrigger {
    /// True for the three kill-switch conditions.
    pub fn is_kill_switch(&self) -> bool {
        matches!(
            self,
            LiquidationTrigger::KillSwitchDailyR { .. }
                | LiquidationTrigger::KillSwitchDailyLoss { .. }
                | LiquidationTrigger::KillSwitchWeeklyLoss { .. }
        )
    }
}

impl fmt::Display for LiquidationTrigger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            LiquidationTrigger::Drawdown { value, limit } => {
                write!(
                    f,
                    "drawdown {} reached the limit {}",
                    pct(value),
                    pct(limit)
                )
            }
            LiquidationTrigger::DailyLoss { value, limit } => {
                write!(
                    f,
                    "daily loss {} reached the limit {}",
                    pct(value),
                    pct(limit)
                )
            }
            LiquidationTrigger::KillSwitchDailyR { value, limit } => write!(
                f,
                "kill switch: realised daily PnL {value:.2} is at or below −2R ({limit:.2})"
            ),
            LiquidationTrigger::KillSwitchDailyLoss { value, limit } => write!(
                f,
                "kill switch: daily loss {} reached {}",
                pct(value),
                pct(limit)
            ),
            LiquidationTrigger::KillSwitchWeeklyLoss { value, limit } => write!(
                f,
                "kill switch: weekly loss {} reached {}",
                pct(value),
                pct(limit)
            ),
            LiquidationTrigger::CostToProfit { value, limit } => {
                write!(f, "30-day cost/profit ratio {value:.3} is above {limit:.3}")
            }
        }
    }
}

/// A fraction as a percentage with two decimals, for messages.
pub(crate) fn pct(fraction: f64) -> String {
    format!("{:.2} %", fraction * 100.0)
}

/// The state of one profile. Created by [`RiskEngine::register_profile`](super::RiskEngine)
/// and moved only by the engine's calls.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RiskState {
    pub(crate) current_day: Option<SimTime>,
    pub(crate) start_of_week: Option<SimTime>,
    pub(crate) start_of_day_equity: f64,
    pub(crate) start_of_week_equity: f64,
    pub(crate) last_equity: f64,
    pub(crate) peak_equity: f64,
    pub(crate) daily_realized_pnl: f64,
    pub(crate) weekly_realized_pnl: f64,
    pub(crate) rolling_profit_30d: f64,
    pub(crate) rolling_costs_30d: f64,
    pub(crate) daily_fees: f64,
    pub(crate) daily_traded_notional: f64,
    pub(crate) force_liquidation: bool,
    pub(crate) liquidation_trigger: Option<LiquidationTrigger>,
    /// Latches so the kill-switch and cost alerts fire once per engagement, not per order.
    pub(crate) kill_switch_engaged: bool,
    pub(crate) cost_ratio_engaged: bool,
    pub(crate) positions: BTreeMap<InstrumentKey, Exposure>,
}

/// Monday 00:00 UTC of the week containing `t`. The epoch (1970-01-01) was a Thursday; the
/// first three days are clamped to the epoch.
pub(crate) fn start_of_week(t: SimTime) -> SimTime {
    let day_nanos = SimDuration::from_days(1).as_nanos();
    let day = t.start_of_day();
    let days_since_monday = (day.as_nanos() / day_nanos + 3) % 7;
    SimTime::from_nanos(day.as_nanos().saturating_sub(days_since_monday * day_nanos))
}

impl RiskState {
    /// Calendar and equity housekeeping shared by every call (§8.3 step 1): initialise the
    /// equity marks on first use, roll the day (clearing force-liquidation) and the week, and
    /// raise the peak. `equity` is `None` when the call carries no account view (a fill).
    pub(crate) fn housekeeping(&mut self, now: SimTime, equity: Option<f64>) {
        let reference = equity.unwrap_or(self.last_equity);
        if self.start_of_day_equity == 0.0 {
            self.start_of_day_equity = reference;
        }
        if self.start_of_week_equity == 0.0 {
            self.start_of_week_equity = reference;
        }
        if self.peak_equity == 0.0 {
            self.peak_equity = reference;
        }
        let today = now.start_of_day();
        match self.current_day {
            // Time never runs backwards in a run; an older timestamp (a late report) belongs to
            // the day already open.
            Some(day) if today <= day => {}
            _ => {
                self.current_day = Some(today);
                self.start_of_day_equity = reference;
                self.daily_realized_pnl = 0.0;
                self.daily_fees = 0.0;
                self.daily_traded_notional = 0.0;
                self.force_liquidation = false;
                self.liquidation_trigger = None;
                self.kill_switch_engaged = false;
                self.cost_ratio_engaged = false;
            }
        }
        let week = start_of_week(now);
        match self.start_of_week {
            Some(w) if week <= w => {}
            _ => {
                self.start_of_week = Some(week);
                self.start_of_week_equity = reference;
                self.weekly_realized_pnl = 0.0;
            }
        }
        if let Some(e) = equity {
            self.last_equity = e;
            if e > self.peak_equity {
                self.peak_equity = e;
            }
        }
    }

    /// Realised loss today as a fraction of the day's starting equity (0 when in profit).
    pub fn daily_loss_pct(&self) -> f64 {
        loss_fraction(self.daily_realized_pnl, self.start_of_day_equity)
    }

    /// Realised loss this week as a fraction of the week's starting equity.
    pub fn weekly_loss_pct(&self) -> f64 {
        loss_fraction(self.weekly_realized_pnl, self.start_of_week_equity)
    }

    /// `max(0, peak − equity) / peak`, a non-negative fraction.
    pub fn drawdown_pct(&self) -> f64 {
        if self.peak_equity <= 0.0 {
            0.0
        } else {
            (self.peak_equity - self.last_equity).max(0.0) / self.peak_equity
        }
    }

    /// Σ position notionals, quote units.
    pub fn gross_notional(&self) -> f64 {
        self.positions.values().map(Exposure::notional).sum()
    }

    /// Gross notional over equity (0 without equity).
    pub fn used_leverage(&self) -> f64 {
        if self.last_equity > 0.0 {
            self.gross_notional() / self.last_equity
        } else {
            0.0
        }
    }

    /// Positions with a non-zero quantity.
    pub fn active_positions(&self) -> usize {
        self.positions.values().filter(|e| e.qty != 0.0).count()
    }

    /// True while only reducing orders pass (until the next UTC day).
    pub fn is_reduce_only(&self) -> bool {
        self.force_liquidation
    }

    /// The last reason force-liquidation was set, if it is set.
    pub fn liquidation_trigger(&self) -> Option<LiquidationTrigger> {
        self.liquidation_trigger
    }

    /// Signed quantity of an instrument (0 when flat or unknown).
    pub fn position_qty(&self, key: &InstrumentKey) -> f64 {
        self.positions.get(key).map_or(0.0, |e| e.qty)
    }

    fn engage(&mut self, trigger: LiquidationTrigger) {
        self.force_liquidation = true;
        self.liquidation_trigger = Some(trigger);
    }

    /// The drawdown and daily-loss triggers (used by both the pre-trade check and
    /// mark-to-market). Sets, never clears.
    pub(crate) fn check_loss_triggers(&mut self, limits: &RiskLimits) {
        let drawdown = self.drawdown_pct();
        if limits.drawdown_limit > 0.0 && drawdown >= limits.drawdown_limit {
            self.engage(LiquidationTrigger::Drawdown {
                value: drawdown,
                limit: limits.drawdown_limit,
            });
        }
        let daily = self.daily_loss_pct();
        if limits.daily_loss_limit > 0.0 && daily >= limits.daily_loss_limit {
            self.engage(LiquidationTrigger::DailyLoss {
                value: daily,
                limit: limits.daily_loss_limit,
            });
        }
    }

    /// The kill switch (2R, daily %, weekly %). Returns the trigger when it *newly* engaged
    /// today, so the caller raises one critical alert per engagement.
    pub(crate) fn check_kill_switch(&mut self, limits: &RiskLimits) -> Option<LiquidationTrigger> {
        let mut fired = None;
        let r_floor = -limits.daily_kill_switch_r_multiple
            * limits.trade_risk_pct_range_max
            * self.start_of_day_equity;
        if limits.daily_kill_switch_r_multiple > 0.0
            && limits.trade_risk_pct_range_max > 0.0
            && self.start_of_day_equity > 0.0
            && self.daily_realized_pnl <= r_floor
        {
            fired = Some(LiquidationTrigger::KillSwitchDailyR {
                value: self.daily_realized_pnl,
                limit: r_floor,
            });
        }
        let daily = self.daily_loss_pct();
        if limits.daily_kill_switch_loss_pct > 0.0 && daily >= limits.daily_kill_switch_loss_pct {
            fired = Some(LiquidationTrigger::KillSwitchDailyLoss {
                value: daily,
                limit: limits.daily_kill_switch_loss_pct,
            });
        }
        let weekly = self.weekly_loss_pct();
        if limits.weekly_kill_switch_loss_pct > 0.0 && weekly >= limits.weekly_kill_switch_loss_pct
        {
            fired = Some(LiquidationTrigger::KillSwitchWeeklyLoss {
                value: weekly,
                limit: limits.weekly_kill_switch_loss_pct,
            });
        }
        let trigger = fired?;
        self.engage(trigger);
        let newly = !self.kill_switch_engaged;
        self.kill_switch_engaged = true;
        newly.then_some(trigger)
    }

    /// Rolling 30-day costs over profit; infinite when there are costs and no profit, 0 when
    /// there are no costs.
    pub fn cost_to_profit_ratio(&self) -> f64 {
        if self.rolling_costs_30d <= 0.0 {
            0.0
        } else if self.rolling_profit_30d <= 0.0 {
            f64::INFINITY
        } else {
            self.rolling_costs_30d / self.rolling_profit_30d
        }
    }

    /// The cost-to-profit trigger. Returns the trigger when it newly engaged today.
    pub(crate) fn check_cost_ratio(&mut self, limits: &RiskLimits) -> Option<LiquidationTrigger> {
        let ratio = self.cost_to_profit_ratio();
        if limits.max_cost_to_profit_ratio <= 0.0 || ratio <= limits.max_cost_to_profit_ratio {
            return None;
        }
        let trigger = LiquidationTrigger::CostToProfit {
            value: ratio,
            limit: limits.max_cost_to_profit_ratio,
        };
        self.engage(trigger);
        let newly = !self.cost_ratio_engaged;
        self.cost_ratio_engaged = true;
        newly.then_some(trigger)
    }
}

fn loss_fraction(realized: f64, base: f64) -> f64 {
    if base <= 0.0 {
        0.0
    } else {
        (-realized).max(0.0) / base
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(text: &str) -> SimTime {
        SimTime::parse_rfc3339(text).unwrap()
    }

    #[test]
    fn weeks_start_on_monday_utc() {
        for (at, monday) in [
            ("2026-11-30T00:00:00Z", "2026-11-30T00:00:00Z"), // a Monday
            ("2026-11-29T23:59:59Z", "2026-11-23T00:00:00Z"), // the Sunday before
            ("2026-12-03T12:00:00Z", "2026-11-30T00:00:00Z"), // Thursday
            ("1970-01-05T10:00:00Z", "1970-01-05T00:00:00Z"), // the first Monday after the epoch
        ] {
            assert_eq!(start_of_week(t(at)), t(monday), "{at}");
            assert_eq!(
                start_of_week(t(at)).to_utc().weekday(),
                time::Weekday::Monday
            );
        }
        // The epoch was a Thursday; its week is clamped to the epoch instead of underflowing.
        assert_eq!(start_of_week(t("1970-01-02T00:00:00Z")), SimTime::EPOCH);
    }

    #[test]
    fn new_day_clears_liquidation_but_week_keeps_its_loss() {
        let mut s = RiskState::default();
        s.housekeeping(t("2026-12-01T09:00:00Z"), Some(100_000.0)); // Tuesday
        s.daily_realized_pnl = -5_000.0;
        s.weekly_realized_pnl = -5_000.0;
        s.check_loss_triggers(&crate::risk::RiskProfile::balanced().limits);
        assert!(s.is_reduce_only());
        s.housekeeping(t("2026-12-01T23:59:59Z"), Some(95_000.0));
        assert!(s.is_reduce_only(), "same day");
        s.housekeeping(t("2026-12-02T00:00:00Z"), Some(95_000.0));
        assert!(!s.is_reduce_only(), "new day");
        assert_eq!(s.daily_realized_pnl, 0.0);
        assert_eq!(s.start_of_day_equity, 95_000.0);
        assert_eq!(s.weekly_realized_pnl, -5_000.0, "the week runs on");
        s.housekeeping(t("2026-12-07T00:00:00Z"), Some(95_000.0)); // Monday
        assert_eq!(s.weekly_realized_pnl, 0.0);
        assert_eq!(s.start_of_week_equity, 95_000.0);
    }

    #[test]
    fn metrics_follow_the_reference_formulas() {
        let mut s = RiskState::default();
        s.housekeeping(t("2026-12-01T09:00:00Z"), Some(100_000.0));
        s.housekeeping(t("2026-12-01T10:00:00Z"), Some(110_000.0));
        s.housekeeping(t("2026-12-01T11:00:00Z"), Some(99_000.0));
        assert_eq!(s.peak_equity, 110_000.0);
        assert!((s.drawdown_pct() - 0.1).abs() < 1e-12);
        s.daily_realized_pnl = 1_000.0;
        assert_eq!(s.daily_loss_pct(), 0.0, "profit is no loss");
        s.daily_realized_pnl = -2_000.0;
        assert!((s.daily_loss_pct() - 0.02).abs() < 1e-12);
        let key = InstrumentKey {
            venue: VenueId::new("binance").unwrap(),
            symbol: Symbol::new("BTC_USDT").unwrap(),
        };
        s.positions.insert(
            key,
            Exposure {
                qty: -0.5,
                price: 60_000.0,
            },
        );
        assert_eq!(s.gross_notional(), 30_000.0);
        assert!((s.used_leverage() - 30_000.0 / 99_000.0).abs() < 1e-12);
        assert_eq!(s.active_positions(), 1);
        s.rolling_costs_30d = 10.0;
        assert_eq!(s.cost_to_profit_ratio(), f64::INFINITY);
        s.rolling_profit_30d = 100.0;
        assert_eq!(s.cost_to_profit_ratio(), 0.1);
    }
}
