//! Integration tests of stage4-engine, one binary with a module per area.

mod strategies;
mod telemetry;
mod execution; // paper venue → position ledger → risk engine, through the public API
mod risk; // risk over days and weeks, the cumulative-exposure and reduce-only properties
