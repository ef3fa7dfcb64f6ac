//! Scenario reports end to end: the two hand-built fixture reports (`tests/fixtures/`) read into
//! the schema, write back byte for byte, and render to text, Markdown, JUnit and HTML
//! (snapshotted); hostile text never breaks the markup; degenerate charts still render.

use stage4_reports::render::junit;
use stage4_reports::render::{html, json, markdown, text};
use stage4_reports::scenario::{
    AlertSpan, Charts, ExpectationResult, LatencySeries, NamedSeries, Point, PriceSeries,
    ScenarioInfo, ScenarioReport, Summary, TimelineEntry, TimelineKind, Verdict,
};

/// The fixture reports: `(file stem, JSON text)`.
pub(crate) const FIXTURES: [(&str, &str); 2] = [
    (
        "scenario_pass",
        include_str!("../fixtures/scenario_pass.json"),
    ),
    (
        "scenario_fail",
        include_str!("../fixtures/scenario_fail.json"),
    ),
];

/// A fixture report by file stem.
pub(crate) fn fixture(stem: &str) -> ScenarioReport {
    let (_, text) = FIXTURES
        .iter()
        .find(|(s, _)| *s == stem)
        .unwrap_or_else(|| panic!("no fixture {stem}"));
    serde_json::from_str(text).unwrap_or_else(|e| panic!("fixture {stem}: {e}"))
}

pub(crate) fn render_html(report: &ScenarioReport) -> String {
    let mut out = String::new();
    html::scenario(report, &mut out).unwrap();
    out
}

fn render_text(report: &ScenarioReport) -> String {
    let mut out = String::new();
    text::scenario(report, &mut out).unwrap();
    out
}

fn render_markdown(report: &ScenarioReport) -> String {
    let mut out = String::new();
    markdown::scenario(report, &mut out).unwrap();
    out
}

/// Parses the page as XML (it is written XHTML-style), failing with the parser's position.
fn parse_xml(doc: &str) -> roxmltree::Document<'_> {
    let options = roxmltree::ParsingOptions {
        allow_dtd: true,
        ..Default::default()
    };
    roxmltree::Document::parse_with_options(doc, options)
        .unwrap_or_else(|e| panic!("not well-formed XML: {e}"))
}

#[test]
fn fixtures_round_trip_byte_for_byte_and_their_verdicts_add_up() {
    for (stem, text) in FIXTURES {
        let report = fixture(stem);
        assert_eq!(
            json::to_pretty_sorted(&report).unwrap() + "\n",
            text,
            "{stem}: JSON is the schema serialised sorted"
        );
        assert_eq!(report.verdict, Verdict::of(&report.expectations), "{stem}");
        assert_eq!(
            report.schema_version,
            stage4_reports::scenario::SCHEMA_VERSION
        );
    }
    let failing = fixture("scenario_fail");
    assert_eq!(failing.failed().count(), 3);
    // A venue outage is carried as gaps (null in JSON, NaN in memory).
    let kraken = &failing.charts.prices[1];
    assert_eq!(kraken.venue, "kraken");
    assert_eq!(
        kraken.points.iter().filter(|p| p.value.is_nan()).count(),
        10
    );
    assert_eq!(failing.charts.alerts[2].to, None);
}

#[test]
fn text_reports() {
    for (stem, _) in FIXTURES {
        let out = render_text(&fixture(stem));
        assert!(
            !out.contains("scenarios/"),
            "{stem}: no file paths in text output"
        );
        insta::assert_snapshot!(format!("{stem}.txt"), out);
    }
}

#[test]
fn markdown_reports() {
    for (stem, _) in FIXTURES {
        insta::assert_snapshot!(format!("{stem}.md"), render_markdown(&fixture(stem)));
    }
}

#[test]
fn junit_reports() {
    for (stem, _) in FIXTURES {
        let report = fixture(stem);
        let xml = junit::render(&report.to_junit());
        let doc = parse_xml(&xml);
        let cases: Vec<_> = doc
            .descendants()
            .filter(|n| n.has_tag_name("testcase"))
            .collect();
        assert_eq!(cases.len(), report.expectations.len(), "{stem}");
        let failures: Vec<_> = doc
            .descendants()
            .filter(|n| n.has_tag_name("failure"))
            .collect();
        assert_eq!(failures.len(), report.failed().count(), "{stem}");
        for (failure, expectation) in failures.iter().zip(report.failed()) {
            assert_eq!(
                failure.attribute("message"),
                Some(expectation.description.as_str())
            );
            let body = failure.text().unwrap_or_default();
            assert!(
                body.starts_with("expected: ") && body.contains("\nobserved: "),
                "{body}"
            );
        }
        insta::assert_snapshot!(format!("{stem}.junit.xml"), xml);
    }
}

#[test]
fn html_reports() {
    for (stem, _) in FIXTURES {
        let report = fixture(stem);
        let page = render_html(&report);
        let doc = parse_xml(&page);
        assert_self_contained(&doc, stem);
        // Banner, one table row per expectation, and all the charts.
        let banner = doc
            .descendants()
            .find(|n| n.has_tag_name("header"))
            .expect("a banner");
        assert_eq!(
            banner.attribute("class"),
            Some(format!("banner {}", report.verdict.as_str()).as_str())
        );
        let rows = doc
            .descendants()
            .filter(|n| {
                n.has_tag_name("tr") && matches!(n.attribute("class"), Some("pass" | "fail"))
            })
            .count();
        assert_eq!(rows, report.expectations.len(), "{stem}");
        let titles: Vec<String> = doc
            .descendants()
            .filter(|n| n.has_tag_name("svg"))
            .map(|svg| {
                svg.children()
                    .find(|c| c.has_tag_name("title"))
                    .and_then(|t| t.text())
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect();
        for needle in [
            "BTC_USDT mid price by venue",
            "Equity (total)",
            "Drawdown from peak",
            "Scheduler loop latency",
            "Alerts and operator actions",
        ] {
            assert!(
                titles.iter().any(|t| t == needle),
                "{stem}: no chart {needle:?} in {titles:?}"
            );
        }
        insta::assert_snapshot!(format!("{stem}.html"), page);
    }
}

#[test]
fn the_failing_drill_draws_what_the_operator_needs() {
    let page = render_html(&fixture("scenario_fail"));
    // Threshold lines with their labels, an open-ended alert, one lane per alert rule and per
    // kind of event, and the outage as a break in the kraken lines (two polylines each).
    for needle in [
        "warning 250 ms",
        "critical 320 ms",
        "still firing",
        ">MultiStrategyPnlDrawdown<",
        ">operator actions<",
        ">faults<",
        ">rollback<",
        ">escalation<",
    ] {
        assert!(page.contains(needle), "missing {needle:?}");
    }
    let eth = page
        .split("<svg ")
        .find(|svg| svg.contains("ETH_USDT mid price by venue"))
        .unwrap();
    let kraken = eth.split("<g><title>kraken</title>").nth(1).unwrap();
    let kraken = &kraken[..kraken.find("</g>").unwrap()];
    assert_eq!(
        kraken.matches("<polyline").count(),
        2,
        "outage breaks the line"
    );
}

fn assert_self_contained(doc: &roxmltree::Document<'_>, what: &str) {
    for node in doc.descendants().filter(|n| n.is_element()) {
        let tag = node.tag_name().name();
        assert!(
            !matches!(
                tag,
                "script" | "link" | "img" | "iframe" | "object" | "embed" | "use"
            ),
            "{what}: <{tag}> would need JavaScript or an external resource"
        );
        for attr in node.attributes() {
            let name = attr.name();
            assert!(
                !matches!(name, "src" | "href") && !name.starts_with("on"),
                "{what}: attribute {name} on <{tag}>"
            );
            if name != "xmlns" {
                assert!(
                    !attr.value().contains("://"),
                    "{what}: URL in {name}={:?}",
                    attr.value()
                );
            }
        }
    }
    let style = doc
        .descendants()
        .find(|n| n.has_tag_name("style"))
        .and_then(|n| n.text())
        .unwrap_or_default();
    assert!(
        !style.contains("url(") && !style.contains("@import"),
        "{what}: CSS fetches"
    );
}

/// Text that breaks naive markup in every language we write.
const HOSTILE: &str = "<script>alert('x')</script> & \"q\" 'a' | `t` *b* _i_ [l](u) #h";

fn hostile_report() -> ScenarioReport {
    let h = HOSTILE.to_owned();
    ScenarioReport {
        schema_version: 1,
        scenario: ScenarioInfo {
            name: h.clone(),
            description: format!("{h}\n- {h}"),
            file: h.clone(),
        },
        seed: 1,
        as_of: h.clone(),
        duration: "1h".into(),
        digest: h.clone(),
        verdict: Verdict::Fail,
        expectations: vec![ExpectationResult {
            index: 1,
            kind: h.clone(),
            description: h.clone(),
            passed: false,
            expected: serde_json::json!({ h.clone(): h.clone() }),
            observed: serde_json::Value::String(h.clone()),
            detail: h.clone(),
        }],
        timeline: TimelineKind::ALL
            .iter()
            .map(|&kind| TimelineEntry {
                at: h.clone(),
                offset: "10m".into(),
                kind,
                title: h.clone(),
                detail: h.clone(),
            })
            .chain([TimelineEntry {
                at: h.clone(),
                offset: h.clone(),
                kind: TimelineKind::Action,
                title: h.clone(),
                detail: h.clone(),
            }])
            .collect(),
        charts: Charts {
            prices: vec![PriceSeries {
                venue: h.clone(),
                symbol: h.clone(),
                points: vec![Point::new(0.0, 1.0), Point::new(60.0, 2.0)],
            }],
            equity: vec![NamedSeries {
                name: h.clone(),
                points: vec![Point::new(0.0, 1.0)],
            }],
            drawdown: vec![],
            latency: vec![LatencySeries {
                schedule: h.clone(),
                points: vec![Point::gap(0.0)],
            }],
            alerts: vec![AlertSpan {
                rule: h.clone(),
                severity: h.clone(),
                from: 10.0,
                to: None,
            }],
            ..Charts::default()
        },
        summary: Summary::default(),
        artefacts: vec![h],
    }
}

#[test]
fn hostile_text_never_breaks_the_markup() {
    let report = hostile_report();

    let page = render_html(&report);
    let doc = parse_xml(&page);
    assert_self_contained(&doc, "hostile html");
    // The text survives as text: the parser gives it back unchanged, many times over.
    let intact = doc
        .descendants()
        .filter(|n| n.is_text() && n.text() == Some(HOSTILE))
        .count();
    assert!(
        intact >= 10,
        "hostile text appears intact only {intact} times"
    );
    assert!(page.contains("is not drawn") || page.contains("are not drawn"));

    let xml = junit::render(&report.to_junit());
    let doc = parse_xml(&xml);
    let failure = doc
        .descendants()
        .find(|n| n.has_tag_name("failure"))
        .unwrap();
    assert_eq!(failure.attribute("message"), Some(HOSTILE));

    let md = render_markdown(&report);
    // Outside code spans (where CommonMark shows text literally) no `<` starts raw HTML.
    for line in md.lines() {
        let prose = outside_code_spans(line);
        let b = prose.as_bytes();
        for i in (0..b.len()).filter(|&i| b[i] == b'<') {
            assert!(i > 0 && b[i - 1] == b'\\', "raw `<` in {line}");
        }
    }
    // Every row of a table has as many cell separators (pipes GFM does not see as escaped) as
    // its header: hostile text cannot add or remove a column.
    let separators = |line: &str| {
        let b = line.as_bytes();
        (0..b.len())
            .filter(|&i| b[i] == b'|' && (i == 0 || b[i - 1] != b'\\'))
            .count()
    };
    let mut tables = 0;
    for table in md.split("\n\n").filter(|block| block.starts_with('|')) {
        tables += 1;
        let header = separators(table.lines().next().unwrap());
        for line in table.lines() {
            assert_eq!(separators(line), header, "{line}");
        }
    }
    assert_eq!(tables, 4, "run, expectations, timeline, summary");
    assert!(
        md.contains("> \\- \\<script\\>"),
        "a description line that looks like a list item stays text"
    );
}

/// `line` without its code spans: a run of n backticks (not escaped) opens a span that the next
/// run of exactly n backticks closes.
fn outside_code_spans(line: &str) -> String {
    let b = line.as_bytes();
    let run_at = |i: usize| b[i..].iter().take_while(|&&c| c == b'`').count();
    let (mut out, mut i) = (String::new(), 0);
    while i < b.len() {
        if b[i] == b'`' && (i == 0 || b[i - 1] != b'\\') {
            let n = run_at(i);
            let mut j = i + n;
            let close = loop {
                if j >= b.len() {
                    break None;
                }
                if b[j] == b'`' {
                    let m = run_at(j);
                    if m == n {
                        break Some(j + m);
                    }
                    j += m;
                } else {
                    j += 1;
                }
            };
            match close {
                Some(end) => i = end,
                None => {
                    out.push_str(&line[i..i + n]);
                    i += n;
                }
            }
        } else {
            let c = line[i..].chars().next().unwrap();
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

#[test]
fn degenerate_charts_render_and_say_no_data() {
    let mut report = fixture("scenario_pass");
    report.charts = Charts {
        prices: vec![PriceSeries {
            venue: "binance".into(),
            symbol: "BTC_USDT".into(),
            points: vec![],
        }],
        equity: vec![NamedSeries {
            name: "total".into(),
            points: vec![Point::new(30.0, 100_000.0)],
        }],
        drawdown: vec![NamedSeries {
            name: "total".into(),
            points: vec![
                Point::gap(0.0),
                Point::new(f64::NAN, 0.0),
                Point::new(60.0, f64::INFINITY),
            ],
        }],
        latency: vec![],
        ..Charts::default()
    };
    report.timeline.clear();
    report.duration = "not a duration".into();
    let page = render_html(&report);
    parse_xml(&page);
    for bad in ["NaN", "inf\"", "-inf"] {
        assert!(!page.contains(bad), "{bad} leaked into the page");
    }
    // Empty prices, all-gap drawdown, no latency and no alert lanes each say so; the single
    // equity point is a dot.
    assert_eq!(page.matches(">no data<").count(), 4, "{page}");
    let equity = page
        .split("<svg ")
        .find(|svg| svg.contains("<title>Equity (total)</title>"))
        .unwrap();
    assert_eq!(equity.matches("<circle").count(), 1);
    assert_eq!(equity.matches("<polyline").count(), 0);

    let mut out = String::new();
    text::scenario(&report, &mut out).unwrap();
    markdown::scenario(&report, &mut out).unwrap();
}

#[test]
fn rendering_is_deterministic() {
    let report = fixture("scenario_fail");
    let again: ScenarioReport =
        serde_json::from_str(&json::to_pretty_sorted(&report).unwrap()).unwrap();
    assert_eq!(render_html(&report), render_html(&again));
    assert_eq!(render_markdown(&report), render_markdown(&again));
    assert_eq!(render_text(&report), render_text(&again));
}

#[test]
fn rendered_files_are_the_four_views_under_their_names() {
    let report = fixture("scenario_fail");
    let files = report.rendered_files();
    let names: Vec<&str> = files.iter().map(|(n, _)| *n).collect();
    assert_eq!(names, stage4_reports::scenario::REPORT_FILES);
    assert_eq!(
        files[0].1, FIXTURES[1].1,
        "report.json is the fixture byte for byte"
    );
    assert_eq!(files[1].1, render_markdown(&report));
    assert_eq!(files[2].1, render_html(&report));
    assert_eq!(files[3].1, junit::render(&report.to_junit()));
    assert!(files.iter().all(|(_, text)| text.ends_with('\n')));
    assert_eq!(report.to_text(), render_text(&report));
}
