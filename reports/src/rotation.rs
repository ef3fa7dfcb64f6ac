//! The `stage4 keys check-rotation --json` report: one entry per environment's API key with the
//! reference's status fields (`last_rotated`, `days_since_rotation`, `due_in_days`, `is_due`,
//! `is_overdue`), the state and the exit code it implies.

use serde::{Deserialize, Serialize};

/// Version of this report's schema.
pub const SCHEMA_VERSION: u32 = 1;

/// Rotation state of one key, worst last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RotationState {
    /// Inside the safe window.
    Ok,
    /// Due, or due within the warning window: plan the rotation (exit 1).
    DueSoon,
    /// Past the interval or never rotated: rotate now (exit 2).
    Overdue,
}

impl RotationState {
    /// The reference's exit-code contribution: 0, 1 or 2.
    pub fn exit_code(self) -> u8 {
        match self {
            RotationState::Ok => 0,
            RotationState::DueSoon => 1,
            RotationState::Overdue => 2,
        }
    }
}

/// The report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RotationReport {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Audit time (RFC 3339, whole seconds, `Z`).
    pub checked_at: String,
    /// Absolute config path.
    pub config: String,
    /// Rotation interval in days.
    pub interval_days: f64,
    /// Warning window in days.
    pub warn_days: f64,
    /// Worst state over all environments.
    pub status: RotationState,
    /// One entry per checked environment, in config order.
    pub environments: Vec<KeyRotation>,
    /// Environments whose rotation was recorded by `--mark-rotated`.
    pub marked_rotated: Vec<String>,
}

/// One environment's key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyRotation {
    /// Environment name.
    pub environment: String,
    /// `keychain_key`.
    pub key: String,
    /// `credential_purpose`.
    pub purpose: String,
    /// The registry file read.
    pub registry_path: String,
    /// Last rotation (RFC 3339), if recorded and readable.
    pub last_rotated: Option<String>,
    /// Days since the last rotation.
    pub days_since_rotation: Option<f64>,
    /// Days until due (negative when overdue).
    pub due_in_days: f64,
    /// `days_since >= interval` (or never rotated).
    pub is_due: bool,
    /// `days_since > interval` (or never rotated).
    pub is_overdue: bool,
    /// The state.
    pub state: RotationState,
    /// Problems with the record (unreadable timestamp, future date, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}
