//! The risk engine over time: kill switch and reduce-only across UTC days, the weekly reset on
//! Monday, the drawdown trigger, the snapshot, and two properties: cumulative exposure never
//! passes the caps, and reduce-only never lets an increasing order through.

use proptest::prelude::*;
use stage4_engine::domain::{Side, SimDuration, SimTime, Symbol, VenueId};
use stage4_engine::risk::{
    AccountSnapshot, LiquidationTrigger, MarkToMarket, RiskDecision, RiskEngine, RiskFill,
    RiskOrder, RiskProfile, RiskProfileOverrides, RiskRefusal, StopPlan,
};

const EQUITY: f64 = 100_000.0;

fn at(text: &str) -> SimTime {
    SimTime::parse_rfc3339(text).unwrap()
}

fn venue() -> VenueId {
    VenueId::new("binance").unwrap()
}

fn btc() -> Symbol {
    Symbol::new("BTC_USDT").unwrap()
}

fn account(equity: f64) -> AccountSnapshot {
    AccountSnapshot {
        total_equity: equity,
        available_margin: equity,
        maintenance_margin: 0.0,
    }
}

fn engine(profile: RiskProfile) -> RiskEngine {
    let mut e = RiskEngine::new();
    e.register_profile(profile);
    e
}

fn btc_order(profile: &RiskProfile, side: Side, qty: f64, price: f64) -> RiskOrder {
    RiskOrder {
        venue: venue(),
        symbol: btc(),
        side,
        quantity: qty,
        price: Some(price),
        stop: Some(StopPlan::from_atr(
            side,
            price,
            price * 0.01,
            &profile.limits,
        )),
    }
}

fn check(e: &mut RiskEngine, now: SimTime, order: &RiskOrder) -> RiskDecision {
    e.apply_pre_trade_checks(now, "balanced", order, &account(EQUITY))
        .unwrap()
        .decision
}

fn fill(e: &mut RiskEngine, now: SimTime, side: Side, qty: f64, price: f64, realized_pnl: f64) {
    e.on_fill(
        "balanced",
        &RiskFill {
            at: now,
            venue: venue(),
            symbol: btc(),
            side,
            quantity: qty,
            price,
            realized_pnl,
            fee: 0.0,
        },
    )
    .unwrap();
}

fn refusal_code(d: &RiskDecision) -> &'static str {
    d.refusal().map_or("approved", |r| r.code())
}

#[test]
fn kill_switch_allows_only_reducing_orders_until_the_next_utc_day() {
    let p = RiskProfile::balanced();
    let mut e = engine(p.clone());
    let morning = at("2026-12-01T09:00:00Z");
    // Open 0.2 BTC, then close 0.1 at a 2 500 loss: daily PnL −2 500 ≤ −2R = −2 % × 100 000,
    // while the 2.5 % daily loss is still under the 4 % limit: only the 2R kill switch fires.
    assert!(check(&mut e, morning, &btc_order(&p, Side::Buy, 0.2, 50_000.0)).is_approved());
    fill(&mut e, morning, Side::Buy, 0.2, 50_000.0, 0.0);
    fill(&mut e, morning, Side::Sell, 0.1, 25_000.0, -2_500.0);

    let noon = at("2026-12-01T12:00:00Z");
    let outcome = e
        .apply_pre_trade_checks(
            noon,
            "balanced",
            &btc_order(&p, Side::Buy, 0.01, 50_000.0),
            &account(EQUITY),
        )
        .unwrap();
    match outcome.decision {
        RiskDecision::Refused {
            reason:
                RiskRefusal::ReduceOnly {
                    trigger: LiquidationTrigger::KillSwitchDailyR { value, limit },
                },
            max_quantity: None,
        } => assert_eq!((value, limit), (-2_500.0, -2_000.0)),
        other => panic!("{other:?}"),
    }
    assert_eq!(outcome.alerts.len(), 1, "one critical kill-switch alert");
    assert!(e.is_reduce_only("balanced").unwrap());

    // Reducing is allowed, without a stop; increasing, on either side, is not.
    let reduce = RiskOrder {
        stop: None,
        ..btc_order(&p, Side::Sell, 0.05, 50_000.0)
    };
    assert!(check(&mut e, noon, &reduce).is_approved());
    let late = at("2026-12-01T23:59:59Z");
    assert_eq!(
        refusal_code(&check(
            &mut e,
            late,
            &btc_order(&p, Side::Buy, 0.01, 50_000.0)
        )),
        "reduce_only"
    );
    let other = RiskOrder {
        symbol: Symbol::new("ETH_USDT").unwrap(),
        ..btc_order(&p, Side::Sell, 0.01, 3_000.0)
    };
    assert_eq!(refusal_code(&check(&mut e, late, &other)), "reduce_only");

    // 00:00 UTC: a new day clears force-liquidation and the daily PnL.
    let next = at("2026-12-02T00:00:00Z");
    assert!(check(&mut e, next, &btc_order(&p, Side::Buy, 0.01, 50_000.0)).is_approved());
    let snap = e.snapshot_state("balanced").unwrap();
    assert!(!snap.force_liquidation);
    assert_eq!(snap.daily_realized_pnl, 0.0);
    assert_eq!(snap.weekly_realized_pnl, -2_500.0, "the week remembers");
}

#[test]
fn weekly_kill_switch_holds_over_the_weekend_and_resets_on_monday() {
    let p = RiskProfile::balanced();
    let mut e = engine(p.clone());
    let day = |n: u64| at("2026-12-01T10:00:00Z") + SimDuration::from_days(n); // n = 0 is a Tuesday
    // Lose 1.9 % a day: under the 2R (2 %) and 4 % daily limits, but 7.6 % by Friday ≥ 7 %.
    for n in 0..4 {
        let decision = check(&mut e, day(n), &btc_order(&p, Side::Buy, 0.01, 50_000.0));
        assert!(decision.is_approved(), "day {n}: {decision:?}");
        fill(&mut e, day(n), Side::Buy, 0.01, 50_000.0, 0.0);
        fill(&mut e, day(n), Side::Sell, 0.01, 50_000.0, -1_900.0);
    }
    // Friday after the fourth loss, Saturday, Sunday: the weekly loss re-arms the kill switch
    // every day.
    for n in 3..6 {
        let decision = check(
            &mut e,
            day(n) + SimDuration::from_hours(1),
            &btc_order(&p, Side::Buy, 0.01, 50_000.0),
        );
        match decision {
            RiskDecision::Refused {
                reason:
                    RiskRefusal::ReduceOnly {
                        trigger: LiquidationTrigger::KillSwitchWeeklyLoss { value, limit },
                    },
                ..
            } => {
                assert!((value - 0.076).abs() < 1e-12, "day {n}: {value}");
                assert_eq!(limit, 0.07);
            }
            other => panic!("day {n}: {other:?}"),
        }
    }
    // Monday 2026-12-07: a new week.
    let monday = at("2026-12-07T00:00:00Z");
    assert_eq!(monday, day(6) - SimDuration::from_hours(10));
    assert!(check(&mut e, monday, &btc_order(&p, Side::Buy, 0.01, 50_000.0)).is_approved());
    let snap = e.snapshot_state("balanced").unwrap();
    assert_eq!(snap.start_of_week, Some(monday));
    assert_eq!(snap.weekly_realized_pnl, 0.0);
}

fn mark(e: &mut RiskEngine, now: SimTime, equity: f64) {
    e.on_mark_to_market(
        "balanced",
        &MarkToMarket {
            at: now,
            equity,
            positions: None,
            daily_realized_pnl: None,
            weekly_realized_pnl: None,
            rolling_profit_30d: None,
            rolling_costs_30d: None,
        },
    )
    .unwrap();
}

#[test]
fn drawdown_forces_liquidation_until_equity_recovers_and_a_day_turns() {
    let p = RiskProfile::balanced();
    let mut e = engine(p.clone());
    let t = at("2026-12-01T09:00:00Z");
    mark(&mut e, t, 100_000.0);
    mark(&mut e, t + SimDuration::from_hours(1), 112_000.0);
    // 100 000 from a 112 000 peak: 10.7 % ≥ 10 %.
    mark(&mut e, t + SimDuration::from_hours(2), 100_000.0);
    let snap = e.snapshot_state("balanced").unwrap();
    assert!(snap.force_liquidation);
    assert!(matches!(
        snap.liquidation_trigger,
        Some(LiquidationTrigger::Drawdown { .. })
    ));
    // Recovery the same day does not clear it: mark-to-market only ever sets.
    mark(&mut e, t + SimDuration::from_hours(3), 105_000.0);
    let order = btc_order(&p, Side::Buy, 0.01, 50_000.0);
    let decision = e
        .apply_pre_trade_checks(
            t + SimDuration::from_hours(3),
            "balanced",
            &order,
            &account(105_000.0),
        )
        .unwrap()
        .decision;
    assert_eq!(refusal_code(&decision), "reduce_only");
    // Next day, still in a 10.7 % drawdown: the trigger fires again at the first check.
    let next = at("2026-12-02T09:00:00Z");
    let decision = e
        .apply_pre_trade_checks(next, "balanced", &order, &account(100_000.0))
        .unwrap()
        .decision;
    assert_eq!(refusal_code(&decision), "reduce_only");
    // Next day at 5 % below the peak: trading resumes.
    let after = at("2026-12-03T09:00:00Z");
    let decision = e
        .apply_pre_trade_checks(after, "balanced", &order, &account(106_400.0))
        .unwrap()
        .decision;
    assert!(decision.is_approved(), "{decision:?}");
}

#[test]
fn cost_to_profit_ratio_forces_liquidation_with_an_alert() {
    let p = RiskProfile::balanced();
    let mut e = engine(p.clone());
    let t = at("2026-12-01T09:00:00Z");
    e.on_mark_to_market(
        "balanced",
        &MarkToMarket {
            at: t,
            equity: EQUITY,
            positions: None,
            daily_realized_pnl: None,
            weekly_realized_pnl: None,
            rolling_profit_30d: Some(1_000.0),
            rolling_costs_30d: Some(300.0),
        },
    )
    .unwrap();
    let outcome = e
        .apply_pre_trade_checks(
            t,
            "balanced",
            &btc_order(&p, Side::Buy, 0.01, 50_000.0),
            &account(EQUITY),
        )
        .unwrap();
    assert_eq!(refusal_code(&outcome.decision), "reduce_only");
    assert_eq!(outcome.alerts.len(), 1);
    assert_eq!(outcome.alerts[0].threshold, 0.25);
    assert!((outcome.alerts[0].value - 0.3).abs() < 1e-12);
}

#[test]
fn snapshot_state_has_the_reference_blocks() {
    let p = RiskProfile::balanced();
    let mut e = engine(p.clone());
    let t = at("2026-12-01T09:00:00Z");
    assert!(check(&mut e, t, &btc_order(&p, Side::Buy, 0.2, 50_000.0)).is_approved());
    e.on_fill(
        "balanced",
        &RiskFill {
            at: t,
            venue: venue(),
            symbol: btc(),
            side: Side::Buy,
            quantity: 0.2,
            price: 50_000.0,
            realized_pnl: -6.0,
            fee: 6.0,
        },
    )
    .unwrap();
    mark(&mut e, t + SimDuration::from_mins(5), 99_000.0);
    let snap = e.snapshot_state("balanced").unwrap();
    insta::assert_json_snapshot!("risk_snapshot_balanced", snap);
}

#[derive(Clone, Debug)]
struct Op {
    instrument: usize,
    side: Side,
    qty: f64,
    price: f64,
    equity: f64,
}

fn op() -> impl Strategy<Value = Op> {
    (
        0..3usize,
        any::<bool>(),
        1..2_000u32,
        80..125u32,
        90..111u32,
    )
        .prop_map(|(instrument, buy, milli, pct, eq)| Op {
            instrument,
            side: if buy { Side::Buy } else { Side::Sell },
            qty: f64::from(milli) / 1_000.0 * [1.0, 10.0, 100.0][instrument],
            price: [50_000.0, 3_000.0, 150.0][instrument] * f64::from(pct) / 100.0,
            equity: f64::from(eq) * 1_000.0,
        })
}

fn profiles() -> impl Strategy<Value = RiskProfile> {
    prop_oneof![
        Just(RiskProfile::conservative()),
        Just(RiskProfile::balanced()),
        Just(RiskProfile::aggressive()),
        Just({
            let entry = RiskProfileOverrides {
                max_position_pct: Some(0.05),
                ..Default::default()
            };
            RiskProfile::from_config("balanced", Some(&entry)).unwrap()
        }),
    ]
}

fn symbol(i: usize) -> Symbol {
    Symbol::new(["BTC_USDT", "ETH_USDT", "SOL_USDT"][i]).unwrap()
}

fn op_order(profile: &RiskProfile, op: &Op) -> RiskOrder {
    RiskOrder {
        venue: venue(),
        symbol: symbol(op.instrument),
        side: op.side,
        quantity: op.qty,
        price: Some(op.price),
        stop: Some(StopPlan::from_atr(
            op.side,
            op.price,
            op.price * 0.004,
            &profile.limits,
        )),
    }
}

/// Books an approved op as a fill with no realised PnL.
fn apply_op(e: &mut RiskEngine, profile: &str, now: SimTime, op: &Op) {
    let fill = RiskFill {
        at: now,
        venue: venue(),
        symbol: symbol(op.instrument),
        side: op.side,
        quantity: op.qty,
        price: op.price,
        realized_pnl: 0.0,
        fee: 0.0,
    };
    e.on_fill(profile, &fill).unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// §12.4 exit criterion: under any sequence of approved orders applied as fills, no
    /// approval takes an instrument past the tighter of `instrument_limit_pct` and
    /// `max_position_pct`, nor the portfolio past its cap (tracked here by an independent model
    /// of the book, not by the engine's own state).
    #[test]
    fn approvals_never_breach_exposure_caps(profile in profiles(), ops in prop::collection::vec(op(), 1..80)) {
        let name = profile.name.clone();
        let limits = profile.limits.clone();
        let mut e = engine(profile.clone());
        let mut book = [(0.0f64, 0.0f64); 3]; // (signed qty, last price)
        let mut now = at("2026-12-01T00:00:00Z");
        let mut approvals = 0;
        for op in &ops {
            now += SimDuration::from_mins(7);
            let order = op_order(&profile, op);
            let decision = e.apply_pre_trade_checks(now, &name, &order, &account(op.equity)).unwrap().decision;
            let RiskDecision::Approved { reducing, .. } = decision else { continue };
            approvals += 1;
            let (held, _) = book[op.instrument];
            let new = held + op.side.sign() as f64 * op.qty;
            if !reducing {
                let instrument_cap = [limits.instrument_limit_pct, limits.max_position_pct]
                    .into_iter()
                    .filter(|c| *c > 0.0)
                    .fold(f64::INFINITY, f64::min);
                prop_assert!(
                    new.abs() * op.price <= instrument_cap * op.equity * (1.0 + 1e-9),
                    "{} approved to {} of equity (cap {})", order.symbol, new.abs() * op.price / op.equity, instrument_cap
                );
                let gross: f64 = book
                    .iter()
                    .enumerate()
                    .map(|(i, (q, p))| if i == op.instrument { new.abs() * op.price } else { q.abs() * p })
                    .sum();
                let portfolio_cap = limits.portfolio_limit_pct.max(limits.max_position_pct);
                prop_assert!(gross <= portfolio_cap * op.equity * (1.0 + 1e-9));
                prop_assert!(gross <= limits.max_leverage * op.equity * (1.0 + 1e-9));
            } else {
                prop_assert!(new.abs() < held.abs() && (new == 0.0 || new.signum() == held.signum()) || new.abs() < 1e-9);
            }
            book[op.instrument] = (new, op.price);
            apply_op(&mut e, &name, now, op);
        }
        // The property is vacuous if nothing is ever approved; make sure sequences do trade.
        prop_assume!(approvals > 0);
    }

    /// After a kill switch, no order that grows a position is approved for the rest of the day.
    #[test]
    fn reduce_only_never_approves_an_increasing_order(
        profile in profiles(),
        opening in prop::collection::vec(op(), 0..20),
        ops in prop::collection::vec(op(), 1..60),
    ) {
        let name = profile.name.clone();
        let mut e = engine(profile.clone());
        let mut book = [0.0f64; 3];
        let mut now = at("2026-12-01T00:00:00Z");
        for op in &opening {
            now += SimDuration::from_mins(1);
            let order = op_order(&profile, op);
            if e.apply_pre_trade_checks(now, &name, &order, &account(EQUITY)).unwrap().decision.is_approved() {
                book[op.instrument] += op.side.sign() as f64 * op.qty;
                apply_op(&mut e, &name, now, op);
            }
        }
        // A 5 % realised loss: every profile's daily kill switch (4 %) fires.
        e.on_mark_to_market(&name, &MarkToMarket {
            at: now, equity: EQUITY, positions: None, daily_realized_pnl: Some(-5_000.0),
            weekly_realized_pnl: None, rolling_profit_30d: None, rolling_costs_30d: None,
        }).unwrap();
        for op in &ops {
            now += SimDuration::from_secs(30);
            prop_assume!(now < at("2026-12-02T00:00:00Z"));
            // With a stop, so only reduce-only itself can stop an increasing order.
            let order = op_order(&profile, op);
            let decision = e.apply_pre_trade_checks(now, &name, &order, &account(EQUITY)).unwrap().decision;
            let held = book[op.instrument];
            let new = held + op.side.sign() as f64 * op.qty;
            match decision {
                RiskDecision::Approved { reducing, .. } => {
                    prop_assert!(reducing);
                    prop_assert!(new.abs() < held.abs() + 1e-9 && held != 0.0);
                    book[op.instrument] = if new.abs() <= held.abs() * 1e-9 { 0.0 } else { new };
                    apply_op(&mut e, &name, now, op);
                }
                RiskDecision::Refused { reason, .. } => {
                    let code = reason.code();
                    prop_assert!(code == "reduce_only" || code == "direction_flip", "{code}");
                }
            }
        }
    }
}
