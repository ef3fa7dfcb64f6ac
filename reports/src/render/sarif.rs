//! SARIF 2.1.0 from a neutral list of results.
//!
//! The shape follows the OASIS SARIF 2.1.0 schema: a log with `version`, `$schema` and `runs`;
//! each run has `tool.driver` (name, version, rules) and `results` with `ruleId`, `ruleIndex`,
//! `level`, `kind`, `message.text` and `locations[].physicalLocation`. Two schema rules are
//! enforced by construction rather than left to callers:
//!
//! - `level` is one of `none`, `note`, `warning`, `error`; `kind` is one of `pass`, `fail`,
//!   `review`, `open`, `notApplicable`, `informational`;
//! - a result whose `kind` is not `fail` must have level `none` ([`SarifResult::passed`]).
//!
//! GitHub code scanning ignores `kind` and shows every result as an alert, so callers usually
//! emit only failing results and keep passing checks as rules.

use serde::Serialize;

/// `$schema` written into every log.
pub const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// The analysis run to render.
#[derive(Debug, Clone, PartialEq)]
pub struct SarifRun {
    /// The tool that produced the results.
    pub tool: ToolInfo,
    /// Results, in order.
    pub results: Vec<SarifResult>,
    /// Whether the tool ran to completion (findings do not make this false).
    pub execution_successful: bool,
    /// When the analysis was made (RFC 3339), if known.
    pub end_time_utc: Option<String>,
}

/// The tool and the rules (checks) it knows.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolInfo {
    /// Tool name, e.g. `stage4 audit compliance`.
    pub name: String,
    /// Tool version.
    pub version: String,
    /// Where to read about the tool.
    pub information_uri: Option<String>,
    /// Every rule a result may name, in order (results refer to them by index).
    pub rules: Vec<Rule>,
}

/// One rule: a check id and what it checks.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// Stable id (the check id).
    pub id: String,
    /// One-line description.
    pub description: String,
}

/// SARIF `level`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Level {
    /// Not a problem (required when `kind` is not `fail`).
    None,
    /// A note.
    Note,
    /// A warning.
    Warning,
    /// An error.
    Error,
}

/// SARIF `kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Kind {
    /// The check passed.
    Pass,
    /// The check found a problem.
    Fail,
    /// Needs a person to look.
    Review,
    /// Not decided.
    Open,
    /// The check does not apply.
    NotApplicable,
    /// Information only.
    Informational,
}

/// Where a result points.
#[derive(Debug, Clone, PartialEq)]
pub struct Location {
    /// File path or URI.
    pub uri: String,
    /// 1-based line, if known.
    pub start_line: Option<u32>,
}

/// One result.
#[derive(Debug, Clone, PartialEq)]
pub struct SarifResult {
    rule_id: String,
    level: Level,
    kind: Kind,
    message: String,
    locations: Vec<Location>,
}

impl SarifResult {
    /// A failing result at `level` (`Level::None` is turned into `Level::Note`: a failure is at
    /// least a note).
    pub fn failed(rule_id: impl Into<String>, level: Level, message: impl Into<String>) -> Self {
        let level = if level == Level::None {
            Level::Note
        } else {
            level
        };
        SarifResult {
            rule_id: rule_id.into(),
            level,
            kind: Kind::Fail,
            message: message.into(),
            locations: Vec::new(),
        }
    }

    /// A non-failing result (`kind` pass, not applicable, ...). Its level is `none`, as the
    /// schema requires. `Kind::Fail` is turned into `Kind::Review`: use [`Self::failed`].
    pub fn passed(rule_id: impl Into<String>, kind: Kind, message: impl Into<String>) -> Self {
        let kind = if kind == Kind::Fail {
            Kind::Review
        } else {
            kind
        };
        SarifResult {
            rule_id: rule_id.into(),
            level: Level::None,
            kind,
            message: message.into(),
            locations: Vec::new(),
        }
    }

    /// Adds a location.
    pub fn at(mut self, location: Location) -> Self {
        self.locations.push(location);
        self
    }

    /// The rule id.
    pub fn rule_id(&self) -> &str {
        &self.rule_id
    }

    /// The level.
    pub fn level(&self) -> Level {
        self.level
    }

    /// The kind.
    pub fn kind(&self) -> Kind {
        self.kind
    }
}

/// Why a run cannot be rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SarifError {
    /// A result names a rule the tool does not list.
    #[error("result names rule `{0}`, which the tool does not list")]
    UnknownRule(String),
    /// Two rules share an id.
    #[error("rule `{0}` is listed twice")]
    DuplicateRule(String),
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LogOut<'a> {
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
    runs: [RunOut<'a>; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RunOut<'a> {
    tool: ToolOut<'a>,
    results: Vec<ResultOut<'a>>,
    invocations: [InvocationOut<'a>; 1],
}

#[derive(Serialize)]
struct ToolOut<'a> {
    driver: DriverOut<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DriverOut<'a> {
    name: &'a str,
    version: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    information_uri: Option<&'a str>,
    rules: Vec<RuleOut<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RuleOut<'a> {
    id: &'a str,
    short_description: Text<'a>,
}

#[derive(Serialize)]
struct Text<'a> {
    text: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ResultOut<'a> {
    rule_id: &'a str,
    rule_index: usize,
    level: Level,
    kind: Kind,
    message: Text<'a>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    locations: Vec<LocationOut<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LocationOut<'a> {
    physical_location: PhysicalOut<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PhysicalOut<'a> {
    artifact_location: ArtifactOut<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    region: Option<RegionOut>,
}

#[derive(Serialize)]
struct ArtifactOut<'a> {
    uri: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RegionOut {
    start_line: u32,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct InvocationOut<'a> {
    execution_successful: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    end_time_utc: Option<&'a str>,
}

/// Renders a one-run SARIF 2.1.0 log as pretty JSON (trailing newline included).
pub fn render(run: &SarifRun) -> Result<String, SarifError> {
    let mut seen = std::collections::BTreeMap::new();
    for (i, rule) in run.tool.rules.iter().enumerate() {
        if seen.insert(rule.id.as_str(), i).is_some() {
            return Err(SarifError::DuplicateRule(rule.id.clone()));
        }
    }
    let results = run
        .results
        .iter()
        .map(|r| {
            let rule_index = *seen
                .get(r.rule_id.as_str())
                .ok_or_else(|| SarifError::UnknownRule(r.rule_id.clone()))?;
            Ok(ResultOut {
                rule_id: &r.rule_id,
                rule_index,
                level: r.level,
                kind: r.kind,
                message: Text { text: &r.message },
                locations: r
                    .locations
                    .iter()
                    .map(|l| LocationOut {
                        physical_location: PhysicalOut {
                            artifact_location: ArtifactOut { uri: &l.uri },
                            region: l.start_line.map(|start_line| RegionOut { start_line }),
                        },
                    })
                    .collect(),
            })
        })
        .collect::<Result<Vec<_>, SarifError>>()?;
    let log = LogOut {
        schema: SCHEMA_URI,
        version: "2.1.0",
        runs: [RunOut {
            tool: ToolOut {
                driver: DriverOut {
                    name: &run.tool.name,
                    version: &run.tool.version,
                    information_uri: run.tool.information_uri.as_deref(),
                    rules: run
                        .tool
                        .rules
                        .iter()
                        .map(|r| RuleOut {
                            id: &r.id,
                            short_description: Text {
                                text: &r.description,
                            },
                        })
                        .collect(),
                },
            },
            results,
            invocations: [InvocationOut {
                execution_successful: run.execution_successful,
                end_time_utc: run.end_time_utc.as_deref(),
            }],
        }],
    };
    let mut text = serde_json::to_string_pretty(&log).expect("SARIF structs always serialise");
    text.push('\n');
    Ok(text)
}

/// Checks a parsed SARIF document against the parts of the SARIF 2.1.0 schema that matter for
/// our output: required members, enumerations, the `kind`/`level` rule and `ruleIndex` bounds.
/// Returns every violation found, as `path: problem` lines (empty when valid).
pub fn validate_shape(doc: &serde_json::Value) -> Vec<String> {
    use serde_json::Value;
    let mut errors = Vec::new();
    let mut err = |path: &str, what: &str| errors.push(format!("{path}: {what}"));
    if doc.get("version").and_then(Value::as_str) != Some("2.1.0") {
        err("$.version", "must be \"2.1.0\"");
    }
    let Some(runs) = doc.get("runs").and_then(Value::as_array) else {
        err("$.runs", "must be an array");
        return errors;
    };
    for (ri, run) in runs.iter().enumerate() {
        let rp = format!("$.runs[{ri}]");
        let driver = run.pointer("/tool/driver");
        if driver
            .and_then(|d| d.get("name"))
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            err(
                &format!("{rp}.tool.driver.name"),
                "required non-empty string",
            );
        }
        let rules = driver
            .and_then(|d| d.get("rules"))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for (i, rule) in rules.iter().enumerate() {
            if rule.get("id").and_then(Value::as_str).is_none() {
                err(
                    &format!("{rp}.tool.driver.rules[{i}].id"),
                    "required string",
                );
            }
        }
        let results = match run.get("results") {
            None => continue,
            Some(Value::Array(r)) => r.clone(),
            Some(_) => {
                err(&format!("{rp}.results"), "must be an array");
                continue;
            }
        };
        for (i, res) in results.iter().enumerate() {
            let p = format!("{rp}.results[{i}]");
            if res
                .pointer("/message/text")
                .and_then(Value::as_str)
                .is_none()
            {
                err(&format!("{p}.message.text"), "required string");
            }
            let level = res
                .get("level")
                .and_then(Value::as_str)
                .unwrap_or("warning");
            if !["none", "note", "warning", "error"].contains(&level) {
                err(&format!("{p}.level"), "not one of none|note|warning|error");
            }
            let kind = res.get("kind").and_then(Value::as_str).unwrap_or("fail");
            if ![
                "pass",
                "fail",
                "review",
                "open",
                "notApplicable",
                "informational",
            ]
            .contains(&kind)
            {
                err(&format!("{p}.kind"), "not a SARIF kind");
            }
            if kind != "fail" && level != "none" {
                err(
                    &p,
                    "a result whose kind is not `fail` must have level `none`",
                );
            }
            if let Some(idx) = res.get("ruleIndex") {
                match idx.as_u64() {
                    Some(n) if (n as usize) < rules.len() => {
                        let named = res.get("ruleId").and_then(Value::as_str);
                        let listed = rules[n as usize].get("id").and_then(Value::as_str);
                        if named.is_some() && named != listed {
                            err(&format!("{p}.ruleId"), "does not match rules[ruleIndex].id");
                        }
                    }
                    _ => err(&format!("{p}.ruleIndex"), "out of range"),
                }
            }
            if let Some(locs) = res.get("locations") {
                for (li, loc) in locs
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
                    .iter()
                    .enumerate()
                {
                    if loc
                        .pointer("/physicalLocation/artifactLocation/uri")
                        .and_then(Value::as_str)
                        .is_none()
                    {
                        err(
                            &format!("{p}.locations[{li}]"),
                            "physicalLocation.artifactLocation.uri required",
                        );
                    }
                    if let Some(line) = loc.pointer("/physicalLocation/region/startLine")
                        && line.as_u64().is_none_or(|n| n < 1)
                    {
                        err(&format!("{p}.locations[{li}]"), "startLine must be >= 1");
                    }
                }
            }
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run() -> SarifRun {
        SarifRun {
            tool: ToolInfo {
                name: "stage4 audit compliance".into(),
                version: "0.1.0".into(),
                information_uri: None,
                rules: vec![
                    Rule {
                        id: "metrics_service.auth".into(),
                        description: "metrics service has an auth token".into(),
                    },
                    Rule {
                        id: "env:CORE_SCHEDULER_TOKEN".into(),
                        description: "secret CORE_SCHEDULER_TOKEN".into(),
                    },
                ],
            },
            results: vec![
                SarifResult::failed("env:CORE_SCHEDULER_TOKEN", Level::Error, "not set").at(
                    Location {
                        uri: "core.yaml".into(),
                        start_line: Some(3),
                    },
                ),
                SarifResult::passed("metrics_service.auth", Kind::Pass, "ok"),
            ],
            execution_successful: true,
            end_time_utc: Some("2026-11-28T09:00:00Z".into()),
        }
    }

    #[test]
    fn rendered_log_has_the_sarif_shape() {
        let text = render(&run()).unwrap();
        let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(validate_shape(&doc), Vec::<String>::new());
        assert_eq!(doc["runs"][0]["results"][0]["ruleIndex"], 1);
        assert_eq!(doc["runs"][0]["results"][0]["level"], "error");
        assert_eq!(doc["runs"][0]["results"][1]["level"], "none");
        assert_eq!(doc["runs"][0]["results"][1]["kind"], "pass");
    }

    #[test]
    fn constructors_enforce_the_kind_level_rule() {
        let r = SarifResult::passed("x", Kind::Fail, "m");
        assert_eq!((r.kind(), r.level()), (Kind::Review, Level::None));
        let r = SarifResult::failed("x", Level::None, "m");
        assert_eq!((r.kind(), r.level()), (Kind::Fail, Level::Note));
    }

    #[test]
    fn unknown_and_duplicate_rules_are_refused() {
        let mut r = run();
        r.results
            .push(SarifResult::failed("nope", Level::Error, "m"));
        assert_eq!(render(&r), Err(SarifError::UnknownRule("nope".into())));
        let mut r = run();
        r.tool.rules.push(r.tool.rules[0].clone());
        assert!(matches!(render(&r), Err(SarifError::DuplicateRule(_))));
    }

    #[test]
    fn the_validator_catches_shape_violations() {
        let bad = serde_json::json!({
            "version": "2.0.0",
            "runs": [{
                "tool": {"driver": {"name": "t", "rules": [{"id": "a"}]}},
                "results": [
                    {"ruleId": "a", "ruleIndex": 3, "level": "fatal", "kind": "pass", "message": {}},
                    {"ruleId": "b", "ruleIndex": 0, "message": {"text": "m"},
                     "locations": [{"physicalLocation": {"region": {"startLine": 0}}}]}
                ]
            }]
        });
        let errors = validate_shape(&bad);
        let joined = errors.join("\n");
        for needle in [
            "$.version",
            "results[0].message.text",
            "results[0].level",
            "must have level `none`",
            "results[0].ruleIndex",
            "results[1].ruleId",
            "artifactLocation.uri required",
            "startLine must be >= 1",
        ] {
            assert!(joined.contains(needle), "missing {needle:?} in\n{joined}");
        }
    }
}
