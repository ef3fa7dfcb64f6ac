//! Market generation and book updates: events per second, single core.
//!
//! One iteration generates one hour of a 10-symbol × 3-venue market at a 1 s quote interval
//! (108 000 quotes plus 1-minute bars):
//! - `generate`: the generator alone (fair paths, lag, basis, quotes, bars);
//! - `generate_and_update_books`: plus every quote applied to its venue's book (the target
//!   metric, ≥ 5 M events/s);
//! - `full_sim`: the whole world loop (queue, latency, publication, trace digest).

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use stage4_benches::TEN_SYMBOLS as SYMBOLS;
use stage4_engine::domain::{MarketEvent, SimDuration, SimTime, Symbol, VenueId};
use stage4_engine::ports::MarketFeed;
use stage4_sim::exchange::{BookShape, Exchange};
use stage4_sim::market::generator::MarketGenerator;
use stage4_sim::rng::SimRng;
use stage4_sim::{SimBuilder, SimConfig};

fn config() -> SimConfig {
    let venues: Vec<VenueId> = ["binance", "kraken", "okx"]
        .iter()
        .map(|v| VenueId::new(v).unwrap())
        .collect();
    let symbols: Vec<Symbol> = SYMBOLS.iter().map(|s| Symbol::new(s).unwrap()).collect();
    let mut cfg = SimConfig::new(
        7,
        SimTime::parse_rfc3339("2026-01-01T00:00:00Z").unwrap(),
        SimDuration::from_hours(1),
        &venues,
        &symbols,
    );
    cfg.quote_interval = SimDuration::from_secs(1);
    cfg
}

fn count_events() -> u64 {
    let builder = SimBuilder::new(config()).unwrap();
    let mut feed = MarketGenerator::new(builder.market_plan(), &SimRng::from_seed(7));
    std::iter::from_fn(|| feed.next_event()).count() as u64
}

fn bench(c: &mut Criterion) {
    let builder = SimBuilder::new(config()).unwrap();
    let plan = builder.market_plan().clone();
    let events = count_events();
    let mut group = c.benchmark_group("sim_market");
    group.sample_size(10);
    group.throughput(Throughput::Elements(events));

    group.bench_function("generate", |b| {
        b.iter(|| {
            let mut feed = MarketGenerator::new(&plan, &SimRng::from_seed(7));
            let mut n = 0u64;
            while let Some(e) = feed.next_event() {
                black_box(&e);
                n += 1;
            }
            n
        })
    });

    let specs: Vec<_> = plan.symbols.iter().map(|s| s.spec.clone()).collect();
    let cfg = config();
    group.bench_function("generate_and_update_books", |b| {
        b.iter(|| {
            let mut feed = MarketGenerator::new(&plan, &SimRng::from_seed(7));
            let mut exchanges: Vec<Exchange> = cfg
                .venues
                .iter()
                .map(|v| {
                    let shape = BookShape {
                        levels: v.depth.levels as usize,
                        growth: v.depth.growth,
                        spacing_bps: v.depth.spacing_bps,
                    };
                    Exchange::new(v.name, &specs, shape, v.fees, v.rate_limit)
                })
                .collect();
            let mut reports = Vec::new();
            let mut n = 0u64;
            while let Some(e) = feed.next_event() {
                if let MarketEvent::Quote(q) = &e {
                    let ex = exchanges.iter_mut().find(|x| x.venue() == q.venue).unwrap();
                    black_box(ex.on_quote(q.at, q, &mut reports));
                }
                n += 1;
            }
            n
        })
    });

    group.bench_function("full_sim", |b| {
        b.iter(|| {
            let mut sim = builder.build();
            let mut n = 0u64;
            while let Some(d) = sim.step() {
                black_box(&d);
                n += 1;
            }
            black_box(sim.digest_hex());
            n
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
