//! Plain text for terminals and CI logs: what `stage4 scenario run --format text` and
//! `stage4 scenario sweep` print.
//!
//! The output is snapshotted for every scenario, so it carries nothing machine-specific (no
//! scenario file path, no artefact directory) and stays ASCII apart from what the report's own
//! text contains. Every expectation gets one line; a failed one gets its detail underneath.
//! The timeline is cut to what an operator scans first: faults, actions, alerts, rollbacks,
//! escalations and incidents, at most [`TIMELINE_LINES`] of them.

use std::fmt::{self, Write};

use crate::render::svg::fixed;
use crate::scenario::{ScenarioReport, Summary, TimelineEntry, TimelineKind, Verdict, value_text};
use crate::sweep::{SweepReport, compact_seeds};

/// The most timeline lines the text report prints.
pub const TIMELINE_LINES: usize = 20;

/// Writes the text report of one scenario run.
pub fn scenario(report: &ScenarioReport, out: &mut impl Write) -> fmt::Result {
    let total = report.expectations.len();
    writeln!(
        out,
        "scenario {}: {} ({}/{} expectations met)",
        one_line(&report.scenario.name),
        report.verdict.label(),
        report.passed_count(),
        total
    )?;
    writeln!(
        out,
        "seed {}, as of {}, duration {}",
        report.seed,
        one_line(&report.as_of),
        one_line(&report.duration)
    )?;
    writeln!(out, "digest {}", one_line(&report.digest))?;
    writeln!(out)?;
    writeln!(out, "expectations")?;
    if report.expectations.is_empty() {
        writeln!(out, "  (none)")?;
    }
    let width = report
        .expectations
        .iter()
        .map(|e| e.index.to_string().len())
        .max()
        .unwrap_or(1);
    for e in &report.expectations {
        let mark = if e.passed { "PASS" } else { "FAIL" };
        writeln!(
            out,
            "  {mark} {:>width$}. {} (observed: {})",
            e.index,
            one_line(&e.description),
            one_line(&value_text(&e.observed))
        )?;
        if !e.passed {
            writeln!(
                out,
                "  {:>pad$}expected: {}",
                "",
                one_line(&value_text(&e.expected)),
                pad = 5 + width + 2
            )?;
            if !e.detail.trim().is_empty() {
                writeln!(
                    out,
                    "  {:>pad$}{}",
                    "",
                    one_line(&e.detail),
                    pad = 5 + width + 2
                )?;
            }
        }
    }
    writeln!(out)?;
    timeline(&report.timeline, out)?;
    writeln!(out)?;
    summary(&report.summary, out)
}

/// Kinds the short timeline shows first.
fn headline(kind: TimelineKind) -> bool {
    !matches!(kind, TimelineKind::Scheduler | TimelineKind::Risk)
}

fn timeline(entries: &[TimelineEntry], out: &mut impl Write) -> fmt::Result {
    let shown: Vec<&TimelineEntry> = if entries.len() <= TIMELINE_LINES {
        entries.iter().collect()
    } else {
        entries
            .iter()
            .filter(|e| headline(e.kind))
            .take(TIMELINE_LINES)
            .collect()
    };
    if shown.len() == entries.len() {
        writeln!(out, "timeline ({} events)", entries.len())?;
    } else {
        writeln!(
            out,
            "timeline ({} of {} events; the full list is in report.md)",
            shown.len(),
            entries.len()
        )?;
    }
    if entries.is_empty() {
        writeln!(out, "  (none)")?;
    }
    let offset_w = shown
        .iter()
        .map(|e| e.offset.chars().count())
        .max()
        .unwrap_or(0);
    for e in shown {
        writeln!(
            out,
            "  {:<offset_w$}  {:<10}  {}",
            one_line(&e.offset),
            e.kind.as_str(),
            one_line(&e.title)
        )?;
    }
    Ok(())
}

fn summary(s: &Summary, out: &mut impl Write) -> fmt::Result {
    writeln!(out, "summary")?;
    writeln!(
        out,
        "  signals {}, orders {}, fills {}, rejects {}, refusals {}",
        s.signals, s.orders, s.fills, s.rejects, s.refusals
    )?;
    writeln!(
        out,
        "  realized PnL {}, final equity {}, max drawdown {}%",
        money(s.realized_pnl),
        money(s.final_equity),
        money(s.max_drawdown_pct)
    )?;
    writeln!(
        out,
        "  decision log entries {}, alerts fired {}",
        s.decision_log_entries, s.alerts_fired
    )
}

/// Writes the text summary of a sweep: totals, failing seeds, and which expectations failed
/// how often.
pub fn sweep(report: &SweepReport, out: &mut impl Write) -> fmt::Result {
    write!(
        out,
        "sweep {}: {}, seeds {}",
        one_line(&report.scenario),
        report.verdict().label(),
        report.seeds
    )?;
    if let Some(shard) = report.shard {
        write!(out, " (shard {shard})")?;
    }
    writeln!(out)?;
    let t = report.totals;
    writeln!(
        out,
        "runs {}, passed {}, failed {}",
        t.runs, t.passed, t.failed
    )?;
    let failing: Vec<u64> = report
        .runs
        .iter()
        .filter(|r| r.verdict == Verdict::Fail)
        .map(|r| r.seed)
        .collect();
    if failing.is_empty() {
        return Ok(());
    }
    writeln!(out, "failing seeds: {}", compact_seeds(failing))?;
    writeln!(out, "failed expectations")?;
    for (description, count) in report.failure_counts() {
        writeln!(out, "  {count:>5}  {}", one_line(description))?;
    }
    Ok(())
}

/// Money and percentages: two decimals, `n/a` when not finite, never `-0.00`.
pub(crate) fn money(v: f64) -> String {
    if v.is_finite() {
        fixed(v, 2)
    } else {
        "n/a".to_owned()
    }
}

/// Text on one line: runs of whitespace containing a line break become one space.
pub(crate) fn one_line(text: &str) -> String {
    if !text.contains(['\n', '\r']) {
        return text.to_owned();
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(kinds: &[(TimelineKind, usize)]) -> Vec<TimelineEntry> {
        kinds
            .iter()
            .flat_map(|&(kind, count)| std::iter::repeat_n(kind, count))
            .enumerate()
            .map(|(i, kind)| TimelineEntry {
                at: String::new(),
                offset: format!("{i}m"),
                kind,
                title: format!("event {i}"),
                detail: String::new(),
            })
            .collect()
    }

    #[test]
    fn long_timelines_are_cut_to_what_operators_scan_first() {
        let cases = [
            (
                "short: everything",
                vec![(TimelineKind::Scheduler, 20)],
                20,
                "timeline (20 events)",
            ),
            (
                "noise dropped",
                vec![(TimelineKind::Scheduler, 15), (TimelineKind::Action, 15)],
                15,
                "timeline (15 of 30 events; the full list is in report.md)",
            ),
            (
                "capped",
                vec![(TimelineKind::Fault, 25), (TimelineKind::Risk, 1)],
                TIMELINE_LINES,
                "timeline (20 of 26 events; the full list is in report.md)",
            ),
        ];
        for (name, kinds, lines, header) in cases {
            let mut out = String::new();
            timeline(&entries(&kinds), &mut out).unwrap();
            let mut it = out.lines();
            assert_eq!(it.next(), Some(header), "{name}");
            assert_eq!(it.count(), lines, "{name}");
        }
    }

    #[test]
    fn one_line_keeps_single_lines_and_joins_the_rest() {
        assert_eq!(one_line("a  b"), "a  b");
        assert_eq!(one_line("first\n  second\r\nthird "), "first second third");
    }

    #[test]
    fn money_has_two_decimals_and_no_negative_zero() {
        let cases = [
            (1.005, "1.00"),
            (-0.001, "0.00"),
            (-12.346, "-12.35"),
            (f64::NAN, "n/a"),
            (100_012.5, "100012.50"),
        ];
        for (v, text) in cases {
            assert_eq!(money(v), text, "{v}");
        }
    }
}
