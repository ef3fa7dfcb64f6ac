//! `stage4 keys check-rotation`: per-environment API-key rotation (check_key_rotation.py).

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Subcommand};
use stage4_engine::domain::SimTime;
use stage4_reports::render::json;
use stage4_reports::rotation::RotationState;

use super::common::{as_of_or_now, parse_as_of, print};
use crate::audit::rotation::{self, RotationPlan};
use crate::exit::Exit;
use crate::secrets::Secrets;

/// `stage4 keys ...`
#[derive(Debug, Args)]
pub struct KeysArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: KeysCommand,
}

/// Key commands.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Check API-key rotation per environment.
    ///
    /// Exit 0 when every key is inside the safe window, 1 when one is due soon, 2 when one is
    /// overdue or never rotated, or on bad input (missing config, unknown environment).
    CheckRotation(CheckRotationArgs),
}

/// Flags of `stage4 keys check-rotation`.
#[derive(Debug, Args)]
pub struct CheckRotationArgs {
    /// Path to core.yaml.
    #[arg(long, default_value = "config/core.yaml")]
    pub config: PathBuf,
    /// Environment to check (repeatable; default all).
    #[arg(long = "environment", value_name = "NAME")]
    pub environments: Vec<String>,
    /// Rotation interval in days.
    #[arg(long, default_value_t = 90.0)]
    pub interval_days: f64,
    /// Warning window in days.
    #[arg(long, default_value_t = 14.0)]
    pub warn_days: f64,
    /// Audit instant (RFC 3339); default now. Also the time --mark-rotated records.
    #[arg(long, value_parser = parse_as_of)]
    pub as_of: Option<SimTime>,
    /// Print the JSON report instead of text.
    #[arg(long)]
    pub json: bool,
    /// After reporting, record a rotation now for the environments named with --environment
    /// (the exit code still reflects the state before).
    #[arg(long)]
    pub mark_rotated: bool,
    /// KEY=VALUE secrets file (mode 0600); accepted for symmetry with the other audits.
    #[arg(long)]
    pub env_file: Option<PathBuf>,
}

/// Runs `stage4 keys ...`.
pub fn run(args: KeysArgs) -> Result<Exit> {
    match args.command {
        KeysCommand::CheckRotation(a) => {
            anyhow::ensure!(
                a.interval_days.is_finite() && a.interval_days > 0.0,
                "--interval-days must be a positive number of days"
            );
            anyhow::ensure!(
                a.warn_days.is_finite() && a.warn_days >= 0.0,
                "--warn-days must be zero or a positive number of days"
            );
            // Validates the file (permissions, syntax) even though no secret is needed.
            let _ = Secrets::with_env_file(a.env_file.as_deref())?;
            let mut plan = RotationPlan::new(&a.config, as_of_or_now(a.as_of));
            plan.environments = a.environments;
            plan.interval_days = a.interval_days;
            plan.warn_days = a.warn_days;
            plan.mark_rotated = a.mark_rotated;
            let report = rotation::run(&plan)?;
            if a.json {
                print(&json::to_pretty_sorted(&report)?)?;
            } else {
                print(&rotation::render_text(&report))?;
            }
            Ok(match report.status {
                RotationState::Ok => Exit::Ok,
                RotationState::DueSoon => Exit::Failed,
                RotationState::Overdue => Exit::Error,
            })
        }
    }
}
