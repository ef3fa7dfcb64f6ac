//! Rollback: disable multi-strategy trading with the override file, restore it, report status.
//!
//! Replaces `disable_multi_strategy.py` (ops.md §6) and the manual `rm` that "restore" meant
//! there. The file format is the reference's, so existing tooling keeps reading it; what
//! changes is that the scheduler honours it ([`stage4_engine::scheduler::rollback`]), the file is
//! created atomically with mode 0600 from the first byte, re-disabling needs `--replace`, and
//! the duration and reason are validated. The scenario runner calls these same functions.

use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use stage4_engine::domain::{SimDuration, SimTime};
use stage4_engine::scheduler::rollback::{OVERRIDE_FILE_NAME, RollbackOverride};

use crate::fsio;

/// Longest override accepted: a week. Longer disables are a change, not a rollback.
pub const MAX_DURATION: SimDuration = SimDuration::from_days(7);

/// A request to disable multi-strategy trading.
#[derive(Debug, Clone)]
pub struct DisableRequest {
    /// The overrides directory (`var/runtime/overrides`).
    pub dir: PathBuf,
    /// Why (required, non-empty).
    pub reason: String,
    /// Who asked.
    pub requested_by: Option<String>,
    /// Incident ticket.
    pub ticket: Option<String>,
    /// How long; `None` until restored.
    pub duration: Option<SimDuration>,
    /// The current time (wall clock in the CLI, simulated time in scenarios).
    pub now: SimTime,
    /// Replace an existing override instead of refusing.
    pub replace: bool,
}

/// The override file path inside `dir`.
pub fn override_path(dir: &Path) -> PathBuf {
    dir.join(OVERRIDE_FILE_NAME)
}

/// What [`disable`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disabled {
    /// The override was written.
    Written(RollbackOverride),
    /// An override already exists (and `replace` was not set); nothing was written.
    AlreadyDisabled(Option<RollbackOverride>),
}

/// Writes the override file; refuses when an active one exists unless `replace` is set (an
/// expired one is replaced). `Err` means bad input or an I/O failure.
pub fn disable(req: &DisableRequest) -> Result<Disabled> {
    if let Some(d) = req.duration {
        if d.is_zero() {
            bail!("--duration-minutes must be positive (omit it to disable until restored)");
        }
        if d > MAX_DURATION {
            bail!(
                "--duration-minutes must be at most {} minutes (7 days)",
                MAX_DURATION.as_secs() / 60
            );
        }
    }
    let o = RollbackOverride::new(
        req.now,
        &req.reason,
        req.requested_by.as_deref(),
        req.ticket.as_deref(),
        req.duration,
    )
    .context("--reason")?;
    let path = override_path(&req.dir);
    let text = o.to_file_text();
    if req.replace {
        fsio::write_atomic(&path, text.as_bytes(), fsio::PRIVATE)?;
    } else if let Err(e) = fsio::write_new(&path, text.as_bytes(), fsio::PRIVATE) {
        if !path.exists() {
            return Err(e);
        }
        // An override that already expired is inert: replacing it is what the operator means.
        match read_override(&req.dir) {
            Ok(Some(old)) if !old.is_active(req.now) => {
                fsio::write_atomic(&path, text.as_bytes(), fsio::PRIVATE)?;
            }
            existing => return Ok(Disabled::AlreadyDisabled(existing.ok().flatten())),
        }
    }
    Ok(Disabled::Written(o))
}

/// Reads the override in `dir`, if any. A file that exists but cannot be parsed is an error
/// naming the file (an unreadable kill switch must not be ignored silently).
pub fn read_override(dir: &Path) -> Result<Option<RollbackOverride>> {
    let path = override_path(dir);
    match fs::read_to_string(&path) {
        Ok(text) => RollbackOverride::parse(&text)
            .map(Some)
            .with_context(|| format!("{}", path.display())),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// Removes the override; returns what it said, or `None` when there was none.
pub fn restore(dir: &Path) -> Result<Option<RollbackOverride>> {
    let path = override_path(dir);
    let current = read_override(dir)?;
    match fs::remove_file(&path) {
        Ok(()) => Ok(current),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot remove {}", path.display())),
    }
}

/// Whether trading is disabled at `now`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// No override file.
    Enabled,
    /// An override is in force.
    Disabled(RollbackOverride),
    /// The file is there but expired: the scheduler already resumed trading.
    Expired(RollbackOverride),
}

/// Reports the override state at `now`.
pub fn status(dir: &Path, now: SimTime) -> Result<Status> {
    Ok(match read_override(dir)? {
        None => Status::Enabled,
        Some(o) if o.is_active(now) => Status::Disabled(o),
        Some(o) => Status::Expired(o),
    })
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn request(dir: &Path) -> DisableRequest {
        DisableRequest {
            dir: dir.to_owned(),
            reason: "scheduler latency above 250 ms".into(),
            requested_by: Some("l2-ops".into()),
            ticket: Some("INC-713".into()),
            duration: Some(SimDuration::from_mins(45)),
            now: SimTime::parse_rfc3339("2026-11-28T10:36:59Z").unwrap(),
            replace: false,
        }
    }

    #[test]
    fn disable_status_restore_round_trip() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("var/runtime/overrides");
        let req = request(&dir);
        let Disabled::Written(o) = disable(&req).unwrap() else {
            panic!("written")
        };
        let mode = fs::metadata(override_path(&dir))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(status(&dir, req.now).unwrap(), Status::Disabled(o.clone()));
        assert_eq!(
            disable(&req).unwrap(),
            Disabled::AlreadyDisabled(Some(o.clone()))
        );
        disable(&DisableRequest {
            replace: true,
            ..req.clone()
        })
        .unwrap();
        let later = req.now + SimDuration::from_mins(45);
        assert_eq!(status(&dir, later).unwrap(), Status::Expired(o.clone()));
        // Disabling again over an expired override replaces it.
        let again = DisableRequest {
            now: later,
            duration: None,
            ..req.clone()
        };
        let Disabled::Written(fresh) = disable(&again).unwrap() else {
            panic!("replaced")
        };
        assert_eq!(status(&dir, later).unwrap(), Status::Disabled(fresh));
        disable(&DisableRequest {
            replace: true,
            ..req.clone()
        })
        .unwrap();
        assert_eq!(restore(&dir).unwrap(), Some(o));
        assert_eq!(status(&dir, later).unwrap(), Status::Enabled);
        assert_eq!(restore(&dir).unwrap(), None);
    }

    #[test]
    fn bad_requests_and_bad_files_are_errors() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let zero = DisableRequest {
            duration: Some(SimDuration::ZERO),
            ..request(dir)
        };
        assert!(disable(&zero).is_err());
        let long = DisableRequest {
            duration: Some(SimDuration::from_days(8)),
            ..request(dir)
        };
        assert!(disable(&long).is_err());
        let blank = DisableRequest {
            reason: "  ".into(),
            ..request(dir)
        };
        assert!(format!("{:#}", disable(&blank).unwrap_err()).contains("reason"));
        fs::write(override_path(dir), "{not json").unwrap();
        let err = read_override(dir).unwrap_err();
        assert!(format!("{err:#}").contains(OVERRIDE_FILE_NAME), "{err:#}");
    }
}
