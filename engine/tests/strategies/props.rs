//! Invariants of the three strategies over random markets and parameters.

use proptest::prelude::*;

use stage4_engine::domain::SimDuration;
use stage4_engine::strategy::{
    ArbDirection, CrossExchangeArbitrageParams, CrossExchangeArbitrageStrategy, MarketSnapshot,
    MeanReversionParams, MeanReversionPosition, MeanReversionStrategy, Regime, Signal, SignalSide,
    Strategy as TradingStrategy, VolatilityTargetParams, VolatilityTargetStrategy,
};

use super::{bar, quotes_bar, step, sym, venue};

const SYMBOLS: [&str; 3] = ["BTC_USDT", "ETH_USDT", "SOL_USDT"];

/// A random walk of closes (multiplicative steps of up to ±6 %) with random volumes, spread over
/// up to three symbols, one bar per minute.
fn market() -> impl Strategy<Value = Vec<MarketSnapshot>> {
    prop::collection::vec((0..3usize, -0.06f64..0.06, 0.0f64..2e6), 1..160).prop_map(|steps| {
        let mut prices = [100.0f64; 3];
        steps
            .into_iter()
            .enumerate()
            .map(|(i, (s, r, volume))| {
                prices[s] *= 1.0 + r;
                bar(SYMBOLS[s], i as u64 * 60, prices[s], volume)
            })
            .collect()
    })
}

fn mr_params() -> impl Strategy<Value = MeanReversionParams> {
    (
        2u32..20,
        0.3f64..3.0,
        0.0f64..1.0,
        1u32..8,
        0.001f64..0.1,
        0.0f64..1e6,
    )
        .prop_map(
            |(lookback, entry, exit_share, hold, cap, min_volume)| MeanReversionParams {
                lookback,
                entry_zscore: entry,
                exit_zscore: entry * exit_share,
                max_holding_period: hold,
                volatility_cap: cap,
                min_volume_usd: min_volume,
            },
        )
}

fn in_unit_interval(signals: &[Signal]) -> bool {
    signals.iter().all(|s| (0.0..=1.0).contains(&s.confidence))
}

proptest! {
    #[test]
    fn mean_reversion_one_signal_per_bar_alternating_entries_and_exits(
        params in mr_params(),
        warm in 0usize..40,
        bars in market(),
    ) {
        let mut s = MeanReversionStrategy::new(params).unwrap();
        let warm = warm.min(bars.len());
        s.warm_up(&bars[..warm]);
        let mut open = [None::<Regime>; 3];
        for b in &bars[warm..] {
            let out = step(&mut s, b);
            prop_assert!(out.len() <= 1, "{} signals on one bar", out.len());
            prop_assert!(in_unit_interval(&out), "{out:?}");
            let k = SYMBOLS.iter().position(|n| sym(n) == b.symbol).unwrap();
            if let Some(signal) = out.first() {
                let regime = signal.metadata.regime().unwrap();
                let (expected_side, was_open) = match regime {
                    Regime::LongEntry => (SignalSide::Buy, None),
                    Regime::ShortEntry => (SignalSide::Sell, None),
                    Regime::LongExit => (SignalSide::Sell, Some(Regime::LongEntry)),
                    Regime::ShortExit => (SignalSide::Buy, Some(Regime::ShortEntry)),
                };
                prop_assert_eq!(signal.side, expected_side);
                prop_assert_eq!(open[k], was_open, "exit without its entry or entry while open");
                open[k] = if was_open.is_none() { Some(regime) } else { None };
            }
            let expected = match (open[k], s.position(&b.symbol)) {
                (None, MeanReversionPosition::Flat) => true,
                (Some(Regime::LongEntry), MeanReversionPosition::Long { bars }) => bars < s.params().max_holding_period,
                (Some(Regime::ShortEntry), MeanReversionPosition::Short { bars }) => bars < s.params().max_holding_period,
                _ => false,
            };
            prop_assert!(expected, "position {:?} after {:?}", s.position(&b.symbol), open[k]);
        }
    }

    #[test]
    fn volatility_target_confidence_and_allocation_bounds(
        lookback in 2u32..12,
        target in 0.001f64..0.2,
        threshold in 0.0f64..0.3,
        min in 0.0f64..0.5,
        extra in 0.0f64..1.0,
        floor in 0.0f64..0.05,
        bars in market(),
    ) {
        let params = VolatilityTargetParams {
            target_volatility: target,
            lookback,
            rebalance_threshold: threshold,
            min_allocation: min,
            max_allocation: min + extra + 1e-3,
            floor_volatility: floor,
        };
        let mut s = VolatilityTargetStrategy::new(params.clone()).unwrap();
        for b in &bars {
            let before = s.allocation(&b.symbol);
            let out = step(&mut s, b);
            prop_assert!(out.len() <= 1);
            prop_assert!(in_unit_interval(&out), "{out:?}");
            if let Some(signal) = out.first() {
                let t = signal.metadata.target_allocation().unwrap();
                prop_assert!(t >= params.min_allocation && t <= params.max_allocation, "{t}");
                prop_assert!((signal.metadata.current_allocation().unwrap() - before).abs() < 1e-12);
                prop_assert_eq!(s.allocation(&b.symbol), t);
            } else {
                prop_assert_eq!(s.allocation(&b.symbol), before);
            }
        }
    }

    #[test]
    fn arbitrage_one_position_per_symbol_and_whole_lot_legs(
        entry in 0.0005f64..0.01,
        exit_share in 0.0f64..1.0,
        notional in 1.0f64..1e6,
        fee in 0.0f64..0.01,
        lot in prop::sample::select(vec![1e-6, 1e-3, 0.01, 0.5, 1.0]),
        max_open in 0u64..300,
        moves in prop::collection::vec(
            (0..3usize, 50.0f64..150.0, -0.01f64..0.01, 0.0f64..0.002, -0.01f64..0.01, 0.0f64..0.002, 0u64..30, 0u64..2_000),
            1..120,
        ),
    ) {
        let mut s = CrossExchangeArbitrageStrategy::new(CrossExchangeArbitrageParams {
            spread_entry: entry,
            spread_exit: entry * exit_share,
            max_notional: notional,
            max_open_seconds: max_open,
            taker_fee: fee,
            lot_size: lot,
            ..CrossExchangeArbitrageParams::new(venue("binance"), venue("kraken"))
        })
        .unwrap();
        let mut open: [Option<ArbDirection>; 3] = [None; 3];
        let mut t = 1_000u64;
        for (k, mid, p_skew, p_half, s_skew, s_half, dt, lag_ms) in moves {
            t += dt;
            let primary = mid * (1.0 + p_skew);
            let secondary = mid * (1.0 + s_skew);
            let quotes = (
                primary * (1.0 - p_half),
                primary * (1.0 + p_half),
                secondary * (1.0 - s_half),
                secondary * (1.0 + s_half),
            );
            let b = quotes_bar(SYMBOLS[k], t, quotes, SimDuration::from_millis(lag_ms.min(t * 1000)));
            let out = step(&mut s, &b);
            prop_assert!(out.len() <= 1);
            prop_assert!(in_unit_interval(&out), "{out:?}");
            if let Some(signal) = out.first() {
                match signal.side {
                    SignalSide::Open(d) => {
                        prop_assert_eq!(open[k], None, "second open position on {}", SYMBOLS[k]);
                        open[k] = Some(d);
                    }
                    SignalSide::Close(d) => {
                        prop_assert_eq!(open[k], Some(d), "close without a matching open");
                        open[k] = None;
                    }
                    other => prop_assert!(false, "unexpected side {other:?}"),
                }
                prop_assert_eq!(signal.legs.len(), 2);
                prop_assert!(signal.metadata.secondary_delay_ms().unwrap() >= 0.0);
                for leg in &signal.legs {
                    let lots = (leg.quantity / lot).round();
                    prop_assert!(lots >= 1.0, "{} is less than one lot of {lot}", leg.quantity);
                    prop_assert_eq!(lots * lot, leg.quantity, "not a whole number of lots");
                    prop_assert!(leg.quantity * leg.price <= notional.max(lot * leg.price) * (1.0 + 1e-9));
                }
                prop_assert_ne!(signal.legs[0].side, signal.legs[1].side);
            }
            prop_assert_eq!(s.position(&b.symbol).map(|p| p.direction), open[k]);
        }
        prop_assert_eq!(s.positions().len(), open.iter().flatten().count());
    }

    #[test]
    fn same_inputs_same_signals(params in mr_params(), bars in market()) {
        let run = || {
            let mut s = MeanReversionStrategy::new(params.clone()).unwrap();
            let signals: Vec<Signal> = bars.iter().flat_map(|b| step(&mut s, b)).collect();
            serde_json::to_string(&signals).unwrap()
        };
        prop_assert_eq!(run(), run());
    }
}
