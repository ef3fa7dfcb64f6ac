//! What the engine knows about the market: instrument specs, recent bars, the latest quote per
//! venue and symbol, and venue status — and the [`SnapshotFeed`] the scheduler reads.
//!
//! Differences from the reference feed (engine.md §1.4), deliberate:
//! - `fetch_latest` returns every bar completed since the schedule's previous fetch, each
//!   exactly once. The reference returns the last candle on every call, so a cadence shorter
//!   than the bar feeds the same candle again and strategies record zero returns.
//! - Bars are aggregated from the market's base bars to the schedule's interval (e.g. 1 m bars
//!   into 5 m bars); a bucket is complete once the base bar ending on its boundary arrived.
//! - Cross-exchange schedules get both venues' latest quotes. `CrossQuotes::secondary_at` is
//!   placed so that `snapshot.at − secondary_at` is the secondary quote's **feed delay** (when
//!   it was received minus its venue timestamp): the arbitrage strategy's
//!   `secondary_delay_ms` then measures how late the secondary venue's data arrives, whatever
//!   the quote grid or the bar the snapshot is built on. A normal feed shows its transport
//!   latency (milliseconds); a delayed or clock-skewed secondary shows up at once.

use std::collections::{BTreeMap, VecDeque};

use crate::domain::{
    Bar, InstrumentSpec, MarketEvent, Price, Qty, Quote, SimDuration, SimTime, Symbol, VenueId,
    VenueStatus,
};
use crate::scheduler::{FeedError, ScheduleSpec, SnapshotFeed};
use crate::strategy::{CrossQuotes, MarketSnapshot};

/// A venue and symbol as one map key that compares in a few word operations.
///
/// Both names are zero-padded to 32 bytes and read as big-endian words. Names never contain a
/// zero byte, so equal words mean equal names, and the words order like the `(venue, symbol)`
/// pair (the derived order of the inline names calls `memcmp` for every comparison, which is
/// most of the cost of a lookup on the per-event paths).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct InstrumentKey([u128; 4]);

impl InstrumentKey {
    /// The key of `symbol` on `venue`.
    pub(crate) fn new(venue: VenueId, symbol: Symbol) -> InstrumentKey {
        let mut bytes = [0u8; 64];
        bytes[..venue.as_bytes().len()].copy_from_slice(venue.as_bytes());
        bytes[32..32 + symbol.as_bytes().len()].copy_from_slice(symbol.as_bytes());
        let word = |i: usize| {
            u128::from_be_bytes(bytes[16 * i..16 * (i + 1)].try_into().expect("16 bytes"))
        };
        InstrumentKey([word(0), word(1), word(2), word(3)])
    }

    /// The venue and symbol back.
    pub(crate) fn parts(self) -> (VenueId, Symbol) {
        let mut bytes = [0u8; 64];
        for (i, w) in self.0.iter().enumerate() {
            bytes[16 * i..16 * (i + 1)].copy_from_slice(&w.to_be_bytes());
        }
        let name = |b: &[u8]| {
            let len = b.iter().position(|&c| c == 0).unwrap_or(b.len());
            std::str::from_utf8(&b[..len])
                .expect("keys are built from ASCII names")
                .to_owned()
        };
        (
            VenueId::new(&name(&bytes[..32])).expect("built from a venue"),
            Symbol::new(&name(&bytes[32..])).expect("built from a symbol"),
        )
    }
}

impl std::fmt::Debug for InstrumentKey {
    /// Like the `(venue, symbol)` pair it stands for.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (venue, symbol) = self.parts();
        f.debug_tuple("").field(&venue).field(&symbol).finish()
    }
}

/// The engine's market state.
#[derive(Clone, Debug)]
pub struct MarketBook {
    specs: BTreeMap<InstrumentKey, InstrumentSpec>,
    bars: BTreeMap<InstrumentKey, VecDeque<Bar>>,
    /// Latest quote and when it was received.
    quotes: BTreeMap<InstrumentKey, (Quote, SimTime)>,
    status: BTreeMap<VenueId, VenueStatus>,
    /// Close time of the last bar delivered, per (schedule, symbol).
    cursors: BTreeMap<String, BTreeMap<Symbol, SimTime>>,
    capacity: usize,
}

impl MarketBook {
    /// A book for these instruments, keeping up to `capacity` base bars per venue and symbol
    /// (enough for the longest warm-up at the coarsest interval).
    pub fn new(
        specs: impl IntoIterator<Item = (VenueId, InstrumentSpec)>,
        capacity: usize,
    ) -> MarketBook {
        MarketBook {
            specs: specs
                .into_iter()
                .map(|(venue, spec)| (InstrumentKey::new(venue, spec.symbol), spec))
                .collect(),
            bars: BTreeMap::new(),
            quotes: BTreeMap::new(),
            status: BTreeMap::new(),
            cursors: BTreeMap::new(),
            capacity: capacity.max(2),
        }
    }

    /// Applies one market event received at `received_at`.
    pub fn apply(&mut self, received_at: SimTime, event: &MarketEvent) {
        match event {
            MarketEvent::Quote(q) => {
                self.quotes
                    .insert(InstrumentKey::new(q.venue, q.symbol), (*q, received_at));
            }
            MarketEvent::Bar(b) => {
                let ring = self
                    .bars
                    .entry(InstrumentKey::new(b.venue, b.symbol))
                    .or_default();
                if ring.len() == self.capacity {
                    ring.pop_front();
                }
                ring.push_back(*b);
            }
            MarketEvent::Status { venue, status, .. } => {
                self.status.insert(*venue, *status);
            }
        }
    }

    /// The instrument spec of `symbol` on `venue`.
    pub fn spec(&self, venue: VenueId, symbol: Symbol) -> Option<&InstrumentSpec> {
        self.specs.get(&InstrumentKey::new(venue, symbol))
    }

    /// The latest quote of `symbol` on `venue`.
    pub fn quote(&self, venue: VenueId, symbol: Symbol) -> Option<&Quote> {
        self.quotes
            .get(&InstrumentKey::new(venue, symbol))
            .map(|(q, _)| q)
    }

    /// Whether `venue` is up (venues never reported down are up).
    pub fn is_up(&self, venue: VenueId) -> bool {
        self.status.get(&venue) != Some(&VenueStatus::Down)
    }

    /// The last `n` complete bars of `interval` for `symbol` on `venue` as snapshots, oldest
    /// first, without moving any schedule's cursor (for ATR estimates).
    pub fn recent(
        &self,
        venue: VenueId,
        symbol: Symbol,
        interval: SimDuration,
        n: usize,
    ) -> Vec<MarketSnapshot> {
        let Some(spec) = self.spec(venue, symbol) else {
            return Vec::new();
        };
        if let Some(ring) = self.base_bars_as(venue, symbol, interval) {
            return ring
                .iter()
                .skip(ring.len().saturating_sub(n))
                .map(|b| plain_snapshot(spec, b))
                .collect();
        }
        let bars = self.aggregated(venue, symbol, interval);
        bars[bars.len().saturating_sub(n)..]
            .iter()
            .map(|b| plain_snapshot(spec, b))
            .collect()
    }

    /// The stored base bars, when every one is already a bar of `interval` or coarser: then
    /// [`MarketBook::aggregated`] would return them as they are, and reading them in place
    /// spares the copy (a schedule on the market's own bar interval is the common case).
    fn base_bars_as(
        &self,
        venue: VenueId,
        symbol: Symbol,
        interval: SimDuration,
    ) -> Option<&VecDeque<Bar>> {
        let ring = self.bars.get(&InstrumentKey::new(venue, symbol))?;
        ring.iter().all(|b| b.interval >= interval).then_some(ring)
    }

    /// Bars of `interval` built from the stored base bars, complete ones only, oldest first.
    fn aggregated(&self, venue: VenueId, symbol: Symbol, interval: SimDuration) -> Vec<Bar> {
        let Some(ring) = self.bars.get(&InstrumentKey::new(venue, symbol)) else {
            return Vec::new();
        };
        let mut out: Vec<Bar> = Vec::new();
        let mut current: Option<Bar> = None;
        for base in ring {
            if base.interval >= interval {
                out.push(*base);
                continue;
            }
            let bucket = base.open_at.floor_to(interval);
            match &mut current {
                Some(c) if c.open_at == bucket => {
                    c.high = c.high.max(base.high);
                    c.low = c.low.min(base.low);
                    c.close = base.close;
                    c.volume = Qty(c.volume.get() + base.volume.get());
                }
                _ => {
                    current = Some(Bar {
                        open_at: bucket,
                        interval,
                        ..*base
                    });
                }
            }
            if base.close_at() == bucket + interval {
                out.extend(current.take());
            }
        }
        out
    }

    fn snapshot(&self, spec: &ScheduleSpec, bar: &Bar) -> Option<MarketSnapshot> {
        let inst = self.spec(bar.venue, bar.symbol)?;
        let px = |p: Price| inst.price_to_f64(p);
        let mut snapshot = plain_snapshot(inst, bar);
        let cross = spec.market.secondary_venue.and_then(|secondary| {
            let primary = self.quote(spec.market.venue, bar.symbol);
            let (other, received) = self
                .quotes
                .get(&InstrumentKey::new(secondary, bar.symbol))?;
            let other_spec = self.spec(secondary, bar.symbol)?;
            let close = px(bar.close);
            let feed_delay = received.saturating_since(other.at);
            Some(CrossQuotes {
                primary_bid: primary.map_or(close, |q| px(q.bid)),
                primary_ask: primary.map_or(close, |q| px(q.ask)),
                secondary_bid: other_spec.price_to_f64(other.bid),
                secondary_ask: other_spec.price_to_f64(other.ask),
                secondary_at: bar
                    .close_at()
                    .checked_sub(feed_delay)
                    .unwrap_or(SimTime::EPOCH),
            })
        });
        snapshot.cross = cross;
        Some(snapshot)
    }
}

fn plain_snapshot(inst: &InstrumentSpec, bar: &Bar) -> MarketSnapshot {
    MarketSnapshot {
        symbol: bar.symbol,
        at: bar.close_at(),
        open: inst.price_to_f64(bar.open),
        high: inst.price_to_f64(bar.high),
        low: inst.price_to_f64(bar.low),
        close: inst.price_to_f64(bar.close),
        volume: inst.qty_to_f64(bar.volume),
        cross: None,
    }
}

impl MarketBook {
    /// Moves a schedule's cursor on `symbol` to `at` (the close of the last bar delivered).
    fn set_cursor(&mut self, schedule: &str, symbol: Symbol, at: SimTime) {
        match self.cursors.get_mut(schedule) {
            Some(cursors) => {
                cursors.insert(symbol, at);
            }
            None => {
                self.cursors
                    .insert(schedule.to_owned(), BTreeMap::from([(symbol, at)]));
            }
        }
    }
}

impl SnapshotFeed for MarketBook {
    fn load_history(
        &mut self,
        spec: &ScheduleSpec,
        bars: usize,
    ) -> Result<Vec<MarketSnapshot>, FeedError> {
        let mut out = Vec::new();
        for &symbol in &spec.market.symbols {
            let all = self.aggregated(spec.market.venue, symbol, spec.market.interval);
            let tail = &all[all.len().saturating_sub(bars)..];
            out.extend(tail.iter().filter_map(|b| self.snapshot(spec, b)));
            if let Some(last) = tail.last() {
                self.set_cursor(&spec.name, symbol, last.close_at());
            }
        }
        Ok(out)
    }

    fn fetch_latest(
        &mut self,
        spec: &ScheduleSpec,
        now: SimTime,
    ) -> Result<Vec<MarketSnapshot>, FeedError> {
        let mut out = Vec::new();
        for &symbol in &spec.market.symbols {
            let after = self
                .cursors
                .get(spec.name.as_str())
                .and_then(|c| c.get(&symbol))
                .copied();
            let is_fresh = |b: &&Bar| b.close_at() <= now && after.is_none_or(|a| b.close_at() > a);
            let mut last = None;
            let mut deliver = |b: &Bar| {
                last = Some(b.close_at());
                out.extend(self.snapshot(spec, b));
            };
            match self.base_bars_as(spec.market.venue, symbol, spec.market.interval) {
                Some(ring) => ring.iter().filter(is_fresh).for_each(&mut deliver),
                None => self
                    .aggregated(spec.market.venue, symbol, spec.market.interval)
                    .iter()
                    .filter(is_fresh)
                    .for_each(&mut deliver),
            }
            if let Some(at) = last {
                self.set_cursor(&spec.name, symbol, at);
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Amount, Asset};
    use crate::scheduler::ScheduleMarket;

    fn venue(n: &str) -> VenueId {
        VenueId::new(n).unwrap()
    }

    fn btc() -> InstrumentSpec {
        InstrumentSpec::new(
            Symbol::new("BTC_USDT").unwrap(),
            Asset::new("BTC").unwrap(),
            Asset::new("USDT").unwrap(),
            "0.01",
            "0.0001",
            Qty(1),
            Amount::from_units(10),
        )
        .unwrap()
    }

    fn bar(v: &str, minute: u64, close: i64) -> MarketEvent {
        MarketEvent::Bar(Bar {
            venue: venue(v),
            symbol: Symbol::new("BTC_USDT").unwrap(),
            open_at: SimTime::from_unix_secs(minute * 60),
            interval: SimDuration::from_mins(1),
            open: Price(close - 10),
            high: Price(close + 50),
            low: Price(close - 50),
            close: Price(close),
            volume: Qty(10_000),
        })
    }

    fn schedule(interval_mins: u64, secondary: Option<&str>) -> ScheduleSpec {
        ScheduleSpec::new(
            "s",
            ScheduleMarket {
                venue: venue("binance"),
                secondary_venue: secondary.map(venue),
                symbols: vec![Symbol::new("BTC_USDT").unwrap()],
                interval: SimDuration::from_mins(interval_mins),
            },
        )
    }

    #[test]
    fn each_bar_is_delivered_once_and_aggregated() {
        let mut book = MarketBook::new([(venue("binance"), btc())], 100);
        for m in 0..12 {
            book.apply(
                SimTime::from_unix_secs((m + 1) * 60),
                &bar("binance", m, 6_000_000 + m as i64 * 100),
            );
        }
        let one = schedule(1, None);
        let now = SimTime::from_unix_secs(12 * 60);
        let first = book.fetch_latest(&one, now).unwrap();
        assert_eq!(first.len(), 12);
        assert!(
            book.fetch_latest(&one, now).unwrap().is_empty(),
            "never the same bar twice"
        );

        let five = ScheduleSpec {
            name: "five".into(),
            ..schedule(5, None)
        };
        let agg = book.fetch_latest(&five, now).unwrap();
        assert_eq!(agg.len(), 2, "minutes 0-4 and 5-9 complete; 10-11 not yet");
        assert_eq!(agg[0].close, 60_004.0);
        assert_eq!(agg[0].volume, 5.0);
        assert_eq!(agg[0].high, 60_004.5);
        assert_eq!(agg[0].at, SimTime::from_unix_secs(300));
        let hist = book
            .load_history(
                &ScheduleSpec {
                    name: "h".into(),
                    ..schedule(1, None)
                },
                3,
            )
            .unwrap();
        assert_eq!(
            hist.iter().map(|s| s.close).collect::<Vec<_>>(),
            [60_009.0, 60_010.0, 60_011.0]
        );
    }

    proptest::proptest! {
        /// Instrument keys are equal, and ordered, exactly as the (venue, symbol) pairs, and
        /// give the names back.
        #[test]
        fn instrument_keys_order_like_the_pairs(
            a in ("[a-z0-9_-]{1,31}", "[A-Z0-9_]{1,31}"),
            b in ("[a-z0-9_-]{1,31}", "[A-Z0-9_]{1,31}"),
            shared_venue in proptest::bool::ANY,
        ) {
            let pair = |(v, s): &(String, String)| (VenueId::new(v).unwrap(), Symbol::new(s).unwrap());
            let (va, sa) = pair(&a);
            let (mut vb, sb) = pair(&b);
            if shared_venue {
                vb = va;
            }
            let (ka, kb) = (InstrumentKey::new(va, sa), InstrumentKey::new(vb, sb));
            proptest::prop_assert_eq!(ka.cmp(&kb), (va, sa).cmp(&(vb, sb)));
            proptest::prop_assert_eq!(ka.parts(), (va, sa));
            proptest::prop_assert_eq!(format!("{ka:?}"), format!("{:?}", (va, sa)));
        }
    }

    #[test]
    fn instrument_keys_order_prefixes_first() {
        let key = |v: &str, s: &str| InstrumentKey::new(venue(v), Symbol::new(s).unwrap());
        assert!(key("binance", "BTC_USDT") < key("binance_spot", "BTC"));
        assert!(key("binance", "BTC") < key("binance", "BTC_USDT"));
        assert!(key("a", "Z") < key("b", "A"));
        let longest = "X".repeat(31);
        assert_eq!(key(&"z".repeat(31), &longest).parts().1.as_str(), longest);
    }

    #[test]
    fn bars_read_in_place_equal_the_aggregation() {
        let mut book = MarketBook::new([(venue("binance"), btc())], 8);
        for m in 0..11 {
            book.apply(
                SimTime::from_unix_secs((m + 1) * 60),
                &bar("binance", m, 6_000_000 + m as i64 * 100),
            );
        }
        let (v, s) = (venue("binance"), Symbol::new("BTC_USDT").unwrap());
        let spec = btc();
        let via_aggregation = |book: &MarketBook, interval, n| -> Vec<MarketSnapshot> {
            let bars = book.aggregated(v, s, interval);
            bars[bars.len().saturating_sub(n)..]
                .iter()
                .map(|b| plain_snapshot(&spec, b))
                .collect()
        };
        // (interval, n, read in place?)
        for (interval, n, in_place) in [
            (SimDuration::from_mins(1), 3, true),
            (SimDuration::from_secs(30), 20, true),
            (SimDuration::from_mins(1), 0, true),
            (SimDuration::from_mins(2), 3, false),
        ] {
            assert_eq!(book.base_bars_as(v, s, interval).is_some(), in_place);
            assert_eq!(
                book.recent(v, s, interval, n),
                via_aggregation(&book, interval, n),
                "{interval:?} {n}"
            );
        }
        // One finer bar in the ring: the aggregation must run.
        if let MarketEvent::Bar(mut b) = bar("binance", 11, 6_000_000) {
            b.interval = SimDuration::from_secs(30);
            book.apply(SimTime::from_unix_secs(720), &MarketEvent::Bar(b));
        }
        let one = SimDuration::from_mins(1);
        assert!(book.base_bars_as(v, s, one).is_none());
        assert_eq!(book.recent(v, s, one, 4), via_aggregation(&book, one, 4));
    }

    #[test]
    fn cross_schedules_see_the_secondary_quote_and_its_age() {
        let mut book = MarketBook::new([(venue("binance"), btc()), (venue("kraken"), btc())], 10);
        let q = |v: &str, at: u64, bid: i64| {
            MarketEvent::Quote(Quote {
                venue: venue(v),
                symbol: Symbol::new("BTC_USDT").unwrap(),
                at: SimTime::from_unix_secs(at),
                bid: Price(bid),
                bid_qty: Qty(1),
                ask: Price(bid + 2),
                ask_qty: Qty(1),
            })
        };
        // The kraken quote stamped 30 s arrives 700 ms late.
        book.apply(
            SimTime::from_nanos(30_700_000_000),
            &q("kraken", 30, 6_001_000),
        );
        book.apply(SimTime::from_unix_secs(59), &q("binance", 59, 6_000_000));
        book.apply(SimTime::from_unix_secs(60), &bar("binance", 0, 6_000_100));
        let snaps = book
            .fetch_latest(&schedule(1, Some("kraken")), SimTime::from_unix_secs(60))
            .unwrap();
        let cross = snaps[0].cross.unwrap();
        assert_eq!(
            (cross.primary_bid, cross.secondary_bid),
            (60_000.0, 60_010.0)
        );
        // The snapshot (closing at 60 s) sees a 700 ms feed delay.
        assert_eq!(cross.secondary_at, SimTime::from_nanos(59_300_000_000));
        book.apply(
            SimTime::from_unix_secs(61),
            &MarketEvent::Status {
                venue: venue("kraken"),
                at: SimTime::from_unix_secs(61),
                status: VenueStatus::Down,
            },
        );
        assert!(!book.is_up(venue("kraken")) && book.is_up(venue("binance")));
    }
}
