//! `stage4 site materialize`: writes a concrete OEM training site from `fixtures/oem/`.
//!
//! The site is the committed `core.yaml` plus everything it names, generated for one audit
//! instant (`as_of`): a CA, server and client certificates and keys (rcgen, ECDSA P-256, keys
//! 0600), the metrics TLS files, the mTLS rotation registry (`"core-oem::tls_ca"` → RFC 3339),
//! the `observability.key_rotation` registry, each environment's API-key registry, and a 0600
//! `secrets.env` with the three training secrets. Every broken variant the tests and scenarios
//! need (rotation 95 days ago, an expired server certificate, a client from another CA, a key
//! that does not match, a group-readable key, a missing or short secret, a token without a
//! scope, an unreadable registry timestamp) is a [`SiteSpec`] field, never a hand edit.
//!
//! Keys come from the OS RNG (rcgen/ring); nothing else is random, and nothing random belongs
//! in a report snapshot (fingerprints and serials are redacted there).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::{Context, Result, bail};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use serde::Serialize;
use stage4_engine::domain::{SimDuration, SimTime};
use time::OffsetDateTime;

use crate::config::CoreConfig;
use crate::fsio::{PRIVATE, PUBLIC, write_atomic};

/// The committed training config.
pub const TEMPLATE_CORE_YAML: &str = include_str!("../../../fixtures/oem/core.yaml");
/// The committed training secrets (git checks it out 0644; the site copy is 0600).
pub const TEMPLATE_SECRETS_ENV: &str = include_str!("../../../fixtures/oem/secrets.env");
/// The bundle id of the training site (`--mtls-bundle-name core-oem`).
pub const BUNDLE: &str = "core-oem";
/// The three secrets the site needs.
pub const SECRET_NAMES: [&str; 3] = [
    "METRICS_SERVICE_AUTH_TOKEN",
    "CORE_SCHEDULER_TOKEN",
    "LIVE_DECISION_LOG_HMAC",
];
const TEMPLATE_SCOPES: &str = "scopes: [runtime.schedule.read, runtime.schedule.write]";

/// A certificate of the bundle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CertRole {
    /// The bundle CA.
    Ca,
    /// The server certificate.
    Server,
    /// The client certificate.
    Client,
}

impl FromStr for CertRole {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "ca" => Ok(CertRole::Ca),
            "server" => Ok(CertRole::Server),
            "client" => Ok(CertRole::Client),
            _ => Err(format!(
                "`{s}` is not a certificate (expected server, client or ca)"
            )),
        }
    }
}

impl fmt::Display for CertRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CertRole::Ca => "ca",
            CertRole::Server => "server",
            CertRole::Client => "client",
        })
    }
}

/// A leaf certificate (server or client).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LeafRole {
    /// The server certificate.
    Server,
    /// The client certificate.
    Client,
}

impl FromStr for LeafRole {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "server" => Ok(LeafRole::Server),
            "client" => Ok(LeafRole::Client),
            _ => Err(format!(
                "`{s}` is not a leaf certificate (expected server or client)"
            )),
        }
    }
}

/// How to build a site. [`SiteSpec::new`] gives a healthy site.
#[derive(Debug, Clone, Serialize)]
pub struct SiteSpec {
    /// Output directory.
    #[serde(skip)]
    pub out: PathBuf,
    /// Replace an existing site in `out`.
    #[serde(skip)]
    pub force: bool,
    /// The instant everything is relative to.
    pub as_of: SimTime,
    /// Days since the mTLS bundle was rotated (registry entries and certificate `notBefore`).
    pub rotated_days_ago: f64,
    /// Days since the API keys were rotated (environment and `observability.key_rotation`
    /// registries).
    pub keys_rotated_days_ago: f64,
    /// Validity of leaf certificates in days (the CA gets twice as long).
    pub cert_valid_days: u32,
    /// Certificates that expired 30 days before `as_of`.
    pub expired: BTreeSet<CertRole>,
    /// Certificates that become valid a day after `as_of`.
    pub not_yet_valid: BTreeSet<CertRole>,
    /// Leaves issued by another CA than the bundle's.
    pub wrong_ca: BTreeSet<LeafRole>,
    /// Leaves written with a key that does not belong to them.
    pub mismatched_key: BTreeSet<LeafRole>,
    /// Leaf keys written with mode 0640.
    pub group_readable_key: BTreeSet<LeafRole>,
    /// Secrets left out of `secrets.env`.
    pub omit_secrets: BTreeSet<String>,
    /// Secrets written with exactly this many characters.
    pub secret_lengths: BTreeMap<String, usize>,
    /// Scopes of the scheduler token (default: read and write).
    pub scheduler_scopes: Option<Vec<String>>,
    /// Raw values written into the mTLS registry over the generated ones
    /// (`"core-oem::tls_ca"` → text).
    pub tls_registry_values: BTreeMap<String, String>,
    /// Do not write the mTLS rotation registry.
    pub no_tls_registry: bool,
}

impl SiteSpec {
    /// A healthy site: rotated 5 days ago, certificates valid 365 days.
    pub fn new(out: impl Into<PathBuf>, as_of: SimTime) -> SiteSpec {
        SiteSpec {
            out: out.into(),
            force: false,
            as_of,
            rotated_days_ago: 5.0,
            keys_rotated_days_ago: 5.0,
            cert_valid_days: 365,
            expired: BTreeSet::new(),
            not_yet_valid: BTreeSet::new(),
            wrong_ca: BTreeSet::new(),
            mismatched_key: BTreeSet::new(),
            group_readable_key: BTreeSet::new(),
            omit_secrets: BTreeSet::new(),
            secret_lengths: BTreeMap::new(),
            scheduler_scopes: None,
            tls_registry_values: BTreeMap::new(),
            no_tls_registry: false,
        }
    }
}

/// The files of a materialized site.
#[derive(Debug, Clone, Serialize)]
pub struct MaterializedSite {
    /// The site directory.
    pub root: PathBuf,
    /// `core.yaml`.
    pub config: PathBuf,
    /// `secrets.env` (0600): pass it as `--env-file`.
    pub env_file: PathBuf,
    /// Bundle CA certificate.
    pub ca_certificate: PathBuf,
    /// Bundle CA key (0600), for issuing more certificates.
    pub ca_key: PathBuf,
    /// Server certificate.
    pub server_certificate: PathBuf,
    /// Server key.
    pub server_key: PathBuf,
    /// Client certificate.
    pub client_certificate: PathBuf,
    /// Client key.
    pub client_key: PathBuf,
    /// The mTLS rotation registry (absent with `no_tls_registry`).
    pub tls_rotation_registry: PathBuf,
    /// The `observability.key_rotation` registry.
    pub key_rotation_registry: PathBuf,
    /// Each environment's API-key registry, by environment name.
    pub environment_registries: BTreeMap<String, PathBuf>,
}

fn odt(t: SimTime) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(t.unix_secs() as i64).expect("SimTime fits")
}

fn days(d: f64) -> SimDuration {
    SimDuration::from_secs_f64((d * 86_400.0).round())
}

fn minus_days(t: SimTime, d: f64) -> Result<SimTime> {
    if d >= 0.0 {
        t.checked_sub(days(d))
            .with_context(|| format!("{d} days before {t} is before 1970"))
    } else {
        Ok(t + days(-d))
    }
}

struct Window {
    not_before: SimTime,
    not_after: SimTime,
}

impl SiteSpec {
    fn window(&self, role: CertRole, valid_days: f64) -> Result<Window> {
        let as_of = self.as_of;
        if self.expired.contains(&role) {
            let not_after = minus_days(as_of, 30.0)?;
            return Ok(Window {
                not_before: minus_days(not_after, valid_days)?,
                not_after,
            });
        }
        if self.not_yet_valid.contains(&role) {
            let not_before = as_of + days(1.0);
            return Ok(Window {
                not_before,
                not_after: not_before + days(valid_days),
            });
        }
        let not_before = minus_days(as_of, self.rotated_days_ago)?;
        Ok(Window {
            not_before,
            not_after: not_before + days(valid_days),
        })
    }

    fn validate(&self) -> Result<()> {
        if !self.rotated_days_ago.is_finite() || !self.keys_rotated_days_ago.is_finite() {
            bail!("--rotated-days-ago and --keys-rotated-days-ago must be finite numbers");
        }
        if self.cert_valid_days == 0 {
            bail!("--cert-valid-days must be at least 1");
        }
        for name in self.omit_secrets.iter().chain(self.secret_lengths.keys()) {
            if !SECRET_NAMES.contains(&name.as_str()) {
                bail!(
                    "unknown secret `{name}` (expected one of {})",
                    SECRET_NAMES.join(", ")
                );
            }
        }
        for k in self.tls_registry_values.keys() {
            if !k.contains("::") {
                bail!(
                    "registry key `{k}` must look like <bundle>::<purpose>, e.g. core-oem::tls_ca"
                );
            }
        }
        Ok(())
    }

    fn core_yaml(&self) -> Result<String> {
        let Some(scopes) = &self.scheduler_scopes else {
            return Ok(TEMPLATE_CORE_YAML.to_owned());
        };
        assert_eq!(
            TEMPLATE_CORE_YAML.matches(TEMPLATE_SCOPES).count(),
            1,
            "fixtures/oem/core.yaml must name the scheduler scopes exactly once"
        );
        for s in scopes {
            if s.contains([',', '[', ']', '\n', '#']) {
                bail!("scope `{s}` contains a character that cannot be written into YAML as is");
            }
        }
        Ok(
            TEMPLATE_CORE_YAML
                .replace(TEMPLATE_SCOPES, &format!("scopes: [{}]", scopes.join(", "))),
        )
    }

    fn secrets_env(&self) -> Result<String> {
        let training = crate::secrets::EnvFile::parse(TEMPLATE_SECRETS_ENV)?;
        let mut out = String::from(
            "# Stage4 OEM training secrets (generated by `stage4 site materialize`). TRAINING ONLY.\n",
        );
        for name in SECRET_NAMES {
            if self.omit_secrets.contains(name) {
                continue;
            }
            let base = training
                .get(name)
                .with_context(|| format!("fixtures/oem/secrets.env does not set {name}"))?;
            let value = match self.secret_lengths.get(name) {
                Some(&n) => base.chars().cycle().take(n).collect(),
                None => base.to_owned(),
            };
            out.push_str(&format!("{name}={value}\n"));
        }
        Ok(out)
    }
}

fn ca_params(cn: &str, w: &Window) -> CertificateParams {
    let mut p = CertificateParams::default();
    p.distinguished_name = rcgen::DistinguishedName::new();
    p.distinguished_name
        .push(DnType::OrganizationName, "Stage4 OEM training");
    p.distinguished_name.push(DnType::CommonName, cn);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    p.not_before = odt(w.not_before);
    p.not_after = odt(w.not_after);
    p
}

fn leaf_params(role: LeafRole, w: &Window) -> Result<CertificateParams> {
    let (cn, sans, eku): (&str, Vec<String>, _) = match role {
        LeafRole::Server => (
            "core-oem-server",
            ["localhost", "127.0.0.1", "::1", "core-oem-server"]
                .map(String::from)
                .to_vec(),
            ExtendedKeyUsagePurpose::ServerAuth,
        ),
        LeafRole::Client => (
            "core-oem-client",
            vec!["core-oem-client".to_owned()],
            ExtendedKeyUsagePurpose::ClientAuth,
        ),
    };
    let mut p = CertificateParams::new(sans).context("certificate names")?;
    p.distinguished_name = rcgen::DistinguishedName::new();
    p.distinguished_name
        .push(DnType::OrganizationName, "Stage4 OEM training");
    p.distinguished_name.push(DnType::CommonName, cn);
    p.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    p.extended_key_usages = vec![eku];
    p.use_authority_key_identifier_extension = true;
    p.not_before = odt(w.not_before);
    p.not_after = odt(w.not_after);
    Ok(p)
}

fn registry_json(entries: &BTreeMap<String, String>) -> String {
    let map: serde_json::Map<String, serde_json::Value> = entries
        .iter()
        .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
        .collect();
    let mut text = stage4_reports::render::json::to_compact_sorted(&map)
        .expect("a string map always serialises");
    text.push('\n');
    text
}

fn mkdir(path: &Path, mode: u32) -> Result<()> {
    std::fs::create_dir_all(path).with_context(|| format!("cannot create {}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("cannot set permissions on {}", path.display()))
}

/// Writes the site described by `spec` and returns its files.
pub fn materialize(spec: &SiteSpec) -> Result<MaterializedSite> {
    spec.validate()?;
    let root = spec.out.clone();
    let config_path = root.join("core.yaml");
    if config_path.exists() && !spec.force {
        bail!(
            "{} already holds a site (core.yaml exists): choose another --out or pass --force",
            root.display()
        );
    }
    mkdir(&root, 0o755)?;
    let root = std::fs::canonicalize(&root)
        .with_context(|| format!("cannot resolve {}", root.display()))?;
    let core_yaml = spec.core_yaml()?;
    let config = CoreConfig::parse(&core_yaml, &root.join("core.yaml"))
        .context("fixtures/oem/core.yaml does not parse")?;
    write_atomic(&root.join("core.yaml"), core_yaml.as_bytes(), PUBLIC)?;
    let env_file = root.join("secrets.env");
    write_atomic(&env_file, spec.secrets_env()?.as_bytes(), PRIVATE)?;

    let mtls_dir = root.join("secrets/mtls");
    let metrics_dir = root.join("secrets/runtime/metrics");
    mkdir(&root.join("secrets"), 0o700)?;
    mkdir(&mtls_dir, 0o700)?;
    mkdir(&root.join("secrets/runtime"), 0o700)?;
    mkdir(&metrics_dir, 0o700)?;

    let valid = f64::from(spec.cert_valid_days);
    let ca_key = KeyPair::generate().context("generating the CA key")?;
    let ca_p = ca_params(
        "Stage4 OEM training CA core-oem",
        &spec.window(CertRole::Ca, 2.0 * valid)?,
    );
    let ca_cert = ca_p.self_signed(&ca_key).context("signing the CA")?;
    let ca = Issuer::from_params(&ca_p, &ca_key);
    let rogue_key = KeyPair::generate().context("generating the rogue CA key")?;
    // Same subject as the bundle CA: only the signature tells them apart, which is what a
    // real chain check must catch.
    let rogue_p = ca_params(
        "Stage4 OEM training CA core-oem",
        &spec.window(CertRole::Ca, 2.0 * valid)?,
    );
    let rogue = Issuer::from_params(&rogue_p, &rogue_key);

    let leaf = |role: LeafRole| -> Result<(String, String)> {
        let cert_role = match role {
            LeafRole::Server => CertRole::Server,
            LeafRole::Client => CertRole::Client,
        };
        let key = KeyPair::generate().context("generating a leaf key")?;
        let params = leaf_params(role, &spec.window(cert_role, valid)?)?;
        let issuer = if spec.wrong_ca.contains(&role) {
            &rogue
        } else {
            &ca
        };
        let cert = params.signed_by(&key, issuer).context("signing a leaf")?;
        let key_pem = if spec.mismatched_key.contains(&role) {
            KeyPair::generate()
                .context("generating a stray key")?
                .serialize_pem()
        } else {
            key.serialize_pem()
        };
        Ok((cert.pem(), key_pem))
    };
    let (server_pem, server_key_pem) = leaf(LeafRole::Server)?;
    let (client_pem, client_key_pem) = leaf(LeafRole::Client)?;
    let key_mode = |role: LeafRole| {
        if spec.group_readable_key.contains(&role) {
            0o640
        } else {
            PRIVATE
        }
    };

    let site = MaterializedSite {
        config: root.join("core.yaml"),
        env_file,
        ca_certificate: mtls_dir.join("core-oem-ca.pem"),
        ca_key: mtls_dir.join("core-oem-ca-key.pem"),
        server_certificate: mtls_dir.join("core-oem-server.pem"),
        server_key: mtls_dir.join("core-oem-server-key.pem"),
        client_certificate: mtls_dir.join("core-oem-client.pem"),
        client_key: mtls_dir.join("core-oem-client-key.pem"),
        tls_rotation_registry: root.join("var/security/tls_rotation.json"),
        key_rotation_registry: root.join("var/security/key_rotation.json"),
        environment_registries: BTreeMap::new(),
        root: root.clone(),
    };
    write_atomic(&site.ca_certificate, ca_cert.pem().as_bytes(), PUBLIC)?;
    write_atomic(&site.ca_key, ca_key.serialize_pem().as_bytes(), PRIVATE)?;
    write_atomic(&site.server_certificate, server_pem.as_bytes(), PUBLIC)?;
    write_atomic(
        &site.server_key,
        server_key_pem.as_bytes(),
        key_mode(LeafRole::Server),
    )?;
    write_atomic(&site.client_certificate, client_pem.as_bytes(), PUBLIC)?;
    write_atomic(
        &site.client_key,
        client_key_pem.as_bytes(),
        key_mode(LeafRole::Client),
    )?;
    // The metrics service serves the bundle's server identity and trusts the bundle CA.
    write_atomic(
        &metrics_dir.join("server.crt"),
        server_pem.as_bytes(),
        PUBLIC,
    )?;
    write_atomic(
        &metrics_dir.join("server.key"),
        server_key_pem.as_bytes(),
        key_mode(LeafRole::Server),
    )?;
    write_atomic(
        &metrics_dir.join("clients.pem"),
        ca_cert.pem().as_bytes(),
        PUBLIC,
    )?;

    let tls_rotated =
        SimTime::from_unix_secs(minus_days(spec.as_of, spec.rotated_days_ago)?.unix_secs());
    let keys_rotated =
        SimTime::from_unix_secs(minus_days(spec.as_of, spec.keys_rotated_days_ago)?.unix_secs());
    if !spec.no_tls_registry {
        let mut entries: BTreeMap<String, String> = ["tls_ca", "tls_server", "tls_client"]
            .iter()
            .map(|p| (format!("{BUNDLE}::{p}"), tls_rotated.to_rfc3339()))
            .collect();
        entries.extend(spec.tls_registry_values.clone());
        write_atomic(
            &site.tls_rotation_registry,
            registry_json(&entries).as_bytes(),
            PUBLIC,
        )?;
    }
    if let Ok(Some(kr)) = config.key_rotation() {
        let entries: BTreeMap<String, String> = kr
            .entries
            .iter()
            .map(|e| {
                (
                    crate::audit::registry::record_key(&e.key, &e.purpose),
                    keys_rotated.to_rfc3339(),
                )
            })
            .collect();
        write_atomic(
            &site.key_rotation_registry,
            registry_json(&entries).as_bytes(),
            PUBLIC,
        )?;
    }
    let mut site = site;
    for env in config.environments().map_err(anyhow::Error::msg)? {
        let (Some(key), Some(cache)) = (&env.keychain_key, &env.data_cache_path) else {
            continue;
        };
        let path = config.resolve(cache).join("security/rotation_log.json");
        let entries = BTreeMap::from([(
            crate::audit::registry::record_key(key, &env.credential_purpose),
            keys_rotated.to_rfc3339(),
        )]);
        write_atomic(&path, registry_json(&entries).as_bytes(), PUBLIC)?;
        site.environment_registries.insert(env.name.clone(), path);
    }
    std::fs::create_dir_all(root.join("audit/decision_logs"))?;
    std::fs::create_dir_all(root.join("var/audit/keys"))?;
    let manifest = serde_json::json!({
        "generated_by": "stage4 site materialize",
        "spec": spec,
    });
    let mut text = stage4_reports::render::json::to_pretty_sorted(&manifest)?;
    text.push('\n');
    write_atomic(&root.join("site.json"), text.as_bytes(), PUBLIC)?;
    Ok(site)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::x509::{self, Validity};

    fn as_of() -> SimTime {
        SimTime::parse_rfc3339("2026-11-28T09:00:00Z").unwrap()
    }

    #[test]
    fn a_fresh_site_has_every_file_with_the_right_modes() {
        let dir = tempfile::tempdir().unwrap();
        let site = materialize(&SiteSpec::new(dir.path().join("site"), as_of())).unwrap();
        for (path, mode) in [
            (&site.config, 0o644),
            (&site.env_file, 0o600),
            (&site.ca_certificate, 0o644),
            (&site.ca_key, 0o600),
            (&site.server_key, 0o600),
            (&site.client_key, 0o600),
            (&site.tls_rotation_registry, 0o644),
        ] {
            assert_eq!(x509::mode_of(path), Some(mode), "{}", path.display());
        }
        let ca = &x509::read_certificates(&site.ca_certificate).unwrap()[0];
        let server = &x509::read_certificates(&site.server_certificate).unwrap()[0];
        let client = &x509::read_certificates(&site.client_certificate).unwrap()[0];
        assert!(ca.is_ca);
        assert_eq!(server.verify_issued_by(ca), Ok(()));
        assert_eq!(client.verify_issued_by(ca), Ok(()));
        assert_eq!(x509::key_matches(server, &site.server_key), Ok(true));
        assert!(server.san_covers("127.0.0.1") && server.san_covers("localhost"));
        assert!(
            matches!(server.validity_at(as_of()), Validity::Valid { expires_in_days } if (expires_in_days - 360.0).abs() < 1e-6)
        );
        assert_eq!(
            std::fs::read_to_string(&site.tls_rotation_registry).unwrap(),
            "{\"core-oem::tls_ca\":\"2026-11-23T09:00:00Z\",\"core-oem::tls_client\":\"2026-11-23T09:00:00Z\",\"core-oem::tls_server\":\"2026-11-23T09:00:00Z\"}\n"
        );
        assert_eq!(
            std::fs::read_to_string(&site.environment_registries["live_binance"]).unwrap(),
            "{\"live_binance_trading::trading\":\"2026-11-23T09:00:00Z\"}\n"
        );
        let env = crate::secrets::EnvFile::load(&site.env_file).unwrap();
        assert_eq!(env.keys().collect::<Vec<_>>().len(), 3);
        // A second materialize into the same place needs --force.
        let err = materialize(&SiteSpec::new(&site.root, as_of())).unwrap_err();
        assert!(err.to_string().contains("--force"), "{err}");
    }

    #[test]
    fn broken_variants_are_built_from_the_spec() {
        let dir = tempfile::tempdir().unwrap();
        let mut spec = SiteSpec::new(dir.path().join("broken"), as_of());
        spec.expired.insert(CertRole::Server);
        spec.wrong_ca.insert(LeafRole::Client);
        spec.mismatched_key.insert(LeafRole::Client);
        spec.group_readable_key.insert(LeafRole::Server);
        spec.omit_secrets.insert("CORE_SCHEDULER_TOKEN".into());
        spec.secret_lengths
            .insert("LIVE_DECISION_LOG_HMAC".into(), 23);
        spec.scheduler_scopes = Some(vec!["Runtime.Schedule.Read".into()]);
        let site = materialize(&spec).unwrap();
        let ca = &x509::read_certificates(&site.ca_certificate).unwrap()[0];
        let server = &x509::read_certificates(&site.server_certificate).unwrap()[0];
        let client = &x509::read_certificates(&site.client_certificate).unwrap()[0];
        assert!(
            matches!(server.validity_at(as_of()), Validity::Expired { days_ago } if (days_ago - 30.0).abs() < 1e-6)
        );
        assert!(client.verify_issued_by(ca).is_err());
        assert_eq!(x509::key_matches(client, &site.client_key), Ok(false));
        assert_eq!(x509::mode_of(&site.server_key), Some(0o640));
        let env = crate::secrets::EnvFile::load(&site.env_file).unwrap();
        assert_eq!(env.get("CORE_SCHEDULER_TOKEN"), None);
        assert_eq!(env.get("LIVE_DECISION_LOG_HMAC").unwrap().len(), 23);
        let yaml = std::fs::read_to_string(&site.config).unwrap();
        assert!(yaml.contains("scopes: [Runtime.Schedule.Read]"));
    }

    #[test]
    fn bad_specs_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut spec = SiteSpec::new(dir.path().join("s"), as_of());
        spec.omit_secrets.insert("NOPE".into());
        assert!(
            materialize(&spec)
                .unwrap_err()
                .to_string()
                .contains("unknown secret `NOPE`")
        );
        let mut spec = SiteSpec::new(dir.path().join("s"), as_of());
        spec.tls_registry_values.insert("tls_ca".into(), "x".into());
        assert!(materialize(&spec).is_err());
    }
}
