//! A real rustls mTLS server on 127.0.0.1 with a materialized site's server certificate,
//! requiring client certificates: the good client gets in; an expired client certificate and
//! one from another CA are refused, and `audit compliance --probe` reports it.

use std::time::Duration;

use stage4_harness::audit::compliance::{self, CompliancePlan, ProbeTarget};
use stage4_harness::site::{CertRole, LeafRole, SiteSpec};
use stage4_harness::tls::server::MtlsServer;
use stage4_reports::compliance::{ComplianceReport, ComplianceStatus};

use super::{secrets, site_at};

/// The server validates client certificates against the wall clock, so these sites are built
/// for now, not for the fixed snapshot instant.
fn probe_site(tweak: impl FnOnce(&mut SiteSpec)) -> ComplianceReport {
    let now = stage4_harness::cli::common::as_of_or_now(None);
    let (_dir, site) = site_at(now, tweak);
    let server = MtlsServer::start(
        &site.server_certificate,
        &site.server_key,
        &site.ca_certificate,
    )
    .unwrap();
    let mut plan = CompliancePlan::new(&site.config, now);
    plan.mtls_bundle_name = Some("core-oem".into());
    plan.probe = Some(ProbeTarget {
        target: format!("127.0.0.1:{}", server.addr().port()),
        timeout: Duration::from_secs(3),
    });
    let report = compliance::run(&plan, &secrets(&site)).unwrap();
    let log = server.wait_for(1, Duration::from_secs(5));
    assert_eq!(
        log.accepted + log.refused.len(),
        1,
        "exactly one handshake: {log:?}"
    );
    report
}

fn probe_issues(report: &ComplianceReport) -> Vec<&str> {
    report
        .issues
        .iter()
        .filter(|f| f.check.starts_with("probe."))
        .map(|f| f.check.as_str())
        .collect()
}

#[test]
fn the_bundle_client_connects_and_the_server_chain_is_reported() {
    let report = probe_site(|_| {});
    assert_eq!(report.status, ComplianceStatus::Ok, "{:#?}", report.issues);
    let probe = report.probe.unwrap();
    assert!(probe.connected && probe.handshake_completed);
    assert_eq!(probe.client_certificate_accepted, Some(true));
    assert_eq!(probe.chains_to_bundle_ca, Some(true));
    assert_eq!(probe.name_matches, Some(true));
    assert_eq!(probe.server_chain.len(), 1);
    assert!(probe.server_chain[0].subject.contains("core-oem-server"));
    assert!(probe.server_chain[0].expires_in_days > 350.0);
    assert_eq!(probe.protocol.as_deref(), Some("TLSv1_3"));
}

#[test]
fn an_expired_client_certificate_is_refused_and_reported() {
    let report = probe_site(|s| {
        s.expired.insert(CertRole::Client);
    });
    assert_eq!(report.status, ComplianceStatus::Fail);
    assert_eq!(probe_issues(&report), ["probe.client_auth"]);
    let probe = report.probe.as_ref().unwrap();
    assert_eq!(probe.client_certificate_accepted, Some(false));
    assert!(
        probe
            .failure
            .as_deref()
            .unwrap()
            .contains("CertificateExpired"),
        "{:?}",
        probe.failure
    );
}

#[test]
fn a_client_certificate_from_another_ca_is_refused_and_reported() {
    let report = probe_site(|s| {
        s.wrong_ca.insert(LeafRole::Client);
    });
    assert_eq!(probe_issues(&report), ["probe.client_auth"]);
    let probe = report.probe.as_ref().unwrap();
    assert_eq!(probe.client_certificate_accepted, Some(false));
    let failure = probe.failure.as_deref().unwrap();
    assert!(
        failure.contains("BadCertificate")
            || failure.contains("UnknownCA")
            || failure.contains("DecryptError"),
        "{failure}"
    );
}

#[test]
fn a_server_certificate_from_another_ca_is_reported_by_the_probe() {
    // The server trusts the bundle CA for clients, but presents a certificate the bundle CA did
    // not issue: the probe must notice even though the handshake completes.
    let report = probe_site(|s| {
        s.wrong_ca.insert(LeafRole::Server);
    });
    assert_eq!(probe_issues(&report), ["probe.server_chain"]);
    assert_eq!(report.probe.unwrap().chains_to_bundle_ca, Some(false));
}
