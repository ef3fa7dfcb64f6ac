//! Orders the engine sends to a venue.

use serde::{Deserialize, Serialize};

use super::ids::{AccountId, ClientOrderId, StrategyId, Symbol, VenueId};
use super::num::{Price, Qty};

/// Buy or sell.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// Buy the base asset.
    Buy,
    /// Sell the base asset.
    Sell,
}

impl Side {
    /// The other side.
    pub fn opposite(self) -> Side {
        match self {
            Side::Buy => Side::Sell,
            Side::Sell => Side::Buy,
        }
    }

    /// +1 for a buy, −1 for a sell.
    pub fn sign(self) -> i64 {
        match self {
            Side::Buy => 1,
            Side::Sell => -1,
        }
    }

    /// `buy` / `sell`, as the reference writes sides.
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Buy => "buy",
            Side::Sell => "sell",
        }
    }
}

/// Market or limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum OrderKind {
    /// Take whatever the book offers now; never rests.
    Market,
    /// Trade at `price` or better.
    Limit {
        /// The limit, in ticks.
        price: Price,
    },
}

/// How long a limit order may live, and whether it may take liquidity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeInForce {
    /// Good till cancelled: whatever does not match rests on the book.
    Gtc,
    /// Immediate or cancel: match what is possible now, expire the rest.
    Ioc,
    /// Rest only: rejected if it would match on arrival (maker-only).
    PostOnly,
}

/// A new order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderRequest {
    /// Engine-side id; reports echo it.
    pub client_order_id: ClientOrderId,
    /// The account whose balances pay for it.
    pub account: AccountId,
    /// Where to send it.
    pub venue: VenueId,
    /// What to trade.
    pub symbol: Symbol,
    /// Buy or sell.
    pub side: Side,
    /// Market or limit.
    pub kind: OrderKind,
    /// Lifetime rule (ignored for market orders, which behave as IOC).
    pub tif: TimeInForce,
    /// Quantity in lots; must be positive.
    pub qty: Qty,
    /// The strategy (schedule) it is for, for attribution.
    pub strategy: StrategyId,
}

/// A request to cancel a resting order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CancelRequest {
    /// The order to cancel.
    pub client_order_id: ClientOrderId,
    /// Its account.
    pub account: AccountId,
    /// Its venue.
    pub venue: VenueId,
    /// Its symbol.
    pub symbol: Symbol,
}
