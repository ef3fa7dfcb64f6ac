//! The world as plain data: what a scenario file or the CLI says, before validation.
//!
//! Every field has a documented default so a config can be as short as seed, start, duration,
//! venues and symbols. [`crate::SimBuilder::new`] validates a config once, naming the field
//! of the first problem it finds, and resolves the defaults.
//!
//! Units, once for all:
//! - volatility (`vol`, `vol_calm`, `vol_burst`) is the standard deviation of the **log price
//!   per √second** (0.0001 ≈ 2.9 % a day, the default for BTC);
//! - spreads, basis and fees are in basis points (1 bp = 0.01 %);
//! - durations are written like `250ms`, `5s`, `1h30m`;
//! - balances are exact decimals in units of the asset (`"100000"`, `"0.5"`).

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};
use stage4_engine::domain::{AccountId, Amount, Asset, Bar, SimDuration, SimTime, Symbol, VenueId};

use crate::exchange::latency::LatencyModel;
use crate::faults::Fault;
use crate::market::process::PriceModel;

/// Default spacing of quote updates (see [`SimConfig::quote_interval`]).
pub const DEFAULT_QUOTE_INTERVAL: SimDuration = SimDuration::from_secs(5);

/// Everything needed to build a simulated world.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimConfig {
    /// Master seed; every random stream is forked from it by label.
    pub seed: u64,
    /// First instant of the market.
    pub start: SimTime,
    /// Length of the market; the feed ends at `start + duration`.
    pub duration: SimDuration,
    /// Time between two top-of-book updates of each venue and symbol. Default **5 s**: fine
    /// enough for 1-minute bars (12 prices each) and for spread dynamics with ~1-minute
    /// half-lives, coarse enough that a year of 10 symbols × 3 venues runs in minutes.
    #[serde(default = "default_quote_interval")]
    pub quote_interval: SimDuration,
    /// Bar sizes to publish, each 1 s … 1 d, a multiple of the quote interval and a divisor of
    /// one day (so bars align to UTC midnight). Default `[1m]`.
    #[serde(default = "default_bar_intervals")]
    pub bar_intervals: Vec<SimDuration>,
    /// The venues, in the order their data is emitted at each instant.
    pub venues: Vec<VenueConfig>,
    /// The instruments, listed on every venue.
    pub symbols: Vec<SymbolConfig>,
    /// Participant accounts and their starting balances. Default none.
    #[serde(default)]
    pub accounts: Vec<AccountConfig>,
    /// Faults on the timeline. Default none.
    #[serde(default)]
    pub faults: Vec<Fault>,
    /// Scripted moves of a symbol's fair price (a crash, a squeeze). Default none.
    #[serde(default)]
    pub shocks: Vec<PriceShock>,
    /// Recorded bars to replay instead of generating prices (parsed by the caller with
    /// [`crate::market::replay::parse_csv`]). `None` (the default) generates the market.
    #[serde(skip)]
    pub replay: Option<Vec<Bar>>,
}

fn default_quote_interval() -> SimDuration {
    DEFAULT_QUOTE_INTERVAL
}

fn default_bar_intervals() -> Vec<SimDuration> {
    vec![SimDuration::from_mins(1)]
}

impl SimConfig {
    /// A config with every default: the given venues and symbols, no accounts, no faults.
    pub fn new(
        seed: u64,
        start: SimTime,
        duration: SimDuration,
        venues: &[VenueId],
        symbols: &[Symbol],
    ) -> SimConfig {
        SimConfig {
            seed,
            start,
            duration,
            quote_interval: DEFAULT_QUOTE_INTERVAL,
            bar_intervals: default_bar_intervals(),
            venues: venues.iter().map(|v| VenueConfig::new(*v)).collect(),
            symbols: symbols.iter().map(|s| SymbolConfig::new(*s)).collect(),
            accounts: Vec::new(),
            faults: Vec::new(),
            shocks: Vec::new(),
            replay: None,
        }
    }

    /// The config of venue `name`, for tweaking defaults in code.
    pub fn venue_mut(&mut self, name: VenueId) -> Option<&mut VenueConfig> {
        self.venues.iter_mut().find(|v| v.name == name)
    }
}

/// One venue: how its prices relate to the fair price, its book, fees, latency and limits.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VenueConfig {
    /// Venue name.
    pub name: VenueId,
    /// Lead–lag: the venue's prices follow the fair price this much later (linear
    /// interpolation between quote steps). Default `0s`, i.e. the venue leads.
    #[serde(default)]
    pub lag: SimDuration,
    /// Stationary standard deviation of the venue's log basis to the fair price, in bps.
    /// The basis is an Ornstein–Uhlenbeck process, so cross-venue spreads open and close.
    /// Default **5 bps** (two venues then differ by more than 15 bps about 2 % of the time).
    #[serde(default = "default_basis_bps")]
    pub basis_bps: f64,
    /// Half-life of the basis' mean reversion. Default **60 s**.
    #[serde(default = "default_basis_half_life")]
    pub basis_half_life: SimDuration,
    /// Quoted bid–ask spread in bps of the mid, at least one tick. Default **1 bp**.
    #[serde(default = "default_spread_bps")]
    pub spread_bps: f64,
    /// The synthetic depth ladder.
    #[serde(default)]
    pub depth: DepthConfig,
    /// Maker and taker fees.
    #[serde(default)]
    pub fees: FeeSchedule,
    /// Latency models per operation.
    #[serde(default)]
    pub latency: VenueLatency,
    /// Order-entry rate limit per account (orders and cancels). Default 100 per 1 s;
    /// `null`/absent in a file keeps the default, use a huge limit to disable.
    #[serde(default = "default_rate_limit")]
    pub rate_limit: RateLimit,
}

fn default_basis_bps() -> f64 {
    5.0
}
fn default_basis_half_life() -> SimDuration {
    SimDuration::from_secs(60)
}
fn default_spread_bps() -> f64 {
    1.0
}
fn default_rate_limit() -> RateLimit {
    RateLimit {
        max_requests: 100,
        window: SimDuration::from_secs(1),
    }
}

impl VenueConfig {
    /// A venue with every default.
    pub fn new(name: VenueId) -> VenueConfig {
        VenueConfig {
            name,
            lag: SimDuration::ZERO,
            basis_bps: default_basis_bps(),
            basis_half_life: default_basis_half_life(),
            spread_bps: default_spread_bps(),
            depth: DepthConfig::default(),
            fees: FeeSchedule::default(),
            latency: VenueLatency::default(),
            rate_limit: default_rate_limit(),
        }
    }
}

/// The parametric depth ladder behind each quote: `levels` price levels per side, level `i`
/// (0 = best) `i × spacing` away from the best price, holding `top × (1 + growth × i)`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DepthConfig {
    /// Levels per side, 1 … 64. Default **10**.
    pub levels: u32,
    /// Distance between levels in bps of the price, at least one tick. Default **1 bp**.
    pub spacing_bps: f64,
    /// Relative size growth per level. Default **0.5** (level 9 holds 5.5× the top).
    pub growth: f64,
    /// Notional at the best level in quote units; default from the symbol table (e.g.
    /// 100 000 for BTC_USDT), jittered ×0.5 … ×1.5 per quote.
    pub top_notional: Option<f64>,
}

impl Default for DepthConfig {
    fn default() -> Self {
        DepthConfig {
            levels: 10,
            spacing_bps: 1.0,
            growth: 0.5,
            top_notional: None,
        }
    }
}

/// Fees in basis points of the fill notional, charged in the quote asset and rounded up to
/// the atom ([`Amount::bps_ceil`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FeeSchedule {
    /// Fee for liquidity that rested on the book. Default **2 bps**.
    pub maker_bps: u32,
    /// Fee for liquidity taken on arrival. Default **4 bps** (the reference's spot preset).
    pub taker_bps: u32,
}

impl Default for FeeSchedule {
    fn default() -> Self {
        FeeSchedule {
            maker_bps: 2,
            taker_bps: 4,
        }
    }
}

/// One latency model per operation; each draws from its own stream
/// `latency/<venue>/<operation>`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VenueLatency {
    /// Engine → matching engine. Default lognormal, median 20 ms, σ 0.25.
    pub order_entry: LatencyModel,
    /// Matching engine → engine (acks, fills, rejects). Default lognormal, median 20 ms, σ 0.25.
    pub reports: LatencyModel,
    /// Venue → engine market data. Default constant 10 ms.
    pub market_data: LatencyModel,
}

impl Default for VenueLatency {
    fn default() -> Self {
        let lognormal = LatencyModel::LogNormal {
            median: SimDuration::from_millis(20),
            sigma: 0.25,
        };
        VenueLatency {
            order_entry: lognormal.clone(),
            reports: lognormal,
            market_data: LatencyModel::Constant {
                latency: SimDuration::from_millis(10),
            },
        }
    }
}

/// At most `max_requests` orders and cancels per account within any `window`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    /// Requests allowed per window.
    pub max_requests: u32,
    /// The sliding window.
    pub window: SimDuration,
}

/// One instrument and its price process.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SymbolConfig {
    /// The instrument, e.g. `BTC_USDT`.
    pub symbol: Symbol,
    /// Starting fair price in quote units. Default from the symbol table (60 000 for BTC_USDT,
    /// 100 for unknown symbols).
    #[serde(default)]
    pub start_price: Option<f64>,
    /// Tick size as a decimal (`"0.01"`). Default from the symbol table.
    #[serde(default)]
    pub tick_size: Option<String>,
    /// Lot size as a decimal (`"0.0001"`). Default from the symbol table.
    #[serde(default)]
    pub lot_size: Option<String>,
    /// Minimum order notional in quote units. Default 10.
    #[serde(default)]
    pub min_notional: Option<Units>,
    /// The fair-price process. Default GBM with the symbol table's volatility, no drift.
    #[serde(default)]
    pub model: Option<PriceModel>,
}

impl SymbolConfig {
    /// A symbol with every default.
    pub fn new(symbol: Symbol) -> SymbolConfig {
        SymbolConfig {
            symbol,
            start_price: None,
            tick_size: None,
            lot_size: None,
            min_notional: None,
            model: None,
        }
    }
}

/// A scripted move of one symbol's fair price, on every venue: over `[start, end)` the fair log
/// price drifts by `ln(1 + move_pct / 100)` in total, spread evenly over the quote steps of the
/// window, on top of the price process (a deterministic crash for risk drills).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceShock {
    /// The symbol.
    pub symbol: Symbol,
    /// When the move starts.
    pub start: SimTime,
    /// When it is complete.
    pub end: SimTime,
    /// Total move in percent, e.g. `-12` (greater than -100, non-zero).
    pub move_pct: f64,
}

/// Starting balances of one participant account on one venue.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountConfig {
    /// The account.
    pub account: AccountId,
    /// The venue it lives on.
    pub venue: VenueId,
    /// Asset → amount in units.
    pub balances: BTreeMap<Asset, Units>,
}

/// An exact decimal amount of an asset, written as a string (`"0.5"`) or a number (`100000`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Units(pub Amount);

impl<'de> Deserialize<'de> for Units {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Text(String),
            Int(i64),
            Float(f64),
        }
        let text = match Raw::deserialize(d)? {
            Raw::Text(s) => s,
            Raw::Int(i) => i.to_string(),
            Raw::Float(f) => format!("{f}"),
        };
        Amount::parse_units(&text)
            .map(Units)
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_toml_config_takes_every_default() {
        let text = r#"
            seed = 7
            start = "2026-01-01T00:00:00Z"
            duration = "1h"
            venues = [{ name = "binance" }, { name = "kraken", lag = "250ms" }]
            symbols = [{ symbol = "BTC_USDT", model = { kind = "regime_switching", vol_calm = 0.0004, vol_burst = 0.002 } }]
            accounts = [{ account = 1, venue = "binance", balances = { USDT = 100000, BTC = "0.5" } }]
            faults = [{ venue = "kraken", start = "2026-01-01T00:10:00Z", end = "2026-01-01T00:20:00Z", kind = "outage" }]
        "#;
        let cfg: SimConfig = toml::from_str(text).unwrap();
        assert_eq!(cfg.quote_interval, SimDuration::from_secs(5));
        assert_eq!(cfg.bar_intervals, vec![SimDuration::from_mins(1)]);
        assert_eq!(cfg.venues[1].lag, SimDuration::from_millis(250));
        assert_eq!(cfg.venues[0].fees.taker_bps, 4);
        let usdt = Asset::new("USDT").unwrap();
        assert_eq!(
            cfg.accounts[0].balances[&usdt].0,
            Amount::from_units(100_000)
        );
        assert!(matches!(
            cfg.symbols[0].model,
            Some(PriceModel::RegimeSwitching { .. })
        ));
    }

    #[test]
    fn unknown_fields_are_refused() {
        let text = r#"
            seed = 7
            start = "2026-01-01T00:00:00Z"
            duration = "1h"
            venues = [{ name = "binance", sprad_bps = 3 }]
            symbols = [{ symbol = "BTC_USDT" }]
        "#;
        let err = toml::from_str::<SimConfig>(text).unwrap_err().to_string();
        assert!(err.contains("sprad_bps"), "{err}");
        for (model, expected) in [
            (r#"{ kind = "gbm", vol = 0.1, vool = 1 }"#, "vool"),
            (r#"{ kind = "brownian", vol = 0.1 }"#, "brownian"),
            (
                r#"{ kind = "regime_switching", vol_calm = 0.1 }"#,
                "vol_burst",
            ),
        ] {
            let text = format!(
                "seed = 1\nstart = \"2026-01-01T00:00:00Z\"\nduration = \"1h\"\nvenues = [{{ name = \"binance\" }}]\nsymbols = [{{ symbol = \"BTC_USDT\", model = {model} }}]"
            );
            let err = toml::from_str::<SimConfig>(&text).unwrap_err().to_string();
            assert!(err.contains(expected), "{model}: {err}");
        }
        let latency = "seed = 1\nstart = \"2026-01-01T00:00:00Z\"\nduration = \"1h\"\nsymbols = [{ symbol = \"BTC_USDT\" }]\nvenues = [{ name = \"binance\", latency = { order_entry = { kind = \"lognormal\", median = \"20ms\", sigma = 0.3, mean = 1 } } }]";
        let err = toml::from_str::<SimConfig>(latency)
            .unwrap_err()
            .to_string();
        assert!(err.contains("mean"), "{err}");
    }
}
