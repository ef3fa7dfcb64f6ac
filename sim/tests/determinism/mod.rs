//! Same seed ⇒ same digest; different seed ⇒ different digest; forking by label.

use stage4_engine::domain::{MarketEvent, OrderKind, Side, SimDuration, TimeInForce};
use stage4_sim::{Delivered, Sim, SimBuilder, SimStats};

use crate::support::*;

/// Steps `sim` to its end, sending a market IOC order of `qty` lots on every bar of `symbol`
/// on `venue` (the n-th order's side is `side_of(n)`), so a digest covers order flow and
/// reports too.
fn trade_every_bar(
    sim: &mut Sim,
    venue_name: &str,
    symbol: &str,
    qty: i64,
    side_of: fn(u64) -> Side,
) {
    let mut cid = 0;
    while let Some(d) = sim.step() {
        if let Delivered::Market(MarketEvent::Bar(bar)) = d.item
            && bar.venue == venue(venue_name)
            && bar.symbol == sym(symbol)
        {
            cid += 1;
            let o = order(
                cid,
                1,
                venue_name,
                symbol,
                side_of(cid),
                OrderKind::Market,
                TimeInForce::Ioc,
                qty,
            );
            sim.submit_order(d.at, &o);
        }
    }
}

fn run_digest(seed: u64) -> (String, u64) {
    let mut cfg = config(
        seed,
        &["binance", "kraken"],
        &["BTC_USDT", "ETH_USDT"],
        SimDuration::from_hours(2),
    );
    fund(
        &mut cfg,
        1,
        "binance",
        &[("USDT", "1000000"), ("BTC", "10")],
    );
    let mut sim = SimBuilder::new(cfg).unwrap().build();
    trade_every_bar(&mut sim, "binance", "BTC_USDT", 10, |n| {
        if n % 2 == 0 { Side::Buy } else { Side::Sell }
    });
    (sim.digest_hex(), sim.counts().fills)
}

#[test]
fn same_seed_same_digest_other_seed_other_digest() {
    let (a, fills) = run_digest(7);
    let (b, _) = run_digest(7);
    let (c, _) = run_digest(8);
    assert_eq!(a, b);
    assert_ne!(a, c);
    assert!(fills >= 100, "orders traded: {fills}");
}

#[test]
fn builds_from_one_builder_are_identical_runs() {
    let cfg = config(3, &["binance"], &["BTC_USDT"], SimDuration::from_mins(30));
    let builder = SimBuilder::new(cfg).unwrap();
    let mut first = builder.build();
    let mut second = builder.build();
    assert_eq!(drain(&mut first), drain(&mut second));
    assert_eq!(first.digest_hex(), second.digest_hex());
}

fn quotes_of(venues: &[&str], keep: &[&str]) -> Vec<(String, i64, i64, i64, i64, u64)> {
    let cfg = config(
        11,
        venues,
        &["BTC_USDT", "ETH_USDT"],
        SimDuration::from_hours(1),
    );
    let mut sim = SimBuilder::new(cfg).unwrap().build();
    drain(&mut sim)
        .into_iter()
        .filter_map(|d| match d.item {
            Delivered::Market(MarketEvent::Quote(q)) if keep.contains(&q.venue.as_str()) => Some((
                format!("{}/{}", q.venue, q.symbol),
                q.bid.0,
                q.ask.0,
                q.bid_qty.0,
                q.ask_qty.0,
                q.at.as_nanos(),
            )),
            _ => None,
        })
        .collect()
}

#[test]
fn adding_a_venue_leaves_existing_price_paths_unchanged() {
    let two = quotes_of(&["binance", "kraken"], &["binance", "kraken"]);
    let three = quotes_of(&["binance", "kraken", "okx"], &["binance", "kraken"]);
    let reordered = quotes_of(&["okx", "kraken", "binance"], &["binance", "kraken"]);
    assert!(two.len() > 1000);
    assert_eq!(two, three);
    // Venue order changes the emission order at an instant, never the prices.
    let mut a = two.clone();
    let mut b = reordered;
    a.sort();
    b.sort();
    assert_eq!(a, b);
}

/// Two venues, two symbols, 1 s quotes with 1 s bars beside the 1 m ones, every fault kind on overlapping
/// windows (a stale feed inside a skew, a gap beside a storm, an outage...) and an order on
/// every binance BTC minute bar and kraken ETH quote, with resting orders, cancels and timers
/// in between. Returns the digest and the counts' total.
fn every_fault_run(seed: u64) -> (String, u64, stage4_sim::trace::TraceCounts, SimStats) {
    use stage4_sim::faults::{Fault, FaultKind, Operation};
    let mut cfg = config(
        seed,
        &["binance", "kraken"],
        &["BTC_USDT", "ETH_USDT"],
        SimDuration::from_mins(90),
    );
    cfg.quote_interval = SimDuration::from_secs(1);
    cfg.bar_intervals = vec![SimDuration::from_secs(1), SimDuration::from_mins(1)];
    fund(
        &mut cfg,
        1,
        "binance",
        &[("USDT", "1000000"), ("BTC", "10"), ("ETH", "100")],
    );
    fund(
        &mut cfg,
        1,
        "kraken",
        &[("USDT", "1000000"), ("BTC", "10"), ("ETH", "100")],
    );
    let at = |m: u64| t0() + SimDuration::from_mins(m);
    let faults = [
        ("binance", 5, 15, FaultKind::StaleFeed),
        ("binance", 10, 25, FaultKind::ClockSkew { offset_ms: -250 }),
        ("kraken", 12, 30, FaultKind::GappedFeed { probability: 0.3 }),
        (
            "kraken",
            20,
            40,
            FaultKind::RejectStorm { probability: 0.5 },
        ),
        ("binance", 30, 35, FaultKind::Outage),
        ("kraken", 33, 45, FaultKind::StaleFeed),
        (
            "binance",
            40,
            50,
            FaultKind::FeedDelay {
                delay: SimDuration::from_millis(700),
            },
        ),
        (
            "kraken",
            50,
            60,
            FaultKind::LatencySpike {
                operation: Operation::MarketData,
                factor: 3,
                extra: SimDuration::from_millis(40),
            },
        ),
        (
            "binance",
            55,
            65,
            FaultKind::LatencySpike {
                operation: Operation::OrderEntry,
                factor: 2,
                extra: SimDuration::ZERO,
            },
        ),
        ("binance", 60, 62, FaultKind::StaleFeed),
        ("kraken", 70, 71, FaultKind::Outage),
    ];
    for (v, start, end, kind) in faults {
        cfg.faults.push(Fault {
            venue: venue(v),
            start: at(start),
            end: at(end),
            kind,
        });
    }
    let mut sim = SimBuilder::new(cfg).unwrap().build();
    let mut cid = 0;
    while let Some(d) = sim.step() {
        let target = match d.item {
            Delivered::Market(MarketEvent::Bar(b))
                if b.venue == venue("binance")
                    && b.symbol == sym("BTC_USDT")
                    && b.interval == SimDuration::from_mins(1) =>
            {
                Some(("binance", "BTC_USDT"))
            }
            Delivered::Market(MarketEvent::Quote(q))
                if q.venue == venue("kraken") && q.symbol == sym("ETH_USDT") =>
            {
                Some(("kraken", "ETH_USDT"))
            }
            _ => None,
        };
        if let Some((v, s)) = target {
            cid += 1;
            let side = if cid % 2 == 0 { Side::Buy } else { Side::Sell };
            sim.submit_order(
                d.at,
                &order(cid, 1, v, s, side, OrderKind::Market, TimeInForce::Ioc, 3),
            );
            if cid % 5 == 0 {
                // A resting order, cancelled on the next turn (or already gone: a reject).
                cid += 1;
                sim.submit_order(
                    d.at,
                    &order(cid, 1, v, s, side, limit(1), TimeInForce::Gtc, 1),
                );
                sim.submit_cancel(d.at, &cancel(cid - 5, 1, v, s));
                sim.set_timer(d.at + SimDuration::from_millis(1), cid);
            }
        }
    }
    (
        sim.digest_hex(),
        sim.counts().total(),
        sim.counts().clone(),
        sim.stats(),
    )
}

/// The trace of a run through every fault kind is pinned byte for byte: a faster sim must
/// deliver exactly what the original did (digests taken from the sim before its performance
/// work of the engineperf4 branch).
#[test]
fn every_fault_kind_run_keeps_its_pinned_digest() {
    let pinned = [
        (
            1,
            "ecc518f082afe600d17cf326d19aafe72680412babefd92739cf102aa3f7e8c9",
            57548,
        ),
        (
            2,
            "814540cc4e344be4513ced6584b00e305468a2cbfc4a672061ca7102f867015b",
            57580,
        ),
    ];
    for (seed, digest, total) in pinned {
        let (d, n, counts, stats) = every_fault_run(seed);
        assert_eq!((d.as_str(), n), (digest, total), "seed {seed}");
        let (processed, peak) = [(62_949, 37), (62_981, 37)][usize::from(seed == 2)];
        assert_eq!(
            (stats.events_processed, stats.peak_queue),
            (processed, peak),
            "seed {seed}: every queued event once, and the same peak of pending events"
        );
        // The run exercises what it claims to.
        assert!(counts.fills > 0 && counts.cancels_submitted > 0 && counts.timers > 0);
        assert!(counts.rejects_by_reason.len() >= 3, "{counts:?}");
        assert!(stats.stale_repeats > 0 && stats.dropped_by_gap > 0);
        assert!(stats.suppressed_by_outage > 0);
    }
}

/// The replay path is pinned too: the repository's recorded market (`fixtures/market`),
/// replayed on 15 s quotes through both venues with a market order on every kraken ETH bar.
#[test]
fn replay_of_the_market_fixture_keeps_its_pinned_digest() {
    use stage4_engine::domain::{SimTime, Symbol};
    use stage4_sim::market::instruments::default_spec;
    use stage4_sim::market::replay::parse_csv;
    use std::collections::BTreeMap;

    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fixtures/market/sample_1m.csv"
    );
    let text = std::fs::read_to_string(path).unwrap();
    let specs: BTreeMap<Symbol, _> = ["BTC_USDT", "ETH_USDT"]
        .iter()
        .map(|s| (sym(s), default_spec(sym(s)).unwrap()))
        .collect();
    let bars = parse_csv(&text, SimDuration::from_mins(1), &specs).unwrap();
    let mut cfg = config(
        5,
        &["binance", "kraken"],
        &["BTC_USDT", "ETH_USDT"],
        SimDuration::from_hours(5),
    );
    cfg.start = SimTime::parse_rfc3339("2026-01-05T00:00:00Z").unwrap();
    cfg.quote_interval = SimDuration::from_secs(15);
    cfg.replay = Some(bars);
    fund(
        &mut cfg,
        1,
        "kraken",
        &[("USDT", "1000000"), ("ETH", "100")],
    );
    let mut sim = SimBuilder::new(cfg).unwrap().build();
    trade_every_bar(&mut sim, "kraken", "ETH_USDT", 20, |n| {
        if n % 3 == 0 { Side::Sell } else { Side::Buy }
    });
    assert!(sim.counts().fills > 100, "{:?}", sim.counts());
    assert_eq!(
        (sim.digest_hex().as_str(), sim.counts().total()),
        (
            "8c390ae663ed0596449ae12703ccafd0e962ec2b16927e544959ba860f192afc",
            6900
        )
    );
}
