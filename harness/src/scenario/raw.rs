//! A scenario file as written: serde structs that mirror the TOML, refuse unknown keys, and
//! keep the position of every value a later check may need to point at. Nothing here is
//! validated beyond types; [`super::plan`] turns a [`RawScenario`] into a plan.
//!
//! ```toml
//! name = "latency_alert"
//! description = "..."
//! seed = 7
//! as_of = "2026-11-28T09:00:00Z"   # simulated start
//! duration = "2h"
//! risk_profile = "balanced"         # default for schedules
//!
//! [site]                            # training OEM site used by audit actions
//! rotated_days_ago = 80
//!
//! [engine]                          # optional; every key has a default
//! capital = 300000
//! capital_policy = "equal_weight"   # a name or a table, as in core.yaml
//! [engine.portfolio_governor]       # optional (`portfolio_governor = true` under [engine]:
//! rebalance_interval_minutes = 30   #   the reference core.yaml table)
//! strategies.mr_core = { baseline_weight = 0.5, min_weight = 0.1, max_weight = 0.9, baseline_max_signals = 5 }
//!
//! [market]
//! venues = ["binance", "kraken"]
//! symbols = ["BTC_USDT", "ETH_USDT"]
//! bar = "1m"
//! model = { kind = "regime_switching", vol_calm = 0.0001, vol_burst = 0.0004 }
//! [market.venue.kraken]             # optional per-venue settings (simulator VenueConfig)
//! basis_bps = 8
//!
//! [[schedules]]
//! name = "mr_core"
//! strategy = { kind = "mean_reversion", lookback = 60 }
//! cadence = "60s"
//!
//! [[faults]]
//! at = "40m"
//! for = "20m"
//! kind = "strategy_latency"
//! schedule = "mr_core"
//! latency = "300ms"
//!
//! [[actions]]
//! at = "45m"
//! do = "audit_compliance"
//! flags = ["--mtls-bundle-name", "core-oem"]
//!
//! [[expect]]
//! alert = "MultiStrategySchedulerLatencyHigh"
//! fires_within = "5m"
//! ```

use std::collections::BTreeMap;

use serde::Deserialize;
use stage4_engine::strategy::StrategyConfig;
use stage4_sim::config::{DepthConfig, FeeSchedule, RateLimit, VenueLatency};
use stage4_sim::market::process::PriceModel;
use toml::Spanned;

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawScenario {
    /// Scenario name (must match the file name for library scenarios).
    pub name: Spanned<String>,
    /// What it exercises, for people.
    pub description: String,
    /// Master seed (overridable with `--seed`).
    pub seed: u64,
    /// Simulated start, RFC 3339.
    pub as_of: Spanned<String>,
    /// Length, e.g. `3h`.
    pub duration: Spanned<String>,
    /// Default risk profile of schedules (default `balanced`).
    #[serde(default)]
    pub risk_profile: Option<Spanned<String>>,
    /// Environment name in the decision log (default `scenario`).
    #[serde(default)]
    pub environment: Option<String>,
    /// The training site audit actions run against.
    #[serde(default)]
    pub site: Option<RawSite>,
    /// Engine settings.
    #[serde(default)]
    pub engine: Option<RawEngine>,
    /// The simulated market.
    pub market: RawMarket,
    /// Schedules and their strategies.
    pub schedules: Vec<RawSchedule>,
    /// Faults on the timeline.
    #[serde(default)]
    pub faults: Vec<Spanned<RawFault>>,
    /// Operator actions on the timeline.
    #[serde(default)]
    pub actions: Vec<Spanned<RawAction>>,
    /// Expectations checked at the end.
    #[serde(default)]
    pub expect: Vec<Spanned<RawExpect>>,
}

/// `[site]`: how to materialize the training OEM site.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSite {
    /// Days between the last mTLS rotation and the scenario start (default 5).
    pub rotated_days_ago: Option<f64>,
    /// Validity of the generated certificates in days (default 365).
    pub cert_valid_days: Option<u32>,
    /// Which certificate to generate already expired (`server`, `client`, `ca`).
    pub expired: Option<Spanned<String>>,
}

/// `[engine]`: capital, sizing and signing.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEngine {
    /// Total starting capital in the quote asset (default 300000).
    pub capital: Option<f64>,
    /// Fraction of a schedule's capital per mean-reversion entry (default 0.1).
    pub position_size: Option<f64>,
    /// Capital policy (a name or a table, as in `core.yaml`; default `risk_parity`).
    pub capital_policy: Option<serde_json::Value>,
    /// Portfolio governor (engine.md §5; default none): `true`, `"reference"` or
    /// `"stage6_core"` for the reference `core.yaml` one, `false` for none, or a table in the
    /// shape of `core.yaml`'s `portfolio_governor` section — `enabled`,
    /// `rebalance_interval_minutes`, `smoothing`, `scoring = { alpha, cost, slo, risk }`,
    /// `default_baseline_weight`, `default_min_weight`, `default_max_weight`,
    /// `require_complete_metrics`, `min_score_threshold`, `default_cost_bps`,
    /// `max_signal_floor`, and `strategies = { <strategy> = { baseline_weight, min_weight,
    /// max_weight, baseline_max_signals, max_signal_factor, risk_profile } }`, every key
    /// optional with the reference default. A schedule's strategy name is its schedule name,
    /// so `strategies` keys are schedule names. With `require_complete_metrics` (the default)
    /// every configured strategy must be run by a schedule, or the governor would never
    /// rebalance: such a plan is refused at load time. The reference table's `core_*` names
    /// therefore only fit a scenario whose schedules carry those names.
    pub portfolio_governor: Option<serde_json::Value>,
    /// Env variable holding the decision-log HMAC key; default `LIVE_DECISION_LOG_HMAC` from
    /// the training site's secrets.
    pub decision_log_key_env: Option<String>,
    /// Base inventory per venue as a fraction of capital in each base asset (default 0.5).
    pub inventory: Option<f64>,
}

/// `[market]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMarket {
    /// Venue names.
    pub venues: Vec<Spanned<String>>,
    /// Symbols, listed on every venue.
    pub symbols: Vec<Spanned<String>>,
    /// Bar size, e.g. `1m`.
    pub bar: Spanned<String>,
    /// Quote update interval (default the simulator's 5 s).
    #[serde(default)]
    pub quote_interval: Option<Spanned<String>>,
    /// Price model for every symbol (default the simulator's per-symbol default).
    #[serde(default)]
    pub model: Option<PriceModel>,
    /// Per-venue settings.
    #[serde(default)]
    pub venue: BTreeMap<String, Spanned<RawVenue>>,
    /// Per-symbol settings.
    #[serde(default)]
    pub symbol: BTreeMap<String, Spanned<RawSymbol>>,
}

/// `[market.venue.<name>]`: any simulator venue setting.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawVenue {
    /// Lead–lag behind the fair price.
    pub lag: Option<String>,
    /// Basis standard deviation, bps.
    pub basis_bps: Option<f64>,
    /// Basis half-life.
    pub basis_half_life: Option<String>,
    /// Quoted spread, bps.
    pub spread_bps: Option<f64>,
    /// Depth ladder.
    pub depth: Option<DepthConfig>,
    /// Fees.
    pub fees: Option<FeeSchedule>,
    /// Latency models per operation.
    pub latency: Option<VenueLatency>,
    /// Order-entry rate limit.
    pub rate_limit: Option<RateLimit>,
}

/// `[market.symbol.<SYMBOL>]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSymbol {
    /// Starting price.
    pub start_price: Option<f64>,
    /// Price model for this symbol.
    pub model: Option<PriceModel>,
}

/// `[[schedules]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSchedule {
    /// Schedule name.
    pub name: Spanned<String>,
    /// Strategy, `kind`-tagged with the reference parameter names.
    pub strategy: Spanned<StrategyConfig>,
    /// Cadence, ≥ 1 s.
    pub cadence: Spanned<String>,
    /// Allowed lateness (default 30 s).
    #[serde(default)]
    pub max_drift: Option<Spanned<String>>,
    /// Warm-up bars (default 0).
    #[serde(default)]
    pub warmup_bars: Option<u32>,
    /// Risk profile (default the scenario's).
    #[serde(default)]
    pub risk_profile: Option<Spanned<String>>,
    /// Signals per snapshot (default 10).
    #[serde(default)]
    pub max_signals: Option<u32>,
    /// Symbols (default all market symbols).
    #[serde(default)]
    pub symbols: Option<Vec<Spanned<String>>>,
    /// Venue (default the first market venue; arbitrage: its primary exchange).
    #[serde(default)]
    pub venue: Option<Spanned<String>>,
    /// Bar interval the strategy consumes (default the market bar).
    #[serde(default)]
    pub interval: Option<Spanned<String>>,
    /// Priority (default 0).
    #[serde(default)]
    pub priority: Option<i32>,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Trading windows `HH:MM-HH:MM`.
    #[serde(default)]
    pub windows: Vec<Spanned<String>>,
    /// Fallback schedules.
    #[serde(default)]
    pub fallbacks: Vec<Spanned<String>>,
}

/// `[[faults]]`: one flat table; which keys apply depends on `kind`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFault {
    /// Start, as an offset from `as_of`.
    pub at: Spanned<String>,
    /// Length (or give `until`).
    #[serde(default, rename = "for")]
    pub for_: Option<Spanned<String>>,
    /// End, as an offset from `as_of`.
    #[serde(default)]
    pub until: Option<Spanned<String>>,
    /// `strategy_latency`, `price_shock`, or a simulator fault kind.
    pub kind: Spanned<String>,
    /// Schedule (`strategy_latency`).
    #[serde(default)]
    pub schedule: Option<Spanned<String>>,
    /// Added compute time per run (`strategy_latency`).
    #[serde(default)]
    pub latency: Option<Spanned<String>>,
    /// Venue (simulator faults).
    #[serde(default)]
    pub venue: Option<Spanned<String>>,
    /// Symbol (`price_shock`).
    #[serde(default)]
    pub symbol: Option<Spanned<String>>,
    /// Price move in percent over the fault window (`price_shock`, e.g. -12).
    #[serde(default)]
    pub move_pct: Option<f64>,
    /// `latency_spike`: `order_entry`, `reports` or `market_data`.
    #[serde(default)]
    pub operation: Option<String>,
    /// `latency_spike`: multiplier.
    #[serde(default)]
    pub factor: Option<u32>,
    /// `latency_spike`: added latency.
    #[serde(default)]
    pub extra: Option<String>,
    /// `gapped_feed` / `reject_storm`: probability.
    #[serde(default)]
    pub probability: Option<f64>,
    /// `clock_skew`: offset in ms.
    #[serde(default)]
    pub offset_ms: Option<i64>,
    /// `feed_delay`: delay.
    #[serde(default)]
    pub delay: Option<String>,
}

/// `[[actions]]`: one flat table; which keys apply depends on `do`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAction {
    /// When, as an offset from `as_of`.
    pub at: Spanned<String>,
    /// What: `audit_compliance`, `audit_baseline`, `check_key_rotation`, `rotate_key`,
    /// `disable_multi_strategy`, `restore_multi_strategy`, `incident_open`, `incident_ack`,
    /// `incident_escalate`, `incident_resolve`, `load_test`, `suspend_schedule`,
    /// `resume_schedule`, `set_signal_limit`.
    #[serde(rename = "do")]
    pub action: Spanned<String>,
    /// Command-line flags of the matching CLI command (audits).
    #[serde(default)]
    pub flags: Vec<String>,
    /// Reason (disable, suspend, signal limit).
    #[serde(default)]
    pub reason: Option<String>,
    /// Incident ticket.
    #[serde(default)]
    pub ticket: Option<String>,
    /// Who asked.
    #[serde(default)]
    pub requested_by: Option<String>,
    /// Duration (disable, suspend, signal limit).
    #[serde(default)]
    pub duration: Option<Spanned<String>>,
    /// Incident severity (`sev1` … `sev4`).
    #[serde(default)]
    pub severity: Option<String>,
    /// Support level (`L1`, `L2`, `incident_manager`).
    #[serde(default)]
    pub level: Option<String>,
    /// Free text for the decision log.
    #[serde(default)]
    pub note: Option<String>,
    /// Environment (`rotate_key`, `check_key_rotation`).
    #[serde(default)]
    pub environment: Option<String>,
    /// Schedule (suspend, resume).
    #[serde(default)]
    pub schedule: Option<Spanned<String>>,
    /// Tag (suspend, resume).
    #[serde(default)]
    pub tag: Option<String>,
    /// Strategy name (`set_signal_limit`).
    #[serde(default)]
    pub strategy: Option<String>,
    /// Risk profile (`set_signal_limit`).
    #[serde(default)]
    pub profile: Option<String>,
    /// Signal limit.
    #[serde(default)]
    pub limit: Option<u32>,
    /// Load test: iterations.
    #[serde(default)]
    pub iterations: Option<u32>,
    /// Load test: schedules.
    #[serde(default)]
    pub schedules: Option<u32>,
    /// Load test: signals per snapshot.
    #[serde(default)]
    pub signals: Option<u32>,
    /// Load test: simulated latency, ms.
    #[serde(default)]
    pub latency_ms: Option<f64>,
}

/// `[[expect]]`: one condition per table, chosen by which key is present.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawExpect {
    /// Alert name (`fires_within`, `clears_within`, `fires`).
    pub alert: Option<String>,
    /// The alert fires within this long of the fault's start.
    pub fires_within: Option<Spanned<String>>,
    /// The alert resolves within this long of the fault's end.
    pub clears_within: Option<Spanned<String>>,
    /// `false`: the alert never fires.
    pub fires: Option<bool>,
    /// Which fault (1-based) the alert timing refers to (default the first).
    pub fault: Option<Spanned<usize>>,
    /// Restricts alert, order and metric conditions to one schedule.
    pub schedule: Option<Spanned<String>>,
    /// Which action (1-based) an audit condition refers to.
    pub action: Option<Spanned<usize>>,
    /// Expected audit status.
    pub status: Option<String>,
    /// Check ids that must be among the audit's warnings.
    #[serde(default)]
    pub warnings_include: Vec<String>,
    /// Check ids that must be among the audit's issues.
    #[serde(default)]
    pub issues_include: Vec<String>,
    /// No order between these two offsets.
    pub no_orders_between: Option<Spanned<[String; 2]>>,
    /// At least one order after this offset.
    pub orders_after: Option<Spanned<String>>,
    /// Escalation level that must be reached…
    pub escalation_reached: Option<String>,
    /// …by this offset…
    pub by: Option<Spanned<String>>,
    /// …and not before this one (the level is first reached in `[after, by]`).
    pub after: Option<Spanned<String>>,
    /// `verifies`: every decision-log line verifies.
    pub decision_log: Option<String>,
    /// Total PnL (quote units) must stay above this at the end.
    pub pnl_above: Option<f64>,
    /// Total PnL must stay below this at the end.
    pub pnl_below: Option<f64>,
    /// The total drawdown (percent, ≤ 0) must never go below this.
    pub drawdown_above: Option<f64>,
    /// A telemetry metric (without the `bot_core_multi_strategy_` prefix).
    pub metric: Option<String>,
    /// The metric must never exceed this.
    pub max: Option<f64>,
    /// The metric must never go below this.
    pub min: Option<f64>,
    /// A risk alert kind (`kill_switch`, `cost_to_profit_ratio`, `instrument_exposure`, `portfolio_exposure`, `trade_risk_below_minimum`) that must be raised…
    pub risk_alert: Option<String>,
    /// A refusal reason (`reduce_only`, `rollback_override`, ...) that must occur.
    pub refusal: Option<String>,
    /// Longest time a cross-exchange schedule may hold an unhedged leg.
    pub max_unhedged: Option<Spanned<String>>,
    /// Expected sequence of rollback transitions (`activated`, `expired`, `removed`).
    pub rollback: Option<Vec<String>>,
    /// Optional text shown in reports instead of the generated description.
    pub description: Option<String>,
}
