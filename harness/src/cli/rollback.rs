//! `stage4 rollback disable|restore|status`: the multi-strategy kill switch.
#![allow(clippy::print_stdout)]

use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::{Args, Subcommand, ValueEnum};
use stage4_engine::domain::{SimDuration, SimTime};

use super::common::{as_of_or_now, parse_as_of};
use crate::exit::Exit;
use crate::rollback::{self, DisableRequest, Disabled, Status};

/// Disable multi-strategy trading with the override file, restore it, or show its state.
///
/// The override is `multi_strategy_disable.json` in the reference format (a drop-in for
/// `disable_multi_strategy.py`). The scheduler honours it: while it is present and not expired
/// no schedule emits signals and no order is sent; when `expires_at` passes trading resumes by
/// itself.
#[derive(Debug, Subcommand)]
pub enum RollbackCommand {
    /// Write the override: stop all multi-strategy trading.
    ///
    /// Exit codes: 0 written; 1 an override already exists (use --replace); 2 bad input.
    Disable(DisableArgs),
    /// Remove the override: trading resumes at the scheduler's next run. Exit 0 (also when
    /// there was nothing to remove).
    Restore(DirArgs),
    /// Show whether trading is disabled. Exit 0.
    Status(StatusArgs),
}

/// The component to disable (only multi-strategy is supported).
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Component {
    /// The multi-strategy scheduler.
    #[value(name = "multi_strategy")]
    MultiStrategy,
}

/// Where the override lives.
#[derive(Debug, Args)]
pub struct DirArgs {
    /// Overrides directory.
    #[arg(long, default_value = "var/runtime/overrides")]
    pub output_dir: PathBuf,
}

/// `rollback disable` flags (reference names).
#[derive(Debug, Args)]
pub struct DisableArgs {
    /// Why trading is disabled (required; recorded in the file).
    #[arg(long)]
    pub reason: String,
    /// Who asked for it.
    #[arg(long)]
    pub requested_by: Option<String>,
    /// Incident ticket, e.g. INC-713.
    #[arg(long)]
    pub ticket: Option<String>,
    /// Minutes until trading resumes by itself (1 .. 10080). Omit to disable until restored.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=10_080))]
    pub duration_minutes: Option<u64>,
    /// Component to disable (reference flag; only multi_strategy).
    #[arg(long, value_enum, default_value = "multi_strategy")]
    pub component: Component,
    /// Overwrite an existing override instead of refusing.
    #[arg(long)]
    pub replace: bool,
    /// Time to record as "now" (RFC 3339); default: the current time.
    #[arg(long, value_parser = parse_as_of)]
    pub as_of: Option<SimTime>,
    #[command(flatten)]
    dir: DirArgs,
}

/// `rollback status` flags.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Evaluate expiry at this time (RFC 3339); default: the current time.
    #[arg(long, value_parser = parse_as_of)]
    pub as_of: Option<SimTime>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    dir: DirArgs,
}

/// Runs a rollback command.
pub fn run(cmd: RollbackCommand) -> Result<Exit> {
    match cmd {
        RollbackCommand::Disable(args) => {
            let Component::MultiStrategy = args.component;
            if args.reason.trim().is_empty() {
                bail!("--reason must not be empty");
            }
            let req = DisableRequest {
                dir: args.dir.output_dir.clone(),
                reason: args.reason,
                requested_by: args.requested_by,
                ticket: args.ticket,
                duration: args.duration_minutes.map(SimDuration::from_mins),
                now: as_of_or_now(args.as_of),
                replace: args.replace,
            };
            let path = rollback::override_path(&req.dir);
            match rollback::disable(&req)? {
                Disabled::Written(o) => {
                    println!("multi-strategy disabled: {}", path.display());
                    match o.expires_at {
                        Some(t) => println!("trading resumes by itself at {t}"),
                        None => println!("until `stage4 rollback restore`"),
                    }
                    Ok(Exit::Ok)
                }
                Disabled::AlreadyDisabled(existing) => {
                    println!(
                        "multi-strategy is already disabled ({}){}; nothing written (use --replace to overwrite)",
                        path.display(),
                        existing
                            .map(|o| format!(": {}", o.reason))
                            .unwrap_or_default()
                    );
                    Ok(Exit::Failed)
                }
            }
        }
        RollbackCommand::Restore(dir) => {
            match rollback::restore(&dir.output_dir)? {
                Some(o) => println!("multi-strategy restored (removed override: {})", o.reason),
                None => println!("multi-strategy was not disabled; nothing to restore"),
            }
            Ok(Exit::Ok)
        }
        RollbackCommand::Status(args) => {
            let now = as_of_or_now(args.as_of);
            let status = rollback::status(&args.dir.output_dir, now)?;
            if args.json {
                let (state, o) = match &status {
                    Status::Enabled => ("enabled", None),
                    Status::Disabled(o) => ("disabled", Some(o)),
                    Status::Expired(o) => ("expired", Some(o)),
                };
                let doc = serde_json::json!({
                    "schema_version": 1,
                    "state": state,
                    "as_of": now,
                    "reason": o.map(|o| o.reason.clone()),
                    "ticket": o.and_then(|o| o.ticket.clone()),
                    "requested_by": o.and_then(|o| o.requested_by.clone()),
                    "created_at": o.map(|o| o.created_at),
                    "expires_at": o.and_then(|o| o.expires_at),
                });
                println!("{}", serde_json::to_string_pretty(&doc)?);
            } else {
                match status {
                    Status::Enabled => println!("multi-strategy: enabled (no override)"),
                    Status::Disabled(o) => println!(
                        "multi-strategy: DISABLED since {} ({}){}",
                        o.created_at,
                        o.reason,
                        o.expires_at
                            .map(|t| format!(", resumes at {t}"))
                            .unwrap_or_else(|| ", until restored".to_owned())
                    ),
                    Status::Expired(o) => println!(
                        "multi-strategy: enabled (override expired at {}; remove it with `stage4 rollback restore`)",
                        o.expires_at.map(|t| t.to_string()).unwrap_or_default()
                    ),
                }
            }
            Ok(Exit::Ok)
        }
    }
}
