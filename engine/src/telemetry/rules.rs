//! The alert rules as data (reference §12.2) and their export as a Prometheus rules file.
//!
//! Each rule is `<range function>(<metric>[<window>]) <comparator> <threshold>` held for
//! `for`, with labels `severity`/`team` and annotations `summary`/`description`. The same
//! values drive our evaluator ([`super::alerts`]), the rules file Prometheus loads
//! ([`rules_file_yaml`]) and the promtool unit tests ([`super::promtool`]), so the three cannot
//! drift apart.
//!
//! Annotations may use `{{ $labels.<name> }}` (the series' labels, e.g. the schedule). That
//! is the only template form accepted: it expands identically in Prometheus and here, which
//! `$value` (Go float formatting) would not guarantee.

use std::fmt;
use std::fmt::Write as _;

use crate::domain::SimDuration;

use super::metrics::{LabelSet, MetricName, Sample, is_valid_label_name, names};
use super::prometheus::{format_duration, format_value};

/// The PromQL range functions the rules use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RangeFunction {
    /// `max_over_time`: NaN samples are skipped unless all are NaN.
    MaxOverTime,
    /// `avg_over_time`: Prometheus 2.x incremental mean; a NaN sample makes it NaN.
    AvgOverTime,
    /// `min_over_time`: NaN samples are skipped unless all are NaN.
    MinOverTime,
}

impl RangeFunction {
    /// The PromQL name.
    pub fn as_str(self) -> &'static str {
        match self {
            RangeFunction::MaxOverTime => "max_over_time",
            RangeFunction::AvgOverTime => "avg_over_time",
            RangeFunction::MinOverTime => "min_over_time",
        }
    }

    /// The function over the samples of one window, computed the way Prometheus 2.42 does
    /// (same operation order, same NaN and ±Inf handling); `None` for an empty window,
    /// where Prometheus returns no sample at all.
    pub fn apply(self, window: &[Sample]) -> Option<f64> {
        let first = window.first()?.value;
        Some(match self {
            RangeFunction::MaxOverTime => window.iter().fold(first, |acc, s| {
                if s.value > acc || acc.is_nan() {
                    s.value
                } else {
                    acc
                }
            }),
            RangeFunction::MinOverTime => window.iter().fold(first, |acc, s| {
                if s.value < acc || acc.is_nan() {
                    s.value
                } else {
                    acc
                }
            }),
            RangeFunction::AvgOverTime => {
                let mut mean = 0.0_f64;
                let mut count = 0.0_f64;
                for s in window {
                    count += 1.0;
                    let v = s.value;
                    if mean.is_infinite() {
                        // Inf − Inf would turn a correct infinite mean into NaN.
                        if v.is_infinite() && (mean > 0.0) == (v > 0.0) {
                            continue;
                        }
                        if v.is_finite() {
                            continue;
                        }
                    }
                    mean += v / count - mean / count;
                }
                mean
            }
        })
    }
}

/// A PromQL comparison operator (filter form: the series stays when it holds).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Comparator {
    /// `>`
    Greater,
    /// `>=`
    GreaterOrEqual,
    /// `<`
    Less,
    /// `<=`
    LessOrEqual,
}

impl Comparator {
    /// The PromQL operator.
    pub fn as_str(self) -> &'static str {
        match self {
            Comparator::Greater => ">",
            Comparator::GreaterOrEqual => ">=",
            Comparator::Less => "<",
            Comparator::LessOrEqual => "<=",
        }
    }

    /// Whether `value <op> threshold` holds; false for NaN, like PromQL.
    pub fn holds(self, value: f64, threshold: f64) -> bool {
        match self {
            Comparator::Greater => value > threshold,
            Comparator::GreaterOrEqual => value >= threshold,
            Comparator::Less => value < threshold,
            Comparator::LessOrEqual => value <= threshold,
        }
    }
}

/// Alert severities the reference validator allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Informational.
    Info,
    /// Needs attention.
    Warning,
    /// Needs action now.
    Critical,
}

impl Severity {
    /// `info`, `warning` or `critical`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

/// One alerting rule.
#[derive(Clone, Debug, PartialEq)]
pub struct AlertRule {
    /// Alert name (`alertname` label).
    pub name: String,
    /// The range function.
    pub function: RangeFunction,
    /// The full metric name it reads.
    pub metric: MetricName,
    /// The range window.
    pub window: SimDuration,
    /// The comparison.
    pub comparator: Comparator,
    /// The level compared against.
    pub threshold: f64,
    /// How long the condition must hold before the alert fires.
    pub hold: SimDuration,
    /// `severity` label.
    pub severity: Severity,
    /// `team` label.
    pub team: String,
    /// `summary` annotation (template).
    pub summary: String,
    /// `description` annotation (template).
    pub description: String,
}

impl AlertRule {
    /// The PromQL expression, e.g. `max_over_time(bot_core_multi_strategy_latency_ms[2m]) > 250`.
    pub fn expr(&self) -> String {
        format!(
            "{}({}[{}]) {} {}",
            self.function.as_str(),
            self.metric,
            format_duration(self.window).unwrap_or_else(|e| e.to_string()),
            self.comparator.as_str(),
            format_value(self.threshold)
        )
    }

    /// The rule's own labels, in name order: `severity` and `team`.
    pub fn labels(&self) -> LabelSet {
        let mut labels = LabelSet::new();
        labels.insert_trusted("severity", self.severity.as_str());
        labels.insert_trusted("team", &self.team);
        labels
    }

    /// The annotations expanded for a series with `labels`, in name order.
    pub fn annotations(&self, labels: &LabelSet) -> LabelSet {
        let mut out = LabelSet::new();
        let mut text = String::new();
        expand_into(&self.description, labels, &mut text);
        out.insert_trusted("description", &text);
        expand_into(&self.summary, labels, &mut text);
        out.insert_trusted("summary", &text);
        out
    }

    /// Makes `out` equal to [`AlertRule::annotations`] for `labels`. When `out` already holds
    /// exactly the two annotations (an active alert re-evaluated), their strings are rewritten
    /// in place instead of building a new set.
    pub(crate) fn annotate_into(&self, labels: &LabelSet, out: &mut LabelSet) {
        if out.len() != 2 {
            *out = self.annotations(labels);
            return;
        }
        match out.value_mut("description") {
            Some(description) => expand_into(&self.description, labels, description),
            None => {
                *out = self.annotations(labels);
                return;
            }
        }
        match out.value_mut("summary") {
            Some(summary) => expand_into(&self.summary, labels, summary),
            None => *out = self.annotations(labels),
        }
    }

    fn validate(&self) -> Result<(), RuleError> {
        let bad = |reason: String| RuleError {
            rule: self.name.clone(),
            reason,
        };
        if self.name.is_empty()
            || !self
                .name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            return Err(bad("the alert name must be [a-zA-Z0-9_]+".into()));
        }
        for (what, d) in [("window", self.window), ("for", self.hold)] {
            format_duration(d).map_err(|e| bad(format!("{what}: {e}")))?;
        }
        if self.window.is_zero() {
            return Err(bad("the range window must be longer than zero".into()));
        }
        if self.threshold.is_nan() {
            return Err(bad("the threshold is NaN".into()));
        }
        if self.team.is_empty() {
            return Err(bad("the team label is empty".into()));
        }
        for (what, text) in [
            ("summary", &self.summary),
            ("description", &self.description),
        ] {
            if text.is_empty() {
                return Err(bad(format!("the {what} annotation is empty")));
            }
            check_template(text).map_err(|reason| bad(format!("{what}: {reason}")))?;
        }
        Ok(())
    }
}

/// A rule that cannot be exported or evaluated faithfully.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("alert rule `{rule}`: {reason}")]
pub struct RuleError {
    /// The rule's name.
    pub rule: String,
    /// What is wrong.
    pub reason: String,
}

/// A rule group: the unit Prometheus evaluates on one interval.
#[derive(Clone, Debug, PartialEq)]
pub struct RuleGroup {
    /// Group name.
    pub name: String,
    /// Evaluation interval.
    pub interval: SimDuration,
    /// The rules, evaluated in this order.
    pub rules: Vec<AlertRule>,
}

impl RuleGroup {
    /// The five reference rules of `multi_strategy_rules.yml` (group `multi_strategy_runtime`,
    /// 30 s interval).
    pub fn stage4() -> RuleGroup {
        let metric =
            |key: &str| MetricName::namespaced(key).expect("reference metric names are valid");
        let rule = |name: &str,
                    function,
                    key: &str,
                    window,
                    comparator,
                    threshold,
                    hold,
                    severity,
                    team: &str,
                    summary: &str,
                    description: &str| AlertRule {
            name: name.to_owned(),
            function,
            metric: metric(key),
            window,
            comparator,
            threshold,
            hold,
            severity,
            team: team.to_owned(),
            summary: summary.to_owned(),
            description: description.to_owned(),
        };
        use Comparator::{Greater, Less};
        use RangeFunction::*;
        let mins = SimDuration::from_mins;
        RuleGroup {
            name: "multi_strategy_runtime".to_owned(),
            interval: SimDuration::from_secs(30),
            rules: vec![
                rule(
                    "MultiStrategySchedulerLatencyHigh",
                    MaxOverTime,
                    names::LATENCY_MS,
                    mins(2),
                    Greater,
                    250.0,
                    mins(2),
                    Severity::Warning,
                    "trading-ops",
                    "Scheduler latency above 250 ms on {{ $labels.schedule }}",
                    "The slowest run of schedule {{ $labels.schedule }} in the last 2m took \
                     longer than 250 ms, continuously for 2m. Check strategy compute time and \
                     feed latency before the critical level (320 ms) is reached.",
                ),
                rule(
                    "MultiStrategySchedulerLatencyCritical",
                    MaxOverTime,
                    names::LATENCY_MS,
                    mins(5),
                    Greater,
                    320.0,
                    mins(1),
                    Severity::Critical,
                    "trading-ops",
                    "Scheduler latency above 320 ms on {{ $labels.schedule }}",
                    "The slowest run of schedule {{ $labels.schedule }} in the last 5m took \
                     longer than 320 ms, continuously for 1m. Escalate to L2; if it persists, \
                     disable the multi-strategy scheduler (rollback).",
                ),
                rule(
                    "MultiStrategyRiskExposureDeviation",
                    AvgOverTime,
                    names::ALLOCATION_ERROR_PCT,
                    mins(10),
                    Greater,
                    20.0,
                    mins(5),
                    Severity::Warning,
                    "risk",
                    "Allocation error above 20 % on {{ $labels.schedule }}",
                    "The 10m average allocation error of schedule {{ $labels.schedule }} has \
                     been above 20 % for 5m: realised exposure is drifting from the target. \
                     Review the volatility-targeting inputs and the capital policy.",
                ),
                rule(
                    "MultiStrategyPnlDrawdown",
                    MinOverTime,
                    names::PNL_DRAWDOWN_PCT,
                    mins(30),
                    Less,
                    -4.0,
                    mins(10),
                    Severity::Critical,
                    "trading-ops",
                    "PnL drawdown deeper than 4 % on {{ $labels.schedule }}",
                    "The PnL drawdown of schedule {{ $labels.schedule }} went below -4 % within \
                     the last 30m and has stayed there for 10m. Check the risk engine's kill \
                     switches and open an incident.",
                ),
                rule(
                    "MultiStrategySecondaryDelay",
                    MaxOverTime,
                    names::SECONDARY_DELAY_MS,
                    mins(5),
                    Greater,
                    450.0,
                    mins(3),
                    Severity::Warning,
                    "trading-ops",
                    "Secondary venue delay above 450 ms on {{ $labels.schedule }}",
                    "Arbitrage schedule {{ $labels.schedule }} saw secondary-venue quotes more \
                     than 450 ms old within the last 5m, for 3m. Spreads may be stale; check \
                     the secondary venue's feed.",
                ),
            ],
        }
    }

    /// Checks every rule can be evaluated here and exported faithfully.
    pub fn validate(&self) -> Result<(), RuleError> {
        if self.interval.is_zero() {
            return Err(RuleError {
                rule: self.name.clone(),
                reason: "the group interval must be longer than zero".into(),
            });
        }
        format_duration(self.interval).map_err(|e| RuleError {
            rule: self.name.clone(),
            reason: format!("interval: {e}"),
        })?;
        let mut seen = std::collections::BTreeSet::new();
        for rule in &self.rules {
            rule.validate()?;
            if !seen.insert(rule.name.as_str()) {
                return Err(RuleError {
                    rule: rule.name.clone(),
                    reason: "two rules in the group have this name".into(),
                });
            }
        }
        Ok(())
    }

    /// The rule with this alert name.
    pub fn rule(&self, name: &str) -> Option<&AlertRule> {
        self.rules.iter().find(|r| r.name == name)
    }
}

/// Quotes a string for YAML: JSON string syntax is valid YAML double-quoted syntax.
pub(crate) fn yaml_str(text: &str) -> String {
    serde_json::to_string(text).expect("strings always serialise")
}

/// The group as a Prometheus rules file (YAML), ready for `promtool check rules`.
pub fn rules_file_yaml(group: &RuleGroup) -> Result<String, RuleError> {
    group.validate()?;
    let dur = |d| format_duration(d).expect("validated above");
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Stage4 multi-strategy alert rules, generated by stage4-engine."
    );
    let _ = writeln!(
        out,
        "# Metrics: bot_core_multi_strategy_<metric>{{schedule=\"<name>\"}}."
    );
    let _ = writeln!(out, "groups:");
    let _ = writeln!(out, "  - name: {}", yaml_str(&group.name));
    let _ = writeln!(out, "    interval: {}", dur(group.interval));
    let _ = writeln!(out, "    rules:");
    for rule in &group.rules {
        let _ = writeln!(out, "      - alert: {}", rule.name);
        let _ = writeln!(out, "        expr: {}", yaml_str(&rule.expr()));
        let _ = writeln!(out, "        for: {}", dur(rule.hold));
        let _ = writeln!(out, "        labels:");
        for (name, value) in rule.labels().iter() {
            let _ = writeln!(out, "          {name}: {}", yaml_str(value));
        }
        let _ = writeln!(out, "        annotations:");
        let _ = writeln!(out, "          summary: {}", yaml_str(&rule.summary));
        let _ = writeln!(
            out,
            "          description: {}",
            yaml_str(&rule.description)
        );
    }
    Ok(out)
}

/// One piece of an annotation template.
enum Piece<'a> {
    Text(&'a str),
    Label(&'a str),
}

/// Walks a template, handing its text and `{{ $labels.<name> }}` placeholders to `visit` in
/// order; the error says what is wrong (pieces before it have been visited).
fn walk_template<'a>(text: &'a str, mut visit: impl FnMut(Piece<'a>)) -> Result<(), String> {
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        if open > 0 {
            visit(Piece::Text(&rest[..open]));
        }
        let after = &rest[open + 2..];
        let close = after
            .find("}}")
            .ok_or_else(|| format!("unclosed `{{{{` in `{text}`"))?;
        let inner = after[..close].trim();
        let label = inner.strip_prefix("$labels.").ok_or_else(|| {
            format!(
                "`{{{{{}}}}}` is not supported: only {{{{ $labels.<name> }}}} expands the same in Prometheus and here",
                &after[..close]
            )
        })?;
        if !is_valid_label_name(label) {
            return Err(format!("`{label}` is not a label name"));
        }
        visit(Piece::Label(label));
        rest = &after[close + 2..];
    }
    if rest.contains("}}") {
        return Err(format!("stray `}}}}` in `{text}`"));
    }
    if !rest.is_empty() {
        visit(Piece::Text(rest));
    }
    Ok(())
}

fn check_template(text: &str) -> Result<(), String> {
    walk_template(text, |_| {})
}

/// Expands `{{ $labels.<name> }}`; a label the series lacks expands to the empty string, as
/// in Prometheus (its templates use `missingkey=zero`).
#[cfg(test)]
fn expand(text: &str, labels: &LabelSet) -> String {
    let mut out = String::new();
    expand_into(text, labels, &mut out);
    out
}

/// [`expand`] into `out` (cleared first), written as the template is walked: the alert
/// evaluator expands every holding alert's annotations at every evaluation, so no piece list
/// is built and the caller's buffer is reused.
fn expand_into(text: &str, labels: &LabelSet, out: &mut String) {
    out.clear();
    let walked = walk_template(text, |piece| match piece {
        Piece::Text(t) => out.push_str(t),
        Piece::Label(name) => out.push_str(labels.get(name).unwrap_or("")),
    });
    if walked.is_err() {
        // Validated rules never get here; keep the raw text rather than invent one.
        raw_template(text, out);
    }
}

/// The template as written: what an invalid template expands to.
fn raw_template(text: &str, out: &mut String) {
    out.clear();
    out.push_str(text);
}

impl fmt::Display for AlertRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}, for {})", self.name, self.expr(), self.hold)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::SimTime;

    fn samples(values: &[f64]) -> Vec<Sample> {
        values
            .iter()
            .enumerate()
            .map(|(i, &value)| Sample {
                at: SimTime::from_unix_secs(15 * i as u64),
                value,
            })
            .collect()
    }

    #[test]
    fn range_functions_like_prometheus() {
        use RangeFunction::*;
        let nan = f64::NAN;
        let inf = f64::INFINITY;
        // (function, window values, expected; None = no output sample)
        let cases: Vec<(RangeFunction, Vec<f64>, Option<f64>)> = vec![
            (MaxOverTime, vec![], None),
            (MaxOverTime, vec![1.0, 5.0, 3.0], Some(5.0)),
            (MaxOverTime, vec![nan, 2.0, nan], Some(2.0)),
            (MaxOverTime, vec![2.0, nan], Some(2.0)),
            (MaxOverTime, vec![-inf, -1.0], Some(-1.0)),
            (MinOverTime, vec![1.0, -5.0, 3.0], Some(-5.0)),
            (MinOverTime, vec![nan, 2.0], Some(2.0)),
            (MinOverTime, vec![3.0, -inf], Some(-inf)),
            (AvgOverTime, vec![1.0, 2.0, 3.0, 4.0], Some(2.5)),
            (AvgOverTime, vec![10.0], Some(10.0)),
            (AvgOverTime, vec![inf, 1.0, inf], Some(inf)),
            (AvgOverTime, vec![1.0, -inf, 5.0], Some(-inf)),
        ];
        for (f, values, want) in cases {
            let got = f.apply(&samples(&values));
            assert_eq!(got, want, "{} {values:?}", f.as_str());
        }
        // All-NaN windows and NaN in a mean give NaN.
        assert!(MaxOverTime.apply(&samples(&[nan, nan])).unwrap().is_nan());
        assert!(AvgOverTime.apply(&samples(&[1.0, nan])).unwrap().is_nan());
        assert!(AvgOverTime.apply(&samples(&[inf, -inf])).unwrap().is_nan());
    }

    #[test]
    fn comparators_treat_nan_as_false() {
        use Comparator::*;
        for (op, v, t, want) in [
            (Greater, 251.0, 250.0, true),
            (Greater, 250.0, 250.0, false),
            (GreaterOrEqual, 250.0, 250.0, true),
            (Less, -4.1, -4.0, true),
            (Less, -4.0, -4.0, false),
            (LessOrEqual, -4.0, -4.0, true),
            (Greater, f64::NAN, 0.0, false),
            (Less, f64::NAN, 0.0, false),
        ] {
            assert_eq!(op.holds(v, t), want, "{v} {} {t}", op.as_str());
        }
    }

    #[test]
    fn the_five_reference_rules() {
        let group = RuleGroup::stage4();
        group.validate().unwrap();
        assert_eq!(group.name, "multi_strategy_runtime");
        assert_eq!(group.interval, SimDuration::from_secs(30));
        let table: Vec<(&str, String, String, &str, &str)> = group
            .rules
            .iter()
            .map(|r| {
                (
                    r.name.as_str(),
                    r.expr(),
                    format_duration(r.hold).unwrap(),
                    r.severity.as_str(),
                    r.team.as_str(),
                )
            })
            .collect();
        let want = [
            (
                "MultiStrategySchedulerLatencyHigh",
                "max_over_time(bot_core_multi_strategy_latency_ms[2m]) > 250",
                "2m",
                "warning",
                "trading-ops",
            ),
            (
                "MultiStrategySchedulerLatencyCritical",
                "max_over_time(bot_core_multi_strategy_latency_ms[5m]) > 320",
                "1m",
                "critical",
                "trading-ops",
            ),
            (
                "MultiStrategyRiskExposureDeviation",
                "avg_over_time(bot_core_multi_strategy_allocation_error_pct[10m]) > 20",
                "5m",
                "warning",
                "risk",
            ),
            (
                "MultiStrategyPnlDrawdown",
                "min_over_time(bot_core_multi_strategy_pnl_drawdown_pct[30m]) < -4",
                "10m",
                "critical",
                "trading-ops",
            ),
            (
                "MultiStrategySecondaryDelay",
                "max_over_time(bot_core_multi_strategy_secondary_delay_ms[5m]) > 450",
                "3m",
                "warning",
                "trading-ops",
            ),
        ];
        let want: Vec<(&str, String, String, &str, &str)> = want
            .into_iter()
            .map(|(a, b, c, d, e)| (a, b.to_owned(), c.to_owned(), d, e))
            .collect();
        assert_eq!(table, want);
    }

    #[test]
    fn rules_file_snapshot() {
        insta::assert_snapshot!(rules_file_yaml(&RuleGroup::stage4()).unwrap());
    }

    #[test]
    fn rules_file_parses_back_as_yaml() {
        let text = rules_file_yaml(&RuleGroup::stage4()).unwrap();
        let doc: serde_json::Value = serde_norway::from_str(&text).unwrap();
        let group = &doc["groups"][0];
        assert_eq!(group["name"], "multi_strategy_runtime");
        assert_eq!(group["interval"], "30s");
        let rules = group["rules"].as_array().unwrap();
        assert_eq!(rules.len(), 5);
        for (parsed, rule) in rules.iter().zip(&RuleGroup::stage4().rules) {
            assert_eq!(parsed["alert"], rule.name.as_str());
            assert_eq!(parsed["expr"], rule.expr().as_str());
            assert_eq!(parsed["labels"]["severity"], rule.severity.as_str());
            assert_eq!(parsed["labels"]["team"], rule.team.as_str());
            assert_eq!(parsed["annotations"]["summary"], rule.summary.as_str());
            assert_eq!(
                parsed["annotations"]["description"],
                rule.description.as_str()
            );
        }
    }

    /// The template as a list of pieces: the oracle joins them after the walk is done.
    fn pieces(text: &str) -> Result<Vec<Piece<'_>>, String> {
        let mut out = Vec::new();
        walk_template(text, |piece| out.push(piece))?;
        Ok(out)
    }

    /// The expansion as first written: split into pieces, then join.
    fn expand_by_pieces(text: &str, labels: &LabelSet) -> String {
        match pieces(text) {
            Ok(parts) => parts
                .into_iter()
                .map(|p| match p {
                    Piece::Text(t) => t,
                    Piece::Label(name) => labels.get(name).unwrap_or(""),
                })
                .collect(),
            Err(_) => text.to_owned(),
        }
    }

    proptest::proptest! {
        #[test]
        fn streaming_expansion_matches_the_piece_list(
            parts in proptest::collection::vec(0usize..16, 0..14),
        ) {
            const ATOMS: [&str; 16] = [
                "{{", "}}", " ", "$labels.", "schedule", "nope", "1x", "a", "$value", "{", "}",
                "é", "{{ $labels.schedule }}", "{{$labels.a}}", "{{ $labels.nope }}",
                "{{ $labels.1x }}",
            ];
            let text: String = parts.iter().map(|&i| ATOMS[i]).collect();
            let labels = LabelSet::from_pairs([("schedule", "core"), ("a", "A")]).unwrap();
            let expected = expand_by_pieces(&text, &labels);
            proptest::prop_assert_eq!(&expand(&text, &labels), &expected);
            // Reusing a buffer that held something else gives the same text.
            let mut buf = String::from("stale");
            expand_into(&text, &labels, &mut buf);
            proptest::prop_assert_eq!(buf, expected);
        }
    }

    #[test]
    fn annotating_in_place_matches_fresh_annotations() {
        let group = RuleGroup::stage4();
        let rule = &group.rules[0];
        let first = LabelSet::schedule("alpha");
        let second = LabelSet::schedule("beta");
        let mut out = rule.annotations(&first);
        rule.annotate_into(&second, &mut out);
        assert_eq!(out, rule.annotations(&second));
        // Anything but the two annotations is rebuilt, not patched.
        for odd in [
            LabelSet::new(),
            LabelSet::from_pairs([("summary", "s"), ("x", "y")]).unwrap(),
            LabelSet::from_pairs([("description", "d"), ("x", "y")]).unwrap(),
            LabelSet::from_pairs([("description", "d"), ("summary", "s"), ("x", "y")]).unwrap(),
        ] {
            let mut out = odd;
            rule.annotate_into(&first, &mut out);
            assert_eq!(out, rule.annotations(&first));
        }
    }

    #[test]
    fn templates_expand_labels_only() {
        let labels = LabelSet::schedule("core \"x\"");
        assert_eq!(
            expand("a {{ $labels.schedule }} b {{$labels.nope}}!", &labels),
            "a core \"x\" b !"
        );
        for (text, fragment) in [
            ("v={{ $value }}", "not supported"),
            ("{{ $labels.schedule", "unclosed"),
            ("x }} y", "stray"),
            ("{{ $labels.1x }}", "not a label name"),
        ] {
            let err = check_template(text).unwrap_err();
            assert!(err.contains(fragment), "{text}: {err}");
        }
    }

    #[test]
    fn invalid_rules_are_refused_with_the_rule_named() {
        let base = RuleGroup::stage4();
        let mut cases: Vec<(RuleGroup, &str)> = Vec::new();
        let mut g = base.clone();
        g.rules[0].summary = "{{ $value }}".into();
        cases.push((g, "summary"));
        let mut g = base.clone();
        g.rules[1].window = SimDuration::from_micros(10);
        cases.push((g, "window"));
        let mut g = base.clone();
        g.rules[2].name = "Bad name".into();
        cases.push((g, "alert name"));
        let mut g = base.clone();
        g.rules[3].name = g.rules[0].name.clone();
        cases.push((g, "two rules"));
        let mut g = base.clone();
        g.rules[4].threshold = f64::NAN;
        cases.push((g, "NaN"));
        let mut g = base;
        g.interval = SimDuration::ZERO;
        cases.push((g, "interval"));
        for (group, fragment) in cases {
            let err = rules_file_yaml(&group).unwrap_err().to_string();
            assert!(err.contains(fragment), "{err}");
            assert!(err.starts_with("alert rule `"), "{err}");
        }
    }
}
