//! Telemetry: what the scheduler reports after each run, how it is judged, and how it is
//! handed to Prometheus and Grafana.
//!
//! - [`metrics`]: the [`MetricsStore`] of `bot_core_multi_strategy_<metric>{schedule=…}`
//!   samples over simulated time ([`MetricsStore::record_run`] takes the §3.8 payload).
//! - [`prometheus`]: text exposition (format 0.0.4) of the latest values, and the float,
//!   label and duration formatting Prometheus reads back exactly.
//! - [`thresholds`]: per-risk-profile warning/critical levels (§12.1) and [`evaluate`].
//! - [`rules`]: the five reference alert rules as data ([`RuleGroup::stage4`]) and the
//!   Prometheus rules file.
//! - [`alerts`]: the [`AlertEvaluator`]: Prometheus alerting semantics (range functions,
//!   `for`, 30 s grid) on simulated time, emitting typed [`AlertTransition`]s.
//! - [`dashboard`]: the Grafana dashboard "Stage4 – Multi-Strategy Operations".
//! - [`promtool`]: `promtool test rules` files built from a run and our transitions, so
//!   Prometheus itself checks the evaluator.
//!
//! Everything is sans-IO and deterministic: exports are strings, the harness writes them.

pub mod alerts;
pub mod dashboard;
pub mod metrics;
pub mod prometheus;
pub mod promtool;
pub mod rules;
pub mod thresholds;

pub use alerts::{
    ActiveAlert, AlertError, AlertEvaluator, AlertState, AlertTransition, TransitionKind,
};
pub use dashboard::dashboard_json;
pub use metrics::{
    LabelSet, MetricName, MetricsStore, RangeBoundary, Sample, Series, SeriesKey, StoreError,
    TelemetryPayload,
};
pub use prometheus::{render_exposition, render_exposition_with_timestamps};
pub use promtool::{RecordedRun, RuleTestBuilder, RuleTestError};
pub use rules::{
    AlertRule, Comparator, RangeFunction, RuleError, RuleGroup, Severity, rules_file_yaml,
};
pub use thresholds::{Level, TelemetryProfile, Threshold, ThresholdMetric, evaluate};
