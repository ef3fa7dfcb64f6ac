//! Exit codes, the same everywhere: 0 ok (warnings allowed), 1 a check failed, 2 usage,
//! configuration or input error.

use std::process::ExitCode;

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Everything passed (warnings allowed). Exit code 0.
    Ok,
    /// The command ran and a check failed. Exit code 1.
    Failed,
    /// The command ran but must report an input-class failure, e.g. the security baseline's
    /// `--fail-on-error`. Exit code 2. (Errors returned as `Err` also exit 2.)
    Error,
}

impl Exit {
    /// The numeric exit code.
    pub fn code(self) -> u8 {
        match self {
            Exit::Ok => 0,
            Exit::Failed => 1,
            Exit::Error => 2,
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> ExitCode {
        ExitCode::from(exit.code())
    }
}
