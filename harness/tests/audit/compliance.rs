//! `stage4 audit compliance` on materialized sites: one snapshot per runbook situation.

use stage4_harness::audit::compliance::{self, CompliancePlan};
use stage4_harness::site::{CertRole, LeafRole, MaterializedSite, SiteSpec};
use stage4_reports::compliance::{ComplianceReport, ComplianceStatus};
use stage4_reports::render::{json, junit, sarif};

use super::{as_of, redact, secrets, site};

fn plan(site: &MaterializedSite) -> CompliancePlan {
    let mut plan = CompliancePlan::new(&site.config, as_of());
    plan.check_paths = true;
    plan.mtls_bundle_name = Some("core-oem".into());
    plan
}

fn audit(
    tweak_site: impl FnOnce(&mut SiteSpec),
    tweak_plan: impl FnOnce(&mut CompliancePlan),
) -> (ComplianceReport, String) {
    let (_dir, site) = site(tweak_site);
    let mut p = plan(&site);
    tweak_plan(&mut p);
    let report = compliance::run(&p, &secrets(&site)).unwrap();
    let text = redact(&json::to_pretty_sorted(&report).unwrap(), &site.root);
    (report, text)
}

fn checks(report: &ComplianceReport) -> (Vec<&str>, Vec<&str>) {
    (
        report.issues.iter().map(|f| f.check.as_str()).collect(),
        report.warnings.iter().map(|f| f.check.as_str()).collect(),
    )
}

#[test]
fn fresh_site_is_ok() {
    let (report, text) = audit(|_| {}, |_| {});
    assert_eq!(report.status, ComplianceStatus::Ok);
    insta::assert_snapshot!("fresh_site", text);
}

#[test]
fn rotation_85_days_ago_warns() {
    let (report, text) = audit(|s| s.rotated_days_ago = 85.0, |_| {});
    assert_eq!(report.status, ComplianceStatus::Warn);
    insta::assert_snapshot!("rotation_85_days", text);
}

#[test]
fn rotation_95_days_ago_fails() {
    let (report, text) = audit(|s| s.rotated_days_ago = 95.0, |_| {});
    assert_eq!(report.status, ComplianceStatus::Fail);
    assert_eq!(
        checks(&report).0,
        [
            "execution.mtls.rotation_registry.tls_ca",
            "execution.mtls.rotation_registry.tls_server",
            "execution.mtls.rotation_registry.tls_client"
        ]
    );
    insta::assert_snapshot!("rotation_95_days", text);
}

#[test]
fn without_a_bundle_name_rotation_is_not_checked_as_in_the_reference() {
    let (report, _) = audit(|s| s.rotated_days_ago = 95.0, |p| p.mtls_bundle_name = None);
    assert_eq!(report.status, ComplianceStatus::Ok);
}

#[test]
fn expired_server_certificate_is_an_issue() {
    let (report, text) = audit(
        |s| {
            s.expired.insert(CertRole::Server);
        },
        |_| {},
    );
    assert_eq!(
        checks(&report).0,
        [
            "metrics_service.tls.certificate_path.expiry",
            "execution.mtls.server_certificate.expiry"
        ]
    );
    insta::assert_snapshot!("expired_server_certificate", text);
}

#[test]
fn client_certificate_from_a_wrong_ca_is_an_issue() {
    let (report, text) = audit(
        |s| {
            s.wrong_ca.insert(LeafRole::Client);
        },
        |_| {},
    );
    assert_eq!(
        checks(&report).0,
        ["execution.mtls.client_certificate.chain"]
    );
    insta::assert_snapshot!("client_from_wrong_ca", text);
}

#[test]
fn key_that_does_not_match_its_certificate_is_an_issue() {
    let (report, text) = audit(
        |s| {
            s.mismatched_key.insert(LeafRole::Client);
        },
        |_| {},
    );
    assert_eq!(checks(&report).0, ["execution.mtls.client_key.match"]);
    insta::assert_snapshot!("mismatched_client_key", text);
}

#[test]
fn group_readable_key_is_an_issue() {
    let (report, text) = audit(
        |s| {
            s.group_readable_key.insert(LeafRole::Server);
        },
        |_| {},
    );
    assert_eq!(
        checks(&report).0,
        [
            "metrics_service.tls.private_key_path.permissions",
            "execution.mtls.server_key.permissions"
        ]
    );
    insta::assert_snapshot!("group_readable_key", text);
}

#[test]
fn not_yet_valid_ca_is_an_issue() {
    let (report, _) = audit(
        |s| {
            s.not_yet_valid.insert(CertRole::Ca);
        },
        |_| {},
    );
    assert_eq!(
        checks(&report).0,
        [
            "metrics_service.tls.client_ca_path.expiry",
            "execution.mtls.ca_certificate.expiry"
        ]
    );
}

#[test]
fn certificate_expiring_within_the_warning_window_warns() {
    // Valid 20 days, rotated 10 days ago: 10 days left, inside the 14-day window.
    let (report, _) = audit(
        |s| {
            s.cert_valid_days = 20;
            s.rotated_days_ago = 10.0;
        },
        |_| {},
    );
    assert_eq!(report.status, ComplianceStatus::Warn);
    assert_eq!(
        checks(&report).1,
        [
            "metrics_service.tls.certificate_path.expiry",
            "execution.mtls.server_certificate.expiry",
            "execution.mtls.client_certificate.expiry"
        ]
    );
}

#[test]
fn missing_env_secret_fails_and_allow_missing_env_makes_it_a_warning() {
    let (report, text) = audit(
        |s| {
            s.omit_secrets.insert("CORE_SCHEDULER_TOKEN".into());
        },
        |_| {},
    );
    assert_eq!(report.status, ComplianceStatus::Fail);
    assert_eq!(checks(&report).0, ["env:CORE_SCHEDULER_TOKEN"]);
    insta::assert_snapshot!("missing_env_secret", text);

    let (report, text) = audit(
        |s| {
            s.omit_secrets.insert("CORE_SCHEDULER_TOKEN".into());
        },
        |p| p.allow_missing_env = true,
    );
    assert_eq!(report.status, ComplianceStatus::Warn);
    assert_eq!(checks(&report).1, ["env:CORE_SCHEDULER_TOKEN"]);
    insta::assert_snapshot!("missing_env_secret_allowed", text);
}

#[test]
fn secret_of_23_characters_warns_and_24_passes() {
    let (report, text) = audit(
        |s| {
            s.secret_lengths
                .insert("METRICS_SERVICE_AUTH_TOKEN".into(), 23);
        },
        |_| {},
    );
    assert_eq!(report.status, ComplianceStatus::Warn);
    insta::assert_snapshot!("secret_23_characters", text);
    let (report, text) = audit(
        |s| {
            s.secret_lengths
                .insert("METRICS_SERVICE_AUTH_TOKEN".into(), 24);
        },
        |_| {},
    );
    assert_eq!(report.status, ComplianceStatus::Ok);
    insta::assert_snapshot!("secret_24_characters", text);
}

#[test]
fn token_without_schedule_write_fails() {
    let (report, text) = audit(
        |s| s.scheduler_scopes = Some(vec!["runtime.schedule.read".into()]),
        |_| {},
    );
    assert_eq!(
        checks(&report).0,
        ["scheduler:core_multi_pipeline:scheduler-local:scopes"]
    );
    insta::assert_snapshot!("token_missing_write_scope", text);
}

#[test]
fn uppercase_scope_fails_because_scopes_are_case_sensitive() {
    let (report, text) = audit(
        |s| {
            s.scheduler_scopes = Some(vec![
                "Runtime.Schedule.Read".into(),
                "runtime.schedule.write".into(),
            ])
        },
        |_| {},
    );
    assert_eq!(report.status, ComplianceStatus::Fail);
    insta::assert_snapshot!("uppercase_scope", text);
}

#[test]
fn registry_with_a_bad_timestamp_is_a_finding_not_a_crash() {
    let (report, text) = audit(
        |s| {
            s.tls_registry_values
                .insert("core-oem::tls_ca".into(), "last tuesday".into());
        },
        |_| {},
    );
    assert_eq!(
        checks(&report).0,
        ["execution.mtls.rotation_registry.tls_ca"]
    );
    insta::assert_snapshot!("registry_bad_timestamp", text);
}

#[test]
fn registry_that_is_not_an_object_or_mixed_case_is_reported() {
    let (_dir, listed) = site(|_| {});
    std::fs::write(&listed.tls_rotation_registry, "[\"core-oem::tls_ca\"]").unwrap();
    let report = compliance::run(&plan(&listed), &secrets(&listed)).unwrap();
    assert_eq!(checks(&report).0, ["execution.mtls.rotation_registry"]);
    assert!(report.issues[0].message.contains("found a list"));

    let (_dir, site) = site(|s| s.rotated_days_ago = 1.0);
    let upper = std::fs::read_to_string(&site.tls_rotation_registry)
        .unwrap()
        .replace("core-oem::tls_ca", "Core-OEM::TLS_CA");
    std::fs::write(&site.tls_rotation_registry, upper).unwrap();
    let report = compliance::run(&plan(&site), &secrets(&site)).unwrap();
    assert_eq!(report.status, ComplianceStatus::Warn, "{:?}", report.issues);
    assert_eq!(checks(&report).1, ["execution.mtls.rotation_registry"]);
}

#[test]
fn missing_registry_is_reported_once_even_with_check_paths() {
    let (report, _) = audit(|s| s.no_tls_registry = true, |_| {});
    assert_eq!(checks(&report).0, ["execution.mtls.rotation_registry"]);
    let (report, _) = audit(|s| s.no_tls_registry = true, |p| p.check_paths = false);
    assert_eq!(checks(&report).0, ["execution.mtls.rotation_registry"]);
    assert!(report.issues[0].message.contains("does not exist"));
}

#[test]
fn key_rotation_entries_are_checked_and_can_fail() {
    let (report, _) = audit(|s| s.keys_rotated_days_ago = 55.0, |_| {});
    // binance-api: 60-day interval, 10-day window → due in 5 days; core-mtls: 45 days → overdue.
    assert_eq!(
        checks(&report).0,
        ["observability.key_rotation:core-mtls:cert"]
    );
    assert_eq!(
        checks(&report).1,
        ["observability.key_rotation:binance-api:trading"]
    );
}

#[test]
fn reference_layout_quirks_are_handled() {
    let (_dir, site) = site(|_| {});
    let yaml = std::fs::read_to_string(&site.config).unwrap();
    // metrics_service at the top level still counts; a null observability is a finding.
    let moved = yaml
        .replace("  metrics_service:\n", "  metrics_service_old:\n")
        .replace(
            "observability:\n  key_rotation:",
            "observability: null\nobservability_old:\n  key_rotation:",
        );
    let moved = format!(
        "{moved}\nmetrics_service:\n  auth_token_env: METRICS_SERVICE_AUTH_TOKEN\n  tls: {{enabled: true, require_client_auth: true, certificate_path: secrets/runtime/metrics/server.crt, private_key_path: secrets/runtime/metrics/server.key, client_ca_path: secrets/runtime/metrics/clients.pem}}\n"
    );
    std::fs::write(&site.config, moved).unwrap();
    let report = compliance::run(&plan(&site), &secrets(&site)).unwrap();
    assert_eq!(checks(&report).0, ["observability.key_rotation"]);
    assert!(report.issues[0].message.contains("found null"));
}

#[test]
fn sarif_validates_and_junit_has_one_testcase_per_check() {
    let (report, _) = audit(
        |s| {
            s.rotated_days_ago = 85.0;
            s.expired.insert(CertRole::Client);
        },
        |_| {},
    );
    let text = sarif::render(&report.results().to_sarif()).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(sarif::validate_shape(&doc), Vec::<String>::new());
    let results = doc["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), report.issues.len() + report.warnings.len());
    for r in results {
        let level = r["level"].as_str().unwrap();
        let rule = r["ruleId"].as_str().unwrap();
        let expected = if report.issues.iter().any(|f| f.check == rule) {
            "error"
        } else {
            "warning"
        };
        assert_eq!(level, expected, "{rule}");
    }

    let xml = junit::render(&report.results().to_junit());
    assert_eq!(xml.matches("<testcase ").count(), report.checks.len());
    let failing: std::collections::BTreeSet<_> =
        report.issues.iter().map(|f| f.check.as_str()).collect();
    assert_eq!(xml.matches("<failure ").count(), failing.len());
    for check in &report.checks {
        assert_eq!(
            xml.matches(&format!(" name=\"{}\"", check.id)).count(),
            1,
            "{}",
            check.id
        );
    }
}

#[test]
fn registry_claiming_a_rotation_the_certificates_do_not_show_warns() {
    // The registry says the server certificate was rotated today, but the deployed one was
    // issued 30 days ago.
    let (report, _) = audit(
        |s| {
            s.rotated_days_ago = 30.0;
            s.tls_registry_values
                .insert("core-oem::tls_server".into(), super::AS_OF.into());
        },
        |_| {},
    );
    assert_eq!(report.status, ComplianceStatus::Warn);
    assert_eq!(
        checks(&report).1,
        ["execution.mtls.rotation_registry.tls_server"]
    );
    assert!(
        report.warnings[0]
            .message
            .contains("does not match the deployed certificate")
    );
}
