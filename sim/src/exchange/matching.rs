//! The matching engine: what happens when an order, a cancel or a new quote reaches a venue.
//!
//! # Fill rules (checklist)
//! **Book.**
//! - [x] The book of a symbol is the generator's synthetic depth ladder (rebuilt from every
//!   quote, `levels` per side, growing size) plus participants' resting orders in price-time
//!   queues.
//! - [x] Liquidity taken from the ladder stays taken until the next quote rebuilds it (no
//!   infinite liquidity within one quote interval; no lasting market impact either).
//! - [x] At equal price, participants' resting orders fill **before** the ladder: the ladder
//!   is re-posted at every quote, so it is always the newest liquidity at its price.
//! - [x] Among participants: better price first, then earlier arrival (FIFO per level).
//!
//! **Checks on arrival, in this order** (the first failure is the reject reason; a rejected
//! order never touches the book):
//! 1. venue down → `venue_down`; over the account's rate limit (fixed windows aligned to the
//!    epoch, orders and cancels both count) → `rate_limited`; injected reject storm →
//!    `venue_error` (these three are applied by [`crate::Sim`]);
//! 2. symbol not listed → `unknown_symbol`;
//! 3. client order id of a live (resting) order of the same account → `duplicate_client_order_id`;
//! 4. quantity ≤ 0 → `bad_lot`; below the instrument's minimum → `below_min_qty`;
//! 5. limit price ≤ 0 → `bad_tick` (prices are ticks, so they are always on the grid);
//! 6. post-only that would take liquidity → `post_only_would_cross`;
//! 7. market order with nothing on the other side → `no_liquidity`;
//! 8. notional (at the limit, or at the first fill price for market orders) under the
//!    instrument's minimum → `below_min_notional`;
//! 9. funds: a buy needs quote for every taker fill (notional + taker fee) plus a hold for
//!    the resting part (notional at the limit + maker fee rounded up + 1 atom per lot); a sell
//!    needs the base quantity it may deliver → `insufficient_balance`. Market buys are priced
//!    exactly by walking the book first, so they never spend more than they have.
//!
//! **Execution.**
//! - [x] An accepted order gets an `ack` first, then its fills, then at most one of
//!   `expired` (unfilled rest of a market or IOC order) or resting on the book (GTC,
//!   post-only).
//! - [x] An incoming order walks the book in price priority and fills at **each resting
//!   price** (slippage comes from walking the ladder), never beyond its limit; market orders
//!   have no limit and behave as IOC whatever their time in force.
//! - [x] Partial fills: each match is one `fill` report with the quantity still open
//!   (`leaves`); a resting order can fill in many pieces.
//! - [x] A resting participant order hit by an incoming order fills as **maker** at its own
//!   price; the incoming order is **taker**.
//! - [x] When a new quote's ladder crosses a resting order (ask ≤ its bid, or bid ≥ its ask)
//!   the order fills as **maker at its own limit price**, against the crossing ladder levels,
//!   best resting order first. The other side is the outside world.
//! - [x] No self-trade prevention: two orders of one account can match each other.
//! - [x] Fees: `bps_ceil(notional, maker_bps | taker_bps)`, in the quote asset, per fill, to
//!   the venue's fee account. The counterparty of ladder fills is the outside-world account,
//!   so the sum of every asset's balances is conserved exactly.
//! - [x] Cancel of a live order → `cancelled` with its open quantity and its hold released;
//!   of anything else (unknown, already finished) → reject `unknown_order`. A cancelled
//!   order never fills again.
//! - [x] While the venue is down its books are frozen: no quote updates, no crossing fills.

use stage4_engine::domain::{
    CancelRequest, ExecKind, ExecReport, Liquidity, OrderKind, OrderRequest, Price, Qty, Quote,
    RejectReason, Side, SimTime, TimeInForce,
};

use super::book::{Book, Ladder, RestingOrder, better};
use super::ledger::{FEE_ROW, OUTSIDE_ROW};
use super::{Exchange, LiveOrder, buy_hold, fee, notional, report};

/// Where a planned fill takes its liquidity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FillSource {
    /// Ladder level `i`.
    Ladder(usize),
    /// The front participant order of the best level at that point of the walk.
    Resting,
}

/// One match an incoming order would make.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlannedFill {
    /// Execution price.
    pub price: Price,
    /// Quantity.
    pub qty: Qty,
    /// Counterparty.
    pub source: FillSource,
}

/// Walks the book for an incoming `side` order of `qty` up to `limit` (none: market) without
/// changing it; writes the matches into `plan` and returns the quantity they fill.
pub fn plan_taker(
    book: &Book,
    side: Side,
    limit: Option<Price>,
    qty: Qty,
    plan: &mut Vec<PlannedFill>,
) -> Qty {
    plan.clear();
    let rest_side = side.opposite();
    match rest_side {
        Side::Sell => walk(
            &book.ladder,
            rest_side,
            limit,
            qty,
            book.asks
                .iter()
                .flat_map(|(p, q)| q.iter().map(move |o| (*p, o.leaves))),
            plan,
        ),
        Side::Buy => walk(
            &book.ladder,
            rest_side,
            limit,
            qty,
            book.bids
                .iter()
                .rev()
                .flat_map(|(p, q)| q.iter().map(move |o| (*p, o.leaves))),
            plan,
        ),
    }
}

#[inline]
fn walk(
    ladder: &Ladder,
    rest_side: Side,
    limit: Option<Price>,
    qty: Qty,
    resting: impl Iterator<Item = (Price, Qty)>,
    plan: &mut Vec<PlannedFill>,
) -> Qty {
    let mut resting = resting.peekable();
    let mut remaining = qty.0;
    let levels = if ladder.valid { ladder.levels() } else { 0 };
    let mut li = 0;
    while remaining > 0 {
        while li < levels
            && !(ladder.remaining(rest_side, li).is_positive()
                && ladder.price(rest_side, li).is_positive())
        {
            li += 1;
        }
        let ladder_price = (li < levels).then(|| ladder.price(rest_side, li));
        let resting_price = resting.peek().map(|(p, _)| *p);
        let (price, from_resting) = match (resting_price, ladder_price) {
            (Some(r), Some(l)) => {
                if r == l || better(rest_side, r, l) {
                    (r, true)
                } else {
                    (l, false)
                }
            }
            (Some(r), None) => (r, true),
            (None, Some(l)) => (l, false),
            (None, None) => break,
        };
        if let Some(limit) = limit
            && better(rest_side, limit, price)
        {
            // The next resting price is worse than the limit (above a buy's, below a sell's).
            break;
        }
        if from_resting {
            let (_, available) = resting.next().expect("peeked");
            let take = available.0.min(remaining);
            plan.push(PlannedFill {
                price,
                qty: Qty(take),
                source: FillSource::Resting,
            });
            remaining -= take;
        } else {
            let take = ladder.remaining(rest_side, li).0.min(remaining);
            plan.push(PlannedFill {
                price,
                qty: Qty(take),
                source: FillSource::Ladder(li),
            });
            remaining -= take;
            li += 1;
        }
    }
    Qty(qty.0 - remaining)
}

impl Exchange {
    /// Handles a new order reaching the matching engine at `now` (after the venue-level
    /// checks of rule 1). Reports go to `out`.
    pub fn on_order(&mut self, now: SimTime, order: &OrderRequest, out: &mut Vec<ExecReport>) {
        let venue = self.venue;
        let reject = |reason: RejectReason, out: &mut Vec<ExecReport>| {
            out.push(report(
                now,
                venue,
                order.account,
                order.symbol,
                order.client_order_id,
                ExecKind::Reject { reason },
            ));
        };
        let Some(bi) = self.symbol_index(order.symbol) else {
            self.stats.rejected += 1;
            return reject(RejectReason::UnknownSymbol, out);
        };
        if let Some(reason) = self.check_order(bi, order) {
            self.stats.rejected += 1;
            return reject(reason, out);
        }
        let book = &self.books[bi];
        let limit = match order.kind {
            OrderKind::Market => None,
            OrderKind::Limit { price } => Some(price),
        };
        let resting_allowed =
            limit.is_some() && matches!(order.tif, TimeInForce::Gtc | TimeInForce::PostOnly);
        let post_only = limit.is_some() && order.tif == TimeInForce::PostOnly;

        let mut plan = std::mem::take(&mut self.plan);
        let taker_qty = if post_only {
            plan.clear();
            let crosses = book.best(order.side.opposite()).is_some_and(|best| {
                !better(
                    order.side.opposite(),
                    limit.expect("post-only is a limit"),
                    best,
                )
            });
            if crosses {
                self.plan = plan;
                self.stats.rejected += 1;
                return reject(RejectReason::PostOnlyWouldCross, out);
            }
            Qty::ZERO
        } else {
            plan_taker(book, order.side, limit, order.qty, &mut plan)
        };
        let spec = &book.spec;
        if limit.is_none() && taker_qty.is_zero() {
            self.plan = plan;
            self.stats.rejected += 1;
            return reject(RejectReason::NoLiquidity, out);
        }
        let reference = limit.unwrap_or_else(|| plan[0].price);
        if notional(spec, reference, order.qty) < spec.min_notional {
            self.plan = plan;
            self.stats.rejected += 1;
            return reject(RejectReason::BelowMinNotional, out);
        }
        let rest_qty = if resting_allowed {
            order.qty - taker_qty
        } else {
            Qty::ZERO
        };
        let (base_col, quote_col) = self.columns[bi];
        let row = self.ledger.row(order.account);
        let funded = match order.side {
            Side::Buy => {
                let mut need = stage4_engine::domain::Amount::ZERO;
                for f in &plan {
                    let notional = notional(spec, f.price, f.qty);
                    need += notional + fee(notional, self.fees.taker_bps);
                }
                if let Some(limit) = limit {
                    need += buy_hold(spec, limit, rest_qty, self.fees.maker_bps);
                }
                self.ledger.available_at(row, quote_col) >= need
            }
            Side::Sell => {
                self.ledger.available_at(row, base_col) >= spec.base_amount(taker_qty + rest_qty)
            }
        };
        if !funded {
            self.plan = plan;
            self.stats.rejected += 1;
            return reject(RejectReason::InsufficientBalance, out);
        }

        let order_id = self.next_order_id();
        self.stats.accepted += 1;
        out.push(report(
            now,
            venue,
            order.account,
            order.symbol,
            order.client_order_id,
            ExecKind::Ack { order_id },
        ));
        let mut leaves = order.qty;
        for f in &plan {
            leaves -= f.qty;
            self.execute_taker_fill(now, bi, row, order, f, leaves, out);
        }
        self.plan = plan;

        if leaves.is_positive() {
            if rest_qty.is_positive() {
                debug_assert_eq!(leaves, rest_qty);
                self.rest(
                    now,
                    bi,
                    row,
                    order,
                    order_id,
                    limit.expect("only limits rest"),
                    leaves,
                );
            } else {
                self.stats.expired += 1;
                out.push(report(
                    now,
                    venue,
                    order.account,
                    order.symbol,
                    order.client_order_id,
                    ExecKind::Expired { leaves },
                ));
            }
        }
    }

    /// Rules 3–5: checks that need only the order and the instrument.
    fn check_order(&self, bi: usize, order: &OrderRequest) -> Option<RejectReason> {
        let spec = &self.books[bi].spec;
        if self
            .live
            .contains_key(&(order.account, order.client_order_id))
        {
            return Some(RejectReason::DuplicateClientOrderId);
        }
        if !order.qty.is_positive() {
            return Some(RejectReason::BadLot);
        }
        if order.qty < spec.min_qty {
            return Some(RejectReason::BelowMinQty);
        }
        if let OrderKind::Limit { price } = order.kind
            && !price.is_positive()
        {
            return Some(RejectReason::BadTick);
        }
        None
    }

    #[allow(clippy::too_many_arguments)] // one fill's full context; bundling it would only rename it
    fn execute_taker_fill(
        &mut self,
        now: SimTime,
        bi: usize,
        row: usize,
        order: &OrderRequest,
        fill: &PlannedFill,
        leaves: Qty,
        out: &mut Vec<ExecReport>,
    ) {
        let spec = &self.books[bi].spec;
        let quote = spec.quote;
        let (base_col, quote_col) = self.columns[bi];
        let notional = notional(spec, fill.price, fill.qty);
        let base_amount = spec.base_amount(fill.qty);
        let fee = fee(notional, self.fees.taker_bps);
        let counterparty = match fill.source {
            FillSource::Ladder(i) => {
                self.books[bi]
                    .ladder
                    .take(order.side.opposite(), i, fill.qty);
                OUTSIDE_ROW
            }
            FillSource::Resting => {
                self.fill_front_resting(now, bi, order.side.opposite(), fill.qty, out)
            }
        };
        let (buyer, seller) = match order.side {
            Side::Buy => (row, counterparty),
            Side::Sell => (counterparty, row),
        };
        self.ledger.transfer_at(buyer, seller, quote_col, notional);
        self.ledger
            .transfer_at(seller, buyer, base_col, base_amount);
        self.ledger.transfer_at(row, FEE_ROW, quote_col, fee);
        self.stats.taker_fills += 1;
        out.push(report(
            now,
            self.venue,
            order.account,
            order.symbol,
            order.client_order_id,
            ExecKind::Fill {
                price: fill.price,
                qty: fill.qty,
                fee,
                fee_asset: quote,
                liquidity: Liquidity::Taker,
                leaves,
            },
        ));
    }

    /// Fills `qty` of the front order of the best level on resting side `side` as maker
    /// (payment is settled by the caller); returns its ledger row.
    fn fill_front_resting(
        &mut self,
        now: SimTime,
        bi: usize,
        side: Side,
        qty: Qty,
        out: &mut Vec<ExecReport>,
    ) -> usize {
        let maker_bps = self.fees.maker_bps;
        let book = &mut self.books[bi];
        let mut entry = match side {
            Side::Buy => book.bids.last_entry(),
            Side::Sell => book.asks.first_entry(),
        }
        .expect("planned resting fill has a level");
        let price = *entry.key();
        let level = entry.get_mut();
        let front = level.front_mut().expect("levels are never empty");
        debug_assert!(qty <= front.leaves);
        let before = front.leaves;
        front.leaves -= qty;
        let resting = *front;
        if resting.leaves.is_zero() {
            level.pop_front();
            if level.is_empty() {
                entry.remove();
            }
        }
        let spec = &book.spec;
        let (base_col, quote_col) = self.columns[bi];
        let row = self.ledger.row(resting.account);
        let notional = notional(spec, price, qty);
        let fee = fee(notional, maker_bps);
        match side {
            Side::Buy => {
                let release = buy_hold(spec, price, before, maker_bps)
                    - buy_hold(spec, price, resting.leaves, maker_bps);
                self.ledger.release_at(row, quote_col, release);
            }
            Side::Sell => self.ledger.release_at(row, base_col, spec.base_amount(qty)),
        }
        let quote = spec.quote;
        let symbol = spec.symbol;
        self.ledger.transfer_at(row, FEE_ROW, quote_col, fee);
        if resting.leaves.is_zero() {
            self.live
                .remove(&(resting.account, resting.client_order_id));
        }
        self.stats.maker_fills += 1;
        out.push(report(
            now,
            self.venue,
            resting.account,
            symbol,
            resting.client_order_id,
            ExecKind::Fill {
                price,
                qty,
                fee,
                fee_asset: quote,
                liquidity: Liquidity::Maker,
                leaves: resting.leaves,
            },
        ));
        row
    }

    #[allow(clippy::too_many_arguments)]
    fn rest(
        &mut self,
        now: SimTime,
        bi: usize,
        row: usize,
        order: &OrderRequest,
        order_id: stage4_engine::domain::OrderId,
        price: Price,
        leaves: Qty,
    ) {
        let maker_bps = self.fees.maker_bps;
        let (base_col, quote_col) = self.columns[bi];
        let book = &mut self.books[bi];
        let spec = &book.spec;
        match order.side {
            Side::Buy => {
                self.ledger
                    .hold_at(row, quote_col, buy_hold(spec, price, leaves, maker_bps))
            }
            Side::Sell => self.ledger.hold_at(row, base_col, spec.base_amount(leaves)),
        }
        book.resting_mut(order.side)
            .entry(price)
            .or_default()
            .push_back(RestingOrder {
                order_id,
                client_order_id: order.client_order_id,
                account: order.account,
                side: order.side,
                price,
                leaves,
                rested_at: now,
            });
        self.live.insert(
            (order.account, order.client_order_id),
            LiveOrder {
                book: bi,
                side: order.side,
                price,
                order_id,
            },
        );
    }

    /// Handles a cancel reaching the matching engine at `now`.
    pub fn on_cancel(&mut self, now: SimTime, cancel: &CancelRequest, out: &mut Vec<ExecReport>) {
        let key = (cancel.account, cancel.client_order_id);
        let found = self
            .live
            .get(&key)
            .copied()
            .filter(|l| self.symbols[l.book] == cancel.symbol);
        let Some(live) = found else {
            self.stats.rejected += 1;
            out.push(report(
                now,
                self.venue,
                cancel.account,
                cancel.symbol,
                cancel.client_order_id,
                ExecKind::Reject {
                    reason: RejectReason::UnknownOrder,
                },
            ));
            return;
        };
        self.live.remove(&key);
        let maker_bps = self.fees.maker_bps;
        let book = &mut self.books[live.book];
        let levels = book.resting_mut(live.side);
        let level = levels.get_mut(&live.price).expect("live order has a level");
        let pos = level
            .iter()
            .position(|o| o.order_id == live.order_id)
            .expect("live order is queued");
        let order = level.remove(pos).expect("position is valid");
        if level.is_empty() {
            levels.remove(&live.price);
        }
        let spec = &book.spec;
        let (base_col, quote_col) = self.columns[live.book];
        let row = self.ledger.row(order.account);
        match live.side {
            Side::Buy => self.ledger.release_at(
                row,
                quote_col,
                buy_hold(spec, order.price, order.leaves, maker_bps),
            ),
            Side::Sell => self
                .ledger
                .release_at(row, base_col, spec.base_amount(order.leaves)),
        }
        self.stats.cancelled += 1;
        out.push(report(
            now,
            self.venue,
            cancel.account,
            cancel.symbol,
            cancel.client_order_id,
            ExecKind::Cancelled {
                leaves: order.leaves,
            },
        ));
    }

    /// Applies a new quote of this venue: rebuilds the ladder and fills resting orders it
    /// crosses. Returns the venue's top of book after that (participants included).
    pub fn on_quote(
        &mut self,
        now: SimTime,
        quote: &Quote,
        out: &mut Vec<ExecReport>,
    ) -> Option<Quote> {
        let bi = self.symbol_index(quote.symbol)?;
        let book = &mut self.books[bi];
        let mid = (quote.bid.0 + quote.ask.0) / 2;
        let spacing = book.spacing_ticks(mid);
        book.ladder.refresh(quote, spacing);
        if book.bids.is_empty() && book.asks.is_empty() {
            return Some(*quote);
        }
        for side in [Side::Buy, Side::Sell] {
            loop {
                let book = &self.books[bi];
                let Some(resting_price) = book.best_resting(side) else {
                    break;
                };
                let Some(li) = book.ladder.first_live(side.opposite()) else {
                    break;
                };
                let ladder_price = book.ladder.price(side.opposite(), li);
                if better(side.opposite(), resting_price, ladder_price) {
                    // e.g. resting bid below the ladder's best ask: no cross.
                    break;
                }
                let front_leaves = book.resting(side)[&resting_price]
                    .front()
                    .expect("levels are never empty")
                    .leaves;
                let qty = front_leaves.min(book.ladder.remaining(side.opposite(), li));
                self.books[bi].ladder.take(side.opposite(), li, qty);
                let row = self.fill_front_resting(now, bi, side, qty, out);
                let spec = &self.books[bi].spec;
                let notional = notional(spec, resting_price, qty);
                let base_amount = spec.base_amount(qty);
                let (base_col, quote_col) = self.columns[bi];
                let (buyer, seller) = match side {
                    Side::Buy => (row, OUTSIDE_ROW),
                    Side::Sell => (OUTSIDE_ROW, row),
                };
                self.ledger.transfer_at(buyer, seller, quote_col, notional);
                self.ledger
                    .transfer_at(seller, buyer, base_col, base_amount);
            }
        }
        Some(self.books[bi].top_of_book(quote))
    }
}
