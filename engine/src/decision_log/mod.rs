//! The decision log: one JSON object per line for every decision and action, signed with
//! HMAC over canonical JSON in the reference's exact format (ops.md §1–§2), so logs verify
//! across both systems.
//!
//! - [`canonical`]: the JSON model and Python-compatible canonical bytes.
//! - [`sign`]: signing keys, the `signature` object, verification of one entry.

pub mod canonical;
pub mod sign;

pub use canonical::{Json, JsonError, python_float_repr};
pub use sign::{Algorithm, SignatureError, SigningKey, verify_entry};
