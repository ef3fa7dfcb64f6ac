//! Check-based audit results: the reference's `{check, message}` findings, the list of checks
//! that ran, and their conversion to JUnit (one test case per check) and SARIF (one result per
//! finding, a rule per check).
//!
//! An audit records every check it evaluates, passing ones included, so CI sees which checks
//! ran. A check may have several findings (the reference reports both "TLS must be enabled"
//! and "client auth required" under `metrics_service.tls`); JUnit carries one `<failure>` per
//! test case, so they are joined into one failure body.

use serde::{Deserialize, Serialize};

use crate::render::junit::{CaseOutcome, TestCase, TestSuite, TestSuites};
use crate::render::sarif::{Level, Location, Rule, SarifResult, SarifRun, ToolInfo};

/// One finding, exactly the reference's shape.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Finding {
    /// Check id, e.g. `env:CORE_SCHEDULER_TOKEN` or `execution.mtls.server_certificate.expiry`.
    pub check: String,
    /// What is wrong and what to do, for people.
    pub message: String,
}

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Advisory: reported, does not fail the run.
    Warning,
    /// Fails the run.
    Issue,
}

/// A check that was evaluated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckRun {
    /// Check id (the `check` of its findings).
    pub id: String,
    /// What the check verifies, one line.
    pub title: String,
    /// The file the check is about (config, certificate, registry), if any.
    pub location: Option<String>,
}

impl CheckRun {
    /// The report section a check belongs to: its id up to the first `.` or `:`
    /// (`execution.mtls.server_key` → `execution`, `env:X` → `env`).
    pub fn section(&self) -> &str {
        section_of(&self.id)
    }
}

/// The report section of a check id (see [`CheckRun::section`]).
pub fn section_of(id: &str) -> &str {
    id.split(['.', ':']).next().unwrap_or(id)
}

/// Everything the JUnit and SARIF conversions need from a check-based audit.
#[derive(Debug, Clone, Copy)]
pub struct AuditResults<'a> {
    /// Tool name, e.g. `stage4 audit compliance`.
    pub tool: &'a str,
    /// Tool version.
    pub version: &'a str,
    /// Audit time (RFC 3339).
    pub checked_at: &'a str,
    /// The audited config file.
    pub config: &'a str,
    /// Every check evaluated, in order.
    pub checks: &'a [CheckRun],
    /// Findings that fail the run.
    pub issues: &'a [Finding],
    /// Advisory findings.
    pub warnings: &'a [Finding],
}

impl AuditResults<'_> {
    fn findings_of<'f>(list: &'f [Finding], id: &str) -> Vec<&'f str> {
        list.iter()
            .filter(|f| f.check == id)
            .map(|f| f.message.as_str())
            .collect()
    }

    /// Checks that were evaluated, plus any finding whose check id was not registered (so no
    /// finding is ever lost from the CI view).
    fn all_checks(&self) -> Vec<CheckRun> {
        let mut checks = self.checks.to_vec();
        for f in self.issues.iter().chain(self.warnings) {
            if !checks.iter().any(|c| c.id == f.check) {
                checks.push(CheckRun {
                    id: f.check.clone(),
                    title: f.check.clone(),
                    location: None,
                });
            }
        }
        checks
    }

    /// JUnit: one suite, one test case per check. An issue is a `<failure>` (all messages of
    /// the check in its body); a check with only warnings passes and shows them in
    /// `<system-out>`.
    pub fn to_junit(&self) -> TestSuites {
        let cases = self
            .all_checks()
            .into_iter()
            .map(|check| {
                let issues = Self::findings_of(self.issues, &check.id);
                let warnings = Self::findings_of(self.warnings, &check.id);
                let outcome = if issues.is_empty() {
                    CaseOutcome::Passed
                } else {
                    CaseOutcome::Failed {
                        message: issues[0].to_owned(),
                        details: issues.join("\n"),
                    }
                };
                let system_out = (!warnings.is_empty()).then(|| {
                    warnings
                        .iter()
                        .map(|w| format!("warning: {w}"))
                        .collect::<Vec<_>>()
                        .join("\n")
                });
                TestCase {
                    classname: check.section().to_owned(),
                    name: check.id.clone(),
                    time_secs: 0.0,
                    outcome,
                    system_out,
                }
            })
            .collect();
        TestSuites {
            name: self.tool.to_owned(),
            suites: vec![TestSuite {
                name: self.tool.to_owned(),
                timestamp: Some(self.checked_at.to_owned()),
                properties: vec![("config".to_owned(), self.config.to_owned())],
                cases,
            }],
        }
    }

    /// SARIF: a rule per check; a result per finding (issue → `error`, warning → `warning`),
    /// located at the check's file or else the config. Passing checks produce no result
    /// (GitHub would show them as alerts).
    pub fn to_sarif(&self) -> SarifRun {
        let checks = self.all_checks();
        let location_of = |id: &str| {
            let uri = checks
                .iter()
                .find(|c| c.id == id)
                .and_then(|c| c.location.clone())
                .unwrap_or_else(|| self.config.to_owned());
            Location {
                uri,
                start_line: None,
            }
        };
        let mut results = Vec::new();
        for check in &checks {
            for (list, level) in [(self.issues, Level::Error), (self.warnings, Level::Warning)] {
                for message in Self::findings_of(list, &check.id) {
                    results.push(
                        SarifResult::failed(check.id.clone(), level, message)
                            .at(location_of(&check.id)),
                    );
                }
            }
        }
        SarifRun {
            tool: ToolInfo {
                name: self.tool.to_owned(),
                version: self.version.to_owned(),
                information_uri: None,
                rules: checks
                    .iter()
                    .map(|c| Rule {
                        id: c.id.clone(),
                        description: c.title.clone(),
                    })
                    .collect(),
            },
            results,
            execution_successful: true,
            end_time_utc: Some(self.checked_at.to_owned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::{junit, sarif};

    fn finding(check: &str, message: &str) -> Finding {
        Finding {
            check: check.into(),
            message: message.into(),
        }
    }

    fn check(id: &str) -> CheckRun {
        CheckRun {
            id: id.into(),
            title: format!("title of {id}"),
            location: None,
        }
    }

    #[test]
    fn sections_come_from_the_id_prefix() {
        for (id, section) in [
            ("env:CORE_SCHEDULER_TOKEN", "env"),
            ("execution.mtls.server_key.key_match", "execution"),
            ("scheduler:core:local:scopes", "scheduler"),
            ("metrics_service", "metrics_service"),
        ] {
            assert_eq!(section_of(id), section, "{id}");
        }
    }

    #[test]
    fn junit_has_one_case_per_check_and_sarif_one_result_per_finding() {
        let checks = [check("metrics_service.tls"), check("metrics_service.auth")];
        let issues = [
            finding("metrics_service.tls", "TLS must be enabled"),
            finding("metrics_service.tls", "client auth required"),
            finding("env:X", "X is not set"),
        ];
        let warnings = [finding("metrics_service.auth", "short secret")];
        let results = AuditResults {
            tool: "stage4 audit compliance",
            version: "0.1.0",
            checked_at: "2026-11-28T09:00:00Z",
            config: "/site/core.yaml",
            checks: &checks,
            issues: &issues,
            warnings: &warnings,
        };
        let doc = results.to_junit();
        let cases = &doc.suites[0].cases;
        assert_eq!(
            cases.len(),
            3,
            "two registered checks and one unregistered finding"
        );
        assert!(
            matches!(&cases[0].outcome, CaseOutcome::Failed { details, .. }
            if details == "TLS must be enabled\nclient auth required")
        );
        assert_eq!(cases[1].outcome, CaseOutcome::Passed);
        assert_eq!(
            cases[1].system_out.as_deref(),
            Some("warning: short secret")
        );
        assert_eq!(cases[2].name, "env:X");
        let xml = junit::render(&doc);
        assert_eq!(xml.matches("<testcase ").count(), 3);

        let run = results.to_sarif();
        let text = sarif::render(&run).unwrap();
        let parsed: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(sarif::validate_shape(&parsed), Vec::<String>::new());
        let levels: Vec<_> = parsed["runs"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r["ruleId"].as_str().unwrap(), r["level"].as_str().unwrap()))
            .collect();
        assert_eq!(
            levels,
            [
                ("metrics_service.tls", "error"),
                ("metrics_service.tls", "error"),
                ("metrics_service.auth", "warning"),
                ("env:X", "error"),
            ]
        );
    }
}
