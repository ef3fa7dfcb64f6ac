//! Real X.509 checks: parse PEM certificates, validity at the audit time, issuer signature
//! (chain to the bundle CA), key/certificate match, extended key usage, SAN coverage, and the
//! permission bits of key files.
//!
//! Parsing uses `x509-parser` (signature verification through `ring`); private keys are loaded
//! with rustls' own key loader, so anything rustls could serve with is understood here too.

use std::fmt;
use std::net::IpAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use rustls_pki_types::PrivateKeyDer;
use rustls_pki_types::pem::PemObject;
use sha2::{Digest, Sha256};
use stage4_engine::domain::SimTime;
use stage4_reports::compliance::CertificateSummary;
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};
use x509_parser::x509::SubjectPublicKeyInfo;

const SECS_PER_DAY: f64 = 86_400.0;

/// One parsed certificate.
#[derive(Clone, PartialEq, Eq)]
pub struct CertInfo {
    /// DER bytes.
    pub der: Vec<u8>,
    /// Subject DN (`CN=..., O=...`).
    pub subject: String,
    /// Issuer DN.
    pub issuer: String,
    /// Serial number, hex.
    pub serial_hex: String,
    /// `notBefore`, Unix seconds.
    pub not_before: i64,
    /// `notAfter`, Unix seconds.
    pub not_after: i64,
    /// Subject alternative names.
    pub sans: Vec<San>,
    /// `basicConstraints CA:TRUE`.
    pub is_ca: bool,
    /// Extended key usages: `None` when the extension is absent (any use allowed).
    pub eku: Option<Eku>,
    /// SHA-256 of the DER, `sha256:<hex>`.
    pub fingerprint: String,
}

impl fmt::Debug for CertInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertInfo")
            .field("subject", &self.subject)
            .field("issuer", &self.issuer)
            .field("not_before", &self.not_before)
            .field("not_after", &self.not_after)
            .finish_non_exhaustive()
    }
}

/// The extended key usages that matter for mTLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Eku {
    /// `id-kp-serverAuth`.
    pub server_auth: bool,
    /// `id-kp-clientAuth`.
    pub client_auth: bool,
    /// `anyExtendedKeyUsage`.
    pub any: bool,
}

/// A subject alternative name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum San {
    /// `DNS:name`.
    Dns(String),
    /// `IP:addr`.
    Ip(IpAddr),
    /// Anything else, printed.
    Other(String),
}

impl fmt::Display for San {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            San::Dns(d) => write!(f, "DNS:{d}"),
            San::Ip(ip) => write!(f, "IP:{ip}"),
            San::Other(o) => f.write_str(o),
        }
    }
}

/// Where a certificate stands at an instant.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Validity {
    /// `notBefore` is after the instant.
    NotYetValid {
        /// Days until it becomes valid.
        in_days: f64,
    },
    /// `notAfter` is before the instant.
    Expired {
        /// Days since it expired.
        days_ago: f64,
    },
    /// Valid.
    Valid {
        /// Days until `notAfter`.
        expires_in_days: f64,
    },
}

/// Why a certificate file could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertFileError {
    /// The file could not be read.
    #[error("cannot read {path}: {reason}")]
    Unreadable {
        /// The file.
        path: String,
        /// The OS error.
        reason: String,
    },
    /// No `-----BEGIN CERTIFICATE-----` block.
    #[error("{path} holds no PEM certificate (expected a -----BEGIN CERTIFICATE----- block)")]
    NoPem {
        /// The file.
        path: String,
    },
    /// A block is not a valid certificate.
    #[error("{path}: certificate #{index} does not parse: {reason}")]
    Invalid {
        /// The file.
        path: String,
        /// 0-based block index.
        index: usize,
        /// Parser message.
        reason: String,
    },
}

/// Reads every certificate in a PEM file, in order.
pub fn read_certificates(path: &Path) -> Result<Vec<CertInfo>, CertFileError> {
    let shown = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| CertFileError::Unreadable {
        path: shown.clone(),
        reason: e.to_string(),
    })?;
    let mut out = Vec::new();
    for (index, item) in rustls_pki_types::CertificateDer::pem_slice_iter(&bytes).enumerate() {
        let der = item.map_err(|e| CertFileError::Invalid {
            path: shown.clone(),
            index,
            reason: e.to_string(),
        })?;
        out.push(parse_der(&der).map_err(|reason| CertFileError::Invalid {
            path: shown.clone(),
            index,
            reason,
        })?);
    }
    if out.is_empty() {
        return Err(CertFileError::NoPem { path: shown });
    }
    Ok(out)
}

/// Parses one DER certificate.
pub fn parse_der(der: &[u8]) -> Result<CertInfo, String> {
    let (_, cert) = X509Certificate::from_der(der).map_err(|e| e.to_string())?;
    let sans = match cert.subject_alternative_name() {
        Ok(Some(ext)) => ext
            .value
            .general_names
            .iter()
            .map(|n| match n {
                GeneralName::DNSName(d) => San::Dns((*d).to_owned()),
                GeneralName::IPAddress(b) => match b.len() {
                    4 => San::Ip(IpAddr::from(<[u8; 4]>::try_from(*b).expect("len 4"))),
                    16 => San::Ip(IpAddr::from(<[u8; 16]>::try_from(*b).expect("len 16"))),
                    _ => San::Other(format!("IP:<{} bytes>", b.len())),
                },
                other => San::Other(format!("{other}")),
            })
            .collect(),
        Ok(None) => Vec::new(),
        Err(e) => return Err(format!("subjectAltName: {e}")),
    };
    let eku = match cert.extended_key_usage() {
        Ok(Some(ext)) => Some(Eku {
            server_auth: ext.value.server_auth,
            client_auth: ext.value.client_auth,
            any: ext.value.any,
        }),
        Ok(None) => None,
        Err(e) => return Err(format!("extendedKeyUsage: {e}")),
    };
    let is_ca = matches!(cert.basic_constraints(), Ok(Some(bc)) if bc.value.ca);
    Ok(CertInfo {
        der: der.to_vec(),
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        serial_hex: cert.raw_serial_as_string().replace(':', ""),
        not_before: cert.validity().not_before.timestamp(),
        not_after: cert.validity().not_after.timestamp(),
        sans,
        is_ca,
        eku,
        fingerprint: format!("sha256:{}", hex(&Sha256::digest(der))),
    })
}

impl CertInfo {
    /// Where the certificate stands at `as_of`.
    pub fn validity_at(&self, as_of: SimTime) -> Validity {
        let now = as_of.unix_secs_f64();
        if now < self.not_before as f64 {
            Validity::NotYetValid {
                in_days: (self.not_before as f64 - now) / SECS_PER_DAY,
            }
        } else if now > self.not_after as f64 {
            Validity::Expired {
                days_ago: (now - self.not_after as f64) / SECS_PER_DAY,
            }
        } else {
            Validity::Valid {
                expires_in_days: (self.not_after as f64 - now) / SECS_PER_DAY,
            }
        }
    }

    /// Whether `ca` issued this certificate: issuer name equals the CA's subject and the
    /// signature verifies with the CA's public key. `Err` says why not.
    pub fn verify_issued_by(&self, ca: &CertInfo) -> Result<(), String> {
        if self.issuer != ca.subject {
            return Err(format!(
                "issued by `{}`, not by the bundle CA `{}`",
                self.issuer, ca.subject
            ));
        }
        let (_, leaf) = X509Certificate::from_der(&self.der).map_err(|e| e.to_string())?;
        let (_, issuer) = X509Certificate::from_der(&ca.der).map_err(|e| e.to_string())?;
        leaf.verify_signature(Some(issuer.public_key()))
            .map_err(|e| format!("signature does not verify with the bundle CA key ({e})"))
    }

    /// The public key bits (for key matching).
    fn public_key_bits(&self) -> Result<Vec<u8>, String> {
        let (_, cert) = X509Certificate::from_der(&self.der).map_err(|e| e.to_string())?;
        Ok(cert.public_key().subject_public_key.data.to_vec())
    }

    /// Whether the SANs cover `host` (DNS names case-insensitively, one-label `*.` wildcards;
    /// IP addresses exactly). The CN is not consulted: browsers and rustls ignore it.
    pub fn san_covers(&self, host: &str) -> bool {
        let host = host.trim().trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = host.parse::<IpAddr>() {
            return self
                .sans
                .iter()
                .any(|s| matches!(s, San::Ip(a) if *a == ip));
        }
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        self.sans.iter().any(|s| match s {
            San::Dns(name) => {
                let name = name.trim_end_matches('.').to_ascii_lowercase();
                match name.strip_prefix("*.") {
                    Some(suffix) => host
                        .split_once('.')
                        .is_some_and(|(label, rest)| !label.is_empty() && rest == suffix),
                    None => name == host,
                }
            }
            _ => false,
        })
    }

    /// The summary printed in reports.
    pub fn summary(&self, as_of: SimTime) -> CertificateSummary {
        CertificateSummary {
            subject: self.subject.clone(),
            issuer: self.issuer.clone(),
            serial_number: self.serial_hex.clone(),
            fingerprint_sha256: self.fingerprint.clone(),
            not_before: rfc3339(self.not_before),
            not_after: rfc3339(self.not_after),
            expires_in_days: round1((self.not_after as f64 - as_of.unix_secs_f64()) / SECS_PER_DAY),
            subject_alt_names: self.sans.iter().map(ToString::to_string).collect(),
        }
    }
}

/// Whether the private key in `key_path` belongs to `cert`. `Err` when the key cannot be read
/// or parsed (encrypted keys included).
pub fn key_matches(cert: &CertInfo, key_path: &Path) -> Result<bool, String> {
    let key = PrivateKeyDer::from_pem_file(key_path).map_err(|e| {
        format!(
            "cannot read a PEM private key from {}: {e}",
            key_path.display()
        )
    })?;
    let signing = rustls::crypto::ring::sign::any_supported_type(&key).map_err(|e| {
        format!(
            "{}: unsupported or encrypted private key ({e})",
            key_path.display()
        )
    })?;
    let spki = signing.public_key().ok_or_else(|| {
        format!(
            "{}: cannot derive the public key to compare",
            key_path.display()
        )
    })?;
    let (_, parsed) = SubjectPublicKeyInfo::from_der(spki.as_ref())
        .map_err(|e| format!("{}: {e}", key_path.display()))?;
    Ok(parsed.subject_public_key.data.as_ref() == cert.public_key_bits()?.as_slice())
}

/// Permission bits of a file (`None` when it cannot be stat'ed).
pub fn mode_of(path: &Path) -> Option<u32> {
    std::fs::metadata(path)
        .ok()
        .map(|m| m.permissions().mode() & 0o7777)
}

/// `Err(message)` when group or others may read or write the key file.
pub fn check_key_permissions(path: &Path) -> Result<(), String> {
    match mode_of(path) {
        Some(mode) if mode & 0o077 != 0 => Err(format!(
            "{} has mode {mode:04o}: a private key must not be readable by group or others (run `chmod 600 {}`)",
            path.display(),
            path.display()
        )),
        Some(_) => Ok(()),
        None => Err(format!("cannot stat {}", path.display())),
    }
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// RFC 3339 (UTC, `Z`) for Unix seconds; clamps times before 1970 to the epoch.
pub fn rfc3339(secs: i64) -> String {
    SimTime::from_unix_secs(u64::try_from(secs).unwrap_or(0)).to_rfc3339()
}

/// Rounds to one decimal, for day counts in reports.
pub fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    };
    use time::OffsetDateTime;

    fn t(secs: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(secs).unwrap()
    }

    const AS_OF: i64 = 1_795_856_400; // 2026-11-28T09:00:00Z

    fn make_ca() -> (CertificateParams, KeyPair, String) {
        let key = KeyPair::generate().unwrap();
        let mut p = CertificateParams::default();
        p.distinguished_name.push(DnType::CommonName, "test CA");
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.not_before = t(AS_OF - 86_400);
        p.not_after = t(AS_OF + 400 * 86_400);
        let pem = p.self_signed(&key).unwrap().pem();
        (p, key, pem)
    }

    fn make_leaf(
        issuer: &Issuer<'_, &KeyPair>,
        sans: &[&str],
        eku: ExtendedKeyUsagePurpose,
    ) -> (KeyPair, String) {
        let key = KeyPair::generate().unwrap();
        let mut p =
            CertificateParams::new(sans.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
        p.distinguished_name.push(DnType::CommonName, "leaf");
        p.extended_key_usages = vec![eku];
        p.not_before = t(AS_OF - 86_400);
        p.not_after = t(AS_OF + 10 * 86_400);
        let pem = p.signed_by(&key, issuer).unwrap().pem();
        (key, pem)
    }

    #[test]
    fn chain_eku_san_validity_and_key_match() {
        let dir = tempfile::tempdir().unwrap();
        let (ca_params, ca_key, ca_pem) = make_ca();
        let issuer = Issuer::from_params(&ca_params, &ca_key);
        let (leaf_key, leaf_pem) = make_leaf(
            &issuer,
            &["localhost", "127.0.0.1", "*.svc.local"],
            ExtendedKeyUsagePurpose::ServerAuth,
        );
        let ca_path = dir.path().join("ca.pem");
        let leaf_path = dir.path().join("leaf.pem");
        let key_path = dir.path().join("leaf-key.pem");
        std::fs::write(&ca_path, &ca_pem).unwrap();
        std::fs::write(&leaf_path, format!("{leaf_pem}{ca_pem}")).unwrap();
        std::fs::write(&key_path, leaf_key.serialize_pem()).unwrap();

        let ca = &read_certificates(&ca_path).unwrap()[0];
        let chain = read_certificates(&leaf_path).unwrap();
        assert_eq!(chain.len(), 2);
        let leaf = &chain[0];
        assert!(ca.is_ca && !leaf.is_ca);
        assert_eq!(leaf.verify_issued_by(ca), Ok(()));
        assert!(ca.verify_issued_by(ca).is_ok(), "self-signed CA");
        let eku = leaf.eku.unwrap();
        assert!(eku.server_auth && !eku.client_auth);
        for (host, covered) in [
            ("localhost", true),
            ("LOCALHOST", true),
            ("127.0.0.1", true),
            ("::1", false),
            ("a.svc.local", true),
            ("a.b.svc.local", false),
            ("svc.local", false),
            ("example.com", false),
        ] {
            assert_eq!(leaf.san_covers(host), covered, "{host}");
        }
        let as_of = SimTime::from_unix_secs(AS_OF as u64);
        assert!(
            matches!(leaf.validity_at(as_of), Validity::Valid { expires_in_days } if (expires_in_days - 10.0).abs() < 1e-9)
        );
        let later = SimTime::from_unix_secs((AS_OF + 11 * 86_400) as u64);
        assert!(
            matches!(leaf.validity_at(later), Validity::Expired { days_ago } if (days_ago - 1.0).abs() < 1e-9)
        );
        let earlier = SimTime::from_unix_secs((AS_OF - 2 * 86_400) as u64);
        assert!(matches!(
            leaf.validity_at(earlier),
            Validity::NotYetValid { .. }
        ));
        assert_eq!(key_matches(leaf, &key_path), Ok(true));

        // Another CA with the same name: the issuer matches, the signature does not.
        let (other_params, other_key, other_pem) = make_ca();
        let other_path = dir.path().join("other.pem");
        std::fs::write(&other_path, other_pem).unwrap();
        let other = &read_certificates(&other_path).unwrap()[0];
        let err = leaf.verify_issued_by(other).unwrap_err();
        assert!(err.contains("signature does not verify"), "{err}");
        let other_issuer = Issuer::from_params(&other_params, &other_key);
        let (wrong_key, _) = make_leaf(&other_issuer, &["x"], ExtendedKeyUsagePurpose::ClientAuth);
        let wrong_key_path = dir.path().join("wrong-key.pem");
        std::fs::write(&wrong_key_path, wrong_key.serialize_pem()).unwrap();
        assert_eq!(key_matches(leaf, &wrong_key_path), Ok(false));
    }

    #[test]
    fn unreadable_and_non_pem_files_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let junk = dir.path().join("junk.pem");
        std::fs::write(&junk, "cert").unwrap();
        assert!(matches!(
            read_certificates(&junk),
            Err(CertFileError::NoPem { .. })
        ));
        let garbage = dir.path().join("garbage.pem");
        std::fs::write(
            &garbage,
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        assert!(matches!(
            read_certificates(&garbage),
            Err(CertFileError::Invalid { index: 0, .. })
        ));
        assert!(matches!(
            read_certificates(&dir.path().join("missing.pem")),
            Err(CertFileError::Unreadable { .. })
        ));
        let key = dir.path().join("k.pem");
        std::fs::write(&key, "not a key").unwrap();
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o640)).unwrap();
        assert!(
            check_key_permissions(&key)
                .unwrap_err()
                .contains("mode 0640")
        );
    }
}
