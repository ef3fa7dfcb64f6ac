//! Seed sweeps: one scenario run under many seeds, possibly split into shards that run on
//! different machines (a CI matrix, a Kubernetes Indexed Job), and the merge that puts the
//! shards' JSON results back together (`stage4 report merge`).
//!
//! Conventions the runner and the merge share, defined here once:
//! - a seed range is written `A..B` and **includes both ends** (`1..100` is a hundred seeds);
//! - a shard is written `i/n` with `1 ≤ i ≤ n`; seed `s` of range `A..B` belongs to shard
//!   `((s - A) mod n) + 1` (round-robin, so every shard gets the same share of slow seeds);
//! - every shard's report carries the whole sweep's range and its own `shard`; the merge
//!   checks each run against both, so a result file from another sweep cannot slip in.
//!
//! Merging the shards of a sweep gives exactly the report of the unsharded sweep: runs sorted by
//! seed, `shard` cleared, totals recomputed. Merging refuses what would make the result a lie:
//! another scenario, another seed range, a seed run twice with different digests, a seed outside
//! its shard, or missing seeds.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::scenario::{ScenarioReport, Verdict};

/// Version of this report's schema.
pub const SCHEMA_VERSION: u32 = 1;

/// The result of a seed sweep (or of one shard of it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SweepReport {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Scenario name.
    pub scenario: String,
    /// The whole sweep's seeds (`A..B`, both ends included), also in a shard's report.
    pub seeds: SeedRange,
    /// Which shard this report covers (`i/n`); `None` for a whole sweep or a merge.
    #[serde(default)]
    pub shard: Option<Shard>,
    /// One entry per seed run, sorted by seed.
    pub runs: Vec<SweepRun>,
    /// Counts over `runs`.
    pub totals: SweepTotals,
}

/// One run of the sweep.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SweepRun {
    /// The seed.
    pub seed: u64,
    /// The run's digest (hex SHA-256): the same seed must always give the same digest.
    pub digest: String,
    /// The run's verdict.
    pub verdict: Verdict,
    /// Descriptions of the expectations that failed, in scenario order.
    pub failed: Vec<String>,
}

impl SweepRun {
    /// The sweep entry of one scenario run.
    pub fn of(report: &ScenarioReport) -> SweepRun {
        SweepRun {
            seed: report.seed,
            digest: report.digest.clone(),
            verdict: report.verdict,
            failed: report.failed().map(|e| e.description.clone()).collect(),
        }
    }
}

/// Counts over the runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SweepTotals {
    /// Runs in the report.
    pub runs: u64,
    /// Runs whose verdict is `pass`.
    pub passed: u64,
    /// Runs whose verdict is `fail`.
    pub failed: u64,
}

impl SweepTotals {
    /// Counts `runs`.
    pub fn of(runs: &[SweepRun]) -> SweepTotals {
        let passed = runs.iter().filter(|r| r.verdict == Verdict::Pass).count() as u64;
        SweepTotals {
            runs: runs.len() as u64,
            passed,
            failed: runs.len() as u64 - passed,
        }
    }
}

impl SweepReport {
    /// A report over `runs` (sorted by seed here; totals computed).
    pub fn new(
        scenario: impl Into<String>,
        seeds: SeedRange,
        shard: Option<Shard>,
        mut runs: Vec<SweepRun>,
    ) -> SweepReport {
        runs.sort_by(|a, b| a.seed.cmp(&b.seed).then_with(|| a.digest.cmp(&b.digest)));
        let totals = SweepTotals::of(&runs);
        SweepReport {
            schema_version: SCHEMA_VERSION,
            scenario: scenario.into(),
            seeds,
            shard,
            runs,
            totals,
        }
    }

    /// `pass` when every run passed.
    pub fn verdict(&self) -> Verdict {
        Verdict::from_passed(self.runs.iter().all(|r| r.verdict == Verdict::Pass))
    }

    /// How many runs failed each expectation, most frequent first (ties by description).
    pub fn failure_counts(&self) -> Vec<(&str, u64)> {
        let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
        for run in &self.runs {
            for description in &run.failed {
                *counts.entry(description.as_str()).or_default() += 1;
            }
        }
        let mut counts: Vec<_> = counts.into_iter().collect();
        counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        counts
    }
}

/// Seeds `first..last`, both included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SeedRange {
    /// First seed.
    pub first: u64,
    /// Last seed (included).
    pub last: u64,
}

impl SeedRange {
    /// `first..last`; `None` when `last < first`.
    pub fn new(first: u64, last: u64) -> Option<SeedRange> {
        (first <= last).then_some(SeedRange { first, last })
    }

    /// Number of seeds (at least 1).
    pub fn len(&self) -> u64 {
        self.last - self.first + 1
    }

    /// Always false: a range has at least one seed. (Here for clippy's `len` convention.)
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Whether `seed` is in the range.
    pub fn contains(&self, seed: u64) -> bool {
        (self.first..=self.last).contains(&seed)
    }

    /// Every seed, ascending.
    pub fn seeds(&self) -> impl Iterator<Item = u64> + use<> {
        self.first..=self.last
    }

    /// The seeds shard `shard` runs, ascending.
    pub fn shard_seeds(&self, shard: Shard) -> impl Iterator<Item = u64> + use<> {
        let (first, step) = (self.first, shard.count);
        let start = first.checked_add(shard.index - 1);
        let last = self.last;
        start
            .into_iter()
            .flat_map(move |start| (start..=last).step_by(step as usize))
    }

    /// The shard (of `count`) that runs `seed`, or `None` when `seed` is outside the range.
    pub fn shard_of(&self, seed: u64, count: u64) -> Option<Shard> {
        if !self.contains(seed) || count == 0 {
            return None;
        }
        Some(Shard {
            index: (seed - self.first) % count + 1,
            count,
        })
    }
}

impl fmt::Display for SeedRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}..{}", self.first, self.last)
    }
}

/// Why a seed range or shard did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Not `A..B` with integers `A ≤ B`.
    #[error(
        "seed range `{0}`: expected `A..B` with whole numbers A <= B (both ends included, e.g. `1..100`)"
    )]
    SeedRange(String),
    /// Not `i/n` with `1 ≤ i ≤ n`.
    #[error("shard `{0}`: expected `i/n` with 1 <= i <= n (e.g. `2/8`)")]
    Shard(String),
}

impl FromStr for SeedRange {
    type Err = ParseError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || ParseError::SeedRange(text.to_owned());
        let (a, b) = text.trim().split_once("..").ok_or_else(bad)?;
        let first: u64 = a.parse().map_err(|_| bad())?;
        let last: u64 = b.parse().map_err(|_| bad())?;
        SeedRange::new(first, last).ok_or_else(bad)
    }
}

impl Serialize for SeedRange {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for SeedRange {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Shard `index` of `count` (1-based: `1/4` … `4/4`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Shard {
    /// Which shard, `1..=count`.
    pub index: u64,
    /// How many shards the sweep is split into.
    pub count: u64,
}

impl Shard {
    /// `index/count`; `None` unless `1 ≤ index ≤ count`.
    pub fn new(index: u64, count: u64) -> Option<Shard> {
        (index >= 1 && index <= count).then_some(Shard { index, count })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = ParseError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || ParseError::Shard(text.to_owned());
        let (i, n) = text.trim().split_once('/').ok_or_else(bad)?;
        let index: u64 = i.parse().map_err(|_| bad())?;
        let count: u64 = n.parse().map_err(|_| bad())?;
        Shard::new(index, count).ok_or_else(bad)
    }
}

impl Serialize for Shard {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Shard {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Why sweep reports cannot be merged. Report numbers are 1-based positions in the input list.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MergeError {
    /// Nothing to merge.
    #[error("no sweep reports to merge")]
    Empty,
    /// A report has a schema version this build does not read.
    #[error("report {report}: schema_version {found}, expected {SCHEMA_VERSION}")]
    SchemaVersion {
        /// Which report.
        report: usize,
        /// Its version.
        found: u32,
    },
    /// Reports of different scenarios.
    #[error(
        "report {report} is a sweep of scenario `{found}`, report 1 of `{expected}`: merge the shards of one sweep at a time"
    )]
    ScenarioMismatch {
        /// Which report.
        report: usize,
        /// Scenario of report 1.
        expected: String,
        /// Scenario of this report.
        found: String,
    },
    /// Reports of different seed ranges (different sweeps).
    #[error(
        "report {report} covers seeds {found}, report 1 covers {expected}: shards of one sweep carry the same range"
    )]
    SeedRangeMismatch {
        /// Which report.
        report: usize,
        /// Range of report 1.
        expected: SeedRange,
        /// Range of this report.
        found: SeedRange,
    },
    /// Reports split the sweep into different numbers of shards.
    #[error("report {report} is shard {found}, report 1 is shard {expected}: shard counts differ")]
    ShardCountMismatch {
        /// Which report.
        report: usize,
        /// Shard of report 1.
        expected: Shard,
        /// Shard of this report.
        found: Shard,
    },
    /// A run's seed is outside the sweep's range.
    #[error("report {report}: seed {seed} is outside the sweep's seeds {seeds}")]
    SeedOutOfRange {
        /// Which report.
        report: usize,
        /// The seed.
        seed: u64,
        /// The range.
        seeds: SeedRange,
    },
    /// A run's seed belongs to another shard than the report's.
    #[error("report {report} (shard {shard}): seed {seed} belongs to shard {belongs}")]
    WrongShard {
        /// Which report.
        report: usize,
        /// The report's shard.
        shard: Shard,
        /// The seed.
        seed: u64,
        /// The shard it belongs to.
        belongs: Shard,
    },
    /// The same seed gave different digests: the runs were not deterministic, or the reports
    /// come from different builds or scenario files.
    #[error(
        "seed {seed} has digest {first} in one report and {second} in another: the same seed must give the same run (different build or scenario file?)"
    )]
    DigestMismatch {
        /// The seed.
        seed: u64,
        /// One digest.
        first: String,
        /// The other.
        second: String,
    },
    /// The same seed and digest with a different verdict or failure list: a report was edited.
    #[error("seed {seed}: two reports agree on digest {digest} but not on the verdict or failures")]
    RunConflict {
        /// The seed.
        seed: u64,
        /// The shared digest.
        digest: String,
    },
    /// A report's totals do not count its runs (the file was edited or truncated).
    #[error(
        "report {report}: totals say {stated:?} but its runs count {counted:?} (edited or truncated file?)"
    )]
    TotalsMismatch {
        /// Which report.
        report: usize,
        /// What the file states.
        stated: SweepTotals,
        /// What its runs count.
        counted: SweepTotals,
    },
    /// Seeds of the range with no run: a shard is missing or incomplete.
    #[error(
        "{count} of the sweep's seeds {seeds} have no run (first: {}): is a shard missing?",
        .first.iter().map(u64::to_string).collect::<Vec<_>>().join(", ")
    )]
    MissingSeeds {
        /// The range.
        seeds: SeedRange,
        /// How many seeds are missing.
        count: u64,
        /// The first few missing seeds.
        first: Vec<u64>,
    },
}

/// How many missing seeds a [`MergeError::MissingSeeds`] lists.
const MISSING_SHOWN: usize = 5;

/// Merges the shards of one sweep (in any order; a shard given twice is harmless) into the report
/// of the whole sweep: runs sorted by seed, `shard` cleared, totals recomputed.
pub fn merge(reports: Vec<SweepReport>) -> Result<SweepReport, MergeError> {
    let first = reports.first().ok_or(MergeError::Empty)?;
    let (scenario, seeds, shard0) = (first.scenario.clone(), first.seeds, first.shard);
    let mut runs: BTreeMap<u64, SweepRun> = BTreeMap::new();
    for (i, report) in reports.into_iter().enumerate() {
        let n = i + 1;
        if report.schema_version != SCHEMA_VERSION {
            return Err(MergeError::SchemaVersion {
                report: n,
                found: report.schema_version,
            });
        }
        if report.scenario != scenario {
            return Err(MergeError::ScenarioMismatch {
                report: n,
                expected: scenario,
                found: report.scenario,
            });
        }
        if report.seeds != seeds {
            return Err(MergeError::SeedRangeMismatch {
                report: n,
                expected: seeds,
                found: report.seeds,
            });
        }
        if let (Some(a), Some(b)) = (shard0, report.shard)
            && a.count != b.count
        {
            return Err(MergeError::ShardCountMismatch {
                report: n,
                expected: a,
                found: b,
            });
        }
        let counted = SweepTotals::of(&report.runs);
        if counted != report.totals {
            return Err(MergeError::TotalsMismatch {
                report: n,
                stated: report.totals,
                counted,
            });
        }
        for run in report.runs {
            if !seeds.contains(run.seed) {
                return Err(MergeError::SeedOutOfRange {
                    report: n,
                    seed: run.seed,
                    seeds,
                });
            }
            if let Some(shard) = report.shard {
                let belongs = seeds
                    .shard_of(run.seed, shard.count)
                    .expect("seed is in range and count >= 1");
                if belongs != shard {
                    return Err(MergeError::WrongShard {
                        report: n,
                        shard,
                        seed: run.seed,
                        belongs,
                    });
                }
            }
            match runs.get(&run.seed) {
                None => {
                    runs.insert(run.seed, run);
                }
                Some(seen) if seen.digest != run.digest => {
                    return Err(MergeError::DigestMismatch {
                        seed: run.seed,
                        first: seen.digest.clone(),
                        second: run.digest,
                    });
                }
                Some(seen) if *seen != run => {
                    return Err(MergeError::RunConflict {
                        seed: run.seed,
                        digest: run.digest,
                    });
                }
                Some(_) => {}
            }
        }
    }
    let missing = seeds.len() - runs.len() as u64;
    if missing > 0 {
        let first = seeds
            .seeds()
            .filter(|s| !runs.contains_key(s))
            .take(MISSING_SHOWN)
            .collect();
        return Err(MergeError::MissingSeeds {
            seeds,
            count: missing,
            first,
        });
    }
    Ok(SweepReport::new(
        scenario,
        seeds,
        None,
        runs.into_values().collect(),
    ))
}

/// Seeds as compact ranges: `1..3, 7, 9..12` (input sorted ascending).
pub fn compact_seeds(seeds: impl IntoIterator<Item = u64>) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut current: Option<(u64, u64)> = None;
    let flush = |parts: &mut Vec<String>, (a, b): (u64, u64)| {
        parts.push(if a == b {
            a.to_string()
        } else {
            format!("{a}..{b}")
        });
    };
    for seed in seeds {
        current = match current {
            Some((a, b)) if b.checked_add(1) == Some(seed) => Some((a, seed)),
            Some(range) => {
                flush(&mut parts, range);
                Some((seed, seed))
            }
            None => Some((seed, seed)),
        };
    }
    if let Some(range) = current {
        flush(&mut parts, range);
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(seed: u64, pass: bool) -> SweepRun {
        SweepRun {
            seed,
            digest: format!("{seed:064x}"),
            verdict: Verdict::from_passed(pass),
            failed: if pass {
                vec![]
            } else {
                vec!["no orders while disabled".into()]
            },
        }
    }

    fn shard(seeds: SeedRange, s: Shard) -> SweepReport {
        let runs = seeds.shard_seeds(s).map(|x| run(x, x % 3 != 0)).collect();
        SweepReport::new("latency_alert", seeds, Some(s), runs)
    }

    #[test]
    fn ranges_and_shards_parse_and_print() {
        let ok = [("1..100", (1, 100)), ("7..7", (7, 7)), (" 0..3 ", (0, 3))];
        for (text, (a, b)) in ok {
            let r: SeedRange = text.parse().unwrap();
            assert_eq!((r.first, r.last), (a, b), "{text}");
            assert_eq!(r.to_string(), format!("{a}..{b}"));
        }
        for text in [
            "", "5", "5..", "..5", "9..3", "1...4", "-1..4", "1..=4", "a..b",
        ] {
            assert!(text.parse::<SeedRange>().is_err(), "{text:?} parsed");
        }
        let s: Shard = "2/8".parse().unwrap();
        assert_eq!((s.index, s.count, s.to_string()), (2, 8, "2/8".into()));
        for text in ["0/4", "5/4", "1/0", "1", "1/", "/4", "a/b", "1/2/3"] {
            assert!(text.parse::<Shard>().is_err(), "{text:?} parsed");
        }
        let err = "9..3".parse::<SeedRange>().unwrap_err().to_string();
        assert!(err.contains("`9..3`") && err.contains("A <= B"), "{err}");
    }

    #[test]
    fn shards_partition_the_range_round_robin() {
        let seeds = SeedRange::new(10, 20).unwrap();
        let got: Vec<Vec<u64>> = (1..=3)
            .map(|i| seeds.shard_seeds(Shard::new(i, 3).unwrap()).collect())
            .collect();
        assert_eq!(
            got,
            [vec![10, 13, 16, 19], vec![11, 14, 17, 20], vec![12, 15, 18]]
        );
        for seed in seeds.seeds() {
            let s = seeds.shard_of(seed, 3).unwrap();
            assert!(got[(s.index - 1) as usize].contains(&seed));
        }
        // More shards than seeds: the extra shards are empty, not an error.
        let tiny = SeedRange::new(u64::MAX - 1, u64::MAX).unwrap();
        assert_eq!(
            tiny.shard_seeds(Shard::new(3, 4).unwrap()).count(),
            0,
            "no overflow at the top of u64"
        );
        assert_eq!(tiny.shard_seeds(Shard::new(2, 4).unwrap()).count(), 1);
    }

    #[test]
    fn json_uses_the_text_forms() {
        let seeds = SeedRange::new(1, 3).unwrap();
        let report = shard(seeds, Shard::new(1, 2).unwrap());
        let text = crate::render::json::to_compact_sorted(&report).unwrap();
        assert!(text.contains(r#""seeds":"1..3""#), "{text}");
        assert!(text.contains(r#""shard":"1/2""#), "{text}");
        assert!(
            text.contains(r#""totals":{"failed":1,"passed":1,"runs":2}"#),
            "{text}"
        );
        let back: SweepReport = serde_json::from_str(&text).unwrap();
        assert_eq!(back, report);
        let bad = text.replace("\"1/2\"", "\"3/2\"");
        let err = serde_json::from_str::<SweepReport>(&bad).unwrap_err();
        assert!(err.to_string().contains("shard `3/2`"), "{err}");
    }

    #[test]
    fn merge_refuses_what_would_make_the_result_a_lie() {
        let seeds = SeedRange::new(1, 9).unwrap();
        let s = |i| shard(seeds, Shard::new(i, 3).unwrap());
        let good = || vec![s(1), s(2), s(3)];

        let mut other = good();
        other[1].scenario = "risk_breach".into();
        let mut range = good();
        range[2].seeds = SeedRange::new(1, 10).unwrap();
        let mut digest = good();
        let mut dup = digest[0].runs[0].clone();
        dup.digest = "ff".into();
        digest[1] = SweepReport::new("latency_alert", seeds, None, vec![dup]);
        let mut conflict = good();
        let mut dup = conflict[0].runs[0].clone();
        dup.failed.push("extra".into());
        dup.verdict = Verdict::Fail;
        conflict.push(SweepReport::new("latency_alert", seeds, None, vec![dup]));
        let mut wrong_shard = good();
        wrong_shard[0].shard = Some(Shard::new(2, 3).unwrap());
        let mut counts = good();
        counts[1].shard = Some(Shard::new(2, 4).unwrap());
        let mut totals = good();
        totals[0].runs.pop();
        let mut out_of_range = good();
        out_of_range[0].runs.push(run(40, true));
        out_of_range[0].totals = SweepTotals::of(&out_of_range[0].runs);
        out_of_range[0].shard = None;
        let mut version = good();
        version[2].schema_version = 2;

        let cases: Vec<(&str, Vec<SweepReport>, &str)> = vec![
            ("nothing", vec![], "no sweep reports"),
            ("another scenario", other, "merge the shards of one sweep"),
            ("another range", range, "covers seeds 1..10"),
            ("digest differs", digest, "seed 1 has digest"),
            ("edited run", conflict, "seed 1: two reports agree"),
            ("seed in wrong shard", wrong_shard, "belongs to shard 1/3"),
            ("shard counts differ", counts, "shard counts differ"),
            ("truncated file", totals, "totals say"),
            ("seed outside range", out_of_range, "seed 40 is outside"),
            ("newer schema", version, "schema_version 2"),
            (
                "missing shard",
                vec![s(1), s(3)],
                "3 of the sweep's seeds 1..9 have no run (first: 2, 5, 8)",
            ),
        ];
        for (name, input, needle) in cases {
            let err = merge(input).expect_err(name).to_string();
            assert!(err.contains(needle), "{name}: {err}");
        }
    }

    #[test]
    fn merge_of_shards_equals_the_whole_sweep_and_tolerates_repeats() {
        let seeds = SeedRange::new(5, 17).unwrap();
        let whole = SweepReport::new(
            "latency_alert",
            seeds,
            None,
            seeds.seeds().map(|x| run(x, x % 3 != 0)).collect(),
        );
        let shards: Vec<_> = (1..=4)
            .rev()
            .map(|i| shard(seeds, Shard::new(i, 4).unwrap()))
            .collect();
        let mut repeated = shards.clone();
        repeated.push(shards[0].clone());
        assert_eq!(merge(shards).unwrap(), whole);
        assert_eq!(merge(repeated).unwrap(), whole);
        assert_eq!(merge(vec![whole.clone()]).unwrap(), whole);
        assert_eq!(whole.verdict(), Verdict::Fail);
        assert_eq!(
            whole.failure_counts(),
            vec![("no orders while disabled", 4)]
        );
    }

    #[test]
    fn seeds_compact_into_ranges() {
        assert_eq!(compact_seeds([]), "");
        assert_eq!(compact_seeds([4]), "4");
        assert_eq!(compact_seeds([1, 2, 3, 7, 9, 10, 11, 12]), "1..3, 7, 9..12");
        assert_eq!(
            compact_seeds([u64::MAX - 1, u64::MAX]),
            format!("{}..{}", u64::MAX - 1, u64::MAX)
        );
    }
}
