//! GitHub-flavoured Markdown: `report.md` of a scenario run and the summary of a sweep, for
//! pull-request comments, job summaries and wikis.
//!
//! Report text is data, never markup: names and messages are backslash-escaped (CommonMark
//! allows it before any ASCII punctuation), values go in code spans fenced with more backticks
//! than they contain, and `|` is escaped inside tables, where GFM splits cells on it even inside
//! code spans. Line breaks inside a cell become spaces (a cell is one line).

use std::fmt::{self, Write};

use crate::render::text::{money, one_line};
use crate::scenario::{ScenarioReport, Verdict, value_text};
use crate::sweep::{SweepReport, compact_seeds};

/// The most failing runs the sweep summary lists one by one (the seeds line names them all).
pub const FAILING_RUNS_SHOWN: usize = 50;

/// Writes `report.md` for one scenario run.
pub fn scenario(report: &ScenarioReport, out: &mut impl Write) -> fmt::Result {
    writeln!(
        out,
        "# Scenario {}: {}",
        text(&report.scenario.name),
        verdict(report.verdict)
    )?;
    writeln!(out)?;
    if !report.scenario.description.trim().is_empty() {
        quote(&report.scenario.description, out)?;
        writeln!(out)?;
    }
    writeln!(out, "| Run | |")?;
    writeln!(out, "|---|---|")?;
    let met = format!(
        "{} ({}/{} expectations met)",
        verdict(report.verdict),
        report.passed_count(),
        report.expectations.len()
    );
    let rows = [
        ("Scenario file", code(&report.scenario.file, true)),
        ("Seed", report.seed.to_string()),
        ("As of", cell(&report.as_of)),
        ("Duration", cell(&report.duration)),
        ("Digest", code(&report.digest, true)),
        ("Verdict", met),
    ];
    for (name, value) in rows {
        writeln!(out, "| {name} | {value} |")?;
    }
    writeln!(out)?;

    writeln!(out, "## Expectations")?;
    writeln!(out)?;
    if report.expectations.is_empty() {
        writeln!(out, "The scenario states no expectations.")?;
    } else {
        writeln!(
            out,
            "| # | Result | Kind | Expectation | Expected | Observed |"
        )?;
        writeln!(out, "|---:|---|---|---|---|---|")?;
        for e in &report.expectations {
            writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} |",
                e.index,
                verdict(Verdict::from_passed(e.passed)),
                code(&e.kind, true),
                cell(&e.description),
                code(&value_text(&e.expected), true),
                code(&value_text(&e.observed), true)
            )?;
        }
        let explained: Vec<_> = report
            .expectations
            .iter()
            .filter(|e| !e.detail.trim().is_empty())
            .collect();
        if !explained.is_empty() {
            writeln!(out)?;
            writeln!(out, "### Details")?;
            writeln!(out)?;
            for e in explained {
                writeln!(
                    out,
                    "- **{}. {}** ({}): {}",
                    e.index,
                    text(&one_line(&e.description)),
                    if e.passed { "pass" } else { "fail" },
                    text(&one_line(&e.detail))
                )?;
            }
        }
    }
    writeln!(out)?;

    writeln!(out, "## Timeline")?;
    writeln!(out)?;
    if report.timeline.is_empty() {
        writeln!(out, "Nothing happened on the timeline.")?;
    } else {
        writeln!(out, "| Offset | At | Kind | Event | Detail |")?;
        writeln!(out, "|---|---|---|---|---|")?;
        for t in &report.timeline {
            writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                cell(&t.offset),
                cell(&t.at),
                text(t.kind.as_str()),
                cell(&t.title),
                cell(&t.detail)
            )?;
        }
    }
    writeln!(out)?;

    let s = &report.summary;
    writeln!(out, "## Summary")?;
    writeln!(out)?;
    writeln!(out, "| Measure | Value |")?;
    writeln!(out, "|---|---:|")?;
    let rows = [
        ("Signals", s.signals.to_string()),
        ("Orders", s.orders.to_string()),
        ("Fills", s.fills.to_string()),
        ("Rejects (venue)", s.rejects.to_string()),
        ("Refusals (risk)", s.refusals.to_string()),
        ("Realized PnL", money(s.realized_pnl)),
        ("Final equity", money(s.final_equity)),
        ("Max drawdown", format!("{} %", money(s.max_drawdown_pct))),
        ("Decision log entries", s.decision_log_entries.to_string()),
        ("Alerts fired", s.alerts_fired.to_string()),
    ];
    for (name, value) in rows {
        writeln!(out, "| {name} | {value} |")?;
    }

    if !report.artefacts.is_empty() {
        writeln!(out)?;
        writeln!(out, "## Artefacts")?;
        writeln!(out)?;
        for a in &report.artefacts {
            writeln!(out, "- {}", code(a, false))?;
        }
    }
    Ok(())
}

/// Writes the Markdown summary of a sweep.
pub fn sweep(report: &SweepReport, out: &mut impl Write) -> fmt::Result {
    writeln!(
        out,
        "# Sweep {}: {}",
        text(&report.scenario),
        verdict(report.verdict())
    )?;
    writeln!(out)?;
    let t = report.totals;
    writeln!(out, "| Sweep | |")?;
    writeln!(out, "|---|---|")?;
    writeln!(out, "| Seeds | {} |", code(&report.seeds.to_string(), true))?;
    if let Some(shard) = report.shard {
        writeln!(out, "| Shard | {} |", code(&shard.to_string(), true))?;
    }
    writeln!(out, "| Runs | {} |", t.runs)?;
    writeln!(out, "| Passed | {} |", t.passed)?;
    writeln!(out, "| Failed | {} |", t.failed)?;
    let failing: Vec<_> = report
        .runs
        .iter()
        .filter(|r| r.verdict == Verdict::Fail)
        .collect();
    if failing.is_empty() {
        return Ok(());
    }
    writeln!(out)?;
    writeln!(out, "## Failed expectations")?;
    writeln!(out)?;
    writeln!(out, "| Runs | Expectation |")?;
    writeln!(out, "|---:|---|")?;
    for (description, count) in report.failure_counts() {
        writeln!(out, "| {count} | {} |", cell(description))?;
    }
    writeln!(out)?;
    writeln!(out, "## Failing runs")?;
    writeln!(out)?;
    writeln!(
        out,
        "Seeds: {}",
        code(&compact_seeds(failing.iter().map(|r| r.seed)), false)
    )?;
    writeln!(out)?;
    writeln!(out, "| Seed | Digest | Failed |")?;
    writeln!(out, "|---:|---|---|")?;
    let more = failing.len().saturating_sub(FAILING_RUNS_SHOWN);
    for r in failing.into_iter().take(FAILING_RUNS_SHOWN) {
        let failed: Vec<String> = r.failed.iter().map(|f| cell(f)).collect();
        writeln!(
            out,
            "| {} | {} | {} |",
            r.seed,
            code(&r.digest, true),
            failed.join("; ")
        )?;
    }
    if more > 0 {
        writeln!(out)?;
        writeln!(
            out,
            "{more} more failing runs are listed in the sweep's JSON report."
        )?;
    }
    Ok(())
}

fn verdict(v: Verdict) -> String {
    match v {
        Verdict::Pass => "PASS".to_owned(),
        Verdict::Fail => "**FAIL**".to_owned(),
    }
}

/// Text as literal Markdown inline content.
fn text(raw: &str) -> String {
    let chars: Vec<char> = raw.chars().collect();
    let mut out = String::with_capacity(raw.len());
    for (i, &c) in chars.iter().enumerate() {
        // An underscore inside a word (`mr_core`) can neither open nor close emphasis, so it
        // stays readable; everywhere else it is escaped like the other markup characters.
        let intraword = c == '_'
            && i > 0
            && chars[i - 1].is_alphanumeric()
            && chars.get(i + 1).is_some_and(|n| n.is_alphanumeric());
        if !intraword
            && matches!(
                c,
                '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '&' | '~' | '#' | '!'
            )
        {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Text for a table cell: one line, escaped; `|` is covered by [`text`].
fn cell(raw: &str) -> String {
    text(&one_line(raw))
}

/// A one-line code span holding `raw` literally; empty text gives nothing. In a table (`in_table`)
/// `|` is escaped, which GFM undoes before reading the span.
fn code(raw: &str, in_table: bool) -> String {
    let raw = one_line(raw);
    if raw.is_empty() {
        return String::new();
    }
    let longest_run = raw.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest_run + 1);
    let pad = if raw.starts_with('`') || raw.ends_with('`') {
        " "
    } else {
        ""
    };
    let body = if in_table {
        raw.replace('|', "\\|")
    } else {
        raw
    };
    format!("{fence}{pad}{body}{pad}{fence}")
}

/// A block quote of `raw`, line by line, with line starts that would open a block (list,
/// heading underline) escaped.
fn quote(raw: &str, out: &mut impl Write) -> fmt::Result {
    for line in raw.trim().lines() {
        let line = line.trim_end();
        let mut escaped = text(line.trim_start());
        let lead = escaped.chars().next();
        let numbered = escaped
            .find(|c: char| !c.is_ascii_digit())
            .filter(|&i| i > 0)
            .filter(|&i| escaped[i..].starts_with(['.', ')']));
        if let Some(i) = numbered {
            escaped.insert(i, '\\');
        } else if matches!(lead, Some('-' | '+' | '=')) {
            escaped.insert(0, '\\');
        }
        if escaped.is_empty() {
            writeln!(out, ">")?;
        } else {
            writeln!(out, "> {escaped}")?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_spans_hold_any_text() {
        let cases = [
            ("plain", false, "`plain`"),
            ("a`b", false, "``a`b``"),
            ("`x`", false, "`` `x` ``"),
            ("a|b", true, "`a\\|b`"),
            ("a|b", false, "`a|b`"),
            ("", true, ""),
            ("two\nlines", false, "`two lines`"),
        ];
        for (raw, in_table, want) in cases {
            assert_eq!(code(raw, in_table), want, "{raw:?}");
        }
    }

    #[test]
    fn markup_in_text_is_escaped() {
        assert_eq!(
            text("<b>*x*</b> | [a](b) & _y_"),
            "\\<b\\>\\*x\\*\\</b\\> \\| \\[a\\](b) \\& \\_y\\_"
        );
        assert_eq!(text("mr_core _x_ a__b"), "mr_core \\_x\\_ a\\_\\_b");
        let mut out = String::new();
        quote("- not a list\n1. not a list either\n===\n\nplain", &mut out).unwrap();
        assert_eq!(
            out,
            "> \\- not a list\n> 1\\. not a list either\n> \\===\n>\n> plain\n"
        );
    }
}
