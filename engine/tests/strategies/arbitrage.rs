//! Cross-exchange arbitrage against the reference fixture (engine.md §7.4): symbol
//! `BTC_USDT_CROSS`, entry 0.001, exit 0.0005, notional 10 000, binance_spot / kraken_spot,
//! spot market params (taker 4 bp, lot 0.001). Expected numbers are the reference formulas
//! evaluated in Python 3.11 (shortest round-trip repr), so equality is exact.

use stage4_engine::domain::{Side, SimDuration};
use stage4_engine::strategy::{
    ArbDirection, CrossExchangeArbitrageParams, CrossExchangeArbitrageStrategy, Intent, SignalSide,
};

use super::{quotes_bar, step, venue};

const LONG: ArbDirection = ArbDirection::LongPrimaryShortSecondary;

fn fixture_strategy(max_open_seconds: u64) -> CrossExchangeArbitrageStrategy {
    CrossExchangeArbitrageStrategy::new(CrossExchangeArbitrageParams {
        spread_entry: 0.001,
        spread_exit: 0.0005,
        max_notional: 10_000.0,
        max_open_seconds,
        ..CrossExchangeArbitrageParams::new(venue("binance_spot"), venue("kraken_spot"))
    })
    .unwrap()
}

fn entry_bar() -> stage4_engine::strategy::MarketSnapshot {
    quotes_bar(
        "BTC_USDT_CROSS",
        1_000,
        (100.0, 100.2, 101.0, 101.2),
        SimDuration::ZERO,
    )
}

/// (venue, side, quantity, price) of each leg.
fn legs(signal: &stage4_engine::strategy::Signal) -> Vec<(&str, Side, f64, f64)> {
    signal
        .legs
        .iter()
        .map(|l| (l.venue.as_str(), l.side, l.quantity, l.price))
        .collect()
}

#[test]
fn entry_bar_opens_long_primary_short_secondary() {
    let mut s = fixture_strategy(60);
    let out = step(&mut s, &entry_bar());
    assert_eq!(out.len(), 1);
    let open = &out[0];
    assert_eq!(open.side, SignalSide::Open(LONG));
    assert_eq!(
        open.side.to_reference_string(),
        "long_primary_short_secondary"
    );
    assert_eq!(open.intent, Intent::MultiLeg);
    assert_eq!(open.confidence, 1.0);
    // pos = 101.0 − 100.2, ref = max(quotes, close) = 101.2.
    assert_eq!(open.metadata.spread(), Some(0.7999999999999972));
    assert_eq!(open.metadata.entry_spread(), Some(0.00790513833992092));
    assert_eq!(open.metadata.max_notional(), Some(10_000.0));
    assert_eq!(open.metadata.taker_fee_rate(), Some(0.0004));
    assert_eq!(open.metadata.lot_size(), Some(0.001));
    assert_eq!(open.metadata.secondary_delay_ms(), Some(0.0));
    assert_eq!(open.metadata.exit_spread(), None);
    // 9 996 / 100.2 = 99.7604 → 99.760; 9 996 / 101.0 = 98.9703 → 98.970.
    assert_eq!(
        legs(open),
        [
            ("binance_spot", Side::Buy, 99.76, 100.2),
            ("kraken_spot", Side::Sell, 98.97, 101.0),
        ]
    );
    let position = s.position(&open.symbol).unwrap();
    assert_eq!(position.direction, LONG);
    assert_eq!(position.entry_spread, 0.00790513833992092);
}

#[test]
fn exit_bar_closes_with_the_exit_spread_as_a_ratio() {
    let mut s = fixture_strategy(60);
    step(&mut s, &entry_bar());
    let exit = quotes_bar(
        "BTC_USDT_CROSS",
        1_040,
        (100.3, 100.35, 100.37, 100.4),
        SimDuration::ZERO,
    );
    let out = step(&mut s, &exit);
    assert_eq!(out.len(), 1);
    let close = &out[0];
    assert_eq!(close.side, SignalSide::Close(LONG));
    assert_eq!(
        close.side.to_reference_string(),
        "close_long_primary_short_secondary"
    );
    assert_eq!(close.confidence, 1.0);
    // pos = 100.37 − 100.35 = 0.02 on ref 100.4: the reference would write 0.02 here.
    assert_eq!(close.metadata.exit_spread(), Some(0.0001992031872510979));
    assert_eq!(close.metadata.entry_spread(), Some(0.00790513833992092));
    assert_eq!(close.metadata.elapsed_seconds(), Some(40.0));
    assert_eq!(close.metadata.secondary_delay_ms(), Some(0.0));
    assert_eq!(close.metadata.spread(), None);
    // Reversed legs at exit prices, re-sized: 9 996 / 100.3 → 99.661, 9 996 / 100.4 → 99.561.
    assert_eq!(
        legs(close),
        [
            ("binance_spot", Side::Sell, 99.661, 100.3),
            ("kraken_spot", Side::Buy, 99.561, 100.4),
        ]
    );
    assert!(s.positions().is_empty());
}

#[test]
fn timeout_bar_closes_after_max_open_seconds() {
    let timeout = quotes_bar(
        "BTC_USDT_CROSS",
        1_020,
        (100.1, 100.3, 101.0, 101.2),
        SimDuration::ZERO,
    );

    // max_open 10 s: 20 s later the spread is still wide (0.0069 > exit) but time is up.
    let mut s = fixture_strategy(10);
    step(&mut s, &entry_bar());
    let out = step(&mut s, &timeout);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].side, SignalSide::Close(LONG));
    assert_eq!(out[0].metadata.elapsed_seconds(), Some(20.0));
    assert_eq!(out[0].metadata.exit_spread(), Some(0.006916996047430858));
    assert_eq!(
        legs(&out[0]),
        [
            ("binance_spot", Side::Sell, 99.86, 100.1),
            ("kraken_spot", Side::Buy, 98.774, 101.2),
        ]
    );

    // max_open 60 s: the same bar keeps the position open.
    let mut s = fixture_strategy(60);
    step(&mut s, &entry_bar());
    assert!(step(&mut s, &timeout).is_empty());
    assert!(s.position(&timeout.symbol).is_some());
}

#[test]
fn timeout_is_inclusive_to_the_nanosecond() {
    let mut s = fixture_strategy(10);
    step(&mut s, &entry_bar());
    let wide = (100.1, 100.3, 101.0, 101.2);
    let mut just_before = quotes_bar("BTC_USDT_CROSS", 1_010, wide, SimDuration::ZERO);
    just_before.at = just_before
        .at
        .checked_sub(SimDuration::from_nanos(1))
        .unwrap();
    assert!(step(&mut s, &just_before).is_empty());
    let at_limit = quotes_bar("BTC_USDT_CROSS", 1_010, wide, SimDuration::ZERO);
    assert_eq!(step(&mut s, &at_limit).len(), 1);
}

#[test]
fn one_position_per_symbol_while_open() {
    let mut s = fixture_strategy(60);
    assert_eq!(step(&mut s, &entry_bar()).len(), 1);
    let mut again = entry_bar();
    again.at = again.at.checked_add(SimDuration::from_secs(5)).unwrap();
    assert!(
        step(&mut s, &again).is_empty(),
        "still open: no second entry"
    );
    assert_eq!(s.positions().len(), 1);

    // Another symbol opens independently.
    let other = quotes_bar(
        "ETH_USDT",
        1_000,
        (100.0, 100.2, 101.0, 101.2),
        SimDuration::ZERO,
    );
    assert_eq!(step(&mut s, &other).len(), 1);
    assert_eq!(s.positions().len(), 2);
}

#[test]
fn secondary_delay_is_reported_on_entry_and_close() {
    let mut s = fixture_strategy(60);
    let lagging = quotes_bar(
        "BTC_USDT_CROSS",
        1_000,
        (100.0, 100.2, 101.0, 101.2),
        SimDuration::from_millis(350),
    );
    assert_eq!(
        step(&mut s, &lagging)[0].metadata.secondary_delay_ms(),
        Some(350.0)
    );
    let exit = quotes_bar(
        "BTC_USDT_CROSS",
        1_040,
        (100.3, 100.35, 100.37, 100.4),
        SimDuration::from_micros(1_250),
    );
    assert_eq!(
        step(&mut s, &exit)[0].metadata.secondary_delay_ms(),
        Some(1.25)
    );
}
