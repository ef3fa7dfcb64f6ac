//! A load test as a validated plan: what to run, how to pace it, what budgets to judge it
//! against. The CLI builds one from its flags; the scenario runner builds one in code.
//!
//! Defaults are the reference CLI's (engine.md §11.1). Where the reference silently clamps a
//! bad value (`--iterations 0` became 1, a negative latency became 0) the plan refuses it and
//! names the flag: an operator who typed a wrong number should hear about it.

use std::path::PathBuf;
use std::time::Duration;

use super::world::ScheduleSet;

/// Reference default of `--iterations`.
pub const DEFAULT_ITERATIONS: u32 = 10;
/// Reference default of `--schedules`.
pub const DEFAULT_SCHEDULES: u32 = 3;
/// Reference default of `--signals`.
pub const DEFAULT_SIGNALS: u32 = 4;
/// Reference default of `--latency-ms`.
pub const DEFAULT_LATENCY_MS: f64 = 2.0;
/// Reference default of `--cpu-budget`, percent.
pub const DEFAULT_CPU_BUDGET: f64 = 70.0;
/// Reference default of `--memory-budget`, MB.
pub const DEFAULT_MEMORY_BUDGET: f64 = 3072.0;
/// Default `--seed` of the simulated market.
pub const DEFAULT_SEED: u64 = 7;

/// Most iterations (warm-up included) one load test runs: keeps the simulated market inside
/// the representable time range with a wide margin.
pub const MAX_ITERATIONS: u32 = 10_000_000;
/// Most synthetic schedules.
pub const MAX_SCHEDULES: u32 = 100_000;
/// Longest simulated latency per strategy call, ms.
pub const MAX_LATENCY_MS: f64 = 60_000.0;

/// How iterations are started.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Pacing {
    /// Back to back; latency is each iteration's run time.
    ClosedLoop,
    /// Iteration k is due at `start + k / rate_per_s`; latency counts from then.
    OpenLoop {
        /// Intended iterations per second.
        rate_per_s: f64,
    },
}

/// Where the schedules come from.
#[derive(Clone, Debug, PartialEq)]
pub enum ScheduleSource {
    /// `--schedules N`: N synthetic schedules.
    Synthetic,
    /// `--config`: a scheduler of a core.yaml.
    Config {
        /// The file.
        path: PathBuf,
        /// The scheduler whose schedules run.
        scheduler: String,
    },
}

/// A validated load test.
#[derive(Clone, Debug, PartialEq)]
pub struct LoadTestPlan {
    /// Measured iterations (≥ 1).
    pub iterations: u32,
    /// Iterations run first and excluded from every figure.
    pub warmup: u32,
    /// The schedules and capital policy.
    pub schedules: ScheduleSet,
    /// Where they came from.
    pub source: ScheduleSource,
    /// The `settings.signals_per_snapshot` reported.
    pub signals_per_snapshot: u32,
    /// Simulated compute per strategy call.
    pub simulated_latency: Duration,
    /// CPU budget, percent of the machine.
    pub cpu_budget_percent: f64,
    /// Memory budget, MB.
    pub memory_budget_mb: f64,
    /// Closed or open loop.
    pub pacing: Pacing,
    /// Seed of the simulated market.
    pub seed: u64,
}

/// A plan value out of range; names the flag the CLI exposes it as.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{flag}: {problem}")]
pub struct PlanError {
    /// The flag, e.g. `--iterations`.
    pub flag: &'static str,
    /// What is wrong and what is expected.
    pub problem: String,
}

fn bad(flag: &'static str, problem: String) -> PlanError {
    PlanError { flag, problem }
}

impl LoadTestPlan {
    /// `schedules` synthetic schedules with every other value at the reference default
    /// (10 iterations, 4 signals, 2 ms, 70 %, 3 072 MB, closed loop, seed 7): the starting
    /// point for a plan built in code, e.g. by a scenario action.
    pub fn synthetic(schedules: u32) -> LoadTestPlan {
        LoadTestPlan {
            iterations: DEFAULT_ITERATIONS,
            warmup: 0,
            schedules: super::schedules::synthetic(schedules, DEFAULT_SIGNALS),
            source: ScheduleSource::Synthetic,
            signals_per_snapshot: DEFAULT_SIGNALS,
            simulated_latency: Duration::from_secs_f64(DEFAULT_LATENCY_MS / 1e3),
            cpu_budget_percent: DEFAULT_CPU_BUDGET,
            memory_budget_mb: DEFAULT_MEMORY_BUDGET,
            pacing: Pacing::ClosedLoop,
            seed: DEFAULT_SEED,
        }
    }

    /// Checks every value; the first bad one is reported.
    pub fn validate(&self) -> Result<(), PlanError> {
        if self.iterations == 0 {
            return Err(bad("--iterations", "must be at least 1".into()));
        }
        if u64::from(self.iterations) + u64::from(self.warmup) > u64::from(MAX_ITERATIONS) {
            return Err(bad(
                "--iterations",
                format!(
                    "{} iterations plus {} warm-up is more than {MAX_ITERATIONS}",
                    self.iterations, self.warmup
                ),
            ));
        }
        let n = self.schedules.schedules.len();
        if n == 0 {
            return Err(bad("--schedules", "must be at least 1".into()));
        }
        if n > MAX_SCHEDULES as usize {
            return Err(bad(
                "--schedules",
                format!("{n} is more than {MAX_SCHEDULES}"),
            ));
        }
        if self.signals_per_snapshot == 0 {
            return Err(bad("--signals", "must be at least 1".into()));
        }
        check_latency_ms(self.simulated_latency.as_secs_f64() * 1e3)
            .map_err(|p| bad("--latency-ms", p))?;
        check_budget(self.cpu_budget_percent, "percent").map_err(|p| bad("--cpu-budget", p))?;
        check_budget(self.memory_budget_mb, "MB").map_err(|p| bad("--memory-budget", p))?;
        if let Pacing::OpenLoop { rate_per_s } = self.pacing {
            check_rate(rate_per_s).map_err(|p| bad("--rate", p))?;
        }
        for s in &self.schedules.schedules {
            s.spec
                .validate()
                .map_err(|e| bad("--config", e.to_string()))?;
            s.strategy
                .validate()
                .map_err(|e| bad("--config", format!("schedule `{}`: {e}", s.spec.name)))?;
        }
        Ok(())
    }

    /// Schedules registered.
    pub fn schedule_count(&self) -> u32 {
        u32::try_from(self.schedules.schedules.len()).unwrap_or(u32::MAX)
    }

    /// Simulated latency in ms, as the report states it.
    pub fn simulated_latency_ms(&self) -> f64 {
        self.simulated_latency.as_secs_f64() * 1e3
    }
}

/// A number flag's text as f64, with a message naming the text when it is not one.
pub fn parse_number(text: &str) -> Result<f64, String> {
    text.trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a number"))
}

/// `--latency-ms` from its text (see [`check_latency_ms`]).
pub fn check_latency_ms_arg(text: &str) -> Result<f64, String> {
    check_latency_ms(parse_number(text)?)
}

/// `--rate` from its text (see [`check_rate`]).
pub fn check_rate_arg(text: &str) -> Result<f64, String> {
    check_rate(parse_number(text)?)
}

/// `--latency-ms`: finite, 0 ≤ v ≤ [`MAX_LATENCY_MS`].
pub fn check_latency_ms(v: f64) -> Result<f64, String> {
    if !v.is_finite() || v < 0.0 {
        return Err(format!(
            "{v} is not a latency: expected milliseconds of at least 0 (e.g. 2 or 0.5)"
        ));
    }
    if v > MAX_LATENCY_MS {
        return Err(format!(
            "{v} ms per strategy call is more than {MAX_LATENCY_MS} ms"
        ));
    }
    Ok(v)
}

/// `--cpu-budget` / `--memory-budget`: finite and at least 1 (the reference's floor).
pub fn check_budget(v: f64, unit: &str) -> Result<f64, String> {
    if !v.is_finite() || v < 1.0 {
        return Err(format!(
            "{v} is not a budget: expected a number of {unit} of at least 1"
        ));
    }
    Ok(v)
}

/// `--rate`: finite and above 0 iterations per second.
pub fn check_rate(v: f64) -> Result<f64, String> {
    if !v.is_finite() || v <= 0.0 {
        return Err(format!(
            "{v} is not a rate: expected iterations per second above 0 (e.g. 50 or 0.5)"
        ));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load_test::schedules::synthetic;

    fn plan() -> LoadTestPlan {
        LoadTestPlan::synthetic(DEFAULT_SCHEDULES)
    }

    #[test]
    fn each_bad_value_names_its_flag() {
        let cases: Vec<(&str, LoadTestPlan, Option<&str>)> = vec![
            ("defaults", plan(), None),
            (
                "zero iterations",
                LoadTestPlan {
                    iterations: 0,
                    ..plan()
                },
                Some("--iterations: must be at least 1"),
            ),
            (
                "too many iterations",
                LoadTestPlan {
                    iterations: MAX_ITERATIONS,
                    warmup: 1,
                    ..plan()
                },
                Some("--iterations: 10000000 iterations plus 1 warm-up"),
            ),
            (
                "no schedules",
                LoadTestPlan {
                    schedules: synthetic(0, 4),
                    ..plan()
                },
                Some("--schedules: must be at least 1"),
            ),
            (
                "zero signals",
                LoadTestPlan {
                    signals_per_snapshot: 0,
                    ..plan()
                },
                Some("--signals: must be at least 1"),
            ),
            (
                "cpu budget 0",
                LoadTestPlan {
                    cpu_budget_percent: 0.0,
                    ..plan()
                },
                Some("--cpu-budget: 0 is not a budget"),
            ),
            (
                "memory NaN",
                LoadTestPlan {
                    memory_budget_mb: f64::NAN,
                    ..plan()
                },
                Some("--memory-budget: NaN is not a budget"),
            ),
            (
                "rate 0",
                LoadTestPlan {
                    pacing: Pacing::OpenLoop { rate_per_s: 0.0 },
                    ..plan()
                },
                Some("--rate: 0 is not a rate"),
            ),
            (
                "rate ok",
                LoadTestPlan {
                    pacing: Pacing::OpenLoop { rate_per_s: 0.5 },
                    ..plan()
                },
                None,
            ),
            (
                "latency too long",
                LoadTestPlan {
                    simulated_latency: Duration::from_secs(61),
                    ..plan()
                },
                Some("--latency-ms: 61000 ms per strategy call"),
            ),
        ];
        for (name, p, want) in cases {
            let got = p.validate().err().map(|e| e.to_string());
            match want {
                None => assert_eq!(got, None, "{name}"),
                Some(w) => {
                    let got = got.unwrap_or_default();
                    assert!(got.starts_with(w), "{name}: {got}");
                }
            }
        }
    }

    #[test]
    fn flag_checks_refuse_what_the_reference_clamped() {
        assert!(
            check_latency_ms(-1.0)
                .unwrap_err()
                .contains("-1 is not a latency")
        );
        assert_eq!(check_latency_ms(0.0), Ok(0.0));
        assert!(check_latency_ms(f64::INFINITY).is_err());
        assert!(check_budget(0.5, "MB").unwrap_err().contains("at least 1"));
        assert_eq!(check_budget(1.0, "percent"), Ok(1.0));
        assert!(check_rate(-3.0).is_err());
    }
}
