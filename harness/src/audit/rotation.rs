//! `stage4 keys check-rotation`: per-environment API-key rotation (reference Tool C,
//! audit.md §3): each environment's `<keychain_key>::<credential_purpose>` in
//! `<data_cache_path>/security/rotation_log.json`, the reference's status rule (overdue → 2,
//! due or within `--warn-days` → 1, else 0; the result is the maximum), text lines in the
//! reference's layout, and a JSON report.
//!
//! Differences, on purpose: `data_cache_path` resolves against the config directory like every
//! other path (the reference alone used the working directory, so the answer depended on where
//! it was run); an unknown `--environment` is an input error (exit 2) listing the known names;
//! `--mark-rotated` records only the environments named with `--environment`, keeps every other
//! registry entry, and writes atomically; reading never creates directories; an unreadable
//! registry or timestamp is reported, treated as never rotated, never a crash.

use std::path::PathBuf;

use stage4_engine::domain::SimTime;
use stage4_reports::rotation::{KeyRotation, RotationReport, RotationState, SCHEMA_VERSION};

use super::registry::{self, RotationRegistry};
use super::x509::round1;
use crate::config::{ConfigError, CoreConfig};

/// What to check.
#[derive(Debug, Clone)]
pub struct RotationPlan {
    /// The config file.
    pub config_path: PathBuf,
    /// Environments to check (empty: all, in config order).
    pub environments: Vec<String>,
    /// Rotation interval (90 days).
    pub interval_days: f64,
    /// Warning window (14 days).
    pub warn_days: f64,
    /// The audit instant (also the rotation time recorded by `mark_rotated`).
    pub as_of: SimTime,
    /// Record a rotation at `as_of` for the named environments after reporting.
    pub mark_rotated: bool,
}

impl RotationPlan {
    /// A plan with the reference defaults.
    pub fn new(config_path: impl Into<PathBuf>, as_of: SimTime) -> RotationPlan {
        RotationPlan {
            config_path: config_path.into(),
            environments: Vec::new(),
            interval_days: 90.0,
            warn_days: 14.0,
            as_of,
            mark_rotated: false,
        }
    }
}

/// Why the check could not run (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum RotationError {
    /// The config cannot be used.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A named environment does not exist.
    #[error("environment '{name}' does not exist in {config} (known: {known})")]
    UnknownEnvironment {
        /// The name given.
        name: String,
        /// The config file.
        config: String,
        /// Environments the config has.
        known: String,
    },
    /// No environment to check.
    #[error("{0}: no environments to check (the `environments` section is empty)")]
    NoEnvironments(String),
    /// `--mark-rotated` without `--environment`.
    #[error("--mark-rotated records a rotation only for environments named with --environment")]
    MarkWithoutEnvironment,
    /// An environment lacks a field the check needs.
    #[error("{config}: `environments.{name}.{field}` is required")]
    MissingField {
        /// The config file.
        config: String,
        /// The environment.
        name: String,
        /// The missing field.
        field: &'static str,
    },
    /// Writing the registry failed.
    #[error("cannot record the rotation: {0:#}")]
    Write(anyhow::Error),
}

/// Runs the check (and the marking, when asked). The report's `status` gives the exit code.
pub fn run(plan: &RotationPlan) -> Result<RotationReport, RotationError> {
    let config = CoreConfig::load(&plan.config_path)?;
    let shown = config.path().display().to_string();
    if plan.mark_rotated && plan.environments.is_empty() {
        return Err(RotationError::MarkWithoutEnvironment);
    }
    let all = config
        .environments()
        .map_err(|m| config.section_error("environments", m))?;
    let selected: Vec<_> = if plan.environments.is_empty() {
        all.clone()
    } else {
        plan.environments
            .iter()
            .map(|name| {
                all.iter()
                    .find(|e| &e.name == name)
                    .cloned()
                    .ok_or_else(|| RotationError::UnknownEnvironment {
                        name: name.clone(),
                        config: shown.clone(),
                        known: all
                            .iter()
                            .map(|e| e.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", "),
                    })
            })
            .collect::<Result<_, _>>()?
    };
    if selected.is_empty() {
        return Err(RotationError::NoEnvironments(shown));
    }
    let mut entries = Vec::new();
    let mut targets = Vec::new();
    for env in &selected {
        let missing = |field| RotationError::MissingField {
            config: shown.clone(),
            name: env.name.clone(),
            field,
        };
        let key = env
            .keychain_key
            .clone()
            .ok_or_else(|| missing("keychain_key"))?;
        let cache = env
            .data_cache_path
            .clone()
            .ok_or_else(|| missing("data_cache_path"))?;
        let path = config.resolve(&cache).join("security/rotation_log.json");
        let mut notes = Vec::new();
        let reg = match RotationRegistry::load(&path) {
            Ok(r) => r,
            Err(e) => {
                notes.push(format!("cannot read {}: {e}", path.display()));
                None
            }
        };
        let status = match &reg {
            Some(r) => {
                for p in r.problems() {
                    notes.push(format!("registry {} {p}", path.display()));
                }
                r.status(
                    &key,
                    &env.credential_purpose,
                    plan.interval_days,
                    plan.as_of,
                )
            }
            None => RotationRegistry::parse("{}", &path).status(
                &key,
                &env.credential_purpose,
                plan.interval_days,
                plan.as_of,
            ),
        };
        if let Some(raw) = &status.unreadable {
            notes.push(format!(
                "unreadable timestamp `{raw}`: treated as never rotated"
            ));
        }
        if status.in_future {
            notes.push(
                "the recorded rotation is in the future: fix the registry or the clock".to_owned(),
            );
        }
        let state = if status.is_overdue {
            RotationState::Overdue
        } else if status.is_warning(plan.warn_days) {
            RotationState::DueSoon
        } else {
            RotationState::Ok
        };
        entries.push(KeyRotation {
            environment: env.name.clone(),
            key: key.clone(),
            purpose: env.credential_purpose.clone(),
            registry_path: path.display().to_string(),
            last_rotated: status.last_rotated.map(SimTime::to_rfc3339),
            days_since_rotation: status.days_since.map(round1),
            due_in_days: round1(status.due_in_days),
            is_due: status.is_due,
            is_overdue: status.is_overdue,
            state,
            notes,
        });
        targets.push((env.name.clone(), path, key, env.credential_purpose.clone()));
    }
    let mut marked = Vec::new();
    if plan.mark_rotated {
        for (name, path, key, purpose) in targets {
            registry::mark_rotated(&path, &key, &purpose, plan.as_of)
                .map_err(RotationError::Write)?;
            marked.push(name);
        }
    }
    Ok(RotationReport {
        schema_version: SCHEMA_VERSION,
        checked_at: SimTime::from_unix_secs(plan.as_of.unix_secs()).to_rfc3339(),
        config: shown,
        interval_days: plan.interval_days,
        warn_days: plan.warn_days,
        status: entries
            .iter()
            .map(|e| e.state)
            .max()
            .unwrap_or(RotationState::Ok),
        environments: entries,
        marked_rotated: marked,
    })
}

/// The reference's text output: two lines per environment, plus a confirmation per marked one.
pub fn render_text(report: &RotationReport) -> String {
    let mut out = String::new();
    for e in &report.environments {
        out.push_str(&format!(
            "[{}] key={} purpose={} last_rotated={} days_since={} due_in={:.1}\n",
            e.environment,
            e.key,
            e.purpose,
            e.last_rotated.as_deref().unwrap_or("never"),
            e.days_since_rotation
                .map_or_else(|| "n/a".to_owned(), |d| format!("{d:.1}")),
            e.due_in_days
        ));
        let verdict = match e.state {
            RotationState::Overdue => "  status: overdue – immediate key replacement required",
            RotationState::DueSoon => "  status: rotation deadline approaching – plan replacement",
            RotationState::Ok => "  status: rotation within the safe window",
        };
        out.push_str(verdict);
        out.push('\n');
        for note in &e.notes {
            out.push_str(&format!("  note: {note}\n"));
        }
    }
    for name in &report.marked_rotated {
        out.push_str(&format!(
            "[{name}] rotation recorded at {}\n",
            report.checked_at
        ));
    }
    out
}
