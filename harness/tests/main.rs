//! Integration tests of stage4-harness (one test binary for the crate).

mod audit;
