//! # stage4-reports: report schemas and renderers
//!
//! Pure data to text: serde schemas for every report stage4 writes, and renderers for JSON,
//! Markdown, JUnit XML, SARIF and HTML with SVG charts. No engine or simulator types.
