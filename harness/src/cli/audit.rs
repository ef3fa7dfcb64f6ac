//! `stage4 audit compliance` and `stage4 audit security-baseline`: flags of the reference
//! scripts (so runbooks keep working) plus `--as-of`, `--env-file`, `--format` and `--probe`.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use stage4_engine::domain::SimTime;
use stage4_reports::compliance::ComplianceStatus;
use stage4_reports::render::{json, junit, sarif};

use super::common::{as_of_or_now, parse_as_of, print, write_report};
use crate::audit::compliance::{self, CompliancePlan, ProbeTarget};
use crate::exit::Exit;
use crate::secrets::Secrets;

/// `stage4 audit ...`
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Which audit.
    #[command(subcommand)]
    pub command: AuditCommand,
}

/// The audits.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// RBAC, mTLS, decision-log and rotation compliance of a site (audit_stage4_compliance.py).
    ///
    /// Exit 0 when the status is ok or warn, 1 on fail, 2 when the config is missing or
    /// unreadable.
    Compliance(ComplianceArgs),
}

/// Output format of the compliance report on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// The reference JSON report (sorted keys, 2-space indent).
    Json,
    /// SARIF 2.1.0 (one result per finding).
    Sarif,
    /// JUnit XML (one test case per check).
    Junit,
}

/// Flags of `stage4 audit compliance`.
#[derive(Debug, Args)]
pub struct ComplianceArgs {
    /// Path to core.yaml.
    #[arg(long, default_value = "config/core.yaml")]
    pub config: PathBuf,
    /// Audit profile (only `stage4`, as in the reference).
    #[arg(long, default_value = "stage4", value_parser = ["stage4"])]
    pub profile: String,
    /// A missing env secret is a warning instead of an issue.
    #[arg(long)]
    pub allow_missing_env: bool,
    /// Check the files the config names: existence, certificates (expiry, chain, EKU, SAN),
    /// key/certificate match, key permissions.
    #[arg(long)]
    pub check_paths: bool,
    /// Bundle id used as rotation-registry key (e.g. core-oem); without it rotation freshness
    /// is not checked.
    #[arg(long)]
    pub mtls_bundle_name: Option<String>,
    /// Maximum age of mTLS registry entries, in days.
    #[arg(long, default_value_t = 90.0)]
    pub rotation_interval_days: f64,
    /// Warning window before rotation due dates and certificate expiry, in days.
    #[arg(long, default_value_t = 14.0)]
    pub rotation_warn_days: f64,
    /// Minimum length of env-sourced secrets.
    #[arg(long, default_value_t = 24)]
    pub min_secret_length: usize,
    /// Also write the JSON report to this file (parent directories created).
    #[arg(long)]
    pub output_json: Option<PathBuf>,
    /// Audit instant (RFC 3339); default now.
    #[arg(long, value_parser = parse_as_of)]
    pub as_of: Option<SimTime>,
    /// KEY=VALUE secrets file (mode 0600) read before the process environment.
    #[arg(long)]
    pub env_file: Option<PathBuf>,
    /// Format printed on stdout.
    #[arg(long, value_enum, default_value_t = ReportFormat::Json)]
    pub format: ReportFormat,
    /// Make a real mTLS handshake with the bundle's client certificate against HOST:PORT.
    #[arg(long, value_name = "HOST:PORT")]
    pub probe: Option<String>,
    /// Probe connect/verdict timeout in milliseconds.
    #[arg(long, default_value_t = 2000)]
    pub probe_timeout_ms: u64,
}

/// Runs `stage4 audit ...`.
pub fn run(args: AuditArgs) -> Result<Exit> {
    match args.command {
        AuditCommand::Compliance(a) => run_compliance(a),
    }
}

fn run_compliance(a: ComplianceArgs) -> Result<Exit> {
    anyhow::ensure!(
        a.rotation_interval_days.is_finite() && a.rotation_interval_days > 0.0,
        "--rotation-interval-days must be a positive number of days"
    );
    anyhow::ensure!(
        a.rotation_warn_days.is_finite() && a.rotation_warn_days >= 0.0,
        "--rotation-warn-days must be zero or a positive number of days"
    );
    let secrets = Secrets::with_env_file(a.env_file.as_deref())?;
    let mut plan = CompliancePlan::new(&a.config, as_of_or_now(a.as_of));
    plan.allow_missing_env = a.allow_missing_env;
    plan.check_paths = a.check_paths;
    plan.mtls_bundle_name = a.mtls_bundle_name.clone();
    plan.rotation_interval_days = a.rotation_interval_days;
    plan.rotation_warn_days = a.rotation_warn_days;
    plan.min_secret_length = a.min_secret_length;
    plan.probe = a.probe.map(|target| ProbeTarget {
        target,
        timeout: Duration::from_millis(a.probe_timeout_ms.max(1)),
    });
    let report = compliance::run(&plan, &secrets)?;
    let report_json = json::to_pretty_sorted(&report)?;
    if let Some(path) = &a.output_json {
        write_report(path, &report_json)?;
    }
    let stdout = match a.format {
        ReportFormat::Json => report_json,
        ReportFormat::Junit => junit::render(&report.results().to_junit()),
        ReportFormat::Sarif => {
            sarif::render(&report.results().to_sarif()).context("building the SARIF log")?
        }
    };
    print(&stdout)?;
    Ok(match report.status {
        ComplianceStatus::Fail => Exit::Failed,
        ComplianceStatus::Ok | ComplianceStatus::Warn => Exit::Ok,
    })
}
