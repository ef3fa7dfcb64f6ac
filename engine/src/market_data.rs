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
use crate::scheduler::{FeedError, ScheduleMarket, ScheduleSpec, SnapshotFeed};
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

/// One venue and symbol's recent base bars, in arrival order, with the two facts readers
/// would otherwise walk the whole ring for: the finest interval held, and whether close times
/// only go forward.
#[derive(Clone, Debug, Default)]
struct BarRing {
    bars: VecDeque<Bar>,
    /// The shortest interval among `bars` and how many bars have it (`None` when empty).
    finest: Option<(SimDuration, usize)>,
    /// Adjacent pairs whose close time goes backwards; 0 means sorted by close time.
    backwards: usize,
}

impl BarRing {
    /// Appends `bar`, first dropping the oldest bar when `capacity` are held.
    fn push(&mut self, bar: Bar, capacity: usize) {
        if self.bars.len() >= capacity {
            self.pop_front();
        }
        if self
            .bars
            .back()
            .is_some_and(|last| bar.close_at() < last.close_at())
        {
            self.backwards += 1;
        }
        self.finest = match self.finest {
            Some((d, n)) if bar.interval == d => Some((d, n + 1)),
            Some((d, n)) if bar.interval > d => Some((d, n)),
            _ => Some((bar.interval, 1)),
        };
        self.bars.push_back(bar);
    }

    fn pop_front(&mut self) {
        let Some(first) = self.bars.pop_front() else {
            return;
        };
        if self
            .bars
            .front()
            .is_some_and(|next| next.close_at() < first.close_at())
        {
            self.backwards -= 1;
        }
        if let Some((d, n)) = self.finest
            && first.interval == d
        {
            self.finest = if n > 1 {
                Some((d, n - 1))
            } else {
                // The last bar of the finest interval left: find the next finest (rare).
                let finest = self.bars.iter().map(|b| b.interval).min();
                finest.map(|d| (d, self.bars.iter().filter(|b| b.interval == d).count()))
            };
        }
    }

    /// The latest close time held (`None` when empty).
    fn latest_close(&self) -> Option<SimTime> {
        if self.backwards == 0 {
            self.bars.back().map(Bar::close_at)
        } else {
            self.bars.iter().map(Bar::close_at).max()
        }
    }

    /// True when every bar is a bar of `interval` or coarser.
    fn all_at_least(&self, interval: SimDuration) -> bool {
        self.finest.is_none_or(|(d, _)| d >= interval)
    }

    /// The bars that closed in `(after, now]`, in ring order.
    fn closed_between(
        &self,
        after: Option<SimTime>,
        now: SimTime,
    ) -> impl Iterator<Item = &Bar> + '_ {
        let is_fresh =
            move |b: &&Bar| b.close_at() <= now && after.is_none_or(|a| b.close_at() > a);
        // Sorted by close time, the fresh bars are one contiguous run, found by bisection
        // instead of testing every bar.
        let (from, to, filtered) = if self.backwards == 0 {
            let from = after.map_or(0, |a| self.bars.partition_point(|b| b.close_at() <= a));
            let to = self.bars.partition_point(|b| b.close_at() <= now);
            (from, to.max(from), false)
        } else {
            (0, self.bars.len(), true)
        };
        self.bars
            .range(from..to)
            .filter(move |b| !filtered || is_fresh(b))
    }
}

/// Names up to this many bytes are held inside a cursor slot.
const INLINE_NAME: usize = 24;

/// Where each of one schedule's symbols was last delivered up to.
///
/// Every fetch checks the slot belongs to the asking schedule and reads its cursors; both are
/// held inside the slot (for names up to [`INLINE_NAME`] bytes and the first two symbols), so a
/// fetch touches no other memory than the slots, which sit side by side in fetch order.
#[derive(Clone, Debug)]
struct ScheduleCursors {
    /// The schedule's name length and its first [`INLINE_NAME`] bytes (zero padded).
    name_len: usize,
    name_head: [u8; INLINE_NAME],
    /// The whole name, read only when it is longer than the inline head.
    schedule: String,
    /// Close time of the last bar delivered, per symbol: the first two here, any further ones
    /// in `more` (a schedule trades a few symbols).
    first: [Option<(Symbol, SimTime)>; 2],
    more: Vec<(Symbol, SimTime)>,
}

impl ScheduleCursors {
    fn new(schedule: &str) -> ScheduleCursors {
        let mut name_head = [0; INLINE_NAME];
        let head = schedule.len().min(INLINE_NAME);
        name_head[..head].copy_from_slice(&schedule.as_bytes()[..head]);
        ScheduleCursors {
            name_len: schedule.len(),
            name_head,
            schedule: schedule.to_owned(),
            first: [None; 2],
            more: Vec::new(),
        }
    }

    /// True when this slot is `schedule`'s.
    fn is(&self, schedule: &str) -> bool {
        let head = schedule.len().min(INLINE_NAME);
        schedule.len() == self.name_len
            && self.name_head[..head] == schedule.as_bytes()[..head]
            && (self.name_len <= INLINE_NAME || self.schedule == schedule)
    }

    fn get(&self, symbol: &Symbol) -> Option<SimTime> {
        self.first
            .iter()
            .flatten()
            .chain(&self.more)
            .find(|(s, _)| s == symbol)
            .map(|(_, at)| *at)
    }

    fn set(&mut self, symbol: &Symbol, at: SimTime) {
        let held = self.first.iter_mut().flatten().chain(&mut self.more);
        if let Some(entry) = held.into_iter().find(|(s, _)| s == symbol) {
            entry.1 = at;
        } else if let Some(free) = self.first.iter_mut().find(|e| e.is_none()) {
            *free = Some((*symbol, at));
        } else {
            self.more.push((*symbol, at));
        }
    }
}

/// What [`SnapshotFeed::fetch_latest`] delivered for one symbol, for one question (market,
/// bars after the cursor, up to `now`). Valid while the book is unchanged: every schedule on
/// the same market asks the same question within a cycle, and all but the first get the
/// answer from here.
#[derive(Clone, Debug)]
struct Delivery {
    /// [`MarketBook::generation`] when this was built; stale once the book changed.
    generation: u64,
    venue: VenueId,
    secondary: Option<VenueId>,
    symbol: Symbol,
    interval: SimDuration,
    after: Option<SimTime>,
    now: SimTime,
    /// From when on every bar held has closed: the same delivery answers any `now` from
    /// then on (runs in one cycle start at different times, after the last bar closed).
    settled_at: SimTime,
    snapshots: Vec<MarketSnapshot>,
    /// Close time of the last bar delivered (also when no snapshot could be built of it).
    last: Option<SimTime>,
}

impl Delivery {
    fn answers(
        &self,
        generation: u64,
        market: &ScheduleMarket,
        symbol: &Symbol,
        after: Option<SimTime>,
        now: SimTime,
    ) -> bool {
        self.generation == generation
            && self.after == after
            && (self.now == now || (self.settled_at <= self.now && self.settled_at <= now))
            && self.symbol == *symbol
            && self.interval == market.interval
            && self.venue == market.venue
            && self.secondary == market.secondary_venue
    }
}

/// Recent deliveries kept. A cycle asks one question per market and symbol (more only when
/// schedules' cursors differ); a few slots cover many schedules on a few markets, and the
/// linear search stays short.
const DELIVERY_SLOTS: usize = 8;

/// The engine's market state.
#[derive(Clone, Debug)]
pub struct MarketBook {
    specs: BTreeMap<InstrumentKey, InstrumentSpec>,
    bars: BTreeMap<InstrumentKey, BarRing>,
    /// Latest quote and when it was received.
    quotes: BTreeMap<InstrumentKey, (Quote, SimTime)>,
    status: BTreeMap<VenueId, VenueStatus>,
    /// Delivery cursors, one slot per schedule in the order schedules first fetched.
    cursors: Vec<ScheduleCursors>,
    /// The slot of each schedule's cursors.
    cursor_slots: BTreeMap<String, usize>,
    /// The slot used last: schedules usually fetch in the same order every cycle, so the
    /// next one asking is usually the next slot, found without a name lookup.
    last_cursor_slot: usize,
    capacity: usize,
    /// Moves on with every event applied; deliveries built before are stale.
    generation: u64,
    /// Recent deliveries, reused in place (their buffers are kept).
    deliveries: Vec<Delivery>,
    /// The slot the next new delivery overwrites when all are current.
    next_delivery_slot: usize,
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
            cursors: Vec::new(),
            cursor_slots: BTreeMap::new(),
            last_cursor_slot: 0,
            capacity: capacity.max(2),
            generation: 0,
            deliveries: Vec::new(),
            next_delivery_slot: 0,
        }
    }

    /// Applies one market event received at `received_at`.
    pub fn apply(&mut self, received_at: SimTime, event: &MarketEvent) {
        self.generation += 1;
        match event {
            MarketEvent::Quote(q) => {
                self.quotes
                    .insert(InstrumentKey::new(q.venue, q.symbol), (*q, received_at));
            }
            MarketEvent::Bar(b) => {
                self.bars
                    .entry(InstrumentKey::new(b.venue, b.symbol))
                    .or_default()
                    .push(*b, self.capacity);
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
                .bars
                .iter()
                .skip(ring.bars.len().saturating_sub(n))
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
    ) -> Option<&BarRing> {
        let ring = self.bars.get(&InstrumentKey::new(venue, symbol))?;
        ring.all_at_least(interval).then_some(ring)
    }

    /// Bars of `interval` built from the stored base bars, complete ones only, oldest first.
    fn aggregated(&self, venue: VenueId, symbol: Symbol, interval: SimDuration) -> Vec<Bar> {
        let Some(ring) = self.bars.get(&InstrumentKey::new(venue, symbol)) else {
            return Vec::new();
        };
        let mut out: Vec<Bar> = Vec::new();
        let mut current: Option<Bar> = None;
        for base in &ring.bars {
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
        Some(self.snapshot_of(spec, inst, bar))
    }

    /// [`MarketBook::snapshot`] with the bar's instrument spec already looked up (once for a
    /// run of bars of one instrument, instead of once per bar).
    fn snapshot_of(&self, spec: &ScheduleSpec, inst: &InstrumentSpec, bar: &Bar) -> MarketSnapshot {
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
        snapshot
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
    /// The slot of `schedule`'s cursors, created on first use.
    fn cursor_slot(&mut self, schedule: &str) -> usize {
        let next = self.last_cursor_slot + 1;
        let slot = [next, 0]
            .into_iter()
            .find(|&i| self.cursors.get(i).is_some_and(|c| c.is(schedule)))
            .or_else(|| self.cursor_slots.get(schedule).copied())
            .unwrap_or_else(|| {
                self.cursors.push(ScheduleCursors::new(schedule));
                let slot = self.cursors.len() - 1;
                self.cursor_slots.insert(schedule.to_owned(), slot);
                slot
            });
        self.last_cursor_slot = slot;
        slot
    }
}

impl SnapshotFeed for MarketBook {
    fn load_history(
        &mut self,
        spec: &ScheduleSpec,
        bars: usize,
    ) -> Result<Vec<MarketSnapshot>, FeedError> {
        let mut out = Vec::new();
        let slot = self.cursor_slot(&spec.name);
        for &symbol in &spec.market.symbols {
            let all = self.aggregated(spec.market.venue, symbol, spec.market.interval);
            let tail = &all[all.len().saturating_sub(bars)..];
            out.extend(tail.iter().filter_map(|b| self.snapshot(spec, b)));
            if let Some(last) = tail.last() {
                self.cursors[slot].set(&symbol, last.close_at());
            }
        }
        Ok(out)
    }

    fn fetch_latest(
        &mut self,
        spec: &ScheduleSpec,
        now: SimTime,
        out: &mut Vec<MarketSnapshot>,
    ) -> Result<(), FeedError> {
        let slot = self.cursor_slot(&spec.name);
        // Symbols by reference: compared in place, not copied out first (a copied symbol
        // read back at once stalls on store forwarding).
        for symbol in &spec.market.symbols {
            let after = self.cursors[slot].get(symbol);
            let d = self.delivery(spec, symbol, after, now);
            let delivery = &self.deliveries[d];
            out.extend_from_slice(&delivery.snapshots);
            if let Some(at) = delivery.last {
                self.cursors[slot].set(symbol, at);
            }
        }
        Ok(())
    }
}

impl MarketBook {
    /// The slot of the delivery of `symbol`'s bars in `(after, now]` to `spec`'s market,
    /// built unless a current one is held.
    fn delivery(
        &mut self,
        spec: &ScheduleSpec,
        symbol: &Symbol,
        after: Option<SimTime>,
        now: SimTime,
    ) -> usize {
        let generation = self.generation;
        if let Some(i) = self
            .deliveries
            .iter()
            .position(|d| d.answers(generation, &spec.market, symbol, after, now))
        {
            return i;
        }
        // A stale slot, else a new one, else the oldest current one.
        let reused = self
            .deliveries
            .iter()
            .position(|d| d.generation != generation)
            .or_else(|| {
                (self.deliveries.len() >= DELIVERY_SLOTS).then(|| {
                    let slot = self.next_delivery_slot % DELIVERY_SLOTS;
                    self.next_delivery_slot = slot + 1;
                    slot
                })
            });
        // Built into the slot's own buffer, taken out while the book is read.
        let mut snapshots = reused
            .map(|i| std::mem::take(&mut self.deliveries[i].snapshots))
            .unwrap_or_default();
        snapshots.clear();
        let last = self.deliver(spec, *symbol, after, now, &mut snapshots);
        // Delivered bars are base bars or aggregates closing with a base bar, so none closes
        // after the latest base bar.
        let settled_at = self
            .bars
            .get(&InstrumentKey::new(spec.market.venue, *symbol))
            .and_then(BarRing::latest_close)
            .unwrap_or(SimTime::EPOCH);
        let delivery = Delivery {
            generation,
            venue: spec.market.venue,
            secondary: spec.market.secondary_venue,
            symbol: *symbol,
            interval: spec.market.interval,
            after,
            now,
            settled_at,
            snapshots,
            last,
        };
        match reused {
            Some(i) => {
                self.deliveries[i] = delivery;
                i
            }
            None => {
                self.deliveries.push(delivery);
                self.deliveries.len() - 1
            }
        }
    }

    /// Appends to `out` the snapshots of `symbol`'s bars that closed in `(after, now]`, and
    /// returns the close time of the last such bar.
    fn deliver(
        &self,
        spec: &ScheduleSpec,
        symbol: Symbol,
        after: Option<SimTime>,
        now: SimTime,
        out: &mut Vec<MarketSnapshot>,
    ) -> Option<SimTime> {
        let is_fresh = |b: &&Bar| b.close_at() <= now && after.is_none_or(|a| b.close_at() > a);
        let mut last = None;
        // Every bar here is of `symbol` on the schedule's venue: one spec for all of them.
        let inst = self.spec(spec.market.venue, symbol);
        let mut deliver = |b: &Bar| {
            last = Some(b.close_at());
            debug_assert!(b.venue == spec.market.venue && b.symbol == symbol);
            out.extend(inst.map(|inst| self.snapshot_of(spec, inst, b)));
        };
        match self.base_bars_as(spec.market.venue, symbol, spec.market.interval) {
            Some(ring) => ring.closed_between(after, now).for_each(&mut deliver),
            None => self
                .aggregated(spec.market.venue, symbol, spec.market.interval)
                .iter()
                .filter(is_fresh)
                .for_each(&mut deliver),
        }
        last
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

    #[test]
    fn cursor_slots_recognise_their_schedule_and_keep_every_symbol() {
        let long = "a_schedule_name_longer_than_the_inline_head";
        let names = [
            "s",
            "schedule_7",
            "exactly_twenty_four_byte",
            long,
            "a_schedule_name_longer_than_the_inline_hea",
            "a_schedule_name_longer_than_the_inline_heaD",
            "",
        ];
        assert_eq!(names[2].len(), INLINE_NAME);
        for owner in names {
            let slot = ScheduleCursors::new(owner);
            for asker in names {
                assert_eq!(
                    slot.is(asker),
                    owner == asker,
                    "slot {owner:?} asked by {asker:?}"
                );
            }
        }
        // Against the plain list it replaces: first-come order, updates in place.
        let symbols: Vec<Symbol> = ["BTC_USDT", "ETH_USDT", "SOL_USDT", "XRP_USDT"]
            .iter()
            .map(|s| Symbol::new(s).unwrap())
            .collect();
        let mut slot = ScheduleCursors::new(long);
        let mut model: Vec<(Symbol, SimTime)> = Vec::new();
        for step in 0..40u64 {
            let symbol = symbols[(step * 7 % 5 % 4) as usize];
            let at = SimTime::from_unix_secs(60 * step);
            match model.iter_mut().find(|(s, _)| *s == symbol) {
                Some(e) => e.1 = at,
                None => model.push((symbol, at)),
            }
            slot.set(&symbol, at);
            for s in &symbols {
                let expected = model.iter().find(|(m, _)| m == s).map(|(_, t)| *t);
                assert_eq!(slot.get(s), expected, "step {step}, {s}");
            }
        }
        assert_eq!(slot.more.len(), 2, "two symbols beyond the inline pair");
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

    /// One `fetch_latest` into a fresh buffer.
    fn fetch(book: &mut MarketBook, spec: &ScheduleSpec, now: SimTime) -> Vec<MarketSnapshot> {
        let mut out = Vec::new();
        book.fetch_latest(spec, now, &mut out).unwrap();
        out
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
        let first = fetch(&mut book, &one, now);
        assert_eq!(first.len(), 12);
        assert!(
            fetch(&mut book, &one, now).is_empty(),
            "never the same bar twice"
        );

        let five = ScheduleSpec {
            name: "five".into(),
            ..schedule(5, None)
        };
        let agg = fetch(&mut book, &five, now);
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

    /// A base bar of BTC on binance opening at `open_s` seconds, of `interval_s` seconds.
    fn base_bar(open_s: u64, interval_s: u64) -> Bar {
        Bar {
            venue: venue("binance"),
            symbol: Symbol::new("BTC_USDT").unwrap(),
            open_at: SimTime::from_unix_secs(open_s),
            interval: SimDuration::from_secs(interval_s),
            open: Price(1),
            high: Price(1),
            low: Price(1),
            close: Price(1),
            volume: Qty(1),
        }
    }

    proptest::proptest! {
        /// The ring answers "all bars at least this interval?" and "which bars closed in
        /// (after, now]?" exactly as walking every bar does, in order or not, as bars come
        /// and go.
        #[test]
        fn bar_rings_answer_as_a_walk_over_every_bar(
            bars in proptest::collection::vec((0u64..40, 0usize..3), 1..40),
            capacity in 2usize..8,
            queries in proptest::collection::vec((0usize..3, proptest::option::of(0u64..50), 0u64..50), 1..6),
        ) {
            const INTERVALS: [u64; 3] = [30, 60, 120];
            let mut ring = BarRing::default();
            for (open_min, interval) in bars {
                ring.push(base_bar(open_min * 30, INTERVALS[interval]), capacity);
                proptest::prop_assert!(ring.bars.len() <= capacity);
                // The kept facts are exact, not merely safe (a stale count would only ever
                // fall back to the walk, and hide it).
                let backwards = ring
                    .bars
                    .iter()
                    .zip(ring.bars.iter().skip(1))
                    .filter(|(a, b)| b.close_at() < a.close_at())
                    .count();
                proptest::prop_assert_eq!(ring.backwards, backwards);
                let finest = ring.bars.iter().map(|b| b.interval).min();
                proptest::prop_assert_eq!(
                    ring.finest,
                    finest.map(|d| (d, ring.bars.iter().filter(|b| b.interval == d).count()))
                );
                for &(interval, after, now) in &queries {
                    let interval = SimDuration::from_secs(INTERVALS[interval]);
                    let after = after.map(|a| SimTime::from_unix_secs(a * 30));
                    let now = SimTime::from_unix_secs(now * 30);
                    proptest::prop_assert_eq!(
                        ring.all_at_least(interval),
                        ring.bars.iter().all(|b| b.interval >= interval)
                    );
                    let walked: Vec<Bar> = ring
                        .bars
                        .iter()
                        .filter(|b| b.close_at() <= now && after.is_none_or(|a| b.close_at() > a))
                        .copied()
                        .collect();
                    let got: Vec<Bar> = ring.closed_between(after, now).copied().collect();
                    proptest::prop_assert_eq!(got, walked);
                }
            }
        }
    }

    /// One step of a market and its readers, for the delivery memo's property test.
    #[derive(Clone, Debug)]
    enum Step {
        /// The next base bar on a venue (index into `VENUES`).
        Bar(usize),
        /// A quote on a venue at the current minute.
        Quote(usize, i64),
        /// The clock moves one minute.
        Tick,
        /// A schedule (index into the specs) fetches, this many seconds after the previous
        /// minute.
        Fetch(usize, u64),
    }

    fn step() -> impl proptest::strategy::Strategy<Value = Step> {
        use proptest::prelude::*;
        prop_oneof![
            (0usize..2).prop_map(Step::Bar),
            (0usize..2, 0i64..1_000).prop_map(|(v, p)| Step::Quote(v, p)),
            Just(Step::Tick),
            (0usize..7, 0u64..100).prop_map(|(i, s)| Step::Fetch(i, s)),
            (0usize..7, 50u64..70).prop_map(|(i, s)| Step::Fetch(i, s)),
        ]
    }

    proptest::proptest! {
        /// Answering a fetch from the memo gives what reading the book afresh gives, fetch
        /// after fetch, whatever mix of markets (same venue, other venue, cross, coarser
        /// interval, a symbol with no spec) asks and whatever arrives in between.
        #[test]
        fn memoised_deliveries_equal_fresh_ones(steps in proptest::collection::vec(step(), 1..80)) {
            const VENUES: [&str; 2] = ["binance", "kraken"];
            let btc_sym = Symbol::new("BTC_USDT").unwrap();
            let eth_sym = Symbol::new("ETH_USDT").unwrap();
            let spec = |name: &str, v: usize, secondary: Option<usize>, mins: u64, eth: bool| ScheduleSpec {
                name: name.into(),
                ..ScheduleSpec::new(
                    "s",
                    ScheduleMarket {
                        venue: venue(VENUES[v]),
                        secondary_venue: secondary.map(|s| venue(VENUES[s])),
                        symbols: if eth { vec![eth_sym, btc_sym] } else { vec![btc_sym] },
                        interval: SimDuration::from_mins(mins),
                    },
                )
            };
            let specs = [
                spec("a", 0, None, 1, false),
                spec("b", 0, None, 1, false),
                spec("c", 0, Some(1), 1, false),
                spec("d", 1, Some(0), 1, false),
                spec("e", 0, None, 2, false),
                spec("f", 1, None, 1, true),
                spec("g", 0, Some(1), 1, true),
            ];
            let instruments = [(venue("binance"), btc()), (venue("kraken"), btc())];
            let mut memo = MarketBook::new(instruments.clone(), 6);
            let mut fresh = MarketBook::new(instruments, 6);
            let mut minute = 0u64;
            let mut next_bar = [0u64; 2];
            for step in steps {
                let now = SimTime::from_unix_secs(minute * 60);
                let event = match step {
                    Step::Tick => {
                        minute += 1;
                        None
                    }
                    Step::Bar(v) if next_bar[v] < minute => {
                        next_bar[v] += 1;
                        Some(bar(VENUES[v], next_bar[v] - 1, 6_000_000 + next_bar[v] as i64))
                    }
                    Step::Bar(_) => None,
                    Step::Quote(v, p) => Some(MarketEvent::Quote(Quote {
                        venue: venue(VENUES[v]),
                        symbol: btc_sym,
                        at: now,
                        bid: Price(6_000_000 + p),
                        bid_qty: Qty(1),
                        ask: Price(6_000_002 + p),
                        ask_qty: Qty(1),
                    })),
                    Step::Fetch(i, secs) => {
                        let at = SimTime::from_unix_secs((minute * 60 + secs).saturating_sub(60));
                        fresh.deliveries.clear();
                        let want = fetch(&mut fresh, &specs[i], at);
                        let got = fetch(&mut memo, &specs[i], at);
                        proptest::prop_assert_eq!(got, want, "schedule {} at minute {}", i, minute);
                        None
                    }
                };
                if let Some(e) = event {
                    memo.apply(now, &e);
                    fresh.apply(now, &e);
                }
            }
        }
    }

    #[test]
    fn cursors_follow_each_schedule_whatever_the_order_of_fetches() {
        let mut book = MarketBook::new([(venue("binance"), btc())], 100);
        let names = ["a", "b", "c"];
        let specs: Vec<ScheduleSpec> = names
            .iter()
            .map(|n| ScheduleSpec {
                name: (*n).into(),
                ..schedule(1, None)
            })
            .collect();
        let mut delivered: BTreeMap<&str, Vec<SimTime>> = BTreeMap::new();
        // Round robin, reversed, repeated, skipping: each schedule sees each bar once.
        let orders: [&[usize]; 5] = [&[0, 1, 2], &[2, 1, 0], &[1, 1, 0], &[0], &[2, 0, 1, 2]];
        for (m, order) in orders.iter().enumerate() {
            let m = m as u64;
            book.apply(
                SimTime::from_unix_secs((m + 1) * 60),
                &bar("binance", m, 6_000_000 + m as i64),
            );
            for &i in *order {
                let got = fetch(&mut book, &specs[i], SimTime::from_unix_secs((m + 1) * 60));
                delivered
                    .entry(names[i])
                    .or_default()
                    .extend(got.iter().map(|s| s.at));
            }
        }
        let minutes = |ms: &[u64]| -> Vec<SimTime> {
            ms.iter().map(|m| SimTime::from_unix_secs(m * 60)).collect()
        };
        // A schedule that skipped a cycle catches up on the bars it missed.
        for name in names {
            assert_eq!(delivered[name], minutes(&[1, 2, 3, 4, 5]), "{name}");
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
        let snaps = fetch(
            &mut book,
            &schedule(1, Some("kraken")),
            SimTime::from_unix_secs(60),
        );
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
