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
    /// Move the position to `metadata.target_allocation()` of the schedule's capital.
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

/// Declares the numeric metadata fields: one slot and one presence bit each, a getter, a
/// setter and a builder method per field, and the list [`SignalMetadata`]'s serde and `Debug`
/// forms walk.
macro_rules! metadata_fields {
    ($(
        $(#[doc = $doc:literal])+
        $slot:literal $field:ident, $set:ident, $with:ident;
    )+) => {
        /// How many numeric fields there are (one slot each).
        const METADATA_SLOTS: usize = [$($slot),+].len();

        impl SignalMetadata {
            $(
                $(#[doc = $doc])+
                pub fn $field(&self) -> Option<f64> {
                    self.get($slot)
                }

                #[doc = concat!("Sets or clears [`SignalMetadata::", stringify!($field), "`].")]
                pub fn $set(&mut self, value: Option<f64>) {
                    self.put($slot, value);
                }

                #[doc = concat!("This metadata with [`SignalMetadata::", stringify!($field), "`] set.")]
                #[must_use]
                pub fn $with(mut self, value: f64) -> Self {
                    self.put($slot, Some(value));
                    self
                }
            )+
        }

        impl From<wire::SignalMetadata> for SignalMetadata {
            fn from(f: wire::SignalMetadata) -> SignalMetadata {
                let mut m = SignalMetadata::default();
                m.regime = f.regime;
                $(m.put($slot, f.$field);)+
                m
            }
        }

        impl From<&SignalMetadata> for wire::SignalMetadata {
            fn from(m: &SignalMetadata) -> wire::SignalMetadata {
                wire::SignalMetadata {
                    regime: m.regime,
                    $($field: m.$field(),)+
                }
            }
        }
    };
}

/// The well-known metadata a signal carries. Every field is optional; the scheduler derives
/// its per-run metrics from whichever are present, for any strategy (engine.md §3.7, with the
/// reference's name-prefix gate and unit mix-up fixed).
///
/// A strategy fills a handful of the fifteen fields, so they are stored as one slot per
/// numeric field and a presence mask rather than fifteen `Option`s: a [`Signal`] is copied
/// several times between the strategy and the run record, and this halves what is copied.
/// Read a field with its getter (`m.zscore()`), build with `with_*` (`SignalMetadata::default()
/// .with_zscore(z)`) or `set_*`. Serde and `Debug` see the struct of options it replaces,
/// field for field.
#[derive(Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(from = "wire::SignalMetadata", into = "wire::SignalMetadata")]
pub struct SignalMetadata {
    /// Bit `i` set: `values[i]` holds a field. A clear slot always holds 0.0, so the derived
    /// equality compares present fields only.
    present: u16,
    /// Mean reversion: what the signal does to the position.
    regime: Option<Regime>,
    values: [f64; METADATA_SLOTS],
}

// One presence bit per slot.
const _: () = assert!(METADATA_SLOTS <= u16::BITS as usize);

metadata_fields! {
    /// Mean reversion: z-score of the close.
    0 zscore, set_zscore, with_zscore;
    /// Mean reversion: realised per-bar volatility.
    1 volatility, set_volatility, with_volatility;
    /// Volatility targeting: the new allocation (fraction of capital).
    2 target_allocation, set_target_allocation, with_target_allocation;
    /// Volatility targeting: the allocation before this signal.
    3 current_allocation, set_current_allocation, with_current_allocation;
    /// Volatility targeting: realised per-bar volatility.
    4 realized_volatility, set_realized_volatility, with_realized_volatility;
    /// Volatility targeting: the volatility target.
    5 target_volatility, set_target_volatility, with_target_volatility;
    /// Arbitrage: spread at entry as a ratio of the reference price.
    6 entry_spread, set_entry_spread, with_entry_spread;
    /// Arbitrage: spread at exit as a ratio of the reference price (the reference writes an
    /// absolute price difference here; we use the same unit as `entry_spread`).
    7 exit_spread, set_exit_spread, with_exit_spread;
    /// Arbitrage: absolute spread in quote currency at entry.
    8 spread, set_spread, with_spread;
    /// Arbitrage: age of the secondary venue's quote when the signal was made, ms.
    9 secondary_delay_ms, set_secondary_delay_ms, with_secondary_delay_ms;
    /// Arbitrage: how long the position was open, seconds.
    10 elapsed_seconds, set_elapsed_seconds, with_elapsed_seconds;
    /// Arbitrage: notional cap per leg.
    11 max_notional, set_max_notional, with_max_notional;
    /// Arbitrage: taker fee rate used for leg sizing.
    12 taker_fee_rate, set_taker_fee_rate, with_taker_fee_rate;
    /// Arbitrage: lot size used for leg sizing.
    13 lot_size, set_lot_size, with_lot_size;
}

impl SignalMetadata {
    /// Mean reversion: what the signal does to the position.
    pub fn regime(&self) -> Option<Regime> {
        self.regime
    }

    /// Sets or clears [`SignalMetadata::regime`].
    pub fn set_regime(&mut self, regime: Option<Regime>) {
        self.regime = regime;
    }

    /// This metadata with [`SignalMetadata::regime`] set.
    #[must_use]
    pub fn with_regime(mut self, regime: Regime) -> Self {
        self.regime = Some(regime);
        self
    }

    fn get(&self, slot: usize) -> Option<f64> {
        (self.present & (1 << slot) != 0).then(|| self.values[slot])
    }

    fn put(&mut self, slot: usize, value: Option<f64>) {
        match value {
            Some(v) => {
                self.present |= 1 << slot;
                self.values[slot] = v;
            }
            None => {
                self.present &= !(1 << slot);
                self.values[slot] = 0.0;
            }
        }
    }
}

impl From<SignalMetadata> for wire::SignalMetadata {
    fn from(m: SignalMetadata) -> wire::SignalMetadata {
        wire::SignalMetadata::from(&m)
    }
}

impl fmt::Debug for SignalMetadata {
    /// As the struct of options would print.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        wire::SignalMetadata::from(self).fmt(f)
    }
}

/// [`SignalMetadata`] as the plain struct of options it used to be: what serde reads and
/// writes and `Debug` prints (the name, field names and order are the wire format).
mod wire {
    use serde::{Deserialize, Serialize};

    use super::Regime;

    #[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
    pub(super) struct SignalMetadata {
        pub(super) zscore: Option<f64>,
        pub(super) volatility: Option<f64>,
        pub(super) regime: Option<Regime>,
        pub(super) target_allocation: Option<f64>,
        pub(super) current_allocation: Option<f64>,
        pub(super) realized_volatility: Option<f64>,
        pub(super) target_volatility: Option<f64>,
        pub(super) entry_spread: Option<f64>,
        pub(super) exit_spread: Option<f64>,
        pub(super) spread: Option<f64>,
        pub(super) secondary_delay_ms: Option<f64>,
        pub(super) elapsed_seconds: Option<f64>,
        pub(super) max_notional: Option<f64>,
        pub(super) taker_fee_rate: Option<f64>,
        pub(super) lot_size: Option<f64>,
    }
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

#[cfg(test)]
pub(crate) mod tests {
    use proptest::prelude::{Just, any, prop_assert, prop_assert_eq, prop_oneof, proptest};
    use proptest::strategy::Strategy as ValueStrategy;

    use super::*;

    /// An optional metadata value, NaN and infinities included.
    fn value() -> impl ValueStrategy<Value = Option<f64>> {
        prop_oneof![
            Just(None),
            any::<f64>().prop_map(Some),
            prop_oneof![
                Just(0.0),
                Just(-0.0),
                Just(f64::NAN),
                Just(f64::INFINITY),
                Just(f64::NEG_INFINITY)
            ]
            .prop_map(Some),
        ]
    }

    fn regime() -> impl ValueStrategy<Value = Option<Regime>> {
        prop_oneof![
            Just(None),
            Just(Some(Regime::LongEntry)),
            Just(Some(Regime::ShortEntry)),
            Just(Some(Regime::LongExit)),
            Just(Some(Regime::ShortExit)),
        ]
    }

    /// Metadata with every numeric field set from `v` (declaration order, 14 values) through
    /// the setters, and `regime`; other modules' tests build theirs with it too.
    pub(crate) fn metadata_from(v: &[Option<f64>], regime: Option<Regime>) -> SignalMetadata {
        let mut m = SignalMetadata::default();
        m.set_zscore(v[0]);
        m.set_volatility(v[1]);
        m.set_regime(regime);
        m.set_target_allocation(v[2]);
        m.set_current_allocation(v[3]);
        m.set_realized_volatility(v[4]);
        m.set_target_volatility(v[5]);
        m.set_entry_spread(v[6]);
        m.set_exit_spread(v[7]);
        m.set_spread(v[8]);
        m.set_secondary_delay_ms(v[9]);
        m.set_elapsed_seconds(v[10]);
        m.set_max_notional(v[11]);
        m.set_taker_fee_rate(v[12]);
        m.set_lot_size(v[13]);
        m
    }

    /// The same metadata set both ways: through the compact type's setters, and as the
    /// struct of options it replaced (kept as its wire form).
    fn both(v: &[Option<f64>], regime: Option<Regime>) -> (SignalMetadata, wire::SignalMetadata) {
        let m = metadata_from(v, regime);
        let old = wire::SignalMetadata {
            zscore: v[0],
            volatility: v[1],
            regime,
            target_allocation: v[2],
            current_allocation: v[3],
            realized_volatility: v[4],
            target_volatility: v[5],
            entry_spread: v[6],
            exit_spread: v[7],
            spread: v[8],
            secondary_delay_ms: v[9],
            elapsed_seconds: v[10],
            max_notional: v[11],
            taker_fee_rate: v[12],
            lot_size: v[13],
        };
        (m, old)
    }

    /// Bitwise equality of options, NaN included.
    fn same(a: Option<f64>, b: Option<f64>) -> bool {
        a.map(f64::to_bits) == b.map(f64::to_bits)
    }

    proptest! {
        /// Every getter reads back what was set, and serde and `Debug` give exactly what the
        /// struct of options gave.
        #[test]
        fn compact_metadata_reads_and_prints_like_the_struct_of_options(
            v in proptest::collection::vec(value(), 14),
            regime in regime(),
        ) {
            let (m, old) = both(&v, regime);
            let getters = [
                m.zscore(), m.volatility(), m.target_allocation(), m.current_allocation(),
                m.realized_volatility(), m.target_volatility(), m.entry_spread(),
                m.exit_spread(), m.spread(), m.secondary_delay_ms(), m.elapsed_seconds(),
                m.max_notional(), m.taker_fee_rate(), m.lot_size(),
            ];
            for (i, (got, want)) in getters.iter().zip(&v).enumerate() {
                prop_assert!(same(*got, *want), "field {i}: {got:?} != {want:?}");
            }
            prop_assert_eq!(m.regime(), regime);
            prop_assert_eq!(serde_json::to_string(&m).unwrap(), serde_json::to_string(&old).unwrap());
            prop_assert_eq!(format!("{m:?}"), format!("{old:?}"));
            prop_assert_eq!(format!("{m:#?}"), format!("{old:#?}"));
            // Reading JSON back gives what the struct of options read (JSON has no NaN).
            if v.iter().flatten().all(|x| x.is_finite()) {
                let json = serde_json::to_string(&m).unwrap();
                let read: SignalMetadata = serde_json::from_str(&json).unwrap();
                let read_old: wire::SignalMetadata = serde_json::from_str(&json).unwrap();
                prop_assert_eq!(read, SignalMetadata::from(read_old));
                prop_assert_eq!(format!("{read:?}"), format!("{read_old:?}"));
            }
        }

        /// Equality is the struct of options' equality: same fields present, equal values.
        #[test]
        fn compact_metadata_compares_like_the_struct_of_options(
            a in proptest::collection::vec(prop_oneof![Just(None), Just(Some(0.0)), Just(Some(1.5))], 14),
            b in proptest::collection::vec(prop_oneof![Just(None), Just(Some(0.0)), Just(Some(1.5))], 14),
            ra in regime(),
            rb in regime(),
        ) {
            let (ma, oa) = both(&a, ra);
            let (mb, ob) = both(&b, rb);
            prop_assert_eq!(ma == mb, oa == ob);
        }
    }

    #[test]
    fn clearing_a_field_forgets_its_value() {
        let mut m = SignalMetadata::default().with_zscore(2.0).with_spread(0.5);
        m.set_zscore(None);
        assert_eq!(m, SignalMetadata::default().with_spread(0.5));
        assert_eq!(m.zscore(), None);
        assert_eq!(m.spread(), Some(0.5));
    }
}
