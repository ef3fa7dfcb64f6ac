//! Decision-log throughput: signing (with the hash chain) and verifying realistic
//! `strategy_signal` entries. Target: ≥ 200k entries/s signed and verified.

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use stage4_engine::decision_log::entry::SignalContext;
use stage4_engine::decision_log::{
    Algorithm, DecisionLogWriter, Json, SigningKey, Verifier, VerifyOptions, strategy_signal,
};
use stage4_engine::domain::{SimDuration, SimTime, Symbol};
use stage4_engine::strategy::{Intent, Regime, Signal, SignalMetadata, SignalSide};

const ENTRIES: usize = 1_000;

fn key() -> SigningKey {
    SigningKey::new(
        "bench-decision-log-key-0123456789abcdef",
        Some("bench".to_owned()),
    )
}

/// `ENTRIES` strategy_signal entries as the scheduler would journal them: one per bar,
/// varying symbol, side, confidence, z-score and latency.
fn entries() -> Vec<Json> {
    let start = SimTime::parse_rfc3339("2026-11-28T09:00:00Z").expect("valid time");
    let symbols = ["BTC_USDT", "ETH_USDT", "SOL_USDT"];
    (0..ENTRIES)
        .map(|i| {
            let ctx = SignalContext {
                at: start + SimDuration::from_secs(60 * i as u64),
                environment: "binance_paper".to_owned(),
                portfolio: "core".to_owned(),
                risk_profile: "balanced".to_owned(),
                schedule: "mean_reversion_intraday".to_owned(),
                strategy: "core_mean_reversion".to_owned(),
                primary_exchange: Some("binance".to_owned()),
                instrument_type: Some("spot".to_owned()),
                data_feed: "ohlcv_1m".to_owned(),
                latency_ms: 3.0 + (i % 17) as f64 * 0.25,
                ..SignalContext::default()
            };
            let signal = Signal {
                symbol: Symbol::new(symbols[i % 3]).expect("valid symbol"),
                side: if i % 2 == 0 {
                    SignalSide::Buy
                } else {
                    SignalSide::Sell
                },
                confidence: 0.5 + (i % 50) as f64 / 100.0,
                quantity: Some(0.001 * (1 + i % 7) as f64),
                intent: Intent::Single,
                legs: vec![],
                metadata: SignalMetadata {
                    zscore: Some(-2.0 - (i % 13) as f64 / 7.0),
                    volatility: Some(0.0123 + (i % 5) as f64 / 1000.0),
                    regime: Some(Regime::LongEntry),
                    ..SignalMetadata::default()
                },
            };
            strategy_signal(&ctx, &signal)
        })
        .collect()
}

fn sign_all(entries: Vec<Json>) -> Vec<String> {
    let mut writer = DecisionLogWriter::new_chained(key(), Algorithm::HmacSha256);
    entries.into_iter().map(|e| writer.append(e)).collect()
}

fn verify_all(lines: &[String]) -> bool {
    let mut verifier = Verifier::new(VerifyOptions {
        key: Some(key()),
        ..VerifyOptions::default()
    });
    for (i, line) in lines.iter().enumerate() {
        let report = verifier.check_line(i + 1, line).expect("no blank lines");
        assert!(report.is_ok(), "{report:?}");
    }
    verifier.finish().is_ok()
}

fn bench(c: &mut Criterion) {
    let source = entries();
    let lines = sign_all(source.clone());
    let avg_len = lines.iter().map(String::len).sum::<usize>() / lines.len();
    assert!(
        avg_len > 700,
        "entries should be realistic, not tiny: {avg_len} bytes"
    );

    let mut group = c.benchmark_group("decision_log");
    group.throughput(Throughput::Elements(ENTRIES as u64));
    group.bench_function("decision_log_sign_verify", |b| {
        b.iter_batched(
            || source.clone(),
            |entries| {
                let lines = sign_all(entries);
                assert!(verify_all(&lines));
            },
            BatchSize::SmallInput,
        );
    });
    group.bench_function("sign_chained", |b| {
        b.iter_batched(|| source.clone(), sign_all, BatchSize::SmallInput);
    });
    group.bench_function("verify_chained", |b| b.iter(|| verify_all(&lines)));
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
