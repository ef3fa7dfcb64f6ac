//! `stage4 escalation template|validate` as operators run them: exit codes, every bad line
//! reported, the JSON result, and the template round trip.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use stage4_harness::escalation::{DEFAULT_CHECKLIST, Policy};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

/// Runs `stage4` from the workspace root, so fixture paths print the same everywhere.
fn stage4(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stage4"))
        .args(args)
        .current_dir(workspace())
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

#[test]
fn validate_reports_every_bad_line_of_each_fixture() {
    insta::glob!("../../../fixtures/escalation", "*.jsonl", |path| {
        let name = path.file_name().unwrap().to_str().unwrap();
        let relative = format!("fixtures/escalation/{name}");
        let out = stage4(&["escalation", "validate", &relative]);
        let code = out.status.code().unwrap();
        let expected = if name.starts_with("err_") { 1 } else { 0 };
        assert_eq!(code, expected, "{name}: {}", text(&out.stderr));
        assert_eq!(text(&out.stderr), "", "{name}");
        insta::assert_snapshot!(format!("exit {code}\n{}", text(&out.stdout)));
    });
}

#[test]
fn the_broken_fixture_has_a_problem_on_every_rule_line_but_one() {
    let out = stage4(&[
        "escalation",
        "validate",
        "fixtures/escalation/err_many_problems.jsonl",
    ]);
    let stdout = text(&out.stdout);
    let mut lines: Vec<usize> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("fixtures/escalation/err_many_problems.jsonl:"))
        .filter_map(|rest| rest.split_once(':'))
        .filter_map(|(n, _)| n.parse().ok())
        .collect();
    lines.dedup();
    // Line 1 is a comment, line 2 the one valid rule; 3..=23 are each broken differently.
    assert_eq!(lines, (3..=23).collect::<Vec<_>>());
}

#[test]
fn json_result_lists_the_same_problems() {
    let file = "fixtures/escalation/err_many_problems.jsonl";
    let plain = stage4(&["escalation", "validate", file]);
    let json = stage4(&["escalation", "validate", "--json", file]);
    assert_eq!(json.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(doc["status"], "fail");
    assert_eq!(doc["schema_version"], 1);
    assert_eq!(doc["rule_lines"], 22);
    assert_eq!(doc["bad_lines"], 21);
    let problems = doc["problems"].as_array().unwrap();
    let from_json: Vec<String> = problems
        .iter()
        .map(|p| format!("{file}:{}: {}", p["line"], p["message"].as_str().unwrap()))
        .collect();
    let plain = text(&plain.stdout);
    let from_text: Vec<&str> = plain
        .lines()
        .filter(|l| {
            l.strip_prefix(file)
                .and_then(|rest| rest.strip_prefix(':'))
                .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
        })
        .collect();
    assert_eq!(
        plain.lines().last(),
        Some(format!("{file}: invalid: 25 problems on 21 of 22 rule lines").as_str())
    );
    assert_eq!(from_json, from_text);
    assert_eq!(problems[2]["key"], "levl");

    let ok = stage4(&[
        "escalation",
        "validate",
        "--json",
        "fixtures/escalation/default.jsonl",
    ]);
    assert_eq!(ok.status.code(), Some(0));
    let doc: serde_json::Value = serde_json::from_slice(&ok.stdout).unwrap();
    assert_eq!(doc["status"], "ok");
    assert_eq!(doc["problems"], serde_json::json!([]));
    assert_eq!(
        doc["rule_lines"],
        Policy::parse(DEFAULT_CHECKLIST).unwrap().rules.len()
    );
}

#[test]
fn template_is_the_fixture_and_validates() {
    let out = stage4(&["escalation", "template"]);
    assert_eq!(out.status.code(), Some(0));
    let fixture =
        std::fs::read_to_string(workspace().join("fixtures/escalation/default.jsonl")).unwrap();
    assert_eq!(text(&out.stdout), fixture);
    assert_eq!(fixture, DEFAULT_CHECKLIST);

    // template | validate, through a file as an operator would.
    let dir = tempfile::tempdir().unwrap();
    let written = dir.path().join("checklist.jsonl");
    std::fs::write(&written, &out.stdout).unwrap();
    let check = stage4(&["escalation", "validate", written.to_str().unwrap()]);
    assert_eq!(check.status.code(), Some(0), "{}", text(&check.stdout));
    let summary = text(&check.stdout);
    assert_eq!(
        summary,
        format!(
            "{}: valid escalation checklist, 13 rules\n",
            written.display()
        )
    );

    // --output writes the same bytes.
    let target = dir.path().join("nested/escalation.jsonl");
    let out = stage4(&[
        "escalation",
        "template",
        "--output",
        target.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(std::fs::read_to_string(&target).unwrap(), fixture);
}

#[test]
fn unreadable_files_exit_2_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.jsonl");
    for (path, why) in [
        (missing.to_str().unwrap(), "No such file or directory"),
        (dir.path().to_str().unwrap(), "Is a directory"),
    ] {
        for json in [false, true] {
            let mut args = vec!["escalation", "validate", path];
            if json {
                args.push("--json");
            }
            let out = stage4(&args);
            assert_eq!(out.status.code(), Some(2), "{path}");
            let stderr = text(&out.stderr);
            assert!(
                stderr.starts_with(&format!("error: cannot read escalation checklist {path}"))
                    && stderr.contains(why),
                "{stderr}"
            );
            assert_eq!(text(&out.stdout), "");
        }
    }
}

#[test]
fn help_explains_the_format_with_an_example_line_that_validates() {
    let out = stage4(&["escalation", "validate", "--help"]);
    assert_eq!(out.status.code(), Some(0));
    let help = text(&out.stdout);
    for word in [
        "FILE:LINE: problem",
        "alert_unacknowledged",
        "pnl_loss_vs_daily_limit",
        "cpu_over_budget",
        "audit_status",
        "L1, L2, tech_lead, incident_manager",
        "Exit codes: 0 valid",
    ] {
        assert!(help.contains(word), "help lacks {word:?}:\n{help}");
    }
    let example = help
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with('{'))
        .expect("an example line");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("example.jsonl");
    std::fs::write(&file, format!("{example}\n")).unwrap();
    let check = stage4(&["escalation", "validate", file.to_str().unwrap()]);
    assert_eq!(check.status.code(), Some(0), "{}", text(&check.stdout));
}
