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
//! - [`ports`]: the traits the outside world implements ([`ports::MarketFeed`],
//!   [`ports::Venue`]).
//! - [`strategy`]: the strategy contract ([`strategy::Strategy`], [`strategy::MarketSnapshot`],
//!   [`strategy::Signal`]).
//! - [`risk`]: profiles, per-profile state and the pre-trade checks ([`risk::RiskEngine`]).
//! - [`execution`]: the paper venue ([`execution::PaperVenue`]) and positions and PnL
//!   ([`execution::PositionLedger`]).
//!
//! Start with [`domain`], then [`ports`].

pub mod domain;
pub mod execution;
pub mod ports;
pub mod risk;
pub mod strategy;
