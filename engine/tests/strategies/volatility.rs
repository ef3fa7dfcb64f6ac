//! Volatility targeting against the reference fixtures (engine.md §7.4). Expected numbers are
//! the reference formulas evaluated in Python 3.11, so equality is exact.

use stage4_engine::strategy::{
    Intent, SignalSide, Strategy, VolatilityTargetParams, VolatilityTargetStrategy,
};

use super::{bar, step, sym};

#[test]
fn volatility_series_rebalances_on_the_volatile_tick_only() {
    let mut s = VolatilityTargetStrategy::new(VolatilityTargetParams {
        target_volatility: 0.05,
        lookback: 5,
        rebalance_threshold: 0.05,
        min_allocation: 0.2,
        floor_volatility: 0.01,
        ..VolatilityTargetParams::default()
    })
    .unwrap();
    let history: Vec<_> = [100.0, 100.5, 101.0, 102.0, 104.0]
        .iter()
        .enumerate()
        .map(|(i, &c)| bar("ETH_USDT", i as u64, c, 1_000_000.0))
        .collect();
    s.warm_up(&history);
    assert_eq!(s.allocation(&sym("ETH_USDT")), 0.0, "warm-up never trades");

    // 110: five returns now; rv = 0.0215…, 0.05 / rv = 2.32 → clamped to max 1.0; from 0 that
    // is a 100 % change.
    let out = step(&mut s, &bar("ETH_USDT", 10, 110.0, 1_000_000.0));
    assert_eq!(out.len(), 1);
    let rebalance = &out[0];
    assert_eq!(rebalance.side, SignalSide::Rebalance);
    assert_eq!(rebalance.intent, Intent::Neutral);
    assert_eq!(rebalance.confidence, 1.0);
    assert_eq!(rebalance.quantity, None);
    assert_eq!(rebalance.metadata.target_allocation(), Some(1.0));
    assert_eq!(rebalance.metadata.current_allocation(), Some(0.0));
    assert_eq!(
        rebalance.metadata.realized_volatility(),
        Some(0.021522411843619072)
    );
    assert_eq!(rebalance.metadata.target_volatility(), Some(0.05));
    assert_eq!(s.allocation(&sym("ETH_USDT")), 1.0);

    // 110.1: rv = 0.0222…, target still 1.0: no change, no signal.
    assert!(step(&mut s, &bar("ETH_USDT", 11, 110.1, 1_000_000.0)).is_empty());
}

#[test]
fn target_allocation_vectors() {
    let s = VolatilityTargetStrategy::new(VolatilityTargetParams {
        target_volatility: 0.1,
        floor_volatility: 0.05,
        min_allocation: 0.1,
        max_allocation: 1.0,
        ..VolatilityTargetParams::default()
    })
    .unwrap();
    for (rv, want) in [
        (0.0, 1.0),  // floored to 0.05: 0.1 / 0.05 = 2 → max 1.0
        (10.0, 0.1), // 0.1 / 10 = 0.01 → min 0.1
        (0.2, 0.5),  // 0.1 / 0.2
    ] {
        assert_eq!(s.target_allocation(rv), want, "rv {rv}");
    }
}

#[test]
fn small_moves_below_the_threshold_do_not_rebalance() {
    // Alternating ±ln(1.01) returns: rv = 0.00995 · sqrt(4/3) = 0.01149 whatever the phase,
    // so target 0.01 / 0.01149 = 0.870 once, then the same target (within the 10 % threshold)
    // as the window rolls.
    let mut s = VolatilityTargetStrategy::new(VolatilityTargetParams {
        lookback: 4,
        target_volatility: 0.01,
        floor_volatility: 0.005,
        ..VolatilityTargetParams::default()
    })
    .unwrap();
    let mut signals = Vec::new();
    for i in 0..40u64 {
        let close = if i % 2 == 0 { 100.0 } else { 101.0 };
        signals.extend(step(&mut s, &bar("BTC_USDT", i, close, 1.0)));
    }
    assert_eq!(signals.len(), 1, "{signals:#?}");
    let t = signals[0].metadata.target_allocation().unwrap();
    assert!((0.86..0.88).contains(&t), "{t}");
}
