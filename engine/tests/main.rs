//! Integration tests of stage4-engine (one binary; one module per area).

mod telemetry;
