//! Risk profiles: the limits a [`RiskEngine`](super::RiskEngine) enforces, with the reference's
//! code values (engine.md §8.1) and the `core.yaml` `risk_profiles` entries laid over them.
//!
//! # Built-in values versus `core.yaml`
//!
//! The reference ignores the YAML limits for the names `conservative`, `balanced` and
//! `aggressive`: its profile builder returns the code class whatever the YAML says, and only
//! other names (`manual`, custom desks) are built from YAML (engine.md §13.4). So a site that
//! edits `risk_profiles.balanced.max_position_pct` in `core.yaml` believes it changed a limit
//! that is never enforced.
//!
//! We keep the code values as the defaults and make the YAML **explicit**: the caller (the
//! harness, which reads `core.yaml`) deserialises an entry into [`RiskProfileOverrides`] and
//! calls [`RiskProfile::from_config`]. For a built-in name every key present in the entry
//! replaces the code value ([`ProfileOrigin::BuiltinWithOverrides`]); to reproduce the
//! reference exactly, simply do not pass the entry. Any other name becomes a manual profile
//! with the reference's `ManualProfile` defaults. Unknown keys are refused rather than
//! silently dropped.
//!
//! In every profile a limit of `0` disables its check: the reference guards each check with
//! `limit > 0`, and so do we.

use std::fmt;

use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};

/// The numeric limits of one profile. Percentages are fractions (`0.05` is 5 %); a limit of
/// `0` disables its check. Field names are the keys of the reference's `snapshot_state`
/// `limits` block.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RiskLimits {
    /// Most positions open at once; a new position beyond it is refused.
    pub max_positions: u32,
    /// Gross notional may not exceed `max_leverage × equity`; also divides the margin a new
    /// position needs.
    pub max_leverage: f64,
    /// Realised daily loss (fraction of the day's starting equity) that forces liquidation.
    pub daily_loss_limit: f64,
    /// Drawdown from peak equity that forces liquidation (the "hard" drawdown).
    pub drawdown_limit: f64,
    /// Largest position notional as a fraction of equity.
    pub max_position_pct: f64,
    /// Risk budget for ATR/stop sizing: a position may not exceed
    /// `target_volatility × equity / stop_distance` units.
    pub target_volatility: f64,
    /// Minimum stop distance in ATRs.
    pub stop_loss_atr_multiple: f64,
    /// Per-trade risk below this fraction of equity raises a notice.
    pub trade_risk_pct_range_min: f64,
    /// Per-trade risk (stop distance × added quantity) above this fraction of equity is
    /// refused; it is also the "R" of the daily kill switch.
    pub trade_risk_pct_range_max: f64,
    /// Instrument exposure (notional / equity) that raises an alert.
    pub instrument_alert_pct: f64,
    /// Instrument exposure cap (checked together with `max_position_pct`).
    pub instrument_limit_pct: f64,
    /// Portfolio exposure (gross notional / equity) that raises an alert.
    pub portfolio_alert_pct: f64,
    /// Portfolio exposure cap.
    pub portfolio_limit_pct: f64,
    /// Daily kill switch: realised PnL at or below `−multiple × R × start-of-day equity`.
    pub daily_kill_switch_r_multiple: f64,
    /// Daily kill switch: realised daily loss at or above this fraction.
    pub daily_kill_switch_loss_pct: f64,
    /// Weekly kill switch: realised weekly loss at or above this fraction.
    pub weekly_kill_switch_loss_pct: f64,
    /// Rolling 30-day costs / profit above this ratio forces liquidation.
    pub max_cost_to_profit_ratio: f64,
}

impl RiskLimits {
    /// The reference's `ManualProfile` defaults for everything the YAML does not set; the
    /// YAML-mapped limits start at `0` (disabled).
    fn manual_defaults() -> RiskLimits {
        RiskLimits {
            max_positions: 0,
            max_leverage: 0.0,
            daily_loss_limit: 0.0,
            drawdown_limit: 0.0,
            max_position_pct: 0.0,
            target_volatility: 0.0,
            stop_loss_atr_multiple: 0.0,
            trade_risk_pct_range_min: 0.005,
            trade_risk_pct_range_max: 0.01,
            instrument_alert_pct: 0.25,
            // ManualProfile: the instrument limit defaults to max_position_pct (set below).
            instrument_limit_pct: 0.0,
            portfolio_alert_pct: 0.55,
            portfolio_limit_pct: 0.65,
            daily_kill_switch_r_multiple: 2.0,
            daily_kill_switch_loss_pct: 0.04,
            weekly_kill_switch_loss_pct: 0.07,
            max_cost_to_profit_ratio: 0.25,
        }
    }
}

/// Where a profile's values came from (shown in snapshots so operators know which numbers
/// are live).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProfileOrigin {
    /// The reference's code values, untouched.
    Builtin,
    /// Code values with a `core.yaml` entry laid over them (our deliberate difference).
    BuiltinWithOverrides,
    /// Built from a `core.yaml` entry with the `ManualProfile` defaults.
    Manual,
}

/// A named set of limits.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RiskProfile {
    /// The profile name (`balanced`, `manual`, a desk name).
    pub name: String,
    /// Where the values came from.
    pub origin: ProfileOrigin,
    /// The limits.
    pub limits: RiskLimits,
}

/// The names with code values, in the reference's order.
pub const BUILTIN_PROFILES: [&str; 3] = ["conservative", "balanced", "aggressive"];

impl RiskProfile {
    /// `conservative`: 3 positions, 2× leverage, 5 % hard drawdown, tight instrument caps.
    pub fn conservative() -> RiskProfile {
        builtin(
            "conservative",
            RiskLimits {
                max_positions: 3,
                max_leverage: 2.0,
                daily_loss_limit: 0.04,
                drawdown_limit: 0.05,
                max_position_pct: 0.30,
                target_volatility: 0.07,
                stop_loss_atr_multiple: 1.0,
                trade_risk_pct_range_min: 0.005,
                trade_risk_pct_range_max: 0.0075,
                instrument_alert_pct: 0.08,
                instrument_limit_pct: 0.10,
                portfolio_alert_pct: 0.50,
                portfolio_limit_pct: 0.60,
                daily_kill_switch_r_multiple: 2.0,
                daily_kill_switch_loss_pct: 0.04,
                weekly_kill_switch_loss_pct: 0.06,
                max_cost_to_profit_ratio: 0.25,
            },
        )
    }

    /// `balanced`: 5 positions, 3× leverage, 10 % hard drawdown (the `binance_paper` default).
    pub fn balanced() -> RiskProfile {
        builtin(
            "balanced",
            RiskLimits {
                max_positions: 5,
                max_leverage: 3.0,
                daily_loss_limit: 0.04,
                drawdown_limit: 0.10,
                max_position_pct: 0.30,
                target_volatility: 0.11,
                stop_loss_atr_multiple: 1.5,
                trade_risk_pct_range_min: 0.005,
                trade_risk_pct_range_max: 0.01,
                instrument_alert_pct: 0.25,
                instrument_limit_pct: 0.30,
                portfolio_alert_pct: 0.55,
                portfolio_limit_pct: 0.65,
                daily_kill_switch_r_multiple: 2.0,
                daily_kill_switch_loss_pct: 0.04,
                weekly_kill_switch_loss_pct: 0.07,
                max_cost_to_profit_ratio: 0.25,
            },
        )
    }

    /// `aggressive`: 10 positions, 5× leverage, 20 % hard drawdown.
    pub fn aggressive() -> RiskProfile {
        builtin(
            "aggressive",
            RiskLimits {
                max_positions: 10,
                max_leverage: 5.0,
                daily_loss_limit: 0.04,
                drawdown_limit: 0.20,
                max_position_pct: 0.30,
                target_volatility: 0.19,
                stop_loss_atr_multiple: 2.0,
                trade_risk_pct_range_min: 0.0075,
                trade_risk_pct_range_max: 0.01,
                instrument_alert_pct: 0.27,
                instrument_limit_pct: 0.30,
                portfolio_alert_pct: 0.60,
                portfolio_limit_pct: 0.70,
                daily_kill_switch_r_multiple: 2.0,
                daily_kill_switch_loss_pct: 0.04,
                weekly_kill_switch_loss_pct: 0.08,
                max_cost_to_profit_ratio: 0.25,
            },
        )
    }

    /// The code values of a built-in name, or `None` for any other name.
    pub fn builtin(name: &str) -> Option<RiskProfile> {
        match name {
            "conservative" => Some(RiskProfile::conservative()),
            "balanced" => Some(RiskProfile::balanced()),
            "aggressive" => Some(RiskProfile::aggressive()),
            _ => None,
        }
    }

    /// A manual profile from a `core.yaml` entry: the mapped keys
    /// (`max_positions ← max_open_positions`, `drawdown_limit ← hard_drawdown_pct`,
    /// `daily_loss_limit ← max_daily_loss_pct`, and the same-named ones) default to `0`
    /// (disabled), the rest take the `ManualProfile` defaults, and the instrument limit equals
    /// `max_position_pct`.
    pub fn manual(
        name: &str,
        entry: &RiskProfileOverrides,
    ) -> Result<RiskProfile, RiskConfigError> {
        let mut limits = RiskLimits::manual_defaults();
        entry.apply_to(name, &mut limits)?;
        limits.instrument_limit_pct = limits.max_position_pct;
        Ok(RiskProfile {
            name: name.to_owned(),
            origin: ProfileOrigin::Manual,
            limits,
        })
    }

    /// The profile for `name` given its `core.yaml` entry, if any: a built-in name starts from
    /// the code values and takes every key the entry sets; any other name is built with
    /// [`RiskProfile::manual`] and needs an entry.
    pub fn from_config(
        name: &str,
        entry: Option<&RiskProfileOverrides>,
    ) -> Result<RiskProfile, RiskConfigError> {
        match (RiskProfile::builtin(name), entry) {
            (Some(profile), None) => Ok(profile),
            (Some(mut profile), Some(entry)) => {
                entry.apply_to(name, &mut profile.limits)?;
                profile.origin = ProfileOrigin::BuiltinWithOverrides;
                Ok(profile)
            }
            (None, Some(entry)) => RiskProfile::manual(name, entry),
            (None, None) => Err(RiskConfigError::UnknownProfile {
                name: name.to_owned(),
            }),
        }
    }
}

fn builtin(name: &str, limits: RiskLimits) -> RiskProfile {
    RiskProfile {
        name: name.to_owned(),
        origin: ProfileOrigin::Builtin,
        limits,
    }
}

/// One `core.yaml` `risk_profiles.<name>` entry, with the reference's keys. Every key is
/// optional; unknown keys are an error (a misspelt limit must not be silently ignored).
///
/// `data_quality` and `strategy_allocations` belong to the same entry but are read by the
/// data-quality checks and capital policies, not by risk; they are accepted in any shape and
/// ignored here.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RiskProfileOverrides {
    /// → `daily_loss_limit`.
    pub max_daily_loss_pct: Option<f64>,
    /// → `max_position_pct`.
    pub max_position_pct: Option<f64>,
    /// → `target_volatility`.
    pub target_volatility: Option<f64>,
    /// → `max_leverage`.
    pub max_leverage: Option<f64>,
    /// → `stop_loss_atr_multiple`.
    pub stop_loss_atr_multiple: Option<f64>,
    /// → `max_positions`.
    pub max_open_positions: Option<u32>,
    /// → `drawdown_limit`.
    pub hard_drawdown_pct: Option<f64>,
    /// Read by the data-quality checks; ignored by risk.
    pub data_quality: Option<IgnoredAny>,
    /// Read by the capital policies; ignored by risk.
    pub strategy_allocations: Option<IgnoredAny>,
}

/// What a value must look like.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Range {
    Fraction,
    NonNegative,
}

impl RiskProfileOverrides {
    fn apply_to(&self, profile: &str, limits: &mut RiskLimits) -> Result<(), RiskConfigError> {
        let checked = |key: &'static str, value: Option<f64>, range: Range| {
            let Some(v) = value else { return Ok(None) };
            let ok = v.is_finite()
                && v >= 0.0
                && match range {
                    Range::Fraction => v <= 1.0,
                    Range::NonNegative => true,
                };
            if ok {
                Ok(Some(v))
            } else {
                Err(RiskConfigError::OutOfRange {
                    profile: profile.to_owned(),
                    key,
                    value: v,
                    expected: match range {
                        Range::Fraction => "a fraction between 0 and 1 (0 disables the check)",
                        Range::NonNegative => "a number ≥ 0 (0 disables the check)",
                    },
                })
            }
        };
        let fields = [
            (
                "max_daily_loss_pct",
                self.max_daily_loss_pct,
                Range::Fraction,
                &mut limits.daily_loss_limit,
            ),
            (
                "max_position_pct",
                self.max_position_pct,
                Range::Fraction,
                &mut limits.max_position_pct,
            ),
            (
                "target_volatility",
                self.target_volatility,
                Range::NonNegative,
                &mut limits.target_volatility,
            ),
            (
                "max_leverage",
                self.max_leverage,
                Range::NonNegative,
                &mut limits.max_leverage,
            ),
            (
                "stop_loss_atr_multiple",
                self.stop_loss_atr_multiple,
                Range::NonNegative,
                &mut limits.stop_loss_atr_multiple,
            ),
            (
                "hard_drawdown_pct",
                self.hard_drawdown_pct,
                Range::Fraction,
                &mut limits.drawdown_limit,
            ),
        ];
        // Validate everything before changing anything, so an error leaves `limits` intact.
        let mut updates = Vec::with_capacity(fields.len());
        for (key, value, range, slot) in fields {
            if let Some(v) = checked(key, value, range)? {
                updates.push((slot, v));
            }
        }
        for (slot, v) in updates {
            *slot = v;
        }
        if let Some(n) = self.max_open_positions {
            limits.max_positions = n;
        }
        Ok(())
    }
}

/// A `core.yaml` risk profile that cannot be used.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum RiskConfigError {
    /// A value outside its range.
    #[error("risk_profiles.{profile}.{key}: expected {expected}, got {value}")]
    OutOfRange {
        /// The profile name.
        profile: String,
        /// The YAML key.
        key: &'static str,
        /// The value given.
        value: f64,
        /// What is accepted.
        expected: &'static str,
    },
    /// A name that is neither built in nor defined in `core.yaml`.
    #[error(
        "risk profile `{name}` is not built in (conservative, balanced, aggressive) and has no risk_profiles.{name} entry in core.yaml"
    )]
    UnknownProfile {
        /// The name asked for.
        name: String,
    },
}

impl fmt::Display for ProfileOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ProfileOrigin::Builtin => "builtin",
            ProfileOrigin::BuiltinWithOverrides => "builtin_with_overrides",
            ProfileOrigin::Manual => "manual",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_values_match_the_reference_table() {
        // (name, max_positions, leverage, drawdown, target vol, atr multiple, trade risk min/max,
        //  instrument alert/limit, portfolio alert/limit, weekly kill switch)
        let table = [
            (
                "conservative",
                3,
                2.0,
                0.05,
                0.07,
                1.0,
                0.005,
                0.0075,
                0.08,
                0.10,
                0.50,
                0.60,
                0.06,
            ),
            (
                "balanced", 5, 3.0, 0.10, 0.11, 1.5, 0.005, 0.01, 0.25, 0.30, 0.55, 0.65, 0.07,
            ),
            (
                "aggressive",
                10,
                5.0,
                0.20,
                0.19,
                2.0,
                0.0075,
                0.01,
                0.27,
                0.30,
                0.60,
                0.70,
                0.08,
            ),
        ];
        for (name, pos, lev, dd, vol, atr, rmin, rmax, ia, il, pa, pl, wk) in table {
            let p = RiskProfile::builtin(name).unwrap();
            let l = &p.limits;
            assert_eq!(p.origin, ProfileOrigin::Builtin, "{name}");
            assert_eq!(
                (
                    l.max_positions,
                    l.max_leverage,
                    l.drawdown_limit,
                    l.target_volatility
                ),
                (pos, lev, dd, vol),
                "{name}"
            );
            assert_eq!(l.stop_loss_atr_multiple, atr, "{name}");
            assert_eq!(
                (l.trade_risk_pct_range_min, l.trade_risk_pct_range_max),
                (rmin, rmax),
                "{name}"
            );
            assert_eq!(
                (
                    l.instrument_alert_pct,
                    l.instrument_limit_pct,
                    l.portfolio_alert_pct,
                    l.portfolio_limit_pct
                ),
                (ia, il, pa, pl),
                "{name}"
            );
            assert_eq!(l.weekly_kill_switch_loss_pct, wk, "{name}");
            // Shared by all three.
            assert_eq!(l.daily_loss_limit, 0.04, "{name}");
            assert_eq!(l.max_position_pct, 0.30, "{name}");
            assert_eq!(
                (l.daily_kill_switch_r_multiple, l.daily_kill_switch_loss_pct),
                (2.0, 0.04)
            );
            assert_eq!(l.max_cost_to_profit_ratio, 0.25, "{name}");
        }
        assert!(RiskProfile::builtin("manual").is_none());
    }

    fn yaml_balanced() -> RiskProfileOverrides {
        // The core.yaml `risk_profiles.balanced` entry (engine.md §8.1).
        RiskProfileOverrides {
            max_daily_loss_pct: Some(0.015),
            max_position_pct: Some(0.05),
            target_volatility: Some(0.11),
            max_leverage: Some(3.0),
            stop_loss_atr_multiple: Some(1.5),
            max_open_positions: Some(5),
            hard_drawdown_pct: Some(0.10),
            ..RiskProfileOverrides::default()
        }
    }

    #[test]
    fn builtin_names_take_yaml_only_when_asked() {
        let plain = RiskProfile::from_config("balanced", None).unwrap();
        assert_eq!(plain, RiskProfile::balanced());

        let over = RiskProfile::from_config("balanced", Some(&yaml_balanced())).unwrap();
        assert_eq!(over.origin, ProfileOrigin::BuiltinWithOverrides);
        assert_eq!(over.limits.max_position_pct, 0.05);
        assert_eq!(over.limits.daily_loss_limit, 0.015);
        // Keys the YAML has no name for keep their code values.
        assert_eq!(over.limits.instrument_limit_pct, 0.30);
        assert_eq!(over.limits.weekly_kill_switch_loss_pct, 0.07);
    }

    #[test]
    fn manual_profile_maps_keys_and_takes_defaults() {
        let zeros = RiskProfileOverrides {
            max_daily_loss_pct: Some(0.0),
            max_position_pct: Some(0.0),
            target_volatility: Some(0.0),
            max_leverage: Some(0.0),
            stop_loss_atr_multiple: Some(0.0),
            max_open_positions: Some(0),
            hard_drawdown_pct: Some(0.0),
            ..RiskProfileOverrides::default()
        };
        let manual = RiskProfile::from_config("manual", Some(&zeros)).unwrap();
        assert_eq!(manual.origin, ProfileOrigin::Manual);
        let l = &manual.limits;
        assert_eq!(
            (l.max_positions, l.drawdown_limit, l.daily_loss_limit),
            (0, 0.0, 0.0)
        );
        assert_eq!(
            (l.trade_risk_pct_range_min, l.trade_risk_pct_range_max),
            (0.005, 0.01)
        );
        assert_eq!(
            (l.instrument_alert_pct, l.instrument_limit_pct),
            (0.25, 0.0)
        );
        assert_eq!((l.portfolio_alert_pct, l.portfolio_limit_pct), (0.55, 0.65));
        assert_eq!(l.weekly_kill_switch_loss_pct, 0.07);

        let desk = RiskProfile::manual("desk", &yaml_balanced()).unwrap();
        assert_eq!(desk.limits.max_positions, 5);
        assert_eq!(desk.limits.drawdown_limit, 0.10);
        assert_eq!(desk.limits.daily_loss_limit, 0.015);
        assert_eq!(
            desk.limits.instrument_limit_pct, 0.05,
            "instrument limit = max_position_pct"
        );
    }

    #[test]
    fn bad_entries_name_the_key() {
        let cases = [
            (
                RiskProfileOverrides {
                    max_position_pct: Some(1.5),
                    ..Default::default()
                },
                "risk_profiles.balanced.max_position_pct: expected a fraction between 0 and 1 (0 disables the check), got 1.5",
            ),
            (
                RiskProfileOverrides {
                    max_leverage: Some(-1.0),
                    ..Default::default()
                },
                "risk_profiles.balanced.max_leverage: expected a number ≥ 0 (0 disables the check), got -1",
            ),
            (
                RiskProfileOverrides {
                    hard_drawdown_pct: Some(f64::NAN),
                    ..Default::default()
                },
                "risk_profiles.balanced.hard_drawdown_pct: expected a fraction between 0 and 1 (0 disables the check), got NaN",
            ),
        ];
        for (entry, message) in cases {
            let err = RiskProfile::from_config("balanced", Some(&entry)).unwrap_err();
            assert_eq!(err.to_string(), message);
        }
        let err = RiskProfile::from_config("desk", None).unwrap_err();
        assert!(
            matches!(err, RiskConfigError::UnknownProfile { .. }),
            "{err}"
        );
    }

    #[test]
    fn unknown_yaml_keys_are_refused_and_side_keys_accepted() {
        let ok: RiskProfileOverrides = serde_json::from_str(
            r#"{"max_position_pct": 0.05, "data_quality": {"max_gap_minutes": 2160, "min_ok_ratio": 0.9},
                "strategy_allocations": {"trend": 0.35, "mean_reversion": 0.3}}"#,
        )
        .unwrap();
        assert_eq!(ok.max_position_pct, Some(0.05));
        let err = serde_json::from_str::<RiskProfileOverrides>(r#"{"max_positon_pct": 0.05}"#)
            .unwrap_err();
        assert!(
            err.to_string().contains("unknown field `max_positon_pct`"),
            "{err}"
        );
    }
}
