//! `stage4 decision-log` end to end: the reference's golden vectors through the real binary,
//! exit codes for every bad input, snapshots of the text and JSON reports, appends that
//! chain, lock and seal, and the key never showing up in any output.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use stage4_engine::decision_log::entry::{Entry, OperatorAction};
use stage4_engine::decision_log::{Algorithm, DecisionLogWriter, Json, SigningKey};
use stage4_engine::domain::SimTime;

/// A key that must never appear in any output.
const KEY: &str = "k3y-Must-Not-Leak-0123456789abcdef";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/decision_log")
        .join(name)
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn stage4(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_stage4"));
    cmd.current_dir(dir)
        .args(args)
        .env_remove("LIVE_DECISION_LOG_HMAC")
        .env_remove("DLOG_KEY");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let Output {
        status,
        stdout,
        stderr,
    } = cmd.output().expect("stage4 runs");
    let run = Run {
        code: status.code().expect("exited normally"),
        stdout: String::from_utf8(stdout).expect("utf-8 stdout"),
        stderr: String::from_utf8(stderr).expect("utf-8 stderr"),
    };
    assert!(
        !run.stdout.contains(KEY) && !run.stderr.contains(KEY),
        "the key leaked: {args:?}\n{}{}",
        run.stdout,
        run.stderr
    );
    run
}

fn verify(dir: &Path, log: &Path, key: &str, extra: &[&str]) -> Run {
    let log = log.to_str().unwrap();
    let mut args = vec!["decision-log", "verify", log, "--hmac-key-env", "DLOG_KEY"];
    args.extend_from_slice(extra);
    stage4(dir, &args, &[("DLOG_KEY", key)])
}

fn write_private(path: &Path, body: &str, mode: u32) {
    fs::write(path, body).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn golden_vectors_verify_with_the_right_key_and_fail_with_a_wrong_one() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("vector_a.jsonl", "secret", &[][..], 1),
        (
            "vector_b.jsonl",
            "verysecret",
            &["--key-id", "demo-key"][..],
            1,
        ),
        ("vector_c.jsonl", "verysecret", &[][..], 1),
        (
            "reference_summary_log.jsonl",
            "verysecret",
            &["--key-id", "demo-key"][..],
            3,
        ),
    ];
    for (name, key, extra, last_line) in cases {
        let ok = verify(dir.path(), &fixture(name), key, extra);
        assert_eq!(ok.code, 0, "{name}: {}{}", ok.stdout, ok.stderr);
        assert!(ok.stdout.ends_with("result: ok\n"), "{}", ok.stdout);

        let wrong = verify(dir.path(), &fixture(name), "not-the-key", extra);
        assert_eq!(wrong.code, 1, "{name}");
        assert!(
            wrong.stdout.contains(&format!(
                "line {last_line}: signature does not match the entry"
            )),
            "{name}: {}",
            wrong.stdout
        );
    }
    // stdin works too (`-`).
    let mut child = Command::new(env!("CARGO_BIN_EXE_stage4"))
        .args(["decision-log", "verify", "-", "--hmac-key-env", "DLOG_KEY"])
        .env("DLOG_KEY", "secret")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(
        &mut child.stdin.take().unwrap(),
        &fs::read(fixture("vector_a.jsonl")).unwrap(),
    )
    .unwrap();
    let piped = child.wait_with_output().unwrap();
    assert_eq!(piped.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&piped.stdout).starts_with("-: 1 entry, 0 bad"));
    // The key file form of the key works the same way.
    let key_file = dir.path().join("key");
    write_private(&key_file, "verysecret\n", 0o600);
    let run = stage4(
        dir.path(),
        &[
            "decision-log",
            "verify",
            fixture("vector_b.jsonl").to_str().unwrap(),
            "--hmac-key-file",
            key_file.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    // Another key id is refused before any MAC; a missing one only with --require-key-id.
    let other_id = verify(
        dir.path(),
        &fixture("vector_b.jsonl"),
        "verysecret",
        &["--key-id", "ops"],
    );
    assert_eq!(other_id.code, 1);
    assert!(
        other_id
            .stdout
            .contains("line 1: signed with key id `demo-key`, expected `ops`")
    );
    let strict = verify(
        dir.path(),
        &fixture("reference_summary_log.jsonl"),
        "verysecret",
        &["--key-id", "demo-key", "--require-key-id"],
    );
    assert_eq!(strict.code, 1);
    assert!(
        strict
            .stdout
            .starts_with("line 3: signature has no `key_id` (expected `demo-key`)\n"),
        "{}",
        strict.stdout
    );
}

#[test]
fn append_reproduces_the_reference_summary_entries() {
    // Vector B and C as `verify_decision_log.py summary` prints them: same fields, same MAC.
    let dir = tempfile::tempdir().unwrap();
    let base = [
        "decision-log",
        "append",
        "-",
        "--stage",
        "demo",
        "--status",
        "demo_ready",
        "--timestamp",
        "2025-01-01T00:00:00+00:00",
        "--artefact",
        "config_sha384=sha384:deadbeef",
        "--hmac-key-env",
        "DLOG_KEY",
    ];
    let mut b = base.to_vec();
    b.extend(["--key-id", "demo-key"]);
    let run = stage4(dir.path(), &b, &[("DLOG_KEY", "verysecret")]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let expected = fs::read_to_string(fixture("vector_b.jsonl")).unwrap();
    assert_eq!(
        Json::parse(&run.stdout).unwrap(),
        Json::parse(&expected).unwrap()
    );
    assert!(
        run.stderr.contains("10 bytes"),
        "short keys are warned about"
    );

    let mut c = base.to_vec();
    c.extend([
        "--metadata",
        "ratio=0.1",
        "--metadata",
        "big=1e16",
        "--metadata",
        "small=1e-7",
        "--metadata",
        "name=Zażółć",
    ]);
    let run = stage4(dir.path(), &c, &[("DLOG_KEY", "verysecret")]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let expected = fs::read_to_string(fixture("vector_c.jsonl")).unwrap();
    assert_eq!(
        Json::parse(&run.stdout).unwrap(),
        Json::parse(&expected).unwrap()
    );
}

#[test]
fn unsigned_lines_fail_unless_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("unsigned.jsonl");
    fs::write(
        &log,
        "{\"kind\": \"metadata\", \"timestamp\": \"2024\"}\n\n{\"kind\": \"snapshot\"}\n",
    )
    .unwrap();
    let run = verify(dir.path(), &log, KEY, &[]);
    assert_eq!(run.code, 1);
    assert!(run.stdout.starts_with("line 1: unsigned"), "{}", run.stdout);
    assert!(run.stdout.contains("\nline 3: unsigned"), "{}", run.stdout);
    let run = verify(dir.path(), &log, KEY, &["--allow-unsigned"]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    // Without any key, only --allow-unsigned makes sense; then unsigned logs pass.
    let path = log.to_str().unwrap();
    let run = stage4(
        dir.path(),
        &["decision-log", "verify", path, "--allow-unsigned"],
        &[],
    );
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    // ...but a signed line then cannot be checked.
    let run = stage4(
        dir.path(),
        &[
            "decision-log",
            "verify",
            fixture("vector_a.jsonl").to_str().unwrap(),
            "--allow-unsigned",
        ],
        &[],
    );
    assert_eq!(run.code, 1);
    assert!(run.stdout.contains("line 1: signed, but no key was given"));
}

/// A chained log with one problem of each kind, written with fixed times and keys.
fn damaged_log(dir: &Path) -> PathBuf {
    let key = SigningKey::new(KEY, Some("ops".to_owned()));
    let mut writer = DecisionLogWriter::new_chained(key, Algorithm::HmacSha256);
    let at = SimTime::parse_rfc3339("2026-11-28T09:00:00Z").unwrap();
    let action = |n: u64, actor: &str| {
        OperatorAction {
            at: at + stage4_engine::domain::SimDuration::from_secs(60 * n),
            action: "rollback_disable".to_owned(),
            actor: Some(actor.to_owned()),
            ticket: Some("INC-2042".to_owned()),
            details: Default::default(),
        }
        .to_json()
    };
    let l1 = writer.append(action(1, "noc"));
    let l2 = writer.append(action(2, "noc"));
    let l3 = writer.append(action(3, "noc"));
    let l4 = writer.append(action(4, "noc"));
    let mut stranger = DecisionLogWriter::new(
        SigningKey::new(KEY, Some("other".to_owned())),
        Algorithm::HmacSha256,
    );
    let foreign = stranger.append(action(5, "intruder"));
    let lines = [
        l1.clone(),
        String::new(),
        l2.replace("\"actor\":\"noc\"", "\"actor\":\"mallory\""),
        l3,
        "not json at all".to_owned(),
        "{\"event\": \"operator_action\", \"n\": 5}".to_owned(),
        l1,
        l4,
        foreign,
        "[1, 2]".to_owned(),
    ];
    let path = dir.join("runtime.jsonl");
    fs::write(&path, lines.join("\n") + "\n").unwrap();
    path
}

#[test]
fn reports_of_a_damaged_log_list_every_bad_line() {
    let dir = tempfile::tempdir().unwrap();
    damaged_log(dir.path());
    let args = ["--key-id", "ops", "--expect-entries", "3", "--require-seal"];
    let text = verify(dir.path(), Path::new("runtime.jsonl"), KEY, &args);
    assert_eq!(text.code, 1);
    insta::assert_snapshot!("damaged_log_text", text.stdout);
    let mut json_args = args.to_vec();
    json_args.push("--json");
    let json = verify(dir.path(), Path::new("runtime.jsonl"), KEY, &json_args);
    assert_eq!(json.code, 1);
    insta::assert_snapshot!("damaged_log_json", json.stdout);
    let parsed: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(parsed["bad_lines"], 7);
    assert_eq!(parsed["status"], "failed");
}

#[test]
fn appends_chain_seal_and_anchors_catch_truncation() {
    let dir = tempfile::tempdir().unwrap();
    let env = [("LIVE_DECISION_LOG_HMAC", KEY)];
    let append = |status: &str, extra: &[&str]| {
        let mut args = vec![
            "decision-log",
            "append",
            "audit/decision_logs/stage4.jsonl",
            "--stage",
            "stage4",
            "--status",
            status,
            "--artefact",
            "incident_id=INC-2042",
            "--metadata",
            "duration_min=45",
            "--tag",
            "rollback",
            "--tag",
            " rollback ",
            "--category",
            "stage4_rollback",
        ];
        args.extend_from_slice(extra);
        stage4(dir.path(), &args, &env)
    };
    let first = append("rollback_started", &["--chain"]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert!(first.stdout.contains("(seq 1)"), "{}", first.stdout);
    assert!(first.stderr.is_empty(), "a 34-byte key is not warned about");
    let second = append("rollback_completed", &[]);
    assert!(second.stdout.contains("(seq 2)"), "{}", second.stdout);
    let sealed = stage4(
        dir.path(),
        &["decision-log", "seal", "audit/decision_logs/stage4.jsonl"],
        &env,
    );
    assert_eq!(sealed.code, 0, "{}", sealed.stderr);
    let head = sealed
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("head: "))
        .and_then(|l| l.split(' ').next())
        .unwrap()
        .to_owned();

    let log = dir.path().join("audit/decision_logs/stage4.jsonl");
    let text = fs::read_to_string(&log).unwrap();
    let first_entry = Json::parse(text.lines().next().unwrap()).unwrap();
    assert_eq!(
        first_entry.get("tags").map(Json::canonical).as_deref(),
        Some("[\"rollback\"]")
    );
    let anchors = [
        "--require-seal",
        "--expect-head",
        &head,
        "--expect-entries",
        "3",
    ];
    let ok = verify(dir.path(), &log, KEY, &anchors);
    assert_eq!(ok.code, 0, "{}", ok.stdout);
    assert!(ok.stdout.contains("3 chained, sealed"), "{}", ok.stdout);

    // A sealed log takes no more entries.
    let refused = append("again", &[]);
    assert_eq!(refused.code, 2);
    assert!(refused.stderr.contains("sealed"), "{}", refused.stderr);

    // Cut the seal off: the chain alone cannot tell, every anchor can.
    let cut = dir.path().join("cut.jsonl");
    fs::write(
        &cut,
        text.lines().take(2).collect::<Vec<_>>().join("\n") + "\n",
    )
    .unwrap();
    assert_eq!(verify(dir.path(), &cut, KEY, &[]).code, 0);
    for anchor in [
        &["--require-seal"][..],
        &["--expect-head", &head][..],
        &["--expect-entries", "3"][..],
    ] {
        let run = verify(dir.path(), &cut, KEY, anchor);
        assert_eq!(run.code, 1, "{anchor:?}");
        assert!(run.stdout.contains("\nlog: ") || run.stdout.starts_with("log: "));
    }
}

#[test]
fn incidents_follow_their_lifecycle() {
    let dir = tempfile::tempdir().unwrap();
    let env = [("LIVE_DECISION_LOG_HMAC", KEY)];
    let step = |args: &[&str]| {
        let mut all = vec!["decision-log", "incident"];
        all.extend_from_slice(args);
        stage4(dir.path(), &all, &env)
    };
    let log = "audit/decision_logs/runtime.jsonl";
    let t = |m: u32| format!("2026-11-28T09:{m:02}:00Z");
    let (t0, t1, t2, t3) = (t(0), t(3), t(9), t(30));
    let open = step(&[
        "open",
        log,
        "--ticket",
        "INC-7",
        "--severity",
        "warning",
        "--owner",
        "noc",
        "--alert",
        "MultiStrategySchedulerLatencyHigh",
        "--timestamp",
        &t0,
        "--chain",
    ]);
    assert_eq!(open.code, 0, "{}", open.stderr);
    assert!(open.stdout.starts_with("incident INC-7 open (L1, warning)"));
    assert_eq!(
        step(&["ack", log, "--ticket", "INC-7", "--timestamp", &t1]).code,
        0
    );
    let up = step(&["escalate", log, "--ticket", "INC-7", "--timestamp", &t2]);
    assert!(
        up.stdout
            .starts_with("incident INC-7 escalated (L2, warning)"),
        "{}",
        up.stdout
    );
    let down = step(&["escalate", log, "--ticket", "INC-7", "--level", "L1"]);
    assert_eq!(down.code, 2);
    assert!(down.stderr.contains("already at L2"), "{}", down.stderr);
    let nope = step(&["ack", log, "--ticket", "INC-8"]);
    assert_eq!(nope.code, 2);
    assert!(nope.stderr.contains("no open incident"), "{}", nope.stderr);
    let twice = step(&["open", log, "--ticket", "INC-7", "--severity", "info"]);
    assert_eq!(twice.code, 2);
    let done = step(&[
        "resolve",
        log,
        "--ticket",
        "INC-7",
        "--note",
        "feed restored",
        "--timestamp",
        &t3,
    ]);
    assert_eq!(done.code, 0, "{}", done.stderr);

    let text = fs::read_to_string(dir.path().join(log)).unwrap();
    let entries: Vec<Json> = text.lines().map(|l| Json::parse(l).unwrap()).collect();
    assert_eq!(entries.len(), 4);
    for (entry, (action, level)) in entries.iter().zip([
        ("open", "L1"),
        ("acknowledge", "L1"),
        ("escalate", "L2"),
        ("resolve", "L2"),
    ]) {
        let get = |k: &str| entry.get(k).and_then(Json::as_str);
        assert_eq!(get("category"), Some("stage4_incident"));
        assert_eq!(get("event"), Some("incident"));
        assert_eq!(get("ticket"), Some("INC-7"));
        assert_eq!(get("action"), Some(action));
        assert_eq!(get("level"), Some(level));
        assert_eq!(get("owner"), Some("noc"));
        assert_eq!(get("severity"), Some("warning"));
    }
    assert_eq!(
        entries[3].get("note").and_then(Json::as_str),
        Some("feed restored")
    );
    assert_eq!(verify(dir.path(), &dir.path().join(log), KEY, &[]).code, 0);
}

#[test]
fn concurrent_writers_keep_one_unbroken_chain() {
    let dir = tempfile::tempdir().unwrap();
    // Four writers, five appends each, all at once: the lock serialises them.
    let mut running: Vec<_> = (0..4)
        .map(|w| {
            let script = (0..5)
                .map(|i| {
                    format!(
                        "'{}' decision-log append parallel.jsonl --chain --stage s --status w{w}-{i} --artefact n={i} >/dev/null",
                        env!("CARGO_BIN_EXE_stage4")
                    )
                })
                .collect::<Vec<_>>()
                .join(" && ");
            Command::new("sh")
                .arg("-c")
                .arg(script)
                .current_dir(dir.path())
                .env("LIVE_DECISION_LOG_HMAC", KEY)
                .spawn()
                .unwrap()
        })
        .collect();
    for child in &mut running {
        assert!(child.wait().unwrap().success());
    }
    let log = dir.path().join("parallel.jsonl");
    let run = verify(dir.path(), &log, KEY, &["--expect-entries", "20"]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(run.stdout.contains("20 chained"), "{}", run.stdout);
}

/// (case name, arguments, environment, expected part of the error message).
type BadInput<'a> = (&'a str, Vec<&'a str>, &'a [(&'a str, &'a str)], &'a str);

#[test]
fn bad_input_exits_2_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let good_log = fixture("vector_a.jsonl");
    let good = good_log.to_str().unwrap();
    write_private(&d.join("open_key"), KEY, 0o644);
    write_private(&d.join("empty_key"), " \n", 0o600);
    write_private(&d.join("key"), KEY, 0o600);
    write_private(&d.join("wide.env"), &format!("DLOG_KEY={KEY}\n"), 0o644);
    fs::write(d.join("torn.jsonl"), "{\"a\": 1}\n{\"b\"").unwrap();
    fs::write(d.join("garbage.jsonl"), "{\"a\": 1}\nnot json\n").unwrap();
    let key_env = [("DLOG_KEY", KEY)];
    let append = |path: &'static str| -> Vec<&'static str> {
        vec![
            "decision-log",
            "append",
            path,
            "--stage",
            "s",
            "--status",
            "x",
            "--artefact",
            "a=1",
            "--hmac-key-env",
            "DLOG_KEY",
        ]
    };
    let cases: Vec<BadInput> = vec![
        (
            "missing log",
            vec![
                "decision-log",
                "verify",
                "missing.jsonl",
                "--hmac-key-env",
                "DLOG_KEY",
            ],
            &key_env,
            "cannot open missing.jsonl",
        ),
        (
            "key variable unset",
            vec![
                "decision-log",
                "verify",
                good,
                "--hmac-key-env",
                "UNSET_VAR",
            ],
            &[],
            "UNSET_VAR is not set",
        ),
        (
            "default key variable unset",
            vec!["decision-log", "verify", good],
            &[],
            "LIVE_DECISION_LOG_HMAC is not set",
        ),
        (
            "empty key",
            vec!["decision-log", "verify", good, "--hmac-key-env", "DLOG_KEY"],
            &[("DLOG_KEY", "")],
            "DLOG_KEY is set but empty",
        ),
        (
            "key file readable by others",
            vec![
                "decision-log",
                "verify",
                good,
                "--hmac-key-file",
                "open_key",
            ],
            &[],
            "mode 0644",
        ),
        (
            "empty key file",
            vec![
                "decision-log",
                "verify",
                good,
                "--hmac-key-file",
                "empty_key",
            ],
            &[],
            "is empty",
        ),
        (
            "missing key file",
            vec!["decision-log", "verify", good, "--hmac-key-file", "nope"],
            &[],
            "cannot read nope",
        ),
        (
            "both key sources",
            vec![
                "decision-log",
                "verify",
                good,
                "--hmac-key-file",
                "key",
                "--hmac-key-env",
                "DLOG_KEY",
            ],
            &key_env,
            "cannot be used with",
        ),
        (
            "env file readable by others",
            vec![
                "decision-log",
                "verify",
                good,
                "--hmac-key-env",
                "DLOG_KEY",
                "--env-file",
                "wide.env",
            ],
            &[],
            "mode 0644",
        ),
        (
            "malformed expected head",
            vec![
                "decision-log",
                "verify",
                good,
                "--hmac-key-env",
                "DLOG_KEY",
                "--expect-head",
                "abc",
            ],
            &key_env,
            "--expect-head",
        ),
        (
            "require-key-id without a key id",
            vec![
                "decision-log",
                "verify",
                good,
                "--hmac-key-env",
                "DLOG_KEY",
                "--require-key-id",
            ],
            &key_env,
            "--key-id",
        ),
        (
            "append after a torn write",
            append("torn.jsonl"),
            &key_env,
            "torn write",
        ),
        (
            "append after a malformed line",
            append("garbage.jsonl"),
            &key_env,
            "garbage.jsonl:2: the last line is malformed",
        ),
        (
            "append without artefacts",
            vec![
                "decision-log",
                "append",
                "new.jsonl",
                "--stage",
                "s",
                "--status",
                "x",
                "--hmac-key-env",
                "DLOG_KEY",
            ],
            &key_env,
            "no artefact",
        ),
        (
            "append with an empty stage",
            vec![
                "decision-log",
                "append",
                "new.jsonl",
                "--stage",
                " ",
                "--status",
                "x",
                "--artefact",
                "a=1",
                "--hmac-key-env",
                "DLOG_KEY",
            ],
            &key_env,
            "--stage is empty",
        ),
        (
            "append with a bad timestamp",
            vec![
                "decision-log",
                "append",
                "new.jsonl",
                "--stage",
                "s",
                "--status",
                "x",
                "--artefact",
                "a=1",
                "--timestamp",
                "yesterday",
                "--hmac-key-env",
                "DLOG_KEY",
            ],
            &key_env,
            "--timestamp",
        ),
        (
            "append with an object artefact",
            vec![
                "decision-log",
                "append",
                "new.jsonl",
                "--stage",
                "s",
                "--status",
                "x",
                "--artefact",
                "a={\"b\":1}",
                "--hmac-key-env",
                "DLOG_KEY",
            ],
            &key_env,
            "artefact values must be",
        ),
        (
            "append overriding a reserved member",
            vec![
                "decision-log",
                "append",
                "new.jsonl",
                "--stage",
                "s",
                "--status",
                "x",
                "--artefact",
                "a=1",
                "--field",
                "seq=7",
                "--hmac-key-env",
                "DLOG_KEY",
            ],
            &key_env,
            "--field seq",
        ),
        (
            "append with a bad signature entry",
            vec![
                "decision-log",
                "append",
                "new.jsonl",
                "--stage",
                "s",
                "--status",
                "x",
                "--artefact",
                "a=1",
                "--signature-entry",
                "owner=sha:1",
                "--hmac-key-env",
                "DLOG_KEY",
            ],
            &key_env,
            "hmac:",
        ),
        (
            "append with an unknown algorithm",
            vec![
                "decision-log",
                "append",
                "new.jsonl",
                "--stage",
                "s",
                "--status",
                "x",
                "--artefact",
                "a=1",
                "--algorithm",
                "HMAC-MD5",
                "--hmac-key-env",
                "DLOG_KEY",
            ],
            &key_env,
            "HMAC-MD5",
        ),
        (
            "seal of an unchained log",
            vec!["decision-log", "seal", good, "--hmac-key-env", "DLOG_KEY"],
            &key_env,
            "not chained",
        ),
        (
            "incident without a severity",
            vec![
                "decision-log",
                "incident",
                "open",
                "inc.jsonl",
                "--ticket",
                "INC-1",
                "--hmac-key-env",
                "DLOG_KEY",
            ],
            &key_env,
            "needs a severity",
        ),
        (
            "incident with a bad level",
            vec![
                "decision-log",
                "incident",
                "escalate",
                "inc.jsonl",
                "--ticket",
                "INC-1",
                "--level",
                "L3",
                "--hmac-key-env",
                "DLOG_KEY",
            ],
            &key_env,
            "L3",
        ),
    ];
    for (name, args, env, message) in cases {
        let run = stage4(d, &args, env);
        assert_eq!(run.code, 2, "{name}: {}{}", run.stdout, run.stderr);
        assert!(run.stderr.contains(message), "{name}: {}", run.stderr);
        assert!(run.stdout.is_empty(), "{name}: {}", run.stdout);
    }
    // Nothing was created or changed by the refused appends.
    assert!(!d.join("new.jsonl").exists());
    assert!(
        !d.join("inc.jsonl").exists()
            || fs::read_to_string(d.join("inc.jsonl")).unwrap().is_empty()
    );
    assert_eq!(
        fs::read_to_string(d.join("torn.jsonl")).unwrap(),
        "{\"a\": 1}\n{\"b\""
    );
}

#[test]
fn help_explains_flags_defaults_and_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    for (args, must) in [
        (
            &["decision-log", "--help"][..],
            &["Exit codes", "LIVE_DECISION_LOG_HMAC"][..],
        ),
        (
            &["decision-log", "verify", "--help"],
            &[
                "Exit codes",
                "--allow-unsigned",
                "--expect-head",
                "--require-seal",
                "--json",
            ],
        ),
        (
            &["decision-log", "append", "--help"],
            &[
                "Exit codes",
                "--artefact",
                "--metadata",
                "--tag",
                "--category",
                "--chain",
                "[default: snapshot]",
            ],
        ),
        (
            &["decision-log", "incident", "--help"],
            &["open", "ack", "escalate", "resolve"],
        ),
        (
            &["decision-log", "incident", "escalate", "--help"],
            &["--level", "--ticket", "Exit codes"],
        ),
        (&["decision-log", "seal", "--help"], &["Exit codes"]),
    ] {
        let run = stage4(dir.path(), args, &[]);
        assert_eq!(run.code, 0, "{args:?}");
        for m in must {
            assert!(
                run.stdout.contains(m),
                "{args:?} lacks {m}:\n{}",
                run.stdout
            );
        }
    }
}
