//! The whole engine on paper venues for a simulated day: three strategies, two venues, two
//! symbols, a rollback window. Orders reach the venues and fill, PnL is computed, alerts are
//! evaluated, every decision-log line verifies, and two runs are identical.

use std::collections::BTreeMap;

use stage4_engine::decision_log::verify::{VerifyOptions, verify_log};
use stage4_engine::decision_log::{Algorithm, DecisionLogWriter, SigningKey};
use stage4_engine::domain::*;
use stage4_engine::engine::{Engine, EngineEvent, EngineSettings, VenueCommand};
use stage4_engine::execution::router::ExecutionSettings;
use stage4_engine::execution::{PaperConfig, PaperVenue};
use stage4_engine::ports::Venue;
use stage4_engine::scheduler::{
    AccessToken, CapitalPolicy, PolicyConfig, Rbac, RollbackOverride, ScheduleMarket, ScheduleSpec,
    Scheduler, SchedulerSettings, SimulatedCompute,
};
use stage4_engine::strategy::{
    CrossExchangeArbitrageParams, MeanReversionParams, StrategyConfig, VolatilityTargetParams,
};
use stage4_engine::telemetry::RangeBoundary;

const KEY: &str = "training-decision-log-key-0123456789";

fn v(name: &str) -> VenueId {
    VenueId::new(name).unwrap()
}
fn s(name: &str) -> Symbol {
    Symbol::new(name).unwrap()
}

fn spec(symbol: &str, lot: &str) -> InstrumentSpec {
    let sym = s(symbol);
    let (base, quote) = sym.split_assets().unwrap();
    InstrumentSpec::new(
        sym,
        base,
        quote,
        "0.01",
        lot,
        Qty(1),
        Amount::from_units(10),
    )
    .unwrap()
}

fn instruments() -> Vec<(VenueId, InstrumentSpec)> {
    let mut out = Vec::new();
    for venue in ["binance", "kraken"] {
        out.push((v(venue), spec("BTC_USDT", "0.0001")));
        out.push((v(venue), spec("ETH_USDT", "0.001")));
    }
    out
}

/// A deterministic two-venue market: a mean-reverting random walk per symbol and a basis on
/// kraken that swings ±30 bps, so mean reversion, volatility targeting and the arbitrage all
/// find something to do.
struct Market {
    state: u64,
    log_price: BTreeMap<Symbol, f64>,
}

impl Market {
    fn new() -> Market {
        Market {
            state: 0x5eed,
            log_price: BTreeMap::from([
                (s("BTC_USDT"), 60_000f64.ln()),
                (s("ETH_USDT"), 3_000f64.ln()),
            ]),
        }
    }

    fn normal(&mut self) -> f64 {
        // splitmix64 → two uniforms → Box–Muller; deterministic and good enough for a test.
        let mut next = || {
            self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
        };
        let (u1, u2) = (next().max(1e-12), next());
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }

    fn minute(&mut self, minute: u64, at: SimTime) -> Vec<MarketEvent> {
        let mut events = Vec::new();
        let symbols: Vec<Symbol> = self.log_price.keys().copied().collect();
        for symbol in symbols {
            let anchor = if symbol == s("BTC_USDT") {
                60_000f64.ln()
            } else {
                3_000f64.ln()
            };
            let shock = 0.002 * self.normal();
            let lp = self.log_price.get_mut(&symbol).unwrap();
            let open = lp.exp();
            *lp += 0.05 * (anchor - *lp) + shock;
            let close = lp.exp();
            for venue in ["binance", "kraken"] {
                let basis = if venue == "kraken" {
                    0.003 * ((minute as f64) / 40.0).sin()
                } else {
                    0.0
                };
                let px = |p: f64| Price((p * (1.0 + basis) * 100.0).round() as i64);
                let (o, c) = (px(open), px(close));
                let spread = Price(2);
                events.push(MarketEvent::Quote(Quote {
                    venue: v(venue),
                    symbol,
                    at,
                    bid: c - spread,
                    bid_qty: Qty(50_000),
                    ask: c + spread,
                    ask_qty: Qty(50_000),
                }));
                events.push(MarketEvent::Bar(Bar {
                    venue: v(venue),
                    symbol,
                    open_at: at - SimDuration::from_mins(1),
                    interval: SimDuration::from_mins(1),
                    open: o,
                    high: o.max(c) + Price(500),
                    low: o.min(c) - Price(500),
                    close: c,
                    volume: Qty(20_000),
                }));
            }
        }
        events
    }
}

fn schedule(
    name: &str,
    venue: &str,
    secondary: Option<&str>,
    symbols: &[&str],
    cadence: u64,
    profile: &str,
) -> ScheduleSpec {
    let mut spec = ScheduleSpec::new(
        name,
        ScheduleMarket {
            venue: v(venue),
            secondary_venue: secondary.map(v),
            symbols: symbols.iter().map(|x| s(x)).collect(),
            interval: SimDuration::from_mins(1),
        },
    );
    spec.cadence = SimDuration::from_secs(cadence);
    spec.risk_profile = profile.to_owned();
    spec.max_signals = 4;
    spec
}

struct Outcome {
    log: String,
    events: Vec<EngineEvent>,
    equity: f64,
    evaluations: Option<SimTime>,
    drawdown_series: usize,
}

/// A rollback override: written at minute `from`; with `expires` it carries `expires_at =
/// from + len` and stays on disk, otherwise it has no expiry and is removed at `from + len`.
#[derive(Clone, Copy, Debug)]
struct Window {
    from: u64,
    len: u64,
    expires: bool,
}

fn run_day(rollback: Option<(u64, u64)>) -> Outcome {
    let windows: Vec<Window> = rollback
        .map(|(from, until)| Window {
            from,
            len: until - from,
            expires: true,
        })
        .into_iter()
        .collect();
    run(1440, &windows)
}

fn run(minutes: u64, windows: &[Window]) -> Outcome {
    let start = SimTime::parse_rfc3339("2026-11-28T00:00:00Z").unwrap();
    let mr = StrategyConfig::MeanReversion(MeanReversionParams {
        lookback: 30,
        entry_zscore: 1.6,
        exit_zscore: 0.3,
        volatility_cap: 0.05,
        min_volume_usd: 0.0,
        ..MeanReversionParams::default()
    });
    let vt = StrategyConfig::VolatilityTarget(VolatilityTargetParams {
        lookback: 30,
        rebalance_threshold: 0.05,
        ..VolatilityTargetParams::default()
    });
    let xex = StrategyConfig::CrossExchangeArbitrage(CrossExchangeArbitrageParams {
        spread_entry: 0.002,
        spread_exit: 0.0005,
        max_notional: 5_000.0,
        max_open_seconds: 900,
        ..CrossExchangeArbitrageParams::new(v("binance"), v("kraken"))
    });
    let scheduler = Scheduler::new(
        SchedulerSettings {
            environment: "paper".into(),
            portfolio: "core".into(),
            capital: PolicyConfig {
                policy: CapitalPolicy::EqualWeight,
                rebalance_seconds: None,
            },
            governor: None,
        },
        vec![
            (
                schedule(
                    "mr_core",
                    "binance",
                    None,
                    &["BTC_USDT", "ETH_USDT"],
                    60,
                    "balanced",
                ),
                mr.build().unwrap(),
            ),
            (
                schedule(
                    "vt_core",
                    "binance",
                    None,
                    &["ETH_USDT"],
                    300,
                    "conservative",
                ),
                vt.build().unwrap(),
            ),
            (
                schedule(
                    "xex_arb",
                    "binance",
                    Some("kraken"),
                    &["BTC_USDT"],
                    60,
                    "aggressive",
                ),
                xex.build().unwrap(),
            ),
        ],
        Rbac::new(vec![AccessToken::from_secret(
            "ops",
            "ops-token",
            &["runtime.schedule.read", "runtime.schedule.write"],
        )]),
    )
    .unwrap();
    let settings = EngineSettings {
        environment: "paper".into(),
        portfolio: "core".into(),
        valuation: Asset::new("USDT").unwrap(),
        capital: Amount::from_units(300_000),
        accounts: BTreeMap::from([(v("binance"), AccountId(1)), (v("kraken"), AccountId(1))]),
        execution: ExecutionSettings::default(),
        alert_boundary: RangeBoundary::Closed,
        data_feed: "test-market".into(),
        bar_capacity: 200,
        scrape_interval: SimDuration::from_secs(15),
    };
    let log = DecisionLogWriter::new_chained(
        SigningKey::new(KEY, Some("test".into())),
        Algorithm::HmacSha256,
    );
    let mut engine =
        Engine::new(settings, instruments(), scheduler, vec![], Some(log), start).unwrap();
    let mut venues: BTreeMap<VenueId, PaperVenue> = ["binance", "kraken"]
        .into_iter()
        .map(|name| {
            let specs = instruments()
                .into_iter()
                .filter(|(x, _)| *x == v(name))
                .map(|(_, sp)| sp);
            let balances = [
                (Asset::new("USDT").unwrap(), Amount::from_units(300_000)),
                (Asset::new("BTC").unwrap(), Amount::from_units(5)),
                (Asset::new("ETH").unwrap(), Amount::from_units(100)),
            ];
            (
                v(name),
                PaperVenue::new(PaperConfig::new(v(name), "balanced"), specs, balances).unwrap(),
            )
        })
        .collect();
    let mut timer = SimulatedCompute::default();
    let mut market = Market::new();
    let mut lines = Vec::new();
    let mut events = Vec::new();

    let step = |engine: &mut Engine,
                venues: &mut BTreeMap<VenueId, PaperVenue>,
                now: SimTime,
                timer: &mut SimulatedCompute| {
        engine.poll(now, timer);
        // Paper fills are immediate; their reports may produce unwinds, so loop until quiet.
        loop {
            let commands = engine.drain_commands();
            if commands.is_empty() {
                break;
            }
            for VenueCommand::Submit(order) in commands {
                let mut reports = Vec::new();
                venues
                    .get_mut(&order.venue)
                    .unwrap()
                    .submit(now, &order, &mut reports);
                for report in reports {
                    engine.on_exec(now, &report);
                }
            }
        }
    };

    for minute in 1..=minutes {
        let now = start + SimDuration::from_mins(minute);
        while let Some(wake) = engine.next_wakeup() {
            if wake >= now {
                break;
            }
            step(&mut engine, &mut venues, wake, &mut timer);
        }
        if !windows.is_empty() {
            let current = windows
                .iter()
                .rfind(|w| w.from <= minute)
                .filter(|w| w.expires || minute < w.from + w.len)
                .map(|w| {
                    RollbackOverride::new(
                        start + SimDuration::from_mins(w.from),
                        "drill",
                        Some("l2-ops"),
                        Some("INC-1"),
                        w.expires.then(|| SimDuration::from_mins(w.len)),
                    )
                    .unwrap()
                });
            engine.observe_rollback(now, current);
        }
        for event in market.minute(minute, now) {
            engine.on_market(now, &event);
            venues
                .get_mut(&event.venue())
                .unwrap()
                .on_market_event(&event);
        }
        step(&mut engine, &mut venues, now, &mut timer);
        lines.extend(engine.drain_log_lines());
        events.extend(engine.drain_events());
    }
    engine.seal_log(start + SimDuration::from_mins(minutes));
    lines.extend(engine.drain_log_lines());
    let drawdown_series = engine
        .metrics()
        .series()
        .filter(|(k, _)| k.metric.as_str() == "bot_core_multi_strategy_pnl_drawdown_pct")
        .count();
    Outcome {
        log: lines.join("\n") + "\n",
        events,
        equity: engine.ledger().total_equity().to_units_f64(),
        evaluations: engine.alerts().last_evaluation(),
        drawdown_series,
    }
}

#[test]
fn a_day_on_paper_venues() {
    let a = run_day(Some((360, 480)));
    let count = |f: &dyn Fn(&EngineEvent) -> bool| a.events.iter().filter(|e| f(e)).count();
    let orders_by = |name: &str| {
        count(&|e| matches!(e, EngineEvent::Order { schedule, .. } if schedule == name))
    };
    for schedule in ["mr_core", "vt_core", "xex_arb"] {
        assert!(orders_by(schedule) > 0, "{schedule} placed no order");
    }
    let fills = count(&|e| matches!(e, EngineEvent::Fill { .. }));
    assert!(
        fills >= count(&|e| matches!(e, EngineEvent::Order { .. })),
        "paper fills every order in full"
    );
    assert!(
        a.equity.is_finite() && a.equity > 250_000.0,
        "equity {}",
        a.equity
    );
    assert_eq!(
        a.drawdown_series, 3,
        "pnl_drawdown_pct is exported per schedule"
    );
    let end = SimTime::parse_rfc3339("2026-11-29T00:00:00Z").unwrap();
    assert_eq!(
        a.evaluations,
        Some(end),
        "alerts evaluated on the 30 s grid to the end"
    );

    // No order while the rollback override was active (06:00–08:00), trading after it.
    let disabled_from = SimTime::parse_rfc3339("2026-11-28T06:00:00Z").unwrap();
    let disabled_until = SimTime::parse_rfc3339("2026-11-28T08:00:00Z").unwrap();
    let during = count(
        &|e| matches!(e, EngineEvent::Order { at, .. } if *at >= disabled_from && *at < disabled_until),
    );
    assert_eq!(during, 0);
    assert!(count(&|e| matches!(e, EngineEvent::Order { at, .. } if *at >= disabled_until)) > 0);
    let states: Vec<&str> = a
        .events
        .iter()
        .filter_map(|e| match e {
            EngineEvent::Rollback { state, .. } => Some(*state),
            _ => None,
        })
        .collect();
    assert_eq!(states, ["activated", "expired"]);

    // Every line verifies, the chain is intact and sealed.
    let (reports, summary) = verify_log(
        &a.log,
        VerifyOptions {
            key: Some(SigningKey::new(KEY, Some("test".into()))),
            require_seal: true,
            ..VerifyOptions::default()
        },
    );
    let bad: Vec<_> = reports.iter().filter(|r| !r.problems.is_empty()).collect();
    assert!(bad.is_empty(), "{:?}", bad.first());
    assert_eq!(summary.bad_lines, 0);
    assert!(summary.sealed);
    assert!(summary.entries > 100, "{} entries", summary.entries);
    for event in [
        "strategy_signal",
        "risk_decision",
        "order",
        "execution_report",
        "override_transition",
    ] {
        assert!(
            a.log.contains(&format!("\"event\":\"{event}\"")),
            "no {event} entry"
        );
    }
    assert!(
        a.log.contains("\"latency_ms\":\""),
        "signal entries carry latency_ms"
    );

    // Same inputs, same bytes.
    let b = run_day(Some((360, 480)));
    assert_eq!(a.log, b.log);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(8))]

    /// Whatever the override windows (expiring or removed), no order reaches a venue while one
    /// is active, and trading resumes after the last one.
    #[test]
    fn no_order_while_the_override_is_active(
        raw in proptest::collection::vec((5u64..60, 5u64..40, proptest::bool::ANY), 1..4),
    ) {
        let mut windows = Vec::new();
        let mut at = 40;
        for (gap, len, expires) in raw {
            windows.push(Window { from: at + gap, len, expires });
            at += gap + len;
        }
        let end = at + 60;
        let outcome = run(end, &windows);
        let start = SimTime::parse_rfc3339("2026-11-28T00:00:00Z").unwrap();
        for w in &windows {
            let (from, until) = (start + SimDuration::from_mins(w.from), start + SimDuration::from_mins(w.from + w.len));
            let inside = outcome.events.iter().filter(|e| matches!(e, EngineEvent::Order { at, .. } if *at >= from && *at < until)).count();
            proptest::prop_assert_eq!(inside, 0, "orders inside {:?}", w);
        }
    }
}
