//! Argument helpers shared by the audit, keys and site commands: `--as-of`, `--env-file`,
//! writing reports to stdout and files.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use stage4_engine::domain::SimTime;

/// Parses `--as-of` (RFC 3339).
pub fn parse_as_of(text: &str) -> Result<SimTime, String> {
    SimTime::parse_rfc3339(text).map_err(|e| e.to_string())
}

/// `--as-of` or the wall clock (the harness is allowed to read it; everything else derives
/// from this one instant).
pub fn as_of_or_now(as_of: Option<SimTime>) -> SimTime {
    as_of.unwrap_or_else(|| {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("the clock is after 1970");
        SimTime::from_nanos(u64::try_from(now.as_nanos()).expect("before year 2554"))
    })
}

/// Writes `text` to stdout (adding a newline when missing).
pub fn print(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    if !text.ends_with('\n') {
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}

/// Writes a report file (parents created, atomically, 0644) with a trailing newline.
pub fn write_report(path: &Path, text: &str) -> Result<()> {
    let mut body = text.to_owned();
    if !body.ends_with('\n') {
        body.push('\n');
    }
    crate::fsio::write_atomic(path, body.as_bytes(), crate::fsio::PUBLIC)
        .with_context(|| format!("cannot write report {}", path.display()))
}
