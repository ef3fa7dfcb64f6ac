//! `stage4 scenario list|run`: scripted drills on the simulator.
#![allow(clippy::print_stdout)]

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use stage4_reports::render::{json, text};
use stage4_reports::scenario::Verdict;
use stage4_reports::sweep::{SeedRange, Shard, SweepReport, merge};

use crate::exit::Exit;
use crate::fsio;
use crate::scenario::plan::ScenarioPlan;
use crate::scenario::{library, report, sweep};

/// Run scripted scenarios: a market, faults and operator actions on a timeline, with a verdict
/// per expectation.
#[derive(Debug, Subcommand)]
pub enum ScenarioCommand {
    /// List the scenario library.
    List(ListArgs),
    /// Run one scenario (a library name or a file). Exit 0 all expectations met, 1 some
    /// failed, 2 bad input.
    Run(RunArgs),
    /// Run one scenario over a range of seeds, in parallel, optionally one shard of it (for a
    /// CI matrix; combine the shards with `stage4 report merge`). Exit 0 every run passed, 1
    /// some failed, 2 bad input.
    Sweep(SweepArgs),
}

/// `scenario sweep`.
#[derive(Debug, Args)]
pub struct SweepArgs {
    /// A library scenario name or a path to a `.toml` file.
    pub scenario: String,
    /// Seeds to run, inclusive: `A..B` (e.g. `1..1000`).
    #[arg(long)]
    pub seeds: SeedRange,
    /// Worker threads (default: the number of CPUs).
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Run only shard `i` of `n` (1-based): seed `s` belongs to shard `((s − A) mod n) + 1`.
    #[arg(long)]
    pub shard: Option<Shard>,
    /// Write the sweep report (JSON) here, atomically.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// What to print.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    #[command(flatten)]
    library: LibraryArgs,
}

/// `stage4 report …`.
#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Combine the sweep reports of every shard of one sweep into one report (strict: the
    /// shards must cover the range exactly, and one seed must always have one digest). Exit 0
    /// every run passed, 1 some failed, 2 the shards do not fit together.
    Merge(MergeArgs),
}

/// `report merge`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Sweep reports (JSON), one per shard.
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// Write the merged report (JSON) here, atomically.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// What to print.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
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
            let (path, plan) = load_plan(&args.scenario, &args.library)?;
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
        ScenarioCommand::Sweep(args) => {
            let (_, plan) = load_plan(&args.scenario, &args.library)?;
            let jobs = args
                .jobs
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
            anyhow::ensure!(jobs >= 1, "--jobs must be at least 1");
            let total = match args.shard {
                Some(s) => args.seeds.shard_seeds(s).count() as u64,
                None => args.seeds.len(),
            };
            let bar = if std::io::stderr().is_terminal() {
                let bar = ProgressBar::new(total);
                bar.set_style(
                    ProgressStyle::with_template(
                        "{prefix} [{bar:40}] {pos}/{len} seeds, {eta} left",
                    )
                    .expect("a valid template")
                    .progress_chars("=> "),
                );
                bar.set_prefix(plan.name.clone());
                bar
            } else {
                ProgressBar::hidden()
            };
            let report = sweep::sweep(&plan, args.seeds, args.shard, jobs, &|n| {
                bar.set_position(n)
            })?;
            bar.finish_and_clear();
            print_sweep(&report, args.out.as_deref(), args.format)
        }
    }
}

/// The scenario an argument names (a file, or a name in the library) and its loaded plan.
fn load_plan(scenario: &str, lib: &LibraryArgs) -> Result<(PathBuf, ScenarioPlan)> {
    let dir = library::resolve_dir(lib.scenarios_dir.as_deref()).ok();
    let path = library::locate(scenario, dir.as_deref())?;
    let plan = crate::scenario::plan::load(&path)?;
    Ok((path, plan))
}

/// Runs a `report` command.
pub fn run_report(cmd: ReportCommand) -> Result<Exit> {
    match cmd {
        ReportCommand::Merge(args) => {
            let mut reports = Vec::new();
            for path in &args.inputs {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                let report: SweepReport = serde_json::from_str(&text)
                    .with_context(|| format!("{} is not a sweep report", path.display()))?;
                reports.push(report);
            }
            let merged = merge(reports)?;
            print_sweep(&merged, args.out.as_deref(), args.format)
        }
    }
}

fn print_sweep(report: &SweepReport, out: Option<&Path>, format: Format) -> Result<Exit> {
    let body = json::to_pretty_sorted(report)?;
    if let Some(path) = out {
        fsio::write_atomic(path, format!("{body}\n").as_bytes(), fsio::PUBLIC)?;
    }
    match format {
        Format::Json => println!("{body}"),
        Format::Text => {
            let mut rendered = String::new();
            text::sweep(report, &mut rendered)?;
            print!("{rendered}");
        }
    }
    Ok(if report.verdict() == Verdict::Pass {
        Exit::Ok
    } else {
        Exit::Failed
    })
}

fn display(path: &Path) -> String {
    path.display().to_string()
}
