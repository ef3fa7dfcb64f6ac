//! JUnit XML from a neutral suite of test cases.
//!
//! There is no single JUnit standard; this writes the subset every CI reader agrees on:
//! `testsuites` > `testsuite(name, tests, failures, errors, skipped, time)` > `testcase(classname,
//! name, time)` with at most one `failure`, `error` or `skipped` child, plus `system-out`. GitLab
//! shows `classname` as the group, so callers put the report section there. A test case carries
//! one `<failure>` at most (readers drop the rest), so callers join several findings of one check
//! into one failure body.
//!
//! Text is escaped for XML 1.0; characters XML 1.0 cannot carry at all (most C0 controls) are
//! replaced by U+FFFD rather than producing a file no parser accepts.

use std::fmt::Write as _;

/// The whole document: one or more suites.
#[derive(Debug, Clone, PartialEq)]
pub struct TestSuites {
    /// Name of the run (`stage4 audit compliance`, a scenario id, ...).
    pub name: String,
    /// The suites, in order.
    pub suites: Vec<TestSuite>,
}

/// One suite of test cases.
#[derive(Debug, Clone, PartialEq)]
pub struct TestSuite {
    /// Suite name.
    pub name: String,
    /// When the suite ran (RFC 3339), if known.
    pub timestamp: Option<String>,
    /// `name = value` pairs written as `<properties>` (inputs worth keeping with the result).
    pub properties: Vec<(String, String)>,
    /// The test cases, in order.
    pub cases: Vec<TestCase>,
}

/// One test case.
#[derive(Debug, Clone, PartialEq)]
pub struct TestCase {
    /// The group the case belongs to (shown as the suite by GitLab).
    pub classname: String,
    /// The case name (a check id, an expectation).
    pub name: String,
    /// Duration in seconds.
    pub time_secs: f64,
    /// Pass, failure, error or skipped.
    pub outcome: CaseOutcome,
    /// Text worth showing with a passing case (warnings, details).
    pub system_out: Option<String>,
}

/// How a test case ended.
#[derive(Debug, Clone, PartialEq)]
pub enum CaseOutcome {
    /// The case passed.
    Passed,
    /// An expectation was not met (`<failure>`).
    Failed {
        /// One-line summary (the `message` attribute).
        message: String,
        /// Full text (the element body).
        details: String,
    },
    /// The case could not be evaluated (`<error>`).
    Errored {
        /// One-line summary.
        message: String,
        /// Full text.
        details: String,
    },
    /// The case was not run (`<skipped>`).
    Skipped {
        /// Why.
        message: String,
    },
}

impl TestCase {
    /// A passing case.
    pub fn passed(classname: impl Into<String>, name: impl Into<String>) -> TestCase {
        TestCase {
            classname: classname.into(),
            name: name.into(),
            time_secs: 0.0,
            outcome: CaseOutcome::Passed,
            system_out: None,
        }
    }
}

impl TestSuite {
    fn count(&self, pred: impl Fn(&CaseOutcome) -> bool) -> usize {
        self.cases.iter().filter(|c| pred(&c.outcome)).count()
    }

    fn time_secs(&self) -> f64 {
        self.cases.iter().map(|c| c.time_secs).sum()
    }
}

/// Renders the document (UTF-8, with an XML declaration and a trailing newline).
pub fn render(doc: &TestSuites) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let total = |pred: &dyn Fn(&CaseOutcome) -> bool| -> usize {
        doc.suites.iter().map(|s| s.count(pred)).sum()
    };
    let tests: usize = doc.suites.iter().map(|s| s.cases.len()).sum();
    let failures = total(&|o| matches!(o, CaseOutcome::Failed { .. }));
    let errors = total(&|o| matches!(o, CaseOutcome::Errored { .. }));
    let skipped = total(&|o| matches!(o, CaseOutcome::Skipped { .. }));
    let time: f64 = doc.suites.iter().map(TestSuite::time_secs).sum();
    let _ = writeln!(
        out,
        "<testsuites name=\"{}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\" time=\"{}\">",
        escape(&doc.name),
        secs(time)
    );
    for suite in &doc.suites {
        render_suite(&mut out, suite);
    }
    out.push_str("</testsuites>\n");
    out
}

fn render_suite(out: &mut String, suite: &TestSuite) {
    let _ = write!(
        out,
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{}\"",
        escape(&suite.name),
        suite.cases.len(),
        suite.count(|o| matches!(o, CaseOutcome::Failed { .. })),
        suite.count(|o| matches!(o, CaseOutcome::Errored { .. })),
        suite.count(|o| matches!(o, CaseOutcome::Skipped { .. })),
        secs(suite.time_secs()),
    );
    if let Some(ts) = &suite.timestamp {
        let _ = write!(out, " timestamp=\"{}\"", escape(ts));
    }
    out.push_str(">\n");
    if !suite.properties.is_empty() {
        out.push_str("    <properties>\n");
        for (name, value) in &suite.properties {
            let _ = writeln!(
                out,
                "      <property name=\"{}\" value=\"{}\"/>",
                escape(name),
                escape(value)
            );
        }
        out.push_str("    </properties>\n");
    }
    for case in &suite.cases {
        let _ = write!(
            out,
            "    <testcase classname=\"{}\" name=\"{}\" time=\"{}\"",
            escape(&case.classname),
            escape(&case.name),
            secs(case.time_secs)
        );
        let body_empty = matches!(case.outcome, CaseOutcome::Passed) && case.system_out.is_none();
        if body_empty {
            out.push_str("/>\n");
            continue;
        }
        out.push_str(">\n");
        match &case.outcome {
            CaseOutcome::Passed => {}
            CaseOutcome::Failed { message, details } => {
                let _ = writeln!(
                    out,
                    "      <failure message=\"{}\" type=\"failure\">{}</failure>",
                    escape(message),
                    escape(details)
                );
            }
            CaseOutcome::Errored { message, details } => {
                let _ = writeln!(
                    out,
                    "      <error message=\"{}\" type=\"error\">{}</error>",
                    escape(message),
                    escape(details)
                );
            }
            CaseOutcome::Skipped { message } => {
                let _ = writeln!(out, "      <skipped message=\"{}\"/>", escape(message));
            }
        }
        if let Some(text) = &case.system_out {
            let _ = writeln!(out, "      <system-out>{}</system-out>", escape(text));
        }
        out.push_str("    </testcase>\n");
    }
    out.push_str("  </testsuite>\n");
}

/// Seconds with millisecond precision, the form JUnit readers parse.
fn secs(t: f64) -> String {
    format!("{t:.3}")
}

/// Escapes text for XML 1.0 attribute values and element content.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Newlines and tabs survive in bodies; in attributes they would be normalised away
            // by readers, which is acceptable for one-line messages.
            '\n' | '\t' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> TestSuites {
        TestSuites {
            name: "stage4 audit".into(),
            suites: vec![TestSuite {
                name: "compliance".into(),
                timestamp: Some("2026-11-28T09:00:00Z".into()),
                properties: vec![("config".into(), "/site/core.yaml".into())],
                cases: vec![
                    TestCase::passed("metrics_service", "metrics_service.auth"),
                    TestCase {
                        system_out: Some("warning: due in 5.0 days".into()),
                        ..TestCase::passed("execution", "execution.mtls.rotation_registry.tls_ca")
                    },
                    TestCase {
                        outcome: CaseOutcome::Failed {
                            message: "scope <missing> & \"quoted\"".into(),
                            details: "line one\nline two \u{1}".into(),
                        },
                        ..TestCase::passed("scheduler", "scheduler:core:local:scopes")
                    },
                    TestCase {
                        outcome: CaseOutcome::Skipped {
                            message: "not requested".into(),
                        },
                        ..TestCase::passed("probe", "probe.handshake")
                    },
                ],
            }],
        }
    }

    #[test]
    fn renders_counts_escapes_and_bodies() {
        insta::assert_snapshot!(render(&doc()), @r#"
        <?xml version="1.0" encoding="UTF-8"?>
        <testsuites name="stage4 audit" tests="4" failures="1" errors="0" skipped="1" time="0.000">
          <testsuite name="compliance" tests="4" failures="1" errors="0" skipped="1" time="0.000" timestamp="2026-11-28T09:00:00Z">
            <properties>
              <property name="config" value="/site/core.yaml"/>
            </properties>
            <testcase classname="metrics_service" name="metrics_service.auth" time="0.000"/>
            <testcase classname="execution" name="execution.mtls.rotation_registry.tls_ca" time="0.000">
              <system-out>warning: due in 5.0 days</system-out>
            </testcase>
            <testcase classname="scheduler" name="scheduler:core:local:scopes" time="0.000">
              <failure message="scope &lt;missing&gt; &amp; &quot;quoted&quot;" type="failure">line one
        line two �</failure>
            </testcase>
            <testcase classname="probe" name="probe.handshake" time="0.000">
              <skipped message="not requested"/>
            </testcase>
          </testsuite>
        </testsuites>
        "#);
    }

    #[test]
    fn every_case_appears_once_and_counts_add_up() {
        let d = doc();
        let xml = render(&d);
        assert_eq!(xml.matches("<testcase ").count(), 4);
        assert_eq!(xml.matches("<failure ").count(), 1);
        assert!(xml.ends_with("</testsuites>\n"));
    }
}
