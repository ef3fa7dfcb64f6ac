//! The escalation checklist applied to a run: what the run observed, in the evaluator's terms.

use anyhow::{Context, Result};
use stage4_engine::decision_log::entry::IncidentAction;
use stage4_engine::domain::SimTime;

use super::plan::{Action, IncidentStep};
use super::runner::RunOutcome;
use crate::escalation::{
    AlertPeriod, AuditOutcome, Escalation, IncidentEvent, Observations, PnlSample, Policy,
    SignalCount, evaluate,
};

/// Evaluates `policy` (the reference checklist by default) over a finished run.
pub fn escalations(outcome: &RunOutcome, policy: &Policy) -> Result<Vec<Escalation>> {
    evaluate(policy, &observations(outcome)?).context("evaluating the escalation checklist")
}

/// What the run observed, as the escalation evaluator wants it.
pub fn observations(outcome: &RunOutcome) -> Result<Observations> {
    let plan = &outcome.plan;
    let obs = &outcome.observations;
    let mut out = Observations::new(plan.start, plan.end);
    out.schedules = plan.schedules.iter().map(|s| s.spec.name.clone()).collect();
    out.alerts = AlertPeriod::from_transitions(&obs.alerts).context("alert transitions")?;
    out.signals = obs
        .runs
        .iter()
        .filter(|r| r.at <= plan.end)
        .map(|r| SignalCount {
            at: r.at,
            schedule: r.schedule.clone(),
            signals: r.signals as u64,
        })
        .collect();
    // PnL of the day: equity change since the first sample of each UTC day (or the start).
    let mut day_start: Option<(SimTime, f64)> = None;
    for &(at, equity) in &obs.equity.points {
        let day = at.start_of_day();
        let base = match day_start {
            Some((d, base)) if d == day => base,
            _ => {
                let base = if day <= plan.start {
                    plan.engine.capital
                } else {
                    equity
                };
                day_start = Some((day, base));
                base
            }
        };
        out.pnl.push(PnlSample {
            at,
            pnl_of_day: equity - base,
        });
    }
    out.daily_loss_limit = Some(outcome.daily_loss_limit).filter(|l| *l > 0.0);
    for result in &obs.actions {
        if let Some(status) = result.audit_status {
            out.audits.push(AuditOutcome {
                at: result.at,
                tool: result.name.clone(),
                status,
            });
        }
        if result.status == "refused" {
            continue;
        }
        if let Some(planned) = plan.actions.iter().find(|a| a.index == result.index)
            && let Action::Incident {
                step,
                ticket,
                level,
                ..
            } = &planned.action
        {
            out.incidents.push(IncidentEvent {
                at: result.at,
                ticket: ticket.clone(),
                action: match step {
                    IncidentStep::Open => IncidentAction::Open,
                    IncidentStep::Acknowledge => IncidentAction::Acknowledge,
                    IncidentStep::Escalate => IncidentAction::Escalate,
                    IncidentStep::Resolve => IncidentAction::Resolve,
                },
                level: level
                    .as_deref()
                    .and_then(crate::escalation::Level::from_name),
            });
        }
    }
    Ok(out)
}
