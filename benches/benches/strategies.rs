//! Per-bar cost of the three Stage4 strategies with their `core.yaml` presets, on a fixed
//! pseudo-random walk (one symbol, 10 000 one-minute bars after a 200-bar warm-up).

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use stage4_engine::domain::{SimTime, Symbol};
use stage4_engine::strategy::{CrossQuotes, MarketSnapshot, StrategyConfig};

const WARM_UP: usize = 200;
const BARS: usize = 10_000;

/// A reproducible walk: xorshift64 steps of up to ±0.5 %, quotes around the close with a
/// secondary venue that drifts up to ±0.3 % away and lags 100 ms.
fn market() -> Vec<MarketSnapshot> {
    let symbol = Symbol::new("BTC_USDT").expect("valid symbol");
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut uniform = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
    };
    let mut close = 100.0;
    (0..WARM_UP + BARS)
        .map(|i| {
            close *= 1.0 + 0.005 * uniform();
            let at = SimTime::from_unix_secs(1_700_000_000 + 60 * i as u64);
            let secondary = close * (1.0 + 0.003 * uniform());
            MarketSnapshot {
                symbol,
                at,
                open: close,
                high: close,
                low: close,
                close,
                volume: 1e6,
                cross: Some(CrossQuotes {
                    primary_bid: close * 0.9999,
                    primary_ask: close * 1.0001,
                    secondary_bid: secondary * 0.9999,
                    secondary_ask: secondary * 1.0001,
                    secondary_at: SimTime::from_nanos(at.as_nanos() - 100_000_000),
                }),
            }
        })
        .collect()
}

fn strategies(c: &mut Criterion) {
    let bars = market();
    let (history, live) = bars.split_at(WARM_UP);
    let mut group = c.benchmark_group("strategy_on_data");
    group.throughput(Throughput::Elements(BARS as u64));
    for preset in StrategyConfig::PRESETS {
        let config = StrategyConfig::preset(preset).expect("known preset");
        group.bench_function(preset, |b| {
            let mut out = Vec::with_capacity(BARS);
            b.iter(|| {
                let mut strategy = config.build().expect("presets are valid");
                strategy.warm_up(history);
                out.clear();
                for bar in live {
                    strategy.on_data(bar, &mut out).expect("finite bars");
                }
                black_box(out.len())
            });
        });
    }
    group.finish();
}

criterion_group!(benches, strategies);
criterion_main!(benches);
