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
    AccountId, Amount, ClientOrderId, ExecKind, ExecReport, InstrumentSpec, OrderId, Price, Qty, Side, SimTime,
    Symbol, VenueId,
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
    /// Per account: (window index, requests in it). Fixed windows aligned to the epoch.
    rate_windows: BTreeMap<AccountId, (u64, u32)>,
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
        Exchange {
            venue,
            symbols: specs.iter().map(|s| s.symbol).collect(),
            books: specs
                .iter()
                .map(|s| Book::new(s.clone(), shape.levels, shape.growth, shape.spacing_bps))
                .collect(),
            ledger: Ledger::default(),
            fees,
            rate_limit,
            rate_windows: BTreeMap::new(),
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
        let entry = self.rate_windows.entry(account).or_insert((window, 0));
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

/// Quote a resting buy of `qty` at `price` reserves: notional, the fee rounded up, and one
/// atom per lot because each partial fill's fee is rounded up on its own.
#[inline]
pub(crate) fn buy_hold(spec: &InstrumentSpec, price: Price, qty: Qty, fee_bps: u32) -> Amount {
    let notional = spec.notional(price, qty);
    notional + notional.bps_ceil(fee_bps) + Amount(i128::from(qty.0))
}
