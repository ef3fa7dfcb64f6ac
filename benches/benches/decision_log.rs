//! Decision-log throughput: signing (with the hash chain) and verifying realistic
//! `strategy_signal` entries. Target: ≥ 200k entries/s signed and verified.
//!
//! Two groups measure the same work: `decision_log` in wall-clock time (criterion's default),
//! and `decision_log_cpu` in the CPU time of the benchmarking thread (read from
//! `/proc/thread-self/schedstat`). On a machine shared with other jobs the wall-clock numbers
//! include time spent waiting for a core; the CPU-time numbers are what the code costs.
//!
//! The entries are built (and freed) outside the timed section: they are the caller's, and the
//! engine itself never builds them as trees — it signs `ObjectText`s it writes directly.

use criterion::measurement::{Measurement, ValueFormatter};
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
                metadata: SignalMetadata::default()
                    .with_zscore(-2.0 - (i % 13) as f64 / 7.0)
                    .with_volatility(0.0123 + (i % 5) as f64 / 1000.0)
                    .with_regime(Regime::LongEntry),
            };
            strategy_signal(&ctx, &signal)
        })
        .collect()
}

/// Signs and chains every entry. The entries are only read: building them is the caller's
/// work (the untimed setup) and so is freeing them, which happens after the timed routine
/// returns them.
fn sign_all(entries: &[Json]) -> Vec<String> {
    let mut writer = DecisionLogWriter::new_chained(key(), Algorithm::HmacSha256);
    entries.iter().map(|e| writer.append(e)).collect()
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

fn bench<M: Measurement>(c: &mut Criterion<M>, group_name: &str) {
    let source = entries();
    let lines = sign_all(&source);
    let avg_len = lines.iter().map(String::len).sum::<usize>() / lines.len();
    assert!(
        avg_len > 700,
        "entries should be realistic, not tiny: {avg_len} bytes"
    );

    let mut group = c.benchmark_group(group_name);
    group.throughput(Throughput::Elements(ENTRIES as u64));
    group.bench_function("decision_log_sign_verify", |b| {
        b.iter_batched(
            || source.clone(),
            |entries| {
                let lines = sign_all(&entries);
                assert!(verify_all(&lines));
                entries
            },
            BatchSize::SmallInput,
        );
    });
    group.bench_function("sign_chained", |b| {
        b.iter_with_large_drop(|| sign_all(&source));
    });
    group.bench_function("verify_chained", |b| b.iter(|| verify_all(&lines)));
    group.finish();
}

fn wall_clock(c: &mut Criterion) {
    bench(c, "decision_log");
}

fn cpu_time(c: &mut Criterion<ThreadCpuTime>) {
    bench(c, "decision_log_cpu");
}

/// CPU time of the calling thread, in nanoseconds (`/proc/thread-self/schedstat`, field 1).
struct ThreadCpuTime;

fn thread_cpu_nanos() -> u64 {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat")
        .expect("Linux /proc/thread-self/schedstat is readable");
    stat.split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .expect("schedstat starts with the CPU time in ns")
}

impl Measurement for ThreadCpuTime {
    type Intermediate = u64;
    type Value = u64;

    fn start(&self) -> u64 {
        thread_cpu_nanos()
    }
    fn end(&self, start: u64) -> u64 {
        thread_cpu_nanos() - start
    }
    fn add(&self, a: &u64, b: &u64) -> u64 {
        a + b
    }
    fn zero(&self) -> u64 {
        0
    }
    fn to_f64(&self, value: &u64) -> f64 {
        *value as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        &CpuFormatter
    }
}

/// Formats CPU nanoseconds like criterion formats wall time.
struct CpuFormatter;

impl ValueFormatter for CpuFormatter {
    fn scale_values(&self, typical: f64, values: &mut [f64]) -> &'static str {
        let (factor, unit) = match typical {
            t if t < 1e3 => (1.0, "ns (cpu)"),
            t if t < 1e6 => (1e-3, "µs (cpu)"),
            t if t < 1e9 => (1e-6, "ms (cpu)"),
            _ => (1e-9, "s (cpu)"),
        };
        for v in values {
            *v *= factor;
        }
        unit
    }

    fn scale_throughputs(
        &self,
        typical: f64,
        throughput: &Throughput,
        values: &mut [f64],
    ) -> &'static str {
        let per_iteration = match throughput {
            Throughput::Elements(n) | Throughput::Bytes(n) | Throughput::BytesDecimal(n) => {
                *n as f64
            }
            Throughput::Bits(n) => *n as f64,
            Throughput::ElementsAndBytes { elements, .. } => *elements as f64,
        };
        let rate = per_iteration * 1e9 / typical;
        let (factor, unit) = if rate < 1e3 {
            (1.0, "elem/s (cpu)")
        } else if rate < 1e6 {
            (1e-3, "Kelem/s (cpu)")
        } else {
            (1e-6, "Melem/s (cpu)")
        };
        for v in values {
            *v = per_iteration * 1e9 / *v * factor;
        }
        unit
    }

    fn scale_for_machines(&self, _values: &mut [f64]) -> &'static str {
        "ns"
    }
}

criterion_group!(benches, wall_clock);
criterion_group! {
    name = cpu_benches;
    config = Criterion::default().with_measurement(ThreadCpuTime);
    targets = cpu_time
}
criterion_main!(benches, cpu_benches);
