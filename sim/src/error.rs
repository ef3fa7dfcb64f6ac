//! The simulator's errors. Only broken contracts and bad input are errors; market outcomes
//! (rejects, outages) are values.

/// A configuration the simulator cannot run. Every variant names the offending field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A field has a value outside what it accepts.
    #[error("`{field}`: {message}")]
    Invalid {
        /// Dotted path of the field, e.g. `venues.kraken.latency.order_entry`.
        field: String,
        /// What is wrong and what is expected.
        message: String,
    },
}

impl ConfigError {
    pub(crate) fn invalid(field: impl Into<String>, message: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Bad recorded market data (the replay CSV).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplayError {
    /// A line could not be used.
    #[error("line {line}: {message}")]
    BadLine {
        /// 1-based line number in the CSV text.
        line: usize,
        /// What is wrong and what is expected.
        message: String,
    },
    /// The header is not the documented one.
    #[error("line 1: expected the header `{expected}`, found `{found}`")]
    BadHeader {
        /// The header the format requires.
        expected: &'static str,
        /// The first line found.
        found: String,
    },
    /// No bars at all.
    #[error("the replay file has no bars")]
    Empty,
}
