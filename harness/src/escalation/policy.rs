//! The escalation policy as typed values: levels, conditions and the rules built from them.
//!
//! A [`Rule`] can only hold what its condition needs (a duration for the timed conditions,
//! a multiple for the money and CPU ones, an audit status for audits), so the evaluator never
//! meets a half-specified rule. Rules come from a checklist file ([`super::checklist`]);
//! [`DEFAULT_CHECKLIST`] is the reference playbooks' rules, shipped as
//! `fixtures/escalation/default.jsonl` and embedded here from that same file.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use stage4_engine::domain::SimDuration;
use stage4_engine::telemetry::rules::Severity;
use stage4_reports::baseline::BaselineStatus;
use stage4_reports::compliance::ComplianceStatus;

/// The default checklist (the reference support rules), byte for byte the fixture file.
pub const DEFAULT_CHECKLIST: &str = include_str!("../../../fixtures/escalation/default.jsonl");

/// Who is engaged. Ordered: `L1` < `L2` < `tech_lead` < `incident_manager`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// First line (NOC): acknowledges alerts, runs the L1 checklist.
    L1,
    /// Operations: compares audits, runs the load test, rolls back.
    L2,
    /// The strategy team's tech lead (strategy incident playbook).
    TechLead,
    /// The Incident Manager: major incidents, external communication.
    IncidentManager,
}

impl Level {
    /// Every level, lowest first.
    pub const ALL: [Level; 4] = [
        Level::L1,
        Level::L2,
        Level::TechLead,
        Level::IncidentManager,
    ];

    /// The checklist name: `L1`, `L2`, `tech_lead`, `incident_manager`.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::L1 => "L1",
            Level::L2 => "L2",
            Level::TechLead => "tech_lead",
            Level::IncidentManager => "incident_manager",
        }
    }

    /// Parses a checklist name, exactly as [`Level::as_str`] writes it.
    pub fn from_name(name: &str) -> Option<Level> {
        Level::ALL.into_iter().find(|l| l.as_str() == name)
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The closed set of things a rule can watch. See the module doc of [`super`] for the exact
/// meaning of each.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Condition {
    /// An alert is firing.
    AlertFiring,
    /// An alert has fired for `duration` with no incident acknowledgement since it started.
    AlertUnacknowledged,
    /// An alert has been firing continuously for `duration`.
    ProblemPersists,
    /// A schedule emitted no signals for `duration`.
    NoSignals,
    /// The loss of the day exceeds `threshold` × the daily loss limit.
    PnlLossVsDailyLimit,
    /// CPU above `threshold` × the budget for `duration`.
    CpuOverBudget,
    /// An audit returned `threshold` or worse.
    AuditStatus,
}

/// What a condition's `threshold` must be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ThresholdKind {
    /// The condition has no threshold (`null` or absent).
    None,
    /// A finite number greater than zero (a multiple of a limit or budget).
    Multiple,
    /// An audit status word: `ok`, `warn` or `fail`.
    AuditStatus,
}

impl Condition {
    /// Every condition, in documentation order.
    pub const ALL: [Condition; 7] = [
        Condition::AlertFiring,
        Condition::AlertUnacknowledged,
        Condition::ProblemPersists,
        Condition::NoSignals,
        Condition::PnlLossVsDailyLimit,
        Condition::CpuOverBudget,
        Condition::AuditStatus,
    ];

    /// The checklist name, e.g. `alert_unacknowledged`.
    pub fn as_str(self) -> &'static str {
        match self {
            Condition::AlertFiring => "alert_firing",
            Condition::AlertUnacknowledged => "alert_unacknowledged",
            Condition::ProblemPersists => "problem_persists",
            Condition::NoSignals => "no_signals",
            Condition::PnlLossVsDailyLimit => "pnl_loss_vs_daily_limit",
            Condition::CpuOverBudget => "cpu_over_budget",
            Condition::AuditStatus => "audit_status",
        }
    }

    /// Parses a checklist name, exactly as [`Condition::as_str`] writes it.
    pub fn from_name(name: &str) -> Option<Condition> {
        Condition::ALL.into_iter().find(|c| c.as_str() == name)
    }

    /// Whether the condition waits for a `duration` (required) rather than firing on the
    /// event itself (`duration` absent, `null` or `0s`).
    pub fn is_timed(self) -> bool {
        matches!(
            self,
            Condition::AlertUnacknowledged
                | Condition::ProblemPersists
                | Condition::NoSignals
                | Condition::CpuOverBudget
        )
    }

    /// What `threshold` must be for this condition.
    pub fn threshold_kind(self) -> ThresholdKind {
        match self {
            Condition::PnlLossVsDailyLimit | Condition::CpuOverBudget => ThresholdKind::Multiple,
            Condition::AuditStatus => ThresholdKind::AuditStatus,
            _ => ThresholdKind::None,
        }
    }

    /// Whether the condition is about alerts (and so accepts the `severity` and `alert`
    /// filters).
    pub fn is_about_alerts(self) -> bool {
        matches!(
            self,
            Condition::AlertFiring | Condition::AlertUnacknowledged | Condition::ProblemPersists
        )
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An audit's overall result, ordered by how bad it is: `ok` < `warn` < `fail`.
///
/// The compliance audit uses these words; the security baseline's `warning`/`error` convert
/// to `warn`/`fail` (the `From` impls below).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AuditStatus {
    /// No findings.
    Ok,
    /// Warnings only.
    Warn,
    /// At least one failing check.
    Fail,
}

impl AuditStatus {
    /// `ok`, `warn` or `fail`.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditStatus::Ok => "ok",
            AuditStatus::Warn => "warn",
            AuditStatus::Fail => "fail",
        }
    }

    /// Parses `ok`, `warn`, `fail`, exactly.
    pub fn from_name(name: &str) -> Option<AuditStatus> {
        match name {
            "ok" => Some(AuditStatus::Ok),
            "warn" => Some(AuditStatus::Warn),
            "fail" => Some(AuditStatus::Fail),
            _ => None,
        }
    }
}

impl From<ComplianceStatus> for AuditStatus {
    fn from(status: ComplianceStatus) -> AuditStatus {
        match status {
            ComplianceStatus::Ok => AuditStatus::Ok,
            ComplianceStatus::Warn => AuditStatus::Warn,
            ComplianceStatus::Fail => AuditStatus::Fail,
        }
    }
}

impl From<BaselineStatus> for AuditStatus {
    fn from(status: BaselineStatus) -> AuditStatus {
        match status {
            BaselineStatus::Ok => AuditStatus::Ok,
            BaselineStatus::Warning => AuditStatus::Warn,
            BaselineStatus::Error => AuditStatus::Fail,
        }
    }
}

impl fmt::Display for AuditStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Parses an alert severity name (`info`, `warning`, `critical`).
pub fn severity_from_name(name: &str) -> Option<Severity> {
    [Severity::Info, Severity::Warning, Severity::Critical]
        .into_iter()
        .find(|s| s.as_str() == name)
}

/// A condition with its parameters: only the combinations that mean something exist.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Trigger {
    /// An alert started firing.
    AlertFiring,
    /// An alert still fires `after` its start and nobody acknowledged an incident meanwhile.
    AlertUnacknowledged {
        /// The acknowledgement deadline (5 min in the reference).
        after: SimDuration,
    },
    /// An alert still fires `after` its start.
    ProblemPersists {
        /// How long it may fire before escalating (5 min in the reference).
        after: SimDuration,
    },
    /// A schedule emitted no signal for `after`.
    NoSignals {
        /// Longest acceptable silence (15 min in the reference).
        after: SimDuration,
    },
    /// The loss of the day exceeds `multiple` × the daily loss limit.
    PnlLossVsDailyLimit {
        /// Multiple of the limit (3 in the reference).
        multiple: f64,
    },
    /// CPU above `multiple` × the budget for `after`.
    CpuOverBudget {
        /// Multiple of the budget (1.2 = 120 % in the reference).
        multiple: f64,
        /// How long it may stay above (10 min in the reference; `0s` fires on the first sample).
        after: SimDuration,
    },
    /// An audit returned `at_least` or worse.
    AuditStatus {
        /// The least bad status that fires (`fail` in the reference).
        at_least: AuditStatus,
    },
}

impl Trigger {
    /// The condition this trigger implements.
    pub fn condition(&self) -> Condition {
        match self {
            Trigger::AlertFiring => Condition::AlertFiring,
            Trigger::AlertUnacknowledged { .. } => Condition::AlertUnacknowledged,
            Trigger::ProblemPersists { .. } => Condition::ProblemPersists,
            Trigger::NoSignals { .. } => Condition::NoSignals,
            Trigger::PnlLossVsDailyLimit { .. } => Condition::PnlLossVsDailyLimit,
            Trigger::CpuOverBudget { .. } => Condition::CpuOverBudget,
            Trigger::AuditStatus { .. } => Condition::AuditStatus,
        }
    }
}

/// Narrows what a rule looks at. Each filter applies only to some conditions (the checklist
/// parser refuses the others): `severity` and `alert` to the alert conditions, `schedule` to
/// the alert conditions and `no_signals`, `tool` to `audit_status`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    /// Only alerts of this severity or worse (`warning` also matches `critical`).
    pub severity: Option<Severity>,
    /// Only alerts of this rule (`alertname`), e.g. `MultiStrategySchedulerLatencyHigh`.
    pub alert: Option<String>,
    /// Only this schedule (the alert's `schedule` label, or the schedule whose signals count).
    pub schedule: Option<String>,
    /// Only audits by this tool, e.g. `audit compliance`.
    pub tool: Option<String>,
}

/// One line of the checklist.
#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    /// The team's name for the rule, unique in its checklist.
    pub id: Option<String>,
    /// Free text for people.
    pub description: Option<String>,
    /// What is watched, with its parameters.
    pub trigger: Trigger,
    /// Filters on the watched events.
    pub filter: Filter,
    /// Who is engaged when it fires.
    pub level: Level,
    /// What that level does.
    pub action: String,
}

/// A validated checklist: its rules in file order.
#[derive(Clone, Debug, PartialEq)]
pub struct Policy {
    /// The rules; their position (from 1) names rules without an `id`.
    pub rules: Vec<Rule>,
}

impl Policy {
    /// The default checklist ([`DEFAULT_CHECKLIST`]), parsed.
    pub fn reference() -> Policy {
        Policy::parse(DEFAULT_CHECKLIST).expect("the shipped default checklist is valid")
    }

    /// How escalation records name rule `index` (0-based): its `id`, or `#n` with `n` its
    /// position among the rules counted from 1 (comments and blank lines do not count).
    pub fn rule_name(&self, index: usize) -> String {
        match self.rules.get(index).and_then(|r| r.id.as_deref()) {
            Some(id) => id.to_owned(),
            None => format!("#{}", index + 1),
        }
    }
}

macro_rules! serde_by_name {
    ($ty:ident, $what:literal) => {
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                $ty::from_name(&text)
                    .ok_or_else(|| serde::de::Error::custom(format!("unknown {} `{text}`", $what)))
            }
        }
    };
}

serde_by_name!(Level, "level");
serde_by_name!(Condition, "condition");
serde_by_name!(AuditStatus, "audit status");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_levels_are_ordered() {
        for level in Level::ALL {
            assert_eq!(Level::from_name(level.as_str()), Some(level));
        }
        assert!(Level::L1 < Level::L2);
        assert!(Level::L2 < Level::TechLead);
        assert!(Level::TechLead < Level::IncidentManager);
        for condition in Condition::ALL {
            assert_eq!(Condition::from_name(condition.as_str()), Some(condition));
        }
        // Names are exact: the checklist is a contract, not a guess.
        assert_eq!(Level::from_name("l1"), None);
        assert_eq!(Level::from_name("IM"), None);
        assert_eq!(Condition::from_name("Alert_Firing"), None);
    }

    #[test]
    fn audit_statuses_are_ordered_and_map_the_report_statuses() {
        assert!(AuditStatus::Ok < AuditStatus::Warn && AuditStatus::Warn < AuditStatus::Fail);
        assert_eq!(
            AuditStatus::from(BaselineStatus::Warning),
            AuditStatus::Warn
        );
        assert_eq!(AuditStatus::from(BaselineStatus::Error), AuditStatus::Fail);
        assert_eq!(AuditStatus::from(ComplianceStatus::Fail), AuditStatus::Fail);
        assert_eq!(AuditStatus::from_name("error"), None);
        assert_eq!(AuditStatus::from_name("FAIL"), None);
    }

    #[test]
    fn unnamed_rules_are_numbered_from_one() {
        let policy = Policy::parse(
            "{\"condition\":\"alert_firing\",\"level\":\"L1\",\"action\":\"ack\"}\n\
             # comment\n\
             {\"id\":\"b\",\"condition\":\"alert_firing\",\"level\":\"L1\",\"action\":\"ack\"}\n\
             {\"condition\":\"alert_firing\",\"level\":\"L2\",\"action\":\"ack\"}\n",
        )
        .unwrap();
        let names: Vec<_> = (0..3).map(|i| policy.rule_name(i)).collect();
        assert_eq!(names, ["#1", "b", "#3"]);
    }

    #[test]
    fn the_reference_checklist_has_the_playbook_rules() {
        let policy = Policy::reference();
        let has = |condition: Condition, level: Level, check: &dyn Fn(&Trigger) -> bool| {
            policy.rules.iter().any(|r| {
                r.trigger.condition() == condition && r.level == level && check(&r.trigger)
            })
        };
        let mins = SimDuration::from_mins;
        assert!(has(Condition::AlertFiring, Level::L1, &|_| true));
        assert!(has(Condition::AlertUnacknowledged, Level::L2, &|t| {
            *t == Trigger::AlertUnacknowledged { after: mins(5) }
        }));
        assert!(has(Condition::ProblemPersists, Level::L2, &|t| {
            *t == Trigger::ProblemPersists { after: mins(5) }
        }));
        for level in [Level::TechLead, Level::IncidentManager] {
            assert!(has(Condition::NoSignals, level, &|t| {
                *t == Trigger::NoSignals { after: mins(15) }
            }));
            assert!(has(Condition::PnlLossVsDailyLimit, level, &|t| {
                *t == Trigger::PnlLossVsDailyLimit { multiple: 3.0 }
            }));
            assert!(has(Condition::CpuOverBudget, level, &|t| {
                *t == Trigger::CpuOverBudget {
                    multiple: 1.2,
                    after: mins(10),
                }
            }));
        }
        for level in [Level::L2, Level::IncidentManager] {
            assert!(has(Condition::AuditStatus, level, &|t| {
                *t == Trigger::AuditStatus {
                    at_least: AuditStatus::Fail,
                }
            }));
        }
    }
}
