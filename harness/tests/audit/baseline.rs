//! `stage4 audit security-baseline` on materialized sites.

use stage4_engine::decision_log::SigningKey;
use stage4_harness::audit::baseline::{self, BaselinePlan, SchedulerScopes};
use stage4_harness::site::{CertRole, LeafRole, MaterializedSite, SiteSpec};
use stage4_reports::baseline::{BaselineReport, BaselineStatus};

use super::{as_of, redact, secrets, site};

fn run(site: &MaterializedSite, tweak: impl FnOnce(&mut BaselinePlan)) -> BaselineReport {
    let mut plan = BaselinePlan::new(&site.config, as_of());
    tweak(&mut plan);
    baseline::run(&plan, &secrets(site)).unwrap()
}

fn audit(tweak_site: impl FnOnce(&mut SiteSpec)) -> (BaselineReport, String) {
    let (_dir, site) = site(tweak_site);
    let report = run(&site, |_| {});
    let summary = serde_json::json!({
        "status": report.status,
        "warnings": report.warnings,
        "errors": report.errors,
    });
    let text = redact(&serde_json::to_string_pretty(&summary).unwrap(), &site.root);
    (report, text)
}

#[test]
fn fresh_site_full_report() {
    let (_dir, site) = site(|_| {});
    let report = run(&site, |_| {});
    // The reference layout keeps a static metrics token, which the baseline flags as advisory.
    assert_eq!(report.status, BaselineStatus::Warning);
    assert!(report.errors.is_empty());
    let mut value = serde_json::to_value(&report).unwrap();
    let text = redact(&value.to_string(), &site.root);
    value = serde_json::from_str(&text).unwrap();
    insta::assert_json_snapshot!("baseline_fresh_site", value, {
        ".**.sha256" => "[sha256]",
        ".**.fingerprint_sha256" => "[fingerprint]",
        ".**.serial_number" => "[serial]",
        ".**.size_bytes" => "[size]",
    });
}

#[test]
fn expired_server_certificate_is_an_error() {
    let (report, text) = audit(|s| {
        s.expired.insert(CertRole::Server);
    });
    assert_eq!(report.status, BaselineStatus::Error);
    insta::assert_snapshot!("baseline_expired_server_certificate", text);
}

#[test]
fn client_from_a_wrong_ca_is_an_error() {
    let (report, text) = audit(|s| {
        s.wrong_ca.insert(LeafRole::Client);
    });
    assert_eq!(report.status, BaselineStatus::Error);
    assert_eq!(
        report
            .tls
            .execution_mtls
            .as_ref()
            .unwrap()
            .client_chains_to_ca,
        Some(false)
    );
    insta::assert_snapshot!("baseline_client_from_wrong_ca", text);
}

#[test]
fn mismatched_key_is_an_error() {
    let (report, text) = audit(|s| {
        s.mismatched_key.insert(LeafRole::Server);
    });
    assert_eq!(report.status, BaselineStatus::Error);
    let metrics = &report.tls.services["metrics_service"];
    assert_eq!(metrics.tls.key_matches_certificate, Some(false));
    insta::assert_snapshot!("baseline_mismatched_server_key", text);
}

#[test]
fn group_readable_key_is_a_warning() {
    let (report, text) = audit(|s| {
        s.group_readable_key.insert(LeafRole::Client);
    });
    assert_eq!(report.status, BaselineStatus::Warning);
    insta::assert_snapshot!("baseline_group_readable_key", text);
}

#[test]
fn missing_scheduler_secret_leaves_scopes_uncovered() {
    let (report, text) = audit(|s| {
        s.omit_secrets.insert("CORE_SCHEDULER_TOKEN".into());
    });
    assert_eq!(report.status, BaselineStatus::Error);
    insta::assert_snapshot!("baseline_missing_scheduler_secret", text);
}

#[test]
fn missing_metrics_secret_is_an_error() {
    let (report, _) = audit(|s| {
        s.omit_secrets.insert("METRICS_SERVICE_AUTH_TOKEN".into());
    });
    assert!(
        report
            .errors
            .iter()
            .any(|e| e.contains("auth_token_env METRICS_SERVICE_AUTH_TOKEN is not set")),
        "{:?}",
        report.errors
    );
}

#[test]
fn scopes_are_lower_cased_and_a_global_scope_replaces_the_pair() {
    // The baseline lower-cases scopes (unlike the compliance audit).
    let (report, _) = audit(|s| {
        s.scheduler_scopes = Some(vec![
            "Runtime.Schedule.Read".into(),
            "runtime.schedule.write".into(),
        ]);
    });
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    // A token with only `read` fails the default pair but passes `--scheduler-required-scope
    // runtime.schedule.read`.
    let (_dir, site) = site(|s| s.scheduler_scopes = Some(vec!["runtime.schedule.read".into()]));
    let report = run(&site, |_| {});
    assert_eq!(
        report.errors,
        [
            "multi_strategy_scheduler:core_multi_pipeline: no token provides the required scope runtime.schedule.write"
        ]
    );
    let report = run(&site, |p| {
        p.scheduler_scopes = SchedulerScopes::resolve(&["runtime.schedule.read".into()])
    });
    assert!(report.errors.is_empty(), "{:?}", report.errors);
}

#[test]
fn config_fixes_require_client_auth_missing_files_and_bad_hashes() {
    let (_dir, site) = site(|_| {});
    let yaml = std::fs::read_to_string(&site.config).unwrap();
    let yaml = yaml
        .replace("require_client_auth: true", "require_client_auth: false")
        .replace("client_ca_path: secrets/runtime/metrics/clients.pem", "client_ca_path: secrets/runtime/metrics/missing.pem")
        .replace(
            "          scopes: [runtime.schedule.read, runtime.schedule.write]\n",
            "          scopes: [runtime.schedule.read, runtime.schedule.write]\n        - {token_id: hashed, token_hash: 'md5:abcd', scopes: [runtime.schedule.read]}\n",
        );
    std::fs::write(&site.config, yaml).unwrap();
    std::fs::remove_file(&site.ca_certificate).unwrap();
    let report = run(&site, |_| {});
    let errors = redact(&report.errors.join("\n"), &site.root);
    insta::assert_snapshot!("baseline_config_fixes", errors);
}

#[test]
fn signature_verifies_and_detects_changes() {
    let (_dir, site) = site(|_| {});
    let key = SigningKey::new(
        b"baseline-signing-key-0123456789".to_vec(),
        Some("baseline-key".into()),
    );
    let report = run(&site, |p| p.signing_key = Some(key.clone()));
    let sig = report.summary_signature.as_ref().unwrap();
    assert_eq!(sig.algorithm, "HMAC-SHA256");
    assert_eq!(sig.key_id.as_deref(), Some("baseline-key"));
    assert!(baseline::verify(&report, &key));
    let mut tampered = report.clone();
    tampered.status = BaselineStatus::Ok;
    assert!(!baseline::verify(&tampered, &key));
    assert!(!baseline::verify(
        &report,
        &SigningKey::new(b"other".to_vec(), Some("baseline-key".into()))
    ));
}
