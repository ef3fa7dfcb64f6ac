//! The three Stage4 strategies and their run metrics, against the reference's golden vectors
//! (engine.md §7.4), hand-computed expectations and property tests.

mod arbitrage;
mod mean_reversion;
mod metrics;
mod props;
mod volatility;

use stage4_engine::domain::{SimDuration, SimTime, Symbol, VenueId};
use stage4_engine::strategy::{CrossQuotes, MarketSnapshot, Signal, Strategy};

/// A symbol from a literal.
pub fn sym(name: &str) -> Symbol {
    Symbol::new(name).unwrap()
}

/// A venue from a literal.
pub fn venue(name: &str) -> VenueId {
    VenueId::new(name).unwrap()
}

/// A flat bar (open = high = low = close) at `t` seconds since the epoch.
pub fn bar(symbol: &str, t: u64, close: f64, volume: f64) -> MarketSnapshot {
    MarketSnapshot {
        symbol: sym(symbol),
        at: SimTime::from_unix_secs(t),
        open: close,
        high: close,
        low: close,
        close,
        volume,
        cross: None,
    }
}

/// A bar with primary/secondary quotes whose close is the primary ask and whose secondary
/// quote is `lag` old, like the reference's arbitrage fixture.
pub fn quotes_bar(
    symbol: &str,
    t: u64,
    (primary_bid, primary_ask, secondary_bid, secondary_ask): (f64, f64, f64, f64),
    lag: SimDuration,
) -> MarketSnapshot {
    let at = SimTime::from_unix_secs(t);
    MarketSnapshot {
        cross: Some(CrossQuotes {
            primary_bid,
            primary_ask,
            secondary_bid,
            secondary_ask,
            secondary_at: at.checked_sub(lag).unwrap(),
        }),
        open: primary_bid,
        high: primary_ask,
        low: primary_bid,
        ..bar(symbol, t, primary_ask, 1_000_000.0)
    }
}

/// Feeds one snapshot and returns what it produced.
pub fn step(strategy: &mut dyn Strategy, snapshot: &MarketSnapshot) -> Vec<Signal> {
    let mut out = Vec::new();
    strategy.on_data(snapshot, &mut out).unwrap();
    out
}
