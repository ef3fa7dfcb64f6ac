//! Expectations → verdicts, each with what was expected and what was observed, so a failed
//! drill says what happened instead of just "fail".

use serde::Serialize;
use serde_json::{Value, json};
use stage4_engine::decision_log::{VerifyOptions, verify_log};
use stage4_engine::domain::{SimDuration, SimTime};
use stage4_engine::telemetry::{AlertTransition, TransitionKind};

use super::plan::{Check, Expectation};
use super::runner::RunOutcome;
use crate::escalation::{Escalation, highest_level_by};

/// The verdict on one expectation.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Verdict {
    /// 1-based position in the file.
    pub index: usize,
    /// Kind of check (`alert_fires`, `audit_status`, ...).
    pub kind: &'static str,
    /// What was checked, for people.
    pub description: String,
    /// Whether it held.
    pub passed: bool,
    /// What was expected.
    pub expected: Value,
    /// What was observed.
    pub observed: Value,
    /// One line explaining the verdict.
    pub detail: String,
}

fn offset(outcome: &RunOutcome, t: SimTime) -> String {
    outcome.plan.offset(t)
}

fn matching<'a>(
    outcome: &'a RunOutcome,
    alert: &'a str,
    schedule: &'a Option<String>,
) -> impl Iterator<Item = &'a AlertTransition> + 'a {
    outcome.observations.alerts.iter().filter(move |t| {
        t.rule == alert
            && schedule
                .as_deref()
                .is_none_or(|s| t.labels.get("schedule") == Some(s))
    })
}

/// Evaluates every expectation of the plan against a finished run.
pub fn evaluate(outcome: &RunOutcome, escalations: &[Escalation]) -> Vec<Verdict> {
    outcome
        .plan
        .expectations
        .iter()
        .map(|e| verdict(outcome, escalations, e))
        .collect()
}

fn verdict(outcome: &RunOutcome, escalations: &[Escalation], e: &Expectation) -> Verdict {
    let obs = &outcome.observations;
    let (kind, passed, expected, observed, detail): (&'static str, bool, Value, Value, String) =
        match &e.check {
            Check::AlertFires {
                alert,
                after,
                within,
                schedule,
            } => {
                let from = after.unwrap_or(outcome.plan.start);
                let fired = matching(outcome, alert, schedule)
                    .find(|t| t.kind == TransitionKind::Firing && t.at >= from);
                let deadline = within.map(|w| from + w);
                let passed = fired.is_some_and(|t| deadline.is_none_or(|d| t.at <= d));
                let observed = fired.map_or(Value::Null, |t| json!({"fired_at": offset(outcome, t.at), "after_fault": t.at.saturating_since(from).to_string()}));
                let detail = match (fired, deadline) {
                    (None, _) => format!("{alert} never fired"),
                    (Some(t), Some(d)) if t.at > d => format!(
                        "fired at {}, {} late",
                        offset(outcome, t.at),
                        t.at.saturating_since(d)
                    ),
                    (Some(t), _) => format!("fired at {}", offset(outcome, t.at)),
                };
                (
                    "alert_fires",
                    passed,
                    json!({"alert": alert, "within": within.map(|w| w.to_string())}),
                    observed,
                    detail,
                )
            }
            Check::AlertClears {
                alert,
                after,
                within,
                schedule,
            } => {
                let deadline = *after + *within;
                let last_fire = matching(outcome, alert, schedule)
                    .filter(|t| t.kind == TransitionKind::Firing && t.at <= deadline)
                    .last();
                let resolved = last_fire.and_then(|f| {
                    matching(outcome, alert, schedule).find(|t| {
                        t.kind == TransitionKind::Resolved && t.at > f.at && t.labels == f.labels
                    })
                });
                let passed = last_fire.is_some() && resolved.is_some_and(|r| r.at <= deadline);
                let detail = match (last_fire, resolved) {
                    (None, _) => format!("{alert} never fired, so it cannot clear"),
                    (Some(_), None) => format!("{alert} was still firing at the end"),
                    (Some(_), Some(r)) if r.at > deadline => format!(
                        "cleared at {}, {} late",
                        offset(outcome, r.at),
                        r.at.saturating_since(deadline)
                    ),
                    (Some(_), Some(r)) => format!("cleared at {}", offset(outcome, r.at)),
                };
                let observed = resolved.map_or(Value::Null, |r| json!({"cleared_at": offset(outcome, r.at), "after_fault_end": r.at.saturating_since(*after).to_string()}));
                (
                    "alert_clears",
                    passed,
                    json!({"alert": alert, "within": within.to_string()}),
                    observed,
                    detail,
                )
            }
            Check::AlertNeverFires { alert, schedule } => {
                let fired =
                    matching(outcome, alert, schedule).find(|t| t.kind == TransitionKind::Firing);
                let detail = match fired {
                    Some(t) => format!("fired at {}", offset(outcome, t.at)),
                    None => "never fired".to_owned(),
                };
                (
                    "alert_never_fires",
                    fired.is_none(),
                    json!({"alert": alert, "fires": false}),
                    json!({"fired_at": fired.map(|t| offset(outcome, t.at))}),
                    detail,
                )
            }
            Check::AuditStatus {
                action,
                status,
                warnings_include,
                issues_include,
            } => match obs.actions.iter().find(|a| a.index == *action) {
                None => (
                    "audit_status",
                    false,
                    json!({"status": status}),
                    Value::Null,
                    format!("action {action} did not run"),
                ),
                Some(result) => {
                    let missing_w: Vec<&String> = warnings_include
                        .iter()
                        .filter(|w| !result.warnings.contains(w))
                        .collect();
                    let missing_i: Vec<&String> = issues_include
                        .iter()
                        .filter(|w| !result.issues.contains(w))
                        .collect();
                    let status_ok = status.as_ref().is_none_or(|s| *s == result.status);
                    let passed = status_ok && missing_w.is_empty() && missing_i.is_empty();
                    // Audits are judged by their findings; other actions (a load test, an
                    // incident step) by their status, and their own detail says why.
                    let is_audit = result.audit_status.is_some();
                    let mut detail = if is_audit {
                        format!(
                            "status {} with {} issue(s), {} warning(s)",
                            result.status,
                            result.issues.len(),
                            result.warnings.len()
                        )
                    } else {
                        format!("status {}: {}", result.status, result.detail)
                    };
                    if !missing_w.is_empty() {
                        detail.push_str(&format!("; missing warnings {missing_w:?}"));
                    }
                    if !missing_i.is_empty() {
                        detail.push_str(&format!("; missing issues {missing_i:?}"));
                    }
                    if is_audit {
                        (
                            "audit_status",
                            passed,
                            json!({"status": status, "warnings_include": warnings_include, "issues_include": issues_include}),
                            json!({"status": result.status, "warnings": result.warnings, "issues": result.issues}),
                            detail,
                        )
                    } else {
                        (
                            "action_status",
                            passed,
                            json!({"status": status}),
                            json!({"status": result.status, "action": result.name}),
                            detail,
                        )
                    }
                }
            },
            Check::NoOrdersBetween { from, to, schedule } => {
                let inside: Vec<_> = obs
                    .orders
                    .iter()
                    .filter(|o| {
                        o.at >= *from
                            && o.at < *to
                            && schedule.as_ref().is_none_or(|s| *s == o.schedule)
                    })
                    .collect();
                let detail = match inside.first() {
                    None => format!(
                        "no order between {} and {}",
                        offset(outcome, *from),
                        offset(outcome, *to)
                    ),
                    Some(o) => format!(
                        "{} order(s), the first at {} ({})",
                        inside.len(),
                        offset(outcome, o.at),
                        o.schedule
                    ),
                };
                (
                    "no_orders_between",
                    inside.is_empty(),
                    json!({"from": offset(outcome, *from), "to": offset(outcome, *to), "orders": 0}),
                    json!({"orders": inside.len()}),
                    detail,
                )
            }
            Check::OrdersAfter { from, schedule } => {
                let after: Vec<_> = obs
                    .orders
                    .iter()
                    .filter(|o| o.at >= *from && schedule.as_ref().is_none_or(|s| *s == o.schedule))
                    .collect();
                let detail = match after.first() {
                    None => format!("no order after {}", offset(outcome, *from)),
                    Some(o) => format!(
                        "{} order(s), the first at {}",
                        after.len(),
                        offset(outcome, o.at)
                    ),
                };
                (
                    "orders_after",
                    !after.is_empty(),
                    json!({"after": offset(outcome, *from), "orders": "≥ 1"}),
                    json!({"orders": after.len()}),
                    detail,
                )
            }
            Check::EscalationReached { level, after, by } => {
                let reached = highest_level_by(escalations, *by);
                let first = escalations.iter().find(|x| x.level >= *level).map(|x| x.at);
                let passed = reached.is_some_and(|r| r >= *level)
                    && after.is_none_or(|a| first.is_some_and(|f| f >= a));
                let detail = match (reached, first) {
                    (None, _) => format!("no escalation by {}", offset(outcome, *by)),
                    (Some(r), Some(t)) => format!(
                        "highest level by {} is {r}; {level} reached at {}",
                        offset(outcome, *by),
                        offset(outcome, t)
                    ),
                    (Some(r), None) => format!(
                        "highest level by {} is {r}; {level} never reached",
                        offset(outcome, *by)
                    ),
                };
                (
                    "escalation_reached",
                    passed,
                    json!({"level": level.as_str(), "after": after.map(|a| offset(outcome, a)), "by": offset(outcome, *by)}),
                    json!({"highest": reached.map(|r| r.as_str()), "first_reached_at": first.map(|t| offset(outcome, t))}),
                    detail,
                )
            }
            Check::DecisionLogVerifies => {
                let (reports, summary) = verify_log(
                    &outcome.decision_log,
                    VerifyOptions {
                        key: Some(outcome.log_key.clone()),
                        require_key_id: true,
                        require_seal: true,
                        ..VerifyOptions::default()
                    },
                );
                let bad = reports.iter().filter(|r| !r.problems.is_empty()).count();
                let passed = bad == 0 && summary.log_problems.is_empty() && summary.sealed;
                (
                    "decision_log_verifies",
                    passed,
                    json!({"bad_lines": 0, "sealed": true}),
                    json!({"entries": summary.entries, "bad_lines": bad, "sealed": summary.sealed, "chained": summary.chained}),
                    format!(
                        "{} entries, {bad} bad line(s), sealed: {}",
                        summary.entries, summary.sealed
                    ),
                )
            }
            Check::Pnl { above, below } => {
                let pnl = round2(outcome.final_pnl);
                let passed = above.is_none_or(|a| pnl > a) && below.is_none_or(|b| pnl < b);
                (
                    "pnl_within",
                    passed,
                    json!({"above": above, "below": below}),
                    json!({"pnl": pnl}),
                    format!("final PnL {pnl}"),
                )
            }
            Check::DrawdownAbove { bound } => {
                let worst = obs
                    .drawdown
                    .points
                    .iter()
                    .map(|p| p.1)
                    .fold(0.0_f64, f64::min);
                let worst = round2(worst);
                (
                    "drawdown_within",
                    worst >= *bound,
                    json!({"above": bound}),
                    json!({"worst_drawdown_pct": worst}),
                    format!("worst drawdown {worst} %"),
                )
            }
            Check::Metric {
                metric,
                schedule,
                max,
                min,
            } => {
                let name = format!("bot_core_multi_strategy_{metric}");
                let values: Vec<f64> = outcome
                    .metrics
                    .series()
                    .filter(|(k, _)| {
                        k.metric.as_str() == name
                            && schedule
                                .as_deref()
                                .is_none_or(|s| k.labels.get("schedule") == Some(s))
                    })
                    .flat_map(|(_, s)| s.samples().iter().map(|x| x.value))
                    .collect();
                let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
                let passed = !values.is_empty()
                    && max.is_none_or(|m| hi <= m)
                    && min.is_none_or(|m| lo >= m);
                let detail = if values.is_empty() {
                    format!("no samples of {metric}")
                } else {
                    format!(
                        "{} samples in [{}, {}]",
                        values.len(),
                        round2(lo),
                        round2(hi)
                    )
                };
                let observed = if values.is_empty() {
                    json!({"samples": 0})
                } else {
                    json!({"samples": values.len(), "min": round2(lo), "max": round2(hi)})
                };
                (
                    "metric_threshold",
                    passed,
                    json!({"metric": metric, "max": max, "min": min}),
                    observed,
                    detail,
                )
            }
            Check::RiskAlert { kind, by } => {
                let hit = obs
                    .risk_alerts
                    .iter()
                    .find(|(at, code, _)| code == kind && by.is_none_or(|b| *at <= b));
                let detail = match hit {
                    Some((at, _, message)) => {
                        format!("raised at {}: {message}", offset(outcome, *at))
                    }
                    None => format!("no {kind} risk alert"),
                };
                (
                    "risk_alert",
                    hit.is_some(),
                    json!({"risk_alert": kind, "by": by.map(|b| offset(outcome, b))}),
                    json!({"raised_at": hit.map(|h| offset(outcome, h.0))}),
                    detail,
                )
            }
            Check::Refusal { reason } => {
                let n = obs.refusals.iter().filter(|r| r.3 == *reason).count();
                let first = obs.refusals.iter().find(|r| r.3 == *reason);
                let detail = match first {
                    Some(r) => format!(
                        "{n} refusal(s), the first at {} ({})",
                        offset(outcome, r.0),
                        r.1
                    ),
                    None => format!("no {reason} refusal"),
                };
                (
                    "refusal",
                    n > 0,
                    json!({"refusal": reason}),
                    json!({"count": n}),
                    detail,
                )
            }
            Check::MaxUnhedged { schedule, limit } => {
                let longest = obs.unhedged.get(schedule).map(|u| u.0).unwrap_or_default();
                (
                    "max_unhedged",
                    longest <= *limit,
                    json!({"schedule": schedule, "max": limit.to_string()}),
                    json!({"longest_unhedged": readable(longest)}),
                    format!("longest unhedged stretch {}", readable(longest)),
                )
            }
            Check::Rollback { states } => {
                let seen: Vec<&str> = obs.rollback.iter().map(|(_, s)| *s).collect();
                let passed = seen.iter().copied().eq(states.iter().map(String::as_str));
                (
                    "rollback",
                    passed,
                    json!({"states": states}),
                    json!({"states": seen}),
                    format!(
                        "override went {}",
                        if seen.is_empty() {
                            "nowhere".to_owned()
                        } else {
                            seen.join(" → ")
                        }
                    ),
                )
            }
        };
    Verdict {
        index: e.index,
        kind,
        description: e.description.clone(),
        passed,
        expected,
        observed,
        detail,
    }
}

/// Rounds for reports: two decimals, so float noise never reaches a snapshot.
pub fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// A duration for people: sub-second ones in milliseconds (`56.928ms`), longer ones in the
/// compact form scenario files use (`1m30s`).
fn readable(d: SimDuration) -> String {
    if d < SimDuration::from_secs(1) {
        format!("{:.3}ms", d.as_millis_f64())
    } else {
        d.to_string()
    }
}

#[cfg(test)]
mod tests {
    //! Each check's edges, on hand-made observations: what passes, what fails and what the
    //! detail says. The scenario snapshots cover the checks on real runs; these pin the rules.
    use std::path::Path;

    use stage4_engine::decision_log::entry::base_entry;
    use stage4_engine::decision_log::{Algorithm, DecisionLogWriter, SigningKey};
    use stage4_engine::telemetry::{LabelSet, MetricName, MetricsStore};

    use super::*;
    use crate::scenario::observe::{ActionResult, Observations, OrderSeen};
    use crate::scenario::plan::{self, Check};

    const KEY: &str = "unit-test-decision-log-key";

    fn start() -> SimTime {
        SimTime::parse_rfc3339("2026-11-28T09:00:00Z").unwrap()
    }

    fn at(minutes: u64) -> SimTime {
        start() + SimDuration::from_mins(minutes)
    }

    fn outcome(observations: Observations) -> RunOutcome {
        RunOutcome {
            plan: plan::parse(Path::new("unit.toml"), plan::tests::BASE).unwrap(),
            digest: String::new(),
            sim_digest: String::new(),
            decision_log: String::new(),
            log_key: SigningKey::new(KEY, Some("k1".into())),
            observations,
            exposition: String::new(),
            metrics: MetricsStore::new(),
            promtool_tests: String::new(),
            last_alert_evaluation: None,
            final_pnl: 0.0,
            final_equity: 0.0,
            daily_loss_limit: 0.0,
        }
    }

    fn judge(outcome: &RunOutcome, check: Check) -> Verdict {
        let e = Expectation {
            index: 1,
            check,
            description: "unit".into(),
        };
        verdict(outcome, &[], &e)
    }

    fn transition(minutes: u64, kind: TransitionKind, schedule: &str) -> AlertTransition {
        AlertTransition {
            at: at(minutes),
            kind,
            rule: "MultiStrategySchedulerLatencyHigh".into(),
            labels: LabelSet::schedule(schedule),
            annotations: LabelSet::new(),
            value: Some(1.0),
            active_at: at(minutes),
        }
    }

    fn order(minutes: u64, schedule: &str) -> OrderSeen {
        OrderSeen {
            at: at(minutes),
            schedule: schedule.into(),
            venue: stage4_engine::domain::VenueId::new("binance").unwrap(),
            symbol: stage4_engine::domain::Symbol::new("BTC_USDT").unwrap(),
            side: stage4_engine::domain::Side::Buy,
            qty: 0.1,
            unwind: false,
        }
    }

    #[test]
    fn an_alert_fires_only_for_its_schedule_after_the_fault_and_within_the_deadline() {
        use TransitionKind::{Firing, Pending};
        let obs = Observations {
            alerts: vec![
                transition(1, Firing, "mr_core"), // before the fault: ignored
                transition(4, Firing, "xex_arb"), // another schedule: ignored
                transition(6, Pending, "mr_core"),
                transition(8, Firing, "mr_core"),
            ],
            ..Observations::default()
        };
        let o = outcome(obs);
        let fires = |after: u64, within: Option<u64>, schedule: Option<&str>| {
            judge(
                &o,
                Check::AlertFires {
                    alert: "MultiStrategySchedulerLatencyHigh".into(),
                    after: Some(at(after)),
                    within: within.map(SimDuration::from_mins),
                    schedule: schedule.map(Into::into),
                },
            )
        };
        let cases = [
            ((3, Some(5), Some("mr_core")), true, "fired at 8m"),
            ((3, Some(4), Some("mr_core")), false, "fired at 8m, 1m late"),
            ((3, None, Some("mr_core")), true, "fired at 8m"),
            ((3, Some(2), None), true, "fired at 4m"),
            ((9, None, Some("mr_core")), false, "never fired"),
        ];
        for ((after, within, schedule), passed, detail) in cases {
            let v = fires(after, within, schedule);
            assert_eq!(
                v.passed, passed,
                "{after} {within:?} {schedule:?}: {}",
                v.detail
            );
            assert!(v.detail.contains(detail), "{} vs {detail}", v.detail);
            assert_eq!(v.kind, "alert_fires");
        }
    }

    #[test]
    fn an_alert_clears_only_when_the_same_instance_resolves_in_time() {
        use TransitionKind::{Firing, Resolved};
        let clears = |alerts: Vec<AlertTransition>, within: u64| {
            let obs = Observations {
                alerts,
                ..Observations::default()
            };
            judge(
                &outcome(obs),
                Check::AlertClears {
                    alert: "MultiStrategySchedulerLatencyHigh".into(),
                    after: at(10),
                    within: SimDuration::from_mins(within),
                    schedule: Some("mr_core".into()),
                },
            )
        };
        let fired = transition(5, Firing, "mr_core");
        let cases = [
            (
                vec![fired.clone(), transition(12, Resolved, "mr_core")],
                5,
                true,
                "cleared at 12m",
            ),
            (
                vec![fired.clone(), transition(17, Resolved, "mr_core")],
                5,
                false,
                "2m late",
            ),
            (vec![fired.clone()], 5, false, "still firing at the end"),
            // Another schedule's resolution is not this alert clearing.
            (
                vec![fired.clone(), transition(12, Resolved, "xex_arb")],
                5,
                false,
                "still firing",
            ),
            (vec![], 5, false, "never fired, so it cannot clear"),
            // Fired again after the first resolution: the last firing must clear too.
            (
                vec![
                    fired.clone(),
                    transition(11, Resolved, "mr_core"),
                    transition(13, Firing, "mr_core"),
                ],
                5,
                false,
                "still firing",
            ),
        ];
        for (alerts, within, passed, detail) in cases {
            let v = clears(alerts, within);
            assert_eq!(v.passed, passed, "{}", v.detail);
            assert!(v.detail.contains(detail), "{} vs {detail}", v.detail);
        }
        // Without a schedule filter, the instance that fired last must be the one resolving.
        let obs = Observations {
            alerts: vec![
                transition(3, Firing, "xex_arb"),
                transition(5, Firing, "mr_core"),
                transition(12, Resolved, "xex_arb"),
            ],
            ..Observations::default()
        };
        let any_schedule = Check::AlertClears {
            alert: "MultiStrategySchedulerLatencyHigh".into(),
            after: at(10),
            within: SimDuration::from_mins(5),
            schedule: None,
        };
        let v = judge(&outcome(obs), any_schedule);
        assert!(
            !v.passed && v.detail.contains("still firing"),
            "{}",
            v.detail
        );
    }

    #[test]
    fn order_windows_are_half_open_and_filter_by_schedule() {
        let obs = Observations {
            orders: vec![order(10, "mr_core"), order(20, "xex_arb")],
            ..Observations::default()
        };
        let o = outcome(obs);
        let none_between = |from: u64, to: u64, schedule: Option<&str>| {
            judge(
                &o,
                Check::NoOrdersBetween {
                    from: at(from),
                    to: at(to),
                    schedule: schedule.map(Into::into),
                },
            )
            .passed
        };
        assert!(none_between(0, 10, None), "`to` is excluded");
        assert!(!none_between(10, 11, None), "`from` is included");
        assert!(none_between(15, 30, Some("mr_core")));
        assert!(!none_between(15, 30, None));
        let after = |from: u64, schedule: Option<&str>| {
            judge(
                &o,
                Check::OrdersAfter {
                    from: at(from),
                    schedule: schedule.map(Into::into),
                },
            )
        };
        assert!(after(10, Some("mr_core")).passed);
        assert!(!after(11, Some("mr_core")).passed);
        let v = after(11, None);
        assert!(
            v.passed && v.detail == "1 order(s), the first at 20m",
            "{}",
            v.detail
        );
    }

    #[test]
    fn a_metric_needs_samples_and_every_sample_in_bounds() {
        let mut o = outcome(Observations::default());
        let name = MetricName::new("bot_core_multi_strategy_latency_ms").unwrap();
        let metric = |o: &RunOutcome, min: Option<f64>, max: Option<f64>| {
            judge(
                o,
                Check::Metric {
                    metric: "latency_ms".into(),
                    schedule: Some("mr_core".into()),
                    max,
                    min,
                },
            )
        };
        let v = metric(&o, None, Some(100.0));
        assert!(
            !v.passed && v.detail == "no samples of latency_ms",
            "{}",
            v.detail
        );
        for (minutes, value) in [(1, 40.0), (2, 120.0), (3, 60.0)] {
            o.metrics
                .record(&name, &LabelSet::schedule("mr_core"), at(minutes), value)
                .unwrap();
        }
        // Another schedule's samples do not count.
        o.metrics
            .record(&name, &LabelSet::schedule("xex_arb"), at(1), 5000.0)
            .unwrap();
        let cases = [
            (None, Some(120.0), true),
            (None, Some(119.99), false),
            (Some(40.0), None, true),
            (Some(40.01), None, false),
            (Some(0.0), Some(200.0), true),
        ];
        for (min, max, passed) in cases {
            let v = metric(&o, min, max);
            assert_eq!(v.passed, passed, "{min:?}..{max:?}: {}", v.detail);
            assert_eq!(v.detail, "3 samples in [40, 120]");
        }
    }

    #[test]
    fn pnl_bounds_are_strict_and_drawdown_bound_inclusive() {
        let mut o = outcome(Observations::default());
        o.final_pnl = 10.004;
        let pnl =
            |above: Option<f64>, below: Option<f64>| judge(&o, Check::Pnl { above, below }).passed;
        assert!(pnl(Some(9.99), Some(10.01)));
        assert!(
            !pnl(Some(10.0), None),
            "10.004 rounds to 10.00, not above 10"
        );
        assert!(!pnl(None, Some(10.0)));
        o.observations.drawdown.points = vec![(at(1), -1.5), (at(2), -3.254), (at(3), -0.5)];
        let dd = |bound: f64| judge(&o, Check::DrawdownAbove { bound });
        assert!(dd(-3.25).passed, "-3.254 rounds to -3.25");
        assert!(!dd(-3.24).passed);
        assert_eq!(dd(-5.0).detail, "worst drawdown -3.25 %");
    }

    #[test]
    fn rollback_states_must_match_exactly_in_order() {
        let obs = Observations {
            rollback: vec![(at(5), "active"), (at(20), "expired")],
            ..Observations::default()
        };
        let o = outcome(obs);
        let states = |s: &[&str]| {
            judge(
                &o,
                Check::Rollback {
                    states: s.iter().map(|x| (*x).to_owned()).collect(),
                },
            )
        };
        let v = states(&["active", "expired"]);
        assert!(
            v.passed && v.detail == "override went active → expired",
            "{}",
            v.detail
        );
        assert!(!states(&["active"]).passed, "a prefix is not enough");
        assert!(!states(&["expired", "active"]).passed);
        assert!(!states(&[]).passed);
    }

    #[test]
    fn an_action_that_did_not_run_or_lacks_a_finding_fails() {
        let obs = Observations {
            actions: vec![ActionResult {
                index: 1,
                at: at(10),
                name: "compliance_audit".into(),
                status: "warn".into(),
                audit_status: Some(crate::escalation::AuditStatus::Warn),
                warnings: vec!["tls.expiry".into()],
                issues: vec![],
                detail: String::new(),
            }],
            ..Observations::default()
        };
        let o = outcome(obs);
        let audit = |action: usize, status: &str, warning: &str| {
            judge(
                &o,
                Check::AuditStatus {
                    action,
                    status: Some(status.into()),
                    warnings_include: vec![warning.into()],
                    issues_include: vec![],
                },
            )
        };
        assert!(audit(1, "warn", "tls.expiry").passed);
        let v = audit(1, "warn", "rbac.scopes");
        assert!(!v.passed && v.detail.contains("missing warnings [\"rbac.scopes\"]"));
        assert!(!audit(1, "ok", "tls.expiry").passed);
        let v = audit(2, "warn", "tls.expiry");
        assert!(
            !v.passed && v.detail == "action 2 did not run",
            "{}",
            v.detail
        );
    }

    #[test]
    fn the_decision_log_must_verify_under_the_run_key_and_be_sealed() {
        let log = |seal: bool| {
            let mut w = DecisionLogWriter::new_chained(
                SigningKey::new(KEY, Some("k1".into())),
                Algorithm::HmacSha256,
            );
            let mut text = String::new();
            for minutes in 1..=3 {
                text.push_str(&w.append(base_entry("order", at(minutes))));
                text.push('\n');
            }
            if seal {
                text.push_str(&w.seal(at(4)).unwrap());
                text.push('\n');
            }
            text
        };
        let check = |decision_log: String| {
            let mut o = outcome(Observations::default());
            o.decision_log = decision_log;
            judge(&o, Check::DecisionLogVerifies)
        };
        let v = check(log(true));
        assert!(
            v.passed && v.detail == "4 entries, 0 bad line(s), sealed: true",
            "{}",
            v.detail
        );
        assert!(
            !check(log(false)).passed,
            "an unsealed log can be cut short unnoticed"
        );
        let tampered = log(true).replacen("order", "ordeR", 1);
        let v = check(tampered);
        // The edited line fails its signature, the next one its link to it.
        assert!(
            !v.passed && v.detail.contains("2 bad line(s)"),
            "{}",
            v.detail
        );
    }
}
