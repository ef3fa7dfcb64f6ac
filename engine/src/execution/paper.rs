//! The paper venue: the reference's `PaperTradingExecutionService` (engine.md §9) as a
//! [`Venue`]. Every accepted order fills at once, in full, against a reference price.
//!
//! # Fill rules (checklist)
//! 1. **Validation**, first failure wins, each a [`ExecKind::Reject`]:
//!    - client order id already used on this venue → `DuplicateClientOrderId`;
//!    - symbol not listed → `UnknownSymbol`;
//!    - quantity ≤ 0 or below the instrument's `min_qty` → `BelowMinQty`;
//!    - limit price ≤ 0 → `BadTick`;
//!    - no reference price (see 2) → `NoLiquidity`: there is nothing to price the fill
//!      against, which is what a market order meeting an empty book is;
//!    - `reference × qty` below `min_notional` → `BelowMinNotional`;
//!    - the account cannot pay (see 5, 6) → `InsufficientBalance`; the reference raises here,
//!      we reject and leave every balance untouched.
//!
//!    Side and lot-step validation are done by the types: [`Side`] has two values and a
//!    [`Qty`] counts whole lots, so `BadLot` cannot arise.
//! 2. **Reference price**: the order's limit price, else the last price given to
//!    [`PaperVenue::set_reference_price`] (or [`PaperVenue::on_market_event`]). As in the
//!    reference, a limit order fills at its limit *plus slippage*: the paper model has no book.
//! 3. **Fill price**: `reference × (1 ± slippage_bps / 10⁴)` (5 bps by default), rounded to the
//!    tick **against the trader** (a buy rounds up, a sell rounds down, never below one tick),
//!    so paper results are never flattered by rounding.
//! 4. **Fee**: taker (6 bp) for market orders, maker (4 bp) otherwise, on the fill notional,
//!    rounded up to the atom, charged in the quote asset. Time in force is ignored (nothing
//!    rests), so a post-only order pays the maker fee and fills like any limit order.
//! 5. **Buy**: first covers any short of the symbol, releasing its margin pro rata; pays
//!    notional + fee; the rest of the quantity is added to the base balance.
//! 6. **Sell**: first sells the base held; the remainder opens or extends a short: the
//!    proceeds are credited, `ceil(remainder notional / short_leverage)` is locked as margin,
//!    and the short's entry is volume-weighted (kept as an exact entry cost).
//! 7. **Maintenance margin** after every trade on a symbol with a short: if
//!    `margin + entry cost − qty × fill < qty × fill × ratio` (ratio 0.30 / 0.20 / 0.10 for
//!    conservative / balanced / aggressive, 0.25 otherwise) the short is liquidated at the fill
//!    price: `quote += margin − qty × fill`, no fee. The venue records a [`Liquidation`] for
//!    the caller (the [`Venue`] port has no report for an order nobody sent).
//! 8. **Result**: an `Ack` with `OrderId(N)` (written `paper-N` in the ledger, N = 1, 2, … over
//!    accepted orders) and one `Fill` with `leaves = 0`; a [`LedgerEntry`] with the
//!    reference's fields is kept in memory for the caller to write.
//! 9. **Cancel**: nothing ever rests, so a cancel is answered `UnknownOrder`; like the
//!    reference it leaves a ledger record (`side: cancel`, `status: cancelled`).
//!
//! The venue holds one balance sheet; the order's `account` is echoed in reports.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::domain::{
    ATOMS_PER_UNIT, AccountId, Amount, Asset, CancelRequest, ClientOrderId, ExecKind, ExecReport,
    InstrumentSpec, Liquidity, MarketEvent, OrderId, OrderKind, OrderRequest, Price, Qty,
    RejectReason, Side, SimTime, Symbol, VenueId,
};
use crate::ports::Venue;
use crate::risk::AccountSnapshot;

/// Maker fee of the reference (0.0004).
pub const DEFAULT_MAKER_FEE_BPS: u32 = 4;
/// Taker fee of the reference (0.0006).
pub const DEFAULT_TAKER_FEE_BPS: u32 = 6;
/// Slippage of the reference (5 bps).
pub const DEFAULT_SLIPPAGE_BPS: u32 = 5;

/// The maintenance-margin ratio of a risk profile, in bps: conservative 3000, balanced 2000,
/// aggressive 1000, anything else 2500.
pub fn maintenance_margin_bps(risk_profile: &str) -> u32 {
    match risk_profile {
        "conservative" => 3_000,
        "balanced" => 2_000,
        "aggressive" => 1_000,
        _ => 2_500,
    }
}

/// The reference's ledger file name for the day containing `at`: `ledger-YYYYMMDD.jsonl`.
pub fn ledger_file_name(at: SimTime) -> String {
    let d = at.to_utc();
    format!(
        "ledger-{:04}{:02}{:02}.jsonl",
        d.year(),
        u8::from(d.month()),
        d.day()
    )
}

/// How the paper venue charges and margins.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaperConfig {
    /// The venue id it answers as.
    pub venue: VenueId,
    /// The risk profile it runs under (for the ledger and the maintenance ratio).
    pub risk_profile: String,
    /// Fee for non-market orders, bps.
    pub maker_fee_bps: u32,
    /// Fee for market orders, bps.
    pub taker_fee_bps: u32,
    /// Slippage against the trader, bps (< 10 000).
    pub slippage_bps: u32,
    /// Leverage for shorts (the reference's `max(1, metadata.leverage or 1)`), ≥ 1.
    pub short_leverage: u32,
    /// Maintenance-margin ratio for shorts, bps.
    pub maintenance_margin_bps: u32,
}

impl PaperConfig {
    /// The reference defaults for `venue` under `risk_profile`: fees 4/6 bp, 5 bps slippage,
    /// unlevered shorts, the profile's maintenance ratio.
    pub fn new(venue: VenueId, risk_profile: &str) -> PaperConfig {
        PaperConfig {
            venue,
            risk_profile: risk_profile.to_owned(),
            maker_fee_bps: DEFAULT_MAKER_FEE_BPS,
            taker_fee_bps: DEFAULT_TAKER_FEE_BPS,
            slippage_bps: DEFAULT_SLIPPAGE_BPS,
            short_leverage: 1,
            maintenance_margin_bps: maintenance_margin_bps(risk_profile),
        }
    }
}

/// The paper venue could not be set up or fed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PaperError {
    /// Two instruments with one symbol.
    #[error("paper venue: symbol {0} is listed twice")]
    DuplicateSymbol(Symbol),
    /// A price for a symbol the venue does not list.
    #[error("paper venue: symbol {0} is not listed")]
    UnknownSymbol(Symbol),
    /// A starting balance below zero.
    #[error("paper venue: the starting balance of {0} is negative")]
    NegativeBalance(Asset),
    /// A configuration value out of range.
    #[error("paper venue: {field} = {value}; expected {expected}")]
    BadConfig {
        /// The field.
        field: &'static str,
        /// The value.
        value: u32,
        /// What is accepted.
        expected: &'static str,
    },
    /// A reference price that is not positive.
    #[error("paper venue: reference price for {0} must be positive")]
    NonPositivePrice(Symbol),
}

/// An open short of one symbol.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShortPosition {
    /// Quantity owed, lots.
    pub qty: Qty,
    /// Proceeds of the short sales still open, quote atoms (volume-weighted entry × qty).
    pub entry_cost: Amount,
    /// Margin locked for it, quote atoms.
    pub margin: Amount,
}

impl ShortPosition {
    /// Volume-weighted entry price, quote units.
    pub fn avg_entry_price(&self, spec: &InstrumentSpec) -> f64 {
        self.entry_cost.to_units_f64() / spec.qty_to_f64(self.qty)
    }
}

/// The `side` of a ledger line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LedgerSide {
    /// A buy (also a liquidation's forced cover).
    Buy,
    /// A sell.
    Sell,
    /// A cancel request.
    Cancel,
}

/// The `status` of a ledger line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LedgerStatus {
    /// An order filled.
    Filled,
    /// A cancel request.
    Cancelled,
    /// A short bought back by the maintenance check.
    Liquidated,
}

/// One ledger line with the reference's fields (numbers in quote/base units), plus the
/// engine's `client_order_id` to join it with the decision log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LedgerEntry {
    /// When.
    pub timestamp: SimTime,
    /// `paper-N`.
    pub order_id: String,
    /// The engine's id of the order.
    pub client_order_id: ClientOrderId,
    /// The symbol.
    pub symbol: Symbol,
    /// Buy, sell or cancel.
    pub side: LedgerSide,
    /// Base units.
    pub quantity: f64,
    /// Fill price, quote units (0 for a cancel).
    pub price: f64,
    /// Fee, quote units.
    pub fee: f64,
    /// The fee asset (the quote asset); `None` for a cancel of an unlisted symbol.
    pub fee_asset: Option<Asset>,
    /// Filled, cancelled or liquidated.
    pub status: LedgerStatus,
    /// `max(1, short notional / margin)` while a short is open, else 1.
    pub leverage: f64,
    /// `(base balance + short quantity) × fill price`, quote units.
    pub position_value: f64,
}

/// A short bought back by the maintenance-margin check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Liquidation {
    /// When.
    pub at: SimTime,
    /// The symbol.
    pub symbol: Symbol,
    /// Quantity bought back, lots.
    pub qty: Qty,
    /// At this price (the triggering fill's).
    pub price: Price,
    /// The margin returned to the quote balance (before paying for the cover).
    pub margin_released: Amount,
    /// The order whose fill triggered the check.
    pub triggered_by: OrderId,
}

/// The paper venue. See the module doc for the fill rules.
#[derive(Clone, Debug)]
pub struct PaperVenue {
    config: PaperConfig,
    instruments: BTreeMap<Symbol, InstrumentSpec>,
    balances: BTreeMap<Asset, Amount>,
    shorts: BTreeMap<Symbol, ShortPosition>,
    reference_prices: BTreeMap<Symbol, Price>,
    orders: BTreeMap<ClientOrderId, OrderId>,
    last_order: u64,
    ledger: Vec<LedgerEntry>,
    liquidations: Vec<Liquidation>,
}

/// A fill computed but not yet applied.
struct PlannedFill {
    price: Price,
    fee: Amount,
    liquidity: Liquidity,
    quote_after: Amount,
    base_delta: Amount,
    short_after: ShortPosition,
}

fn bps_of(amount: Amount, bps: u32) -> Amount {
    Amount(amount.0 * i128::from(bps) / 10_000)
}

impl PaperVenue {
    /// A venue listing `instruments`, holding `balances` (assets not listed start at 0).
    pub fn new(
        config: PaperConfig,
        instruments: impl IntoIterator<Item = InstrumentSpec>,
        balances: impl IntoIterator<Item = (Asset, Amount)>,
    ) -> Result<PaperVenue, PaperError> {
        for (field, value, ok, expected) in [
            (
                "slippage_bps",
                config.slippage_bps,
                config.slippage_bps < 10_000,
                "< 10000",
            ),
            (
                "short_leverage",
                config.short_leverage,
                config.short_leverage >= 1,
                "≥ 1",
            ),
            (
                "maintenance_margin_bps",
                config.maintenance_margin_bps,
                config.maintenance_margin_bps <= 10_000,
                "≤ 10000",
            ),
        ] {
            if !ok {
                return Err(PaperError::BadConfig {
                    field,
                    value,
                    expected,
                });
            }
        }
        let mut listed = BTreeMap::new();
        for spec in instruments {
            let symbol = spec.symbol;
            if listed.insert(symbol, spec).is_some() {
                return Err(PaperError::DuplicateSymbol(symbol));
            }
        }
        let mut held = BTreeMap::new();
        for (asset, amount) in balances {
            if amount.0 < 0 {
                return Err(PaperError::NegativeBalance(asset));
            }
            *held.entry(asset).or_insert(Amount::ZERO) += amount;
        }
        Ok(PaperVenue {
            config,
            instruments: listed,
            balances: held,
            shorts: BTreeMap::new(),
            reference_prices: BTreeMap::new(),
            orders: BTreeMap::new(),
            last_order: 0,
            ledger: Vec::new(),
            liquidations: Vec::new(),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &PaperConfig {
        &self.config
    }

    /// The spec of a listed symbol.
    pub fn instrument(&self, symbol: Symbol) -> Option<&InstrumentSpec> {
        self.instruments.get(&symbol)
    }

    /// Sets the price market orders on `symbol` fill against.
    pub fn set_reference_price(&mut self, symbol: Symbol, price: Price) -> Result<(), PaperError> {
        if !self.instruments.contains_key(&symbol) {
            return Err(PaperError::UnknownSymbol(symbol));
        }
        if !price.is_positive() {
            return Err(PaperError::NonPositivePrice(symbol));
        }
        self.reference_prices.insert(symbol, price);
        Ok(())
    }

    /// Takes reference prices from this venue's market data: a quote's mid (rounded down to
    /// the tick; one side when the other is empty) or a bar's close. Other venues' events and
    /// unlisted symbols are ignored.
    pub fn on_market_event(&mut self, event: &MarketEvent) {
        if event.venue() != self.config.venue {
            return;
        }
        let (symbol, price) = match event {
            MarketEvent::Quote(q) => {
                let price = match (q.bid.is_positive(), q.ask.is_positive()) {
                    (true, true) => Price((q.bid.0 + q.ask.0) / 2),
                    (true, false) => q.bid,
                    (false, true) => q.ask,
                    (false, false) => return,
                };
                (q.symbol, price)
            }
            MarketEvent::Bar(b) => (b.symbol, b.close),
            MarketEvent::Status { .. } => return,
        };
        // Unlisted symbols and non-positive prices are not ours to price.
        let _ = self.set_reference_price(symbol, price);
    }

    /// The current reference price of a symbol.
    pub fn reference_price(&self, symbol: Symbol) -> Option<Price> {
        self.reference_prices.get(&symbol).copied()
    }

    /// The balance of an asset (0 if never held).
    pub fn balance(&self, asset: Asset) -> Amount {
        self.balances.get(&asset).copied().unwrap_or(Amount::ZERO)
    }

    /// The open short of a symbol.
    pub fn short_position(&self, symbol: Symbol) -> Option<&ShortPosition> {
        self.shorts.get(&symbol)
    }

    /// The ledger lines written so far (not yet taken).
    pub fn ledger(&self) -> &[LedgerEntry] {
        &self.ledger
    }

    /// Takes the ledger lines for the caller to write.
    pub fn take_ledger(&mut self) -> Vec<LedgerEntry> {
        std::mem::take(&mut self.ledger)
    }

    /// Takes the liquidations since the last call (feed them to
    /// [`PositionLedger::apply_forced_cover`](super::PositionLedger::apply_forced_cover)).
    pub fn take_liquidations(&mut self) -> Vec<Liquidation> {
        std::mem::take(&mut self.liquidations)
    }

    /// The account as the risk engine needs it, valued in `quote` at the reference prices:
    /// equity = `quote` cash + base holdings + Σ (short margin − short notional);
    /// available margin = cash + locked short margins; maintenance margin = the locked short
    /// margins (so available − maintenance is the free cash). Only instruments quoted in
    /// `quote` are valued (a base held under several of them is valued once, by the first
    /// symbol). `None` when a held base or short has no reference price yet.
    pub fn account_snapshot(&self, quote: Asset) -> Option<AccountSnapshot> {
        let cash = self.balance(quote);
        let mut equity = cash;
        let mut locked = Amount::ZERO;
        let mut valued = BTreeSet::new();
        for (symbol, spec) in self.instruments.iter().filter(|(_, s)| s.quote == quote) {
            let held = if valued.insert(spec.base) {
                self.balance(spec.base)
            } else {
                Amount::ZERO
            };
            let short = self.shorts.get(symbol).copied().unwrap_or_default();
            if held.is_zero() && short.qty.is_zero() {
                continue;
            }
            let price = self.reference_price(*symbol)?;
            equity += value_of_base(spec, held, price);
            equity += short.margin - spec.notional(price, short.qty);
            locked += short.margin;
        }
        Some(AccountSnapshot {
            total_equity: equity.to_units_f64(),
            available_margin: (cash + locked).to_units_f64(),
            maintenance_margin: locked.to_units_f64(),
        })
    }

    fn plan(&self, order: &OrderRequest) -> Result<PlannedFill, RejectReason> {
        if self.orders.contains_key(&order.client_order_id) {
            return Err(RejectReason::DuplicateClientOrderId);
        }
        let spec = self
            .instruments
            .get(&order.symbol)
            .ok_or(RejectReason::UnknownSymbol)?;
        let qty = order.qty;
        if !qty.is_positive() || qty < spec.min_qty {
            return Err(RejectReason::BelowMinQty);
        }
        let (reference, fee_bps, liquidity) = match order.kind {
            OrderKind::Limit { price } if !price.is_positive() => {
                return Err(RejectReason::BadTick);
            }
            OrderKind::Limit { price } => (price, self.config.maker_fee_bps, Liquidity::Maker),
            OrderKind::Market => (
                self.reference_price(order.symbol)
                    .ok_or(RejectReason::NoLiquidity)?,
                self.config.taker_fee_bps,
                Liquidity::Taker,
            ),
        };
        if spec.notional(reference, qty) < spec.min_notional {
            return Err(RejectReason::BelowMinNotional);
        }
        let slip = i128::from(self.config.slippage_bps);
        let ref_ticks = i128::from(reference.0);
        let price = match order.side {
            // Against the trader: a buy pays the next tick up, a sell gets the tick below.
            Side::Buy => Price(
                i64::try_from((ref_ticks * (10_000 + slip) + 9_999) / 10_000)
                    .map_err(|_| RejectReason::BadTick)?,
            ),
            Side::Sell => Price(
                i64::try_from((ref_ticks * (10_000 - slip) / 10_000).max(1))
                    .map_err(|_| RejectReason::BadTick)?,
            ),
        };
        let notional = spec.notional(price, qty);
        let fee = notional.bps_ceil(fee_bps);
        let quote = self.balance(spec.quote);
        let short = self.shorts.get(&order.symbol).copied().unwrap_or_default();
        let (quote_after, base_delta, short_after) = match order.side {
            Side::Buy => {
                let cover = qty.min(short.qty);
                let share = |amount: Amount| {
                    if cover == short.qty {
                        amount
                    } else {
                        Amount(amount.0 * i128::from(cover.0) / i128::from(short.qty.0))
                    }
                };
                let (margin_back, cost_back) = (share(short.margin), share(short.entry_cost));
                let short_after = ShortPosition {
                    qty: short.qty - cover,
                    entry_cost: short.entry_cost - cost_back,
                    margin: short.margin - margin_back,
                };
                (
                    quote - notional - fee + margin_back,
                    spec.base_amount(qty - cover),
                    short_after,
                )
            }
            Side::Sell => {
                let held_lots = (self.balance(spec.base).0 / i128::from(spec.lot_atoms)).max(0);
                let spot =
                    Qty(i64::try_from(held_lots.min(i128::from(qty.0))).expect("bounded by qty"));
                let rest = qty - spot;
                let rest_notional = spec.notional(price, rest);
                let leverage = i128::from(self.config.short_leverage);
                let margin = Amount((rest_notional.0 + leverage - 1) / leverage);
                let short_after = ShortPosition {
                    qty: short.qty + rest,
                    entry_cost: short.entry_cost + rest_notional,
                    margin: short.margin + margin,
                };
                (
                    quote + notional - fee - margin,
                    -spec.base_amount(spot),
                    short_after,
                )
            }
        };
        if quote_after.0 < 0 {
            return Err(RejectReason::InsufficientBalance);
        }
        Ok(PlannedFill {
            price,
            fee,
            liquidity,
            quote_after,
            base_delta,
            short_after,
        })
    }

    fn leverage_of(short: &ShortPosition, spec: &InstrumentSpec, price: Price) -> f64 {
        if short.qty.is_zero() || !short.margin.is_positive() {
            1.0
        } else {
            (spec.notional(price, short.qty).to_units_f64() / short.margin.to_units_f64()).max(1.0)
        }
    }

    fn position_value(&self, spec: &InstrumentSpec, price: Price) -> f64 {
        let short_base = self
            .shorts
            .get(&spec.symbol)
            .map_or(Amount::ZERO, |s| spec.base_amount(s.qty));
        value_of_base(spec, self.balance(spec.base) + short_base, price).to_units_f64()
    }

    /// The maintenance check of rule 7, at the price of the fill that just happened.
    fn check_maintenance(
        &mut self,
        now: SimTime,
        order: &OrderRequest,
        order_id: OrderId,
        price: Price,
    ) {
        let Some(short) = self.shorts.get(&order.symbol).copied() else {
            return;
        };
        let spec = self.instruments[&order.symbol].clone();
        let value = spec.notional(price, short.qty);
        let cushion = short.margin + short.entry_cost - value;
        if cushion >= bps_of(value, self.config.maintenance_margin_bps) {
            return;
        }
        self.shorts.remove(&order.symbol);
        *self.balances.entry(spec.quote).or_insert(Amount::ZERO) += short.margin - value;
        self.liquidations.push(Liquidation {
            at: now,
            symbol: order.symbol,
            qty: short.qty,
            price,
            margin_released: short.margin,
            triggered_by: order_id,
        });
        self.ledger.push(LedgerEntry {
            timestamp: now,
            order_id: format!("paper-{}", order_id.0),
            client_order_id: order.client_order_id,
            symbol: order.symbol,
            side: LedgerSide::Buy,
            quantity: spec.qty_to_f64(short.qty),
            price: spec.price_to_f64(price),
            fee: 0.0,
            fee_asset: Some(spec.quote),
            status: LedgerStatus::Liquidated,
            leverage: 1.0,
            position_value: self.position_value(&spec, price),
        });
    }

    fn report(
        now: SimTime,
        venue: VenueId,
        account: AccountId,
        symbol: Symbol,
        id: ClientOrderId,
        kind: ExecKind,
    ) -> ExecReport {
        ExecReport {
            at: now,
            venue,
            account,
            symbol,
            client_order_id: id,
            kind,
        }
    }
}

/// `base atoms × price`, in quote atoms (exact: the price is whole quote atoms per unit).
fn value_of_base(spec: &InstrumentSpec, base: Amount, price: Price) -> Amount {
    Amount(base.0 * i128::from(price.0) * i128::from(spec.tick_atoms) / i128::from(ATOMS_PER_UNIT))
}

impl Venue for PaperVenue {
    /// Fills or rejects at once (see the module doc).
    ///
    /// # Panics
    /// If the order is addressed to another venue: that is a routing bug in the caller.
    fn submit(&mut self, now: SimTime, order: &OrderRequest, out: &mut Vec<ExecReport>) {
        assert_eq!(
            order.venue, self.config.venue,
            "order {} for venue {} was routed to paper venue {}",
            order.client_order_id, order.venue, self.config.venue
        );
        let report = |kind| {
            PaperVenue::report(
                now,
                order.venue,
                order.account,
                order.symbol,
                order.client_order_id,
                kind,
            )
        };
        let fill = match self.plan(order) {
            Ok(fill) => fill,
            Err(reason) => {
                out.push(report(ExecKind::Reject { reason }));
                return;
            }
        };
        let spec = self.instruments[&order.symbol].clone();
        self.last_order += 1;
        let order_id = OrderId(self.last_order);
        self.orders.insert(order.client_order_id, order_id);
        self.balances.insert(spec.quote, fill.quote_after);
        *self.balances.entry(spec.base).or_insert(Amount::ZERO) += fill.base_delta;
        if fill.short_after.qty.is_zero() {
            self.shorts.remove(&order.symbol);
        } else {
            self.shorts.insert(order.symbol, fill.short_after);
        }
        self.ledger.push(LedgerEntry {
            timestamp: now,
            order_id: format!("paper-{}", order_id.0),
            client_order_id: order.client_order_id,
            symbol: order.symbol,
            side: match order.side {
                Side::Buy => LedgerSide::Buy,
                Side::Sell => LedgerSide::Sell,
            },
            quantity: spec.qty_to_f64(order.qty),
            price: spec.price_to_f64(fill.price),
            fee: fill.fee.to_units_f64(),
            fee_asset: Some(spec.quote),
            status: LedgerStatus::Filled,
            leverage: PaperVenue::leverage_of(&fill.short_after, &spec, fill.price),
            position_value: self.position_value(&spec, fill.price),
        });
        out.push(report(ExecKind::Ack { order_id }));
        out.push(report(ExecKind::Fill {
            price: fill.price,
            qty: order.qty,
            fee: fill.fee,
            fee_asset: spec.quote,
            liquidity: fill.liquidity,
            leaves: Qty::ZERO,
        }));
        self.check_maintenance(now, order, order_id, fill.price);
    }

    /// Nothing rests on a paper venue: records the cancel in the ledger and answers
    /// `UnknownOrder`.
    fn cancel(&mut self, now: SimTime, cancel: &CancelRequest, out: &mut Vec<ExecReport>) {
        let order_id = self.orders.get(&cancel.client_order_id).map_or_else(
            || format!("client-{}", cancel.client_order_id),
            |id| format!("paper-{}", id.0),
        );
        self.ledger.push(LedgerEntry {
            timestamp: now,
            order_id,
            client_order_id: cancel.client_order_id,
            symbol: cancel.symbol,
            side: LedgerSide::Cancel,
            quantity: 0.0,
            price: 0.0,
            fee: 0.0,
            fee_asset: self.instruments.get(&cancel.symbol).map(|s| s.quote),
            status: LedgerStatus::Cancelled,
            leverage: 1.0,
            position_value: 0.0,
        });
        out.push(PaperVenue::report(
            now,
            cancel.venue,
            cancel.account,
            cancel.symbol,
            cancel.client_order_id,
            ExecKind::Reject {
                reason: RejectReason::UnknownOrder,
            },
        ));
    }
}
