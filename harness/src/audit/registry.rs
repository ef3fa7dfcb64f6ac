//! Rotation registries (`var/security/tls_rotation.json`, per-environment
//! `security/rotation_log.json`, `observability.key_rotation.registry_path`): one flat JSON
//! object of `"<key>::<purpose>"` → ISO-8601 time (audit.md §0.1).
//!
//! Read like the reference (trailing `Z`, offsets converted to UTC, naive times as UTC,
//! date-only as midnight UTC) but never silently: a bad file, a key without `::`, a mixed-case
//! key, a non-string or unparseable value is a [`RegistryProblem`] the audits report, and a
//! mixed-case key still matches (the reference normalised on write but not on read, so such a
//! key looked "never rotated"). Rewrites keep every other entry byte-for-byte.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;
use stage4_engine::domain::SimTime;

const SECS_PER_DAY: f64 = 86_400.0;
/// A recorded rotation this far in the future is reported (clock skew, hand edits).
const FUTURE_TOLERANCE_SECS: f64 = 300.0;

/// A loaded registry.
#[derive(Debug, Clone)]
pub struct RotationRegistry {
    path: PathBuf,
    entries: BTreeMap<String, Entry>,
    problems: Vec<RegistryProblem>,
}

/// One recorded value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// A readable time.
    At(SimTime),
    /// A value that is not a readable time (kept as text for the message).
    Unreadable(String),
}

/// Something wrong with the registry file itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistryProblem {
    /// Not JSON.
    InvalidJson(String),
    /// JSON, but not an object.
    NotAnObject(&'static str),
    /// A key without the `::` separator.
    KeyWithoutSeparator(String),
    /// A key that is not lower-case (matched case-insensitively anyway).
    NotLowercase(String),
}

impl std::fmt::Display for RegistryProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RegistryProblem::InvalidJson(e) => write!(f, "is not valid JSON ({e})"),
            RegistryProblem::NotAnObject(kind) => write!(
                f,
                "must be a JSON object of \"<key>::<purpose>\" to time, found {kind}"
            ),
            RegistryProblem::KeyWithoutSeparator(k) => {
                write!(f, "has key `{k}` without the `::` separator (ignored)")
            }
            RegistryProblem::NotLowercase(k) => write!(
                f,
                "has key `{k}` that is not lower-case (matched case-insensitively; rewrite it in lower case)"
            ),
        }
    }
}

impl RegistryProblem {
    /// Whether the problem makes the registry unusable (vs. a single odd key).
    pub fn is_fatal(&self) -> bool {
        matches!(
            self,
            RegistryProblem::InvalidJson(_) | RegistryProblem::NotAnObject(_)
        )
    }
}

/// The rotation state of one key at an instant.
#[derive(Debug, Clone, PartialEq)]
pub struct RotationStatus {
    /// When it was last rotated, if recorded and readable.
    pub last_rotated: Option<SimTime>,
    /// The raw value when it is not a readable time.
    pub unreadable: Option<String>,
    /// Days since the last rotation.
    pub days_since: Option<f64>,
    /// `interval - days_since` (0 when never rotated).
    pub due_in_days: f64,
    /// `days_since >= interval`, or never rotated.
    pub is_due: bool,
    /// `days_since > interval`, or never rotated.
    pub is_overdue: bool,
    /// The recorded time is in the future.
    pub in_future: bool,
}

impl RotationStatus {
    /// The reference's warning rule: not overdue, but due or due within `warn_days`
    /// (inclusive).
    pub fn is_warning(&self, warn_days: f64) -> bool {
        !self.is_overdue && (self.is_due || self.due_in_days <= warn_days)
    }
}

/// Normalised registry key.
pub fn record_key(key: &str, purpose: &str) -> String {
    format!(
        "{}::{}",
        key.trim().to_lowercase(),
        purpose.trim().to_lowercase()
    )
}

/// Parses a registry timestamp the way the reference does (Python `fromisoformat` after
/// replacing a trailing `Z`).
pub fn parse_timestamp(text: &str) -> Option<SimTime> {
    let t = text.trim();
    if t.is_empty() {
        return None;
    }
    let t = t.replacen(' ', "T", 1);
    if let Ok(at) = SimTime::parse_rfc3339(&t) {
        return Some(at);
    }
    let has_offset = t.ends_with('Z')
        || t.get(10..)
            .is_some_and(|rest| rest.contains('+') || rest.contains('-'));
    if t.len() == 10 {
        return SimTime::parse_rfc3339(&format!("{t}T00:00:00Z")).ok();
    }
    if !has_offset {
        // Naive times are UTC; a missing seconds field (`HH:MM`) is allowed by Python.
        if let Ok(at) = SimTime::parse_rfc3339(&format!("{t}Z")) {
            return Some(at);
        }
        if t.len() == 16 {
            return SimTime::parse_rfc3339(&format!("{t}:00Z")).ok();
        }
    }
    None
}

impl RotationRegistry {
    /// Loads `path`; `Ok(None)` when it does not exist. Unreadable JSON is a problem, not an
    /// error; only an I/O failure other than "not found" is `Err`.
    pub fn load(path: &Path) -> std::io::Result<Option<RotationRegistry>> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        Ok(Some(RotationRegistry::parse(&text, path)))
    }

    /// Parses registry text as if read from `path`.
    pub fn parse(text: &str, path: &Path) -> RotationRegistry {
        let mut reg = RotationRegistry {
            path: path.to_path_buf(),
            entries: BTreeMap::new(),
            problems: Vec::new(),
        };
        let value: Value = match serde_json::from_str(text) {
            Ok(v) => v,
            Err(e) => {
                reg.problems
                    .push(RegistryProblem::InvalidJson(e.to_string()));
                return reg;
            }
        };
        let Value::Object(map) = value else {
            reg.problems
                .push(RegistryProblem::NotAnObject(json_kind(&value)));
            return reg;
        };
        for (raw_key, v) in map {
            let Some((key, purpose)) = raw_key.split_once("::") else {
                reg.problems
                    .push(RegistryProblem::KeyWithoutSeparator(raw_key.clone()));
                continue;
            };
            let normal = record_key(key, purpose);
            if normal != raw_key {
                reg.problems
                    .push(RegistryProblem::NotLowercase(raw_key.clone()));
            }
            let entry = match &v {
                Value::String(s) => match parse_timestamp(s) {
                    Some(at) => Entry::At(at),
                    None => Entry::Unreadable(s.clone()),
                },
                other => Entry::Unreadable(other.to_string()),
            };
            reg.entries.insert(normal, entry);
        }
        reg
    }

    /// The file this registry came from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Problems with the file, in file order.
    pub fn problems(&self) -> &[RegistryProblem] {
        &self.problems
    }

    /// Whether no entry (readable or not) was found.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The raw entry for `key`/`purpose`.
    pub fn entry(&self, key: &str, purpose: &str) -> Option<&Entry> {
        self.entries.get(&record_key(key, purpose))
    }

    /// Rotation status of `key`/`purpose` at `as_of` (audit.md §0.1 `status`). An unreadable
    /// value counts as never rotated and is reported in `unreadable`.
    pub fn status(
        &self,
        key: &str,
        purpose: &str,
        interval_days: f64,
        as_of: SimTime,
    ) -> RotationStatus {
        match self.entry(key, purpose) {
            Some(Entry::At(at)) => status_since(*at, interval_days, as_of),
            Some(Entry::Unreadable(raw)) => RotationStatus {
                unreadable: Some(raw.clone()),
                ..never_rotated()
            },
            None => never_rotated(),
        }
    }
}

fn never_rotated() -> RotationStatus {
    RotationStatus {
        last_rotated: None,
        unreadable: None,
        days_since: None,
        due_in_days: 0.0,
        is_due: true,
        is_overdue: true,
        in_future: false,
    }
}

/// Status of a key last rotated at `at`.
pub fn status_since(at: SimTime, interval_days: f64, as_of: SimTime) -> RotationStatus {
    let secs = (i128::from(as_of.as_nanos()) - i128::from(at.as_nanos())) as f64 / 1e9;
    let days = secs / SECS_PER_DAY;
    RotationStatus {
        last_rotated: Some(at),
        unreadable: None,
        days_since: Some(days),
        due_in_days: interval_days - days,
        is_due: days >= interval_days,
        is_overdue: days > interval_days,
        in_future: secs < -FUTURE_TOLERANCE_SECS,
    }
}

/// Records `key`/`purpose` as rotated at `at` (whole seconds, `Z`), keeping every other entry
/// of the file as it was, and writes compact JSON plus a newline atomically. The file's mode
/// is kept (0644 for a new file).
pub fn mark_rotated(path: &Path, key: &str, purpose: &str, at: SimTime) -> anyhow::Result<()> {
    use anyhow::Context as _;
    let mut map = match std::fs::read_to_string(path) {
        Ok(text) => match serde_json::from_str::<Value>(&text) {
            Ok(Value::Object(map)) => map,
            Ok(other) => anyhow::bail!(
                "{}: refusing to rewrite a registry that is {} (expected a JSON object)",
                path.display(),
                json_kind(&other)
            ),
            Err(e) => anyhow::bail!(
                "{}: refusing to rewrite a registry that is not valid JSON ({e})",
                path.display()
            ),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => serde_json::Map::new(),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let whole = SimTime::from_unix_secs(at.unix_secs());
    map.insert(record_key(key, purpose), Value::String(whole.to_rfc3339()));
    let mut text = stage4_reports::render::json::to_compact_sorted(&Value::Object(map))
        .expect("a JSON object always serialises");
    text.push('\n');
    let mode = crate::audit::x509::mode_of(path).unwrap_or(crate::fsio::PUBLIC);
    crate::fsio::write_atomic(path, text.as_bytes(), mode)
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> SimTime {
        SimTime::parse_rfc3339(s).unwrap()
    }

    #[test]
    fn timestamps_parse_like_python_fromisoformat() {
        for (text, expected) in [
            ("2026-11-20T00:00:00Z", Some("2026-11-20T00:00:00Z")),
            ("2026-11-20T02:00:00+02:00", Some("2026-11-20T00:00:00Z")),
            ("2026-11-20T00:00:00", Some("2026-11-20T00:00:00Z")),
            ("2026-11-20", Some("2026-11-20T00:00:00Z")),
            (
                "2026-11-20 00:00:00.250000Z",
                Some("2026-11-20T00:00:00.250Z"),
            ),
            ("2026-11-20T00:00", Some("2026-11-20T00:00:00Z")),
            ("yesterday", None),
            ("", None),
        ] {
            assert_eq!(parse_timestamp(text), expected.map(t), "{text}");
        }
    }

    #[test]
    fn status_follows_the_reference_rules() {
        let as_of = t("2026-11-28T00:00:00Z");
        let reg = RotationRegistry::parse(
            r#"{"core-oem::tls_ca":"2026-08-30T00:00:00Z","Core-OEM::TLS_SERVER":"2026-09-04T00:00:00Z","core-oem::tls_client":"soon","nosep":"2026-01-01","future::x":"2026-12-01T00:00:00Z","num::x":5}"#,
            Path::new("/r.json"),
        );
        // Exactly at the interval: due, not overdue, due_in 0.
        let s = reg.status("core-oem", "tls_ca", 90.0, as_of);
        assert_eq!((s.is_due, s.is_overdue, s.due_in_days), (true, false, 0.0));
        assert!(s.is_warning(14.0));
        // Mixed case matches, and is reported.
        let s = reg.status("core-oem", "tls_server", 90.0, as_of);
        assert_eq!(s.days_since, Some(85.0));
        assert!(s.is_warning(14.0) && !s.is_warning(4.0));
        assert!(reg.problems().contains(&RegistryProblem::NotLowercase(
            "Core-OEM::TLS_SERVER".into()
        )));
        assert!(
            reg.problems()
                .contains(&RegistryProblem::KeyWithoutSeparator("nosep".into()))
        );
        let s = reg.status("core-oem", "tls_client", 90.0, as_of);
        assert_eq!(s.unreadable.as_deref(), Some("soon"));
        assert!(s.is_overdue);
        assert!(reg.status("future", "x", 90.0, as_of).in_future);
        assert_eq!(
            reg.status("num", "x", 90.0, as_of).unreadable.as_deref(),
            Some("5")
        );
        let missing = reg.status("other", "x", 90.0, as_of);
        assert_eq!(
            (missing.is_due, missing.is_overdue, missing.due_in_days),
            (true, true, 0.0)
        );
    }

    #[test]
    fn bad_files_are_problems_not_crashes() {
        let r = RotationRegistry::parse("[1,2]", Path::new("/r.json"));
        assert_eq!(r.problems(), [RegistryProblem::NotAnObject("a list")]);
        assert!(r.problems()[0].is_fatal());
        let r = RotationRegistry::parse("{", Path::new("/r.json"));
        assert!(matches!(r.problems()[0], RegistryProblem::InvalidJson(_)));
        assert!(
            RotationRegistry::load(Path::new("/nonexistent/x.json"))
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn mark_rotated_keeps_other_entries_and_writes_whole_seconds() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("security/rotation_log.json");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(
            &path,
            r#"{"b::x":"not a date","a::trading":"2026-01-01T00:00:00Z"}"#,
        )
        .unwrap();
        mark_rotated(
            &path,
            "Live_Binance_Trading",
            "Trading",
            t("2026-11-28T09:00:00.75Z"),
        )
        .unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "{\"a::trading\":\"2026-01-01T00:00:00Z\",\"b::x\":\"not a date\",\"live_binance_trading::trading\":\"2026-11-28T09:00:00Z\"}\n"
        );
        std::fs::write(&path, "[]").unwrap();
        assert!(mark_rotated(&path, "a", "b", t("2026-11-28T09:00:00Z")).is_err());
    }
}
