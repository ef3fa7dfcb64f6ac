//! Market data as the engine sees it: bars, top-of-book quotes and venue status.

use serde::{Deserialize, Serialize};

use super::ids::{Symbol, VenueId};
use super::num::{Price, Qty};
use super::time::{SimDuration, SimTime};

/// One OHLCV bar of one symbol on one venue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bar {
    /// Where it traded.
    pub venue: VenueId,
    /// What traded.
    pub symbol: Symbol,
    /// Start of the bar's interval.
    pub open_at: SimTime,
    /// Length of the interval (1 s … 1 d).
    pub interval: SimDuration,
    /// First price of the interval.
    pub open: Price,
    /// Highest price.
    pub high: Price,
    /// Lowest price.
    pub low: Price,
    /// Last price.
    pub close: Price,
    /// Traded quantity over the interval.
    pub volume: Qty,
}

impl Bar {
    /// The instant the bar is complete and can be published.
    pub fn close_at(&self) -> SimTime {
        self.open_at + self.interval
    }
}

/// Best bid and offer of one symbol on one venue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quote {
    /// Where.
    pub venue: VenueId,
    /// What.
    pub symbol: Symbol,
    /// Venue timestamp of this book state (may trail the delivery time under feed delay).
    pub at: SimTime,
    /// Best bid price.
    pub bid: Price,
    /// Quantity at the best bid.
    pub bid_qty: Qty,
    /// Best ask price.
    pub ask: Price,
    /// Quantity at the best ask.
    pub ask_qty: Qty,
}

/// Whether a venue accepts orders and publishes data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VenueStatus {
    /// Trading normally.
    Up,
    /// Outage: no data, orders rejected with `VenueDown`.
    Down,
}

/// Anything the market tells the engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum MarketEvent {
    /// A new top of book.
    Quote(Quote),
    /// A completed bar.
    Bar(Bar),
    /// A venue went up or down.
    Status {
        /// Which venue.
        venue: VenueId,
        /// When.
        at: SimTime,
        /// Its new status.
        status: VenueStatus,
    },
}

impl MarketEvent {
    /// The venue timestamp of the event (for a bar, its close).
    pub fn at(&self) -> SimTime {
        match self {
            MarketEvent::Quote(q) => q.at,
            MarketEvent::Bar(b) => b.close_at(),
            MarketEvent::Status { at, .. } => *at,
        }
    }

    /// The venue the event comes from.
    pub fn venue(&self) -> VenueId {
        match self {
            MarketEvent::Quote(q) => q.venue,
            MarketEvent::Bar(b) => b.venue,
            MarketEvent::Status { venue, .. } => *venue,
        }
    }

    /// The symbol, when the event is about one.
    pub fn symbol(&self) -> Option<Symbol> {
        match self {
            MarketEvent::Quote(q) => Some(q.symbol),
            MarketEvent::Bar(b) => Some(b.symbol),
            MarketEvent::Status { .. } => None,
        }
    }
}
