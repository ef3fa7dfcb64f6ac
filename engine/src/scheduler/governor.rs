//! The portfolio governor (engine.md §5): an optional, strategy-level allocator that scores each
//! strategy from the metrics its runs report, turns the scores into portfolio weights between
//! per-strategy bounds, and hands the scheduler a signal factor (weight ÷ baseline, capped) and a
//! base signal limit for every schedule. The reference deployment configures one
//! (`portfolio_governor: stage6_core`, §2.3); without one the scheduler behaves exactly as
//! before (factor 1, weight 0, floor 1).
//!
//! ## The reference rules
//! - **Observation.** alpha = `alpha_score`, else `avg_confidence`; slo = `slo_violation_rate`,
//!   else `allocation_error_pct`, else `slo_breach_pct`; risk = `risk_penalty`, else
//!   `drawdown_pct` (missing values count as 0; slo and risk are clamped at 0). alpha and slo
//!   are smoothed: the first sample is taken as is, later ones as
//!   `s·new + (1 − s)·old`. A `cost_bps` metric, when a run reports one, replaces the
//!   configured default cost for that strategy.
//! - **Score.** `0.9·alpha − 1.3·cost_bps − 1.2·slo − 0.8·risk` (the configured weights, added
//!   in that order); a score ≤ `min_score_threshold` becomes 0, a larger one loses the
//!   threshold. With the default 5 bps cost every score is 0 and the weights follow the
//!   baselines.
//! - **Weights.** Every strategy starts at its minimum; what is left of the portfolio is shared
//!   in proportion to the scores (to the baselines when every score is 0), no strategy above
//!   its maximum, pass after pass until nothing is left or everyone is capped.
//! - **Allocation.** `signal_factor = min(weight / baseline, max_signal_factor)`,
//!   `max_signal_hint = baseline_max_signals`.
//! - **Rebalancing.** At most once per `rebalance_interval_minutes`, and with
//!   `require_complete_metrics` only once every known strategy has been observed at least once.
//!
//! ## Where the reference is silent (or odd), what we chose
//! - **Before the first decision** a strategy's weight is its baseline, so its factor is 1 and
//!   only the `baseline_max_signals` hint acts (mean reversion: configured `max_signals = 4`,
//!   hint 5, limit 5).
//! - **A strategy the governor was not configured with** joins on first sight with the
//!   defaults (`default_baseline_weight` / `default_min_weight` / `default_max_weight`,
//!   `max_signal_factor` 1, no hint), as the reference does. Baselines are then renormalised to
//!   sum to 1 (each clamped to its bounds), always from the *configured* baselines — the
//!   reference renormalises the already renormalised values, so its baselines drift with every
//!   join. A joining strategy's weight is its baseline until the next decision. Note the
//!   consequence of `require_complete_metrics`: a configured strategy that no schedule runs
//!   (`core_daily_trend` in the reference deployment) blocks every rebalance.
//! - **Order.** Strategies are kept by name (a `BTreeMap`), so sums and passes always run in
//!   the same order; the reference iterates in insertion order.
//! - **`enabled: false`** keeps the configuration but attaches no governor: the scheduler then
//!   behaves exactly as without one (see [`super::Scheduler::new`]).
//! - **A decision** ([`GovernorDecision`]) carries the new and previous weights, the scores and
//!   their components, and:
//!   - `adjustments`: every strategy whose weight moved by more than 1e-6 (the journal prints
//!     six decimals, so smaller moves are invisible to an operator);
//!   - `rebalance_required`: true when there is at least one adjustment (the journal entry is
//!     then `portfolio_rebalance`, else `portfolio_review`);
//!   - `advisories`: conditions an operator should know about — every score was 0 (weights
//!     follow the baselines), a strategy is held at its maximum, part of the portfolio could not
//!     be placed because the maxima are too low, or the minimums alone exceed the portfolio;
//!   - no `portfolio_value`: the governor works in weights and never sees money. The engine
//!     adds its total equity when it journals the decision.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::capital::MetricLookup;
use crate::domain::{SimDuration, SimTime};

/// Below this a remainder, a capacity or a share counts as nothing (the reference's tolerance).
const EPSILON: f64 = 1e-9;

/// A weight change smaller than this is not an adjustment (the journal prints 6 decimals).
pub const ADJUSTMENT_TOLERANCE: f64 = 1e-6;

/// How much each component counts in a strategy's score.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScoringWeights {
    /// Weight of the (smoothed) alpha, added.
    pub alpha: f64,
    /// Weight of the cost in bps, subtracted.
    pub cost: f64,
    /// Weight of the (smoothed) SLO violation rate, subtracted.
    pub slo: f64,
    /// Weight of the risk penalty, subtracted.
    pub risk: f64,
}

impl Default for ScoringWeights {
    fn default() -> Self {
        ScoringWeights {
            alpha: 0.9,
            cost: 1.3,
            slo: 1.2,
            risk: 0.8,
        }
    }
}

/// One strategy's bounds in the governor configuration (`portfolio_governor.strategies.<name>`).
/// Missing weights take the governor's defaults.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StrategyAllocation {
    /// Weight at rest (default `default_baseline_weight`).
    #[serde(default)]
    pub baseline_weight: Option<f64>,
    /// Lowest weight the governor gives (default `default_min_weight`).
    #[serde(default)]
    pub min_weight: Option<f64>,
    /// Highest weight the governor gives (default `default_max_weight`).
    #[serde(default)]
    pub max_weight: Option<f64>,
    /// Base signal limit the scheduler uses instead of the schedule's `max_signals`.
    #[serde(default)]
    pub baseline_max_signals: Option<u32>,
    /// Cap on the signal factor (default 1).
    #[serde(default = "one")]
    pub max_signal_factor: f64,
    /// The strategy's risk profile (informational; filled from the schedule when absent).
    #[serde(default)]
    pub risk_profile: Option<String>,
    /// Free labels, as the reference `core.yaml` writes them (informational).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
}

fn one() -> f64 {
    1.0
}

impl Default for StrategyAllocation {
    /// Every weight from the governor's defaults, no hint, factor cap 1.
    fn default() -> Self {
        StrategyAllocation {
            baseline_weight: None,
            min_weight: None,
            max_weight: None,
            baseline_max_signals: None,
            max_signal_factor: 1.0,
            risk_profile: None,
            tags: Vec::new(),
        }
    }
}

/// The governor configuration: the reference `portfolio_governor` section of `core.yaml`
/// (engine.md §5), with the reference defaults for every missing key.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GovernorConfig {
    /// Whether the scheduler attaches the governor at all (default true).
    pub enabled: bool,
    /// Minimum time between two decisions, minutes (default 20).
    pub rebalance_interval_minutes: f64,
    /// EMA factor for alpha and slo, in [0, 1] (default 0.55).
    pub smoothing: f64,
    /// Score weights (default alpha 0.9, cost 1.3, slo 1.2, risk 0.8).
    pub scoring: ScoringWeights,
    /// Per-strategy bounds, by strategy name (the schedules' `strategy_name`).
    pub strategies: BTreeMap<String, StrategyAllocation>,
    /// Baseline of a strategy without one (default 0.28).
    pub default_baseline_weight: f64,
    /// Minimum of a strategy without one (default 0.08).
    pub default_min_weight: f64,
    /// Maximum of a strategy without one (default 0.5).
    pub default_max_weight: f64,
    /// No decision until every known strategy has been observed (default true).
    pub require_complete_metrics: bool,
    /// Scores at or below this are 0; larger ones lose it (default 0.08).
    pub min_score_threshold: f64,
    /// Cost of a strategy that reports none, bps (default 5).
    pub default_cost_bps: f64,
    /// The minimum signal limit while the governor's factor is positive: this is what the
    /// scheduler reads as the governor's `min_signal_floor` (engine.md §3.4). Default 1.
    pub max_signal_floor: u32,
}

impl Default for GovernorConfig {
    fn default() -> Self {
        GovernorConfig {
            enabled: true,
            rebalance_interval_minutes: 20.0,
            smoothing: 0.55,
            scoring: ScoringWeights::default(),
            strategies: BTreeMap::new(),
            default_baseline_weight: 0.28,
            default_min_weight: 0.08,
            default_max_weight: 0.5,
            require_complete_metrics: true,
            min_score_threshold: 0.08,
            default_cost_bps: 5.0,
            max_signal_floor: 1,
        }
    }
}

/// A governor configuration that cannot be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("portfolio_governor{}{key}: {problem}", if key.is_empty() { "" } else { "." })]
pub struct GovernorError {
    /// Path of the offending key under `portfolio_governor` (`smoothing`,
    /// `strategies.core_mean_reversion.min_weight`, …); empty for the section itself.
    pub key: String,
    /// What is wrong with it.
    pub problem: GovernorProblem,
}

/// What is wrong with a governor key.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GovernorProblem {
    /// A number outside its range.
    #[error("expected {expected}, got {value}")]
    OutOfRange {
        /// What was expected.
        expected: &'static str,
        /// What was given.
        value: f64,
    },
    /// min ≤ baseline ≤ max does not hold.
    #[error("expected min_weight ≤ baseline_weight ≤ max_weight, got {min} / {baseline} / {max}")]
    Bounds {
        /// Minimum weight.
        min: f64,
        /// Baseline weight.
        baseline: f64,
        /// Maximum weight.
        max: f64,
    },
    /// The configured minimums alone exceed the whole portfolio.
    #[error("the min_weight values sum to {0}, more than 1")]
    MinimumsExceedPortfolio(f64),
    /// Not a boolean, a known name or a map of the right shape.
    #[error("{0}")]
    Shape(String),
}

impl GovernorError {
    fn new(key: impl Into<String>, problem: GovernorProblem) -> GovernorError {
        GovernorError {
            key: key.into(),
            problem,
        }
    }
}

impl GovernorConfig {
    /// The reference `core.yaml` configuration (engine.md §5): the defaults and the four
    /// strategies of the reference deployment.
    pub fn reference_core() -> GovernorConfig {
        let strategy = |baseline, min, max, signals, factor, profile: &str| StrategyAllocation {
            baseline_weight: Some(baseline),
            min_weight: Some(min),
            max_weight: Some(max),
            baseline_max_signals: Some(signals),
            max_signal_factor: factor,
            risk_profile: Some(profile.to_owned()),
            tags: Vec::new(),
        };
        GovernorConfig {
            strategies: BTreeMap::from([
                (
                    "core_mean_reversion".to_owned(),
                    strategy(0.27, 0.10, 0.45, 5, 1.45, "conservative"),
                ),
                (
                    "core_volatility_target".to_owned(),
                    strategy(0.23, 0.12, 0.40, 3, 1.15, "balanced"),
                ),
                (
                    "core_cross_exchange".to_owned(),
                    strategy(0.12, 0.05, 0.28, 4, 1.3, "aggressive"),
                ),
                (
                    "core_daily_trend".to_owned(),
                    strategy(0.38, 0.22, 0.60, 3, 1.25, "balanced"),
                ),
            ]),
            ..GovernorConfig::default()
        }
    }

    /// Reads a `portfolio_governor` value: `false`/null → no governor; `true`, `"reference"`
    /// or `"stage6_core"` (the name the reference deployment uses) → [`Self::reference_core`];
    /// a map → that configuration over the defaults. The result is validated.
    pub fn from_config(value: &serde_json::Value) -> Result<Option<GovernorConfig>, GovernorError> {
        use serde_json::Value;
        let config = match value {
            Value::Null | Value::Bool(false) => return Ok(None),
            Value::Bool(true) => GovernorConfig::reference_core(),
            Value::String(name) if name == "reference" || name == "stage6_core" => {
                GovernorConfig::reference_core()
            }
            Value::String(name) => {
                return Err(GovernorError::new(
                    "",
                    GovernorProblem::Shape(format!(
                        "unknown governor `{name}`; expected true, \"reference\", \"stage6_core\" or a map"
                    )),
                ));
            }
            Value::Object(_) => serde_json::from_value(value.clone())
                .map_err(|e| GovernorError::new("", GovernorProblem::Shape(e.to_string())))?,
            other => {
                return Err(GovernorError::new(
                    "",
                    GovernorProblem::Shape(format!(
                        "expected true, false, \"reference\" or a map, got {other}"
                    )),
                ));
            }
        };
        config.validate()?;
        Ok(Some(config))
    }

    /// Checks every number: finite, weights in [0, 1], min ≤ baseline ≤ max, a positive
    /// interval, smoothing in [0, 1], non-negative score weights, threshold and cost, a
    /// positive signal-factor cap, configured minimums that fit in the portfolio.
    pub fn validate(&self) -> Result<(), GovernorError> {
        let check = |key: &str, value: f64, ok: bool, expected: &'static str| {
            if value.is_finite() && ok {
                Ok(())
            } else {
                Err(GovernorError::new(
                    key,
                    GovernorProblem::OutOfRange { expected, value },
                ))
            }
        };
        let weight = |key: &str, value: f64| {
            check(
                key,
                value,
                (0.0..=1.0).contains(&value),
                "a weight in [0, 1]",
            )
        };
        let bounds = |key: &str, min: f64, baseline: f64, max: f64| {
            if min <= baseline && baseline <= max {
                Ok(())
            } else {
                Err(GovernorError::new(
                    key,
                    GovernorProblem::Bounds { min, baseline, max },
                ))
            }
        };
        let interval = self.rebalance_interval_minutes;
        check(
            "rebalance_interval_minutes",
            interval,
            interval > 0.0,
            "a positive number of minutes",
        )?;
        let s = self.smoothing;
        check(
            "smoothing",
            s,
            (0.0..=1.0).contains(&s),
            "a factor in [0, 1]",
        )?;
        for (key, v) in [
            ("scoring.alpha", self.scoring.alpha),
            ("scoring.cost", self.scoring.cost),
            ("scoring.slo", self.scoring.slo),
            ("scoring.risk", self.scoring.risk),
            ("min_score_threshold", self.min_score_threshold),
            ("default_cost_bps", self.default_cost_bps),
        ] {
            check(key, v, v >= 0.0, "a number ≥ 0")?;
        }
        weight("default_baseline_weight", self.default_baseline_weight)?;
        weight("default_min_weight", self.default_min_weight)?;
        weight("default_max_weight", self.default_max_weight)?;
        bounds(
            "default_*_weight",
            self.default_min_weight,
            self.default_baseline_weight,
            self.default_max_weight,
        )?;
        let mut minimums = 0.0;
        for (name, a) in &self.strategies {
            let key = |field: &str| format!("strategies.{name}.{field}");
            let r = self.resolve(a);
            weight(&key("baseline_weight"), r.baseline)?;
            weight(&key("min_weight"), r.min)?;
            weight(&key("max_weight"), r.max)?;
            bounds(&format!("strategies.{name}"), r.min, r.baseline, r.max)?;
            check(
                &key("max_signal_factor"),
                a.max_signal_factor,
                a.max_signal_factor > 0.0,
                "a positive factor",
            )?;
            if a.baseline_max_signals == Some(0) {
                return Err(GovernorError::new(
                    key("baseline_max_signals"),
                    GovernorProblem::OutOfRange {
                        expected: "at least 1",
                        value: 0.0,
                    },
                ));
            }
            minimums += r.min;
        }
        if minimums > 1.0 + EPSILON {
            return Err(GovernorError::new(
                "strategies",
                GovernorProblem::MinimumsExceedPortfolio(minimums),
            ));
        }
        Ok(())
    }

    /// The configured strategies that would keep this governor from ever rebalancing when
    /// only `run` strategies report: with `require_complete_metrics` a decision waits for every
    /// configured strategy, and one no schedule runs never reports. Empty when the governor
    /// does not wait, or waits only for strategies that run.
    pub fn never_reporting<'a>(&'a self, run: &[&str]) -> Vec<&'a str> {
        if !self.require_complete_metrics {
            return Vec::new();
        }
        self.strategies
            .keys()
            .map(String::as_str)
            .filter(|name| !run.contains(name))
            .collect()
    }

    /// A strategy's bounds with the defaults filled in.
    fn resolve(&self, a: &StrategyAllocation) -> Bounds {
        Bounds {
            baseline: a.baseline_weight.unwrap_or(self.default_baseline_weight),
            min: a.min_weight.unwrap_or(self.default_min_weight),
            max: a.max_weight.unwrap_or(self.default_max_weight),
            hint: a.baseline_max_signals,
            max_signal_factor: a.max_signal_factor,
        }
    }

    /// The bounds of a strategy the configuration does not list.
    fn default_bounds(&self) -> Bounds {
        Bounds {
            baseline: self.default_baseline_weight,
            min: self.default_min_weight,
            max: self.default_max_weight,
            hint: None,
            max_signal_factor: 1.0,
        }
    }
}

/// A strategy's resolved bounds.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Bounds {
    /// The configured baseline (before renormalisation).
    baseline: f64,
    min: f64,
    max: f64,
    hint: Option<u32>,
    max_signal_factor: f64,
}

/// What the governor knows about one strategy.
#[derive(Clone, Debug)]
struct StrategyState {
    bounds: Bounds,
    /// The baseline renormalised over every known strategy, clamped to the bounds.
    baseline: f64,
    /// The weight of the last decision; `None` until a decision covered this strategy (the
    /// weight is then the baseline).
    weight: Option<f64>,
    alpha: f64,
    slo: f64,
    risk: f64,
    cost_bps: Option<f64>,
    samples: u64,
}

impl StrategyState {
    fn weight(&self) -> f64 {
        self.weight.unwrap_or(self.baseline)
    }
}

/// What the governor gives one schedule (engine.md §5 `resolve_allocation`).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Allocation {
    /// The strategy's current portfolio weight.
    pub weight: f64,
    /// Its (renormalised) baseline weight.
    pub baseline_weight: f64,
    /// `min(weight / baseline, max_signal_factor)`, at least 0.
    pub signal_factor: f64,
    /// The base signal limit to use instead of the schedule's own, if configured.
    pub max_signal_hint: Option<u32>,
}

/// One strategy's score and what it was made of.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct ScoreComponents {
    /// Smoothed alpha.
    pub alpha: f64,
    /// Cost, bps.
    pub cost_bps: f64,
    /// Smoothed SLO violation rate.
    pub slo: f64,
    /// Risk penalty.
    pub risk: f64,
    /// The score after the threshold rule.
    pub score: f64,
}

/// A strategy whose weight a decision changed.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct WeightAdjustment {
    /// Strategy name.
    pub strategy: String,
    /// The weight before.
    pub previous_weight: f64,
    /// The weight now.
    pub weight: f64,
}

/// Something about a decision an operator should know.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum GovernorAdvisory {
    /// Every score was 0, so the weights follow the baselines (the usual case with the
    /// default 5 bps cost).
    BaselineFallback,
    /// A strategy is held at its maximum weight.
    AtMaxWeight {
        /// Strategy name.
        strategy: String,
        /// Its maximum.
        max_weight: f64,
    },
    /// The maxima are too low to place the whole portfolio.
    Unallocated {
        /// The share left unplaced.
        remaining: f64,
    },
    /// The minimums alone exceed the portfolio (strategies joined with the default minimum).
    MinimumsExceedPortfolio {
        /// Their sum.
        total: f64,
    },
}

/// A rebalance of the governor (engine.md §5 `maybe_rebalance`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GovernorDecision {
    /// When it was taken.
    pub at: SimTime,
    /// The new weight of every known strategy.
    pub weights: BTreeMap<String, f64>,
    /// The weights in force before.
    pub previous_weights: BTreeMap<String, f64>,
    /// Scores and their components by strategy.
    pub scores: BTreeMap<String, ScoreComponents>,
    /// Share of the portfolio left unplaced (`1 − Σ weights`, at least 0).
    pub unallocated: f64,
    /// True when at least one weight moved (see [`ADJUSTMENT_TOLERANCE`]).
    pub rebalance_required: bool,
    /// The strategies whose weight moved, by name.
    pub adjustments: Vec<WeightAdjustment>,
    /// Conditions worth an operator's attention.
    pub advisories: Vec<GovernorAdvisory>,
}

/// The strategy-level portfolio governor (the reference `StrategyPortfolioGovernor`).
#[derive(Clone, Debug)]
pub struct PortfolioGovernor {
    config: GovernorConfig,
    strategies: BTreeMap<String, StrategyState>,
    last_rebalance: Option<SimTime>,
    interval: SimDuration,
}

impl PortfolioGovernor {
    /// A governor over a configuration, checked first.
    pub fn new(config: GovernorConfig) -> Result<PortfolioGovernor, GovernorError> {
        config.validate()?;
        let strategies = config
            .strategies
            .iter()
            .map(|(name, a)| (name.clone(), StrategyState::new(config.resolve(a))))
            .collect();
        let mut governor = PortfolioGovernor {
            interval: SimDuration::from_secs_f64(config.rebalance_interval_minutes * 60.0),
            config,
            strategies,
            last_rebalance: None,
        };
        governor.renormalize_baselines();
        Ok(governor)
    }

    /// The minimum signal limit while a schedule's factor is positive (`max_signal_floor`).
    pub fn min_signal_floor(&self) -> u32 {
        self.config.max_signal_floor
    }

    /// When the last decision was taken.
    pub fn last_rebalance(&self) -> Option<SimTime> {
        self.last_rebalance
    }

    /// The allocation of `strategy` now. A strategy the governor does not know joins with the
    /// defaults (see the module doc).
    pub fn resolve_allocation(&mut self, strategy: &str) -> Allocation {
        let s = self.ensure(strategy);
        let weight = s.weight();
        let baseline = if s.baseline > 0.0 {
            s.baseline
        } else {
            weight.max(EPSILON)
        };
        let factor = (weight / baseline).min(s.bounds.max_signal_factor).max(0.0);
        Allocation {
            weight,
            baseline_weight: baseline,
            signal_factor: factor,
            max_signal_hint: s.bounds.hint,
        }
    }

    /// Records one run's metrics for `strategy` (alpha, slo, risk, cost: see the module doc).
    /// Non-finite values count as missing.
    pub fn observe(&mut self, strategy: &str, metrics: &dyn MetricLookup) {
        let get = |name: &str| metrics.metric(name).filter(|v| v.is_finite());
        let alpha = get("alpha_score").or_else(|| get("avg_confidence"));
        let slo = get("slo_violation_rate")
            .or_else(|| get("allocation_error_pct"))
            .or_else(|| get("slo_breach_pct"));
        let risk = get("risk_penalty").or_else(|| get("drawdown_pct"));
        let cost = get("cost_bps");
        let smoothing = self.config.smoothing.clamp(0.0, 1.0);
        let s = self.ensure(strategy);
        let alpha = alpha.unwrap_or(0.0);
        let slo = slo.unwrap_or(0.0).max(0.0);
        if s.samples == 0 || smoothing >= 1.0 {
            s.alpha = alpha;
            s.slo = slo;
        } else {
            s.alpha = smoothing * alpha + (1.0 - smoothing) * s.alpha;
            s.slo = smoothing * slo + (1.0 - smoothing) * s.slo;
        }
        s.risk = risk.unwrap_or(0.0).max(0.0);
        if let Some(c) = cost {
            s.cost_bps = Some(c.max(0.0));
        }
        s.samples += 1;
    }

    /// A new decision if one is due at `at`: the governor is enabled and knows a strategy, the
    /// interval since the last decision has passed, and (with `require_complete_metrics`)
    /// every known strategy has been observed.
    pub fn maybe_rebalance(&mut self, at: SimTime) -> Option<GovernorDecision> {
        if !self.config.enabled || self.strategies.is_empty() {
            return None;
        }
        if let Some(last) = self.last_rebalance
            && at.saturating_since(last) < self.interval
        {
            return None;
        }
        if self.config.require_complete_metrics && self.strategies.values().any(|s| s.samples == 0)
        {
            return None;
        }
        let w = &self.config.scoring;
        let threshold = self.config.min_score_threshold;
        let scores: Vec<ScoreComponents> = self
            .strategies
            .values()
            .map(|s| {
                let cost_bps = s.cost_bps.unwrap_or(self.config.default_cost_bps).max(0.0);
                let mut total = 0.0;
                total += s.alpha * w.alpha;
                total += -cost_bps * w.cost;
                total += -s.slo * w.slo;
                total += -s.risk * w.risk;
                let score = if total <= threshold {
                    0.0
                } else {
                    total - threshold
                };
                ScoreComponents {
                    alpha: s.alpha,
                    cost_bps,
                    slo: s.slo,
                    risk: s.risk,
                    score: score.max(0.0),
                }
            })
            .collect();
        let bounds: Vec<(f64, f64, f64)> = self
            .strategies
            .values()
            .map(|s| (s.bounds.min, s.baseline, s.bounds.max))
            .collect();
        let score_values: Vec<f64> = scores.iter().map(|c| c.score).collect();
        let weights = distribute(&bounds, &score_values);

        let mut advisories = Vec::new();
        if score_values.iter().all(|s| *s <= 0.0) {
            advisories.push(GovernorAdvisory::BaselineFallback);
        }
        let minimums: f64 = bounds.iter().map(|b| b.0).sum();
        if minimums > 1.0 + EPSILON {
            advisories.push(GovernorAdvisory::MinimumsExceedPortfolio { total: minimums });
        }
        let mut adjustments = Vec::new();
        let mut decision_weights = BTreeMap::new();
        let mut previous_weights = BTreeMap::new();
        let mut decision_scores = BTreeMap::new();
        for ((name, s), (weight, components)) in
            self.strategies.iter_mut().zip(weights.iter().zip(&scores))
        {
            let previous = s.weight();
            if (weight - previous).abs() > ADJUSTMENT_TOLERANCE {
                adjustments.push(WeightAdjustment {
                    strategy: name.clone(),
                    previous_weight: previous,
                    weight: *weight,
                });
            }
            if s.bounds.max - weight <= EPSILON && s.bounds.max > s.bounds.min {
                advisories.push(GovernorAdvisory::AtMaxWeight {
                    strategy: name.clone(),
                    max_weight: s.bounds.max,
                });
            }
            s.weight = Some(*weight);
            decision_weights.insert(name.clone(), *weight);
            previous_weights.insert(name.clone(), previous);
            decision_scores.insert(name.clone(), *components);
        }
        let unallocated = (1.0 - weights.iter().sum::<f64>()).max(0.0);
        if unallocated > ADJUSTMENT_TOLERANCE {
            advisories.push(GovernorAdvisory::Unallocated {
                remaining: unallocated,
            });
        }
        self.last_rebalance = Some(at);
        Some(GovernorDecision {
            at,
            weights: decision_weights,
            previous_weights,
            scores: decision_scores,
            unallocated,
            rebalance_required: !adjustments.is_empty(),
            adjustments,
            advisories,
        })
    }

    /// The state of `strategy`, joining it with the defaults if it is new.
    fn ensure(&mut self, strategy: &str) -> &mut StrategyState {
        if !self.strategies.contains_key(strategy) {
            let state = StrategyState::new(self.config.default_bounds());
            self.strategies.insert(strategy.to_owned(), state);
            self.renormalize_baselines();
        }
        self.strategies
            .get_mut(strategy)
            .expect("inserted above when missing")
    }

    /// Each baseline as its configured share of the configured total, clamped to its bounds
    /// (equal shares, clamped, when the total is 0).
    fn renormalize_baselines(&mut self) {
        let total: f64 = self.strategies.values().map(|s| s.bounds.baseline).sum();
        let n = self.strategies.len() as f64;
        for s in self.strategies.values_mut() {
            let share = if total > 0.0 {
                s.bounds.baseline / total
            } else {
                1.0 / n
            };
            s.baseline = share.clamp(s.bounds.min, s.bounds.max.max(s.bounds.min));
        }
    }
}

impl StrategyState {
    fn new(bounds: Bounds) -> StrategyState {
        StrategyState {
            bounds,
            baseline: bounds.baseline,
            weight: None,
            alpha: 0.0,
            slo: 0.0,
            risk: 0.0,
            cost_bps: None,
            samples: 0,
        }
    }
}

/// The weight distribution of engine.md §5 over strategies given as `(min, baseline, max)`:
/// everyone starts at `min`; the rest of the portfolio goes out in proportion to `scores`
/// (positive parts), or to the baselines when no score is positive (equal shares when those
/// are 0 too), never above `max`, pass after pass until nothing is left or everyone is capped.
/// A pass whose proportional shares are all 0 among the strategies still open splits what is
/// left equally between them.
pub fn distribute(bounds: &[(f64, f64, f64)], scores: &[f64]) -> Vec<f64> {
    let mut weights: Vec<f64> = bounds.iter().map(|b| b.0).collect();
    if weights.is_empty() {
        return weights;
    }
    let mut remaining = (1.0 - weights.iter().sum::<f64>()).max(0.0);
    if remaining <= EPSILON {
        return weights;
    }
    let positive: Vec<f64> = scores.iter().map(|s| s.max(0.0)).collect();
    let positive_total: f64 = positive.iter().sum();
    let distribution: Vec<f64> = if positive_total > 0.0 {
        positive.iter().map(|p| p / positive_total).collect()
    } else {
        let baseline_total: f64 = bounds.iter().map(|b| b.1).sum();
        if baseline_total > 0.0 {
            bounds.iter().map(|b| b.1 / baseline_total).collect()
        } else {
            vec![1.0 / bounds.len() as f64; bounds.len()]
        }
    };
    let mut available: Vec<f64> = bounds
        .iter()
        .zip(&weights)
        .map(|(b, w)| (b.2 - w).max(0.0))
        .collect();
    let mut active: Vec<bool> = available.iter().map(|a| *a > EPSILON).collect();
    while remaining > EPSILON && active.iter().any(|a| *a) {
        let total_share: f64 = distribution
            .iter()
            .zip(&active)
            .filter(|(_, a)| **a)
            .map(|(d, _)| *d)
            .sum();
        let open = active.iter().filter(|a| **a).count() as f64;
        let mut consumed = 0.0;
        for i in 0..weights.len() {
            if !active[i] {
                continue;
            }
            let want = if total_share > 0.0 {
                remaining * distribution[i] / total_share
            } else {
                remaining / open
            };
            let delta = available[i].min(want);
            weights[i] += delta;
            available[i] -= delta;
            consumed += delta;
            if available[i] <= EPSILON {
                active[i] = false;
            }
        }
        if consumed <= EPSILON {
            break;
        }
        remaining = (remaining - consumed).max(0.0);
    }
    weights
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn t(mins: u64) -> SimTime {
        SimTime::from_unix_secs(1_764_320_400) + SimDuration::from_mins(mins)
    }

    fn metrics(pairs: &[(&str, f64)]) -> BTreeMap<String, f64> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
    }

    const CORE: [&str; 4] = [
        "core_mean_reversion",
        "core_volatility_target",
        "core_cross_exchange",
        "core_daily_trend",
    ];

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn defaults_are_the_reference_ones() {
        let c = GovernorConfig::default();
        assert!(c.enabled && c.require_complete_metrics);
        assert_eq!(c.rebalance_interval_minutes, 20.0);
        assert_eq!(c.smoothing, 0.55);
        assert_eq!(
            (
                c.default_baseline_weight,
                c.default_min_weight,
                c.default_max_weight
            ),
            (0.28, 0.08, 0.5)
        );
        assert_eq!(
            (
                c.min_score_threshold,
                c.default_cost_bps,
                c.max_signal_floor
            ),
            (0.08, 5.0, 1)
        );
        assert_eq!(
            c.scoring,
            ScoringWeights {
                alpha: 0.9,
                cost: 1.3,
                slo: 1.2,
                risk: 0.8
            }
        );
        GovernorConfig::reference_core().validate().unwrap();
    }

    #[test]
    fn the_core_yaml_section_reads_as_the_reference_table() {
        let yaml = "
strategies:
  core_mean_reversion: {baseline_weight: 0.27, min_weight: 0.10, max_weight: 0.45, baseline_max_signals: 5, max_signal_factor: 1.45, risk_profile: conservative}
  core_volatility_target: {baseline_weight: 0.23, min_weight: 0.12, max_weight: 0.40, baseline_max_signals: 3, max_signal_factor: 1.15, risk_profile: balanced}
  core_cross_exchange: {baseline_weight: 0.12, min_weight: 0.05, max_weight: 0.28, baseline_max_signals: 4, max_signal_factor: 1.3, risk_profile: aggressive}
  core_daily_trend: {baseline_weight: 0.38, min_weight: 0.22, max_weight: 0.60, baseline_max_signals: 3, max_signal_factor: 1.25, risk_profile: balanced}
";
        let parsed: GovernorConfig = serde_norway::from_str(yaml).unwrap();
        assert_eq!(parsed, GovernorConfig::reference_core());
    }

    #[test]
    fn config_values_and_shorthands() {
        use serde_json::json;
        let reference = Some(GovernorConfig::reference_core());
        assert_eq!(
            GovernorConfig::from_config(&json!(true)).unwrap(),
            reference
        );
        assert_eq!(
            GovernorConfig::from_config(&json!("stage6_core")).unwrap(),
            reference
        );
        assert_eq!(GovernorConfig::from_config(&json!(false)).unwrap(), None);
        let custom = GovernorConfig::from_config(&json!({"default_cost_bps": 0.0}))
            .unwrap()
            .unwrap();
        assert_eq!(custom.default_cost_bps, 0.0);
        assert!(custom.strategies.is_empty());
        for (value, wanted) in [
            (json!("stage7"), "unknown governor `stage7`"),
            (json!(3), "expected true, false"),
            (json!({"smothing": 0.5}), "unknown field `smothing`"),
            (
                json!({"smoothing": 1.5}),
                "portfolio_governor.smoothing: expected a factor in [0, 1], got 1.5",
            ),
            (
                json!({"rebalance_interval_minutes": 0}),
                "portfolio_governor.rebalance_interval_minutes: expected a positive number of minutes",
            ),
            (
                json!({"strategies": {"mr": {"min_weight": 0.3, "baseline_weight": 0.2}}}),
                "portfolio_governor.strategies.mr: expected min_weight ≤ baseline_weight ≤ max_weight, got 0.3 / 0.2 / 0.5",
            ),
            (
                json!({"strategies": {"mr": {"max_weight": 1.2}}}),
                "portfolio_governor.strategies.mr.max_weight: expected a weight in [0, 1], got 1.2",
            ),
            (
                json!({"strategies": {"mr": {"max_signal_factor": 0}}}),
                "portfolio_governor.strategies.mr.max_signal_factor: expected a positive factor",
            ),
            (
                json!({"strategies": {"mr": {"baseline_max_signals": 0}}}),
                "portfolio_governor.strategies.mr.baseline_max_signals: expected at least 1",
            ),
            (
                json!({"scoring": {"cost": -1}}),
                "portfolio_governor.scoring.cost: expected a number ≥ 0, got -1",
            ),
            (
                json!({"strategies": {"a": {"min_weight": 0.5, "baseline_weight": 0.5, "max_weight": 0.6}, "b": {"min_weight": 0.6, "baseline_weight": 0.6, "max_weight": 0.6}}}),
                "min_weight values sum to 1.1",
            ),
        ] {
            let err = GovernorConfig::from_config(&value).unwrap_err().to_string();
            assert!(err.contains(wanted), "{value}: {err}");
        }
    }

    /// engine.md §5: "mean reversion is configured with max_signals=4 but gets hint 5". Before
    /// the first decision the weight is the baseline, so the factor is 1 and the hint alone
    /// sets the limit.
    #[test]
    fn mean_reversion_gets_hint_five_before_any_decision() {
        let mut g = PortfolioGovernor::new(GovernorConfig::reference_core()).unwrap();
        let a = g.resolve_allocation("core_mean_reversion");
        assert_eq!(a.max_signal_hint, Some(5));
        assert!(close(a.weight, 0.27) && close(a.baseline_weight, 0.27));
        assert_eq!(a.signal_factor, 1.0);
        assert_eq!(g.min_signal_floor(), 1);
        let limit = super::super::signal_limits::active_max_signals(
            super::super::signal_limits::LimitInputs {
                base: a.max_signal_hint.unwrap().max(1),
                governor_factor: a.signal_factor,
                allocator_factor: 1.0 / 3.0,
                floor: g.min_signal_floor(),
                override_limit: None,
            },
        );
        assert_eq!(limit, 5, "configured max_signals 4 becomes 5");
    }

    /// With the default 5 bps cost every score is 0: the remainder after the minimums
    /// (1 − 0.49 = 0.51) goes out in proportion to the baselines (which sum to 1).
    #[test]
    fn default_cost_gives_the_baseline_distribution() {
        let mut g = PortfolioGovernor::new(GovernorConfig::reference_core()).unwrap();
        for name in CORE {
            g.observe(name, &metrics(&[("avg_confidence", 0.9)]));
        }
        let d = g.maybe_rebalance(t(5)).expect("every strategy observed");
        // min + 0.51 × baseline
        let expected = [
            ("core_cross_exchange", 0.05 + 0.51 * 0.12, 0.12, 1.3),
            ("core_daily_trend", 0.22 + 0.51 * 0.38, 0.38, 1.25),
            ("core_mean_reversion", 0.10 + 0.51 * 0.27, 0.27, 1.45),
            ("core_volatility_target", 0.12 + 0.51 * 0.23, 0.23, 1.15),
        ];
        for (name, weight, baseline, cap) in expected {
            assert!(
                close(d.weights[name], weight),
                "{name}: {}",
                d.weights[name]
            );
            assert_eq!(d.scores[name].score, 0.0);
            assert!(close(d.previous_weights[name], baseline));
            let a = g.resolve_allocation(name);
            assert!(close(a.signal_factor, (weight / baseline).min(cap)));
        }
        // e.g. mean reversion 0.2377 / 0.27 = 0.8804
        let mr = g.resolve_allocation("core_mean_reversion");
        assert!((mr.signal_factor - 0.880_370_370_370_370_4).abs() < 1e-12);
        assert!(d.unallocated < 1e-12);
        assert!(d.rebalance_required);
        assert_eq!(d.adjustments.len(), 4);
        assert_eq!(d.advisories, vec![GovernorAdvisory::BaselineFallback]);
    }

    /// Cost 0: positive scores share the remainder and the maxima bind.
    #[test]
    fn positive_scores_share_the_remainder_and_caps_bind() {
        let config = GovernorConfig {
            default_cost_bps: 0.0,
            require_complete_metrics: true,
            strategies: BTreeMap::from([
                (
                    "a".to_owned(),
                    StrategyAllocation {
                        baseline_weight: Some(0.3),
                        min_weight: Some(0.1),
                        max_weight: Some(0.3),
                        ..StrategyAllocation::default()
                    },
                ),
                (
                    "b".to_owned(),
                    StrategyAllocation {
                        baseline_weight: Some(0.3),
                        min_weight: Some(0.1),
                        max_weight: Some(0.6),
                        ..StrategyAllocation::default()
                    },
                ),
                (
                    "c".to_owned(),
                    StrategyAllocation {
                        baseline_weight: Some(0.4),
                        min_weight: Some(0.2),
                        max_weight: Some(0.8),
                        ..StrategyAllocation::default()
                    },
                ),
            ]),
            ..GovernorConfig::default()
        };
        let mut g = PortfolioGovernor::new(config).unwrap();
        // scores: a 0.9·1.0 − 0.08 = 0.82, b 0.9·0.5 − 0.08 = 0.37, c: slo 0.5 → 0.9·0.2 − 0.6 ≤ 0.08 → 0
        g.observe("a", &metrics(&[("alpha_score", 1.0)]));
        g.observe("b", &metrics(&[("avg_confidence", 0.5)]));
        g.observe(
            "c",
            &metrics(&[("avg_confidence", 0.2), ("slo_violation_rate", 0.5)]),
        );
        let d = g.maybe_rebalance(t(0)).unwrap();
        assert!(close(d.scores["a"].score, 0.82));
        assert!(close(d.scores["b"].score, 0.37));
        assert_eq!(d.scores["c"].score, 0.0);
        // remainder 0.6: a wants 0.6·0.82/1.19 = 0.413 but holds 0.2 more at most (capped at
        // 0.3); b takes 0.6·0.37/1.19 = 0.18655; second pass: only b has a share, takes the
        // rest (0.6 − 0.2 − 0.18655 = 0.21345) → b = 0.1 + 0.4 = 0.5; c stays at its min.
        assert!(close(d.weights["a"], 0.3));
        assert!(close(d.weights["b"], 0.5), "{}", d.weights["b"]);
        assert!(close(d.weights["c"], 0.2));
        assert!(d.unallocated < 1e-12);
        assert!(d.advisories.contains(&GovernorAdvisory::AtMaxWeight {
            strategy: "a".to_owned(),
            max_weight: 0.3
        }));
        let b = g.resolve_allocation("b");
        assert_eq!(b.signal_factor, 1.0, "capped at max_signal_factor 1");
        let c = g.resolve_allocation("c");
        assert!(close(c.signal_factor, 0.5), "0.2 / 0.4");
    }

    #[test]
    fn the_first_sample_is_taken_as_is_then_smoothed() {
        let mut g = PortfolioGovernor::new(GovernorConfig {
            require_complete_metrics: false,
            default_cost_bps: 0.0,
            min_score_threshold: 0.0,
            scoring: ScoringWeights {
                alpha: 1.0,
                cost: 0.0,
                slo: 0.0,
                risk: 0.0,
            },
            ..GovernorConfig::default()
        })
        .unwrap();
        g.observe(
            "x",
            &metrics(&[("avg_confidence", 0.8), ("allocation_error_pct", 10.0)]),
        );
        let d = g.maybe_rebalance(t(0)).unwrap();
        assert_eq!(d.scores["x"].alpha, 0.8);
        assert_eq!(d.scores["x"].slo, 10.0);
        g.observe(
            "x",
            &metrics(&[("alpha_score", 0.2), ("avg_confidence", 0.9)]),
        );
        let d = g.maybe_rebalance(t(30)).unwrap();
        // 0.55·0.2 + 0.45·0.8; slo: 0.55·0 + 0.45·10
        assert!(close(d.scores["x"].alpha, 0.55 * 0.2 + 0.45 * 0.8));
        assert!(close(d.scores["x"].slo, 4.5));
        // risk is not smoothed; drawdown_pct stands in for risk_penalty
        g.observe("x", &metrics(&[("drawdown_pct", 3.0)]));
        let d = g.maybe_rebalance(t(60)).unwrap();
        assert_eq!(d.scores["x"].risk, 3.0);
    }

    /// The reference deployment runs three of the four strategies its governor is configured
    /// with: the fourth keeps a waiting governor from ever deciding.
    #[test]
    fn strategies_no_schedule_runs_are_named() {
        let mut c = GovernorConfig::reference_core();
        assert_eq!(c.never_reporting(&CORE[..3]), ["core_daily_trend"]);
        assert!(c.never_reporting(&CORE).is_empty());
        c.require_complete_metrics = false;
        assert!(c.never_reporting(&CORE[..1]).is_empty());
    }

    #[test]
    fn require_complete_metrics_waits_for_every_strategy() {
        let mut g = PortfolioGovernor::new(GovernorConfig::reference_core()).unwrap();
        for name in &CORE[..3] {
            g.observe(name, &metrics(&[]));
        }
        assert_eq!(
            g.maybe_rebalance(t(0)),
            None,
            "core_daily_trend has no sample"
        );
        g.observe("core_daily_trend", &metrics(&[]));
        assert!(g.maybe_rebalance(t(1)).is_some());

        // Without the requirement a single observation is enough.
        let mut g = PortfolioGovernor::new(GovernorConfig {
            require_complete_metrics: false,
            ..GovernorConfig::reference_core()
        })
        .unwrap();
        g.observe("core_mean_reversion", &metrics(&[]));
        assert!(g.maybe_rebalance(t(0)).is_some());
    }

    #[test]
    fn decisions_respect_the_interval() {
        let mut g = PortfolioGovernor::new(GovernorConfig {
            require_complete_metrics: false,
            ..GovernorConfig::reference_core()
        })
        .unwrap();
        g.observe("core_mean_reversion", &metrics(&[]));
        let first = g.maybe_rebalance(t(0)).unwrap();
        assert!(
            first.rebalance_required,
            "baselines → baseline distribution"
        );
        for m in [1, 10, 19] {
            assert_eq!(g.maybe_rebalance(t(m)), None, "{m} min after");
        }
        let again = g.maybe_rebalance(t(20)).unwrap();
        assert!(!again.rebalance_required, "nothing moved: a review");
        assert!(again.adjustments.is_empty());
        assert_eq!(again.previous_weights, first.weights);
        assert_eq!(g.last_rebalance(), Some(t(20)));
    }

    #[test]
    fn disabled_never_decides() {
        let mut g = PortfolioGovernor::new(GovernorConfig {
            enabled: false,
            require_complete_metrics: false,
            ..GovernorConfig::default()
        })
        .unwrap();
        g.observe("x", &metrics(&[]));
        assert_eq!(g.maybe_rebalance(t(0)), None);
    }

    /// A strategy the configuration does not list joins with the defaults; baselines are
    /// renormalised from the configured values, and its weight is its baseline.
    #[test]
    fn an_unknown_strategy_joins_with_the_defaults() {
        let mut g = PortfolioGovernor::new(GovernorConfig::reference_core()).unwrap();
        let a = g.resolve_allocation("mr_scenario");
        // configured baselines sum to 1.0; with 0.28 more the total is 1.28
        assert!(close(a.baseline_weight, 0.28 / 1.28));
        assert!(close(a.weight, a.baseline_weight));
        assert_eq!(a.signal_factor, 1.0);
        assert_eq!(a.max_signal_hint, None);
        let mr = g.resolve_allocation("core_mean_reversion");
        assert!(close(mr.baseline_weight, 0.27 / 1.28));
        assert_eq!(mr.signal_factor, 1.0, "no decision yet: weight = baseline");
        // It counts as one of the strategies every decision waits for.
        for name in CORE {
            g.observe(name, &metrics(&[]));
        }
        assert_eq!(
            g.maybe_rebalance(t(0)),
            None,
            "mr_scenario not observed yet"
        );
        g.observe("mr_scenario", &metrics(&[]));
        let d = g.maybe_rebalance(t(0)).expect("every strategy observed");
        assert_eq!(d.weights.len(), 5);
    }

    fn bounds_strategy() -> impl Strategy<Value = Vec<(f64, f64, f64, f64)>> {
        proptest::collection::vec((0.0..0.3f64, 0.0..1.0f64, 0.0..1.0f64, -1.0..2.0f64), 1..7)
            .prop_map(|raw| {
                raw.into_iter()
                    .map(|(min, b, m, score)| {
                        let max = min + (1.0 - min) * m;
                        let baseline = min + (max - min) * b;
                        (min, baseline, max, score)
                    })
                    .collect()
            })
    }

    proptest! {
        /// Each weight stays within its bounds; the total never exceeds 1 and reaches 1
        /// whenever the maxima allow it.
        #[test]
        fn weights_stay_in_bounds_and_fill_the_portfolio(
            rows in bounds_strategy(),
            zero_scores in any::<bool>(),
        ) {
            let min_total: f64 = rows.iter().map(|r| r.0).sum();
            prop_assume!(min_total <= 1.0);
            let bounds: Vec<(f64, f64, f64)> = rows.iter().map(|r| (r.0, r.1, r.2)).collect();
            let scores: Vec<f64> = rows
                .iter()
                .map(|r| if zero_scores { 0.0 } else { r.3 })
                .collect();
            let w = distribute(&bounds, &scores);
            for (wi, (min, _, max)) in w.iter().zip(&bounds) {
                prop_assert!(*wi >= *min - 1e-12 && *wi <= *max + 1e-12, "{wi} not in [{min}, {max}]");
            }
            let total: f64 = w.iter().sum();
            prop_assert!(total <= 1.0 + 1e-9, "total {total}");
            let max_total: f64 = bounds.iter().map(|b| b.2).sum();
            if max_total >= 1.0 {
                prop_assert!(total >= 1.0 - 1e-9, "total {total} with maxima {max_total}");
            } else {
                prop_assert!((total - max_total).abs() < 1e-9, "everyone capped");
            }
        }
    }
}
