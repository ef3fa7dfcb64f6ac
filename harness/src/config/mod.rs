//! The `core.yaml` loader, shared by every command that reads the site's configuration.
//!
//! The file is parsed once into a [`serde_norway::Value`] and kept: audits read it leniently
//! (a wrong type is a finding, not a crash), other subsystems deserialize their own sections
//! with [`CoreConfig::deserialize_section`]. Typed views for what the audits need live in
//! [`views`].
//!
//! Facts kept from the reference loader (audit.md §0.3):
//! - relative paths resolve against the **config file's directory**, not the working
//!   directory ([`CoreConfig::resolve`]); we apply this to `environments.*.data_cache_path` too,
//!   which the reference alone left relative to the working directory;
//! - `metrics_service`, `resource_limits` live under `runtime:`; `multi_strategy_schedulers`
//!   is read from the top level and from `runtime:`, the runtime entry winning on a name clash;
//! - an empty file is an empty mapping.
//!
//! Malformed YAML is an error naming the file, line and column; a root that is not a mapping
//! is an error too (the reference crashed on it).

pub mod value;
pub mod views;

use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde_norway::Value;

pub use views::{
    EnvironmentView, KeyRotationEntry, KeyRotationView, RbacTokenView, ResourceLimits,
    SchedulerView,
};

/// Why a config could not be used. Every variant names the file; the CLI exits 2.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file does not exist.
    #[error("config file {} does not exist (pass --config PATH)", path.display())]
    NotFound {
        /// The path tried.
        path: PathBuf,
    },
    /// The file exists but cannot be read.
    #[error("cannot read config file {}: {source}", path.display())]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file is not valid YAML.
    #[error("{}:{line}:{column}: malformed YAML: {message}", path.display())]
    Malformed {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What the parser said.
        message: String,
    },
    /// The document root is a list or a scalar.
    #[error("{}: the document must be a mapping of sections, found {found}", path.display())]
    NotAMapping {
        /// The file.
        path: PathBuf,
        /// What it is instead.
        found: &'static str,
    },
    /// A section does not have the expected shape.
    #[error("{}: `{key}`: {message}", path.display())]
    Section {
        /// The file.
        path: PathBuf,
        /// Dotted key path, e.g. `environments.live_binance`.
        key: String,
        /// What is wrong.
        message: String,
    },
}

/// A loaded `core.yaml`.
#[derive(Clone)]
pub struct CoreConfig {
    path: PathBuf,
    dir: PathBuf,
    raw: Value,
}

impl fmt::Debug for CoreConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The raw tree may hold inline secrets (`token_value`, `auth_token`): never print it.
        f.debug_struct("CoreConfig")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl CoreConfig {
    /// Loads and parses `path` (a leading `~/` is expanded). The stored path is absolute.
    pub fn load(path: &Path) -> Result<CoreConfig, ConfigError> {
        let path = expand_home(path);
        let text = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(ConfigError::NotFound { path });
            }
            Err(source) => return Err(ConfigError::Unreadable { path, source }),
        };
        let abs = std::fs::canonicalize(&path).unwrap_or_else(|_| absolute(&path));
        let text = String::from_utf8(text).map_err(|e| ConfigError::Unreadable {
            path: abs.clone(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
        })?;
        CoreConfig::parse(&text, &abs)
    }

    /// Parses YAML text as if it were the file at `path` (which is not read).
    pub fn parse(text: &str, path: &Path) -> Result<CoreConfig, ConfigError> {
        let path = absolute(path);
        let raw: Value = if text.trim().is_empty() {
            Value::Mapping(Default::default())
        } else {
            serde_norway::from_str(text).map_err(|e| {
                let (line, column) = e
                    .location()
                    .map(|l| (l.line(), l.column()))
                    .unwrap_or((0, 0));
                ConfigError::Malformed {
                    path: path.clone(),
                    line,
                    column,
                    message: strip_location(&e.to_string()),
                }
            })?
        };
        let raw = match raw {
            Value::Null => Value::Mapping(Default::default()),
            Value::Mapping(_) => raw,
            other => {
                return Err(ConfigError::NotAMapping {
                    path,
                    found: value::kind(&other),
                });
            }
        };
        let dir = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("/"));
        Ok(CoreConfig { path, dir, raw })
    }

    /// Absolute path of the file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The directory relative paths resolve against.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The whole parsed document.
    pub fn raw(&self) -> &Value {
        &self.raw
    }

    /// The value at a key path, e.g. `&["runtime", "multi_strategy_schedulers"]`. `None` when
    /// any step is missing or not a mapping.
    pub fn section(&self, keys: &[&str]) -> Option<&Value> {
        keys.iter()
            .try_fold(&self.raw, |node, key| value::get(node, key))
    }

    /// Deserializes the section at `keys` into `T`; `Ok(None)` when it is absent or null, an
    /// error naming the key path when it has the wrong shape.
    pub fn deserialize_section<T: DeserializeOwned>(
        &self,
        keys: &[&str],
    ) -> Result<Option<T>, ConfigError> {
        match self.section(keys) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => serde_norway::from_value(v.clone())
                .map(Some)
                .map_err(|e| self.section_error(&keys.join("."), e.to_string())),
        }
    }

    /// A [`ConfigError::Section`] for this file.
    pub fn section_error(&self, key: &str, message: impl Into<String>) -> ConfigError {
        ConfigError::Section {
            path: self.path.clone(),
            key: key.to_owned(),
            message: message.into(),
        }
    }

    /// Resolves a configured path: absolute paths stay, relative ones join the config dir.
    /// No `~` expansion (the reference does none for config values). `.` and `..` components
    /// are normalised lexically.
    pub fn resolve(&self, configured: &str) -> PathBuf {
        normalize(&self.dir.join(configured))
    }

    /// `metrics_service`, from `runtime:` or else the top level, with the key path it was
    /// found at.
    pub fn metrics_service(&self) -> Option<(&'static str, &Value)> {
        if let Some(v) = self.section(&["runtime", "metrics_service"]) {
            return Some(("runtime.metrics_service", v));
        }
        self.section(&["metrics_service"])
            .map(|v| ("metrics_service", v))
    }

    /// `risk_service`, from `runtime:` or else the top level.
    pub fn risk_service(&self) -> Option<(&'static str, &Value)> {
        if let Some(v) = self.section(&["runtime", "risk_service"]) {
            return Some(("runtime.risk_service", v));
        }
        self.section(&["risk_service"]).map(|v| ("risk_service", v))
    }
}

/// Expands a leading `~/` with `$HOME`.
pub fn expand_home(path: &Path) -> PathBuf {
    if let Ok(rest) = path.strip_prefix("~")
        && let Some(home) = std::env::var_os("HOME")
    {
        return PathBuf::from(home).join(rest);
    }
    path.to_path_buf()
}

fn absolute(path: &Path) -> PathBuf {
    normalize(&std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()))
}

/// Removes `.` and resolves `..` lexically (no filesystem access, so missing files work).
pub fn normalize(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// serde_norway writes " at line L column C" into its messages; the error carries both.
fn strip_location(message: &str) -> String {
    let Some(start) = message.find(" at line ") else {
        return message.to_owned();
    };
    let rest = &message[start + " at line ".len()..];
    let Some(col) = rest.find(" column ") else {
        return message.to_owned();
    };
    let after = &rest[col + " column ".len()..];
    let digits = after.len() - after.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    format!("{}{}", &message[..start], &after[digits..])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(text: &str) -> CoreConfig {
        CoreConfig::parse(text, Path::new("/site/config/core.yaml")).unwrap()
    }

    #[test]
    fn malformed_yaml_names_file_line_and_column() {
        let err = CoreConfig::parse(
            "runtime:\n  metrics_service:\n    host: [1, 2\n  port: 3\n",
            Path::new("/site/core.yaml"),
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(
            matches!(err, ConfigError::Malformed { line: 4, .. }),
            "{text}"
        );
        assert!(text.starts_with("/site/core.yaml:4:"), "{text}");
        assert!(
            !text.contains("at line 4 column 7"),
            "location printed once: {text}"
        );
    }

    #[test]
    fn roots_that_are_not_mappings_are_refused_and_empty_is_empty() {
        let err = CoreConfig::parse("- a\n- b\n", Path::new("/x/core.yaml")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "/x/core.yaml: the document must be a mapping of sections, found a list"
        );
        assert!(cfg("").section(&["runtime"]).is_none());
        assert!(cfg("# only a comment\n").section(&["runtime"]).is_none());
    }

    #[test]
    fn relative_paths_resolve_against_the_config_directory() {
        let c = cfg("{}");
        assert_eq!(
            c.resolve("var/security/tls_rotation.json"),
            Path::new("/site/config/var/security/tls_rotation.json")
        );
        assert_eq!(
            c.resolve("./var/../secrets/a.pem"),
            Path::new("/site/config/secrets/a.pem")
        );
        assert_eq!(c.resolve("/etc/x.pem"), Path::new("/etc/x.pem"));
    }

    #[test]
    fn metrics_service_is_found_under_runtime_first() {
        let c = cfg("metrics_service: {host: top}\nruntime:\n  metrics_service: {host: rt}\n");
        let (key, v) = c.metrics_service().unwrap();
        assert_eq!(key, "runtime.metrics_service");
        assert_eq!(value::str_of(v, "host").as_deref(), Some("rt"));
        let c = cfg("metrics_service: {host: top}\n");
        assert_eq!(c.metrics_service().unwrap().0, "metrics_service");
    }

    #[test]
    fn sections_deserialize_with_key_paths_in_errors() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct Limits {
            cpu_percent: f64,
        }
        let c = cfg("runtime:\n  resource_limits:\n    cpu_percent: lots\n");
        let err = c
            .deserialize_section::<Limits>(&["runtime", "resource_limits"])
            .unwrap_err()
            .to_string();
        assert!(err.contains("`runtime.resource_limits`"), "{err}");
        assert!(
            c.deserialize_section::<Limits>(&["runtime", "absent"])
                .unwrap()
                .is_none()
        );
    }
}
