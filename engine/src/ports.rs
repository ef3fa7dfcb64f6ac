//! Ports: the traits the outside world implements so the engine can run against it.
//!
//! The engine never asks what is behind a port. In a scenario the simulator implements both
//! (`stage4_sim`); the paper venue in [`crate::execution`] implements [`Venue`] with the
//! reference's immediate-fill model; tests use small fakes.

use crate::domain::{CancelRequest, ExecReport, MarketEvent, OrderRequest, SimTime};

/// A source of market data in time order.
pub trait MarketFeed {
    /// The next event, or `None` when the feed is exhausted. Events come in non-decreasing
    /// [`MarketEvent::at`] order.
    fn next_event(&mut self) -> Option<MarketEvent>;
}

/// Somewhere orders can be sent.
///
/// A venue may answer at once (the paper venue pushes its `Ack` and `Fill` into `out`) or
/// later (the simulated exchange delivers reports through its event queue after its latency
/// model says they arrive); callers must handle both.
pub trait Venue {
    /// Sends a new order at `now`.
    fn submit(&mut self, now: SimTime, order: &OrderRequest, out: &mut Vec<ExecReport>);
    /// Asks to cancel a resting order at `now`.
    fn cancel(&mut self, now: SimTime, cancel: &CancelRequest, out: &mut Vec<ExecReport>);
}
