//! `report.html`: one self-contained page per scenario run for people (trainers, L2 reviewing a
//! drill): a verdict banner, the expectations, SVG charts echoing the Grafana "Stage4 –
//! Multi-Strategy Operations" panels (prices, equity, drawdown, scheduler latency against the
//! alert thresholds, an alert and action timeline), the timeline table and the summary.
//!
//! The page needs nothing but itself: CSS and SVG are inline, there is no JavaScript, and a
//! Content-Security-Policy forbids every fetch, so it opens the same from a CI artefact, an
//! e-mail attachment or an air-gapped laptop. Markup is XHTML-style (every element closed, every
//! attribute quoted, only XML's five entities) so XML tools can read it too; all report text is
//! escaped.

use std::fmt::{self, Write};

use crate::render::junit::escape;
use crate::render::svg::{
    CRITICAL, Lane, LaneChart, LegendEntry, Line, LineChart, Marker, PALETTE, Shape, Span,
    Threshold, WARNING, series_color, severity_color,
};
use crate::render::text::money;
use crate::scenario::{
    NamedSeries, ScenarioReport, TimelineEntry, TimelineKind, Verdict, format_offset, parse_offset,
    value_text,
};

const STYLE: &str = "\
body{margin:0;background:#f6f8fa;color:#24292f;font:14px/1.45 'DejaVu Sans','Liberation Sans',Arial,sans-serif}
main{max-width:1000px;margin:0 auto;padding:16px 20px 32px}
.banner{display:flex;gap:18px;align-items:center;border-radius:8px;padding:14px 20px;color:#fff}
.banner.pass{background:#1a7f37}.banner.fail{background:#cf222e}
.banner .verdict{font-size:30px;font-weight:bold;letter-spacing:1px}
.banner h1{margin:0;font-size:22px}.banner p{margin:2px 0 0}
section{background:#fff;border:1px solid #d0d7de;border-radius:8px;padding:4px 18px 14px;margin-top:16px}
h2{font-size:18px;margin:12px 0 8px}
.description{white-space:pre-line;margin:12px 2px 0}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{border-bottom:1px solid #d0d7de;padding:5px 8px;text-align:left;vertical-align:top}
th{background:#f6f8fa}
td.num{text-align:right;font-variant-numeric:tabular-nums}
code{font:12px/1.5 'DejaVu Sans Mono','Liberation Mono',monospace;overflow-wrap:anywhere}
td.kind code{white-space:nowrap}
.badge{display:inline-block;border-radius:10px;padding:0 8px;font-size:12px;font-weight:bold;color:#fff;white-space:nowrap}
.badge.pass{background:#1a7f37}.badge.fail{background:#cf222e}.badge.kind{background:#57606a;font-weight:normal}
tr.fail td{background:#ffebe9}
figure{margin:14px 0 0}
figcaption{color:#57606a;font-size:13px;margin-top:2px}
svg.chart{max-width:100%;height:auto;display:block}
.note{color:#57606a;font-size:13px}
footer{color:#57606a;font-size:12px;margin-top:16px}
";

/// Writes `report.html` for one scenario run.
pub fn scenario(report: &ScenarioReport, out: &mut impl Write) -> fmt::Result {
    let name = escape(&report.scenario.name);
    let verdict = report.verdict.label();
    let class = report.verdict.as_str();
    writeln!(out, "<!DOCTYPE html>")?;
    writeln!(
        out,
        "<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">"
    )?;
    writeln!(out, "<head>")?;
    writeln!(out, "<meta charset=\"utf-8\"/>")?;
    writeln!(
        out,
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\"/>"
    )?;
    writeln!(
        out,
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>"
    )?;
    writeln!(out, "<title>stage4 scenario {name}: {verdict}</title>")?;
    writeln!(out, "<style>\n{STYLE}</style>")?;
    writeln!(out, "</head>")?;
    writeln!(out, "<body>")?;
    writeln!(out, "<main>")?;
    writeln!(out, "<header class=\"banner {class}\">")?;
    writeln!(out, "<div class=\"verdict\">{verdict}</div>")?;
    writeln!(
        out,
        "<div><h1>Scenario {name}</h1><p>{} of {} expectations met &#183; seed {} &#183; {} simulated from {}</p></div>",
        report.passed_count(),
        report.expectations.len(),
        report.seed,
        escape(&report.duration),
        escape(&report.as_of)
    )?;
    writeln!(out, "</header>")?;
    if !report.scenario.description.trim().is_empty() {
        writeln!(
            out,
            "<p class=\"description\">{}</p>",
            escape(report.scenario.description.trim())
        )?;
    }
    run_table(report, out)?;
    expectations(report, out)?;
    charts(report, out)?;
    timeline(report, out)?;
    summary(report, out)?;
    writeln!(
        out,
        "<footer>Written by stage4. The same scenario file, seed and build give the same digest; rerun with seed {} to reproduce this run.</footer>",
        report.seed
    )?;
    writeln!(out, "</main>")?;
    writeln!(out, "</body>")?;
    writeln!(out, "</html>")
}

fn run_table(report: &ScenarioReport, out: &mut impl Write) -> fmt::Result {
    writeln!(out, "<section id=\"run\">")?;
    writeln!(out, "<h2>Run</h2>")?;
    writeln!(out, "<table>")?;
    let rows = [
        ("Scenario file", code(&report.scenario.file)),
        ("Seed", report.seed.to_string()),
        ("As of (simulated start)", escape(&report.as_of)),
        ("Duration", escape(&report.duration)),
        ("Digest (SHA-256)", code(&report.digest)),
        (
            "Verdict",
            badge(report.verdict.as_str(), report.verdict.label()),
        ),
    ];
    for (k, v) in rows {
        writeln!(out, "<tr><th>{k}</th><td>{v}</td></tr>")?;
    }
    writeln!(out, "</table>")?;
    writeln!(out, "</section>")
}

fn expectations(report: &ScenarioReport, out: &mut impl Write) -> fmt::Result {
    writeln!(out, "<section id=\"expectations\">")?;
    writeln!(
        out,
        "<h2>Expectations ({} of {} met)</h2>",
        report.passed_count(),
        report.expectations.len()
    )?;
    if report.expectations.is_empty() {
        writeln!(
            out,
            "<p class=\"note\">The scenario states no expectations.</p>"
        )?;
        return writeln!(out, "</section>");
    }
    writeln!(out, "<table>")?;
    writeln!(
        out,
        "<tr><th>#</th><th>Result</th><th>Kind</th><th>Expectation</th><th>Expected</th><th>Observed</th><th>Detail</th></tr>"
    )?;
    for e in &report.expectations {
        let v = Verdict::from_passed(e.passed);
        writeln!(
            out,
            "<tr class=\"{}\"><td class=\"num\">{}</td><td>{}</td><td class=\"kind\"><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            v.as_str(),
            e.index,
            badge(v.as_str(), v.label()),
            escape(&e.kind),
            escape(&e.description),
            value_html(&e.expected),
            value_html(&e.observed),
            escape(&e.detail)
        )?;
    }
    writeln!(out, "</table>")?;
    writeln!(out, "</section>")
}

fn charts(report: &ScenarioReport, out: &mut impl Write) -> fmt::Result {
    let end = report.duration_seconds();
    let c = &report.charts;
    writeln!(out, "<section id=\"charts\">")?;
    writeln!(out, "<h2>Charts</h2>")?;

    // Prices: one chart per symbol, a line per venue, so cross-venue spreads are visible.
    let mut symbols: Vec<&str> = Vec::new();
    for p in &c.prices {
        if !symbols.contains(&p.symbol.as_str()) {
            symbols.push(&p.symbol);
        }
    }
    if symbols.is_empty() {
        figure(
            out,
            &LineChart {
                title: "Prices".into(),
                unit: "price".into(),
                x_end: end,
                lines: vec![],
                thresholds: vec![],
                include_zero: false,
            },
            "No price series were recorded.",
        )?;
    }
    for symbol in symbols {
        let lines = c
            .prices
            .iter()
            .filter(|p| p.symbol == symbol)
            .enumerate()
            .map(|(i, p)| Line {
                name: p.venue.clone(),
                points: &p.points,
                color: series_color(i),
            })
            .collect();
        figure(
            out,
            &LineChart {
                title: format!("{symbol} mid price by venue"),
                unit: "price".into(),
                x_end: end,
                lines,
                thresholds: vec![],
                include_zero: false,
            },
            &format!("{symbol}: one line per venue; gaps are periods without quotes (outages)."),
        )?;
    }

    // Equity: the total dwarfs per-schedule equity, so they get separate charts.
    let (total, per_schedule): (Vec<&NamedSeries>, Vec<&NamedSeries>) =
        c.equity.iter().partition(|s| s.name == "total");
    let equity_groups: Vec<(&str, Vec<&NamedSeries>)> =
        match (total.is_empty(), per_schedule.is_empty()) {
            (false, false) => vec![
                ("Equity (total)", total),
                ("Equity by schedule", per_schedule),
            ],
            (false, true) => vec![("Equity (total)", total)],
            (true, false) => vec![("Equity by schedule", per_schedule)],
            (true, true) => vec![("Equity", vec![])],
        };
    for (title, series) in equity_groups {
        figure(
            out,
            &LineChart {
                title: title.into(),
                unit: "quote".into(),
                x_end: end,
                lines: named_lines(&series),
                thresholds: vec![],
                include_zero: false,
            },
            "Mark-to-market equity in the quote asset.",
        )?;
    }
    let drawdown: Vec<&NamedSeries> = c.drawdown.iter().collect();
    figure(
        out,
        &LineChart {
            title: "Drawdown from peak".into(),
            unit: "%".into(),
            x_end: end,
            lines: named_lines(&drawdown),
            thresholds: vec![],
            include_zero: true,
        },
        "Percent below the running equity peak (the PnL drawdown panel).",
    )?;

    let t = c.latency_thresholds;
    figure(
        out,
        &LineChart {
            title: "Scheduler loop latency".into(),
            unit: "ms".into(),
            x_end: end,
            lines: c
                .latency
                .iter()
                .enumerate()
                .map(|(i, s)| Line {
                    name: s.schedule.clone(),
                    points: &s.points,
                    color: series_color(i),
                })
                .collect(),
            thresholds: vec![
                Threshold {
                    label: format!("warning {} ms", trim_number(t.warning)),
                    value: t.warning,
                    color: WARNING,
                },
                Threshold {
                    label: format!("critical {} ms", trim_number(t.critical)),
                    value: t.critical,
                    color: CRITICAL,
                },
            ],
            include_zero: true,
        },
        "bot_core_multi_strategy_latency_ms per schedule against the alert rules' warning and critical thresholds.",
    )?;

    let (lanes, undrawn) = alert_lanes(report);
    let chart = LaneChart {
        title: "Alerts and operator actions".into(),
        x_end: end,
        legend: lane_legend(report, &lanes),
        guides: report
            .timeline
            .iter()
            .filter(|e| e.kind == TimelineKind::Fault)
            .filter_map(|e| parse_offset(&e.offset))
            .collect(),
        lanes,
    };
    let mut caption = String::from(
        "Alert rules firing (bars; open-ended when still firing at the end) and timeline events (markers; hover for details). Dashed red lines mark fault starts.",
    );
    if undrawn > 0 {
        caption.push_str(&format!(
            " {undrawn} timeline event(s) have an offset not written like 40m or 1h05m and are not drawn; the timeline table lists them."
        ));
    }
    writeln!(out, "<figure>")?;
    chart.render(out)?;
    writeln!(out, "<figcaption>{}</figcaption>", escape(&caption))?;
    writeln!(out, "</figure>")?;
    writeln!(out, "</section>")
}

fn named_lines<'a>(series: &[&'a NamedSeries]) -> Vec<Line<'a>> {
    series
        .iter()
        .enumerate()
        .map(|(i, s)| Line {
            name: s.name.clone(),
            points: &s.points,
            color: series_color(i),
        })
        .collect()
}

fn figure(out: &mut impl Write, chart: &LineChart<'_>, caption: &str) -> fmt::Result {
    writeln!(out, "<figure>")?;
    chart.render(out)?;
    writeln!(out, "<figcaption>{}</figcaption>", escape(caption))?;
    writeln!(out, "</figure>")
}

/// How a timeline kind is drawn: its lane, marker shape, colour, and whether hollow.
fn marker_style(kind: TimelineKind) -> (&'static str, Shape, &'static str, bool) {
    match kind {
        TimelineKind::Fault => ("faults", Shape::TriangleUp, CRITICAL, false),
        TimelineKind::FaultEnd => ("faults", Shape::TriangleDown, CRITICAL, true),
        TimelineKind::Action => ("operator actions", Shape::Circle, PALETTE[0], false),
        TimelineKind::Rollback => ("rollback", Shape::Square, PALETTE[3], false),
        TimelineKind::Escalation => ("escalation", Shape::Diamond, PALETTE[4], false),
        TimelineKind::Incident => ("incidents", Shape::Diamond, PALETTE[5], false),
        TimelineKind::Scheduler => ("scheduler", Shape::Circle, PALETTE[7], false),
        TimelineKind::Risk => ("risk", Shape::Square, PALETTE[1], false),
        TimelineKind::Alert => ("alert events", Shape::Circle, WARNING, true),
    }
}

/// One lane per alert rule (in order of first firing), then one per kind of timeline event.
/// Returns the lanes and how many events could not be placed (offset not parseable).
fn alert_lanes(report: &ScenarioReport) -> (Vec<Lane>, usize) {
    let mut lanes: Vec<Lane> = Vec::new();
    for a in &report.charts.alerts {
        let tooltip = format!(
            "{} ({}): {} to {}",
            a.rule,
            a.severity,
            format_offset(a.from),
            a.to.map_or_else(|| "end of run (still firing)".to_owned(), format_offset)
        );
        let span = Span {
            from: a.from,
            to: a.to,
            color: severity_color(&a.severity),
            tooltip,
        };
        match lanes.iter_mut().find(|l| l.label == a.rule) {
            Some(lane) => lane.spans.push(span),
            None => lanes.push(Lane {
                label: a.rule.clone(),
                spans: vec![span],
                markers: vec![],
            }),
        }
    }
    let have_spans = !lanes.is_empty();
    let mut undrawn = 0;
    for kind in TimelineKind::ALL {
        // Alert bars already show alert events; the markers are for runs without bars.
        if kind == TimelineKind::Alert && have_spans {
            continue;
        }
        let (label, shape, color, hollow) = marker_style(kind);
        let markers: Vec<Marker> = report
            .timeline
            .iter()
            .filter(|e| e.kind == kind)
            .filter_map(|e: &TimelineEntry| {
                let Some(at) = parse_offset(&e.offset) else {
                    undrawn += 1;
                    return None;
                };
                Some(Marker {
                    at,
                    shape,
                    color,
                    hollow,
                    label: e.title.clone(),
                    tooltip: format!("{} {}: {}", e.offset, e.kind.as_str(), e.title),
                })
            })
            .collect();
        if markers.is_empty() {
            continue;
        }
        match lanes.iter_mut().find(|l| l.label == label) {
            Some(lane) => lane.markers.extend(markers),
            None => lanes.push(Lane {
                label: label.to_owned(),
                spans: vec![],
                markers,
            }),
        }
    }
    for lane in &mut lanes {
        // Fault starts and ends share a lane; keep markers in time order so labels do not
        // collide out of order.
        lane.markers.sort_by(|a, b| a.at.total_cmp(&b.at));
    }
    (lanes, undrawn)
}

fn lane_legend(report: &ScenarioReport, lanes: &[Lane]) -> Vec<LegendEntry> {
    let mut legend = Vec::new();
    for severity in ["critical", "warning"] {
        if report.charts.alerts.iter().any(|a| a.severity == severity) {
            legend.push(LegendEntry {
                name: format!("{severity} alert firing"),
                color: severity_color(severity),
                shape: None,
                hollow: false,
            });
        }
    }
    if report
        .charts
        .alerts
        .iter()
        .any(|a| a.severity != "critical" && a.severity != "warning")
    {
        legend.push(LegendEntry {
            name: "other alert firing".into(),
            color: severity_color("info"),
            shape: None,
            hollow: false,
        });
    }
    for kind in TimelineKind::ALL {
        let (label, shape, color, hollow) = marker_style(kind);
        let drawn = lanes.iter().any(|l| l.label == label)
            && report.timeline.iter().any(|e| e.kind == kind);
        if drawn {
            legend.push(LegendEntry {
                name: kind.as_str().replace('_', " "),
                color,
                shape: Some(shape),
                hollow,
            });
        }
    }
    legend
}

fn timeline(report: &ScenarioReport, out: &mut impl Write) -> fmt::Result {
    writeln!(out, "<section id=\"timeline\">")?;
    writeln!(out, "<h2>Timeline ({} events)</h2>", report.timeline.len())?;
    if report.timeline.is_empty() {
        writeln!(
            out,
            "<p class=\"note\">Nothing happened on the timeline.</p>"
        )?;
        return writeln!(out, "</section>");
    }
    writeln!(out, "<table>")?;
    writeln!(
        out,
        "<tr><th>Offset</th><th>At</th><th>Kind</th><th>Event</th><th>Detail</th></tr>"
    )?;
    for e in &report.timeline {
        writeln!(
            out,
            "<tr><td class=\"num\">{}</td><td>{}</td><td><span class=\"badge kind\">{}</span></td><td>{}</td><td>{}</td></tr>",
            escape(&e.offset),
            escape(&e.at),
            e.kind.as_str(),
            escape(&e.title),
            escape(&e.detail)
        )?;
    }
    writeln!(out, "</table>")?;
    writeln!(out, "</section>")
}

fn summary(report: &ScenarioReport, out: &mut impl Write) -> fmt::Result {
    let s = &report.summary;
    writeln!(out, "<section id=\"summary\">")?;
    writeln!(out, "<h2>Summary</h2>")?;
    writeln!(out, "<table>")?;
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
    for (k, v) in rows {
        writeln!(out, "<tr><th>{k}</th><td class=\"num\">{v}</td></tr>")?;
    }
    writeln!(out, "</table>")?;
    if !report.artefacts.is_empty() {
        writeln!(out, "<h2>Artefacts</h2>")?;
        writeln!(out, "<ul>")?;
        for a in &report.artefacts {
            writeln!(out, "<li>{}</li>", code(a))?;
        }
        writeln!(out, "</ul>")?;
    }
    writeln!(out, "</section>")
}

fn badge(class: &str, text: &str) -> String {
    format!(
        "<span class=\"badge {}\">{}</span>",
        escape(class),
        escape(text)
    )
}

/// A JSON value for a table cell: an object as one `key: value` line per key (easier to read
/// than compact JSON in a narrow column), anything else as [`value_text`].
fn value_html(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Object(map) if !map.is_empty() => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let lines: Vec<String> = keys
                .into_iter()
                .map(|k| code(&format!("{k}: {}", value_text(&map[k]))))
                .collect();
            lines.join("<br/>")
        }
        other => code(&value_text(other)),
    }
}

fn code(text: &str) -> String {
    if text.is_empty() {
        String::new()
    } else {
        format!("<code>{}</code>", escape(text))
    }
}

/// A threshold for a label: `250`, `252.5`.
fn trim_number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}
