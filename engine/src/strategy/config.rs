//! Strategy parameters: one `*Params` struct per Stage4 strategy with the reference dataclass
//! defaults and key names, validation that names the offending key, the `core.yaml` presets,
//! and [`StrategyConfig`], the `kind`-tagged union a scenario or site file names a strategy with:
//!
//! ```toml
//! strategy = { kind = "mean_reversion", lookback = 96, entry_zscore = 2.0 }
//! ```
//!
//! The reference's defaults differ between its dataclasses, its catalog builder, `core.yaml`
//! and its docs (engine.md §13 item 3). We take the **dataclass** defaults for missing keys and
//! offer the `core.yaml` sections as named presets ([`StrategyConfig::preset`]).
//!
//! Deserialising a [`StrategyConfig`] validates it, so a bad value is reported by the parser
//! with the file position; the `*Params` structs on their own deserialise unchecked and are
//! validated by [`StrategyConfig::validate`] or by the strategies' constructors.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::domain::VenueId;
use crate::strategy::Strategy;
use crate::strategy::cross_exchange::CrossExchangeArbitrageStrategy;
use crate::strategy::mean_reversion::MeanReversionStrategy;
use crate::strategy::volatility_target::VolatilityTargetStrategy;

/// A strategy parameter that is out of range.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{strategy} parameter `{key}` = {value} is invalid: expected {expected}")]
pub struct ParamError {
    /// The strategy kind (`mean_reversion`, `volatility_target`, `cross_exchange_arbitrage`).
    pub strategy: &'static str,
    /// The reference key name, e.g. `lookback`.
    pub key: &'static str,
    /// The value given, as text.
    pub value: String,
    /// What the key must hold.
    pub expected: &'static str,
}

/// Collects the checks of one strategy so each reads as one line.
struct Checker {
    strategy: &'static str,
}

impl Checker {
    fn check(
        &self,
        key: &'static str,
        value: impl fmt::Display,
        ok: bool,
        expected: &'static str,
    ) -> Result<(), ParamError> {
        if ok {
            Ok(())
        } else {
            Err(ParamError {
                strategy: self.strategy,
                key,
                value: value.to_string(),
                expected,
            })
        }
    }
}

/// Mean-reversion parameters (the reference `MeanReversionSettings`, engine.md §7.1).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MeanReversionParams {
    /// Bars in the z-score and volatility window. At least 2.
    pub lookback: u32,
    /// |z| at or beyond which a position opens. Positive.
    pub entry_zscore: f64,
    /// |z| at or within which a position closes. `0 ≤ exit < entry`.
    pub exit_zscore: f64,
    /// Bars after which a position closes regardless of z. At least 1.
    pub max_holding_period: u32,
    /// Highest per-bar realised volatility at which a position may open; above 1.5× it an
    /// open position is closed. Positive.
    pub volatility_cap: f64,
    /// Lowest bar volume that is traded on. Despite the name the raw volume is compared,
    /// not volume × price (as in the reference). Non-negative.
    pub min_volume_usd: f64,
}

impl Default for MeanReversionParams {
    /// The reference dataclass defaults.
    fn default() -> Self {
        MeanReversionParams {
            lookback: 96,
            entry_zscore: 1.8,
            exit_zscore: 0.4,
            max_holding_period: 12,
            volatility_cap: 0.04,
            min_volume_usd: 100_000.0,
        }
    }
}

impl MeanReversionParams {
    /// The reference `core.yaml` section `core_mean_reversion`.
    pub fn core() -> Self {
        MeanReversionParams {
            lookback: 96,
            entry_zscore: 1.9,
            exit_zscore: 0.35,
            max_holding_period: 16,
            volatility_cap: 0.035,
            min_volume_usd: 250_000.0,
        }
    }

    /// Checks every key; the first bad one is reported.
    pub fn validate(&self) -> Result<(), ParamError> {
        let c = Checker {
            strategy: MeanReversionStrategy::KIND,
        };
        c.check(
            "lookback",
            self.lookback,
            self.lookback >= 2,
            "an integer of at least 2",
        )?;
        c.check(
            "entry_zscore",
            self.entry_zscore,
            self.entry_zscore.is_finite() && self.entry_zscore > 0.0,
            "a finite number above 0",
        )?;
        c.check(
            "exit_zscore",
            self.exit_zscore,
            self.exit_zscore.is_finite()
                && self.exit_zscore >= 0.0
                && self.exit_zscore < self.entry_zscore,
            "a finite number with 0 <= exit_zscore < entry_zscore",
        )?;
        c.check(
            "max_holding_period",
            self.max_holding_period,
            self.max_holding_period >= 1,
            "a number of bars of at least 1",
        )?;
        c.check(
            "volatility_cap",
            self.volatility_cap,
            self.volatility_cap.is_finite() && self.volatility_cap > 0.0,
            "a finite per-bar volatility above 0",
        )?;
        c.check(
            "min_volume_usd",
            self.min_volume_usd,
            self.min_volume_usd.is_finite() && self.min_volume_usd >= 0.0,
            "a finite volume of at least 0",
        )
    }
}

/// Volatility-targeting parameters (the reference `VolatilityTargetSettings`, engine.md §7.2).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VolatilityTargetParams {
    /// The volatility the allocation aims for, in the same per-bar unit as the realised
    /// volatility it is divided by. Positive.
    pub target_volatility: f64,
    /// Returns in the realised-volatility window. At least 2.
    pub lookback: u32,
    /// Smallest relative change `|target − current| / target` that triggers a rebalance.
    /// Non-negative.
    pub rebalance_threshold: f64,
    /// Lowest allocation (fraction of capital). `0 ≤ min ≤ max`.
    pub min_allocation: f64,
    /// Highest allocation (fraction of capital). Positive.
    pub max_allocation: f64,
    /// Realised volatility below this is treated as this. Non-negative.
    pub floor_volatility: f64,
}

impl Default for VolatilityTargetParams {
    /// The reference dataclass (and catalog) defaults.
    fn default() -> Self {
        VolatilityTargetParams {
            target_volatility: 0.10,
            lookback: 60,
            rebalance_threshold: 0.10,
            min_allocation: 0.10,
            max_allocation: 1.0,
            floor_volatility: 0.02,
        }
    }
}

impl VolatilityTargetParams {
    /// The reference `core.yaml` section `core_volatility_target`.
    pub fn core() -> Self {
        VolatilityTargetParams {
            target_volatility: 0.10,
            lookback: 60,
            rebalance_threshold: 0.08,
            min_allocation: 0.15,
            max_allocation: 0.95,
            floor_volatility: 0.015,
        }
    }

    /// Checks every key; the first bad one is reported.
    pub fn validate(&self) -> Result<(), ParamError> {
        let c = Checker {
            strategy: VolatilityTargetStrategy::KIND,
        };
        c.check(
            "target_volatility",
            self.target_volatility,
            self.target_volatility.is_finite() && self.target_volatility > 0.0,
            "a finite volatility above 0",
        )?;
        c.check(
            "lookback",
            self.lookback,
            self.lookback >= 2,
            "an integer of at least 2",
        )?;
        c.check(
            "rebalance_threshold",
            self.rebalance_threshold,
            self.rebalance_threshold.is_finite() && self.rebalance_threshold >= 0.0,
            "a finite fraction of at least 0",
        )?;
        c.check(
            "max_allocation",
            self.max_allocation,
            self.max_allocation.is_finite() && self.max_allocation > 0.0,
            "a finite fraction of capital above 0",
        )?;
        c.check(
            "min_allocation",
            self.min_allocation,
            self.min_allocation.is_finite()
                && self.min_allocation >= 0.0
                && self.min_allocation <= self.max_allocation,
            "a finite fraction with 0 <= min_allocation <= max_allocation",
        )?;
        c.check(
            "floor_volatility",
            self.floor_volatility,
            self.floor_volatility.is_finite() && self.floor_volatility >= 0.0,
            "a finite volatility of at least 0",
        )
    }
}

fn default_spread_entry() -> f64 {
    0.0015
}
fn default_spread_exit() -> f64 {
    0.0005
}
fn default_max_notional() -> f64 {
    50_000.0
}
fn default_max_open_seconds() -> u64 {
    120
}
fn default_taker_fee() -> f64 {
    SPOT_TAKER_FEE
}
fn default_lot_size() -> f64 {
    SPOT_LOT_SIZE
}

/// The reference's spot market taker fee rate (4 bp), used to size arbitrage legs.
pub const SPOT_TAKER_FEE: f64 = 0.0004;
/// The reference's spot market lot size.
pub const SPOT_LOT_SIZE: f64 = 0.001;

/// Cross-exchange arbitrage parameters (the reference `CrossExchangeArbitrageSettings`,
/// engine.md §7.3, plus the spot `MarketParams` it sizes legs with).
///
/// The two venues are required, as in the reference dataclass; every other key defaults.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CrossExchangeArbitrageParams {
    /// The venue bought on when the secondary's bid is above the primary's ask.
    pub primary_exchange: VenueId,
    /// The other venue. Must differ from the primary.
    pub secondary_exchange: VenueId,
    /// Spread ratio at or above which a position opens. Positive.
    #[serde(default = "default_spread_entry")]
    pub spread_entry: f64,
    /// Spread ratio at or below which a position closes. `0 ≤ exit < entry`.
    #[serde(default = "default_spread_exit")]
    pub spread_exit: f64,
    /// Notional per leg in quote currency, before the taker fee. Positive.
    #[serde(default = "default_max_notional")]
    pub max_notional: f64,
    /// Seconds after which an open position is closed whatever the spread.
    #[serde(default = "default_max_open_seconds")]
    pub max_open_seconds: u64,
    /// Taker fee rate deducted from the notional when sizing legs. `0 ≤ fee < 1`.
    #[serde(default = "default_taker_fee")]
    pub taker_fee: f64,
    /// Leg quantities are whole multiples of this, at least one lot. Positive.
    #[serde(default = "default_lot_size")]
    pub lot_size: f64,
}

impl CrossExchangeArbitrageParams {
    /// The reference dataclass defaults for the two given venues, with spot market params.
    pub fn new(primary_exchange: VenueId, secondary_exchange: VenueId) -> Self {
        CrossExchangeArbitrageParams {
            primary_exchange,
            secondary_exchange,
            spread_entry: default_spread_entry(),
            spread_exit: default_spread_exit(),
            max_notional: default_max_notional(),
            max_open_seconds: default_max_open_seconds(),
            taker_fee: default_taker_fee(),
            lot_size: default_lot_size(),
        }
    }

    /// The reference `core.yaml` section `core_cross_exchange` (binance_spot / kraken_spot).
    pub fn core() -> Self {
        let venue = |name| VenueId::new(name).expect("preset venue names are valid");
        CrossExchangeArbitrageParams {
            spread_entry: 0.0018,
            spread_exit: 0.0006,
            max_notional: 75_000.0,
            max_open_seconds: 180,
            ..CrossExchangeArbitrageParams::new(venue("binance_spot"), venue("kraken_spot"))
        }
    }

    /// Checks every key; the first bad one is reported.
    pub fn validate(&self) -> Result<(), ParamError> {
        let c = Checker {
            strategy: CrossExchangeArbitrageStrategy::KIND,
        };
        c.check(
            "secondary_exchange",
            self.secondary_exchange,
            self.secondary_exchange != self.primary_exchange,
            "a venue different from primary_exchange",
        )?;
        c.check(
            "spread_entry",
            self.spread_entry,
            self.spread_entry.is_finite() && self.spread_entry > 0.0,
            "a finite spread ratio above 0",
        )?;
        c.check(
            "spread_exit",
            self.spread_exit,
            self.spread_exit.is_finite()
                && self.spread_exit >= 0.0
                && self.spread_exit < self.spread_entry,
            "a finite spread ratio with 0 <= spread_exit < spread_entry",
        )?;
        c.check(
            "max_notional",
            self.max_notional,
            self.max_notional.is_finite() && self.max_notional > 0.0,
            "a finite notional above 0",
        )?;
        c.check(
            "taker_fee",
            self.taker_fee,
            self.taker_fee.is_finite() && self.taker_fee >= 0.0 && self.taker_fee < 1.0,
            "a fee rate with 0 <= taker_fee < 1 (4 bp is 0.0004)",
        )?;
        c.check(
            "lot_size",
            self.lot_size,
            self.lot_size.is_finite() && self.lot_size > 0.0,
            "a finite lot size above 0",
        )
    }
}

/// One of the three Stage4 strategies with its parameters, tagged by `kind`.
///
/// Deserialising validates (an out-of-range value is a parse error naming the key); `kind`
/// is `mean_reversion`, `volatility_target` or `cross_exchange_arbitrage` (alias
/// `cross_exchange`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(
    tag = "kind",
    rename_all = "snake_case",
    try_from = "UncheckedStrategyConfig"
)]
pub enum StrategyConfig {
    /// Z-score mean reversion.
    MeanReversion(MeanReversionParams),
    /// Volatility targeting.
    VolatilityTarget(VolatilityTargetParams),
    /// Two-venue spread arbitrage.
    CrossExchangeArbitrage(CrossExchangeArbitrageParams),
}

/// The wire form before validation.
#[derive(Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum UncheckedStrategyConfig {
    MeanReversion(MeanReversionParams),
    VolatilityTarget(VolatilityTargetParams),
    #[serde(alias = "cross_exchange")]
    CrossExchangeArbitrage(CrossExchangeArbitrageParams),
}

impl TryFrom<UncheckedStrategyConfig> for StrategyConfig {
    type Error = ParamError;

    fn try_from(raw: UncheckedStrategyConfig) -> Result<Self, ParamError> {
        let config = match raw {
            UncheckedStrategyConfig::MeanReversion(p) => StrategyConfig::MeanReversion(p),
            UncheckedStrategyConfig::VolatilityTarget(p) => StrategyConfig::VolatilityTarget(p),
            UncheckedStrategyConfig::CrossExchangeArbitrage(p) => {
                StrategyConfig::CrossExchangeArbitrage(p)
            }
        };
        config.validate()?;
        Ok(config)
    }
}

impl StrategyConfig {
    /// Names accepted by [`StrategyConfig::preset`]: the reference `core.yaml` strategy
    /// sections.
    pub const PRESETS: [&'static str; 3] = [
        "core_mean_reversion",
        "core_volatility_target",
        "core_cross_exchange",
    ];

    /// The reference `core.yaml` section of that name, if it is one of [`Self::PRESETS`].
    pub fn preset(name: &str) -> Option<StrategyConfig> {
        match name {
            "core_mean_reversion" => {
                Some(StrategyConfig::MeanReversion(MeanReversionParams::core()))
            }
            "core_volatility_target" => Some(StrategyConfig::VolatilityTarget(
                VolatilityTargetParams::core(),
            )),
            "core_cross_exchange" => Some(StrategyConfig::CrossExchangeArbitrage(
                CrossExchangeArbitrageParams::core(),
            )),
            _ => None,
        }
    }

    /// The strategy kind, as [`Strategy::kind`] reports it.
    pub fn kind(&self) -> &'static str {
        match self {
            StrategyConfig::MeanReversion(_) => MeanReversionStrategy::KIND,
            StrategyConfig::VolatilityTarget(_) => VolatilityTargetStrategy::KIND,
            StrategyConfig::CrossExchangeArbitrage(_) => CrossExchangeArbitrageStrategy::KIND,
        }
    }

    /// Checks the parameters; the first bad key is reported.
    pub fn validate(&self) -> Result<(), ParamError> {
        match self {
            StrategyConfig::MeanReversion(p) => p.validate(),
            StrategyConfig::VolatilityTarget(p) => p.validate(),
            StrategyConfig::CrossExchangeArbitrage(p) => p.validate(),
        }
    }

    /// A fresh strategy instance (no state) with these parameters.
    ///
    /// Fails only for a value built in code with out-of-range parameters; a deserialised
    /// `StrategyConfig` was validated when it was parsed.
    pub fn build(&self) -> Result<Box<dyn Strategy>, ParamError> {
        Ok(match self {
            StrategyConfig::MeanReversion(p) => Box::new(MeanReversionStrategy::new(p.clone())?),
            StrategyConfig::VolatilityTarget(p) => {
                Box::new(VolatilityTargetStrategy::new(p.clone())?)
            }
            StrategyConfig::CrossExchangeArbitrage(p) => {
                Box::new(CrossExchangeArbitrageStrategy::new(p.clone())?)
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_reference_dataclass_values() {
        let mr = MeanReversionParams::default();
        assert_eq!(
            (
                mr.lookback,
                mr.entry_zscore,
                mr.exit_zscore,
                mr.max_holding_period,
                mr.volatility_cap,
                mr.min_volume_usd
            ),
            (96, 1.8, 0.4, 12, 0.04, 100_000.0)
        );
        let vt = VolatilityTargetParams::default();
        assert_eq!(
            (
                vt.target_volatility,
                vt.lookback,
                vt.rebalance_threshold,
                vt.min_allocation,
                vt.max_allocation,
                vt.floor_volatility
            ),
            (0.10, 60, 0.10, 0.10, 1.0, 0.02)
        );
        let arb: CrossExchangeArbitrageParams =
            serde_json::from_str(r#"{"primary_exchange":"binance","secondary_exchange":"kraken"}"#)
                .unwrap();
        assert_eq!(
            (
                arb.spread_entry,
                arb.spread_exit,
                arb.max_notional,
                arb.max_open_seconds,
                arb.taker_fee,
                arb.lot_size
            ),
            (0.0015, 0.0005, 50_000.0, 120, 0.0004, 0.001)
        );
    }

    #[test]
    fn presets_are_the_core_yaml_sections_and_valid() {
        for name in StrategyConfig::PRESETS {
            let preset = StrategyConfig::preset(name).unwrap();
            preset.validate().unwrap();
            preset.build().unwrap();
        }
        assert_eq!(StrategyConfig::preset("core_momentum"), None);
        let StrategyConfig::MeanReversion(mr) =
            StrategyConfig::preset("core_mean_reversion").unwrap()
        else {
            panic!("wrong kind")
        };
        assert_eq!(
            (mr.entry_zscore, mr.exit_zscore, mr.max_holding_period),
            (1.9, 0.35, 16)
        );
        assert_eq!((mr.volatility_cap, mr.min_volume_usd), (0.035, 250_000.0));
        let vt = VolatilityTargetParams::core();
        assert_eq!(
            (
                vt.rebalance_threshold,
                vt.min_allocation,
                vt.max_allocation,
                vt.floor_volatility
            ),
            (0.08, 0.15, 0.95, 0.015)
        );
        let arb = CrossExchangeArbitrageParams::core();
        assert_eq!(
            (
                arb.primary_exchange.as_str(),
                arb.secondary_exchange.as_str()
            ),
            ("binance_spot", "kraken_spot")
        );
        assert_eq!(
            (
                arb.spread_entry,
                arb.spread_exit,
                arb.max_notional,
                arb.max_open_seconds
            ),
            (0.0018, 0.0006, 75_000.0, 180)
        );
    }

    #[test]
    fn validation_names_the_key() {
        let mr = |f: fn(&mut MeanReversionParams)| {
            let mut p = MeanReversionParams::default();
            f(&mut p);
            p.validate().err().map(|e| e.key)
        };
        let vt = |f: fn(&mut VolatilityTargetParams)| {
            let mut p = VolatilityTargetParams::default();
            f(&mut p);
            p.validate().err().map(|e| e.key)
        };
        let arb = |f: fn(&mut CrossExchangeArbitrageParams)| {
            let mut p = CrossExchangeArbitrageParams::core();
            f(&mut p);
            p.validate().err().map(|e| e.key)
        };
        let cases: Vec<(&str, Option<&str>, Option<&str>)> = vec![
            ("mr defaults", mr(|_| {}), None),
            ("mr lookback 1", mr(|p| p.lookback = 1), Some("lookback")),
            ("mr lookback 2", mr(|p| p.lookback = 2), None),
            (
                "mr entry 0",
                mr(|p| p.entry_zscore = 0.0),
                Some("entry_zscore"),
            ),
            (
                "mr entry NaN",
                mr(|p| p.entry_zscore = f64::NAN),
                Some("entry_zscore"),
            ),
            (
                "mr exit = entry",
                mr(|p| p.exit_zscore = 1.8),
                Some("exit_zscore"),
            ),
            (
                "mr exit < 0",
                mr(|p| p.exit_zscore = -0.1),
                Some("exit_zscore"),
            ),
            ("mr exit 0", mr(|p| p.exit_zscore = 0.0), None),
            (
                "mr hold 0",
                mr(|p| p.max_holding_period = 0),
                Some("max_holding_period"),
            ),
            (
                "mr cap 0",
                mr(|p| p.volatility_cap = 0.0),
                Some("volatility_cap"),
            ),
            (
                "mr volume -1",
                mr(|p| p.min_volume_usd = -1.0),
                Some("min_volume_usd"),
            ),
            (
                "mr volume inf",
                mr(|p| p.min_volume_usd = f64::INFINITY),
                Some("min_volume_usd"),
            ),
            ("vt defaults", vt(|_| {}), None),
            (
                "vt target 0",
                vt(|p| p.target_volatility = 0.0),
                Some("target_volatility"),
            ),
            ("vt lookback 1", vt(|p| p.lookback = 1), Some("lookback")),
            (
                "vt threshold < 0",
                vt(|p| p.rebalance_threshold = -0.1),
                Some("rebalance_threshold"),
            ),
            (
                "vt max 0",
                vt(|p| p.max_allocation = 0.0),
                Some("max_allocation"),
            ),
            (
                "vt min > max",
                vt(|p| p.min_allocation = 1.5),
                Some("min_allocation"),
            ),
            ("vt min = max", vt(|p| p.min_allocation = 1.0), None),
            (
                "vt min < 0",
                vt(|p| p.min_allocation = -0.1),
                Some("min_allocation"),
            ),
            (
                "vt floor < 0",
                vt(|p| p.floor_volatility = -0.01),
                Some("floor_volatility"),
            ),
            ("vt floor 0", vt(|p| p.floor_volatility = 0.0), None),
            ("arb core", arb(|_| {}), None),
            (
                "arb same venue",
                arb(|p| p.secondary_exchange = p.primary_exchange),
                Some("secondary_exchange"),
            ),
            (
                "arb entry 0",
                arb(|p| p.spread_entry = 0.0),
                Some("spread_entry"),
            ),
            (
                "arb exit = entry",
                arb(|p| p.spread_exit = 0.0018),
                Some("spread_exit"),
            ),
            (
                "arb notional 0",
                arb(|p| p.max_notional = 0.0),
                Some("max_notional"),
            ),
            ("arb fee 1", arb(|p| p.taker_fee = 1.0), Some("taker_fee")),
            (
                "arb fee < 0",
                arb(|p| p.taker_fee = -0.0001),
                Some("taker_fee"),
            ),
            ("arb lot 0", arb(|p| p.lot_size = 0.0), Some("lot_size")),
            ("arb open 0 s", arb(|p| p.max_open_seconds = 0), None),
        ];
        for (name, got, want) in cases {
            assert_eq!(got, want, "{name}");
        }
    }

    #[test]
    fn errors_read_as_sentences() {
        let p = MeanReversionParams {
            lookback: 1,
            ..MeanReversionParams::default()
        };
        assert_eq!(
            p.validate().unwrap_err().to_string(),
            "mean_reversion parameter `lookback` = 1 is invalid: expected an integer of at least 2"
        );
    }

    #[test]
    fn config_is_tagged_by_kind_with_defaults_for_missing_keys() {
        let cfg: StrategyConfig =
            serde_json::from_str(r#"{"kind":"mean_reversion","lookback":48,"entry_zscore":2.0}"#)
                .unwrap();
        assert_eq!(
            cfg,
            StrategyConfig::MeanReversion(MeanReversionParams {
                lookback: 48,
                entry_zscore: 2.0,
                ..MeanReversionParams::default()
            })
        );
        assert_eq!(cfg.kind(), "mean_reversion");
        assert_eq!(cfg.build().unwrap().kind(), "mean_reversion");

        for kind in ["cross_exchange_arbitrage", "cross_exchange"] {
            let text = format!(
                r#"{{"kind":"{kind}","primary_exchange":"binance","secondary_exchange":"kraken"}}"#
            );
            let cfg: StrategyConfig = serde_json::from_str(&text).unwrap();
            assert_eq!(cfg.kind(), "cross_exchange_arbitrage", "{kind}");
        }

        let vt: StrategyConfig = serde_json::from_str(r#"{"kind":"volatility_target"}"#).unwrap();
        assert_eq!(
            vt,
            StrategyConfig::VolatilityTarget(VolatilityTargetParams::default())
        );
    }

    #[test]
    fn config_round_trips_through_its_serialised_form() {
        for name in StrategyConfig::PRESETS {
            let cfg = StrategyConfig::preset(name).unwrap();
            let text = serde_json::to_string(&cfg).unwrap();
            let back: StrategyConfig = serde_json::from_str(&text).unwrap();
            assert_eq!(back, cfg, "{text}");
        }
        let text =
            serde_json::to_string(&StrategyConfig::preset("core_cross_exchange").unwrap()).unwrap();
        assert!(
            text.starts_with(r#"{"kind":"cross_exchange_arbitrage","#),
            "{text}"
        );
    }

    #[test]
    fn bad_config_is_a_parse_error_naming_the_problem() {
        for (text, needle) in [
            (
                r#"{"kind":"mean_reversion","lookback":1}"#,
                "`lookback` = 1 is invalid",
            ),
            (
                r#"{"kind":"mean_reversion","lookbak":10}"#,
                "unknown field `lookbak`",
            ),
            (r#"{"kind":"momentum"}"#, "unknown variant `momentum`"),
            (r#"{"lookback":10}"#, "missing field `kind`"),
            (
                r#"{"kind":"cross_exchange","primary_exchange":"binance"}"#,
                "missing field `secondary_exchange`",
            ),
            (
                r#"{"kind":"cross_exchange","primary_exchange":"Binance","secondary_exchange":"kraken"}"#,
                "invalid venue `Binance`",
            ),
            (
                r#"{"kind":"cross_exchange","primary_exchange":"binance","secondary_exchange":"binance"}"#,
                "`secondary_exchange` = binance is invalid",
            ),
            (
                r#"{"kind":"volatility_target","lookback":-3}"#,
                "invalid value",
            ),
        ] {
            let err = serde_json::from_str::<StrategyConfig>(text)
                .unwrap_err()
                .to_string();
            assert!(err.contains(needle), "{text}: {err}");
        }
    }

    #[test]
    fn building_refuses_out_of_range_parameters() {
        let cfg = StrategyConfig::MeanReversion(MeanReversionParams {
            lookback: 0,
            ..MeanReversionParams::default()
        });
        assert_eq!(cfg.build().unwrap_err().key, "lookback");
    }
}
