//! Builds `promtool test rules` unit-test files from what a run produced, so Prometheus
//! itself checks our evaluator.
//!
//! For each recorded run the builder writes one test group: the run's samples of every
//! metric the rules read as `input_series` (one point per scrape interval from the run's
//! first evaluation, `_` where there is no sample, `v+0xN` for runs of equal values), and
//! `alert_rule_test` entries at chosen evaluation times with the alerts our evaluator had
//! firing at that time — labels and expanded annotations, or `exp_alerts: []`. promtool
//! replays the series through the real rules file and fails on any difference.
//!
//! Time 0 in the test file is the run's first evaluation (the evaluator's origin), so
//! promtool's evaluation grid (`0, 30s, 60s, ...`) is ours. Samples must sit on a grid of
//! whole milliseconds from the origin: use [`MetricsStore::scraped`] first for runs whose
//! samples do not. The range-boundary semantics are the evaluator's choice
//! ([`super::metrics::RangeBoundary`]): build the evaluator with the one of the promtool
//! that will run the file.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use crate::domain::{SimDuration, SimTime};

use super::alerts::{ALERTNAME_LABEL, AlertEvaluator, AlertTransition, TransitionKind};
use super::metrics::{LabelSet, MetricsStore, SeriesKey};
use super::prometheus::{format_duration, format_value};
use super::rules::{RuleGroup, yaml_str};

/// Longest input series we write (points per series); beyond it, resample the run.
pub const MAX_POINTS_PER_SERIES: u64 = 200_000;

/// Why a unit-test file could not be built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RuleTestError {
    /// The evaluator has not evaluated anything yet.
    #[error("run `{run}`: the evaluator has not evaluated anything yet; call advance_to first")]
    NotEvaluated {
        /// The run.
        run: String,
    },
    /// A transition of a rule the test file's group does not have.
    #[error("run `{run}`: transition for rule `{rule}`, which is not in the rule group `{group}`")]
    UnknownRule {
        /// The run.
        run: String,
        /// The rule named by the transition.
        rule: String,
        /// The test file's group.
        group: String,
    },
    /// A transition off the evaluation grid or outside the evaluated span: the transitions
    /// were computed with another origin or interval than the run declares.
    #[error(
        "run `{run}`: transition at {at} is not an evaluation of this run (grid {interval} from {origin}, up to {last})"
    )]
    TransitionOffGrid {
        /// The run.
        run: String,
        /// The transition time.
        at: SimTime,
        /// The evaluation interval.
        interval: SimDuration,
        /// The origin.
        origin: SimTime,
        /// The last evaluation.
        last: SimTime,
    },
    /// A sample earlier than the run's origin (promtool series start at time 0).
    #[error("run `{run}`: {series} has a sample at {at}, before the run's origin {origin}")]
    SampleBeforeOrigin {
        /// The run.
        run: String,
        /// The series.
        series: String,
        /// The sample time.
        at: SimTime,
        /// The origin.
        origin: SimTime,
    },
    /// A sample that is not on the scrape grid.
    #[error(
        "run `{run}`: {series} has a sample at {at}, which is not on the {interval} grid from {origin}; resample the store with MetricsStore::scraped"
    )]
    OffGrid {
        /// The run.
        run: String,
        /// The series.
        series: String,
        /// The sample time.
        at: SimTime,
        /// The scrape interval.
        interval: SimDuration,
        /// The origin.
        origin: SimTime,
    },
    /// The scrape interval is not a whole, non-zero number of milliseconds.
    #[error(
        "run `{run}`: scrape interval {interval} must be a whole, non-zero number of milliseconds"
    )]
    BadInterval {
        /// The run.
        run: String,
        /// The interval.
        interval: SimDuration,
    },
    /// A series would have too many points.
    #[error(
        "run `{run}`: {series} would need {points} points at a {interval} interval (limit {MAX_POINTS_PER_SERIES}); resample the store with MetricsStore::scraped"
    )]
    TooManyPoints {
        /// The run.
        run: String,
        /// The series.
        series: String,
        /// Points needed.
        points: u64,
        /// The interval.
        interval: SimDuration,
    },
    /// A requested check time is off the evaluation grid or outside the evaluated span.
    #[error(
        "run `{run}`: check time {at} is not an evaluation of this run (grid {interval} from {origin}, up to {last})"
    )]
    BadCheckTime {
        /// The run.
        run: String,
        /// The requested time.
        at: SimTime,
        /// The evaluation interval.
        interval: SimDuration,
        /// The origin.
        origin: SimTime,
        /// The last evaluation.
        last: SimTime,
    },
}

/// One run to turn into a test group: its samples and the alert transitions our evaluator
/// computed from them.
#[derive(Clone, Copy, Debug)]
pub struct RecordedRun<'a> {
    /// A name for the test group (promtool prints it on failure).
    pub name: &'a str,
    /// The samples the run recorded (what the rules read).
    pub store: &'a MetricsStore,
    /// The first evaluation (time 0 in the test file).
    pub origin: SimTime,
    /// The last evaluation; the evaluations in between are every group interval.
    pub last_evaluation: SimTime,
    /// Every transition of every evaluation from `origin` to `last_evaluation`, in order:
    /// the expectations.
    pub transitions: &'a [AlertTransition],
    /// The input-series interval; `None` picks the largest interval every sample sits on.
    pub scrape_interval: Option<SimDuration>,
    /// Evaluation times to check in addition to the automatic ones.
    pub extra_checks: &'a [SimTime],
}

impl<'a> RecordedRun<'a> {
    /// The run as `evaluator` saw it over `store` (origin, last evaluation, history), with an
    /// automatic scrape interval and no extra checks.
    pub fn from_evaluator(
        name: &'a str,
        store: &'a MetricsStore,
        evaluator: &'a AlertEvaluator,
    ) -> Result<RecordedRun<'a>, RuleTestError> {
        let last_evaluation =
            evaluator
                .last_evaluation()
                .ok_or_else(|| RuleTestError::NotEvaluated {
                    run: name.to_owned(),
                })?;
        Ok(RecordedRun {
            name,
            store,
            origin: evaluator.origin(),
            last_evaluation,
            transitions: evaluator.history(),
            scrape_interval: None,
            extra_checks: &[],
        })
    }
}

/// Accumulates test groups for one rules file.
#[derive(Clone, Debug)]
pub struct RuleTestBuilder {
    rules_file: String,
    group: RuleGroup,
    tests: Vec<String>,
}

impl RuleTestBuilder {
    /// A builder for tests of `group`, loaded by promtool from `rules_file` (a path relative
    /// to the test file).
    pub fn new(rules_file: &str, group: &RuleGroup) -> RuleTestBuilder {
        RuleTestBuilder {
            rules_file: rules_file.to_owned(),
            group: group.clone(),
            tests: Vec::new(),
        }
    }

    /// Adds one run as a test group.
    ///
    /// Checks are made at: the origin, every evaluation with a transition, the evaluation
    /// just before each of those, the last evaluation and `extra_checks`; at each, for every
    /// rule, the alerts our evaluator had firing (possibly none).
    pub fn add_run(&mut self, run: RecordedRun<'_>) -> Result<&mut RuleTestBuilder, RuleTestError> {
        let name = run.name.to_owned();
        let (origin, last) = (run.origin, run.last_evaluation);
        let eval_interval = self.group.interval;
        let on_grid = |t: SimTime| {
            t >= origin
                && t <= last
                && t.saturating_since(origin)
                    .as_nanos()
                    .is_multiple_of(eval_interval.as_nanos())
        };
        for tr in run.transitions {
            if self.group.rule(&tr.rule).is_none() {
                return Err(RuleTestError::UnknownRule {
                    run: name,
                    rule: tr.rule.clone(),
                    group: self.group.name.clone(),
                });
            }
            if !on_grid(tr.at) {
                return Err(RuleTestError::TransitionOffGrid {
                    run: name,
                    at: tr.at,
                    interval: eval_interval,
                    origin,
                    last,
                });
            }
        }

        // The series the rules read, trimmed to the evaluated span.
        let metrics: BTreeSet<_> = self.group.rules.iter().map(|r| r.metric.clone()).collect();
        let mut inputs: Vec<(&SeriesKey, Vec<(u64, f64)>)> = Vec::new();
        for metric in &metrics {
            for (key, series) in run.store.series_of(metric) {
                let mut points = Vec::new();
                for s in series.samples().iter().take_while(|s| s.at <= last) {
                    let offset = s.at.duration_since(origin).ok_or_else(|| {
                        RuleTestError::SampleBeforeOrigin {
                            run: name.clone(),
                            series: key.to_string(),
                            at: s.at,
                            origin,
                        }
                    })?;
                    points.push((offset.as_nanos(), s.value));
                }
                if !points.is_empty() {
                    inputs.push((key, points));
                }
            }
        }

        let interval = match run.scrape_interval {
            Some(i) => i,
            None => {
                let g = inputs
                    .iter()
                    .flat_map(|(_, p)| p.iter().map(|&(o, _)| o))
                    .fold(0, gcd);
                if g == 0 {
                    eval_interval
                } else {
                    SimDuration::from_nanos(g)
                }
            }
        };
        let step = interval.as_nanos();
        if step == 0 || !step.is_multiple_of(1_000_000) {
            return Err(RuleTestError::BadInterval {
                run: name,
                interval,
            });
        }

        let mut out = String::new();
        let _ = writeln!(out, "  - name: {}", yaml_str(&name));
        let _ = writeln!(
            out,
            "    # time 0 = {origin}; rules evaluated every {} up to {last}",
            format_duration(eval_interval).expect("validated group")
        );
        let _ = writeln!(
            out,
            "    interval: {}",
            format_duration(interval).expect("checked above")
        );
        if inputs.is_empty() {
            let _ = writeln!(out, "    input_series: []");
        } else {
            let _ = writeln!(out, "    input_series:");
        }
        for (key, points) in &inputs {
            let last_index = points.last().map_or(0, |&(o, _)| o / step);
            if last_index + 1 > MAX_POINTS_PER_SERIES {
                return Err(RuleTestError::TooManyPoints {
                    run: name,
                    series: key.to_string(),
                    points: last_index + 1,
                    interval,
                });
            }
            let mut slots: Vec<Option<f64>> = Vec::new();
            for &(offset, value) in points {
                if !offset.is_multiple_of(step) {
                    return Err(RuleTestError::OffGrid {
                        run: name,
                        series: key.to_string(),
                        at: origin + SimDuration::from_nanos(offset),
                        interval,
                        origin,
                    });
                }
                let index = (offset / step) as usize;
                slots.resize(index, None);
                slots.push(Some(value));
            }
            let _ = writeln!(out, "      - series: {}", yaml_str(&key.to_string()));
            let _ = writeln!(
                out,
                "        values: {}",
                yaml_str(&series_notation(&slots))
            );
        }

        // Check times: on the grid, within [origin, last].
        let mut checks: BTreeSet<SimTime> = BTreeSet::new();
        checks.insert(origin);
        checks.insert(last);
        for tr in run.transitions {
            checks.insert(tr.at);
            if let Some(before) = tr.at.checked_sub(eval_interval)
                && before >= origin
            {
                checks.insert(before);
            }
        }
        for &t in run.extra_checks {
            if !on_grid(t) {
                return Err(RuleTestError::BadCheckTime {
                    run: name,
                    at: t,
                    interval: eval_interval,
                    origin,
                    last,
                });
            }
            checks.insert(t);
        }

        // Replay the transitions to know what was firing at each check.
        type Firing = BTreeMap<(String, LabelSet), LabelSet>;
        let mut firing: Firing = BTreeMap::new();
        let mut history = run.transitions.iter().peekable();
        let _ = writeln!(out, "    alert_rule_test:");
        for &check in &checks {
            while let Some(tr) = history.next_if(|tr| tr.at <= check) {
                let key = (tr.rule.clone(), tr.labels.clone());
                match tr.kind {
                    TransitionKind::Firing => {
                        firing.insert(key, tr.annotations.clone());
                    }
                    TransitionKind::Resolved => {
                        firing.remove(&key);
                    }
                    TransitionKind::Pending | TransitionKind::Cleared => {}
                }
            }
            let eval_time = format_duration(check.saturating_since(origin))
                .expect("grid times are whole milliseconds");
            for rule in &self.group.rules {
                let _ = writeln!(out, "      - eval_time: {eval_time}");
                let _ = writeln!(out, "        alertname: {}", rule.name);
                let alerts: Vec<_> = firing
                    .iter()
                    .filter(|((r, _), _)| r == &rule.name)
                    .collect();
                if alerts.is_empty() {
                    let _ = writeln!(out, "        exp_alerts: []");
                    continue;
                }
                let _ = writeln!(out, "        exp_alerts:");
                for ((_, labels), annotations) in alerts {
                    let _ = writeln!(out, "          - exp_labels:");
                    for (k, v) in labels.iter().filter(|(k, _)| *k != ALERTNAME_LABEL) {
                        let _ = writeln!(out, "              {k}: {}", yaml_str(v));
                    }
                    let _ = writeln!(out, "            exp_annotations:");
                    for (k, v) in annotations.iter() {
                        let _ = writeln!(out, "              {k}: {}", yaml_str(v));
                    }
                }
            }
        }
        self.tests.push(out);
        Ok(self)
    }

    /// The unit-test file.
    pub fn to_yaml(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# promtool unit tests generated by stage4-engine from recorded runs and the alert"
        );
        let _ = writeln!(
            out,
            "# transitions our evaluator computed; run with `promtool test rules <this file>`."
        );
        let _ = writeln!(out, "rule_files:");
        let _ = writeln!(out, "  - {}", yaml_str(&self.rules_file));
        let _ = writeln!(
            out,
            "evaluation_interval: {}",
            format_duration(self.group.interval).unwrap_or_else(|e| e.to_string())
        );
        if self.tests.is_empty() {
            let _ = writeln!(out, "tests: []");
        } else {
            let _ = writeln!(out, "tests:");
            for t in &self.tests {
                out.push_str(t);
            }
        }
        out
    }
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// promtool's series notation: `_` for a missing point, `_xN` for N missing points, `v` for
/// one value and `v+0xN` for N+1 equal values. Non-finite values are written one by one.
pub fn series_notation(slots: &[Option<f64>]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < slots.len() {
        let mut j = i + 1;
        match slots[i] {
            None => {
                while j < slots.len() && slots[j].is_none() {
                    j += 1;
                }
                let n = j - i;
                parts.push(if n == 1 { "_".into() } else { format!("_x{n}") });
            }
            Some(v) if v.is_finite() => {
                while j < slots.len() && slots[j].is_some_and(|w| w.to_bits() == v.to_bits()) {
                    j += 1;
                }
                let n = j - i;
                let text = format_value(v);
                parts.push(if n == 1 {
                    text
                } else {
                    format!("{text}+0x{}", n - 1)
                });
            }
            Some(v) => parts.push(format_value(v)),
        }
        i = j;
    }
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::metrics::{RangeBoundary, TelemetryPayload, names};

    #[test]
    fn notation_compresses_runs_and_gaps() {
        let nan = f64::NAN;
        let cases: Vec<(Vec<Option<f64>>, &str)> = vec![
            (vec![], ""),
            (vec![Some(1.0)], "1"),
            (vec![Some(1.0), Some(1.0), Some(1.0)], "1+0x2"),
            (
                vec![None, None, Some(-4.5), Some(-4.5), None],
                "_x2 -4.5+0x1 _",
            ),
            (vec![Some(1.0), Some(2.0), Some(2.0)], "1 2+0x1"),
            (
                vec![Some(nan), Some(nan), Some(f64::INFINITY)],
                "NaN NaN +Inf",
            ),
            (vec![Some(0.0), Some(-0.0)], "0 -0"),
            (vec![Some(1e21), Some(1.5e-7)], "1e21 1.5e-7"),
        ];
        for (slots, text) in cases {
            assert_eq!(series_notation(&slots), text, "{slots:?}");
        }
    }

    /// Expands our notation the way promtool does, to prove it round-trips.
    fn expand(text: &str) -> Vec<Option<f64>> {
        let mut out = Vec::new();
        for part in text.split_whitespace() {
            if part == "_" {
                out.push(None);
            } else if let Some(n) = part.strip_prefix("_x") {
                out.extend(std::iter::repeat_n(None, n.parse().unwrap()));
            } else if let Some((v, n)) = part.split_once("+0x") {
                let v: f64 = v.parse().unwrap();
                out.extend(std::iter::repeat_n(
                    Some(v),
                    n.parse::<usize>().unwrap() + 1,
                ));
            } else {
                out.push(Some(match part {
                    "NaN" => f64::NAN,
                    "+Inf" => f64::INFINITY,
                    "-Inf" => f64::NEG_INFINITY,
                    v => v.parse().unwrap(),
                }));
            }
        }
        out
    }

    proptest::proptest! {
        #[test]
        fn notation_round_trips(slots in proptest::collection::vec(
            proptest::option::of(proptest::prop_oneof![
                Just(1.0f64), Just(-2.5), Just(f64::NAN), Just(f64::NEG_INFINITY), -1e6..1e6f64
            ]), 0..40)) {
            let back = expand(&series_notation(&slots));
            let bits = |v: &[Option<f64>]| v.iter().map(|x| x.map(f64::to_bits)).collect::<Vec<_>>();
            proptest::prop_assert_eq!(bits(&back), bits(&slots));
        }
    }
    use proptest::strategy::Just;

    fn t0() -> SimTime {
        SimTime::parse_rfc3339("2026-11-28T09:00:00Z").unwrap()
    }

    fn latency_run() -> (MetricsStore, AlertEvaluator) {
        let mut store = MetricsStore::new();
        for i in 0..40u64 {
            let v = if (8..20).contains(&i) { 300.0 } else { 120.0 };
            let p = TelemetryPayload::new().with(names::LATENCY_MS, v);
            store
                .record_run("core \"main\"", t0() + SimDuration::from_secs(15 * i), &p)
                .unwrap();
        }
        let mut ev = AlertEvaluator::new(RuleGroup::stage4(), RangeBoundary::Closed, t0()).unwrap();
        ev.advance_to(&store, t0() + SimDuration::from_mins(10))
            .unwrap();
        (store, ev)
    }

    #[test]
    fn unit_test_file_snapshot() {
        let (store, ev) = latency_run();
        let mut b = RuleTestBuilder::new("rules.yml", &RuleGroup::stage4());
        b.add_run(RecordedRun::from_evaluator("latency spike", &store, &ev).unwrap())
            .unwrap();
        insta::assert_snapshot!(b.to_yaml());
    }

    #[test]
    fn unit_test_file_is_yaml_with_expected_alerts() {
        let (store, ev) = latency_run();
        let mut b = RuleTestBuilder::new("rules.yml", &RuleGroup::stage4());
        let extra = [t0() + SimDuration::from_mins(5)];
        b.add_run(RecordedRun {
            scrape_interval: Some(SimDuration::from_secs(15)),
            extra_checks: &extra,
            ..RecordedRun::from_evaluator("latency spike", &store, &ev).unwrap()
        })
        .unwrap();
        let doc: serde_json::Value = serde_norway::from_str(&b.to_yaml()).unwrap();
        assert_eq!(doc["evaluation_interval"], "30s");
        assert_eq!(doc["rule_files"][0], "rules.yml");
        let test = &doc["tests"][0];
        assert_eq!(test["interval"], "15s");
        assert_eq!(
            test["input_series"][0]["series"],
            "bot_core_multi_strategy_latency_ms{schedule=\"core \\\"main\\\"\"}"
        );
        assert_eq!(
            test["input_series"][0]["values"],
            "120+0x7 300+0x11 120+0x19"
        );
        let checks = test["alert_rule_test"].as_array().unwrap();
        // High fires 2m after the 120 s pending start: at 240 s; resolves once the 2m window
        // no longer reaches the last 300 (285 s): at 420 s.
        let firing_at = |t: &str, rule: &str| -> usize {
            checks
                .iter()
                .find(|c| c["eval_time"] == t && c["alertname"] == rule)
                .unwrap_or_else(|| panic!("no check at {t} for {rule}"))["exp_alerts"]
                .as_array()
                .unwrap()
                .len()
        };
        let high = "MultiStrategySchedulerLatencyHigh";
        assert_eq!(firing_at("3m30s", high), 0);
        assert_eq!(firing_at("4m", high), 1);
        assert_eq!(firing_at("6m30s", high), 1);
        assert_eq!(firing_at("7m", high), 0);
        assert_eq!(firing_at("5m", high), 1);
        let alert = checks
            .iter()
            .find(|c| c["eval_time"] == "4m" && c["alertname"] == high)
            .unwrap()["exp_alerts"][0]
            .clone();
        assert_eq!(alert["exp_labels"]["schedule"], "core \"main\"");
        assert_eq!(alert["exp_labels"]["severity"], "warning");
        assert!(alert["exp_labels"].get("alertname").is_none());
        assert_eq!(
            alert["exp_annotations"]["summary"],
            "Scheduler latency above 250 ms on core \"main\""
        );
    }

    #[test]
    fn builder_errors_name_the_run_and_the_problem() {
        let (store, ev) = latency_run();
        let base = RecordedRun::from_evaluator("r", &store, &ev).unwrap();
        let mut b = RuleTestBuilder::new("rules.yml", &RuleGroup::stage4());
        let err = b
            .add_run(RecordedRun {
                scrape_interval: Some(SimDuration::from_secs(20)),
                ..base
            })
            .unwrap_err();
        assert!(matches!(err, RuleTestError::OffGrid { .. }), "{err}");
        assert!(err.to_string().contains("MetricsStore::scraped"));
        let err = b
            .add_run(RecordedRun {
                scrape_interval: Some(SimDuration::from_micros(10)),
                ..base
            })
            .unwrap_err();
        assert!(matches!(err, RuleTestError::BadInterval { .. }), "{err}");

        // Transitions of rules the file's group does not have.
        let mut other = RuleGroup::stage4();
        other.rules.remove(0);
        let err = RuleTestBuilder::new("rules.yml", &other)
            .add_run(base)
            .unwrap_err();
        assert!(matches!(err, RuleTestError::UnknownRule { .. }), "{err}");

        // Transitions computed on another grid.
        let shifted = RecordedRun {
            origin: t0() + SimDuration::from_secs(15),
            ..base
        };
        let err = b.add_run(shifted).unwrap_err();
        assert!(
            matches!(err, RuleTestError::TransitionOffGrid { .. }),
            "{err}"
        );

        let fresh = AlertEvaluator::new(RuleGroup::stage4(), RangeBoundary::Closed, t0()).unwrap();
        let err = RecordedRun::from_evaluator("r", &store, &fresh).unwrap_err();
        assert_eq!(err, RuleTestError::NotEvaluated { run: "r".into() });

        let mut late = AlertEvaluator::new(
            RuleGroup::stage4(),
            RangeBoundary::Closed,
            t0() + SimDuration::from_secs(30),
        )
        .unwrap();
        late.advance_to(&store, t0() + SimDuration::from_mins(5))
            .unwrap();
        let err = b
            .add_run(RecordedRun::from_evaluator("r", &store, &late).unwrap())
            .unwrap_err();
        assert!(
            matches!(err, RuleTestError::SampleBeforeOrigin { .. }),
            "{err}"
        );

        let off = [t0() + SimDuration::from_secs(45)];
        let err = b
            .add_run(RecordedRun {
                extra_checks: &off,
                ..base
            })
            .unwrap_err();
        assert!(matches!(err, RuleTestError::BadCheckTime { .. }), "{err}");
    }
}
