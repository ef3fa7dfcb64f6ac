//! The multi-strategy scheduler itself: registration, `run_once`, continuous mode, the per-run
//! pipeline in the reference order (engine.md §3.3), failures and failover (§3.6), the rollback
//! override and the RBAC-checked control API.
//!
//! ## Time model
//! The scheduler is a single worker, as the reference's asyncio loop is for CPU-bound
//! strategies: runs execute one after another, each taking the time its [`RunTimer`] reports.
//! In continuous mode every schedule is due on a fixed grid (`start + k × cadence`); a run
//! starts at `max(due, worker free)` and its **drift is that lateness** (engine.md §13.12: the
//! reference only compared run duration with `max_drift` and logged it). A run that finds
//! several grid points already passed runs once and skips to the next future point (no
//! catch-up, as in the reference). The driver calls [`Scheduler::run_due`] at
//! [`Scheduler::next_wakeup`].
//!
//! ## Where signals go
//! The reference pushes signals into a sink during the run. Here a run returns them in its
//! [`RunRecord`], stamped with the time the run finished, so the caller can log each signal
//! with the run's real `latency_ms` (the reference journal never had it, §13.7) and turn it
//! into orders. Consequently the reference's `sink`/`execution` failure reasons cannot occur;
//! `feed` and `strategy` failures can.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, VecDeque};
use std::sync::Arc;

use serde::Serialize;

use super::batches::SignalBatches;
use super::capital::{AllocationInput, CapitalPolicy, PolicyConfig, normalize_weights};
use super::config::{ScheduleError, ScheduleSpec, window_open};
use super::governor::{Allocation, GovernorConfig, GovernorDecision, PortfolioGovernor};
use super::rbac::{AccessDenied, Rbac, SCOPE_READ, SCOPE_WRITE};
use super::rollback::{RollbackOverride, RollbackTransition};
use super::run_telemetry::{MetricName, RunTelemetry};
use super::signal_limits::{
    LimitInputs, LimitRequest, OverrideView, SignalLimitOverrides, active_max_signals, top_k,
};
use super::suspensions::{
    Expiry, SuspendRequest, Suspension, SuspensionScope, SuspensionSnapshot, Suspensions,
};
use super::timing::RunTimer;
use crate::domain::{SimDuration, SimTime};
use crate::strategy::metrics::RunMetricsAccumulator;
use crate::strategy::{MarketSnapshot, Signal, Strategy};

/// Consecutive failures after which continuous mode aborts (reference constant).
pub const MAX_CONSECUTIVE_FAILURES: u32 = 3;
/// How long a failing schedule is suspended when it fails over (reference constant).
pub const FAILOVER_SUSPENSION: SimDuration = SimDuration::from_secs(900);
/// Capacity of the alert ring buffer (reference constant).
pub const ALERT_BUFFER: usize = 256;

/// Market data for schedules (the reference `feed`).
pub trait SnapshotFeed {
    /// Up to `bars` bars of history per symbol for warm-up, oldest first, sorted by
    /// (symbol, time). Called once per schedule.
    fn load_history(
        &mut self,
        schedule: &ScheduleSpec,
        bars: usize,
    ) -> Result<Vec<MarketSnapshot>, FeedError>;

    /// Appends to `out` the bars completed since this schedule's previous fetch (never the
    /// same bar twice — the reference re-feeds the last candle when the cadence is shorter
    /// than the bar, which adds zero returns to the strategies' volatility), sorted by
    /// (symbol, time). The scheduler hands in an empty buffer it reuses from run to run.
    fn fetch_latest(
        &mut self,
        schedule: &ScheduleSpec,
        now: SimTime,
        out: &mut Vec<MarketSnapshot>,
    ) -> Result<(), FeedError>;
}

/// The feed could not deliver data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FeedError(pub String);

/// Why a run failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureReason {
    /// `fetch_latest` or `load_history` failed.
    Feed,
    /// The strategy returned an error.
    Strategy,
}

impl FailureReason {
    /// `feed` / `strategy`.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureReason::Feed => "feed",
            FailureReason::Strategy => "strategy",
        }
    }
}

/// How a run ended.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum RunOutcome {
    /// The strategy ran; `batches` holds the signals it was allowed to emit.
    Completed {
        /// Signals per snapshot.
        batches: SignalBatches,
    },
    /// The schedule (or one of its tags) is suspended.
    Suspended {
        /// The suspension in force.
        suspension: Suspension,
    },
    /// Multi-strategy trading is disabled by the rollback override.
    Disabled,
    /// Outside every trading window: nothing fetched, no telemetry (reference behaviour).
    WindowClosed,
    /// The run failed.
    Failed {
        /// Feed or strategy.
        reason: FailureReason,
        /// The error text.
        error: String,
    },
}

/// One schedule run.
///
/// The names are shared with the scheduler (one `Arc` per schedule): a run record costs no
/// string copies and one reference count.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RunRecord {
    /// Sequential run id across the scheduler (1, 2, ...).
    pub run_seq: u64,
    /// The schedule's, its strategy's and its risk profile's names (serialised as the three
    /// fields `schedule`, `strategy`, `risk_profile`).
    #[serde(flatten, serialize_with = "serialize_names")]
    pub names: Arc<RunNames>,
    /// When the run was due.
    pub due_at: SimTime,
    /// When it actually started.
    pub started_at: SimTime,
    /// When it finished (`started_at + latency`): signals are emitted at this time.
    pub finished_at: SimTime,
    /// Run duration.
    pub latency: SimDuration,
    /// Lateness: `started_at − due_at`.
    pub drift: SimDuration,
    /// True when the drift exceeded the schedule's `max_drift`.
    pub drift_exceeded: bool,
    /// The schedule's capital weight at the time of the run.
    pub allocator_weight: f64,
    /// What happened.
    #[serde(flatten)]
    pub outcome: RunOutcome,
    /// The telemetry payload emitted for this run (`None` when the reference emits none:
    /// failed runs and closed windows).
    pub telemetry: Option<RunTelemetry>,
}

/// The shared names serialised as the names they hold.
fn serialize_names<S: serde::Serializer>(
    names: &Arc<RunNames>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    RunNames::serialize(names, serializer)
}

impl RunRecord {
    /// The schedule.
    pub fn schedule(&self) -> &str {
        &self.names.schedule
    }

    /// Its strategy instance.
    pub fn strategy(&self) -> &str {
        &self.names.strategy
    }

    /// Its risk profile.
    pub fn risk_profile(&self) -> &str {
        &self.names.risk_profile
    }

    /// Every signal of the run, in emission order.
    pub fn signals(&self) -> impl Iterator<Item = &Signal> {
        let batches = match &self.outcome {
            RunOutcome::Completed { batches } => Some(batches),
            _ => None,
        };
        batches.into_iter().flat_map(SignalBatches::signals)
    }
}

/// Alert severity (scheduler alerts, not the Prometheus rules).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertSeverity {
    /// Informational.
    Info,
    /// Needs attention.
    Warning,
    /// Needs action now.
    Critical,
}

/// An alert the scheduler raised (reference alert payload, §3.6).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SchedulerAlert {
    /// `strategy-failure`, `strategy-failover`, `schedule-window-open`, `schedule-window-closed`,
    /// `scheduler-aborted`, `schedule-drift`.
    pub code: &'static str,
    /// Human text.
    pub message: String,
    /// Severity.
    pub severity: AlertSeverity,
    /// When.
    pub timestamp: SimTime,
    /// The schedule concerned.
    pub schedule: Option<String>,
    /// Extra details.
    pub metadata: BTreeMap<String, String>,
}

/// A state change of a suspension, for the decision log.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum SuspensionChange {
    /// Suspended by an operator or by failover.
    Suspended {
        /// The new suspension.
        suspension: Suspension,
    },
    /// Lifted by an operator or by failover to this schedule.
    Resumed,
    /// Ended by reaching its `until`.
    AutoResumed {
        /// The suspension that ended.
        suspension: Suspension,
    },
}

/// A state change of a signal-limit override, for the decision log.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum LimitChange {
    /// Set or replaced.
    Set {
        /// The cap.
        limit: u32,
        /// Its expiry.
        expires_at: Option<SimTime>,
    },
    /// Removed by an operator.
    Cleared,
    /// Reached its expiry.
    Expired,
}

/// Everything the scheduler reports besides run records, in the order it happened.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum SchedulerEvent {
    /// An alert.
    Alert(SchedulerAlert),
    /// A suspension changed.
    Suspension {
        /// When.
        at: SimTime,
        /// Schedule or tag.
        scope: SuspensionScope,
        /// Its name.
        name: String,
        /// What changed.
        #[serde(flatten)]
        change: SuspensionChange,
    },
    /// A signal-limit override changed.
    SignalLimit {
        /// When.
        at: SimTime,
        /// Strategy name.
        strategy: String,
        /// Risk profile.
        profile: String,
        /// What changed.
        #[serde(flatten)]
        change: LimitChange,
    },
    /// The rollback override changed state.
    Rollback {
        /// When.
        at: SimTime,
        /// What changed.
        #[serde(skip)]
        transition: RollbackTransition,
        /// `activated`, `expired` or `removed`.
        state: &'static str,
    },
    /// Capital weights were recomputed.
    CapitalRebalanced {
        /// When.
        at: SimTime,
        /// Policy name.
        policy: &'static str,
        /// New weights by schedule.
        weights: BTreeMap<String, f64>,
    },
    /// The portfolio governor took a decision (engine.md §3.3 step 13); every schedule's
    /// limit has been recomputed from it.
    PortfolioDecision {
        /// When.
        at: SimTime,
        /// The decision.
        decision: Box<GovernorDecision>,
    },
    /// Continuous mode stopped after too many consecutive failures.
    Aborted {
        /// When.
        at: SimTime,
        /// The schedule that kept failing.
        schedule: String,
        /// Its consecutive failures.
        failures: u32,
    },
}

/// A control call the scheduler refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ControlError {
    /// RBAC refused the caller.
    #[error(transparent)]
    Denied(#[from] AccessDenied),
    /// No schedule by that name.
    #[error("no schedule named `{0}`")]
    UnknownSchedule(String),
}

/// Scheduler-wide settings.
#[derive(Clone, Debug, PartialEq)]
pub struct SchedulerSettings {
    /// Environment name (journal and telemetry namespace).
    pub environment: String,
    /// Portfolio name.
    pub portfolio: String,
    /// Capital policy and cooldown; the reference runtime default is risk parity without a
    /// cooldown.
    pub capital: PolicyConfig,
    /// The portfolio governor, if any (engine.md §5). `None`, or a configuration with
    /// `enabled: false`, means none: factor 1, weight 0, floor 1, as before.
    pub governor: Option<GovernorConfig>,
}

impl Default for SchedulerSettings {
    fn default() -> Self {
        SchedulerSettings {
            environment: "sim".to_owned(),
            portfolio: "paper".to_owned(),
            capital: PolicyConfig {
                policy: CapitalPolicy::RiskParity,
                rebalance_seconds: None,
            },
            governor: None,
        }
    }
}

/// The governor and what it gave each schedule.
#[derive(Debug)]
struct Governed {
    governor: PortfolioGovernor,
    /// One per schedule, in schedule order.
    shares: Vec<GovernorShare>,
}

/// What the governor gave one schedule last (the reference keeps these on the schedule).
#[derive(Clone, Copy, Debug)]
struct GovernorShare {
    /// `max_signals`, or the governor's hint once it gave one.
    base_max_signals: u32,
    /// Signal factor, at least 0.
    factor: f64,
    /// Portfolio weight of the schedule's strategy.
    weight: f64,
}

impl GovernorShare {
    /// A schedule's share without a governor, and before the governor's first allocation:
    /// its own `max_signals`, factor 1, weight 0.
    fn ungoverned(spec: &ScheduleSpec) -> GovernorShare {
        GovernorShare {
            base_max_signals: spec.max_signals,
            factor: 1.0,
            weight: 0.0,
        }
    }

    /// The signal limit this share gives (§3.4), with the allocator's weight, the governor's
    /// floor and an override's cap.
    fn limit(&self, allocator_weight: f64, floor: u32, override_limit: Option<u32>) -> u32 {
        active_max_signals(LimitInputs {
            base: self.base_max_signals,
            governor_factor: self.factor,
            allocator_factor: allocator_weight,
            floor,
            override_limit,
        })
    }

    /// Puts the share into a run's metrics (§3.3 step 4): base limit, weight (also as the
    /// target), factor, and the factor as the governor gave it (`signal_factor`).
    fn record(&self, signal_factor: f64, m: &mut RunTelemetry) {
        m.set(MetricName::BaseMaxSignals, f64::from(self.base_max_signals));
        m.set(MetricName::PortfolioWeightTarget, self.weight);
        m.set(MetricName::PortfolioSignalFactor, signal_factor);
        m.set(MetricName::GovernorSignalFactor, self.factor);
        m.set(MetricName::PortfolioWeight, self.weight);
        m.set(
            MetricName::GovernorMaxSignals,
            f64::from(self.base_max_signals) * self.factor,
        );
    }

    /// Takes an allocation: the hint as base (at least 1), the factor (at least 0), the weight.
    fn take(&mut self, alloc: &Allocation) {
        if let Some(hint) = alloc.max_signal_hint {
            self.base_max_signals = hint.max(1);
        }
        self.factor = alloc.signal_factor.max(0.0);
        self.weight = alloc.weight;
    }
}

/// What §3.3 step 4 takes from the governor for one run.
#[derive(Clone, Copy, Debug)]
struct GovernedRun {
    /// The schedule's share after this run's allocation.
    share: GovernorShare,
    /// The factor as the governor gave it (`portfolio_signal_factor`; the share's is at
    /// least 0).
    signal_factor: f64,
    /// The governor's `min_signal_floor`.
    floor: u32,
}

impl GovernedRun {
    /// A run without a governor: factor 1, weight 0, floor 1.
    fn ungoverned(spec: &ScheduleSpec) -> GovernedRun {
        GovernedRun {
            share: GovernorShare::ungoverned(spec),
            signal_factor: 1.0,
            floor: 1,
        }
    }
}

impl Governed {
    /// §3.3 step 4 with a governor: the schedule's allocation becomes its base limit (the
    /// hint), factor and weight. Out of line, and handed no run metrics, so that runs without
    /// a governor compile as they did before it existed (the scheduler bench measures them).
    #[inline(never)]
    fn allocate(&mut self, idx: usize, spec: &ScheduleSpec) -> GovernedRun {
        let alloc = self.governor.resolve_allocation(&spec.strategy_name);
        let share = &mut self.shares[idx];
        share.take(&alloc);
        GovernedRun {
            share: *share,
            signal_factor: alloc.signal_factor,
            floor: self.governor.min_signal_floor(),
        }
    }
}

/// Capital weights with each schedule's share resolved, in schedule order: the weight under its
/// own name (what a change is judged by) and the one it takes (its name's, else its
/// strategy's).
#[derive(Clone, Debug)]
struct ResolvedWeights {
    weights: BTreeMap<String, f64>,
    own: Vec<f64>,
    taken: Vec<f64>,
}

#[derive(Debug)]
struct ScheduleState {
    spec: ScheduleSpec,
    /// `spec.name`, `spec.strategy_name` and `spec.risk_profile`, shared with run records.
    names: Arc<RunNames>,
    strategy: Box<dyn Strategy>,
    warmed_up: bool,
    last_run: Option<SimTime>,
    next_due: SimTime,
    /// Metrics of the last run (what capital policies read).
    metrics: RunTelemetry,
    allocator_weight: f64,
    active_max_signals: u32,
    failure_streak: u32,
    failover_count: u32,
    active_fallback: Option<String>,
    window_state: Option<bool>,
}

/// A schedule's names as its run records carry them (shared: see [`RunRecord::names`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RunNames {
    /// The schedule.
    pub schedule: String,
    /// Its strategy instance.
    pub strategy: String,
    /// Its risk profile.
    pub risk_profile: String,
}

impl RunNames {
    /// `spec`'s names.
    fn of(spec: &ScheduleSpec) -> RunNames {
        RunNames {
            schedule: spec.name.clone(),
            strategy: spec.strategy_name.clone(),
            risk_profile: spec.risk_profile.clone(),
        }
    }
}

/// A read-only view of one schedule (reference `describe_schedules`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ScheduleView {
    /// Name.
    pub name: String,
    /// Strategy instance name.
    pub strategy_name: String,
    /// Risk profile.
    pub risk_profile: String,
    /// Cadence, seconds.
    pub cadence_seconds: f64,
    /// Max drift, seconds.
    pub max_drift_seconds: f64,
    /// Warm-up bars.
    pub warmup_bars: u32,
    /// Base signal limit.
    pub base_max_signals: u32,
    /// Current signal limit.
    pub active_max_signals: u32,
    /// Capital weight.
    pub allocator_weight: f64,
    /// Whether warm-up ran.
    pub warmed_up: bool,
    /// Tags.
    pub tags: Vec<String>,
    /// Primary tag.
    pub primary_tag: Option<String>,
    /// Priority.
    pub priority: i32,
    /// Failovers so far.
    pub failover_count: u32,
    /// Last run start.
    pub last_run: Option<SimTime>,
    /// Next due time in continuous mode.
    pub next_due: SimTime,
    /// Trading windows.
    pub windows: Vec<String>,
    /// Fallback schedules.
    pub fallbacks: Vec<String>,
    /// The fallback currently standing in.
    pub active_fallback: Option<String>,
    /// The suspension in force.
    pub active_suspension: Option<Suspension>,
    /// Last run's metrics.
    pub metrics: BTreeMap<String, f64>,
}

/// The multi-strategy scheduler.
#[derive(Debug)]
pub struct Scheduler {
    settings: SchedulerSettings,
    schedules: Vec<ScheduleState>,
    /// The portfolio governor and each schedule's share of it, when one is configured and
    /// enabled (boxed, and kept apart from the schedules: a scheduler without one carries
    /// nothing of it).
    governor: Option<Box<Governed>>,
    last_rebalance: Option<SimTime>,
    /// The weights of a policy that reads no run metrics, once computed.
    metric_free_weights: Option<ResolvedWeights>,
    /// The snapshots of the run in progress (a buffer kept from run to run).
    snapshots: Vec<MarketSnapshot>,
    /// What the strategy returned for the snapshot in progress (a buffer kept from run to
    /// run, so that a strategy only ever sees an empty vector).
    raw_signals: Vec<Signal>,
    /// The kept signals of the runs of the `run_once` / `run_due` call in progress, shared by
    /// their records when it ends (see `batches`).
    pending: Vec<Signal>,
    limits: SignalLimitOverrides,
    suspensions: Suspensions,
    rollback: Option<RollbackOverride>,
    rollback_active: bool,
    rbac: Rbac,
    alerts: VecDeque<SchedulerAlert>,
    events: Vec<SchedulerEvent>,
    worker_free_at: SimTime,
    started: bool,
    aborted: bool,
    run_seq: u64,
}

impl Scheduler {
    /// A scheduler over `schedules` (spec + strategy), validated together: unique names,
    /// fallbacks that exist, a valid governor configuration. Execution order is priority
    /// (high first), then registration. A governor configured with `enabled: false` is not
    /// attached.
    pub fn new(
        settings: SchedulerSettings,
        schedules: Vec<(ScheduleSpec, Box<dyn Strategy>)>,
        rbac: Rbac,
    ) -> Result<Scheduler, ScheduleError> {
        let mut names = std::collections::BTreeSet::new();
        for (spec, _) in &schedules {
            spec.validate()?;
            if !names.insert(spec.name.clone()) {
                return Err(ScheduleError::Duplicate(spec.name.clone()));
            }
        }
        for (spec, _) in &schedules {
            if let Some(missing) = spec.fallbacks.iter().find(|f| !names.contains(*f)) {
                return Err(ScheduleError::UnknownFallback {
                    schedule: spec.name.clone(),
                    fallback: missing.clone(),
                });
            }
        }
        let governor = match &settings.governor {
            Some(config) if config.enabled => Some(
                PortfolioGovernor::new(config.clone())
                    .map_err(|e| ScheduleError::Governor(e.to_string()))?,
            ),
            _ => None,
        };
        let n = schedules.len().max(1) as f64;
        let mut states: Vec<ScheduleState> = schedules
            .into_iter()
            .map(|(spec, strategy)| ScheduleState {
                active_max_signals: spec.max_signals,
                names: Arc::new(RunNames::of(&spec)),
                spec,
                strategy,
                warmed_up: false,
                last_run: None,
                next_due: SimTime::EPOCH,
                metrics: RunTelemetry::new(),
                allocator_weight: 1.0 / n,
                failure_streak: 0,
                failover_count: 0,
                active_fallback: None,
                window_state: None,
            })
            .collect();
        // Stable sort keeps registration order among equal priorities.
        states.sort_by_key(|s| std::cmp::Reverse(s.spec.priority));
        let governor = governor.map(|governor| {
            Box::new(Governed {
                governor,
                shares: states
                    .iter()
                    .map(|s| GovernorShare::ungoverned(&s.spec))
                    .collect(),
            })
        });
        Ok(Scheduler {
            settings,
            schedules: states,
            governor,
            last_rebalance: None,
            metric_free_weights: None,
            snapshots: Vec::new(),
            raw_signals: Vec::new(),
            pending: Vec::new(),
            limits: SignalLimitOverrides::default(),
            suspensions: Suspensions::default(),
            rollback: None,
            rollback_active: false,
            rbac,
            alerts: VecDeque::new(),
            events: Vec::new(),
            worker_free_at: SimTime::EPOCH,
            started: false,
            aborted: false,
            run_seq: 0,
        })
    }

    /// Scheduler-wide settings.
    pub fn settings(&self) -> &SchedulerSettings {
        &self.settings
    }

    /// The portfolio governor, when one is attached.
    pub fn governor(&self) -> Option<&PortfolioGovernor> {
        self.governor.as_deref().map(|g| &g.governor)
    }

    /// Schedule specs in execution order.
    pub fn specs(&self) -> impl Iterator<Item = &ScheduleSpec> {
        self.schedules.iter().map(|s| &s.spec)
    }

    /// Current capital weight of a schedule.
    pub fn allocator_weight(&self, schedule: &str) -> Option<f64> {
        self.schedules
            .iter()
            .find(|s| s.spec.name == schedule)
            .map(|s| s.allocator_weight)
    }

    /// Takes the events (alerts, suspension/limit/rollback changes, rebalances, abort) since
    /// the last call, in order.
    pub fn drain_events(&mut self) -> Vec<SchedulerEvent> {
        std::mem::take(&mut self.events)
    }

    /// The alert ring buffer (last 256); `clear` empties it, as the reference's
    /// `alerts_snapshot(clear=True)`.
    pub fn alerts_snapshot(&mut self, clear: bool) -> Vec<SchedulerAlert> {
        let out: Vec<SchedulerAlert> = self.alerts.iter().cloned().collect();
        if clear {
            self.alerts.clear();
        }
        out
    }

    /// True once continuous mode has aborted.
    pub fn is_aborted(&self) -> bool {
        self.aborted
    }

    /// True while the rollback override stops trading.
    pub fn is_disabled(&self) -> bool {
        self.rollback_active
    }

    fn raise(&mut self, alert: SchedulerAlert) {
        if self.alerts.len() == ALERT_BUFFER {
            self.alerts.pop_front();
        }
        self.alerts.push_back(alert.clone());
        self.events.push(SchedulerEvent::Alert(alert));
    }

    // ---------------------------------------------------------------- rollback override

    /// Tells the scheduler what the override file says now (`None`: no file). Called by the
    /// driver whenever it reads the file; also checks expiry. Returns whether trading is
    /// disabled after the call.
    pub fn observe_rollback(&mut self, now: SimTime, current: Option<RollbackOverride>) -> bool {
        let was_active = self.rollback_active;
        let previous = std::mem::replace(&mut self.rollback, current);
        let active = self.rollback.as_ref().is_some_and(|o| o.is_active(now));
        match (was_active, active, &self.rollback) {
            // A new override, or one replaced while active (e.g. extended): log the one in force.
            (false, true, Some(o)) => {
                self.push_rollback(now, RollbackTransition::Activated(o.clone()))
            }
            (true, true, Some(o)) if previous.as_ref() != Some(o) => {
                self.push_rollback(now, RollbackTransition::Activated(o.clone()))
            }
            // Still on disk but past `expires_at`: trading resumes by itself.
            (true, false, Some(o)) => {
                self.push_rollback(now, RollbackTransition::Expired(o.clone()))
            }
            // The file was removed (restore).
            (true, false, None) => {
                let old = previous.expect("an active override existed");
                self.push_rollback(now, RollbackTransition::Removed(old));
            }
            _ => {}
        }
        self.rollback_active = active;
        active
    }

    fn check_rollback_expiry(&mut self, now: SimTime) {
        if self.rollback_active {
            let current = self.rollback.clone();
            self.observe_rollback(now, current);
        }
    }

    fn push_rollback(&mut self, at: SimTime, transition: RollbackTransition) {
        let state = match transition {
            RollbackTransition::Activated(_) => "activated",
            RollbackTransition::Expired(_) => "expired",
            RollbackTransition::Removed(_) => "removed",
        };
        self.events.push(SchedulerEvent::Rollback {
            at,
            transition,
            state,
        });
    }

    // ---------------------------------------------------------------- run modes

    /// Starts continuous mode at `at`: every schedule is due immediately, then every cadence.
    pub fn start(&mut self, at: SimTime) {
        for s in &mut self.schedules {
            s.next_due = at;
        }
        self.worker_free_at = at;
        self.started = true;
    }

    /// When the driver should next call [`Scheduler::run_due`]; `None` before
    /// [`Scheduler::start`] or after an abort.
    pub fn next_wakeup(&self) -> Option<SimTime> {
        if !self.started || self.aborted {
            return None;
        }
        let due = self.schedules.iter().map(|s| s.next_due).min()?;
        Some(due.max(self.worker_free_at))
    }

    /// Continuous mode: runs every schedule that is due at `now` and can start by `now`, in
    /// (due time, priority, registration) order, one after another on the single worker.
    /// Aborts (and stops running) once a schedule fails three times in a row.
    pub fn run_due(
        &mut self,
        now: SimTime,
        feed: &mut dyn SnapshotFeed,
        timer: &mut dyn RunTimer,
    ) -> Vec<RunRecord> {
        let mut records = Vec::new();
        if !self.started || self.aborted {
            return records;
        }
        self.check_rollback_expiry(now);
        // Earliest due first; ties by execution order (priority, registration), i.e. by
        // index. A heap of the schedules due by `now` (a schedule is pushed back when its next
        // due time is still by `now`) instead of a scan per run, which made a wake-up with n
        // schedules due cost n² steps.
        let mut due_now: BinaryHeap<Reverse<(SimTime, usize)>> = self
            .schedules
            .iter()
            .enumerate()
            .filter(|(_, s)| s.next_due <= now)
            .map(|(i, s)| Reverse((s.next_due, i)))
            .collect();
        while let Some(Reverse((due, idx))) = due_now.pop() {
            let start = due.max(self.worker_free_at);
            if start > now {
                break;
            }
            let record = self.execute(idx, due, start, feed, timer);
            self.worker_free_at = record.finished_at;
            let cadence = self.schedules[idx].spec.cadence;
            let mut next = due + cadence;
            while next <= start {
                next += cadence;
            }
            self.schedules[idx].next_due = next;
            if next <= now {
                due_now.push(Reverse((next, idx)));
            }
            let failed = matches!(record.outcome, RunOutcome::Failed { .. });
            let streak = self.schedules[idx].failure_streak;
            records.push(record);
            if failed && streak >= MAX_CONSECUTIVE_FAILURES {
                let name = self.schedules[idx].spec.name.clone();
                self.aborted = true;
                self.raise(SchedulerAlert {
                    code: "scheduler-aborted",
                    message: format!(
                        "schedule {name} failed {streak} times in a row; continuous mode stopped"
                    ),
                    severity: AlertSeverity::Critical,
                    timestamp: start,
                    schedule: Some(name.clone()),
                    metadata: BTreeMap::new(),
                });
                self.events.push(SchedulerEvent::Aborted {
                    at: start,
                    schedule: name,
                    failures: streak,
                });
                break;
            }
        }
        self.share_signals(&mut records);
        records
    }

    /// Runs every schedule once for timestamp `ts`, in execution order (the reference's
    /// `run_once`). Each run starts when the previous one finished; its drift is measured
    /// against `ts`. Never aborts on failures.
    pub fn run_once(
        &mut self,
        ts: SimTime,
        feed: &mut dyn SnapshotFeed,
        timer: &mut dyn RunTimer,
    ) -> Vec<RunRecord> {
        self.check_rollback_expiry(ts);
        let mut start = ts;
        let mut records = Vec::with_capacity(self.schedules.len());
        for idx in 0..self.schedules.len() {
            let record = self.execute(idx, ts, start, feed, timer);
            start = record.finished_at;
            records.push(record);
        }
        self.worker_free_at = self.worker_free_at.max(start);
        self.share_signals(&mut records);
        records
    }

    /// Hands the signals of the call that is ending to its records with signals: one shared
    /// vector for the whole call, where a vector per run cost an allocation each.
    fn share_signals(&mut self, records: &mut [RunRecord]) {
        if self.pending.is_empty() {
            return;
        }
        // The next call likely needs as much room.
        let room = self.pending.len();
        let all = Arc::new(std::mem::replace(
            &mut self.pending,
            Vec::with_capacity(room),
        ));
        for r in records {
            if let RunOutcome::Completed { batches } = &mut r.outcome {
                batches.share(&all);
            }
        }
    }

    // ---------------------------------------------------------------- the pipeline

    fn execute(
        &mut self,
        idx: usize,
        due: SimTime,
        start: SimTime,
        feed: &mut dyn SnapshotFeed,
        timer: &mut dyn RunTimer,
    ) -> RunRecord {
        self.run_seq += 1;
        let run_seq = self.run_seq;
        // Holding no suspension and no override is the usual case: skip the purge calls,
        // which would each build and drop an empty vector.
        if !(self.suspensions.is_empty() && self.limits.is_empty()) {
            self.purge_expired(start);
        }
        let names = self.schedules[idx].names.clone();
        let name: &str = &names.schedule;
        timer.begin(name, start);
        let drift = start.saturating_since(due);
        {
            let s = &mut self.schedules[idx];
            s.last_run = Some(start);
        }
        let state = &self.schedules[idx];
        let suspension = if self.suspensions.is_empty() {
            None
        } else {
            self.suspensions.resolve(
                start,
                &state.spec.name,
                &state.spec.tags,
                state.spec.effective_primary_tag(),
            )
        };

        if self.rollback_active || suspension.is_some() {
            // Suspended path (§3.5): allocation still rebalances, zeroed metrics are emitted.
            self.rebalance(start);
            let latency = timer.end(name, 0);
            let s = &mut self.schedules[idx];
            let share = match &self.governor {
                Some(g) => g.shares[idx],
                None => GovernorShare::ungoverned(&s.spec),
            };
            let mut m = RunTelemetry::new();
            m.set(
                MetricName::BaseMaxSignals,
                f64::from(share.base_max_signals),
            );
            m.set(MetricName::ActiveMaxSignals, 0.0);
            m.set(MetricName::Signals, 0.0);
            m.set(MetricName::Suspended, 1.0);
            m.set(MetricName::AllocatorWeight, s.allocator_weight);
            m.set(
                MetricName::AllocatorSignalFactor,
                s.allocator_weight.max(0.0),
            );
            m.set(MetricName::GovernorSignalFactor, share.factor);
            m.set(MetricName::PortfolioWeight, share.weight);
            if self.governor.is_some() {
                m.set(MetricName::PortfolioWeightTarget, share.weight);
            }
            m.set(MetricName::LatencyMs, 0.0);
            m.set(MetricName::DriftSeconds, drift.as_secs_f64());
            m.set(
                MetricName::RollbackActive,
                f64::from(u8::from(self.rollback_active)),
            );
            let outcome = if self.rollback_active {
                RunOutcome::Disabled
            } else {
                let susp = suspension.expect("checked above");
                m.set(
                    MetricName::SuspensionTagIndicator,
                    f64::from(u8::from(susp.origin == SuspensionScope::Tag)),
                );
                if let Some(until) = susp.until {
                    m.set(
                        MetricName::SuspensionRemainingSeconds,
                        until.saturating_since(start).as_secs_f64(),
                    );
                }
                RunOutcome::Suspended { suspension: susp }
            };
            s.active_max_signals = 0;
            s.metrics = m;
            let drift_exceeded = drift > s.spec.max_drift;
            let allocator_weight = s.allocator_weight;
            // The governor still observes the zeroed metrics and may rebalance (§3.5). Fed
            // before the record is built, so that the record is still written straight into
            // the caller's slot (a local returned later costs every run a copy of it).
            if self.governor.is_some() {
                self.feed_governor(idx, start);
            }
            return RunRecord {
                run_seq,
                names,
                due_at: due,
                started_at: start,
                finished_at: start + latency,
                latency,
                drift,
                drift_exceeded,
                allocator_weight,
                outcome,
                telemetry: Some(m),
            };
        }

        // 1. capital rebalance (reads every schedule's previous-run metrics)
        self.rebalance(start);

        // 2. warm-up, once, before the window check
        let mut failure: Option<(FailureReason, String)> = None;
        {
            let s = &mut self.schedules[idx];
            if !s.warmed_up && s.spec.warmup_bars > 0 {
                match feed.load_history(&s.spec, s.spec.warmup_bars as usize) {
                    Ok(history) => {
                        if !history.is_empty() {
                            s.strategy.warm_up(&history);
                        }
                        s.warmed_up = true;
                    }
                    Err(e) => failure = Some((FailureReason::Feed, e.0)),
                }
            }
        }

        // 3–7. metric reset, governor, signal limit, bookkeeping metrics
        let now = start;
        let override_limit = {
            let s = &self.schedules[idx];
            self.limits
                .active(now, &s.spec.strategy_name, &s.spec.risk_profile)
                .map(|o| (o.limit, o.expires_at, o.reason.is_some()))
        };
        let s = &mut self.schedules[idx];
        let mut m = RunTelemetry::new();
        let weight = s.allocator_weight;
        // 4–5. the governor's allocation and the signal limit; without a governor, factor 1,
        // weight 0, floor 1, exactly as before there was one.
        let override_cap = override_limit.map(|o| o.0);
        m.set(MetricName::AllocatorSignalFactor, weight.max(0.0));
        m.set(MetricName::AllocatorWeightTarget, weight);
        m.set(MetricName::AllocatorWeight, weight);
        let g = match self.governor.as_mut() {
            None => GovernedRun::ungoverned(&s.spec),
            Some(governed) => governed.allocate(idx, &s.spec),
        };
        g.share.record(g.signal_factor, &mut m);
        let active = g.share.limit(weight, g.floor, override_cap);
        s.active_max_signals = active;
        if let Some((limit, expires_at, has_reason)) = override_limit {
            m.set(MetricName::SignalLimitOverride, f64::from(limit));
            if let Some(t) = expires_at {
                m.set(MetricName::SignalLimitExpiresAt, t.unix_secs_f64());
            }
            m.set(
                MetricName::SignalLimitReason,
                f64::from(u8::from(has_reason)),
            );
        }
        m.set(MetricName::Priority, f64::from(s.spec.priority));
        m.set(MetricName::FailoverCount, f64::from(s.failover_count));
        m.set(
            MetricName::ActiveFallbackIndicator,
            f64::from(u8::from(s.active_fallback.is_some())),
        );

        // 8. trading window
        let open = window_open(&s.spec.windows, now);
        m.set(MetricName::WindowActive, f64::from(u8::from(open)));
        let previous = s.window_state.replace(open);
        let window_alert = match (previous, open) {
            (None, false) => Some(("schedule-window-closed", AlertSeverity::Info)),
            (Some(true), false) => Some(("schedule-window-closed", AlertSeverity::Warning)),
            (Some(false), true) => Some(("schedule-window-open", AlertSeverity::Info)),
            _ => None,
        };
        let max_drift = s.spec.max_drift;
        if let Some((code, severity)) = window_alert {
            self.raise(SchedulerAlert {
                code,
                message: format!(
                    "trading window {} for {name}",
                    if open { "opened" } else { "closed" }
                ),
                severity,
                timestamp: now,
                schedule: Some(name.to_owned()),
                metadata: BTreeMap::new(),
            });
        }
        // The record is only built once its outcome is known, so that it is written once,
        // straight into the caller's slot (a record is several hundred bytes).
        let drift_exceeded = drift > max_drift;
        let record = |names: Arc<RunNames>, latency: SimDuration, outcome, telemetry| RunRecord {
            run_seq,
            names,
            due_at: due,
            started_at: start,
            finished_at: start + latency,
            latency,
            drift,
            drift_exceeded,
            allocator_weight: weight,
            outcome,
            telemetry,
        };
        if !open && failure.is_none() {
            let latency = timer.end(name, 0);
            return record(names, latency, RunOutcome::WindowClosed, None);
        }

        // 9–10. fetch, strategy per snapshot, top-k per snapshot, metric accumulation
        // Each snapshot's kept signals join the call's vector; the run's batches are ranges
        // of it (see `batches`).
        let mut batches = SignalBatches::open(&self.pending);
        let run_start = self.pending.len();
        let mut acc = RunMetricsAccumulator::new();
        if failure.is_none() {
            let s = &mut self.schedules[idx];
            let snapshots = &mut self.snapshots;
            let raw = &mut self.raw_signals;
            let pending = &mut self.pending;
            snapshots.clear();
            match feed.fetch_latest(&s.spec, now, snapshots) {
                Err(e) => failure = Some((FailureReason::Feed, e.0)),
                Ok(()) => {
                    for snapshot in snapshots.iter() {
                        raw.clear();
                        if let Err(e) = s.strategy.on_data(snapshot, raw) {
                            failure = Some((FailureReason::Strategy, e.0));
                            break;
                        }
                        top_k(raw, active as usize, |sig: &Signal| sig.confidence);
                        for sig in raw.iter() {
                            acc.observe(sig);
                        }
                        // Moved into the call's vector; `raw` keeps its room.
                        pending.append(raw);
                        batches.close_batch(pending, snapshot.symbol, snapshot.at);
                    }
                }
            }
        }

        let signals = batches.len();
        let latency = timer.end(name, signals);

        if let Some((reason, error)) = failure {
            // A failed run emits nothing: drop what it appended.
            self.pending.truncate(run_start);
            self.fail(idx, now, reason, &error);
            return record(names, latency, RunOutcome::Failed { reason, error }, None);
        }

        // 11–12. final metrics and telemetry
        let s = &mut self.schedules[idx];
        s.failure_streak = 0;
        m.set(MetricName::Signals, signals as f64);
        m.set(MetricName::ActiveMaxSignals, f64::from(active));
        m.set(MetricName::LatencyMs, latency.as_millis_f64());
        m.set(MetricName::DriftSeconds, drift.as_secs_f64());
        m.set(MetricName::RollbackActive, 0.0);
        m.set_strategy_metrics(&acc.finish());
        s.metrics = m;
        if drift_exceeded {
            self.raise(SchedulerAlert {
                code: "schedule-drift",
                message: format!(
                    "schedule {name} started {:.3}s late (max_drift {:.3}s)",
                    drift.as_secs_f64(),
                    max_drift.as_secs_f64()
                ),
                severity: AlertSeverity::Warning,
                timestamp: now,
                schedule: Some(name.to_owned()),
                metadata: BTreeMap::new(),
            });
        }
        // 13. governor feedback (the run's metrics include `signals`)
        if self.governor.is_some() {
            self.feed_governor(idx, now);
        }
        record(names, latency, RunOutcome::Completed { batches }, Some(m))
    }

    /// §3.3 step 13: the governor observes a run's metrics and may take a decision, which is
    /// applied to every schedule at once. Kept out of line: runs without a governor only pay
    /// for the check at the call site (the scheduler bench measures that path).
    #[inline(never)]
    fn feed_governor(&mut self, idx: usize, now: SimTime) {
        let Some(governed) = self.governor.as_mut() else {
            return;
        };
        let governor = &mut governed.governor;
        let s = &self.schedules[idx];
        governor.observe(&s.spec.strategy_name, &s.metrics);
        if let Some(decision) = governor.maybe_rebalance(now) {
            self.apply_portfolio_decision(now, decision);
        }
    }

    /// Gives every schedule its allocation after a decision and recomputes its limit (the
    /// reference `_apply_portfolio_decision`), then reports the decision.
    fn apply_portfolio_decision(&mut self, now: SimTime, decision: GovernorDecision) {
        let Some(governed) = self.governor.as_mut() else {
            return;
        };
        let floor = governed.governor.min_signal_floor();
        for (s, share) in self.schedules.iter_mut().zip(governed.shares.iter_mut()) {
            let alloc = governed.governor.resolve_allocation(&s.spec.strategy_name);
            share.take(&alloc);
            share.record(alloc.signal_factor, &mut s.metrics);
            let override_limit = self
                .limits
                .active(now, &s.spec.strategy_name, &s.spec.risk_profile)
                .map(|o| o.limit);
            s.active_max_signals = share.limit(s.allocator_weight, floor, override_limit);
        }
        self.events.push(SchedulerEvent::PortfolioDecision {
            at: now,
            decision: Box::new(decision),
        });
    }

    fn fail(&mut self, idx: usize, now: SimTime, reason: FailureReason, error: &str) {
        let name = self.schedules[idx].spec.name.clone();
        {
            let s = &mut self.schedules[idx];
            s.failure_streak += 1;
            s.failover_count += 1;
            s.metrics.set(MetricName::Failed, 1.0);
        }
        self.raise(SchedulerAlert {
            code: "strategy-failure",
            message: format!("schedule {name} failed ({}): {error}", reason.as_str()),
            severity: AlertSeverity::Warning,
            timestamp: now,
            schedule: Some(name.clone()),
            metadata: BTreeMap::from([
                ("reason".to_owned(), reason.as_str().to_owned()),
                ("error".to_owned(), error.to_owned()),
            ]),
        });
        let fallback = self.schedules[idx]
            .spec
            .fallbacks
            .iter()
            .find(|f| **f != name)
            .cloned();
        if let Some(fallback) = fallback {
            self.raise(SchedulerAlert {
                code: "strategy-failover",
                message: format!("schedule {name} fails over to {fallback}"),
                severity: AlertSeverity::Warning,
                timestamp: now,
                schedule: Some(name.clone()),
                metadata: BTreeMap::from([("fallback".to_owned(), fallback.clone())]),
            });
            if self
                .suspensions
                .resume(SuspensionScope::Schedule, &fallback)
                .is_some()
            {
                self.events.push(SchedulerEvent::Suspension {
                    at: now,
                    scope: SuspensionScope::Schedule,
                    name: fallback.clone(),
                    change: SuspensionChange::Resumed,
                });
            }
            self.suspend_internal(
                now,
                &SuspendRequest {
                    scope: SuspensionScope::Schedule,
                    name: name.clone(),
                    reason: format!("failover:{}", reason.as_str()),
                    expiry: Expiry::After(FAILOVER_SUSPENSION),
                },
            );
            self.schedules[idx].active_fallback = Some(fallback);
        }
    }

    fn purge_expired(&mut self, now: SimTime) {
        for ended in self.suspensions.purge_expired(now) {
            if ended.scope == SuspensionScope::Schedule
                && let Some(s) = self
                    .schedules
                    .iter_mut()
                    .find(|s| s.spec.name == ended.name)
            {
                s.active_fallback = None;
            }
            self.events.push(SchedulerEvent::Suspension {
                at: now,
                scope: ended.scope,
                name: ended.name,
                change: SuspensionChange::AutoResumed {
                    suspension: ended.suspension,
                },
            });
        }
        for (strategy, profile) in self.limits.purge_expired(now) {
            self.events.push(SchedulerEvent::SignalLimit {
                at: now,
                strategy,
                profile,
                change: LimitChange::Expired,
            });
        }
    }

    fn rebalance(&mut self, now: SimTime) {
        if let (Some(cooldown), Some(last)) =
            (self.settings.capital.rebalance_seconds, self.last_rebalance)
            && now.saturating_since(last).as_secs_f64() < cooldown
        {
            return;
        }
        // A policy that reads no run metrics gives the same weights every time (schedules
        // never change), so they are computed once.
        let resolved = match self.metric_free_weights.take() {
            Some(resolved) => resolved,
            None => self.resolve(self.allocate_weights()),
        };
        let changed = self
            .schedules
            .iter()
            .zip(&resolved.own)
            .any(|(s, w)| *w != s.allocator_weight);
        for (s, w) in self.schedules.iter_mut().zip(&resolved.taken) {
            s.allocator_weight = *w;
        }
        self.last_rebalance = Some(now);
        if changed {
            self.events.push(SchedulerEvent::CapitalRebalanced {
                at: now,
                policy: self.settings.capital.policy.name(),
                weights: resolved.weights.clone(),
            });
        }
        if !self.settings.capital.policy.reads_metrics() {
            self.metric_free_weights = Some(resolved);
        }
    }

    /// Each schedule's share of `weights`, in schedule order.
    fn resolve(&self, weights: BTreeMap<String, f64>) -> ResolvedWeights {
        let own = |s: &ScheduleState| weights.get(&s.spec.name).copied();
        ResolvedWeights {
            own: self
                .schedules
                .iter()
                .map(|s| own(s).unwrap_or(0.0))
                .collect(),
            taken: self
                .schedules
                .iter()
                .map(|s| {
                    own(s)
                        .or_else(|| weights.get(&s.spec.strategy_name).copied())
                        .unwrap_or(0.0)
                })
                .collect(),
            weights,
        }
    }

    /// The capital policy's normalised weights for the schedules as they are now (uniform
    /// when the policy gives none).
    fn allocate_weights(&self) -> BTreeMap<String, f64> {
        let inputs: Vec<AllocationInput<'_>> = self
            .schedules
            .iter()
            .map(|s| AllocationInput {
                name: &s.spec.name,
                strategy: &s.spec.strategy_name,
                profile: &s.spec.risk_profile,
                metrics: &s.metrics,
            })
            .collect();
        let weights = normalize_weights(&self.settings.capital.policy.allocate(&inputs));
        if weights.is_empty() && !self.schedules.is_empty() {
            let n = self.schedules.len() as f64;
            return self
                .schedules
                .iter()
                .map(|s| (s.spec.name.clone(), 1.0 / n))
                .collect();
        }
        weights
    }

    fn suspend_internal(&mut self, now: SimTime, request: &SuspendRequest) {
        let suspension = self.suspensions.suspend(now, request);
        self.events.push(SchedulerEvent::Suspension {
            at: now,
            scope: request.scope,
            name: request.name.clone(),
            change: SuspensionChange::Suspended { suspension },
        });
    }

    // ---------------------------------------------------------------- control API (RBAC)

    fn known(&self, schedule: &str) -> Result<(), ControlError> {
        if self.schedules.iter().any(|s| s.spec.name == schedule) {
            Ok(())
        } else {
            Err(ControlError::UnknownSchedule(schedule.to_owned()))
        }
    }

    /// Describes every schedule (needs `runtime.schedule.read`).
    pub fn describe(&self, token: &str, now: SimTime) -> Result<Vec<ScheduleView>, ControlError> {
        self.rbac.authorize(token, SCOPE_READ)?;
        Ok(self
            .schedules
            .iter()
            .enumerate()
            .map(|(i, s)| ScheduleView {
                name: s.spec.name.clone(),
                strategy_name: s.spec.strategy_name.clone(),
                risk_profile: s.spec.risk_profile.clone(),
                cadence_seconds: s.spec.cadence.as_secs_f64(),
                max_drift_seconds: s.spec.max_drift.as_secs_f64(),
                warmup_bars: s.spec.warmup_bars,
                base_max_signals: self
                    .governor
                    .as_ref()
                    .map_or(s.spec.max_signals, |g| g.shares[i].base_max_signals),
                active_max_signals: s.active_max_signals,
                allocator_weight: s.allocator_weight,
                warmed_up: s.warmed_up,
                tags: s.spec.tags.clone(),
                primary_tag: s.spec.effective_primary_tag().map(str::to_owned),
                priority: s.spec.priority,
                failover_count: s.failover_count,
                last_run: s.last_run,
                next_due: s.next_due,
                windows: s.spec.windows.iter().map(ToString::to_string).collect(),
                fallbacks: s.spec.fallbacks.clone(),
                active_fallback: s.active_fallback.clone(),
                active_suspension: self.suspensions.resolve(
                    now,
                    &s.spec.name,
                    &s.spec.tags,
                    s.spec.effective_primary_tag(),
                ),
                metrics: s.metrics.to_map(),
            })
            .collect())
    }

    /// Lists suspensions (needs `runtime.schedule.read`).
    pub fn suspension_snapshot(
        &self,
        token: &str,
        now: SimTime,
    ) -> Result<SuspensionSnapshot, ControlError> {
        self.rbac.authorize(token, SCOPE_READ)?;
        Ok(self.suspensions.snapshot(now))
    }

    /// Lists signal-limit overrides (needs `runtime.schedule.read`).
    pub fn signal_limits(
        &self,
        token: &str,
        now: SimTime,
    ) -> Result<Vec<OverrideView>, ControlError> {
        self.rbac.authorize(token, SCOPE_READ)?;
        Ok(self.limits.snapshot(now))
    }

    /// Suspends a schedule or a tag (needs `runtime.schedule.write`).
    pub fn suspend(
        &mut self,
        token: &str,
        now: SimTime,
        request: &SuspendRequest,
    ) -> Result<(), ControlError> {
        self.rbac.authorize(token, SCOPE_WRITE)?;
        if request.scope == SuspensionScope::Schedule {
            self.known(&request.name)?;
        }
        self.suspend_internal(now, request);
        Ok(())
    }

    /// Lifts a suspension (needs `runtime.schedule.write`). Returns whether one existed.
    pub fn resume(
        &mut self,
        token: &str,
        now: SimTime,
        scope: SuspensionScope,
        name: &str,
    ) -> Result<bool, ControlError> {
        self.rbac.authorize(token, SCOPE_WRITE)?;
        let existed = self.suspensions.resume(scope, name).is_some();
        if existed {
            if scope == SuspensionScope::Schedule
                && let Some(s) = self.schedules.iter_mut().find(|s| s.spec.name == name)
            {
                s.active_fallback = None;
            }
            self.events.push(SchedulerEvent::Suspension {
                at: now,
                scope,
                name: name.to_owned(),
                change: SuspensionChange::Resumed,
            });
        }
        Ok(existed)
    }

    /// Caps a strategy's signals under a profile (needs `runtime.schedule.write`).
    pub fn set_signal_limit(
        &mut self,
        token: &str,
        now: SimTime,
        request: &LimitRequest,
    ) -> Result<(), ControlError> {
        self.rbac.authorize(token, SCOPE_WRITE)?;
        let entry = self.limits.set(now, request);
        self.events.push(SchedulerEvent::SignalLimit {
            at: now,
            strategy: request.strategy.clone(),
            profile: request.profile.clone(),
            change: LimitChange::Set {
                limit: entry.limit,
                expires_at: entry.expires_at,
            },
        });
        Ok(())
    }

    /// Removes a signal-limit override (needs `runtime.schedule.write`).
    pub fn clear_signal_limit(
        &mut self,
        token: &str,
        now: SimTime,
        strategy: &str,
        profile: &str,
    ) -> Result<bool, ControlError> {
        self.rbac.authorize(token, SCOPE_WRITE)?;
        let existed = self.limits.clear(strategy, profile);
        if existed {
            self.events.push(SchedulerEvent::SignalLimit {
                at: now,
                strategy: strategy.to_owned(),
                profile: profile.to_owned(),
                change: LimitChange::Cleared,
            });
        }
        Ok(existed)
    }

    /// Disables all multi-strategy trading in-process, as the override file does (needs
    /// `runtime.schedule.write`).
    pub fn disable(
        &mut self,
        token: &str,
        now: SimTime,
        o: RollbackOverride,
    ) -> Result<(), ControlError> {
        self.rbac.authorize(token, SCOPE_WRITE)?;
        self.observe_rollback(now, Some(o));
        Ok(())
    }

    /// Lifts an in-process disable (needs `runtime.schedule.write`).
    pub fn restore(&mut self, token: &str, now: SimTime) -> Result<(), ControlError> {
        self.rbac.authorize(token, SCOPE_WRITE)?;
        self.observe_rollback(now, None);
        Ok(())
    }
}
