//! # stage4-sim: the deterministic world Stage4 runs in
//!
//! Clock, seeded RNG streams, the event queue, market generators and replay, the exchange
//! simulator and fault injection. Implements the engine's ports
//! ([`stage4_engine::ports`]): the market sources are [`MarketFeed`](stage4_engine::ports::MarketFeed)s
//! and the [`Sim`] is a [`Venue`](stage4_engine::ports::Venue).
//!
//! ## Map
//! - [`config`]: the world as plain data ([`SimConfig`]), every default documented.
//! - [`world`]: [`SimBuilder`] (validates once) and [`Sim`] (the step function, order entry,
//!   digest). **Start here.**
//! - [`rng`]: [`rng::SimRng`], ChaCha8 streams forked by label; hand-rolled distributions.
//! - [`clock`], [`queue`]: simulated time and the `(time, priority, sequence)` event queue
//!   (the priority classes are documented there).
//! - [`market`]: fair-price processes, the generator (lead–lag, basis, quotes, depth, bars),
//!   replay of recorded CSV bars, default instrument specs.
//! - [`exchange`]: per-venue books, matching (the fill rules checklist is in
//!   [`exchange::matching`]), balances, fees, latency models.
//! - [`faults`]: scheduled faults (latency spikes, outages, stale/gapped feeds, reject storms,
//!   clock skew, feed delay).
//! - [`trace`]: the canonical trace encoding behind the run digest.
//!
//! Determinism: no hash maps, no wall clock, no OS entropy (`clippy.toml` enforces it); all
//! randomness comes from [`rng::SimRng`] streams forked from the run's seed.

pub mod clock;
pub mod config;
pub mod error;
pub mod exchange;
pub mod faults;
pub mod market;
pub mod queue;
pub mod rng;
pub mod trace;
pub mod world;

pub use config::SimConfig;
pub use error::{ConfigError, ReplayError};
pub use world::{Delivered, Delivery, Sim, SimBuilder, SimStats};
