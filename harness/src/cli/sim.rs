//! `stage4 sim ...`: the simulator on its own (no engine): generate or replay a market,
//! stream its bars to disk and print the run's digest.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Subcommand, ValueEnum};
use stage4_engine::domain::{SimDuration, SimTime, Symbol, VenueId};

use crate::exit::Exit;
use crate::sim_run::{self, ModelChoice, SimRunPlan};

/// Simulator commands.
#[derive(Debug, Subcommand)]
pub enum SimCommand {
    /// Generate (or replay) a market and stream it to disk: bars.csv, summary.json, digest.
    ///
    /// Same flags and seed ⇒ byte-identical files and the same digest, on any machine.
    Run(SimRunArgs),
}

/// Price models selectable with `--model`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ModelArg {
    /// Geometric random walk at the symbol's default volatility.
    #[value(name = "gbm")]
    Gbm,
    /// Ornstein–Uhlenbeck on the log price (half-life 1h).
    #[value(name = "mean_reverting")]
    MeanReverting,
    /// Calm/burst volatility regimes (bursts at 5×, ~30 min every ~6 h).
    #[value(name = "regime_switching")]
    RegimeSwitching,
    /// GBM plus Poisson jumps (~4 a day, σ 1 %).
    #[value(name = "jump")]
    Jump,
}

/// Arguments of `stage4 sim run`.
#[derive(Debug, Args)]
pub struct SimRunArgs {
    /// Master seed of every random stream (printed and written into summary.json).
    #[arg(long)]
    pub seed: u64,
    /// Comma-separated venue names, lower case (e.g. binance,kraken).
    #[arg(long, value_delimiter = ',', required = true, value_parser = parse_venue)]
    pub venues: Vec<VenueId>,
    /// Comma-separated symbols BASE_QUOTE (e.g. BTC_USDT,ETH_USDT); the quote must be a
    /// known asset (USDT, USDC, USD, EUR, BTC, ETH, PLN, GBP, CHF).
    #[arg(long, value_delimiter = ',', required = true, value_parser = parse_symbol)]
    pub symbols: Vec<Symbol>,
    /// Bar size, 1s … 1d, dividing one day (1m, 5m, 1h, ...). With --replay: the file's bar size.
    #[arg(long, default_value = "1m", value_parser = parse_bar)]
    pub bar: SimDuration,
    /// Length of the run (e.g. 1d, 12h, 365d). Default 1d; with --replay, the file's span.
    #[arg(long, value_parser = parse_positive_duration)]
    pub duration: Option<SimDuration>,
    /// First instant, RFC 3339 (default 2026-01-01T00:00:00Z; with --replay, its first bar).
    #[arg(long, value_parser = parse_time)]
    pub start: Option<SimTime>,
    /// Spacing of top-of-book updates per venue and symbol; must divide --bar. 5s gives 12
    /// prices per 1-minute bar and keeps a year of 10 symbols × 3 venues to about 1.5 minutes.
    #[arg(long, default_value = "5s", value_parser = parse_positive_duration)]
    pub quote_interval: SimDuration,
    /// Price model for every symbol (default: gbm).
    #[arg(long, value_enum)]
    pub model: Option<ModelArg>,
    /// Replay recorded bars from this CSV (format: fixtures/market/README.md) instead of
    /// generating prices.
    #[arg(long, conflicts_with = "model")]
    pub replay: Option<PathBuf>,
    /// Output directory (created if missing): bars.csv and summary.json.
    #[arg(long)]
    pub out: PathBuf,
}

fn parse_venue(text: &str) -> Result<VenueId, String> {
    VenueId::new(text.trim()).map_err(|e| e.to_string())
}

fn parse_symbol(text: &str) -> Result<Symbol, String> {
    let symbol = Symbol::new(text.trim()).map_err(|e| e.to_string())?;
    if symbol.split_assets().is_none() {
        return Err(format!(
            "`{symbol}` is not BASE_QUOTE with a known quote asset (USDT, USDC, USD, EUR, BTC, ETH, PLN, GBP, CHF), e.g. BTC_USDT"
        ));
    }
    Ok(symbol)
}

fn parse_positive_duration(text: &str) -> Result<SimDuration, String> {
    let d = SimDuration::parse(text).map_err(|e| e.to_string())?;
    if d.is_zero() {
        return Err("must be longer than 0s".into());
    }
    Ok(d)
}

fn parse_bar(text: &str) -> Result<SimDuration, String> {
    let d = parse_positive_duration(text)?;
    let day = SimDuration::from_days(1);
    if d > day
        || !day.as_nanos().is_multiple_of(d.as_nanos())
        || d.as_nanos() % SimDuration::from_secs(1).as_nanos() != 0
    {
        return Err(format!(
            "{d} must be whole seconds between 1s and 1d and divide one day (1s, 1m, 5m, 15m, 1h, 4h, 1d, ...)"
        ));
    }
    Ok(d)
}

fn parse_time(text: &str) -> Result<SimTime, String> {
    SimTime::parse_rfc3339(text).map_err(|e| e.to_string())
}

/// Runs a `sim` subcommand.
pub fn run(command: SimCommand) -> Result<Exit> {
    match command {
        SimCommand::Run(args) => run_sim(args),
    }
}

fn run_sim(args: SimRunArgs) -> Result<Exit> {
    if !args
        .bar
        .as_nanos()
        .is_multiple_of(args.quote_interval.as_nanos())
    {
        anyhow::bail!(
            "--quote-interval: {} must divide --bar {}",
            args.quote_interval,
            args.bar
        );
    }
    let plan = SimRunPlan {
        seed: args.seed,
        venues: args.venues,
        symbols: args.symbols,
        bar: args.bar,
        duration: args.duration,
        start: args.start,
        quote_interval: args.quote_interval,
        model: args.model.map(|m| match m {
            ModelArg::Gbm => ModelChoice::Gbm,
            ModelArg::MeanReverting => ModelChoice::MeanReverting,
            ModelArg::RegimeSwitching => ModelChoice::RegimeSwitching,
            ModelArg::Jump => ModelChoice::Jump,
        }),
        replay: args.replay,
        out: args.out,
    };
    let summary = sim_run::run(&plan)?;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "seed {}", summary.seed)?;
    writeln!(stdout, "digest {}", summary.digest)?;
    writeln!(
        stdout,
        "{} bars, {} quotes -> {}",
        summary.bars_written,
        summary.counts.quotes,
        plan.out.join("bars.csv").display()
    )?;
    Ok(Exit::Ok)
}
