//! `stage4 site materialize`: write a concrete OEM training site (config, certificates, keys,
//! registries, secrets) for an audit instant, healthy or broken on purpose.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Subcommand};
use stage4_engine::domain::SimTime;

use super::common::{as_of_or_now, parse_as_of, print};
use crate::exit::Exit;
use crate::site::{self, CertRole, LeafRole, SiteSpec};

/// `stage4 site ...`
#[derive(Debug, Args)]
pub struct SiteArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: SiteCommand,
}

/// Site commands.
#[derive(Debug, Subcommand)]
pub enum SiteCommand {
    /// Write the training site from fixtures/oem with certificates generated for --as-of.
    Materialize(MaterializeArgs),
}

/// Flags of `stage4 site materialize`.
#[derive(Debug, Args)]
pub struct MaterializeArgs {
    /// Directory to write the site into.
    #[arg(long)]
    pub out: PathBuf,
    /// Replace a site already in --out.
    #[arg(long)]
    pub force: bool,
    /// Instant everything is relative to (RFC 3339); default now.
    #[arg(long, value_parser = parse_as_of)]
    pub as_of: Option<SimTime>,
    /// Days since the mTLS bundle was rotated (registry and certificate notBefore).
    #[arg(long, default_value_t = 5.0)]
    pub rotated_days_ago: f64,
    /// Days since the API keys were rotated (environment and observability registries).
    #[arg(long, default_value_t = 5.0)]
    pub keys_rotated_days_ago: f64,
    /// Validity of the server and client certificates in days (the CA gets twice as long).
    #[arg(long, default_value_t = 365)]
    pub cert_valid_days: u32,
    /// Make this certificate expired 30 days before --as-of (server, client or ca; repeatable).
    #[arg(long, value_name = "CERT")]
    pub expired: Vec<CertRole>,
    /// Make this certificate valid only from a day after --as-of (repeatable).
    #[arg(long, value_name = "CERT")]
    pub not_yet_valid: Vec<CertRole>,
    /// Issue this leaf (server or client) from another CA with the same name (repeatable).
    #[arg(long, value_name = "LEAF")]
    pub wrong_ca: Vec<LeafRole>,
    /// Write this leaf's key file with a key that does not match its certificate (repeatable).
    #[arg(long, value_name = "LEAF")]
    pub mismatched_key: Vec<LeafRole>,
    /// Write this leaf's key file with mode 0640 (repeatable).
    #[arg(long, value_name = "LEAF")]
    pub group_readable_key: Vec<LeafRole>,
    /// Leave this secret out of secrets.env (repeatable).
    #[arg(long, value_name = "NAME")]
    pub omit_secret: Vec<String>,
    /// Write this secret with exactly N characters (NAME=N, repeatable).
    #[arg(long, value_name = "NAME=N", value_parser = parse_length)]
    pub secret_length: Vec<(String, usize)>,
    /// Scopes of the scheduler token, comma-separated (default: read and write).
    #[arg(long, value_name = "SCOPES", value_delimiter = ',')]
    pub scheduler_scopes: Option<Vec<String>>,
    /// Raw value for an mTLS registry entry (KEY=TEXT, e.g. core-oem::tls_ca=yesterday).
    #[arg(long, value_name = "KEY=TEXT", value_parser = parse_pair)]
    pub tls_registry_value: Vec<(String, String)>,
    /// Do not write the mTLS rotation registry.
    #[arg(long)]
    pub no_tls_registry: bool,
}

fn parse_pair(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .map(|(k, v)| (k.trim().to_owned(), v.to_owned()))
        .filter(|(k, _)| !k.is_empty())
        .ok_or_else(|| format!("`{text}`: expected KEY=VALUE"))
}

fn parse_length(text: &str) -> Result<(String, usize), String> {
    let (k, v) = parse_pair(text)?;
    let n = v
        .trim()
        .parse()
        .map_err(|_| format!("`{text}`: expected NAME=N with N a whole number"))?;
    Ok((k, n))
}

/// Runs `stage4 site ...`.
pub fn run(args: SiteArgs) -> Result<Exit> {
    match args.command {
        SiteCommand::Materialize(a) => {
            let mut spec = SiteSpec::new(&a.out, as_of_or_now(a.as_of));
            spec.force = a.force;
            spec.rotated_days_ago = a.rotated_days_ago;
            spec.keys_rotated_days_ago = a.keys_rotated_days_ago;
            spec.cert_valid_days = a.cert_valid_days;
            spec.expired.extend(a.expired);
            spec.not_yet_valid.extend(a.not_yet_valid);
            spec.wrong_ca.extend(a.wrong_ca);
            spec.mismatched_key.extend(a.mismatched_key);
            spec.group_readable_key.extend(a.group_readable_key);
            spec.omit_secrets.extend(a.omit_secret);
            spec.secret_lengths.extend(a.secret_length);
            spec.scheduler_scopes = a.scheduler_scopes;
            spec.tls_registry_values.extend(a.tls_registry_value);
            spec.no_tls_registry = a.no_tls_registry;
            let site = site::materialize(&spec)?;
            print(&format!(
                "site written to {root}\n  config:   {config}\n  env file: {env} (0600)\n  as of:    {as_of}\n\ntry:\n  stage4 audit compliance --config {config} --env-file {env} --mtls-bundle-name {bundle} --check-paths --as-of {as_of}\n  stage4 audit security-baseline --config {config} --env-file {env} --print --as-of {as_of}\n  stage4 keys check-rotation --config {config} --environment live_binance --as-of {as_of}",
                root = site.root.display(),
                config = site.config.display(),
                env = site.env_file.display(),
                as_of = spec.as_of,
                bundle = site::BUNDLE,
            ))?;
            Ok(Exit::Ok)
        }
    }
}
