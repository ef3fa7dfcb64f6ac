//! Integration tests of stage4-engine, one binary with a module per area.

mod strategies;
mod telemetry;
