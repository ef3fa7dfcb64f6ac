//! The evaluator: a policy over a run's observations gives the escalations, in time order.
//!
//! Pure and deterministic: the only clock is the observations' own timestamps (and the
//! deadlines derived from them, such as "alert start + 5 min"), the same observations always
//! give the same records in the same order. Every rule is **edge-triggered**: it fires at the
//! first instant its condition holds for a subject (an alert period, a schedule, an audit
//! tool, the account's PnL, the host's CPU), then stays quiet for that subject until the
//! condition has cleared (re-armed). The exact instants are in the module doc of [`super`].

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use stage4_engine::decision_log::Json;
use stage4_engine::decision_log::entry::IncidentAction;
use stage4_engine::domain::{SimDuration, SimTime};
use stage4_engine::telemetry::alerts::{ALERTNAME_LABEL, AlertTransition, TransitionKind};
use stage4_engine::telemetry::metrics::LabelSet;
use stage4_engine::telemetry::rules::Severity;

use super::policy::{AuditStatus, Condition, Filter, Level, Policy, Trigger, severity_from_name};

/// The label that carries an alert's schedule.
pub const SCHEDULE_LABEL: &str = "schedule";

/// `schedule` filter value that makes `no_signals` watch the portfolio as a whole: silence
/// means no schedule at all emitted a signal (the reference's "no signals despite live data":
/// one quiet strategy is normal, a silent portfolio is not).
pub const ANY_SCHEDULE: &str = "*";

/// One period during which an alert instance was firing.
#[derive(Clone, Debug, PartialEq)]
pub struct AlertPeriod {
    /// The alert rule (`alertname`), e.g. `MultiStrategySchedulerLatencyHigh`.
    pub rule: String,
    /// The alert's labels (`schedule`, ...).
    pub labels: BTreeMap<String, String>,
    /// The rule's severity.
    pub severity: Severity,
    /// When it started firing.
    pub firing_from: SimTime,
    /// When it resolved; `None` when still firing at the end of the run.
    pub resolved_at: Option<SimTime>,
}

/// The label that carries an alert's severity.
pub const SEVERITY_LABEL: &str = "severity";

impl AlertPeriod {
    /// The firing periods in the alert evaluator's transitions (engine telemetry): each
    /// `firing` opens a period of its alert instance (rule + labels), the next `resolved` of
    /// that instance closes it; `pending` and `cleared` never fired, so they are skipped.
    /// The severity comes from the `severity` label; `alertname` and `severity` are not
    /// repeated in [`AlertPeriod::labels`]. Periods are ordered by `firing_from`.
    pub fn from_transitions(
        transitions: &[AlertTransition],
    ) -> Result<Vec<AlertPeriod>, ObservationError> {
        let bad = |t: &AlertTransition, reason: String| ObservationError::BadAlertTransition {
            rule: t.rule.clone(),
            at: t.at,
            reason,
        };
        let mut open: BTreeMap<(&str, &LabelSet), usize> = BTreeMap::new();
        let mut periods: Vec<AlertPeriod> = Vec::new();
        for t in transitions {
            let instance = (t.rule.as_str(), &t.labels);
            match t.kind {
                TransitionKind::Pending | TransitionKind::Cleared => {}
                TransitionKind::Firing => {
                    if open.contains_key(&instance) {
                        return Err(bad(t, format!("{} fires again before resolving", t.labels)));
                    }
                    let severity = t
                        .labels
                        .get(SEVERITY_LABEL)
                        .and_then(severity_from_name)
                        .ok_or_else(|| {
                            bad(
                                t,
                                format!(
                                    "{} has no `severity` label of info, warning or critical",
                                    t.labels
                                ),
                            )
                        })?;
                    let labels = t
                        .labels
                        .iter()
                        .filter(|(k, _)| *k != ALERTNAME_LABEL && *k != SEVERITY_LABEL)
                        .map(|(k, v)| (k.to_owned(), v.to_owned()))
                        .collect();
                    open.insert(instance, periods.len());
                    periods.push(AlertPeriod {
                        rule: t.rule.clone(),
                        labels,
                        severity,
                        firing_from: t.at,
                        resolved_at: None,
                    });
                }
                TransitionKind::Resolved => match open.remove(&instance) {
                    Some(index) => periods[index].resolved_at = Some(t.at),
                    None => {
                        return Err(bad(t, format!("{} resolves without firing", t.labels)));
                    }
                },
            }
        }
        periods.sort_by_key(|p| p.firing_from);
        Ok(periods)
    }
}

/// An operator's step on an incident ticket.
#[derive(Clone, Debug, PartialEq)]
pub struct IncidentEvent {
    /// When.
    pub at: SimTime,
    /// The ticket, e.g. `INC-2042`.
    pub ticket: String,
    /// Open, acknowledge, escalate or resolve.
    pub action: IncidentAction,
    /// The level acting (or escalated to), when recorded. Informational: rules do not read it.
    pub level: Option<Level>,
}

/// How many signals one scheduler run of one schedule emitted.
#[derive(Clone, Debug, PartialEq)]
pub struct SignalCount {
    /// When the run happened.
    pub at: SimTime,
    /// The schedule.
    pub schedule: String,
    /// Signals emitted (0 for an empty run).
    pub signals: u64,
}

/// The account's PnL of the day at one instant.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PnlSample {
    /// When.
    pub at: SimTime,
    /// PnL since the start of the UTC day, in quote units (negative is a loss).
    pub pnl_of_day: f64,
}

/// The process's CPU use at one instant.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CpuSample {
    /// When.
    pub at: SimTime,
    /// CPU use in percent of one core (100 = one core busy).
    pub cpu_percent: f64,
}

/// An audit's outcome.
#[derive(Clone, Debug, PartialEq)]
pub struct AuditOutcome {
    /// When it ran (its `--as-of`).
    pub at: SimTime,
    /// Which tool, e.g. `audit compliance`.
    pub tool: String,
    /// Its overall status.
    pub status: AuditStatus,
}

/// What happened during a run, as the escalation rules see it. Every time must lie in
/// `start ..= end`; lists may be in any order (each is read in time order, ties in list order).
#[derive(Clone, Debug, PartialEq)]
pub struct Observations {
    /// Start of the run (the silence of `no_signals` is counted from here).
    pub start: SimTime,
    /// End of the run: nothing fires after it.
    pub end: SimTime,
    /// The schedules expected to emit signals (watched by `no_signals` even if they never ran).
    pub schedules: Vec<String>,
    /// Alert firing periods.
    pub alerts: Vec<AlertPeriod>,
    /// Incident steps.
    pub incidents: Vec<IncidentEvent>,
    /// Per-run signal counts.
    pub signals: Vec<SignalCount>,
    /// PnL of the day samples.
    pub pnl: Vec<PnlSample>,
    /// The daily loss limit in quote units (positive); needed by `pnl_loss_vs_daily_limit`
    /// when there are PnL samples.
    pub daily_loss_limit: Option<f64>,
    /// CPU samples; each value holds until the next sample.
    pub cpu: Vec<CpuSample>,
    /// The CPU budget in percent (`runtime.resource_limits.cpu_percent`); needed by
    /// `cpu_over_budget` when there are CPU samples.
    pub cpu_budget_percent: Option<f64>,
    /// Audit outcomes.
    pub audits: Vec<AuditOutcome>,
}

impl Observations {
    /// An empty run from `start` to `end`.
    pub fn new(start: SimTime, end: SimTime) -> Observations {
        Observations {
            start,
            end,
            schedules: Vec::new(),
            alerts: Vec::new(),
            incidents: Vec::new(),
            signals: Vec::new(),
            pnl: Vec::new(),
            daily_loss_limit: None,
            cpu: Vec::new(),
            cpu_budget_percent: None,
            audits: Vec::new(),
        }
    }
}

/// Observations the evaluator cannot read: a broken contract of whoever recorded them.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ObservationError {
    /// `end` before `start`.
    #[error("the run ends ({end}) before it starts ({start})")]
    EndBeforeStart {
        /// Start.
        start: SimTime,
        /// End.
        end: SimTime,
    },
    /// A time outside `start ..= end`.
    #[error("{what} at {at} is outside the run ({start} .. {end})")]
    OutsideRun {
        /// Which observation.
        what: String,
        /// Its time.
        at: SimTime,
        /// Start of the run.
        start: SimTime,
        /// End of the run.
        end: SimTime,
    },
    /// Alert transitions that do not pair up into firing periods.
    #[error("alert transition {rule} at {at}: {reason}")]
    BadAlertTransition {
        /// The alert rule.
        rule: String,
        /// When.
        at: SimTime,
        /// What is wrong.
        reason: String,
    },
    /// An alert period that resolves when or before it starts firing.
    #[error("alert {rule} resolves at {resolved_at}, not after it starts firing at {firing_from}")]
    EmptyAlertPeriod {
        /// The alert rule.
        rule: String,
        /// Start.
        firing_from: SimTime,
        /// Resolution.
        resolved_at: SimTime,
    },
    /// A sample that is NaN, infinite or (for CPU) negative.
    #[error("{what} at {at} is {value}, expected a finite number{hint}")]
    BadSample {
        /// Which series.
        what: &'static str,
        /// Its time.
        at: SimTime,
        /// The value (as text, NaN included).
        value: String,
        /// What else is expected.
        hint: &'static str,
    },
    /// A rule needs a limit or budget the observations do not carry.
    #[error("rule {rule} ({condition}) needs {needs}, but the observations have none")]
    MissingReference {
        /// The rule's name.
        rule: String,
        /// Its condition.
        condition: Condition,
        /// What is missing.
        needs: &'static str,
    },
    /// A limit or budget that is not a positive finite number.
    #[error("{what} is {value}, expected a finite number greater than 0")]
    BadReference {
        /// Which one.
        what: &'static str,
        /// The value (as text).
        value: String,
    },
}

/// One rule firing: who is engaged, when, and why.
///
/// Serialised (see [`to_jsonl`]) as `{action, at, condition, detail, level, rule}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Escalation {
    /// The instant the condition was first met.
    pub at: SimTime,
    /// The rule: its `id`, or `#n` for the n-th rule of the checklist.
    pub rule: String,
    /// The rule's condition.
    pub condition: Condition,
    /// Who is engaged.
    pub level: Level,
    /// What they do (the rule's `action`).
    pub action: String,
    /// What was seen, for people.
    pub detail: String,
}

/// The highest level any escalation engaged at or before `by`; `None` when none had fired.
pub fn highest_level_by(escalations: &[Escalation], by: SimTime) -> Option<Level> {
    escalations
        .iter()
        .filter(|e| e.at <= by)
        .map(|e| e.level)
        .max()
}

/// `escalation.jsonl`: one compact JSON object per record, keys sorted, times RFC 3339, each
/// line ending in `\n` (empty text for no records).
pub fn to_jsonl(escalations: &[Escalation]) -> String {
    let mut out = String::new();
    for e in escalations {
        let json = Json::from_serialize(e).expect("escalations serialise to JSON");
        json.write_canonical(&mut out);
        out.push('\n');
    }
    out
}

/// Evaluates every rule of `policy` over `obs`. Records are ordered by time, then by rule
/// position in the checklist, then by subject (alert periods in list order, schedules and
/// tools by name).
pub fn evaluate(policy: &Policy, obs: &Observations) -> Result<Vec<Escalation>, ObservationError> {
    check(obs)?;
    let run = Run::new(obs);
    let mut out: Vec<(usize, Escalation)> = Vec::new();
    for (index, rule) in policy.rules.iter().enumerate() {
        let name = policy.rule_name(index);
        let mut fire = |at: SimTime, detail: String| {
            if at <= obs.end {
                out.push((
                    index,
                    Escalation {
                        at,
                        rule: name.clone(),
                        condition: rule.trigger.condition(),
                        level: rule.level,
                        action: rule.action.clone(),
                        detail,
                    },
                ));
            }
        };
        match rule.trigger {
            Trigger::AlertFiring => {
                for p in run.alerts(&rule.filter) {
                    fire(p.firing_from, format!("{} firing", describe_alert(p)));
                }
            }
            Trigger::ProblemPersists { after } => {
                for p in run.alerts(&rule.filter) {
                    let deadline = p.firing_from + after;
                    if still_firing(p, deadline) {
                        fire(
                            deadline,
                            format!(
                                "{} firing since {} ({after})",
                                describe_alert(p),
                                p.firing_from
                            ),
                        );
                    }
                }
            }
            Trigger::AlertUnacknowledged { after } => {
                for p in run.alerts(&rule.filter) {
                    let deadline = p.firing_from + after;
                    let acknowledged = run
                        .acknowledgements
                        .iter()
                        .any(|ack| ack.at >= p.firing_from && ack.at <= deadline);
                    if still_firing(p, deadline) && !acknowledged {
                        fire(
                            deadline,
                            format!(
                                "{} firing since {}, no incident acknowledged within {after}",
                                describe_alert(p),
                                p.firing_from
                            ),
                        );
                    }
                }
            }
            Trigger::NoSignals { after } => {
                for schedule in run.watched_schedules(&rule.filter) {
                    for (silent_from, deadline) in run.silences(schedule, after) {
                        let since = if silent_from == obs.start {
                            format!("since the run started at {silent_from}")
                        } else {
                            format!("since {silent_from}")
                        };
                        let who = if schedule == ANY_SCHEDULE {
                            "no schedule emitted a signal".to_owned()
                        } else {
                            format!("schedule {schedule}: no signals")
                        };
                        fire(deadline, format!("{who} {since} ({after})"));
                    }
                }
            }
            Trigger::PnlLossVsDailyLimit { multiple } => {
                if run.pnl.is_empty() {
                    continue;
                }
                let limit = reference(obs.daily_loss_limit, "the daily loss limit", || {
                    ObservationError::MissingReference {
                        rule: policy.rule_name(index),
                        condition: Condition::PnlLossVsDailyLimit,
                        needs: "the daily loss limit (daily_loss_limit)",
                    }
                })?;
                let bound = multiple * limit;
                let mut armed = true;
                for s in &run.pnl {
                    let loss = -s.pnl_of_day;
                    if loss > bound {
                        if armed {
                            fire(
                                s.at,
                                format!(
                                    "loss of the day {loss:.2} exceeds {multiple} x the daily loss limit {limit:.2} ({bound:.2})"
                                ),
                            );
                        }
                        armed = false;
                    } else {
                        armed = true;
                    }
                }
            }
            Trigger::CpuOverBudget { multiple, after } => {
                if run.cpu.is_empty() {
                    continue;
                }
                let budget = reference(obs.cpu_budget_percent, "the CPU budget", || {
                    ObservationError::MissingReference {
                        rule: policy.rule_name(index),
                        condition: Condition::CpuOverBudget,
                        needs: "the CPU budget (cpu_budget_percent)",
                    }
                })?;
                let bound = multiple * budget;
                for (since, deadline) in over_budget(&run.cpu, bound, after, obs.end) {
                    fire(
                        deadline,
                        format!(
                            "CPU above {bound:.1} % ({multiple} x the {budget} % budget) since {since} ({after})"
                        ),
                    );
                }
            }
            Trigger::AuditStatus { at_least } => {
                let mut armed: BTreeMap<&str, bool> = BTreeMap::new();
                for a in &run.audits {
                    if rule.filter.tool.as_ref().is_some_and(|t| *t != a.tool) {
                        continue;
                    }
                    let armed = armed.entry(a.tool.as_str()).or_insert(true);
                    if a.status >= at_least {
                        if *armed {
                            fire(
                                a.at,
                                format!(
                                    "audit `{}` returned {} (fires on {at_least} or worse)",
                                    a.tool, a.status
                                ),
                            );
                        }
                        *armed = false;
                    } else {
                        *armed = true;
                    }
                }
            }
        }
    }
    // Stable: within one (time, rule) the subjects keep the order they were visited in.
    out.sort_by_key(|(index, e)| (e.at, *index));
    Ok(out.into_iter().map(|(_, e)| e).collect())
}

/// The observations sorted by time (ties keep list order), as the rules read them.
struct Run<'a> {
    start: SimTime,
    end: SimTime,
    alerts: &'a [AlertPeriod],
    acknowledgements: Vec<&'a IncidentEvent>,
    schedules: BTreeSet<&'a str>,
    signals: Vec<&'a SignalCount>,
    pnl: Vec<PnlSample>,
    cpu: Vec<CpuSample>,
    audits: Vec<&'a AuditOutcome>,
}

impl<'a> Run<'a> {
    fn new(obs: &'a Observations) -> Run<'a> {
        let mut signals: Vec<&SignalCount> = obs.signals.iter().collect();
        signals.sort_by_key(|s| s.at);
        let mut pnl = obs.pnl.clone();
        pnl.sort_by_key(|s| s.at);
        let mut cpu = obs.cpu.clone();
        cpu.sort_by_key(|s| s.at);
        let mut audits: Vec<&AuditOutcome> = obs.audits.iter().collect();
        audits.sort_by_key(|a| a.at);
        let schedules = obs
            .schedules
            .iter()
            .map(String::as_str)
            .chain(obs.signals.iter().map(|s| s.schedule.as_str()))
            .collect();
        Run {
            start: obs.start,
            end: obs.end,
            alerts: &obs.alerts,
            acknowledgements: obs
                .incidents
                .iter()
                .filter(|i| i.action == IncidentAction::Acknowledge)
                .collect(),
            schedules,
            signals,
            pnl,
            cpu,
            audits,
        }
    }

    fn alerts<'f>(&self, filter: &'f Filter) -> impl Iterator<Item = &'a AlertPeriod> + 'f
    where
        'a: 'f,
    {
        self.alerts.iter().filter(move |p| {
            filter.severity.is_none_or(|min| p.severity >= min)
                && filter.alert.as_ref().is_none_or(|name| *name == p.rule)
                && filter
                    .schedule
                    .as_ref()
                    .is_none_or(|s| p.labels.get(SCHEDULE_LABEL) == Some(s))
        })
    }

    /// The schedule a `no_signals` rule watches, every known schedule separately, or — with
    /// `schedule = "*"` — the whole portfolio as one subject.
    fn watched_schedules<'f>(&self, filter: &'f Filter) -> Vec<&'f str>
    where
        'a: 'f,
    {
        match &filter.schedule {
            Some(s) => vec![s.as_str()],
            None => self.schedules.iter().copied().collect(),
        }
    }

    /// Each silence of `schedule` that reached `after`: `(silent since, deadline)`.
    ///
    /// A silence starts at the run start or at a run that emitted signals, and is broken by
    /// the next run that emitted signals; a productive run exactly at the deadline is in time.
    fn silences(&self, schedule: &str, after: SimDuration) -> Vec<(SimTime, SimTime)> {
        let mut out = Vec::new();
        let mut silent_from = self.start;
        let productive = self
            .signals
            .iter()
            .filter(|s| (schedule == ANY_SCHEDULE || s.schedule == schedule) && s.signals > 0);
        for run in productive {
            let deadline = silent_from + after;
            if deadline < run.at {
                out.push((silent_from, deadline));
            }
            silent_from = run.at;
        }
        let deadline = silent_from + after;
        if deadline <= self.end {
            out.push((silent_from, deadline));
        }
        out
    }
}

/// Each episode of CPU above `bound` that lasted `after`: `(episode start, deadline)`. A
/// sample's value holds until the next sample; a sample back under the bound exactly at the
/// deadline ends the episode in time.
fn over_budget(
    samples: &[CpuSample],
    bound: f64,
    after: SimDuration,
    end: SimTime,
) -> Vec<(SimTime, SimTime)> {
    let mut out = Vec::new();
    // (episode start, already fired)
    let mut episode: Option<(SimTime, bool)> = None;
    for s in samples {
        if s.cpu_percent > bound {
            let (since, fired) = episode.get_or_insert((s.at, false));
            if !*fired && *since + after <= s.at {
                out.push((*since, *since + after));
                *fired = true;
            }
        } else {
            if let Some((since, false)) = episode
                && since + after < s.at
            {
                out.push((since, since + after));
            }
            episode = None;
        }
    }
    if let Some((since, false)) = episode
        && since + after <= end
    {
        out.push((since, since + after));
    }
    out
}

fn still_firing(p: &AlertPeriod, at: SimTime) -> bool {
    p.resolved_at.is_none_or(|r| r > at)
}

fn describe_alert(p: &AlertPeriod) -> String {
    let labels: Vec<String> = p.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    if labels.is_empty() {
        format!("alert {} ({})", p.rule, p.severity.as_str())
    } else {
        format!(
            "alert {}{{{}}} ({})",
            p.rule,
            labels.join(","),
            p.severity.as_str()
        )
    }
}

fn reference(
    value: Option<f64>,
    what: &'static str,
    missing: impl FnOnce() -> ObservationError,
) -> Result<f64, ObservationError> {
    let value = value.ok_or_else(missing)?;
    if value.is_finite() && value > 0.0 {
        Ok(value)
    } else {
        Err(ObservationError::BadReference {
            what,
            value: value.to_string(),
        })
    }
}

/// The contract of [`Observations`]: times inside the run, real periods, finite samples.
fn check(obs: &Observations) -> Result<(), ObservationError> {
    let (start, end) = (obs.start, obs.end);
    if end < start {
        return Err(ObservationError::EndBeforeStart { start, end });
    }
    let inside = |what: &dyn Fn() -> String, at: SimTime| {
        if at < start || at > end {
            Err(ObservationError::OutsideRun {
                what: what(),
                at,
                start,
                end,
            })
        } else {
            Ok(())
        }
    };
    for p in &obs.alerts {
        inside(&|| format!("alert {} firing_from", p.rule), p.firing_from)?;
        if let Some(r) = p.resolved_at {
            inside(&|| format!("alert {} resolved_at", p.rule), r)?;
            if r <= p.firing_from {
                return Err(ObservationError::EmptyAlertPeriod {
                    rule: p.rule.clone(),
                    firing_from: p.firing_from,
                    resolved_at: r,
                });
            }
        }
    }
    for i in &obs.incidents {
        inside(
            &|| format!("incident {} {}", i.ticket, i.action.as_str()),
            i.at,
        )?;
    }
    for s in &obs.signals {
        inside(&|| format!("signal count of schedule {}", s.schedule), s.at)?;
    }
    for s in &obs.pnl {
        inside(&|| "PnL sample".to_owned(), s.at)?;
        if !s.pnl_of_day.is_finite() {
            return Err(ObservationError::BadSample {
                what: "PnL of the day",
                at: s.at,
                value: s.pnl_of_day.to_string(),
                hint: "",
            });
        }
    }
    for s in &obs.cpu {
        inside(&|| "CPU sample".to_owned(), s.at)?;
        if !s.cpu_percent.is_finite() || s.cpu_percent < 0.0 {
            return Err(ObservationError::BadSample {
                what: "CPU percent",
                at: s.at,
                value: s.cpu_percent.to_string(),
                hint: " and not negative",
            });
        }
    }
    for a in &obs.audits {
        inside(&|| format!("audit `{}`", a.tool), a.at)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
