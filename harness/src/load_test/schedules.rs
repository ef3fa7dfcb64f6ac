//! Which schedules a load test runs: N synthetic ones (`--schedules`), or the schedules of a
//! scheduler in the site's `core.yaml` (`--config`).
//!
//! Synthetic schedules are named `schedule_i` / `strategy_i` like the reference's, with its
//! cadence 5 s, max drift 1 s, profile `balanced` and `max_signals = --signals`, under its
//! load-test capital policy (equal weight, 300 s cooldown). Unlike the reference's dummy
//! strategy they run the three real strategies in turn — mean reversion, volatility targeting,
//! cross-exchange arbitrage — with short lookbacks so they trade on a one-minute simulated
//! market from the first iteration.
//!
//! Configured schedules keep their name, strategy, cadence, max drift, warm-up, profile and
//! `max_signals` (the reference loader's defaults and clamps, engine.md §2.2), the
//! scheduler's `capital_policy` (risk parity without cooldown when absent, as the reference
//! runtime) and its `portfolio_governor` (the top-level section, engine.md §5). Two things are
//! replaced, on purpose: every schedule reads the load test's one-minute bars of `BTC_USDT`
//! and `ETH_USDT` whatever its `interval` says (a daily schedule would otherwise see a fresh
//! bar once every 1 440 iterations, and the load test measures compute, not cadence), and
//! mean-reversion / volatility-target schedules trade on the first venue any arbitrage
//! schedule names (`binance` when there is none).

use serde_norway::Value;
use stage4_engine::domain::{SimDuration, VenueId};
use stage4_engine::scheduler::{
    CapitalPolicy, GovernorConfig, GovernorError, PolicyConfig, ScheduleMarket, ScheduleSpec,
};
use stage4_engine::strategy::{
    CrossExchangeArbitrageParams, MeanReversionParams, StrategyConfig, VolatilityTargetParams,
};

use super::world::{BAR, LoadSchedule, ScheduleSet, symbols};
use crate::config::value::{entries, get, kind};
use crate::config::{ConfigError, CoreConfig};

/// Warm-up bars of every synthetic schedule: more than the longest synthetic lookback.
pub const SYNTHETIC_WARMUP_BARS: u32 = 30;

fn venue(name: &str) -> VenueId {
    VenueId::new(name).expect("valid constant")
}

/// The strategy of synthetic schedule `i`: the three Stage4 strategies in turn, with
/// parameters that trade on the simulated one-minute market (BTC moves about 0.08 % a bar).
pub fn synthetic_strategy(i: u32) -> StrategyConfig {
    match i % 3 {
        0 => StrategyConfig::MeanReversion(MeanReversionParams {
            lookback: 20,
            entry_zscore: 1.5,
            exit_zscore: 0.3,
            max_holding_period: 10,
            volatility_cap: 0.05,
            min_volume_usd: 0.0,
        }),
        1 => StrategyConfig::VolatilityTarget(VolatilityTargetParams {
            target_volatility: 0.001,
            lookback: 10,
            rebalance_threshold: 0.05,
            min_allocation: 0.1,
            max_allocation: 1.0,
            floor_volatility: 0.0001,
        }),
        _ => StrategyConfig::CrossExchangeArbitrage(CrossExchangeArbitrageParams {
            spread_entry: 0.0008,
            spread_exit: 0.0002,
            max_open_seconds: 300,
            ..CrossExchangeArbitrageParams::new(venue("binance"), venue("kraken"))
        }),
    }
}

/// `count` synthetic schedules with `max_signals` signals per snapshot.
pub fn synthetic(count: u32, max_signals: u32) -> ScheduleSet {
    let schedules = (0..count)
        .map(|i| {
            let strategy = synthetic_strategy(i);
            let secondary = match &strategy {
                StrategyConfig::CrossExchangeArbitrage(p) => Some(p.secondary_exchange),
                _ => None,
            };
            let primary = match &strategy {
                StrategyConfig::CrossExchangeArbitrage(p) => p.primary_exchange,
                _ => venue("binance"),
            };
            let mut spec = ScheduleSpec::new(
                &format!("schedule_{i}"),
                ScheduleMarket {
                    venue: primary,
                    secondary_venue: secondary,
                    symbols: symbols(),
                    interval: BAR,
                },
            );
            spec.strategy_name = format!("strategy_{i}");
            spec.cadence = SimDuration::from_secs(5);
            spec.max_drift = SimDuration::from_secs(1);
            spec.warmup_bars = SYNTHETIC_WARMUP_BARS;
            spec.max_signals = max_signals;
            LoadSchedule { spec, strategy }
        })
        .collect();
    ScheduleSet {
        schedules,
        capital: PolicyConfig {
            policy: CapitalPolicy::EqualWeight,
            rebalance_seconds: Some(300.0),
        },
        governor: None,
    }
}

/// The schedules of a `core.yaml`, and where they came from.
#[derive(Clone, Debug, PartialEq)]
pub struct ConfiguredSchedules {
    /// The scheduler's name.
    pub scheduler: String,
    /// Its schedules and capital policy.
    pub set: ScheduleSet,
}

/// The strategy sections of `core.yaml`, by kind.
const STRATEGY_SECTIONS: [&str; 3] = [
    "mean_reversion_strategies",
    "volatility_target_strategies",
    "cross_exchange_arbitrage_strategies",
];

/// One schedule entry as the reference loader reads it; other keys are ignored, as there.
#[derive(Debug, Default)]
struct RawSchedule {
    name: Option<String>,
    strategy: Option<String>,
    cadence_seconds: Option<f64>,
    max_drift_seconds: Option<f64>,
    warmup_bars: Option<i64>,
    risk_profile: Option<String>,
    max_signals: Option<i64>,
}

impl RawSchedule {
    /// Reads the known keys of `node` (at `key` in the file), naming the first of the wrong
    /// type.
    fn read(config: &CoreConfig, key: &str, node: &Value) -> Result<RawSchedule, ConfigError> {
        if !matches!(node, Value::Mapping(_)) {
            return Err(config.section_error(
                key,
                format!("expected a schedule mapping, found {}", kind(node)),
            ));
        }
        let wrong = |field: &str, expected: &str, v: &Value| {
            config.section_error(
                &format!("{key}.{field}"),
                format!("expected {expected}, found {}", kind(v)),
            )
        };
        let text = |field: &str| -> Result<Option<String>, ConfigError> {
            match get(node, field) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.trim().to_owned())),
                Some(v) => Err(wrong(field, "a string", v)),
            }
        };
        let number = |field: &str| -> Result<Option<f64>, ConfigError> {
            match get(node, field) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::Number(n)) => Ok(n.as_f64()),
                Some(v) => Err(wrong(field, "a number", v)),
            }
        };
        let integer = |field: &str| -> Result<Option<i64>, ConfigError> {
            match get(node, field) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::Number(n)) => n.as_i64().map(Some).ok_or_else(|| {
                    config.section_error(
                        &format!("{key}.{field}"),
                        format!("expected a whole number, found {n}"),
                    )
                }),
                Some(v) => Err(wrong(field, "a whole number", v)),
            }
        };
        Ok(RawSchedule {
            name: text("name")?,
            strategy: match text("strategy")? {
                Some(s) => Some(s),
                None => text("strategy_name")?,
            },
            cadence_seconds: number("cadence_seconds")?,
            max_drift_seconds: number("max_drift_seconds")?,
            warmup_bars: integer("warmup_bars")?,
            risk_profile: text("risk_profile")?,
            max_signals: integer("max_signals")?,
        })
    }
}

/// Reads the schedules of scheduler `wanted` (or of the only scheduler) from
/// `runtime.multi_strategy_schedulers` (and the top-level `multi_strategy_schedulers`, the
/// runtime entry winning on a name clash, as [`CoreConfig::schedulers`]).
pub fn from_core_config(
    config: &CoreConfig,
    wanted: Option<&str>,
) -> Result<ConfiguredSchedules, ConfigError> {
    let (found, problems) = config.schedulers();
    if let Some(problem) = problems.into_iter().next() {
        return Err(config.section_error("multi_strategy_schedulers", problem));
    }
    let names: Vec<&str> = found.iter().map(|s| s.name.as_str()).collect();
    let chosen = match (wanted, found.as_slice()) {
        (_, []) => {
            return Err(config.section_error(
                "runtime.multi_strategy_schedulers",
                "no multi-strategy scheduler is configured",
            ));
        }
        (Some(name), _) => found.iter().find(|s| s.name == name).ok_or_else(|| {
            config.section_error(
                "runtime.multi_strategy_schedulers",
                format!(
                    "no scheduler named `{name}` (configured: {})",
                    names.join(", ")
                ),
            )
        })?,
        (None, [only]) => only,
        (None, _) => {
            return Err(config.section_error(
                "runtime.multi_strategy_schedulers",
                format!(
                    "{} schedulers are configured ({}); pick one with --scheduler NAME",
                    names.len(),
                    names.join(", ")
                ),
            ));
        }
    };
    let path = chosen.key_path.clone();
    let node = scheduler_node(config, &chosen.name)
        .expect("CoreConfig::schedulers found it at one of the two places");

    let capital = capital_policy(config, &path, node)?;
    let governor = portfolio_governor(config, &path, node)?;
    let entries = schedule_entries(config, &path, node)?;
    if entries.is_empty() {
        return Err(config.section_error(&format!("{path}.schedules"), "no schedules"));
    }
    // (name, strategy name, strategy) per entry, checked before anything is built.
    let resolved: Vec<(String, String, StrategyConfig)> = entries
        .iter()
        .map(|(key, raw)| {
            let name = raw
                .name
                .clone()
                .filter(|n| !n.trim().is_empty())
                .ok_or_else(|| {
                    config.section_error(&format!("{key}.name"), "a schedule needs a name")
                })?;
            let strategy_name = raw.strategy.clone().unwrap_or_else(|| name.clone());
            let strategy = strategy_section(config, &strategy_name, &format!("{key}.strategy"))?;
            Ok((name, strategy_name, strategy))
        })
        .collect::<Result<_, ConfigError>>()?;
    let venues: Vec<VenueId> = resolved
        .iter()
        .filter_map(|(_, _, s)| match s {
            StrategyConfig::CrossExchangeArbitrage(p) => Some(p.primary_exchange),
            _ => None,
        })
        .collect();
    let home = venues.first().copied().unwrap_or_else(|| venue("binance"));

    let mut schedules = Vec::with_capacity(entries.len());
    for ((key, raw), (name, strategy_name, strategy)) in entries.into_iter().zip(resolved) {
        let (primary, secondary) = match &strategy {
            StrategyConfig::CrossExchangeArbitrage(p) => {
                (p.primary_exchange, Some(p.secondary_exchange))
            }
            _ => (home, None),
        };
        let mut spec = ScheduleSpec::new(
            &name,
            ScheduleMarket {
                venue: primary,
                secondary_venue: secondary,
                symbols: symbols(),
                interval: BAR,
            },
        );
        spec.strategy_name = strategy_name;
        let seconds = |key_name: &str, v: f64| {
            if v.is_finite() {
                Ok(SimDuration::from_secs_f64(v.max(0.0)))
            } else {
                Err(config.section_error(
                    &format!("{key}.{key_name}"),
                    format!("expected a number of seconds, found {v}"),
                ))
            }
        };
        if let Some(c) = raw.cadence_seconds {
            // `run_forever` uses max(1, cadence) in the reference.
            spec.cadence = seconds("cadence_seconds", c)?.max(SimDuration::from_secs(1));
        }
        if let Some(d) = raw.max_drift_seconds {
            spec.max_drift = seconds("max_drift_seconds", d)?;
        }
        if let Some(w) = raw.warmup_bars {
            spec.warmup_bars = u32::try_from(w.max(0)).map_err(|_| {
                config.section_error(
                    &format!("{key}.warmup_bars"),
                    format!("{w} bars is more than a load test can feed"),
                )
            })?;
        }
        if let Some(p) = raw.risk_profile.filter(|p| !p.trim().is_empty()) {
            spec.risk_profile = p;
        }
        if let Some(m) = raw.max_signals {
            spec.max_signals = u32::try_from(m.max(1)).unwrap_or(u32::MAX);
        }
        spec.validate()
            .map_err(|e| config.section_error(&key, e.to_string()))?;
        schedules.push(LoadSchedule { spec, strategy });
    }
    Ok(ConfiguredSchedules {
        scheduler: chosen.name.clone(),
        set: ScheduleSet {
            schedules,
            capital,
            governor,
        },
    })
}

fn scheduler_node<'a>(config: &'a CoreConfig, name: &str) -> Option<&'a Value> {
    config
        .section(&["runtime", "multi_strategy_schedulers", name])
        .or_else(|| config.section(&["multi_strategy_schedulers", name]))
}

/// `schedules`: a list of mappings with `name`, or a mapping of name to schedule.
fn schedule_entries(
    config: &CoreConfig,
    path: &str,
    node: &Value,
) -> Result<Vec<(String, RawSchedule)>, ConfigError> {
    let parse = |key: String, v: &Value| -> Result<(String, RawSchedule), ConfigError> {
        let raw = RawSchedule::read(config, &key, v)?;
        Ok((key, raw))
    };
    match get(node, "schedules") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Sequence(items)) => items
            .iter()
            .enumerate()
            .map(|(i, v)| parse(format!("{path}.schedules[{i}]"), v))
            .collect(),
        Some(map @ Value::Mapping(_)) => entries(map)
            .into_iter()
            .map(|(name, v)| {
                let (key, mut raw) = parse(format!("{path}.schedules.{name}"), v)?;
                raw.name.get_or_insert(name);
                Ok((key, raw))
            })
            .collect(),
        Some(other) => Err(config.section_error(
            &format!("{path}.schedules"),
            format!("expected a list of schedules, found {}", kind(other)),
        )),
    }
}

/// The scheduler's portfolio governor (engine.md §2.3, §5). The scheduler asks for one with
/// `portfolio_governor: <name>` (the reference deployment: `stage6_core`); the top-level
/// `portfolio_governor` section configures it (the reference `StrategyPortfolioGovernor`
/// settings). A scheduler that names one in a file without that section gets the reference
/// table of engine.md §5 for `stage6_core`, `reference` or `true`. No key, `null`, `false` or
/// an empty name: no governor, whatever the top-level section says.
fn portfolio_governor(
    config: &CoreConfig,
    path: &str,
    node: &Value,
) -> Result<Option<GovernorConfig>, ConfigError> {
    let named = match get(node, "portfolio_governor") {
        None | Some(Value::Null) | Some(Value::Bool(false)) => return Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => return Ok(None),
        Some(v) => v,
    };
    let (root, value) = match config.section(&["portfolio_governor"]) {
        Some(section) if !section.is_null() => ("portfolio_governor".to_owned(), section),
        _ => (format!("{path}.portfolio_governor"), named),
    };
    let error = |e: GovernorError| {
        let key = if e.key.is_empty() {
            root.clone()
        } else {
            format!("{root}.{}", e.key)
        };
        config.section_error(&key, e.problem.to_string())
    };
    let json =
        serde_json::to_value(value).map_err(|e| config.section_error(&root, e.to_string()))?;
    GovernorConfig::from_config(&json).map_err(error)
}

fn capital_policy(
    config: &CoreConfig,
    path: &str,
    node: &Value,
) -> Result<PolicyConfig, ConfigError> {
    let mut policy = match get(node, "capital_policy") {
        None | Some(Value::Null) => PolicyConfig {
            policy: CapitalPolicy::RiskParity,
            rebalance_seconds: None,
        },
        Some(v) => {
            let json = serde_json::to_value(v).map_err(|e| {
                config.section_error(&format!("{path}.capital_policy"), e.to_string())
            })?;
            CapitalPolicy::from_config(&json).map_err(|e| {
                config.section_error(&format!("{path}.capital_policy"), e.to_string())
            })?
        }
    };
    for key in ["allocation_rebalance_seconds", "capital_rebalance_seconds"] {
        match get(node, key) {
            None | Some(Value::Null) => {}
            Some(Value::Number(n)) => {
                let s = n.as_f64().unwrap_or(f64::NAN);
                // Falsy, ≤ 0 or non-finite means "no cooldown" (engine.md §2.1).
                policy.rebalance_seconds = (s.is_finite() && s > 0.0).then_some(s);
                break;
            }
            Some(other) => {
                return Err(config.section_error(
                    &format!("{path}.{key}"),
                    format!("expected a number of seconds, found {}", kind(other)),
                ));
            }
        }
    }
    Ok(policy)
}

/// The strategy section named `name` in one of [`STRATEGY_SECTIONS`].
fn strategy_section(
    config: &CoreConfig,
    name: &str,
    referenced_at: &str,
) -> Result<StrategyConfig, ConfigError> {
    for section in STRATEGY_SECTIONS {
        if config.section(&[section, name]).is_none() {
            continue;
        }
        let keys = [section, name];
        let missing = || config.section_error(&keys.join("."), "is empty");
        let strategy = match section {
            "mean_reversion_strategies" => StrategyConfig::MeanReversion(
                config
                    .deserialize_section::<MeanReversionParams>(&keys)?
                    .ok_or_else(missing)?,
            ),
            "volatility_target_strategies" => StrategyConfig::VolatilityTarget(
                config
                    .deserialize_section::<VolatilityTargetParams>(&keys)?
                    .ok_or_else(missing)?,
            ),
            _ => StrategyConfig::CrossExchangeArbitrage(
                config
                    .deserialize_section::<CrossExchangeArbitrageParams>(&keys)?
                    .ok_or_else(missing)?,
            ),
        };
        strategy
            .validate()
            .map_err(|e| config.section_error(&keys.join("."), e.to_string()))?;
        return Ok(strategy);
    }
    Err(config.section_error(
        referenced_at,
        format!(
            "no strategy named `{name}` in {}",
            STRATEGY_SECTIONS.join(", ")
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn cfg(text: &str) -> CoreConfig {
        CoreConfig::parse(text, Path::new("/site/core.yaml")).unwrap()
    }

    const STRATEGIES: &str = "
mean_reversion_strategies:
  mr: {lookback: 20, entry_zscore: 1.5, exit_zscore: 0.3}
volatility_target_strategies:
  vt: {lookback: 10}
cross_exchange_arbitrage_strategies:
  arb: {primary_exchange: binance_spot, secondary_exchange: kraken_spot}
";

    #[test]
    fn synthetic_schedules_cycle_the_three_strategies() {
        let set = synthetic(5, 4);
        let kinds: Vec<&str> = set.schedules.iter().map(|s| s.strategy.kind()).collect();
        assert_eq!(
            kinds,
            [
                "mean_reversion",
                "volatility_target",
                "cross_exchange_arbitrage",
                "mean_reversion",
                "volatility_target"
            ]
        );
        let s = &set.schedules[2].spec;
        assert_eq!(
            (s.name.as_str(), s.strategy_name.as_str()),
            ("schedule_2", "strategy_2")
        );
        assert_eq!(s.max_signals, 4);
        assert_eq!(s.market.secondary_venue, Some(venue("kraken")));
        assert_eq!(set.venues(), [venue("binance"), venue("kraken")]);
        for s in &set.schedules {
            s.spec.validate().unwrap();
            s.strategy.validate().unwrap();
        }
    }

    #[test]
    fn the_training_site_config_loads_with_reference_values() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/oem/core.yaml");
        let config = CoreConfig::load(&path).unwrap();
        let got = from_core_config(&config, None).unwrap();
        assert_eq!(got.scheduler, "core_multi_pipeline");
        assert_eq!(got.set.capital.policy, CapitalPolicy::RiskParity);
        let s: Vec<_> = got
            .set
            .schedules
            .iter()
            .map(|s| {
                (
                    s.spec.name.as_str(),
                    s.spec.strategy_name.as_str(),
                    s.spec.cadence.as_secs(),
                    s.spec.warmup_bars,
                    s.spec.risk_profile.as_str(),
                    s.spec.max_signals,
                    s.strategy.kind(),
                )
            })
            .collect();
        assert_eq!(
            s,
            [
                (
                    "mean_reversion_intraday",
                    "core_mean_reversion",
                    900,
                    120,
                    "balanced",
                    4,
                    "mean_reversion"
                ),
                (
                    "volatility_target_daily",
                    "core_volatility_target",
                    86400,
                    90,
                    "conservative",
                    2,
                    "volatility_target"
                ),
                (
                    "cross_exchange_watch",
                    "core_cross_exchange",
                    30,
                    30,
                    "aggressive",
                    6,
                    "cross_exchange_arbitrage"
                ),
            ]
        );
        assert_eq!(
            got.set.schedules[0].strategy,
            StrategyConfig::preset("core_mean_reversion").unwrap()
        );
        assert_eq!(
            got.set.venues(),
            [venue("binance_spot"), venue("kraken_spot")]
        );
        assert_eq!(got.set.warmup_bars(), 120);
    }

    #[test]
    fn reference_clamps_and_defaults_apply() {
        let c = cfg(&format!(
            "{STRATEGIES}
runtime:
  multi_strategy_schedulers:
    p:
      capital_policy: {{name: equal_weight}}
      allocation_rebalance_seconds: 90
      schedules:
        mr: {{strategy: mr, cadence_seconds: 0.2, max_drift_seconds: -3, warmup_bars: -1, max_signals: 0}}
        vt: {{}}
"
        ));
        let got = from_core_config(&c, Some("p")).unwrap();
        assert_eq!(got.set.capital.policy, CapitalPolicy::EqualWeight);
        assert_eq!(got.set.capital.rebalance_seconds, Some(90.0));
        let mr = &got.set.schedules[0].spec;
        assert_eq!(mr.cadence, SimDuration::from_secs(1));
        assert_eq!(mr.max_drift, SimDuration::ZERO);
        assert_eq!((mr.warmup_bars, mr.max_signals), (0, 1));
        assert_eq!(
            mr.market.venue,
            venue("binance"),
            "no arbitrage: default venue"
        );
        let vt = &got.set.schedules[1].spec;
        assert_eq!(
            vt.strategy_name, "vt",
            "strategy defaults to the schedule name"
        );
        assert_eq!(
            (vt.cadence.as_secs(), vt.max_drift.as_secs(), vt.max_signals),
            (300, 30, 10)
        );
    }

    #[test]
    fn bad_configs_name_the_key() {
        let cases = [
            ("no scheduler", "runtime: {}".to_owned(), None, "no multi-strategy scheduler"),
            (
                "unknown strategy",
                format!("{STRATEGIES}\nmulti_strategy_schedulers:\n  p:\n    schedules: [{{name: a, strategy: nope}}]"),
                None,
                "`multi_strategy_schedulers.p.schedules[0].strategy`: no strategy named `nope`",
            ),
            (
                "bad strategy key",
                "mean_reversion_strategies:\n  mr: {lookbak: 3}\nmulti_strategy_schedulers:\n  p:\n    schedules: [{name: a, strategy: mr}]".to_owned(),
                None,
                "`mean_reversion_strategies.mr`: unknown field `lookbak`",
            ),
            (
                "out of range strategy",
                "mean_reversion_strategies:\n  mr: {lookback: 1}\nmulti_strategy_schedulers:\n  p:\n    schedules: [{name: a, strategy: mr}]".to_owned(),
                None,
                "`lookback` = 1 is invalid",
            ),
            (
                "two schedulers",
                format!("{STRATEGIES}\nmulti_strategy_schedulers:\n  p: {{schedules: [{{name: mr}}]}}\n  q: {{schedules: [{{name: mr}}]}}"),
                None,
                "2 schedulers are configured (p, q); pick one with --scheduler NAME",
            ),
            (
                "unknown scheduler",
                format!("{STRATEGIES}\nmulti_strategy_schedulers:\n  p: {{schedules: [{{name: mr}}]}}"),
                Some("x"),
                "no scheduler named `x` (configured: p)",
            ),
            (
                "no schedules",
                format!("{STRATEGIES}\nmulti_strategy_schedulers:\n  p: {{}}"),
                None,
                "`multi_strategy_schedulers.p.schedules`: no schedules",
            ),
            (
                "schedules of the wrong type",
                format!("{STRATEGIES}\nmulti_strategy_schedulers:\n  p: {{schedules: 3}}"),
                None,
                "expected a list of schedules, found a number",
            ),
            (
                "bad cadence type",
                format!("{STRATEGIES}\nmulti_strategy_schedulers:\n  p: {{schedules: [{{name: mr, cadence_seconds: soon}}]}}"),
                None,
                "`multi_strategy_schedulers.p.schedules[0].cadence_seconds`: expected a number, found a string",
            ),
            (
                "fractional warm-up",
                format!("{STRATEGIES}\nmulti_strategy_schedulers:\n  p: {{schedules: [{{name: mr, warmup_bars: 1.5}}]}}"),
                None,
                "`multi_strategy_schedulers.p.schedules[0].warmup_bars`: expected a whole number, found 1.5",
            ),
            (
                "schedule not a mapping",
                format!("{STRATEGIES}\nmulti_strategy_schedulers:\n  p: {{schedules: [mr]}}"),
                None,
                "`multi_strategy_schedulers.p.schedules[0]`: expected a schedule mapping, found a string",
            ),
            (
                "unknown capital policy",
                format!("{STRATEGIES}\nmulti_strategy_schedulers:\n  p: {{capital_policy: magic, schedules: [{{name: mr}}]}}"),
                None,
                "`multi_strategy_schedulers.p.capital_policy`: unknown capital policy `magic`",
            ),
            (
                "duplicate-free but nameless",
                format!("{STRATEGIES}\nmulti_strategy_schedulers:\n  p: {{schedules: [{{strategy: mr}}]}}"),
                None,
                "`multi_strategy_schedulers.p.schedules[0].name`: a schedule needs a name",
            ),
        ];
        for (name, text, wanted, needle) in cases {
            let err = from_core_config(&cfg(&text), wanted)
                .unwrap_err()
                .to_string();
            assert!(err.contains(needle), "{name}: {err}");
            assert!(err.contains("/site/core.yaml"), "{name}: {err}");
        }
    }

    #[test]
    fn the_scheduler_named_governor_is_read_from_the_top_level_section() {
        let site = |scheduler_key: &str, top: &str| {
            cfg(&format!(
                "{STRATEGIES}{top}
runtime:
  multi_strategy_schedulers:
    p:
      {scheduler_key}
      schedules:
        mr: {{strategy: mr}}
"
            ))
        };
        let governor = |c: &CoreConfig| from_core_config(c, Some("p")).map(|g| g.set.governor);
        const TOP: &str = "
portfolio_governor:
  rebalance_interval_minutes: 30
  smoothing: 0.6
  scoring: {alpha: 1.0, cost: 1.2, slo: 1.1, risk: 0.6}
  strategies:
    mr: {baseline_weight: 0.3, min_weight: 0.1, max_weight: 0.5, baseline_max_signals: 6, max_signal_factor: 1.6, risk_profile: conservative, tags: [core, mean_reversion]}
";
        // Named, configured at the top level (the reference layout, tags included).
        let g = governor(&site("portfolio_governor: stage6_core", TOP))
            .unwrap()
            .unwrap();
        assert_eq!(g.rebalance_interval_minutes, 30.0);
        assert_eq!(g.scoring.alpha, 1.0);
        assert_eq!(g.strategies["mr"].baseline_max_signals, Some(6));
        assert_eq!(g.default_cost_bps, 5.0, "unset keys keep the defaults");
        // Named without a section: the reference table.
        assert_eq!(
            governor(&site("portfolio_governor: stage6_core", "")).unwrap(),
            Some(GovernorConfig::reference_core())
        );
        // Not named: none, whatever the top level says.
        for key in [
            "telemetry_namespace: x",
            "portfolio_governor: false",
            "portfolio_governor: ''",
        ] {
            assert_eq!(governor(&site(key, TOP)).unwrap(), None, "{key}");
        }
        // Errors name the key.
        let err = governor(&site(
            "portfolio_governor: stage6_core",
            "\nportfolio_governor: {smoothing: 3}\n",
        ))
        .unwrap_err()
        .to_string();
        assert!(err.contains("portfolio_governor.smoothing"), "{err}");
        assert!(err.contains("expected a factor in [0, 1], got 3"), "{err}");
        let err = governor(&site("portfolio_governor: stage7", ""))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("runtime.multi_strategy_schedulers.p.portfolio_governor"),
            "{err}"
        );
    }
}
