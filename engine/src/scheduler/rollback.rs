//! The rollback override: `var/runtime/overrides/multi_strategy_disable.json` (ops.md §6).
//!
//! The reference writes this file (`disable_multi_strategy.py`) but nothing reads it and its
//! `expires_at` is never enforced. Here it is the scheduler's kill switch: while an override is
//! present and not expired no schedule emits signals and the execution layer sends no order;
//! when `expires_at` passes trading resumes by itself. Both transitions are reported so the
//! decision log records them.
//!
//! File format (reference, observed): `indent=2`, sorted keys, raw UTF-8, trailing newline:
//! ```json
//! {
//!   "action": "disable_multi_strategy",
//!   "expires_at": "2026-11-28T11:21:59Z",
//!   "reason": "scheduler latency above 250 ms",
//!   "requested_by": "l2-ops",
//!   "schema": "stage6.scheduler.override",
//!   "schema_version": "1.0",
//!   "ticket": "INC-713",
//!   "timestamp": "2026-11-28T10:36:59Z"
//! }
//! ```
//! `expires_at`, `requested_by` and `ticket` are optional.

use serde::{Deserialize, Serialize};

use crate::domain::{SimDuration, SimTime};

/// File name of the multi-strategy override inside the overrides directory.
pub const OVERRIDE_FILE_NAME: &str = "multi_strategy_disable.json";
/// Default overrides directory, relative to the site root.
pub const OVERRIDE_DIR: &str = "var/runtime/overrides";
/// `action` of a multi-strategy override.
pub const ACTION: &str = "disable_multi_strategy";
/// `schema` of a multi-strategy override.
pub const SCHEMA: &str = "stage6.scheduler.override";
/// `schema_version` we write and accept.
pub const SCHEMA_VERSION: &str = "1.0";

/// A parsed, validated override.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RollbackOverride {
    /// Why trading was disabled.
    pub reason: String,
    /// Who asked.
    pub requested_by: Option<String>,
    /// Incident ticket.
    pub ticket: Option<String>,
    /// When the override was written.
    pub created_at: SimTime,
    /// When it stops applying (`None`: until removed).
    pub expires_at: Option<SimTime>,
}

/// The on-disk form, field order = sorted keys.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct OverrideFile {
    action: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    expires_at: Option<String>,
    reason: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    requested_by: Option<String>,
    schema: String,
    schema_version: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    ticket: Option<String>,
    timestamp: String,
}

/// Why an override file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OverrideError {
    /// Not JSON, or missing/unknown keys.
    #[error("not a multi-strategy override file: {0}")]
    Malformed(String),
    /// `action` or `schema` belong to another component.
    #[error("unexpected {field} `{found}` (expected `{expected}`)")]
    WrongKind {
        /// The field.
        field: &'static str,
        /// What the file says.
        found: String,
        /// What a multi-strategy override says.
        expected: &'static str,
    },
    /// A timestamp is not RFC 3339.
    #[error("{field}: {problem}")]
    BadTime {
        /// The field.
        field: &'static str,
        /// What is wrong.
        problem: String,
    },
    /// The reason is empty.
    #[error("reason must not be empty")]
    EmptyReason,
}

impl RollbackOverride {
    /// A new override written at `now`, expiring after `duration` if given. Refuses an empty
    /// reason (the reference accepts one; an override without a reason is useless in an audit).
    pub fn new(
        now: SimTime,
        reason: &str,
        requested_by: Option<&str>,
        ticket: Option<&str>,
        duration: Option<SimDuration>,
    ) -> Result<RollbackOverride, OverrideError> {
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(OverrideError::EmptyReason);
        }
        let clean = |s: Option<&str>| {
            s.map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        Ok(RollbackOverride {
            reason: reason.to_owned(),
            requested_by: clean(requested_by),
            ticket: clean(ticket),
            // Whole seconds, as the reference writes them.
            created_at: SimTime::from_unix_secs(now.unix_secs()),
            expires_at: duration.map(|d| SimTime::from_unix_secs((now + d).unix_secs())),
        })
    }

    /// True while the override applies: present and `now < expires_at`.
    pub fn is_active(&self, now: SimTime) -> bool {
        self.expires_at.is_none_or(|t| now < t)
    }

    /// Parses the file's text.
    pub fn parse(text: &str) -> Result<RollbackOverride, OverrideError> {
        let file: OverrideFile =
            serde_json::from_str(text).map_err(|e| OverrideError::Malformed(e.to_string()))?;
        if file.action != ACTION {
            return Err(OverrideError::WrongKind {
                field: "action",
                found: file.action,
                expected: ACTION,
            });
        }
        if file.schema != SCHEMA {
            return Err(OverrideError::WrongKind {
                field: "schema",
                found: file.schema,
                expected: SCHEMA,
            });
        }
        let time = |field: &'static str, text: &str| {
            SimTime::parse_rfc3339(text).map_err(|e| OverrideError::BadTime {
                field,
                problem: e.to_string(),
            })
        };
        if file.reason.trim().is_empty() {
            return Err(OverrideError::EmptyReason);
        }
        Ok(RollbackOverride {
            reason: file.reason,
            requested_by: file.requested_by,
            ticket: file.ticket,
            created_at: time("timestamp", &file.timestamp)?,
            expires_at: file
                .expires_at
                .as_deref()
                .map(|t| time("expires_at", t))
                .transpose()?,
        })
    }

    /// The file's text in the reference format (indent 2, sorted keys, trailing newline).
    pub fn to_file_text(&self) -> String {
        let file = OverrideFile {
            action: ACTION.to_owned(),
            expires_at: self.expires_at.map(|t| t.to_rfc3339()),
            reason: self.reason.clone(),
            requested_by: self.requested_by.clone(),
            schema: SCHEMA.to_owned(),
            schema_version: SCHEMA_VERSION.to_owned(),
            ticket: self.ticket.clone(),
            timestamp: self.created_at.to_rfc3339(),
        };
        let mut text = serde_json::to_string_pretty(&file).expect("plain strings serialise");
        text.push('\n');
        text
    }
}

/// A change in whether trading is disabled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RollbackTransition {
    /// An override became active: trading stops.
    Activated(RollbackOverride),
    /// The active override reached `expires_at`: trading resumes by itself.
    Expired(RollbackOverride),
    /// The override was removed (restore): trading resumes.
    Removed(RollbackOverride),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_the_reference_format_and_reads_it_back() {
        let now = SimTime::parse_rfc3339("2026-11-28T10:36:59.731Z").unwrap();
        let o = RollbackOverride::new(
            now,
            " Awaria feedu ",
            Some("noc"),
            Some("INC-2042"),
            Some(SimDuration::from_mins(45)),
        )
        .unwrap();
        let text = o.to_file_text();
        assert_eq!(
            text,
            "{\n  \"action\": \"disable_multi_strategy\",\n  \"expires_at\": \"2026-11-28T11:21:59Z\",\n  \"reason\": \"Awaria feedu\",\n  \"requested_by\": \"noc\",\n  \"schema\": \"stage6.scheduler.override\",\n  \"schema_version\": \"1.0\",\n  \"ticket\": \"INC-2042\",\n  \"timestamp\": \"2026-11-28T10:36:59Z\"\n}\n"
        );
        assert_eq!(RollbackOverride::parse(&text).unwrap(), o);
        assert!(o.is_active(now));
        assert!(!o.is_active(SimTime::parse_rfc3339("2026-11-28T11:21:59Z").unwrap()));
    }

    #[test]
    fn refuses_other_components_and_bad_files() {
        let orchestrator = r#"{"action":"disable_decision_orchestrator","reason":"x","schema":"runtime.decision_orchestrator.override","schema_version":"1.0","timestamp":"2026-11-28T10:36:59Z"}"#;
        assert!(matches!(
            RollbackOverride::parse(orchestrator),
            Err(OverrideError::WrongKind {
                field: "action",
                ..
            })
        ));
        assert!(matches!(
            RollbackOverride::parse("{"),
            Err(OverrideError::Malformed(_))
        ));
        let bad_time = r#"{"action":"disable_multi_strategy","reason":"x","schema":"stage6.scheduler.override","schema_version":"1.0","timestamp":"soon"}"#;
        assert!(matches!(
            RollbackOverride::parse(bad_time),
            Err(OverrideError::BadTime {
                field: "timestamp",
                ..
            })
        ));
        assert_eq!(
            RollbackOverride::new(SimTime::EPOCH, "  ", None, None, None),
            Err(OverrideError::EmptyReason)
        );
    }
}
