//! Seed sweeps: one scenario over a range of seeds, in parallel on this machine, or one shard of
//! the range per CI job (`--shard i/n`) with `stage4 report merge` combining the shards.
//!
//! Each run is single-threaded and deterministic, so `--jobs` only changes how long a sweep
//! takes, never its result: workers take seeds from a shared counter and the report is sorted
//! by seed.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Result, anyhow};
use stage4_reports::scenario::Verdict;
use stage4_reports::sweep::{SeedRange, Shard, SweepReport, SweepRun};

use super::escalate;
use super::expect;
use super::plan::ScenarioPlan;
use super::runner::{self, RunOptions};
use crate::escalation::Policy;

/// One seed of a sweep: the run, its escalations and verdicts, without rendering a report.
pub fn run_seed(plan: &ScenarioPlan, seed: u64) -> Result<SweepRun> {
    let outcome = runner::run(
        plan,
        &RunOptions {
            seed: Some(seed),
            work_dir: None,
        },
    )?;
    let escalations = escalate::escalations(&outcome, &Policy::reference())?;
    let verdicts = expect::evaluate(&outcome, &escalations);
    let passed = verdicts.iter().all(|v| v.passed);
    Ok(SweepRun {
        seed,
        digest: outcome.digest,
        verdict: Verdict::from_passed(passed),
        failed: verdicts
            .into_iter()
            .filter(|v| !v.passed)
            .map(|v| v.description)
            .collect(),
    })
}

/// Runs the seeds of `seeds` that belong to `shard` (all of them without one) on `jobs`
/// threads; `progress` is called after each finished run with the count so far.
pub fn sweep(
    plan: &ScenarioPlan,
    seeds: SeedRange,
    shard: Option<Shard>,
    jobs: usize,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<SweepReport> {
    let mine: Vec<u64> = match shard {
        Some(s) => seeds.shard_seeds(s).collect(),
        None => seeds.seeds().collect(),
    };
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let results: Mutex<Vec<Result<SweepRun>>> = Mutex::new(Vec::with_capacity(mine.len()));
    std::thread::scope(|scope| {
        for _ in 0..jobs.max(1).min(mine.len().max(1)) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&seed) = mine.get(i) else { break };
                    let result = run_seed(plan, seed).map_err(|e| anyhow!("seed {seed}: {e:#}"));
                    results
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push(result);
                    progress(done.fetch_add(1, Ordering::Relaxed) as u64 + 1);
                }
            });
        }
    });
    let runs = results
        .into_inner()
        .unwrap_or_else(|p| p.into_inner())
        .into_iter()
        .collect::<Result<Vec<_>>>()?;
    Ok(SweepReport::new(plan.name.clone(), seeds, shard, runs))
}
