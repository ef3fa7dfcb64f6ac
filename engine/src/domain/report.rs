//! What a venue answers. A reject is a value here, not an error: market outcomes are data.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::ids::{AccountId, Asset, ClientOrderId, OrderId, Symbol, VenueId};
use super::num::{Amount, Price, Qty};
use super::time::SimTime;

/// Which side of the trade provided liquidity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Liquidity {
    /// The order rested on the book and was hit.
    Maker,
    /// The order crossed the book.
    Taker,
}

/// Why a venue refused an order or a cancel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectReason {
    /// The account cannot pay for it (quote for buys, base for sells, fees included).
    InsufficientBalance,
    /// Notional under the instrument's minimum.
    BelowMinNotional,
    /// Quantity under the instrument's minimum (or not positive).
    BelowMinQty,
    /// Limit price not positive or not on the tick grid.
    BadTick,
    /// Quantity not a whole number of lots.
    BadLot,
    /// Too many requests in the venue's rate window.
    RateLimited,
    /// The venue is in an outage.
    VenueDown,
    /// A post-only order would have taken liquidity.
    PostOnlyWouldCross,
    /// The venue does not list the symbol.
    UnknownSymbol,
    /// Cancel of an order the venue does not know (or that already finished).
    UnknownOrder,
    /// The client order id is already in use on this venue.
    DuplicateClientOrderId,
    /// A market order found no liquidity on the other side.
    NoLiquidity,
    /// Refused by an injected reject storm (a simulated venue malfunction).
    VenueError,
}

impl RejectReason {
    /// Snake-case name, as written in reports and the decision log.
    pub fn as_str(self) -> &'static str {
        match self {
            RejectReason::InsufficientBalance => "insufficient_balance",
            RejectReason::BelowMinNotional => "below_min_notional",
            RejectReason::BelowMinQty => "below_min_qty",
            RejectReason::BadTick => "bad_tick",
            RejectReason::BadLot => "bad_lot",
            RejectReason::RateLimited => "rate_limited",
            RejectReason::VenueDown => "venue_down",
            RejectReason::PostOnlyWouldCross => "post_only_would_cross",
            RejectReason::UnknownSymbol => "unknown_symbol",
            RejectReason::UnknownOrder => "unknown_order",
            RejectReason::DuplicateClientOrderId => "duplicate_client_order_id",
            RejectReason::NoLiquidity => "no_liquidity",
            RejectReason::VenueError => "venue_error",
        }
    }
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The outcome an [`ExecReport`] carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ExecKind {
    /// Accepted; `order_id` is the venue's id for it.
    Ack {
        /// Venue-assigned id.
        order_id: OrderId,
    },
    /// Refused (the order never existed on the book, or the cancel did nothing).
    Reject {
        /// Why.
        reason: RejectReason,
    },
    /// (Part of) the order traded.
    Fill {
        /// Execution price.
        price: Price,
        /// Quantity traded in this fill.
        qty: Qty,
        /// Fee charged for this fill, in `fee_asset` atoms.
        fee: Amount,
        /// The asset the fee is charged in (the quote asset).
        fee_asset: Asset,
        /// Maker or taker.
        liquidity: Liquidity,
        /// Quantity still open after this fill.
        leaves: Qty,
    },
    /// Cancelled on request; `leaves` was open and is now dead.
    Cancelled {
        /// Quantity that was still open.
        leaves: Qty,
    },
    /// Ended by its time in force (the unmatched rest of an IOC or market order).
    Expired {
        /// Quantity that did not trade.
        leaves: Qty,
    },
}

/// One message from a venue about one order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecReport {
    /// Venue time of the event (delivery to the engine may be later).
    pub at: SimTime,
    /// Which venue.
    pub venue: VenueId,
    /// Which account.
    pub account: AccountId,
    /// Which instrument.
    pub symbol: Symbol,
    /// The engine's id of the order.
    pub client_order_id: ClientOrderId,
    /// What happened.
    pub kind: ExecKind,
}

impl ExecReport {
    /// True when the order can receive no further reports (rejected, filled out, cancelled, expired).
    pub fn is_terminal(&self) -> bool {
        match self.kind {
            ExecKind::Ack { .. } => false,
            ExecKind::Fill { leaves, .. } => leaves.is_zero(),
            ExecKind::Reject { .. } | ExecKind::Cancelled { .. } | ExecKind::Expired { .. } => true,
        }
    }
}
