//! Replay of recorded OHLCV bars (the CSV format of `fixtures/market/README.md`).
//!
//! # Format
//! ```text
//! # comment lines start with '#', blank lines are ignored
//! timestamp,venue,symbol,open,high,low,close,volume
//! 2026-01-05T00:00:00Z,binance,BTC_USDT,60012.50,60040.00,59990.10,60031.20,12.4350
//! ```
//! - `timestamp`: the bar's **open** time, RFC 3339, a multiple of the bar interval;
//! - `open,high,low,close`: decimals in quote units, exactly on the symbol's tick grid;
//! - `volume`: base units, rounded down to whole lots;
//! - rows in non-decreasing time order; at most one row per (timestamp, venue, symbol).
//!
//! # Driving the exchange
//! Bars alone have no book, so [`ReplayFeed`] synthesises quotes inside each bar on the quote
//! grid: `n = interval / quote_interval` prices walking `open → low → high → close` when the
//! bar closed up (`open → high → low → close` when down), linearly between the four anchors,
//! each quoted with the venue's spread and top-of-book size. The recorded bar itself is
//! published at its close, before the next bar's first quote.

use std::collections::BTreeMap;

use stage4_engine::domain::{
    Amount, Bar, InstrumentSpec, MarketEvent, Price, Qty, Quote, SimDuration, SimTime, Symbol,
    VenueId,
};
use stage4_engine::ports::MarketFeed;

use super::MarketPlan;
use crate::error::ReplayError;

/// The header line the format requires.
pub const HEADER: &str = "timestamp,venue,symbol,open,high,low,close,volume";

/// Parses replay CSV text into bars of `interval`, using `specs` for tick and lot sizes.
/// Errors name the 1-based line and what was expected.
pub fn parse_csv(
    text: &str,
    interval: SimDuration,
    specs: &BTreeMap<Symbol, InstrumentSpec>,
) -> Result<Vec<Bar>, ReplayError> {
    let mut bars: Vec<Bar> = Vec::new();
    let mut seen_header = false;
    let mut last_at = SimTime::EPOCH;
    let mut keys = std::collections::BTreeSet::new();
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let row = raw.trim();
        if row.is_empty() || row.starts_with('#') {
            continue;
        }
        if !seen_header {
            if row != HEADER {
                return Err(ReplayError::BadHeader {
                    expected: HEADER,
                    found: row.to_owned(),
                });
            }
            seen_header = true;
            continue;
        }
        let bad = |message: String| ReplayError::BadLine { line, message };
        let fields: Vec<&str> = row.split(',').map(str::trim).collect();
        if fields.len() != 8 {
            return Err(bad(format!(
                "expected 8 comma-separated fields ({HEADER}), found {}",
                fields.len()
            )));
        }
        let open_at =
            SimTime::parse_rfc3339(fields[0]).map_err(|e| bad(format!("timestamp: {e}")))?;
        if open_at.as_nanos() % interval.as_nanos() != 0 {
            return Err(bad(format!(
                "timestamp {open_at} is not a multiple of the bar interval {interval}"
            )));
        }
        if open_at < last_at {
            return Err(bad(format!(
                "timestamp {open_at} is earlier than the row before ({last_at}); sort the file by time"
            )));
        }
        last_at = open_at;
        let venue = VenueId::new(fields[1]).map_err(|e| bad(format!("venue: {e}")))?;
        let symbol = Symbol::new(fields[2]).map_err(|e| bad(format!("symbol: {e}")))?;
        let spec = specs.get(&symbol).ok_or_else(|| {
            bad(format!(
                "symbol {symbol} is not in the run (add it to the symbols)"
            ))
        })?;
        let price = |name: &str, text: &str| -> Result<Price, ReplayError> {
            let atoms = Amount::parse_units(text).map_err(|e| bad(format!("{name}: {e}")))?;
            let tick = i128::from(spec.tick_atoms);
            if atoms.0 <= 0 || atoms.0 % tick != 0 {
                return Err(bad(format!(
                    "{name} {text} must be a positive multiple of the tick {}",
                    spec.tick_atoms as f64 / 1e8
                )));
            }
            i64::try_from(atoms.0 / tick)
                .map(Price)
                .map_err(|_| bad(format!("{name} {text} is too large")))
        };
        let open = price("open", fields[3])?;
        let high = price("high", fields[4])?;
        let low = price("low", fields[5])?;
        let close = price("close", fields[6])?;
        if high < open.max(close).max(low) || low > open.min(close) {
            return Err(bad("expected low ≤ open, close ≤ high".into()));
        }
        let volume_atoms =
            Amount::parse_units(fields[7]).map_err(|e| bad(format!("volume: {e}")))?;
        if volume_atoms.0 < 0 {
            return Err(bad("volume must not be negative".into()));
        }
        let volume = Qty(i64::try_from(volume_atoms.0 / i128::from(spec.lot_atoms))
            .map_err(|_| bad("volume is too large".into()))?);
        if !keys.insert((open_at, venue, symbol)) {
            return Err(bad(format!("second row for {venue} {symbol} at {open_at}")));
        }
        bars.push(Bar {
            venue,
            symbol,
            open_at,
            interval,
            open,
            high,
            low,
            close,
            volume,
        });
    }
    if !seen_header {
        return Err(ReplayError::BadHeader {
            expected: HEADER,
            found: String::new(),
        });
    }
    if bars.is_empty() {
        return Err(ReplayError::Empty);
    }
    Ok(bars)
}

/// Quoting parameters of one (venue, symbol) for synthesised quotes.
#[derive(Clone, Copy, Debug)]
struct QuoteParams {
    spread_frac: f64,
    top_notional: f64,
    tick_size: f64,
    lot_size: f64,
}

/// Replays recorded bars, with synthesised quotes; implements [`MarketFeed`].
#[derive(Clone, Debug)]
pub struct ReplayFeed {
    bars: Vec<Bar>,
    next_bar: usize,
    quote_interval: SimDuration,
    params: BTreeMap<(VenueId, Symbol), QuoteParams>,
    pending_close: Vec<Bar>,
    out: Vec<MarketEvent>,
    pos: usize,
}

impl ReplayFeed {
    /// A feed over `bars` (as returned by [`parse_csv`], every venue and symbol in `plan`).
    pub fn new(bars: Vec<Bar>, plan: &MarketPlan) -> ReplayFeed {
        let mut bars = bars;
        bars.sort_by_key(|b| {
            (
                b.open_at,
                plan.venue_index(b.venue),
                plan.symbol_index(b.symbol),
            )
        });
        let mut params = BTreeMap::new();
        for v in &plan.venues {
            for s in &plan.symbols {
                params.insert(
                    (v.name, s.symbol),
                    QuoteParams {
                        spread_frac: v.spread_bps / 1e4,
                        top_notional: v.top_notional.unwrap_or(s.top_notional),
                        tick_size: s.spec.tick_atoms as f64 / 1e8,
                        lot_size: s.spec.lot_atoms as f64 / 1e8,
                    },
                );
            }
        }
        ReplayFeed {
            bars,
            next_bar: 0,
            quote_interval: plan.quote_interval,
            params,
            pending_close: Vec::new(),
            out: Vec::new(),
            pos: 0,
        }
    }

    /// Fills the buffer with the next group of bars (same open time): first the previous
    /// group's bars at their close, then this group's quotes.
    fn refill(&mut self) -> bool {
        self.out.clear();
        self.pos = 0;
        let group_start = self.next_bar;
        let Some(first) = self.bars.get(group_start) else {
            // Flush the last group's bars.
            self.out
                .extend(self.pending_close.drain(..).map(MarketEvent::Bar));
            return !self.out.is_empty();
        };
        let open_at = first.open_at;
        let mut group_end = group_start;
        while group_end < self.bars.len() && self.bars[group_end].open_at == open_at {
            group_end += 1;
        }
        // Bars of an earlier group that have closed by now go out first.
        let (due, later): (Vec<Bar>, Vec<Bar>) = self
            .pending_close
            .drain(..)
            .partition(|b| b.close_at() <= open_at);
        self.pending_close = later;
        self.out.extend(due.into_iter().map(MarketEvent::Bar));
        let group = &self.bars[group_start..group_end];
        let steps = (first.interval.as_nanos() / self.quote_interval.as_nanos()).max(1);
        for k in 0..steps {
            let at = open_at + SimDuration::from_nanos(k * self.quote_interval.as_nanos());
            for bar in group {
                let p = self.params[&(bar.venue, bar.symbol)];
                let mid = path_price(bar, k, steps);
                let spread = ((mid as f64 * p.spread_frac).round() as i64).max(1);
                let bid = (mid - spread / 2).max(1);
                let price = mid as f64 * p.tick_size;
                let lots = Qty((p.top_notional / price / p.lot_size).max(1.0) as i64);
                self.out.push(MarketEvent::Quote(Quote {
                    venue: bar.venue,
                    symbol: bar.symbol,
                    at,
                    bid: Price(bid),
                    bid_qty: lots,
                    ask: Price(bid + spread),
                    ask_qty: lots,
                }));
            }
        }
        self.pending_close.extend_from_slice(group);
        self.next_bar = group_end;
        true
    }
}

/// The `k`-th of `n` prices (ticks) walking through the bar's anchors.
fn path_price(bar: &Bar, k: u64, n: u64) -> i64 {
    let (a, b) = if bar.close >= bar.open {
        (bar.low, bar.high)
    } else {
        (bar.high, bar.low)
    };
    let anchors = [bar.open.0, a.0, b.0, bar.close.0];
    if n <= 1 {
        return bar.open.0;
    }
    let s = k as f64 * 3.0 / (n - 1) as f64;
    let seg = (s as usize).min(2);
    let frac = s - seg as f64;
    let (from, to) = (anchors[seg] as f64, anchors[seg + 1] as f64);
    (from + (to - from) * frac).round() as i64
}

impl ReplayFeed {
    /// The next event, left in place (refilling when the current batch is used up); `None`
    /// once the recording has ended.
    #[inline]
    pub fn peek(&mut self) -> Option<&MarketEvent> {
        while self.pos >= self.out.len() {
            if !self.refill() {
                return None;
            }
        }
        Some(&self.out[self.pos])
    }

    /// Moves past the event [`ReplayFeed::peek`] returned.
    #[inline]
    pub fn advance(&mut self) {
        self.pos += 1;
    }
}

impl MarketFeed for ReplayFeed {
    fn next_event(&mut self) -> Option<MarketEvent> {
        let event = *self.peek()?;
        self.advance();
        Some(event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::market::instruments::default_spec;

    fn specs() -> BTreeMap<Symbol, InstrumentSpec> {
        ["BTC_USDT", "ETH_USDT"]
            .iter()
            .map(|s| {
                let sym = Symbol::new(s).unwrap();
                (sym, default_spec(sym).unwrap())
            })
            .collect()
    }

    const GOOD: &str = "# sample\n\
        timestamp,venue,symbol,open,high,low,close,volume\n\
        2026-01-05T00:00:00Z,binance,BTC_USDT,60000.00,60010.50,59990.00,60005.25,1.23456\n\
        2026-01-05T00:01:00Z,binance,BTC_USDT,60005.25,60020.00,60001.00,60002.00,0.5\n";

    #[test]
    fn parses_exact_ticks_and_floors_volume_to_lots() {
        let bars = parse_csv(GOOD, SimDuration::from_mins(1), &specs()).unwrap();
        assert_eq!(bars.len(), 2);
        assert_eq!(bars[0].open, Price(6_000_000));
        assert_eq!(bars[0].high, Price(6_001_050));
        assert_eq!(bars[0].volume, Qty(12_345));
    }

    #[test]
    fn bad_rows_name_the_line_and_the_problem() {
        let cases = [
            (
                "timestamp,venue,symbol,open\n",
                "line 1: expected the header",
            ),
            (
                "timestamp,venue,symbol,open,high,low,close,volume\n2026-01-05T00:00:00Z,binance,BTC_USDT,1,2,3\n",
                "line 2: expected 8",
            ),
            (
                "timestamp,venue,symbol,open,high,low,close,volume\n2026-01-05T00:00:30Z,binance,BTC_USDT,1,1,1,1,1\n",
                "line 2: timestamp 2026-01-05T00:00:30Z is not a multiple",
            ),
            (
                "timestamp,venue,symbol,open,high,low,close,volume\n2026-01-05T00:00:00Z,binance,BTC_USDT,1.001,2,1,1,1\n",
                "line 2: open 1.001 must be a positive multiple of the tick",
            ),
            (
                "timestamp,venue,symbol,open,high,low,close,volume\n2026-01-05T00:00:00Z,binance,BTC_USDT,5,4,1,1,1\n",
                "line 2: expected low",
            ),
            (
                "timestamp,venue,symbol,open,high,low,close,volume\n2026-01-05T00:00:00Z,binance,DOGE_USDT,1,1,1,1,1\n",
                "symbol DOGE_USDT is not in the run",
            ),
            (
                "timestamp,venue,symbol,open,high,low,close,volume\n2026-01-05T00:01:00Z,binance,BTC_USDT,1,1,1,1,1\n2026-01-05T00:00:00Z,binance,BTC_USDT,1,1,1,1,1\n",
                "line 3: timestamp 2026-01-05T00:00:00Z is earlier",
            ),
            (
                "timestamp,venue,symbol,open,high,low,close,volume\n2026-01-05T00:00:00Z,Binance,BTC_USDT,1,1,1,1,1\n",
                "line 2: venue: invalid venue",
            ),
            (
                "timestamp,venue,symbol,open,high,low,close,volume\n",
                "no bars",
            ),
        ];
        for (text, expected) in cases {
            let err = parse_csv(text, SimDuration::from_mins(1), &specs())
                .unwrap_err()
                .to_string();
            assert!(err.contains(expected), "{err} ∌ {expected}");
        }
    }

    #[test]
    fn the_quote_path_visits_every_anchor() {
        let bars = parse_csv(GOOD, SimDuration::from_mins(1), &specs()).unwrap();
        let up = bars[0];
        let prices: Vec<i64> = (0..4).map(|k| path_price(&up, k, 4)).collect();
        assert_eq!(prices, [up.open.0, up.low.0, up.high.0, up.close.0]);
        let down = bars[1];
        let prices: Vec<i64> = (0..4).map(|k| path_price(&down, k, 4)).collect();
        assert_eq!(prices, [down.open.0, down.high.0, down.low.0, down.close.0]);
    }
}
