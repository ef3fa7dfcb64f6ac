//! The vocabulary shared by the engine and the simulator: time, money, ids, market data,
//! orders and execution reports. Small plain types; no behaviour beyond arithmetic and
//! validation.

pub mod ids;
pub mod market;
pub mod num;
pub mod order;
pub mod report;
pub mod time;

pub use ids::{AccountId, Asset, ClientOrderId, IdError, OrderId, StrategyId, Symbol, VenueId};
pub use market::{Bar, MarketEvent, Quote, VenueStatus};
pub use num::{ATOMS_PER_UNIT, Amount, InstrumentSpec, NumError, Price, Qty};
pub use order::{CancelRequest, OrderKind, OrderRequest, Side, TimeInForce};
pub use report::{ExecKind, ExecReport, Liquidity, RejectReason};
pub use time::{SimDuration, SimTime, TimeParseError};
