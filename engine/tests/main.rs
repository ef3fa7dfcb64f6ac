//! Integration tests of stage4-engine (one test binary; one module per area).

mod decision_log;
