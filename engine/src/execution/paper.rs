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

    /// Takes reference prices from this venue's market data, at
    /// [`mark_price_of`](super::positions::mark_price_of) (quote mid, bar close). Other
    /// venues' events and unlisted symbols are ignored.
    pub fn on_market_event(&mut self, event: &MarketEvent) {
        if event.venue() != self.config.venue {
            return;
        }
        if let (Some(symbol), Some(price)) =
            (event.symbol(), super::positions::mark_price_of(event))
            && self.instruments.contains_key(&symbol)
        {
            self.reference_prices.insert(symbol, price);
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::TimeInForce;

    fn btc() -> InstrumentSpec {
        // Tick 0.01 USDT, lot 0.001 BTC, min 1 lot, min notional 10 USDT.
        InstrumentSpec::new(
            Symbol::new("BTC_USDT").unwrap(),
            Asset::new("BTC").unwrap(),
            Asset::new("USDT").unwrap(),
            "0.01",
            "0.001",
            Qty(1),
            Amount::from_units(10),
        )
        .unwrap()
    }

    fn usdt() -> Asset {
        Asset::new("USDT").unwrap()
    }

    fn base() -> Asset {
        Asset::new("BTC").unwrap()
    }

    fn sym() -> Symbol {
        Symbol::new("BTC_USDT").unwrap()
    }

    fn t0() -> SimTime {
        SimTime::parse_rfc3339("2026-12-01T10:00:00Z").unwrap()
    }

    fn venue_with(profile: &str, balances: &[(Asset, Amount)]) -> PaperVenue {
        PaperVenue::new(
            PaperConfig::new(VenueId::new("paper").unwrap(), profile),
            [btc()],
            balances.iter().copied(),
        )
        .unwrap()
    }

    fn venue() -> PaperVenue {
        venue_with("balanced", &[(usdt(), Amount::from_units(100_000))])
    }

    fn order(id: u64, side: Side, kind: OrderKind, lots: i64) -> OrderRequest {
        OrderRequest {
            client_order_id: ClientOrderId(id),
            account: AccountId(1),
            venue: VenueId::new("paper").unwrap(),
            symbol: sym(),
            side,
            kind,
            tif: TimeInForce::Gtc,
            qty: Qty(lots),
            strategy: crate::domain::StrategyId::new("s").unwrap(),
        }
    }

    fn submit(v: &mut PaperVenue, o: &OrderRequest) -> Vec<ExecReport> {
        let mut out = Vec::new();
        v.submit(t0(), o, &mut out);
        out
    }

    /// Submits a limit order and returns its outcome.
    fn limit(
        v: &mut PaperVenue,
        id: u64,
        side: Side,
        price: Price,
        lots: i64,
    ) -> Result<(Price, Qty, Amount, Liquidity), RejectReason> {
        outcome(&submit(
            v,
            &order(id, side, OrderKind::Limit { price }, lots),
        ))
    }

    /// (price, qty, fee, liquidity) of the fill in `reports`, or the reject reason.
    fn outcome(reports: &[ExecReport]) -> Result<(Price, Qty, Amount, Liquidity), RejectReason> {
        match reports {
            [
                ExecReport {
                    kind: ExecKind::Ack { .. },
                    ..
                },
                ExecReport {
                    kind:
                        ExecKind::Fill {
                            price,
                            qty,
                            fee,
                            liquidity,
                            leaves,
                            ..
                        },
                    ..
                },
            ] => {
                assert_eq!(*leaves, Qty::ZERO, "paper fills are full");
                Ok((*price, *qty, *fee, *liquidity))
            }
            [
                ExecReport {
                    kind: ExecKind::Reject { reason },
                    ..
                },
            ] => Err(*reason),
            other => panic!("unexpected reports {other:?}"),
        }
    }

    #[test]
    fn fill_price_and_fee_rounded_against_the_trader() {
        // Reference 33 333.33: ×1.0005 = 33 349.9999… (buy pays 33 350.00), ×0.9995 =
        // 33 316.6633… (sell gets 33 316.66). 1 BTC.
        let reference = Price(3_333_333);
        let cases = [
            (
                "market buy pays taker",
                Side::Buy,
                OrderKind::Market,
                Price(3_335_000),
                6,
                Liquidity::Taker,
            ),
            (
                "market sell pays taker",
                Side::Sell,
                OrderKind::Market,
                Price(3_331_666),
                6,
                Liquidity::Taker,
            ),
            (
                "limit buy pays maker",
                Side::Buy,
                OrderKind::Limit { price: reference },
                Price(3_335_000),
                4,
                Liquidity::Maker,
            ),
            (
                "limit sell pays maker",
                Side::Sell,
                OrderKind::Limit { price: reference },
                Price(3_331_666),
                4,
                Liquidity::Maker,
            ),
        ];
        for (name, side, kind, want_price, fee_bps, want_liquidity) in cases {
            let mut v = venue_with(
                "balanced",
                &[
                    (usdt(), Amount::from_units(100_000)),
                    (base(), Amount::from_units(1)),
                ],
            );
            v.set_reference_price(sym(), reference).unwrap();
            let (price, qty, fee, liquidity) =
                outcome(&submit(&mut v, &order(1, side, kind, 1_000))).unwrap();
            assert_eq!(price, want_price, "{name}");
            assert_eq!(qty, Qty(1_000), "{name}");
            assert_eq!(liquidity, want_liquidity, "{name}");
            let notional = btc().notional(price, qty);
            assert_eq!(fee, notional.bps_ceil(fee_bps), "{name}");
            // 33 350 × 6 bp = 20.01 exactly; the sell side is rounded up to the atom.
            if name == "market buy pays taker" {
                assert_eq!(fee, Amount::parse_units("20.01").unwrap());
            }
        }
    }

    #[test]
    fn every_reject_reason_leaves_the_books_untouched() {
        let mut v = venue();
        v.set_reference_price(sym(), Price(5_000_000)).unwrap();
        assert!(outcome(&submit(&mut v, &order(7, Side::Buy, OrderKind::Market, 1))).is_ok());
        let before = (v.balance(usdt()), v.balance(base()), v.ledger().len());
        let other = OrderRequest {
            symbol: Symbol::new("ETH_USDT").unwrap(),
            ..order(2, Side::Buy, OrderKind::Market, 1)
        };
        let cases = [
            (
                "reused client id",
                order(7, Side::Buy, OrderKind::Market, 1),
                RejectReason::DuplicateClientOrderId,
            ),
            ("unlisted symbol", other, RejectReason::UnknownSymbol),
            (
                "zero quantity",
                order(3, Side::Buy, OrderKind::Market, 0),
                RejectReason::BelowMinQty,
            ),
            (
                "limit at zero",
                order(4, Side::Buy, OrderKind::Limit { price: Price(0) }, 1),
                RejectReason::BadTick,
            ),
            // 0.001 BTC at 5 000.00 = 5 USDT < 10.
            (
                "below min notional",
                order(
                    5,
                    Side::Buy,
                    OrderKind::Limit {
                        price: Price(500_000),
                    },
                    1,
                ),
                RejectReason::BelowMinNotional,
            ),
            // 3 BTC at 50 025 > 100 000 USDT.
            (
                "cannot pay",
                order(6, Side::Buy, OrderKind::Market, 3_000),
                RejectReason::InsufficientBalance,
            ),
        ];
        for (name, o, reason) in cases {
            assert_eq!(outcome(&submit(&mut v, &o)), Err(reason), "{name}");
            assert_eq!(
                (v.balance(usdt()), v.balance(base()), v.ledger().len()),
                before,
                "{name}"
            );
        }
        // Below a min quantity larger than one lot.
        let mut spec = btc();
        spec.min_qty = Qty(10);
        let mut v = PaperVenue::new(
            PaperConfig::new(VenueId::new("paper").unwrap(), "balanced"),
            [spec],
            [(usdt(), Amount::from_units(100_000))],
        )
        .unwrap();
        v.set_reference_price(sym(), Price(5_000_000)).unwrap();
        assert_eq!(
            outcome(&submit(&mut v, &order(1, Side::Buy, OrderKind::Market, 9))),
            Err(RejectReason::BelowMinQty)
        );
        // A market order with no reference price has nothing to fill against.
        let mut v = venue();
        assert_eq!(
            outcome(&submit(&mut v, &order(1, Side::Buy, OrderKind::Market, 1))),
            Err(RejectReason::NoLiquidity)
        );
    }

    #[test]
    fn accepted_orders_get_sequential_paper_ids() {
        let mut v = venue();
        v.set_reference_price(sym(), Price(5_000_000)).unwrap();
        let mut ids = Vec::new();
        for (client, lots) in [(10, 1), (11, 0), (12, 1), (13, 2)] {
            let reports = submit(&mut v, &order(client, Side::Buy, OrderKind::Market, lots));
            if let ExecKind::Ack { order_id } = reports[0].kind {
                ids.push(order_id);
            }
        }
        // The rejected order (0 lots) takes no id.
        assert_eq!(ids, [OrderId(1), OrderId(2), OrderId(3)]);
        let ledger_ids: Vec<&str> = v.ledger().iter().map(|e| e.order_id.as_str()).collect();
        assert_eq!(ledger_ids, ["paper-1", "paper-2", "paper-3"]);
    }

    #[test]
    fn spot_is_sold_before_a_short_opens_and_buys_cover_first() {
        let mut v = venue_with(
            "balanced",
            &[
                (usdt(), Amount::from_units(100_000)),
                (base(), Amount::from_units(1) / 2),
            ],
        );
        // Sell 1 BTC at limit 50 000 → fill 49 975: 0.5 from spot, 0.5 short.
        let (price, _, fee, _) = limit(&mut v, 1, Side::Sell, Price(5_000_000), 1_000).unwrap();
        assert_eq!(price, Price(4_997_500));
        let spec = btc();
        let proceeds = spec.notional(price, Qty(1_000));
        let margin = spec.notional(price, Qty(500)); // unlevered short: the full notional is locked
        assert_eq!(v.balance(base()), Amount::ZERO);
        assert_eq!(
            *v.short_position(sym()).unwrap(),
            ShortPosition {
                qty: Qty(500),
                entry_cost: margin,
                margin
            }
        );
        assert_eq!(
            v.balance(usdt()),
            Amount::from_units(100_000) + proceeds - fee - margin
        );
        assert_eq!(v.ledger()[0].leverage, 1.0);
        assert_eq!(
            v.ledger()[0].position_value,
            spec.notional(price, Qty(500)).to_units_f64()
        );

        // Buy 0.7 BTC at limit 40 000 → fill 40 020: covers the 0.5 short (releasing all its
        // margin), 0.2 goes to spot.
        let cash = v.balance(usdt());
        let (price, _, fee, _) = limit(&mut v, 2, Side::Buy, Price(4_000_000), 700).unwrap();
        assert_eq!(price, Price(4_002_000));
        assert!(v.short_position(sym()).is_none());
        assert_eq!(v.balance(base()), Amount::from_units(1) / 5);
        assert_eq!(
            v.balance(usdt()),
            cash - spec.notional(price, Qty(700)) - fee + margin
        );
    }

    #[test]
    fn partial_cover_releases_margin_pro_rata() {
        let mut v = venue();
        limit(&mut v, 1, Side::Sell, Price(5_000_000), 3).unwrap();
        let short = *v.short_position(sym()).unwrap();
        limit(&mut v, 2, Side::Buy, Price(5_000_000), 1).unwrap();
        let after = *v.short_position(sym()).unwrap();
        assert_eq!(after.qty, Qty(2));
        assert_eq!(after.margin, Amount(short.margin.0 - short.margin.0 / 3));
        assert_eq!(
            after.entry_cost,
            Amount(short.entry_cost.0 - short.entry_cost.0 / 3)
        );
    }

    #[test]
    fn maintenance_margin_liquidates_a_squeezed_short() {
        // Balanced ratio 20 %: an unlevered short at E is liquidated once 2E − V < 0.2 V, i.e.
        // when the price is above 5/3 of the entry.
        assert_eq!(maintenance_margin_bps("balanced"), 2_000);
        let mut v = venue();
        let spec = btc();
        limit(&mut v, 1, Side::Sell, Price(5_000_000), 1_000).unwrap();

        // A small buy at 80 000 (fill 80 040 < 5/3 × 49 975 = 83 291.67): covers one lot, no
        // liquidation.
        limit(&mut v, 2, Side::Buy, Price(8_000_000), 1).unwrap();
        assert_eq!(v.short_position(sym()).unwrap().qty, Qty(999));
        assert!(v.take_liquidations().is_empty());

        // Another at 90 000 (fill 90 045): the remaining 0.998 BTC are bought back.
        let cash = v.balance(usdt());
        let short = *v.short_position(sym()).unwrap();
        let (squeeze, _, fee3, _) = limit(&mut v, 3, Side::Buy, Price(9_000_000), 1).unwrap();
        let left = short.qty - Qty(1);
        let margin_left = Amount(short.margin.0 - short.margin.0 / 999);
        let liquidations = v.take_liquidations();
        assert_eq!(
            liquidations,
            [Liquidation {
                at: t0(),
                symbol: sym(),
                qty: left,
                price: squeeze,
                margin_released: margin_left,
                triggered_by: OrderId(3),
            }]
        );
        assert!(v.short_position(sym()).is_none());
        let cover_one = spec.notional(squeeze, Qty(1));
        let released_one = Amount(short.margin.0 / 999);
        assert_eq!(
            v.balance(usdt()),
            cash - cover_one - fee3 + released_one + margin_left - spec.notional(squeeze, left)
        );
        let last = v.ledger().last().unwrap();
        assert_eq!(
            (last.status, last.side, last.fee),
            (LedgerStatus::Liquidated, LedgerSide::Buy, 0.0)
        );
        assert_eq!(last.order_id, "paper-3");
    }

    #[test]
    fn levered_shorts_below_the_ratio_are_liquidated_at_once() {
        // 5× leverage locks 20 % of the notional; conservative wants 30 %.
        let mut config = PaperConfig::new(VenueId::new("paper").unwrap(), "conservative");
        config.short_leverage = 5;
        let mut v = PaperVenue::new(
            config.clone(),
            [btc()],
            [(usdt(), Amount::from_units(100_000))],
        )
        .unwrap();
        limit(&mut v, 1, Side::Sell, Price(5_000_000), 100).unwrap();
        assert_eq!(v.take_liquidations().len(), 1);
        // Balanced wants exactly 20 %: kept.
        config.maintenance_margin_bps = maintenance_margin_bps("balanced");
        let mut v =
            PaperVenue::new(config, [btc()], [(usdt(), Amount::from_units(100_000))]).unwrap();
        limit(&mut v, 1, Side::Sell, Price(5_000_000), 100).unwrap();
        assert!(v.take_liquidations().is_empty());
        assert_eq!(v.ledger()[0].leverage, 5.0);
    }

    #[test]
    fn cancels_find_nothing_resting() {
        let mut v = venue();
        v.set_reference_price(sym(), Price(5_000_000)).unwrap();
        outcome(&submit(&mut v, &order(1, Side::Buy, OrderKind::Market, 1))).unwrap();
        let mut out = Vec::new();
        let cancel = CancelRequest {
            client_order_id: ClientOrderId(1),
            account: AccountId(1),
            venue: VenueId::new("paper").unwrap(),
            symbol: sym(),
        };
        v.cancel(t0(), &cancel, &mut out);
        assert_eq!(
            out[0].kind,
            ExecKind::Reject {
                reason: RejectReason::UnknownOrder
            }
        );
        let line = v.ledger().last().unwrap();
        assert_eq!(
            (line.side, line.status, line.order_id.as_str()),
            (LedgerSide::Cancel, LedgerStatus::Cancelled, "paper-1")
        );
    }

    #[test]
    fn account_snapshot_values_holdings_and_shorts() {
        let mut v = venue_with(
            "balanced",
            &[
                (usdt(), Amount::from_units(10_000)),
                (base(), Amount::from_units(1)),
            ],
        );
        assert_eq!(v.account_snapshot(usdt()), None, "BTC held but not priced");
        v.set_reference_price(sym(), Price(5_000_000)).unwrap();
        let snap = v.account_snapshot(usdt()).unwrap();
        assert_eq!(
            (
                snap.total_equity,
                snap.available_margin,
                snap.maintenance_margin
            ),
            (60_000.0, 10_000.0, 0.0)
        );
        // Sell 2 BTC at limit 50 000 (fill 49 975): 1 spot, 1 short.
        limit(&mut v, 1, Side::Sell, Price(5_000_000), 2_000).unwrap();
        let snap = v.account_snapshot(usdt()).unwrap();
        let fee = 2.0 * 49_975.0 * 0.0004;
        // Cash 10 000 + 99 950 − fee − 49 975 margin; short worth margin − 50 000.
        assert!(
            (snap.total_equity - (10_000.0 + 99_950.0 - fee - 50_000.0)).abs() < 1e-6,
            "{snap:?}"
        );
        assert!((snap.maintenance_margin - 49_975.0).abs() < 1e-9);
        assert!(
            (snap.available_margin - snap.maintenance_margin - v.balance(usdt()).to_units_f64())
                .abs()
                < 1e-9
        );
    }

    #[test]
    fn market_data_sets_reference_prices_for_this_venue_only() {
        let mut v = venue();
        let quote = |venue: &str| {
            MarketEvent::Quote(crate::domain::Quote {
                venue: VenueId::new(venue).unwrap(),
                symbol: sym(),
                at: t0(),
                bid: Price(100),
                bid_qty: Qty(1),
                ask: Price(103),
                ask_qty: Qty(1),
            })
        };
        v.on_market_event(&quote("other"));
        assert_eq!(v.reference_price(sym()), None);
        v.on_market_event(&quote("paper"));
        assert_eq!(v.reference_price(sym()), Some(Price(101)));
    }

    #[test]
    fn setup_errors_and_file_names() {
        let mut bad = PaperConfig::new(VenueId::new("paper").unwrap(), "x");
        assert_eq!(
            bad.maintenance_margin_bps, 2_500,
            "unknown profiles use 25 %"
        );
        bad.slippage_bps = 10_000;
        let err = PaperVenue::new(bad, [btc()], []).unwrap_err();
        assert_eq!(
            err.to_string(),
            "paper venue: slippage_bps = 10000; expected < 10000"
        );
        let err = PaperVenue::new(
            PaperConfig::new(VenueId::new("paper").unwrap(), "x"),
            [btc(), btc()],
            [],
        )
        .unwrap_err();
        assert_eq!(err, PaperError::DuplicateSymbol(sym()));
        assert_eq!(ledger_file_name(t0()), "ledger-20261201.jsonl");
    }
}
