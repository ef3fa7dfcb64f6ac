//! # stage4-engine: the Stage4 trading engine, sans-IO
//!
//! Our own implementation of the reference Stage4 system (`bot_core`): strategies, the
//! multi-strategy scheduler, risk, execution, telemetry and the HMAC-signed decision log.
//! Everything is a step function over an explicit [`SimTime`](domain::SimTime): nothing here
//! reads the wall clock, the environment, files or OS entropy, and only ordered collections
//! are iterated, so the same inputs always give the same outputs.
//!
//! ## Map
//! - [`domain`]: the vocabulary shared with the simulator: time, prices (ticks), quantities
//!   (lots), balances (atoms), ids, bars, quotes, orders, execution reports.
//! - [`market_data`]: the engine's view of the market (bars, quotes, venue status) and the
//!   snapshot feed schedules read.
//! - [`ports`]: the traits the outside world implements ([`ports::MarketFeed`],
//!   [`ports::Venue`]).
//! - [`decision_log`]: canonical JSON (Python-compatible bytes), HMAC signatures, entry builders,
//!   hash chain and seals, writer, per-line verifier, incident lifecycle.
//! - [`scheduler`]: the multi-strategy scheduler: schedules, signal limits, suspensions,
//!   capital policies, RBAC control API, the rollback override.
//! - [`strategy`]: the strategy contract ([`strategy::Strategy`], [`strategy::MarketSnapshot`],
//!   [`strategy::Signal`]).
//! - [`strategy::StrategyConfig`]: builds the three Stage4 strategies (mean reversion,
//!   volatility targeting, cross-exchange arbitrage) from `kind`-tagged parameters;
//!   [`strategy::metrics`] turns a run's signals into its strategy metrics.
//! - [`telemetry`]: the metrics store, Prometheus exposition, per-profile thresholds, the
//!   alert rules and their evaluator on simulated time, Grafana/promtool exports.
//! - [`risk`]: profiles, per-profile state and the pre-trade checks ([`risk::RiskEngine`]).
//! - [`engine`]: the whole trader as one step function ([`engine::Engine`]): scheduler runs →
//!   signals → risk → orders → fills → PnL → telemetry → alerts → signed decision log.
//! - [`execution`]: the paper venue ([`execution::PaperVenue`]) and positions and PnL
//!   ([`execution::PositionLedger`]).
//!
//! Start with [`domain`], then [`ports`].

pub mod decision_log;
pub mod domain;
pub mod engine;
pub mod execution;
pub mod market_data;
pub mod ports;
pub mod risk;
pub mod scheduler;
pub mod strategy;
pub mod telemetry;
