//! Turning a finished run into verdicts, text and artefacts.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Result;

use super::escalate;
use crate::escalation::{Policy, to_jsonl};
use super::expect::{self, Verdict};
use super::plan::ScenarioPlan;
use super::runner::{self, RunOptions, RunOutcome};
use crate::fsio;

/// A scenario run with its verdicts and renderings.
#[derive(Debug)]
pub struct Finished {
    /// The run.
    pub outcome: RunOutcome,
    /// One verdict per expectation.
    pub verdicts: Vec<Verdict>,
    /// All expectations held.
    pub passed: bool,
    /// Text report.
    pub text: String,
    /// JSON report.
    pub json: String,
}

/// Runs `plan`, evaluates it, renders it, and writes artefacts under `out` when given.
pub fn run_and_report(plan: &ScenarioPlan, seed: Option<u64>, out: Option<&Path>) -> Result<Finished> {
    let options = RunOptions {
        seed,
        work_dir: out.map(|o| o.join("work")),
    };
    let outcome = runner::run(plan, &options)?;
    let escalations = escalate::escalations(&outcome, &Policy::reference())?;
    let verdicts = expect::evaluate(&outcome, &escalations);
    let passed = verdicts.iter().all(|v| v.passed);
    let text = render_text(&outcome, &verdicts);
    let json = serde_json::to_string_pretty(&serde_json::json!({
        "schema_version": 1,
        "name": outcome.plan.name,
        "seed": outcome.plan.seed,
        "digest": outcome.digest,
        "verdict": if passed { "pass" } else { "fail" },
        "expectations": verdicts,
    }))?;
    if let Some(dir) = out {
        fsio::write_atomic(&dir.join("report.json"), format!("{json}\n").as_bytes(), fsio::PUBLIC)?;
        fsio::write_atomic(&dir.join("decision_log.jsonl"), outcome.decision_log.as_bytes(), fsio::PUBLIC)?;
        fsio::write_atomic(&dir.join("metrics.prom"), outcome.exposition.as_bytes(), fsio::PUBLIC)?;
        fsio::write_atomic(&dir.join("escalation.jsonl"), to_jsonl(&escalations).as_bytes(), fsio::PUBLIC)?;
    }
    Ok(Finished { outcome, verdicts, passed, text, json })
}

fn render_text(outcome: &RunOutcome, verdicts: &[Verdict]) -> String {
    let mut s = String::new();
    let passed = verdicts.iter().filter(|v| v.passed).count();
    let _ = writeln!(s, "scenario {} seed {} digest {}", outcome.plan.name, outcome.plan.seed, outcome.digest);
    for v in verdicts {
        let _ = writeln!(s, "  {} {} — {}", if v.passed { "PASS" } else { "FAIL" }, v.description, v.detail);
    }
    let _ = writeln!(s, "{passed}/{} expectations met", verdicts.len());
    s
}
