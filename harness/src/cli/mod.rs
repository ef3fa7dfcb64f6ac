//! The `stage4` command line: argument structs (clap) and dispatch. Each command group lives
//! in its own module; argument structs are parsed here and resolved into validated plans by
//! the library modules they call.

pub mod audit;
pub mod common;
pub mod decision_log;
pub mod escalation;
pub mod keys;
pub mod rollback;
pub mod scenario;
pub mod scheduler;
pub mod sim;
pub mod site;

use clap::{Parser, Subcommand};

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
    /// Disable multi-strategy trading (override file), restore it, or show its state.
    #[command(subcommand)]
    Rollback(rollback::RollbackCommand),
    /// Site audits: compliance (RBAC, mTLS, rotation, real X.509), security baseline.
    Audit(audit::AuditArgs),
    /// API keys: rotation check per environment.
    Keys(keys::KeysArgs),
    /// Training sites: materialize the OEM site with generated certificates.
    Site(site::SiteArgs),
    /// Scripted scenarios: market, faults and operator actions with expectations.
    #[command(subcommand)]
    Scenario(scenario::ScenarioCommand),
    /// Reports: merge the shards of a seed sweep.
    #[command(subcommand)]
    Report(scenario::ReportCommand),
    /// The market and exchange simulator on its own.
    #[command(subcommand)]
    Sim(sim::SimCommand),
    /// Verify, append to and manage signed decision logs (`verify_decision_log.py`).
    #[command(name = "decision-log", long_about = decision_log::LONG_ABOUT)]
    DecisionLog(decision_log::DecisionLogArgs),
    /// Escalation checklists (JSONL): print the reference rules, validate a team's own.
    #[command(subcommand)]
    Escalation(escalation::EscalationCommand),
    /// The multi-strategy scheduler: load test.
    #[command(subcommand)]
    Scheduler(scheduler::SchedulerCommand),
}

/// Runs a parsed command line. `Err` means bad usage, configuration or input (exit 2).
pub fn run(cli: Cli) -> anyhow::Result<Exit> {
    match cli.command {
        Command::Rollback(cmd) => rollback::run(cmd),
        Command::Audit(args) => audit::run(args),
        Command::Keys(args) => keys::run(args),
        Command::Site(args) => site::run(args),
        Command::Sim(command) => sim::run(command),
        Command::Scenario(command) => scenario::run(command),
        Command::Report(command) => scenario::run_report(command),
        Command::DecisionLog(args) => decision_log::run(args),
        Command::Escalation(cmd) => escalation::run(cmd),
        Command::Scheduler(command) => scheduler::run(command),
    }
}
