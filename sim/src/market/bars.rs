//! OHLCV bars aggregated from a venue's prices.
//!
//! Bars are aligned to multiples of their interval since the epoch (so 1-minute bars start on
//! the minute and daily bars at UTC midnight). A price at exactly a boundary opens the new
//! bar. A bar is published at its close, when the first price at or after the close arrives
//! or the run ends exactly there; a bar still open when the run ends is not published.

use stage4_engine::domain::{Bar, Price, Qty, SimDuration, SimTime, Symbol, VenueId};

/// Builds the bars of one interval for one venue and symbol.
#[derive(Clone, Debug)]
pub struct BarAggregator {
    venue: VenueId,
    symbol: Symbol,
    interval: SimDuration,
    current: Option<Bar>,
}

impl BarAggregator {
    /// An aggregator with no bar open. `interval` must be non-zero.
    pub fn new(venue: VenueId, symbol: Symbol, interval: SimDuration) -> BarAggregator {
        assert!(!interval.is_zero(), "bar interval must be non-zero");
        BarAggregator {
            venue,
            symbol,
            interval,
            current: None,
        }
    }

    /// The bar interval.
    pub fn interval(&self) -> SimDuration {
        self.interval
    }

    /// Closes the open bar if `now` is at or past its close; returns it.
    #[inline]
    pub fn close_due(&mut self, now: SimTime) -> Option<Bar> {
        match self.current {
            Some(bar) if now >= bar.close_at() => {
                self.current = None;
                Some(bar)
            }
            _ => None,
        }
    }

    /// Adds a price (and traded quantity) seen at `now`. Call [`Self::close_due`] first.
    #[inline]
    pub fn add(&mut self, now: SimTime, price: Price, volume: Qty) {
        match &mut self.current {
            Some(bar) => {
                if price > bar.high {
                    bar.high = price;
                }
                if price < bar.low {
                    bar.low = price;
                }
                bar.close = price;
                bar.volume += volume;
            }
            None => {
                self.current = Some(Bar {
                    venue: self.venue,
                    symbol: self.symbol,
                    open_at: now.floor_to(self.interval),
                    interval: self.interval,
                    open: price,
                    high: price,
                    low: price,
                    close: price,
                    volume,
                })
            }
        }
    }

    /// The last close of the open bar, if any.
    pub fn last_close(&self) -> Option<Price> {
        self.current.map(|b| b.close)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aggregates_and_closes_on_the_boundary() {
        let v = VenueId::new("binance").unwrap();
        let s = Symbol::new("BTC_USDT").unwrap();
        let mut agg = BarAggregator::new(v, s, SimDuration::from_mins(1));
        let t0 = SimTime::from_unix_secs(600);
        for (i, p) in [100, 104, 97, 101].into_iter().enumerate() {
            let now = t0 + SimDuration::from_secs(15 * i as u64);
            assert!(agg.close_due(now).is_none());
            agg.add(now, Price(p), Qty(2));
        }
        let bar = agg.close_due(t0 + SimDuration::from_mins(1)).unwrap();
        assert_eq!(
            (bar.open, bar.high, bar.low, bar.close, bar.volume),
            (Price(100), Price(104), Price(97), Price(101), Qty(8))
        );
        assert_eq!(bar.open_at, t0);
        assert_eq!(bar.close_at(), t0 + SimDuration::from_mins(1));
        assert!(agg.close_due(t0 + SimDuration::from_mins(5)).is_none());
    }
}
