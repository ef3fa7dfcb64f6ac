//! Strategy configs as a scenario file writes them (TOML inline tables tagged by `kind`).

use serde::Deserialize;
use stage4_engine::strategy::{
    CrossExchangeArbitrageParams, MeanReversionParams, StrategyConfig, VolatilityTargetParams,
};

use super::venue;

#[derive(Debug, Deserialize)]
struct ScenarioStrategy {
    strategy: StrategyConfig,
}

fn parse(text: &str) -> Result<StrategyConfig, String> {
    toml::from_str::<ScenarioStrategy>(text)
        .map(|s| s.strategy)
        .map_err(|e| e.to_string())
}

#[test]
fn scenario_inline_tables_parse_with_defaults() {
    let cases = [
        (
            r#"strategy = { kind = "mean_reversion", lookback = 96, entry_zscore = 2.0 }"#,
            StrategyConfig::MeanReversion(MeanReversionParams {
                entry_zscore: 2.0,
                ..MeanReversionParams::default()
            }),
        ),
        (
            // Integers are accepted for fractional keys.
            r#"strategy = { kind = "volatility_target", target_volatility = 1, max_allocation = 2 }"#,
            StrategyConfig::VolatilityTarget(VolatilityTargetParams {
                target_volatility: 1.0,
                max_allocation: 2.0,
                ..VolatilityTargetParams::default()
            }),
        ),
        (
            "[strategy]\nkind = \"cross_exchange\"\nprimary_exchange = \"binance_spot\"\n\
             secondary_exchange = \"kraken_spot\"\nspread_entry = 0.0018\nspread_exit = 0.0006\n\
             max_notional = 75000\nmax_open_seconds = 180\n",
            StrategyConfig::CrossExchangeArbitrage(CrossExchangeArbitrageParams {
                spread_entry: 0.0018,
                spread_exit: 0.0006,
                max_notional: 75_000.0,
                max_open_seconds: 180,
                ..CrossExchangeArbitrageParams::new(venue("binance_spot"), venue("kraken_spot"))
            }),
        ),
    ];
    for (text, want) in cases {
        assert_eq!(parse(text).unwrap(), want, "{text}");
    }
    assert_eq!(
        parse(
            "[strategy]\nkind = \"cross_exchange\"\nprimary_exchange = \"binance_spot\"\n\
         secondary_exchange = \"kraken_spot\"\nspread_entry = 0.0018\nspread_exit = 0.0006\n\
         max_notional = 75000\nmax_open_seconds = 180\n"
        ),
        Ok(StrategyConfig::preset("core_cross_exchange").unwrap())
    );
}

#[test]
fn scenario_errors_name_the_key_and_the_line() {
    for (text, needles) in [
        (
            "# site\nstrategy = { kind = \"mean_reversion\", lookback = 1 }\n",
            &["line 2", "`lookback` = 1 is invalid", "at least 2"][..],
        ),
        (
            "strategy = { kind = \"mean_reversion\", entry_z = 2.0 }\n",
            &["unknown field `entry_z`", "entry_zscore"][..],
        ),
        (
            "strategy = { kind = \"volatility_target\", min_allocation = 0.9, max_allocation = 0.5 }\n",
            &[
                "`min_allocation` = 0.9 is invalid",
                "min_allocation <= max_allocation",
            ][..],
        ),
        (
            "strategy = { kind = \"arbitrage\" }\n",
            &["unknown variant `arbitrage`", "cross_exchange_arbitrage"][..],
        ),
    ] {
        let err = parse(text).unwrap_err();
        for needle in needles {
            assert!(
                err.contains(needle),
                "{text}\n---\n{err}\nmissing: {needle}"
            );
        }
    }
}
