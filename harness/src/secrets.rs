//! Secrets: env files, key files and the process environment, read safely and never printed.
//!
//! - [`read_private_file`] refuses a file other users can read (a secret that leaked through
//!   permissions is already compromised) and strips surrounding whitespace, as the reference
//!   does for `--hmac-key-file`.
//! - [`EnvFile`] reads `KEY=VALUE` files (`--env-file`), same permission rule.
//! - [`Secrets`] answers "what is `NAME`?" from an env file first, then the process
//!   environment, so commands work on a fresh machine without exporting anything.
//! - [`fingerprint`] is how a secret may appear in output: a salted, truncated SHA-256 that
//!   lets two hosts compare secrets without revealing them.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};

/// Reads a secret file, refusing one that group or others may read or write, and returns its
/// contents with surrounding whitespace removed. An empty secret is an error.
pub fn read_private_file(path: &Path) -> Result<Vec<u8>> {
    check_private(path)?;
    let bytes = fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let trimmed = bytes.trim_ascii().to_vec();
    if trimmed.is_empty() {
        bail!("{} is empty: a key file must hold the key", path.display());
    }
    Ok(trimmed)
}

/// Fails unless `path` exists and has no group/other permission bits (mode `0600` or stricter).
pub fn check_private(path: &Path) -> Result<()> {
    let meta = fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        bail!(
            "{} has mode {mode:04o}: a secret file must not be readable by group or others (run `chmod 600 {}`)",
            path.display(),
            path.display()
        );
    }
    Ok(())
}

/// A parsed `KEY=VALUE` env file.
///
/// Format: one assignment per line, optional `export ` prefix, `#` starts a comment line,
/// blank lines are ignored, a value may be wrapped in single or double quotes (removed).
/// Keys must look like environment variable names.
#[derive(Clone, Default)]
pub struct EnvFile {
    path: PathBuf,
    vars: BTreeMap<String, String>,
}

impl std::fmt::Debug for EnvFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Names only: values are secrets.
        f.debug_struct("EnvFile")
            .field("path", &self.path)
            .field("keys", &self.vars.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl EnvFile {
    /// Loads `path`, refusing a group/world-readable file and reporting the first bad line.
    pub fn load(path: &Path) -> Result<EnvFile> {
        check_private(path)?;
        let text =
            fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        let vars = parse_env(&text).map_err(|(line, why)| {
            anyhow::anyhow!("{}:{line}: {why} (expected KEY=VALUE)", path.display())
        })?;
        Ok(EnvFile {
            path: path.to_owned(),
            vars,
        })
    }

    /// Parses env-file text (no permission check); for tests and embedded defaults.
    pub fn parse(text: &str) -> Result<EnvFile> {
        let vars = parse_env(text)
            .map_err(|(line, why)| anyhow::anyhow!("line {line}: {why} (expected KEY=VALUE)"))?;
        Ok(EnvFile {
            path: PathBuf::new(),
            vars,
        })
    }

    /// The value of `name`, if the file sets it.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }

    /// Names the file sets, sorted.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.vars.keys().map(String::as_str)
    }
}

fn parse_env(text: &str) -> std::result::Result<BTreeMap<String, String>, (usize, &'static str)> {
    let mut vars = BTreeMap::new();
    for (i, raw) in text.lines().enumerate() {
        let line_no = i + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line).trim_start();
        let (key, value) = line.split_once('=').ok_or((line_no, "no `=`"))?;
        let key = key.trim();
        let valid_key = !key.is_empty()
            && !key.starts_with(|c: char| c.is_ascii_digit())
            && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !valid_key {
            return Err((line_no, "the name is not a valid variable name"));
        }
        let value = value.trim();
        let value = match value.as_bytes() {
            [b'"', .., b'"'] | [b'\'', .., b'\''] if value.len() >= 2 => &value[1..value.len() - 1],
            [b'"' | b'\'', ..] => return Err((line_no, "unterminated quote")),
            _ => value,
        };
        vars.insert(key.to_owned(), value.to_owned());
    }
    Ok(vars)
}

/// Where secrets come from: an optional env file first, then (unless disabled) the process
/// environment.
#[derive(Debug, Clone, Default)]
pub struct Secrets {
    env_file: Option<EnvFile>,
    use_process_env: bool,
}

impl Secrets {
    /// Secrets from the process environment only.
    pub fn from_process_env() -> Secrets {
        Secrets {
            env_file: None,
            use_process_env: true,
        }
    }

    /// Secrets from `--env-file PATH` (if given) over the process environment.
    pub fn with_env_file(env_file: Option<&Path>) -> Result<Secrets> {
        Ok(Secrets {
            env_file: env_file.map(EnvFile::load).transpose()?,
            use_process_env: true,
        })
    }

    /// Secrets from an env file only (ignores the process environment: for reproducible
    /// scenario runs and tests).
    pub fn isolated(env_file: EnvFile) -> Secrets {
        Secrets {
            env_file: Some(env_file),
            use_process_env: false,
        }
    }

    /// The value of `name`: the env file wins over the process environment. A variable set to
    /// a non-UTF-8 value counts as unset.
    pub fn get(&self, name: &str) -> Option<String> {
        if let Some(v) = self.env_file.as_ref().and_then(|f| f.get(name)) {
            return Some(v.to_owned());
        }
        if self.use_process_env {
            std::env::var(name).ok()
        } else {
            None
        }
    }
}

/// A printable stand-in for a secret: `sha256:` and the first 12 hex digits of
/// SHA-256(salt ‖ secret). The salt is public (a label such as the site name) and only stops
/// precomputed lookups; equal secrets under the same salt give equal fingerprints.
pub fn fingerprint(salt: &str, secret: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(salt.as_bytes());
    h.update([0u8]);
    h.update(secret);
    let digest = h.finalize();
    let hex: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn write_file(dir: &Path, name: &str, body: &str, mode: u32) -> PathBuf {
        let p = dir.join(name);
        let mut f = fs::File::create(&p).unwrap();
        f.write_all(body.as_bytes()).unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(mode)).unwrap();
        p
    }

    #[test]
    fn env_files_parse_and_refuse_wide_permissions() {
        let dir = tempfile::tempdir().unwrap();
        let body = "# training secrets\nexport A=1\nB = \"two words\"\nC='x=y'\n\nD=\n";
        let ok = write_file(dir.path(), "ok.env", body, 0o600);
        let env = EnvFile::load(&ok).unwrap();
        assert_eq!(env.get("A"), Some("1"));
        assert_eq!(env.get("B"), Some("two words"));
        assert_eq!(env.get("C"), Some("x=y"));
        assert_eq!(env.get("D"), Some(""));
        assert_eq!(env.keys().collect::<Vec<_>>(), ["A", "B", "C", "D"]);
        assert!(!format!("{env:?}").contains("two words"));

        let wide = write_file(dir.path(), "wide.env", body, 0o640);
        let err = EnvFile::load(&wide).unwrap_err().to_string();
        assert!(
            err.contains("mode 0640") && err.contains("chmod 600"),
            "{err}"
        );

        let bad = write_file(dir.path(), "bad.env", "A=1\nnot an assignment\n", 0o600);
        let err = EnvFile::load(&bad).unwrap_err().to_string();
        assert!(
            err.ends_with("bad.env:2: no `=` (expected KEY=VALUE)"),
            "{err}"
        );
        let bad = write_file(dir.path(), "bad2.env", "1A=1\n", 0o600);
        assert!(EnvFile::load(&bad).is_err());
    }

    #[test]
    fn key_files_are_stripped_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let key = write_file(dir.path(), "k", "  secret-key\n", 0o600);
        assert_eq!(read_private_file(&key).unwrap(), b"secret-key");
        let empty = write_file(dir.path(), "e", " \n", 0o600);
        assert!(read_private_file(&empty).is_err());
        let open = write_file(dir.path(), "o", "secret", 0o644);
        assert!(read_private_file(&open).is_err());
        assert!(read_private_file(&dir.path().join("missing")).is_err());
    }

    #[test]
    fn env_file_wins_over_nothing_and_isolated_ignores_process_env() {
        let env = EnvFile::parse("PATH=from-file\n").unwrap();
        let secrets = Secrets::isolated(env);
        assert_eq!(secrets.get("PATH").as_deref(), Some("from-file"));
        assert_eq!(secrets.get("HOME"), None);
    }

    #[test]
    fn fingerprints_are_stable_salted_and_short() {
        let a = fingerprint("site", b"secret");
        assert_eq!(a, fingerprint("site", b"secret"));
        assert_ne!(a, fingerprint("other", b"secret"));
        assert_eq!(a.len(), "sha256:".len() + 12);
    }
}
