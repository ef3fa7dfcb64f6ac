//! Market realism and the replay path.

use std::collections::BTreeMap;

use stage4_engine::domain::{
    ExecKind, MarketEvent, OrderKind, Price, Quote, Side, SimDuration, Symbol, TimeInForce,
};
use stage4_engine::ports::MarketFeed;
use stage4_sim::market::generator::MarketGenerator;
use stage4_sim::market::instruments::default_spec;
use stage4_sim::market::replay::parse_csv;
use stage4_sim::rng::SimRng;
use stage4_sim::{Delivered, SimBuilder};

use crate::support::*;

#[test]
fn cross_venue_spreads_open_sometimes_and_close_again() {
    let mut cfg = config(
        5,
        &["binance_spot", "kraken_spot"],
        &["BTC_USDT"],
        SimDuration::from_days(1),
    );
    cfg.venue_mut(venue("kraken_spot")).unwrap().lag = SimDuration::from_millis(300);
    let builder = SimBuilder::new(cfg).unwrap();
    let mut feed = MarketGenerator::new(builder.market_plan(), &SimRng::from_seed(builder.seed()));
    let mut last: BTreeMap<String, Quote> = BTreeMap::new();
    let (mut instants, mut open_instants, mut episodes) = (0u64, 0u64, 0u64);
    let mut was_open = false;
    let mut current = None;
    let mut check = |last: &BTreeMap<String, Quote>| {
        if let (Some(p), Some(s)) = (last.get("binance_spot"), last.get("kraken_spot")) {
            let reference = p.bid.0.max(p.ask.0).max(s.bid.0).max(s.ask.0) as f64;
            let pos = (s.bid.0 - p.ask.0) as f64 / reference;
            let neg = (p.bid.0 - s.ask.0) as f64 / reference;
            let open = pos >= 0.0015 || neg >= 0.0015;
            instants += 1;
            if open {
                open_instants += 1;
                if !was_open {
                    episodes += 1;
                }
            }
            was_open = open;
        }
    };
    while let Some(e) = feed.next_event() {
        if let MarketEvent::Quote(q) = e {
            if current != Some(q.at) {
                check(&last);
                current = Some(q.at);
            }
            last.insert(q.venue.to_string(), q);
        }
    }
    check(&last);
    let share = open_instants as f64 / instants as f64;
    assert!(instants > 17_000, "{instants}");
    assert!(
        episodes >= 10,
        "entry-level spreads must open repeatedly: {episodes} episodes"
    );
    assert!(
        share < 0.1,
        "and close again: open {:.2} % of the time",
        share * 100.0
    );
}

#[test]
fn every_venue_publishes_every_bar_and_prices_stay_sane() {
    let mut cfg = config(
        9,
        &["binance", "kraken"],
        &["BTC_USDT", "ETH_USDT", "DOGE_USDT"],
        SimDuration::from_hours(6),
    );
    cfg.bar_intervals = vec![SimDuration::from_mins(1), SimDuration::from_hours(1)];
    let mut sim = SimBuilder::new(cfg).unwrap().build();
    let mut bars: BTreeMap<(String, String, u64), u64> = BTreeMap::new();
    for d in drain(&mut sim) {
        if let Delivered::Market(MarketEvent::Bar(b)) = d.item {
            assert!(b.low <= b.open && b.low <= b.close && b.high >= b.open.max(b.close));
            assert_eq!(b.open_at.as_nanos() % b.interval.as_nanos(), 0);
            *bars
                .entry((
                    b.venue.to_string(),
                    b.symbol.to_string(),
                    b.interval.as_secs(),
                ))
                .or_default() += 1;
            if b.symbol == sym("BTC_USDT") {
                let price = b.close.0 as f64 / 100.0;
                assert!((40_000.0..90_000.0).contains(&price), "{price}");
            }
        }
    }
    assert_eq!(bars.len(), 2 * 3 * 2);
    for ((_, _, secs), n) in bars {
        assert_eq!(n, if secs == 60 { 360 } else { 6 });
    }
}

const REPLAY: &str = "timestamp,venue,symbol,open,high,low,close,volume\n\
2026-01-05T00:00:00Z,binance,BTC_USDT,60000.00,60030.00,59980.00,60020.00,3.5\n\
2026-01-05T00:01:00Z,binance,BTC_USDT,60020.00,60025.00,59900.00,59950.00,4.1\n\
2026-01-05T00:02:00Z,binance,BTC_USDT,59950.00,59990.00,59940.00,59985.00,2.0\n";

#[test]
fn replay_publishes_recorded_bars_and_drives_the_exchange() {
    let btc = sym("BTC_USDT");
    let specs: BTreeMap<Symbol, _> = [(btc, default_spec(btc).unwrap())].into_iter().collect();
    let bars = parse_csv(REPLAY, SimDuration::from_mins(1), &specs).unwrap();
    let mut cfg = config(1, &["binance"], &["BTC_USDT"], SimDuration::from_mins(3));
    cfg.quote_interval = SimDuration::from_secs(15);
    cfg.replay = Some(bars.clone());
    constant_latency(&mut cfg, 1);
    fund(&mut cfg, 1, "binance", &[("USDT", "1000000")]);
    let mut sim = SimBuilder::new(cfg).unwrap().build();
    let mut delivered_bars = Vec::new();
    let mut quotes = 0;
    let mut fills = Vec::new();
    let mut sent = false;
    while let Some(d) = sim.step() {
        match d.item {
            Delivered::Market(MarketEvent::Bar(b)) => delivered_bars.push(b),
            Delivered::Market(MarketEvent::Quote(q)) => {
                quotes += 1;
                assert!(q.bid < q.ask);
                if !sent && q.at >= t0() + SimDuration::from_secs(60) {
                    sent = true;
                    sim.submit_order(
                        d.at,
                        &order(
                            1,
                            1,
                            "binance",
                            "BTC_USDT",
                            Side::Buy,
                            OrderKind::Market,
                            TimeInForce::Ioc,
                            1_000,
                        ),
                    );
                }
            }
            Delivered::Report(r) => {
                if let ExecKind::Fill { price, .. } = r.kind {
                    fills.push(price);
                }
            }
            Delivered::Timer(_) | Delivered::Market(MarketEvent::Status { .. }) => {}
        }
    }
    assert_eq!(delivered_bars, bars);
    assert_eq!(quotes, 12, "4 synthesised quotes per 1-minute bar at 15 s");
    assert!(!fills.is_empty());
    // The second bar's first quote is its open (60 020.00): a market buy pays about that.
    assert!(
        fills
            .iter()
            .all(|p| (Price(6_001_900)..=Price(6_003_000)).contains(p)),
        "{fills:?}"
    );
}
