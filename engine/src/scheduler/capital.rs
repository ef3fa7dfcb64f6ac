//! Capital allocation across schedules (engine.md §4): policies that turn each schedule's
//! previous-run metrics into weights, normalised to sum to 1.
//!
//! The scheduler uses a schedule's weight twice: as the reference does, a weight of 0 silences
//! the schedule's signal limit; and, going beyond the reference (where weights never reach
//! orders), the execution router sizes the schedule's orders from its share of capital.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::run_telemetry::RunTelemetry;

/// A schedule's previous-run metrics, looked up by name (the scheduler keeps them as a
/// [`RunTelemetry`]; a map of names will do too).
pub trait MetricLookup: std::fmt::Debug {
    /// The value of the metric called `name`, if the run reported it.
    fn metric(&self, name: &str) -> Option<f64>;
}

impl MetricLookup for RunTelemetry {
    fn metric(&self, name: &str) -> Option<f64> {
        self.get_by_name(name)
    }
}

impl MetricLookup for BTreeMap<String, f64> {
    fn metric(&self, name: &str) -> Option<f64> {
        self.get(name).copied()
    }
}

/// What a policy sees about one schedule.
#[derive(Clone, Debug)]
pub struct AllocationInput<'a> {
    /// Schedule name.
    pub name: &'a str,
    /// Strategy (instance) name.
    pub strategy: &'a str,
    /// Risk profile.
    pub profile: &'a str,
    /// The schedule's metrics from its previous run (empty before the first run).
    pub metrics: &'a dyn MetricLookup,
}

/// A capital policy. Names and aliases follow the reference catalogue.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(tag = "name", rename_all = "snake_case")]
pub enum CapitalPolicy {
    /// `equal_weight` (`equal`, `uniform`): 1/n.
    EqualWeight,
    /// `risk_parity` (`risk`), the runtime default: 1 / max(volatility, 1e-6), volatility being
    /// the first positive of `avg_realized_volatility`, `realized_volatility`, `volatility`,
    /// else 1.
    #[default]
    RiskParity,
    /// `volatility_target` (`vol_target`, `target_volatility`): 1 / (1 + |error|), error being
    /// `realized_vs_target_vol_pct`, else `allocation_error_pct`, else 0.
    VolatilityTarget,
    /// `signal_strength` (`signal`, `signals`): signals · (1 + avg_confidence); equal weights
    /// when every score is 0.
    SignalStrength,
    /// `fixed_weight` (`fixed`, `manual`): configured weights looked up by `name:profile`,
    /// `strategy:profile`, `name`, `strategy` (case-insensitive).
    FixedWeight {
        /// Weights by lookup key (lower-cased).
        weights: BTreeMap<String, f64>,
    },
    /// `risk_profile` (`profile_budget`, `risk_budget`): a budget per risk profile (unlisted
    /// profiles share what is left), a floor per profile, and an inner policy within each.
    RiskProfile {
        /// Target share per profile.
        profiles: BTreeMap<String, f64>,
        /// Minimum share of any present profile.
        profile_floor: f64,
        /// Policy used among the schedules of one profile.
        within_profile: Box<CapitalPolicy>,
    },
}

/// A policy configuration the scheduler could not use.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PolicyError {
    /// The name is not in the catalogue.
    #[error(
        "unknown capital policy `{0}` (expected one of equal_weight, risk_parity, volatility_target, signal_strength, fixed_weight, risk_profile)"
    )]
    UnknownName(String),
    /// A parameter has the wrong type or value.
    #[error("capital policy `{policy}`: {problem}")]
    BadParameter {
        /// The policy.
        policy: String,
        /// What is wrong.
        problem: String,
    },
    /// `risk_profile` cannot be nested.
    #[error("capital policy `risk_profile` cannot be used inside another risk_profile policy")]
    NestedRiskProfile,
}

/// A configured policy plus its rebalance cooldown.
#[derive(Clone, Debug, PartialEq)]
pub struct PolicyConfig {
    /// The policy.
    pub policy: CapitalPolicy,
    /// Cooldown between recomputations, seconds (`None`: recompute on every run).
    pub rebalance_seconds: Option<f64>,
}

impl CapitalPolicy {
    /// The canonical name.
    pub fn name(&self) -> &'static str {
        match self {
            CapitalPolicy::EqualWeight => "equal_weight",
            CapitalPolicy::RiskParity => "risk_parity",
            CapitalPolicy::VolatilityTarget => "volatility_target",
            CapitalPolicy::SignalStrength => "signal_strength",
            CapitalPolicy::FixedWeight { .. } => "fixed_weight",
            CapitalPolicy::RiskProfile { .. } => "risk_profile",
        }
    }

    /// Parses the reference `capital_policy` value: a name string, or a map with
    /// `name|policy|type`, optional `rebalance_seconds|rebalance_interval|rebalance|interval_seconds`,
    /// and the policy's parameters. Unknown names are an error (the reference silently falls
    /// back to risk_parity, which hides typos in a risk-relevant setting).
    pub fn from_config(value: &serde_json::Value) -> Result<PolicyConfig, PolicyError> {
        Self::parse(value, false)
    }

    fn parse(
        value: &serde_json::Value,
        nested_in_profile: bool,
    ) -> Result<PolicyConfig, PolicyError> {
        use serde_json::Value;
        let (name, params) = match value {
            Value::String(s) => (s.as_str(), None),
            Value::Object(map) => {
                let name = ["name", "policy", "type"]
                    .iter()
                    .find_map(|k| map.get(*k).and_then(Value::as_str))
                    .ok_or_else(|| PolicyError::BadParameter {
                        policy: "capital_policy".into(),
                        problem: "a map needs `name` (or `policy`/`type`)".into(),
                    })?;
                (name, Some(map))
            }
            _ => {
                return Err(PolicyError::BadParameter {
                    policy: "capital_policy".into(),
                    problem: "expected a name or a map".into(),
                });
            }
        };
        let lname = name.trim().to_ascii_lowercase();
        let bad = |problem: String| PolicyError::BadParameter {
            policy: lname.clone(),
            problem,
        };
        let rebalance_seconds = match params {
            Some(map) => [
                "rebalance_seconds",
                "rebalance_interval",
                "rebalance",
                "interval_seconds",
            ]
            .iter()
            .find_map(|k| map.get(*k))
            .map(|v| {
                v.as_f64()
                    .ok_or_else(|| bad("rebalance interval must be a number".into()))
            })
            .transpose()?
            .filter(|s| s.is_finite() && *s > 0.0),
            None => None,
        };
        let policy = match lname.as_str() {
            "equal_weight" | "equal" | "uniform" => CapitalPolicy::EqualWeight,
            "risk_parity" | "risk" => CapitalPolicy::RiskParity,
            "volatility_target" | "vol_target" | "target_volatility" => {
                CapitalPolicy::VolatilityTarget
            }
            "signal_strength" | "signal" | "signals" => CapitalPolicy::SignalStrength,
            "fixed_weight" | "fixed" | "manual" => {
                let raw = params
                    .and_then(|m| m.get("weights"))
                    .and_then(Value::as_object)
                    .ok_or_else(|| bad("needs a `weights` map".into()))?;
                let mut weights = BTreeMap::new();
                for (key, v) in raw {
                    match v {
                        Value::Number(n) => {
                            weights.insert(key.to_ascii_lowercase(), n.as_f64().unwrap_or(0.0));
                        }
                        // Nested {strategy: {profile: w}} becomes `strategy:profile` keys.
                        Value::Object(inner) => {
                            for (profile, w) in inner {
                                let w = w.as_f64().ok_or_else(|| {
                                    bad(format!("weight `{key}.{profile}` is not a number"))
                                })?;
                                weights.insert(
                                    format!(
                                        "{}:{}",
                                        key.to_ascii_lowercase(),
                                        profile.to_ascii_lowercase()
                                    ),
                                    w,
                                );
                            }
                        }
                        _ => return Err(bad(format!("weight `{key}` is not a number"))),
                    }
                }
                CapitalPolicy::FixedWeight { weights }
            }
            "risk_profile" | "profile_budget" | "risk_budget" => {
                if nested_in_profile {
                    return Err(PolicyError::NestedRiskProfile);
                }
                let map = params.ok_or_else(|| bad("needs a `profiles` map".into()))?;
                let mut profiles = BTreeMap::new();
                for (k, v) in map
                    .get("profiles")
                    .and_then(Value::as_object)
                    .ok_or_else(|| bad("needs a `profiles` map".into()))?
                {
                    let w = v
                        .as_f64()
                        .ok_or_else(|| bad(format!("profile `{k}` share is not a number")))?;
                    profiles.insert(k.to_ascii_lowercase(), w);
                }
                let profile_floor = match map.get("profile_floor") {
                    None => 0.0,
                    Some(v) => v
                        .as_f64()
                        .ok_or_else(|| bad("`profile_floor` is not a number".into()))?,
                };
                let within_profile = match map.get("within_profile") {
                    None => CapitalPolicy::RiskParity,
                    Some(v) => CapitalPolicy::parse(v, true)?.policy,
                };
                CapitalPolicy::RiskProfile {
                    profiles,
                    profile_floor,
                    within_profile: Box::new(within_profile),
                }
            }
            _ => return Err(PolicyError::UnknownName(name.to_owned())),
        };
        Ok(PolicyConfig {
            policy,
            rebalance_seconds,
        })
    }

    /// True when [`CapitalPolicy::allocate`] reads the schedules' run metrics; the others
    /// depend on names, strategies and profiles only.
    pub fn reads_metrics(&self) -> bool {
        match self {
            CapitalPolicy::EqualWeight | CapitalPolicy::FixedWeight { .. } => false,
            CapitalPolicy::RiskParity
            | CapitalPolicy::VolatilityTarget
            | CapitalPolicy::SignalStrength => true,
            CapitalPolicy::RiskProfile { within_profile, .. } => within_profile.reads_metrics(),
        }
    }

    /// Raw (unnormalised) weights for the schedules; may be empty, which the caller turns into
    /// uniform weights.
    pub fn allocate(&self, schedules: &[AllocationInput<'_>]) -> BTreeMap<String, f64> {
        match self {
            CapitalPolicy::EqualWeight => uniform(schedules),
            CapitalPolicy::RiskParity => schedules
                .iter()
                .map(|s| {
                    let vol = [
                        "avg_realized_volatility",
                        "realized_volatility",
                        "volatility",
                    ]
                    .iter()
                    .find_map(|k| s.metrics.metric(k).filter(|v| *v > 0.0))
                    .unwrap_or(1.0);
                    (s.name.to_owned(), 1.0 / vol.max(1e-6))
                })
                .collect(),
            CapitalPolicy::VolatilityTarget => schedules
                .iter()
                .map(|s| {
                    let err = s
                        .metrics
                        .metric("realized_vs_target_vol_pct")
                        .or_else(|| s.metrics.metric("allocation_error_pct"))
                        .unwrap_or(0.0);
                    (s.name.to_owned(), 1.0 / (1.0 + err.abs()))
                })
                .collect(),
            CapitalPolicy::SignalStrength => {
                let scores: BTreeMap<String, f64> = schedules
                    .iter()
                    .map(|s| {
                        let signals = s.metrics.metric("signals").unwrap_or(0.0).max(0.0);
                        let conf = s.metrics.metric("avg_confidence").unwrap_or(0.0).max(0.0);
                        (s.name.to_owned(), signals * (1.0 + conf))
                    })
                    .collect();
                if scores.values().all(|v| *v <= 0.0) {
                    uniform(schedules)
                } else {
                    scores
                }
            }
            CapitalPolicy::FixedWeight { weights } => {
                let found: BTreeMap<String, f64> = schedules
                    .iter()
                    .filter_map(|s| {
                        let (n, st, p) = (
                            s.name.to_ascii_lowercase(),
                            s.strategy.to_ascii_lowercase(),
                            s.profile.to_ascii_lowercase(),
                        );
                        [format!("{n}:{p}"), format!("{st}:{p}"), n, st]
                            .iter()
                            .find_map(|k| weights.get(k))
                            .map(|w| (s.name.to_owned(), *w))
                    })
                    .collect();
                normalize_weights(&found)
            }
            CapitalPolicy::RiskProfile {
                profiles,
                profile_floor,
                within_profile,
            } => {
                let mut groups: BTreeMap<String, Vec<AllocationInput<'_>>> = BTreeMap::new();
                for s in schedules {
                    groups
                        .entry(s.profile.to_ascii_lowercase())
                        .or_default()
                        .push(s.clone());
                }
                let listed: f64 = groups.keys().filter_map(|p| profiles.get(p)).sum();
                let unlisted = groups.keys().filter(|p| !profiles.contains_key(*p)).count();
                let leftover = (1.0 - listed).max(0.0);
                let targets: BTreeMap<String, f64> = groups
                    .keys()
                    .map(|p| {
                        let w = profiles.get(p).copied().unwrap_or(if unlisted > 0 {
                            leftover / unlisted as f64
                        } else {
                            0.0
                        });
                        (p.clone(), w.max(0.0))
                    })
                    .collect();
                let profile_weights =
                    apply_profile_floor(&normalize_or_uniform(&targets), *profile_floor);
                let mut out = BTreeMap::new();
                for (profile, members) in &groups {
                    let inner =
                        normalize_or_uniform_for(&within_profile.allocate(members), members);
                    let pw = profile_weights.get(profile).copied().unwrap_or(0.0);
                    for (name, w) in inner {
                        out.insert(name, pw * w);
                    }
                }
                normalize_weights(&out)
            }
        }
    }
}

fn uniform(schedules: &[AllocationInput<'_>]) -> BTreeMap<String, f64> {
    let n = schedules.len().max(1) as f64;
    schedules
        .iter()
        .map(|s| (s.name.to_owned(), 1.0 / n))
        .collect()
}

/// The reference `normalize_weights`: drops non-finite and ≤ 0 values; empty stays empty; a
/// non-finite or non-positive sum gives uniform weights over what is left; else `v / sum`.
pub fn normalize_weights(weights: &BTreeMap<String, f64>) -> BTreeMap<String, f64> {
    let mut kept: BTreeMap<String, f64> = weights
        .iter()
        .filter(|(_, v)| v.is_finite() && **v > 0.0)
        .map(|(k, v)| (k.clone(), *v))
        .collect();
    if kept.is_empty() {
        return kept;
    }
    let sum: f64 = kept.values().sum();
    // Values are rescaled in place: the keys are already where they belong.
    if !sum.is_finite() || sum <= 0.0 {
        let n = kept.len() as f64;
        kept.values_mut().for_each(|v| *v = 1.0 / n);
    } else {
        kept.values_mut().for_each(|v| *v /= sum);
    }
    kept
}

fn normalize_or_uniform(weights: &BTreeMap<String, f64>) -> BTreeMap<String, f64> {
    let n = normalize_weights(weights);
    if n.is_empty() && !weights.is_empty() {
        let k = weights.len() as f64;
        weights.keys().map(|name| (name.clone(), 1.0 / k)).collect()
    } else {
        n
    }
}

fn normalize_or_uniform_for(
    weights: &BTreeMap<String, f64>,
    schedules: &[AllocationInput<'_>],
) -> BTreeMap<String, f64> {
    let n = normalize_weights(weights);
    if n.is_empty() { uniform(schedules) } else { n }
}

/// The reference's risk-profile floor: with `f = min(floor, 1)` and `k` profiles, uniform when
/// `f·k ≥ 1`; otherwise `w = f + (1 − f·k) · max(w − f, 0) / Σ max(w − f, 0)`, splitting the
/// remainder uniformly when that sum is 0.
pub fn apply_profile_floor(weights: &BTreeMap<String, f64>, floor: f64) -> BTreeMap<String, f64> {
    let f = floor.clamp(0.0, 1.0);
    let k = weights.len() as f64;
    if weights.is_empty() || f <= 0.0 {
        return weights.clone();
    }
    if f * k >= 1.0 {
        return weights.keys().map(|p| (p.clone(), 1.0 / k)).collect();
    }
    let excess: BTreeMap<&String, f64> =
        weights.iter().map(|(p, w)| (p, (w - f).max(0.0))).collect();
    let total: f64 = excess.values().sum();
    let rest = 1.0 - f * k;
    weights
        .keys()
        .map(|p| {
            let share = if total > 0.0 {
                excess[p] / total
            } else {
                1.0 / k
            };
            (p.clone(), f + rest * share)
        })
        .collect()
}

/// Deserialize support for configs that carry the policy as JSON-like data.
impl<'de> Deserialize<'de> for PolicyConfig {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(d)?;
        CapitalPolicy::from_config(&value).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn metrics(pairs: &[(&str, f64)]) -> BTreeMap<String, f64> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    /// Normalised weights of two schedules (different profiles) with the given run metrics.
    fn two_schedules(
        policy: &CapitalPolicy,
        a: &BTreeMap<String, f64>,
        b: &BTreeMap<String, f64>,
    ) -> BTreeMap<String, f64> {
        let inputs = [
            AllocationInput {
                name: "a",
                strategy: "mr",
                profile: "balanced",
                metrics: a,
            },
            AllocationInput {
                name: "b",
                strategy: "vt",
                profile: "aggressive",
                metrics: b,
            },
        ];
        normalize_weights(&policy.allocate(&inputs))
    }

    #[test]
    fn policies_that_read_no_metrics_ignore_them() {
        let busy = metrics(&[
            ("avg_realized_volatility", 0.02),
            ("realized_vs_target_vol_pct", 40.0),
            ("signals", 3.0),
            ("avg_confidence", 0.9),
        ]);
        let quiet = metrics(&[("signals", 0.0)]);
        let fixed = CapitalPolicy::FixedWeight {
            weights: BTreeMap::from([("a".to_owned(), 2.0), ("vt".to_owned(), 1.0)]),
        };
        let within = |inner: CapitalPolicy| CapitalPolicy::RiskProfile {
            profiles: BTreeMap::new(),
            profile_floor: 0.1,
            within_profile: Box::new(inner),
        };
        // (policy, reads metrics)
        let cases = [
            (CapitalPolicy::EqualWeight, false),
            (fixed.clone(), false),
            (within(fixed), false),
            (within(CapitalPolicy::EqualWeight), false),
            (CapitalPolicy::RiskParity, true),
            (CapitalPolicy::VolatilityTarget, true),
            (CapitalPolicy::SignalStrength, true),
            (within(CapitalPolicy::RiskParity), true),
        ];
        for (policy, reads) in cases {
            assert_eq!(policy.reads_metrics(), reads, "{policy:?}");
            let weights = [(&busy, &quiet), (&quiet, &quiet), (&quiet, &busy)]
                .map(|(a, b)| two_schedules(&policy, a, b));
            if !reads {
                assert!(
                    weights.iter().all(|w| *w == weights[0]),
                    "{policy:?}: {weights:?}"
                );
            }
        }
        // The flag is not vacuous: these inputs do move a policy that reads metrics.
        let parity = [(&busy, &quiet), (&quiet, &busy)]
            .map(|(a, b)| two_schedules(&CapitalPolicy::RiskParity, a, b));
        assert_ne!(parity[0], parity[1]);
    }

    #[test]
    fn risk_parity_inverts_volatility_with_fallbacks() {
        let m1 = metrics(&[("avg_realized_volatility", 0.02)]);
        let m2 = metrics(&[("realized_volatility", 0.04)]);
        let m3 = metrics(&[]);
        let inputs = [
            AllocationInput {
                name: "a",
                strategy: "a",
                profile: "balanced",
                metrics: &m1,
            },
            AllocationInput {
                name: "b",
                strategy: "b",
                profile: "balanced",
                metrics: &m2,
            },
            AllocationInput {
                name: "c",
                strategy: "c",
                profile: "balanced",
                metrics: &m3,
            },
        ];
        let w = normalize_weights(&CapitalPolicy::RiskParity.allocate(&inputs));
        // scores 50, 25, 1 → sum 76
        assert!(close(w["a"], 50.0 / 76.0));
        assert!(close(w["b"], 25.0 / 76.0));
        assert!(close(w["c"], 1.0 / 76.0));
    }

    #[test]
    fn signal_strength_falls_back_to_equal() {
        let m = metrics(&[]);
        let inputs = [
            AllocationInput {
                name: "a",
                strategy: "a",
                profile: "p",
                metrics: &m,
            },
            AllocationInput {
                name: "b",
                strategy: "b",
                profile: "p",
                metrics: &m,
            },
        ];
        let w = normalize_weights(&CapitalPolicy::SignalStrength.allocate(&inputs));
        assert!(close(w["a"], 0.5) && close(w["b"], 0.5));
    }

    #[test]
    fn fixed_weight_lookup_order_and_config_parsing() {
        let cfg = CapitalPolicy::from_config(&json!({
            "name": "fixed", "rebalance_seconds": 90,
            "weights": {"mr_sched:balanced": 3, "core_vt": 1, "XEX": {"aggressive": 1}}
        }))
        .unwrap();
        assert_eq!(cfg.rebalance_seconds, Some(90.0));
        let m = metrics(&[]);
        let inputs = [
            AllocationInput {
                name: "mr_sched",
                strategy: "core_mr",
                profile: "balanced",
                metrics: &m,
            },
            AllocationInput {
                name: "vt_sched",
                strategy: "core_vt",
                profile: "conservative",
                metrics: &m,
            },
            AllocationInput {
                name: "arb",
                strategy: "xex",
                profile: "aggressive",
                metrics: &m,
            },
            AllocationInput {
                name: "unknown",
                strategy: "zzz",
                profile: "balanced",
                metrics: &m,
            },
        ];
        let w = cfg.policy.allocate(&inputs);
        assert!(close(w["mr_sched"], 0.6) && close(w["vt_sched"], 0.2) && close(w["arb"], 0.2));
        assert!(!w.contains_key("unknown"));
    }

    #[test]
    fn risk_profile_budgets_floor_and_inner_policy() {
        let cfg = CapitalPolicy::from_config(&json!({
            "name": "risk_budget",
            "profiles": {"balanced": 0.7},
            "profile_floor": 0.2,
            "within_profile": "equal"
        }))
        .unwrap();
        let m = metrics(&[]);
        let inputs = [
            AllocationInput {
                name: "a",
                strategy: "a",
                profile: "balanced",
                metrics: &m,
            },
            AllocationInput {
                name: "b",
                strategy: "b",
                profile: "balanced",
                metrics: &m,
            },
            AllocationInput {
                name: "c",
                strategy: "c",
                profile: "aggressive",
                metrics: &m,
            },
        ];
        let w = cfg.policy.allocate(&inputs);
        // profiles 0.7 / 0.3 (leftover), floor 0.2: excess 0.5 / 0.1 → 0.2 + 0.6·5/6 = 0.7, 0.2 + 0.6/6 = 0.3
        assert!(close(w["a"], 0.35) && close(w["b"], 0.35) && close(w["c"], 0.3));
        assert_eq!(
            CapitalPolicy::from_config(
                &json!({"name": "risk_profile", "profiles": {}, "within_profile": {"name": "risk_budget", "profiles": {}}})
            ),
            Err(PolicyError::NestedRiskProfile)
        );
    }

    #[test]
    fn unknown_names_and_bad_shapes_are_errors() {
        assert!(matches!(
            CapitalPolicy::from_config(&json!("momentum")),
            Err(PolicyError::UnknownName(_))
        ));
        assert!(CapitalPolicy::from_config(&json!(3)).is_err());
        assert!(CapitalPolicy::from_config(&json!({"name": "fixed"})).is_err());
        assert_eq!(
            CapitalPolicy::from_config(&json!("Equal")).unwrap().policy,
            CapitalPolicy::EqualWeight
        );
    }

    #[test]
    fn normalisation_follows_the_reference() {
        let w = normalize_weights(&BTreeMap::from([
            ("a".to_owned(), 2.0),
            ("b".to_owned(), -1.0),
            ("c".to_owned(), f64::NAN),
            ("d".to_owned(), 6.0),
        ]));
        assert_eq!(w.len(), 2);
        assert!(close(w["a"], 0.25) && close(w["d"], 0.75));
        assert!(normalize_weights(&BTreeMap::from([("a".to_owned(), 0.0)])).is_empty());
        let f = apply_profile_floor(
            &BTreeMap::from([("x".to_owned(), 1.0), ("y".to_owned(), 0.0)]),
            0.6,
        );
        assert!(
            close(f["x"], 0.5) && close(f["y"], 0.5),
            "f·k ≥ 1 is uniform"
        );
    }
}
