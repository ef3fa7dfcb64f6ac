//! Execution: where approved orders go and what their fills do. The paper venue fills orders
//! with the reference's immediate fill model; the position ledger turns fills into positions,
//! PnL, equity, drawdown and exposure per schedule.

pub mod paper;
pub mod positions;
pub mod router;

pub use paper::{
    LedgerEntry, LedgerSide, LedgerStatus, Liquidation, PaperConfig, PaperError, PaperVenue,
    ShortPosition,
};
pub use positions::{
    FillOutcome, PnlSummary, Position, PositionError, PositionKey, PositionLedger, mark_price_of,
};
