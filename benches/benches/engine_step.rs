//! The whole engine on the simulator, single core: bars through strategies → risk → orders →
//! fills → PnL → telemetry → alerts → signed decision log. Throughput is counted in bar events
//! (the target is ≥ 1 million bar events per second).
//!
//! One iteration runs 30 simulated minutes of 1-second bars for 10 symbols on one venue (18 000
//! bars, quotes on the same 1 s grid) with one mean-reversion schedule per symbol. The decision
//! log is signed and chained and the alert rules are evaluated on the scrape grid, exactly as in
//! a scenario. Two cadences are measured:
//!
//! - `cadence_60s`: each schedule runs once a minute over the 60 bars it has received since its
//!   last run — the production shape (schedules run on a cadence, market data streams between).
//! - `every_bar`: each schedule runs every second, so every bar is followed by a full strategy →
//!   risk → log cycle — the backtest shape the reference measures (600–750 bars/s per strategy).
//!
//! Each cadence is measured twice: with the signed, hash-chained decision log (the names above —
//! what a scenario runs) and without it (`…_unlogged`): the pipeline the target names,
//! bars through strategies → risk → orders → fills, plus positions/PnL, telemetry and alerts,
//! as a backtest runs it. Everything else is identical, so the difference is the cost of
//! building, signing (HMAC-SHA256) and chaining (SHA-256) ≈ 6 400 log lines (≈ 4 MB) per
//! iteration; signing alone has its own bench (`decision_log`).
//!
//! `cadence_60s_log_hashing_only` is a floor, not a pipeline: it only HMAC-signs and
//! chain-hashes the lines one `cadence_60s` run logged (the hashing every line needs, with no
//! JSON to build). `cadence_60s_unlogged` plus this is the least a logged run can cost on one
//! core, whatever the log's text building costs. Its throughput is counted in the same bars so
//! the two compare directly. Before measuring, each case prints what one run produced (bars,
//! orders, log lines and bytes).

use std::collections::BTreeMap;
use std::hint::black_box;

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use stage4_benches::TEN_SYMBOLS as SYMBOLS;
use stage4_engine::decision_log::{Algorithm, DecisionLogWriter, SigningKey};
use stage4_engine::domain::{AccountId, Amount, Asset, SimDuration, SimTime, Symbol, VenueId};
use stage4_engine::engine::{Engine, EngineSettings, VenueCommand};
use stage4_engine::execution::router::ExecutionSettings;
use stage4_engine::scheduler::{
    CapitalPolicy, PolicyConfig, Rbac, ScheduleMarket, ScheduleSpec, Scheduler, SchedulerSettings,
    SimulatedCompute,
};
use stage4_engine::strategy::{MeanReversionParams, StrategyConfig};
use stage4_engine::telemetry::RangeBoundary;
use stage4_sim::config::{AccountConfig, Units};
use stage4_sim::{Delivered, SimBuilder, SimConfig};
const MINUTES: u64 = 30;

struct World {
    builder: SimBuilder,
    start: SimTime,
}

fn world() -> World {
    let venue = VenueId::new("binance").unwrap();
    let symbols: Vec<Symbol> = SYMBOLS.iter().map(|s| Symbol::new(s).unwrap()).collect();
    let start = SimTime::parse_rfc3339("2026-11-28T00:00:00Z").unwrap();
    let mut cfg = SimConfig::new(
        7,
        start,
        SimDuration::from_mins(MINUTES),
        &[venue],
        &symbols,
    );
    cfg.quote_interval = SimDuration::from_secs(1);
    cfg.bar_intervals = vec![SimDuration::from_secs(1)];
    let mut balances = BTreeMap::new();
    balances.insert(
        Asset::new("USDT").unwrap(),
        Units(Amount::from_units(10_000_000)),
    );
    for s in &symbols {
        let (base, _) = s.split_assets().unwrap();
        balances.insert(base, Units(Amount::from_units(1_000)));
    }
    cfg.accounts.push(AccountConfig {
        account: AccountId(1),
        venue,
        balances,
    });
    World {
        builder: SimBuilder::new(cfg).unwrap(),
        start,
    }
}

/// What one run produced.
#[derive(Default)]
struct Outcome {
    bars: u64,
    orders: u64,
    log_lines: usize,
    log_bytes: usize,
}

/// Runs the world once, with or without the signed decision log; the log lines are appended
/// to `keep` when given.
fn run(
    world: &World,
    cadence: SimDuration,
    signed_log: bool,
    mut keep: Option<&mut Vec<String>>,
) -> Outcome {
    let venue = VenueId::new("binance").unwrap();
    let plan = world.builder.market_plan();
    let schedules = plan
        .symbols
        .iter()
        .map(|s| {
            let mut spec = ScheduleSpec::new(
                &format!("mr_{}", s.symbol.as_str().to_ascii_lowercase()),
                ScheduleMarket {
                    venue,
                    secondary_venue: None,
                    symbols: vec![s.symbol],
                    interval: SimDuration::from_secs(1),
                },
            );
            spec.cadence = cadence;
            let strategy = StrategyConfig::MeanReversion(MeanReversionParams {
                lookback: 30,
                entry_zscore: 1.5,
                exit_zscore: 0.3,
                min_volume_usd: 0.0,
                ..MeanReversionParams::default()
            });
            (spec, strategy.build().unwrap())
        })
        .collect();
    let scheduler = Scheduler::new(
        SchedulerSettings {
            environment: "bench".into(),
            portfolio: "core".into(),
            capital: PolicyConfig {
                policy: CapitalPolicy::EqualWeight,
                rebalance_seconds: None,
            },
            governor: None,
        },
        schedules,
        Rbac::default(),
    )
    .unwrap();
    let settings = EngineSettings {
        environment: "bench".into(),
        portfolio: "core".into(),
        valuation: Asset::new("USDT").unwrap(),
        capital: Amount::from_units(1_000_000),
        accounts: BTreeMap::from([(venue, AccountId(1))]),
        execution: ExecutionSettings::default(),
        alert_boundary: RangeBoundary::Closed,
        data_feed: "bench".into(),
        bar_capacity: 128,
        scrape_interval: SimDuration::from_secs(15),
    };
    let instruments = plan
        .symbols
        .iter()
        .map(|s| (venue, s.spec.clone()))
        .collect();
    let log = DecisionLogWriter::new_chained(
        SigningKey::new("bench-key-0123456789abcdef", None),
        Algorithm::HmacSha256,
    );
    let mut engine = Engine::new(
        settings,
        instruments,
        scheduler,
        vec![],
        signed_log.then_some(log),
        world.start,
    )
    .unwrap();
    let mut sim = world.builder.build();
    let mut timer = SimulatedCompute::default();
    let mut out = Outcome::default();
    while let Some(now) = [sim.next_time(), engine.next_wakeup()]
        .into_iter()
        .flatten()
        .min()
    {
        while let Some(d) = sim.step_until(now) {
            match d.item {
                Delivered::Market(event) => {
                    out.bars +=
                        u64::from(matches!(event, stage4_engine::domain::MarketEvent::Bar(_)));
                    engine.on_market(d.at, &event);
                }
                Delivered::Report(report) => engine.on_exec(d.at, &report),
                Delivered::Timer(_) => {}
            }
        }
        if engine.next_wakeup().is_some_and(|w| w <= now) {
            engine.poll(now, &mut timer);
        }
        for VenueCommand::Submit(order) in engine.drain_commands() {
            out.orders += 1;
            sim.submit_order(now, &order);
        }
        let lines = engine.drain_log_lines();
        out.log_lines += lines.len();
        out.log_bytes += lines.iter().map(String::len).sum::<usize>();
        if let Some(keep) = keep.as_deref_mut() {
            keep.extend(lines);
        }
        engine.drain_events();
        if sim.next_time().is_none()
            && engine
                .next_wakeup()
                .is_none_or(|w| w > world.start + SimDuration::from_mins(MINUTES))
        {
            break;
        }
    }
    out
}

/// The hashing a signed, chained log needs for `lines`, and nothing else: an HMAC-SHA256 of
/// each line (the writer signs the line without its signature member, a few bytes shorter)
/// and a SHA-256 of each line (the chain hash). Raw digests from a keyed state prepared once
/// (as the writer's key does): no hex, no base64, no allocation.
fn hash_lines(keyed: &Hmac<Sha256>, lines: &[String]) -> u8 {
    lines.iter().fold(0, |acc, line| {
        let mut mac = keyed.clone();
        mac.update(line.as_bytes());
        let tag = mac.finalize().into_bytes();
        let hash = Sha256::digest(line.as_bytes());
        acc ^ tag[0] ^ hash[0]
    })
}

#[allow(
    clippy::print_stdout,
    reason = "what one run produced is part of this bench's output"
)]
fn engine_step(c: &mut Criterion) {
    let world = world();
    let mut group = c.benchmark_group("engine_step");
    group.sample_size(10);
    for (name, cadence, signed_log) in [
        ("cadence_60s", SimDuration::from_secs(60), true),
        ("every_bar", SimDuration::from_secs(1), true),
        ("cadence_60s_unlogged", SimDuration::from_secs(60), false),
        ("every_bar_unlogged", SimDuration::from_secs(1), false),
    ] {
        let o = run(&world, cadence, signed_log, None);
        let bars = o.bars;
        assert_eq!(
            bars,
            SYMBOLS.len() as u64 * MINUTES * 60,
            "every 1 s bar of every symbol"
        );
        assert!(o.orders > 0, "the strategies trade ({name})");
        assert_eq!(
            o.log_bytes > 0,
            signed_log,
            "a log exactly when asked for ({name})"
        );
        println!(
            "engine_step/{name}: one run = {bars} bar events, {} orders, {} log lines, {} log bytes",
            o.orders, o.log_lines, o.log_bytes
        );
        group.throughput(Throughput::Elements(bars));
        group.bench_function(name, |b| {
            b.iter(|| black_box(run(&world, cadence, signed_log, None)))
        });
    }

    let mut lines = Vec::new();
    let o = run(&world, SimDuration::from_secs(60), true, Some(&mut lines));
    assert_eq!(lines.len(), o.log_lines, "every logged line kept");
    let keyed = Hmac::<Sha256>::new_from_slice(b"bench-key-0123456789abcdef").expect("any key");
    println!(
        "engine_step/cadence_60s_log_hashing_only: HMAC + chain hash of {} lines, {} bytes",
        o.log_lines, o.log_bytes
    );
    group.throughput(Throughput::Elements(o.bars));
    group.bench_function("cadence_60s_log_hashing_only", |b| {
        b.iter(|| black_box(hash_lines(&keyed, &lines)))
    });
    group.finish();
}

criterion_group!(benches, engine_step);
criterion_main!(benches);
