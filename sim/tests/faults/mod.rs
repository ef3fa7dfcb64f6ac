//! Each fault kind, shown by its effect on what the driver receives.

use stage4_engine::domain::{
    ExecKind, ExecReport, MarketEvent, OrderKind, Quote, RejectReason, Side, SimDuration, SimTime,
    TimeInForce, VenueStatus,
};
use stage4_sim::faults::{Fault, FaultKind, Operation};
use stage4_sim::{Delivered, Delivery, SimBuilder, SimConfig};

use crate::support::*;

fn window() -> (SimTime, SimTime) {
    (
        t0() + SimDuration::from_mins(10),
        t0() + SimDuration::from_mins(20),
    )
}

fn world(kind: FaultKind, on: &str) -> SimConfig {
    let mut cfg = config(
        21,
        &["binance", "kraken"],
        &["BTC_USDT"],
        SimDuration::from_mins(30),
    );
    constant_latency(&mut cfg, 5);
    fund(
        &mut cfg,
        1,
        "binance",
        &[("USDT", "1000000"), ("BTC", "10")],
    );
    fund(&mut cfg, 1, "kraken", &[("USDT", "1000000"), ("BTC", "10")]);
    let (start, end) = window();
    cfg.faults.push(Fault {
        venue: venue(on),
        start,
        end,
        kind,
    });
    cfg
}

/// Runs the world; on every quote of `trade_on` sends a small market buy. Returns deliveries.
fn run(cfg: SimConfig, trade_on: Option<&str>) -> Vec<Delivery> {
    let mut sim = SimBuilder::new(cfg).unwrap().build();
    let mut out = Vec::new();
    let mut cid = 0;
    while let Some(d) = sim.step() {
        if let (Some(v), Delivered::Market(MarketEvent::Quote(q))) = (trade_on, &d.item)
            && q.venue == venue(v)
        {
            cid += 1;
            sim.submit_order(
                d.at,
                &order(
                    cid,
                    1,
                    v,
                    "BTC_USDT",
                    Side::Buy,
                    OrderKind::Market,
                    TimeInForce::Ioc,
                    10,
                ),
            );
        }
        out.push(d);
    }
    out
}

fn quotes<'a>(ds: &'a [Delivery], v: &'a str) -> impl Iterator<Item = (SimTime, Quote)> + 'a {
    ds.iter().filter_map(move |d| match d.item {
        Delivered::Market(MarketEvent::Quote(q)) if q.venue == venue(v) => Some((d.at, q)),
        _ => None,
    })
}

fn reports(ds: &[Delivery]) -> impl Iterator<Item = (SimTime, ExecReport)> + '_ {
    ds.iter().filter_map(|d| match d.item {
        Delivered::Report(r) => Some((d.at, r)),
        _ => None,
    })
}

fn inside(at: SimTime) -> bool {
    let (s, e) = window();
    at >= s && at < e
}

#[test]
fn outage_stops_the_venue_and_announces_itself() {
    let ds = run(world(FaultKind::Outage, "kraken"), None);
    let (start, end) = window();
    let md = SimDuration::from_millis(10);
    assert_eq!(
        quotes(&ds, "kraken")
            .filter(|(at, _)| *at > start + md && *at < end)
            .count(),
        0
    );
    assert_eq!(
        quotes(&ds, "binance").filter(|(at, _)| inside(*at)).count(),
        120
    );
    let statuses: Vec<(SimTime, VenueStatus)> = ds
        .iter()
        .filter_map(|d| match d.item {
            Delivered::Market(MarketEvent::Status {
                venue: v, status, ..
            }) if v == venue("kraken") => Some((d.at, status)),
            _ => None,
        })
        .collect();
    assert_eq!(
        statuses,
        [(start + md, VenueStatus::Down), (end + md, VenueStatus::Up)]
    );

    // Orders during the outage are rejected venue_down; before and after they trade.
    let traded = run(world(FaultKind::Outage, "kraken"), Some("kraken"));
    let mut sim = SimBuilder::new(world(FaultKind::Outage, "kraken"))
        .unwrap()
        .build();
    let _ = drain_until(&mut sim, start + SimDuration::from_mins(1));
    assert!(sim.is_down(venue("kraken")));
    sim.submit_order(
        sim.now(),
        &order(
            99,
            1,
            "kraken",
            "BTC_USDT",
            Side::Buy,
            OrderKind::Market,
            TimeInForce::Ioc,
            10,
        ),
    );
    let during: Vec<RejectReason> = reports(&drain(&mut sim))
        .filter_map(|(_, r)| match r.kind {
            ExecKind::Reject { reason } => Some(reason),
            _ => None,
        })
        .collect();
    assert_eq!(during, [RejectReason::VenueDown]);
    let fills_outside = reports(&traded)
        .filter(|(at, r)| !inside(*at) && matches!(r.kind, ExecKind::Fill { .. }))
        .count();
    assert!(fills_outside > 200, "{fills_outside}");
}

#[test]
fn reject_storm_rejects_a_share_of_orders() {
    let ds = run(
        world(FaultKind::RejectStorm { probability: 0.5 }, "binance"),
        Some("binance"),
    );
    let (mut storm, mut ok_inside, mut storm_outside) = (0, 0, 0);
    for (at, r) in reports(&ds) {
        match r.kind {
            ExecKind::Reject {
                reason: RejectReason::VenueError,
            } if inside(at) => storm += 1,
            ExecKind::Reject {
                reason: RejectReason::VenueError,
            } => storm_outside += 1,
            ExecKind::Ack { .. } if inside(at) => ok_inside += 1,
            _ => {}
        }
    }
    assert_eq!(storm_outside, 0);
    assert!(
        (35..85).contains(&storm) && (35..85).contains(&ok_inside),
        "{storm} rejected, {ok_inside} accepted"
    );
}

#[test]
fn stale_feed_repeats_the_last_book() {
    let ds = run(world(FaultKind::StaleFeed, "kraken"), None);
    let (start, _) = window();
    let before = quotes(&ds, "kraken")
        .filter(|(at, _)| *at <= start)
        .last()
        .unwrap()
        .1;
    let during: Vec<Quote> = quotes(&ds, "kraken")
        .filter(|(at, _)| inside(*at) && *at > start + SimDuration::from_millis(10))
        .map(|(_, q)| q)
        .collect();
    assert_eq!(during.len(), 119);
    assert!(
        during.iter().all(|q| *q == before),
        "every quote is the frozen one, `at` included"
    );
    let after: Vec<Quote> = quotes(&ds, "kraken")
        .filter(|(at, _)| !inside(*at) && *at > start)
        .map(|(_, q)| q)
        .collect();
    assert!(after.iter().any(|q| q.bid != before.bid) && after.iter().all(|q| q.at > before.at));
    // Bars during the window are flat with no volume.
    let flat = ds.iter().filter(|d| match d.item {
        Delivered::Market(MarketEvent::Bar(b)) if b.venue == venue("kraken") && inside(d.at) => {
            assert_eq!(
                (b.open, b.high, b.low, b.volume.0),
                (b.close, b.close, b.close, 0)
            );
            true
        }
        _ => false,
    });
    assert_eq!(flat.count(), 10);
}

#[test]
fn gapped_feed_drops_data() {
    let ds = run(
        world(FaultKind::GappedFeed { probability: 1.0 }, "kraken"),
        None,
    );
    // The window opens (class 0) before the quote of the same instant is published (class 2).
    assert_eq!(
        quotes(&ds, "kraken").filter(|(at, _)| inside(*at)).count(),
        0
    );
    assert_eq!(
        quotes(&ds, "binance").filter(|(at, _)| inside(*at)).count(),
        120
    );
    let bars_inside = ds.iter().filter(|d| matches!(d.item, Delivered::Market(MarketEvent::Bar(b)) if b.venue == venue("kraken") && inside(d.at))).count();
    assert_eq!(bars_inside, 0);

    let half = run(
        world(FaultKind::GappedFeed { probability: 0.5 }, "kraken"),
        None,
    );
    let n = quotes(&half, "kraken")
        .filter(|(at, _)| inside(*at))
        .count();
    assert!((40..80).contains(&n), "{n}");
}

#[test]
fn clock_skew_shifts_venue_timestamps_only() {
    let ds = run(
        world(FaultKind::ClockSkew { offset_ms: -1_500 }, "kraken"),
        Some("kraken"),
    );
    let md = SimDuration::from_millis(10);
    for (at, q) in quotes(&ds, "kraken") {
        let venue_time = at - md;
        if inside(venue_time) {
            assert_eq!(q.at, venue_time - SimDuration::from_millis(1_500));
        } else {
            assert_eq!(q.at, venue_time);
        }
    }
    let skewed = reports(&ds)
        .filter(|(at, r)| {
            inside(*at)
                && r.at + SimDuration::from_millis(1_500) + SimDuration::from_millis(5) == *at
        })
        .count();
    assert!(skewed > 100, "{skewed}");
}

#[test]
fn secondary_feed_delay_shows_as_quote_age() {
    let delay = SimDuration::from_millis(600);
    let ds = run(world(FaultKind::FeedDelay { delay }, "kraken"), None);
    let md = SimDuration::from_millis(10);
    let mut delayed = 0;
    for (at, q) in quotes(&ds, "kraken") {
        let age = at.saturating_since(q.at);
        if inside(q.at) {
            assert_eq!(age, md + delay);
            delayed += 1;
        } else {
            assert!(age <= md + delay);
        }
    }
    assert_eq!(delayed, 120);
    assert!(quotes(&ds, "binance").all(|(at, q)| at.saturating_since(q.at) == md));
}

#[test]
fn latency_spikes_raise_delivery_latency() {
    let spike = FaultKind::LatencySpike {
        operation: Operation::OrderEntry,
        factor: 10,
        extra: SimDuration::from_millis(100),
    };
    let ds = run(world(spike, "binance"), Some("binance"));
    // Orders are sent at quote delivery (venue time + 10 ms); the ack's venue time is the arrival.
    let mut inside_latency = Vec::new();
    let mut outside_latency = Vec::new();
    for (_, r) in reports(&ds) {
        if let ExecKind::Ack { .. } = r.kind {
            let sent = r.at.floor_to(SimDuration::from_secs(5)) + SimDuration::from_millis(10);
            let entry = r.at.saturating_since(sent);
            if inside(sent) {
                inside_latency.push(entry)
            } else {
                outside_latency.push(entry)
            }
        }
    }
    assert!(
        outside_latency
            .iter()
            .all(|l| *l == SimDuration::from_millis(5))
    );
    assert!(
        !inside_latency.is_empty()
            && inside_latency
                .iter()
                .all(|l| *l == SimDuration::from_millis(150))
    );

    let md_spike = FaultKind::LatencySpike {
        operation: Operation::MarketData,
        factor: 3,
        extra: SimDuration::ZERO,
    };
    let ds = run(world(md_spike, "kraken"), None);
    assert!(
        quotes(&ds, "kraken")
            .filter(|(_, q)| inside(q.at))
            .all(|(at, q)| at.saturating_since(q.at) == SimDuration::from_millis(30))
    );
}
