//! Execution through the public API: orders approved by risk fill on the paper venue, the
//! fills feed the position ledger, and its per-fill outcome feeds risk back; drawdown and
//! exposure per schedule; a paper liquidation reaching the ledger.

use stage4_engine::domain::{
    AccountId, Amount, Asset, ClientOrderId, ExecKind, ExecReport, InstrumentSpec, Liquidity,
    OrderKind, OrderRequest, Price, Qty, Side, SimDuration, SimTime, StrategyId, Symbol,
    TimeInForce, VenueId,
};
use stage4_engine::execution::{
    PaperConfig, PaperVenue, PositionError, PositionKey, PositionLedger,
};
use stage4_engine::ports::Venue;
use stage4_engine::risk::{RiskEngine, RiskOrder, RiskProfile, StopPlan};

fn usdt() -> Asset {
    Asset::new("USDT").unwrap()
}

fn btc() -> Symbol {
    Symbol::new("BTC_USDT").unwrap()
}

fn paper() -> VenueId {
    VenueId::new("paper").unwrap()
}

fn spec() -> InstrumentSpec {
    InstrumentSpec::new(
        btc(),
        Asset::new("BTC").unwrap(),
        usdt(),
        "0.01",
        "0.001",
        Qty(1),
        Amount::from_units(10),
    )
    .unwrap()
}

fn schedule(name: &str) -> StrategyId {
    StrategyId::new(name).unwrap()
}

fn t0() -> SimTime {
    SimTime::parse_rfc3339("2026-12-01T09:00:00Z").unwrap()
}

fn usd(text: &str) -> Amount {
    Amount::parse_units(text).unwrap()
}

fn market(id: u64, side: Side, lots: i64, strategy: &str) -> OrderRequest {
    OrderRequest {
        client_order_id: ClientOrderId(id),
        account: AccountId(1),
        venue: paper(),
        symbol: btc(),
        side,
        kind: OrderKind::Market,
        tif: TimeInForce::Ioc,
        qty: Qty(lots),
        strategy: schedule(strategy),
    }
}

/// What the order router will do for one order: risk check, venue, ledger, risk feedback.
struct Desk {
    venue: PaperVenue,
    ledger: PositionLedger,
    risk: RiskEngine,
}

impl Desk {
    fn new() -> Desk {
        let venue = PaperVenue::new(
            PaperConfig::new(paper(), "balanced"),
            [spec()],
            [(usdt(), Amount::from_units(100_000))],
        )
        .unwrap();
        let mut ledger = PositionLedger::new(usdt());
        ledger.add_instrument(paper(), spec()).unwrap();
        ledger
            .open_schedule(schedule("mean_reversion"), Amount::from_units(100_000))
            .unwrap();
        let mut risk = RiskEngine::new();
        risk.register_profile(RiskProfile::balanced());
        Desk {
            venue,
            ledger,
            risk,
        }
    }

    fn price(&mut self, usdt: i64) {
        let p = Price(usdt * 100);
        self.venue.set_reference_price(btc(), p).unwrap();
        self.ledger.mark(paper(), btc(), p).unwrap();
    }

    fn trade(&mut self, now: SimTime, order: &OrderRequest) -> ExecReport {
        let spec = spec();
        let reference = spec.price_to_f64(self.venue.reference_price(btc()).unwrap());
        let limits = self.risk.profile("balanced").unwrap().limits.clone();
        let risk_order = RiskOrder {
            venue: order.venue,
            symbol: order.symbol,
            side: order.side,
            quantity: spec.qty_to_f64(order.qty),
            price: Some(reference),
            stop: Some(StopPlan::from_atr(
                order.side,
                reference,
                reference * 0.01,
                &limits,
            )),
        };
        let account = self.venue.account_snapshot(usdt()).unwrap();
        let outcome = self
            .risk
            .apply_pre_trade_checks(now, "balanced", &risk_order, &account)
            .unwrap();
        assert!(outcome.decision.is_approved(), "{:?}", outcome.decision);
        let mut reports = Vec::new();
        self.venue.submit(now, order, &mut reports);
        assert!(
            matches!(reports[0].kind, ExecKind::Ack { .. }),
            "{reports:?}"
        );
        let fill = reports[1];
        let done = self
            .ledger
            .apply_fill(order.strategy, order.side, &fill)
            .unwrap();
        self.risk.on_fill("balanced", &done.risk_fill).unwrap();
        fill
    }
}

#[test]
fn paper_fills_flow_into_positions_and_back_into_risk() {
    let mut desk = Desk::new();
    let mr = schedule("mean_reversion");
    let key = PositionKey {
        strategy: mr,
        venue: paper(),
        symbol: btc(),
    };
    desk.price(50_000);

    // Buy 0.2 BTC at market: 50 000 + 5 bps = 50 025; taker fee 6 bp of 10 005 = 6.003.
    let buy = desk.trade(t0(), &market(1, Side::Buy, 200, "mean_reversion"));
    let ExecKind::Fill {
        price,
        fee,
        liquidity,
        ..
    } = buy.kind
    else {
        panic!()
    };
    assert_eq!(
        (price, fee, liquidity),
        (Price(5_002_500), usd("6.003"), Liquidity::Taker)
    );
    let position = *desk.ledger.position(&key).unwrap();
    assert_eq!(position.qty, Qty(200));
    assert_eq!(
        desk.ledger.position(&key).unwrap().avg_entry_price(&spec()),
        Some(50_025.0)
    );

    // Marked at 51 000: unrealised 0.2 × 975 = 195.
    let later = t0() + SimDuration::from_mins(30);
    desk.price(51_000);
    assert_eq!(desk.ledger.unrealized_pnl(&key), usd("195"));
    assert_eq!(
        desk.ledger.schedule_equity(mr),
        Some(Amount::from_units(100_000) + usd("195") - usd("6.003"))
    );

    // Sell it all at market: 51 000 − 5 bps = 50 974.50; realised 0.2 × 949.50 = 189.90; fee
    // 6 bp of 10 194.90 = 6.11694.
    let sell = desk.trade(later, &market(2, Side::Sell, 200, "mean_reversion"));
    let ExecKind::Fill { price, fee, .. } = sell.kind else {
        panic!()
    };
    assert_eq!((price, fee), (Price(5_097_450), usd("6.11694")));
    let position = *desk.ledger.position(&key).unwrap();
    assert_eq!(position.qty, Qty::ZERO);
    assert_eq!(position.realized_pnl, usd("189.9"));
    assert_eq!(position.fees, usd("12.11994"));

    // Flat: the ledger's equity is exactly the venue's cash, to the atom.
    let equity = desk.ledger.schedule_equity(mr).unwrap();
    assert_eq!(equity, usd("100177.78006"));
    assert_eq!(equity, desk.venue.balance(usdt()));

    // Risk saw the same day: −6.003 on the buy, 189.90 − 6.11694 on the sell.
    let snap = desk.risk.snapshot_state("balanced").unwrap();
    assert!(
        (snap.daily_realized_pnl - 177.780_06).abs() < 1e-9,
        "{}",
        snap.daily_realized_pnl
    );
    assert_eq!(snap.active_positions, 0);
    assert_eq!(snap.cost_breakdown.average_cost_bps.round(), 6.0);

    insta::assert_json_snapshot!("paper_ledger_round_trip", desk.venue.ledger());
}

fn fill(
    strategy: &str,
    id: u64,
    lots: i64,
    price_usdt: i64,
    fee: &str,
) -> (StrategyId, ExecReport) {
    (
        schedule(strategy),
        ExecReport {
            at: t0(),
            venue: paper(),
            account: AccountId(1),
            symbol: btc(),
            client_order_id: ClientOrderId(id),
            kind: ExecKind::Fill {
                price: Price(price_usdt * 100),
                qty: Qty(lots),
                fee: usd(fee),
                fee_asset: usdt(),
                liquidity: Liquidity::Taker,
                leaves: Qty::ZERO,
            },
        },
    )
}

#[test]
fn partial_closes_and_flips_through_reports() {
    let mut ledger = PositionLedger::new(usdt());
    ledger.add_instrument(paper(), spec()).unwrap();
    ledger
        .open_schedule(schedule("a"), Amount::from_units(10_000))
        .unwrap();
    let key = PositionKey {
        strategy: schedule("a"),
        venue: paper(),
        symbol: btc(),
    };
    // (side, lots, price, fee) → (position lots, realised this fill, risk's net PnL)
    let steps = [
        (Side::Buy, 1_000, 100, "0.1", 1_000, "0", -0.1),
        (Side::Buy, 1_000, 200, "0.1", 2_000, "0", -0.1),
        (Side::Sell, 500, 180, "0.1", 1_500, "15", 14.9), // 0.5 × (180 − 150)
        (Side::Sell, 2_500, 120, "0.1", -1_000, "-45", -45.1), // 1.5 × (120 − 150), then short 1
        (Side::Buy, 400, 100, "0.1", -600, "8", 7.9),     // 0.4 × (120 − 100)
    ];
    let mut realized_total = Amount::ZERO;
    for (i, (side, lots, price, fee, want_qty, want_realized, want_net)) in
        steps.into_iter().enumerate()
    {
        let (s, report) = fill("a", i as u64, lots, price, fee);
        let out = ledger.apply_fill(s, side, &report).unwrap();
        assert_eq!(out.position_qty, Qty(want_qty), "step {i}");
        assert_eq!(out.realized_pnl, usd(want_realized), "step {i}");
        assert!(
            (out.risk_fill.realized_pnl - want_net).abs() < 1e-9,
            "step {i}"
        );
        realized_total += out.realized_pnl;
    }
    let p = *ledger.position(&key).unwrap();
    assert_eq!(p.realized_pnl, realized_total);
    assert_eq!(p.fees, usd("0.5"));
    assert_eq!(p.avg_entry_price(&spec()), Some(120.0));
    // Marked at 110, the 0.6 short is up 6.
    ledger.mark(paper(), btc(), Price(11_000)).unwrap();
    assert_eq!(ledger.unrealized_pnl(&key), usd("6"));
    assert_eq!(
        ledger.schedule_equity(schedule("a")),
        Some(Amount::from_units(10_000) + usd("-22") - usd("0.5") + usd("6"))
    );
}

#[test]
fn drawdown_and_exposure_per_schedule_and_in_total() {
    let mut ledger = PositionLedger::new(usdt());
    ledger.add_instrument(paper(), spec()).unwrap();
    ledger
        .open_schedule(schedule("a"), Amount::from_units(100_000))
        .unwrap();
    ledger
        .open_schedule(schedule("b"), Amount::from_units(50_000))
        .unwrap();
    let (a, report) = fill("a", 1, 1_000, 50_000, "0");
    ledger.apply_fill(a, Side::Buy, &report).unwrap();

    // A: 100 000 → 105 000 (peak) → 94 000: (94 − 105) / 105 = −10.476 %.
    ledger.mark(paper(), btc(), Price(5_500_000)).unwrap();
    ledger.mark(paper(), btc(), Price(4_400_000)).unwrap();
    let dd_a = ledger.pnl_drawdown_pct(a).unwrap();
    assert!(
        (dd_a - (94.0 - 105.0) / 105.0 * 100.0).abs() < 1e-9,
        "{dd_a}"
    );
    assert!(
        dd_a < -4.0,
        "the reference alert `min_over_time(…pnl_drawdown_pct[30m]) < -4` fires"
    );
    assert_eq!(ledger.pnl_drawdown_pct(schedule("b")), Some(0.0));
    // Total: 155 000 peak, 144 000 now.
    let total = ledger.total_pnl_drawdown_pct();
    assert!(
        (total - (144.0 - 155.0) / 155.0 * 100.0).abs() < 1e-9,
        "{total}"
    );
    // Exposure: 44 000 of BTC over 94 000 of equity.
    let exposure = ledger.exposure_fraction(a).unwrap();
    assert!((exposure - 44.0 / 94.0).abs() < 1e-12);
    assert_eq!(ledger.exposure_fraction(schedule("b")), Some(0.0));
    assert_eq!(ledger.gross_exposure(a), Amount::from_units(44_000));

    // A new high: drawdown back to 0, the worst one is remembered.
    ledger.mark(paper(), btc(), Price(6_000_000)).unwrap();
    let summary = ledger.schedule_summary(a).unwrap();
    assert_eq!(summary.pnl_drawdown_pct, 0.0);
    assert_eq!(summary.peak_equity, 110_000.0);
    assert!((summary.max_drawdown_pct - dd_a).abs() < 1e-12);
    insta::assert_json_snapshot!("pnl_summaries", (summary, ledger.total_summary()));
}

#[test]
fn paper_liquidation_reaches_the_position_ledger() {
    let mut venue = PaperVenue::new(
        PaperConfig::new(paper(), "balanced"),
        [spec()],
        [(usdt(), Amount::from_units(100_000))],
    )
    .unwrap();
    let mut ledger = PositionLedger::new(usdt());
    ledger.add_instrument(paper(), spec()).unwrap();
    ledger
        .open_schedule(schedule("a"), Amount::from_units(100_000))
        .unwrap();
    let key = PositionKey {
        strategy: schedule("a"),
        venue: paper(),
        symbol: btc(),
    };
    let send = |venue: &mut PaperVenue, ledger: &mut PositionLedger, id, side, usdt: i64, lots| {
        let order = OrderRequest {
            kind: OrderKind::Limit {
                price: Price(usdt * 100),
            },
            ..market(id, side, lots, "a")
        };
        let mut out = Vec::new();
        venue.submit(t0(), &order, &mut out);
        ledger.apply_fill(schedule("a"), side, &out[1]).unwrap();
    };
    // Short 1 BTC at 50 000 (fill 49 975), then a 1-lot buy at 90 000 squeezes the rest.
    send(&mut venue, &mut ledger, 1, Side::Sell, 50_000, 1_000);
    send(&mut venue, &mut ledger, 2, Side::Buy, 90_000, 1);
    assert_eq!(ledger.position(&key).unwrap().qty, Qty(-999));
    let liquidations = venue.take_liquidations();
    assert_eq!(liquidations.len(), 1);
    let l = liquidations[0];
    let covers = ledger
        .apply_forced_cover(l.at, paper(), l.symbol, l.qty, l.price)
        .unwrap();
    assert_eq!(covers.len(), 1);
    let p = *ledger.position(&key).unwrap();
    assert_eq!(p.qty, Qty::ZERO);
    // Flat on both sides: the ledger's equity is the venue's cash.
    assert_eq!(
        ledger.schedule_equity(schedule("a")),
        Some(venue.balance(usdt()))
    );
    assert!(ledger.pnl_drawdown_pct(schedule("a")).unwrap() < -40.0);
}

#[test]
fn the_ledger_refuses_what_it_cannot_book() {
    let mut ledger = PositionLedger::new(usdt());
    let eur_spec = InstrumentSpec::new(
        Symbol::new("BTC_EUR").unwrap(),
        Asset::new("BTC").unwrap(),
        Asset::new("EUR").unwrap(),
        "0.01",
        "0.001",
        Qty(1),
        Amount::ZERO,
    )
    .unwrap();
    assert_eq!(
        ledger
            .add_instrument(paper(), eur_spec)
            .unwrap_err()
            .to_string(),
        "BTC_EUR is quoted in EUR, but the ledger values everything in USDT"
    );
    ledger.add_instrument(paper(), spec()).unwrap();
    assert!(matches!(
        ledger.add_instrument(paper(), spec()),
        Err(PositionError::DuplicateInstrument { .. })
    ));
    let (s, report) = fill("nobody", 1, 1, 100, "0");
    assert_eq!(
        ledger.apply_fill(s, Side::Buy, &report),
        Err(PositionError::UnknownSchedule(s))
    );
    ledger.open_schedule(s, Amount::from_units(1)).unwrap();
    let ack = ExecReport {
        kind: ExecKind::Ack {
            order_id: stage4_engine::domain::OrderId(1),
        },
        ..report
    };
    assert_eq!(
        ledger.apply_fill(s, Side::Buy, &ack),
        Err(PositionError::NotAFill(1))
    );
    let mut eur_fee = report;
    if let ExecKind::Fill { fee_asset, .. } = &mut eur_fee.kind {
        *fee_asset = Asset::new("EUR").unwrap();
    }
    assert!(matches!(
        ledger.apply_fill(s, Side::Buy, &eur_fee),
        Err(PositionError::FeeAsset { .. })
    ));
    let elsewhere = ExecReport {
        venue: VenueId::new("kraken").unwrap(),
        ..report
    };
    assert!(matches!(
        ledger.apply_fill(s, Side::Buy, &elsewhere),
        Err(PositionError::UnknownInstrument { .. })
    ));
}
