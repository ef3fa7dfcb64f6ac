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
use stage4_engine::decision_log::SigningKey;

use crate::audit::baseline::{self, BaselinePlan, SchedulerScopes, normalize_scope};
use crate::audit::compliance::{self, CompliancePlan, ProbeTarget};
use crate::exit::Exit;
use crate::secrets::{Secrets, read_private_file};

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
    /// TLS and RBAC baseline of the services and the mTLS bundle (audit_security_baseline.py).
    ///
    /// Status ok, warning or error. Exit 0 unless --fail-on-error (2 on errors) or
    /// --fail-on-warning (1 on warnings or errors); 2 for bad input or signing problems.
    SecurityBaseline(BaselineArgs),
}

/// Flags of `stage4 audit security-baseline`.
#[derive(Debug, Args)]
pub struct BaselineArgs {
    /// Path to core.yaml.
    #[arg(long, default_value = "config/core.yaml")]
    pub config: PathBuf,
    /// Write the JSON report to this file (parent directories created).
    #[arg(long, visible_alias = "json-output")]
    pub output_json: Option<PathBuf>,
    /// Pretty JSON (2-space indent, sorted keys); otherwise compact.
    #[arg(long)]
    pub pretty: bool,
    /// Print the report on stdout (always printed when no output file is given).
    #[arg(long)]
    pub print: bool,
    /// Exit 1 when there are warnings or errors.
    #[arg(long)]
    pub fail_on_warning: bool,
    /// Exit 2 when there are errors (wins over --fail-on-warning).
    #[arg(long)]
    pub fail_on_error: bool,
    /// Certificate expiry warning window, in days.
    #[arg(long, default_value_t = 30.0)]
    pub warn_expiring_days: f64,
    /// Scope required for metrics_service (repeatable; default metrics.read).
    #[arg(long, value_name = "SCOPE")]
    pub metrics_required_scope: Vec<String>,
    /// Scope required for risk_service (repeatable; default risk.read).
    #[arg(long, value_name = "SCOPE")]
    pub risk_required_scope: Vec<String>,
    /// Scheduler scope (repeatable): `scope` or `:scope` replaces the default read+write pair;
    /// `name:scope` applies to scheduler `name` only.
    #[arg(long, value_name = "[NAME:]SCOPE")]
    pub scheduler_required_scope: Vec<String>,
    /// HMAC key for the report signature (UTF-8 text).
    #[arg(long)]
    pub summary_hmac_key: Option<String>,
    /// File holding the HMAC key (mode 0600; stripped).
    #[arg(long)]
    pub summary_hmac_key_file: Option<PathBuf>,
    /// Environment variable holding the HMAC key (the --env-file is consulted first).
    #[arg(long)]
    pub summary_hmac_key_env: Option<String>,
    /// Key id written into the signature.
    #[arg(long)]
    pub summary_hmac_key_id: Option<String>,
    /// Fail (exit 2) when no signing key is available.
    #[arg(long)]
    pub require_summary_signature: bool,
    /// Audit instant (RFC 3339); default now.
    #[arg(long, value_parser = parse_as_of)]
    pub as_of: Option<SimTime>,
    /// KEY=VALUE secrets file (mode 0600) read before the process environment.
    #[arg(long)]
    pub env_file: Option<PathBuf>,
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
        AuditCommand::SecurityBaseline(a) => run_baseline(a),
    }
}

/// The compliance plan the flags describe (shared with scenario actions, which parse the same
/// flags). `--as-of` defaults to the wall clock here; callers may override `plan.as_of`.
pub fn compliance_plan(a: &ComplianceArgs) -> Result<CompliancePlan> {
    anyhow::ensure!(
        a.rotation_interval_days.is_finite() && a.rotation_interval_days > 0.0,
        "--rotation-interval-days must be a positive number of days"
    );
    anyhow::ensure!(
        a.rotation_warn_days.is_finite() && a.rotation_warn_days >= 0.0,
        "--rotation-warn-days must be zero or a positive number of days"
    );
    let mut plan = CompliancePlan::new(&a.config, as_of_or_now(a.as_of));
    plan.allow_missing_env = a.allow_missing_env;
    plan.check_paths = a.check_paths;
    plan.mtls_bundle_name = a.mtls_bundle_name.clone();
    plan.rotation_interval_days = a.rotation_interval_days;
    plan.rotation_warn_days = a.rotation_warn_days;
    plan.min_secret_length = a.min_secret_length;
    plan.probe = a.probe.clone().map(|target| ProbeTarget {
        target,
        timeout: Duration::from_millis(a.probe_timeout_ms.max(1)),
    });
    Ok(plan)
}

fn run_compliance(a: ComplianceArgs) -> Result<Exit> {
    let secrets = Secrets::with_env_file(a.env_file.as_deref())?;
    let plan = compliance_plan(&a)?;
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

fn signing_key(a: &BaselineArgs, secrets: &Secrets) -> Result<Option<SigningKey>> {
    let sources = [
        a.summary_hmac_key.is_some(),
        a.summary_hmac_key_file.is_some(),
        a.summary_hmac_key_env.is_some(),
    ];
    anyhow::ensure!(
        sources.iter().filter(|s| **s).count() <= 1,
        "give at most one of --summary-hmac-key, --summary-hmac-key-file, --summary-hmac-key-env"
    );
    let bytes: Option<Vec<u8>> = if let Some(k) = &a.summary_hmac_key {
        Some(k.trim().as_bytes().to_vec())
    } else if let Some(path) = &a.summary_hmac_key_file {
        Some(read_private_file(path)?)
    } else if let Some(name) = &a.summary_hmac_key_env {
        let value = secrets.get(name).with_context(|| {
            format!("--summary-hmac-key-env {name}: the variable is not set (export it or put it in --env-file)")
        })?;
        Some(value.trim().as_bytes().to_vec())
    } else {
        None
    };
    if let Some(b) = &bytes {
        anyhow::ensure!(!b.is_empty(), "the summary HMAC key is empty");
        if b.len() < 16 {
            #[allow(clippy::print_stderr)]
            {
                eprintln!(
                    "warning: the summary HMAC key is {} bytes long; use at least 16",
                    b.len()
                );
            }
        }
    }
    if bytes.is_none() && a.require_summary_signature {
        anyhow::bail!(
            "--require-summary-signature: no key given (use --summary-hmac-key, --summary-hmac-key-file or --summary-hmac-key-env)"
        );
    }
    let key_id = a
        .summary_hmac_key_id
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned);
    Ok(bytes.map(|b| SigningKey::new(b, key_id)))
}

/// The baseline plan the flags describe (shared with scenario actions). `--as-of` defaults to
/// the wall clock here; callers may override `plan.as_of`.
pub fn baseline_plan(a: &BaselineArgs, secrets: &Secrets) -> Result<BaselinePlan> {
    anyhow::ensure!(
        a.warn_expiring_days.is_finite() && a.warn_expiring_days >= 0.0,
        "--warn-expiring-days must be zero or a positive number of days"
    );
    let key = signing_key(a, secrets)?;
    let mut plan = BaselinePlan::new(&a.config, as_of_or_now(a.as_of));
    plan.warn_expiring_days = a.warn_expiring_days;
    let scopes = |given: &[String], default: &str| -> Vec<String> {
        let s: Vec<String> = given.iter().filter_map(|s| normalize_scope(s)).collect();
        if s.is_empty() {
            vec![default.to_owned()]
        } else {
            s
        }
    };
    plan.metrics_scopes = scopes(&a.metrics_required_scope, "metrics.read");
    plan.risk_scopes = scopes(&a.risk_required_scope, "risk.read");
    plan.scheduler_scopes = SchedulerScopes::resolve(&a.scheduler_required_scope);
    plan.signing_key = key;
    Ok(plan)
}

fn run_baseline(a: BaselineArgs) -> Result<Exit> {
    let secrets = Secrets::with_env_file(a.env_file.as_deref())?;
    let plan = baseline_plan(&a, &secrets)?;
    let report = baseline::run(&plan, &secrets)?;
    let text = if a.pretty {
        json::to_pretty_sorted(&report)?
    } else {
        serde_json::to_string(&report)?
    };
    if let Some(path) = &a.output_json {
        write_report(path, &text)?;
    }
    if a.print || a.output_json.is_none() {
        print(&text)?;
    }
    Ok(if a.fail_on_error && !report.errors.is_empty() {
        Exit::Error
    } else if a.fail_on_warning && !(report.errors.is_empty() && report.warnings.is_empty()) {
        Exit::Failed
    } else {
        Exit::Ok
    })
}
