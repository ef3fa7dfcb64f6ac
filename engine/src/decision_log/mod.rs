//! The decision log: one JSON object per line for every decision and action, signed with
//! HMAC over canonical JSON in the reference's exact format (ops.md §1–§2), so logs verify
//! across both systems.
//!
//! - [`canonical`]: the JSON model and Python-compatible canonical bytes (`serialize` turns
//!   serde values into it directly).
//! - [`sign`]: signing keys, the `signature` object, verification of one entry.
//! - [`entry`]: builders for every kind of entry (`strategy_signal`, `risk_decision`, ...,
//!   `incident`, `seal`), written once against [`members::Members`]: into a tree, or straight
//!   into canonical text ([`members::ObjectText`]) on the engine's hot path.
//! - [`incident`]: the incident lifecycle replayed from a log ([`IncidentBook`]).
//! - [`chain`]: the optional hash chain (`seq`, `prev_hash`, seals) and how truncation is
//!   caught.
//! - [`writer`]: [`DecisionLogWriter`], signing and chaining entries into lines (sans-IO).
//! - [`verify`]: [`Verifier`], checking every line and the log as a whole.

pub mod canonical;
pub mod chain;
pub mod entry;
pub mod incident;
pub mod members;
mod serialize;
pub mod sign;
pub mod verify;
pub mod writer;

pub use canonical::{Json, JsonError, python_float_repr, splice_member};
pub use chain::{GENESIS_HASH, entry_hash};
pub use entry::{Entry, INCIDENT_CATEGORY, strategy_signal};
pub use incident::{IncidentBook, IncidentError, IncidentRequest};
pub use members::{Members, ObjectText};
pub use sign::{Algorithm, SignatureError, SignatureParts, SigningKey, verify_entry};
pub use verify::{LineReport, LogProblem, Problem, Summary, Verifier, VerifyOptions, verify_log};
pub use writer::{DecisionLogWriter, ResumeError, SealError};
