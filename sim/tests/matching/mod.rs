//! Matching: invariants over random order streams, reject reasons, and the fill rules.

use std::collections::BTreeMap;

use proptest::prelude::*;
use stage4_engine::domain::{
    AccountId, Amount, ExecKind, ExecReport, Liquidity, MarketEvent, OrderKind, OrderRequest,
    Price, Qty, Quote, RejectReason, Side, SimDuration, TimeInForce,
};
use stage4_sim::config::RateLimit;
use stage4_sim::exchange::ledger::FEE_ACCOUNT;
use stage4_sim::{Delivered, Sim, SimBuilder, SimConfig};

use crate::support::*;

const ACCOUNTS: [u32; 3] = [1, 2, 3];

fn trading_config(seed: u64) -> SimConfig {
    let mut cfg = config(
        seed,
        &["binance"],
        &["BTC_USDT"],
        SimDuration::from_mins(10),
    );
    constant_latency(&mut cfg, 1);
    let v = cfg.venue_mut(venue("binance")).unwrap();
    v.rate_limit = RateLimit {
        max_requests: 1_000_000,
        window: SimDuration::from_secs(1),
    };
    v.depth.levels = 5;
    for a in ACCOUNTS {
        fund(
            &mut cfg,
            a,
            "binance",
            &[("USDT", "2000000"), ("BTC", "30")],
        );
    }
    cfg
}

#[derive(Clone, Debug)]
enum Action {
    Submit {
        account: u32,
        side: Side,
        limit_offset: Option<i64>,
        tif: TimeInForce,
        qty: i64,
    },
    Cancel {
        pick: usize,
    },
}

fn action() -> impl Strategy<Value = Action> {
    let side = prop_oneof![Just(Side::Buy), Just(Side::Sell)];
    let tif = prop_oneof![
        Just(TimeInForce::Gtc),
        Just(TimeInForce::Ioc),
        Just(TimeInForce::PostOnly)
    ];
    let submit = (
        0..3usize,
        side,
        proptest::option::weighted(0.8, -4_000i64..4_000),
        tif,
        1i64..40_000,
    )
        .prop_map(|(a, side, limit_offset, tif, qty)| Action::Submit {
            account: ACCOUNTS[a],
            side,
            limit_offset,
            tif,
            qty,
        });
    prop_oneof![4 => submit, 1 => (0..1000usize).prop_map(|pick| Action::Cancel { pick })]
}

#[derive(Debug)]
struct Tracked {
    order: OrderRequest,
    filled: i64,
    cancelled: bool,
    resting: bool,
    rest_seq: u64,
}

/// Runs the actions (a few per quote) and returns every report in delivery order.
fn run(
    seed: u64,
    actions: &[Action],
    per_quote: usize,
) -> (Sim, Vec<OrderRequest>, Vec<ExecReport>) {
    let mut sim = SimBuilder::new(trading_config(seed)).unwrap().build();
    let mut submitted: Vec<OrderRequest> = Vec::new();
    let mut reports = Vec::new();
    let mut next = 0;
    let mut cid = 0;
    while let Some(d) = sim.step() {
        match d.item {
            Delivered::Market(MarketEvent::Quote(q)) => {
                let mid = (q.bid.0 + q.ask.0) / 2;
                for a in actions.iter().skip(next).take(per_quote) {
                    match *a {
                        Action::Submit {
                            account,
                            side,
                            limit_offset,
                            tif,
                            qty,
                        } => {
                            cid += 1;
                            let kind = match limit_offset {
                                Some(off) => limit(mid + off),
                                None => OrderKind::Market,
                            };
                            let o =
                                order(cid, account, "binance", "BTC_USDT", side, kind, tif, qty);
                            sim.submit_order(d.at, &o);
                            submitted.push(o);
                        }
                        Action::Cancel { pick } if !submitted.is_empty() => {
                            let o = submitted[pick % submitted.len()];
                            sim.submit_cancel(
                                d.at,
                                &cancel(o.client_order_id.0, o.account.0, "binance", "BTC_USDT"),
                            );
                        }
                        Action::Cancel { .. } => {}
                    }
                }
                next += per_quote;
            }
            Delivered::Report(r) => reports.push(r),
            _ => {}
        }
    }
    (sim, submitted, reports)
}

/// Checks every invariant over one run; panics with the broken rule.
fn check(sim: &Sim, submitted: &[OrderRequest], reports: &[ExecReport]) {
    let exchange = sim.exchange(venue("binance")).unwrap();
    let spec = exchange.book(sym("BTC_USDT")).unwrap().spec.clone();
    let fees = exchange.fees();
    let mut orders: BTreeMap<(u32, u64), Tracked> = submitted
        .iter()
        .map(|o| {
            (
                (o.account.0, o.client_order_id.0),
                Tracked {
                    order: *o,
                    filled: 0,
                    cancelled: false,
                    resting: false,
                    rest_seq: 0,
                },
            )
        })
        .collect();
    let mut seq = 0;
    let mut quote_delta: BTreeMap<u32, i128> = BTreeMap::new();
    let mut base_delta: BTreeMap<u32, i128> = BTreeMap::new();
    let mut fee_total = Amount::ZERO;
    for r in reports {
        let key = (r.account.0, r.client_order_id.0);
        let t = orders.get(&key).expect("reports only for submitted orders");
        let order = t.order;
        match r.kind {
            ExecKind::Ack { .. } => {
                let t = orders.get_mut(&key).unwrap();
                if matches!(order.kind, OrderKind::Limit { .. }) && order.tif != TimeInForce::Ioc {
                    t.resting = true;
                    seq += 1;
                    t.rest_seq = seq;
                }
            }
            ExecKind::Fill {
                price,
                qty,
                fee,
                liquidity,
                leaves,
                ..
            } => {
                assert!(!t.cancelled, "a cancelled order filled: {r:?}");
                assert!(
                    qty.is_positive() && qty.0 <= order.qty.0 - t.filled,
                    "fill exceeds remaining: {r:?}"
                );
                assert_eq!(leaves.0, order.qty.0 - t.filled - qty.0, "leaves: {r:?}");
                if let OrderKind::Limit { price: lim } = order.kind {
                    match order.side {
                        Side::Buy => assert!(price <= lim, "buy filled above its limit: {r:?}"),
                        Side::Sell => assert!(price >= lim, "sell filled below its limit: {r:?}"),
                    }
                }
                let notional = spec.notional(price, qty);
                let bps = match liquidity {
                    Liquidity::Maker => fees.maker_bps,
                    Liquidity::Taker => fees.taker_bps,
                };
                assert_eq!(fee, notional.bps_ceil(bps));
                if order.tif == TimeInForce::PostOnly && order.kind != OrderKind::Market {
                    assert_eq!(
                        liquidity,
                        Liquidity::Maker,
                        "post-only took liquidity: {r:?} {order:?}"
                    );
                }
                if order.kind == OrderKind::Market || order.tif == TimeInForce::Ioc {
                    assert_eq!(liquidity, Liquidity::Taker);
                }
                if liquidity == Liquidity::Maker {
                    // Price-time priority: nothing better placed on the same side is still open.
                    let my_price = match order.kind {
                        OrderKind::Limit { price } => price,
                        OrderKind::Market => unreachable!(),
                    };
                    assert_eq!(price, my_price, "makers fill at their own price");
                    for (other_key, other) in &orders {
                        if *other_key == key || !other.resting || other.order.side != order.side {
                            continue;
                        }
                        let OrderKind::Limit { price: other_price } = other.order.kind else {
                            continue;
                        };
                        let better = match order.side {
                            Side::Buy => other_price > my_price,
                            Side::Sell => other_price < my_price,
                        };
                        let earlier_same = other_price == my_price && other.rest_seq < t.rest_seq;
                        assert!(
                            !(better || earlier_same),
                            "priority broken: {r:?} filled before {:?}",
                            other.order
                        );
                    }
                }
                let sign = match order.side {
                    Side::Buy => -1,
                    Side::Sell => 1,
                };
                *quote_delta.entry(r.account.0).or_default() += sign * notional.0 - fee.0;
                *base_delta.entry(r.account.0).or_default() -= sign * spec.base_amount(qty).0;
                fee_total += fee;
                let t = orders.get_mut(&key).unwrap();
                t.filled += qty.0;
                if leaves.is_zero() {
                    t.resting = false;
                }
            }
            ExecKind::Cancelled { leaves } => {
                assert_eq!(leaves.0, order.qty.0 - t.filled);
                let t = orders.get_mut(&key).unwrap();
                t.cancelled = true;
                t.resting = false;
            }
            ExecKind::Expired { leaves } => {
                assert_eq!(leaves.0, order.qty.0 - t.filled);
                orders.get_mut(&key).unwrap().resting = false;
            }
            ExecKind::Reject {
                reason: RejectReason::UnknownOrder,
            } => {}
            ExecKind::Reject { .. } => orders.get_mut(&key).unwrap().resting = false,
        }
    }
    // Balances: every asset conserved exactly; participants' totals equal what their fills say.
    let ledger = exchange.ledger();
    assert!(
        ledger.conservation_error().is_empty(),
        "{:?}",
        ledger.conservation_error()
    );
    assert_eq!(ledger.balance(FEE_ACCOUNT, spec.quote).total, fee_total);
    for a in ACCOUNTS {
        let q = ledger.balance(AccountId(a), spec.quote);
        let b = ledger.balance(AccountId(a), spec.base);
        assert_eq!(
            q.total.0,
            Amount::from_units(2_000_000).0 + quote_delta.get(&a).copied().unwrap_or(0)
        );
        assert_eq!(
            b.total.0,
            Amount::from_units(30).0 + base_delta.get(&a).copied().unwrap_or(0)
        );
        for bal in [q, b] {
            assert!(
                bal.held >= Amount::ZERO && bal.held <= bal.total,
                "{a}: {bal:?}"
            );
        }
    }
    // Open orders on the book are exactly those the reports leave resting.
    let resting = orders.values().filter(|t| t.resting).count();
    assert_eq!(resting, exchange.live_orders());
    let open_qty: i64 = orders
        .values()
        .filter(|t| t.resting)
        .map(|t| t.order.qty.0 - t.filled)
        .sum();
    assert_eq!(
        Qty(open_qty),
        exchange.book(sym("BTC_USDT")).unwrap().resting_qty()
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn random_order_streams_keep_every_matching_invariant(
        seed in 0u64..1_000,
        actions in proptest::collection::vec(action(), 20..120),
        per_quote in 1usize..4,
    ) {
        let (sim, submitted, reports) = run(seed, &actions, per_quote);
        check(&sim, &submitted, &reports);
    }
}

#[test]
fn a_busy_stream_trades_both_ways_and_keeps_the_invariants() {
    // A deterministic heavy case so the invariants are seen under fills of every kind.
    let actions: Vec<Action> = (0..240usize)
        .map(|i| match i % 7 {
            // The GTC order three actions back (submission index 6m + 3).
            6 => Action::Cancel {
                pick: (i / 7) * 6 + 3,
            },
            k => Action::Submit {
                account: ACCOUNTS[i % 3],
                side: if i % 2 == 0 { Side::Buy } else { Side::Sell },
                limit_offset: if k == 5 {
                    None
                } else {
                    Some((i as i64 * 37) % 12_000 - 6_000)
                },
                tif: [TimeInForce::Gtc, TimeInForce::Ioc, TimeInForce::PostOnly][k % 3],
                qty: 500 + (i as i64 * 911) % 20_000,
            },
        })
        .collect();
    let (sim, submitted, reports) = run(42, &actions, 2);
    check(&sim, &submitted, &reports);
    let counts = sim.counts();
    assert!(
        counts.fills > 100 && counts.cancelled > 5 && counts.expired > 5,
        "{counts:?}"
    );
    let makers = reports
        .iter()
        .filter(|r| {
            matches!(
                r.kind,
                ExecKind::Fill {
                    liquidity: Liquidity::Maker,
                    ..
                }
            )
        })
        .count();
    assert!(makers > 10, "resting orders must fill as makers: {makers}");
}

/// Runs one order against a fresh venue; returns the reports it produced.
fn first_reports(tweak: impl Fn(&mut SimConfig), orders: &[OrderRequest]) -> Vec<ExecReport> {
    let mut cfg = config(1, &["binance"], &["BTC_USDT"], SimDuration::from_mins(1));
    constant_latency(&mut cfg, 1);
    fund(&mut cfg, 1, "binance", &[("USDT", "100000"), ("BTC", "1")]);
    fund(&mut cfg, 2, "binance", &[("USDT", "10")]);
    tweak(&mut cfg);
    let mut sim = SimBuilder::new(cfg).unwrap().build();
    let mut reports = Vec::new();
    let mut sent = false;
    while let Some(d) = sim.step() {
        match d.item {
            Delivered::Market(MarketEvent::Quote(q)) if !sent => {
                sent = true;
                let ask = q.ask.0;
                for o in orders {
                    let mut o = *o;
                    // Limit prices in the table are offsets from the ask.
                    if let OrderKind::Limit { price } = o.kind
                        && price.0.abs() < 1_000_000
                    {
                        o.kind = limit(ask + price.0);
                    }
                    sim.submit_order(d.at, &o);
                }
            }
            Delivered::Report(r) => reports.push(r),
            _ => {}
        }
    }
    reports
}

fn rejects(reports: &[ExecReport]) -> Vec<RejectReason> {
    reports
        .iter()
        .filter_map(|r| match r.kind {
            ExecKind::Reject { reason } => Some(reason),
            _ => None,
        })
        .collect()
}

#[test]
fn each_reject_reason_has_its_case() {
    let gtc = TimeInForce::Gtc;
    let buy = |cid, acct, kind, tif, qty| {
        order(cid, acct, "binance", "BTC_USDT", Side::Buy, kind, tif, qty)
    };
    let none = |_: &mut SimConfig| {};
    struct Case {
        name: &'static str,
        orders: Vec<OrderRequest>,
        tweak: Box<dyn Fn(&mut SimConfig)>,
        expected: Vec<RejectReason>,
    }
    let cases = vec![
        Case {
            name: "unknown symbol",
            orders: vec![order(
                1,
                1,
                "binance",
                "ETH_USDT",
                Side::Buy,
                OrderKind::Market,
                gtc,
                10,
            )],
            tweak: Box::new(none),
            expected: vec![RejectReason::UnknownSymbol],
        },
        Case {
            name: "unknown venue",
            orders: vec![order(
                1,
                1,
                "okx",
                "BTC_USDT",
                Side::Buy,
                OrderKind::Market,
                gtc,
                10,
            )],
            tweak: Box::new(none),
            expected: vec![RejectReason::UnknownSymbol],
        },
        Case {
            name: "zero quantity",
            orders: vec![buy(1, 1, OrderKind::Market, gtc, 0)],
            tweak: Box::new(none),
            expected: vec![RejectReason::BadLot],
        },
        Case {
            name: "non-positive price",
            orders: vec![buy(
                1,
                1,
                OrderKind::Limit {
                    price: Price(-5_000_000),
                },
                gtc,
                10,
            )],
            tweak: Box::new(none),
            expected: vec![RejectReason::BadTick],
        },
        Case {
            name: "below min notional",
            orders: vec![buy(1, 1, OrderKind::Market, gtc, 1)],
            tweak: Box::new(none),
            expected: vec![RejectReason::BelowMinNotional],
        },
        Case {
            name: "insufficient balance",
            orders: vec![buy(1, 2, OrderKind::Market, gtc, 10_000)],
            tweak: Box::new(none),
            expected: vec![RejectReason::InsufficientBalance],
        },
        Case {
            name: "post-only would cross",
            orders: vec![buy(1, 1, limit(0), TimeInForce::PostOnly, 100)],
            tweak: Box::new(none),
            expected: vec![RejectReason::PostOnlyWouldCross],
        },
        Case {
            name: "duplicate live client id",
            orders: vec![
                buy(1, 1, limit(-5_000), gtc, 100),
                buy(1, 1, limit(-5_000), gtc, 100),
            ],
            tweak: Box::new(none),
            expected: vec![RejectReason::DuplicateClientOrderId],
        },
        Case {
            name: "rate limited",
            orders: (1..=3)
                .map(|c| buy(c, 1, limit(-5_000), gtc, 100))
                .collect(),
            tweak: Box::new(|c: &mut SimConfig| {
                c.venues[0].rate_limit = RateLimit {
                    max_requests: 2,
                    window: SimDuration::from_secs(1),
                }
            }),
            expected: vec![RejectReason::RateLimited],
        },
    ];
    for case in cases {
        let reports = first_reports(&case.tweak, &case.orders);
        assert_eq!(
            rejects(&reports),
            case.expected,
            "{}: {reports:?}",
            case.name
        );
    }
}

#[test]
fn an_order_arriving_with_the_first_quote_meets_an_empty_book() {
    // Same nanosecond: order entry (class 1) runs before the book refresh (class 2).
    let mut cfg = config(1, &["binance"], &["BTC_USDT"], SimDuration::from_mins(1));
    constant_latency(&mut cfg, 0);
    fund(&mut cfg, 1, "binance", &[("USDT", "100000")]);
    let mut sim = SimBuilder::new(cfg).unwrap().build();
    sim.submit_order(
        t0(),
        &order(
            1,
            1,
            "binance",
            "BTC_USDT",
            Side::Buy,
            OrderKind::Market,
            TimeInForce::Ioc,
            100,
        ),
    );
    sim.submit_cancel(t0(), &cancel(9, 1, "binance", "BTC_USDT"));
    let reports: Vec<ExecReport> = drain(&mut sim)
        .into_iter()
        .filter_map(|d| match d.item {
            Delivered::Report(r) => Some(r),
            _ => None,
        })
        .collect();
    assert_eq!(
        rejects(&reports),
        [RejectReason::NoLiquidity, RejectReason::UnknownOrder]
    );
}

#[test]
fn market_orders_walk_the_ladder_and_pay_slippage() {
    let mut cfg = config(1, &["binance"], &["BTC_USDT"], SimDuration::from_mins(1));
    constant_latency(&mut cfg, 1);
    cfg.venues[0].depth.levels = 3;
    fund(&mut cfg, 1, "binance", &[("USDT", "10000000")]);
    let mut sim = SimBuilder::new(cfg).unwrap().build();
    let mut quote: Option<Quote> = None;
    let mut fills = Vec::new();
    let mut expired = None;
    while let Some(d) = sim.step() {
        match d.item {
            Delivered::Market(MarketEvent::Quote(q)) if quote.is_none() => {
                quote = Some(q);
                // More than the whole 3-level ladder (top × (1 + 1.5 + 2) = 4.5 × top).
                sim.submit_order(
                    d.at,
                    &order(
                        1,
                        1,
                        "binance",
                        "BTC_USDT",
                        Side::Buy,
                        OrderKind::Market,
                        TimeInForce::Gtc,
                        q.ask_qty.0 * 5,
                    ),
                );
            }
            Delivered::Report(r) => match r.kind {
                ExecKind::Fill { price, qty, .. } => fills.push((price, qty)),
                ExecKind::Expired { leaves } => expired = Some(leaves),
                _ => {}
            },
            _ => {}
        }
    }
    let q = quote.unwrap();
    assert_eq!(fills.len(), 3);
    assert_eq!(fills[0], (q.ask, q.ask_qty));
    assert!(
        fills[0].0 < fills[1].0 && fills[1].0 < fills[2].0,
        "{fills:?}"
    );
    assert_eq!(fills[1].1, Qty(q.ask_qty.0 + q.ask_qty.0 / 2));
    let filled: i64 = fills.iter().map(|f| f.1.0).sum();
    assert_eq!(expired, Some(Qty(q.ask_qty.0 * 5 - filled)));
}

#[test]
fn a_resting_bid_fills_as_maker_when_the_market_comes_down_to_it() {
    let mut cfg = config(2, &["binance"], &["BTC_USDT"], SimDuration::from_hours(2));
    constant_latency(&mut cfg, 1);
    fund(&mut cfg, 1, "binance", &[("USDT", "1000000")]);
    let mut sim = SimBuilder::new(cfg).unwrap().build();
    let mut placed: Option<Price> = None;
    let mut maker_fill = None;
    while let Some(d) = sim.step() {
        match d.item {
            Delivered::Market(MarketEvent::Quote(q)) if placed.is_none() => {
                // 0.1 % below the bid: rests, and fills when the market trades down to it.
                let price = Price(q.bid.0 - q.bid.0 / 1_000);
                placed = Some(price);
                sim.submit_order(
                    d.at,
                    &order(
                        1,
                        1,
                        "binance",
                        "BTC_USDT",
                        Side::Buy,
                        OrderKind::Limit { price },
                        TimeInForce::Gtc,
                        1_000,
                    ),
                );
            }
            Delivered::Report(r) => {
                if let ExecKind::Fill {
                    price, liquidity, ..
                } = r.kind
                {
                    maker_fill = Some((price, liquidity));
                }
            }
            _ => {}
        }
    }
    let (price, liquidity) = maker_fill.expect("a 0.1 % dip happens within two hours");
    assert_eq!((price, liquidity), (placed.unwrap(), Liquidity::Maker));
}

#[test]
fn participants_trade_with_each_other_maker_and_taker() {
    let mut cfg = config(1, &["binance"], &["BTC_USDT"], SimDuration::from_secs(10));
    constant_latency(&mut cfg, 1);
    fund(&mut cfg, 1, "binance", &[("BTC", "1")]);
    fund(&mut cfg, 2, "binance", &[("USDT", "1000000")]);
    let mut sim = SimBuilder::new(cfg).unwrap().build();
    let mut fills = Vec::new();
    let mut sent = false;
    while let Some(d) = sim.step() {
        match d.item {
            Delivered::Market(MarketEvent::Quote(q)) if !sent => {
                sent = true;
                // Account 1 improves the ask by one tick; account 2 lifts it.
                let price = Price(q.ask.0 - 1);
                sim.submit_order(
                    d.at,
                    &order(
                        1,
                        1,
                        "binance",
                        "BTC_USDT",
                        Side::Sell,
                        OrderKind::Limit { price },
                        TimeInForce::PostOnly,
                        100,
                    ),
                );
                sim.submit_order(
                    d.at,
                    &order(
                        2,
                        2,
                        "binance",
                        "BTC_USDT",
                        Side::Buy,
                        OrderKind::Limit { price },
                        TimeInForce::Ioc,
                        100,
                    ),
                );
            }
            Delivered::Report(r) => {
                if let ExecKind::Fill {
                    price, liquidity, ..
                } = r.kind
                {
                    fills.push((r.account.0, price, liquidity));
                }
            }
            _ => {}
        }
    }
    // Per match the resting order's report comes first, then the incoming order's.
    assert_eq!(fills.len(), 2, "{fills:?}");
    assert_eq!((fills[0].0, fills[0].2), (1, Liquidity::Maker));
    assert_eq!((fills[1].0, fills[1].2), (2, Liquidity::Taker));
    assert_eq!(fills[0].1, fills[1].1);
    let ledger = sim.exchange(venue("binance")).unwrap().ledger();
    assert!(ledger.conservation_error().is_empty());
    assert_eq!(
        ledger.balance(AccountId(2), asset("BTC")).total,
        Amount::from_units(1) / 100
    );
}

#[test]
fn a_cancelled_order_leaves_the_book_and_releases_its_hold() {
    let mut cfg = config(1, &["binance"], &["BTC_USDT"], SimDuration::from_secs(30));
    constant_latency(&mut cfg, 1);
    fund(&mut cfg, 1, "binance", &[("USDT", "100000")]);
    let mut sim = SimBuilder::new(cfg).unwrap().build();
    let mut kinds = Vec::new();
    let mut step = 0;
    while let Some(d) = sim.step() {
        match d.item {
            Delivered::Market(MarketEvent::Quote(q)) => {
                step += 1;
                if step == 1 {
                    let far = Price(q.bid.0 - q.bid.0 / 100);
                    sim.submit_order(
                        d.at,
                        &order(
                            7,
                            1,
                            "binance",
                            "BTC_USDT",
                            Side::Buy,
                            OrderKind::Limit { price: far },
                            TimeInForce::Gtc,
                            1_000,
                        ),
                    );
                } else if step == 3 {
                    sim.submit_cancel(d.at, &cancel(7, 1, "binance", "BTC_USDT"));
                    sim.submit_cancel(d.at, &cancel(7, 1, "binance", "BTC_USDT"));
                } else if step == 2 {
                    let held = sim
                        .exchange(venue("binance"))
                        .unwrap()
                        .ledger()
                        .balance(AccountId(1), asset("USDT"))
                        .held;
                    assert!(held > Amount::from_units(590), "{held:?}");
                }
            }
            Delivered::Report(r) => kinds.push(r.kind),
            _ => {}
        }
    }
    assert!(matches!(kinds[0], ExecKind::Ack { .. }));
    assert_eq!(kinds[1], ExecKind::Cancelled { leaves: Qty(1_000) });
    assert_eq!(
        kinds[2],
        ExecKind::Reject {
            reason: RejectReason::UnknownOrder
        }
    );
    let ex = sim.exchange(venue("binance")).unwrap();
    assert_eq!(
        ex.ledger().balance(AccountId(1), asset("USDT")).held,
        Amount::ZERO
    );
    assert_eq!(ex.live_orders(), 0);
}
