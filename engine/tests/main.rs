//! Integration tests of stage4-engine, one binary with a module per area.

mod engine; // the whole engine on paper venues for a day
mod execution; // paper venue → position ledger → risk engine, through the public API
mod risk;
mod strategies;
mod telemetry; // risk over days and weeks, the cumulative-exposure and reduce-only properties
