//! Builders for test worlds: venues, symbols, funded accounts, fast deterministic latency.

#![allow(dead_code)]

use stage4_engine::domain::{
    AccountId, Amount, Asset, CancelRequest, ClientOrderId, OrderKind, OrderRequest, Price, Qty,
    Side, SimDuration, SimTime, StrategyId, Symbol, TimeInForce, VenueId,
};
use stage4_sim::config::{AccountConfig, Units};
use stage4_sim::exchange::latency::LatencyModel;
use stage4_sim::{Delivery, Sim, SimConfig};

pub fn t0() -> SimTime {
    SimTime::parse_rfc3339("2026-01-05T00:00:00Z").unwrap()
}

pub fn venue(name: &str) -> VenueId {
    VenueId::new(name).unwrap()
}

pub fn sym(name: &str) -> Symbol {
    Symbol::new(name).unwrap()
}

pub fn asset(name: &str) -> Asset {
    Asset::new(name).unwrap()
}

pub fn config(seed: u64, venues: &[&str], symbols: &[&str], duration: SimDuration) -> SimConfig {
    let venues: Vec<VenueId> = venues.iter().map(|v| venue(v)).collect();
    let symbols: Vec<Symbol> = symbols.iter().map(|s| sym(s)).collect();
    SimConfig::new(seed, t0(), duration, &venues, &symbols)
}

/// Every latency constant: orders and reports `ms` milliseconds, market data 10 ms.
pub fn constant_latency(cfg: &mut SimConfig, ms: u64) {
    for v in &mut cfg.venues {
        v.latency.order_entry = LatencyModel::Constant {
            latency: SimDuration::from_millis(ms),
        };
        v.latency.reports = LatencyModel::Constant {
            latency: SimDuration::from_millis(ms),
        };
        v.latency.market_data = LatencyModel::Constant {
            latency: SimDuration::from_millis(10),
        };
    }
}

pub fn fund(cfg: &mut SimConfig, account: u32, venue_name: &str, balances: &[(&str, &str)]) {
    cfg.accounts.push(AccountConfig {
        account: AccountId(account),
        venue: venue(venue_name),
        balances: balances
            .iter()
            .map(|(a, units)| (asset(a), Units(Amount::parse_units(units).unwrap())))
            .collect(),
    });
}

#[allow(clippy::too_many_arguments)] // mirrors OrderRequest's fields for readable tables
pub fn order(
    cid: u64,
    account: u32,
    venue_name: &str,
    symbol: &str,
    side: Side,
    kind: OrderKind,
    tif: TimeInForce,
    qty: i64,
) -> OrderRequest {
    OrderRequest {
        client_order_id: ClientOrderId(cid),
        account: AccountId(account),
        venue: venue(venue_name),
        symbol: sym(symbol),
        side,
        kind,
        tif,
        qty: Qty(qty),
        strategy: StrategyId::new("test").unwrap(),
    }
}

pub fn limit(price: i64) -> OrderKind {
    OrderKind::Limit {
        price: Price(price),
    }
}

pub fn cancel(cid: u64, account: u32, venue_name: &str, symbol: &str) -> CancelRequest {
    CancelRequest {
        client_order_id: ClientOrderId(cid),
        account: AccountId(account),
        venue: venue(venue_name),
        symbol: sym(symbol),
    }
}

/// Every delivery until the end of the run.
pub fn drain(sim: &mut Sim) -> Vec<Delivery> {
    std::iter::from_fn(|| sim.step()).collect()
}

/// Deliveries up to and including `limit`.
pub fn drain_until(sim: &mut Sim, limit: SimTime) -> Vec<Delivery> {
    std::iter::from_fn(|| sim.step_until(limit)).collect()
}
