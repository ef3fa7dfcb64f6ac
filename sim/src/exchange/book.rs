//! The order book of one symbol on one venue: the generator's synthetic depth ladder plus the
//! participants' resting orders in price-time queues.
//!
//! The ladder is parametric (best price, spacing, base size, growth) and rebuilt from each
//! quote, so it costs a few integers instead of a tree; what incoming orders take from it is
//! remembered per level until the next quote replaces it. Participants' orders live in
//! `BTreeMap<Price, VecDeque<_>>` per side: price priority from the map order, time priority
//! from the queue.

use std::collections::{BTreeMap, VecDeque};

use stage4_engine::domain::{
    AccountId, Amount, ClientOrderId, InstrumentSpec, OrderId, Price, Qty, Quote, Side, SimTime,
};

/// Most levels a ladder may have per side.
pub const MAX_LEVELS: usize = 64;

/// The synthetic depth behind the latest quote.
#[derive(Clone, Debug)]
pub struct Ladder {
    /// False until the first quote arrives (an empty book).
    pub valid: bool,
    /// Venue time of the quote it was built from.
    pub at: SimTime,
    best_bid: Price,
    best_ask: Price,
    spacing: i64,
    levels: usize,
    bid_base: i64,
    ask_base: i64,
    growth_milli: i64,
    bid_taken: [i64; MAX_LEVELS],
    ask_taken: [i64; MAX_LEVELS],
}

impl Ladder {
    /// An empty ladder with `levels` levels per side and `growth_milli`/1000 size growth.
    pub fn new(levels: usize, growth_milli: i64) -> Ladder {
        assert!(
            (1..=MAX_LEVELS).contains(&levels),
            "ladder levels must be 1..=64"
        );
        Ladder {
            valid: false,
            at: SimTime::EPOCH,
            best_bid: Price(0),
            best_ask: Price(0),
            spacing: 1,
            levels,
            bid_base: 0,
            ask_base: 0,
            growth_milli,
            bid_taken: [0; MAX_LEVELS],
            ask_taken: [0; MAX_LEVELS],
        }
    }

    /// Rebuilds from a quote; `spacing` is the distance between levels in ticks (≥ 1).
    #[inline]
    pub fn refresh(&mut self, quote: &Quote, spacing: i64) {
        self.valid = true;
        self.at = quote.at;
        self.best_bid = quote.bid;
        self.best_ask = quote.ask;
        self.spacing = spacing.max(1);
        self.bid_base = quote.bid_qty.0;
        self.ask_base = quote.ask_qty.0;
        self.bid_taken[..self.levels].fill(0);
        self.ask_taken[..self.levels].fill(0);
    }

    /// Number of levels per side.
    pub fn levels(&self) -> usize {
        self.levels
    }

    /// Price of level `i` on the side that *rests* on `side` (bids for `Buy`).
    #[inline]
    pub fn price(&self, side: Side, i: usize) -> Price {
        let offset = self.spacing * i as i64;
        match side {
            Side::Buy => Price(self.best_bid.0 - offset),
            Side::Sell => Price(self.best_ask.0 + offset),
        }
    }

    /// Quantity still available at level `i` of the resting side `side`.
    #[inline]
    pub fn remaining(&self, side: Side, i: usize) -> Qty {
        let (base, taken) = match side {
            Side::Buy => (self.bid_base, self.bid_taken[i]),
            Side::Sell => (self.ask_base, self.ask_taken[i]),
        };
        Qty(base + base * self.growth_milli * i as i64 / 1000 - taken)
    }

    /// Takes `qty` from level `i` of resting side `side`.
    #[inline]
    pub fn take(&mut self, side: Side, i: usize, qty: Qty) {
        debug_assert!(qty <= self.remaining(side, i));
        match side {
            Side::Buy => self.bid_taken[i] += qty.0,
            Side::Sell => self.ask_taken[i] += qty.0,
        }
    }

    /// The first level of resting side `side` that still has quantity and a positive price.
    #[inline]
    pub fn first_live(&self, side: Side) -> Option<usize> {
        if !self.valid {
            return None;
        }
        (0..self.levels)
            .find(|&i| self.remaining(side, i).is_positive() && self.price(side, i).is_positive())
    }
}

/// A participant's order resting on the book.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RestingOrder {
    /// Venue id.
    pub order_id: OrderId,
    /// Engine id.
    pub client_order_id: ClientOrderId,
    /// Owner.
    pub account: AccountId,
    /// Buy or sell.
    pub side: Side,
    /// Limit price.
    pub price: Price,
    /// Open quantity.
    pub leaves: Qty,
    /// When it started resting (time priority; informational).
    pub rested_at: SimTime,
}

/// One symbol's book on one venue.
#[derive(Clone, Debug)]
pub struct Book {
    /// The instrument.
    pub spec: InstrumentSpec,
    /// Synthetic depth.
    pub ladder: Ladder,
    /// Resting participant bids by price (best = highest = last).
    pub bids: BTreeMap<Price, VecDeque<RestingOrder>>,
    /// Resting participant asks by price (best = lowest = first).
    pub asks: BTreeMap<Price, VecDeque<RestingOrder>>,
    /// Level spacing in bps of price.
    pub spacing_bps: f64,
}

impl Book {
    /// An empty book.
    pub fn new(spec: InstrumentSpec, levels: usize, growth: f64, spacing_bps: f64) -> Book {
        Book {
            spec,
            ladder: Ladder::new(levels, (growth * 1000.0).round() as i64),
            bids: BTreeMap::new(),
            asks: BTreeMap::new(),
            spacing_bps,
        }
    }

    /// Participant orders resting on `side`, by price level.
    pub fn resting(&self, side: Side) -> &BTreeMap<Price, VecDeque<RestingOrder>> {
        match side {
            Side::Buy => &self.bids,
            Side::Sell => &self.asks,
        }
    }

    /// Mutable access to one side's levels.
    pub fn resting_mut(&mut self, side: Side) -> &mut BTreeMap<Price, VecDeque<RestingOrder>> {
        match side {
            Side::Buy => &mut self.bids,
            Side::Sell => &mut self.asks,
        }
    }

    /// Best participant price on resting side `side`.
    #[inline]
    pub fn best_resting(&self, side: Side) -> Option<Price> {
        match side {
            Side::Buy => self.bids.last_key_value().map(|(p, _)| *p),
            Side::Sell => self.asks.first_key_value().map(|(p, _)| *p),
        }
    }

    /// Best price on resting side `side`, over the ladder and participants.
    pub fn best(&self, side: Side) -> Option<Price> {
        let ladder = self
            .ladder
            .first_live(side)
            .map(|i| self.ladder.price(side, i));
        let resting = self.best_resting(side);
        match (ladder, resting) {
            (Some(a), Some(b)) => Some(if better(side, b, a) { b } else { a }),
            (a, b) => a.or(b),
        }
    }

    /// The book's top of book as the venue would publish it: best prices over ladder and
    /// participants, with the quantity at each (summed where both sit at the same price).
    pub fn top_of_book(&self, quote: &Quote) -> Quote {
        let mut out = *quote;
        for side in [Side::Buy, Side::Sell] {
            let Some(best) = self.best(side) else {
                continue;
            };
            let mut qty = Qty::ZERO;
            if let Some(i) = self.ladder.first_live(side)
                && self.ladder.price(side, i) == best
            {
                qty += self.ladder.remaining(side, i);
            }
            if let Some(level) = self.resting(side).get(&best) {
                qty += Qty(level.iter().map(|o| o.leaves.0).sum());
            }
            match side {
                Side::Buy => (out.bid, out.bid_qty) = (best, qty),
                Side::Sell => (out.ask, out.ask_qty) = (best, qty),
            }
        }
        out
    }

    /// Total quantity held by participant orders (for tests and invariants).
    pub fn resting_qty(&self) -> Qty {
        Qty(self
            .bids
            .values()
            .chain(self.asks.values())
            .flatten()
            .map(|o| o.leaves.0)
            .sum())
    }

    /// Spacing of ladder levels in ticks for a given mid.
    #[inline]
    pub fn spacing_ticks(&self, mid: i64) -> i64 {
        ((mid as f64 * self.spacing_bps / 1e4).round() as i64).max(1)
    }

    /// The quote value a buyer pays for `qty` at `price`.
    #[inline]
    pub fn notional(&self, price: Price, qty: Qty) -> Amount {
        self.spec.notional(price, qty)
    }
}

/// True when `a` is a better price than `b` for orders resting on `side`.
#[inline]
pub fn better(side: Side, a: Price, b: Price) -> bool {
    match side {
        Side::Buy => a > b,
        Side::Sell => a < b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stage4_engine::domain::{Symbol, VenueId};

    #[test]
    fn ladder_levels_grow_and_remember_what_was_taken() {
        let mut l = Ladder::new(3, 500);
        let q = Quote {
            venue: VenueId::new("v").unwrap(),
            symbol: Symbol::new("BTC_USDT").unwrap(),
            at: SimTime::from_unix_secs(1),
            bid: Price(100),
            bid_qty: Qty(10),
            ask: Price(101),
            ask_qty: Qty(20),
        };
        l.refresh(&q, 2);
        assert_eq!(l.price(Side::Sell, 2), Price(105));
        assert_eq!(l.price(Side::Buy, 2), Price(96));
        assert_eq!(l.remaining(Side::Sell, 2), Qty(40));
        assert_eq!(l.remaining(Side::Buy, 1), Qty(15));
        l.take(Side::Sell, 0, Qty(20));
        assert_eq!(l.first_live(Side::Sell), Some(1));
        l.refresh(&q, 2);
        assert_eq!(l.first_live(Side::Sell), Some(0));
    }
}
