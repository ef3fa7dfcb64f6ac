//! Integration tests of stage4-reports (one test binary for the crate).

mod chromium;
mod compliance;
mod scenario;
mod sweep;
