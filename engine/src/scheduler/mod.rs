//! The multi-strategy scheduler (engine.md §2–§5): runs each schedule's strategy on its
//! cadence, bounds its signals, allocates capital between schedules, suspends and fails over,
//! honours the rollback override, and exposes an RBAC-checked control API.
//!
//! - [`config`]: what a schedule is ([`ScheduleSpec`]), trading windows.
//! - [`runtime`]: the [`Scheduler`] — `run_once`, continuous mode, the per-run pipeline.
//! - [`batches`]: a completed run's signals per snapshot, written once ([`SignalBatches`]).
//! - [`run_telemetry`]: a run's metrics under their fixed names ([`RunTelemetry`]).
//! - [`signal_limits`]: the limit formula and operator overrides.
//! - [`suspensions`]: schedule and tag suspensions with expiry.
//! - [`capital`]: capital policies.
//! - [`governor`]: the optional portfolio governor ([`PortfolioGovernor`]): weights, signal
//!   factors and base limits per strategy.
//! - [`rbac`]: tokens and scopes for the control API.
//! - [`rollback`]: the `multi_strategy_disable.json` override.
//! - [`timing`]: how long runs take ([`RunTimer`], [`SimulatedCompute`]).

pub mod batches;
pub mod capital;
pub mod config;
pub mod governor;
pub mod rbac;
pub mod rollback;
pub mod run_telemetry;
pub mod runtime;
pub mod signal_limits;
pub mod suspensions;
pub mod timing;

pub use batches::{BatchView, Batches, SignalBatch, SignalBatches};
pub use capital::{CapitalPolicy, MetricLookup, PolicyConfig};
pub use config::{ScheduleError, ScheduleMarket, ScheduleSpec, TradingWindow};
pub use governor::{
    Allocation, GovernorAdvisory, GovernorConfig, GovernorDecision, GovernorError, GovernorProblem,
    PortfolioGovernor, StrategyAllocation, WeightAdjustment,
};
pub use rbac::{AccessDenied, AccessToken, Rbac, SCOPE_READ, SCOPE_WRITE};
pub use rollback::{RollbackOverride, RollbackTransition};
pub use run_telemetry::{MetricName, RunTelemetry};
pub use runtime::{
    ControlError, FailureReason, FeedError, RunNames, RunOutcome, RunRecord, Scheduler,
    SchedulerAlert, SchedulerEvent, SchedulerSettings, SnapshotFeed,
};
pub use signal_limits::LimitRequest;
pub use suspensions::{Expiry, SuspendRequest, SuspensionScope};
pub use timing::{ComputeSpike, RunTimer, SimulatedCompute};

#[cfg(test)]
mod tests;
