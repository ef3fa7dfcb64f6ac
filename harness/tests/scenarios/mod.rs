//! The scenario library as the spec: every `scenarios/*.toml` runs and its text report is
//! snapshotted; every `err_*.toml` fails to load and its error is snapshotted; every scenario
//! is deterministic across processes; its HTML report renders in headless Chromium; and
//! Prometheus' own promtool agrees with our alert evaluator on it.

// A cross-check that cannot run says so on stdout (`SKIPPED: …`), never passes silently.
#![allow(clippy::print_stdout)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use stage4_harness::browser;
use stage4_harness::scenario::plan;
use stage4_harness::scenario::report::run_and_report;
use stage4_reports::render::html;
use stage4_reports::scenario::ScenarioReport;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Library scenarios (valid files), by name.
fn library() -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(repo().join("scenarios"))
        .unwrap()
        .filter_map(|e| {
            let p = e.unwrap().path();
            let stem = p.file_stem()?.to_str()?.to_owned();
            (p.extension()? == "toml" && !stem.starts_with("err_")).then_some(stem)
        })
        .collect();
    names.sort();
    names
}

#[test]
fn every_scenario_file_is_a_snapshot() {
    insta::glob!("../../../scenarios", "*.toml", |path| {
        let name = path.file_name().unwrap().to_str().unwrap();
        let text = fs::read_to_string(path).unwrap();
        // Load with the path people type, so messages do not depend on the checkout.
        let shown = Path::new("scenarios").join(name);
        match plan::parse(&shown, &text) {
            Err(e) => {
                assert!(name.starts_with("err_"), "{name} should load: {e}");
                insta::assert_snapshot!(e.to_string());
            }
            Ok(loaded) => {
                assert!(!name.starts_with("err_"), "{name} is named err_ but loads");
                let finished = run_and_report(&loaded, None, None).unwrap();
                assert!(
                    finished.passed(),
                    "{name} failed:\n{}",
                    finished.report.to_text()
                );
                insta::assert_snapshot!(finished.report.to_text());
            }
        }
    });
}

fn run_cli(name: &str, out: &Path, seed: Option<u64>) -> ScenarioReport {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_stage4"));
    cmd.current_dir(repo())
        .args(["scenario", "run", name, "--format", "json", "--out"])
        .arg(out);
    if let Some(seed) = seed {
        cmd.args(["--seed", &seed.to_string()]);
    }
    let output = cmd.output().unwrap();
    assert!(
        output.status.success(),
        "{name}: exit {:?}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&fs::read(out.join("report.json")).unwrap()).unwrap()
}

#[test]
fn every_scenario_is_deterministic_across_processes_and_seed_sensitive() {
    let tmp = tempfile::tempdir().unwrap();
    let names = library();
    assert!(names.len() >= 8, "the library has {names:?}");
    std::thread::scope(|scope| {
        for name in &names {
            let tmp = tmp.path();
            scope.spawn(move || {
                let (a, b, c) = (
                    tmp.join(format!("{name}-a")),
                    tmp.join(format!("{name}-b")),
                    tmp.join(format!("{name}-c")),
                );
                let first = run_cli(name, &a, None);
                let second = run_cli(name, &b, None);
                assert_eq!(
                    first.digest, second.digest,
                    "{name}: digest differs between two processes"
                );
                for file in [
                    "report.json",
                    "decision_log.jsonl",
                    "escalation.jsonl",
                    "metrics.prom",
                    "junit.xml",
                    "report.md",
                ] {
                    assert_eq!(
                        fs::read(a.join(file)).unwrap(),
                        fs::read(b.join(file)).unwrap(),
                        "{name}: {file} differs"
                    );
                }
                let other = run_cli(name, &c, Some(first.seed + 1));
                assert_ne!(
                    first.digest, other.digest,
                    "{name}: another seed gave the same digest"
                );
            });
        }
    });
}

/// The HTML report of one of the reports crate's hand-built scenario fixtures.
fn fixture_page(stem: &str) -> String {
    let text =
        fs::read_to_string(repo().join(format!("reports/tests/fixtures/{stem}.json"))).unwrap();
    let report: ScenarioReport = serde_json::from_str(&text).unwrap();
    let mut page = String::new();
    html::scenario(&report, &mut page).unwrap();
    page
}

#[test]
fn scenario_reports_open_cleanly_in_headless_chromium() {
    let Some(chromium) = browser::chromium() else {
        println!("SKIPPED: chromium not found (install the Debian package chromium)");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let mut pages: Vec<(String, PathBuf)> = Vec::new();
    // A real run with alerts, escalations and a rollback-free timeline…
    let report = run_cli("latency_alert", &tmp.path().join("latency_alert"), None);
    assert_eq!(report.scenario.name, "latency_alert");
    pages.push((
        "latency_alert".into(),
        tmp.path().join("latency_alert/report.html"),
    ));
    // …and the hand-built fixtures of the reports crate (pass and fail).
    for stem in ["scenario_pass", "scenario_fail"] {
        let path = tmp.path().join(format!("{stem}.html"));
        fs::write(&path, fixture_page(stem)).unwrap();
        pages.push((stem.into(), path));
    }
    for (name, page) in pages {
        let shot =
            browser::screenshot(&chromium, &page, 1280, 2000, Duration::from_secs(120)).unwrap();
        assert_eq!(
            browser::png_size(&shot.png),
            Some((1280, 2000)),
            "{name}: not a 1280x2000 PNG"
        );
        // A blank page screenshots to about 12 KB; tables and charts to hundreds.
        assert!(
            shot.png.len() > 64 * 1024,
            "{name}: screenshot is only {} bytes",
            shot.png.len()
        );
        assert!(
            shot.page_messages.is_empty(),
            "{name}: Chromium logged:\n{}",
            shot.page_messages.join("\n")
        );
        if let Some(keep) = std::env::var_os("STAGE4_SCREENSHOT_DIR") {
            fs::create_dir_all(&keep).unwrap();
            fs::write(Path::new(&keep).join(format!("{name}.png")), &shot.png).unwrap();
        }
    }
}

#[test]
fn the_console_check_sees_a_page_that_breaks_its_policy() {
    let Some(chromium) = browser::chromium() else {
        println!("SKIPPED: chromium not found (install the Debian package chromium)");
        return;
    };
    let page = fixture_page("scenario_pass");
    // The page's own Content-Security-Policy blocks an image fetch and a script: Chromium logs both.
    let body = page.find("<body>").unwrap() + "<body>".len();
    let broken = format!(
        "{}<img src=\"missing.png\"/><script>console.error('boom')</script>{}",
        &page[..body],
        &page[body..]
    );
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("broken.html");
    fs::write(&path, broken).unwrap();
    let shot = browser::screenshot(&chromium, &path, 1280, 2000, Duration::from_secs(120)).unwrap();
    assert!(
        shot.page_messages.len() >= 2,
        "expected messages about the blocked image and script, got {:?}",
        shot.page_messages
    );
}

#[test]
fn promtool_agrees_with_our_alert_evaluator_on_every_scenario() {
    if Command::new("promtool").arg("--version").output().is_err() {
        println!("SKIPPED: promtool not found (install the Debian package prometheus)");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    for name in library() {
        let dir = tmp.path().join(&name);
        let plan = plan::load(&repo().join(format!("scenarios/{name}.toml"))).unwrap();
        run_and_report(&plan, None, Some(&dir)).unwrap();
        // The rules must be valid, then Prometheus must fire what our evaluator fired.
        for (verb, file) in [("check", "alert_rules.yml"), ("test", "promtool_test.yml")] {
            let out = Command::new("promtool")
                .args([verb, "rules", file])
                .current_dir(&dir)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{name}: promtool {verb} rules {file} failed\n{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

#[test]
fn a_sharded_sweep_merges_to_the_unsharded_sweep() {
    let tmp = tempfile::tempdir().unwrap();
    let stage4 = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_stage4"))
            .current_dir(repo())
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let path = |name: &str| tmp.path().join(name).display().to_string();
    stage4(&[
        "scenario",
        "sweep",
        "latency_alert",
        "--seeds",
        "3..8",
        "--jobs",
        "2",
        "--out",
        &path("all.json"),
    ]);
    for shard in ["1/2", "2/2"] {
        let file = path(&format!("shard{}.json", &shard[..1]));
        stage4(&[
            "scenario",
            "sweep",
            "latency_alert",
            "--seeds",
            "3..8",
            "--jobs",
            "1",
            "--shard",
            shard,
            "--out",
            &file,
        ]);
    }
    stage4(&[
        "report",
        "merge",
        &path("shard2.json"),
        &path("shard1.json"),
        "--out",
        &path("merged.json"),
    ]);
    let all = fs::read_to_string(path("all.json")).unwrap();
    let merged = fs::read_to_string(path("merged.json")).unwrap();
    assert_eq!(
        all, merged,
        "merged shards must equal the unsharded sweep, byte for byte"
    );
}

/// Engine + simulator for a whole day: two venues, two symbols, all three strategies. Orders
/// are placed and filled, PnL is computed, every decision-log line verifies, the alert rules are
/// evaluated to the end, and a second run gives the same digest and the same log.
#[test]
fn a_simulated_day_of_the_whole_engine() {
    const DAY: &str = r#"
name = "engine_day"
description = "A day of all three strategies on two venues."
seed = 2026
as_of = "2026-11-28T00:00:00Z"
duration = "1d"

[market]
venues = ["binance", "kraken"]
symbols = ["BTC_USDT", "ETH_USDT"]
bar = "1m"
model = { kind = "regime_switching", vol_calm = 0.0002, vol_burst = 0.0008 }
[market.venue.kraken]
basis_bps = 8

[[schedules]]
name = "mr_core"
strategy = { kind = "mean_reversion", lookback = 30, entry_zscore = 1.5, exit_zscore = 0.3, min_volume_usd = 0 }
cadence = "60s"
warmup_bars = 30

[[schedules]]
name = "vt_core"
strategy = { kind = "volatility_target", lookback = 60, rebalance_threshold = 0.05, target_volatility = 0.002, floor_volatility = 0.0002 }
cadence = "5m"
warmup_bars = 60
symbols = ["ETH_USDT"]
risk_profile = "conservative"

[[schedules]]
name = "xex_arb"
strategy = { kind = "cross_exchange_arbitrage", primary_exchange = "binance", secondary_exchange = "kraken", spread_entry = 0.0010, spread_exit = 0.0003, max_notional = 5000, max_open_seconds = 300 }
cadence = "15s"
risk_profile = "aggressive"

[[expect]]
decision_log = "verifies"
"#;
    let plan = plan::parse(Path::new("engine_day.toml"), DAY).unwrap();
    let first = run_and_report(&plan, None, None).unwrap();
    let r = &first.report;
    assert!(first.passed(), "{}", r.to_text());
    for schedule in ["mr_core", "vt_core", "xex_arb"] {
        let orders = first
            .outcome
            .observations
            .orders
            .iter()
            .filter(|o| o.schedule == schedule)
            .count();
        let fills = first
            .outcome
            .observations
            .fills
            .iter()
            .filter(|f| f.1 == schedule)
            .count();
        assert!(
            orders > 0 && fills > 0,
            "{schedule}: {orders} orders, {fills} fills"
        );
    }
    assert!(r.summary.fills > 100, "{:?}", r.summary);
    assert!(r.summary.final_equity.is_finite() && r.summary.realized_pnl.is_finite());
    assert_ne!(
        r.summary.final_equity, 300_000.0,
        "PnL moved with the trading"
    );
    let metrics = &first.outcome.metrics;
    let drawdown = metrics
        .series()
        .filter(|(k, _)| k.metric.as_str() == "bot_core_multi_strategy_pnl_drawdown_pct")
        .count();
    assert_eq!(drawdown, 3, "pnl_drawdown_pct per schedule");
    // The alert rules were evaluated on the 30 s grid up to the end of the day.
    assert_eq!(
        first.outcome.last_alert_evaluation,
        Some(plan.end),
        "alerts evaluated to the end"
    );
    let second = run_and_report(&plan, None, None).unwrap();
    assert_eq!(first.outcome.digest, second.outcome.digest);
    assert_eq!(first.outcome.decision_log, second.outcome.decision_log);
}
