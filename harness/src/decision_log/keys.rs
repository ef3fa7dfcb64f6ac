//! Where the decision-log HMAC key comes from: an environment variable (looked up in
//! `--env-file` first, then the process environment) or a private key file. Never from the
//! command line, where `ps` and shell history would show it (ops.md §10 item 12).

use std::path::PathBuf;

use anyhow::{Result, bail};
use stage4_engine::decision_log::SigningKey;

use crate::secrets::{Secrets, fingerprint, read_private_file};

/// The variable the OEM site keeps the decision-log key in (ARCHITECTURE §8).
pub const DEFAULT_KEY_ENV: &str = "LIVE_DECISION_LOG_HMAC";

/// Keys shorter than this are accepted (the reference's own golden vectors use short keys)
/// but writers warn: the reference's OEM acceptance refuses them.
pub const RECOMMENDED_KEY_LEN: usize = 32;

/// Salt of the printable key fingerprint.
pub const FINGERPRINT_SALT: &str = "stage4.decision_log";

/// Where to read the key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeySource {
    /// The named variable; `explicit` is false when it is the default [`DEFAULT_KEY_ENV`].
    Env {
        /// Variable name.
        name: String,
        /// Given on the command line (an unset variable is then an error even when a key is
        /// optional).
        explicit: bool,
    },
    /// A key file (stripped, must be mode 0600 or stricter).
    File(PathBuf),
}

impl KeySource {
    /// `env:NAME` or `file:PATH`, for reports.
    pub fn describe(&self) -> String {
        match self {
            KeySource::Env { name, .. } => format!("env:{name}"),
            KeySource::File(path) => format!("file:{}", path.display()),
        }
    }
}

/// Reads the key from `source` and returns it with its salted fingerprint (the only form in
/// which a key may be printed). `Ok(None)` only when the key is optional (`required` false)
/// and the default variable is unset. An empty key is always an error.
pub fn resolve_key(
    source: &KeySource,
    secrets: &Secrets,
    key_id: Option<String>,
    required: bool,
) -> Result<Option<(SigningKey, String)>> {
    let bytes = match source {
        KeySource::File(path) => read_private_file(path)?,
        KeySource::Env { name, explicit } => match secrets.get(name) {
            Some(value) if value.is_empty() => {
                bail!("{name} is set but empty: the decision-log key must not be empty")
            }
            Some(value) => value.into_bytes(),
            None if !*explicit && !required => return Ok(None),
            None => bail!(
                "{name} is not set (looked in --env-file, then the environment); set it, or name another variable with --hmac-key-env or a key file with --hmac-key-file"
            ),
        },
    };
    if let Some(id) = &key_id
        && id.trim().is_empty()
    {
        bail!("--key-id is empty");
    }
    let print = fingerprint(FINGERPRINT_SALT, &bytes);
    Ok(Some((SigningKey::new(bytes, key_id), print)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::EnvFile;

    fn secrets(text: &str) -> Secrets {
        Secrets::isolated(EnvFile::parse(text).unwrap())
    }

    #[test]
    fn env_keys_resolve_and_unset_defaults_are_optional() {
        let s = secrets("LIVE_DECISION_LOG_HMAC=abc\nEMPTY=\n");
        let default = KeySource::Env {
            name: DEFAULT_KEY_ENV.to_owned(),
            explicit: false,
        };
        let (key, print) = resolve_key(&default, &s, None, true).unwrap().unwrap();
        assert_eq!(key.len(), 3);
        assert!(print.starts_with("sha256:"));

        let none = secrets("");
        assert!(resolve_key(&default, &none, None, false).unwrap().is_none());
        assert!(resolve_key(&default, &none, None, true).is_err());
        let named = KeySource::Env {
            name: "OTHER".to_owned(),
            explicit: true,
        };
        let err = resolve_key(&named, &none, None, false)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("OTHER is not set"), "{err}");
        let empty = KeySource::Env {
            name: "EMPTY".to_owned(),
            explicit: true,
        };
        assert!(
            resolve_key(&empty, &s, None, false)
                .unwrap_err()
                .to_string()
                .contains("empty")
        );
        assert!(resolve_key(&default, &s, Some(" ".to_owned()), true).is_err());
    }
}
