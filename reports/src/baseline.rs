//! The `stage4 audit security-baseline` report: the reference's layout (audit.md §2.4) with
//! `status` ok/warning/error, de-duplicated top-level `warnings`/`errors`, per-service TLS
//! entries, token coverage, `generated_at`, `config_path` and the optional `summary_signature`,
//! plus `schema_version` and the `execution_mtls` bundle the reference never audited.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::compliance::CertificateSummary;

/// Version of this report's schema.
pub const SCHEMA_VERSION: u32 = 1;

/// Overall result, in the reference's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BaselineStatus {
    /// No findings.
    Ok,
    /// Warnings only.
    Warning,
    /// At least one error.
    Error,
}

impl BaselineStatus {
    /// `error` with any error, else `warning` with any warning, else `ok`.
    pub fn from_counts(errors: usize, warnings: usize) -> BaselineStatus {
        if errors > 0 {
            BaselineStatus::Error
        } else if warnings > 0 {
            BaselineStatus::Warning
        } else {
            BaselineStatus::Ok
        }
    }
}

/// The baseline report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BaselineReport {
    /// `ok`, `warning` or `error`.
    pub status: BaselineStatus,
    /// All warnings, de-duplicated by text, in order.
    pub warnings: Vec<String>,
    /// All errors, de-duplicated by text, in order.
    pub errors: Vec<String>,
    /// TLS material per service and for the mTLS bundle.
    pub tls: TlsSection,
    /// RBAC tokens per service.
    pub tokens: TokensSection,
    /// Audit time, `YYYY-MM-DDTHH:MM:SS.ffffff+00:00` as the reference writes it.
    pub generated_at: String,
    /// The config path as given on the command line.
    pub config_path: String,
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// HMAC over the canonical JSON of everything else, when a key was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary_signature: Option<SignatureBlock>,
}

/// The `summary_signature` object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignatureBlock {
    /// `HMAC-SHA256`.
    pub algorithm: String,
    /// Base64 of the MAC.
    pub value: String,
    /// Key id, when configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
}

/// TLS findings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct TlsSection {
    /// Services present in the config (`metrics_service`, `risk_service`).
    pub services: BTreeMap<String, TlsService>,
    /// The `execution.mtls` bundle, when configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_mtls: Option<MtlsBundle>,
    /// TLS warnings, de-duplicated.
    pub warnings: Vec<String>,
    /// TLS errors, de-duplicated.
    pub errors: Vec<String>,
}

/// One TLS-serving service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TlsService {
    /// `enabled` from the config.
    pub enabled: bool,
    /// A static token is available (inline, env set, or a private token file).
    pub auth_token_configured: bool,
    /// RBAC tokens are configured.
    pub rbac_tokens_configured: bool,
    /// The TLS entry.
    pub tls: TlsEntry,
    /// Service warnings.
    pub warnings: Vec<String>,
    /// Service errors.
    pub errors: Vec<String>,
}

/// A service's TLS entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct TlsEntry {
    /// A `tls` section exists.
    pub configured: bool,
    /// `tls.enabled`.
    pub enabled: bool,
    /// `tls.require_client_auth`.
    pub require_client_auth: bool,
    /// The server certificate file.
    pub certificate: Option<CertificateFile>,
    /// The private key file.
    pub private_key: Option<FileMeta>,
    /// The client CA file.
    pub client_ca: Option<CertificateFile>,
    /// Whether the key matches the certificate (`None` when either is unavailable).
    pub key_matches_certificate: Option<bool>,
    /// Whether a pin matched (`None` without pins).
    pub pinned_fingerprint_match: Option<bool>,
    /// Configured pins, normalised `sha256:<hex>`.
    pub pinned_fingerprints: Vec<String>,
    /// `private_key_password_env`, if set.
    pub password_env: Option<String>,
    /// Entry warnings.
    pub warnings: Vec<String>,
    /// Entry errors.
    pub errors: Vec<String>,
}

/// The `execution.mtls` bundle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct MtlsBundle {
    /// The bundle CA.
    pub ca_certificate: Option<CertificateFile>,
    /// The server certificate.
    pub server_certificate: Option<CertificateFile>,
    /// The server key.
    pub server_key: Option<FileMeta>,
    /// The client certificate.
    pub client_certificate: Option<CertificateFile>,
    /// The client key.
    pub client_key: Option<FileMeta>,
    /// Server key matches the server certificate.
    pub server_key_matches: Option<bool>,
    /// Client key matches the client certificate.
    pub client_key_matches: Option<bool>,
    /// Server certificate is signed by the bundle CA.
    pub server_chains_to_ca: Option<bool>,
    /// Client certificate is signed by the bundle CA.
    pub client_chains_to_ca: Option<bool>,
    /// Bundle warnings.
    pub warnings: Vec<String>,
    /// Bundle errors.
    pub errors: Vec<String>,
}

/// Facts about one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileMeta {
    /// The role of the file (`metrics_tls_certificate`, `tls_key`, ...).
    pub role: String,
    /// The path as configured.
    pub path: String,
    /// The resolved absolute path.
    pub absolute_path: String,
    /// Whether it exists.
    pub exists: bool,
    /// Permission bits, `0600`.
    pub mode_octal: Option<String>,
    /// Size in bytes.
    pub size_bytes: Option<u64>,
    /// SHA-256 of the contents, hex.
    pub sha256: Option<String>,
    /// Permission problems found.
    pub security_warnings: Vec<String>,
}

/// A certificate file and the certificates in it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CertificateFile {
    /// The file.
    #[serde(flatten)]
    pub file: FileMeta,
    /// Parsed certificates, in file order.
    pub certificates: Vec<CertificateSummary>,
}

/// Token coverage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct TokensSection {
    /// `metrics_service`, `risk_service`, then `multi_strategy_scheduler:<name>`.
    pub services: Vec<TokenService>,
    /// Token warnings (not de-duplicated, as in the reference).
    pub warnings: Vec<String>,
    /// Token errors (not de-duplicated).
    pub errors: Vec<String>,
}

/// One service's tokens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenService {
    /// Service name.
    pub service: String,
    /// Whether it is enabled.
    pub enabled: bool,
    /// Tokens or static auth exist.
    pub configured: bool,
    /// Static auth (inline, env, or file) exists.
    pub shared_secret_token: bool,
    /// Number of RBAC tokens.
    pub token_count: usize,
    /// Scopes that must be covered (lower-case).
    pub required_scopes: Vec<String>,
    /// Scope → token ids covering it.
    pub coverage: BTreeMap<String, Vec<String>>,
    /// Findings.
    pub findings: Vec<TokenFinding>,
    /// Tokens (never their values).
    pub tokens: Vec<TokenInfo>,
}

/// Finding level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FindingLevel {
    /// Advisory.
    Warning,
    /// Blocking.
    Error,
}

/// A token finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenFinding {
    /// Level.
    pub level: FindingLevel,
    /// Message.
    pub message: String,
    /// Structured details (`service`, `token_id`, `scope`, ...).
    pub details: BTreeMap<String, String>,
}

/// One RBAC token, without its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenInfo {
    /// Token id.
    pub token_id: String,
    /// Scopes, lower-cased and sorted (empty = all scopes).
    pub scopes: Vec<String>,
    /// A plain secret is available.
    pub has_plain: bool,
    /// A hash is configured and valid.
    pub has_hash: bool,
    /// Hash algorithm, when configured.
    pub hash_algorithm: Option<String>,
    /// `env`, `inline` or `hash`.
    pub source: Option<String>,
    /// Env var name.
    pub token_env: Option<String>,
    /// Whether that variable is set and non-empty.
    pub env_present: Option<bool>,
}

/// Removes repeated strings, keeping the first occurrence of each.
pub fn dedup_keep_order(items: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut seen = std::collections::BTreeSet::new();
    items
        .into_iter()
        .filter(|s| seen.insert(s.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_and_dedup() {
        assert_eq!(BaselineStatus::from_counts(0, 0), BaselineStatus::Ok);
        assert_eq!(BaselineStatus::from_counts(0, 1), BaselineStatus::Warning);
        assert_eq!(BaselineStatus::from_counts(2, 1), BaselineStatus::Error);
        assert_eq!(
            dedup_keep_order(["b", "a", "b", "c", "a"].map(String::from)),
            ["b", "a", "c"]
        );
    }
}
