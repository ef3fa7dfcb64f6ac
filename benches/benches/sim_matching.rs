//! Order submit → match → report, on a 10-level book.
//!
//! One iteration sends 1 000 alternating market buys and sells of 10 lots (each fills at the
//! best level: one ack and one fill report):
//! - `exchange`: straight into the venue's matching engine (validation, funds, matching,
//!   balances, reports);
//! - `sim`: through the world, one order at a time as an engine sends them: submit (trace),
//!   order-entry event in the queue, matching, report delivery events, trace digest of every
//!   report (the target metric, ≥ 2 M orders/s).

use std::hint::black_box;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use stage4_engine::domain::{
    AccountId, Amount, Asset, ClientOrderId, MarketEvent, OrderKind, OrderRequest, Qty, Side,
    SimDuration, SimTime, StrategyId, Symbol, TimeInForce, VenueId,
};
use stage4_sim::config::{AccountConfig, RateLimit, Units};
use stage4_sim::exchange::latency::LatencyModel;
use stage4_sim::{Delivered, Sim, SimBuilder, SimConfig};

const ORDERS: u64 = 1_000;

fn config() -> SimConfig {
    let venue = VenueId::new("binance").unwrap();
    let mut cfg = SimConfig::new(
        7,
        SimTime::parse_rfc3339("2026-01-01T00:00:00Z").unwrap(),
        SimDuration::from_hours(1),
        &[venue],
        &[Symbol::new("BTC_USDT").unwrap()],
    );
    let v = &mut cfg.venues[0];
    v.depth.levels = 10;
    v.rate_limit = RateLimit {
        max_requests: u32::MAX,
        window: SimDuration::from_secs(1),
    };
    let zero = LatencyModel::Constant {
        latency: SimDuration::ZERO,
    };
    v.latency.order_entry = zero.clone();
    v.latency.reports = zero.clone();
    v.latency.market_data = zero;
    cfg.accounts.push(AccountConfig {
        account: AccountId(1),
        venue,
        balances: [
            (
                Asset::new("USDT").unwrap(),
                Units(Amount::from_units(1_000_000_000)),
            ),
            (
                Asset::new("BTC").unwrap(),
                Units(Amount::from_units(10_000)),
            ),
        ]
        .into_iter()
        .collect(),
    });
    cfg
}

fn orders() -> Vec<OrderRequest> {
    (0..ORDERS)
        .map(|i| OrderRequest {
            client_order_id: ClientOrderId(i + 1),
            account: AccountId(1),
            venue: VenueId::new("binance").unwrap(),
            symbol: Symbol::new("BTC_USDT").unwrap(),
            side: if i % 2 == 0 { Side::Buy } else { Side::Sell },
            kind: OrderKind::Market,
            tif: TimeInForce::Ioc,
            qty: Qty(10),
            strategy: StrategyId::new("bench").unwrap(),
        })
        .collect()
}

/// A world stopped at its first quote delivery, with the book in place.
fn at_first_quote(builder: &SimBuilder) -> (Sim, SimTime) {
    let mut sim = builder.build();
    loop {
        let d = sim.step().expect("a quote arrives");
        if let Delivered::Market(MarketEvent::Quote(_)) = d.item {
            return (sim, d.at);
        }
    }
}

fn bench(c: &mut Criterion) {
    let builder = SimBuilder::new(config()).unwrap();
    let orders = orders();
    let mut group = c.benchmark_group("sim_matching");
    group.sample_size(20);
    group.throughput(Throughput::Elements(ORDERS));

    group.bench_function("exchange", |b| {
        b.iter_batched(
            || {
                let (sim, at) = at_first_quote(&builder);
                (
                    sim.exchange(VenueId::new("binance").unwrap())
                        .unwrap()
                        .clone(),
                    at,
                    Vec::with_capacity(16),
                )
            },
            |(mut exchange, at, mut reports)| {
                // The reports buffer is reused per order, as the sim does.
                let mut delivered = 0;
                for o in &orders {
                    exchange.on_order(at, o, &mut reports);
                    delivered += reports.len();
                    black_box(&reports);
                    reports.clear();
                }
                assert_eq!(delivered, 2 * ORDERS as usize);
                black_box(exchange)
            },
            BatchSize::SmallInput,
        )
    });

    group.bench_function("sim", |b| {
        b.iter_batched(
            || at_first_quote(&builder),
            |(mut sim, at)| {
                // As an engine drives it: send one order, take its reports, send the next.
                for o in &orders {
                    sim.submit_order(at, o);
                    let mut reports = 0;
                    while reports < 2 {
                        if let Some(d) = sim.step()
                            && let Delivered::Report(r) = d.item
                        {
                            black_box(r);
                            reports += 1;
                        }
                    }
                }
                black_box(sim.digest_hex())
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
