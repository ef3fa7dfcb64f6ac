//! Typed views over the sections the audits need. Each view is lenient: what is missing or of
//! the wrong type is recorded (`problems`) for the audit to report, never a panic.
//!
//! Other subsystems (scheduler, strategies, load test) deserialize their own sections with
//! [`CoreConfig::deserialize_section`]; [`ResourceLimits`] is here because both the audits and
//! the load test read it.

use std::fmt;

use serde::Deserialize;
use serde_norway::Value;

use super::CoreConfig;
use super::value::{self, entries, f64_of, get, str_list, str_of};

/// One multi-strategy scheduler's RBAC view.
#[derive(Debug, Clone)]
pub struct SchedulerView {
    /// Scheduler name (the mapping key).
    pub name: String,
    /// Where it was found: `runtime.multi_strategy_schedulers.<name>` or the top-level path.
    pub key_path: String,
    /// Its RBAC tokens, in file order.
    pub rbac_tokens: Vec<RbacTokenView>,
    /// `rbac_tokens` has a shape that is neither a list nor a mapping.
    pub rbac_problem: Option<String>,
}

/// One RBAC token, with the reference loader's field aliases applied.
#[derive(Clone)]
pub struct RbacTokenView {
    /// Position in `rbac_tokens` (0-based).
    pub index: usize,
    /// `token_id` / `id`.
    pub token_id: Option<String>,
    /// `token_env` / `env` / `token_env_var`.
    pub token_env: Option<String>,
    /// `token_value` / `value` (an inline secret; never printed).
    pub token_value: Option<String>,
    /// `token_hash` / `hash`.
    pub token_hash: Option<String>,
    /// `scopes`, a string or a list, stripped but not lower-cased (as the reference loader).
    pub scopes: Vec<String>,
}

impl fmt::Debug for RbacTokenView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RbacTokenView")
            .field("index", &self.index)
            .field("token_id", &self.token_id)
            .field("token_env", &self.token_env)
            .field("has_token_value", &self.token_value.is_some())
            .field("token_hash", &self.token_hash)
            .field("scopes", &self.scopes)
            .finish()
    }
}

impl RbacTokenView {
    /// The id to print: `token_id`, or `#<index>` when it has none.
    pub fn label(&self) -> String {
        self.token_id
            .clone()
            .unwrap_or_else(|| format!("#{}", self.index))
    }
}

fn first_str(node: &Value, keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|k| str_of(node, k))
}

/// Parses an `rbac_tokens` value: a list of mappings or a single mapping.
pub fn rbac_tokens(v: Option<&Value>) -> (Vec<RbacTokenView>, Option<String>) {
    let items: Vec<&Value> = match v {
        None | Some(Value::Null) => return (Vec::new(), None),
        Some(Value::Sequence(items)) => items.iter().collect(),
        Some(m @ Value::Mapping(_)) => vec![m],
        Some(other) => {
            return (
                Vec::new(),
                Some(format!(
                    "rbac_tokens must be a list or a mapping, found {}",
                    value::kind(other)
                )),
            );
        }
    };
    let tokens = items
        .into_iter()
        .enumerate()
        .map(|(index, t)| RbacTokenView {
            index,
            token_id: first_str(t, &["token_id", "id"]),
            token_env: first_str(t, &["token_env", "env", "token_env_var"]),
            token_value: first_str(t, &["token_value", "value"]),
            token_hash: first_str(t, &["token_hash", "hash"]),
            scopes: str_list(get(t, "scopes")),
        })
        .collect();
    (tokens, None)
}

impl CoreConfig {
    /// Multi-strategy schedulers from the top level and `runtime:` merged (runtime wins on a
    /// name clash, keeping the first position), plus problems with the sections' shapes.
    pub fn schedulers(&self) -> (Vec<SchedulerView>, Vec<String>) {
        let mut out: Vec<SchedulerView> = Vec::new();
        let mut problems = Vec::new();
        for prefix in [
            &["multi_strategy_schedulers"][..],
            &["runtime", "multi_strategy_schedulers"],
        ] {
            let path = prefix.join(".");
            match self.section(prefix) {
                None | Some(Value::Null) => {}
                Some(Value::Mapping(_)) => {
                    for (name, sched) in entries(self.section(prefix).expect("checked")) {
                        let (rbac, rbac_problem) = rbac_tokens(get(sched, "rbac_tokens"));
                        let view = SchedulerView {
                            key_path: format!("{path}.{name}"),
                            name: name.clone(),
                            rbac_tokens: rbac,
                            rbac_problem,
                        };
                        match out.iter_mut().find(|s| s.name == name) {
                            Some(slot) => *slot = view,
                            None => out.push(view),
                        }
                    }
                }
                Some(other) => problems.push(format!(
                    "`{path}` must be a mapping of scheduler name to scheduler, found {}",
                    value::kind(other)
                )),
            }
        }
        (out, problems)
    }

    /// `observability.key_rotation`: `Ok(None)` when absent, `Err(problem)` when it has the
    /// wrong shape (including a null `observability`, which crashed the reference).
    pub fn key_rotation(&self) -> Result<Option<KeyRotationView>, String> {
        let observability = match self.section(&["observability"]) {
            None => return Ok(None),
            Some(Value::Mapping(_)) => self.section(&["observability"]).expect("checked"),
            Some(other) => {
                return Err(format!(
                    "`observability` must be a mapping, found {}",
                    value::kind(other)
                ));
            }
        };
        let kr = match get(observability, "key_rotation") {
            None | Some(Value::Null) => return Ok(None),
            Some(m @ Value::Mapping(_)) => m,
            Some(other) => {
                return Err(format!(
                    "`observability.key_rotation` must be a mapping, found {}",
                    value::kind(other)
                ));
            }
        };
        let mut problems = Vec::new();
        let mut list = Vec::new();
        match get(kr, "entries") {
            None | Some(Value::Null) => {}
            Some(Value::Sequence(items)) => {
                for (i, e) in items.iter().enumerate() {
                    match (str_of(e, "key"), str_of(e, "purpose")) {
                        (Some(key), Some(purpose)) => list.push(KeyRotationEntry {
                            key,
                            purpose,
                            interval_days: f64_of(e, "interval_days").filter(|d| *d > 0.0),
                            warn_within_days: f64_of(e, "warn_within_days").filter(|d| *d >= 0.0),
                        }),
                        _ => problems.push(format!(
                            "observability.key_rotation.entries[{i}] needs `key` and `purpose`"
                        )),
                    }
                }
            }
            Some(other) => problems.push(format!(
                "observability.key_rotation.entries must be a list, found {}",
                value::kind(other)
            )),
        }
        Ok(Some(KeyRotationView {
            registry_path: str_of(kr, "registry_path"),
            default_interval_days: f64_of(kr, "default_interval_days")
                .filter(|d| *d > 0.0)
                .unwrap_or(90.0),
            default_warn_within_days: f64_of(kr, "default_warn_within_days")
                .filter(|d| *d >= 0.0)
                .unwrap_or(14.0),
            audit_directory: str_of(kr, "audit_directory")
                .unwrap_or_else(|| "var/audit/keys".to_owned()),
            entries: list,
            problems,
        }))
    }

    /// `environments`, in file order. `Err` when the section is not a mapping.
    pub fn environments(&self) -> Result<Vec<EnvironmentView>, String> {
        match self.section(&["environments"]) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(m @ Value::Mapping(_)) => Ok(entries(m)
                .into_iter()
                .map(|(name, e)| EnvironmentView {
                    exchange: str_of(e, "exchange"),
                    environment: str_of(e, "environment"),
                    keychain_key: str_of(e, "keychain_key"),
                    data_cache_path: str_of(e, "data_cache_path"),
                    risk_profile: str_of(e, "risk_profile"),
                    credential_purpose: str_of(e, "credential_purpose")
                        .unwrap_or_else(|| "trading".to_owned()),
                    name,
                })
                .collect()),
            Some(other) => Err(format!(
                "`environments` must be a mapping of name to environment, found {}",
                value::kind(other)
            )),
        }
    }

    /// `runtime.resource_limits` with the reference's aliases; `Ok(None)` when absent.
    pub fn resource_limits(&self) -> Result<Option<ResourceLimits>, super::ConfigError> {
        self.deserialize_section(&["runtime", "resource_limits"])
    }
}

/// `observability.key_rotation`.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyRotationView {
    /// `registry_path` (required by the reference loader).
    pub registry_path: Option<String>,
    /// `default_interval_days` (90).
    pub default_interval_days: f64,
    /// `default_warn_within_days` (14).
    pub default_warn_within_days: f64,
    /// `audit_directory` (`var/audit/keys`).
    pub audit_directory: String,
    /// Entries with both `key` and `purpose`.
    pub entries: Vec<KeyRotationEntry>,
    /// Entries that could not be read.
    pub problems: Vec<String>,
}

/// One `observability.key_rotation.entries[]` item.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyRotationEntry {
    /// Registry key.
    pub key: String,
    /// Registry purpose.
    pub purpose: String,
    /// Entry interval (else the default).
    pub interval_days: Option<f64>,
    /// Entry warning window (else the default).
    pub warn_within_days: Option<f64>,
}

/// One `environments.<name>` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct EnvironmentView {
    /// Environment name (the mapping key).
    pub name: String,
    /// `exchange`.
    pub exchange: Option<String>,
    /// `environment` (`live`, `paper`, `testnet`).
    pub environment: Option<String>,
    /// `keychain_key`: the API key's registry key.
    pub keychain_key: Option<String>,
    /// `data_cache_path` (resolved against the config directory by stage4).
    pub data_cache_path: Option<String>,
    /// `risk_profile`.
    pub risk_profile: Option<String>,
    /// `credential_purpose` (default `trading`).
    pub credential_purpose: String,
}

/// `runtime.resource_limits`, accepting the reference's aliases.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceLimits {
    /// CPU budget in percent (`cpu`).
    #[serde(alias = "cpu")]
    pub cpu_percent: f64,
    /// Memory budget in MB (`memory`).
    #[serde(alias = "memory")]
    pub memory_mb: f64,
    /// Read I/O budget in MB/s (`io_read`).
    #[serde(alias = "io_read")]
    pub io_read_mb_s: f64,
    /// Write I/O budget in MB/s (`io_write`).
    #[serde(alias = "io_write")]
    pub io_write_mb_s: f64,
    /// Fraction of a budget that triggers a headroom warning (`warning_threshold`, 0.85).
    #[serde(alias = "warning_threshold", default = "default_headroom")]
    pub headroom_warning_threshold: f64,
}

fn default_headroom() -> f64 {
    0.85
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn cfg(text: &str) -> CoreConfig {
        CoreConfig::parse(text, Path::new("/site/core.yaml")).unwrap()
    }

    #[test]
    fn schedulers_merge_top_level_and_runtime_with_aliases() {
        let c = cfg(r"
multi_strategy_schedulers:
  a: {rbac_tokens: {id: top-a, env: A_TOKEN, scopes: runtime.schedule.read}}
  b: {}
runtime:
  multi_strategy_schedulers:
    a:
      rbac_tokens:
        - {token_id: rt-a, token_env_var: RT_TOKEN, scopes: [Runtime.Schedule.Read, ' x ']}
        - {value: inline, hash: 'sha256:ab'}
    c: {rbac_tokens: 7}
");
        let (s, problems) = c.schedulers();
        assert!(problems.is_empty());
        let names: Vec<_> = s.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["a", "b", "c"]);
        assert_eq!(s[0].key_path, "runtime.multi_strategy_schedulers.a");
        let t = &s[0].rbac_tokens;
        assert_eq!(t[0].token_id.as_deref(), Some("rt-a"));
        assert_eq!(t[0].token_env.as_deref(), Some("RT_TOKEN"));
        assert_eq!(t[0].scopes, ["Runtime.Schedule.Read", "x"]);
        assert_eq!(t[1].label(), "#1");
        assert_eq!(t[1].token_value.as_deref(), Some("inline"));
        assert!(!format!("{:?}", t[1]).contains("inline"));
        assert!(s[2].rbac_problem.as_deref().unwrap().contains("a number"));
    }

    #[test]
    fn key_rotation_reads_defaults_entries_and_refuses_null_observability() {
        let c = cfg(r"
observability:
  key_rotation:
    registry_path: var/security/key_rotation.json
    entries:
      - {key: binance-api, purpose: trading, interval_days: 60.0, warn_within_days: 10.0}
      - {key: core-mtls, purpose: cert}
      - {key: broken}
");
        let kr = c.key_rotation().unwrap().unwrap();
        assert_eq!(
            kr.registry_path.as_deref(),
            Some("var/security/key_rotation.json")
        );
        assert_eq!(
            (kr.default_interval_days, kr.default_warn_within_days),
            (90.0, 14.0)
        );
        assert_eq!(kr.entries.len(), 2);
        assert_eq!(kr.entries[0].interval_days, Some(60.0));
        assert_eq!(kr.problems.len(), 1);
        assert!(cfg("observability: null\n").key_rotation().is_err());
        assert!(cfg("observability: {}\n").key_rotation().unwrap().is_none());
        assert!(cfg("observability: [1]\n").key_rotation().is_err());
    }

    #[test]
    fn environments_and_resource_limits() {
        let c = cfg(r"
environments:
  live_binance: {exchange: binance, environment: live, keychain_key: live_binance_trading, data_cache_path: ./var/data/live_binance, risk_profile: balanced}
runtime:
  resource_limits: {cpu: 65.0, memory: 2048, io_read_mb_s: 120, io_write: 80}
");
        let envs = c.environments().unwrap();
        assert_eq!(envs[0].credential_purpose, "trading");
        assert_eq!(
            envs[0].keychain_key.as_deref(),
            Some("live_binance_trading")
        );
        let rl = c.resource_limits().unwrap().unwrap();
        assert_eq!(rl.cpu_percent, 65.0);
        assert_eq!(rl.headroom_warning_threshold, 0.85);
    }
}
