//! The alert evaluator: Prometheus alerting semantics on simulated time.
//!
//! Rules are evaluated on a fixed grid, `origin + k·interval` (30 s for the Stage4 group).
//! At each evaluation, for every series of a rule's metric the range function runs over the
//! samples in the window ending at the evaluation time (closed or left-open start, see
//! [`RangeBoundary`]); a series whose value passes the comparison is "active". Per alert
//! instance (one per label set) the state machine is Prometheus' own:
//!
//! - inactive → **pending** at the first evaluation where the expression holds (`active_at`);
//! - pending → **firing** at the first evaluation where `eval_time − active_at ≥ for`;
//! - pending → dropped when the expression stops holding before that (we log it as
//!   [`TransitionKind::Cleared`]; Prometheus sends nothing);
//! - firing → **resolved** (back to inactive) at the first evaluation where it does not hold;
//!   holding again later starts a new pending period.
//!
//! Alert labels are the series labels plus the rule's `severity`/`team` (rule labels win)
//! plus `alertname`, exactly what Prometheus attaches, so the promtool unit tests built from
//! our transitions ([`super::promtool`]) compare like for like.

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::fmt;

use serde::Serialize;

use crate::domain::SimTime;

use super::metrics::{LabelSet, MetricsStore, RangeBoundary, Series, SeriesKey};
use super::rules::{AlertRule, RuleError, RuleGroup};

/// The label Prometheus puts the rule name in.
pub const ALERTNAME_LABEL: &str = "alertname";

/// Why an evaluation could not be done.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AlertError {
    /// The rule group is not valid.
    #[error(transparent)]
    Rule(#[from] RuleError),
    /// Two series of one rule end up with the same alert labels once the rule's labels are
    /// applied (Prometheus refuses the evaluation the same way).
    #[error(
        "rule `{rule}` at {at}: two series map to the same alert labels {labels} after applying the rule labels"
    )]
    DuplicateAlertLabels {
        /// The rule.
        rule: String,
        /// When.
        at: SimTime,
        /// The colliding alert labels.
        labels: LabelSet,
    },
}

/// The state of one alert instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertState {
    /// The expression holds, `for` has not elapsed yet.
    Pending,
    /// The expression has held for at least `for`.
    Firing,
}

/// What happened to an alert instance at one evaluation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TransitionKind {
    /// The expression started to hold: a new pending alert.
    Pending,
    /// A pending alert reached its `for` duration.
    Firing,
    /// A firing alert's expression stopped holding.
    Resolved,
    /// A pending alert's expression stopped holding before it could fire.
    Cleared,
}

impl TransitionKind {
    /// `pending`, `firing`, `resolved` or `cleared`.
    pub fn as_str(self) -> &'static str {
        match self {
            TransitionKind::Pending => "pending",
            TransitionKind::Firing => "firing",
            TransitionKind::Resolved => "resolved",
            TransitionKind::Cleared => "cleared",
        }
    }
}

impl fmt::Display for TransitionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One state change of one alert instance, for the decision log and reports.
///
/// Serialises as `{at, kind, rule, labels, annotations, value, active_at}` (times in
/// RFC 3339; a non-finite value as `null`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AlertTransition {
    /// The evaluation time.
    pub at: SimTime,
    /// What happened.
    pub kind: TransitionKind,
    /// The rule (`alertname`).
    pub rule: String,
    /// The alert's labels, `alertname`, `severity` and `team` included.
    pub labels: LabelSet,
    /// The annotations as Prometheus expands them.
    pub annotations: LabelSet,
    /// The range function's value at this evaluation; `None` when the window was empty.
    pub value: Option<f64>,
    /// When the current pending period started.
    pub active_at: SimTime,
}

/// An alert instance that is pending or firing.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ActiveAlert {
    /// The rule (`alertname`).
    pub rule: String,
    /// Alert labels, `alertname` included.
    pub labels: LabelSet,
    /// Expanded annotations.
    pub annotations: LabelSet,
    /// Pending or firing.
    pub state: AlertState,
    /// Start of the pending period.
    pub active_at: SimTime,
    /// When it started firing.
    pub fired_at: Option<SimTime>,
    /// The expression value at the last evaluation.
    pub value: f64,
}

/// Evaluates a rule group over a [`MetricsStore`] on a fixed grid of simulated time.
#[derive(Clone, Debug)]
pub struct AlertEvaluator {
    group: RuleGroup,
    boundary: RangeBoundary,
    origin: SimTime,
    next_eval: SimTime,
    last_eval: Option<SimTime>,
    /// Per rule (group order): active instances by alert labels.
    active: Vec<BTreeMap<LabelSet, ActiveAlert>>,
    history: Vec<AlertTransition>,
    /// Per rule (group order): the labels of each series of its metric, in store order, with
    /// the alert labels they give (see [`refresh_alert_labels`]).
    alert_labels: Vec<Vec<(LabelSet, LabelSet)>>,
}

impl AlertEvaluator {
    /// An evaluator whose first evaluation is at `origin`, then every `group.interval`.
    pub fn new(
        group: RuleGroup,
        boundary: RangeBoundary,
        origin: SimTime,
    ) -> Result<AlertEvaluator, AlertError> {
        group.validate()?;
        let active = vec![BTreeMap::new(); group.rules.len()];
        let alert_labels = vec![Vec::new(); group.rules.len()];
        Ok(AlertEvaluator {
            group,
            boundary,
            origin,
            next_eval: origin,
            last_eval: None,
            active,
            history: Vec::new(),
            alert_labels,
        })
    }

    /// The rule group.
    pub fn group(&self) -> &RuleGroup {
        &self.group
    }

    /// The range-boundary semantics in use.
    pub fn boundary(&self) -> RangeBoundary {
        self.boundary
    }

    /// The first grid point.
    pub fn origin(&self) -> SimTime {
        self.origin
    }

    /// The latest evaluation done so far.
    pub fn last_evaluation(&self) -> Option<SimTime> {
        self.last_eval
    }

    /// The next grid point to be evaluated.
    pub fn next_evaluation(&self) -> SimTime {
        self.next_eval
    }

    /// Every transition so far, in evaluation order (rules in group order, instances in
    /// label order within one evaluation).
    pub fn history(&self) -> &[AlertTransition] {
        &self.history
    }

    /// Runs every grid evaluation at or before `now` not yet done, and returns the
    /// transitions they produced. Calling it with an earlier `now` does nothing.
    ///
    /// Only samples at or before each evaluation time are read, so the result does not
    /// depend on how far the store has been filled when this is called.
    pub fn advance_to(
        &mut self,
        store: &MetricsStore,
        now: SimTime,
    ) -> Result<&[AlertTransition], AlertError> {
        let start = self.history.len();
        while self.next_eval <= now {
            let at = self.next_eval;
            self.evaluate(store, at)?;
            self.last_eval = Some(at);
            match at.checked_add(self.group.interval) {
                Some(next) => self.next_eval = next,
                None => {
                    self.next_eval = SimTime::MAX;
                    break;
                }
            }
        }
        Ok(&self.history[start..])
    }

    /// Alerts firing after the last evaluation, rules in group order, then by labels.
    pub fn firing(&self) -> Vec<ActiveAlert> {
        self.in_state(AlertState::Firing)
    }

    /// Alerts pending after the last evaluation.
    pub fn pending(&self) -> Vec<ActiveAlert> {
        self.in_state(AlertState::Pending)
    }

    fn in_state(&self, state: AlertState) -> Vec<ActiveAlert> {
        self.active
            .iter()
            .flat_map(|m| m.values())
            .filter(|a| a.state == state)
            .cloned()
            .collect()
    }

    /// One evaluation of every rule at `at`. Results are computed for all rules before any
    /// state changes, so a refused evaluation leaves the evaluator as it was.
    fn evaluate(&mut self, store: &MetricsStore, at: SimTime) -> Result<(), AlertError> {
        // Each rule's series, looked up once: they are walked twice below.
        let series_by_rule: Vec<Vec<(&SeriesKey, &Series)>> = self
            .group
            .rules
            .iter()
            .map(|rule| store.series_of(&rule.metric).collect())
            .collect();
        for ((rule, series), cache) in self
            .group
            .rules
            .iter()
            .zip(&series_by_rule)
            .zip(self.alert_labels.iter_mut())
        {
            refresh_alert_labels(rule, series, cache);
        }
        let mut outcomes: Vec<BTreeMap<&LabelSet, Outcome>> =
            Vec::with_capacity(self.group.rules.len());
        for ((rule, series), cache) in self
            .group
            .rules
            .iter()
            .zip(&series_by_rule)
            .zip(&self.alert_labels)
        {
            let mut by_alert = BTreeMap::new();
            for (&(key, series), (_, labels)) in series.iter().zip(cache) {
                let value = rule
                    .function
                    .apply(series.window(at, rule.window, self.boundary));
                let holds = value.is_some_and(|v| rule.comparator.holds(v, rule.threshold));
                let outcome = Outcome {
                    value,
                    holds,
                    series_labels: &key.labels,
                };
                add_outcome(&mut by_alert, labels, outcome, rule, at)?;
            }
            outcomes.push(by_alert);
        }

        for ((rule, active), outcome) in self
            .group
            .rules
            .iter()
            .zip(self.active.iter_mut())
            .zip(outcomes)
        {
            // Every instance active before or with a result now, in label order: a merge of
            // the two ordered maps. The active map is rebuilt as the walk goes.
            let mut before = std::mem::take(active).into_iter().peekable();
            let mut results = outcome.into_iter().peekable();
            loop {
                let (existing, result) = match (before.peek(), results.peek()) {
                    (None, None) => break,
                    (Some(_), None) => (before.next(), None),
                    (None, Some(_)) => (None, results.next()),
                    (Some((a, _)), Some((r, _))) => match a.cmp(r) {
                        Ordering::Less => (before.next(), None),
                        Ordering::Greater => (None, results.next()),
                        Ordering::Equal => (before.next(), results.next()),
                    },
                };
                let value = result.as_ref().and_then(|(_, o)| o.value);
                let transition = |kind, alert: &ActiveAlert| AlertTransition {
                    at,
                    kind,
                    rule: rule.name.clone(),
                    labels: alert.labels.clone(),
                    annotations: alert.annotations.clone(),
                    value,
                    active_at: alert.active_at,
                };
                match (result.filter(|(_, o)| o.holds), existing) {
                    (Some((labels, o)), existing) => {
                        let v = o.value.expect("a holding expression has a value");
                        let (labels, mut alert) = match existing {
                            Some((labels, mut alert)) => {
                                alert.value = v;
                                rule.annotate_into(o.series_labels, &mut alert.annotations);
                                (labels, alert)
                            }
                            None => {
                                let alert = ActiveAlert {
                                    rule: rule.name.clone(),
                                    labels: labels.clone(),
                                    annotations: rule.annotations(o.series_labels),
                                    state: AlertState::Pending,
                                    active_at: at,
                                    fired_at: None,
                                    value: v,
                                };
                                self.history
                                    .push(transition(TransitionKind::Pending, &alert));
                                (labels.clone(), alert)
                            }
                        };
                        if alert.state == AlertState::Pending
                            && at.saturating_since(alert.active_at) >= rule.hold
                        {
                            alert.state = AlertState::Firing;
                            alert.fired_at = Some(at);
                            self.history
                                .push(transition(TransitionKind::Firing, &alert));
                        }
                        active.insert(labels, alert);
                    }
                    (None, Some((_, alert))) => {
                        let kind = match alert.state {
                            AlertState::Pending => TransitionKind::Cleared,
                            AlertState::Firing => TransitionKind::Resolved,
                        };
                        self.history.push(transition(kind, &alert));
                    }
                    (None, None) => {}
                }
            }
        }
        Ok(())
    }
}

/// One series' result for a rule at an evaluation, keyed in its rule's map by alert labels.
struct Outcome<'s> {
    value: Option<f64>,
    holds: bool,
    series_labels: &'s LabelSet,
}

/// Files `outcome` under its alert `labels`. Only series in the result vector collide in
/// Prometheus: a holding series wins over one that does not hold, two holding ones are an
/// error.
fn add_outcome<'s, K: Ord + Borrow<LabelSet>>(
    by_alert: &mut BTreeMap<K, Outcome<'s>>,
    labels: K,
    outcome: Outcome<'s>,
    rule: &AlertRule,
    at: SimTime,
) -> Result<(), AlertError> {
    match by_alert.entry(labels) {
        Entry::Vacant(slot) => {
            slot.insert(outcome);
        }
        Entry::Occupied(mut slot) => {
            if slot.get().holds && outcome.holds {
                return Err(AlertError::DuplicateAlertLabels {
                    rule: rule.name.clone(),
                    at,
                    labels: slot.key().borrow().clone(),
                });
            }
            if !slot.get().holds {
                slot.insert(outcome);
            }
        }
    }
    Ok(())
}

/// Brings `cache` in line with `series`, the series of `rule`'s metric: entry `i` holds the
/// labels of the `i`-th series and the alert labels they give (the series labels, the rule's
/// own, `alertname`). Series only ever join a store, so once warm every entry is confirmed by
/// one label comparison instead of being rebuilt at every evaluation.
fn refresh_alert_labels(
    rule: &AlertRule,
    series: &[(&SeriesKey, &Series)],
    cache: &mut Vec<(LabelSet, LabelSet)>,
) {
    let mut count = 0;
    for (i, (key, _)) in series.iter().enumerate() {
        count = i + 1;
        if cache
            .get(i)
            .is_some_and(|(series, _)| *series == key.labels)
        {
            continue;
        }
        let mut labels = key.labels.clone();
        for (name, v) in rule.labels().iter() {
            labels.insert_trusted(name, v);
        }
        labels.insert_trusted(ALERTNAME_LABEL, &rule.name);
        let entry = (key.labels.clone(), labels);
        match cache.get_mut(i) {
            Some(slot) => *slot = entry,
            None => cache.push(entry),
        }
    }
    cache.truncate(count);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::SimDuration;
    use crate::telemetry::metrics::{MetricName, TelemetryPayload, names};
    use crate::telemetry::rules::{AlertRule, Comparator, RangeFunction, Severity};
    use proptest::prelude::*;
    use std::borrow::Cow;

    fn t0() -> SimTime {
        SimTime::parse_rfc3339("2026-11-28T09:00:00Z").unwrap()
    }

    fn at(secs: u64) -> SimTime {
        t0() + SimDuration::from_secs(secs)
    }

    /// A one-rule group: `max_over_time(latency_ms[window]) > 250` for `hold`.
    fn group(window_s: u64, hold_s: u64) -> RuleGroup {
        RuleGroup {
            name: "g".into(),
            interval: SimDuration::from_secs(30),
            rules: vec![AlertRule {
                name: "Slow".into(),
                function: RangeFunction::MaxOverTime,
                metric: MetricName::namespaced(names::LATENCY_MS).unwrap(),
                window: SimDuration::from_secs(window_s),
                comparator: Comparator::Greater,
                threshold: 250.0,
                hold: SimDuration::from_secs(hold_s),
                severity: Severity::Warning,
                team: "trading-ops".into(),
                summary: "slow {{ $labels.schedule }}".into(),
                description: "d".into(),
            }],
        }
    }

    fn store(points: &[(&str, u64, f64)]) -> MetricsStore {
        let mut s = MetricsStore::new();
        for &(sched, secs, v) in points {
            s.record_run(
                sched,
                at(secs),
                &TelemetryPayload::new().with(names::LATENCY_MS, v),
            )
            .unwrap();
        }
        s
    }

    fn log(ev: &AlertEvaluator) -> Vec<(u64, &'static str, String)> {
        ev.history()
            .iter()
            .map(|t| {
                (
                    t.at.saturating_since(t0()).as_secs(),
                    t.kind.as_str(),
                    t.labels.get("schedule").unwrap_or("").to_owned(),
                )
            })
            .collect()
    }

    fn run(g: RuleGroup, b: RangeBoundary, s: &MetricsStore, until: u64) -> AlertEvaluator {
        let mut ev = AlertEvaluator::new(g, b, t0()).unwrap();
        ev.advance_to(s, at(until)).unwrap();
        ev
    }

    /// The evaluation as first written (alert labels rebuilt per series, instance keys
    /// copied and sorted): the oracle for the cached, merging one.
    fn evaluate_reference(
        this: &mut AlertEvaluator,
        store: &MetricsStore,
        at: SimTime,
    ) -> Result<(), AlertError> {
        let mut outcomes: Vec<BTreeMap<LabelSet, Outcome>> =
            Vec::with_capacity(this.group.rules.len());
        for rule in &this.group.rules {
            let mut by_alert = BTreeMap::new();
            let rule_labels = rule.labels();
            for (key, series) in store.series_of(&rule.metric) {
                let value = rule
                    .function
                    .apply(series.window(at, rule.window, this.boundary));
                let holds = value.is_some_and(|v| rule.comparator.holds(v, rule.threshold));
                let mut labels = key.labels.clone();
                for (name, v) in rule_labels.iter() {
                    labels.insert_trusted(name, v);
                }
                labels.insert_trusted(ALERTNAME_LABEL, &rule.name);
                let outcome = Outcome {
                    value,
                    holds,
                    series_labels: &key.labels,
                };
                add_outcome(&mut by_alert, labels, outcome, rule, at)?;
            }
            outcomes.push(by_alert);
        }

        for ((rule, active), outcome) in this
            .group
            .rules
            .iter()
            .zip(this.active.iter_mut())
            .zip(outcomes)
        {
            // Active alerts change in the loop, so their labels are copied; the outcome's are
            // only borrowed.
            let mut keys: Vec<Cow<'_, LabelSet>> = active.keys().cloned().map(Cow::Owned).collect();
            keys.extend(
                outcome
                    .keys()
                    .filter(|k| !active.contains_key(*k))
                    .map(Cow::Borrowed),
            );
            keys.sort();
            for labels in keys {
                let labels: &LabelSet = &labels;
                let result = outcome.get(labels);
                let value = result.and_then(|o| o.value);
                let transition = |kind, alert: &ActiveAlert| AlertTransition {
                    at,
                    kind,
                    rule: rule.name.clone(),
                    labels: alert.labels.clone(),
                    annotations: alert.annotations.clone(),
                    value,
                    active_at: alert.active_at,
                };
                match (result.filter(|o| o.holds), active.get_mut(labels)) {
                    (Some(o), existing) => {
                        let v = o.value.expect("a holding expression has a value");
                        let alert = match existing {
                            Some(alert) => {
                                alert.value = v;
                                rule.annotate_into(o.series_labels, &mut alert.annotations);
                                alert
                            }
                            None => {
                                let alert = ActiveAlert {
                                    rule: rule.name.clone(),
                                    labels: labels.clone(),
                                    annotations: rule.annotations(o.series_labels),
                                    state: AlertState::Pending,
                                    active_at: at,
                                    fired_at: None,
                                    value: v,
                                };
                                this.history
                                    .push(transition(TransitionKind::Pending, &alert));
                                active.entry(labels.clone()).or_insert(alert)
                            }
                        };
                        if alert.state == AlertState::Pending
                            && at.saturating_since(alert.active_at) >= rule.hold
                        {
                            alert.state = AlertState::Firing;
                            alert.fired_at = Some(at);
                            this.history.push(transition(TransitionKind::Firing, alert));
                        }
                    }
                    (None, Some(alert)) => {
                        let kind = match alert.state {
                            AlertState::Pending => TransitionKind::Cleared,
                            AlertState::Firing => TransitionKind::Resolved,
                        };
                        this.history.push(transition(kind, alert));
                        active.remove(labels);
                    }
                    (None, None) => {}
                }
            }
        }
        Ok(())
    }

    /// [`AlertEvaluator::advance_to`] over [`evaluate_reference`].
    fn advance_reference(
        this: &mut AlertEvaluator,
        store: &MetricsStore,
        now: SimTime,
    ) -> Result<Vec<AlertTransition>, AlertError> {
        let start = this.history.len();
        while this.next_eval <= now {
            let at = this.next_eval;
            evaluate_reference(this, store, at)?;
            this.last_eval = Some(at);
            this.next_eval = at + this.group.interval;
        }
        Ok(this.history[start..].to_vec())
    }

    proptest! {
        /// Cached alert labels and the merge walk change nothing: series joining mid-run,
        /// colliding alert labels (a series `severity` or `team` the rule overrides), NaN
        /// values and two rules on one metric give the same transitions, errors and active
        /// instances as the original evaluation.
        #[test]
        fn evaluation_matches_the_original(
            steps in proptest::collection::vec(
                (0usize..5, 0u64..40, prop_oneof![6 => 0.0..500.0f64, 1 => Just(f64::NAN)], any::<bool>()),
                1..80,
            ),
            window in 10u64..200,
            hold in 0u64..150,
        ) {
            let pool: [&[(&str, &str)]; 5] = [
                &[("schedule", "a")],
                &[("schedule", "b")],
                &[("schedule", "a"), ("severity", "x")],
                &[("schedule", "b"), ("team", "z")],
                &[("schedule", "c")],
            ];
            let mut g = group(window, hold);
            let mut low = g.rules[0].clone();
            low.name = "Quiet".into();
            low.function = RangeFunction::MinOverTime;
            low.comparator = Comparator::Less;
            low.threshold = 200.0;
            low.hold = SimDuration::from_secs(hold / 2);
            low.description = "quiet {{ $labels.team }}".into();
            g.rules.push(low);
            let name = MetricName::namespaced(names::LATENCY_MS).unwrap();
            let mut s = MetricsStore::new();
            let mut fast = AlertEvaluator::new(g.clone(), RangeBoundary::Closed, t0()).unwrap();
            let mut slow = AlertEvaluator::new(g, RangeBoundary::Closed, t0()).unwrap();
            let mut secs = 0;
            for (n, (series, dt, value, advance)) in steps.into_iter().enumerate() {
                secs += dt;
                let labels = LabelSet::from_pairs(pool[series].iter().copied()).unwrap();
                s.record(&name, &labels, at(secs), value).unwrap();
                if advance {
                    let got = fast.advance_to(&s, at(secs)).map(<[AlertTransition]>::to_vec);
                    let want = advance_reference(&mut slow, &s, at(secs));
                    // Compared as text: a NaN value is equal to itself there.
                    prop_assert_eq!(format!("{got:?}"), format!("{want:?}"), "step {}", n);
                    if got.is_err() {
                        // Both refused and stay where they were; later samples cannot undo
                        // the collision, so the rest of the run says nothing new.
                        break;
                    }
                    prop_assert_eq!(
                        format!("{:?}", fast.history()),
                        format!("{:?}", slow.history()),
                        "step {}",
                        n
                    );
                    prop_assert_eq!(
                        format!("{:?}", fast.active),
                        format!("{:?}", slow.active),
                        "step {}",
                        n
                    );
                    prop_assert_eq!(fast.last_evaluation(), slow.last_evaluation());
                }
            }
        }
    }

    #[test]
    fn pending_fires_exactly_at_for_then_resolves() {
        // Samples every 30 s; high from 60 s to 210 s.
        let points: Vec<(&str, u64, f64)> = (0..=12)
            .map(|i| {
                (
                    "a",
                    i * 30,
                    if (2..=7).contains(&i) { 300.0 } else { 100.0 },
                )
            })
            .collect();
        // Window 30 s, hold 60 s, closed boundary: at t the window holds samples t−30 and t.
        let ev = run(group(30, 60), RangeBoundary::Closed, &store(&points), 360);
        assert_eq!(
            log(&ev),
            [
                (60, "pending", "a".into()),
                (120, "firing", "a".into()),
                // At 240 the window [210, 240] still holds the 300 at 210.
                (270, "resolved", "a".into()),
            ]
        );
        // Left-open: the 300 at 210 leaves the window (210, 240] at 240.
        let ev = run(group(30, 60), RangeBoundary::LeftOpen, &store(&points), 360);
        assert_eq!(
            log(&ev),
            [
                (60, "pending", "a".into()),
                (120, "firing", "a".into()),
                (240, "resolved", "a".into()),
            ]
        );
    }

    #[test]
    fn pending_never_fires_before_for_and_clears_silently() {
        // High for 60 s only: pending at 30, still pending at 60 (30 s < 90 s), cleared at 90.
        let points = [
            ("a", 0, 100.0),
            ("a", 30, 300.0),
            ("a", 60, 300.0),
            ("a", 90, 100.0),
        ];
        let mut ev = AlertEvaluator::new(group(1, 90), RangeBoundary::Closed, t0()).unwrap();
        let s = store(&points);
        ev.advance_to(&s, at(60)).unwrap();
        assert!(ev.firing().is_empty());
        assert_eq!(ev.pending().len(), 1);
        ev.advance_to(&s, at(120)).unwrap();
        assert_eq!(
            log(&ev),
            [(30, "pending", "a".into()), (90, "cleared", "a".into())]
        );
        assert!(ev.pending().is_empty());
    }

    #[test]
    fn refires_only_after_a_new_pending_period() {
        let v = [100.0, 300.0, 300.0, 300.0, 100.0, 300.0, 300.0, 300.0];
        let points: Vec<(&str, u64, f64)> = v
            .iter()
            .enumerate()
            .map(|(i, &x)| ("a", 30 * i as u64, x))
            .collect();
        let ev = run(group(1, 60), RangeBoundary::Closed, &store(&points), 210);
        assert_eq!(
            log(&ev),
            [
                (30, "pending", "a".into()),
                (90, "firing", "a".into()),
                (120, "resolved", "a".into()),
                (150, "pending", "a".into()),
                (210, "firing", "a".into()),
            ]
        );
        let firing = ev.firing();
        assert_eq!(firing.len(), 1);
        assert_eq!(firing[0].active_at, at(150));
        assert_eq!(firing[0].fired_at, Some(at(210)));
    }

    #[test]
    fn a_hold_that_is_not_a_multiple_of_the_interval_fires_on_the_next_grid_point() {
        let points: Vec<(&str, u64, f64)> = (0..6).map(|i| ("a", 30 * i, 300.0)).collect();
        let ev = run(group(1, 45), RangeBoundary::Closed, &store(&points), 150);
        assert_eq!(
            log(&ev),
            [(0, "pending", "a".into()), (60, "firing", "a".into())]
        );
        // A zero hold fires at the same evaluation it becomes pending.
        let ev = run(group(1, 0), RangeBoundary::Closed, &store(&points), 0);
        assert_eq!(
            log(&ev),
            [(0, "pending", "a".into()), (0, "firing", "a".into())]
        );
    }

    #[test]
    fn series_are_independent() {
        let mut points = Vec::new();
        for i in 0..10u64 {
            points.push(("a", 30 * i, if i >= 2 { 300.0 } else { 100.0 }));
            points.push(("b", 30 * i, if i >= 5 { 300.0 } else { 100.0 }));
            points.push(("c", 30 * i, 100.0));
        }
        let ev = run(group(1, 60), RangeBoundary::Closed, &store(&points), 270);
        assert_eq!(
            log(&ev),
            [
                (60, "pending", "a".into()),
                (120, "firing", "a".into()),
                (150, "pending", "b".into()),
                (210, "firing", "b".into()),
            ]
        );
        let firing = ev.firing();
        let labels: Vec<String> = firing.iter().map(|a| a.labels.to_string()).collect();
        assert_eq!(
            labels,
            [
                "{alertname=\"Slow\",schedule=\"a\",severity=\"warning\",team=\"trading-ops\"}",
                "{alertname=\"Slow\",schedule=\"b\",severity=\"warning\",team=\"trading-ops\"}",
            ]
        );
        assert_eq!(firing[1].annotations.get("summary"), Some("slow b"));
    }

    #[test]
    fn an_empty_window_resolves_and_missing_data_never_fires() {
        // Samples stop at 90 s: with a 30 s window the series has no value from 150 s on.
        let points = [
            ("a", 0, 300.0),
            ("a", 30, 300.0),
            ("a", 60, 300.0),
            ("a", 90, 300.0),
        ];
        let ev = run(group(30, 60), RangeBoundary::Closed, &store(&points), 200);
        let kinds: Vec<(u64, &str)> = ev
            .history()
            .iter()
            .map(|t| (t.at.saturating_since(t0()).as_secs(), t.kind.as_str()))
            .collect();
        assert_eq!(kinds, [(0, "pending"), (60, "firing"), (150, "resolved")]);
        assert_eq!(ev.history()[2].value, None);
        assert_eq!(ev.history()[1].value, Some(300.0));
    }

    #[test]
    fn advancing_is_idempotent_and_reads_no_future_samples() {
        let points: Vec<(&str, u64, f64)> = (0..20)
            .map(|i| ("a", 15 * i, if i % 7 < 4 { 300.0 } else { 10.0 }))
            .collect();
        let full = store(&points);
        let all_at_once = run(group(60, 60), RangeBoundary::Closed, &full, 300);
        // Feed the store incrementally, advancing as samples arrive.
        let mut partial = MetricsStore::new();
        let mut ev = AlertEvaluator::new(group(60, 60), RangeBoundary::Closed, t0()).unwrap();
        for &(sched, secs, v) in &points {
            ev.advance_to(
                &partial,
                at(secs).checked_sub(SimDuration::from_nanos(1)).unwrap(),
            )
            .unwrap();
            partial
                .record_run(
                    sched,
                    at(secs),
                    &TelemetryPayload::new().with(names::LATENCY_MS, v),
                )
                .unwrap();
        }
        ev.advance_to(&partial, at(300)).unwrap();
        ev.advance_to(&partial, at(100)).unwrap();
        assert_eq!(ev.history(), all_at_once.history());
        assert_eq!(ev.last_evaluation(), Some(at(300)));
        assert_eq!(ev.next_evaluation(), at(330));
    }

    #[test]
    fn colliding_alert_labels_are_refused() {
        let mut s = MetricsStore::new();
        let name = MetricName::namespaced(names::LATENCY_MS).unwrap();
        for sev in ["x", "y"] {
            let labels = LabelSet::from_pairs([("schedule", "a"), ("severity", sev)]).unwrap();
            s.record(&name, &labels, t0(), 300.0).unwrap();
        }
        let mut ev = AlertEvaluator::new(group(30, 0), RangeBoundary::Closed, t0()).unwrap();
        let err = ev.advance_to(&s, t0()).unwrap_err();
        assert!(
            matches!(err, AlertError::DuplicateAlertLabels { .. }),
            "{err}"
        );
        assert_eq!(ev.last_evaluation(), None);
        assert!(ev.history().is_empty());
    }

    #[test]
    fn the_stage4_group_validates_and_evaluates() {
        let mut ev = AlertEvaluator::new(RuleGroup::stage4(), RangeBoundary::Closed, t0()).unwrap();
        let mut s = MetricsStore::new();
        for i in 0..20u64 {
            let p = TelemetryPayload::new()
                .with(names::LATENCY_MS, 400.0)
                .with(names::PNL_DRAWDOWN_PCT, -1.0);
            s.record_run("core", at(15 * i), &p).unwrap();
        }
        ev.advance_to(&s, at(285)).unwrap();
        let firing: Vec<String> = ev.firing().into_iter().map(|a| a.rule).collect();
        assert_eq!(
            firing,
            [
                "MultiStrategySchedulerLatencyHigh",
                "MultiStrategySchedulerLatencyCritical"
            ]
        );
        let json = serde_json::to_value(&ev.history()[0]).unwrap();
        assert_eq!(json["kind"], "pending");
        assert_eq!(json["at"], "2026-11-28T09:00:00Z");
        assert_eq!(json["labels"]["schedule"], "core");
        assert_eq!(
            json["labels"]["alertname"],
            "MultiStrategySchedulerLatencyHigh"
        );
        assert_eq!(json["value"], 400.0);
    }

    /// The condition of the one-rule group at `t`, computed naively from the raw points.
    fn holds_naive(points: &[(u64, f64)], t: u64, window: u64, closed: bool) -> bool {
        let inside: Vec<f64> = points
            .iter()
            .filter(|&&(s, _)| {
                s <= t
                    && if closed {
                        s + window >= t
                    } else {
                        s + window > t
                    }
            })
            .map(|&(_, v)| v)
            .collect();
        // max_over_time ignoring NaN unless all are NaN.
        let max = inside
            .iter()
            .copied()
            .filter(|v| !v.is_nan())
            .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))));
        max.is_some_and(|m| m > 250.0)
    }

    proptest! {
        /// Firing at an evaluation ⇔ the condition held at every evaluation from the last
        /// grid point at or before `t − for` up to `t` (so over the whole `for` interval).
        #[test]
        fn firing_iff_the_condition_held_for_the_whole_hold(
            raw in proptest::collection::vec((0u64..4, prop_oneof![3 => 0.0..500.0f64, 1 => Just(f64::NAN)]), 1..60),
            window_steps in 1u64..8,
            hold_steps in 0u64..10,
            hold_extra in 0u64..30,
            closed in any::<bool>(),
        ) {
            // Samples every 15 s, some missing (gap code 0).
            let mut points = Vec::new();
            for (i, (gap, v)) in raw.iter().enumerate() {
                if *gap != 0 {
                    points.push((15 * i as u64, *v));
                }
            }
            let window = 15 * window_steps;
            let hold = 30 * hold_steps + hold_extra;
            let boundary = if closed { RangeBoundary::Closed } else { RangeBoundary::LeftOpen };
            let end = 15 * raw.len() as u64 + 120;
            let mut s = MetricsStore::new();
            for &(secs, v) in &points {
                s.record_run("a", at(secs), &TelemetryPayload::new().with(names::LATENCY_MS, v)).unwrap();
            }
            let mut ev = AlertEvaluator::new(group(window, hold), boundary, t0()).unwrap();
            let mut eval = 0;
            while eval <= end {
                ev.advance_to(&s, at(eval)).unwrap();
                let firing = !ev.firing().is_empty();
                let pending = !ev.pending().is_empty();
                let holds = holds_naive(&points, eval, window, closed);
                // Last grid point at or before eval − hold.
                let expected_firing = eval >= hold && {
                    let from = (eval - hold) / 30 * 30;
                    (from..=eval).step_by(30).all(|e| holds_naive(&points, e, window, closed))
                };
                prop_assert_eq!(firing, expected_firing, "eval {}", eval);
                prop_assert_eq!(firing || pending, holds, "eval {}", eval);
                eval += 30;
            }
        }
    }
}
