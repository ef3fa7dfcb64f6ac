//! `stage4 audit compliance`: the reference Stage4 compliance audit (audit.md §1) with its
//! check ids, issue-vs-warning outcomes and report keys, its bugs fixed, and real certificate
//! checks.
//!
//! Fixed against the reference:
//! - `metrics_service` is found under `runtime:` (and at the top level);
//! - `observability.key_rotation` is read correctly, so its per-entry checks run and `ok` is
//!   reachable; a null `observability` is a finding, not a crash;
//! - no finding is reported twice (the registry-missing issue, an empty `rotation_registry`,
//!   an env variable named in two places);
//! - a rotation registry that is not a JSON object, or has an unreadable timestamp, is a
//!   finding; mixed-case keys match (and are reported);
//! - a missing mTLS rotation registry no longer hides the `observability.key_rotation` checks.
//!
//! Beyond the reference, with `--check-paths` every certificate is parsed: expired or not yet
//! valid at `--as-of` is an issue, expiring within `--rotation-warn-days` a warning; server and
//! client certificates must chain to the bundle CA, carry the right EKU, and (server) cover the
//! configured host names in their SAN; each key must match its certificate and must not be
//! readable by group or others. With `--probe HOST:PORT` a real mTLS handshake is made
//! ([`crate::tls::probe`]).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_norway::Value;
use stage4_engine::domain::SimTime;
use stage4_reports::compliance::{ComplianceReport, ComplianceStatus, SCHEMA_VERSION};

use super::findings::Recorder;
use super::registry::{RegistryProblem, RotationRegistry, RotationStatus};
use super::x509::{self, CertInfo, Validity};
use crate::config::value::{get, kind, str_list, str_of, truthy};
use crate::config::{ConfigError, CoreConfig};
use crate::secrets::Secrets;
use crate::tls::probe::{ProbeOutcome, ProbeRequest, probe};

/// Scopes every scheduler token must hold (exact, case-sensitive, as in the reference).
pub const REQUIRED_SCHEDULER_SCOPES: [&str; 2] =
    ["runtime.schedule.read", "runtime.schedule.write"];
/// The mTLS registry purposes checked for `--mtls-bundle-name`.
pub const TLS_PURPOSES: [&str; 3] = ["tls_ca", "tls_server", "tls_client"];
const MTLS_FIELDS: [&str; 7] = [
    "bundle_directory",
    "ca_certificate",
    "server_certificate",
    "server_key",
    "client_certificate",
    "client_key",
    "rotation_registry",
];
const METRICS_TLS_FIELDS: [&str; 3] = ["certificate_path", "private_key_path", "client_ca_path"];

/// What to audit and how; the reference defaults come from [`CompliancePlan::new`].
#[derive(Debug, Clone)]
pub struct CompliancePlan {
    /// The `core.yaml` to audit.
    pub config_path: PathBuf,
    /// The audit instant.
    pub as_of: SimTime,
    /// A missing env secret is a warning instead of an issue.
    pub allow_missing_env: bool,
    /// Check the files the config names (existence, certificates, keys).
    pub check_paths: bool,
    /// The mTLS bundle id used as registry key (e.g. `core-oem`); without it, rotation
    /// freshness is not checked (as in the reference).
    pub mtls_bundle_name: Option<String>,
    /// Maximum age of mTLS registry entries, days (90).
    pub rotation_interval_days: f64,
    /// Warning window before due dates and certificate expiry, days (14).
    pub rotation_warn_days: f64,
    /// Minimum length of env-sourced secrets (24).
    pub min_secret_length: usize,
    /// A live mTLS handshake to make.
    pub probe: Option<ProbeTarget>,
}

/// `--probe HOST:PORT`.
#[derive(Debug, Clone)]
pub struct ProbeTarget {
    /// `HOST:PORT`.
    pub target: String,
    /// Connect/read timeout.
    pub timeout: Duration,
}

impl CompliancePlan {
    /// A plan with the reference defaults.
    pub fn new(config_path: impl Into<PathBuf>, as_of: SimTime) -> CompliancePlan {
        CompliancePlan {
            config_path: config_path.into(),
            as_of,
            allow_missing_env: false,
            check_paths: false,
            mtls_bundle_name: None,
            rotation_interval_days: 90.0,
            rotation_warn_days: 14.0,
            min_secret_length: 24,
            probe: None,
        }
    }
}

/// Runs the audit. `Err` only when the config cannot be read or parsed (exit 2).
pub fn run(plan: &CompliancePlan, secrets: &Secrets) -> Result<ComplianceReport, ConfigError> {
    let config = CoreConfig::load(&plan.config_path)?;
    Ok(run_loaded(plan, &config, secrets))
}

/// Runs the audit on an already loaded config.
pub fn run_loaded(
    plan: &CompliancePlan,
    config: &CoreConfig,
    secrets: &Secrets,
) -> ComplianceReport {
    let mut audit = Audit {
        plan,
        config,
        secrets,
        r: Recorder::default(),
        env_seen: BTreeSet::new(),
        mtls: MtlsMaterial::default(),
    };
    audit.metrics_service();
    audit.schedulers();
    audit.execution();
    audit.key_rotation();
    let probe_report = plan.probe.as_ref().map(|p| audit.probe(p));
    let (checks, issues, warnings) = audit.r.finish();
    ComplianceReport {
        checked_at: SimTime::from_unix_secs(plan.as_of.unix_secs()).to_rfc3339(),
        config: config.path().display().to_string(),
        status: ComplianceStatus::from_counts(issues.len(), warnings.len()),
        issues,
        probe: probe_report,
        schema_version: SCHEMA_VERSION,
        warnings,
        checks,
    }
}

/// Certificates found in the mTLS bundle, for the chain checks and the probe.
#[derive(Default)]
struct MtlsMaterial {
    ca: Option<CertInfo>,
    server: Option<CertInfo>,
    client: Option<CertInfo>,
    ca_path: Option<PathBuf>,
    client_cert_path: Option<PathBuf>,
    client_key_path: Option<PathBuf>,
}

enum Role {
    Ca,
    Server { hosts: Vec<String> },
    Client,
}

struct Audit<'a> {
    plan: &'a CompliancePlan,
    config: &'a CoreConfig,
    secrets: &'a Secrets,
    r: Recorder,
    env_seen: BTreeSet<String>,
    mtls: MtlsMaterial,
}

impl Audit<'_> {
    /// The env-secret helper (audit.md §1.3): unset → issue (warning with
    /// `--allow-missing-env`); shorter than the minimum → warning. Each variable once.
    fn env_secret(&mut self, name: &str, context: &str) {
        let name = name.trim();
        let id = format!("env:{name}");
        if !self.env_seen.insert(name.to_owned()) {
            return;
        }
        self.r
            .check(&id, &format!("secret {name} is set and long enough"));
        match self.secrets.get(name) {
            None => self.r.issue_or_warn(
                self.plan.allow_missing_env,
                &id,
                format!(
                    "environment variable {name} ({context}) is not set: export it or pass --env-file"
                ),
            ),
            Some(value) => {
                let len = value.trim().chars().count();
                if len < self.plan.min_secret_length {
                    self.r.warn(
                        &id,
                        format!(
                            "{name} ({context}) is {len} characters long, shorter than {}: consider rotating it to a longer secret",
                            self.plan.min_secret_length
                        ),
                    );
                }
            }
        }
    }

    fn exists(&self, configured: &str) -> (PathBuf, bool) {
        let path = self.config.resolve(configured);
        let exists = path.exists();
        (path, exists)
    }

    // ---- A. metrics service -------------------------------------------------------------

    fn metrics_service(&mut self) {
        self.r
            .check("metrics_service", "runtime.metrics_service is configured");
        let ms = match self.config.metrics_service() {
            None => {
                self.r.issue(
                    "metrics_service",
                    "metrics_service section missing (expected runtime.metrics_service in the config)",
                );
                return;
            }
            Some((key, v @ Value::Mapping(_))) => (key, v),
            Some((key, other)) => {
                self.r.issue(
                    "metrics_service",
                    format!("{key} must be a mapping, found {}", kind(other)),
                );
                return;
            }
        };
        let (key, ms) = ms;
        self.r.check(
            "metrics_service.auth",
            "metrics service requires an auth token",
        );
        if !["auth_token", "auth_token_env", "auth_token_file"]
            .iter()
            .any(|k| truthy(get(ms, k)))
        {
            self.r.issue(
                "metrics_service.auth",
                format!("{key} needs auth_token, auth_token_env or auth_token_file"),
            );
        }
        if let Some(env) = str_of(ms, "auth_token_env") {
            self.env_secret(&env, "metrics_service auth_token_env");
        }
        if self.plan.check_paths
            && let Some(file) = str_of(ms, "auth_token_file")
        {
            let id = "metrics_service.auth_token_file";
            let (path, exists) = self.exists(&file);
            self.r
                .check_at(id, "the metrics auth token file exists", &path);
            if !exists {
                self.r.issue(
                    id,
                    format!("auth_token_file does not exist: {}", path.display()),
                );
            } else {
                let pid = "metrics_service.auth_token_file.permissions";
                self.r
                    .check_at(pid, "the metrics auth token file is private", &path);
                if let Err(e) = x509::check_key_permissions(&path) {
                    self.r.issue(pid, e);
                }
            }
        }

        self.r
            .check("metrics_service.tls", "metrics service serves mTLS");
        let tls = match get(ms, "tls") {
            Some(t @ Value::Mapping(_)) => t,
            other => {
                let found = other.map_or("nothing", kind);
                self.r.issue(
                    "metrics_service.tls",
                    format!("{key}.tls must be a mapping with the TLS settings, found {found}"),
                );
                return;
            }
        };
        if !truthy(get(tls, "enabled")) {
            self.r.issue(
                "metrics_service.tls",
                "TLS must be enabled for metrics_service",
            );
        }
        if !truthy(get(tls, "require_client_auth")) {
            self.r.issue(
                "metrics_service.tls",
                "metrics_service TLS should require client authentication (mTLS): set require_client_auth: true",
            );
        }
        let mut present = Vec::new();
        for field in METRICS_TLS_FIELDS {
            let id = format!("metrics_service.tls.{field}");
            self.r.check(
                &id,
                &format!("metrics_service.tls.{field} is set and exists"),
            );
            match str_of(tls, field) {
                None => self
                    .r
                    .issue(&id, format!("metrics_service.tls.{field} is required")),
                Some(p) if self.plan.check_paths => {
                    let (path, exists) = self.exists(&p);
                    if exists {
                        present.push((field, path));
                    } else {
                        self.r
                            .issue(&id, format!("path does not exist: {}", path.display()));
                    }
                }
                Some(_) => {}
            }
        }
        if !self.plan.check_paths {
            return;
        }
        let find = |f: &str| {
            present
                .iter()
                .find(|(n, _)| *n == f)
                .map(|(_, p)| p.clone())
        };
        if let Some(p) = find("client_ca_path") {
            self.certificate("metrics_service.tls.client_ca_path", &p, &Role::Ca, None);
        }
        let hosts: Vec<String> = str_of(ms, "host").into_iter().collect();
        let cert = find("certificate_path").and_then(|p| {
            self.certificate(
                "metrics_service.tls.certificate_path",
                &p,
                &Role::Server { hosts },
                None,
            )
        });
        if let Some(key) = find("private_key_path") {
            self.private_key("metrics_service.tls.private_key_path", &key, cert.as_ref());
        }
    }

    // ---- B. scheduler RBAC --------------------------------------------------------------

    fn schedulers(&mut self) {
        let id = "multi_strategy_schedulers";
        self.r
            .check(id, "at least one multi-strategy scheduler is configured");
        let (schedulers, problems) = self.config.schedulers();
        for p in problems {
            self.r.issue(id, p);
        }
        if schedulers.is_empty() {
            self.r.issue(
                id,
                "no multi_strategy_schedulers configured (expected runtime.multi_strategy_schedulers)",
            );
            return;
        }
        for s in schedulers {
            let sid = format!("scheduler:{}", s.name);
            self.r
                .check(&sid, &format!("scheduler {} has RBAC tokens", s.name));
            if let Some(p) = &s.rbac_problem {
                self.r.issue(&sid, format!("{}: {p}", s.key_path));
                continue;
            }
            if s.rbac_tokens.is_empty() {
                self.r.issue(
                    &sid,
                    format!("scheduler {} has no rbac_tokens ({})", s.name, s.key_path),
                );
                continue;
            }
            for t in &s.rbac_tokens {
                let label = t.label();
                let tid = format!("scheduler:{}:{label}", s.name);
                self.r.check(
                    &tid,
                    &format!("token {label} of scheduler {} has a secret", s.name),
                );
                if t.token_id.is_none() {
                    self.r.issue(
                        &tid,
                        format!(
                            "token #{} of scheduler {} has no token_id (alias id)",
                            t.index, s.name
                        ),
                    );
                }
                if t.token_env.is_none() && t.token_value.is_none() && t.token_hash.is_none() {
                    self.r.issue(
                        &tid,
                        format!(
                            "token {label} of scheduler {} needs token_env, token_value or token_hash",
                            s.name
                        ),
                    );
                }
                if let Some(env) = &t.token_env {
                    self.env_secret(env, &format!("scheduler {} ({label})", s.name));
                }
                let scid = format!("{tid}:scopes");
                self.r.check(
                    &scid,
                    &format!(
                        "token {label} of scheduler {} holds the schedule scopes",
                        s.name
                    ),
                );
                let missing: Vec<&str> = REQUIRED_SCHEDULER_SCOPES
                    .iter()
                    .copied()
                    .filter(|req| !t.scopes.iter().any(|s| s == req))
                    .collect();
                if !missing.is_empty() {
                    let near: Vec<&str> = t
                        .scopes
                        .iter()
                        .filter(|s| missing.iter().any(|m| m.eq_ignore_ascii_case(s)))
                        .map(String::as_str)
                        .collect();
                    let hint = if near.is_empty() {
                        String::new()
                    } else {
                        format!(" (scopes are case-sensitive; found {})", near.join(", "))
                    };
                    self.r.issue(
                        &scid,
                        format!(
                            "token {label} of scheduler {} lacks scopes: {}{hint}",
                            s.name,
                            missing.join(", ")
                        ),
                    );
                }
            }
        }
    }

    // ---- C. live router, mTLS bundle, rotation registry ---------------------------------

    fn execution(&mut self) {
        self.r
            .check("execution", "the execution section is configured");
        let exec = match self.config.section(&["execution"]) {
            Some(v @ Value::Mapping(_)) => v,
            other => {
                let found = other.map_or("nothing", kind);
                self.r.issue(
                    "execution",
                    format!("execution must be a mapping, found {found}"),
                );
                return;
            }
        };
        self.live_router(exec);
        self.r
            .check("execution.mtls", "the mTLS bundle is configured");
        let mtls = match get(exec, "mtls") {
            Some(v @ Value::Mapping(_)) => v,
            other => {
                let found = other.map_or("nothing", kind);
                self.r.issue(
                    "execution.mtls",
                    format!(
                        "execution.mtls must be a mapping with the bundle paths, found {found}"
                    ),
                );
                return;
            }
        };
        let mut paths = Vec::new();
        for field in MTLS_FIELDS {
            let id = format!("execution.mtls.{field}");
            self.r
                .check(&id, &format!("execution.mtls.{field} is set and exists"));
            match str_of(mtls, field) {
                None => self
                    .r
                    .issue(&id, format!("execution.mtls.{field} is required")),
                Some(p) => {
                    let (path, exists) = self.exists(&p);
                    if self.plan.check_paths && !exists {
                        self.r
                            .issue(&id, format!("path does not exist: {}", path.display()));
                    }
                    if exists {
                        paths.push((field, path));
                    }
                }
            }
        }
        let find = |f: &str| paths.iter().find(|(n, _)| *n == f).map(|(_, p)| p.clone());
        self.mtls.ca_path = find("ca_certificate");
        self.mtls.client_cert_path = find("client_certificate");
        self.mtls.client_key_path = find("client_key");
        if self.plan.check_paths {
            self.mtls_bundle(mtls, &find);
        }
        if let Some(registry) = str_of(mtls, "rotation_registry") {
            self.tls_rotation_registry(&registry);
        }
    }

    fn live_router(&mut self, exec: &Value) {
        let base = "execution.live_router";
        self.r.check(base, "the live router is configured");
        let router = match get(exec, "live_router") {
            Some(v @ Value::Mapping(_)) => v,
            other => {
                let found = other.map_or("nothing", kind);
                self.r.issue(
                    base,
                    format!("execution.live_router must be a mapping, found {found}"),
                );
                return;
            }
        };
        let id = "execution.live_router.decision_log";
        self.r
            .check(id, "the live router writes a signed decision log");
        let log = match get(router, "decision_log") {
            Some(v @ Value::Mapping(_)) => v,
            other => {
                let found = other.map_or("nothing", kind);
                self.r
                    .issue(id, format!("{id} must be a mapping, found {found}"));
                return;
            }
        };
        let pid = "execution.live_router.decision_log.path";
        self.r.check(pid, "the decision log has a path");
        if str_of(log, "path").is_none() {
            self.r
                .issue(pid, "execution.live_router.decision_log.path is required");
        }
        let key_file = str_of(log, "hmac_key_path").or_else(|| str_of(log, "signing_key_path"));
        let key_env = str_of(log, "hmac_key_env");
        if key_env.is_none() && key_file.is_none() {
            self.r.issue(
                id,
                "the decision log needs hmac_key_env or hmac_key_path to be signed",
            );
        }
        if let Some(env) = key_env {
            self.env_secret(&env, "decision log live router");
        }
        if self.plan.check_paths
            && let Some(file) = key_file
        {
            let kid = "execution.live_router.decision_log.hmac_key_path";
            let (path, exists) = self.exists(&file);
            self.r
                .check_at(kid, "the decision-log HMAC key file exists", &path);
            if !exists {
                self.r.issue(
                    kid,
                    format!("HMAC key file does not exist: {}", path.display()),
                );
            } else {
                let perm = "execution.live_router.decision_log.hmac_key_path.permissions";
                self.r
                    .check_at(perm, "the decision-log HMAC key file is private", &path);
                if let Err(e) = x509::check_key_permissions(&path) {
                    self.r.issue(perm, e);
                }
            }
        }
    }

    fn mtls_bundle(&mut self, mtls: &Value, find: &dyn Fn(&str) -> Option<PathBuf>) {
        let ca = find("ca_certificate")
            .and_then(|p| self.certificate("execution.mtls.ca_certificate", &p, &Role::Ca, None));
        self.mtls.ca = ca.clone();
        let hosts = str_list(get(mtls, "server_names"));
        let server = find("server_certificate").and_then(|p| {
            self.certificate(
                "execution.mtls.server_certificate",
                &p,
                &Role::Server { hosts },
                ca.as_ref(),
            )
        });
        if let Some(k) = find("server_key") {
            self.private_key("execution.mtls.server_key", &k, server.as_ref());
        }
        self.mtls.server = server;
        let client = find("client_certificate").and_then(|p| {
            self.certificate(
                "execution.mtls.client_certificate",
                &p,
                &Role::Client,
                ca.as_ref(),
            )
        });
        if let Some(k) = find("client_key") {
            self.private_key("execution.mtls.client_key", &k, client.as_ref());
        }
        self.mtls.client = client;
    }

    /// Parses a certificate file and runs the checks for its role; returns the leaf.
    fn certificate(
        &mut self,
        base: &str,
        path: &Path,
        role: &Role,
        ca: Option<&CertInfo>,
    ) -> Option<CertInfo> {
        let parse_id = format!("{base}.parse");
        self.r
            .check_at(&parse_id, "the certificate file parses as X.509", path);
        let certs = match x509::read_certificates(path) {
            Ok(c) => c,
            Err(e) => {
                self.r.issue(&parse_id, e.to_string());
                return None;
            }
        };
        let leaf = certs[0].clone();
        let what = format!("{} ({})", leaf.subject, path.display());
        let exp_id = format!("{base}.expiry");
        self.r
            .check_at(&exp_id, "the certificate is valid at the audit time", path);
        match leaf.validity_at(self.plan.as_of) {
            Validity::NotYetValid { in_days } => self.r.issue(
                &exp_id,
                format!(
                    "certificate {what} is not valid until {} ({:.1} days after the audit time)",
                    x509::rfc3339(leaf.not_before),
                    in_days
                ),
            ),
            Validity::Expired { days_ago } => self.r.issue(
                &exp_id,
                format!(
                    "certificate {what} expired on {} ({:.1} days ago): replace it now",
                    x509::rfc3339(leaf.not_after),
                    days_ago
                ),
            ),
            Validity::Valid { expires_in_days }
                if expires_in_days <= self.plan.rotation_warn_days =>
            {
                self.r.warn(
                    &exp_id,
                    format!(
                        "certificate {what} expires on {} (in {:.1} days, within the {:.1}-day warning window): plan its rotation",
                        x509::rfc3339(leaf.not_after),
                        expires_in_days,
                        self.plan.rotation_warn_days
                    ),
                );
            }
            Validity::Valid { .. } => {}
        }
        match role {
            Role::Ca => {
                let id = format!("{base}.ca");
                self.r
                    .check_at(&id, "the CA certificate is marked CA:TRUE", path);
                if !leaf.is_ca {
                    self.r.issue(
                        &id,
                        format!("certificate {what} is not a CA certificate (basicConstraints CA:TRUE missing)"),
                    );
                }
            }
            Role::Server { .. } | Role::Client => {
                let (eku_name, need_server) = match role {
                    Role::Server { .. } => ("serverAuth", true),
                    _ => ("clientAuth", false),
                };
                if let Some(ca) = ca {
                    let id = format!("{base}.chain");
                    self.r
                        .check_at(&id, "the certificate is issued by the bundle CA", path);
                    if let Err(why) = leaf.verify_issued_by(ca) {
                        self.r.issue(
                            &id,
                            format!("certificate {what} does not chain to the bundle CA: {why}"),
                        );
                    }
                }
                let id = format!("{base}.eku");
                self.r
                    .check_at(&id, &format!("the certificate allows {eku_name}"), path);
                match leaf.eku {
                    None => self.r.warn(
                        &id,
                        format!("certificate {what} has no extendedKeyUsage extension; issue it with {eku_name}"),
                    ),
                    Some(eku) => {
                        let ok = eku.any || if need_server { eku.server_auth } else { eku.client_auth };
                        if !ok {
                            self.r.issue(
                                &id,
                                format!("certificate {what} lacks the {eku_name} extended key usage"),
                            );
                        }
                    }
                }
                if let Role::Server { hosts } = role {
                    let id = format!("{base}.san");
                    let hosts: Vec<&String> = hosts
                        .iter()
                        .filter(|h| !["0.0.0.0", "::", "[::]"].contains(&h.as_str()))
                        .collect();
                    if !hosts.is_empty() {
                        self.r
                            .check_at(&id, "the SAN covers the configured host names", path);
                        for host in hosts {
                            if !leaf.san_covers(host) {
                                let sans: Vec<String> =
                                    leaf.sans.iter().map(ToString::to_string).collect();
                                self.r.issue(
                                    &id,
                                    format!(
                                        "certificate {what} does not cover host {host} (SAN: {})",
                                        if sans.is_empty() {
                                            "none".to_owned()
                                        } else {
                                            sans.join(", ")
                                        }
                                    ),
                                );
                            }
                        }
                    }
                }
            }
        }
        Some(leaf)
    }

    fn private_key(&mut self, base: &str, path: &Path, cert: Option<&CertInfo>) {
        let id = format!("{base}.permissions");
        self.r
            .check_at(&id, "the private key is readable by its owner only", path);
        if let Err(e) = x509::check_key_permissions(path) {
            self.r.issue(&id, e);
        }
        if let Some(cert) = cert {
            let id = format!("{base}.match");
            self.r
                .check_at(&id, "the private key matches its certificate", path);
            match x509::key_matches(cert, path) {
                Ok(true) => {}
                Ok(false) => self.r.issue(
                    &id,
                    format!(
                        "private key {} does not match certificate {}",
                        path.display(),
                        cert.subject
                    ),
                ),
                Err(e) => self.r.issue(&id, e),
            }
        }
    }

    fn tls_rotation_registry(&mut self, configured: &str) {
        let id = "execution.mtls.rotation_registry";
        let path = self.config.resolve(configured);
        let registry = match RotationRegistry::load(&path) {
            Ok(Some(reg)) => reg,
            Ok(None) => {
                if !self.r.has_issue(id) {
                    self.r.issue(
                        id,
                        format!("TLS rotation registry does not exist: {}", path.display()),
                    );
                }
                return;
            }
            Err(e) => {
                self.r.issue(
                    id,
                    format!("cannot read TLS rotation registry {}: {e}", path.display()),
                );
                return;
            }
        };
        self.registry_problems(id, &registry);
        if registry.problems().iter().any(RegistryProblem::is_fatal) {
            return;
        }
        match &self.plan.mtls_bundle_name {
            Some(bundle) => {
                for purpose in TLS_PURPOSES {
                    let pid = format!("{id}.{purpose}");
                    self.r.check_at(
                        &pid,
                        &format!("{bundle}::{purpose} was rotated within the interval"),
                        &path,
                    );
                    let status = registry.status(
                        bundle,
                        purpose,
                        self.plan.rotation_interval_days,
                        self.plan.as_of,
                    );
                    self.rotation_finding(
                        &pid,
                        &format!("{bundle}/{purpose}"),
                        &status,
                        self.plan.rotation_interval_days,
                        self.plan.rotation_warn_days,
                        "immediate rotation required",
                    );
                    self.rotation_evidence(&pid, bundle, purpose, &status);
                }
            }
            None => {
                if registry.is_empty() {
                    self.r.warn(
                        id,
                        format!(
                            "TLS rotation registry {} exists but is empty",
                            path.display()
                        ),
                    );
                }
            }
        }
    }

    /// A registry entry is only a claim: with `--check-paths` the certificate in use must have
    /// been issued no earlier than a day before the recorded rotation, or the registry says
    /// "rotated" while the old certificate is still deployed.
    fn rotation_evidence(
        &mut self,
        id: &str,
        bundle: &str,
        purpose: &str,
        status: &RotationStatus,
    ) {
        let cert = match purpose {
            "tls_ca" => self.mtls.ca.as_ref(),
            "tls_server" => self.mtls.server.as_ref(),
            _ => self.mtls.client.as_ref(),
        };
        let (Some(cert), Some(rotated)) = (cert, status.last_rotated) else {
            return;
        };
        let slack = 86_400;
        if cert.not_before + slack < rotated.unix_secs() as i64 {
            self.r.warn(
                id,
                format!(
                    "entry {bundle}/{purpose} records a rotation at {} but the certificate in use ({}) was issued at {}: the registry does not match the deployed certificate",
                    SimTime::from_unix_secs(rotated.unix_secs()).to_rfc3339(),
                    cert.subject,
                    x509::rfc3339(cert.not_before)
                ),
            );
        }
    }

    fn registry_problems(&mut self, id: &str, registry: &RotationRegistry) {
        for p in registry.problems() {
            let msg = format!("registry {} {p}", registry.path().display());
            if p.is_fatal() {
                self.r.issue(id, msg);
            } else {
                self.r.warn(id, msg);
            }
        }
    }

    fn rotation_finding(
        &mut self,
        id: &str,
        label: &str,
        status: &RotationStatus,
        interval: f64,
        warn: f64,
        overdue_action: &str,
    ) {
        if let Some(raw) = &status.unreadable {
            self.r.issue(
                id,
                format!("entry {label} has an unreadable timestamp `{raw}` (expected RFC 3339, e.g. 2026-11-20T00:00:00Z); treated as never rotated"),
            );
            return;
        }
        match status.days_since {
            None => self.r.issue(id, format!("entry {label} was never rotated – {overdue_action}")),
            Some(days) if status.is_overdue => self.r.issue(
                id,
                format!(
                    "entry {label} is overdue by {:.1} days (rotated {days:.1} days ago, interval {interval:.1}) – {overdue_action}",
                    -status.due_in_days
                ),
            ),
            Some(_) if status.in_future => self.r.warn(
                id,
                format!(
                    "entry {label} records a rotation in the future ({}): fix the registry or the clock",
                    status.last_rotated.map(SimTime::to_rfc3339).unwrap_or_default()
                ),
            ),
            Some(_) if status.is_warning(warn) => self.r.warn(
                id,
                format!(
                    "entry {label} is due in {:.1} days (interval {interval:.1}, warning window {warn:.1}): plan the rotation",
                    status.due_in_days
                ),
            ),
            Some(_) => {}
        }
    }

    // ---- observability.key_rotation ---------------------------------------------------

    fn key_rotation(&mut self) {
        let id = "observability.key_rotation";
        self.r.check(id, "observability.key_rotation is configured");
        let kr = match self.config.key_rotation() {
            Err(problem) => {
                self.r.issue(id, problem);
                return;
            }
            Ok(None) => {
                self.r.issue(id, "observability.key_rotation is missing: configure the key rotation registry and entries");
                return;
            }
            Ok(Some(kr)) => kr,
        };
        let rid = "observability.key_rotation.registry_path";
        self.r.check(rid, "the key rotation registry exists");
        let Some(configured) = &kr.registry_path else {
            self.r
                .issue(rid, "observability.key_rotation.registry_path is required");
            return;
        };
        let path = self.config.resolve(configured);
        let registry = match RotationRegistry::load(&path) {
            Ok(Some(reg)) => reg,
            Ok(None) => {
                self.r.warn(
                    rid,
                    format!("key rotation registry does not exist: {}", path.display()),
                );
                return;
            }
            Err(e) => {
                self.r.issue(
                    rid,
                    format!("cannot read key rotation registry {}: {e}", path.display()),
                );
                return;
            }
        };
        self.registry_problems(rid, &registry);
        if registry.problems().iter().any(RegistryProblem::is_fatal) {
            return;
        }
        let eid = "observability.key_rotation.entries";
        self.r.check(eid, "key rotation entries are configured");
        for p in &kr.problems {
            self.r.issue(eid, p.clone());
        }
        if kr.entries.is_empty() {
            self.r
                .warn(eid, "observability.key_rotation has no entries");
        }
        for e in &kr.entries {
            let id = format!("observability.key_rotation:{}:{}", e.key, e.purpose);
            self.r.check_at(
                &id,
                &format!("{}::{} was rotated within its interval", e.key, e.purpose),
                &path,
            );
            let interval = e.interval_days.unwrap_or(kr.default_interval_days);
            let warn = e.warn_within_days.unwrap_or(kr.default_warn_within_days);
            let status = registry.status(&e.key, &e.purpose, interval, self.plan.as_of);
            self.rotation_finding(
                &id,
                &format!("{}/{}", e.key, e.purpose),
                &status,
                interval,
                warn,
                "rotate the key now",
            );
        }
    }

    // ---- live probe ---------------------------------------------------------------------

    fn probe(&mut self, target: &ProbeTarget) -> stage4_reports::compliance::ProbeReport {
        let request = ProbeRequest {
            target: target.target.clone(),
            client_certificate: self.mtls.client_cert_path.clone(),
            client_key: self.mtls.client_key_path.clone(),
            ca_certificate: self.mtls.ca_path.clone(),
            as_of: self.plan.as_of,
            timeout: target.timeout,
        };
        let outcome: ProbeOutcome = probe(&request);
        for (check, title) in crate::tls::probe::CHECKS {
            self.r.check(check, title);
        }
        for f in &outcome.issues {
            self.r.issue(&f.check, f.message.clone());
        }
        for f in &outcome.warnings {
            self.r.warn(&f.check, f.message.clone());
        }
        outcome.report
    }
}
