//! The metrics of one schedule run, under their fixed names: what a [`RunRecord`] reports as
//! telemetry and what the capital policies read back from a schedule's previous run.
//!
//! Every name a run can report is known in advance — the scheduler's bookkeeping metrics, the
//! strategy metrics of [`crate::strategy::metrics`] and `failed` — so a run's metrics are a
//! fixed array of slots with a presence mask instead of a map of owned strings: filling one
//! allocates nothing, copying one is a memory copy. [`MetricName`] lists the names in byte
//! order, so walking the slots in order yields the metrics sorted by name, exactly as the
//! `BTreeMap<String, f64>` they replace did (serialisation, logs and telemetry all see that
//! order).
//!
//! [`RunRecord`]: super::RunRecord

use std::collections::BTreeMap;

use serde::Serialize;
use serde::ser::SerializeMap;

use crate::strategy::metrics::RunMetrics;

macro_rules! metric_names {
    ($($variant:ident => $name:literal,)+) => {
        /// The name of one run metric. Variants are declared in the byte order of their
        /// names, so the derived order is the order of the names.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum MetricName {
            $(
                #[doc = concat!("`", $name, "`")]
                $variant,
            )+
        }

        impl MetricName {
            /// Every name, in byte order.
            pub const ALL: &'static [MetricName] = &[$(MetricName::$variant),+];

            /// The name as reported (`latency_ms`, …).
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(MetricName::$variant => $name,)+
                }
            }

            /// The metric called `name`, if a run can report one by that name.
            pub fn from_name(name: &str) -> Option<MetricName> {
                match name {
                    $($name => Some(MetricName::$variant),)+
                    _ => None,
                }
            }
        }
    };
}

metric_names! {
    ActiveFallbackIndicator => "active_fallback_indicator",
    ActiveMaxSignals => "active_max_signals",
    AllocationErrorPct => "allocation_error_pct",
    AllocatorSignalFactor => "allocator_signal_factor",
    AllocatorWeight => "allocator_weight",
    AllocatorWeightTarget => "allocator_weight_target",
    AvgAbsZscore => "avg_abs_zscore",
    AvgConfidence => "avg_confidence",
    AvgRealizedVolatility => "avg_realized_volatility",
    BaseMaxSignals => "base_max_signals",
    DriftSeconds => "drift_seconds",
    Failed => "failed",
    FailoverCount => "failover_count",
    GovernorMaxSignals => "governor_max_signals",
    GovernorSignalFactor => "governor_signal_factor",
    LatencyMs => "latency_ms",
    PortfolioSignalFactor => "portfolio_signal_factor",
    PortfolioWeight => "portfolio_weight",
    PortfolioWeightTarget => "portfolio_weight_target",
    Priority => "priority",
    RealizedVsTargetVolPct => "realized_vs_target_vol_pct",
    RollbackActive => "rollback_active",
    SecondaryDelayMs => "secondary_delay_ms",
    SignalLimitExpiresAt => "signal_limit_expires_at",
    SignalLimitOverride => "signal_limit_override",
    SignalLimitReason => "signal_limit_reason",
    Signals => "signals",
    SpreadCaptureBps => "spread_capture_bps",
    Suspended => "suspended",
    SuspensionRemainingSeconds => "suspension_remaining_seconds",
    SuspensionTagIndicator => "suspension_tag_indicator",
    WindowActive => "window_active",
}

/// How many names there are (one slot each).
const SLOTS: usize = MetricName::ALL.len();

// One presence bit per name.
const _: () = assert!(SLOTS <= u64::BITS as usize);

/// The metrics of one schedule run: a value for some of the [`MetricName`]s, read and
/// iterated in name order.
#[derive(Clone, Copy)]
pub struct RunTelemetry {
    /// Bit `i` set: `values[i]` holds the metric `MetricName::ALL[i]`.
    present: u64,
    values: [f64; SLOTS],
}

impl Default for RunTelemetry {
    fn default() -> Self {
        RunTelemetry {
            present: 0,
            values: [0.0; SLOTS],
        }
    }
}

impl RunTelemetry {
    /// No metrics.
    pub fn new() -> RunTelemetry {
        RunTelemetry::default()
    }

    /// Sets (or replaces) one metric.
    pub fn set(&mut self, name: MetricName, value: f64) {
        let i = name as usize;
        self.present |= 1 << i;
        self.values[i] = value;
    }

    /// Builder form of [`RunTelemetry::set`].
    pub fn with(mut self, name: MetricName, value: f64) -> RunTelemetry {
        self.set(name, value);
        self
    }

    /// The value of one metric, if the run reported it.
    pub fn get(&self, name: MetricName) -> Option<f64> {
        let i = name as usize;
        (self.present & (1 << i) != 0).then(|| self.values[i])
    }

    /// The value of the metric called `name`, if the run reported it (`None` for names no run
    /// reports).
    pub fn get_by_name(&self, name: &str) -> Option<f64> {
        MetricName::from_name(name).and_then(|m| self.get(m))
    }

    /// Whether the run reported `name`.
    pub fn contains(&self, name: MetricName) -> bool {
        self.get(name).is_some()
    }

    /// How many metrics the run reported.
    pub fn len(&self) -> usize {
        self.present.count_ones() as usize
    }

    /// True when the run reported none.
    pub fn is_empty(&self) -> bool {
        self.present == 0
    }

    /// Sets each strategy metric the run had samples for (`signals` is the scheduler's own).
    pub fn set_strategy_metrics(&mut self, m: &RunMetrics) {
        for (name, value) in [
            (MetricName::AvgConfidence, m.avg_confidence),
            (MetricName::AvgAbsZscore, m.avg_abs_zscore),
            (MetricName::AvgRealizedVolatility, m.avg_realized_volatility),
            (MetricName::AllocationErrorPct, m.allocation_error_pct),
            (
                MetricName::RealizedVsTargetVolPct,
                m.realized_vs_target_vol_pct,
            ),
            (MetricName::SpreadCaptureBps, m.spread_capture_bps),
            (MetricName::SecondaryDelayMs, m.secondary_delay_ms),
        ] {
            if let Some(v) = value {
                self.set(name, v);
            }
        }
    }

    /// The metrics reported, as (name, value), sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, f64)> + '_ {
        self.entries().map(|(m, v)| (m.as_str(), v))
    }

    /// The metrics reported, as ([`MetricName`], value), sorted by name.
    pub fn entries(&self) -> impl Iterator<Item = (MetricName, f64)> + '_ {
        MetricName::ALL
            .iter()
            .zip(&self.values)
            .enumerate()
            .filter(|(i, _)| self.present & (1 << i) != 0)
            .map(|(_, (m, v))| (*m, *v))
    }

    /// The metrics as a map of owned names (what a report or an older caller wants).
    pub fn to_map(&self) -> BTreeMap<String, f64> {
        self.iter().map(|(k, v)| (k.to_owned(), v)).collect()
    }
}

impl PartialEq for RunTelemetry {
    /// Same names, equal values (as two maps compare; slots of absent names do not count).
    fn eq(&self, other: &Self) -> bool {
        self.present == other.present && self.entries().zip(other.entries()).all(|(a, b)| a == b)
    }
}

impl std::fmt::Debug for RunTelemetry {
    /// Like the map it stands for.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl Serialize for RunTelemetry {
    /// A map sorted by name, as a `BTreeMap<String, f64>` serialises.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.len()))?;
        for (k, v) in self.iter() {
            map.serialize_entry(k, &v)?;
        }
        map.end()
    }
}

impl std::ops::Index<&str> for RunTelemetry {
    type Output = f64;

    /// The value of the metric called `name`.
    ///
    /// # Panics
    /// When the run did not report it (as indexing a map by a missing key).
    fn index(&self, name: &str) -> &f64 {
        let i = MetricName::from_name(name)
            .filter(|m| self.contains(*m))
            .unwrap_or_else(|| panic!("the run reported no metric `{name}`"));
        &self.values[i as usize]
    }
}

impl FromIterator<(MetricName, f64)> for RunTelemetry {
    /// Each metric with the last value given for it.
    fn from_iter<I: IntoIterator<Item = (MetricName, f64)>>(iter: I) -> Self {
        let mut t = RunTelemetry::new();
        for (m, v) in iter {
            t.set(m, v);
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn names_are_declared_in_byte_order_and_round_trip() {
        let names: Vec<&str> = MetricName::ALL.iter().map(|m| m.as_str()).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(names, sorted, "declaration order is the names' byte order");
        for (i, m) in MetricName::ALL.iter().enumerate() {
            assert_eq!(*m as usize, i);
            assert_eq!(MetricName::from_name(m.as_str()), Some(*m));
        }
        assert_eq!(MetricName::from_name("volatility"), None);
    }

    #[test]
    fn strategy_metric_names_are_the_strategy_modules() {
        use crate::strategy::metrics as sm;
        let all = RunMetrics {
            signals: 3,
            avg_confidence: Some(1.0),
            avg_abs_zscore: Some(2.0),
            avg_realized_volatility: Some(3.0),
            allocation_error_pct: Some(4.0),
            realized_vs_target_vol_pct: Some(5.0),
            spread_capture_bps: Some(6.0),
            secondary_delay_ms: Some(7.0),
        };
        let mut t = RunTelemetry::new();
        t.set_strategy_metrics(&all);
        let mut want: Vec<(&str, f64)> = vec![
            (sm::AVG_CONFIDENCE, 1.0),
            (sm::AVG_ABS_ZSCORE, 2.0),
            (sm::AVG_REALIZED_VOLATILITY, 3.0),
            (sm::ALLOCATION_ERROR_PCT, 4.0),
            (sm::REALIZED_VS_TARGET_VOL_PCT, 5.0),
            (sm::SPREAD_CAPTURE_BPS, 6.0),
            (sm::SECONDARY_DELAY_MS, 7.0),
        ];
        want.sort_by(|a, b| a.0.cmp(b.0));
        assert_eq!(t.iter().collect::<Vec<_>>(), want);
        assert_eq!(
            t.iter().collect::<Vec<_>>().len(),
            all.entries().len(),
            "every strategy metric has a slot"
        );
    }

    fn name() -> impl Strategy<Value = MetricName> {
        (0..SLOTS).prop_map(|i| MetricName::ALL[i])
    }

    proptest! {
        /// Setting metrics in any order gives what inserting them into a map of names gives:
        /// the same entries in the same order, the same JSON, the same lookups.
        #[test]
        fn behaves_as_a_map_of_names(
            sets in proptest::collection::vec((name(), any::<f64>()), 0..40),
        ) {
            let mut t = RunTelemetry::new();
            let mut map: BTreeMap<String, f64> = BTreeMap::new();
            for &(m, v) in &sets {
                t.set(m, v);
                map.insert(m.as_str().to_owned(), v);
            }
            let bits = |it: Vec<(String, f64)>| -> Vec<(String, u64)> {
                it.into_iter().map(|(k, v)| (k, v.to_bits())).collect()
            };
            prop_assert_eq!(
                bits(t.iter().map(|(k, v)| (k.to_owned(), v)).collect()),
                bits(map.iter().map(|(k, v)| (k.clone(), *v)).collect())
            );
            prop_assert_eq!(bits(t.to_map().into_iter().collect()), bits(map.clone().into_iter().collect()));
            prop_assert_eq!(t.len(), map.len());
            prop_assert_eq!(
                serde_json::to_string(&t).unwrap(),
                serde_json::to_string(&map).unwrap()
            );
            prop_assert_eq!(format!("{t:?}"), format!("{map:?}"));
            for m in MetricName::ALL {
                prop_assert_eq!(t.get(*m).map(f64::to_bits), map.get(m.as_str()).map(|v| v.to_bits()));
            }
            prop_assert_eq!(t.get_by_name("volatility"), None);
        }
    }

    #[test]
    fn equality_ignores_slots_of_absent_names() {
        let a = RunTelemetry::new().with(MetricName::Signals, 1.0);
        let b = RunTelemetry::new().with(MetricName::Signals, 1.0);
        assert_eq!(a, b);
        assert_ne!(a, b.with(MetricName::Failed, 1.0));
        assert_ne!(a, RunTelemetry::new().with(MetricName::Signals, 2.0));
        assert_eq!(a["signals"], 1.0);
    }
}
