//! Scenarios: a file scripts the market, faults and operator actions on a timeline; the
//! simulator drives the engine through it; expectations get verdicts; reports are written.
//!
//! - [`raw`]: the file as written (serde, unknown keys refused, positions kept).
//! - [`plan`]: validated [`plan::ScenarioPlan`]; errors name file, line, column and key.
//! - [`runner`]: runs a plan (simulator + engine + actions) into a [`runner::RunOutcome`].
//! - [`observe`]: what a run leaves behind for expectations and reports.
//! - [`expect`], [`escalate`]: verdicts per expectation; the escalation checklist on a run.
//! - [`report`]: the run directory (reports, decision log, escalations, metrics, promtool test).
//! - [`sweep`]: seed sweeps, sharded for CI.
//! - [`library`]: `scenarios/*.toml` by name.

pub mod escalate;
pub mod expect;
pub mod library;
pub mod observe;
pub mod plan;
pub mod raw;
pub mod report;
pub mod runner;
pub mod sweep;

pub use plan::{ScenarioError, ScenarioPlan};
