//! `stage4 escalation template|validate`: the team's escalation checklist (JSONL).

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use serde::Serialize;

use super::common::{print, write_report};
use crate::escalation::{ChecklistError, DEFAULT_CHECKLIST, Policy};
use crate::exit::Exit;

/// Version of the `validate --json` result.
pub const SCHEMA_VERSION: u32 = 1;

/// The format in brief, shown by `--help`.
const FORMAT_HELP: &str = "\
FORMAT (JSONL): one rule per line, a JSON object; blank lines and lines starting with # are ignored.

  {\"condition\": \"alert_unacknowledged\", \"duration\": \"5m\", \"level\": \"L2\", \"action\": \"Page L2\"}

Required: condition, level, action. `duration` (e.g. \"5m\", \"15m\", \"1h30m\") is required by the timed conditions and must be absent, null or \"0s\" for the others; `threshold` is required by pnl_loss_vs_daily_limit and cpu_over_budget (a number > 0) and audit_status (\"fail\", \"warn\" or \"ok\"), and must be absent or null for the others. Optional: id (unique), description, and the filters severity (alerts of this severity or worse), alert (alert rule name), schedule (alerts and no_signals), tool (audit_status). Unknown keys are errors.

Conditions:
  alert_firing             an alert starts firing
  alert_unacknowledged     an alert still fires `duration` after it started, nobody acknowledged
  problem_persists         an alert still fires `duration` after it started
  no_signals               a schedule emitted no signal for `duration`
  pnl_loss_vs_daily_limit  the loss of the day exceeds `threshold` x the daily loss limit
  cpu_over_budget          CPU above `threshold` x the budget (1.2 = 120 %) for `duration`
  audit_status             an audit returned `threshold` or worse (ok < warn < fail)

Levels, lowest first: L1, L2, tech_lead, incident_manager.
Start from the reference rules: stage4 escalation template > escalation.jsonl";

/// Escalation checklists: print the reference one, validate a team's own.
#[derive(Debug, Subcommand)]
pub enum EscalationCommand {
    /// Print the default checklist (the reference playbooks' rules) as JSONL. Exit 0.
    #[command(after_long_help = FORMAT_HELP)]
    Template(TemplateArgs),
    /// Check a checklist file and report every bad line as FILE:LINE: problem.
    ///
    /// Every problem of every line is reported, not just the first: invalid JSON, a
    /// non-object line, unknown or repeated keys, a missing field, an unknown condition,
    /// level, severity or audit status, a bad duration, a threshold of the wrong type for the
    /// condition, a filter that does not apply, a duplicate id.
    ///
    /// Exit codes: 0 valid (prints a one-line summary), 1 some lines are invalid, 2 the file
    /// cannot be read.
    #[command(after_long_help = FORMAT_HELP)]
    Validate(ValidateArgs),
}

/// Flags of `stage4 escalation template`.
#[derive(Debug, Args)]
pub struct TemplateArgs {
    /// Also write the checklist to this file (atomically, mode 0644).
    #[arg(long)]
    pub output: Option<PathBuf>,
}

/// Flags of `stage4 escalation validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The checklist (JSONL).
    pub file: PathBuf,
    /// Print a JSON result (`status`, `problems[{line, key, message}]`, counts) instead of text.
    #[arg(long)]
    pub json: bool,
}

/// The `validate --json` document.
#[derive(Debug, Serialize)]
struct ValidationReport {
    /// Rule lines with at least one problem.
    bad_lines: usize,
    /// The file as given.
    file: String,
    /// Every problem, in line order.
    problems: Vec<ProblemRecord>,
    /// Lines holding a rule (not blank, not a comment).
    rule_lines: usize,
    schema_version: u32,
    /// `ok` or `fail`.
    status: &'static str,
}

#[derive(Debug, Serialize)]
struct ProblemRecord {
    /// The key concerned, when there is one.
    key: Option<String>,
    /// 1-based line; null for a problem of the whole file.
    line: Option<usize>,
    message: String,
}

/// Runs `stage4 escalation ...`.
pub fn run(cmd: EscalationCommand) -> Result<Exit> {
    match cmd {
        EscalationCommand::Template(args) => {
            if let Some(path) = &args.output {
                write_report(path, DEFAULT_CHECKLIST)?;
            }
            print(DEFAULT_CHECKLIST)?;
            Ok(Exit::Ok)
        }
        EscalationCommand::Validate(args) => validate(&args),
    }
}

fn validate(args: &ValidateArgs) -> Result<Exit> {
    let shown = args.file.display().to_string();
    let bytes = std::fs::read(&args.file)
        .with_context(|| format!("cannot read escalation checklist {shown}"))?;
    let outcome = Policy::parse(&bytes);
    if args.json {
        let report = match &outcome {
            Ok(policy) => ValidationReport {
                bad_lines: 0,
                file: shown,
                problems: Vec::new(),
                rule_lines: policy.rules.len(),
                schema_version: SCHEMA_VERSION,
                status: "ok",
            },
            Err(err) => ValidationReport {
                bad_lines: err.bad_lines(),
                file: shown,
                problems: err
                    .problems
                    .iter()
                    .map(|p| ProblemRecord {
                        key: p.problem.key().map(str::to_owned),
                        line: p.line,
                        message: p.problem.to_string(),
                    })
                    .collect(),
                rule_lines: err.rule_lines,
                schema_version: SCHEMA_VERSION,
                status: "fail",
            },
        };
        print(&serde_json::to_string_pretty(&report)?)?;
    } else {
        print(&text_report(&shown, &outcome))?;
    }
    Ok(if outcome.is_ok() {
        Exit::Ok
    } else {
        Exit::Failed
    })
}

/// `FILE:LINE: problem` per problem and a summary line; one summary line when valid.
fn text_report(file: &str, outcome: &Result<Policy, ChecklistError>) -> String {
    match outcome {
        Ok(policy) => {
            let n = policy.rules.len();
            format!(
                "{file}: valid escalation checklist, {n} rule{}",
                if n == 1 { "" } else { "s" }
            )
        }
        Err(err) => {
            let mut out = String::new();
            for p in &err.problems {
                match p.line {
                    Some(line) => out.push_str(&format!("{file}:{line}: {}\n", p.problem)),
                    None => out.push_str(&format!("{file}: {}\n", p.problem)),
                }
            }
            if err.rule_lines == 0 {
                // The one problem line already says it all.
                out.pop();
                return out;
            }
            let problems = err.problems.len();
            out.push_str(&format!(
                "{file}: invalid: {problems} problem{} on {} of {} rule lines",
                if problems == 1 { "" } else { "s" },
                err.bad_lines(),
                err.rule_lines
            ));
            out
        }
    }
}
