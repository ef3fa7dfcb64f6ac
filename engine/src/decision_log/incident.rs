//! The incident lifecycle, replayed from a decision log: which tickets are open, at which
//! level, and whether a next step makes sense.
//!
//! The support playbook asks L1 to log every incident with its ticket id and to escalate
//! L1 → L2 → Incident Manager (ops.md §8); the reference never implemented the logging
//! (`summary --incident` does not exist). Here every step is an `incident` entry
//! ([`IncidentEntry`]), and [`IncidentBook`] refuses steps that contradict the log: acting on a
//! ticket that is not open, opening one twice, or "escalating" to the same or a lower level.
//! The book reads entries as they are; checking their signatures is the verifier's job.

use std::collections::BTreeMap;

use crate::domain::SimTime;

use super::canonical::Json;
use super::entry::{IncidentAction, IncidentEntry, IncidentSeverity, SupportLevel, events};

/// Where one ticket stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IncidentState {
    /// The last step logged.
    pub last_action: IncidentAction,
    /// The level handling it.
    pub level: SupportLevel,
    /// Its severity, when one was logged.
    pub severity: Option<IncidentSeverity>,
    /// Its owner, when one was logged.
    pub owner: Option<String>,
    /// `timestamp` of the step that opened it.
    pub opened_at: String,
}

impl IncidentState {
    /// True until the ticket is resolved.
    pub fn is_open(&self) -> bool {
        self.last_action != IncidentAction::Resolve
    }
}

/// A step the log does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IncidentError {
    /// Acknowledge, escalate or resolve on a ticket with no open incident.
    #[error("ticket `{ticket}` has no open incident in this log (open it first)")]
    NotOpen {
        /// The ticket.
        ticket: String,
    },
    /// Open on a ticket that is already open.
    #[error("ticket `{ticket}` is already open (opened {opened_at}, now at {level})")]
    AlreadyOpen {
        /// The ticket.
        ticket: String,
        /// When it was opened.
        opened_at: String,
        /// Its level.
        level: &'static str,
    },
    /// Escalation to the current or a lower level.
    #[error("ticket `{ticket}` is already at {current}: escalate to a higher level (L1 → L2 → IM)")]
    NotHigher {
        /// The ticket.
        ticket: String,
        /// Its current level.
        current: &'static str,
    },
    /// Opening without a severity.
    #[error("opening ticket `{ticket}` needs a severity (info, warning or critical)")]
    NoSeverity {
        /// The ticket.
        ticket: String,
    },
}

/// What an operator asks for; [`IncidentBook::step`] fills in what the log already knows.
#[derive(Clone, Debug, PartialEq)]
pub struct IncidentRequest {
    /// When.
    pub at: SimTime,
    /// Which step.
    pub action: IncidentAction,
    /// The ticket.
    pub ticket: String,
    /// Severity (required to open; otherwise defaults to the ticket's).
    pub severity: Option<IncidentSeverity>,
    /// Level: where an incident opens (default L1) or where it escalates to (default: one up).
    /// Ignored for acknowledge and resolve, which keep the current level.
    pub level: Option<SupportLevel>,
    /// Owner (defaults to the ticket's).
    pub owner: Option<String>,
    /// Free text.
    pub note: Option<String>,
    /// Triggering alert rule.
    pub alert: Option<String>,
}

/// Every ticket seen in a log, by ticket id.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IncidentBook {
    tickets: BTreeMap<String, IncidentState>,
}

impl IncidentBook {
    /// An empty book.
    pub fn new() -> IncidentBook {
        IncidentBook::default()
    }

    /// Takes one log entry into account (entries other than `incident` are ignored).
    pub fn observe(&mut self, entry: &Json) {
        if entry.get("event").and_then(Json::as_str) != Some(events::INCIDENT) {
            return;
        }
        let text = |k: &str| entry.get(k).and_then(Json::as_str);
        let (Some(ticket), Some(action)) = (
            text("ticket"),
            text("action").and_then(IncidentAction::from_name),
        ) else {
            return;
        };
        let level = text("level")
            .and_then(SupportLevel::from_name)
            .unwrap_or(SupportLevel::L1);
        let severity = text("severity").and_then(IncidentSeverity::from_name);
        let owner = text("owner").map(str::to_owned);
        let timestamp = text("timestamp").unwrap_or_default().to_owned();
        match (action, self.tickets.get_mut(ticket)) {
            (IncidentAction::Open, _) | (_, None) => {
                self.tickets.insert(
                    ticket.to_owned(),
                    IncidentState {
                        last_action: action,
                        level,
                        severity,
                        owner,
                        opened_at: timestamp,
                    },
                );
            }
            (_, Some(state)) => {
                state.last_action = action;
                state.level = level;
                state.severity = severity.or(state.severity);
                state.owner = owner.or(state.owner.take());
            }
        }
    }

    /// The state of `ticket`, if the log mentions it.
    pub fn get(&self, ticket: &str) -> Option<&IncidentState> {
        self.tickets.get(ticket)
    }

    /// Tickets that are not resolved, in ticket order.
    pub fn open_tickets(&self) -> impl Iterator<Item = (&str, &IncidentState)> {
        self.tickets
            .iter()
            .filter(|(_, s)| s.is_open())
            .map(|(t, s)| (t.as_str(), s))
    }

    /// Checks `request` against the log and returns the entry to write, with the level,
    /// severity and owner filled in from the ticket's history.
    pub fn step(&self, request: IncidentRequest) -> Result<IncidentEntry, IncidentError> {
        let ticket = request.ticket.clone();
        let current = self.tickets.get(&ticket).filter(|s| s.is_open());
        let (level, severity, owner) = match (request.action, current) {
            (IncidentAction::Open, Some(state)) => {
                return Err(IncidentError::AlreadyOpen {
                    ticket,
                    opened_at: state.opened_at.clone(),
                    level: state.level.as_str(),
                });
            }
            (IncidentAction::Open, None) => {
                let Some(severity) = request.severity else {
                    return Err(IncidentError::NoSeverity { ticket });
                };
                (
                    request.level.unwrap_or(SupportLevel::L1),
                    Some(severity),
                    request.owner,
                )
            }
            (_, None) => return Err(IncidentError::NotOpen { ticket }),
            (IncidentAction::Escalate, Some(state)) => {
                let next = match request.level {
                    Some(level) => level,
                    None => match state.level {
                        SupportLevel::L1 => SupportLevel::L2,
                        SupportLevel::L2
                        | SupportLevel::TechLead
                        | SupportLevel::IncidentManager => SupportLevel::IncidentManager,
                    },
                };
                if next <= state.level {
                    return Err(IncidentError::NotHigher {
                        ticket,
                        current: state.level.as_str(),
                    });
                }
                (
                    next,
                    request.severity.or(state.severity),
                    request.owner.or_else(|| state.owner.clone()),
                )
            }
            (IncidentAction::Acknowledge | IncidentAction::Resolve, Some(state)) => (
                state.level,
                request.severity.or(state.severity),
                request.owner.or_else(|| state.owner.clone()),
            ),
        };
        Ok(IncidentEntry {
            at: request.at,
            action: request.action,
            ticket: request.ticket,
            severity,
            level,
            owner,
            note: request.note,
            alert: request.alert,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision_log::entry::Entry;

    fn request(action: IncidentAction) -> IncidentRequest {
        IncidentRequest {
            at: SimTime::from_unix_secs(1_800_000_000),
            action,
            ticket: "INC-1".to_owned(),
            severity: None,
            level: None,
            owner: None,
            note: None,
            alert: None,
        }
    }

    #[test]
    fn a_full_lifecycle_follows_the_playbook() {
        let mut book = IncidentBook::new();
        assert_eq!(
            book.step(request(IncidentAction::Acknowledge)),
            Err(IncidentError::NotOpen {
                ticket: "INC-1".to_owned()
            })
        );
        assert!(matches!(
            book.step(request(IncidentAction::Open)),
            Err(IncidentError::NoSeverity { .. })
        ));
        let open = book
            .step(IncidentRequest {
                severity: Some(IncidentSeverity::Warning),
                owner: Some("noc".to_owned()),
                ..request(IncidentAction::Open)
            })
            .unwrap();
        assert_eq!(open.level, SupportLevel::L1);
        book.observe(&open.to_json());
        assert!(matches!(
            book.step(IncidentRequest {
                severity: Some(IncidentSeverity::Info),
                ..request(IncidentAction::Open)
            }),
            Err(IncidentError::AlreadyOpen { .. })
        ));

        let ack = book.step(request(IncidentAction::Acknowledge)).unwrap();
        assert_eq!(
            (ack.level, ack.severity, ack.owner.as_deref()),
            (
                SupportLevel::L1,
                Some(IncidentSeverity::Warning),
                Some("noc")
            )
        );
        book.observe(&ack.to_json());

        let up = book.step(request(IncidentAction::Escalate)).unwrap();
        assert_eq!(up.level, SupportLevel::L2);
        book.observe(&up.to_json());
        assert_eq!(
            book.step(IncidentRequest {
                level: Some(SupportLevel::L1),
                ..request(IncidentAction::Escalate)
            }),
            Err(IncidentError::NotHigher {
                ticket: "INC-1".to_owned(),
                current: "L2"
            })
        );
        let im = book.step(request(IncidentAction::Escalate)).unwrap();
        assert_eq!(im.level, SupportLevel::IncidentManager);
        book.observe(&im.to_json());
        assert!(book.step(request(IncidentAction::Escalate)).is_err());

        let done = book.step(request(IncidentAction::Resolve)).unwrap();
        assert_eq!(done.level, SupportLevel::IncidentManager);
        book.observe(&done.to_json());
        assert_eq!(book.open_tickets().count(), 0);
        assert!(book.step(request(IncidentAction::Resolve)).is_err());
        // A resolved ticket may be opened again.
        assert!(
            book.step(IncidentRequest {
                severity: Some(IncidentSeverity::Critical),
                ..request(IncidentAction::Open)
            })
            .is_ok()
        );
    }

    #[test]
    fn other_entries_are_ignored() {
        let mut book = IncidentBook::new();
        book.observe(&Json::parse(r#"{"event":"operator_action","ticket":"INC-1"}"#).unwrap());
        book.observe(
            &Json::parse(r#"{"event":"incident","action":"bogus","ticket":"INC-1"}"#).unwrap(),
        );
        assert_eq!(book, IncidentBook::new());
    }
}
