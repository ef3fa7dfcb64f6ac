//! # stage4-reports: report schemas and renderers
//!
//! Pure data to text: serde schemas for every report stage4 writes, and renderers for JSON,
//! Markdown, JUnit XML, SARIF and HTML with SVG charts. No engine or simulator types.
//!
//! ## Map
//! - [`findings`]: `{check, message}` findings, the checks that ran, and their JUnit/SARIF views.
//! - [`compliance`]: the `stage4 audit compliance` report (reference keys + `schema_version`).
//! - [`baseline`]: the `stage4 audit security-baseline` report.
//! - [`rotation`]: the `stage4 keys check-rotation --json` report.
//! - [`scenario`]: the `stage4 scenario run` report (expectations, timeline, chart series,
//!   summary) and its JUnit view.
//! - [`sweep`]: seed sweeps, shards (`A..B`, `i/n`) and the merge of shard results.
//! - [`render`]: sorted pretty JSON, JUnit XML and SARIF 2.1.0 renderers over neutral structs;
//!   text, Markdown and self-contained HTML (inline SVG charts) for scenario and sweep reports.
//! - [`load_test`]: the `stage4 scheduler load-test` report and its verdict rule.

pub mod baseline;
pub mod compliance;
pub mod findings;
pub mod load_test;
pub mod render;
pub mod rotation;
pub mod scenario;
pub mod sweep;
