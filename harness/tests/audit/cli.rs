//! The `stage4` binary: exit codes, formats and error messages as runbooks see them.

use std::path::Path;
use std::process::{Command, Output};

use super::{AS_OF, site};

fn stage4(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stage4"))
        .args(args)
        .env_remove("METRICS_SERVICE_AUTH_TOKEN")
        .env_remove("CORE_SCHEDULER_TOKEN")
        .env_remove("LIVE_DECISION_LOG_HMAC")
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn compliance_exit_codes_and_formats() {
    let (_dir, good) = site(|_| {});
    let base = |s: &stage4_harness::site::MaterializedSite| {
        vec![
            "audit".to_owned(),
            "compliance".into(),
            "--config".into(),
            p(&s.config).into(),
            "--env-file".into(),
            p(&s.env_file).into(),
            "--mtls-bundle-name".into(),
            "core-oem".into(),
            "--check-paths".into(),
            "--as-of".into(),
            AS_OF.into(),
        ]
    };
    let args = base(&good);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = stage4(&refs);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("\"status\": \"ok\""));

    let (_dir, failing) = site(|s| s.rotated_days_ago = 95.0);
    let report_path = failing.root.join("out/nested/compliance.json");
    let mut args = base(&failing);
    args.extend([
        "--output-json".into(),
        p(&report_path).into(),
        "--format".into(),
        "junit".into(),
    ]);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = stage4(&refs);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).starts_with("<?xml"));
    let written = std::fs::read_to_string(&report_path).unwrap();
    assert!(written.contains("\"status\": \"fail\"") && written.ends_with("}\n"));

    let mut args = base(&failing);
    args.extend(["--format".into(), "sarif".into()]);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = stage4(&refs);
    assert_eq!(out.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        stage4_reports::render::sarif::validate_shape(&doc),
        Vec::<String>::new()
    );

    // Without --env-file and with nothing exported, the secrets are missing: fail, and
    // --allow-missing-env turns that into warnings (exit 0).
    let args = [
        "audit",
        "compliance",
        "--config",
        p(&good.config),
        "--as-of",
        AS_OF,
    ];
    assert_eq!(stage4(&args).status.code(), Some(1));
    let mut allowed = args.to_vec();
    allowed.push("--allow-missing-env");
    assert_eq!(stage4(&allowed).status.code(), Some(0));
}

#[test]
fn bad_input_exits_2_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("core.yaml");
    std::fs::write(
        &bad,
        "runtime:\n  metrics_service:\n    host: [127.0.0.1\n  port: 1\n",
    )
    .unwrap();
    let out = stage4(&["audit", "compliance", "--config", p(&bad), "--as-of", AS_OF]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains(&format!("{}:4:", bad.display())), "{err}");
    assert!(err.contains("malformed YAML"), "{err}");

    let missing = dir.path().join("nope.yaml");
    for cmd in [
        vec!["audit", "compliance", "--config", p(&missing)],
        vec!["audit", "security-baseline", "--config", p(&missing)],
        vec!["keys", "check-rotation", "--config", p(&missing)],
    ] {
        let out = stage4(&cmd);
        assert_eq!(out.status.code(), Some(2), "{cmd:?}");
        assert!(
            text(&out.stderr).contains("does not exist"),
            "{}",
            text(&out.stderr)
        );
    }

    // The committed training env file is 0644 in git: refused with a clear hint.
    let (_d, s) = site(|_| {});
    std::fs::set_permissions(
        &s.env_file,
        std::os::unix::fs::PermissionsExt::from_mode(0o644),
    )
    .unwrap();
    let out = stage4(&[
        "audit",
        "compliance",
        "--config",
        p(&s.config),
        "--env-file",
        p(&s.env_file),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("chmod 600"),
        "{}",
        text(&out.stderr)
    );

    let out = stage4(&["audit", "compliance", "--profile", "stage5"]);
    assert_eq!(out.status.code(), Some(2));
    let out = stage4(&["audit", "compliance", "--as-of", "yesterday"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("RFC 3339"));
}

#[test]
fn baseline_exit_codes_print_rules_and_signature() {
    let (_dir, good) = site(|_| {});
    let (_dir2, broken) = site(|s| {
        s.expired.insert(stage4_harness::site::CertRole::Server);
    });
    let args = |s: &stage4_harness::site::MaterializedSite, extra: &[&str]| {
        let mut v = vec![
            "audit".to_owned(),
            "security-baseline".into(),
            "--config".into(),
            p(&s.config).into(),
            "--env-file".into(),
            p(&s.env_file).into(),
            "--as-of".into(),
            AS_OF.into(),
        ];
        v.extend(extra.iter().map(|s| (*s).to_owned()));
        v
    };
    let run = |v: Vec<String>| stage4(&v.iter().map(String::as_str).collect::<Vec<_>>());
    // Default: exit 0 whatever the status.
    assert_eq!(run(args(&broken, &[])).status.code(), Some(0));
    assert_eq!(
        run(args(&broken, &["--fail-on-error"])).status.code(),
        Some(2)
    );
    assert_eq!(
        run(args(&broken, &["--fail-on-warning"])).status.code(),
        Some(1)
    );
    assert_eq!(
        run(args(&broken, &["--fail-on-warning", "--fail-on-error"]))
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        run(args(&good, &["--fail-on-error"])).status.code(),
        Some(0)
    );
    assert_eq!(
        run(args(&good, &["--fail-on-warning"])).status.code(),
        Some(1)
    );

    // With an output file and no --print, stdout stays empty.
    let out_file = good.root.join("baseline.json");
    let out = run(args(&good, &["--output-json", p(&out_file)]));
    assert!(out.stdout.is_empty());
    let out = run(args(
        &good,
        &["--json-output", p(&out_file), "--print", "--pretty"],
    ));
    assert!(text(&out.stdout).contains("\"status\": \"warning\""));

    // Signature: key from a 0600 file, verified by recomputation.
    let key_file = good.root.join("summary.key");
    stage4_harness::fsio::write_atomic(&key_file, b"baseline-signing-key-0123456789\n", 0o600)
        .unwrap();
    let out = run(args(
        &good,
        &[
            "--summary-hmac-key-file",
            p(&key_file),
            "--summary-hmac-key-id",
            "baseline-key",
            "--require-summary-signature",
        ],
    ));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report: stage4_reports::baseline::BaselineReport =
        serde_json::from_slice(&out.stdout).unwrap();
    let key = stage4_engine::decision_log::SigningKey::new(
        b"baseline-signing-key-0123456789".to_vec(),
        Some("baseline-key".into()),
    );
    assert!(stage4_harness::audit::baseline::verify(&report, &key));
    assert_eq!(
        run(args(&good, &["--require-summary-signature"]))
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        run(args(
            &good,
            &["--summary-hmac-key", "a", "--summary-hmac-key-env", "B"]
        ))
        .status
        .code(),
        Some(2)
    );
}

#[test]
fn rotation_exit_codes_follow_the_reference() {
    for (days, code) in [(5.0, 0), (80.0, 1), (95.0, 2)] {
        let (_dir, s) = site(|spec| spec.keys_rotated_days_ago = days);
        let out = stage4(&[
            "keys",
            "check-rotation",
            "--config",
            p(&s.config),
            "--environment",
            "live_binance",
            "--as-of",
            AS_OF,
        ]);
        assert_eq!(
            out.status.code(),
            Some(code),
            "{days}: {}",
            text(&out.stderr)
        );
        assert!(
            text(&out.stdout)
                .starts_with("[live_binance] key=live_binance_trading purpose=trading")
        );
    }
    let (_dir, s) = site(|_| {});
    let out = stage4(&[
        "keys",
        "check-rotation",
        "--config",
        p(&s.config),
        "--environment",
        "nope",
        "--as-of",
        AS_OF,
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("environment 'nope' does not exist"));
    let out = stage4(&[
        "keys",
        "check-rotation",
        "--config",
        p(&s.config),
        "--json",
        "--as-of",
        AS_OF,
    ]);
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["status"], "ok");
}

#[test]
fn site_materialize_refuses_bad_flags() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("s");
    let out = stage4(&[
        "site",
        "materialize",
        "--out",
        p(&out_dir),
        "--expired",
        "proxy",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("expected server, client or ca"));
    let out = stage4(&[
        "site",
        "materialize",
        "--out",
        p(&out_dir),
        "--secret-length",
        "CORE_SCHEDULER_TOKEN=x",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let out = stage4(&[
        "site",
        "materialize",
        "--out",
        p(&out_dir),
        "--as-of",
        AS_OF,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("--env-file"));
    let out = stage4(&[
        "site",
        "materialize",
        "--out",
        p(&out_dir),
        "--as-of",
        AS_OF,
    ]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn probe_flag_makes_a_real_handshake() {
    let now = stage4_harness::cli::common::as_of_or_now(None);
    let (_dir, good) = super::site_at(now, |_| {});
    let (_dir2, expired) = super::site_at(now, |s| {
        s.expired.insert(stage4_harness::site::CertRole::Client);
    });
    for (s, code) in [(&good, 0), (&expired, 1)] {
        let server = stage4_harness::tls::server::MtlsServer::start(
            &s.server_certificate,
            &s.server_key,
            &s.ca_certificate,
        )
        .unwrap();
        let target = format!("127.0.0.1:{}", server.addr().port());
        let out = stage4(&[
            "audit",
            "compliance",
            "--config",
            p(&s.config),
            "--env-file",
            p(&s.env_file),
            "--mtls-bundle-name",
            "core-oem",
            "--probe",
            &target,
        ]);
        assert_eq!(out.status.code(), Some(code), "{}", text(&out.stdout));
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(report["probe"]["client_certificate_accepted"], code == 0);
        assert_eq!(report["probe"]["chains_to_bundle_ca"], true);
    }
}
