//! Per-call cost of the order path the router runs: one pre-trade risk check (balanced, four
//! positions open, approved), one paper round trip through venue → position ledger → risk, and
//! one quote marking a ledger of three schedules × three instruments.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use stage4_engine::domain::{
    AccountId, Amount, Asset, ClientOrderId, InstrumentSpec, MarketEvent, OrderKind, OrderRequest,
    Price, Qty, Quote, Side, SimTime, StrategyId, Symbol, TimeInForce, VenueId,
};
use stage4_engine::execution::{PaperConfig, PaperVenue, PositionLedger};
use stage4_engine::ports::Venue;
use stage4_engine::risk::{
    AccountSnapshot, MarkToMarket, RiskEngine, RiskOrder, RiskPosition, RiskProfile, StopPlan,
};

const SYMBOLS: [&str; 3] = ["BTC_USDT", "ETH_USDT", "SOL_USDT"];

fn spec(symbol: &str) -> InstrumentSpec {
    let base = symbol.split('_').next().expect("BASE_QUOTE");
    InstrumentSpec::new(
        Symbol::new(symbol).expect("valid symbol"),
        Asset::new(base).expect("valid asset"),
        Asset::new("USDT").expect("valid asset"),
        "0.01",
        "0.001",
        Qty(1),
        Amount::from_units(10),
    )
    .expect("exact spec")
}

fn now() -> SimTime {
    SimTime::from_unix_secs(1_796_000_000)
}

fn pre_trade_check(c: &mut Criterion) {
    let venue = VenueId::new("binance").expect("valid venue");
    let profile = RiskProfile::balanced();
    let mut risk = RiskEngine::new();
    risk.register_profile(profile.clone());
    let held = ["ADA_USDT", "DOT_USDT", "ETH_USDT", "SOL_USDT"].map(|s| RiskPosition {
        venue,
        symbol: Symbol::new(s).expect("valid symbol"),
        quantity: 10.0,
        price: 100.0,
    });
    risk.on_mark_to_market(
        "balanced",
        &MarkToMarket {
            at: now(),
            equity: 100_000.0,
            positions: Some(held.to_vec()),
            daily_realized_pnl: None,
            weekly_realized_pnl: None,
            rolling_profit_30d: None,
            rolling_costs_30d: None,
        },
    )
    .expect("valid mark");
    let order = RiskOrder {
        venue,
        symbol: Symbol::new("BTC_USDT").expect("valid symbol"),
        side: Side::Buy,
        quantity: 0.1,
        price: Some(50_000.0),
        stop: Some(StopPlan::from_atr(
            Side::Buy,
            50_000.0,
            500.0,
            &profile.limits,
        )),
    };
    let account = AccountSnapshot {
        total_equity: 100_000.0,
        available_margin: 100_000.0,
        maintenance_margin: 0.0,
    };
    c.bench_function("risk/pre_trade_check_approved", |b| {
        b.iter(|| {
            let outcome = risk
                .apply_pre_trade_checks(now(), "balanced", black_box(&order), &account)
                .expect("registered profile");
            assert!(outcome.decision.is_approved());
            black_box(outcome)
        })
    });
}

fn paper_round_trip(c: &mut Criterion) {
    let venue_id = VenueId::new("paper").expect("valid venue");
    let usdt = Asset::new("USDT").expect("valid asset");
    let btc = spec("BTC_USDT");
    let mut venue = PaperVenue::new(
        PaperConfig::new(venue_id, "balanced"),
        [btc.clone()],
        // Each round trip loses slippage and fees; enough cash for any iteration count.
        [(usdt, Amount::from_units(1_000_000_000_000))],
    )
    .expect("valid paper venue");
    venue
        .set_reference_price(btc.symbol, Price(5_000_000))
        .expect("listed");
    let mut ledger = PositionLedger::new(usdt);
    ledger
        .add_instrument(venue_id, btc.clone())
        .expect("new instrument");
    let schedule = StrategyId::new("mean_reversion").expect("valid id");
    ledger
        .open_schedule(schedule, Amount::from_units(100_000))
        .expect("new schedule");
    let mut risk = RiskEngine::new();
    risk.register_profile(RiskProfile::balanced());
    let mut next_id = 0u64;
    let mut reports = Vec::with_capacity(4);
    c.bench_function("execution/paper_round_trip_to_ledger_and_risk", |b| {
        b.iter(|| {
            for side in [Side::Buy, Side::Sell] {
                next_id += 1;
                let order = OrderRequest {
                    client_order_id: ClientOrderId(next_id),
                    account: AccountId(1),
                    venue: venue_id,
                    symbol: btc.symbol,
                    side,
                    kind: OrderKind::Market,
                    tif: TimeInForce::Ioc,
                    qty: Qty(100),
                    strategy: schedule,
                };
                reports.clear();
                venue.submit(now(), &order, &mut reports);
                let done = ledger
                    .apply_fill(schedule, side, &reports[1])
                    .expect("a fill");
                risk.on_fill("balanced", &done.risk_fill)
                    .expect("registered profile");
            }
            black_box(venue.take_ledger())
        })
    });
}

fn ledger_mark(c: &mut Criterion) {
    let venue = VenueId::new("binance").expect("valid venue");
    let usdt = Asset::new("USDT").expect("valid asset");
    let mut ledger = PositionLedger::new(usdt);
    for s in SYMBOLS {
        ledger
            .add_instrument(venue, spec(s))
            .expect("new instrument");
        ledger
            .mark(venue, spec(s).symbol, Price(10_000))
            .expect("listed");
    }
    for (i, name) in ["arbitrage", "mean_reversion", "vol_target"]
        .into_iter()
        .enumerate()
    {
        let schedule = StrategyId::new(name).expect("valid id");
        ledger
            .open_schedule(schedule, Amount::from_units(100_000))
            .expect("new schedule");
        for (j, s) in SYMBOLS.into_iter().enumerate() {
            let report = stage4_engine::domain::ExecReport {
                at: now(),
                venue,
                account: AccountId(1),
                symbol: spec(s).symbol,
                client_order_id: ClientOrderId((i * 3 + j) as u64),
                kind: stage4_engine::domain::ExecKind::Fill {
                    price: Price(10_000),
                    qty: Qty(1_000),
                    fee: Amount::ZERO,
                    fee_asset: usdt,
                    liquidity: stage4_engine::domain::Liquidity::Taker,
                    leaves: Qty::ZERO,
                },
            };
            ledger
                .apply_fill(schedule, Side::Buy, &report)
                .expect("a fill");
        }
    }
    let eth = Symbol::new("ETH_USDT").expect("valid symbol");
    let mut tick = 0i64;
    c.bench_function("execution/ledger_mark_quote_3x3", |b| {
        b.iter(|| {
            tick = (tick + 1) % 100;
            let event = MarketEvent::Quote(Quote {
                venue,
                symbol: eth,
                at: now(),
                bid: Price(9_950 + tick),
                bid_qty: Qty(1),
                ask: Price(9_952 + tick),
                ask_qty: Qty(1),
            });
            ledger.on_market_event(black_box(&event));
            black_box(ledger.total_pnl_drawdown_pct())
        })
    });
}

criterion_group!(benches, pre_trade_check, paper_round_trip, ledger_mark);
criterion_main!(benches);
