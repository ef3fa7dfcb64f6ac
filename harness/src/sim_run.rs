//! `stage4 sim run`: one market run streamed to disk.
//!
//! Writes into the output directory:
//! - `bars.csv`: every bar in the replay format of `fixtures/market/README.md`
//!   (`timestamp,venue,symbol,open,high,low,close,volume`, exact decimals), streamed row by
//!   row to `.bars.csv.partial` and renamed when complete, so a year of bars never sits in
//!   memory and a crashed run never leaves a truncated `bars.csv`;
//! - `summary.json` (atomic): seed, the resolved config, counts per event kind, run
//!   statistics and the trace digest. No wall-clock values, so two runs with the same inputs
//!   write byte-identical files.

use std::fs;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use serde::Serialize;
use stage4_engine::domain::{
    Bar, InstrumentSpec, MarketEvent, SimDuration, SimTime, Symbol, VenueId,
};
use stage4_sim::market::process::PriceModel;
use stage4_sim::market::replay::{HEADER, parse_csv};
use stage4_sim::trace::TraceCounts;
use stage4_sim::{Delivered, SimBuilder, SimConfig, SimStats};

use crate::fsio::{PUBLIC, write_atomic};

/// Version of the `summary.json` layout.
pub const SUMMARY_SCHEMA_VERSION: u32 = 1;

/// Which built-in price model to run every symbol with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelChoice {
    /// Geometric random walk with the symbol's default volatility.
    Gbm,
    /// Ornstein–Uhlenbeck on the log price, half-life 1 h.
    MeanReverting,
    /// Calm/burst regimes: calm at the default volatility, bursts at 5×.
    RegimeSwitching,
    /// GBM plus about 4 jumps a day of σ 1 %.
    Jump,
}

impl ModelChoice {
    /// The model with this choice's parameters for a symbol of default volatility `vol`.
    pub fn model(self, vol: f64) -> PriceModel {
        match self {
            ModelChoice::Gbm => PriceModel::Gbm { vol, drift: 0.0 },
            ModelChoice::MeanReverting => PriceModel::MeanReverting {
                vol,
                half_life: SimDuration::from_hours(1),
                mean: None,
            },
            ModelChoice::RegimeSwitching => PriceModel::RegimeSwitching {
                vol_calm: vol,
                vol_burst: vol * 5.0,
                calm_duration: SimDuration::from_hours(6),
                burst_duration: SimDuration::from_mins(30),
            },
            ModelChoice::Jump => PriceModel::Jump {
                vol,
                jumps_per_day: 4.0,
                jump_mean: 0.0,
                jump_stdev: 0.01,
            },
        }
    }
}

/// A validated `sim run` request.
#[derive(Clone, Debug)]
pub struct SimRunPlan {
    /// Master seed.
    pub seed: u64,
    /// Venues.
    pub venues: Vec<VenueId>,
    /// Symbols.
    pub symbols: Vec<Symbol>,
    /// Bar size.
    pub bar: SimDuration,
    /// Run length (`None` with a replay: the file's span).
    pub duration: Option<SimDuration>,
    /// First instant (`None`: 2026-01-01T00:00:00Z, or the replay's first bar).
    pub start: Option<SimTime>,
    /// Quote spacing.
    pub quote_interval: SimDuration,
    /// Price model (generated markets only).
    pub model: Option<ModelChoice>,
    /// Recorded bars to replay.
    pub replay: Option<PathBuf>,
    /// Output directory.
    pub out: PathBuf,
}

/// What `summary.json` holds.
#[derive(Clone, Debug, Serialize)]
pub struct SimRunSummary {
    /// Layout version.
    pub schema_version: u32,
    /// Master seed.
    pub seed: u64,
    /// SHA-256 of the canonical event trace.
    pub digest: String,
    /// The run as configured.
    pub config: SummaryConfig,
    /// Events per kind.
    pub counts: TraceCounts,
    /// Run statistics.
    pub stats: SimStats,
    /// Rows in `bars.csv`.
    pub bars_written: u64,
}

/// The resolved configuration echoed into the summary.
#[derive(Clone, Debug, Serialize)]
pub struct SummaryConfig {
    /// Venues.
    pub venues: Vec<VenueId>,
    /// Symbols with their resolved specs, start prices and models.
    pub symbols: Vec<SummarySymbol>,
    /// Bar size.
    pub bar: SimDuration,
    /// First instant.
    pub start: SimTime,
    /// Run length.
    pub duration: SimDuration,
    /// Quote spacing.
    pub quote_interval: SimDuration,
    /// Replay file name (no directory), when replaying.
    pub replay: Option<String>,
}

/// One symbol in the summary.
#[derive(Clone, Debug, Serialize)]
pub struct SummarySymbol {
    /// The instrument.
    pub symbol: Symbol,
    /// Tick, lot and minimums.
    pub spec: InstrumentSpec,
    /// Starting fair price.
    pub start_price: f64,
    /// Fair-price process (absent when replaying).
    pub model: Option<PriceModel>,
}

/// The default start of generated runs.
pub fn default_start() -> SimTime {
    SimTime::parse_rfc3339("2026-01-01T00:00:00Z").expect("valid constant")
}

/// Runs the plan, streaming bars to `out/bars.csv` and writing `out/summary.json`.
pub fn run(plan: &SimRunPlan) -> Result<SimRunSummary> {
    fs::create_dir_all(&plan.out)
        .with_context(|| format!("--out: cannot create directory {}", plan.out.display()))?;
    let probe = tempfile::Builder::new()
        .prefix(".stage4-probe-")
        .tempfile_in(&plan.out)
        .with_context(|| format!("--out: cannot write in {}", plan.out.display()))?;
    drop(probe);

    let config = build_config(plan)?;
    let builder = SimBuilder::new(config).map_err(|e| anyhow::anyhow!("invalid run: {e}"))?;
    let market = builder.market_plan().clone();
    let specs: Vec<InstrumentSpec> = market.symbols.iter().map(|s| s.spec.clone()).collect();
    let mut sim = builder.build();

    let partial = plan.out.join(".bars.csv.partial");
    let file = fs::File::create(&partial)
        .with_context(|| format!("--out: cannot create {}", partial.display()))?;
    let mut csv = BufWriter::with_capacity(1 << 16, file);
    writeln!(csv, "{HEADER}")?;
    let mut bars_written = 0u64;
    let mut line = String::with_capacity(128);
    while let Some(delivery) = sim.step() {
        if let Delivered::Market(MarketEvent::Bar(bar)) = delivery.item {
            let spec = specs
                .iter()
                .find(|s| s.symbol == bar.symbol)
                .expect("bars are of configured symbols");
            line.clear();
            bar_row(&mut line, &bar, spec);
            csv.write_all(line.as_bytes())
                .with_context(|| format!("cannot write {}", partial.display()))?;
            bars_written += 1;
        }
    }
    let file = csv
        .into_inner()
        .map_err(|e| e.into_error())
        .with_context(|| format!("cannot write {}", partial.display()))?;
    file.sync_all()
        .with_context(|| format!("cannot write {}", partial.display()))?;
    drop(file);
    let bars_path = plan.out.join("bars.csv");
    fs::rename(&partial, &bars_path)
        .with_context(|| format!("cannot replace {}", bars_path.display()))?;

    let summary = SimRunSummary {
        schema_version: SUMMARY_SCHEMA_VERSION,
        seed: sim.seed(),
        digest: sim.digest_hex(),
        config: SummaryConfig {
            venues: plan.venues.clone(),
            symbols: market
                .symbols
                .iter()
                .map(|s| SummarySymbol {
                    symbol: s.symbol,
                    spec: s.spec.clone(),
                    start_price: s.start_price,
                    model: plan.replay.is_none().then(|| s.model.clone()),
                })
                .collect(),
            bar: plan.bar,
            start: market.start,
            duration: market.duration,
            quote_interval: market.quote_interval,
            replay: plan
                .replay
                .as_ref()
                .and_then(|p| p.file_name())
                .map(|n| n.to_string_lossy().into_owned()),
        },
        counts: sim.counts().clone(),
        stats: sim.stats(),
        bars_written,
    };
    let mut json = serde_json::to_vec_pretty(&summary)?;
    json.push(b'\n');
    write_atomic(&plan.out.join("summary.json"), &json, PUBLIC)?;
    Ok(summary)
}

fn build_config(plan: &SimRunPlan) -> Result<SimConfig> {
    let mut replay_bars: Option<Vec<Bar>> = None;
    let mut start = plan.start.unwrap_or_else(default_start);
    let mut duration = plan.duration.unwrap_or(SimDuration::from_days(1));
    if let Some(path) = &plan.replay {
        let text = fs::read_to_string(path)
            .with_context(|| format!("--replay: cannot read {}", path.display()))?;
        let specs = plan
            .symbols
            .iter()
            .map(|s| Ok((*s, stage4_sim::market::instruments::default_spec(*s)?)))
            .collect::<Result<std::collections::BTreeMap<_, _>, stage4_sim::ConfigError>>()
            .map_err(|e| anyhow::anyhow!("--symbols: {e}"))?;
        let bars = parse_csv(&text, plan.bar, &specs)
            .map_err(|e| anyhow::anyhow!("--replay: {}: {e}", path.display()))?;
        for bar in &bars {
            if !plan.venues.contains(&bar.venue) {
                bail!(
                    "--replay: {} has bars of venue `{}`, which is not in --venues",
                    path.display(),
                    bar.venue
                );
            }
        }
        let first = bars
            .iter()
            .map(|b| b.open_at)
            .min()
            .expect("parse_csv refuses empty files");
        let last = bars
            .iter()
            .map(|b| b.close_at())
            .max()
            .expect("parse_csv refuses empty files");
        start = plan.start.unwrap_or(first);
        duration = plan
            .duration
            .unwrap_or_else(|| last.saturating_since(start));
        if duration.is_zero() {
            bail!(
                "--start: {start} is at or after the last bar of {} ({last})",
                path.display()
            );
        }
        replay_bars = Some(bars);
    }
    let mut config = SimConfig::new(plan.seed, start, duration, &plan.venues, &plan.symbols);
    config.quote_interval = plan.quote_interval;
    config.bar_intervals = vec![plan.bar];
    config.replay = replay_bars;
    if let Some(model) = plan.model {
        for s in &mut config.symbols {
            let vol = stage4_sim::market::instruments::defaults_for(s.symbol).vol_per_sqrt_sec;
            s.model = Some(model.model(vol));
        }
    }
    Ok(config)
}

/// Appends one replay-format row for `bar`.
fn bar_row(out: &mut String, bar: &Bar, spec: &InstrumentSpec) {
    use std::fmt::Write as _;
    let tick_decimals = decimals(spec.tick_atoms);
    let lot_decimals = decimals(spec.lot_atoms);
    let _ = write!(out, "{},{},{}", bar.open_at, bar.venue, bar.symbol);
    for price in [bar.open, bar.high, bar.low, bar.close] {
        out.push(',');
        push_decimal(
            out,
            i128::from(price.0) * i128::from(spec.tick_atoms),
            tick_decimals,
        );
    }
    out.push(',');
    push_decimal(
        out,
        i128::from(bar.volume.0) * i128::from(spec.lot_atoms),
        lot_decimals,
    );
    out.push('\n');
}

/// Fractional digits needed to print multiples of `atoms` exactly (0.01 → 2).
fn decimals(atoms: i64) -> usize {
    let mut d = 8;
    let mut a = atoms;
    while d > 0 && a % 10 == 0 {
        a /= 10;
        d -= 1;
    }
    d
}

/// Writes `atoms` (10⁻⁸ units) with exactly `decimals` fractional digits.
fn push_decimal(out: &mut String, atoms: i128, decimals: usize) {
    use std::fmt::Write as _;
    let sign = if atoms < 0 { "-" } else { "" };
    let abs = atoms.unsigned_abs();
    let whole = abs / 100_000_000;
    let frac = abs % 100_000_000;
    if decimals == 0 {
        let _ = write!(out, "{sign}{whole}");
    } else {
        let scaled = frac / 10u128.pow(8 - decimals as u32);
        let _ = write!(out, "{sign}{whole}.{scaled:0decimals$}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stage4_engine::domain::{Price, Qty};

    #[test]
    fn decimals_print_exactly() {
        let cases = [
            (1_000_000, 6_000_012, "60000.12"),
            (10_000, 12_345, "1.2345"),
            (100_000_000, 42, "42"),
            (1_000, 15_000, "0.15000"),
        ];
        for (unit, count, text) in cases {
            let mut s = String::new();
            push_decimal(&mut s, i128::from(count) * i128::from(unit), decimals(unit));
            assert_eq!(s, text, "{unit} × {count}");
        }
    }

    #[test]
    fn a_bar_row_parses_back_with_the_replay_parser() {
        let symbol = Symbol::new("BTC_USDT").unwrap();
        let spec = stage4_sim::market::instruments::default_spec(symbol).unwrap();
        let bar = Bar {
            venue: VenueId::new("binance").unwrap(),
            symbol,
            open_at: default_start(),
            interval: SimDuration::from_mins(1),
            open: Price(6_000_000),
            high: Price(6_001_234),
            low: Price(5_999_001),
            close: Price(6_000_500),
            volume: Qty(12_345),
        };
        let mut text = format!("{HEADER}\n");
        bar_row(&mut text, &bar, &spec);
        let specs = [(symbol, spec)].into_iter().collect();
        assert_eq!(
            parse_csv(&text, SimDuration::from_mins(1), &specs).unwrap(),
            vec![bar]
        );
    }
}
