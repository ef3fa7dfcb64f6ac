//! Mean reversion on the z-score of the close (the reference `MeanReversionStrategy`,
//! engine.md §7.1), bit for bit.
//!
//! Per symbol it keeps the last `max(lookback, 2) + 4` closes and log returns and a position of
//! −1, 0 or +1. Each bar:
//!
//! 1. ingest: the log return `ln(close / previous close)` (0 when either is not positive), then
//!    the close (warm-up stops here: it never trades). The reference also buffers volumes but
//!    never reads them back; the volume gate reads the bar's own volume, so we keep none;
//! 2. nothing until `lookback` closes are held, nothing when the bar's traded notional
//!    (`volume × close`, quote currency) is below `min_volume_usd`. **Fixed:** the reference
//!    compares the raw base-unit volume with this USD threshold, so with its defaults
//!    (100 000) a BTC strategy would need 100 000 BTC per bar to ever trade;
//! 3. `z = (close − μ) / σ` over the last `lookback` closes including this one, σ the sample
//!    standard deviation floored at `sqrt(1e-12)`; `rv` the sample standard deviation of the
//!    last `lookback` log returns (per bar, not annualised);
//! 4. flat: open long at `z ≤ −entry` or short at `z ≥ entry`, only while `rv ≤ cap`;
//!    in a position: count the bar, then close when z is back within `exit`, after
//!    `max_holding_period` counted bars, or when `rv > 1.5 × cap` (the emergency exit).
//!
//! At most one signal per bar. Entry confidence is `min(1, |z| / entry)` (so 1 whenever it
//! triggers), exit confidence `clamp(|z| / exit, 0, 1)`. Bars stopped by the volume gate are
//! not counted towards the holding period, as in the reference.

use crate::domain::Symbol;
use crate::strategy::config::{MeanReversionParams, ParamError};
use crate::strategy::stats::{
    RollingWindow, SymbolBooks, mean_and_sample_variance_pair, py_max, py_min, require_finite,
    std_of,
};
use crate::strategy::{
    Intent, MarketSnapshot, Regime, Signal, SignalMetadata, SignalSide, Strategy, StrategyError,
};

/// Where a symbol's mean-reversion position stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MeanReversionPosition {
    /// No position.
    Flat,
    /// Long since `bars` counted bars.
    Long {
        /// Bars counted since entry (the entry bar is 0).
        bars: u32,
    },
    /// Short since `bars` counted bars.
    Short {
        /// Bars counted since entry (the entry bar is 0).
        bars: u32,
    },
}

/// One symbol's history and position.
#[derive(Clone, Debug)]
struct SymbolBook {
    closes: RollingWindow,
    returns: RollingWindow,
    /// −1 short, 0 flat, +1 long.
    position: i8,
    bars_in_position: u32,
}

/// The z-score mean-reversion strategy.
#[derive(Clone, Debug)]
pub struct MeanReversionStrategy {
    params: MeanReversionParams,
    books: SymbolBooks<SymbolBook>,
}

impl MeanReversionStrategy {
    /// The kind reported by [`Strategy::kind`] and used as the `kind` tag in configs.
    pub const KIND: &'static str = "mean_reversion";

    /// A strategy with no history, after checking `params`.
    pub fn new(params: MeanReversionParams) -> Result<Self, ParamError> {
        params.validate()?;
        Ok(MeanReversionStrategy {
            params,
            books: SymbolBooks::default(),
        })
    }

    /// The parameters in force.
    pub fn params(&self) -> &MeanReversionParams {
        &self.params
    }

    /// The position held in `symbol`.
    pub fn position(&self, symbol: &Symbol) -> MeanReversionPosition {
        match self.books.get(symbol) {
            Some(book) if book.position > 0 => MeanReversionPosition::Long {
                bars: book.bars_in_position,
            },
            Some(book) if book.position < 0 => MeanReversionPosition::Short {
                bars: book.bars_in_position,
            },
            _ => MeanReversionPosition::Flat,
        }
    }

    fn book(&mut self, symbol: &Symbol) -> &mut SymbolBook {
        let window = (self.params.lookback.max(2) as usize) + 4;
        self.books.get_or_insert_with(symbol, || SymbolBook {
            closes: RollingWindow::new(window),
            returns: RollingWindow::new(window),
            position: 0,
            bars_in_position: 0,
        })
    }

    fn entry_confidence(&self, z: f64) -> f64 {
        py_min(1.0, z.abs() / py_max(self.params.entry_zscore, 1e-6))
    }

    fn exit_confidence(&self, z: f64) -> f64 {
        py_min(
            1.0,
            py_max(0.0, z.abs() / py_max(self.params.exit_zscore, 1e-6)),
        )
    }
}

impl SymbolBook {
    fn ingest(&mut self, close: f64) {
        if let Some(previous) = self.closes.last() {
            let r = if previous > 0.0 && close > 0.0 {
                (close / previous).ln()
            } else {
                0.0
            };
            self.returns.push(r);
        }
        self.closes.push(close);
    }
}

impl Strategy for MeanReversionStrategy {
    fn kind(&self) -> &'static str {
        Self::KIND
    }

    /// Ingests closes only. Bars with a non-finite close are skipped (the trait gives warm-up
    /// no way to fail; `on_data` refuses them).
    fn warm_up(&mut self, history: &[MarketSnapshot]) {
        for snapshot in history.iter().filter(|s| s.close.is_finite()) {
            self.book(&snapshot.symbol).ingest(snapshot.close);
        }
    }

    fn on_data(
        &mut self,
        snapshot: &MarketSnapshot,
        out: &mut Vec<Signal>,
    ) -> Result<(), StrategyError> {
        require_finite(snapshot.symbol, snapshot.at, "close", snapshot.close)?;
        require_finite(snapshot.symbol, snapshot.at, "volume", snapshot.volume)?;
        let lookback = self.params.lookback as usize;
        let p = self.params.clone();
        let book = self.book(&snapshot.symbol);
        book.ingest(snapshot.close);

        if book.closes.len() < lookback || snapshot.volume * snapshot.close < p.min_volume_usd {
            return Ok(());
        }

        // Both windows' statistics in one pass (same operations, same order as one at a time).
        let (closes, returns) =
            mean_and_sample_variance_pair(book.closes.tail(lookback), book.returns.tail(lookback));
        let Some((mean, variance)) = closes else {
            return Ok(());
        };
        let sigma = py_max(variance, 1e-12).sqrt();
        let z = (snapshot.close - mean) / sigma;
        let rv = std_of(returns);
        let volatility_stop = rv > p.volatility_cap * 1.5;

        let decision = match book.position {
            0 if z <= -p.entry_zscore && rv <= p.volatility_cap => {
                book.position = 1;
                book.bars_in_position = 0;
                Some((SignalSide::Buy, Regime::LongEntry, true))
            }
            0 if z >= p.entry_zscore && rv <= p.volatility_cap => {
                book.position = -1;
                book.bars_in_position = 0;
                Some((SignalSide::Sell, Regime::ShortEntry, true))
            }
            0 => None,
            position => {
                book.bars_in_position += 1;
                let long = position > 0;
                let z_back = if long {
                    z >= -p.exit_zscore
                } else {
                    z <= p.exit_zscore
                };
                if z_back || book.bars_in_position >= p.max_holding_period || volatility_stop {
                    book.position = 0;
                    Some(if long {
                        (SignalSide::Sell, Regime::LongExit, false)
                    } else {
                        (SignalSide::Buy, Regime::ShortExit, false)
                    })
                } else {
                    None
                }
            }
        };

        if let Some((side, regime, entry)) = decision {
            let confidence = if entry {
                self.entry_confidence(z)
            } else {
                self.exit_confidence(z)
            };
            out.push(Signal {
                symbol: snapshot.symbol,
                side,
                confidence,
                quantity: None,
                intent: Intent::Single,
                legs: Vec::new(),
                metadata: SignalMetadata::default()
                    .with_zscore(z)
                    .with_volatility(rv)
                    .with_regime(regime),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::SimTime;

    fn bar(close: f64, volume: f64, i: u64) -> MarketSnapshot {
        MarketSnapshot {
            symbol: Symbol::new("BTC_USDT").unwrap(),
            at: SimTime::from_unix_secs(60 * i),
            open: close,
            high: close,
            low: close,
            close,
            volume,
            cross: None,
        }
    }

    fn small() -> MeanReversionParams {
        MeanReversionParams {
            lookback: 4,
            entry_zscore: 1.2,
            exit_zscore: 0.5,
            max_holding_period: 3,
            volatility_cap: 0.05,
            min_volume_usd: 1_000.0,
        }
    }

    #[test]
    fn warm_up_ingests_without_trading_and_the_window_is_bounded() {
        let mut s = MeanReversionStrategy::new(small()).unwrap();
        let history: Vec<_> = (0..20)
            .map(|i| bar(100.0 + (i % 3) as f64, 1e6, i))
            .collect();
        s.warm_up(&history);
        let book = s.books.get(&Symbol::new("BTC_USDT").unwrap()).unwrap();
        assert_eq!(book.closes.len(), 8, "max(lookback, 2) + 4");
        assert_eq!(book.returns.len(), 8);
        assert_eq!(s.position(&history[0].symbol), MeanReversionPosition::Flat);
    }

    #[test]
    fn non_positive_prices_log_a_zero_return() {
        let mut book = SymbolBook {
            closes: RollingWindow::new(6),
            returns: RollingWindow::new(6),
            position: 0,
            bars_in_position: 0,
        };
        for close in [100.0, 0.0, 50.0, 100.0] {
            book.ingest(close);
        }
        let returns: Vec<f64> = book.returns.tail(6).to_vec();
        assert_eq!(returns, [0.0, 0.0, 2.0f64.ln()]);
    }

    #[test]
    fn non_finite_bars_fail_the_run_and_leave_state_untouched() {
        let mut s = MeanReversionStrategy::new(small()).unwrap();
        let mut out = Vec::new();
        let err = s.on_data(&bar(f64::NAN, 1e6, 0), &mut out).unwrap_err();
        assert!(err.0.contains("`close` is NaN"), "{}", err.0);
        let err = s
            .on_data(&bar(100.0, f64::INFINITY, 0), &mut out)
            .unwrap_err();
        assert!(err.0.contains("`volume` is inf"), "{}", err.0);
        assert!(s.books.is_empty());
        s.warm_up(&[bar(f64::NAN, 1.0, 0)]);
        assert!(s.books.is_empty());
    }
}
