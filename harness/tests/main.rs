//! Integration tests of stage4-harness (one test binary; one module per area).

mod decision_log;
