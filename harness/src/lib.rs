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
//! - [`rollback`]: the multi-strategy override file (disable, restore, status).
//! - [`scenario`]: scenario files (raw → plan), the runner, expectations, reports.
//! - [`secrets`]: env files, key files and the environment, read safely and never printed.
//! - [`browser`]: headless Chromium screenshots of HTML reports.
//! - [`config`]: the `core.yaml` loader (raw sections plus typed views for the audits).
//! - [`audit`]: compliance, security baseline and key-rotation audits, X.509 checks.
//! - [`tls`]: the rustls mTLS probe and a loopback mTLS server.
//! - [`site`]: `site materialize`, a concrete OEM training site with generated certificates.
//! - [`sim_run`]: `stage4 sim run`, a market run streamed to disk with its digest.
//! - [`escalation`]: the escalation checklist (JSONL rules), its validator and the evaluator
//!   that turns a run's observations into escalations.
//! - [`load_test`]: `stage4 scheduler load-test`, the scheduler timed on a simulated market.

pub mod audit;
pub mod browser;
pub mod cli;
pub mod config;
pub mod decision_log;
pub mod escalation;
pub mod exit;
pub mod fsio;
pub mod load_test;
pub mod rollback;
pub mod scenario;
pub mod secrets;
pub mod sim_run;
pub mod site;
pub mod tls;
