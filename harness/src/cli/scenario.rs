//! `stage4 scenario list|run`: scripted drills on the simulator.
#![allow(clippy::print_stdout)]

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Args, Subcommand, ValueEnum};

use crate::exit::Exit;
use crate::scenario::{library, report};

/// Run scripted scenarios: a market, faults and operator actions on a timeline, with a verdict
/// per expectation.
#[derive(Debug, Subcommand)]
pub enum ScenarioCommand {
    /// List the scenario library.
    List(ListArgs),
    /// Run one scenario (a library name or a file). Exit 0 all expectations met, 1 some
    /// failed, 2 bad input.
    Run(RunArgs),
}

/// Where the library lives.
#[derive(Debug, Args)]
pub struct LibraryArgs {
    /// Directory of scenario files (default: `scenarios/` here, else the one in the source tree).
    #[arg(long)]
    pub scenarios_dir: Option<PathBuf>,
}

/// `scenario list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    library: LibraryArgs,
}

/// Output format of `scenario run`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A verdict per expectation, for people.
    Text,
    /// The report as JSON.
    Json,
}

/// `scenario run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// A library scenario name (`latency_alert`) or a path to a `.toml` file.
    pub scenario: String,
    /// Seed override.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Directory for the artefacts (report.json, report.md, report.html, junit.xml,
    /// decision_log.jsonl, escalation.jsonl, metrics.prom, the training site).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// What to print.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    #[command(flatten)]
    library: LibraryArgs,
}

/// Runs a scenario command.
pub fn run(cmd: ScenarioCommand) -> Result<Exit> {
    match cmd {
        ScenarioCommand::List(args) => {
            let dir = library::resolve_dir(args.library.scenarios_dir.as_deref())?;
            for entry in library::list(&dir)? {
                println!("{:<28} {}", entry.name, entry.summary);
            }
            Ok(Exit::Ok)
        }
        ScenarioCommand::Run(args) => {
            let dir = library::resolve_dir(args.library.scenarios_dir.as_deref()).ok();
            let path = library::locate(&args.scenario, dir.as_deref())?;
            let plan = crate::scenario::plan::load(&path)?;
            let finished = report::run_and_report(&plan, args.seed, args.out.as_deref())
                .with_context(|| format!("running {}", display(&path)))?;
            match args.format {
                Format::Text => print!("{}", finished.report.to_text()),
                Format::Json => println!(
                    "{}",
                    stage4_reports::render::json::to_pretty_sorted(&finished.report)?
                ),
            }
            Ok(if finished.passed() {
                Exit::Ok
            } else {
                Exit::Failed
            })
        }
    }
}

fn display(path: &Path) -> String {
    path.display().to_string()
}
