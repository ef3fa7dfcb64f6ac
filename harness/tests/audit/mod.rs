//! Audits on materialized training sites: compliance, security baseline, key rotation, the
//! live mTLS probe, and the CLI contract (exit codes, formats, errors).

mod baseline;
mod cli;
mod compliance;
mod probe;
mod rotation;

use std::path::Path;

use stage4_engine::domain::SimTime;
use stage4_harness::secrets::{EnvFile, Secrets};
use stage4_harness::site::{MaterializedSite, SiteSpec, materialize};

/// The fixed audit instant of every snapshot.
pub const AS_OF: &str = "2026-11-28T09:00:00Z";

pub fn as_of() -> SimTime {
    SimTime::parse_rfc3339(AS_OF).unwrap()
}

/// A site in its own temp dir, built from a healthy spec changed by `tweak`.
pub fn site(tweak: impl FnOnce(&mut SiteSpec)) -> (tempfile::TempDir, MaterializedSite) {
    site_at(as_of(), tweak)
}

pub fn site_at(
    as_of: SimTime,
    tweak: impl FnOnce(&mut SiteSpec),
) -> (tempfile::TempDir, MaterializedSite) {
    let dir = tempfile::tempdir().unwrap();
    let mut spec = SiteSpec::new(dir.path().join("site"), as_of);
    tweak(&mut spec);
    let site = materialize(&spec).unwrap();
    (dir, site)
}

/// The site's secrets only (the test process environment must not leak in).
pub fn secrets(site: &MaterializedSite) -> Secrets {
    Secrets::isolated(EnvFile::load(&site.env_file).unwrap())
}

/// Replaces the site's temp path with `[SITE]` so snapshots are stable.
pub fn redact(text: &str, root: &Path) -> String {
    text.replace(&root.display().to_string(), "[SITE]")
}
