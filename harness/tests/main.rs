//! Integration tests of the stage4 harness (one binary; one module per area).

mod audit;
mod escalation;
mod promtool;
