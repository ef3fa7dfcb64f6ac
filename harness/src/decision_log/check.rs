//! Verifying a decision-log file (or stdin) line by line without loading it whole: the
//! engine's [`Verifier`] does the checks, this keeps the bad lines and the totals.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use anyhow::{Context, Result};
use stage4_engine::decision_log::{LineReport, Summary, Verifier, VerifyOptions};

/// The outcome of verifying one log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    /// Reports of the bad lines only, in line order.
    pub bad: Vec<LineReport>,
    /// Totals and whole-log problems.
    pub summary: Summary,
}

impl Checked {
    /// True when every line and the log as a whole pass.
    pub fn is_ok(&self) -> bool {
        self.summary.is_ok()
    }
}

/// Verifies the log at `path` (`-` reads stdin).
pub fn check_path(path: &Path, options: VerifyOptions) -> Result<Checked> {
    if path.as_os_str() == "-" {
        return check_reader(std::io::stdin().lock(), options).context("cannot read stdin");
    }
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    if file.metadata().is_ok_and(|m| m.is_dir()) {
        anyhow::bail!("{} is a directory, not a decision log", path.display());
    }
    check_reader(file, options).with_context(|| format!("cannot read {}", path.display()))
}

/// Verifies a log read from `reader`.
pub fn check_reader(reader: impl Read, options: VerifyOptions) -> Result<Checked> {
    let mut reader = BufReader::with_capacity(256 * 1024, reader);
    let mut verifier = Verifier::new(options);
    let mut bad = Vec::new();
    let mut buf = Vec::new();
    let mut line = 0;
    loop {
        buf.clear();
        if reader.read_until(b'\n', &mut buf)? == 0 {
            break;
        }
        line += 1;
        let mut text: &[u8] = &buf;
        if let Some(rest) = text.strip_suffix(b"\n") {
            text = rest;
        }
        if let Some(rest) = text.strip_suffix(b"\r") {
            text = rest;
        }
        if let Some(report) = verifier.check_bytes(line, text)
            && !report.is_ok()
        {
            bad.push(report);
        }
    }
    Ok(Checked {
        bad,
        summary: verifier.finish(),
    })
}
