//! The scenario report: what one `stage4 scenario run` observed, as plain data the runner fills
//! and every renderer reads (`report.json`, `report.md`, `report.html`, `junit.xml`, the text
//! the CLI prints).
//!
//! Shape, in reading order: who ran (scenario, seed, simulated start, duration, digest), the
//! verdict, one result per expectation, the timeline of what happened, the series the charts
//! draw, a summary of counts and money, and the artefact files written beside the report.
//!
//! Rules the renderers rely on:
//! - collections are ordered (`Vec`), so the same run serialises to the same bytes;
//! - chart x values are **seconds since the scenario start** (`offset_seconds`), and the
//!   timeline's `offset` text uses the [`format_offset`] grammar (`40m`, `1h05m`, `2h00m30s`) so
//!   event markers can be placed on the same axis;
//! - a chart value that is not finite (NaN, ±inf) is a **gap** (a venue outage, a metric not
//!   yet emitted): lines break there, and JSON carries it as `null`;
//! - expectation `kind`s are free strings; the runner may add kinds without touching renderers.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use crate::render::junit::{CaseOutcome, TestCase, TestSuite, TestSuites};

/// Version of this report's schema.
pub const SCHEMA_VERSION: u32 = 1;

/// Warning threshold of the scheduler latency chart by default (ms): the
/// `MultiStrategySchedulerLatencyHigh` rule's `> 250`.
pub const DEFAULT_LATENCY_WARNING_MS: f64 = 250.0;

/// Critical threshold of the scheduler latency chart by default (ms): the
/// `MultiStrategySchedulerLatencyCritical` rule's `> 320`.
pub const DEFAULT_LATENCY_CRITICAL_MS: f64 = 320.0;

/// The files [`ScenarioReport::rendered_files`] produces, in order. The runner lists them (and
/// its other outputs) in `artefacts`.
pub const REPORT_FILES: [&str; 4] = ["report.json", "report.md", "report.html", "junit.xml"];

/// One scenario run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScenarioReport {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Which scenario ran.
    pub scenario: ScenarioInfo,
    /// The seed every random stream of the run was forked from.
    pub seed: u64,
    /// Simulated start of the run (RFC 3339, UTC), the instant audits ran "as of".
    pub as_of: String,
    /// Simulated length of the run, in the [`format_offset`] grammar (`3h`).
    pub duration: String,
    /// Hex SHA-256 of the run's event trace and decision log: equal digests mean equal runs.
    pub digest: String,
    /// `pass` when every expectation held.
    pub verdict: Verdict,
    /// One result per expectation of the scenario file, in file order.
    pub expectations: Vec<ExpectationResult>,
    /// What happened, in time order: faults, operator actions, alerts, rollbacks, escalations.
    pub timeline: Vec<TimelineEntry>,
    /// The series the HTML report draws.
    pub charts: Charts,
    /// Counts and money at the end of the run.
    pub summary: Summary,
    /// Files written beside the report (names relative to the run directory), sorted.
    pub artefacts: Vec<String>,
}

/// The scenario as its file names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScenarioInfo {
    /// Scenario name (`workshop_exercise`).
    pub name: String,
    /// What the scenario drills, for people (may span lines).
    pub description: String,
    /// The scenario file as the operator named it, relative to the working directory when
    /// possible (`scenarios/workshop_exercise.toml`); absolute paths make reports
    /// machine-specific.
    pub file: String,
}

/// Whether a run met all its expectations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Every expectation held.
    Pass,
    /// At least one expectation did not hold.
    Fail,
}

impl Verdict {
    /// `pass` when every expectation passed (also when there are none: a scenario that asks
    /// nothing cannot fail), else `fail`.
    pub fn of(expectations: &[ExpectationResult]) -> Verdict {
        if expectations.iter().all(|e| e.passed) {
            Verdict::Pass
        } else {
            Verdict::Fail
        }
    }

    /// `pass` or `fail`, as serialised.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
        }
    }

    /// `PASS` or `FAIL`, as printed for people.
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Pass => "PASS",
            Verdict::Fail => "FAIL",
        }
    }

    /// The verdict of a boolean outcome.
    pub fn from_passed(passed: bool) -> Verdict {
        if passed { Verdict::Pass } else { Verdict::Fail }
    }
}

/// The outcome of one expectation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExpectationResult {
    /// 1-based position of the expectation in the scenario file.
    pub index: u32,
    /// What kind of check it is (`alert_fires`, `alert_clears`, `audit_status`,
    /// `no_orders_between`, `orders_after`, `pnl_within`, `drawdown_within`,
    /// `escalation_reached`, `decision_log_verifies`, `metric_threshold`, ...): free text.
    pub kind: String,
    /// The expectation in the operators' words (`alert MultiStrategySchedulerLatencyHigh fires
    /// within 5m of the fault`).
    pub description: String,
    /// Whether it held.
    pub passed: bool,
    /// What the scenario asked for, as JSON (`{"within": "5m"}`, `"warn"`, `[-2.5, 10]`).
    pub expected: Value,
    /// What the run showed, as JSON (`{"fired_at": "42m30s"}`, `null` when nothing happened).
    pub observed: Value,
    /// One or two sentences explaining the outcome (empty when the observation says it all).
    pub detail: String,
}

/// One event on the run's timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineEntry {
    /// When it happened (RFC 3339, UTC, simulated time).
    pub at: String,
    /// Time since the scenario start in the [`format_offset`] grammar (`40m`, `1h35m`).
    pub offset: String,
    /// What sort of event it is.
    pub kind: TimelineKind,
    /// One line (`fault: strategy latency 300 ms on mr_core`).
    pub title: String,
    /// More text (flags, ticket, the audit's status), possibly empty.
    pub detail: String,
}

/// The sorts of timeline events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimelineKind {
    /// A scripted fault started.
    Fault,
    /// A scripted fault ended.
    FaultEnd,
    /// An operator action ran (audit, load test, disable/restore, key rotation).
    Action,
    /// An alert rule started or stopped firing.
    Alert,
    /// Multi-strategy trading was disabled or restored (the rollback override).
    Rollback,
    /// An incident was escalated (L1 → L2 → ...).
    Escalation,
    /// The scheduler did something worth noting (suspension, failover, missed cadence).
    Scheduler,
    /// The risk engine did something worth noting (kill switch, limit refusal streak).
    Risk,
    /// An incident was opened, updated or closed.
    Incident,
}

impl TimelineKind {
    /// Every kind, in legend order.
    pub const ALL: [TimelineKind; 9] = [
        TimelineKind::Fault,
        TimelineKind::FaultEnd,
        TimelineKind::Action,
        TimelineKind::Alert,
        TimelineKind::Rollback,
        TimelineKind::Escalation,
        TimelineKind::Scheduler,
        TimelineKind::Risk,
        TimelineKind::Incident,
    ];

    /// The serialised name (`fault_end`).
    pub fn as_str(self) -> &'static str {
        match self {
            TimelineKind::Fault => "fault",
            TimelineKind::FaultEnd => "fault_end",
            TimelineKind::Action => "action",
            TimelineKind::Alert => "alert",
            TimelineKind::Rollback => "rollback",
            TimelineKind::Escalation => "escalation",
            TimelineKind::Scheduler => "scheduler",
            TimelineKind::Risk => "risk",
            TimelineKind::Incident => "incident",
        }
    }
}

/// One chart point: seconds since the scenario start and a value. Serialised as the pair
/// `[offset_seconds, value]`; a non-finite value is a gap and serialises as `null`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// Seconds since the scenario start.
    pub offset_seconds: f64,
    /// The value; NaN marks a gap.
    pub value: f64,
}

impl Point {
    /// A point.
    pub fn new(offset_seconds: f64, value: f64) -> Point {
        Point {
            offset_seconds,
            value,
        }
    }

    /// A gap at `offset_seconds` (the line breaks there).
    pub fn gap(offset_seconds: f64) -> Point {
        Point::new(offset_seconds, f64::NAN)
    }
}

impl Serialize for Point {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let value = self.value.is_finite().then_some(self.value);
        (self.offset_seconds, value).serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Point {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let (offset_seconds, value) = <(f64, Option<f64>)>::deserialize(deserializer)?;
        Ok(Point::new(offset_seconds, value.unwrap_or(f64::NAN)))
    }
}

/// The series the HTML report draws. Every field may be empty; the chart then says so.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Charts {
    /// Mid prices, one series per venue and symbol (one chart per symbol, a line per venue).
    pub prices: Vec<PriceSeries>,
    /// Equity in the quote asset: `total` and/or one series per schedule.
    pub equity: Vec<NamedSeries>,
    /// Drawdown from the running peak, percent (≤ 0): `total` and/or per schedule.
    pub drawdown: Vec<NamedSeries>,
    /// Scheduler loop latency per schedule (ms), as `bot_core_multi_strategy_latency_ms`.
    pub latency: Vec<LatencySeries>,
    /// The warning and critical lines drawn over the latency chart.
    pub latency_thresholds: LatencyThresholds,
    /// Alert firing intervals, for the alert and action timeline chart.
    pub alerts: Vec<AlertSpan>,
}

/// A price series of one symbol on one venue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PriceSeries {
    /// Venue (`binance`).
    pub venue: String,
    /// Symbol (`BTC_USDT`).
    pub symbol: String,
    /// Mid prices in quote units.
    pub points: Vec<Point>,
}

/// A named series (`total` or a schedule name).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NamedSeries {
    /// `total` or a schedule name.
    pub name: String,
    /// The values.
    pub points: Vec<Point>,
}

/// Scheduler loop latency of one schedule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LatencySeries {
    /// Schedule name (`mr_core`).
    pub schedule: String,
    /// Latency in ms.
    pub points: Vec<Point>,
}

/// Threshold lines of the latency chart, in ms.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LatencyThresholds {
    /// Warning line (default 250 ms, `MultiStrategySchedulerLatencyHigh`).
    pub warning: f64,
    /// Critical line (default 320 ms, `MultiStrategySchedulerLatencyCritical`).
    pub critical: f64,
}

impl Default for LatencyThresholds {
    fn default() -> Self {
        LatencyThresholds {
            warning: DEFAULT_LATENCY_WARNING_MS,
            critical: DEFAULT_LATENCY_CRITICAL_MS,
        }
    }
}

/// One interval during which an alert rule was firing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertSpan {
    /// Alert rule name (`MultiStrategySchedulerLatencyHigh`).
    pub rule: String,
    /// The rule's `severity` label (`warning`, `critical`, `info`).
    pub severity: String,
    /// Seconds since the start when it began firing.
    pub from: f64,
    /// Seconds since the start when it stopped firing; `None` when still firing at the end.
    pub to: Option<f64>,
}

/// Counts and money at the end of the run.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Summary {
    /// Signals the strategies emitted.
    pub signals: u64,
    /// Orders sent to venues.
    pub orders: u64,
    /// Fills received (partial fills count one each).
    pub fills: u64,
    /// Orders the venues rejected.
    pub rejects: u64,
    /// Orders the risk engine refused.
    pub refusals: u64,
    /// Realized PnL in the quote asset.
    pub realized_pnl: f64,
    /// Equity at the end, in the quote asset.
    pub final_equity: f64,
    /// Worst drawdown from the running peak, percent (≤ 0).
    pub max_drawdown_pct: f64,
    /// Lines in the signed decision log.
    pub decision_log_entries: u64,
    /// Times an alert rule started firing.
    pub alerts_fired: u64,
}

impl ScenarioReport {
    /// The expectations that did not hold, in order.
    pub fn failed(&self) -> impl Iterator<Item = &ExpectationResult> {
        self.expectations.iter().filter(|e| !e.passed)
    }

    /// How many expectations held.
    pub fn passed_count(&self) -> usize {
        self.expectations.iter().filter(|e| e.passed).count()
    }

    /// The run length in seconds, if `duration` follows the [`format_offset`] grammar.
    pub fn duration_seconds(&self) -> Option<f64> {
        parse_offset(&self.duration)
    }

    /// The text `stage4 scenario run --format text` prints ([`crate::render::text::scenario`]).
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        crate::render::text::scenario(self, &mut out).expect("writing to a String cannot fail");
        out
    }

    /// Every file view of the report with the name it is written under, in [`REPORT_FILES`]
    /// order: sorted pretty JSON, Markdown, HTML and JUnit XML, each ending in a newline.
    pub fn rendered_files(&self) -> Vec<(&'static str, String)> {
        let mut json = crate::render::json::to_pretty_sorted(self)
            .expect("a scenario report always serialises (string keys only)");
        json.push('\n');
        let mut markdown = String::new();
        crate::render::markdown::scenario(self, &mut markdown)
            .expect("writing to a String cannot fail");
        let mut html = String::new();
        crate::render::html::scenario(self, &mut html).expect("writing to a String cannot fail");
        let junit = crate::render::junit::render(&self.to_junit());
        let [json_name, md_name, html_name, junit_name] = REPORT_FILES;
        vec![
            (json_name, json),
            (md_name, markdown),
            (html_name, html),
            (junit_name, junit),
        ]
    }

    /// JUnit view: one suite for the run, one test case per expectation. A failure's message
    /// is the expectation's description and its body the expected and observed values.
    pub fn to_junit(&self) -> TestSuites {
        let classname = format!("scenario.{}", self.scenario.name);
        let cases = self
            .expectations
            .iter()
            .map(|e| {
                let body = expectation_body(e);
                let name = format!("{:02} {}: {}", e.index, e.kind, e.description);
                if e.passed {
                    TestCase {
                        system_out: Some(body),
                        ..TestCase::passed(classname.clone(), name)
                    }
                } else {
                    TestCase {
                        outcome: CaseOutcome::Failed {
                            message: e.description.clone(),
                            details: body,
                        },
                        ..TestCase::passed(classname.clone(), name)
                    }
                }
            })
            .collect();
        TestSuites {
            name: format!("stage4 scenario run {}", self.scenario.name),
            suites: vec![TestSuite {
                name: self.scenario.name.clone(),
                timestamp: Some(self.as_of.clone()),
                properties: vec![
                    ("scenario_file".into(), self.scenario.file.clone()),
                    ("seed".into(), self.seed.to_string()),
                    ("duration".into(), self.duration.clone()),
                    ("digest".into(), self.digest.clone()),
                    ("verdict".into(), self.verdict.as_str().into()),
                ],
                cases,
            }],
        }
    }
}

/// `expected: …`, `observed: …` and the detail, one per line (the JUnit body).
fn expectation_body(e: &ExpectationResult) -> String {
    let mut body = format!(
        "expected: {}\nobserved: {}",
        value_text(&e.expected),
        value_text(&e.observed)
    );
    if !e.detail.is_empty() {
        body.push('\n');
        body.push_str(&e.detail);
    }
    body
}

/// A JSON value for people: a string as itself, anything else as compact JSON with sorted keys.
pub fn value_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => crate::render::json::to_compact_sorted(other)
            .expect("a serde_json::Value always serialises"),
    }
}

/// Formats seconds since the scenario start the way scenario files write durations: `0s`,
/// `45s`, `40m`, `40m30s`, `1h`, `1h05m`, `2h00m30s` (hours do not roll over into days).
/// Fractions of a second are kept to the millisecond (`1.5s`, `2m00.25s`). Negative or
/// non-finite inputs are clamped to `0s`.
pub fn format_offset(seconds: f64) -> String {
    let ms_total = if seconds.is_finite() && seconds > 0.0 {
        (seconds * 1000.0).round() as u64
    } else {
        0
    };
    let (whole, ms) = (ms_total / 1000, ms_total % 1000);
    let (h, m, s) = (whole / 3600, (whole % 3600) / 60, whole % 60);
    let secs = if ms == 0 {
        format!("{s}")
    } else {
        let frac = format!("{ms:03}");
        format!("{s}.{}", frac.trim_end_matches('0'))
    };
    let pad = |text: String| {
        if text.split('.').next().is_some_and(|int| int.len() < 2) {
            format!("0{text}")
        } else {
            text
        }
    };
    match (h, m, s == 0 && ms == 0) {
        (0, 0, _) => format!("{secs}s"),
        (0, m, true) => format!("{m}m"),
        (0, m, false) => format!("{m}m{}s", pad(secs)),
        (h, 0, true) => format!("{h}h"),
        (h, m, true) => format!("{h}h{m:02}m"),
        (h, m, false) => format!("{h}h{m:02}m{}s", pad(secs)),
    }
}

/// Reads an offset or duration: one or more `<number><unit>` parts, units `d`, `h`, `m`, `s`,
/// `ms` (`40m`, `1h05m`, `90s`, `1.5s`, `250ms`). Returns seconds, or `None` when the text is
/// not in that grammar.
pub fn parse_offset(text: &str) -> Option<f64> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let mut total = 0.0;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if digits == 0 {
            return None;
        }
        let number: f64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let (scale, unit_len) = if rest.starts_with("ms") {
            (0.001, 2)
        } else {
            match rest.chars().next()? {
                'd' => (86_400.0, 1),
                'h' => (3_600.0, 1),
                'm' => (60.0, 1),
                's' => (1.0, 1),
                _ => return None,
            }
        };
        total += number * scale;
        rest = &rest[unit_len..];
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_format_like_scenario_files() {
        let cases = [
            (0.0, "0s"),
            (-5.0, "0s"),
            (f64::NAN, "0s"),
            (45.0, "45s"),
            (1.5, "1.5s"),
            (60.0, "1m"),
            (2400.0, "40m"),
            (2430.0, "40m30s"),
            (2405.0, "40m05s"),
            (120.25, "2m00.25s"),
            (3600.0, "1h"),
            (3900.0, "1h05m"),
            (7230.0, "2h00m30s"),
            (10800.0, "3h"),
            (90000.0, "25h"),
        ];
        for (seconds, text) in cases {
            assert_eq!(format_offset(seconds), text, "format_offset({seconds})");
        }
    }

    #[test]
    fn offsets_parse_back() {
        for seconds in [0.0, 1.5, 45.0, 2405.0, 3900.0, 7230.0, 120.25, 90000.0] {
            assert_eq!(parse_offset(&format_offset(seconds)), Some(seconds));
        }
        let cases = [
            ("3h", Some(10800.0)),
            ("250ms", Some(0.25)),
            ("1d", Some(86400.0)),
            (" 90s ", Some(90.0)),
            ("1h30", None),
            ("", None),
            ("m", None),
            ("5x", None),
            ("1..2s", None),
        ];
        for (text, seconds) in cases {
            assert_eq!(parse_offset(text), seconds, "parse_offset({text:?})");
        }
    }

    #[test]
    fn gaps_serialise_as_null_and_read_back_as_gaps() {
        let points = vec![Point::new(0.0, 1.25), Point::gap(60.0)];
        let text = serde_json::to_string(&points).unwrap();
        assert_eq!(text, "[[0.0,1.25],[60.0,null]]");
        let back: Vec<Point> = serde_json::from_str(&text).unwrap();
        assert_eq!(back[0], points[0]);
        assert!(back[1].value.is_nan());
        assert!(serde_json::from_str::<Point>("[1.0]").is_err());
    }

    #[test]
    fn verdict_is_pass_only_when_every_expectation_holds() {
        let e = |passed| ExpectationResult {
            index: 1,
            kind: "orders_after".into(),
            description: "d".into(),
            passed,
            expected: Value::Null,
            observed: Value::Null,
            detail: String::new(),
        };
        assert_eq!(Verdict::of(&[]), Verdict::Pass);
        assert_eq!(Verdict::of(&[e(true), e(true)]), Verdict::Pass);
        assert_eq!(Verdict::of(&[e(true), e(false)]), Verdict::Fail);
    }

    #[test]
    fn timeline_kinds_serialise_as_their_names() {
        for kind in TimelineKind::ALL {
            let text = serde_json::to_string(&kind).unwrap();
            assert_eq!(text, format!("\"{}\"", kind.as_str()));
        }
    }
}
