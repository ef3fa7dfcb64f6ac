//! Decision-log files: the I/O around the engine's sans-IO decision log.
//!
//! - [`file`](mod@file): locked, fsynced appends that refuse damaged or sealed logs ([`LogFile`],
//!   [`append_entries`]); the scenario runner writes its entries through this too.
//! - [`check`]: streaming verification of a file or stdin ([`check_path`]).
//! - [`keys`]: where the HMAC key comes from (env variable or private key file).

pub mod check;
pub mod file;
pub mod keys;

pub use check::{Checked, check_path, check_reader};
pub use file::{Appended, DEFAULT_LOCK_TIMEOUT, LogFile, append_entries};
pub use keys::{DEFAULT_KEY_ENV, KeySource, resolve_key};
