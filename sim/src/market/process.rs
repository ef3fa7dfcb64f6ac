//! Fair-price processes: how the one "true" price of a symbol moves, step by step.
//!
//! All models work on the natural log of the price `x`, with volatility `σ` per √second and a
//! fixed step `Δt` (the quote interval, in seconds). `Z` is a standard normal draw.
//!
//! | `kind` | step |
//! |---|---|
//! | `gbm` | `x += (μ − σ²/2)·Δt + σ·√Δt·Z`, `μ` = `drift` per year / 31 536 000 s |
//! | `mean_reverting` | Ornstein–Uhlenbeck on `x` around `ln(mean)`: `x = m + (x − m)·e^{−κΔt} + σ·√((1 − e^{−2κΔt}) / 2κ)·Z`, `κ = ln 2 / half_life` |
//! | `regime_switching` | two-state Markov chain (calm ↔ burst, mean dwell times `calm_duration`, `burst_duration`, switch probability `1 − e^{−Δt/dwell}` per step), then a GBM step with that state's `σ` |
//! | `jump` | GBM step plus `N ~ Poisson(jumps_per_day·Δt/86 400)` jumps, each a normal log move `(jump_mean, jump_stdev)` |
//!
//! Every constant is precomputed once per run, so a step costs one or two uniform draws,
//! one normal and a few multiplications.

use serde::{Deserialize, Serialize};
use stage4_engine::domain::SimDuration;

use crate::error::ConfigError;
use crate::rng::SimRng;

const SECONDS_PER_YEAR: f64 = 365.0 * 86_400.0;

/// A fair-price model, as a scenario file names it (`model = { kind = "gbm", vol = 0.0001 }`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum PriceModel {
    /// Geometric random walk (geometric Brownian motion).
    Gbm {
        /// σ of the log price per √second.
        vol: f64,
        /// Expected return per year (0.1 = +10 %). Default 0.
        #[serde(default)]
        drift: f64,
    },
    /// Ornstein–Uhlenbeck on the log price.
    MeanReverting {
        /// σ of the log price per √second.
        vol: f64,
        /// Time for a deviation from the mean to halve.
        half_life: SimDuration,
        /// The level it reverts to (quote units). Default: the start price.
        #[serde(default)]
        mean: Option<f64>,
    },
    /// Calm and burst volatility regimes.
    RegimeSwitching {
        /// σ per √second when calm.
        vol_calm: f64,
        /// σ per √second in a burst.
        vol_burst: f64,
        /// Mean time spent calm before a burst. Default 6 h.
        #[serde(default = "default_calm")]
        calm_duration: SimDuration,
        /// Mean length of a burst. Default 30 min.
        #[serde(default = "default_burst")]
        burst_duration: SimDuration,
    },
    /// GBM with Poisson jumps.
    Jump {
        /// σ per √second between jumps.
        vol: f64,
        /// Expected jumps per day.
        jumps_per_day: f64,
        /// Mean log size of a jump. Default 0.
        #[serde(default)]
        jump_mean: f64,
        /// Standard deviation of the log jump size. Default 0.01 (1 %).
        #[serde(default = "default_jump_stdev")]
        jump_stdev: f64,
    },
}

fn default_calm() -> SimDuration {
    SimDuration::from_hours(6)
}
fn default_burst() -> SimDuration {
    SimDuration::from_mins(30)
}
fn default_jump_stdev() -> f64 {
    0.01
}

impl PriceModel {
    /// Snake-case name of the model.
    pub fn name(&self) -> &'static str {
        match self {
            PriceModel::Gbm { .. } => "gbm",
            PriceModel::MeanReverting { .. } => "mean_reverting",
            PriceModel::RegimeSwitching { .. } => "regime_switching",
            PriceModel::Jump { .. } => "jump",
        }
    }

    /// Checks parameters; `field` names the model in errors.
    pub fn validate(&self, field: &str) -> Result<(), ConfigError> {
        let non_negative = |name: &str, v: f64| {
            if v.is_finite() && v >= 0.0 {
                Ok(())
            } else {
                Err(ConfigError::invalid(
                    format!("{field}.{name}"),
                    format!("must be a finite number ≥ 0, got {v}"),
                ))
            }
        };
        let positive_duration = |name: &str, d: SimDuration| {
            if d.is_zero() {
                Err(ConfigError::invalid(
                    format!("{field}.{name}"),
                    "must be longer than 0s",
                ))
            } else {
                Ok(())
            }
        };
        match self {
            PriceModel::Gbm { vol, drift } => {
                non_negative("vol", *vol)?;
                if !drift.is_finite() {
                    return Err(ConfigError::invalid(
                        format!("{field}.drift"),
                        "must be finite",
                    ));
                }
            }
            PriceModel::MeanReverting {
                vol,
                half_life,
                mean,
            } => {
                non_negative("vol", *vol)?;
                positive_duration("half_life", *half_life)?;
                if let Some(m) = mean
                    && !(m.is_finite() && *m > 0.0)
                {
                    return Err(ConfigError::invalid(
                        format!("{field}.mean"),
                        format!("must be a positive price, got {m}"),
                    ));
                }
            }
            PriceModel::RegimeSwitching {
                vol_calm,
                vol_burst,
                calm_duration,
                burst_duration,
            } => {
                non_negative("vol_calm", *vol_calm)?;
                non_negative("vol_burst", *vol_burst)?;
                positive_duration("calm_duration", *calm_duration)?;
                positive_duration("burst_duration", *burst_duration)?;
            }
            PriceModel::Jump {
                vol,
                jumps_per_day,
                jump_mean,
                jump_stdev,
            } => {
                non_negative("vol", *vol)?;
                non_negative("jumps_per_day", *jumps_per_day)?;
                non_negative("jump_stdev", *jump_stdev)?;
                if !jump_mean.is_finite() {
                    return Err(ConfigError::invalid(
                        format!("{field}.jump_mean"),
                        "must be finite",
                    ));
                }
            }
        }
        Ok(())
    }
}

/// A model compiled for a fixed step: constants precomputed, plus its regime state.
#[derive(Clone, Debug)]
pub enum FairProcess {
    /// GBM: `x += drift_step + sd·Z`.
    Gbm {
        /// `(μ − σ²/2)·Δt`.
        drift_step: f64,
        /// `σ·√Δt`.
        sd: f64,
    },
    /// OU around `mean_log`.
    MeanReverting {
        /// `ln(mean)`.
        mean_log: f64,
        /// `e^{−κΔt}`.
        decay: f64,
        /// Standard deviation of the step's noise.
        sd: f64,
    },
    /// Markov calm/burst.
    RegimeSwitching {
        /// Step σ when calm.
        sd_calm: f64,
        /// Step σ in a burst.
        sd_burst: f64,
        /// Per-step probability of calm → burst.
        p_enter: f64,
        /// Per-step probability of burst → calm.
        p_exit: f64,
        /// Current regime.
        in_burst: bool,
    },
    /// GBM plus Poisson jumps.
    Jump {
        /// Diffusion drift per step (−σ²Δt/2).
        drift_step: f64,
        /// Diffusion σ per step.
        sd: f64,
        /// Expected jumps per step.
        jumps_per_step: f64,
        /// Mean log jump.
        jump_mean: f64,
        /// σ of the log jump.
        jump_stdev: f64,
    },
}

impl FairProcess {
    /// Compiles `model` for steps of `step` starting at `start_price`.
    pub fn new(model: &PriceModel, step: SimDuration, start_price: f64) -> FairProcess {
        let dt = step.as_secs_f64();
        let switch = |dwell: SimDuration| 1.0 - libm::exp(-dt / dwell.as_secs_f64());
        match *model {
            PriceModel::Gbm { vol, drift } => FairProcess::Gbm {
                drift_step: (drift / SECONDS_PER_YEAR - vol * vol / 2.0) * dt,
                sd: vol * libm::sqrt(dt),
            },
            PriceModel::MeanReverting {
                vol,
                half_life,
                mean,
            } => {
                let kappa = std::f64::consts::LN_2 / half_life.as_secs_f64();
                FairProcess::MeanReverting {
                    mean_log: libm::log(mean.unwrap_or(start_price)),
                    decay: libm::exp(-kappa * dt),
                    sd: vol * libm::sqrt((1.0 - libm::exp(-2.0 * kappa * dt)) / (2.0 * kappa)),
                }
            }
            PriceModel::RegimeSwitching {
                vol_calm,
                vol_burst,
                calm_duration,
                burst_duration,
            } => FairProcess::RegimeSwitching {
                sd_calm: vol_calm * libm::sqrt(dt),
                sd_burst: vol_burst * libm::sqrt(dt),
                p_enter: switch(calm_duration),
                p_exit: switch(burst_duration),
                in_burst: false,
            },
            PriceModel::Jump {
                vol,
                jumps_per_day,
                jump_mean,
                jump_stdev,
            } => FairProcess::Jump {
                drift_step: -vol * vol / 2.0 * dt,
                sd: vol * libm::sqrt(dt),
                jumps_per_step: jumps_per_day * dt / 86_400.0,
                jump_mean,
                jump_stdev,
            },
        }
    }

    /// Advances the log price `x` by one step. Returns the new `x` and the size of the
    /// step's shock in standard deviations (drives synthetic volume).
    #[inline]
    pub fn step(&mut self, x: f64, rng: &mut SimRng) -> (f64, f64) {
        match self {
            FairProcess::Gbm { drift_step, sd } => {
                let z = rng.normal();
                (x + *drift_step + *sd * z, z.abs())
            }
            FairProcess::MeanReverting {
                mean_log,
                decay,
                sd,
            } => {
                let z = rng.normal();
                (*mean_log + (x - *mean_log) * *decay + *sd * z, z.abs())
            }
            FairProcess::RegimeSwitching {
                sd_calm,
                sd_burst,
                p_enter,
                p_exit,
                in_burst,
            } => {
                let u = rng.uniform();
                if *in_burst {
                    if u < *p_exit {
                        *in_burst = false;
                    }
                } else if u < *p_enter {
                    *in_burst = true;
                }
                let sd = if *in_burst { *sd_burst } else { *sd_calm };
                let z = rng.normal();
                (
                    x - sd * sd / 2.0 + sd * z,
                    z.abs() * sd / sd_calm.max(f64::MIN_POSITIVE),
                )
            }
            FairProcess::Jump {
                drift_step,
                sd,
                jumps_per_step,
                jump_mean,
                jump_stdev,
            } => {
                let z = rng.normal();
                let mut next = x + *drift_step + *sd * z;
                let mut shock = z.abs();
                for _ in 0..rng.poisson(*jumps_per_step) {
                    let j = *jump_mean + *jump_stdev * rng.normal();
                    next += j;
                    shock += (j / sd.max(f64::MIN_POSITIVE)).abs().min(50.0);
                }
                (next, shock)
            }
        }
    }

    /// True while a regime-switching process is in its burst state.
    pub fn in_burst(&self) -> bool {
        matches!(self, FairProcess::RegimeSwitching { in_burst: true, .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log_returns(model: &PriceModel, steps: usize, seed: u64) -> Vec<f64> {
        let mut p = FairProcess::new(model, SimDuration::from_secs(1), 100.0);
        let mut rng = SimRng::from_seed(seed);
        let mut x = libm::log(100.0);
        (0..steps)
            .map(|_| {
                let (next, _) = p.step(x, &mut rng);
                let r = next - x;
                x = next;
                r
            })
            .collect()
    }

    fn stdev(xs: &[f64]) -> f64 {
        let m = xs.iter().sum::<f64>() / xs.len() as f64;
        (xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / xs.len() as f64).sqrt()
    }

    #[test]
    fn gbm_volatility_is_per_sqrt_second() {
        let r = log_returns(
            &PriceModel::Gbm {
                vol: 0.001,
                drift: 0.0,
            },
            100_000,
            1,
        );
        assert!((stdev(&r) - 0.001).abs() < 0.00002, "{}", stdev(&r));
    }

    #[test]
    fn mean_reversion_pulls_back_to_the_mean() {
        let model = PriceModel::MeanReverting {
            vol: 0.001,
            half_life: SimDuration::from_secs(60),
            mean: Some(50.0),
        };
        let mut p = FairProcess::new(&model, SimDuration::from_secs(1), 100.0);
        let mut rng = SimRng::from_seed(2);
        let mut x = libm::log(100.0);
        for _ in 0..3_600 {
            x = p.step(x, &mut rng).0;
        }
        assert!((libm::exp(x) - 50.0).abs() < 2.0, "{}", libm::exp(x));
    }

    #[test]
    fn regime_switching_has_bursts_of_higher_volatility() {
        let model = PriceModel::RegimeSwitching {
            vol_calm: 0.0004,
            vol_burst: 0.002,
            calm_duration: SimDuration::from_mins(30),
            burst_duration: SimDuration::from_mins(10),
        };
        let mut p = FairProcess::new(&model, SimDuration::from_secs(1), 100.0);
        let mut rng = SimRng::from_seed(3);
        let (mut calm, mut burst) = (Vec::new(), Vec::new());
        let mut x = 0.0;
        for _ in 0..200_000 {
            let (next, _) = p.step(x, &mut rng);
            if p.in_burst() {
                burst.push(next - x)
            } else {
                calm.push(next - x)
            }
            x = next;
        }
        assert!(!burst.is_empty() && burst.len() < calm.len());
        assert!((stdev(&calm) - 0.0004).abs() < 0.00003);
        assert!((stdev(&burst) - 0.002).abs() < 0.0002);
    }

    #[test]
    fn jumps_fatten_the_tails() {
        let jumpy = PriceModel::Jump {
            vol: 0.0001,
            jumps_per_day: 8_640.0,
            jump_mean: 0.0,
            jump_stdev: 0.01,
        };
        let r = log_returns(&jumpy, 100_000, 4);
        let big = r.iter().filter(|x| x.abs() > 0.002).count();
        // 0.1 jumps per step; most jumps are bigger than 20 diffusion σ.
        assert!((7_000..12_000).contains(&big), "{big}");
    }
}
