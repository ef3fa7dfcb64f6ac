//! Per-risk-profile warning and critical levels for the scheduler and strategy metrics
//! (reference §12.1, the built-in presets of `telemetry_risk_profiles.py`).
//!
//! Most metrics are "higher is worse"; `spread_capture_bps` is "lower is worse" (its warning
//! level is above its critical level). Reaching a level counts: a value equal to the warning
//! level is a warning. The `manual` profile monitors nothing, so every lookup for it is `None`.
//!
//! The reference only publishes these as metadata for audits and dashboards; here
//! [`evaluate`] applies them, and the dashboard takes its colour steps from the balanced row.

use std::fmt;
use std::str::FromStr;

use crate::domain::{SimDuration, SimTime};

use super::metrics::{LabelSet, MetricName};
use super::metrics::{MetricsStore, RangeBoundary, Sample, TelemetryPayload, names};

/// The telemetry risk profiles of the reference. The names match the risk engine's profiles
/// so a schedule's `risk_profile` string selects both.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TelemetryProfile {
    /// Tightest levels.
    Conservative,
    /// The default profile; the dashboard shows its levels.
    Balanced,
    /// Loosest levels.
    Aggressive,
    /// Operator-driven: no metric levels at all.
    Manual,
}

impl TelemetryProfile {
    /// All profiles, in reference order.
    pub const ALL: [TelemetryProfile; 4] = [
        TelemetryProfile::Conservative,
        TelemetryProfile::Balanced,
        TelemetryProfile::Aggressive,
        TelemetryProfile::Manual,
    ];

    /// The configuration name (`conservative`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            TelemetryProfile::Conservative => "conservative",
            TelemetryProfile::Balanced => "balanced",
            TelemetryProfile::Aggressive => "aggressive",
            TelemetryProfile::Manual => "manual",
        }
    }
}

impl fmt::Display for TelemetryProfile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An unknown profile name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown risk profile `{0}` (expected conservative, balanced, aggressive or manual)")]
pub struct UnknownProfile(pub String);

impl FromStr for TelemetryProfile {
    type Err = UnknownProfile;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TelemetryProfile::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| UnknownProfile(s.to_owned()))
    }
}

/// Which way a metric goes bad.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Latency, drift, error percentages: bigger values are worse.
    HigherIsWorse,
    /// Spread capture, drawdown (negative percent): smaller values are worse.
    LowerIsWorse,
}

/// The verdict for one value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Inside the warning level.
    Ok,
    /// At or past the warning level, inside the critical one.
    Warning,
    /// At or past the critical level, or not a number (a broken measurement is treated as
    /// the worst case rather than silently passing).
    Critical,
}

impl Level {
    /// `ok`, `warning` or `critical`.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Ok => "ok",
            Level::Warning => "warning",
            Level::Critical => "critical",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Warning and critical levels for one metric in one profile.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Threshold {
    /// Level at which a value becomes a warning.
    pub warning: f64,
    /// Level at which a value becomes critical.
    pub critical: f64,
    /// Which way is bad.
    pub direction: Direction,
    /// For the alert-window rows: the window the worst value is taken over.
    pub window: Option<SimDuration>,
}

impl Threshold {
    /// Classifies one value.
    pub fn classify(&self, value: f64) -> Level {
        let reached = |level: f64| match self.direction {
            Direction::HigherIsWorse => value >= level,
            Direction::LowerIsWorse => value <= level,
        };
        if value.is_nan() || reached(self.critical) {
            Level::Critical
        } else if reached(self.warning) {
            Level::Warning
        } else {
            Level::Ok
        }
    }

    /// The worst of several values in this threshold's direction (NaN counts as worst).
    fn worst(&self, samples: &[Sample]) -> Option<f64> {
        samples.iter().map(|s| s.value).reduce(|a, b| {
            if a.is_nan() || b.is_nan() {
                f64::NAN
            } else {
                match self.direction {
                    Direction::HigherIsWorse => a.max(b),
                    Direction::LowerIsWorse => a.min(b),
                }
            }
        })
    }
}

/// The metrics with per-profile levels: the nine rows of §12.1 plus the three alert-window
/// rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ThresholdMetric {
    /// Scheduler `loop_latency_ms` (telemetry `latency_ms`).
    LoopLatencyMs,
    /// Scheduler `max_drift_seconds` (telemetry `drift_seconds`).
    MaxDriftSeconds,
    /// Scheduler `signals_per_run` (telemetry `signals`).
    SignalsPerRun,
    /// Mean reversion `avg_abs_zscore`.
    AvgAbsZscore,
    /// Mean reversion `avg_realized_volatility`.
    AvgRealizedVolatility,
    /// Volatility targeting `allocation_error_pct`.
    AllocationErrorPct,
    /// Volatility targeting `realized_vs_target_vol_pct`.
    RealizedVsTargetVolPct,
    /// Arbitrage `secondary_delay_ms`.
    SecondaryDelayMs,
    /// Arbitrage `spread_capture_bps` (lower is worse).
    SpreadCaptureBps,
    /// Alert window on `pnl_drawdown_pct` (signed: a 2.5 % drawdown is −2.5).
    AlertPnlDrawdownPct,
    /// Alert window on `risk_exposure_deviation_pct`.
    AlertRiskExposureDeviationPct,
    /// Alert window on the scheduler latency (`latency_ms`).
    AlertSchedulerLatencyMs,
}

impl ThresholdMetric {
    /// All metrics, in reference table order.
    pub const ALL: [ThresholdMetric; 12] = [
        ThresholdMetric::LoopLatencyMs,
        ThresholdMetric::MaxDriftSeconds,
        ThresholdMetric::SignalsPerRun,
        ThresholdMetric::AvgAbsZscore,
        ThresholdMetric::AvgRealizedVolatility,
        ThresholdMetric::AllocationErrorPct,
        ThresholdMetric::RealizedVsTargetVolPct,
        ThresholdMetric::SecondaryDelayMs,
        ThresholdMetric::SpreadCaptureBps,
        ThresholdMetric::AlertPnlDrawdownPct,
        ThresholdMetric::AlertRiskExposureDeviationPct,
        ThresholdMetric::AlertSchedulerLatencyMs,
    ];

    /// The key in the reference's profile files (`loop_latency_ms`, `pnl_drawdown_pct`, ...).
    pub fn reference_key(self) -> &'static str {
        match self {
            ThresholdMetric::LoopLatencyMs => "loop_latency_ms",
            ThresholdMetric::MaxDriftSeconds => "max_drift_seconds",
            ThresholdMetric::SignalsPerRun => "signals_per_run",
            ThresholdMetric::AvgAbsZscore => "avg_abs_zscore",
            ThresholdMetric::AvgRealizedVolatility => "avg_realized_volatility",
            ThresholdMetric::AllocationErrorPct => "allocation_error_pct",
            ThresholdMetric::RealizedVsTargetVolPct => "realized_vs_target_vol_pct",
            ThresholdMetric::SecondaryDelayMs => "secondary_delay_ms",
            ThresholdMetric::SpreadCaptureBps => "spread_capture_bps",
            ThresholdMetric::AlertPnlDrawdownPct => "pnl_drawdown_pct",
            ThresholdMetric::AlertRiskExposureDeviationPct => "risk_exposure_deviation_pct",
            ThresholdMetric::AlertSchedulerLatencyMs => "scheduler_latency_ms",
        }
    }

    /// The telemetry payload key the level applies to.
    pub fn payload_key(self) -> &'static str {
        match self {
            ThresholdMetric::LoopLatencyMs | ThresholdMetric::AlertSchedulerLatencyMs => {
                names::LATENCY_MS
            }
            ThresholdMetric::MaxDriftSeconds => names::DRIFT_SECONDS,
            ThresholdMetric::SignalsPerRun => names::SIGNALS,
            ThresholdMetric::AvgAbsZscore => names::AVG_ABS_ZSCORE,
            ThresholdMetric::AvgRealizedVolatility => names::AVG_REALIZED_VOLATILITY,
            ThresholdMetric::AllocationErrorPct => names::ALLOCATION_ERROR_PCT,
            ThresholdMetric::RealizedVsTargetVolPct => names::REALIZED_VS_TARGET_VOL_PCT,
            ThresholdMetric::SecondaryDelayMs => names::SECONDARY_DELAY_MS,
            ThresholdMetric::SpreadCaptureBps => names::SPREAD_CAPTURE_BPS,
            ThresholdMetric::AlertPnlDrawdownPct => names::PNL_DRAWDOWN_PCT,
            ThresholdMetric::AlertRiskExposureDeviationPct => names::RISK_EXPOSURE_DEVIATION_PCT,
        }
    }

    /// True for the alert-window rows, whose levels apply to the worst value over a window.
    pub fn is_windowed(self) -> bool {
        matches!(
            self,
            ThresholdMetric::AlertPnlDrawdownPct
                | ThresholdMetric::AlertRiskExposureDeviationPct
                | ThresholdMetric::AlertSchedulerLatencyMs
        )
    }
}

/// The levels of `metric` in `profile`; `None` for the manual profile.
pub fn threshold(profile: TelemetryProfile, metric: ThresholdMetric) -> Option<Threshold> {
    use Direction::{HigherIsWorse as Up, LowerIsWorse as Down};
    use TelemetryProfile::*;
    use ThresholdMetric::*;
    let i = match profile {
        Conservative => 0,
        Balanced => 1,
        Aggressive => 2,
        Manual => return None,
    };
    // (warning, critical) per profile: conservative, balanced, aggressive; window in minutes.
    let (rows, direction, window_min): ([(f64, f64); 3], Direction, [u64; 3]) = match metric {
        LoopLatencyMs => ([(120.0, 200.0), (150.0, 220.0), (180.0, 260.0)], Up, [0; 3]),
        MaxDriftSeconds => ([(5.0, 10.0), (8.0, 14.0), (10.0, 18.0)], Up, [0; 3]),
        SignalsPerRun => ([(12.0, 16.0), (18.0, 24.0), (24.0, 32.0)], Up, [0; 3]),
        AvgAbsZscore => ([(2.4, 2.9), (2.8, 3.3), (3.1, 3.8)], Up, [0; 3]),
        AvgRealizedVolatility => ([(0.06, 0.08), (0.07, 0.09), (0.08, 0.10)], Up, [0; 3]),
        AllocationErrorPct => ([(12.0, 18.0), (16.0, 22.0), (20.0, 28.0)], Up, [0; 3]),
        RealizedVsTargetVolPct => ([(25.0, 35.0), (30.0, 40.0), (40.0, 55.0)], Up, [0; 3]),
        SecondaryDelayMs => ([(250.0, 400.0), (300.0, 450.0), (350.0, 500.0)], Up, [0; 3]),
        SpreadCaptureBps => ([(8.0, 4.0), (6.0, 3.0), (5.0, 2.5)], Down, [0; 3]),
        // The reference table gives drawdown magnitudes (1.5 / 2.5 ...); the metric is signed
        // (negative in a drawdown, like the `< -4` alert rule), so the levels are negated.
        AlertPnlDrawdownPct => (
            [(-1.5, -2.5), (-2.5, -4.0), (-3.0, -5.0)],
            Down,
            [15, 30, 30],
        ),
        AlertRiskExposureDeviationPct => {
            ([(5.0, 7.5), (7.5, 10.0), (10.0, 15.0)], Up, [10, 15, 15])
        }
        AlertSchedulerLatencyMs => ([(180.0, 220.0), (220.0, 260.0), (250.0, 320.0)], Up, [5; 3]),
    };
    let (warning, critical) = rows[i];
    Some(Threshold {
        warning,
        critical,
        direction,
        window: (window_min[i] > 0).then(|| SimDuration::from_mins(window_min[i])),
    })
}

/// Classifies `value` of `metric` against `profile`; `None` when the profile has no level
/// for it (manual).
pub fn evaluate(profile: TelemetryProfile, metric: ThresholdMetric, value: f64) -> Option<Level> {
    threshold(profile, metric).map(|t| t.classify(value))
}

/// One metric's verdict.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Finding {
    /// Which metric.
    pub metric: ThresholdMetric,
    /// The value judged (the worst in the window for windowed rows).
    pub value: f64,
    /// The levels used.
    pub threshold: Threshold,
    /// The verdict.
    pub level: Level,
}

/// Judges every per-run metric present in one run's payload (the windowed rows are skipped:
/// see [`assess_window`]). Ordered like [`ThresholdMetric::ALL`].
pub fn assess_payload(profile: TelemetryProfile, payload: &TelemetryPayload) -> Vec<Finding> {
    ThresholdMetric::ALL
        .into_iter()
        .filter(|m| !m.is_windowed())
        .filter_map(|metric| {
            let threshold = threshold(profile, metric)?;
            let value = payload.get(metric.payload_key())?;
            Some(Finding {
                metric,
                value,
                threshold,
                level: threshold.classify(value),
            })
        })
        .collect()
}

/// Judges one alert-window row for one schedule at `at`: the worst sample in the profile's
/// window ending at `at`. `None` for the manual profile, a per-run metric, or an empty window.
pub fn assess_window(
    profile: TelemetryProfile,
    metric: ThresholdMetric,
    store: &MetricsStore,
    schedule: &str,
    at: SimTime,
    boundary: RangeBoundary,
) -> Option<Finding> {
    let threshold = threshold(profile, metric)?;
    let window = threshold.window?;
    let name = MetricName::namespaced(metric.payload_key()).ok()?;
    let series = store.get(&name, &LabelSet::schedule(schedule))?;
    let value = threshold.worst(series.window(at, window, boundary))?;
    Some(Finding {
        metric,
        value,
        threshold,
        level: threshold.classify(value),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use Level::*;
    use TelemetryProfile::*;
    use ThresholdMetric::*;

    #[test]
    fn levels_with_direction() {
        // (profile, metric, value, expected)
        let cases = [
            (Balanced, LoopLatencyMs, 149.9, Ok),
            (Balanced, LoopLatencyMs, 150.0, Warning),
            (Balanced, LoopLatencyMs, 219.0, Warning),
            (Balanced, LoopLatencyMs, 220.0, Critical),
            (Conservative, LoopLatencyMs, 150.0, Warning),
            (Aggressive, LoopLatencyMs, 200.0, Warning),
            (Conservative, MaxDriftSeconds, 10.0, Critical),
            (Aggressive, SignalsPerRun, 31.0, Warning),
            (Balanced, AvgAbsZscore, 2.79, Ok),
            (Balanced, AvgAbsZscore, 3.3, Critical),
            (Conservative, AvgRealizedVolatility, 0.07, Warning),
            (Aggressive, AllocationErrorPct, 19.9, Ok),
            (Balanced, RealizedVsTargetVolPct, 41.0, Critical),
            (Balanced, SecondaryDelayMs, 300.0, Warning),
            (Aggressive, SecondaryDelayMs, 499.0, Warning),
            (Aggressive, SecondaryDelayMs, 500.0, Critical),
            // Lower is worse: 8 / 4 conservative, 6 / 3 balanced, 5 / 2.5 aggressive.
            (Conservative, SpreadCaptureBps, 9.0, Ok),
            (Conservative, SpreadCaptureBps, 8.0, Warning),
            (Conservative, SpreadCaptureBps, 4.0, Critical),
            (Balanced, SpreadCaptureBps, 6.5, Ok),
            (Balanced, SpreadCaptureBps, 5.0, Warning),
            (Balanced, SpreadCaptureBps, -15_300.0, Critical),
            (Aggressive, SpreadCaptureBps, 2.6, Warning),
            (Aggressive, SpreadCaptureBps, 2.5, Critical),
            (Balanced, AlertPnlDrawdownPct, -1.0, Ok),
            (Balanced, AlertPnlDrawdownPct, -2.5, Warning),
            (Balanced, AlertPnlDrawdownPct, -4.1, Critical),
            (Balanced, AlertRiskExposureDeviationPct, 8.0, Warning),
            (Aggressive, AlertSchedulerLatencyMs, 320.0, Critical),
            (Balanced, LoopLatencyMs, f64::NAN, Critical),
            (Balanced, SpreadCaptureBps, f64::INFINITY, Ok),
        ];
        for (profile, metric, value, want) in cases {
            assert_eq!(
                evaluate(profile, metric, value),
                Some(want),
                "{profile} {metric:?} {value}"
            );
        }
    }

    #[test]
    fn warning_is_always_less_severe_than_critical() {
        for profile in [Conservative, Balanced, Aggressive] {
            for metric in ThresholdMetric::ALL {
                let t = threshold(profile, metric).unwrap();
                assert_eq!(t.classify(t.warning), Warning, "{profile} {metric:?}");
                assert_eq!(t.classify(t.critical), Critical, "{profile} {metric:?}");
                match t.direction {
                    Direction::HigherIsWorse => assert!(t.warning < t.critical),
                    Direction::LowerIsWorse => assert!(t.warning > t.critical),
                }
                assert_eq!(t.window.is_some(), metric.is_windowed(), "{metric:?}");
            }
        }
    }

    #[test]
    fn manual_has_no_levels() {
        for metric in ThresholdMetric::ALL {
            assert_eq!(evaluate(Manual, metric, 1e9), None);
        }
    }

    #[test]
    fn windows_of_the_alert_rows() {
        let mins = |p, m| threshold(p, m).unwrap().window.unwrap().as_secs() / 60;
        assert_eq!(mins(Conservative, AlertPnlDrawdownPct), 15);
        assert_eq!(mins(Balanced, AlertPnlDrawdownPct), 30);
        assert_eq!(mins(Conservative, AlertRiskExposureDeviationPct), 10);
        assert_eq!(mins(Aggressive, AlertRiskExposureDeviationPct), 15);
        assert_eq!(mins(Balanced, AlertSchedulerLatencyMs), 5);
    }

    #[test]
    fn profile_names_round_trip() {
        for p in TelemetryProfile::ALL {
            assert_eq!(p.as_str().parse::<TelemetryProfile>().unwrap(), p);
        }
        let err = "yolo".parse::<TelemetryProfile>().unwrap_err();
        assert!(err.to_string().contains("expected conservative, balanced"));
    }

    #[test]
    fn payload_and_window_assessment() {
        let payload = TelemetryPayload::new()
            .with(names::LATENCY_MS, 230.0)
            .with(names::SIGNALS, 2.0)
            .with(names::SPREAD_CAPTURE_BPS, 5.5);
        let found: Vec<(ThresholdMetric, Level)> = assess_payload(Balanced, &payload)
            .into_iter()
            .map(|f| (f.metric, f.level))
            .collect();
        assert_eq!(
            found,
            [
                (LoopLatencyMs, Critical),
                (SignalsPerRun, Ok),
                (SpreadCaptureBps, Warning)
            ]
        );
        assert!(assess_payload(Manual, &payload).is_empty());

        let mut store = MetricsStore::new();
        let t0 = SimTime::from_unix_secs(1_800_000_000);
        for (i, dd) in [-0.5, -3.0, -1.0].into_iter().enumerate() {
            let p = TelemetryPayload::new().with(names::PNL_DRAWDOWN_PCT, dd);
            store
                .record_run("core", t0 + SimDuration::from_mins(10 * i as u64), &p)
                .unwrap();
        }
        let at = t0 + SimDuration::from_mins(20);
        let f = assess_window(
            Balanced,
            AlertPnlDrawdownPct,
            &store,
            "core",
            at,
            RangeBoundary::Closed,
        )
        .unwrap();
        assert_eq!((f.value, f.level), (-3.0, Warning));
        // Conservative looks back 15 minutes only: the −3 sample at +10m is still inside.
        let f = assess_window(
            Conservative,
            AlertPnlDrawdownPct,
            &store,
            "core",
            at,
            RangeBoundary::Closed,
        )
        .unwrap();
        assert_eq!((f.value, f.level), (-3.0, Critical));
        let later = t0 + SimDuration::from_mins(26);
        let f = assess_window(
            Conservative,
            AlertPnlDrawdownPct,
            &store,
            "core",
            later,
            RangeBoundary::Closed,
        )
        .unwrap();
        assert_eq!((f.value, f.level), (-1.0, Ok));
        assert!(
            assess_window(
                Balanced,
                LoopLatencyMs,
                &store,
                "core",
                at,
                RangeBoundary::Closed
            )
            .is_none()
        );
        assert!(
            assess_window(
                Balanced,
                AlertPnlDrawdownPct,
                &store,
                "other",
                at,
                RangeBoundary::Closed
            )
            .is_none()
        );
    }
}
