//! `stage4 sim run` as operators call it: a separate process per run.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn stage4(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stage4"))
        .args(args)
        .output()
        .expect("stage4 runs")
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn run_sim(seed: &str, out: &Path) -> String {
    let output = stage4(&[
        "sim",
        "run",
        "--seed",
        seed,
        "--venues",
        "binance,kraken",
        "--symbols",
        "BTC_USDT,ETH_USDT",
        "--bar",
        "1m",
        "--duration",
        "6h",
        "--out",
        out.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains(&format!("seed {seed}\n")), "{stdout}");
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("digest "))
        .expect("digest line")
        .to_owned()
}

#[test]
fn same_seed_in_two_processes_gives_identical_files_and_digest() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, c) = (
        dir.path().join("a"),
        dir.path().join("b"),
        dir.path().join("c"),
    );
    let digest_a = run_sim("7", &a);
    let digest_b = run_sim("7", &b);
    let digest_c = run_sim("8", &c);
    assert_eq!(digest_a.len(), 64);
    assert_eq!(digest_a, digest_b);
    assert_ne!(digest_a, digest_c);
    for file in ["bars.csv", "summary.json"] {
        assert_eq!(
            fs::read(a.join(file)).unwrap(),
            fs::read(b.join(file)).unwrap(),
            "{file} differs between runs"
        );
        assert_ne!(
            fs::read(a.join(file)).unwrap(),
            fs::read(c.join(file)).unwrap(),
            "{file} ignores the seed"
        );
    }
    let summary: serde_json::Value =
        serde_json::from_slice(&fs::read(a.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["seed"], 7);
    assert_eq!(summary["digest"], digest_a.as_str());
    assert_eq!(summary["bars_written"], 2 * 2 * 360);
    assert_eq!(summary["counts"]["bars"], 2 * 2 * 360);
    let bars = fs::read_to_string(a.join("bars.csv")).unwrap();
    assert_eq!(bars.lines().count(), 1 + 2 * 2 * 360);
    assert!(bars.starts_with("timestamp,venue,symbol,open,high,low,close,volume\n"));
    let leftovers: Vec<_> = fs::read_dir(&a)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        leftovers.len(),
        2,
        "only bars.csv and summary.json: {leftovers:?}"
    );
}

#[test]
fn the_market_fixture_replays_bar_for_bar() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = repo_root().join("fixtures/market/sample_1m.csv");
    let output = stage4(&[
        "sim",
        "run",
        "--seed",
        "1",
        "--venues",
        "binance,kraken",
        "--symbols",
        "BTC_USDT,ETH_USDT",
        "--replay",
        fixture.to_str().unwrap(),
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let recorded: Vec<String> = fs::read_to_string(&fixture)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(str::to_owned)
        .collect();
    let replayed: Vec<String> = fs::read_to_string(dir.path().join("bars.csv"))
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(recorded.len(), 1 + 1_200);
    assert_eq!(recorded, replayed);
}

#[test]
fn bad_arguments_exit_2_naming_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let out = out.to_str().unwrap();
    let a_file = dir.path().join("file");
    fs::write(&a_file, "x").unwrap();
    let missing = dir.path().join("missing.csv");
    let base = |extra: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = [
            "sim",
            "run",
            "--seed",
            "7",
            "--venues",
            "binance",
            "--symbols",
            "BTC_USDT",
            "--duration",
            "1h",
            "--out",
            out,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    };
    let replace = |flag: &str, value: &str| -> Vec<String> {
        let mut v = base(&[]);
        let i = v.iter().position(|a| a == flag).unwrap();
        v[i + 1] = value.to_owned();
        v
    };
    let cases: Vec<(&str, Vec<String>, &str)> = vec![
        (
            "unknown duration unit",
            replace("--duration", "5x"),
            "--duration",
        ),
        ("zero duration", replace("--duration", "0s"), "--duration"),
        ("empty venue list", replace("--venues", ""), "--venues"),
        ("bad venue name", replace("--venues", "Binance"), "--venues"),
        ("zero bar size", base(&["--bar", "0s"]), "--bar"),
        ("bar not dividing a day", base(&["--bar", "7m"]), "--bar"),
        (
            "unknown symbol format",
            replace("--symbols", "BTCXYZ"),
            "--symbols",
        ),
        (
            "lower-case symbol",
            replace("--symbols", "btc_usdt"),
            "--symbols",
        ),
        (
            "quote interval not dividing the bar",
            base(&["--quote-interval", "7s"]),
            "--quote-interval",
        ),
        (
            "unwritable out",
            replace("--out", "/proc/stage4-sim-test"),
            "--out",
        ),
        (
            "out is a file",
            replace("--out", a_file.to_str().unwrap()),
            "--out",
        ),
        (
            "missing replay file",
            base(&["--replay", missing.to_str().unwrap()]),
            "--replay",
        ),
        ("unknown model", base(&["--model", "brownian"]), "--model"),
        ("bad start", base(&["--start", "yesterday"]), "--start"),
        (
            "missing seed",
            vec![
                "sim".into(),
                "run".into(),
                "--venues".into(),
                "binance".into(),
                "--symbols".into(),
                "BTC_USDT".into(),
                "--out".into(),
                out.into(),
            ],
            "--seed",
        ),
    ];
    for (name, args, flag) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let output = stage4(&args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{name}: {stderr}");
        // The error line names the flag (clap lists missing flags on the line after).
        let head: String = stderr.lines().take(2).collect::<Vec<_>>().join("\n");
        assert!(
            head.starts_with("error:") && head.contains(flag),
            "{name}: the error must name {flag}: {stderr}"
        );
    }
}

#[test]
fn help_explains_every_flag_with_defaults() {
    let output = stage4(&["sim", "run", "--help"]);
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    for flag in [
        "--seed",
        "--venues",
        "--symbols",
        "--bar",
        "--duration",
        "--start",
        "--quote-interval",
        "--model",
        "--replay",
        "--out",
    ] {
        assert!(help.contains(flag), "{flag} missing from help:\n{help}");
    }
    for default in [
        "[default: 1m]",
        "[default: 5s]",
        "regime_switching",
        "mean_reverting",
    ] {
        assert!(
            help.contains(default),
            "{default} missing from help:\n{help}"
        );
    }
}
