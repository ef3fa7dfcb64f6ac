//! Headless Chromium: open an HTML report and take a screenshot, collecting anything the
//! browser logged about the page (console messages, blocked fetches, parse errors). The
//! scenario tests use it to prove `report.html` renders; operators can use it the same way.
//!
//! Chromium is `/usr/bin/chromium` (Debian package `chromium`; `.ci/run` installs it). The
//! flags are the ones a sandboxed CI machine needs: no sandbox, no GPU, no background
//! networking, a fresh profile per run.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// Where Debian installs Chromium.
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// The Chromium binary, if installed.
pub fn chromium() -> Option<PathBuf> {
    let path = Path::new(CHROMIUM);
    path.is_file().then(|| path.to_owned())
}

/// What one headless run produced.
#[derive(Debug)]
pub struct Shot {
    /// The screenshot (PNG bytes).
    pub png: Vec<u8>,
    /// Log lines about the page: console messages and errors naming its URL.
    pub page_messages: Vec<String>,
}

/// Opens `page` (an HTML file) in headless Chromium with a fresh profile at `width`×`height`,
/// waits up to `timeout`, and returns the screenshot and the log lines about the page.
pub fn screenshot(
    chromium: &Path,
    page: &Path,
    width: u32,
    height: u32,
    timeout: Duration,
) -> Result<Shot> {
    let dir = tempfile::tempdir().context("cannot create a browser profile directory")?;
    let png = dir.path().join("shot.png");
    let profile = dir.path().join("profile");
    let log_path = dir.path().join("chromium.log");
    let page = fs::canonicalize(page).with_context(|| format!("cannot open {}", page.display()))?;
    let url = format!("file://{}", page.display());
    let mut child = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--window-size={width},{height}"))
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--screenshot={}", png.display()))
        .arg(&url)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(fs::File::create(&log_path)?)
        .spawn()
        .with_context(|| format!("cannot start {}", chromium.display()))?;
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if started.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            bail!("chromium did not finish within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let log = fs::read_to_string(&log_path).unwrap_or_default();
    if !status.success() {
        bail!("chromium exited with {status}\n{log}");
    }
    let page_path = page.display().to_string();
    let page_messages = log
        .lines()
        .filter(|l| l.contains(&url) || l.contains(&page_path))
        .filter(|l| l.contains(":CONSOLE") || l.contains(":ERROR:") || l.contains(":FATAL:"))
        .map(str::to_owned)
        .collect();
    let png = fs::read(&png).with_context(|| format!("chromium wrote no screenshot\n{log}"))?;
    Ok(Shot { png, page_messages })
}

/// Width and height from a PNG's IHDR chunk, if `bytes` starts like a PNG.
pub fn png_size(bytes: &[u8]) -> Option<(u32, u32)> {
    const SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
    if bytes.len() < 24 || bytes[..8] != SIGNATURE || &bytes[12..16] != b"IHDR" {
        return None;
    }
    let be = |i: usize| u32::from_be_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
    Some((be(16), be(20)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn png_sizes_are_read_from_the_header() {
        let mut png = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13];
        png.extend(b"IHDR");
        png.extend(1280u32.to_be_bytes());
        png.extend(2000u32.to_be_bytes());
        assert_eq!(png_size(&png), Some((1280, 2000)));
        assert_eq!(png_size(b"GIF89a not a png at all"), None);
        assert_eq!(png_size(&png[..20]), None);
    }
}
