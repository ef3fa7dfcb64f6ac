//! The `stage4` command line: argument structs (clap) and dispatch. Each command group lives
//! in its own module; argument structs are parsed here and resolved into validated plans by
//! the library modules they call.

use clap::{Parser, Subcommand};

pub mod decision_log;

use crate::exit::Exit;

/// stage4: prove a Stage4 deployment is safe to run.
///
/// A deterministic market and exchange simulator drives our own implementation of the Stage4
/// engine through scripted scenarios, and Rust replacements of the operator scripts audit the
/// site. Exit codes everywhere: 0 ok (warnings allowed), 1 a check failed, 2 usage,
/// configuration or input error.
#[derive(Debug, Parser)]
#[command(name = "stage4", version, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Top-level command groups.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Verify, append to and manage signed decision logs (`verify_decision_log.py`).
    #[command(name = "decision-log", long_about = decision_log::LONG_ABOUT)]
    DecisionLog(decision_log::DecisionLogArgs),
}

/// Runs a parsed command line. `Err` means bad usage, configuration or input (exit 2).
pub fn run(cli: Cli) -> anyhow::Result<Exit> {
    match cli.command {
        Command::DecisionLog(args) => decision_log::run(args),
    }
}
