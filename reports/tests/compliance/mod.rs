//! A compliance report as the reference tool writes it (its keys, sorted, 2-space indent) reads
//! into [`ComplianceReport`] and renders back byte for byte; CI views derive from it.

use stage4_reports::compliance::{ComplianceReport, ComplianceStatus};
use stage4_reports::render::{json, junit, sarif};

const REFERENCE_STYLE: &str = r#"{
  "checked_at": "2026-11-28T09:00:00Z",
  "config": "/srv/stage4/config/core.yaml",
  "issues": [
    {
      "check": "env:CORE_SCHEDULER_TOKEN",
      "message": "environment variable CORE_SCHEDULER_TOKEN is not set"
    }
  ],
  "schema_version": 1,
  "status": "fail",
  "warnings": [
    {
      "check": "execution.mtls.rotation_registry.tls_ca",
      "message": "entry core-oem/tls_ca is due in 5.0 days"
    },
    {
      "check": "env:CORE_SCHEDULER_TOKEN",
      "message": "Zażółć: unicode stays raw"
    }
  ]
}"#;

#[test]
fn a_stored_report_round_trips_and_feeds_junit_and_sarif() {
    let report: ComplianceReport = serde_json::from_str(REFERENCE_STYLE).unwrap();
    assert_eq!(report.status, ComplianceStatus::Fail);
    assert!(report.checks.is_empty(), "checks are not part of the JSON");
    assert_eq!(json::to_pretty_sorted(&report).unwrap(), REFERENCE_STYLE);

    // A stored report has no check list: every check with a finding still gets a test case.
    let xml = junit::render(&report.results().to_junit());
    assert_eq!(xml.matches("<testcase ").count(), 2);
    assert_eq!(xml.matches("<failure ").count(), 1);
    assert!(xml.contains("<system-out>warning: Zażółć: unicode stays raw</system-out>"));

    let log = sarif::render(&report.results().to_sarif()).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&log).unwrap();
    assert_eq!(sarif::validate_shape(&doc), Vec::<String>::new());
    assert_eq!(doc["runs"][0]["results"].as_array().unwrap().len(), 3);
    assert_eq!(
        doc["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "/srv/stage4/config/core.yaml"
    );
}
