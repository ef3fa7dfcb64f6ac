//! The HTML reports in a real browser: headless Chromium opens each fixture's `report.html`
//! from a file, takes a screenshot, and must neither fail nor log a console message about the
//! page (a CSP violation, a blocked fetch, a parse problem). A page that does provoke such
//! messages proves the check can fail.
//!
//! Chromium is `/usr/bin/chromium` (Debian package `chromium`; `.ci/run` installs it). Where it
//! is missing the tests print `SKIPPED: ...` and return. Set `STAGE4_SCREENSHOT_DIR` to keep
//! the screenshots for a look.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use crate::scenario::{FIXTURES, fixture, render_html};

const CHROMIUM: &str = "/usr/bin/chromium";

/// Generous: a cold start on a busy 2-core machine takes a few seconds.
const TIMEOUT: Duration = Duration::from_secs(120);
const POLL: Duration = Duration::from_millis(100);

/// A blank 1280×2000 page screenshots to about 12 KB; a report with tables and charts to
/// several hundred.
const MIN_PNG_BYTES: usize = 64 * 1024;

/// One browser at a time: two cores are shared with the rest of the test suite.
static BROWSER: Mutex<()> = Mutex::new(());

/// The Chromium binary, or `None` after printing why the test is skipped.
#[allow(clippy::print_stdout, reason = "a skipped browser test must say so")]
fn chromium() -> Option<PathBuf> {
    let path = Path::new(CHROMIUM);
    if path.is_file() {
        Some(path.to_owned())
    } else {
        println!("SKIPPED: chromium not found (install the Debian package chromium)");
        None
    }
}

/// What one headless run produced.
struct Shot {
    png: Vec<u8>,
    /// Log lines about the page: console messages and errors naming its URL.
    page_messages: Vec<String>,
}

/// Writes `html` to a fresh directory, opens it in headless Chromium with a fresh profile and
/// returns the screenshot and the log lines about the page. Panics when Chromium fails.
fn screenshot(chromium: &Path, name: &str, html: &str) -> Shot {
    let _one_at_a_time = BROWSER.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join(format!("{name}.html"));
    fs::write(&page, html).unwrap();
    let png = dir.path().join(format!("{name}.png"));
    let profile = dir.path().join("profile");
    let log_path = dir.path().join("chromium.log");
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
            "--window-size=1280,2000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--screenshot={}", png.display()))
        .arg(&url)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(fs::File::create(&log_path).unwrap())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", chromium.display()));
    // Polls count the time (the library crates' lint bans clock reads, and a watchdog needs
    // no precision).
    let mut polls = 0;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        polls += 1;
        if POLL * polls > TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{name}: chromium did not finish within {TIMEOUT:?}");
        }
        std::thread::sleep(POLL);
    };
    let log = fs::read_to_string(&log_path).unwrap_or_default();
    assert!(
        status.success(),
        "{name}: chromium exited with {status}\n{log}"
    );
    let page_path = page.display().to_string();
    let page_messages = log
        .lines()
        .filter(|l| l.contains(&url) || l.contains(&page_path))
        .filter(|l| l.contains(":CONSOLE") || l.contains(":ERROR:") || l.contains(":FATAL:"))
        .map(str::to_owned)
        .collect();
    let png = fs::read(&png).unwrap_or_else(|e| panic!("{name}: no screenshot ({e})\n{log}"));
    if let Some(keep) = std::env::var_os("STAGE4_SCREENSHOT_DIR") {
        fs::create_dir_all(&keep).unwrap();
        fs::write(Path::new(&keep).join(format!("{name}.png")), &png).unwrap();
    }
    Shot { png, page_messages }
}

/// Width and height from a PNG's IHDR chunk, if `bytes` starts like a PNG.
fn png_size(bytes: &[u8]) -> Option<(u32, u32)> {
    const SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
    if bytes.len() < 24 || bytes[..8] != SIGNATURE || &bytes[12..16] != b"IHDR" {
        return None;
    }
    let be = |i: usize| u32::from_be_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
    Some((be(16), be(20)))
}

#[test]
fn fixture_reports_open_cleanly_in_headless_chromium() {
    let Some(chromium) = chromium() else { return };
    for (stem, _) in FIXTURES {
        let shot = screenshot(&chromium, stem, &render_html(&fixture(stem)));
        assert_eq!(
            png_size(&shot.png),
            Some((1280, 2000)),
            "{stem}: not a 1280x2000 PNG"
        );
        assert!(
            shot.png.len() > MIN_PNG_BYTES,
            "{stem}: screenshot is {} bytes, a blank page is about 12 KB",
            shot.png.len()
        );
        assert!(
            shot.page_messages.is_empty(),
            "{stem}: Chromium logged about the page:\n{}",
            shot.page_messages.join("\n")
        );
    }
}

#[test]
fn the_console_check_sees_a_page_that_breaks_its_policy() {
    let Some(chromium) = chromium() else { return };
    // Our report's head with a body that fetches an image and runs a script: the page's own
    // Content-Security-Policy blocks both, and Chromium logs each refusal.
    let report = render_html(&fixture("scenario_pass"));
    let body = report.find("<body>").unwrap() + "<body>".len();
    let broken = format!(
        "{}<img src=\"missing.png\"/><script>console.error('boom')</script>{}",
        &report[..body],
        &report[body..]
    );
    let shot = screenshot(&chromium, "broken", &broken);
    assert!(png_size(&shot.png).is_some());
    assert!(
        shot.page_messages.len() >= 2,
        "expected console messages about the blocked image and script, got {:?}",
        shot.page_messages
    );
}

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
