//! Sweeps: however a seed sweep is cut into shards, and in whatever order the shard results come
//! back, merging them gives the unsharded sweep's report; the summaries read as operators expect.

use proptest::prelude::*;
use stage4_reports::render::{json, markdown, text};
use stage4_reports::scenario::Verdict;
use stage4_reports::sweep::{MergeError, SeedRange, Shard, SweepReport, SweepRun, merge};

const EXPECTATIONS: [&str; 3] = [
    "alert MultiStrategySchedulerLatencyHigh fires within 5m",
    "no orders between 55m and 1h35m",
    "drawdown stays within -2 %",
];

/// A deterministic run for `seed`: the digest and outcome depend on the seed and `salt` only.
fn run(seed: u64, salt: u64) -> SweepRun {
    let h = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ salt;
    let failed: Vec<String> = EXPECTATIONS
        .iter()
        .enumerate()
        .filter(|(i, _)| (h >> (i * 7)).is_multiple_of(5))
        .map(|(_, e)| (*e).to_owned())
        .collect();
    SweepRun {
        seed,
        digest: format!("{h:016x}{:048x}", seed),
        verdict: Verdict::from_passed(failed.is_empty()),
        failed,
    }
}

fn whole(seeds: SeedRange, salt: u64) -> SweepReport {
    SweepReport::new(
        "workshop_exercise",
        seeds,
        None,
        seeds.seeds().map(|s| run(s, salt)).collect(),
    )
}

fn shards(seeds: SeedRange, count: u64, salt: u64) -> Vec<SweepReport> {
    (1..=count)
        .map(|i| {
            let shard = Shard::new(i, count).unwrap();
            let mut runs: Vec<SweepRun> = seeds.shard_seeds(shard).map(|s| run(s, salt)).collect();
            // Runs come back in completion order, not seed order.
            runs.reverse();
            let mut report = SweepReport::new("workshop_exercise", seeds, Some(shard), runs);
            // A stored shard file is read back from JSON.
            report = serde_json::from_str(&json::to_pretty_sorted(&report).unwrap()).unwrap();
            report
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn merging_shards_gives_the_unsharded_sweep(
        first in 0u64..1_000_000,
        len in 1u64..80,
        count in 1u64..12,
        salt in any::<u64>(),
        order in any::<u64>(),
        repeat in proptest::option::of(0usize..12),
    ) {
        let seeds = SeedRange::new(first, first + len - 1).unwrap();
        let mut parts = shards(seeds, count, salt);
        // Any arrival order; a shard uploaded twice is harmless.
        let n = parts.len();
        parts.rotate_left((order % n as u64) as usize);
        if order & 1 == 1 {
            parts.reverse();
        }
        if let Some(r) = repeat {
            let again = parts[r % n].clone();
            parts.push(again);
        }
        let merged = merge(parts).unwrap();
        let expected = whole(seeds, salt);
        prop_assert_eq!(&merged, &expected);
        prop_assert_eq!(
            json::to_pretty_sorted(&merged).unwrap(),
            json::to_pretty_sorted(&expected).unwrap()
        );
        prop_assert_eq!(merged.totals.runs, len);
        prop_assert_eq!(merged.totals.passed + merged.totals.failed, len);
    }

    #[test]
    fn a_seed_with_two_digests_is_refused(
        first in 0u64..1000,
        len in 2u64..40,
        count in 2u64..6,
        victim in any::<prop::sample::Index>(),
    ) {
        let seeds = SeedRange::new(first, first + len - 1).unwrap();
        let mut parts = shards(seeds, count, 7);
        // Another build ran one seed again and got a different digest.
        let seed = first + victim.index(len as usize) as u64;
        let mut rerun = run(seed, 7);
        rerun.digest = format!("{:064x}", u64::MAX - seed);
        parts.push(SweepReport::new("workshop_exercise", seeds, None, vec![rerun]));
        let err = merge(parts).unwrap_err();
        prop_assert!(
            matches!(err, MergeError::DigestMismatch { seed: s, .. } if s == seed),
            "{}", err
        );
    }

    #[test]
    fn a_missing_shard_is_reported_not_merged(
        first in 0u64..1000,
        len in 2u64..60,
        count in 2u64..8,
        drop in any::<prop::sample::Index>(),
    ) {
        let seeds = SeedRange::new(first, first + len - 1).unwrap();
        let mut parts = shards(seeds, count, 3);
        let gone = parts.remove(drop.index(parts.len()));
        let merged = merge(parts);
        if gone.runs.is_empty() {
            // More shards than seeds: an empty shard loses nothing.
            prop_assert_eq!(merged.unwrap(), whole(seeds, 3));
        } else {
            match merged {
                Err(MergeError::MissingSeeds { count: missing, first: shown, .. }) => {
                    prop_assert_eq!(missing, gone.runs.len() as u64);
                    prop_assert_eq!(shown[0], gone.runs[0].seed);
                }
                other => prop_assert!(false, "expected MissingSeeds, got {:?}", other),
            }
        }
    }
}

#[test]
fn sweep_summaries() {
    let seeds: SeedRange = "100..139".parse().unwrap();
    let report = merge(shards(seeds, 4, 11)).unwrap();
    assert_eq!(report.verdict(), Verdict::Fail);
    let mut out = String::new();
    text::sweep(&report, &mut out).unwrap();
    insta::assert_snapshot!("sweep.txt", out);
    let mut out = String::new();
    markdown::sweep(&report, &mut out).unwrap();
    insta::assert_snapshot!("sweep.md", out);

    let shard = &shards(seeds, 4, 11)[1];
    let mut out = String::new();
    text::sweep(shard, &mut out).unwrap();
    assert!(
        out.starts_with("sweep workshop_exercise: FAIL, seeds 100..139 (shard 2/4)\n"),
        "{out}"
    );

    let passing = SweepReport::new(
        "latency_alert",
        "1..3".parse().unwrap(),
        None,
        (1..=3)
            .map(|seed| SweepRun {
                seed,
                digest: format!("{seed:064x}"),
                verdict: Verdict::Pass,
                failed: vec![],
            })
            .collect(),
    );
    let mut out = String::new();
    text::sweep(&passing, &mut out).unwrap();
    assert_eq!(
        out,
        "sweep latency_alert: PASS, seeds 1..3\nruns 3, passed 3, failed 0\n"
    );
}

#[test]
fn a_large_sweep_summary_stays_short() {
    let seeds: SeedRange = "1..1000".parse().unwrap();
    let runs = seeds
        .seeds()
        .map(|seed| SweepRun {
            seed,
            digest: format!("{seed:064x}"),
            verdict: Verdict::Fail,
            failed: vec![EXPECTATIONS[1].to_owned()],
        })
        .collect();
    let report = SweepReport::new("venue_outage", seeds, None, runs);
    let mut out = String::new();
    markdown::sweep(&report, &mut out).unwrap();
    assert_eq!(
        out.lines()
            .filter(|l| l.starts_with("| ") && l.contains("`0000"))
            .count(),
        markdown::FAILING_RUNS_SHOWN
    );
    assert!(out.contains("Seeds: `1..1000`"), "{out}");
    assert!(out.contains("950 more failing runs are listed in the sweep's JSON report."));
}
