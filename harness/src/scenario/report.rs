//! From a finished run to the reports people and CI read: verdicts, the
//! [`ScenarioReport`] (JSON, Markdown, HTML with SVG charts, JUnit, text), the signed decision
//! log, `escalation.jsonl`, the final Prometheus exposition, and the alert rules with a
//! promtool unit test of this run.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Result;
use stage4_engine::domain::SimTime;
use stage4_engine::telemetry::{RuleGroup, TransitionKind, rules_file_yaml};
use stage4_reports::scenario::{
    AlertSpan, Charts, ExpectationResult, LatencySeries, LatencyThresholds, NamedSeries, Point,
    PriceSeries, ScenarioInfo, ScenarioReport, Summary, TimelineEntry, TimelineKind, Verdict,
    format_offset,
};

use super::escalate;
use super::expect::{self, round2};
use super::plan::{FaultPlan, ScenarioPlan};
use super::runner::{self, RULES_FILE, RunOptions, RunOutcome};
use crate::escalation::{Escalation, Policy, to_jsonl};
use crate::fsio;

/// Files a run directory holds besides the four [`ScenarioReport`] renderings.
pub const EXTRA_FILES: [&str; 5] = [
    "decision_log.jsonl",
    "escalation.jsonl",
    "metrics.prom",
    RULES_FILE,
    "promtool_test.yml",
];

/// A scenario run with its verdicts and report.
#[derive(Debug)]
pub struct Finished {
    /// The run.
    pub outcome: RunOutcome,
    /// What the escalation checklist did.
    pub escalations: Vec<Escalation>,
    /// The report.
    pub report: ScenarioReport,
}

impl Finished {
    /// Every expectation held.
    pub fn passed(&self) -> bool {
        self.report.verdict == Verdict::Pass
    }
}

/// Runs `plan`, evaluates it, builds its report, and writes the run directory when `out` is
/// given (`out/work` keeps the training site and the override file).
pub fn run_and_report(
    plan: &ScenarioPlan,
    seed: Option<u64>,
    out: Option<&Path>,
) -> Result<Finished> {
    let options = RunOptions {
        seed,
        work_dir: out.map(|o| o.join("work")),
    };
    let outcome = runner::run(plan, &options)?;
    let escalations = escalate::escalations(&outcome, &Policy::reference())?;
    let report = build_report(&outcome, &escalations);
    if let Some(dir) = out {
        for (name, text) in report.rendered_files() {
            fsio::write_atomic(&dir.join(name), text.as_bytes(), fsio::PUBLIC)?;
        }
        let rules = rules_file_yaml(&RuleGroup::stage4())?;
        let escalation_lines = to_jsonl(&escalations);
        for (name, text) in [
            ("decision_log.jsonl", &outcome.decision_log),
            ("escalation.jsonl", &escalation_lines),
            ("metrics.prom", &outcome.exposition),
            (RULES_FILE, &rules),
            ("promtool_test.yml", &outcome.promtool_tests),
        ] {
            fsio::write_atomic(&dir.join(name), text.as_bytes(), fsio::PUBLIC)?;
        }
    }
    Ok(Finished {
        outcome,
        escalations,
        report,
    })
}

fn secs(plan: &ScenarioPlan, t: SimTime) -> f64 {
    t.saturating_since(plan.start).as_secs_f64()
}

/// The report of a finished run (deterministic: no wall clock, no paths outside the repo).
pub fn build_report(outcome: &RunOutcome, escalations: &[Escalation]) -> ScenarioReport {
    let plan = &outcome.plan;
    let obs = &outcome.observations;
    let verdicts = expect::evaluate(outcome, escalations);
    let expectations: Vec<ExpectationResult> = verdicts
        .into_iter()
        .map(|v| ExpectationResult {
            index: v.index as u32,
            kind: v.kind.to_owned(),
            description: v.description,
            passed: v.passed,
            expected: v.expected,
            observed: v.observed,
            detail: v.detail,
        })
        .collect();

    // ---- timeline
    let mut timeline: Vec<(SimTime, usize, TimelineEntry)> = Vec::new();
    let mut push = |at: SimTime, kind: TimelineKind, title: String, detail: String| {
        let order = timeline.len();
        timeline.push((
            at,
            order,
            TimelineEntry {
                at: at.to_rfc3339(),
                offset: format_offset(secs(plan, at)),
                kind,
                title,
                detail,
            },
        ));
    };
    for f in &plan.faults {
        let what = match &f.plan {
            FaultPlan::Venue(v) => format!("{} on {}", f.kind, v.venue),
            FaultPlan::StrategyLatency { schedule, extra } => {
                format!("strategy latency +{extra} on {schedule}")
            }
            FaultPlan::PriceShock { symbol, move_pct } => {
                format!("price shock {move_pct:+}% on {symbol}")
            }
        };
        push(
            f.start,
            TimelineKind::Fault,
            what.clone(),
            format!(
                "fault {} until {}",
                f.index,
                format_offset(secs(plan, f.end))
            ),
        );
        push(
            f.end,
            TimelineKind::FaultEnd,
            format!("end of {what}"),
            format!("fault {}", f.index),
        );
    }
    for a in &obs.actions {
        let kind = if a.name.starts_with("incident_") {
            TimelineKind::Incident
        } else {
            TimelineKind::Action
        };
        push(
            a.at,
            kind,
            format!("{} ({})", a.name, a.status),
            a.detail.clone(),
        );
    }
    for t in &obs.alerts {
        if matches!(t.kind, TransitionKind::Firing | TransitionKind::Resolved) {
            let schedule = t.labels.get("schedule").unwrap_or("-");
            push(
                t.at,
                TimelineKind::Alert,
                format!("{} {} ({schedule})", t.rule, t.kind.as_str()),
                t.value
                    .map(|v| format!("value {}", round2(v)))
                    .unwrap_or_default(),
            );
        }
    }
    for (at, state) in &obs.rollback {
        push(
            *at,
            TimelineKind::Rollback,
            format!("multi-strategy override {state}"),
            String::new(),
        );
    }
    for e in escalations {
        push(
            e.at,
            TimelineKind::Escalation,
            format!("{} → {}", e.condition.as_str(), e.level),
            e.detail.clone(),
        );
    }
    for a in &obs.scheduler_alerts {
        if a.code != "schedule-drift" {
            push(
                a.timestamp,
                TimelineKind::Scheduler,
                a.code.to_owned(),
                a.message.clone(),
            );
        }
    }
    // Rebalances only: a review (nothing moved) every interval would crowd the timeline; the
    // decision log holds both.
    for (at, _, weights) in obs.portfolio_decisions.iter().filter(|d| d.1) {
        let shares: Vec<String> = weights
            .iter()
            .map(|(strategy, w)| format!("{strategy} {:.1}%", w * 100.0))
            .collect();
        push(
            *at,
            TimelineKind::Scheduler,
            format!("portfolio rebalance: {}", shares.join(", ")),
            "portfolio governor; journalled as portfolio_rebalance".to_owned(),
        );
    }
    let mut first_risk: BTreeMap<&str, SimTime> = BTreeMap::new();
    for (at, code, _) in &obs.risk_alerts {
        first_risk.entry(code.as_str()).or_insert(*at);
    }
    for (code, at) in first_risk {
        let n = obs.risk_alerts.iter().filter(|r| r.1 == code).count();
        push(
            at,
            TimelineKind::Risk,
            format!("risk alert {code}"),
            format!("{n} in total"),
        );
    }
    timeline.sort_by_key(|(at, order, _)| (*at, *order));

    // ---- charts
    let points = |series: &[(SimTime, f64)]| -> Vec<Point> {
        series
            .iter()
            .filter(|(at, _)| *at >= plan.start)
            .map(|(at, v)| Point::new(secs(plan, *at), *v))
            .collect()
    };
    let prices = obs
        .prices
        .iter()
        .map(|((venue, symbol), series)| PriceSeries {
            venue: venue.to_string(),
            symbol: symbol.to_string(),
            points: points(&series.points),
        })
        .collect();
    let mut latency: BTreeMap<&str, Vec<Point>> = BTreeMap::new();
    for r in &obs.runs {
        latency
            .entry(r.schedule.as_str())
            .or_default()
            .push(Point::new(secs(plan, r.at), r.latency_ms));
    }
    let mut spans: Vec<AlertSpan> = Vec::new();
    let mut open: BTreeMap<String, usize> = BTreeMap::new();
    for t in &obs.alerts {
        let key = format!("{}{:?}", t.rule, t.labels);
        match t.kind {
            TransitionKind::Firing => {
                open.insert(key, spans.len());
                spans.push(AlertSpan {
                    rule: t.rule.clone(),
                    severity: t.labels.get("severity").unwrap_or("warning").to_owned(),
                    from: secs(plan, t.at),
                    to: None,
                });
            }
            TransitionKind::Resolved => {
                if let Some(i) = open.remove(&key) {
                    spans[i].to = Some(secs(plan, t.at));
                }
            }
            TransitionKind::Pending | TransitionKind::Cleared => {}
        }
    }
    let charts = Charts {
        prices,
        equity: vec![NamedSeries {
            name: "total".to_owned(),
            points: points(&obs.equity.points),
        }],
        drawdown: vec![NamedSeries {
            name: "total".to_owned(),
            points: points(&obs.drawdown.points),
        }],
        latency: latency
            .into_iter()
            .map(|(schedule, points)| LatencySeries {
                schedule: schedule.to_owned(),
                points,
            })
            .collect(),
        latency_thresholds: LatencyThresholds::default(),
        alerts: spans,
    };
    let summary = Summary {
        signals: obs.signals() as u64,
        orders: obs.orders.len() as u64,
        fills: obs.fills.len() as u64,
        rejects: obs.rejects.len() as u64,
        refusals: obs.refusals.len() as u64,
        realized_pnl: round2(outcome.final_pnl),
        final_equity: round2(outcome.final_equity),
        max_drawdown_pct: round2(obs.drawdown.points.iter().map(|p| p.1).fold(0.0, f64::min)),
        decision_log_entries: outcome.decision_log.lines().count() as u64,
        alerts_fired: obs
            .alerts
            .iter()
            .filter(|t| t.kind == TransitionKind::Firing)
            .count() as u64,
    };
    let verdict = Verdict::of(&expectations);
    let mut artefacts: Vec<String> = stage4_reports::scenario::REPORT_FILES
        .iter()
        .map(|f| (*f).to_owned())
        .collect();
    artefacts.extend(EXTRA_FILES.iter().map(|f| (*f).to_owned()));
    ScenarioReport {
        schema_version: stage4_reports::scenario::SCHEMA_VERSION,
        scenario: ScenarioInfo {
            name: plan.name.clone(),
            description: plan.description.clone(),
            file: plan.file.display().to_string(),
        },
        seed: plan.seed,
        as_of: plan.start.to_rfc3339(),
        duration: format_offset(plan.end.saturating_since(plan.start).as_secs_f64()),
        digest: outcome.digest.clone(),
        verdict,
        expectations,
        timeline: timeline.into_iter().map(|(_, _, e)| e).collect(),
        charts,
        summary,
        artefacts,
    }
}
