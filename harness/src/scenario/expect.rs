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
