//! `stage4 scheduler ...`: the multi-strategy scheduler's operator commands. For now the load
//! test (`scheduler load-test`, the reference `load_test_scheduler.py`).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use crate::cli::common;
use crate::config::CoreConfig;
use crate::exit::Exit;
use crate::load_test::plan::{self, LoadTestPlan, Pacing, ScheduleSource};
use crate::load_test::{LoadTest, report, schedules};
use stage4_reports::load_test::Verdict;

/// Scheduler commands.
#[derive(Debug, Subcommand)]
pub enum SchedulerCommand {
    /// Load-test the multi-strategy scheduler: real strategies on a simulated market, timed on
    /// the wall clock, with the process's measured CPU and memory.
    ///
    /// Writes the JSON report to --output (default `logs/load_tests/<UTC timestamp>.json`) and
    /// prints a summary. Exit 0 pass, 1 fail (p99 latency ≥ 250 ms, a budget breached, or a
    /// failed run), 2 bad input.
    LoadTest(LoadTestArgs),
}

/// Arguments of `stage4 scheduler load-test` (the reference flags and defaults, plus
/// `--rate`, `--warmup`, `--config`, `--scheduler`, `--seed`, `--json`).
#[derive(Debug, Args)]
pub struct LoadTestArgs {
    /// Measured iterations; one iteration runs every schedule once (`run_once`).
    #[arg(long, value_name = "N", default_value_t = plan::DEFAULT_ITERATIONS,
          allow_negative_numbers = true, value_parser = parse_iterations)]
    pub iterations: u32,
    /// Synthetic schedules to register (default 3). Not with --config, whose schedules run.
    #[arg(long, value_name = "N", conflicts_with = "config",
          allow_negative_numbers = true, value_parser = parse_schedules)]
    pub schedules: Option<u32>,
    /// Signal limit per snapshot, `max_signals` (default 4; with --config it replaces every
    /// configured schedule's `max_signals`).
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = parse_signals)]
    pub signals: Option<u32>,
    /// Simulated strategy compute per strategy call, ms (a run calls its strategy once per
    /// snapshot, two snapshots per run). Spins the CPU on the wall clock; 0 for none.
    #[arg(long, value_name = "MS", default_value_t = plan::DEFAULT_LATENCY_MS,
          allow_negative_numbers = true, value_parser = plan::check_latency_ms_arg)]
    pub latency_ms: f64,
    /// CPU budget, percent of the CPU capacity available to the process.
    #[arg(long, value_name = "PERCENT", default_value_t = plan::DEFAULT_CPU_BUDGET,
          allow_negative_numbers = true, value_parser = parse_cpu_budget)]
    pub cpu_budget: f64,
    /// Memory budget for the process's peak RSS, MB.
    #[arg(long, value_name = "MB", default_value_t = plan::DEFAULT_MEMORY_BUDGET,
          allow_negative_numbers = true, value_parser = parse_memory_budget)]
    pub memory_budget: f64,
    /// Where to write the JSON report (parents created, written atomically).
    #[arg(long, value_name = "PATH")]
    pub output: Option<PathBuf>,
    /// Open loop: start iterations at this rate per second and measure latency from each
    /// one's intended start (corrects coordinated omission). Default: closed loop.
    #[arg(long, value_name = "PER_S", allow_negative_numbers = true,
          value_parser = plan::check_rate_arg)]
    pub rate: Option<f64>,
    /// Iterations to run first and leave out of every figure.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub warmup: u32,
    /// Take schedules and strategies from this core.yaml
    /// (`runtime.multi_strategy_schedulers.<name>.schedules` and the strategy sections). Every
    /// schedule reads the load test's 1-minute bars, whatever its `interval`.
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// With --config: which scheduler's schedules to run (needed when there are several).
    #[arg(long, value_name = "NAME", requires = "config")]
    pub scheduler: Option<String>,
    /// Seed of the simulated market.
    #[arg(long, default_value_t = plan::DEFAULT_SEED)]
    pub seed: u64,
    /// Print the JSON report on stdout instead of the summary (as the reference did).
    #[arg(long)]
    pub json: bool,
}

fn parse_count(text: &str, what: &str, max: u32) -> Result<u32, String> {
    let v: i64 = text
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a whole number of {what}"))?;
    if v < 1 {
        return Err(format!("must be at least 1 (got {v})"));
    }
    u32::try_from(v)
        .ok()
        .filter(|v| *v <= max)
        .ok_or_else(|| format!("{v} is more than {max}"))
}

fn parse_iterations(text: &str) -> Result<u32, String> {
    parse_count(text, "iterations", plan::MAX_ITERATIONS)
}

fn parse_schedules(text: &str) -> Result<u32, String> {
    parse_count(text, "schedules", plan::MAX_SCHEDULES)
}

fn parse_signals(text: &str) -> Result<u32, String> {
    parse_count(text, "signals", u32::MAX)
}

fn parse_cpu_budget(text: &str) -> Result<f64, String> {
    plan::check_budget(plan::parse_number(text)?, "percent")
}

fn parse_memory_budget(text: &str) -> Result<f64, String> {
    plan::check_budget(plan::parse_number(text)?, "MB")
}

/// Runs a `scheduler` subcommand.
pub fn run(command: SchedulerCommand) -> Result<Exit> {
    match command {
        SchedulerCommand::LoadTest(args) => load_test(args),
    }
}

/// Builds the validated plan from the flags (reads `--config`).
pub fn plan_from_args(args: &LoadTestArgs) -> Result<LoadTestPlan> {
    let (schedules, source, signals) = match &args.config {
        None => {
            let signals = args.signals.unwrap_or(plan::DEFAULT_SIGNALS);
            let count = args.schedules.unwrap_or(plan::DEFAULT_SCHEDULES);
            (
                schedules::synthetic(count, signals),
                ScheduleSource::Synthetic,
                signals,
            )
        }
        Some(path) => {
            let config = CoreConfig::load(path)?;
            let mut configured = schedules::from_core_config(&config, args.scheduler.as_deref())?;
            if let Some(n) = args.signals {
                for s in &mut configured.set.schedules {
                    s.spec.max_signals = n;
                }
            }
            let signals = configured
                .set
                .schedules
                .iter()
                .map(|s| s.spec.max_signals)
                .max()
                .unwrap_or(1);
            (
                configured.set,
                ScheduleSource::Config {
                    path: config.path().to_path_buf(),
                    scheduler: configured.scheduler,
                },
                signals,
            )
        }
    };
    let plan = LoadTestPlan {
        iterations: args.iterations,
        warmup: args.warmup,
        schedules,
        source,
        signals_per_snapshot: signals,
        simulated_latency: Duration::from_secs_f64(args.latency_ms / 1e3),
        cpu_budget_percent: args.cpu_budget,
        memory_budget_mb: args.memory_budget,
        pacing: match args.rate {
            Some(rate_per_s) => Pacing::OpenLoop { rate_per_s },
            None => Pacing::ClosedLoop,
        },
        seed: args.seed,
    };
    plan.validate()?;
    Ok(plan)
}

/// `logs/load_tests/<UTC timestamp>.json`.
fn default_output() -> PathBuf {
    let now = time::OffsetDateTime::now_utc();
    let stamp = now
        .format(time::macros::format_description!(
            "[year][month][day]T[hour][minute][second]Z"
        ))
        .expect("the timestamp format is valid");
    Path::new("logs/load_tests").join(format!("{stamp}.json"))
}

/// Fails now, not after the run, when the report could not be written.
fn check_writable(path: &Path) -> Result<()> {
    if path.is_dir() {
        anyhow::bail!(
            "--output: {} is a directory, expected a file path",
            path.display()
        );
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir)
        .with_context(|| format!("--output: cannot create directory {}", dir.display()))?;
    let probe = tempfile::Builder::new()
        .prefix(".stage4-probe-")
        .tempfile_in(dir)
        .with_context(|| format!("--output: cannot write in {}", dir.display()))?;
    drop(probe);
    Ok(())
}

fn progress_bar() -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let style = ProgressStyle::with_template(
        "load test {bar:30} {pos}/{len} iterations [{elapsed_precise} < {eta_precise}]",
    )
    .expect("the progress template is valid");
    ProgressBar::new(0).with_style(style)
}

fn load_test(args: LoadTestArgs) -> Result<Exit> {
    let plan = plan_from_args(&args)?;
    let output = args.output.clone().unwrap_or_else(default_output);
    check_writable(&output)?;
    let report = LoadTest::new(plan)?.progress(progress_bar()).run()?;
    let json = report::to_json(&report);
    common::write_report(&output, &json).map_err(|e| anyhow::anyhow!("--output: {e:#}"))?;
    if args.json {
        common::print(&json)?;
    } else {
        common::print(&report::summary(&report, Some(&output)))?;
    }
    Ok(match report.verdict {
        Verdict::Pass => Exit::Ok,
        Verdict::Fail => Exit::Failed,
    })
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, Command};

    fn args(extra: &[&str]) -> LoadTestArgs {
        let mut argv = vec!["stage4", "scheduler", "load-test"];
        argv.extend_from_slice(extra);
        match Cli::try_parse_from(argv).unwrap().command {
            Command::Scheduler(SchedulerCommand::LoadTest(a)) => a,
            other => panic!("parsed as {other:?}"),
        }
    }

    #[test]
    fn no_flags_is_the_reference_invocation() {
        let plan = plan_from_args(&args(&[])).unwrap();
        assert_eq!(plan, LoadTestPlan::synthetic(3));
        assert_eq!(plan.iterations, 10);
        assert_eq!(plan.signals_per_snapshot, 4);
        assert_eq!(plan.simulated_latency_ms(), 2.0);
        assert_eq!(
            (plan.cpu_budget_percent, plan.memory_budget_mb),
            (70.0, 3072.0)
        );
        assert_eq!(
            (plan.pacing, plan.seed, plan.warmup),
            (Pacing::ClosedLoop, 7, 0)
        );
    }

    #[test]
    fn flags_reach_the_plan() {
        let plan = plan_from_args(&args(&[
            "--iterations",
            "180",
            "--schedules",
            "5",
            "--signals",
            "2",
            "--latency-ms",
            "0.5",
            "--cpu-budget",
            "75",
            "--memory-budget",
            "4096",
            "--rate",
            "20",
            "--warmup",
            "3",
            "--seed",
            "11",
        ]))
        .unwrap();
        assert_eq!(
            (plan.iterations, plan.schedule_count(), plan.warmup),
            (180, 5, 3)
        );
        assert!(
            plan.schedules
                .schedules
                .iter()
                .all(|s| s.spec.max_signals == 2)
        );
        assert_eq!(plan.simulated_latency_ms(), 0.5);
        assert_eq!(plan.pacing, Pacing::OpenLoop { rate_per_s: 20.0 });
        assert_eq!(
            (plan.cpu_budget_percent, plan.memory_budget_mb, plan.seed),
            (75.0, 4096.0, 11)
        );
    }

    #[test]
    fn with_config_signals_replace_the_configured_limits() {
        let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/oem/core.yaml");
        let config = config.to_str().unwrap();
        let own = plan_from_args(&args(&["--config", config])).unwrap();
        let limits: Vec<u32> = own
            .schedules
            .schedules
            .iter()
            .map(|s| s.spec.max_signals)
            .collect();
        assert_eq!(limits, [4, 2, 6]);
        assert_eq!(own.signals_per_snapshot, 6);
        assert!(
            matches!(&own.source, ScheduleSource::Config { scheduler, .. } if scheduler == "core_multi_pipeline")
        );
        let capped = plan_from_args(&args(&["--config", config, "--signals", "1"])).unwrap();
        assert!(
            capped
                .schedules
                .schedules
                .iter()
                .all(|s| s.spec.max_signals == 1)
        );
        assert_eq!(capped.signals_per_snapshot, 1);
    }
}
