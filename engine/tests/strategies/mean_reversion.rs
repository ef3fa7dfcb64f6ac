//! Mean reversion, hand-computed. Parameters: lookback 4, entry 1.2, exit 0.5, hold 3 bars,
//! volatility cap 0.05 (emergency exit above 0.075), min volume 1 000. The arithmetic is in
//! the comments; the exact values are the reference formulas evaluated in Python 3.11.

use stage4_engine::strategy::{
    Intent, MarketSnapshot, MeanReversionParams, MeanReversionPosition, MeanReversionStrategy,
    Regime, Signal, SignalSide, Strategy,
};

use super::{bar, step, sym};

fn strategy(warm_up: [f64; 4]) -> MeanReversionStrategy {
    let mut s = MeanReversionStrategy::new(MeanReversionParams {
        lookback: 4,
        entry_zscore: 1.2,
        exit_zscore: 0.5,
        max_holding_period: 3,
        volatility_cap: 0.05,
        min_volume_usd: 1_000.0,
    })
    .unwrap();
    let history: Vec<MarketSnapshot> = warm_up
        .iter()
        .enumerate()
        .map(|(i, &c)| bar("BTC_USDT", i as u64 * 60, c, 5_000.0))
        .collect();
    s.warm_up(&history);
    s
}

/// Feeds closes at one-minute steps after the warm-up, each with `volume`.
fn feed(s: &mut MeanReversionStrategy, bars: &[(f64, f64)]) -> Vec<Vec<Signal>> {
    bars.iter()
        .enumerate()
        .map(|(i, &(close, volume))| step(s, &bar("BTC_USDT", (4 + i as u64) * 60, close, volume)))
        .collect()
}

fn check(signal: &Signal, side: SignalSide, regime: Regime, confidence: f64, z: f64, rv: f64) {
    assert_eq!(signal.side, side);
    assert_eq!(signal.metadata.regime(), Some(regime));
    assert_eq!(signal.confidence, confidence, "confidence");
    assert_eq!(signal.metadata.zscore(), Some(z), "zscore");
    assert_eq!(signal.metadata.volatility(), Some(rv), "volatility");
    assert_eq!(signal.intent, Intent::Single);
    assert_eq!(signal.quantity, None);
    assert!(signal.legs.is_empty());
}

#[test]
fn long_entry_then_exit_when_z_comes_back() {
    let mut s = strategy([100.0, 101.0, 100.0, 101.0]);
    let out = feed(&mut s, &[(99.0, 5_000.0), (100.5, 5_000.0)]);
    // Entry: closes 101, 100, 101, 99 → μ 100.25, deviations .75 −.25 .75 −1.25,
    // Σd² = 2.75, s² = 2.75 / 3, z = −1.25 / 0.9574 = −1.3056 ≤ −1.2. Confidence min(1, 1.31/1.2).
    assert_eq!(out[0].len(), 1);
    check(
        &out[0][0],
        SignalSide::Buy,
        Regime::LongEntry,
        1.0,
        -1.3055824196677337,
        0.014964420116638465,
    );
    // Exit: closes 100, 101, 99, 100.5 → μ 100.125, Σd² = 2.1875, z = .375 / .8539 = 0.4392
    // ≥ −0.5. Confidence 0.4392 / 0.5.
    assert_eq!(out[1].len(), 1);
    check(
        &out[1][0],
        SignalSide::Sell,
        Regime::LongExit,
        0.8783100656536799,
        0.43915503282683993,
        0.01651287652110386,
    );
    assert_eq!(s.position(&sym("BTC_USDT")), MeanReversionPosition::Flat);
}

#[test]
fn short_entry_then_exit_at_the_holding_period() {
    let mut s = strategy([100.0, 99.0, 100.0, 99.0]);
    let out = feed(
        &mut s,
        &[(101.0, 5e3), (102.0, 5e3), (103.0, 5e3), (104.0, 5e3)],
    );
    // Entry: mirror of the long case, z = +1.3056.
    check(
        &out[0][0],
        SignalSide::Sell,
        Regime::ShortEntry,
        1.0,
        1.3055824196677337,
        0.015036645791686495,
    );
    // 102: z = 1.5 / 1.291 = 1.162 > 0.5, bar 1; 103: z = 1.75 / 1.708 = 1.025, bar 2.
    assert!(out[1].is_empty() && out[2].is_empty());
    // 104: z = 1.162 still above exit, but bar 3 = max_holding_period.
    check(
        &out[3][0],
        SignalSide::Buy,
        Regime::ShortExit,
        1.0,
        1.161895003862225,
        0.005122526017046758,
    );
}

#[test]
fn position_counts_bars_while_held() {
    let mut s = strategy([100.0, 99.0, 100.0, 99.0]);
    feed(&mut s, &[(101.0, 5e3), (102.0, 5e3)]);
    assert_eq!(
        s.position(&sym("BTC_USDT")),
        MeanReversionPosition::Short { bars: 1 }
    );
}

#[test]
fn emergency_exit_above_one_and_a_half_times_the_cap() {
    let mut s = strategy([100.0, 101.0, 100.0, 101.0]);
    let out = feed(&mut s, &[(99.0, 5e3), (80.0, 5e3)]);
    assert_eq!(out[0][0].metadata.regime(), Some(Regime::LongEntry));
    // 80: z = −15 / 10.03 = −1.495, still far below −exit, held 1 bar of 3; but the last four
    // returns (−.00995, .00995, −.0200, −.2131) have s = 0.104 > 1.5 × 0.05.
    check(
        &out[1][0],
        SignalSide::Sell,
        Regime::LongExit,
        1.0,
        -1.4950248619164648,
        0.10396084813734015,
    );
}

#[test]
fn no_entry_while_volatility_is_above_the_cap() {
    let mut s = strategy([100.0, 101.0, 100.0, 101.0]);
    // 80 straight away: z = −1.498 would enter, but rv = 0.119 > 0.05.
    let out = feed(&mut s, &[(80.0, 5e3)]);
    assert!(out[0].is_empty());
    assert_eq!(s.position(&sym("BTC_USDT")), MeanReversionPosition::Flat);
}

#[test]
fn volume_gate_compares_usd_notional_and_skips_the_holding_count() {
    // 10 units at 99 is 990 USD of notional, below the 1 000 USD gate.
    let mut s = strategy([100.0, 101.0, 100.0, 101.0]);
    assert!(feed(&mut s, &[(99.0, 10.0)])[0].is_empty());
    assert_eq!(s.position(&sym("BTC_USDT")), MeanReversionPosition::Flat);

    // In a position, a gated bar is ingested but neither exits nor counts.
    let mut s = strategy([100.0, 101.0, 100.0, 101.0]);
    let out = feed(&mut s, &[(99.0, 5e3), (100.5, 9.0), (100.6, 5e3)]);
    assert_eq!(out[0].len(), 1);
    assert!(
        out[1].is_empty(),
        "100.5 would exit, but its volume is gated"
    );
    assert_eq!(out[2].len(), 1);
    // 100.6 after the ingested 100.5: closes 101, 99, 100.5, 100.6 → z = 0.3706.
    check(
        &out[2][0],
        SignalSide::Sell,
        Regime::LongExit,
        0.7411449079956292,
        0.3705724539978146,
        0.015461956574045584,
    );
}

/// Regression: the reference gates on raw base-unit volume against a USD threshold; 999 BTC
/// at 99 (98 901 USD) must pass a 1 000 USD gate.
#[test]
fn min_volume_usd_is_a_notional_not_a_base_quantity() {
    let mut s = strategy([100.0, 101.0, 100.0, 101.0]);
    assert_eq!(feed(&mut s, &[(99.0, 999.0)])[0].len(), 1);
}

#[test]
fn nothing_before_lookback_closes() {
    let mut s = MeanReversionStrategy::new(MeanReversionParams {
        lookback: 4,
        min_volume_usd: 0.0,
        ..MeanReversionParams::default()
    })
    .unwrap();
    // A crash on the third bar cannot trade: only three closes are held.
    for (i, close) in [100.0, 100.0, 50.0].into_iter().enumerate() {
        assert!(step(&mut s, &bar("BTC_USDT", i as u64, close, 1e9)).is_empty());
    }
}

#[test]
fn symbols_are_independent() {
    let mut s = strategy([100.0, 101.0, 100.0, 101.0]);
    // ETH has no history: its first bar cannot trade, and BTC's entry is unaffected.
    assert!(step(&mut s, &bar("ETH_USDT", 240, 99.0, 5e3)).is_empty());
    assert_eq!(step(&mut s, &bar("BTC_USDT", 240, 99.0, 5e3)).len(), 1);
    assert_eq!(s.position(&sym("ETH_USDT")), MeanReversionPosition::Flat);
}
