//! The market generator: one fair price per symbol, seen by each venue through a lag and a
//! mean-reverting basis, published as top-of-book quotes on a fixed grid and as bars.
//!
//! # Model, per step of `Δt` (the quote interval)
//! 1. Each symbol's fair log price `x` takes one step of its [`FairProcess`] (stream
//!    `market/fair/<symbol>`). The first step, at the start, shows the start price.
//! 2. Each venue `v` sees the fair price **`lag_v` late**, linearly interpolated between the
//!    two bracketing steps (a ring buffer keeps just enough history), times `e^{b_v}` for its
//!    own log basis `b_v`,
//!    an Ornstein–Uhlenbeck process with stationary deviation `basis_bps` and half-life
//!    `basis_half_life` (stream `market/basis/<venue>/<symbol>`, started from its stationary
//!    distribution). Cross-venue spreads therefore open in fast moves (lag) and at random
//!    (basis), and close again.
//! 3. The venue mid in ticks is `round(P(t − lag_v) · e^{b_v} / tick)`; the quoted spread is
//!    `max(1 tick, round(mid × spread_bps))`, `bid = mid − ⌊spread/2⌋`, `ask = bid + spread`.
//! 4. Sizes at the best bid and ask are `top_notional / price` in lots, each jittered by a
//!    uniform factor in `[0.5, 1.5)`. Synthetic traded volume per step is
//!    `top_lots × 0.05 × Δt[s] × (0.4 + 0.6·|shock|) × jitter`, so volume rises with moves.
//! 5. Bars of each configured interval aggregate the venue mids and that volume.
//! 6. Scripted price shocks ([`crate::config::PriceShock`]) add their log move to `x`, spread
//!    evenly over the steps inside their window, after the process step.
//!
//! Because every stream is forked by label, adding a venue or a symbol leaves the paths of
//! the others unchanged.
//!
//! At each instant the generator emits all bars closing then (venue, symbol, interval order)
//! before all quotes (venue, symbol order), so [`MarketEvent::at`] never decreases. The last
//! instant (`start + duration`) only closes bars.

use stage4_engine::domain::{MarketEvent, Price, Qty, Quote, SimDuration, SimTime};
use stage4_engine::ports::MarketFeed;

use super::bars::BarAggregator;
use super::process::FairProcess;
use super::{MarketPlan, MarketSymbol};
use crate::rng::SimRng;

/// Share of the top-of-book size that trades per second on average.
const TURNOVER_PER_SEC: f64 = 0.05;

#[derive(Clone, Debug)]
struct FairPath {
    process: FairProcess,
    rng: SimRng,
    x: f64,
    shock: f64,
    /// `exp(x)`: the fair price, computed once per step.
    price: f64,
    /// Ring of past fair prices, newest at `head`.
    history: Vec<f64>,
    head: usize,
    /// Quote units per tick.
    tick_size: f64,
    /// Base units per lot.
    lot_size: f64,
    /// Scripted moves: `(start, end, total log move)`.
    shocks: Vec<(SimTime, SimTime, f64)>,
}

impl FairPath {
    /// The fair price `lag_steps` steps ago (fractional: linearly interpolated).
    #[inline]
    fn lagged(&self, lag_steps: f64) -> f64 {
        if lag_steps <= 0.0 {
            return self.price;
        }
        let n = self.history.len();
        let k = lag_steps as usize;
        let frac = lag_steps - k as f64;
        let at = |back: usize| self.history[(self.head + n - back.min(n - 1)) % n];
        let a = at(k);
        if frac == 0.0 {
            a
        } else {
            a + (at(k + 1) - a) * frac
        }
    }
}

#[derive(Clone, Debug)]
struct VenueSymbolPath {
    symbol: stage4_engine::domain::Symbol,
    top_notional: f64,
    basis: f64,
    rng: SimRng,
    bars: Vec<BarAggregator>,
}

#[derive(Clone, Debug)]
struct VenuePath {
    name: stage4_engine::domain::VenueId,
    lag_steps: f64,
    basis_decay: f64,
    basis_sd: f64,
    spread_frac: f64,
    symbols: Vec<VenueSymbolPath>,
}

/// Generates the market of a run; implements [`MarketFeed`].
#[derive(Clone, Debug)]
pub struct MarketGenerator {
    next_at: SimTime,
    end: SimTime,
    step: SimDuration,
    first: bool,
    finished: bool,
    symbols: Vec<FairPath>,
    venues: Vec<VenuePath>,
    out: Vec<MarketEvent>,
    pos: usize,
}

impl MarketGenerator {
    /// Builds the generator for a validated plan; `root` is the run's root stream.
    pub fn new(plan: &MarketPlan, root: &SimRng) -> MarketGenerator {
        let step = plan.quote_interval;
        let dt = step.as_secs_f64();
        let max_lag_steps = plan
            .venues
            .iter()
            .map(|v| v.lag.as_nanos().div_ceil(step.as_nanos()))
            .max()
            .unwrap_or(0);
        let history_len = usize::try_from(max_lag_steps).expect("lag fits memory") + 2;
        let symbols = plan
            .symbols
            .iter()
            .map(|s: &MarketSymbol| FairPath {
                process: FairProcess::new(&s.model, step, s.start_price),
                rng: root.fork(&format!("market/fair/{}", s.symbol)),
                x: libm::log(s.start_price),
                price: s.start_price,
                shock: 0.8,
                history: vec![s.start_price; history_len],
                head: 0,
                tick_size: s.spec.tick_atoms as f64 / 1e8,
                lot_size: s.spec.lot_atoms as f64 / 1e8,
                shocks: s.shocks.clone(),
            })
            .collect();
        let venues = plan
            .venues
            .iter()
            .map(|v| {
                let stationary = v.basis_bps / 1e4;
                let (decay, sd) = if v.basis_half_life.is_zero() {
                    (0.0, stationary)
                } else {
                    let kappa = std::f64::consts::LN_2 / v.basis_half_life.as_secs_f64();
                    let decay = libm::exp(-kappa * dt);
                    (decay, stationary * libm::sqrt(1.0 - decay * decay))
                };
                VenuePath {
                    name: v.name,
                    lag_steps: v.lag.as_nanos() as f64 / step.as_nanos() as f64,
                    basis_decay: decay,
                    basis_sd: sd,
                    spread_frac: v.spread_bps / 1e4,
                    symbols: plan
                        .symbols
                        .iter()
                        .map(|s| {
                            let mut rng =
                                root.fork(&format!("market/basis/{}/{}", v.name, s.symbol));
                            let basis = stationary * rng.normal();
                            VenueSymbolPath {
                                symbol: s.symbol,
                                top_notional: v.top_notional.unwrap_or(s.top_notional),
                                basis,
                                rng,
                                bars: plan
                                    .bar_intervals
                                    .iter()
                                    .map(|i| BarAggregator::new(v.name, s.symbol, *i))
                                    .collect(),
                            }
                        })
                        .collect(),
                }
            })
            .collect();
        MarketGenerator {
            next_at: plan.start,
            end: plan.start + plan.duration,
            step,
            first: true,
            finished: false,
            symbols,
            venues,
            out: Vec::new(),
            pos: 0,
        }
    }

    /// Generates every event of the next instant into the internal buffer. Returns false when
    /// the market has ended.
    fn generate_step(&mut self) -> bool {
        if self.finished {
            return false;
        }
        self.out.clear();
        self.pos = 0;
        let now = self.next_at;
        let closing_only = now >= self.end;

        if !closing_only {
            if self.first {
                self.first = false;
            } else {
                let from = now.checked_sub(self.step).unwrap_or(now);
                for path in &mut self.symbols {
                    let (mut x, shock) = path.process.step(path.x, &mut path.rng);
                    // Scripted moves: the share of each window this step covers.
                    for &(start, end, log_move) in &path.shocks {
                        let lo = from.max(start);
                        let hi = now.min(end);
                        if hi > lo {
                            let share =
                                (hi - lo).as_nanos() as f64 / (end - start).as_nanos() as f64;
                            x += log_move * share;
                        }
                    }
                    path.x = x;
                    path.price = libm::exp(x);
                    path.shock = shock;
                    path.head = (path.head + 1) % path.history.len();
                    path.history[path.head] = path.price;
                }
            }
        }

        // Bars closing now, for every venue, before any quote at `now`.
        for venue in &mut self.venues {
            for vs in &mut venue.symbols {
                for agg in &mut vs.bars {
                    if let Some(bar) = agg.close_due(now) {
                        self.out.push(MarketEvent::Bar(bar));
                    }
                }
            }
        }
        if closing_only {
            self.finished = true;
            return true;
        }

        let dt = self.step.as_secs_f64();
        for venue in &mut self.venues {
            for (path, vs) in self.symbols.iter().zip(venue.symbols.iter_mut()) {
                vs.basis = vs.basis * venue.basis_decay + venue.basis_sd * vs.rng.normal();
                let price = path.lagged(venue.lag_steps) * exp_small(vs.basis);
                let mid = (price / path.tick_size).round().max(2.0) as i64;
                let spread = ((mid as f64 * venue.spread_frac).round() as i64).max(1);
                let bid = (mid - spread / 2).max(1);
                let ask = bid + spread;

                // One draw, three 21-bit jitters: bid size, ask size, volume.
                let bits = vs.rng.next_u64();
                let jitter =
                    |shift: u32| 0.5 + ((bits >> shift) & 0x1f_ffff) as f64 / (1u64 << 21) as f64;
                let top_lots = vs.top_notional / price / path.lot_size;
                let bid_qty = Qty((top_lots * jitter(0)).max(1.0) as i64);
                let ask_qty = Qty((top_lots * jitter(21)).max(1.0) as i64);
                let volume = Qty((top_lots
                    * TURNOVER_PER_SEC
                    * dt
                    * (0.4 + 0.6 * path.shock)
                    * jitter(42)) as i64);
                for agg in &mut vs.bars {
                    agg.add(now, Price(mid), volume);
                }
                self.out.push(MarketEvent::Quote(Quote {
                    venue: venue.name,
                    symbol: vs.symbol,
                    at: now,
                    bid: Price(bid),
                    bid_qty,
                    ask: Price(ask),
                    ask_qty,
                }));
            }
        }
        self.next_at = (now + self.step).min(self.end);
        true
    }

    /// The fair price of symbol number `index` (config order) now, in quote units.
    pub fn fair_price(&self, index: usize) -> Option<f64> {
        self.symbols.get(index).map(|p| p.price)
    }
}

/// `e^b` for the small basis values of a venue: a 5th-order Taylor series (relative error
/// below 10⁻¹⁴ for |b| < 0.01, i.e. 100 bps), falling back to `libm::exp` beyond. Only `+`
/// and `×`, so it is as portable as `libm` and several times cheaper on the per-quote path.
#[inline]
fn exp_small(b: f64) -> f64 {
    if b.abs() < 0.01 {
        1.0 + b * (1.0 + b * (0.5 + b * (1.0 / 6.0 + b * (1.0 / 24.0 + b * (1.0 / 120.0)))))
    } else {
        libm::exp(b)
    }
}

impl MarketGenerator {
    /// The next event, left in place (generating the next instant when the current one is
    /// used up); `None` once the market has ended.
    #[inline]
    pub fn peek(&mut self) -> Option<&MarketEvent> {
        while self.pos >= self.out.len() {
            if !self.generate_step() {
                return None;
            }
        }
        Some(&self.out[self.pos])
    }

    /// Moves past the event [`MarketGenerator::peek`] returned.
    #[inline]
    pub fn advance(&mut self) {
        self.pos += 1;
    }
}

impl MarketFeed for MarketGenerator {
    fn next_event(&mut self) -> Option<MarketEvent> {
        let event = *self.peek()?;
        self.advance();
        Some(event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_small_matches_exp() {
        for i in -200..=200 {
            let b = i as f64 * 0.0001;
            let rel = (exp_small(b) - libm::exp(b)).abs() / libm::exp(b);
            assert!(rel < 1e-14, "{b}: {rel}");
        }
        assert_eq!(exp_small(0.5), libm::exp(0.5));
    }
}
