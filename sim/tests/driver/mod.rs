//! The contract between the sim and whoever drives it.

use stage4_engine::domain::{MarketEvent, OrderKind, Side, SimDuration, TimeInForce};
use stage4_engine::ports::Venue;
use stage4_sim::{Delivered, SimBuilder};

use crate::support::*;

#[test]
fn timers_fire_after_every_delivery_of_their_instant() {
    let cfg = config(
        1,
        &["binance", "kraken"],
        &["BTC_USDT"],
        SimDuration::from_mins(1),
    );
    let mut sim = SimBuilder::new(cfg).unwrap().build();
    // Quotes at t0 are delivered at t0 + 10 ms; a timer at that instant comes after both.
    let at = t0() + SimDuration::from_millis(10);
    sim.set_timer(at, 42);
    let first: Vec<_> = (0..3).map(|_| sim.step().unwrap()).collect();
    assert!(matches!(
        first[0].item,
        Delivered::Market(MarketEvent::Quote(_))
    ));
    assert!(matches!(
        first[1].item,
        Delivered::Market(MarketEvent::Quote(_))
    ));
    assert_eq!(first[2].item, Delivered::Timer(42));
    assert!(first.iter().all(|d| d.at == at));
    assert_eq!(sim.counts().timers, 1);
}

#[test]
fn step_until_never_passes_its_limit() {
    let cfg = config(1, &["binance"], &["BTC_USDT"], SimDuration::from_mins(5));
    let mut sim = SimBuilder::new(cfg).unwrap().build();
    let limit = t0() + SimDuration::from_secs(12);
    let got = drain_until(&mut sim, limit);
    assert_eq!(got.len(), 3, "quotes of 0 s, 5 s, 10 s");
    assert!(got.iter().all(|d| d.at <= limit));
    assert!(sim.now() <= limit);
    assert_eq!(sim.next_time(), Some(t0() + SimDuration::from_secs(15)));
    // The driver may act anywhere up to the next pending event.
    let mut out = Vec::new();
    sim.submit(
        limit,
        &order(
            1,
            1,
            "binance",
            "BTC_USDT",
            Side::Buy,
            OrderKind::Market,
            TimeInForce::Ioc,
            10,
        ),
        &mut out,
    );
    assert!(out.is_empty(), "reports travel through the queue");
    assert!(
        drain(&mut sim)
            .iter()
            .any(|d| matches!(d.item, Delivered::Report(_)))
    );
}

#[test]
#[should_panic(expected = "before the sim clock")]
fn a_submission_in_the_past_is_a_bug() {
    let cfg = config(1, &["binance"], &["BTC_USDT"], SimDuration::from_mins(1));
    let mut sim = SimBuilder::new(cfg).unwrap().build();
    drain_until(&mut sim, t0() + SimDuration::from_secs(20));
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
            10,
        ),
    );
}

#[test]
#[should_panic(expected = "step the sim first")]
fn a_submission_beyond_unprocessed_events_is_a_bug() {
    let cfg = config(1, &["binance"], &["BTC_USDT"], SimDuration::from_mins(1));
    let mut sim = SimBuilder::new(cfg).unwrap().build();
    sim.submit_order(
        t0() + SimDuration::from_secs(30),
        &order(
            1,
            1,
            "binance",
            "BTC_USDT",
            Side::Buy,
            OrderKind::Market,
            TimeInForce::Ioc,
            10,
        ),
    );
}

#[test]
fn a_lagging_venue_shows_the_leaders_prices_later() {
    let mut cfg = config(
        4,
        &["binance", "kraken"],
        &["BTC_USDT"],
        SimDuration::from_mins(30),
    );
    for v in &mut cfg.venues {
        v.basis_bps = 0.0;
    }
    // One quote interval behind: kraken's book at t is binance's at t − 5 s, tick for tick.
    cfg.venue_mut(venue("kraken")).unwrap().lag = SimDuration::from_secs(5);
    let mut sim = SimBuilder::new(cfg).unwrap().build();
    let mut binance = Vec::new();
    let mut kraken = Vec::new();
    for d in drain(&mut sim) {
        if let Delivered::Market(MarketEvent::Quote(q)) = d.item {
            if q.venue == venue("binance") {
                binance.push((q.bid, q.ask))
            } else {
                kraken.push((q.bid, q.ask))
            }
        }
    }
    assert_eq!(binance.len(), 360);
    assert_eq!(kraken[1..], binance[..359]);
    assert_ne!(kraken, binance);
}

#[test]
fn config_errors_name_the_field() {
    type Tweak = Box<dyn Fn(&mut stage4_sim::SimConfig)>;
    let cases: Vec<(&str, Tweak)> = vec![
        ("duration", Box::new(|c| c.duration = SimDuration::ZERO)),
        ("venues", Box::new(|c| c.venues.clear())),
        ("symbols", Box::new(|c| c.symbols.clear())),
        (
            "quote_interval",
            Box::new(|c| c.quote_interval = SimDuration::ZERO),
        ),
        (
            "bar_intervals[0]",
            Box::new(|c| c.bar_intervals = vec![SimDuration::from_secs(7)]),
        ),
        ("start", Box::new(|c| c.start += SimDuration::from_secs(1))),
        (
            "venues.binance.depth.levels",
            Box::new(|c| c.venues[0].depth.levels = 0),
        ),
        (
            "venues.binance.fees.taker_bps",
            Box::new(|c| c.venues[0].fees.taker_bps = 20_000),
        ),
        (
            "venues.binance.spread_bps",
            Box::new(|c| c.venues[0].spread_bps = f64::NAN),
        ),
        (
            "symbols.BTC_USDT.start_price",
            Box::new(|c| c.symbols[0].start_price = Some(-1.0)),
        ),
        (
            "symbols.BTC_USDT.model.vol",
            Box::new(|c| {
                c.symbols[0].model = Some(stage4_sim::market::process::PriceModel::Gbm {
                    vol: -0.1,
                    drift: 0.0,
                })
            }),
        ),
        (
            "accounts[0].account",
            Box::new(|c| fund(c, u32::MAX, "binance", &[("USDT", "1")])),
        ),
        (
            "accounts[0].venue",
            Box::new(|c| fund(c, 1, "okx", &[("USDT", "1")])),
        ),
        (
            "faults[0]",
            Box::new(|c| {
                c.faults.push(stage4_sim::faults::Fault {
                    venue: venue("binance"),
                    start: c.start,
                    end: c.start,
                    kind: stage4_sim::faults::FaultKind::Outage,
                })
            }),
        ),
    ];
    for (field, tweak) in cases {
        let mut cfg = config(1, &["binance"], &["BTC_USDT"], SimDuration::from_hours(1));
        tweak(&mut cfg);
        let err = SimBuilder::new(cfg).unwrap_err().to_string();
        assert!(err.starts_with(&format!("`{field}`")), "{field}: {err}");
    }
}
