//! The market: fair-price processes, the generator, bar aggregation, replay of recorded bars
//! and the default instrument table.
//!
//! Both sources implement the engine's [`MarketFeed`] port, so a test or a driver can read a
//! market directly, and the [`crate::Sim`] uses the same events to drive its exchange.

pub mod bars;
pub mod generator;
pub mod instruments;
pub mod process;
pub mod replay;

use stage4_engine::domain::{InstrumentSpec, MarketEvent, SimDuration, SimTime, Symbol, VenueId};
use stage4_engine::ports::MarketFeed;

use self::generator::MarketGenerator;
use self::process::PriceModel;
use self::replay::ReplayFeed;

/// The validated market side of a run (built by [`crate::SimBuilder`]).
#[derive(Clone, Debug, PartialEq)]
pub struct MarketPlan {
    /// First instant.
    pub start: SimTime,
    /// Length of the market.
    pub duration: SimDuration,
    /// Spacing of quote updates.
    pub quote_interval: SimDuration,
    /// Bar sizes published.
    pub bar_intervals: Vec<SimDuration>,
    /// Instruments, config order.
    pub symbols: Vec<MarketSymbol>,
    /// Venues, config order.
    pub venues: Vec<MarketVenue>,
}

impl MarketPlan {
    /// Position of `venue` in config order (`usize::MAX` when absent, sorting last).
    pub fn venue_index(&self, venue: VenueId) -> usize {
        self.venues
            .iter()
            .position(|v| v.name == venue)
            .unwrap_or(usize::MAX)
    }

    /// Position of `symbol` in config order (`usize::MAX` when absent, sorting last).
    pub fn symbol_index(&self, symbol: Symbol) -> usize {
        self.symbols
            .iter()
            .position(|s| s.symbol == symbol)
            .unwrap_or(usize::MAX)
    }
}

/// One instrument with its defaults resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct MarketSymbol {
    /// The instrument.
    pub symbol: Symbol,
    /// Tick, lot and minimums.
    pub spec: InstrumentSpec,
    /// Starting fair price, quote units.
    pub start_price: f64,
    /// Fair-price process.
    pub model: PriceModel,
    /// Default notional at the best level, quote units.
    pub top_notional: f64,
    /// Scripted moves: `(start, end, total log move)`.
    pub shocks: Vec<(SimTime, SimTime, f64)>,
}

/// How one venue sees and quotes the fair price.
#[derive(Clone, Debug, PartialEq)]
pub struct MarketVenue {
    /// Venue name.
    pub name: VenueId,
    /// Lead–lag delay.
    pub lag: SimDuration,
    /// Stationary basis deviation, bps.
    pub basis_bps: f64,
    /// Basis half-life.
    pub basis_half_life: SimDuration,
    /// Quoted spread, bps.
    pub spread_bps: f64,
    /// Top-of-book notional override, quote units.
    pub top_notional: Option<f64>,
}

/// Where a run's market comes from.
#[derive(Clone, Debug)]
pub enum MarketSource {
    /// Generated prices.
    Generated(Box<MarketGenerator>),
    /// Recorded bars.
    Replay(Box<ReplayFeed>),
}

impl MarketSource {
    /// The next event, left in place: a reader that only needs a reference (the sim, which
    /// copies each event once, into its delivery pipe) spares the copy out.
    #[inline]
    pub fn peek(&mut self) -> Option<&MarketEvent> {
        match self {
            MarketSource::Generated(g) => g.peek(),
            MarketSource::Replay(r) => r.peek(),
        }
    }

    /// Moves past the event [`MarketSource::peek`] returned.
    #[inline]
    pub fn advance(&mut self) {
        match self {
            MarketSource::Generated(g) => g.advance(),
            MarketSource::Replay(r) => r.advance(),
        }
    }
}

impl MarketFeed for MarketSource {
    #[inline]
    fn next_event(&mut self) -> Option<MarketEvent> {
        let event = *self.peek()?;
        self.advance();
        Some(event)
    }
}
