//! The metrics store: every sample the scheduler recorded, one series per metric and label
//! set, over simulated time.
//!
//! The scheduler calls [`MetricsStore::record_run`] after each run with the §3.8 payload; each
//! payload key `k` becomes a sample of `bot_core_multi_strategy_<k>{schedule="<name>"}`. A
//! scenario is hours of simulated time at a 15 s – 15 min cadence, so the full history is
//! kept: alert rules read windows of it ([`Series::window`], a binary search), the exposition
//! reads the latest value ([`Series::latest`]).

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};

use crate::domain::{SimDuration, SimTime};

/// The prefix every Stage4 multi-strategy metric carries in Prometheus.
pub const NAMESPACE: &str = "bot_core_multi_strategy_";

/// The label naming the schedule a sample belongs to.
pub const SCHEDULE_LABEL: &str = "schedule";

/// Payload keys (metric names without [`NAMESPACE`]) the scheduler and the dashboards use.
pub mod names {
    /// Signals emitted by the last run, after signal limits (`payload.signals`).
    pub const SIGNALS: &str = "signals";
    /// Duration of the last run in milliseconds (`payload.latency_ms`).
    pub const LATENCY_MS: &str = "latency_ms";
    /// How late the last run started against its cadence, in seconds. The reference only
    /// logged run time against `max_drift_seconds`; we export real lateness (§13 item 12).
    pub const DRIFT_SECONDS: &str = "drift_seconds";
    /// Signal cap before allocator and governor factors.
    pub const BASE_MAX_SIGNALS: &str = "base_max_signals";
    /// Signal cap in force for the last run.
    pub const ACTIVE_MAX_SIGNALS: &str = "active_max_signals";
    /// Portfolio weight of the schedule.
    pub const PORTFOLIO_WEIGHT: &str = "portfolio_weight";
    /// Target portfolio weight of the schedule.
    pub const PORTFOLIO_WEIGHT_TARGET: &str = "portfolio_weight_target";
    /// Signal factor from the portfolio weight.
    pub const PORTFOLIO_SIGNAL_FACTOR: &str = "portfolio_signal_factor";
    /// Signal factor imposed by the portfolio governor.
    pub const GOVERNOR_SIGNAL_FACTOR: &str = "governor_signal_factor";
    /// Signal cap imposed by the portfolio governor.
    pub const GOVERNOR_MAX_SIGNALS: &str = "governor_max_signals";
    /// Signal factor from the capital allocator.
    pub const ALLOCATOR_SIGNAL_FACTOR: &str = "allocator_signal_factor";
    /// Allocator weight target.
    pub const ALLOCATOR_WEIGHT_TARGET: &str = "allocator_weight_target";
    /// Schedule priority (higher runs first).
    pub const PRIORITY: &str = "priority";
    /// Failovers so far.
    pub const FAILOVER_COUNT: &str = "failover_count";
    /// 1 while a fallback schedule stands in for this one.
    pub const ACTIVE_FALLBACK_INDICATOR: &str = "active_fallback_indicator";
    /// 1 while the schedule's trading window is open.
    pub const WINDOW_ACTIVE: &str = "window_active";
    /// Mean signal confidence of the last run.
    pub const AVG_CONFIDENCE: &str = "avg_confidence";
    /// Mean |z-score| of mean-reversion signals (§3.7).
    pub const AVG_ABS_ZSCORE: &str = "avg_abs_zscore";
    /// Mean realised volatility seen by mean-reversion signals (§3.7).
    pub const AVG_REALIZED_VOLATILITY: &str = "avg_realized_volatility";
    /// Mean |target − current| allocation error of volatility-targeting signals, percent.
    pub const ALLOCATION_ERROR_PCT: &str = "allocation_error_pct";
    /// Mean |realised − target| volatility error, percent of target.
    pub const REALIZED_VS_TARGET_VOL_PCT: &str = "realized_vs_target_vol_pct";
    /// Worst secondary-venue quote delay of arbitrage signals, milliseconds (run maximum).
    pub const SECONDARY_DELAY_MS: &str = "secondary_delay_ms";
    /// Mean spread captured by arbitrage exits, basis points.
    pub const SPREAD_CAPTURE_BPS: &str = "spread_capture_bps";
    /// 1 while the schedule is suspended.
    pub const SUSPENDED: &str = "suspended";
    /// Portfolio PnL drawdown from its peak, percent; negative in a drawdown. Nothing in the
    /// reference produces it (§13 item 11); the dashboard and the drawdown alert read it.
    pub const PNL_DRAWDOWN_PCT: &str = "pnl_drawdown_pct";
    /// Deviation of realised risk exposure from target, percent (dashboard only, §13 item 11).
    pub const RISK_EXPOSURE_DEVIATION_PCT: &str = "risk_exposure_deviation_pct";
}

/// One-line help for the metrics we know, by payload key; used for `# HELP` lines.
pub fn help_for(key: &str) -> Option<&'static str> {
    use names::*;
    Some(match key {
        SIGNALS => "Signals emitted by the schedule's last run, after signal limits.",
        LATENCY_MS => "Duration of the schedule's last run in milliseconds.",
        DRIFT_SECONDS => "How late the schedule's last run started against its cadence, seconds.",
        BASE_MAX_SIGNALS => "Signal cap of the schedule before allocator and governor factors.",
        ACTIVE_MAX_SIGNALS => "Signal cap in force for the schedule's last run.",
        PORTFOLIO_WEIGHT => "Portfolio weight of the schedule.",
        PORTFOLIO_WEIGHT_TARGET => "Target portfolio weight of the schedule.",
        PORTFOLIO_SIGNAL_FACTOR => "Signal factor derived from the portfolio weight.",
        GOVERNOR_SIGNAL_FACTOR => "Signal factor imposed by the portfolio governor.",
        GOVERNOR_MAX_SIGNALS => "Signal cap imposed by the portfolio governor.",
        ALLOCATOR_SIGNAL_FACTOR => "Signal factor derived from the capital allocator.",
        ALLOCATOR_WEIGHT_TARGET => "Capital allocator weight target of the schedule.",
        PRIORITY => "Schedule priority; higher runs first.",
        FAILOVER_COUNT => "Failovers of the schedule so far.",
        ACTIVE_FALLBACK_INDICATOR => "1 while a fallback schedule stands in for this one.",
        WINDOW_ACTIVE => "1 while the schedule's trading window is open.",
        AVG_CONFIDENCE => "Mean signal confidence of the schedule's last run.",
        AVG_ABS_ZSCORE => "Mean absolute z-score of mean-reversion signals in the last run.",
        AVG_REALIZED_VOLATILITY => {
            "Mean realised volatility of mean-reversion signals in the last run."
        }
        ALLOCATION_ERROR_PCT => "Mean allocation error of volatility-targeting signals, percent.",
        REALIZED_VS_TARGET_VOL_PCT => {
            "Mean realised-vs-target volatility error, percent of target."
        }
        SECONDARY_DELAY_MS => {
            "Worst secondary-venue quote delay of arbitrage signals, milliseconds."
        }
        SPREAD_CAPTURE_BPS => "Mean spread captured by arbitrage exits, basis points.",
        SUSPENDED => "1 while the schedule is suspended.",
        PNL_DRAWDOWN_PCT => "PnL drawdown from the peak, percent (negative in a drawdown).",
        RISK_EXPOSURE_DEVIATION_PCT => "Deviation of realised risk exposure from target, percent.",
        _ => return None,
    })
}

/// Why a metric, label or sample was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StoreError {
    /// Not a Prometheus metric name (`[a-zA-Z_:][a-zA-Z0-9_:]*`).
    #[error("`{0}` is not a valid Prometheus metric name (expected [a-zA-Z_:][a-zA-Z0-9_:]*)")]
    BadMetricName(String),
    /// Not a Prometheus label name, or a reserved one (`__…`).
    #[error(
        "`{0}` is not a valid Prometheus label name (expected [a-zA-Z_][a-zA-Z0-9_]*, not starting with __)"
    )]
    BadLabelName(String),
    /// A sample older than the newest one already in its series.
    #[error(
        "sample for {series} at {at} is older than the newest sample ({newest}); record in time order"
    )]
    OutOfOrder {
        /// The series, in selector form.
        series: String,
        /// Time of the refused sample.
        at: SimTime,
        /// Time of the newest sample already stored.
        newest: SimTime,
    },
    /// A scrape interval of zero.
    #[error("the scrape interval must be longer than zero")]
    ZeroInterval,
}

/// A validated Prometheus metric name (the full name, namespace included).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MetricName(String);

impl MetricName {
    /// Validates a full metric name.
    pub fn new(name: impl Into<String>) -> Result<MetricName, StoreError> {
        let name = name.into();
        let mut bytes = name.bytes();
        let first_ok = bytes
            .next()
            .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_' || b == b':');
        if first_ok && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':') {
            Ok(MetricName(name))
        } else {
            Err(StoreError::BadMetricName(name))
        }
    }

    /// `bot_core_multi_strategy_<key>` for a payload key.
    pub fn namespaced(key: &str) -> Result<MetricName, StoreError> {
        MetricName::new(format!("{NAMESPACE}{key}"))
    }

    /// The full name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The payload key: the name without [`NAMESPACE`], when it carries it.
    pub fn key(&self) -> Option<&str> {
        self.0.strip_prefix(NAMESPACE)
    }
}

impl fmt::Display for MetricName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for MetricName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MetricName({})", self.0)
    }
}

/// True for a Prometheus label name users may set (`[a-zA-Z_][a-zA-Z0-9_]*`, no `__` prefix).
pub fn is_valid_label_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    let first_ok = bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_');
    first_ok && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_') && !name.starts_with("__")
}

/// A set of labels, ordered by name (so it prints and compares deterministically).
/// Serialises as a JSON object in name order.
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct LabelSet(BTreeMap<String, String>);

impl LabelSet {
    /// No labels.
    pub fn new() -> LabelSet {
        LabelSet(BTreeMap::new())
    }

    /// `{schedule="<name>"}`.
    pub fn schedule(name: &str) -> LabelSet {
        let mut set = LabelSet::new();
        set.0.insert(SCHEDULE_LABEL.to_owned(), name.to_owned());
        set
    }

    /// Builds a set from pairs, validating every name.
    pub fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<LabelSet, StoreError> {
        let mut set = LabelSet::new();
        for (name, value) in pairs {
            set.insert(name, value)?;
        }
        Ok(set)
    }

    /// Sets one label, replacing any previous value.
    pub fn insert(&mut self, name: &str, value: &str) -> Result<(), StoreError> {
        if !is_valid_label_name(name) {
            return Err(StoreError::BadLabelName(name.to_owned()));
        }
        self.0.insert(name.to_owned(), value.to_owned());
        Ok(())
    }

    /// Sets a label whose name is known to be valid (rule labels already checked, `alertname`).
    pub(crate) fn insert_trusted(&mut self, name: &str, value: &str) {
        debug_assert!(!name.is_empty());
        self.0.insert(name.to_owned(), value.to_owned());
    }

    /// Removes a label, returning its value.
    pub fn remove(&mut self, name: &str) -> Option<String> {
        self.0.remove(name)
    }

    /// The value of one label.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// The value of one label, to rewrite in place (annotations re-expanded every evaluation).
    pub(crate) fn value_mut(&mut self, name: &str) -> Option<&mut String> {
        self.0.get_mut(name)
    }

    /// Labels in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// True when there are no labels.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Number of labels.
    pub fn len(&self) -> usize {
        self.0.len()
    }
}

impl fmt::Display for LabelSet {
    /// The PromQL/exposition form: `{name="value",...}` with escaped values; empty for no labels.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return Ok(());
        }
        f.write_str("{")?;
        for (i, (name, value)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(
                f,
                "{name}=\"{}\"",
                super::prometheus::escape_label_value(value)
            )?;
        }
        f.write_str("}")
    }
}

impl fmt::Debug for LabelSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LabelSet{self}")
    }
}

/// Identifies one series: metric name plus labels.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SeriesKey {
    /// Full metric name.
    pub metric: MetricName,
    /// Labels (without the metric name).
    pub labels: LabelSet,
}

impl fmt::Display for SeriesKey {
    /// Selector form, e.g. `bot_core_multi_strategy_latency_ms{schedule="core"}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.metric, self.labels)
    }
}

/// One recorded value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sample {
    /// When it was recorded.
    pub at: SimTime,
    /// The value; NaN and ±Inf are kept as Prometheus would.
    pub value: f64,
}

/// Which samples a range selector `metric[w]` evaluated at `t` sees.
///
/// Prometheus 2.x (Debian bookworm ships 2.42) selects the closed interval `[t−w, t]`;
/// Prometheus 3.0 changed it to the left-open `(t−w, t]`. A sample exactly `w` old is in
/// the window for the first and out for the second, which moves alert start and end times
/// by one scrape. Pick the one matching the Prometheus you compare against.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RangeBoundary {
    /// `[t−w, t]`: Prometheus 2.x, including the promtool in Debian bookworm.
    #[default]
    Closed,
    /// `(t−w, t]`: Prometheus 3.x.
    LeftOpen,
}

impl RangeBoundary {
    /// The semantics of a Prometheus of the given major version (2 → closed, 3+ → left-open).
    pub fn for_prometheus_major(major: u32) -> RangeBoundary {
        if major >= 3 {
            RangeBoundary::LeftOpen
        } else {
            RangeBoundary::Closed
        }
    }
}

/// The samples of one series, oldest first.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Series {
    samples: Vec<Sample>,
}

impl Series {
    /// All samples, oldest first.
    pub fn samples(&self) -> &[Sample] {
        &self.samples
    }

    /// The newest sample.
    pub fn latest(&self) -> Option<Sample> {
        self.samples.last().copied()
    }

    /// The samples a range selector of `width` evaluated at `end` sees (binary search, no copy).
    pub fn window(&self, end: SimTime, width: SimDuration, boundary: RangeBoundary) -> &[Sample] {
        let lo = match (end.checked_sub(width), boundary) {
            // The window reaches before the epoch: every sample up to `end` is in it.
            (None, _) => 0,
            (Some(start), RangeBoundary::Closed) => self.samples.partition_point(|s| s.at < start),
            (Some(start), RangeBoundary::LeftOpen) => {
                self.samples.partition_point(|s| s.at <= start)
            }
        };
        let hi = self.samples.partition_point(|s| s.at <= end);
        if hi <= lo { &[] } else { &self.samples[lo..hi] }
    }

    /// The newest sample at or before `at`.
    pub fn value_at(&self, at: SimTime) -> Option<Sample> {
        // A scrape reads the present, which is usually after the newest sample.
        if let Some(last) = self.samples.last()
            && last.at <= at
        {
            return Some(*last);
        }
        let hi = self.samples.partition_point(|s| s.at <= at);
        hi.checked_sub(1).map(|i| self.samples[i])
    }

    fn push(&mut self, key: &SeriesKey, sample: Sample) -> Result<(), StoreError> {
        match self.samples.last_mut() {
            Some(last) if sample.at < last.at => Err(StoreError::OutOfOrder {
                series: key.to_string(),
                at: sample.at,
                newest: last.at,
            }),
            // A second run at the same instant replaces the first: a gauge has one value
            // per instant, and Prometheus would only ever scrape the later one.
            Some(last) if sample.at == last.at => {
                last.value = sample.value;
                Ok(())
            }
            _ => {
                self.samples.push(sample);
                Ok(())
            }
        }
    }
}

/// The per-run telemetry payload of one schedule (§3.8): payload key → value.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TelemetryPayload {
    values: BTreeMap<String, f64>,
}

impl TelemetryPayload {
    /// An empty payload.
    pub fn new() -> TelemetryPayload {
        TelemetryPayload::default()
    }

    /// Sets one metric (payload key without the namespace, e.g. `latency_ms`).
    pub fn set(&mut self, key: &str, value: f64) -> &mut TelemetryPayload {
        self.values.insert(key.to_owned(), value);
        self
    }

    /// Builder form of [`TelemetryPayload::set`].
    pub fn with(mut self, key: &str, value: f64) -> TelemetryPayload {
        self.set(key, value);
        self
    }

    /// The value of one key.
    pub fn get(&self, key: &str) -> Option<f64> {
        self.values.get(key).copied()
    }

    /// Keys and values in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, f64)> + Clone {
        self.values.iter().map(|(k, v)| (k.as_str(), *v))
    }

    /// True when nothing was set.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

/// Every series recorded during a run.
///
/// Series live in slots, in creation order, behind an index ordered by key; everything a
/// caller can see goes through the index, so it sees key order. Two caches spare the hot
/// paths their key lookups, and both are checked before use: [`MetricsStore::record_run`]
/// remembers, per schedule, the slot of every payload key it recorded, and a store that is
/// scraped into remembers, per slot of its source, the slot it scraped that series into.
///
/// A slot never changes its key once created, so a scrape link stays right for as long as
/// it is used with the same source; every store (a clone included) carries an identity of
/// its own, and a target scraped from a different source drops its links.
pub struct MetricsStore {
    /// This store's identity as a scrape source (see [`fresh_store_id`]).
    id: u64,
    slots: Vec<(SeriesKey, Series)>,
    index: BTreeMap<SeriesKey, usize>,
    /// Schedule → (payload key, slot) of every key it recorded, in key order.
    run_slots: BTreeMap<String, Vec<(String, usize)>>,
    /// The slots of the run being recorded (kept to reuse its allocation).
    scratch_slots: Vec<usize>,
    /// As a scrape target: source slot → the slot that series is scraped into here.
    scrape_links: Vec<Option<usize>>,
    /// The identity of the source `scrape_links` belong to.
    links_source: Option<u64>,
}

/// Identities of stores as scrape sources. Only compared for equality within one process
/// (never printed, never stored), so which store gets which number changes no output.
static NEXT_STORE_ID: AtomicU64 = AtomicU64::new(0);

/// An identity no other store of this process has.
fn fresh_store_id() -> u64 {
    NEXT_STORE_ID.fetch_add(1, AtomicOrdering::Relaxed)
}

impl Default for MetricsStore {
    fn default() -> MetricsStore {
        MetricsStore {
            id: fresh_store_id(),
            slots: Vec::new(),
            index: BTreeMap::new(),
            run_slots: BTreeMap::new(),
            scratch_slots: Vec::new(),
            scrape_links: Vec::new(),
            links_source: None,
        }
    }
}

impl Clone for MetricsStore {
    /// A copy with its own identity: the two grow apart from here, so a target linked to one
    /// of them must not trust its links for the other.
    fn clone(&self) -> MetricsStore {
        MetricsStore {
            id: fresh_store_id(),
            slots: self.slots.clone(),
            index: self.index.clone(),
            run_slots: self.run_slots.clone(),
            scratch_slots: Vec::new(),
            scrape_links: self.scrape_links.clone(),
            links_source: self.links_source,
        }
    }
}

impl PartialEq for MetricsStore {
    /// Equal when both hold the same series with the same samples (the caches do not count).
    fn eq(&self, other: &MetricsStore) -> bool {
        self.len() == other.len() && self.series().eq(other.series())
    }
}

impl fmt::Debug for MetricsStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        /// The series in key order, printed as a map.
        struct InKeyOrder<'a>(&'a MetricsStore);
        impl fmt::Debug for InKeyOrder<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_map().entries(self.0.series()).finish()
            }
        }
        f.debug_struct("MetricsStore")
            .field("series", &InKeyOrder(self))
            .finish()
    }
}

impl MetricsStore {
    /// An empty store.
    pub fn new() -> MetricsStore {
        MetricsStore::default()
    }

    /// Records one run of `schedule` at `at`: every payload key `k` becomes a sample of
    /// `bot_core_multi_strategy_<k>{schedule="<schedule>"}`. Nothing is stored if any key is
    /// not a valid metric name or any sample is out of order.
    pub fn record_run(
        &mut self,
        schedule: &str,
        at: SimTime,
        payload: &TelemetryPayload,
    ) -> Result<(), StoreError> {
        self.record_run_entries(schedule, at, payload.iter())
    }

    /// [`MetricsStore::record_run`] for a payload given as its (key, value) pairs in strictly
    /// increasing key order (the order a [`TelemetryPayload`] iterates in), so a caller that
    /// holds the values elsewhere need not build the map. Records exactly what `record_run`
    /// records for the payload holding these pairs.
    ///
    /// Pairs out of order or repeated are a bug in the caller: debug builds panic on them.
    pub fn record_run_entries<'k, I>(
        &mut self,
        schedule: &str,
        at: SimTime,
        entries: I,
    ) -> Result<(), StoreError>
    where
        I: Iterator<Item = (&'k str, f64)> + Clone,
    {
        debug_assert!(
            {
                let mut keys = entries.clone().map(|(k, _)| k);
                let mut prev = keys.next();
                keys.all(|k| prev.replace(k).is_some_and(|p| p < k))
            },
            "run entries are in strictly increasing key order"
        );
        // A schedule's runs carry keys it has recorded before: when every key is known, every
        // name is known valid and every series exists, so only the order is checked.
        let mut slots = std::mem::take(&mut self.scratch_slots);
        slots.clear();
        // An empty payload has nothing to look up, known schedule or not.
        let mut all_known = entries.clone().next().is_none();
        if let Some(known) = self.run_slots.get(schedule) {
            // Both are in key order: one merge walk finds every slot, comparing each pair of
            // keys once.
            let mut known = known.iter();
            all_known = true;
            'payload: for (key, _) in entries.clone() {
                for (k, slot) in known.by_ref() {
                    match k.as_str().cmp(key) {
                        Ordering::Less => {}
                        Ordering::Equal => {
                            slots.push(*slot);
                            continue 'payload;
                        }
                        Ordering::Greater => break,
                    }
                }
                all_known = false;
                break;
            }
        }
        let result = if all_known {
            self.record_known(at, entries, &slots)
        } else {
            self.record_new(schedule, at, entries)
        };
        self.scratch_slots = slots;
        result
    }

    /// [`MetricsStore::record_run_entries`] when every key has a slot (`slots`, in entry
    /// order).
    fn record_known<'k>(
        &mut self,
        at: SimTime,
        entries: impl Iterator<Item = (&'k str, f64)>,
        slots: &[usize],
    ) -> Result<(), StoreError> {
        for slot in slots {
            let (key, series) = &self.slots[*slot];
            if let Some(newest) = series.latest()
                && at < newest.at
            {
                return Err(StoreError::OutOfOrder {
                    series: key.to_string(),
                    at,
                    newest: newest.at,
                });
            }
        }
        for (slot, (_, value)) in slots.iter().zip(entries) {
            let (key, series) = &mut self.slots[*slot];
            series.push(key, Sample { at, value })?;
        }
        Ok(())
    }

    /// [`MetricsStore::record_run_entries`] with a key the schedule never recorded: validates
    /// every name, then remembers the slots of the keys for the next runs.
    fn record_new<'k>(
        &mut self,
        schedule: &str,
        at: SimTime,
        entries: impl Iterator<Item = (&'k str, f64)> + Clone,
    ) -> Result<(), StoreError> {
        let labels = LabelSet::schedule(schedule);
        let mut keys = Vec::new();
        for (key, value) in entries.clone() {
            let series = SeriesKey {
                metric: MetricName::namespaced(key)?,
                labels: labels.clone(),
            };
            if let Some(newest) = self.get_key(&series).and_then(Series::latest)
                && at < newest.at
            {
                return Err(StoreError::OutOfOrder {
                    series: series.to_string(),
                    at,
                    newest: newest.at,
                });
            }
            keys.push((series, value));
        }
        let mut known = self.run_slots.remove(schedule).unwrap_or_default();
        for ((series, value), (key, _)) in keys.into_iter().zip(entries) {
            let slot = self.slot_of(series);
            let (key_of_slot, stored) = &mut self.slots[slot];
            stored.push(key_of_slot, Sample { at, value })?;
            if let Err(at) = known.binary_search_by(|(k, _)| k.as_str().cmp(key)) {
                known.insert(at, (key.to_owned(), slot));
            }
        }
        self.run_slots.insert(schedule.to_owned(), known);
        Ok(())
    }

    /// Records one sample of any series.
    pub fn record(
        &mut self,
        metric: &MetricName,
        labels: &LabelSet,
        at: SimTime,
        value: f64,
    ) -> Result<(), StoreError> {
        let key = SeriesKey {
            metric: metric.clone(),
            labels: labels.clone(),
        };
        let slot = self.slot_of(key);
        let (key, series) = &mut self.slots[slot];
        series.push(key, Sample { at, value })
    }

    /// The slot of series `key`, created empty if it is new.
    fn slot_of(&mut self, key: SeriesKey) -> usize {
        if let Some(&slot) = self.index.get(&key) {
            return slot;
        }
        let slot = self.slots.len();
        self.index.insert(key.clone(), slot);
        self.slots.push((key, Series::default()));
        slot
    }

    fn get_key(&self, key: &SeriesKey) -> Option<&Series> {
        self.index.get(key).map(|&slot| &self.slots[slot].1)
    }

    /// Every series, ordered by metric name then labels.
    pub fn series(&self) -> impl Iterator<Item = (&SeriesKey, &Series)> {
        self.index
            .iter()
            .map(|(key, &slot)| (key, &self.slots[slot].1))
    }

    /// The series of one metric, ordered by labels.
    pub fn series_of<'a>(
        &'a self,
        metric: &'a MetricName,
    ) -> impl Iterator<Item = (&'a SeriesKey, &'a Series)> + 'a {
        let from = SeriesKey {
            metric: metric.clone(),
            labels: LabelSet::new(),
        };
        self.index
            .range(from..)
            .take_while(move |(key, _)| &key.metric == metric)
            .map(|(key, &slot)| (key, &self.slots[slot].1))
    }

    /// One series.
    pub fn get(&self, metric: &MetricName, labels: &LabelSet) -> Option<&Series> {
        self.get_key(&SeriesKey {
            metric: metric.clone(),
            labels: labels.clone(),
        })
    }

    /// The newest value of one series.
    pub fn latest(&self, metric: &MetricName, labels: &LabelSet) -> Option<Sample> {
        self.get(metric, labels).and_then(Series::latest)
    }

    /// Number of series.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// One scrape at `at`: every series' latest value at or before `at`, recorded into
    /// `target` at `at` (what a Prometheus scraping this store's exporter would store).
    pub fn scrape_into(&self, at: SimTime, target: &mut MetricsStore) -> Result<(), StoreError> {
        for (key, &slot) in &self.index {
            if let Some(sample) = self.slots[slot].1.value_at(at) {
                target.record_scraped(self.id, slot, key, at, sample.value)?;
            }
        }
        Ok(())
    }

    /// Records a scraped sample of series `key`, which sits in slot `source_slot` of store
    /// `source` (its identity). The link from that slot to ours is remembered, and trusted
    /// only while the links belong to the same source: the source's slot keeps its key, and
    /// so does ours (a store scraped from several sources stays right).
    fn record_scraped(
        &mut self,
        source: u64,
        source_slot: usize,
        key: &SeriesKey,
        at: SimTime,
        value: f64,
    ) -> Result<(), StoreError> {
        if self.links_source != Some(source) {
            self.scrape_links.clear();
            self.links_source = Some(source);
        }
        let linked = self.scrape_links.get(source_slot).copied().flatten();
        debug_assert!(linked.is_none_or(|slot| self.slots[slot].0 == *key));
        let slot = match linked {
            Some(slot) => slot,
            None => {
                let slot = self.slot_of(key.clone());
                if self.scrape_links.len() <= source_slot {
                    self.scrape_links.resize(source_slot + 1, None);
                }
                self.scrape_links[source_slot] = Some(slot);
                slot
            }
        };
        let (key, series) = &mut self.slots[slot];
        series.push(key, Sample { at, value })
    }

    /// What a Prometheus scraping the exposition every `interval` from `origin` to `until`
    /// (inclusive) would store: at each scrape, the newest value recorded at or before it,
    /// for every series that has one. Runs faster than the scrape lose samples, slower ones
    /// repeat; that is what the alert rules see in production.
    pub fn scraped(
        &self,
        origin: SimTime,
        interval: SimDuration,
        until: SimTime,
    ) -> Result<MetricsStore, StoreError> {
        if interval.is_zero() {
            return Err(StoreError::ZeroInterval);
        }
        let mut out = MetricsStore::new();
        for (key, series) in self.series() {
            let mut scraped = Series::default();
            let mut at = origin;
            while at <= until {
                if let Some(sample) = series.value_at(at) {
                    scraped.samples.push(Sample {
                        at,
                        value: sample.value,
                    });
                }
                match at.checked_add(interval) {
                    Some(next) => at = next,
                    None => break,
                }
            }
            if !scraped.samples.is_empty() {
                let slot = out.slot_of(key.clone());
                out.slots[slot].1 = scraped;
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(secs: u64) -> SimTime {
        SimTime::from_unix_secs(1_800_000_000 + secs)
    }

    fn series(points: &[(u64, f64)]) -> (MetricsStore, MetricName, LabelSet) {
        let mut store = MetricsStore::new();
        let name = MetricName::namespaced(names::LATENCY_MS).unwrap();
        let labels = LabelSet::schedule("core");
        for &(s, v) in points {
            store.record(&name, &labels, t(s), v).unwrap();
        }
        (store, name, labels)
    }

    #[test]
    fn names_are_validated() {
        for ok in ["a", "_x", "bot_core_multi_strategy_latency_ms", "a:b_1"] {
            assert!(MetricName::new(ok).is_ok(), "{ok}");
        }
        for bad in ["", "1a", "a-b", "a b", "ä"] {
            assert_eq!(
                MetricName::new(bad),
                Err(StoreError::BadMetricName(bad.into())),
                "{bad}"
            );
        }
        for (label, ok) in [
            ("schedule", true),
            ("_x", true),
            ("a1", true),
            ("__name__", false),
            ("1a", false),
            ("a:b", false),
            ("", false),
        ] {
            assert_eq!(is_valid_label_name(label), ok, "{label}");
        }
    }

    #[test]
    fn window_boundaries_closed_and_left_open() {
        let (store, name, labels) = series(&[(0, 1.0), (15, 2.0), (30, 3.0), (45, 4.0), (60, 5.0)]);
        let s = store.get(&name, &labels).unwrap();
        let values = |end, width, b| -> Vec<f64> {
            s.window(t(end), SimDuration::from_secs(width), b)
                .iter()
                .map(|x| x.value)
                .collect()
        };
        // (end, width, closed, left-open)
        let cases: [(u64, u64, &[f64], &[f64]); 6] = [
            (60, 30, &[3.0, 4.0, 5.0], &[4.0, 5.0]),
            (50, 30, &[3.0, 4.0], &[3.0, 4.0]),
            (0, 0, &[1.0], &[]),
            (75, 10, &[], &[]),
            (90, 30, &[5.0], &[]),
            (
                60,
                120,
                &[1.0, 2.0, 3.0, 4.0, 5.0],
                &[1.0, 2.0, 3.0, 4.0, 5.0],
            ),
        ];
        for (end, width, closed, open) in cases {
            assert_eq!(
                values(end, width, RangeBoundary::Closed),
                closed,
                "closed end={end} w={width}"
            );
            assert_eq!(
                values(end, width, RangeBoundary::LeftOpen),
                open,
                "open end={end} w={width}"
            );
        }
        // A window reaching before the epoch includes everything up to its end.
        let early = s.window(
            SimTime::from_unix_secs(5),
            SimDuration::from_days(365 * 100),
            RangeBoundary::LeftOpen,
        );
        assert!(early.is_empty());
        let all = s.window(t(60), SimDuration::MAX, RangeBoundary::LeftOpen);
        assert_eq!(all.len(), 5);
    }

    #[test]
    fn record_run_namespaces_keys_and_labels_the_schedule() {
        let mut store = MetricsStore::new();
        let payload = TelemetryPayload::new()
            .with(names::SIGNALS, 3.0)
            .with(names::LATENCY_MS, 12.5);
        store
            .record_run("core_multi_pipeline", t(0), &payload)
            .unwrap();
        let keys: Vec<String> = store.series().map(|(k, _)| k.to_string()).collect();
        assert_eq!(
            keys,
            [
                "bot_core_multi_strategy_latency_ms{schedule=\"core_multi_pipeline\"}",
                "bot_core_multi_strategy_signals{schedule=\"core_multi_pipeline\"}",
            ]
        );
    }

    #[test]
    fn out_of_order_is_refused_whole_and_same_instant_replaces() {
        let mut store = MetricsStore::new();
        let first = TelemetryPayload::new().with(names::SIGNALS, 1.0);
        store.record_run("a", t(30), &first).unwrap();
        let both = TelemetryPayload::new()
            .with(names::LATENCY_MS, 5.0)
            .with(names::SIGNALS, 2.0);
        let err = store.record_run("a", t(15), &both).unwrap_err();
        assert!(matches!(err, StoreError::OutOfOrder { .. }), "{err}");
        assert!(
            err.to_string()
                .contains("bot_core_multi_strategy_signals{schedule=\"a\"}")
        );
        // Nothing of the refused payload was stored.
        assert_eq!(store.len(), 1);
        store.record_run("a", t(30), &both).unwrap();
        let signals = MetricName::namespaced(names::SIGNALS).unwrap();
        let s = store.get(&signals, &LabelSet::schedule("a")).unwrap();
        assert_eq!(
            s.samples(),
            &[Sample {
                at: t(30),
                value: 2.0
            }]
        );
        let bad = TelemetryPayload::new().with("cost-bps", 1.0);
        assert_eq!(
            store.record_run("a", t(45), &bad),
            Err(StoreError::BadMetricName(
                "bot_core_multi_strategy_cost-bps".into()
            ))
        );
    }

    #[test]
    fn series_of_selects_one_metric_in_label_order() {
        let mut store = MetricsStore::new();
        for sched in ["b", "a", "c"] {
            let p = TelemetryPayload::new()
                .with(names::SIGNALS, 1.0)
                .with(names::LATENCY_MS, 2.0)
                .with(names::SPREAD_CAPTURE_BPS, 3.0);
            store.record_run(sched, t(0), &p).unwrap();
        }
        let latency = MetricName::namespaced(names::LATENCY_MS).unwrap();
        let got: Vec<&str> = store
            .series_of(&latency)
            .map(|(k, _)| k.labels.get("schedule").unwrap())
            .collect();
        assert_eq!(got, ["a", "b", "c"]);
        let none = MetricName::namespaced("nothing").unwrap();
        assert_eq!(store.series_of(&none).count(), 0);
    }

    #[test]
    fn scraping_repeats_and_drops_like_prometheus() {
        let (store, name, labels) = series(&[(10, 1.0), (20, 2.0), (25, 3.0), (70, 4.0)]);
        let scraped = store
            .scraped(t(0), SimDuration::from_secs(15), t(75))
            .unwrap();
        let got: Vec<(u64, f64)> = scraped
            .get(&name, &labels)
            .unwrap()
            .samples()
            .iter()
            .map(|s| (s.at.unix_secs() - 1_800_000_000, s.value))
            .collect();
        assert_eq!(got, [(15, 1.0), (30, 3.0), (45, 3.0), (60, 3.0), (75, 4.0)]);
        assert_eq!(
            store.scraped(t(0), SimDuration::ZERO, t(1)),
            Err(StoreError::ZeroInterval)
        );
    }

    /// The store as a plain ordered map, as it was before slots and caches: the oracle for
    /// the cached paths.
    #[derive(Default)]
    struct ReferenceStore(BTreeMap<SeriesKey, Vec<Sample>>);

    impl ReferenceStore {
        fn record_run(
            &mut self,
            schedule: &str,
            at: SimTime,
            payload: &TelemetryPayload,
        ) -> Result<(), StoreError> {
            let mut keys = Vec::new();
            for (key, value) in payload.iter() {
                let series = SeriesKey {
                    metric: MetricName::namespaced(key)?,
                    labels: LabelSet::schedule(schedule),
                };
                if let Some(newest) = self.0.get(&series).and_then(|s| s.last())
                    && at < newest.at
                {
                    return Err(StoreError::OutOfOrder {
                        series: series.to_string(),
                        at,
                        newest: newest.at,
                    });
                }
                keys.push((series, value));
            }
            for (series, value) in keys {
                self.push(series, Sample { at, value })?;
            }
            Ok(())
        }

        fn push(&mut self, key: SeriesKey, sample: Sample) -> Result<(), StoreError> {
            let samples = self.0.entry(key.clone()).or_default();
            match samples.last_mut() {
                Some(last) if sample.at < last.at => Err(StoreError::OutOfOrder {
                    series: key.to_string(),
                    at: sample.at,
                    newest: last.at,
                }),
                Some(last) if last.at == sample.at => {
                    last.value = sample.value;
                    Ok(())
                }
                _ => {
                    samples.push(sample);
                    Ok(())
                }
            }
        }

        fn scrape_into(&self, at: SimTime, target: &mut ReferenceStore) -> Result<(), StoreError> {
            for (key, samples) in &self.0 {
                let hi = samples.partition_point(|s| s.at <= at);
                if let Some(sample) = hi.checked_sub(1).map(|i| samples[i]) {
                    target.push(key.clone(), Sample { at, ..sample })?;
                }
            }
            Ok(())
        }

        fn matches(&self, store: &MetricsStore) -> bool {
            store.len() == self.0.len()
                && store
                    .series()
                    .zip(&self.0)
                    .all(|((k, s), (rk, rs))| k == rk && s.samples() == rs.as_slice())
        }
    }

    proptest::proptest! {
        /// Cached run slots and scrape links change nothing: runs whose key sets change,
        /// invalid keys, out-of-order runs and one target scraped from two sources leave every
        /// store exactly as the plain map would, with the same errors.
        #[test]
        fn cached_paths_match_the_plain_map(
            steps in proptest::collection::vec(
                (0..3usize, 0..4usize, proptest::collection::vec(0..5usize, 0..5), 0..40u64, 0..2usize),
                1..60,
            )
        ) {
            const KEYS: [&str; 5] = [names::SIGNALS, names::LATENCY_MS, "bad-key", names::SUSPENDED, names::PRIORITY];
            let schedules = ["b", "a", "c"];
            let mut sources = [MetricsStore::new(), MetricsStore::new()];
            let mut reference_sources = [ReferenceStore::default(), ReferenceStore::default()];
            let mut target = MetricsStore::new();
            let mut reference_target = ReferenceStore::default();
            for (n, (schedule, kind, keys, secs, source)) in steps.into_iter().enumerate() {
                let at = t(secs);
                if kind == 0 {
                    let got = sources[source].scrape_into(at, &mut target);
                    let want = reference_sources[source].scrape_into(at, &mut reference_target);
                    proptest::prop_assert_eq!(got, want, "step {}", n);
                    proptest::prop_assert!(reference_target.matches(&target), "step {}", n);
                    continue;
                }
                let mut payload = TelemetryPayload::new();
                for k in keys {
                    // The "bad-key" entry only sometimes, so most runs are valid.
                    if KEYS[k] != "bad-key" || kind == 3 {
                        payload.set(KEYS[k], n as f64);
                    }
                }
                let got = sources[source].record_run(schedules[schedule], at, &payload);
                let want = reference_sources[source].record_run(schedules[schedule], at, &payload);
                proptest::prop_assert_eq!(got, want, "step {}", n);
                proptest::prop_assert!(reference_sources[source].matches(&sources[source]), "step {}", n);
            }
        }
    }

    #[test]
    fn a_clone_is_a_different_scrape_source() {
        let signals = MetricName::namespaced(names::SIGNALS).unwrap();
        let payload = TelemetryPayload::new().with(names::SIGNALS, 1.0);
        let mut a = MetricsStore::new();
        a.record_run("x", t(0), &payload).unwrap();
        let mut target = MetricsStore::new();
        a.scrape_into(t(0), &mut target).unwrap();
        // Slot 1 of the clone and slot 1 of the original hold different series.
        let mut b = a.clone();
        a.record_run("y", t(1), &payload).unwrap();
        b.record_run("z", t(1), &payload).unwrap();
        a.scrape_into(t(15), &mut target).unwrap();
        b.scrape_into(t(30), &mut target).unwrap();
        let at = |schedule: &str| -> Vec<u64> {
            target
                .get(&signals, &LabelSet::schedule(schedule))
                .map(|s| s.samples().iter().map(|p| p.at.unix_secs() % 100).collect())
                .unwrap_or_default()
        };
        assert_eq!(at("x"), [0, 15, 30]);
        assert_eq!(at("y"), [15]);
        assert_eq!(at("z"), [30]);
    }

    #[test]
    fn equality_and_debug_ignore_creation_order() {
        let a_first = TelemetryPayload::new().with(names::SIGNALS, 1.0);
        let mut one = MetricsStore::new();
        one.record_run("a", t(0), &a_first).unwrap();
        one.record_run("b", t(0), &a_first).unwrap();
        let mut other = MetricsStore::new();
        other.record_run("b", t(0), &a_first).unwrap();
        other.record_run("a", t(0), &a_first).unwrap();
        assert_eq!(one, other);
        assert_eq!(format!("{one:?}"), format!("{other:?}"));
        assert!(format!("{one:?}").starts_with("MetricsStore { series: {SeriesKey"));
        other.record_run("a", t(15), &a_first).unwrap();
        assert_ne!(one, other);
    }
}
