//! Renderers: neutral report shapes to the text formats CI systems and people read.
//!
//! - [`json`]: pretty JSON with keys sorted at every level, the layout of Python's
//!   `json.dumps(indent=2, sort_keys=True, ensure_ascii=False)` that the reference tools print.
//! - [`junit`]: JUnit XML from a plain suite of test cases (audits and scenario reports both
//!   feed it).
//! - [`sarif`]: SARIF 2.1.0 from a plain list of results (rule id, level, message, location).
//! - [`text`], [`markdown`], [`html`]: scenario reports (and sweep summaries) for terminals,
//!   Markdown readers and browsers; [`svg`] draws the HTML report's charts.

pub mod html;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod sarif;
pub mod svg;
pub mod text;
