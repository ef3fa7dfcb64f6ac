//! The checklist file: JSONL in, a [`Policy`] or **every** problem out.
//!
//! Each line is parsed on its own, so one broken line never hides the next: the validator
//! reports every problem of every line (a line may have several), each with its physical
//! line number, then checks across lines (duplicate `id`s, an empty checklist). See the
//! module doc of [`super`] for the format itself.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::Value;
use stage4_engine::domain::{SimDuration, TimeParseError};

use super::policy::{
    AuditStatus, Condition, Filter, Level, Policy, Rule, ThresholdKind, Trigger, severity_from_name,
};

/// Every key a rule may have; anything else is refused (a typo must not silently disable a
/// filter).
pub const KNOWN_KEYS: [&str; 11] = [
    "condition",
    "threshold",
    "duration",
    "level",
    "action",
    "id",
    "description",
    "severity",
    "alert",
    "schedule",
    "tool",
];

/// What is wrong with one line (or, for [`Problem::NoRules`], the whole file).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Problem {
    /// The line is not valid UTF-8.
    #[error("not UTF-8 text")]
    NotUtf8,
    /// The line is not JSON.
    #[error("invalid JSON at column {column}: {reason}")]
    InvalidJson {
        /// 1-based column (byte) where the parser gave up.
        column: usize,
        /// The parser's words.
        reason: String,
    },
    /// The line is JSON but not an object.
    #[error(
        "expected a JSON object such as {{\"condition\": \"alert_firing\", \"level\": \"L1\", \"action\": \"...\"}}, found {found}"
    )]
    NotAnObject {
        /// What was found instead.
        found: String,
    },
    /// A key is given twice.
    #[error("key `{0}` appears more than once")]
    DuplicateKey(String),
    /// A key outside [`KNOWN_KEYS`].
    #[error("unknown key `{0}` (expected one of: {keys})", keys = KNOWN_KEYS.join(", "))]
    UnknownKey(String),
    /// A required key is absent (or `null`).
    #[error("missing `{key}` ({expected})")]
    MissingKey {
        /// The key.
        key: &'static str,
        /// What it should hold.
        expected: String,
    },
    /// A value of the wrong JSON type.
    #[error("`{key}` must be {expected}, found {found}")]
    WrongType {
        /// The key.
        key: &'static str,
        /// What it should hold.
        expected: String,
        /// What it holds.
        found: String,
    },
    /// A text value that is empty or only spaces.
    #[error("`{0}` must not be empty")]
    Empty(&'static str),
    /// `condition` is not one of the seven.
    #[error("unknown condition `{0}` (expected one of: {conditions})", conditions = condition_names())]
    UnknownCondition(String),
    /// `level` is not one of the four.
    #[error("unknown level `{0}` (expected one of: {levels})", levels = level_names())]
    UnknownLevel(String),
    /// `duration` does not parse.
    #[error("bad `duration`: {0}")]
    BadDuration(TimeParseError),
    /// `duration` written with spaces, e.g. `15 min`.
    #[error(
        "bad `duration`: `{0}` has spaces; write the number and unit together, e.g. \"15m\", \"1h30m\""
    )]
    DurationWithSpaces(String),
    /// A non-zero `duration` on a condition that fires on the event itself.
    #[error(
        "`duration` does not apply to {0}: it fires on the event itself (leave it out, or write \"0s\" or null)"
    )]
    DurationNotApplicable(Condition),
    /// A `threshold` on a condition that has none.
    #[error("`threshold` does not apply to {0} (leave it out or write null)")]
    ThresholdNotApplicable(Condition),
    /// A numeric `threshold` that is zero, negative or not finite.
    #[error("`threshold` of {condition} must be a number greater than 0, found {value}")]
    ThresholdOutOfRange {
        /// The condition.
        condition: Condition,
        /// The number given.
        value: String,
    },
    /// An audit `threshold` that is not `ok`, `warn` or `fail`.
    #[error("unknown audit status `{0}` in `threshold` (expected \"fail\", \"warn\" or \"ok\")")]
    UnknownAuditStatus(String),
    /// A `severity` that is not `info`, `warning` or `critical`.
    #[error("unknown severity `{0}` (expected \"info\", \"warning\" or \"critical\")")]
    UnknownSeverity(String),
    /// A filter on a condition it cannot narrow.
    #[error("`{key}` does not apply to {condition} (it applies to: {applies_to})")]
    FilterNotApplicable {
        /// The filter key.
        key: &'static str,
        /// The rule's condition.
        condition: Condition,
        /// The conditions that accept it.
        applies_to: &'static str,
    },
    /// An `id` with characters outside `[A-Za-z0-9._-]`.
    #[error("id `{0}` may only contain letters, digits, `.`, `_` and `-`")]
    BadId(String),
    /// The same `id` on two lines.
    #[error("duplicate id `{id}` (first used on line {first_line})")]
    DuplicateId {
        /// The id.
        id: String,
        /// Where it was first used.
        first_line: usize,
    },
    /// No line holds a rule.
    #[error("no rules: every line is blank or a comment")]
    NoRules,
}

impl Problem {
    /// The key the problem is about, when there is one (for `--json`).
    pub fn key(&self) -> Option<&str> {
        match self {
            Problem::DuplicateKey(k) | Problem::UnknownKey(k) => Some(k),
            Problem::MissingKey { key, .. }
            | Problem::WrongType { key, .. }
            | Problem::Empty(key)
            | Problem::FilterNotApplicable { key, .. } => Some(key),
            Problem::UnknownCondition(_) => Some("condition"),
            Problem::UnknownLevel(_) => Some("level"),
            Problem::BadDuration(_)
            | Problem::DurationWithSpaces(_)
            | Problem::DurationNotApplicable(_) => Some("duration"),
            Problem::ThresholdNotApplicable(_)
            | Problem::ThresholdOutOfRange { .. }
            | Problem::UnknownAuditStatus(_) => Some("threshold"),
            Problem::UnknownSeverity(_) => Some("severity"),
            Problem::BadId(_) | Problem::DuplicateId { .. } => Some("id"),
            Problem::NotUtf8
            | Problem::InvalidJson { .. }
            | Problem::NotAnObject { .. }
            | Problem::NoRules => None,
        }
    }
}

/// A problem and where it is.
#[derive(Debug, Clone, PartialEq)]
pub struct LineProblem {
    /// 1-based physical line; `None` for a problem of the whole file.
    pub line: Option<usize>,
    /// What is wrong.
    pub problem: Problem,
}

impl fmt::Display for LineProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: {}", self.problem),
            None => write!(f, "{}", self.problem),
        }
    }
}

/// Why a checklist was refused: every problem found, in line order.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{} problem(s) in the escalation checklist:\n{}", .problems.len(), self.listing())]
pub struct ChecklistError {
    /// Every problem, in line order (whole-file problems last).
    pub problems: Vec<LineProblem>,
    /// Lines that hold a rule (valid or not), i.e. not blank and not a comment.
    pub rule_lines: usize,
}

impl ChecklistError {
    /// Lines with at least one problem.
    pub fn bad_lines(&self) -> usize {
        let mut lines: Vec<usize> = self.problems.iter().filter_map(|p| p.line).collect();
        lines.dedup();
        lines.len()
    }

    fn listing(&self) -> String {
        self.problems
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl Policy {
    /// Parses and validates a checklist (JSONL bytes; see the module doc of [`super`]).
    ///
    /// `Err` carries every problem of every line, not just the first.
    pub fn parse(input: impl AsRef<[u8]>) -> Result<Policy, ChecklistError> {
        parse_checklist(input.as_ref())
    }
}

fn parse_checklist(input: &[u8]) -> Result<Policy, ChecklistError> {
    let input = input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input);
    let mut problems = Vec::new();
    let mut rules = Vec::new();
    let mut ids: BTreeMap<String, usize> = BTreeMap::new();
    let mut rule_lines = 0;
    for (index, raw) in input.split(|&b| b == b'\n').enumerate() {
        let line_no = index + 1;
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let mut report = |problem| {
            problems.push(LineProblem {
                line: Some(line_no),
                problem,
            });
        };
        let Ok(text) = std::str::from_utf8(raw) else {
            rule_lines += 1;
            report(Problem::NotUtf8);
            continue;
        };
        let trimmed = text.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        rule_lines += 1;
        let mut line_problems = Vec::new();
        let parsed = parse_line(text, &mut line_problems);
        for problem in line_problems {
            report(problem);
        }
        if let Some(id) = parsed.id {
            if let Some(&first_line) = ids.get(&id) {
                report(Problem::DuplicateId { id, first_line });
                continue;
            }
            ids.insert(id, line_no);
        }
        if let Some(rule) = parsed.rule {
            rules.push(rule);
        }
    }
    if rule_lines == 0 {
        problems.push(LineProblem {
            line: None,
            problem: Problem::NoRules,
        });
    }
    if problems.is_empty() {
        Ok(Policy { rules })
    } else {
        Err(ChecklistError {
            problems,
            rule_lines,
        })
    }
}

/// What one line yielded: the rule when it is valid, and its `id` when that alone is valid
/// (so duplicates are found even among broken lines).
struct ParsedLine {
    rule: Option<Rule>,
    id: Option<String>,
}

fn parse_line(text: &str, problems: &mut Vec<Problem>) -> ParsedLine {
    let nothing = ParsedLine {
        rule: None,
        id: None,
    };
    let value: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            problems.push(Problem::InvalidJson {
                column: e.column(),
                reason: json_reason(&e),
            });
            return nothing;
        }
    };
    if !value.is_object() {
        problems.push(Problem::NotAnObject {
            found: describe(&value),
        });
        return nothing;
    }
    // Parsed a second time keeping every member: serde_json's map silently keeps the last
    // of two equal keys, which would hide a conflicting rule.
    let members = match serde_json::from_str::<Members>(text) {
        Ok(m) => m.0,
        Err(e) => {
            problems.push(Problem::InvalidJson {
                column: e.column(),
                reason: json_reason(&e),
            });
            return nothing;
        }
    };
    let mut fields: BTreeMap<&'static str, Value> = BTreeMap::new();
    for (key, value) in members {
        match KNOWN_KEYS.iter().find(|k| **k == key) {
            None => problems.push(Problem::UnknownKey(key)),
            Some(known) => {
                if fields.contains_key(known) {
                    problems.push(Problem::DuplicateKey(key));
                } else {
                    fields.insert(known, value);
                }
            }
        }
    }
    let mut line = Line { fields, problems };
    let condition = line.word(
        "condition",
        true,
        Condition::from_name,
        Problem::UnknownCondition,
    );
    let level = line.word("level", true, Level::from_name, Problem::UnknownLevel);
    let action = line.required_text("action");
    let id = line.word(
        "id",
        false,
        |id| {
            id.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
                .then(|| id.to_owned())
        },
        Problem::BadId,
    );
    let description = line.optional_text("description");
    let filter = line.filter(condition);
    let duration = line.duration(condition);
    let trigger = condition.and_then(|c| line.trigger(c, duration));
    let rule = match (trigger, level, action, filter) {
        (Some(trigger), Some(level), Some(action), Some(filter)) if line.problems.is_empty() => {
            Some(Rule {
                id: id.clone(),
                description,
                trigger,
                filter,
                level,
                action,
            })
        }
        _ => None,
    };
    ParsedLine { rule, id }
}

/// One object's known members and the problems found so far.
struct Line<'p> {
    fields: BTreeMap<&'static str, Value>,
    problems: &'p mut Vec<Problem>,
}

impl Line<'_> {
    /// The value of `key`, with `null` read as absent.
    fn get(&self, key: &str) -> Option<&Value> {
        self.fields.get(key).filter(|v| !v.is_null())
    }

    /// A text value read through `parse`; `unknown` names a text `parse` refuses.
    fn word<T>(
        &mut self,
        key: &'static str,
        required: bool,
        parse: impl FnOnce(&str) -> Option<T>,
        unknown: impl FnOnce(String) -> Problem,
    ) -> Option<T> {
        let text = if required {
            self.required_text(key)
        } else {
            self.optional_text(key)
        }?;
        let parsed = parse(&text);
        if parsed.is_none() {
            self.problems.push(unknown(text));
        }
        parsed
    }

    fn required_text(&mut self, key: &'static str) -> Option<String> {
        if self.get(key).is_none() {
            self.problems.push(Problem::MissingKey {
                key,
                expected: expected_text(key),
            });
            return None;
        }
        self.optional_text(key)
    }

    fn optional_text(&mut self, key: &'static str) -> Option<String> {
        let problem = match self.get(key)? {
            Value::String(s) if s.trim().is_empty() => Problem::Empty(key),
            Value::String(s) => return Some(s.clone()),
            other => Problem::WrongType {
                key,
                expected: expected_text(key),
                found: describe(other),
            },
        };
        self.problems.push(problem);
        None
    }

    /// The filters, each checked against the condition (when the condition is known).
    fn filter(&mut self, condition: Option<Condition>) -> Option<Filter> {
        let before = self.problems.len();
        const ALERTS: &str = "alert_firing, alert_unacknowledged, problem_persists";
        const SCHEDULES: &str = "alert_firing, alert_unacknowledged, problem_persists, no_signals";
        const AUDITS: &str = "audit_status";
        let applies = |line: &mut Self, key: &'static str, ok: fn(Condition) -> bool, to| {
            if let Some(c) = condition
                && line.get(key).is_some()
                && !ok(c)
            {
                line.problems.push(Problem::FilterNotApplicable {
                    key,
                    condition: c,
                    applies_to: to,
                });
            }
        };
        applies(self, "severity", Condition::is_about_alerts, ALERTS);
        applies(self, "alert", Condition::is_about_alerts, ALERTS);
        applies(
            self,
            "schedule",
            |c| c.is_about_alerts() || c == Condition::NoSignals,
            SCHEDULES,
        );
        applies(self, "tool", |c| c == Condition::AuditStatus, AUDITS);
        let severity = self.word(
            "severity",
            false,
            severity_from_name,
            Problem::UnknownSeverity,
        );
        let alert = self.optional_text("alert");
        let schedule = self.optional_text("schedule");
        let tool = self.optional_text("tool");
        (self.problems.len() == before).then_some(Filter {
            severity,
            alert,
            schedule,
            tool,
        })
    }

    /// `Some(duration)` when given and valid, `Some(0s)` when absent; `None` after a problem.
    fn duration(&mut self, condition: Option<Condition>) -> Option<SimDuration> {
        let duration = match self.get("duration") {
            None => {
                if let Some(c) = condition.filter(|c| c.is_timed()) {
                    self.problems.push(Problem::MissingKey {
                        key: "duration",
                        expected: format!(
                            "{c} waits for a duration such as \"{}\"",
                            example_duration(c)
                        ),
                    });
                    return None;
                }
                SimDuration::ZERO
            }
            Some(Value::String(text)) if text.trim().contains(char::is_whitespace) => {
                self.problems
                    .push(Problem::DurationWithSpaces(text.clone()));
                return None;
            }
            Some(Value::String(text)) => match SimDuration::parse(text) {
                Ok(d) => d,
                Err(e) => {
                    self.problems.push(Problem::BadDuration(e));
                    return None;
                }
            },
            Some(other) => {
                let found = describe(other);
                self.problems.push(Problem::WrongType {
                    key: "duration",
                    expected: "text such as \"5m\", \"15m\" or \"0s\"".to_owned(),
                    found,
                });
                return None;
            }
        };
        if let Some(c) = condition
            && !c.is_timed()
            && !duration.is_zero()
        {
            self.problems.push(Problem::DurationNotApplicable(c));
            return None;
        }
        Some(duration)
    }

    /// The typed trigger: the condition with its threshold and duration.
    fn trigger(&mut self, condition: Condition, duration: Option<SimDuration>) -> Option<Trigger> {
        let threshold = self.get("threshold").cloned();
        let missing = |expected: String| Problem::MissingKey {
            key: "threshold",
            expected,
        };
        let multiple = match (condition.threshold_kind(), threshold) {
            (ThresholdKind::None, None) => None,
            (ThresholdKind::None, Some(_)) => {
                self.problems
                    .push(Problem::ThresholdNotApplicable(condition));
                return None;
            }
            (ThresholdKind::Multiple, None) => {
                self.problems.push(missing(expected_threshold(condition)));
                return None;
            }
            (ThresholdKind::Multiple, Some(Value::Number(n))) => {
                match n.as_f64().filter(|v| v.is_finite() && *v > 0.0) {
                    Some(v) => Some(v),
                    None => {
                        self.problems.push(Problem::ThresholdOutOfRange {
                            condition,
                            value: n.to_string(),
                        });
                        return None;
                    }
                }
            }
            (ThresholdKind::AuditStatus, None) => {
                self.problems.push(missing(expected_threshold(condition)));
                return None;
            }
            (ThresholdKind::AuditStatus, Some(Value::String(word))) => {
                return match AuditStatus::from_name(&word) {
                    Some(at_least) => duration.map(|_| Trigger::AuditStatus { at_least }),
                    None => {
                        self.problems.push(Problem::UnknownAuditStatus(word));
                        None
                    }
                };
            }
            (_, Some(other)) => {
                self.problems.push(Problem::WrongType {
                    key: "threshold",
                    expected: expected_threshold(condition),
                    found: describe(&other),
                });
                return None;
            }
        };
        let after = duration?;
        Some(match condition {
            Condition::AlertFiring => Trigger::AlertFiring,
            Condition::AlertUnacknowledged => Trigger::AlertUnacknowledged { after },
            Condition::ProblemPersists => Trigger::ProblemPersists { after },
            Condition::NoSignals => Trigger::NoSignals { after },
            Condition::PnlLossVsDailyLimit => Trigger::PnlLossVsDailyLimit {
                multiple: multiple?,
            },
            Condition::CpuOverBudget => Trigger::CpuOverBudget {
                multiple: multiple?,
                after,
            },
            Condition::AuditStatus => unreachable!("audit thresholds return above"),
        })
    }
}

fn condition_names() -> String {
    Condition::ALL.map(Condition::as_str).join(", ")
}

fn level_names() -> String {
    Level::ALL.map(Level::as_str).join(", ")
}

fn expected_text(key: &str) -> String {
    match key {
        "condition" => format!("one of {}", condition_names()),
        "level" => format!("one of {}", level_names()),
        "action" => "text saying what the level does".to_owned(),
        "id" => "a short name such as \"l1-ack\"".to_owned(),
        "severity" => "\"info\", \"warning\" or \"critical\"".to_owned(),
        "alert" => "an alert rule name such as \"MultiStrategySchedulerLatencyHigh\"".to_owned(),
        "schedule" => "a schedule name".to_owned(),
        "tool" => "an audit tool such as \"audit compliance\"".to_owned(),
        _ => "text".to_owned(),
    }
}

fn expected_threshold(condition: Condition) -> String {
    match condition {
        Condition::PnlLossVsDailyLimit => {
            "a number: the multiple of the daily loss limit, such as 3".to_owned()
        }
        Condition::CpuOverBudget => {
            "a number: the multiple of the CPU budget, such as 1.2 (120 %)".to_owned()
        }
        Condition::AuditStatus => {
            "the audit status that fires: \"fail\", \"warn\" or \"ok\"".to_owned()
        }
        _ => "null".to_owned(),
    }
}

fn example_duration(condition: Condition) -> &'static str {
    match condition {
        Condition::NoSignals => "15m",
        Condition::CpuOverBudget => "10m",
        _ => "5m",
    }
}

/// A JSON value in words, for error messages.
fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => format!("the text {}", Value::String(s.clone())),
        Value::Array(_) => "an array".to_owned(),
        Value::Object(_) => "an object".to_owned(),
    }
}

/// serde_json's message without its " at line 1 column N" suffix (the column is reported
/// separately, and the line is ours).
fn json_reason(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rsplit_once(" at line ") {
        Some((reason, _)) => reason.to_owned(),
        None => text,
    }
}

/// A JSON object's members in order, duplicates kept.
struct Members(Vec<(String, Value)>);

impl<'de> Deserialize<'de> for Members {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct MembersVisitor;
        impl<'de> Visitor<'de> for MembersVisitor {
            type Value = Members;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members, A::Error> {
                let mut members = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, Value>()? {
                    members.push((k, v));
                }
                Ok(Members(members))
            }
        }
        d.deserialize_map(MembersVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stage4_engine::telemetry::rules::Severity;

    const OK: &str = r#"{"condition": "alert_firing", "level": "L1", "action": "ack"}"#;

    fn problems_of(line: &str) -> Vec<Problem> {
        match Policy::parse(format!("{OK}\n{line}\n")) {
            Ok(_) => Vec::new(),
            Err(e) => {
                assert!(
                    e.problems.iter().all(|p| p.line == Some(2)),
                    "only line 2 is bad: {e}"
                );
                e.problems.into_iter().map(|p| p.problem).collect()
            }
        }
    }

    fn one_problem(line: &str) -> String {
        let problems = problems_of(line);
        assert_eq!(problems.len(), 1, "{line}: {problems:?}");
        problems[0].to_string()
    }

    #[test]
    fn every_kind_of_bad_line_is_named() {
        let cases: &[(&str, &str, &str)] = &[
            (
                "invalid JSON",
                r#"{"condition": "alert_firing""#,
                "invalid JSON at column 28: EOF while parsing an object",
            ),
            (
                "trailing comma",
                r#"{"level": "L1",}"#,
                "invalid JSON at column 16: trailing comma",
            ),
            ("not an object", r#"["alert_firing"]"#, "found an array"),
            (
                "unknown key",
                r#"{"condition": "alert_firing", "level": "L1", "action": "a", "levl": "L2"}"#,
                "unknown key `levl` (expected one of: condition, threshold, duration",
            ),
            (
                "duplicate key",
                r#"{"condition": "alert_firing", "level": "L1", "level": "L2", "action": "a"}"#,
                "key `level` appears more than once",
            ),
            (
                "missing level",
                r#"{"condition": "alert_firing", "action": "a"}"#,
                "missing `level` (one of L1, L2, tech_lead, incident_manager)",
            ),
            (
                "missing action",
                r#"{"condition": "alert_firing", "level": "L1"}"#,
                "missing `action`",
            ),
            (
                "null action",
                r#"{"condition": "alert_firing", "level": "L1", "action": null}"#,
                "missing `action`",
            ),
            (
                "empty action",
                r#"{"condition": "alert_firing", "level": "L1", "action": "  "}"#,
                "`action` must not be empty",
            ),
            (
                "unknown condition",
                r#"{"condition": "alert_fired", "level": "L1", "action": "a"}"#,
                "unknown condition `alert_fired` (expected one of: alert_firing, alert_unacknowledged",
            ),
            (
                "condition not text",
                r#"{"condition": 3, "level": "L1", "action": "a"}"#,
                "`condition` must be one of alert_firing",
            ),
            (
                "unknown level",
                r#"{"condition": "alert_firing", "level": "L3", "action": "a"}"#,
                "unknown level `L3`",
            ),
            (
                "level case",
                r#"{"condition": "alert_firing", "level": "Tech_Lead", "action": "a"}"#,
                "unknown level `Tech_Lead`",
            ),
            (
                "duration with spaces",
                r#"{"condition": "no_signals", "duration": "15 minutes", "level": "L1", "action": "a"}"#,
                "bad `duration`: `15 minutes` has spaces; write the number and unit together",
            ),
            (
                "bad duration unit",
                r#"{"condition": "no_signals", "duration": "15min", "level": "L1", "action": "a"}"#,
                "bad `duration`: `15min` is not a duration: unknown unit",
            ),
            (
                "bare number duration",
                r#"{"condition": "no_signals", "duration": "15", "level": "L1", "action": "a"}"#,
                "a unit is missing",
            ),
            (
                "numeric duration",
                r#"{"condition": "no_signals", "duration": 900, "level": "L1", "action": "a"}"#,
                "`duration` must be text such as \"5m\", \"15m\" or \"0s\", found the number 900",
            ),
            (
                "missing duration",
                r#"{"condition": "problem_persists", "level": "L2", "action": "a"}"#,
                "missing `duration` (problem_persists waits for a duration such as \"5m\")",
            ),
            (
                "duration on instant",
                r#"{"condition": "audit_status", "threshold": "fail", "duration": "5m", "level": "L2", "action": "a"}"#,
                "`duration` does not apply to audit_status",
            ),
            (
                "threshold text for cpu",
                r#"{"condition": "cpu_over_budget", "threshold": "120%", "duration": "10m", "level": "L2", "action": "a"}"#,
                "`threshold` must be a number: the multiple of the CPU budget, such as 1.2 (120 %), found the text \"120%\"",
            ),
            (
                "threshold number for audit",
                r#"{"condition": "audit_status", "threshold": 1, "level": "L2", "action": "a"}"#,
                "`threshold` must be the audit status that fires",
            ),
            (
                "threshold zero",
                r#"{"condition": "pnl_loss_vs_daily_limit", "threshold": 0, "level": "L2", "action": "a"}"#,
                "`threshold` of pnl_loss_vs_daily_limit must be a number greater than 0, found 0",
            ),
            (
                "threshold negative",
                r#"{"condition": "cpu_over_budget", "threshold": -1.2, "duration": "1m", "level": "L2", "action": "a"}"#,
                "greater than 0, found -1.2",
            ),
            (
                "threshold missing",
                r#"{"condition": "pnl_loss_vs_daily_limit", "level": "L2", "action": "a"}"#,
                "missing `threshold` (a number: the multiple of the daily loss limit",
            ),
            (
                "threshold not applicable",
                r#"{"condition": "alert_firing", "threshold": 1, "level": "L1", "action": "a"}"#,
                "`threshold` does not apply to alert_firing",
            ),
            (
                "unknown audit status",
                r#"{"condition": "audit_status", "threshold": "failed", "level": "L2", "action": "a"}"#,
                "unknown audit status `failed`",
            ),
            (
                "unknown severity",
                r#"{"condition": "alert_firing", "severity": "high", "level": "L1", "action": "a"}"#,
                "unknown severity `high`",
            ),
            (
                "severity on cpu",
                r#"{"condition": "cpu_over_budget", "threshold": 1.2, "duration": "10m", "severity": "critical", "level": "L2", "action": "a"}"#,
                "`severity` does not apply to cpu_over_budget",
            ),
            (
                "tool on alerts",
                r#"{"condition": "alert_firing", "tool": "audit compliance", "level": "L1", "action": "a"}"#,
                "`tool` does not apply to alert_firing (it applies to: audit_status)",
            ),
            (
                "bad id",
                r#"{"id": "l1 ack", "condition": "alert_firing", "level": "L1", "action": "a"}"#,
                "id `l1 ack` may only contain",
            ),
        ];
        for (name, line, expected) in cases {
            let got = one_problem(line);
            assert!(got.contains(expected), "{name}: {got}");
        }
    }

    #[test]
    fn a_line_reports_all_its_problems() {
        let problems =
            problems_of(r#"{"condition": "no_signals", "level": "L9", "colour": "red"}"#);
        let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(text.len(), 4, "{text:?}");
        assert!(text[0].starts_with("unknown key `colour`"));
        assert!(text[1].starts_with("unknown level `L9`"));
        assert!(text[2].starts_with("missing `action`"));
        assert!(text[3].starts_with("missing `duration`"));
    }

    #[test]
    fn every_bad_line_is_reported_with_its_number() {
        let text = format!(
            "# comment\n\n{OK}\nnot json\n{OK}\n{{\"condition\":\"x\",\"level\":\"L1\",\"action\":\"a\"}}\n"
        );
        let err = Policy::parse(text).unwrap_err();
        let lines: Vec<_> = err.problems.iter().map(|p| p.line).collect();
        assert_eq!(lines, [Some(4), Some(6)]);
        assert_eq!(err.rule_lines, 4);
        assert_eq!(err.bad_lines(), 2);
    }

    #[test]
    fn duplicate_ids_name_the_first_line_even_when_that_line_is_broken() {
        let text = "{\"id\":\"a\",\"condition\":\"alert_firing\",\"level\":\"L1\"}\n\
                    {\"id\":\"a\",\"condition\":\"alert_firing\",\"level\":\"L1\",\"action\":\"x\"}\n";
        let err = Policy::parse(text).unwrap_err();
        let got: Vec<String> = err.problems.iter().map(ToString::to_string).collect();
        assert_eq!(
            got,
            [
                "line 1: missing `action` (text saying what the level does)",
                "line 2: duplicate id `a` (first used on line 1)"
            ]
        );
    }

    #[test]
    fn empty_and_comment_only_files_have_no_rules() {
        for text in ["", "\n\n", "# only a comment\n   \n"] {
            let err = Policy::parse(text).unwrap_err();
            assert_eq!(
                err.problems,
                [LineProblem {
                    line: None,
                    problem: Problem::NoRules
                }]
            );
        }
    }

    #[test]
    fn non_utf8_lines_crlf_and_bom() {
        let mut bytes = b"\xEF\xBB\xBF".to_vec();
        bytes.extend_from_slice(OK.as_bytes());
        bytes.extend_from_slice(b"\r\n\xFF\xFE\r\n");
        let err = Policy::parse(&bytes).unwrap_err();
        assert_eq!(
            err.problems,
            [LineProblem {
                line: Some(2),
                problem: Problem::NotUtf8
            }]
        );
        let policy = Policy::parse(format!("\u{feff}{OK}\r\n{OK}\r\n")).unwrap();
        assert_eq!(policy.rules.len(), 2);
    }

    #[test]
    fn nulls_and_zero_durations_are_accepted_where_nothing_applies() {
        let policy = Policy::parse(
            r#"{"condition": "alert_firing", "threshold": null, "duration": "0s", "level": "L1", "action": "a", "severity": null}
{"condition": "pnl_loss_vs_daily_limit", "threshold": 3, "duration": null, "level": "incident_manager", "action": "b"}
{"condition": "audit_status", "threshold": "warn", "level": "L2", "action": "c", "tool": "audit compliance"}
{"condition": "problem_persists", "duration": "0s", "level": "L2", "action": "d", "severity": "warning", "alert": "X", "schedule": "s1"}
"#,
        )
        .unwrap();
        let triggers: Vec<Trigger> = policy.rules.iter().map(|r| r.trigger).collect();
        assert_eq!(
            triggers,
            [
                Trigger::AlertFiring,
                Trigger::PnlLossVsDailyLimit { multiple: 3.0 },
                Trigger::AuditStatus {
                    at_least: AuditStatus::Warn
                },
                Trigger::ProblemPersists {
                    after: SimDuration::ZERO
                },
            ]
        );
        assert_eq!(
            policy.rules[2].filter.tool.as_deref(),
            Some("audit compliance")
        );
        assert_eq!(
            policy.rules[3].filter,
            Filter {
                severity: Some(Severity::Warning),
                alert: Some("X".into()),
                schedule: Some("s1".into()),
                tool: None,
            }
        );
    }

    #[test]
    fn the_default_checklist_is_valid() {
        let policy = Policy::parse(super::super::policy::DEFAULT_CHECKLIST).unwrap();
        assert!(policy.rules.len() >= 10);
        assert!(policy.rules.iter().all(|r| r.id.is_some()));
    }
}
