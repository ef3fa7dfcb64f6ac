//! Latency models: how long an operation takes between the engine and a venue.
//!
//! A closed set, selectable by name in a scenario file (`kind = "lognormal"`). Each venue
//! operation (order entry, reports, market data) owns one model and its own random stream
//! `latency/<venue>/<operation>`, so changing one venue's order flow never shifts another
//! stream's draws.

use serde::{Deserialize, Serialize};
use stage4_engine::domain::{SimDuration, SimTime};

use crate::error::ConfigError;
use crate::rng::SimRng;

/// A latency distribution.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum LatencyModel {
    /// Always the same.
    Constant {
        /// The latency.
        latency: SimDuration,
    },
    /// Uniform on `[min, max]` (nanosecond resolution).
    Uniform {
        /// Shortest.
        min: SimDuration,
        /// Longest.
        max: SimDuration,
    },
    /// Lognormal: `median × exp(σ·Z)`; the heavy right tail of real networks.
    #[serde(rename = "lognormal")]
    LogNormal {
        /// The median latency.
        median: SimDuration,
        /// Standard deviation of the log latency (0.25 ⇒ p99 ≈ 1.8 × median).
        sigma: f64,
    },
    /// A recorded table `[[offset, latency], ...]`: latency at `start + offset`, linearly
    /// interpolated between rows and held flat before the first and after the last row.
    /// Deterministic: no random draw.
    Table {
        /// `(offset from the run start, latency)`, offsets strictly increasing.
        points: Vec<(SimDuration, SimDuration)>,
    },
}

impl LatencyModel {
    /// Checks parameters; `field` names the model in errors.
    pub fn validate(&self, field: &str) -> Result<(), ConfigError> {
        match self {
            LatencyModel::Constant { .. } => Ok(()),
            LatencyModel::Uniform { min, max } if min > max => Err(ConfigError::invalid(
                field,
                format!("uniform latency needs min ≤ max, got min {min} > max {max}"),
            )),
            LatencyModel::Uniform { .. } => Ok(()),
            LatencyModel::LogNormal { sigma, .. } if !(sigma.is_finite() && *sigma >= 0.0) => {
                Err(ConfigError::invalid(
                    field,
                    format!("lognormal sigma must be a finite number ≥ 0, got {sigma}"),
                ))
            }
            LatencyModel::LogNormal { .. } => Ok(()),
            LatencyModel::Table { points } if points.is_empty() => Err(ConfigError::invalid(
                field,
                "a latency table needs at least one [offset, latency] row",
            )),
            LatencyModel::Table { points } => {
                if points.windows(2).any(|w| w[0].0 >= w[1].0) {
                    return Err(ConfigError::invalid(
                        field,
                        "latency table offsets must be strictly increasing",
                    ));
                }
                Ok(())
            }
        }
    }

    /// True when sampling never draws from the random stream.
    pub fn is_deterministic(&self) -> bool {
        matches!(
            self,
            LatencyModel::Constant { .. } | LatencyModel::Table { .. }
        )
    }
}

/// A latency model bound to its random stream and the run start (for tables).
#[derive(Clone, Debug)]
pub struct LatencySampler {
    model: LatencyModel,
    rng: SimRng,
    start: SimTime,
    /// `ln(median)` precomputed for the lognormal model.
    ln_median: f64,
}

impl LatencySampler {
    /// Binds `model` to `rng`; table offsets count from `start`.
    pub fn new(model: LatencyModel, rng: SimRng, start: SimTime) -> LatencySampler {
        let ln_median = match &model {
            LatencyModel::LogNormal { median, .. } => libm::log(median.as_nanos().max(1) as f64),
            _ => 0.0,
        };
        LatencySampler {
            model,
            rng,
            start,
            ln_median,
        }
    }

    /// The latency of an operation started at `now`.
    #[inline]
    pub fn sample(&mut self, now: SimTime) -> SimDuration {
        match &self.model {
            LatencyModel::Constant { latency } => *latency,
            LatencyModel::Uniform { min, max } => {
                let span = max.as_nanos() - min.as_nanos();
                let extra = if span == u64::MAX {
                    self.rng.next_u64()
                } else {
                    self.rng.below(span + 1)
                };
                SimDuration::from_nanos(min.as_nanos() + extra)
            }
            LatencyModel::LogNormal { sigma, .. } => {
                let ns = libm::exp(self.ln_median + sigma * self.rng.normal());
                SimDuration::from_nanos(ns.round() as u64)
            }
            LatencyModel::Table { points } => interpolate(points, now.saturating_since(self.start)),
        }
    }
}

fn interpolate(points: &[(SimDuration, SimDuration)], offset: SimDuration) -> SimDuration {
    let after = points.partition_point(|(o, _)| *o <= offset);
    if after == 0 {
        return points[0].1;
    }
    if after == points.len() {
        return points[after - 1].1;
    }
    let (o0, l0) = points[after - 1];
    let (o1, l1) = points[after];
    let num = i128::from(offset.as_nanos() - o0.as_nanos());
    let den = i128::from(o1.as_nanos() - o0.as_nanos());
    let delta = i128::from(l1.as_nanos()) - i128::from(l0.as_nanos());
    let ns = i128::from(l0.as_nanos()) + delta * num / den;
    SimDuration::from_nanos(u64::try_from(ns).expect("between two non-negative latencies"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> SimDuration {
        SimDuration::from_millis(n)
    }

    #[test]
    fn each_model_samples_within_its_shape() {
        let start = SimTime::from_unix_secs(1_000);
        let rng = SimRng::from_seed(1).fork("latency/test");
        let mut constant = LatencySampler::new(
            LatencyModel::Constant { latency: ms(7) },
            rng.clone(),
            start,
        );
        assert_eq!(constant.sample(start), ms(7));

        let mut uniform = LatencySampler::new(
            LatencyModel::Uniform {
                min: ms(5),
                max: ms(9),
            },
            rng.clone(),
            start,
        );
        for _ in 0..1000 {
            let l = uniform.sample(start);
            assert!(l >= ms(5) && l <= ms(9));
        }

        let mut lognormal = LatencySampler::new(
            LatencyModel::LogNormal {
                median: ms(20),
                sigma: 0.25,
            },
            rng.clone(),
            start,
        );
        let mut draws: Vec<u64> = (0..10_001)
            .map(|_| lognormal.sample(start).as_nanos())
            .collect();
        draws.sort_unstable();
        let median = draws[5_000] as f64 / 1e6;
        assert!((median - 20.0).abs() < 0.5, "{median}");

        let table = LatencyModel::Table {
            points: vec![
                (SimDuration::ZERO, ms(10)),
                (SimDuration::from_secs(10), ms(30)),
            ],
        };
        let mut t = LatencySampler::new(table, rng, start);
        assert_eq!(t.sample(start), ms(10));
        assert_eq!(t.sample(start + SimDuration::from_secs(5)), ms(20));
        assert_eq!(t.sample(start + SimDuration::from_secs(50)), ms(30));
    }

    #[test]
    fn bad_parameters_name_the_field() {
        let cases = [
            LatencyModel::Uniform {
                min: ms(9),
                max: ms(5),
            },
            LatencyModel::LogNormal {
                median: ms(1),
                sigma: -1.0,
            },
            LatencyModel::Table { points: vec![] },
            LatencyModel::Table {
                points: vec![(ms(5), ms(1)), (ms(5), ms(2))],
            },
        ];
        for model in cases {
            let err = model
                .validate("venues.kraken.latency.order_entry")
                .unwrap_err();
            assert!(
                err.to_string()
                    .starts_with("`venues.kraken.latency.order_entry`"),
                "{err}"
            );
        }
    }
}
