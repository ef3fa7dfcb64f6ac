//! Integration tests of stage4-reports (one test binary for the crate).

mod compliance;
mod scenario;
mod sweep;
