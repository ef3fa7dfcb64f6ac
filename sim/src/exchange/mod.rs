//! The simulated exchange: one [`Exchange`] per venue with a [`book::Book`] per symbol, a
//! [`ledger::Ledger`] of balances, fees, a rate limit and the matching rules of
//! [`matching`] (read its module doc for the fill rules checklist).
//!
//! The exchange is a pure state machine: [`Exchange::on_order`], [`Exchange::on_cancel`] and
//! [`Exchange::on_quote`] take the venue time and push the [`ExecReport`]s they cause into a
//! caller-owned buffer. Latency, faults and delivery belong to [`crate::Sim`].

pub mod book;
pub mod latency;
pub mod ledger;
pub mod matching;

use std::collections::BTreeMap;

use serde::Serialize;
use stage4_engine::domain::{
    AccountId, Amount, ClientOrderId, ExecKind, ExecReport, InstrumentSpec, OrderId, Price, Qty,
    Side, SimTime, Symbol, VenueId,
};

use self::book::Book;
use self::ledger::Ledger;
use crate::config::{FeeSchedule, RateLimit};

/// Where a live (resting) order sits, found by its client id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct LiveOrder {
    pub book: usize,
    pub side: Side,
    pub price: Price,
    pub order_id: OrderId,
}

/// Counters of what the exchange did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ExchangeStats {
    /// Orders accepted (acked).
    pub accepted: u64,
    /// Orders and cancels rejected.
    pub rejected: u64,
    /// Fills where a participant took liquidity.
    pub taker_fills: u64,
    /// Fills where a participant's resting order was hit.
    pub maker_fills: u64,
    /// Orders cancelled on request.
    pub cancelled: u64,
    /// Orders ended by time in force.
    pub expired: u64,
}

/// One venue's matching engine, books and balances.
#[derive(Clone, Debug)]
pub struct Exchange {
    venue: VenueId,
    symbols: Vec<Symbol>,
    books: Vec<Book>,
    ledger: Ledger,
    fees: FeeSchedule,
    rate_limit: RateLimit,
    /// Per ledger row: (window index, requests in it). Fixed windows aligned to the epoch.
    rate_windows: Vec<(u64, u32)>,
    /// Per book: ledger columns of (base, quote).
    columns: Vec<(usize, usize)>,
    live: BTreeMap<(AccountId, ClientOrderId), LiveOrder>,
    next_order_id: u64,
    plan: Vec<matching::PlannedFill>,
    stats: ExchangeStats,
}

/// How a venue's books are shaped.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BookShape {
    /// Ladder levels per side.
    pub levels: usize,
    /// Relative size growth per level.
    pub growth: f64,
    /// Level spacing, bps of price.
    pub spacing_bps: f64,
}

impl Exchange {
    /// An exchange for `venue` listing `specs`, with empty books and balances.
    pub fn new(
        venue: VenueId,
        specs: &[InstrumentSpec],
        shape: BookShape,
        fees: FeeSchedule,
        rate_limit: RateLimit,
    ) -> Exchange {
        let mut ledger = Ledger::new();
        let columns = specs
            .iter()
            .map(|s| (ledger.asset_index(s.base), ledger.asset_index(s.quote)))
            .collect();
        Exchange {
            venue,
            symbols: specs.iter().map(|s| s.symbol).collect(),
            books: specs
                .iter()
                .map(|s| Book::new(s.clone(), shape.levels, shape.growth, shape.spacing_bps))
                .collect(),
            ledger,
            fees,
            rate_limit,
            rate_windows: Vec::new(),
            columns,
            live: BTreeMap::new(),
            next_order_id: 1,
            plan: Vec::new(),
            stats: ExchangeStats::default(),
        }
    }

    /// The venue.
    pub fn venue(&self) -> VenueId {
        self.venue
    }

    /// Balances.
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// Mutable balances (deposits at set-up).
    pub fn ledger_mut(&mut self) -> &mut Ledger {
        &mut self.ledger
    }

    /// The book of `symbol`.
    pub fn book(&self, symbol: Symbol) -> Option<&Book> {
        self.symbol_index(symbol).map(|i| &self.books[i])
    }

    /// Counters.
    pub fn stats(&self) -> ExchangeStats {
        self.stats
    }

    /// Number of participant orders resting on all books.
    pub fn live_orders(&self) -> usize {
        self.live.len()
    }

    /// Fee schedule.
    pub fn fees(&self) -> FeeSchedule {
        self.fees
    }

    /// Position of `symbol` among the listed instruments.
    #[inline]
    pub(crate) fn symbol_index(&self, symbol: Symbol) -> Option<usize> {
        self.symbols.iter().position(|s| *s == symbol)
    }

    /// Counts a request against the account's rate window; false when over the limit.
    pub(crate) fn admit_request(&mut self, now: SimTime, account: AccountId) -> bool {
        let window = now.as_nanos() / self.rate_limit.window.as_nanos().max(1);
        let row = self.ledger.row(account);
        if self.rate_windows.len() < self.ledger.rows() {
            self.rate_windows.resize(self.ledger.rows(), (0, 0));
        }
        let entry = &mut self.rate_windows[row];
        if entry.0 != window {
            *entry = (window, 0);
        }
        if entry.1 >= self.rate_limit.max_requests {
            return false;
        }
        entry.1 += 1;
        true
    }

    fn next_order_id(&mut self) -> OrderId {
        let id = OrderId(self.next_order_id);
        self.next_order_id += 1;
        id
    }
}

/// Builds a report of this venue.
#[inline]
pub(crate) fn report(
    at: SimTime,
    venue: VenueId,
    account: AccountId,
    symbol: Symbol,
    client_order_id: ClientOrderId,
    kind: ExecKind,
) -> ExecReport {
    ExecReport {
        at,
        venue,
        account,
        symbol,
        client_order_id,
        kind,
    }
}

/// Exact notional of `qty` at `price` in quote atoms (as [`InstrumentSpec::notional`],
/// without its 128-bit division on the hot path).
#[inline]
pub(crate) fn notional(spec: &InstrumentSpec, price: Price, qty: Qty) -> Amount {
    match spec.tick_atoms.checked_mul(spec.lot_atoms) {
        Some(per_tick_lot) => Amount(
            i128::from(price.0)
                * i128::from(qty.0)
                * i128::from(per_tick_lot / stage4_engine::domain::ATOMS_PER_UNIT),
        ),
        None => spec.notional(price, qty),
    }
}

/// `Amount::bps_ceil` with a 64-bit fast path for the non-negative amounts fees are charged
/// on (128-bit division is a slow library call). Same result everywhere.
#[inline]
pub(crate) fn fee(amount: Amount, bps: u32) -> Amount {
    if let Ok(n) = i64::try_from(amount.0)
        && (0..=i64::MAX / 10_000).contains(&n)
        && bps <= 10_000
    {
        return Amount(i128::from((n * i64::from(bps) + 9_999) / 10_000));
    }
    amount.bps_ceil(bps)
}

/// Quote a resting buy of `qty` at `price` reserves: notional, the fee rounded up, and one
/// atom per lot because each partial fill's fee is rounded up on its own.
#[inline]
pub(crate) fn buy_hold(spec: &InstrumentSpec, price: Price, qty: Qty, fee_bps: u32) -> Amount {
    let notional = notional(spec, price, qty);
    notional + fee(notional, fee_bps) + Amount(i128::from(qty.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn fast_fee_equals_bps_ceil(atoms in -(1i128 << 70)..(1i128 << 70), bps in 0u32..=10_000) {
            prop_assert_eq!(fee(Amount(atoms), bps), Amount(atoms).bps_ceil(bps));
        }

        #[test]
        fn fast_notional_equals_the_spec(price in 1i64..10_000_000_000, qty in 1i64..10_000_000) {
            let spec = crate::market::instruments::default_spec(Symbol::new("BTC_USDT").unwrap()).unwrap();
            prop_assert_eq!(notional(&spec, Price(price), Qty(qty)), spec.notional(Price(price), Qty(qty)));
        }
    }
}
