//! `stage4 audit security-baseline`: the reference TLS and RBAC baseline (audit.md §2) with
//! its report layout, status words (`ok`/`warning`/`error`), scope rules and optional HMAC
//! signature, and these fixes:
//!
//! - a missing certificate, key or client-CA file is an **error** (the reference was silent
//!   for certificates and CA files);
//! - an expired or not-yet-valid certificate is an **error** (a warning in the reference);
//! - `require_client_auth: false` on a TLS service is an **error**, and so is requiring client
//!   auth without a `client_ca_path`;
//! - `execution.mtls` is audited (files, expiry, chain to the bundle CA, key match, EKU);
//! - an unknown token-hash algorithm or a non-hex digest is a finding, not a crash.
//!
//! Deliberate differences: a world-readable *certificate* is not a finding (certificates are
//! public; keys are what must be private), and a read-only parent directory is not penalised
//! (the reference's "no write permission in parent" warning punished hardening).

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use serde_norway::Value;
use sha2::{Digest, Sha256};
use stage4_engine::decision_log::{Algorithm, Json, SigningKey};
use stage4_engine::domain::SimTime;
use stage4_reports::baseline::{
    BaselineReport, BaselineStatus, CertificateFile, FileMeta, FindingLevel, MtlsBundle,
    SCHEMA_VERSION, SignatureBlock, TlsEntry, TlsSection, TlsService, TokenFinding, TokenInfo,
    TokenService, TokensSection, dedup_keep_order,
};

use super::x509::{self, CertInfo, Validity};
use crate::config::value::{get, str_list, str_of, truthy};
use crate::config::views::rbac_tokens;
use crate::config::{ConfigError, CoreConfig};
use crate::secrets::Secrets;

/// Coverage pseudo-id for a static shared secret (as in the reference).
pub const SHARED_SECRET_ID: &str = "<shared-secret-auth-token>";
const HASH_ALGORITHMS: [&str; 8] = [
    "sha224", "sha256", "sha384", "sha512", "sha3_224", "sha3_256", "sha3_384", "sha3_512",
];

/// Scheduler scopes: a default list and per-scheduler overrides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchedulerScopes {
    /// Required of every scheduler without an override.
    pub default: Vec<String>,
    /// Per scheduler name.
    pub overrides: BTreeMap<String, Vec<String>>,
}

impl SchedulerScopes {
    /// Resolves `--scheduler-required-scope` values the reference's way: `name:scope` is an
    /// override for `name`; `scope` and `:scope` go to the default list, and supplying any
    /// replaces the default pair; `name:` gives `name` the default list. Scopes are stripped
    /// and lower-cased.
    pub fn resolve(entries: &[String]) -> SchedulerScopes {
        let mut default = Vec::new();
        let mut overrides: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut empty_overrides = Vec::new();
        for raw in entries {
            match raw.split_once(':') {
                Some((name, scope)) if !name.trim().is_empty() => {
                    let name = name.trim().to_owned();
                    match normalize_scope(scope) {
                        Some(s) => overrides.entry(name).or_default().push(s),
                        None => empty_overrides.push(name),
                    }
                }
                Some((_, scope)) => default.extend(normalize_scope(scope)),
                None => default.extend(normalize_scope(raw)),
            }
        }
        if default.is_empty() {
            default = vec![
                "runtime.schedule.read".to_owned(),
                "runtime.schedule.write".to_owned(),
            ];
        }
        for name in empty_overrides {
            overrides.entry(name).or_insert_with(|| default.clone());
        }
        SchedulerScopes { default, overrides }
    }

    fn for_scheduler(&self, name: &str) -> &[String] {
        self.overrides.get(name).unwrap_or(&self.default)
    }
}

/// Strip + lower-case; `None` when blank.
pub fn normalize_scope(s: &str) -> Option<String> {
    let s = s.trim().to_lowercase();
    (!s.is_empty()).then_some(s)
}

/// What to audit and how.
#[derive(Debug, Clone)]
pub struct BaselinePlan {
    /// The config file.
    pub config_path: PathBuf,
    /// `config_path` as the operator wrote it (printed in the report).
    pub config_path_as_given: String,
    /// The audit instant.
    pub as_of: SimTime,
    /// Certificate expiry warning window (30 days).
    pub warn_expiring_days: f64,
    /// Scopes required for `metrics_service` (`metrics.read`).
    pub metrics_scopes: Vec<String>,
    /// Scopes required for `risk_service` (`risk.read`).
    pub risk_scopes: Vec<String>,
    /// Scopes required for schedulers.
    pub scheduler_scopes: SchedulerScopes,
    /// Sign the report with this key.
    pub signing_key: Option<SigningKey>,
}

impl BaselinePlan {
    /// A plan with the reference defaults.
    pub fn new(config_path: impl Into<PathBuf>, as_of: SimTime) -> BaselinePlan {
        let config_path = config_path.into();
        BaselinePlan {
            config_path_as_given: config_path.display().to_string(),
            config_path,
            as_of,
            warn_expiring_days: 30.0,
            metrics_scopes: vec!["metrics.read".to_owned()],
            risk_scopes: vec!["risk.read".to_owned()],
            scheduler_scopes: SchedulerScopes::resolve(&[]),
            signing_key: None,
        }
    }
}

/// Runs the baseline. `Err` only when the config cannot be read or parsed.
pub fn run(plan: &BaselinePlan, secrets: &Secrets) -> Result<BaselineReport, ConfigError> {
    let config = CoreConfig::load(&plan.config_path)?;
    Ok(run_loaded(plan, &config, secrets))
}

/// Runs the baseline on a loaded config.
pub fn run_loaded(plan: &BaselinePlan, config: &CoreConfig, secrets: &Secrets) -> BaselineReport {
    let ctx = Ctx {
        plan,
        config,
        secrets,
    };
    let mut tls = TlsSection::default();
    let mut tokens = TokensSection::default();
    for (name, label, scopes) in [
        ("metrics_service", "MetricsService", &plan.metrics_scopes),
        ("risk_service", "RiskService", &plan.risk_scopes),
    ] {
        let svc = match name {
            "metrics_service" => config.metrics_service(),
            _ => config.risk_service(),
        }
        .map(|(_, v)| v);
        if let Some(svc) = svc {
            tls.services
                .insert(name.to_owned(), ctx.tls_service(name, label, svc));
        }
        tokens
            .services
            .push(ctx.token_service(name, svc, scopes, true));
    }
    let (schedulers, _) = config.schedulers();
    for s in &schedulers {
        let raw = config
            .section(&s.key_path.split('.').collect::<Vec<_>>())
            .cloned()
            .unwrap_or(Value::Null);
        tokens.services.push(ctx.token_service(
            &format!("multi_strategy_scheduler:{}", s.name),
            Some(&raw),
            plan.scheduler_scopes.for_scheduler(&s.name),
            false,
        ));
    }
    if let Some(Value::Mapping(_)) = config.section(&["execution", "mtls"]) {
        tls.execution_mtls =
            Some(ctx.mtls_bundle(config.section(&["execution", "mtls"]).expect("checked")));
    }

    let mut tls_warnings = Vec::new();
    let mut tls_errors = Vec::new();
    for svc in tls.services.values() {
        tls_warnings.extend(svc.warnings.iter().cloned());
        tls_errors.extend(svc.errors.iter().cloned());
    }
    if let Some(m) = &tls.execution_mtls {
        tls_warnings.extend(m.warnings.iter().cloned());
        tls_errors.extend(m.errors.iter().cloned());
    }
    tls.warnings = dedup_keep_order(tls_warnings);
    tls.errors = dedup_keep_order(tls_errors);
    for svc in &tokens.services {
        for f in &svc.findings {
            match f.level {
                FindingLevel::Warning => tokens.warnings.push(f.message.clone()),
                FindingLevel::Error => tokens.errors.push(f.message.clone()),
            }
        }
    }
    let warnings = dedup_keep_order(tls.warnings.iter().chain(&tokens.warnings).cloned());
    let errors = dedup_keep_order(tls.errors.iter().chain(&tokens.errors).cloned());
    let mut report = BaselineReport {
        status: BaselineStatus::from_counts(errors.len(), warnings.len()),
        warnings,
        errors,
        tls,
        tokens,
        generated_at: generated_at(plan.as_of),
        config_path: plan.config_path_as_given.clone(),
        schema_version: SCHEMA_VERSION,
        summary_signature: None,
    };
    if let Some(key) = &plan.signing_key {
        report.summary_signature = Some(sign(&report, key));
    }
    report
}

/// The reference's `generated_at`: microseconds and `+00:00`.
pub fn generated_at(as_of: SimTime) -> String {
    let base = SimTime::from_unix_secs(as_of.unix_secs()).to_rfc3339();
    let micros = (as_of.as_nanos() % 1_000_000_000) / 1_000;
    format!("{}.{micros:06}+00:00", base.trim_end_matches('Z'))
}

/// HMAC-SHA256 over the canonical JSON of the report without `summary_signature`.
pub fn sign(report: &BaselineReport, key: &SigningKey) -> SignatureBlock {
    let mut unsigned = report.clone();
    unsigned.summary_signature = None;
    let payload = Json::from_serialize(&unsigned).expect("reports always serialise");
    let sig = key.signature(Algorithm::HmacSha256, &payload);
    SignatureBlock {
        algorithm: sig
            .get("algorithm")
            .and_then(Json::as_str)
            .unwrap_or_default()
            .to_owned(),
        value: sig
            .get("value")
            .and_then(Json::as_str)
            .unwrap_or_default()
            .to_owned(),
        key_id: sig.get("key_id").and_then(Json::as_str).map(str::to_owned),
    }
}

/// Verifies a report's `summary_signature` with `key`.
pub fn verify(report: &BaselineReport, key: &SigningKey) -> bool {
    let Some(sig) = &report.summary_signature else {
        return false;
    };
    sign(report, key).value == sig.value
}

struct Ctx<'a> {
    plan: &'a BaselinePlan,
    config: &'a CoreConfig,
    secrets: &'a Secrets,
}

#[derive(Default)]
struct Found {
    warnings: Vec<String>,
    errors: Vec<String>,
}

impl Found {
    fn warn(&mut self, m: String) {
        self.warnings.push(m);
    }
    fn error(&mut self, m: String) {
        self.errors.push(m);
    }
}

enum Purpose {
    Server,
    Client,
}

impl Ctx<'_> {
    fn env_nonblank(&self, name: &str) -> bool {
        self.secrets.get(name).is_some_and(|v| !v.trim().is_empty())
    }

    fn file_meta(&self, role: &str, configured: &str, found: &mut Found, is_key: bool) -> FileMeta {
        let path = self.config.resolve(configured);
        let meta = std::fs::symlink_metadata(&path).ok();
        let target = std::fs::metadata(&path).ok();
        let mut security = Vec::new();
        if let Some(parent) = path.parent()
            && let Ok(pm) = std::fs::metadata(parent)
        {
            let mode = pm.permissions().mode();
            if mode & 0o002 != 0 {
                security.push(format!(
                    "{role}: parent directory {} is world-writable: anyone can replace {}",
                    parent.display(),
                    path.display()
                ));
            } else if is_key && mode & 0o020 != 0 {
                security.push(format!(
                    "{role}: parent directory {} of the private key is group-writable",
                    parent.display()
                ));
            }
        }
        let mode = target.as_ref().map(|m| m.permissions().mode() & 0o7777);
        if let Some(mode) = mode {
            if mode & 0o002 != 0 {
                security.push(format!(
                    "{role}: {} is world-writable (mode {mode:04o}): it can be overwritten",
                    path.display()
                ));
            } else if is_key && mode & 0o020 != 0 {
                security.push(format!(
                    "{role}: {} is group-writable (mode {mode:04o}): it can be overwritten",
                    path.display()
                ));
            }
            if is_key && mode & 0o044 != 0 {
                security.push(format!(
                    "{role}: private key {} is readable by group or others (mode {mode:04o}); run `chmod 600 {}`",
                    path.display(),
                    path.display()
                ));
            }
        }
        if is_key && meta.as_ref().is_some_and(|m| m.file_type().is_symlink()) {
            security.push(format!(
                "{role}: private key {} is a symbolic link",
                path.display()
            ));
        }
        for s in &security {
            found.warn(s.clone());
        }
        let bytes = target.as_ref().and_then(|_| std::fs::read(&path).ok());
        FileMeta {
            role: role.to_owned(),
            path: configured.to_owned(),
            absolute_path: path.display().to_string(),
            exists: target.is_some(),
            mode_octal: mode.map(|m| format!("{m:04o}")),
            size_bytes: target.as_ref().map(std::fs::Metadata::len),
            sha256: bytes.map(|b| x509::hex(&Sha256::digest(b))),
            security_warnings: security,
        }
    }

    /// A certificate file: missing, unparseable, expired or not-yet-valid is an error;
    /// expiring within the window a warning.
    fn cert_file(
        &self,
        role: &str,
        label: &str,
        configured: &str,
        found: &mut Found,
    ) -> (CertificateFile, Option<CertInfo>, Vec<CertInfo>) {
        let file = self.file_meta(role, configured, found, false);
        let mut certificates = Vec::new();
        let mut all = Vec::new();
        if !file.exists {
            found.error(format!(
                "{label}: certificate file {} does not exist",
                file.absolute_path
            ));
        } else {
            match x509::read_certificates(Path::new(&file.absolute_path)) {
                Err(e) => found.error(format!("{label}: {e}")),
                Ok(certs) => {
                    for c in &certs {
                        self.expiry(label, c, found);
                        certificates.push(c.summary(self.plan.as_of));
                    }
                    all = certs;
                }
            }
        }
        let leaf = all.first().cloned();
        (CertificateFile { file, certificates }, leaf, all)
    }

    fn expiry(&self, label: &str, c: &CertInfo, found: &mut Found) {
        match c.validity_at(self.plan.as_of) {
            Validity::Expired { days_ago } => found.error(format!(
                "{label}: certificate {} expired {days_ago:.1} days ago ({})",
                c.subject,
                x509::rfc3339(c.not_after)
            )),
            Validity::NotYetValid { in_days } => found.error(format!(
                "{label}: certificate {} is not valid for another {in_days:.1} days ({})",
                c.subject,
                x509::rfc3339(c.not_before)
            )),
            Validity::Valid { expires_in_days }
                if expires_in_days <= self.plan.warn_expiring_days =>
            {
                found.warn(format!(
                    "{label}: certificate {} expires in {expires_in_days:.1} days – plan rotation",
                    c.subject
                ));
            }
            Validity::Valid { .. } => {}
        }
    }

    fn key_file(&self, role: &str, label: &str, configured: &str, found: &mut Found) -> FileMeta {
        let meta = self.file_meta(role, configured, found, true);
        if !meta.exists {
            found.error(format!(
                "{label}: private key file {} does not exist",
                meta.absolute_path
            ));
        }
        meta
    }

    fn key_match(
        &self,
        label: &str,
        cert: Option<&CertInfo>,
        key: &FileMeta,
        found: &mut Found,
    ) -> Option<bool> {
        let cert = cert?;
        if !key.exists {
            return None;
        }
        match x509::key_matches(cert, Path::new(&key.absolute_path)) {
            Ok(true) => Some(true),
            Ok(false) => {
                found.error(format!(
                    "{label}: private key {} does not match certificate {}",
                    key.absolute_path, cert.subject
                ));
                Some(false)
            }
            Err(e) => {
                found.error(format!(
                    "{label}: key/certificate pair verification failed: {e}"
                ));
                Some(false)
            }
        }
    }

    fn tls_service(&self, name: &str, label: &str, svc: &Value) -> TlsService {
        let mut found = Found::default();
        let enabled = truthy(get(svc, "enabled"));
        let auth_token_configured = str_of(svc, "auth_token").is_some()
            || str_of(svc, "auth_token_env").is_some_and(|e| self.env_nonblank(&e))
            || str_of(svc, "auth_token_file").is_some_and(|f| {
                let p = self.config.resolve(&f);
                std::fs::metadata(&p)
                    .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o077 == 0)
            });
        let (tokens, _) = rbac_tokens(get(svc, "rbac_tokens"));
        let rbac_tokens_configured = !tokens.is_empty();
        let tls_value = get(svc, "tls").filter(|v| v.is_mapping());
        if enabled && !auth_token_configured && !rbac_tokens_configured {
            found.warn(format!("{label} has its API enabled without an auth token"));
        }
        if enabled && !tls_value.is_some_and(|t| truthy(get(t, "enabled"))) {
            found.warn(format!(
                "{label} runs without TLS – consider enabling encryption"
            ));
        }
        let tls = match tls_value {
            None => TlsEntry::default(),
            Some(t) => self.tls_entry(name, label, t, enabled, &mut found),
        };
        TlsService {
            enabled,
            auth_token_configured,
            rbac_tokens_configured,
            tls,
            warnings: dedup_keep_order(found.warnings),
            errors: dedup_keep_order(found.errors),
        }
    }

    fn tls_entry(
        &self,
        name: &str,
        label: &str,
        t: &Value,
        service_enabled: bool,
        svc_found: &mut Found,
    ) -> TlsEntry {
        let prefix = match name {
            "metrics_service" => "metrics_tls",
            _ => "risk_tls",
        };
        let mut found = Found::default();
        let enabled = truthy(get(t, "enabled"));
        let require_client_auth = truthy(get(t, "require_client_auth"));
        if service_enabled && enabled && !require_client_auth {
            found.error(format!(
                "{label}: TLS does not require client certificates (require_client_auth: false); mTLS is mandatory"
            ));
        }
        let (certificate, leaf, all) = match str_of(t, "certificate_path") {
            Some(p) => {
                let (f, leaf, all) =
                    self.cert_file(&format!("{prefix}_certificate"), label, &p, &mut found);
                (Some(f), leaf, all)
            }
            None => {
                if enabled {
                    found.error(format!(
                        "{label}: TLS is enabled but certificate_path is not set"
                    ));
                }
                (None, None, Vec::new())
            }
        };
        let private_key = match str_of(t, "private_key_path") {
            Some(p) => Some(self.key_file("tls_key", label, &p, &mut found)),
            None => {
                if enabled {
                    found.error(format!(
                        "{label}: TLS is enabled but private_key_path is not set"
                    ));
                }
                None
            }
        };
        let client_ca = match str_of(t, "client_ca_path") {
            Some(p) => {
                let (f, ca, _) =
                    self.cert_file(&format!("{prefix}_client_ca"), label, &p, &mut found);
                if let Some(ca) = ca
                    && !ca.is_ca
                {
                    found.warn(format!(
                        "{label}: client CA {} is not a CA certificate (basicConstraints CA:TRUE missing)",
                        ca.subject
                    ));
                }
                Some(f)
            }
            None => {
                if require_client_auth {
                    found.error(format!(
                        "{label}: require_client_auth is set but client_ca_path is not: no client can be verified"
                    ));
                }
                None
            }
        };
        let password_env = str_of(t, "private_key_password_env");
        if let Some(env) = &password_env
            && self.secrets.get(env).is_none()
        {
            found.warn(format!(
                "{label}: TLS key password env var {env} is not set – the key may be encrypted"
            ));
        }
        let key_matches_certificate = private_key
            .as_ref()
            .and_then(|k| self.key_match(label, leaf.as_ref(), k, &mut found));
        let pins_raw = str_list(get(t, "pinned_fingerprints"));
        let mut pins = Vec::new();
        let mut other_algorithms = Vec::new();
        let mut matched = false;
        for pin in &pins_raw {
            let pin = pin.to_lowercase();
            let Some((alg, fp)) = pin.split_once(':') else {
                found.error(format!(
                    "{label}: pin `{pin}` has an invalid format (no algorithm)"
                ));
                continue;
            };
            let fp: String = fp.chars().filter(|c| *c != ':').collect();
            if fp.is_empty() {
                found.error(format!("{label}: pin `{pin}` has an empty fingerprint"));
                continue;
            }
            pins.push(format!("{alg}:{fp}"));
            if alg != "sha256" {
                other_algorithms.push(alg.to_owned());
                continue;
            }
            if all.iter().any(|c| c.fingerprint == format!("sha256:{fp}")) {
                matched = true;
            }
        }
        if !other_algorithms.is_empty() {
            found.warn(format!(
                "{label}: no certificate fingerprints for algorithms: {}",
                other_algorithms.join(", ")
            ));
        }
        let pinned_fingerprint_match =
            (!pins.is_empty() && certificate.is_some()).then_some(matched);
        if pinned_fingerprint_match == Some(false) {
            found.error(format!(
                "{label}: no certificate fingerprint matches the pins"
            ));
        }
        let warnings = dedup_keep_order(found.warnings);
        let errors = dedup_keep_order(found.errors);
        svc_found.warnings.extend(warnings.iter().cloned());
        svc_found.errors.extend(errors.iter().cloned());
        TlsEntry {
            configured: true,
            enabled,
            require_client_auth,
            certificate,
            private_key,
            client_ca,
            key_matches_certificate,
            pinned_fingerprint_match,
            pinned_fingerprints: pins,
            password_env,
            warnings,
            errors,
        }
    }

    fn mtls_bundle(&self, m: &Value) -> MtlsBundle {
        let label = "execution.mtls";
        let mut found = Found::default();
        let mut bundle = MtlsBundle::default();
        let cert = |field: &str, found: &mut Found| match str_of(m, field) {
            Some(p) => {
                let (f, leaf, _) = self.cert_file(&format!("mtls_{field}"), label, &p, found);
                (Some(f), leaf)
            }
            None => {
                found.error(format!("{label}.{field} is not set"));
                (None, None)
            }
        };
        let (ca_file, ca) = cert("ca_certificate", &mut found);
        let (server_file, server) = cert("server_certificate", &mut found);
        let (client_file, client) = cert("client_certificate", &mut found);
        bundle.ca_certificate = ca_file;
        bundle.server_certificate = server_file;
        bundle.client_certificate = client_file;
        if let Some(ca) = &ca
            && !ca.is_ca
        {
            found.error(format!(
                "{label}: CA certificate {} is not marked CA:TRUE",
                ca.subject
            ));
        }
        for (field, leaf, server_side) in [
            ("server_key", server.as_ref(), true),
            ("client_key", client.as_ref(), false),
        ] {
            let key = str_of(m, field).map(|p| self.key_file("tls_key", label, &p, &mut found));
            if key.is_none() {
                found.error(format!("{label}.{field} is not set"));
            }
            let matches = key
                .as_ref()
                .and_then(|k| self.key_match(label, leaf, k, &mut found));
            let chains = match (leaf, &ca) {
                (Some(l), Some(ca)) => Some(match l.verify_issued_by(ca) {
                    Ok(()) => true,
                    Err(why) => {
                        found.error(format!(
                            "{label}: certificate {} does not chain to the bundle CA: {why}",
                            l.subject
                        ));
                        false
                    }
                }),
                _ => None,
            };
            if let Some(l) = leaf {
                self.eku(
                    label,
                    l,
                    if server_side {
                        Purpose::Server
                    } else {
                        Purpose::Client
                    },
                    &mut found,
                );
            }
            if server_side {
                bundle.server_key = key;
                bundle.server_key_matches = matches;
                bundle.server_chains_to_ca = chains;
            } else {
                bundle.client_key = key;
                bundle.client_key_matches = matches;
                bundle.client_chains_to_ca = chains;
            }
        }
        bundle.warnings = dedup_keep_order(found.warnings);
        bundle.errors = dedup_keep_order(found.errors);
        bundle
    }

    fn eku(&self, label: &str, c: &CertInfo, purpose: Purpose, found: &mut Found) {
        let (name, ok) = match (purpose, c.eku) {
            (_, None) => return,
            (Purpose::Server, Some(e)) => ("serverAuth", e.any || e.server_auth),
            (Purpose::Client, Some(e)) => ("clientAuth", e.any || e.client_auth),
        };
        if !ok {
            found.error(format!(
                "{label}: certificate {} lacks the {name} extended key usage",
                c.subject
            ));
        }
    }

    fn token_service(
        &self,
        service: &str,
        svc: Option<&Value>,
        required: &[String],
        static_allowed: bool,
    ) -> TokenService {
        let required: Vec<String> = required.to_vec();
        let Some(svc) = svc.filter(|v| v.is_mapping()) else {
            return TokenService {
                service: service.to_owned(),
                enabled: false,
                configured: false,
                shared_secret_token: false,
                token_count: 0,
                coverage: required.iter().map(|s| (s.clone(), Vec::new())).collect(),
                required_scopes: required,
                findings: Vec::new(),
                tokens: Vec::new(),
            };
        };
        let enabled = !static_allowed || get(svc, "enabled").is_none_or(|v| truthy(Some(v)));
        let mut findings = Vec::new();
        let details = |pairs: &[(&str, String)]| -> BTreeMap<String, String> {
            let mut d = BTreeMap::from([("service".to_owned(), service.to_owned())]);
            d.extend(pairs.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
            d
        };
        let mut push = |level, message: String, d: BTreeMap<String, String>| {
            findings.push(TokenFinding {
                level,
                message,
                details: d,
            });
        };
        let (views, problem) = rbac_tokens(get(svc, "rbac_tokens"));
        if let Some(p) = problem {
            push(FindingLevel::Error, format!("{service}: {p}"), details(&[]));
        }
        let mut tokens = Vec::new();
        let mut covering: Vec<(String, Vec<String>, bool)> = Vec::new();
        for t in &views {
            let label = t.label();
            let env_value = t
                .token_env
                .as_ref()
                .and_then(|e| self.secrets.get(e))
                .filter(|v| !v.is_empty());
            let has_plain = t.token_value.is_some() || env_value.is_some();
            let (has_hash, hash_algorithm) = match &t.token_hash {
                None => (false, None),
                Some(h) => {
                    let (alg, digest) = match h.split_once(':') {
                        Some((a, d)) => (
                            a.trim().to_lowercase().replace('-', "_"),
                            d.trim().to_owned(),
                        ),
                        None => ("sha256".to_owned(), h.trim().to_owned()),
                    };
                    let hex_ok =
                        !digest.is_empty() && digest.chars().all(|c| c.is_ascii_hexdigit());
                    if !HASH_ALGORITHMS.contains(&alg.as_str()) {
                        push(
                            FindingLevel::Error,
                            format!(
                                "{service}: RBAC token {label} uses unsupported hash algorithm `{alg}` (expected one of {})",
                                HASH_ALGORITHMS.join(", ")
                            ),
                            details(&[("token_id", label.clone())]),
                        );
                        (false, Some(alg))
                    } else if !hex_ok {
                        push(
                            FindingLevel::Error,
                            format!(
                                "{service}: RBAC token {label} has a token_hash that is not hexadecimal"
                            ),
                            details(&[("token_id", label.clone())]),
                        );
                        (false, Some(alg))
                    } else {
                        (true, Some(alg))
                    }
                }
            };
            if let Some(env) = &t.token_env
                && env_value.is_none()
            {
                push(
                    FindingLevel::Warning,
                    format!("{service}: RBAC token {label} env var {env} is not set"),
                    details(&[("token_id", label.clone()), ("token_env", env.clone())]),
                );
            }
            if !has_plain && !has_hash {
                push(
                    FindingLevel::Warning,
                    format!("{service}: RBAC token {label} has neither a plain secret nor a hash"),
                    details(&[("token_id", label.clone())]),
                );
            }
            let scopes: Vec<String> = {
                let mut s: Vec<String> =
                    t.scopes.iter().filter_map(|s| normalize_scope(s)).collect();
                s.sort();
                s.dedup();
                s
            };
            covering.push((label.clone(), scopes.clone(), has_plain || has_hash));
            tokens.push(TokenInfo {
                token_id: label,
                scopes,
                has_plain,
                has_hash,
                hash_algorithm,
                source: if t.token_env.is_some() && t.token_value.is_none() {
                    Some("env".to_owned())
                } else if t.token_value.is_some() {
                    Some("inline".to_owned())
                } else if t.token_hash.is_some() {
                    Some("hash".to_owned())
                } else {
                    None
                },
                token_env: t.token_env.clone(),
                env_present: t.token_env.as_ref().map(|_| env_value.is_some()),
            });
        }
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for t in &tokens {
            *counts.entry(t.token_id.as_str()).or_default() += 1;
        }
        for (id, n) in counts.iter().filter(|(_, n)| **n > 1) {
            push(
                FindingLevel::Warning,
                format!("{service}: token_id {id} is used by {n} tokens"),
                details(&[("token_id", (*id).to_owned()), ("count", n.to_string())]),
            );
        }
        let auth_env = if static_allowed {
            str_of(svc, "auth_token_env")
        } else {
            None
        };
        let auth_file = if static_allowed {
            str_of(svc, "auth_token_file")
        } else {
            None
        };
        let auth_file_path = auth_file.as_ref().map(|f| self.config.resolve(f));
        let static_auth = static_allowed
            && (str_of(svc, "auth_token").is_some()
                || auth_env.as_ref().is_some_and(|e| self.env_nonblank(e))
                || auth_file_path.as_ref().is_some_and(|p| p.is_file()));
        if views.is_empty() && enabled {
            push(
                if static_auth {
                    FindingLevel::Warning
                } else {
                    FindingLevel::Error
                },
                format!("{service}: no RBAC tokens configured for an enabled service"),
                details(&[]),
            );
        }
        if let Some(env) = &auth_env
            && !self.env_nonblank(env)
            && views.is_empty()
        {
            push(
                if enabled {
                    FindingLevel::Error
                } else {
                    FindingLevel::Warning
                },
                format!("{service}: auth_token_env {env} is not set"),
                details(&[("token_env", env.clone())]),
            );
        }
        if let (Some(f), Some(p)) = (&auth_file, &auth_file_path) {
            match std::fs::metadata(p) {
                Err(_) if views.is_empty() => push(
                    FindingLevel::Warning,
                    format!(
                        "{service}: static auth_token file {} does not exist",
                        p.display()
                    ),
                    details(&[("token_file", f.clone())]),
                ),
                Ok(m) if m.permissions().mode() & 0o077 != 0 => push(
                    FindingLevel::Warning,
                    format!(
                        "{service}: static auth_token file {} is too permissive",
                        p.display()
                    ),
                    details(&[
                        ("token_file", f.clone()),
                        ("mode", format!("0o{:o}", m.permissions().mode() & 0o777)),
                        ("expected_max_mode", "0o600".to_owned()),
                    ]),
                ),
                _ => {}
            }
        }
        if static_auth {
            push(
                FindingLevel::Warning,
                format!("{service}: uses a static auth_token – consider migrating to RBAC tokens"),
                details(&[]),
            );
        }
        let mut coverage = BTreeMap::new();
        for scope in &required {
            let mut ids: Vec<String> = covering
                .iter()
                .filter(|(_, scopes, usable)| {
                    *usable && (scopes.is_empty() || scopes.contains(scope))
                })
                .map(|(id, _, _)| id.clone())
                .collect();
            if static_auth {
                ids.push(SHARED_SECRET_ID.to_owned());
            }
            if enabled && ids.is_empty() {
                push(
                    FindingLevel::Error,
                    format!("{service}: no token provides the required scope {scope}"),
                    details(&[("scope", scope.clone())]),
                );
            }
            coverage.insert(scope.clone(), ids);
        }
        TokenService {
            service: service.to_owned(),
            enabled,
            configured: !views.is_empty() || static_auth,
            shared_secret_token: static_auth,
            token_count: views.len(),
            required_scopes: required,
            coverage,
            findings,
            tokens,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scheduler_scopes_resolve_like_the_reference() {
        let r = SchedulerScopes::resolve(&[]);
        assert_eq!(
            r.default,
            ["runtime.schedule.read", "runtime.schedule.write"]
        );
        let r = SchedulerScopes::resolve(&["runtime.schedule.write".into()]);
        assert_eq!(
            r.default,
            ["runtime.schedule.write"],
            "a global scope replaces the pair"
        );
        let r = SchedulerScopes::resolve(&[
            "core_multi:runtime.schedule.write".into(),
            ":Runtime.Schedule.Read".into(),
            "other:".into(),
        ]);
        assert_eq!(r.default, ["runtime.schedule.read"]);
        assert_eq!(r.overrides["core_multi"], ["runtime.schedule.write"]);
        assert_eq!(r.overrides["other"], ["runtime.schedule.read"]);
    }

    #[test]
    fn generated_at_has_microseconds_and_offset() {
        let t = SimTime::parse_rfc3339("2026-11-28T10:37:46.380507Z").unwrap();
        assert_eq!(generated_at(t), "2026-11-28T10:37:46.380507+00:00");
        let t = SimTime::parse_rfc3339("2026-11-28T09:00:00Z").unwrap();
        assert_eq!(generated_at(t), "2026-11-28T09:00:00.000000+00:00");
    }
}
