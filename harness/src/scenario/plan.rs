//! A scenario, validated: every time resolved against the start and checked against the end,
//! every name resolved (schedules, venues, symbols, actions, faults), every default applied.
//! Errors name the file, the line and column, and the key (ripgrep's low-args → high-args:
//! parse loosely in [`super::raw`], validate once here, then run a plan).

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use clap::Parser;
use stage4_engine::domain::{SimDuration, SimTime, Symbol, VenueId};
use stage4_engine::scheduler::{
    CapitalPolicy, ComputeSpike, GovernorConfig, PolicyConfig, ScheduleMarket, ScheduleSpec,
    TradingWindow,
};
use stage4_engine::strategy::StrategyConfig;
use stage4_reports::scenario::format_offset;
use stage4_sim::SimConfig;
use stage4_sim::config::{SymbolConfig, VenueConfig};
use stage4_sim::faults::{Fault, FaultKind, Operation};
use toml::Spanned;

use super::raw::{RawAction, RawExpect, RawFault, RawScenario, RawSchedule};
use crate::cli::audit::{BaselineArgs, ComplianceArgs};
use crate::site::CertRole;

/// A scenario file that cannot be run, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioError {
    /// The file.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// The key (dotted path) at fault.
    pub key: String,
    /// What is wrong and what is expected.
    pub message: String,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: ", self.file, self.line, self.column)?;
        if !self.key.is_empty() {
            write!(f, "`{}`: ", self.key)?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for ScenarioError {}

/// Builds errors positioned in one file.
struct Locator<'a> {
    file: &'a str,
    text: &'a str,
}

impl Locator<'_> {
    fn at(
        &self,
        span: Range<usize>,
        key: impl Into<String>,
        message: impl Into<String>,
    ) -> ScenarioError {
        let start = span.start.min(self.text.len());
        let before = &self.text[..start];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        ScenarioError {
            file: self.file.to_owned(),
            line,
            column,
            key: key.into(),
            message: message.into(),
        }
    }

    fn spanned<T>(
        &self,
        value: &Spanned<T>,
        key: impl Into<String>,
        message: impl Into<String>,
    ) -> ScenarioError {
        self.at(value.span(), key, message)
    }
}

/// Where a fault acts.
#[derive(Debug, Clone, PartialEq)]
pub enum FaultPlan {
    /// A simulator fault on a venue.
    Venue(Fault),
    /// Extra compute time for one schedule's runs.
    StrategyLatency {
        /// The schedule.
        schedule: String,
        /// Added per run.
        extra: SimDuration,
    },
    /// A market-wide move of a symbol's fair price over the window.
    PriceShock {
        /// The symbol.
        symbol: Symbol,
        /// Total move in percent (e.g. -12).
        move_pct: f64,
    },
}

/// One fault on the timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedFault {
    /// 1-based position in the file.
    pub index: usize,
    /// `kind` as written.
    pub kind: String,
    /// Start.
    pub start: SimTime,
    /// End (exclusive).
    pub end: SimTime,
    /// What it does.
    pub plan: FaultPlan,
}

/// Incident lifecycle steps an action can record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncidentStep {
    /// Open.
    Open,
    /// Acknowledge.
    Acknowledge,
    /// Escalate.
    Escalate,
    /// Resolve.
    Resolve,
}

/// What an action does.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// `stage4 audit compliance` with these flags against the scenario's site.
    AuditCompliance {
        /// The CLI flags as written.
        flags: Vec<String>,
    },
    /// `stage4 audit security-baseline` with these flags.
    AuditBaseline {
        /// The CLI flags as written.
        flags: Vec<String>,
    },
    /// `stage4 keys check-rotation --environment E`.
    CheckKeyRotation {
        /// The environment.
        environment: String,
    },
    /// Record a key rotation now (`check-rotation --mark-rotated`).
    RotateKey {
        /// The environment.
        environment: String,
    },
    /// `stage4 rollback disable`.
    Disable {
        /// Why.
        reason: String,
        /// Ticket.
        ticket: Option<String>,
        /// Who.
        requested_by: Option<String>,
        /// For how long.
        duration: Option<SimDuration>,
    },
    /// `stage4 rollback restore`.
    Restore {
        /// Ticket, for the log.
        ticket: Option<String>,
    },
    /// An incident entry in the decision log.
    Incident {
        /// Which step.
        step: IncidentStep,
        /// Ticket.
        ticket: String,
        /// Severity (`sev1`…`sev4`).
        severity: Option<String>,
        /// Support level.
        level: Option<String>,
        /// Note.
        note: Option<String>,
        /// Who.
        actor: Option<String>,
    },
    /// A short scheduler load test.
    LoadTest {
        /// Iterations.
        iterations: u32,
        /// Schedules.
        schedules: u32,
        /// Signals per snapshot.
        signals: u32,
        /// Simulated strategy latency, ms.
        latency_ms: f64,
    },
    /// Suspend a schedule or tag through the RBAC-checked control API.
    Suspend {
        /// Schedule name, or…
        schedule: Option<String>,
        /// …a tag.
        tag: Option<String>,
        /// Why.
        reason: String,
        /// For how long.
        duration: Option<SimDuration>,
    },
    /// Lift a suspension.
    Resume {
        /// Schedule name, or…
        schedule: Option<String>,
        /// …a tag.
        tag: Option<String>,
    },
    /// Cap a strategy's signals.
    SetSignalLimit {
        /// Strategy name.
        strategy: String,
        /// Risk profile.
        profile: String,
        /// Cap.
        limit: u32,
        /// Why.
        reason: Option<String>,
        /// For how long.
        duration: Option<SimDuration>,
    },
}

/// One action on the timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedAction {
    /// 1-based position in the file.
    pub index: usize,
    /// When.
    pub at: SimTime,
    /// `do` as written.
    pub name: String,
    /// What.
    pub action: Action,
}

/// What an expectation checks.
#[derive(Debug, Clone, PartialEq)]
pub enum Check {
    /// An alert fires within `within` of a fault's start (or at all), optionally for a schedule.
    AlertFires {
        /// Rule name.
        alert: String,
        /// Reference instant (the fault's start), if any.
        after: Option<SimTime>,
        /// Deadline after `after`.
        within: Option<SimDuration>,
        /// Schedule label filter.
        schedule: Option<String>,
    },
    /// A firing alert resolves within `within` of a fault's end.
    AlertClears {
        /// Rule name.
        alert: String,
        /// The fault's end.
        after: SimTime,
        /// Deadline.
        within: SimDuration,
        /// Schedule label filter.
        schedule: Option<String>,
    },
    /// An alert never fires.
    AlertNeverFires {
        /// Rule name.
        alert: String,
        /// Schedule label filter.
        schedule: Option<String>,
    },
    /// An audit action returned a status and findings.
    AuditStatus {
        /// 1-based action index.
        action: usize,
        /// Expected status word.
        status: Option<String>,
        /// Check ids that must be warnings.
        warnings_include: Vec<String>,
        /// Check ids that must be issues.
        issues_include: Vec<String>,
    },
    /// No order in `[from, to)`.
    NoOrdersBetween {
        /// From.
        from: SimTime,
        /// To.
        to: SimTime,
        /// Schedule filter.
        schedule: Option<String>,
    },
    /// At least one order at or after `from`.
    OrdersAfter {
        /// From.
        from: SimTime,
        /// Schedule filter.
        schedule: Option<String>,
    },
    /// An escalation level first reached in a window.
    EscalationReached {
        /// Level.
        level: crate::escalation::Level,
        /// Not before (default: the start).
        after: Option<SimTime>,
        /// Deadline.
        by: SimTime,
    },
    /// Every decision-log line verifies and the chain is intact.
    DecisionLogVerifies,
    /// Final total PnL bounds (quote units).
    Pnl {
        /// Lower bound.
        above: Option<f64>,
        /// Upper bound.
        below: Option<f64>,
    },
    /// The total drawdown never went below this (percent, ≤ 0).
    DrawdownAbove {
        /// Bound.
        bound: f64,
    },
    /// A telemetry metric stayed within bounds.
    Metric {
        /// Metric key (no prefix).
        metric: String,
        /// Schedule filter.
        schedule: Option<String>,
        /// Upper bound.
        max: Option<f64>,
        /// Lower bound.
        min: Option<f64>,
    },
    /// A risk alert was raised (optionally by a time).
    RiskAlert {
        /// Kind (`kill_switch`, `instrument_exposure`, ...).
        kind: String,
        /// Deadline.
        by: Option<SimTime>,
    },
    /// A refusal reason occurred.
    Refusal {
        /// Reason code.
        reason: String,
    },
    /// A cross-exchange schedule never held an unhedged leg longer than this.
    MaxUnhedged {
        /// The schedule.
        schedule: String,
        /// Longest allowed.
        limit: SimDuration,
    },
    /// The rollback override went through exactly these states.
    Rollback {
        /// `activated`, `expired`, `removed`.
        states: Vec<String>,
    },
}

/// One expectation.
#[derive(Debug, Clone, PartialEq)]
pub struct Expectation {
    /// 1-based position in the file.
    pub index: usize,
    /// What it checks.
    pub check: Check,
    /// Text for reports.
    pub description: String,
}

/// Site settings for audit actions.
#[derive(Debug, Clone, PartialEq)]
pub struct SitePlan {
    /// Days since the mTLS rotation, at the scenario start.
    pub rotated_days_ago: f64,
    /// Certificate validity.
    pub cert_valid_days: u32,
    /// A certificate generated expired.
    pub expired: Option<CertRole>,
}

/// Engine choices.
#[derive(Debug, Clone, PartialEq)]
pub struct EnginePlan {
    /// Total capital, quote units.
    pub capital: f64,
    /// MR entry size as a fraction of schedule capital.
    pub position_size: f64,
    /// Capital policy.
    pub policy: PolicyConfig,
    /// Portfolio governor, if any.
    pub governor: Option<GovernorConfig>,
    /// Env variable with the decision-log key.
    pub key_env: String,
    /// Base inventory per venue as a fraction of capital.
    pub inventory: f64,
}

/// One schedule to run.
#[derive(Debug, Clone)]
pub struct PlannedSchedule {
    /// Scheduler spec.
    pub spec: ScheduleSpec,
    /// Strategy to build.
    pub strategy: StrategyConfig,
}

/// A runnable scenario.
#[derive(Debug, Clone)]
pub struct ScenarioPlan {
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// File it came from.
    pub file: PathBuf,
    /// Seed in use (the file's, or `--seed`).
    pub seed: u64,
    /// Start.
    pub start: SimTime,
    /// End.
    pub end: SimTime,
    /// Environment name.
    pub environment: String,
    /// Site settings.
    pub site: SitePlan,
    /// Engine settings.
    pub engine: EnginePlan,
    /// The simulated world (venue faults included).
    pub sim: SimConfig,
    /// Schedules.
    pub schedules: Vec<PlannedSchedule>,
    /// Every fault (venue, strategy latency, price shock).
    pub faults: Vec<PlannedFault>,
    /// Strategy-latency faults as compute spikes.
    pub compute_spikes: Vec<ComputeSpike>,
    /// Actions in time order (stable for equal times).
    pub actions: Vec<PlannedAction>,
    /// Expectations in file order.
    pub expectations: Vec<Expectation>,
}

impl ScenarioPlan {
    /// The offset of `t` from the start, as reports write it (`40m`, `1h05m`, `2m00.25s`).
    pub fn offset(&self, t: SimTime) -> String {
        format_offset(t.saturating_since(self.start).as_secs_f64())
    }
}

/// Loads and validates a scenario file.
pub fn load(path: &Path) -> Result<ScenarioPlan, ScenarioError> {
    let text = std::fs::read_to_string(path).map_err(|e| ScenarioError {
        file: path.display().to_string(),
        line: 0,
        column: 0,
        key: String::new(),
        message: format!("cannot read: {e}"),
    })?;
    parse(path, &text)
}

/// Parses and validates scenario text (`path` is used in errors).
pub fn parse(path: &Path, text: &str) -> Result<ScenarioPlan, ScenarioError> {
    let file = path.display().to_string();
    let loc = Locator { file: &file, text };
    let raw: RawScenario = toml::from_str(text).map_err(|e| {
        let span = e.span().unwrap_or(0..0);
        let message = e.message().trim().to_owned();
        loc.at(span, "", message)
    })?;
    resolve(&loc, path, raw)
}

fn duration(
    loc: &Locator<'_>,
    value: &Spanned<String>,
    key: &str,
) -> Result<SimDuration, ScenarioError> {
    SimDuration::parse(value.get_ref()).map_err(|e| loc.spanned(value, key, e.to_string()))
}

fn venue_id(
    loc: &Locator<'_>,
    value: &Spanned<String>,
    key: &str,
) -> Result<VenueId, ScenarioError> {
    VenueId::new(value.get_ref()).map_err(|e| loc.spanned(value, key, e.to_string()))
}

fn symbol_id(
    loc: &Locator<'_>,
    value: &Spanned<String>,
    key: &str,
) -> Result<Symbol, ScenarioError> {
    Symbol::new(value.get_ref()).map_err(|e| loc.spanned(value, key, e.to_string()))
}

/// `value` when it names one of `schedules`, else an error at `value`.
fn known_schedule(
    loc: &Locator<'_>,
    schedules: &[PlannedSchedule],
    value: &Spanned<String>,
    key: impl Into<String>,
) -> Result<String, ScenarioError> {
    let name = value.get_ref();
    if !schedules.iter().any(|p| p.spec.name == *name) {
        return Err(loc.spanned(value, key, format!("`{name}` is not a schedule")));
    }
    Ok(name.clone())
}

struct Timeline {
    start: SimTime,
    end: SimTime,
}

impl Timeline {
    /// An offset that must fall inside the run (`end` allowed when `inclusive_end`).
    fn at(
        &self,
        loc: &Locator<'_>,
        value: &Spanned<String>,
        key: &str,
        inclusive_end: bool,
    ) -> Result<SimTime, ScenarioError> {
        let d = duration(loc, value, key)?;
        let t = self.start + d;
        let past = if inclusive_end {
            t > self.end
        } else {
            t >= self.end
        };
        if past {
            return Err(loc.spanned(
                value,
                key,
                format!(
                    "{} is past the end of the scenario ({})",
                    value.get_ref(),
                    self.end.saturating_since(self.start)
                ),
            ));
        }
        Ok(t)
    }
}

fn resolve(
    loc: &Locator<'_>,
    path: &Path,
    raw: RawScenario,
) -> Result<ScenarioPlan, ScenarioError> {
    let start = SimTime::parse_rfc3339(raw.as_of.get_ref())
        .map_err(|e| loc.spanned(&raw.as_of, "as_of", e.to_string()))?;
    let length = duration(loc, &raw.duration, "duration")?;
    if length.is_zero() {
        return Err(loc.spanned(&raw.duration, "duration", "must be longer than 0s"));
    }
    let end = start + length;
    let timeline = Timeline { start, end };
    let default_profile = match &raw.risk_profile {
        Some(p) => profile_name(loc, p, "risk_profile")?,
        None => "balanced".to_owned(),
    };

    // ---- market
    let m = &raw.market;
    if m.venues.is_empty() {
        return Err(loc.at(0..0, "market.venues", "list at least one venue"));
    }
    let mut venues = Vec::new();
    for (i, v) in m.venues.iter().enumerate() {
        let id = venue_id(loc, v, &format!("market.venues[{i}]"))?;
        if venues.contains(&id) {
            return Err(loc.spanned(
                v,
                format!("market.venues[{i}]"),
                format!("venue `{id}` is listed twice"),
            ));
        }
        venues.push(id);
    }
    if m.symbols.is_empty() {
        return Err(loc.at(0..0, "market.symbols", "list at least one symbol"));
    }
    let mut symbols = Vec::new();
    for (i, s) in m.symbols.iter().enumerate() {
        let id = symbol_id(loc, s, &format!("market.symbols[{i}]"))?;
        if symbols.contains(&id) {
            return Err(loc.spanned(
                s,
                format!("market.symbols[{i}]"),
                format!("symbol `{id}` is listed twice"),
            ));
        }
        symbols.push(id);
    }
    let bar = duration(loc, &m.bar, "market.bar")?;
    if bar.is_zero() {
        return Err(loc.spanned(&m.bar, "market.bar", "must be longer than 0s"));
    }
    let mut sim = SimConfig::new(raw.seed, start, length, &venues, &symbols);
    sim.bar_intervals = vec![bar];
    if let Some(q) = &m.quote_interval {
        sim.quote_interval = duration(loc, q, "market.quote_interval")?;
    }
    for (name, tweaks) in &m.venue {
        let key = format!("market.venue.{name}");
        let id = VenueId::new(name).map_err(|e| loc.spanned(tweaks, &key, e.to_string()))?;
        let Some(cfg) = sim.venue_mut(id) else {
            return Err(loc.spanned(tweaks, &key, format!("`{name}` is not in market.venues")));
        };
        apply_venue(loc, tweaks, &key, cfg)?;
    }
    for symbol_cfg in &mut sim.symbols {
        symbol_cfg.model = m.model.clone();
    }
    for (name, tweaks) in &m.symbol {
        let key = format!("market.symbol.{name}");
        let Some(cfg) = sim.symbols.iter_mut().find(|s| s.symbol.as_str() == name) else {
            return Err(loc.spanned(tweaks, &key, format!("`{name}` is not in market.symbols")));
        };
        apply_symbol(tweaks.get_ref(), cfg);
    }

    // ---- schedules
    let mut schedules: Vec<PlannedSchedule> = Vec::new();
    for (i, s) in raw.schedules.iter().enumerate() {
        let planned = schedule(loc, i, s, &venues, &symbols, bar, &default_profile)?;
        if schedules.iter().any(|p| p.spec.name == planned.spec.name) {
            return Err(loc.spanned(
                &s.name,
                format!("schedules[{i}].name"),
                format!("schedule `{}` is defined twice", planned.spec.name),
            ));
        }
        schedules.push(planned);
    }
    if schedules.is_empty() {
        return Err(loc.at(0..0, "schedules", "define at least one [[schedules]] table"));
    }
    for (i, s) in raw.schedules.iter().enumerate() {
        for (j, f) in s.fallbacks.iter().enumerate() {
            known_schedule(loc, &schedules, f, format!("schedules[{i}].fallbacks[{j}]"))?;
        }
    }

    // ---- market history before the start, so warm-up bars exist at the first run
    let preroll = schedules
        .iter()
        .filter_map(|s| {
            s.spec
                .market
                .interval
                .checked_mul(u64::from(s.spec.warmup_bars))
        })
        .max()
        .unwrap_or(SimDuration::ZERO);
    if !preroll.is_zero() {
        let sim_start = (start - (preroll + bar)).floor_to(bar);
        sim.start = sim_start;
        sim.duration = end.saturating_since(sim_start);
    }

    // ---- faults
    let mut faults = Vec::new();
    let mut compute_spikes = Vec::new();
    for (i, f) in raw.faults.iter().enumerate() {
        let planned = fault(
            loc,
            i,
            f.get_ref(),
            &timeline,
            &venues,
            &symbols,
            &schedules,
        )?;
        match &planned.plan {
            FaultPlan::Venue(fault) => sim.faults.push(fault.clone()),
            FaultPlan::StrategyLatency { schedule, extra } => compute_spikes.push(ComputeSpike {
                schedule: schedule.clone(),
                from: planned.start,
                until: planned.end,
                extra: *extra,
            }),
            FaultPlan::PriceShock { symbol, move_pct } => {
                sim.shocks.push(stage4_sim::config::PriceShock {
                    symbol: *symbol,
                    start: planned.start,
                    end: planned.end,
                    move_pct: *move_pct,
                })
            }
        }
        faults.push(planned);
    }

    // ---- actions
    let mut actions = Vec::new();
    for (i, a) in raw.actions.iter().enumerate() {
        actions.push(action(loc, i, a.get_ref(), &timeline, &schedules)?);
    }
    actions.sort_by_key(|a| (a.at, a.index));

    // ---- expectations
    let mut expectations = Vec::new();
    for (i, e) in raw.expect.iter().enumerate() {
        expectations.push(expectation(
            loc, i, e, &timeline, &faults, &actions, &schedules,
        )?);
    }

    // ---- site and engine
    let site = match &raw.site {
        None => SitePlan {
            rotated_days_ago: 5.0,
            cert_valid_days: 365,
            expired: None,
        },
        Some(s) => SitePlan {
            rotated_days_ago: s.rotated_days_ago.unwrap_or(5.0),
            cert_valid_days: s.cert_valid_days.unwrap_or(365),
            expired: match &s.expired {
                None => None,
                Some(e) => Some(
                    e.get_ref()
                        .parse::<CertRole>()
                        .map_err(|m| loc.spanned(e, "site.expired", m))?,
                ),
            },
        },
    };
    let engine = match &raw.engine {
        None => EnginePlan {
            capital: 300_000.0,
            position_size: 0.1,
            policy: PolicyConfig {
                policy: CapitalPolicy::RiskParity,
                rebalance_seconds: None,
            },
            key_env: "LIVE_DECISION_LOG_HMAC".to_owned(),
            inventory: 0.5,
            governor: None,
        },
        Some(e) => EnginePlan {
            capital: e.capital.unwrap_or(300_000.0),
            position_size: e.position_size.unwrap_or(0.1),
            policy: match &e.capital_policy {
                None => PolicyConfig {
                    policy: CapitalPolicy::RiskParity,
                    rebalance_seconds: None,
                },
                Some(v) => CapitalPolicy::from_config(v)
                    .map_err(|err| loc.at(0..0, "engine.capital_policy", err.to_string()))?,
            },
            key_env: e
                .decision_log_key_env
                .clone()
                .unwrap_or_else(|| "LIVE_DECISION_LOG_HMAC".to_owned()),
            inventory: e.inventory.unwrap_or(0.5),
            governor: match &e.portfolio_governor {
                None => None,
                Some(v) => GovernorConfig::from_config(v).map_err(|err| {
                    let key = match err.key.as_str() {
                        "" => "engine.portfolio_governor".to_owned(),
                        key => format!("engine.portfolio_governor.{key}"),
                    };
                    loc.at(0..0, key, err.problem.to_string())
                })?,
            },
        },
    };
    if !(engine.capital.is_finite() && engine.capital > 0.0) {
        return Err(loc.at(0..0, "engine.capital", "must be a positive amount"));
    }
    if !(engine.position_size > 0.0 && engine.position_size <= 1.0) {
        return Err(loc.at(0..0, "engine.position_size", "must be in (0, 1]"));
    }
    // Let the simulator check everything it owns now, so a bad venue setting is a load error.
    stage4_sim::SimBuilder::new(sim.clone()).map_err(|e| loc.at(0..0, "market", e.to_string()))?;
    if let Some(governor) = engine.governor.as_ref().filter(|g| g.enabled) {
        check_governor_strategies(loc, governor, &schedules)?;
    }

    Ok(ScenarioPlan {
        name: raw.name.get_ref().clone(),
        description: raw.description.trim().to_owned(),
        file: path.to_owned(),
        seed: raw.seed,
        start,
        end,
        environment: raw
            .environment
            .clone()
            .unwrap_or_else(|| "scenario".to_owned()),
        site,
        engine,
        sim,
        schedules,
        faults,
        compute_spikes,
        actions,
        expectations,
    })
}

/// A governor that waits for every configured strategy's metrics before it rebalances
/// (`require_complete_metrics`, the reference default) never rebalances when it is configured
/// with a strategy no schedule runs: the scenario would silently run with the baselines. The
/// reference deployment has exactly this (`core_daily_trend` has no schedule), and so does
/// `portfolio_governor = true` with any scenario whose strategies are not named `core_*`.
/// Refused at load time, with the way out.
fn check_governor_strategies(
    loc: &Locator<'_>,
    governor: &GovernorConfig,
    schedules: &[PlannedSchedule],
) -> Result<(), ScenarioError> {
    let run: Vec<&str> = schedules
        .iter()
        .map(|s| s.spec.strategy_name.as_str())
        .collect();
    let never = governor.never_reporting(&run);
    if never.is_empty() {
        return Ok(());
    }
    Err(loc.at(
        0..0,
        "engine.portfolio_governor.strategies",
        format!(
            "configured for {}, which no schedule runs (the schedules run {}); with \
             require_complete_metrics the governor would never rebalance. Configure only the \
             strategies the schedules run, or set require_complete_metrics = false",
            never.join(", "),
            run.join(", ")
        ),
    ))
}

fn profile_name(
    loc: &Locator<'_>,
    p: &Spanned<String>,
    key: &str,
) -> Result<String, ScenarioError> {
    match p.get_ref().as_str() {
        "conservative" | "balanced" | "aggressive" => Ok(p.get_ref().clone()),
        other => Err(loc.spanned(
            p,
            key,
            format!(
                "unknown risk profile `{other}` (expected conservative, balanced or aggressive)"
            ),
        )),
    }
}

fn apply_venue(
    loc: &Locator<'_>,
    tweaks: &Spanned<super::raw::RawVenue>,
    key: &str,
    cfg: &mut VenueConfig,
) -> Result<(), ScenarioError> {
    let t = tweaks.get_ref();
    let parse = |text: &str, field: &str| {
        SimDuration::parse(text)
            .map_err(|e| loc.spanned(tweaks, format!("{key}.{field}"), e.to_string()))
    };
    if let Some(lag) = &t.lag {
        cfg.lag = parse(lag, "lag")?;
    }
    if let Some(b) = t.basis_bps {
        cfg.basis_bps = b;
    }
    if let Some(h) = &t.basis_half_life {
        cfg.basis_half_life = parse(h, "basis_half_life")?;
    }
    if let Some(s) = t.spread_bps {
        cfg.spread_bps = s;
    }
    if let Some(d) = &t.depth {
        cfg.depth = d.clone();
    }
    if let Some(f) = t.fees {
        cfg.fees = f;
    }
    if let Some(l) = &t.latency {
        cfg.latency = l.clone();
    }
    if let Some(r) = t.rate_limit {
        cfg.rate_limit = r;
    }
    Ok(())
}

fn apply_symbol(t: &super::raw::RawSymbol, cfg: &mut SymbolConfig) {
    if let Some(p) = t.start_price {
        cfg.start_price = Some(p);
    }
    if let Some(m) = &t.model {
        cfg.model = Some(m.clone());
    }
}

fn schedule(
    loc: &Locator<'_>,
    i: usize,
    s: &RawSchedule,
    venues: &[VenueId],
    symbols: &[Symbol],
    bar: SimDuration,
    default_profile: &str,
) -> Result<PlannedSchedule, ScenarioError> {
    let key = |field: &str| format!("schedules[{i}].{field}");
    let name = s.name.get_ref().clone();
    if stage4_engine::domain::StrategyId::new(&name).is_err() {
        return Err(loc.spanned(
            &s.name,
            key("name"),
            "use up to 31 letters, digits, `_`, `-`, `.` or `:`",
        ));
    }
    let strategy = s.strategy.get_ref().clone();
    strategy
        .validate()
        .map_err(|e| loc.spanned(&s.strategy, key("strategy"), e.to_string()))?;
    let (venue, secondary) = match &strategy {
        StrategyConfig::CrossExchangeArbitrage(p) => {
            for (field, v) in [
                ("primary_exchange", p.primary_exchange),
                ("secondary_exchange", p.secondary_exchange),
            ] {
                if !venues.contains(&v) {
                    return Err(loc.spanned(
                        &s.strategy,
                        key(&format!("strategy.{field}")),
                        format!("`{v}` is not in market.venues"),
                    ));
                }
            }
            (p.primary_exchange, Some(p.secondary_exchange))
        }
        _ => match &s.venue {
            Some(v) => {
                let id = venue_id(loc, v, &key("venue"))?;
                if !venues.contains(&id) {
                    return Err(loc.spanned(
                        v,
                        key("venue"),
                        format!("`{id}` is not in market.venues"),
                    ));
                }
                (id, None)
            }
            None => (venues[0], None),
        },
    };
    let symbols = match &s.symbols {
        None => symbols.to_vec(),
        Some(list) => {
            let mut out = Vec::new();
            for (j, sym) in list.iter().enumerate() {
                let id = symbol_id(loc, sym, &key(&format!("symbols[{j}]")))?;
                if !symbols.contains(&id) {
                    return Err(loc.spanned(
                        sym,
                        key(&format!("symbols[{j}]")),
                        format!("`{id}` is not in market.symbols"),
                    ));
                }
                out.push(id);
            }
            out
        }
    };
    let interval = match &s.interval {
        None => bar,
        Some(v) => {
            let d = duration(loc, v, &key("interval"))?;
            if d.is_zero() || d.as_nanos() % bar.as_nanos() != 0 {
                return Err(loc.spanned(
                    v,
                    key("interval"),
                    format!("must be a multiple of the market bar ({bar})"),
                ));
            }
            d
        }
    };
    let mut spec = ScheduleSpec::new(
        &name,
        ScheduleMarket {
            venue,
            secondary_venue: secondary,
            symbols,
            interval,
        },
    );
    spec.cadence = duration(loc, &s.cadence, &key("cadence"))?;
    if spec.cadence < SimDuration::from_secs(1) {
        return Err(loc.spanned(&s.cadence, key("cadence"), "must be at least 1s"));
    }
    if let Some(d) = &s.max_drift {
        spec.max_drift = duration(loc, d, &key("max_drift"))?;
    }
    if let Some(w) = s.warmup_bars {
        spec.warmup_bars = w;
    }
    spec.risk_profile = match &s.risk_profile {
        Some(p) => profile_name(loc, p, &key("risk_profile"))?,
        None => default_profile.to_owned(),
    };
    if let Some(n) = s.max_signals {
        if n == 0 {
            return Err(loc.spanned(&s.name, key("max_signals"), "must be at least 1"));
        }
        spec.max_signals = n;
    }
    spec.priority = s.priority.unwrap_or(0);
    spec.tags = s.tags.clone();
    for (j, w) in s.windows.iter().enumerate() {
        spec.windows.push(
            TradingWindow::parse(w.get_ref())
                .map_err(|e| loc.spanned(w, key(&format!("windows[{j}]")), e.to_string()))?,
        );
    }
    spec.fallbacks = s.fallbacks.iter().map(|f| f.get_ref().clone()).collect();
    Ok(PlannedSchedule { spec, strategy })
}

fn fault(
    loc: &Locator<'_>,
    i: usize,
    f: &RawFault,
    timeline: &Timeline,
    venues: &[VenueId],
    symbols: &[Symbol],
    schedules: &[PlannedSchedule],
) -> Result<PlannedFault, ScenarioError> {
    let key = |field: &str| format!("faults[{i}].{field}");
    let start = timeline.at(loc, &f.at, &key("at"), false)?;
    let end = match (&f.for_, &f.until) {
        (Some(d), None) => {
            let len = duration(loc, d, &key("for"))?;
            if len.is_zero() {
                return Err(loc.spanned(d, key("for"), "must be longer than 0s"));
            }
            (start + len).min(timeline.end)
        }
        (None, Some(u)) => {
            let t = timeline.at(loc, u, &key("until"), true)?;
            if t <= start {
                return Err(loc.spanned(u, key("until"), "must be after `at`"));
            }
            t
        }
        _ => return Err(loc.spanned(&f.kind, key("for"), "give exactly one of `for` or `until`")),
    };
    let kind = f.kind.get_ref().as_str();
    let reject_extra = |allowed: &[&str]| -> Result<(), ScenarioError> {
        let given = [
            ("schedule", f.schedule.is_some()),
            ("latency", f.latency.is_some()),
            ("venue", f.venue.is_some()),
            ("symbol", f.symbol.is_some()),
            ("move_pct", f.move_pct.is_some()),
            ("operation", f.operation.is_some()),
            ("factor", f.factor.is_some()),
            ("extra", f.extra.is_some()),
            ("probability", f.probability.is_some()),
            ("offset_ms", f.offset_ms.is_some()),
            ("delay", f.delay.is_some()),
        ];
        match given.iter().find(|(k, set)| *set && !allowed.contains(k)) {
            Some((k, _)) => Err(loc.spanned(
                &f.kind,
                key(k),
                format!(
                    "`{k}` does not apply to a `{kind}` fault (it takes: {})",
                    allowed.join(", ")
                ),
            )),
            None => Ok(()),
        }
    };
    let plan = match kind {
        "strategy_latency" => {
            reject_extra(&["schedule", "latency"])?;
            let sched = f.schedule.as_ref().ok_or_else(|| {
                loc.spanned(
                    &f.kind,
                    key("schedule"),
                    "a `strategy_latency` fault needs `schedule`",
                )
            })?;
            let schedule = known_schedule(loc, schedules, sched, key("schedule"))?;
            let lat = f.latency.as_ref().ok_or_else(|| {
                loc.spanned(
                    &f.kind,
                    key("latency"),
                    "a `strategy_latency` fault needs `latency` (e.g. \"300ms\")",
                )
            })?;
            FaultPlan::StrategyLatency {
                schedule,
                extra: duration(loc, lat, &key("latency"))?,
            }
        }
        "price_shock" => {
            reject_extra(&["symbol", "move_pct"])?;
            let sym = f.symbol.as_ref().ok_or_else(|| {
                loc.spanned(
                    &f.kind,
                    key("symbol"),
                    "a `price_shock` fault needs `symbol`",
                )
            })?;
            let id = symbol_id(loc, sym, &key("symbol"))?;
            if !symbols.contains(&id) {
                return Err(loc.spanned(
                    sym,
                    key("symbol"),
                    format!("`{id}` is not in market.symbols"),
                ));
            }
            let pct = f.move_pct.ok_or_else(|| {
                loc.spanned(
                    &f.kind,
                    key("move_pct"),
                    "a `price_shock` fault needs `move_pct` (e.g. -12)",
                )
            })?;
            if !(pct.is_finite() && pct > -95.0 && pct != 0.0) {
                return Err(loc.spanned(
                    &f.kind,
                    key("move_pct"),
                    "must be a non-zero percentage above -95",
                ));
            }
            FaultPlan::PriceShock {
                symbol: id,
                move_pct: pct,
            }
        }
        "latency_spike" | "outage" | "stale_feed" | "gapped_feed" | "reject_storm"
        | "clock_skew" | "feed_delay" => {
            // Each venue-fault kind takes `venue` and a few fields of its own.
            reject_extra(match kind {
                "latency_spike" => &["venue", "operation", "factor", "extra"],
                "outage" | "stale_feed" => &["venue"],
                "gapped_feed" | "reject_storm" => &["venue", "probability"],
                "clock_skew" => &["venue", "offset_ms"],
                _ => &["venue", "delay"],
            })?;
            let v = f.venue.as_ref().ok_or_else(|| {
                loc.spanned(
                    &f.kind,
                    key("venue"),
                    format!("a `{kind}` fault needs `venue`"),
                )
            })?;
            let venue = venue_id(loc, v, &key("venue"))?;
            if !venues.contains(&venue) {
                return Err(loc.spanned(
                    v,
                    key("venue"),
                    format!("`{venue}` is not in market.venues"),
                ));
            }
            let dur = |text: &Option<String>,
                       field: &str|
             -> Result<Option<SimDuration>, ScenarioError> {
                text.as_deref()
                    .map(|t| {
                        SimDuration::parse(t)
                            .map_err(|e| loc.spanned(&f.kind, key(field), e.to_string()))
                    })
                    .transpose()
            };
            let need = |field: &str| {
                loc.spanned(
                    &f.kind,
                    key(field),
                    format!("a `{kind}` fault needs `{field}`"),
                )
            };
            let fk = match kind {
                "latency_spike" => {
                    let operation = match f.operation.as_deref() {
                        Some("order_entry") => Operation::OrderEntry,
                        Some("reports") => Operation::Reports,
                        Some("market_data") => Operation::MarketData,
                        Some(other) => return Err(loc.spanned(&f.kind, key("operation"), format!("unknown operation `{other}` (expected order_entry, reports or market_data)"))),
                        None => return Err(need("operation")),
                    };
                    FaultKind::LatencySpike {
                        operation,
                        factor: f.factor.unwrap_or(1),
                        extra: dur(&f.extra, "extra")?.unwrap_or(SimDuration::ZERO),
                    }
                }
                "outage" | "stale_feed" => {
                    if kind == "outage" {
                        FaultKind::Outage
                    } else {
                        FaultKind::StaleFeed
                    }
                }
                "gapped_feed" | "reject_storm" => {
                    if kind == "gapped_feed" {
                        FaultKind::GappedFeed {
                            probability: f.probability.unwrap_or(1.0),
                        }
                    } else {
                        FaultKind::RejectStorm {
                            probability: f.probability.ok_or_else(|| need("probability"))?,
                        }
                    }
                }
                "clock_skew" => FaultKind::ClockSkew {
                    offset_ms: f.offset_ms.ok_or_else(|| need("offset_ms"))?,
                },
                _ => FaultKind::FeedDelay {
                    delay: dur(&f.delay, "delay")?.ok_or_else(|| need("delay"))?,
                },
            };
            let fault = Fault {
                venue,
                start,
                end,
                kind: fk,
            };
            fault
                .validate(&key(""))
                .map_err(|e| loc.spanned(&f.kind, key("kind"), e.to_string()))?;
            FaultPlan::Venue(fault)
        }
        other => {
            return Err(loc.spanned(
                &f.kind,
                key("kind"),
                format!("unknown fault kind `{other}` (expected strategy_latency, price_shock, latency_spike, outage, stale_feed, gapped_feed, reject_storm, clock_skew or feed_delay)"),
            ));
        }
    };
    Ok(PlannedFault {
        index: i + 1,
        kind: kind.to_owned(),
        start,
        end,
        plan,
    })
}

/// Parses audit flags with the CLI's own argument structs, so a scenario can only use flags the
/// command accepts.
#[derive(Debug, Parser)]
#[command(name = "compliance", no_binary_name = true)]
struct ComplianceFlags {
    #[command(flatten)]
    args: ComplianceArgs,
}

#[derive(Debug, Parser)]
#[command(name = "security-baseline", no_binary_name = true)]
struct BaselineFlags {
    #[command(flatten)]
    args: BaselineArgs,
}

/// The compliance flags an action gives, parsed by the CLI's parser.
pub fn compliance_args(flags: &[String]) -> Result<ComplianceArgs, String> {
    ComplianceFlags::try_parse_from(flags)
        .map(|f| f.args)
        .map_err(|e| first_line(&e.to_string()))
}

/// The baseline flags an action gives, parsed by the CLI's parser.
pub fn baseline_args(flags: &[String]) -> Result<BaselineArgs, String> {
    BaselineFlags::try_parse_from(flags)
        .map(|f| f.args)
        .map_err(|e| first_line(&e.to_string()))
}

fn first_line(text: &str) -> String {
    text.lines()
        .next()
        .unwrap_or("")
        .trim_start_matches("error: ")
        .to_owned()
}

fn action(
    loc: &Locator<'_>,
    i: usize,
    a: &RawAction,
    timeline: &Timeline,
    schedules: &[PlannedSchedule],
) -> Result<PlannedAction, ScenarioError> {
    let key = |field: &str| format!("actions[{i}].{field}");
    let at = timeline.at(loc, &a.at, &key("at"), false)?;
    let name = a.action.get_ref().clone();
    let opt_duration = |d: &Option<Spanned<String>>| -> Result<Option<SimDuration>, ScenarioError> {
        d.as_ref()
            .map(|d| duration(loc, d, &key("duration")))
            .transpose()
    };
    let need =
        |field: &str| loc.spanned(&a.action, key(field), format!("`{name}` needs `{field}`"));
    let given: [(&str, bool); 17] = [
        ("flags", !a.flags.is_empty()),
        ("reason", a.reason.is_some()),
        ("ticket", a.ticket.is_some()),
        ("requested_by", a.requested_by.is_some()),
        ("duration", a.duration.is_some()),
        ("severity", a.severity.is_some()),
        ("level", a.level.is_some()),
        ("note", a.note.is_some()),
        ("environment", a.environment.is_some()),
        ("schedule", a.schedule.is_some()),
        ("tag", a.tag.is_some()),
        ("strategy", a.strategy.is_some()),
        ("profile", a.profile.is_some()),
        ("limit", a.limit.is_some()),
        ("iterations", a.iterations.is_some()),
        ("schedules", a.schedules.is_some()),
        ("signals", a.signals.is_some() || a.latency_ms.is_some()),
    ];
    let allow = |allowed: &[&str]| -> Result<(), ScenarioError> {
        match given.iter().find(|(k, set)| *set && !allowed.contains(k)) {
            Some((k, _)) => Err(loc.spanned(
                &a.action,
                key(k),
                format!(
                    "`{k}` does not apply to `{name}` (it takes: {})",
                    allowed.join(", ")
                ),
            )),
            None => Ok(()),
        }
    };
    let schedule_or_tag = || -> Result<(Option<String>, Option<String>), ScenarioError> {
        match (&a.schedule, &a.tag) {
            (Some(s), None) => Ok((
                Some(known_schedule(loc, schedules, s, key("schedule"))?),
                None,
            )),
            (None, Some(t)) => Ok((None, Some(t.clone()))),
            _ => Err(loc.spanned(
                &a.action,
                key("schedule"),
                format!("`{name}` needs exactly one of `schedule` or `tag`"),
            )),
        }
    };
    let action = match name.as_str() {
        "audit_compliance" => {
            allow(&["flags"])?;
            compliance_args(&a.flags).map_err(|e| loc.spanned(&a.action, key("flags"), e))?;
            Action::AuditCompliance {
                flags: a.flags.clone(),
            }
        }
        "audit_baseline" => {
            allow(&["flags"])?;
            baseline_args(&a.flags).map_err(|e| loc.spanned(&a.action, key("flags"), e))?;
            Action::AuditBaseline {
                flags: a.flags.clone(),
            }
        }
        "check_key_rotation" | "rotate_key" => {
            allow(&["environment"])?;
            let environment = a.environment.clone().ok_or_else(|| need("environment"))?;
            if name == "rotate_key" {
                Action::RotateKey { environment }
            } else {
                Action::CheckKeyRotation { environment }
            }
        }
        "disable_multi_strategy" => {
            allow(&["reason", "ticket", "requested_by", "duration"])?;
            let reason = a
                .reason
                .clone()
                .filter(|r| !r.trim().is_empty())
                .ok_or_else(|| need("reason"))?;
            Action::Disable {
                reason,
                ticket: a.ticket.clone(),
                requested_by: a.requested_by.clone(),
                duration: opt_duration(&a.duration)?,
            }
        }
        "restore_multi_strategy" => {
            allow(&["ticket"])?;
            Action::Restore {
                ticket: a.ticket.clone(),
            }
        }
        "incident_open" | "incident_ack" | "incident_escalate" | "incident_resolve" => {
            allow(&["ticket", "severity", "level", "note", "requested_by"])?;
            let step = match name.as_str() {
                "incident_open" => IncidentStep::Open,
                "incident_ack" => IncidentStep::Acknowledge,
                "incident_escalate" => IncidentStep::Escalate,
                _ => IncidentStep::Resolve,
            };
            if let Some(sev) = &a.severity
                && stage4_engine::decision_log::entry::IncidentSeverity::from_name(sev).is_none()
            {
                return Err(loc.spanned(
                    &a.action,
                    key("severity"),
                    format!(
                        "unknown severity `{sev}` (expected info, warning, critical or sev1 … sev4)"
                    ),
                ));
            }
            if let Some(level) = &a.level
                && stage4_engine::decision_log::entry::SupportLevel::from_name(level).is_none()
            {
                return Err(loc.spanned(&a.action, key("level"), format!("unknown support level `{level}` (expected L1, L2, tech_lead or incident_manager)")));
            }
            Action::Incident {
                step,
                ticket: a.ticket.clone().ok_or_else(|| need("ticket"))?,
                severity: a.severity.clone(),
                level: a.level.clone(),
                note: a.note.clone(),
                actor: a.requested_by.clone(),
            }
        }
        "load_test" => {
            allow(&["iterations", "schedules", "signals"])?;
            let iterations = a.iterations.unwrap_or(10);
            let n = a.schedules.unwrap_or(3);
            if iterations == 0 || n == 0 {
                return Err(loc.spanned(
                    &a.action,
                    key("iterations"),
                    "iterations and schedules must be at least 1",
                ));
            }
            let latency_ms = a.latency_ms.unwrap_or(2.0);
            if !(latency_ms.is_finite() && latency_ms >= 0.0) {
                return Err(loc.spanned(&a.action, key("latency_ms"), "must be zero or positive"));
            }
            Action::LoadTest {
                iterations,
                schedules: n,
                signals: a.signals.unwrap_or(4).max(1),
                latency_ms,
            }
        }
        "suspend_schedule" => {
            allow(&["schedule", "tag", "reason", "duration"])?;
            let (schedule, tag) = schedule_or_tag()?;
            Action::Suspend {
                schedule,
                tag,
                reason: a.reason.clone().unwrap_or_default(),
                duration: opt_duration(&a.duration)?,
            }
        }
        "resume_schedule" => {
            allow(&["schedule", "tag"])?;
            let (schedule, tag) = schedule_or_tag()?;
            Action::Resume { schedule, tag }
        }
        "set_signal_limit" => {
            allow(&["strategy", "profile", "limit", "reason", "duration"])?;
            Action::SetSignalLimit {
                strategy: a.strategy.clone().ok_or_else(|| need("strategy"))?,
                profile: a.profile.clone().ok_or_else(|| need("profile"))?,
                limit: a.limit.ok_or_else(|| need("limit"))?,
                reason: a.reason.clone(),
                duration: opt_duration(&a.duration)?,
            }
        }
        other => {
            return Err(loc.spanned(
                &a.action,
                key("do"),
                format!("unknown action `{other}` (expected audit_compliance, audit_baseline, check_key_rotation, rotate_key, disable_multi_strategy, restore_multi_strategy, incident_open, incident_ack, incident_escalate, incident_resolve, load_test, suspend_schedule, resume_schedule or set_signal_limit)"),
            ));
        }
    };
    Ok(PlannedAction {
        index: i + 1,
        at,
        name,
        action,
    })
}

fn expectation(
    loc: &Locator<'_>,
    i: usize,
    spanned: &Spanned<RawExpect>,
    timeline: &Timeline,
    faults: &[PlannedFault],
    actions: &[PlannedAction],
    schedules: &[PlannedSchedule],
) -> Result<Expectation, ScenarioError> {
    let e = spanned.get_ref();
    let key = |field: &str| {
        if field.is_empty() {
            format!("expect[{i}]")
        } else {
            format!("expect[{i}].{field}")
        }
    };
    let whole = |field: &str, msg: String| loc.spanned(spanned, key(field), msg);
    let selectors = [
        ("alert", e.alert.is_some()),
        ("action", e.action.is_some()),
        ("no_orders_between", e.no_orders_between.is_some()),
        ("orders_after", e.orders_after.is_some()),
        ("escalation_reached", e.escalation_reached.is_some()),
        ("decision_log", e.decision_log.is_some()),
        (
            "pnl_above/pnl_below",
            e.pnl_above.is_some() || e.pnl_below.is_some(),
        ),
        ("drawdown_above", e.drawdown_above.is_some()),
        ("metric", e.metric.is_some()),
        ("risk_alert", e.risk_alert.is_some()),
        ("refusal", e.refusal.is_some()),
        ("max_unhedged", e.max_unhedged.is_some()),
        ("rollback", e.rollback.is_some()),
    ];
    let chosen: Vec<&str> = selectors
        .iter()
        .filter(|(_, set)| *set)
        .map(|(k, _)| *k)
        .collect();
    let selector = match chosen.as_slice() {
        [one] => *one,
        [] => return Err(whole("", "an expectation needs a condition: one of alert, action, no_orders_between, orders_after, escalation_reached, decision_log, pnl_above/pnl_below, drawdown_above, metric, risk_alert, refusal, max_unhedged or rollback".into())),
        many => return Err(whole("", format!("one condition per [[expect]] table, found {}", many.join(" and ")))),
    };
    let schedule = e
        .schedule
        .as_ref()
        .map(|s| known_schedule(loc, schedules, s, key("schedule")))
        .transpose()?;
    let fault_ref = || -> Result<Option<&PlannedFault>, ScenarioError> {
        match &e.fault {
            Some(n) => faults
                .get(n.get_ref().wrapping_sub(1))
                .map(Some)
                .ok_or_else(|| {
                    loc.spanned(
                        n,
                        key("fault"),
                        format!(
                            "there is no fault {} (the file has {})",
                            n.get_ref(),
                            faults.len()
                        ),
                    )
                }),
            None => Ok(faults.first()),
        }
    };
    let check = match selector {
        "alert" => {
            let alert = e.alert.clone().expect("selected");
            if !stage4_engine::telemetry::RuleGroup::stage4()
                .rules
                .iter()
                .any(|r| r.name == alert)
            {
                return Err(whole("alert", format!("unknown alert rule `{alert}`")));
            }
            match (e.fires, &e.fires_within, &e.clears_within) {
                (Some(false), None, None) => Check::AlertNeverFires { alert, schedule },
                (Some(false), _, _) => {
                    return Err(whole(
                        "fires",
                        "`fires = false` cannot be combined with fires_within/clears_within".into(),
                    ));
                }
                (_, fires_within, None) => {
                    let fault = fault_ref()?;
                    let within = fires_within
                        .as_ref()
                        .map(|d| duration(loc, d, &key("fires_within")))
                        .transpose()?;
                    if within.is_some() && fault.is_none() {
                        return Err(whole(
                            "fires_within",
                            "fires_within needs a fault to measure from; the file has none".into(),
                        ));
                    }
                    Check::AlertFires {
                        alert,
                        after: fault.map(|f| f.start),
                        within,
                        schedule,
                    }
                }
                (_, None, Some(clears)) => {
                    let fault = fault_ref()?.ok_or_else(|| {
                        whole(
                            "clears_within",
                            "clears_within needs a fault to measure from; the file has none".into(),
                        )
                    })?;
                    Check::AlertClears {
                        alert,
                        after: fault.end,
                        within: duration(loc, clears, &key("clears_within"))?,
                        schedule,
                    }
                }
                (_, Some(_), Some(_)) => {
                    return Err(whole(
                        "clears_within",
                        "write fires_within and clears_within as two [[expect]] tables".into(),
                    ));
                }
            }
        }
        "action" => {
            let n = e.action.as_ref().expect("selected");
            let planned = actions
                .iter()
                .find(|a| a.index == *n.get_ref())
                .ok_or_else(|| {
                    loc.spanned(
                        n,
                        key("action"),
                        format!("there is no action {}", n.get_ref()),
                    )
                })?;
            if !matches!(
                planned.action,
                Action::AuditCompliance { .. }
                    | Action::AuditBaseline { .. }
                    | Action::CheckKeyRotation { .. }
                    | Action::LoadTest { .. }
            ) {
                return Err(loc.spanned(
                    n,
                    key("action"),
                    format!(
                        "action {} (`{}`) has no status to check (audits and load tests do)",
                        n.get_ref(),
                        planned.name
                    ),
                ));
            }
            if e.status.is_none() && e.warnings_include.is_empty() && e.issues_include.is_empty() {
                return Err(whole(
                    "status",
                    "give status, warnings_include or issues_include".into(),
                ));
            }
            if let Action::LoadTest { .. } = planned.action {
                if !(e.warnings_include.is_empty() && e.issues_include.is_empty()) {
                    return Err(whole(
                        "warnings_include",
                        "a load test has a status (`pass` or `fail`), not findings".into(),
                    ));
                }
                if let Some(status) = e
                    .status
                    .as_deref()
                    .filter(|s| !["pass", "fail"].contains(s))
                {
                    return Err(whole(
                        "status",
                        format!("`{status}` is not a load-test status (expected pass or fail)"),
                    ));
                }
            }
            Check::AuditStatus {
                action: *n.get_ref(),
                status: e.status.clone(),
                warnings_include: e.warnings_include.clone(),
                issues_include: e.issues_include.clone(),
            }
        }
        "no_orders_between" => {
            let pair = e.no_orders_between.as_ref().expect("selected");
            let [a, b] = pair.get_ref();
            let span = pair.span();
            let to_t = |text: &str, field: &str| -> Result<SimTime, ScenarioError> {
                let d = SimDuration::parse(text)
                    .map_err(|err| loc.at(span.clone(), key(field), err.to_string()))?;
                let t = timeline.start + d;
                if t > timeline.end {
                    return Err(loc.at(
                        span.clone(),
                        key(field),
                        format!("{text} is past the end of the scenario"),
                    ));
                }
                Ok(t)
            };
            let (from, to) = (to_t(a, "no_orders_between")?, to_t(b, "no_orders_between")?);
            if to <= from {
                return Err(loc.at(
                    span,
                    key("no_orders_between"),
                    "the second time must be after the first",
                ));
            }
            Check::NoOrdersBetween { from, to, schedule }
        }
        "orders_after" => Check::OrdersAfter {
            from: timeline.at(
                loc,
                e.orders_after.as_ref().expect("selected"),
                &key("orders_after"),
                false,
            )?,
            schedule,
        },
        "escalation_reached" => {
            let name = e.escalation_reached.clone().expect("selected");
            let level = crate::escalation::Level::from_name(&name).ok_or_else(|| {
                whole(
                    "escalation_reached",
                    format!(
                        "unknown level `{name}` (expected L1, L2, tech_lead or incident_manager)"
                    ),
                )
            })?;
            let by = match &e.by {
                Some(b) => timeline.at(loc, b, &key("by"), true)?,
                None => timeline.end,
            };
            let after = e
                .after
                .as_ref()
                .map(|a| timeline.at(loc, a, &key("after"), true))
                .transpose()?;
            if after.is_some_and(|a| a > by) {
                return Err(whole("after", "`after` must not be later than `by`".into()));
            }
            Check::EscalationReached { level, after, by }
        }
        "decision_log" => {
            if e.decision_log.as_deref() != Some("verifies") {
                return Err(whole(
                    "decision_log",
                    "the only decision_log condition is \"verifies\"".into(),
                ));
            }
            Check::DecisionLogVerifies
        }
        "pnl_above/pnl_below" => Check::Pnl {
            above: e.pnl_above,
            below: e.pnl_below,
        },
        "drawdown_above" => {
            let bound = e.drawdown_above.expect("selected");
            if bound > 0.0 {
                return Err(whole(
                    "drawdown_above",
                    "drawdown is ≤ 0 percent; give a negative bound like -5".into(),
                ));
            }
            Check::DrawdownAbove { bound }
        }
        "metric" => {
            if e.max.is_none() && e.min.is_none() {
                return Err(whole(
                    "max",
                    "a metric condition needs `max` or `min`".into(),
                ));
            }
            Check::Metric {
                metric: e.metric.clone().expect("selected"),
                schedule,
                max: e.max,
                min: e.min,
            }
        }
        "risk_alert" => Check::RiskAlert {
            kind: {
                let kind = e.risk_alert.clone().expect("selected");
                let known: Vec<&str> = stage4_engine::risk::RiskAlertKind::ALL
                    .iter()
                    .map(|k| k.code())
                    .collect();
                if !known.contains(&kind.as_str()) {
                    return Err(whole(
                        "risk_alert",
                        format!(
                            "unknown risk alert `{kind}` (expected one of {})",
                            known.join(", ")
                        ),
                    ));
                }
                kind
            },
            by: e
                .by
                .as_ref()
                .map(|b| timeline.at(loc, b, &key("by"), true))
                .transpose()?,
        },
        "refusal" => Check::Refusal {
            reason: e.refusal.clone().expect("selected"),
        },
        "max_unhedged" => {
            let limit = duration(
                loc,
                e.max_unhedged.as_ref().expect("selected"),
                &key("max_unhedged"),
            )?;
            let schedule = schedule.ok_or_else(|| {
                whole(
                    "schedule",
                    "max_unhedged needs `schedule` (a cross-exchange schedule)".into(),
                )
            })?;
            let planned = schedules
                .iter()
                .find(|p| p.spec.name == schedule)
                .expect("checked above");
            if planned.spec.market.secondary_venue.is_none() {
                return Err(whole(
                    "schedule",
                    format!("`{schedule}` is not a cross-exchange schedule"),
                ));
            }
            Check::MaxUnhedged { schedule, limit }
        }
        _ => {
            let states = e.rollback.clone().expect("selected");
            if let Some(bad) = states
                .iter()
                .find(|s| !["activated", "expired", "removed"].contains(&s.as_str()))
            {
                return Err(whole(
                    "rollback",
                    format!(
                        "unknown rollback state `{bad}` (expected activated, expired or removed)"
                    ),
                ));
            }
            Check::Rollback { states }
        }
    };
    let description = e
        .description
        .clone()
        .unwrap_or_else(|| describe(&check, timeline.start));
    Ok(Expectation {
        index: i + 1,
        check,
        description,
    })
}

fn describe(check: &Check, start: SimTime) -> String {
    let off = |t: SimTime| format_offset(t.saturating_since(start).as_secs_f64());
    let sched = |s: &Option<String>| s.as_ref().map(|s| format!(" for {s}")).unwrap_or_default();
    match check {
        Check::AlertFires {
            alert,
            within: Some(w),
            schedule,
            ..
        } => format!("{alert} fires{} within {w} of the fault", sched(schedule)),
        Check::AlertFires {
            alert, schedule, ..
        } => format!("{alert} fires{}", sched(schedule)),
        Check::AlertClears {
            alert,
            within,
            schedule,
            ..
        } => format!(
            "{alert} clears{} within {within} of the fault's end",
            sched(schedule)
        ),
        Check::AlertNeverFires { alert, schedule } => {
            format!("{alert} never fires{}", sched(schedule))
        }
        Check::AuditStatus { action, status, .. } => match status {
            Some(s) => format!("audit (action {action}) returns {s}"),
            None => format!("audit (action {action}) reports the expected findings"),
        },
        Check::NoOrdersBetween { from, to, schedule } => format!(
            "no orders{} between {} and {}",
            sched(schedule),
            off(*from),
            off(*to)
        ),
        Check::OrdersAfter { from, schedule } => {
            format!("orders{} after {}", sched(schedule), off(*from))
        }
        Check::EscalationReached {
            level,
            after: None,
            by,
        } => format!("escalation reaches {level} by {}", off(*by)),
        Check::EscalationReached {
            level,
            after: Some(a),
            by,
        } => format!(
            "escalation first reaches {level} between {} and {}",
            off(*a),
            off(*by)
        ),
        Check::DecisionLogVerifies => "every decision-log line verifies".to_owned(),
        Check::Pnl { above, below } => match (above, below) {
            (Some(a), Some(b)) => format!("final PnL between {a} and {b}"),
            (Some(a), None) => format!("final PnL above {a}"),
            (None, Some(b)) => format!("final PnL below {b}"),
            (None, None) => "final PnL".to_owned(),
        },
        Check::DrawdownAbove { bound } => format!("drawdown never below {bound} %"),
        Check::Metric {
            metric,
            schedule,
            max,
            min,
        } => {
            let bounds = match (min, max) {
                (Some(lo), Some(hi)) => format!("within [{lo}, {hi}]"),
                (None, Some(hi)) => format!("≤ {hi}"),
                (Some(lo), None) => format!("≥ {lo}"),
                (None, None) => String::new(),
            };
            format!("{metric}{} stays {bounds}", sched(schedule))
        }
        Check::RiskAlert { kind, by } => match by {
            Some(b) => format!("risk alert {kind} by {}", off(*b)),
            None => format!("risk alert {kind} is raised"),
        },
        Check::Refusal { reason } => format!("an order is refused with {reason}"),
        Check::MaxUnhedged { schedule, limit } => {
            format!("{schedule} never holds an unhedged leg longer than {limit}")
        }
        Check::Rollback { states } => format!("rollback override goes {}", states.join(" → ")),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A minimal valid plan (one venue, symbol and schedule, one load-test action); other
    /// modules' tests build their plans from it too.
    pub(crate) const BASE: &str = r#"
name = "unit"
description = "unit test"
seed = 1
as_of = "2026-11-28T09:00:00Z"
duration = "1h"

[market]
venues = ["binance"]
symbols = ["BTC_USDT"]
bar = "1m"

[[schedules]]
name = "mr_core"
strategy = { kind = "mean_reversion", lookback = 30 }
cadence = "60s"

[[actions]]
at = "10m"
do = "load_test"
iterations = 5
schedules = 2
"#;

    fn check(extra: &str) -> Result<ScenarioPlan, String> {
        parse(Path::new("unit.toml"), &format!("{BASE}\n{extra}")).map_err(|e| e.to_string())
    }

    #[test]
    fn the_base_loads_with_a_load_test_expectation() {
        let plan = check("[[expect]]\naction = 1\nstatus = \"pass\"").unwrap();
        assert_eq!(plan.expectations.len(), 1);
    }

    #[test]
    fn bad_expectations_name_the_key_and_what_was_expected() {
        let cases = [
            (
                "[[expect]]\naction = 1\nstatus = \"warn\"",
                "`expect[0].status`: `warn` is not a load-test status (expected pass or fail)",
            ),
            (
                "[[expect]]\naction = 1\nwarnings_include = [\"x\"]",
                "a load test has a status (`pass` or `fail`), not findings",
            ),
            (
                "[[expect]]\naction = 2\nstatus = \"pass\"",
                "there is no action 2",
            ),
            (
                "[[expect]]\nrisk_alert = \"killswitch\"",
                "unknown risk alert `killswitch` (expected one of kill_switch,",
            ),
            ("[[expect]]\nrisk_alert = \"kill_switch\"", ""),
        ];
        for (extra, want) in cases {
            match check(extra) {
                Ok(_) => assert!(want.is_empty(), "{extra:?} loaded, expected {want:?}"),
                Err(e) => assert!(
                    !want.is_empty() && e.contains(want),
                    "{extra:?}: got {e:?}, expected {want:?}"
                ),
            }
        }
    }

    #[test]
    fn fault_fields_and_schedule_names_are_checked_where_they_are_written() {
        let fault = |kind: &str, fields: &str| {
            format!(
                "[[faults]]\nat = \"5m\"\nfor = \"5m\"\nkind = \"{kind}\"\nvenue = \"binance\"\n{fields}"
            )
        };
        let cases = [
            (
                fault("latency_spike", "operation = \"reports\"\nprobability = 0.5"),
                "`faults[0].probability`: `probability` does not apply to a `latency_spike` fault (it takes: venue, operation, factor, extra)",
            ),
            (
                fault("outage", "delay = \"1s\"\nfactor = 2"),
                "`faults[0].factor`: `factor` does not apply to a `outage` fault (it takes: venue)",
            ),
            (
                fault("gapped_feed", "probability = 0.5\noffset_ms = 10"),
                "`faults[0].offset_ms`: `offset_ms` does not apply to a `gapped_feed` fault (it takes: venue, probability)",
            ),
            (
                fault("clock_skew", "offset_ms = 10\nextra = \"1s\""),
                "`faults[0].extra`: `extra` does not apply to a `clock_skew` fault (it takes: venue, offset_ms)",
            ),
            (
                fault("feed_delay", "delay = \"1s\"\noffset_ms = 10"),
                "`faults[0].offset_ms`: `offset_ms` does not apply to a `feed_delay` fault (it takes: venue, delay)",
            ),
            (fault("clock_skew", "offset_ms = 10"), ""),
            (
                "[[schedules]]\nname = \"mr_two\"\nstrategy = { kind = \"mean_reversion\", lookback = 30 }\ncadence = \"60s\"\nfallbacks = [\"mr_nope\"]".to_owned(),
                "`schedules[1].fallbacks[0]`: `mr_nope` is not a schedule",
            ),
            (
                "[[expect]]\nalert = \"MultiStrategySchedulerLatencyHigh\"\nfires = false\nschedule = \"mr_nope\"".to_owned(),
                "`expect[0].schedule`: `mr_nope` is not a schedule",
            ),
        ];
        for (extra, want) in cases {
            match check(&extra) {
                Ok(_) => assert!(want.is_empty(), "{extra:?} loaded, expected {want:?}"),
                Err(e) => assert!(
                    !want.is_empty() && e.contains(want),
                    "{extra:?}: got {e:?}, expected {want:?}"
                ),
            }
        }
    }
}
