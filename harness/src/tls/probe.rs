//! The live mTLS probe behind `stage4 audit compliance --probe HOST:PORT`.
//!
//! It makes a real rustls handshake presenting the bundle's client certificate and reports
//! what the server presented (chain, expiry, SAN) and whether the server accepted us.
//!
//! To report on a server whose certificate is wrong, the probe records the presented chain and
//! lets the handshake finish (the handshake signature is still verified, so the server must
//! hold the key); the chain is then judged against the bundle CA at the audit time. Nothing is
//! sent over the connection, so completing a handshake with an untrusted server leaks nothing.
//!
//! In TLS 1.3 the client finishes its handshake before the server has judged the client
//! certificate; a refusal arrives afterwards as an alert. The probe therefore waits briefly
//! after the handshake: an alert or a closed connection is a refusal; a session ticket or data
//! is acceptance (rustls servers send tickets only after verifying the client); silence until
//! the timeout is reported as accepted, with a warning that it could not be confirmed.

use std::io::{ErrorKind, Read};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::{ClientConfig, ClientConnection, DigitallySignedStruct, SignatureScheme};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use stage4_engine::domain::SimTime;
use stage4_reports::compliance::ProbeReport;
use stage4_reports::findings::Finding;

use super::{load_certs, load_key, provider};
use crate::audit::x509::{self, Validity};

/// The checks the probe reports under, with their titles.
pub const CHECKS: [(&str, &str); 6] = [
    (
        "probe.connect",
        "the probed endpoint accepts TCP connections",
    ),
    ("probe.handshake", "the TLS handshake completes"),
    (
        "probe.client_auth",
        "the server accepts the bundle's client certificate",
    ),
    (
        "probe.server_chain",
        "the presented chain verifies against the bundle CA",
    ),
    (
        "probe.server_expiry",
        "the presented certificate is valid at the audit time",
    ),
    (
        "probe.server_name",
        "the presented certificate covers the probed host",
    ),
];

/// What to probe, with what.
#[derive(Debug, Clone)]
pub struct ProbeRequest {
    /// `HOST:PORT` (`[::1]:443` for IPv6).
    pub target: String,
    /// The client certificate to present (PEM).
    pub client_certificate: Option<PathBuf>,
    /// Its key.
    pub client_key: Option<PathBuf>,
    /// The bundle CA to judge the server chain against.
    pub ca_certificate: Option<PathBuf>,
    /// The audit instant (expiry is judged at this time).
    pub as_of: SimTime,
    /// Connect timeout, and the longest wait for the server's verdict.
    pub timeout: Duration,
}

/// The probe's report and findings.
#[derive(Debug, Clone)]
pub struct ProbeOutcome {
    /// What was seen.
    pub report: ProbeReport,
    /// Problems that fail the audit.
    pub issues: Vec<Finding>,
    /// Advisory findings.
    pub warnings: Vec<Finding>,
}

/// Records the chain the server presents and accepts it; signatures are still verified.
#[derive(Debug)]
struct RecordingVerifier {
    provider: Arc<CryptoProvider>,
    chain: Mutex<Vec<CertificateDer<'static>>>,
}

impl ServerCertVerifier for RecordingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let mut chain = self.chain.lock().expect("probe chain lock");
        chain.clear();
        chain.push(end_entity.clone().into_owned());
        chain.extend(intermediates.iter().map(|c| c.clone().into_owned()));
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

struct Findings {
    issues: Vec<Finding>,
    warnings: Vec<Finding>,
}

impl Findings {
    fn issue(&mut self, check: &str, message: String) {
        self.issues.push(Finding {
            check: check.to_owned(),
            message,
        });
    }
    fn warn(&mut self, check: &str, message: String) {
        self.warnings.push(Finding {
            check: check.to_owned(),
            message,
        });
    }
}

/// Splits `HOST:PORT`, accepting `[v6]:port`.
pub fn split_target(target: &str) -> Option<(String, u16)> {
    let (host, port) = target.trim().rsplit_once(':')?;
    let port = port.parse().ok()?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    (!host.is_empty()).then(|| (host.to_owned(), port))
}

/// Runs the probe. Never fails: every problem is a finding.
pub fn probe(req: &ProbeRequest) -> ProbeOutcome {
    let mut f = Findings {
        issues: Vec::new(),
        warnings: Vec::new(),
    };
    let mut report = ProbeReport {
        target: req.target.clone(),
        connected: false,
        handshake_completed: false,
        client_certificate_accepted: None,
        failure: None,
        protocol: None,
        cipher_suite: None,
        server_chain: Vec::new(),
        chains_to_bundle_ca: None,
        name_matches: None,
    };
    let done = |report, f: Findings| ProbeOutcome {
        report,
        issues: f.issues,
        warnings: f.warnings,
    };
    let Some((host, port)) = split_target(&req.target) else {
        f.issue(
            "probe.connect",
            format!("--probe {}: expected HOST:PORT", req.target),
        );
        return done(report, f);
    };
    let server_name = match ServerName::try_from(host.clone()) {
        Ok(n) => n,
        Err(e) => {
            f.issue(
                "probe.connect",
                format!("`{host}` is not a valid server name: {e}"),
            );
            return done(report, f);
        }
    };
    let provider = provider();
    let verifier = Arc::new(RecordingVerifier {
        provider: provider.clone(),
        chain: Mutex::new(Vec::new()),
    });
    let builder =
        match ClientConfig::builder_with_provider(provider).with_safe_default_protocol_versions() {
            Ok(b) => b
                .dangerous()
                .with_custom_certificate_verifier(verifier.clone()),
            Err(e) => {
                f.issue("probe.handshake", format!("TLS configuration: {e}"));
                return done(report, f);
            }
        };
    let config = match (&req.client_certificate, &req.client_key) {
        (Some(cert), Some(key)) => {
            match load_certs(cert)
                .and_then(|c| Ok((c, load_key(key)?)))
                .and_then(|(c, k)| Ok(builder.with_client_auth_cert(c, k)?))
            {
                Ok(c) => c,
                Err(e) => {
                    f.issue(
                        "probe.client_auth",
                        format!("cannot use the bundle client certificate: {e:#}"),
                    );
                    return done(report, f);
                }
            }
        }
        _ => {
            f.issue(
                "probe.client_auth",
                "execution.mtls has no usable client_certificate/client_key: probing without a client certificate".to_owned(),
            );
            builder.with_no_client_auth()
        }
    };
    let addrs: Vec<_> = match (host.as_str(), port).to_socket_addrs() {
        Ok(a) => a.collect(),
        Err(e) => {
            f.issue("probe.connect", format!("cannot resolve {host}: {e}"));
            return done(report, f);
        }
    };
    let mut sock = None;
    let mut last_err = None;
    for addr in &addrs {
        match TcpStream::connect_timeout(addr, req.timeout) {
            Ok(s) => {
                sock = Some(s);
                break;
            }
            Err(e) => last_err = Some(e),
        }
    }
    let Some(mut sock) = sock else {
        f.issue(
            "probe.connect",
            format!(
                "cannot connect to {}: {}",
                req.target,
                last_err.map_or_else(|| "no address".to_owned(), |e| e.to_string())
            ),
        );
        return done(report, f);
    };
    report.connected = true;
    let _ = sock.set_read_timeout(Some(req.timeout));
    let _ = sock.set_write_timeout(Some(req.timeout));
    let mut conn = match ClientConnection::new(Arc::new(config), server_name) {
        Ok(c) => c,
        Err(e) => {
            f.issue("probe.handshake", format!("TLS client: {e}"));
            return done(report, f);
        }
    };
    let mut handshake_error = None;
    while conn.is_handshaking() {
        if let Err(e) = conn.complete_io(&mut sock) {
            handshake_error = Some(e);
            break;
        }
    }
    let chain: Vec<_> = verifier.chain.lock().expect("probe chain lock").clone();
    judge_chain(req, &host, &chain, &mut report, &mut f);
    if let Some(e) = handshake_error {
        let why = e.to_string();
        report.failure = Some(why.clone());
        if is_client_refusal(&why) {
            report.client_certificate_accepted = Some(false);
            f.issue(
                "probe.client_auth",
                format!(
                    "{} refused the bundle client certificate: {why}",
                    req.target
                ),
            );
        } else {
            f.issue(
                "probe.handshake",
                format!("TLS handshake with {} failed: {why}", req.target),
            );
        }
        return done(report, f);
    }
    report.handshake_completed = true;
    report.protocol = conn.protocol_version().map(|v| format!("{v:?}"));
    report.cipher_suite = conn
        .negotiated_cipher_suite()
        .map(|s| format!("{:?}", s.suite()));
    // Flush our final flight, then wait for the server's verdict on our certificate.
    while conn.wants_write() {
        if conn.write_tls(&mut sock).unwrap_or(0) == 0 {
            break;
        }
    }
    let verdict = await_verdict(&mut conn, &mut sock);
    match verdict {
        Verdict::Accepted => report.client_certificate_accepted = Some(true),
        Verdict::Silent => {
            report.client_certificate_accepted = Some(true);
            f.warn(
                "probe.client_auth",
                format!(
                    "{} sent nothing after the handshake within {:?}; client certificate acceptance could not be confirmed",
                    req.target, req.timeout
                ),
            );
        }
        Verdict::Refused(why) => {
            report.client_certificate_accepted = Some(false);
            report.failure = Some(why.clone());
            f.issue(
                "probe.client_auth",
                format!(
                    "{} refused the bundle client certificate: {why}",
                    req.target
                ),
            );
        }
    }
    done(report, f)
}

enum Verdict {
    Accepted,
    Silent,
    Refused(String),
}

fn await_verdict(conn: &mut ClientConnection, sock: &mut TcpStream) -> Verdict {
    loop {
        match conn.read_tls(sock) {
            Ok(0) => {
                return Verdict::Refused(
                    "the server closed the connection right after the handshake".to_owned(),
                );
            }
            Ok(_) => match conn.process_new_packets() {
                Err(e) => return Verdict::Refused(e.to_string()),
                Ok(state) => {
                    if state.plaintext_bytes_to_read() > 0 {
                        let mut buf = vec![0; state.plaintext_bytes_to_read()];
                        let _ = conn.reader().read(&mut buf);
                        return Verdict::Accepted;
                    }
                    if state.peer_has_closed() {
                        return Verdict::Accepted;
                    }
                    // A session ticket: the server processed our Finished, so it verified and
                    // accepted our certificate.
                    return Verdict::Accepted;
                }
            },
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return Verdict::Silent;
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Verdict::Refused(e.to_string()),
        }
    }
}

/// Whether a handshake error means the server rejected our certificate (TLS 1.2 reports it
/// during the handshake).
fn is_client_refusal(why: &str) -> bool {
    [
        "CertificateRequired",
        "BadCertificate",
        "UnknownCA",
        "CertificateExpired",
        "CertificateUnknown",
        "DecryptError",
        "AccessDenied",
        "UnsupportedCertificate",
        "CertificateRevoked",
    ]
    .iter()
    .any(|alert| why.contains(alert))
}

fn judge_chain(
    req: &ProbeRequest,
    host: &str,
    chain: &[CertificateDer<'static>],
    report: &mut ProbeReport,
    f: &mut Findings,
) {
    if chain.is_empty() {
        return;
    }
    let parsed: Vec<_> = chain.iter().map(|c| x509::parse_der(c)).collect();
    let leaf = match &parsed[0] {
        Ok(l) => l.clone(),
        Err(e) => {
            f.issue(
                "probe.server_chain",
                format!("the server presented a certificate that does not parse: {e}"),
            );
            return;
        }
    };
    report.server_chain = parsed
        .iter()
        .filter_map(|c| c.as_ref().ok())
        .map(|c| c.summary(req.as_of))
        .collect();
    match leaf.validity_at(req.as_of) {
        Validity::Expired { days_ago } => f.issue(
            "probe.server_expiry",
            format!(
                "{} presents {} which expired on {} ({days_ago:.1} days ago)",
                req.target,
                leaf.subject,
                x509::rfc3339(leaf.not_after)
            ),
        ),
        Validity::NotYetValid { in_days } => f.issue(
            "probe.server_expiry",
            format!(
                "{} presents {} which is not valid until {} (in {in_days:.1} days)",
                req.target,
                leaf.subject,
                x509::rfc3339(leaf.not_before)
            ),
        ),
        Validity::Valid { .. } => {}
    }
    let name_ok = leaf.san_covers(host);
    report.name_matches = Some(name_ok);
    if !name_ok {
        f.issue(
            "probe.server_name",
            format!(
                "{} presents {} whose SAN does not cover {host}",
                req.target, leaf.subject
            ),
        );
    }
    let ca = req
        .ca_certificate
        .as_ref()
        .map(|p| x509::read_certificates(p).map(|mut c| c.remove(0)));
    match ca {
        None => f.issue(
            "probe.server_chain",
            "execution.mtls.ca_certificate is not available: cannot judge the presented chain"
                .to_owned(),
        ),
        Some(Err(e)) => f.issue("probe.server_chain", e.to_string()),
        Some(Ok(ca)) => {
            // Walk leaf → intermediates → bundle CA.
            let mut current = leaf.clone();
            let mut verdict = current.verify_issued_by(&ca);
            for next in parsed.iter().skip(1).filter_map(|c| c.as_ref().ok()) {
                if verdict.is_ok() {
                    break;
                }
                if current.verify_issued_by(next).is_ok() && next.is_ca {
                    current = next.clone();
                    verdict = current.verify_issued_by(&ca);
                }
            }
            report.chains_to_bundle_ca = Some(verdict.is_ok());
            if let Err(why) = verdict {
                f.issue(
                    "probe.server_chain",
                    format!(
                        "{} presents {} which does not chain to the bundle CA: {why}",
                        req.target, leaf.subject
                    ),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_split_into_host_and_port() {
        assert_eq!(
            split_target("127.0.0.1:8443"),
            Some(("127.0.0.1".into(), 8443))
        );
        assert_eq!(split_target("[::1]:443"), Some(("::1".into(), 443)));
        assert_eq!(split_target("localhost"), None);
        assert_eq!(split_target(":80"), None);
        assert_eq!(split_target("h:notaport"), None);
    }

    #[test]
    fn closed_port_is_a_connect_issue() {
        // Bind and drop to find a port nobody listens on.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let out = probe(&ProbeRequest {
            target: format!("127.0.0.1:{port}"),
            client_certificate: None,
            client_key: None,
            ca_certificate: None,
            as_of: SimTime::from_unix_secs(1_795_856_400),
            timeout: Duration::from_millis(500),
        });
        assert!(!out.report.connected);
        let checks: Vec<_> = out.issues.iter().map(|f| f.check.as_str()).collect();
        assert_eq!(checks, ["probe.client_auth", "probe.connect"]);
    }
}
