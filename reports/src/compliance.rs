//! The `stage4 audit compliance` report: the reference's keys (`checked_at`, `config`,
//! `issues`, `status`, `warnings`) plus `schema_version`, and `probe` when a live mTLS
//! handshake was requested.

use serde::{Deserialize, Serialize};

use crate::findings::{AuditResults, CheckRun, Finding};

/// Version of this report's schema.
pub const SCHEMA_VERSION: u32 = 1;

/// Overall result, in the reference's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ComplianceStatus {
    /// No findings.
    Ok,
    /// Warnings only (exit 0).
    Warn,
    /// At least one issue (exit 1).
    Fail,
}

impl ComplianceStatus {
    /// `fail` with any issue, else `warn` with any warning, else `ok`.
    pub fn from_counts(issues: usize, warnings: usize) -> ComplianceStatus {
        if issues > 0 {
            ComplianceStatus::Fail
        } else if warnings > 0 {
            ComplianceStatus::Warn
        } else {
            ComplianceStatus::Ok
        }
    }

    /// The word printed in the report.
    pub fn as_str(self) -> &'static str {
        match self {
            ComplianceStatus::Ok => "ok",
            ComplianceStatus::Warn => "warn",
            ComplianceStatus::Fail => "fail",
        }
    }
}

/// The compliance report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComplianceReport {
    /// Audit time, UTC whole seconds with `Z` (the `--as-of` instant).
    pub checked_at: String,
    /// Absolute path of the audited config.
    pub config: String,
    /// Findings that fail the audit, in check order.
    pub issues: Vec<Finding>,
    /// What the live mTLS probe saw (only with `--probe`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probe: Option<ProbeReport>,
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// `ok`, `warn` or `fail`.
    pub status: ComplianceStatus,
    /// Advisory findings, in check order.
    pub warnings: Vec<Finding>,
    /// Every check evaluated (for JUnit and SARIF; not part of the JSON report).
    #[serde(skip)]
    pub checks: Vec<CheckRun>,
}

impl ComplianceReport {
    /// The view the JUnit and SARIF conversions take.
    pub fn results(&self) -> AuditResults<'_> {
        AuditResults {
            tool: "stage4 audit compliance",
            version: env!("CARGO_PKG_VERSION"),
            checked_at: &self.checked_at,
            config: &self.config,
            checks: &self.checks,
            issues: &self.issues,
            warnings: &self.warnings,
        }
    }
}

/// What a live mTLS handshake against `target` showed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeReport {
    /// `HOST:PORT` probed.
    pub target: String,
    /// Whether the TCP connection was made.
    pub connected: bool,
    /// Whether the TLS handshake completed on the client side.
    pub handshake_completed: bool,
    /// Whether the server accepted our client certificate (`None` if it never got that far).
    pub client_certificate_accepted: Option<bool>,
    /// Why the server refused us or the handshake failed, as the TLS stack reported it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    /// Negotiated protocol version, e.g. `TLSv1_3`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// Negotiated cipher suite.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cipher_suite: Option<String>,
    /// The chain the server presented, leaf first.
    pub server_chain: Vec<CertificateSummary>,
    /// Whether the presented chain verifies against the bundle CA at the audit time.
    pub chains_to_bundle_ca: Option<bool>,
    /// Whether the leaf's SAN covers the probed host.
    pub name_matches: Option<bool>,
}

/// A certificate, as people need to see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CertificateSummary {
    /// Subject distinguished name.
    pub subject: String,
    /// Issuer distinguished name.
    pub issuer: String,
    /// Serial number, hex.
    pub serial_number: String,
    /// SHA-256 of the DER, `sha256:<hex>`.
    pub fingerprint_sha256: String,
    /// Start of validity (RFC 3339).
    pub not_before: String,
    /// End of validity (RFC 3339).
    pub not_after: String,
    /// Days from the audit time to `not_after` (negative when expired), 1 decimal.
    pub expires_in_days: f64,
    /// Subject alternative names (`DNS:x`, `IP:y`).
    pub subject_alt_names: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_follows_the_reference_rule() {
        assert_eq!(ComplianceStatus::from_counts(0, 0), ComplianceStatus::Ok);
        assert_eq!(ComplianceStatus::from_counts(0, 3), ComplianceStatus::Warn);
        assert_eq!(ComplianceStatus::from_counts(1, 3), ComplianceStatus::Fail);
    }

    #[test]
    fn json_keeps_the_reference_keys_only() {
        let report = ComplianceReport {
            checked_at: "2026-11-28T09:00:00Z".into(),
            config: "/site/core.yaml".into(),
            issues: vec![],
            probe: None,
            schema_version: SCHEMA_VERSION,
            status: ComplianceStatus::Ok,
            warnings: vec![],
            checks: vec![CheckRun {
                id: "x".into(),
                title: "x".into(),
                location: None,
            }],
        };
        let text = crate::render::json::to_pretty_sorted(&report).unwrap();
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        let keys: Vec<_> = value.as_object().unwrap().keys().cloned().collect();
        assert_eq!(
            keys,
            [
                "checked_at",
                "config",
                "issues",
                "schema_version",
                "status",
                "warnings"
            ]
        );
    }
}
