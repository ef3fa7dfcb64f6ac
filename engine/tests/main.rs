//! Integration tests of stage4-engine, one binary with a module per area.

mod decision_log; // golden vectors, chain tamper detection, writer/verifier properties
mod engine; // the whole engine on paper venues for a day
mod execution; // paper venue → position ledger → risk engine, through the public API
mod risk; // risk over days and weeks, the cumulative-exposure and reduce-only properties
mod strategies; // golden vectors, hand-computed cases, metric regressions, properties
mod telemetry; // alert evaluator, exposition, thresholds through the public API
