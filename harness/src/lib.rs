//! # stage4-harness: the `stage4` command line and everything that touches the outside world
//!
//! The only crate that reads files, the environment, arguments or the wall clock. The binary
//! (`src/main.rs`) is a thin shell over [`cli::run`]; everything testable lives in this library.
//!
//! ## Map
//! - [`cli`]: argument structs and dispatch, one module per command group.
//! - [`decision_log`]: decision-log files: locked appends, streaming verification, keys.
//! - [`exit`]: the exit-code convention (0 ok, 1 check failed, 2 bad input).
//! - [`fsio`]: atomic writes with the right permissions.
//! - [`secrets`]: env files, key files and the environment, read safely and never printed.

pub mod cli;
pub mod decision_log;
pub mod exit;
pub mod fsio;
pub mod secrets;
