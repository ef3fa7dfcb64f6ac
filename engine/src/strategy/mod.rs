//! Strategies: pure functions of their own state and the market snapshots they are fed.
//!
//! The contract mirrors the reference lifecycle (`warm_up(history)` then `on_data(snapshot)`
//! per bar, engine.md §1): a strategy keeps per-symbol state, never sees the clock except
//! through snapshot timestamps, and answers with [`Signal`]s. Signal metadata is typed
//! ([`SignalMetadata`]) so the scheduler's metric extraction (engine.md §3.7) does not depend
//! on string keys or on the strategy's name.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::domain::{SimTime, Symbol, VenueId};

pub mod config;
pub mod cross_exchange;
pub mod mean_reversion;
pub mod metrics;
mod stats;
pub mod volatility_target;

pub use config::{
    CrossExchangeArbitrageParams, MeanReversionParams, ParamError, StrategyConfig,
    VolatilityTargetParams,
};
pub use cross_exchange::{ArbPosition, CrossExchangeArbitrageStrategy};
pub use mean_reversion::{MeanReversionPosition, MeanReversionStrategy};
pub use metrics::{RunMetrics, RunMetricsAccumulator};
pub use volatility_target::VolatilityTargetStrategy;

/// One bar of one symbol as a strategy sees it (the reference `MarketSnapshot`), with the
/// cross-venue quotes the arbitrage strategy reads.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct MarketSnapshot {
    /// The instrument.
    pub symbol: Symbol,
    /// When the snapshot was taken (a bar's close time).
    pub at: SimTime,
    /// First price.
    pub open: f64,
    /// Highest price.
    pub high: f64,
    /// Lowest price.
    pub low: f64,
    /// Last price.
    pub close: f64,
    /// Traded volume (base units).
    pub volume: f64,
    /// Best quotes on the two venues of a cross-exchange pair, when the feed provides them.
    pub cross: Option<CrossQuotes>,
}

/// Top of book on a primary and a secondary venue (the reference reads these from the
/// `primary_bid`, `primary_ask`, `secondary_bid`, `secondary_ask`, `secondary_timestamp`
/// indicators; each defaults to the close).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct CrossQuotes {
    /// Best bid on the primary venue.
    pub primary_bid: f64,
    /// Best ask on the primary venue.
    pub primary_ask: f64,
    /// Best bid on the secondary venue.
    pub secondary_bid: f64,
    /// Best ask on the secondary venue.
    pub secondary_ask: f64,
    /// Venue timestamp of the secondary quote (older than `at` when its feed lags).
    pub secondary_at: SimTime,
}

/// Direction of a cross-exchange arbitrage position.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ArbDirection {
    /// Bought on the primary venue, sold on the secondary.
    LongPrimaryShortSecondary,
    /// Sold on the primary venue, bought on the secondary.
    ShortPrimaryLongSecondary,
}

impl ArbDirection {
    /// The reference's side string.
    pub fn as_str(self) -> &'static str {
        match self {
            ArbDirection::LongPrimaryShortSecondary => "long_primary_short_secondary",
            ArbDirection::ShortPrimaryLongSecondary => "short_primary_long_secondary",
        }
    }
}

/// What a signal asks for (the reference's free-form `side` string, as a closed set).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignalSide {
    /// Buy the symbol.
    Buy,
    /// Sell the symbol.
    Sell,
    /// Move the position to `metadata.target_allocation` of the schedule's capital.
    Rebalance,
    /// Open a two-leg arbitrage position.
    Open(ArbDirection),
    /// Close a two-leg arbitrage position.
    Close(ArbDirection),
}

impl SignalSide {
    /// The reference's side string: `buy`, `sell`, `rebalance`,
    /// `long_primary_short_secondary`, `close_long_primary_short_secondary`, ...
    pub fn to_reference_string(self) -> String {
        match self {
            SignalSide::Buy => "buy".to_owned(),
            SignalSide::Sell => "sell".to_owned(),
            SignalSide::Rebalance => "rebalance".to_owned(),
            SignalSide::Open(d) => d.as_str().to_owned(),
            SignalSide::Close(d) => format!("close_{}", d.as_str()),
        }
    }
}

impl fmt::Display for SignalSide {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_reference_string())
    }
}

/// The reference's `intent`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Intent {
    /// A single-instrument trade (mean reversion).
    Single,
    /// A risk-neutral re-sizing (volatility targeting).
    Neutral,
    /// Several legs that belong together (arbitrage).
    MultiLeg,
}

/// Buy or sell, for a leg.
pub use crate::domain::Side as LegSide;

/// One leg of a multi-leg signal.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct SignalLeg {
    /// The instrument.
    pub symbol: Symbol,
    /// Buy or sell.
    pub side: LegSide,
    /// Quantity in base units (lot-floored by the strategy, see engine.md §7.3).
    pub quantity: f64,
    /// Where to trade it.
    pub venue: VenueId,
    /// The price the strategy saw for this leg.
    pub price: f64,
}

/// Regime labels the mean-reversion strategy attaches to its signals.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Regime {
    /// Opened a long position.
    LongEntry,
    /// Opened a short position.
    ShortEntry,
    /// Closed a long position.
    LongExit,
    /// Closed a short position.
    ShortExit,
}

/// The well-known metadata a signal carries. Every field is optional; the scheduler derives
/// its per-run metrics from whichever are present, for any strategy (engine.md §3.7, with the
/// reference's name-prefix gate and unit mix-up fixed).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SignalMetadata {
    /// Mean reversion: z-score of the close.
    pub zscore: Option<f64>,
    /// Mean reversion: realised per-bar volatility.
    pub volatility: Option<f64>,
    /// Mean reversion: what the signal does to the position.
    pub regime: Option<Regime>,
    /// Volatility targeting: the new allocation (fraction of capital).
    pub target_allocation: Option<f64>,
    /// Volatility targeting: the allocation before this signal.
    pub current_allocation: Option<f64>,
    /// Volatility targeting: realised per-bar volatility.
    pub realized_volatility: Option<f64>,
    /// Volatility targeting: the volatility target.
    pub target_volatility: Option<f64>,
    /// Arbitrage: spread at entry as a ratio of the reference price.
    pub entry_spread: Option<f64>,
    /// Arbitrage: spread at exit as a ratio of the reference price (the reference writes an
    /// absolute price difference here; we use the same unit as `entry_spread`).
    pub exit_spread: Option<f64>,
    /// Arbitrage: absolute spread in quote currency at entry.
    pub spread: Option<f64>,
    /// Arbitrage: age of the secondary venue's quote when the signal was made, ms.
    pub secondary_delay_ms: Option<f64>,
    /// Arbitrage: how long the position was open, seconds.
    pub elapsed_seconds: Option<f64>,
    /// Arbitrage: notional cap per leg.
    pub max_notional: Option<f64>,
    /// Arbitrage: taker fee rate used for leg sizing.
    pub taker_fee_rate: Option<f64>,
    /// Arbitrage: lot size used for leg sizing.
    pub lot_size: Option<f64>,
}

/// A strategy's output.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Signal {
    /// The instrument.
    pub symbol: Symbol,
    /// What to do.
    pub side: SignalSide,
    /// How sure the strategy is, nominally 0..=1; the scheduler's top-k ranks by it.
    pub confidence: f64,
    /// Quantity in base units, when the strategy sizes it.
    pub quantity: Option<f64>,
    /// Single, neutral or multi-leg.
    pub intent: Intent,
    /// The legs of a multi-leg signal (empty otherwise).
    pub legs: Vec<SignalLeg>,
    /// Well-known metadata.
    pub metadata: SignalMetadata,
}

/// A strategy failed on an input: the scheduler records a `strategy` failure for the run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("strategy failed: {0}")]
pub struct StrategyError(pub String);

/// A trading strategy.
///
/// Implementations must be deterministic functions of their construction parameters and the
/// sequence of calls they receive. `Send` so a schedule can run on a worker thread in the load
/// test.
pub trait Strategy: Send + fmt::Debug {
    /// The strategy's kind, e.g. `mean_reversion` (not the instance name).
    fn kind(&self) -> &'static str;

    /// Feeds history before the first live call. Ingests only; never trades.
    fn warm_up(&mut self, history: &[MarketSnapshot]);

    /// Feeds one snapshot and appends any signals to `out` (appends; never clears).
    fn on_data(
        &mut self,
        snapshot: &MarketSnapshot,
        out: &mut Vec<Signal>,
    ) -> Result<(), StrategyError>;
}
