//! Cross-exchange arbitrage between a primary and a secondary venue (the reference
//! `CrossExchangeArbitrageStrategy`, engine.md §7.3), with the reference's unit bug fixed.
//!
//! Each bar reads the best quotes of both venues from [`MarketSnapshot::cross`]; when the feed
//! gives none, every quote is the close and the secondary quote time is the bar time.
//!
//! - Spreads: `pos = secondary_bid − primary_ask` (buy primary, sell secondary) and
//!   `neg = primary_bid − secondary_ask`, as ratios of `ref = max(all four quotes, close)`
//!   (0 when `ref` is 0). The reference calls `ref` the "mid"; it is the maximum.
//! - Flat: open `long_primary_short_secondary` when `pos/ref ≥ spread_entry`, else
//!   `short_primary_long_secondary` when `neg/ref ≥ spread_entry` (so the positive direction
//!   wins a tie). At most one position per symbol.
//! - Open: close when the same-direction ratio is `≤ spread_exit` or the position has been open
//!   `max_open_seconds`; the close legs reverse the entry legs at the current quotes.
//! - Legs: `qty = max(1, floor(notional · (1 − taker_fee) / price / lot)) · lot`, one lot when
//!   the price is not positive; exit quantities are recomputed at exit prices, so they need
//!   not equal the entry quantities. Each leg names its venue and the price used.
//! - Confidence: `min(1, ratio / spread_entry)` at entry (always 1, since the ratio is past the
//!   threshold), 1 at exit.
//! - Metadata: `entry_spread` (ratio), `spread` (absolute, quote currency), `max_notional`,
//!   `taker_fee_rate`, `lot_size`, `secondary_delay_ms` on entries; `exit_spread`,
//!   `entry_spread`, `elapsed_seconds`, `secondary_delay_ms`, `taker_fee_rate`, `lot_size` on
//!   closes.
//!
//! Deviations from the reference, on purpose:
//! - **`exit_spread` is a ratio of `ref`**, the same unit as `entry_spread`. The reference
//!   writes the absolute price difference there, so its `spread_capture_bps`
//!   (`(entry − exit) / |entry| · 10 000`) mixes a ratio with a price and reads about
//!   −15 300 bps on its own test fixture (engine.md §3.7, §13 item 6).
//! - **`secondary_delay_ms` is also on entry signals** (`max(0, (t − secondary_at) · 1000)` in
//!   ms). The reference only reports it when a position closes, so a lagging secondary feed is
//!   invisible to the delay alert for as long as positions stay open: exactly when it matters.
//! - Times are [`SimTime`] nanoseconds, so the reference's "over 1e10
//!   means milliseconds" timestamp heuristic is not needed.

use std::collections::BTreeMap;

use crate::domain::{SimTime, Symbol};
use crate::strategy::config::{CrossExchangeArbitrageParams, ParamError};
use crate::strategy::stats::{py_max, py_min, require_finite};
use crate::strategy::{
    ArbDirection, Intent, LegSide, MarketSnapshot, Signal, SignalLeg, SignalMetadata, SignalSide,
    Strategy, StrategyError,
};

/// An open two-leg position.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ArbPosition {
    /// Which venue was bought and which sold.
    pub direction: ArbDirection,
    /// When it was opened (the entry bar's time).
    pub opened_at: SimTime,
    /// The spread ratio at entry.
    pub entry_spread: f64,
}

/// The four quotes and the spreads derived from them, for one bar.
#[derive(Clone, Copy, Debug)]
struct BarSpreads {
    primary_bid: f64,
    primary_ask: f64,
    secondary_bid: f64,
    secondary_ask: f64,
    /// `secondary_bid − primary_ask`.
    positive: f64,
    /// `primary_bid − secondary_ask`.
    negative: f64,
    positive_ratio: f64,
    negative_ratio: f64,
    secondary_delay_ms: f64,
}

impl BarSpreads {
    fn read(snapshot: &MarketSnapshot) -> Result<BarSpreads, StrategyError> {
        let close = snapshot.close;
        let (primary_bid, primary_ask, secondary_bid, secondary_ask, secondary_at) =
            match snapshot.cross {
                Some(q) => (
                    q.primary_bid,
                    q.primary_ask,
                    q.secondary_bid,
                    q.secondary_ask,
                    q.secondary_at,
                ),
                None => (close, close, close, close, snapshot.at),
            };
        for (field, value) in [
            ("close", close),
            ("primary_bid", primary_bid),
            ("primary_ask", primary_ask),
            ("secondary_bid", secondary_bid),
            ("secondary_ask", secondary_ask),
        ] {
            require_finite(snapshot.symbol, snapshot.at, field, value)?;
        }
        let positive = secondary_bid - primary_ask;
        let negative = primary_bid - secondary_ask;
        let reference = [primary_ask, secondary_bid, secondary_ask, close]
            .into_iter()
            .fold(primary_bid, py_max);
        let ratio = |spread: f64| {
            if reference != 0.0 {
                spread / reference
            } else {
                0.0
            }
        };
        let lag_ns = i128::from(snapshot.at.as_nanos()) - i128::from(secondary_at.as_nanos());
        Ok(BarSpreads {
            primary_bid,
            primary_ask,
            secondary_bid,
            secondary_ask,
            positive,
            negative,
            positive_ratio: ratio(positive),
            negative_ratio: ratio(negative),
            secondary_delay_ms: py_max(0.0, lag_ns as f64 / 1_000_000.0),
        })
    }

    /// Absolute spread and ratio in `direction`.
    fn along(&self, direction: ArbDirection) -> (f64, f64) {
        match direction {
            ArbDirection::LongPrimaryShortSecondary => (self.positive, self.positive_ratio),
            ArbDirection::ShortPrimaryLongSecondary => (self.negative, self.negative_ratio),
        }
    }
}

/// The two-venue spread arbitrage strategy.
#[derive(Clone, Debug)]
pub struct CrossExchangeArbitrageStrategy {
    params: CrossExchangeArbitrageParams,
    positions: BTreeMap<Symbol, ArbPosition>,
}

impl CrossExchangeArbitrageStrategy {
    /// The kind reported by [`Strategy::kind`] and used as the `kind` tag in configs.
    pub const KIND: &'static str = "cross_exchange_arbitrage";

    /// A strategy with no open positions, after checking `params`.
    pub fn new(params: CrossExchangeArbitrageParams) -> Result<Self, ParamError> {
        params.validate()?;
        Ok(CrossExchangeArbitrageStrategy {
            params,
            positions: BTreeMap::new(),
        })
    }

    /// The parameters in force.
    pub fn params(&self) -> &CrossExchangeArbitrageParams {
        &self.params
    }

    /// The open position in `symbol`, if any.
    pub fn position(&self, symbol: &Symbol) -> Option<&ArbPosition> {
        self.positions.get(symbol)
    }

    /// All open positions, by symbol.
    pub fn positions(&self) -> &BTreeMap<Symbol, ArbPosition> {
        &self.positions
    }

    /// The quantity of one leg at `price`: whole lots after the taker fee, at least one lot
    /// (the reference `quantity_from_notional` with these market params).
    pub fn leg_quantity(&self, price: f64) -> Result<f64, StrategyError> {
        let p = &self.params;
        let notional = py_max(0.0, p.max_notional.abs()) * (1.0 - py_max(0.0, p.taker_fee));
        if price <= 0.0 {
            return Ok(p.lot_size);
        }
        let lots = py_max(1.0, (notional / price / p.lot_size).floor());
        if !lots.is_finite() {
            return Err(StrategyError(format!(
                "leg quantity overflows at price {price} (notional {}, lot {})",
                p.max_notional, p.lot_size
            )));
        }
        Ok(lots * p.lot_size)
    }

    /// The legs of a position in `direction` opened (`opening`) or closed at these quotes.
    fn legs(
        &self,
        symbol: Symbol,
        direction: ArbDirection,
        opening: bool,
        q: &BarSpreads,
    ) -> Result<Vec<SignalLeg>, StrategyError> {
        // Side taken on the primary venue by the entry; the secondary takes the other side
        // and a close reverses both.
        let primary_entry = match direction {
            ArbDirection::LongPrimaryShortSecondary => LegSide::Buy,
            ArbDirection::ShortPrimaryLongSecondary => LegSide::Sell,
        };
        let primary_side = if opening {
            primary_entry
        } else {
            primary_entry.opposite()
        };
        let leg = |venue, side: LegSide, bid: f64, ask: f64| -> Result<SignalLeg, StrategyError> {
            let price = match side {
                LegSide::Buy => ask,
                LegSide::Sell => bid,
            };
            Ok(SignalLeg {
                symbol,
                side,
                quantity: self.leg_quantity(price)?,
                venue,
                price,
            })
        };
        Ok(vec![
            leg(
                self.params.primary_exchange,
                primary_side,
                q.primary_bid,
                q.primary_ask,
            )?,
            leg(
                self.params.secondary_exchange,
                primary_side.opposite(),
                q.secondary_bid,
                q.secondary_ask,
            )?,
        ])
    }
}

impl Strategy for CrossExchangeArbitrageStrategy {
    fn kind(&self) -> &'static str {
        Self::KIND
    }

    /// Nothing to warm up: the strategy trades on the current spreads only.
    fn warm_up(&mut self, _history: &[MarketSnapshot]) {}

    fn on_data(
        &mut self,
        snapshot: &MarketSnapshot,
        out: &mut Vec<Signal>,
    ) -> Result<(), StrategyError> {
        let q = BarSpreads::read(snapshot)?;
        let p = &self.params;
        let symbol = snapshot.symbol;

        let Some(position) = self.positions.get(&symbol).copied() else {
            let direction = if q.positive_ratio >= p.spread_entry {
                ArbDirection::LongPrimaryShortSecondary
            } else if q.negative_ratio >= p.spread_entry {
                ArbDirection::ShortPrimaryLongSecondary
            } else {
                return Ok(());
            };
            let (spread, ratio) = q.along(direction);
            let signal = Signal {
                symbol,
                side: SignalSide::Open(direction),
                confidence: py_min(1.0, ratio / p.spread_entry),
                quantity: None,
                intent: Intent::MultiLeg,
                legs: self.legs(symbol, direction, true, &q)?,
                metadata: SignalMetadata::default()
                    .with_entry_spread(ratio)
                    .with_spread(spread)
                    .with_secondary_delay_ms(q.secondary_delay_ms)
                    .with_max_notional(p.max_notional)
                    .with_taker_fee_rate(p.taker_fee)
                    .with_lot_size(p.lot_size),
            };
            self.positions.insert(
                symbol,
                ArbPosition {
                    direction,
                    opened_at: snapshot.at,
                    entry_spread: ratio,
                },
            );
            out.push(signal);
            return Ok(());
        };

        let elapsed_ns =
            i128::from(snapshot.at.as_nanos()) - i128::from(position.opened_at.as_nanos());
        let timed_out = elapsed_ns >= i128::from(p.max_open_seconds) * 1_000_000_000;
        let (_, ratio) = q.along(position.direction);
        if !(ratio <= p.spread_exit || timed_out) {
            return Ok(());
        }
        let signal = Signal {
            symbol,
            side: SignalSide::Close(position.direction),
            confidence: 1.0,
            quantity: None,
            intent: Intent::MultiLeg,
            legs: self.legs(symbol, position.direction, false, &q)?,
            metadata: SignalMetadata::default()
                .with_exit_spread(ratio)
                .with_entry_spread(position.entry_spread)
                .with_elapsed_seconds(elapsed_ns as f64 / 1e9)
                .with_secondary_delay_ms(q.secondary_delay_ms)
                .with_taker_fee_rate(p.taker_fee)
                .with_lot_size(p.lot_size),
        };
        self.positions.remove(&symbol);
        out.push(signal);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::VenueId;
    use crate::strategy::CrossQuotes;

    fn strategy() -> CrossExchangeArbitrageStrategy {
        let mut p = CrossExchangeArbitrageParams::new(
            VenueId::new("binance").unwrap(),
            VenueId::new("kraken").unwrap(),
        );
        p.spread_entry = 0.001;
        p.spread_exit = 0.0005;
        p.max_notional = 10_000.0;
        CrossExchangeArbitrageStrategy::new(p).unwrap()
    }

    fn snap(
        quotes: Option<(f64, f64, f64, f64)>,
        close: f64,
        t: u64,
        lag_ms: u64,
    ) -> MarketSnapshot {
        let at = SimTime::from_unix_secs(t);
        MarketSnapshot {
            symbol: Symbol::new("BTC_USDT").unwrap(),
            at,
            open: close,
            high: close,
            low: close,
            close,
            volume: 1.0,
            cross: quotes.map(|(pb, pa, sb, sa)| CrossQuotes {
                primary_bid: pb,
                primary_ask: pa,
                secondary_bid: sb,
                secondary_ask: sa,
                secondary_at: at
                    .checked_sub(crate::domain::SimDuration::from_millis(lag_ms))
                    .unwrap(),
            }),
        }
    }

    #[test]
    fn leg_quantity_table() {
        let s = strategy();
        // 10 000 · (1 − 0.0004) = 9 996 of notional.
        for (price, lots) in [
            (100.2, 99_760.0), // 99.7604… → 99 760 lots
            (101.0, 98_970.0), // 98.9703…
            (9_996.0, 1_000.0),
            (1e9, 1.0),  // less than a lot → one lot
            (0.0, 1.0),  // no price → one lot
            (-5.0, 1.0), // no price → one lot
        ] {
            let qty = s.leg_quantity(price).unwrap();
            assert_eq!(qty, lots * 0.001, "price {price}");
        }
        assert!(s.leg_quantity(f64::MIN_POSITIVE / 1e10).is_err());
    }

    #[test]
    fn without_quotes_every_quote_is_the_close_and_nothing_trades() {
        let mut s = strategy();
        let mut out = Vec::new();
        s.on_data(&snap(None, 100.0, 1, 0), &mut out).unwrap();
        assert!(out.is_empty());
        assert!(s.positions().is_empty());
    }

    #[test]
    fn positive_direction_wins_a_tie_and_delay_is_reported_at_entry() {
        // Both spreads are 1.0 on a reference of 102: pos = 102 − 101, neg = 102 − 101.
        let mut s = strategy();
        let mut out = Vec::new();
        s.on_data(
            &snap(Some((102.0, 101.0, 102.0, 101.0)), 100.0, 10, 250),
            &mut out,
        )
        .unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(
            out[0].side,
            SignalSide::Open(ArbDirection::LongPrimaryShortSecondary)
        );
        assert_eq!(out[0].metadata.secondary_delay_ms(), Some(250.0));
        assert_eq!(out[0].metadata.entry_spread(), Some(1.0 / 102.0));
    }

    #[test]
    fn short_direction_legs_sell_primary_and_buy_secondary_then_reverse() {
        let mut s = strategy();
        let mut out = Vec::new();
        // neg = 101.0 − 100.2 = 0.8 on ref 101.2; pos = 100.0 − 101.2 < 0.
        s.on_data(
            &snap(Some((101.0, 101.2, 100.0, 100.2)), 101.0, 10, 0),
            &mut out,
        )
        .unwrap();
        let open = &out[0];
        assert_eq!(
            open.side,
            SignalSide::Open(ArbDirection::ShortPrimaryLongSecondary)
        );
        let legs: Vec<_> = open
            .legs
            .iter()
            .map(|l| (l.venue.as_str(), l.side, l.price))
            .collect();
        assert_eq!(
            legs,
            [
                ("binance", LegSide::Sell, 101.0),
                ("kraken", LegSide::Buy, 100.2)
            ]
        );
        // Spread gone: neg = 100.5 − 100.6 < exit.
        s.on_data(
            &snap(Some((100.5, 100.6, 100.5, 100.6)), 100.5, 20, 0),
            &mut out,
        )
        .unwrap();
        let close = &out[1];
        assert_eq!(
            close.side,
            SignalSide::Close(ArbDirection::ShortPrimaryLongSecondary)
        );
        let legs: Vec<_> = close
            .legs
            .iter()
            .map(|l| (l.venue.as_str(), l.side, l.price))
            .collect();
        assert_eq!(
            legs,
            [
                ("binance", LegSide::Buy, 100.6),
                ("kraken", LegSide::Sell, 100.5)
            ]
        );
        assert_eq!(close.metadata.elapsed_seconds(), Some(10.0));
        assert!(s.positions().is_empty());
    }

    #[test]
    fn a_secondary_quote_from_the_future_is_no_delay() {
        let mut s = strategy();
        let mut out = Vec::new();
        let mut bar = snap(Some((100.0, 100.2, 101.0, 101.2)), 100.2, 10, 0);
        if let Some(q) = bar.cross.as_mut() {
            q.secondary_at = SimTime::from_unix_secs(11);
        }
        s.on_data(&bar, &mut out).unwrap();
        assert_eq!(out[0].metadata.secondary_delay_ms(), Some(0.0));
    }

    #[test]
    fn non_finite_quotes_fail_the_run() {
        let mut s = strategy();
        let err = s
            .on_data(
                &snap(Some((100.0, f64::NAN, 101.0, 101.2)), 100.0, 1, 0),
                &mut Vec::new(),
            )
            .unwrap_err();
        assert!(err.0.contains("`primary_ask` is NaN"), "{}", err.0);
    }
}
