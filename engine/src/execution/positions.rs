//! Positions and PnL per schedule: a ledger fed with fills that keeps, for every
//! (schedule, venue, symbol), the signed position, its cost basis (hence the average entry
//! price), realised PnL and fees; marks positions to market from quotes, bars or fills; and
//! derives equity, peak equity, drawdown and gross exposure per schedule and in total.
//!
//! # Money
//! Cash figures are exact integer atoms of one **valuation asset** (every instrument
//! registered must be quoted in it; Stage4 trades `*_USDT`). The cost basis of an open
//! position is the exact notional paid (or received, for a short); closing `q` of `Q` units
//! releases `⌊cost × q / Q⌋` atoms, and the last close releases the rest, so a round trip's
//! realised PnL is exactly proceeds minus cost, to the atom. Only the ratios are `f64`:
//! average entry price, drawdown percentages and exposure fractions.
//!
//! # Sign conventions
//! - `realized_pnl` is gross of fees; `fees` are kept apart; equity is
//!   `starting capital + realised − fees + unrealised`.
//! - [`PositionLedger::pnl_drawdown_pct`] is **negative or zero**, in percent:
//!   `(equity − peak) / peak × 100`. This is the `bot_core_multi_strategy_pnl_drawdown_pct`
//!   metric, so the reference alert `min_over_time(…pnl_drawdown_pct[30m]) < -4` fires on a
//!   drawdown deeper than 4 %. (The risk engine's `drawdown_pct` is the positive fraction of the
//!   reference risk state; the two are different metrics.)
//! - [`PositionLedger::exposure_fraction`] is gross notional over equity (`0.25` = 25 %), the
//!   input the telemetry compares with a target for `risk_exposure_deviation_pct`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::domain::{
    Amount, Asset, ExecKind, ExecReport, InstrumentSpec, MarketEvent, Price, Qty, Side, SimTime,
    StrategyId, Symbol, VenueId,
};
use crate::market_data::InstrumentKey;
use crate::risk::RiskFill;

/// One position: a schedule's holding of one symbol on one venue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct PositionKey {
    /// The schedule (strategy instance) that owns it.
    pub strategy: StrategyId,
    /// The venue.
    pub venue: VenueId,
    /// The symbol.
    pub symbol: Symbol,
}

/// The book of one position.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    /// Signed quantity in lots (positive long, negative short).
    pub qty: Qty,
    /// What the open quantity cost (long) or brought in (short), quote atoms, ≥ 0.
    pub cost_basis: Amount,
    /// Realised PnL, gross of fees, quote atoms.
    pub realized_pnl: Amount,
    /// Fees paid, quote atoms.
    pub fees: Amount,
}

impl Position {
    /// Unrealised PnL at `mark`: `qty × mark − cost` for a long, `cost − |qty| × mark` for a
    /// short.
    pub fn unrealized_pnl(&self, spec: &InstrumentSpec, mark: Price) -> Amount {
        let value = spec.notional(mark, Qty(self.qty.0.abs()));
        if self.qty.0 >= 0 {
            value - self.cost_basis
        } else {
            self.cost_basis - value
        }
    }

    /// Average entry price in quote units per base unit; `None` when flat.
    pub fn avg_entry_price(&self, spec: &InstrumentSpec) -> Option<f64> {
        (self.qty.0 != 0)
            .then(|| self.cost_basis.to_units_f64() / spec.qty_to_f64(Qty(self.qty.0.abs())))
    }
}

/// What one fill did.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct FillOutcome {
    /// The position it moved.
    pub key: PositionKey,
    /// Realised PnL of this fill, gross of its fee, quote atoms.
    pub realized_pnl: Amount,
    /// The fee, quote atoms.
    pub fee: Amount,
    /// The position after the fill, lots.
    pub position_qty: Qty,
    /// The same fill as the risk engine takes it (`realized_pnl` net of the fee).
    pub risk_fill: RiskFill,
}

#[derive(Clone, Copy, Debug)]
struct ScheduleBook {
    starting_capital: Amount,
    /// Equity now: kept current by every change (see [`PositionLedger::observe_peaks`]).
    equity: Amount,
    peak_equity: Amount,
    /// Lowest equity seen since the peak last moved (see [`observe_drawdown`]).
    trough_equity: Amount,
    /// Most negative `pnl_drawdown_pct` seen.
    worst_drawdown_pct: f64,
}

impl ScheduleBook {
    /// Raises the peak to the current equity and records the drawdown from it.
    fn observe(&mut self) {
        observe_drawdown(
            self.equity,
            &mut self.peak_equity,
            &mut self.trough_equity,
            &mut self.worst_drawdown_pct,
        );
    }
}

/// Raises `peak` to `equity`, or records the drawdown from it in `worst` (the most negative
/// [`drawdown_pct`] seen). At a fixed peak the drawdown only falls as equity falls (every step
/// of it — the exact integer difference, the conversions, the division by the positive peak —
/// is monotone), so only a new low since the peak moved (`trough`) can set a new worst: every
/// other observation is settled by integer comparisons, without the two `i128` → `f64`
/// conversions and the division a drawdown costs. Whoever moves `peak` otherwise must set
/// `trough` to it.
#[inline]
fn observe_drawdown(equity: Amount, peak: &mut Amount, trough: &mut Amount, worst: &mut f64) {
    if equity > *peak {
        // A new peak: a drawdown of 0, which never lowers `worst` (≤ 0).
        *peak = equity;
        *trough = equity;
    } else if equity < *trough {
        *trough = equity;
        *worst = worst.min(drawdown_pct(equity, *peak));
    }
}

/// One registered instrument: its spec, its latest mark and how many positions on it are open.
#[derive(Clone, Debug)]
struct InstrumentBook {
    venue: VenueId,
    spec: InstrumentSpec,
    mark: Option<Price>,
    /// Positions on this instrument with a non-zero quantity. A new mark of an instrument
    /// nobody holds moves no equity, so it needs no peak pass.
    open_positions: usize,
    /// Slots (in [`PositionLedger::holdings`]) of every position on this instrument.
    holders: Vec<usize>,
}

impl InstrumentBook {
    /// Unrealised PnL of `p` at this instrument's mark; zero when flat or unmarked.
    fn unrealized(&self, p: &Position) -> Amount {
        match self.mark {
            Some(mark) if p.qty.0 != 0 => p.unrealized_pnl(&self.spec, mark),
            _ => Amount::ZERO,
        }
    }

    /// |position| × mark; zero when unmarked.
    fn gross(&self, p: &Position) -> Amount {
        self.mark.map_or(Amount::ZERO, |mark| {
            self.spec.notional(mark, Qty(p.qty.0.abs()))
        })
    }

    /// Keeps [`InstrumentBook::open_positions`] right after a position moved from `before`.
    fn track_open(&mut self, before: Qty, after: Qty) {
        match (before.0 == 0, after.0 == 0) {
            (true, false) => self.open_positions += 1,
            (false, true) => self.open_positions -= 1,
            _ => {}
        }
    }
}

/// A position with the dense slots of its instrument and schedule, so valuing it needs no
/// map lookup, and its unrealised PnL as last valued.
#[derive(Clone, Copy, Debug)]
struct Holding {
    position: Position,
    instrument: usize,
    schedule: usize,
    unrealized: Amount,
}

/// Equity, PnL, drawdown and exposure of one schedule (or of all of them), in valuation units.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PnlSummary {
    /// The schedule, or `None` for the total.
    pub schedule: Option<StrategyId>,
    /// Starting capital.
    pub starting_capital: f64,
    /// Realised PnL, gross of fees.
    pub realized_pnl: f64,
    /// Fees paid.
    pub fees: f64,
    /// Unrealised PnL at the current marks.
    pub unrealized_pnl: f64,
    /// `starting_capital + realized_pnl − fees + unrealized_pnl`.
    pub equity: f64,
    /// Highest equity observed.
    pub peak_equity: f64,
    /// `(equity − peak) / peak × 100`, ≤ 0.
    pub pnl_drawdown_pct: f64,
    /// Most negative `pnl_drawdown_pct` observed.
    pub max_drawdown_pct: f64,
    /// Σ |position| × mark.
    pub gross_exposure: f64,
    /// `gross_exposure / equity` (0 when equity ≤ 0).
    pub exposure_fraction: f64,
}

/// The ledger can not take an input.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PositionError {
    /// A fill or mark for an instrument never registered.
    #[error("instrument {venue}:{symbol} is not registered with the position ledger")]
    UnknownInstrument {
        /// The venue.
        venue: VenueId,
        /// The symbol.
        symbol: Symbol,
    },
    /// The instrument was registered twice.
    #[error("instrument {venue}:{symbol} is already registered")]
    DuplicateInstrument {
        /// The venue.
        venue: VenueId,
        /// The symbol.
        symbol: Symbol,
    },
    /// The instrument is not quoted in the valuation asset.
    #[error("{symbol} is quoted in {quote}, but the ledger values everything in {valuation}")]
    ForeignQuote {
        /// The symbol.
        symbol: Symbol,
        /// Its quote asset.
        quote: Asset,
        /// The ledger's valuation asset.
        valuation: Asset,
    },
    /// A fill for a schedule without starting capital.
    #[error(
        "schedule `{0}` has no account in the position ledger; open it with its starting capital first"
    )]
    UnknownSchedule(StrategyId),
    /// The schedule was opened twice.
    #[error("schedule `{0}` is already open")]
    DuplicateSchedule(StrategyId),
    /// The report is not a fill.
    #[error("execution report for order {0} is not a fill")]
    NotAFill(u64),
    /// A fill with a quantity or price that is not positive.
    #[error("fill for order {0} has a quantity or price that is not positive")]
    EmptyFill(u64),
    /// The fee is charged in another asset.
    #[error("fee charged in {got}; the ledger only takes fees in {expected}")]
    FeeAsset {
        /// The valuation asset.
        expected: Asset,
        /// The fee asset of the report.
        got: Asset,
    },
}

/// Positions and PnL of every schedule.
///
/// Instruments, schedules and positions live in dense slots (creation order) behind one
/// ordered index each. A market event costs one index lookup and, only when someone holds the
/// instrument, a revaluation of the positions on it; equity is kept current, so reading it is
/// free. Every amount is an exact integer, so the order of the sums does not matter.
#[derive(Clone, Debug)]
pub struct PositionLedger {
    valuation: Asset,
    instrument_index: BTreeMap<InstrumentKey, usize>,
    instruments: Vec<InstrumentBook>,
    /// Position → its slot in `holdings`.
    positions: BTreeMap<PositionKey, usize>,
    holdings: Vec<Holding>,
    schedule_index: BTreeMap<StrategyId, usize>,
    schedules: Vec<ScheduleBook>,
    total_equity: Amount,
    total_peak: Amount,
    /// Lowest total equity seen since `total_peak` last moved.
    total_trough: Amount,
    total_worst_drawdown_pct: f64,
    /// The slot of the instrument marked last. Market data comes round the instruments in the
    /// same order again and again, so the next event is usually for the slot after it (or for
    /// the same one again), and a match on venue and symbol spares the index lookup (slots are
    /// unique per instrument, so the answer is the same).
    last_mark_slot: usize,
}

/// What market data says an instrument is worth now: a quote's mid (rounded down to the tick;
/// the one side when the other is empty), a bar's close. `None` for venue status events and
/// empty books.
pub fn mark_price_of(event: &MarketEvent) -> Option<Price> {
    let price = match event {
        MarketEvent::Quote(q) => match (q.bid.is_positive(), q.ask.is_positive()) {
            (true, true) => Price((q.bid.0 + q.ask.0) / 2),
            (true, false) => q.bid,
            (false, true) => q.ask,
            (false, false) => return None,
        },
        MarketEvent::Bar(b) => b.close,
        MarketEvent::Status { .. } => return None,
    };
    price.is_positive().then_some(price)
}

fn drawdown_pct(equity: Amount, peak: Amount) -> f64 {
    if peak.0 <= 0 || equity >= peak {
        0.0
    } else {
        (equity - peak).to_units_f64() / peak.to_units_f64() * 100.0
    }
}

impl PositionLedger {
    /// An empty ledger valuing everything in `valuation` (e.g. `USDT`).
    pub fn new(valuation: Asset) -> PositionLedger {
        PositionLedger {
            valuation,
            instrument_index: BTreeMap::new(),
            instruments: Vec::new(),
            positions: BTreeMap::new(),
            holdings: Vec::new(),
            schedule_index: BTreeMap::new(),
            schedules: Vec::new(),
            total_equity: Amount::ZERO,
            total_peak: Amount::ZERO,
            total_trough: Amount::ZERO,
            total_worst_drawdown_pct: 0.0,
            last_mark_slot: 0,
        }
    }

    /// The valuation asset.
    pub fn valuation(&self) -> Asset {
        self.valuation
    }

    /// Registers an instrument traded on `venue`.
    pub fn add_instrument(
        &mut self,
        venue: VenueId,
        spec: InstrumentSpec,
    ) -> Result<(), PositionError> {
        if spec.quote != self.valuation {
            return Err(PositionError::ForeignQuote {
                symbol: spec.symbol,
                quote: spec.quote,
                valuation: self.valuation,
            });
        }
        let key = InstrumentKey::new(venue, spec.symbol);
        if self.instrument_index.contains_key(&key) {
            return Err(PositionError::DuplicateInstrument {
                venue,
                symbol: spec.symbol,
            });
        }
        self.instrument_index.insert(key, self.instruments.len());
        self.instruments.push(InstrumentBook {
            venue,
            spec,
            mark: None,
            open_positions: 0,
            holders: Vec::new(),
        });
        Ok(())
    }

    /// Opens a schedule's account with its starting capital (its initial peak equity).
    pub fn open_schedule(
        &mut self,
        schedule: StrategyId,
        starting_capital: Amount,
    ) -> Result<(), PositionError> {
        if self.schedule_index.contains_key(&schedule) {
            return Err(PositionError::DuplicateSchedule(schedule));
        }
        self.schedule_index.insert(schedule, self.schedules.len());
        self.schedules.push(ScheduleBook {
            starting_capital,
            equity: starting_capital,
            peak_equity: starting_capital,
            trough_equity: starting_capital,
            worst_drawdown_pct: 0.0,
        });
        self.total_peak += starting_capital;
        self.total_trough = self.total_peak;
        self.observe_peaks();
        Ok(())
    }

    fn instrument_slot(&self, venue: VenueId, symbol: Symbol) -> Result<usize, PositionError> {
        self.instrument_index
            .get(&InstrumentKey::new(venue, symbol))
            .copied()
            .ok_or(PositionError::UnknownInstrument { venue, symbol })
    }

    /// Applies one fill of an order `strategy` sent on `side`. The venue and symbol come from
    /// the report. An instrument without a market mark yet is marked at the fill price.
    pub fn apply_fill(
        &mut self,
        strategy: StrategyId,
        side: Side,
        report: &ExecReport,
    ) -> Result<FillOutcome, PositionError> {
        let ExecKind::Fill {
            price,
            qty,
            fee,
            fee_asset,
            ..
        } = report.kind
        else {
            return Err(PositionError::NotAFill(report.client_order_id.0));
        };
        if !qty.is_positive() || !price.is_positive() {
            return Err(PositionError::EmptyFill(report.client_order_id.0));
        }
        if fee_asset != self.valuation {
            return Err(PositionError::FeeAsset {
                expected: self.valuation,
                got: fee_asset,
            });
        }
        let Some(&schedule) = self.schedule_index.get(&strategy) else {
            return Err(PositionError::UnknownSchedule(strategy));
        };
        let slot = self.instrument_slot(report.venue, report.symbol)?;
        let instrument = &mut self.instruments[slot];
        let key = PositionKey {
            strategy,
            venue: report.venue,
            symbol: report.symbol,
        };
        let held = *self.positions.entry(key).or_insert_with(|| {
            self.holdings.push(Holding {
                position: Position::default(),
                instrument: slot,
                schedule,
                unrealized: Amount::ZERO,
            });
            instrument.holders.push(self.holdings.len() - 1);
            self.holdings.len() - 1
        });
        let position = &mut self.holdings[held].position;
        let before = position.qty;
        let realized = trade(position, &instrument.spec, side, qty, price);
        position.realized_pnl += realized;
        position.fees += fee;
        let position_qty = position.qty;
        instrument.track_open(before, position_qty);
        instrument.mark.get_or_insert(price);
        let risk_fill = RiskFill {
            at: report.at,
            venue: report.venue,
            symbol: report.symbol,
            side,
            quantity: instrument.spec.qty_to_f64(qty),
            price: instrument.spec.price_to_f64(price),
            realized_pnl: (realized - fee).to_units_f64(),
            fee: fee.to_units_f64(),
        };
        self.observe_peaks();
        Ok(FillOutcome {
            key,
            realized_pnl: realized,
            fee,
            position_qty,
            risk_fill,
        })
    }

    /// Applies a venue's forced cover of `qty` lots at `price` (a paper-venue liquidation,
    /// which has no order and no fee): the short positions on the instrument are bought back
    /// in schedule-name order until `qty` is used up. Quantity beyond the ledger's shorts is
    /// ignored: the venue's account-wide short can include units that offset another
    /// schedule's long.
    pub fn apply_forced_cover(
        &mut self,
        at: SimTime,
        venue: VenueId,
        symbol: Symbol,
        qty: Qty,
        price: Price,
    ) -> Result<Vec<FillOutcome>, PositionError> {
        let slot = self.instrument_slot(venue, symbol)?;
        let instrument = &mut self.instruments[slot];
        let mut left = qty;
        let mut outcomes = Vec::new();
        for (key, &held) in &self.positions {
            if left.is_zero() {
                break;
            }
            let holding = &mut self.holdings[held];
            let position = &mut holding.position;
            if holding.instrument != slot || position.qty.0 >= 0 {
                continue;
            }
            let before = position.qty;
            let cover = left.min(Qty(-position.qty.0));
            let realized = trade(position, &instrument.spec, Side::Buy, cover, price);
            position.realized_pnl += realized;
            instrument.track_open(before, position.qty);
            left -= cover;
            outcomes.push(FillOutcome {
                key: *key,
                realized_pnl: realized,
                fee: Amount::ZERO,
                position_qty: position.qty,
                risk_fill: RiskFill {
                    at,
                    venue,
                    symbol,
                    side: Side::Buy,
                    quantity: instrument.spec.qty_to_f64(cover),
                    price: instrument.spec.price_to_f64(price),
                    realized_pnl: realized.to_units_f64(),
                    fee: 0.0,
                },
            });
        }
        self.observe_peaks();
        Ok(outcomes)
    }

    /// Marks an instrument at `price` (quote mid, bar close or last trade).
    pub fn mark(
        &mut self,
        venue: VenueId,
        symbol: Symbol,
        price: Price,
    ) -> Result<(), PositionError> {
        let slot = self.instrument_slot(venue, symbol)?;
        self.mark_slot(slot, price);
        Ok(())
    }

    /// Marks from market data at [`mark_price_of`]. Events for unregistered instruments and
    /// venue status changes are ignored.
    pub fn on_market_event(&mut self, event: &MarketEvent) {
        let (Some(symbol), Some(price)) = (event.symbol(), mark_price_of(event)) else {
            return;
        };
        let venue = event.venue();
        let is_it = |slot: usize| {
            self.instruments
                .get(slot)
                .is_some_and(|b| b.spec.symbol == symbol && b.venue == venue)
        };
        let next = match self.last_mark_slot + 1 {
            n if n >= self.instruments.len() => 0,
            n => n,
        };
        let hinted = [next, self.last_mark_slot]
            .into_iter()
            .find(|&slot| is_it(slot));
        let slot = match hinted {
            Some(slot) => {
                debug_assert_eq!(
                    self.instrument_index
                        .get(&InstrumentKey::new(venue, symbol))
                        .copied(),
                    Some(slot)
                );
                Some(slot)
            }
            None => self
                .instrument_index
                .get(&InstrumentKey::new(venue, symbol))
                .copied(),
        };
        if let Some(slot) = slot {
            self.last_mark_slot = slot;
            self.mark_slot(slot, price);
        }
    }

    /// Marks one instrument and revalues only the positions on it. Every other schedule's
    /// equity is unchanged, so its peak and drawdown are too; flat and absent positions are
    /// worth nothing at any mark, so nothing moves unless someone holds the instrument.
    fn mark_slot(&mut self, slot: usize, price: Price) {
        let instrument = &mut self.instruments[slot];
        instrument.mark = Some(price);
        if instrument.open_positions == 0 {
            return;
        }
        let instrument = &self.instruments[slot];
        for &held in &instrument.holders {
            let holding = &mut self.holdings[held];
            let unrealized = instrument.unrealized(&holding.position);
            let change = unrealized - holding.unrealized;
            holding.unrealized = unrealized;
            let book = &mut self.schedules[holding.schedule];
            book.equity += change;
            book.observe();
            self.total_equity += change;
        }
        self.observe_total();
    }

    /// One position, if it was ever traded.
    pub fn position(&self, key: &PositionKey) -> Option<&Position> {
        self.positions
            .get(key)
            .map(|&held| &self.holdings[held].position)
    }

    /// Every position ever traded, in key order (flat ones included: they hold realised PnL).
    pub fn positions(&self) -> impl Iterator<Item = (&PositionKey, &Position)> {
        self.positions
            .iter()
            .map(|(k, &held)| (k, &self.holdings[held].position))
    }

    /// The current mark of an instrument.
    pub fn mark_price(&self, venue: VenueId, symbol: Symbol) -> Option<Price> {
        let slot = self.instrument_slot(venue, symbol).ok()?;
        self.instruments[slot].mark
    }

    /// Unrealised PnL of one position at the current mark (zero when flat or unmarked).
    pub fn unrealized_pnl(&self, key: &PositionKey) -> Amount {
        self.positions.get(key).map_or(Amount::ZERO, |&held| {
            let h = &self.holdings[held];
            self.instruments[h.instrument].unrealized(&h.position)
        })
    }

    /// (realised, fees, unrealised, gross exposure) over the positions `filter` selects.
    fn totals(&self, filter: impl Fn(&Holding) -> bool) -> [Amount; 4] {
        let mut t = [Amount::ZERO; 4];
        for h in self.holdings.iter().filter(|h| filter(h)) {
            let instrument = &self.instruments[h.instrument];
            t[0] += h.position.realized_pnl;
            t[1] += h.position.fees;
            t[2] += instrument.unrealized(&h.position);
            t[3] += instrument.gross(&h.position);
        }
        t
    }

    fn schedule_slot(&self, schedule: StrategyId) -> Option<usize> {
        self.schedule_index.get(&schedule).copied()
    }

    /// A schedule's equity: starting capital + realised − fees + unrealised.
    pub fn schedule_equity(&self, schedule: StrategyId) -> Option<Amount> {
        Some(self.schedules[self.schedule_slot(schedule)?].equity)
    }

    /// Equity of all schedules together.
    pub fn total_equity(&self) -> Amount {
        self.total_equity
    }

    /// Revalues every position and schedule, raises peaks and records the worst drawdowns:
    /// called after anything but a mark moved equity (marks revalue only their instrument).
    fn observe_peaks(&mut self) {
        for book in &mut self.schedules {
            book.equity = book.starting_capital;
        }
        for h in &mut self.holdings {
            let p = &h.position;
            h.unrealized = self.instruments[h.instrument].unrealized(p);
            self.schedules[h.schedule].equity += p.realized_pnl - p.fees + h.unrealized;
        }
        let mut total = Amount::ZERO;
        for book in &mut self.schedules {
            book.observe();
            total += book.equity;
        }
        self.total_equity = total;
        self.observe_total();
    }

    /// Raises the total peak to the total equity and records the drawdown from it.
    fn observe_total(&mut self) {
        observe_drawdown(
            self.total_equity,
            &mut self.total_peak,
            &mut self.total_trough,
            &mut self.total_worst_drawdown_pct,
        );
    }

    /// The `pnl_drawdown_pct` metric of a schedule: `(equity − peak) / peak × 100`, ≤ 0.
    /// `None` for an unknown schedule; 0 while the peak is not positive.
    pub fn pnl_drawdown_pct(&self, schedule: StrategyId) -> Option<f64> {
        let book = &self.schedules[self.schedule_slot(schedule)?];
        Some(drawdown_pct(book.equity, book.peak_equity))
    }

    /// The `pnl_drawdown_pct` of all schedules together.
    pub fn total_pnl_drawdown_pct(&self) -> f64 {
        drawdown_pct(self.total_equity, self.total_peak)
    }

    /// Σ |position| × mark of a schedule, quote atoms.
    pub fn gross_exposure(&self, schedule: StrategyId) -> Amount {
        match self.schedule_slot(schedule) {
            Some(slot) => self.totals(|h| h.schedule == slot)[3],
            None => Amount::ZERO,
        }
    }

    /// A schedule's gross exposure as a fraction of its equity; `None` for an unknown schedule
    /// or when its equity is not positive.
    pub fn exposure_fraction(&self, schedule: StrategyId) -> Option<f64> {
        let equity = self.schedule_equity(schedule)?;
        (equity.0 > 0).then(|| self.gross_exposure(schedule).to_units_f64() / equity.to_units_f64())
    }

    /// The full PnL view of one schedule.
    pub fn schedule_summary(&self, schedule: StrategyId) -> Option<PnlSummary> {
        let slot = self.schedule_slot(schedule)?;
        let book = &self.schedules[slot];
        let totals = self.totals(|h| h.schedule == slot);
        Some(summary(
            Some(schedule),
            book.starting_capital,
            totals,
            book.peak_equity,
            book.worst_drawdown_pct,
        ))
    }

    /// The full PnL view of all schedules together.
    pub fn total_summary(&self) -> PnlSummary {
        let capital = self
            .schedules
            .iter()
            .fold(Amount::ZERO, |sum, b| sum + b.starting_capital);
        summary(
            None,
            capital,
            self.totals(|_| true),
            self.total_peak,
            self.total_worst_drawdown_pct,
        )
    }

    /// The schedules with an account, in name order.
    pub fn schedules(&self) -> impl Iterator<Item = StrategyId> + '_ {
        self.schedule_index.keys().copied()
    }
}

fn summary(
    schedule: Option<StrategyId>,
    capital: Amount,
    [realized, fees, unrealized, gross]: [Amount; 4],
    peak: Amount,
    worst: f64,
) -> PnlSummary {
    let equity = capital + realized - fees + unrealized;
    PnlSummary {
        schedule,
        starting_capital: capital.to_units_f64(),
        realized_pnl: realized.to_units_f64(),
        fees: fees.to_units_f64(),
        unrealized_pnl: unrealized.to_units_f64(),
        equity: equity.to_units_f64(),
        peak_equity: peak.to_units_f64(),
        pnl_drawdown_pct: drawdown_pct(equity, peak),
        max_drawdown_pct: worst,
        gross_exposure: gross.to_units_f64(),
        exposure_fraction: if equity.0 > 0 {
            gross.to_units_f64() / equity.to_units_f64()
        } else {
            0.0
        },
    }
}

/// Moves `position` by a trade of `qty` lots at `price` and returns the realised PnL (gross).
/// Reducing releases a pro-rata share of the cost basis; crossing zero closes the whole
/// position and opens the rest at `price`.
fn trade(
    position: &mut Position,
    spec: &InstrumentSpec,
    side: Side,
    qty: Qty,
    price: Price,
) -> Amount {
    let signed = qty.0 * side.sign();
    let held = position.qty.0;
    if held == 0 || held.signum() == signed.signum() {
        position.qty = Qty(held + signed);
        position.cost_basis += spec.notional(price, qty);
        return Amount::ZERO;
    }
    let closing = qty.0.min(held.abs());
    let released = if closing == held.abs() {
        position.cost_basis
    } else {
        Amount(position.cost_basis.0 * i128::from(closing) / i128::from(held.abs()))
    };
    let value = spec.notional(price, Qty(closing));
    let realized = if held > 0 {
        value - released
    } else {
        released - value
    };
    position.cost_basis -= released;
    position.qty = Qty(held + signed.signum() * closing);
    let opening = qty.0 - closing;
    if opening > 0 {
        position.qty = Qty(signed.signum() * opening);
        position.cost_basis = spec.notional(price, Qty(opening));
    }
    realized
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> InstrumentSpec {
        // Tick 0.01 USDT, lot 0.001 BTC.
        InstrumentSpec::new(
            Symbol::new("BTC_USDT").unwrap(),
            Asset::new("BTC").unwrap(),
            Asset::new("USDT").unwrap(),
            "0.01",
            "0.001",
            Qty(1),
            Amount::ZERO,
        )
        .unwrap()
    }

    /// Price in whole USDT → ticks.
    fn px(usdt: i64) -> Price {
        Price(usdt * 100)
    }

    /// Quantity in thousandths of a BTC (lots).
    fn lots(n: i64) -> Qty {
        Qty(n)
    }

    #[test]
    fn trades_realise_pnl_exactly() {
        // (name, [(side, lots, price)], final qty, final cost basis USDT, realised USDT)
        type Case = (&'static str, Vec<(Side, i64, i64)>, i64, i64, i64);
        let cases: Vec<Case> = vec![
            (
                "long round trip",
                vec![(Side::Buy, 1000, 100), (Side::Sell, 1000, 110)],
                0,
                0,
                10,
            ),
            (
                "short round trip",
                vec![(Side::Sell, 1000, 100), (Side::Buy, 1000, 90)],
                0,
                0,
                10,
            ),
            (
                "partial close keeps the average entry",
                vec![
                    (Side::Buy, 1000, 100),
                    (Side::Buy, 1000, 200),
                    (Side::Sell, 500, 180),
                ],
                1500,
                225,
                15, // 0.5 × (180 − 150)
            ),
            (
                "flip closes then opens at the fill price",
                vec![(Side::Buy, 1000, 100), (Side::Sell, 3000, 90)],
                -2000,
                180,
                -10,
            ),
            (
                "short partial cover at a loss",
                vec![(Side::Sell, 2000, 100), (Side::Buy, 1000, 120)],
                -1000,
                100,
                -20,
            ),
        ];
        let spec = spec();
        for (name, trades, qty, cost, realized) in cases {
            let mut p = Position::default();
            let mut total = Amount::ZERO;
            for (side, n, price) in trades {
                total += trade(&mut p, &spec, side, lots(n), px(price));
            }
            assert_eq!(p.qty, Qty(qty), "{name}");
            assert_eq!(p.cost_basis, Amount::from_units(cost), "{name}");
            assert_eq!(total, Amount::from_units(realized), "{name}");
        }
    }

    #[test]
    fn pro_rata_release_conserves_every_atom() {
        // A cost basis not divisible by three, closed in thirds: each partial close rounds
        // down and the last one releases whatever is left.
        let spec = spec();
        let mut p = Position::default();
        trade(&mut p, &spec, Side::Buy, lots(1), Price(3_334));
        trade(&mut p, &spec, Side::Buy, lots(2), Price(3_335));
        let cost = p.cost_basis;
        assert_ne!(cost.0 % 3, 0, "the case must exercise rounding");
        let mut proceeds = Amount::ZERO;
        let mut realized = Amount::ZERO;
        for _ in 0..3 {
            realized += trade(&mut p, &spec, Side::Sell, lots(1), Price(3_400));
            proceeds += spec.notional(Price(3_400), lots(1));
        }
        assert_eq!(p.qty, Qty::ZERO);
        assert_eq!(p.cost_basis, Amount::ZERO);
        assert_eq!(realized, proceeds - cost);
    }

    #[test]
    fn unrealised_and_average_entry() {
        let spec = spec();
        let mut p = Position::default();
        trade(&mut p, &spec, Side::Buy, lots(1000), px(100));
        trade(&mut p, &spec, Side::Buy, lots(1000), px(200));
        assert_eq!(p.avg_entry_price(&spec), Some(150.0));
        assert_eq!(p.unrealized_pnl(&spec, px(160)), Amount::from_units(20));
        let mut s = Position::default();
        trade(&mut s, &spec, Side::Sell, lots(2000), px(100));
        assert_eq!(s.unrealized_pnl(&spec, px(90)), Amount::from_units(20));
        assert_eq!(s.unrealized_pnl(&spec, px(110)), Amount::from_units(-20));
        assert_eq!(Position::default().avg_entry_price(&spec), None);
    }

    #[test]
    fn marks_come_from_mids_and_closes() {
        use crate::domain::{Bar, Quote, SimDuration, VenueStatus};
        let venue = VenueId::new("binance").unwrap();
        let quote = |bid, ask| {
            MarketEvent::Quote(Quote {
                venue,
                symbol: spec().symbol,
                at: SimTime::EPOCH,
                bid: Price(bid),
                bid_qty: Qty(1),
                ask: Price(ask),
                ask_qty: Qty(1),
            })
        };
        let bar = MarketEvent::Bar(Bar {
            venue,
            symbol: spec().symbol,
            open_at: SimTime::EPOCH,
            interval: SimDuration::from_mins(1),
            open: Price(1),
            high: Price(9),
            low: Price(1),
            close: Price(7),
            volume: Qty(1),
        });
        let status = MarketEvent::Status {
            venue,
            at: SimTime::EPOCH,
            status: VenueStatus::Down,
        };
        for (name, event, want) in [
            ("odd mid rounds down", quote(100, 103), Some(Price(101))),
            ("no ask: the bid", quote(100, 0), Some(Price(100))),
            ("no bid: the ask", quote(0, 103), Some(Price(103))),
            ("empty book", quote(0, 0), None),
            ("bar close", bar, Some(Price(7))),
            ("status", status, None),
        ] {
            assert_eq!(mark_price_of(&event), want, "{name}");
        }
    }

    #[test]
    fn peaks_track_every_schedule_in_one_pass() {
        use crate::domain::{AccountId, ClientOrderId, Liquidity};
        let venue = VenueId::new("binance").unwrap();
        let mut ledger = PositionLedger::new(Asset::new("USDT").unwrap());
        ledger.add_instrument(venue, spec()).unwrap();
        // "a" stays flat; "b" is long, "c" short: a rise is a high for b and a drawdown for c.
        let names = ["a", "b", "c"].map(|n| StrategyId::new(n).unwrap());
        for s in names {
            ledger.open_schedule(s, Amount::from_units(1_000)).unwrap();
        }
        for (s, side) in [(names[1], Side::Buy), (names[2], Side::Sell)] {
            let report = ExecReport {
                at: SimTime::EPOCH,
                venue,
                account: AccountId(1),
                symbol: spec().symbol,
                client_order_id: ClientOrderId(1),
                kind: ExecKind::Fill {
                    price: px(100),
                    qty: lots(1_000),
                    fee: Amount::ZERO,
                    fee_asset: Asset::new("USDT").unwrap(),
                    liquidity: Liquidity::Taker,
                    leaves: Qty::ZERO,
                },
            };
            ledger.apply_fill(s, side, &report).unwrap();
        }
        ledger.mark(venue, spec().symbol, px(150)).unwrap();
        ledger.mark(venue, spec().symbol, px(120)).unwrap();
        let peak = |i: usize| ledger.schedule_summary(names[i]).unwrap().peak_equity;
        assert_eq!([peak(0), peak(1), peak(2)], [1_000.0, 1_050.0, 1_000.0]);
        let dd = |i: usize| ledger.pnl_drawdown_pct(names[i]).unwrap();
        assert_eq!(dd(0), 0.0);
        assert!((dd(1) - (1_020.0 - 1_050.0) / 1_050.0 * 100.0).abs() < 1e-12);
        assert!((dd(2) - -2.0).abs() < 1e-12);
        let worst_c = ledger.schedule_summary(names[2]).unwrap().max_drawdown_pct;
        assert!((worst_c - -5.0).abs() < 1e-12, "{worst_c}");
        // The total nets b against c: flat at 3 000 all along.
        assert_eq!(ledger.total_summary().peak_equity, 3_000.0);
        assert_eq!(ledger.total_pnl_drawdown_pct(), 0.0);
    }

    #[test]
    fn drawdown_is_a_negative_percentage() {
        let u = Amount::from_units;
        assert_eq!(drawdown_pct(u(95), u(100)), -5.0);
        assert_eq!(drawdown_pct(u(100), u(100)), 0.0);
        assert_eq!(
            drawdown_pct(u(120), u(100)),
            0.0,
            "above the peak is no drawdown"
        );
        assert_eq!(
            drawdown_pct(u(-5), u(0)),
            0.0,
            "no positive peak, no percentage"
        );
    }

    /// The ledger before instruments and schedules were interned: two map lookups per position
    /// and a full peak pass on every mark. Kept as the oracle the fast ledger must match.
    mod reference {
        use super::super::{
            Amount, InstrumentSpec, MarketEvent, Position, PositionKey, Price, Qty, Side,
            StrategyId, Symbol, VenueId, drawdown_pct, mark_price_of, trade,
        };
        use std::collections::BTreeMap;

        #[derive(Clone, Copy, Debug)]
        pub struct ScheduleBook {
            pub starting_capital: Amount,
            pub peak_equity: Amount,
            pub worst_drawdown_pct: f64,
        }

        #[derive(Default)]
        pub struct Ledger {
            pub instruments: BTreeMap<(VenueId, Symbol), InstrumentSpec>,
            pub marks: BTreeMap<(VenueId, Symbol), Price>,
            pub positions: BTreeMap<PositionKey, Position>,
            pub schedules: BTreeMap<StrategyId, ScheduleBook>,
            pub total_peak: Amount,
            pub total_worst_drawdown_pct: f64,
        }

        impl Ledger {
            pub fn open_schedule(&mut self, schedule: StrategyId, capital: Amount) {
                self.schedules.insert(
                    schedule,
                    ScheduleBook {
                        starting_capital: capital,
                        peak_equity: capital,
                        worst_drawdown_pct: 0.0,
                    },
                );
                self.total_peak += capital;
                self.observe_peaks();
            }

            pub fn fill(
                &mut self,
                key: PositionKey,
                side: Side,
                qty: Qty,
                price: Price,
                fee: Amount,
            ) {
                let spec = self.instruments[&(key.venue, key.symbol)].clone();
                let position = self.positions.entry(key).or_default();
                let realized = trade(position, &spec, side, qty, price);
                position.realized_pnl += realized;
                position.fees += fee;
                self.marks.entry((key.venue, key.symbol)).or_insert(price);
                self.observe_peaks();
            }

            pub fn forced_cover(&mut self, venue: VenueId, symbol: Symbol, qty: Qty, price: Price) {
                let spec = self.instruments[&(venue, symbol)].clone();
                let mut left = qty;
                for (key, position) in self.positions.iter_mut() {
                    if left.is_zero() {
                        break;
                    }
                    if key.venue != venue || key.symbol != symbol || position.qty.0 >= 0 {
                        continue;
                    }
                    let cover = left.min(Qty(-position.qty.0));
                    let realized = trade(position, &spec, Side::Buy, cover, price);
                    position.realized_pnl += realized;
                    left -= cover;
                }
                self.observe_peaks();
            }

            pub fn on_market_event(&mut self, event: &MarketEvent) {
                let (Some(symbol), Some(price)) = (event.symbol(), mark_price_of(event)) else {
                    return;
                };
                let key = (event.venue(), symbol);
                if self.instruments.contains_key(&key) {
                    self.marks.insert(key, price);
                    self.observe_peaks();
                }
            }

            fn unrealized(&self, key: &PositionKey, p: &Position) -> Amount {
                let k = (key.venue, key.symbol);
                match (self.instruments.get(&k), self.marks.get(&k)) {
                    (Some(spec), Some(mark)) if p.qty.0 != 0 => p.unrealized_pnl(spec, *mark),
                    _ => Amount::ZERO,
                }
            }

            pub fn gross(&self, key: &PositionKey, p: &Position) -> Amount {
                let k = (key.venue, key.symbol);
                match (self.instruments.get(&k), self.marks.get(&k)) {
                    (Some(spec), Some(mark)) => spec.notional(*mark, Qty(p.qty.0.abs())),
                    _ => Amount::ZERO,
                }
            }

            pub fn equity(&self, schedule: Option<StrategyId>) -> Amount {
                let capital = self
                    .schedules
                    .iter()
                    .filter(|(s, _)| schedule.is_none_or(|x| x == **s))
                    .fold(Amount::ZERO, |sum, (_, b)| sum + b.starting_capital);
                self.positions
                    .iter()
                    .filter(|(k, _)| schedule.is_none_or(|x| x == k.strategy))
                    .fold(capital, |sum, (k, p)| {
                        sum + p.realized_pnl - p.fees + self.unrealized(k, p)
                    })
            }

            fn observe_peaks(&mut self) {
                let equities: Vec<Amount> = self
                    .schedules
                    .keys()
                    .map(|s| self.equity(Some(*s)))
                    .collect();
                let mut total = Amount::ZERO;
                for (book, equity) in self.schedules.values_mut().zip(equities) {
                    if equity > book.peak_equity {
                        book.peak_equity = equity;
                    }
                    book.worst_drawdown_pct = book
                        .worst_drawdown_pct
                        .min(drawdown_pct(equity, book.peak_equity));
                    total += equity;
                }
                if total > self.total_peak {
                    self.total_peak = total;
                }
                self.total_worst_drawdown_pct = self
                    .total_worst_drawdown_pct
                    .min(drawdown_pct(total, self.total_peak));
            }
        }
    }

    /// One step of a random ledger history.
    #[derive(Clone, Debug)]
    enum Step {
        Fill {
            schedule: usize,
            instrument: usize,
            buy: bool,
            lots: i64,
            price: i64,
            fee: i64,
        },
        Quote {
            instrument: usize,
            bid: i64,
            ask: i64,
        },
        Bar {
            instrument: usize,
            close: i64,
        },
        Mark {
            instrument: usize,
            price: i64,
        },
        Cover {
            instrument: usize,
            lots: i64,
            price: i64,
        },
    }

    fn step() -> impl proptest::strategy::Strategy<Value = Step> {
        use proptest::prelude::*;
        // Three instruments (two venues), four schedules; prices around 100 USDT so moves of
        // a few percent make new peaks and drawdowns.
        prop_oneof![
            3 => (0..4usize, 0..3usize, any::<bool>(), 1..3_000i64, 9_000..11_000i64, 0..50i64)
                .prop_map(|(schedule, instrument, buy, lots, price, fee)| Step::Fill {
                    schedule, instrument, buy, lots, price, fee,
                }),
            3 => (0..4usize, 0..12_000i64, 0..12_000i64)
                .prop_map(|(instrument, bid, ask)| Step::Quote { instrument, bid, ask }),
            2 => (0..4usize, 8_000..12_000i64)
                .prop_map(|(instrument, close)| Step::Bar { instrument, close }),
            1 => (0..3usize, 8_000..12_000i64)
                .prop_map(|(instrument, price)| Step::Mark { instrument, price }),
            1 => (0..3usize, 1..4_000i64, 8_000..12_000i64)
                .prop_map(|(instrument, lots, price)| Step::Cover { instrument, lots, price }),
        ]
    }

    proptest::proptest! {
        /// Interning, cached equity and skipping the peak pass for instruments nobody holds
        /// change nothing: after every step, every figure the ledger reports equals the
        /// reference's.
        #[test]
        fn interned_ledger_matches_the_reference(steps in proptest::collection::vec(step(), 1..80)) {
            use crate::domain::{AccountId, Bar, ClientOrderId, Liquidity, Quote, SimDuration};
            let usdt = Asset::new("USDT").unwrap();
            let venues = [VenueId::new("binance").unwrap(), VenueId::new("kraken").unwrap()];
            let instrument = |symbol: &str, base: &str| {
                InstrumentSpec::new(
                    Symbol::new(symbol).unwrap(), Asset::new(base).unwrap(), usdt,
                    "0.01", "0.001", Qty(1), Amount::ZERO,
                ).unwrap()
            };
            // Slot 3 is never registered: its events must be ignored by both.
            let listed = [
                (venues[0], instrument("BTC_USDT", "BTC")),
                (venues[1], instrument("BTC_USDT", "BTC")),
                (venues[0], instrument("ETH_USDT", "ETH")),
                (venues[1], instrument("SOL_USDT", "SOL")),
            ];
            let names = ["d", "a", "c", "b"].map(|n| StrategyId::new(n).unwrap());
            let mut fast = PositionLedger::new(usdt);
            let mut slow = reference::Ledger::default();
            for (venue, spec) in &listed[..3] {
                fast.add_instrument(*venue, spec.clone()).unwrap();
                slow.instruments.insert((*venue, spec.symbol), spec.clone());
            }
            for (i, name) in names.iter().enumerate() {
                let capital = Amount::from_units(1_000 * (i as i64 + 1));
                fast.open_schedule(*name, capital).unwrap();
                slow.open_schedule(*name, capital);
            }
            for (n, step) in steps.iter().enumerate() {
                match *step {
                    Step::Fill { schedule, instrument, buy, lots, price, fee } => {
                        let (venue, spec) = &listed[instrument];
                        let side = if buy { Side::Buy } else { Side::Sell };
                        let fee = Amount(i128::from(fee) * 1_000_000);
                        let report = ExecReport {
                            at: SimTime::EPOCH,
                            venue: *venue,
                            account: AccountId(1),
                            symbol: spec.symbol,
                            client_order_id: ClientOrderId(n as u64),
                            kind: ExecKind::Fill {
                                price: Price(price), qty: Qty(lots), fee, fee_asset: usdt,
                                liquidity: Liquidity::Taker, leaves: Qty::ZERO,
                            },
                        };
                        let out = fast.apply_fill(names[schedule], side, &report).unwrap();
                        let key = PositionKey { strategy: names[schedule], venue: *venue, symbol: spec.symbol };
                        slow.fill(key, side, Qty(lots), Price(price), fee);
                        proptest::prop_assert_eq!(out.position_qty, slow.positions[&key].qty);
                    }
                    Step::Quote { instrument, bid, ask } => {
                        let (venue, spec) = &listed[instrument];
                        let event = MarketEvent::Quote(Quote {
                            venue: *venue, symbol: spec.symbol, at: SimTime::EPOCH,
                            bid: Price(bid), bid_qty: Qty(1), ask: Price(ask), ask_qty: Qty(1),
                        });
                        fast.on_market_event(&event);
                        slow.on_market_event(&event);
                    }
                    Step::Bar { instrument, close } => {
                        let (venue, spec) = &listed[instrument];
                        let event = MarketEvent::Bar(Bar {
                            venue: *venue, symbol: spec.symbol, open_at: SimTime::EPOCH,
                            interval: SimDuration::from_secs(1), open: Price(close),
                            high: Price(close), low: Price(close), close: Price(close),
                            volume: Qty(1),
                        });
                        fast.on_market_event(&event);
                        slow.on_market_event(&event);
                    }
                    Step::Mark { instrument, price } => {
                        let (venue, spec) = &listed[instrument];
                        fast.mark(*venue, spec.symbol, Price(price)).unwrap();
                        let mark = MarketEvent::Bar(Bar {
                            venue: *venue, symbol: spec.symbol, open_at: SimTime::EPOCH,
                            interval: SimDuration::from_secs(1), open: Price(price),
                            high: Price(price), low: Price(price), close: Price(price),
                            volume: Qty(1),
                        });
                        slow.on_market_event(&mark);
                    }
                    Step::Cover { instrument, lots, price } => {
                        let (venue, spec) = &listed[instrument];
                        fast.apply_forced_cover(SimTime::EPOCH, *venue, spec.symbol, Qty(lots), Price(price)).unwrap();
                        slow.forced_cover(*venue, spec.symbol, Qty(lots), Price(price));
                    }
                }
                let fast_positions: Vec<_> = fast.positions().map(|(k, p)| (*k, *p)).collect();
                let slow_positions: Vec<_> = slow.positions.iter().map(|(k, p)| (*k, *p)).collect();
                proptest::prop_assert_eq!(fast_positions, slow_positions, "step {}", n);
                for (venue, spec) in &listed {
                    proptest::prop_assert_eq!(
                        fast.mark_price(*venue, spec.symbol),
                        slow.marks.get(&(*venue, spec.symbol)).copied()
                    );
                }
                proptest::prop_assert_eq!(fast.total_equity(), slow.equity(None), "step {}", n);
                let total = fast.total_summary();
                proptest::prop_assert_eq!(total.peak_equity, slow.total_peak.to_units_f64());
                proptest::prop_assert_eq!(total.max_drawdown_pct, slow.total_worst_drawdown_pct);
                proptest::prop_assert_eq!(
                    fast.total_pnl_drawdown_pct(),
                    drawdown_pct(slow.equity(None), slow.total_peak)
                );
                proptest::prop_assert_eq!(fast.schedules().collect::<Vec<_>>(), slow.schedules.keys().copied().collect::<Vec<_>>());
                for name in names {
                    let book = slow.schedules[&name];
                    let equity = slow.equity(Some(name));
                    let summary = fast.schedule_summary(name).unwrap();
                    proptest::prop_assert_eq!(fast.schedule_equity(name), Some(equity), "{} step {}", name, n);
                    proptest::prop_assert_eq!(summary.equity, equity.to_units_f64());
                    proptest::prop_assert_eq!(summary.peak_equity, book.peak_equity.to_units_f64());
                    proptest::prop_assert_eq!(summary.max_drawdown_pct, book.worst_drawdown_pct);
                    proptest::prop_assert_eq!(
                        fast.pnl_drawdown_pct(name),
                        Some(drawdown_pct(equity, book.peak_equity))
                    );
                    let gross = slow
                        .positions
                        .iter()
                        .filter(|(k, _)| k.strategy == name)
                        .fold(Amount::ZERO, |sum, (k, p)| sum + slow.gross(k, p));
                    proptest::prop_assert_eq!(fast.gross_exposure(name), gross);
                }
            }
        }
    }
}
