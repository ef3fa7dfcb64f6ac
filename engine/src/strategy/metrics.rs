//! Per-run strategy metrics (engine.md §3.7): what the scheduler derives from the signals one
//! schedule run let through, for telemetry and the alert rules.
//!
//! Feed every bounded signal of one run to a [`RunMetricsAccumulator`], then
//! [`RunMetricsAccumulator::finish`] gives a [`RunMetrics`]: each metric is present only when
//! it had samples.
//!
//! | metric | per signal | over the run |
//! |---|---|---|
//! | `avg_confidence` | confidence | mean over all signals |
//! | `avg_abs_zscore` | `|zscore|` | mean |
//! | `avg_realized_volatility` | `volatility` | mean |
//! | `allocation_error_pct` | `|t − c| / max(|t|, 1e-9) · 100` for target `t ≠ 0`, current `c` | mean |
//! | `realized_vs_target_vol_pct` | `|r − t| / max(|t|, 1e-9) · 100` for target vol `t ≠ 0` | mean |
//! | `spread_capture_bps` | `(entry − exit) / |entry| · 10 000` for `entry ≠ 0` with an exit | mean |
//! | `secondary_delay_ms` | `secondary_delay_ms` | max |
//!
//! Two reference bugs are fixed here (engine.md §13 items 5 and 6):
//! - **No name-prefix gate.** The reference only collects `avg_abs_zscore` and
//!   `avg_realized_volatility` when the strategy's *name* starts with `mean_reversion`, so
//!   the shipped `core_mean_reversion` never reports them. Every metric here is taken from
//!   whichever signal carries its metadata, whatever the strategy is called; the accumulator
//!   does not even know the name.
//! - **One unit for spreads.** `spread_capture_bps` assumes `entry_spread` and `exit_spread`
//!   are both ratios, which our arbitrage strategy guarantees (the reference put an absolute
//!   price difference in `exit_spread`).
//!
//! Means are running sums divided by the count, summed in signal order, which is the
//! reference's `sum(list) / len(list)` exactly.

use serde::{Deserialize, Serialize};

use crate::strategy::Signal;
use crate::strategy::stats::py_max;

/// Name of the mean confidence metric.
pub const AVG_CONFIDENCE: &str = "avg_confidence";
/// Name of the mean |z-score| metric.
pub const AVG_ABS_ZSCORE: &str = "avg_abs_zscore";
/// Name of the mean realised volatility metric (mean-reversion `volatility`).
pub const AVG_REALIZED_VOLATILITY: &str = "avg_realized_volatility";
/// Name of the allocation error metric, percent.
pub const ALLOCATION_ERROR_PCT: &str = "allocation_error_pct";
/// Name of the realised-vs-target volatility metric, percent.
pub const REALIZED_VS_TARGET_VOL_PCT: &str = "realized_vs_target_vol_pct";
/// Name of the spread capture metric, basis points.
pub const SPREAD_CAPTURE_BPS: &str = "spread_capture_bps";
/// Name of the secondary venue delay metric, milliseconds.
pub const SECONDARY_DELAY_MS: &str = "secondary_delay_ms";

/// The strategy metrics of one schedule run. `None` means "no sample this run" (the reference
/// leaves the key out).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RunMetrics {
    /// Signals observed.
    pub signals: u64,
    /// Mean confidence over all signals.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub avg_confidence: Option<f64>,
    /// Mean |z-score|.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub avg_abs_zscore: Option<f64>,
    /// Mean per-bar realised volatility of mean-reversion signals.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub avg_realized_volatility: Option<f64>,
    /// Mean relative gap between target and previous allocation, percent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allocation_error_pct: Option<f64>,
    /// Mean relative gap between realised and target volatility, percent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub realized_vs_target_vol_pct: Option<f64>,
    /// Mean share of the entry spread captured by closes, basis points.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spread_capture_bps: Option<f64>,
    /// Largest secondary-venue quote age, milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secondary_delay_ms: Option<f64>,
}

impl RunMetrics {
    /// The metrics present, by name, always in the same order (the order of the fields).
    /// `signals` is not included: the scheduler reports it with its own run metrics.
    pub fn entries(&self) -> Vec<(&'static str, f64)> {
        [
            (AVG_CONFIDENCE, self.avg_confidence),
            (AVG_ABS_ZSCORE, self.avg_abs_zscore),
            (AVG_REALIZED_VOLATILITY, self.avg_realized_volatility),
            (ALLOCATION_ERROR_PCT, self.allocation_error_pct),
            (REALIZED_VS_TARGET_VOL_PCT, self.realized_vs_target_vol_pct),
            (SPREAD_CAPTURE_BPS, self.spread_capture_bps),
            (SECONDARY_DELAY_MS, self.secondary_delay_ms),
        ]
        .into_iter()
        .filter_map(|(name, value)| value.map(|v| (name, v)))
        .collect()
    }
}

/// A running mean.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Mean {
    sum: f64,
    count: u64,
}

impl Mean {
    fn add(&mut self, value: f64) {
        self.sum += value;
        self.count += 1;
    }

    fn get(&self) -> Option<f64> {
        (self.count > 0).then(|| self.sum / self.count as f64)
    }
}

/// Collects the samples of one run's signals (see the module docs for the formulas).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunMetricsAccumulator {
    signals: u64,
    confidence: Mean,
    abs_zscore: Mean,
    volatility: Mean,
    allocation_error_pct: Mean,
    vol_error_pct: Mean,
    spread_capture_bps: Mean,
    max_secondary_delay_ms: Option<f64>,
}

impl RunMetricsAccumulator {
    /// An empty accumulator for a new run.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one bounded signal's samples.
    pub fn observe(&mut self, signal: &Signal) {
        let m = &signal.metadata;
        self.signals += 1;
        self.confidence.add(signal.confidence);
        if let Some(z) = m.zscore() {
            self.abs_zscore.add(z.abs());
        }
        if let Some(v) = m.volatility() {
            self.volatility.add(v);
        }
        // `t != 0.0` is the reference's truthiness test (NaN passes it, as in Python).
        if let (Some(t), Some(c)) = (m.target_allocation(), m.current_allocation())
            && t != 0.0
        {
            self.allocation_error_pct
                .add((t - c).abs() / py_max(t.abs(), 1e-9) * 100.0);
        }
        if let (Some(r), Some(t)) = (m.realized_volatility(), m.target_volatility())
            && t != 0.0
        {
            self.vol_error_pct
                .add((r - t).abs() / py_max(t.abs(), 1e-9) * 100.0);
        }
        if let Some(delay) = m.secondary_delay_ms() {
            // Python's `max` keeps the first of equal values and ignores a later NaN.
            self.max_secondary_delay_ms = Some(match self.max_secondary_delay_ms {
                Some(current) => py_max(current, delay),
                None => delay,
            });
        }
        if let (Some(entry), Some(exit)) = (m.entry_spread(), m.exit_spread())
            && entry != 0.0
        {
            self.spread_capture_bps
                .add((entry - exit) / entry.abs() * 10_000.0);
        }
    }

    /// Adds several signals, in order.
    pub fn observe_all<'a>(&mut self, signals: impl IntoIterator<Item = &'a Signal>) {
        for signal in signals {
            self.observe(signal);
        }
    }

    /// The run's metrics so far.
    pub fn finish(&self) -> RunMetrics {
        RunMetrics {
            signals: self.signals,
            avg_confidence: self.confidence.get(),
            avg_abs_zscore: self.abs_zscore.get(),
            avg_realized_volatility: self.volatility.get(),
            allocation_error_pct: self.allocation_error_pct.get(),
            realized_vs_target_vol_pct: self.vol_error_pct.get(),
            spread_capture_bps: self.spread_capture_bps.get(),
            secondary_delay_ms: self.max_secondary_delay_ms,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Symbol;
    use crate::strategy::{Intent, SignalMetadata, SignalSide};

    fn signal(confidence: f64, metadata: SignalMetadata) -> Signal {
        Signal {
            symbol: Symbol::new("BTC_USDT").unwrap(),
            side: SignalSide::Buy,
            confidence,
            quantity: None,
            intent: Intent::Single,
            legs: Vec::new(),
            metadata,
        }
    }

    #[test]
    fn no_signals_no_metrics() {
        let m = RunMetricsAccumulator::new().finish();
        assert_eq!(m, RunMetrics::default());
        assert!(m.entries().is_empty());
        assert_eq!(serde_json::to_string(&m).unwrap(), r#"{"signals":0}"#);
    }

    #[test]
    fn each_metric_from_its_metadata() {
        let md = SignalMetadata::default;
        type Case = (&'static str, Vec<Signal>, Vec<(&'static str, f64)>);
        let cases: Vec<Case> = vec![
            (
                "confidence only",
                vec![signal(0.5, md()), signal(1.0, md())],
                vec![(AVG_CONFIDENCE, 0.75)],
            ),
            (
                "z-scores and volatility",
                vec![
                    signal(1.0, md().with_zscore(-2.0).with_volatility(0.01)),
                    signal(1.0, md().with_zscore(1.0).with_volatility(0.03)),
                ],
                vec![
                    (AVG_CONFIDENCE, 1.0),
                    (AVG_ABS_ZSCORE, 1.5),
                    (AVG_REALIZED_VOLATILITY, 0.02),
                ],
            ),
            (
                "allocation error: |0.5 − 0.4| / 0.5 = 20 %; zero target skipped",
                vec![
                    signal(
                        0.2,
                        md().with_target_allocation(0.5)
                            .with_current_allocation(0.4),
                    ),
                    signal(
                        0.2,
                        md().with_target_allocation(0.0)
                            .with_current_allocation(0.4),
                    ),
                    signal(0.2, md().with_target_allocation(0.5)),
                ],
                vec![
                    (AVG_CONFIDENCE, 0.20000000000000004),
                    (ALLOCATION_ERROR_PCT, 19.999999999999996),
                ],
            ),
            (
                "vol error: |0.15 − 0.1| / 0.1 = 50 %; zero target skipped",
                vec![
                    signal(
                        1.0,
                        md().with_realized_volatility(0.15)
                            .with_target_volatility(0.1),
                    ),
                    signal(
                        1.0,
                        md().with_realized_volatility(0.15)
                            .with_target_volatility(0.0),
                    ),
                ],
                vec![
                    (AVG_CONFIDENCE, 1.0),
                    (REALIZED_VS_TARGET_VOL_PCT, 49.999999999999986),
                ],
            ),
            (
                "spread capture: entries alone and zero entries are skipped",
                vec![
                    signal(1.0, md().with_entry_spread(0.002)),
                    signal(1.0, md().with_entry_spread(0.002).with_exit_spread(0.0005)),
                    signal(1.0, md().with_entry_spread(0.0).with_exit_spread(0.0005)),
                ],
                vec![(AVG_CONFIDENCE, 1.0), (SPREAD_CAPTURE_BPS, 7500.0)],
            ),
            (
                "secondary delay is the max, zero included",
                vec![
                    signal(1.0, md().with_secondary_delay_ms(0.0)),
                    signal(1.0, md().with_secondary_delay_ms(420.0)),
                    signal(1.0, md().with_secondary_delay_ms(35.0)),
                ],
                vec![(AVG_CONFIDENCE, 1.0), (SECONDARY_DELAY_MS, 420.0)],
            ),
        ];
        for (name, signals, want) in cases {
            let mut acc = RunMetricsAccumulator::new();
            acc.observe_all(&signals);
            let m = acc.finish();
            assert_eq!(m.signals, signals.len() as u64, "{name}");
            assert_eq!(m.entries(), want, "{name}");
        }
    }

    #[test]
    fn entries_keep_a_fixed_order_and_serialise_only_present_metrics() {
        let mut acc = RunMetricsAccumulator::new();
        acc.observe(&signal(
            0.5,
            SignalMetadata::default()
                .with_secondary_delay_ms(10.0)
                .with_zscore(2.0),
        ));
        let m = acc.finish();
        let names: Vec<_> = m.entries().into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, [AVG_CONFIDENCE, AVG_ABS_ZSCORE, SECONDARY_DELAY_MS]);
        assert_eq!(
            serde_json::to_string(&m).unwrap(),
            r#"{"signals":1,"avg_confidence":0.5,"avg_abs_zscore":2.0,"secondary_delay_ms":10.0}"#
        );
    }
}
