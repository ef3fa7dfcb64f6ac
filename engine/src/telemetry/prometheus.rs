//! Prometheus text exposition (format 0.0.4) of the latest value of every series, plus the
//! small formatting rules shared by everything we hand to Prometheus tools: float values,
//! label escaping, durations.
//!
//! Families are sorted by metric name and series by labels, so the same store always gives
//! the same bytes. Every family is a `gauge`: each sample is the schedule's value for its last
//! run, not a running total.

use std::fmt::Write as _;

use crate::domain::SimDuration;

use super::metrics::{MetricsStore, help_for};

/// Escapes a label value for the exposition format and PromQL string literals: `\`, `"`
/// and line feeds.
pub fn escape_label_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            _ => out.push(c),
        }
    }
    out
}

/// Escapes `# HELP` text: `\` and line feeds (quotes stay as they are in help text).
pub fn escape_help(text: &str) -> String {
    text.replace('\\', "\\\\").replace('\n', "\\n")
}

/// Formats a value the way Prometheus parses it back exactly: `NaN`, `+Inf`, `-Inf`, the
/// shortest decimal that round-trips, and exponent form for very large or very small
/// magnitudes (`1e21`, `1.5e-7`) instead of hundreds of digits.
pub fn format_value(value: f64) -> String {
    if value.is_nan() {
        "NaN".to_owned()
    } else if value == f64::INFINITY {
        "+Inf".to_owned()
    } else if value == f64::NEG_INFINITY {
        "-Inf".to_owned()
    } else {
        let magnitude = value.abs();
        if magnitude != 0.0 && !(1e-5..1e16).contains(&magnitude) {
            format!("{value:e}")
        } else {
            format!("{value}")
        }
    }
}

/// Why a duration cannot be written for Prometheus.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0} cannot be written as a Prometheus duration: Prometheus counts whole milliseconds")]
pub struct DurationError(pub SimDuration);

/// Formats a duration in Prometheus' syntax (`30s`, `2m`, `1h30m`, `250ms`). Prometheus
/// only knows whole milliseconds, so finer durations are refused.
pub fn format_duration(d: SimDuration) -> Result<String, DurationError> {
    const MS: u64 = 1_000_000;
    let nanos = d.as_nanos();
    if !nanos.is_multiple_of(MS) {
        return Err(DurationError(d));
    }
    let mut ms = nanos / MS;
    if ms == 0 {
        return Ok("0s".to_owned());
    }
    let mut out = String::new();
    for (unit, size) in [("h", 3_600_000), ("m", 60_000), ("s", 1_000), ("ms", 1)] {
        if ms >= size {
            let _ = write!(out, "{}{unit}", ms / size);
            ms %= size;
        }
    }
    Ok(out)
}

/// Renders the latest value of every series in the text exposition format 0.0.4, without
/// timestamps (Prometheus stamps them at scrape time).
pub fn render_exposition(store: &MetricsStore) -> String {
    render(store, false)
}

/// Like [`render_exposition`], with each sample's recorded time as a millisecond timestamp:
/// for files that are replayed rather than scraped.
pub fn render_exposition_with_timestamps(store: &MetricsStore) -> String {
    render(store, true)
}

fn render(store: &MetricsStore, timestamps: bool) -> String {
    let mut out = String::new();
    let mut current: Option<&str> = None;
    for (key, series) in store.series() {
        let Some(latest) = series.latest() else {
            continue;
        };
        let name = key.metric.as_str();
        if current != Some(name) {
            let help = key
                .metric
                .key()
                .and_then(help_for)
                .map(str::to_owned)
                .unwrap_or_else(|| format!("Stage4 metric {name}: value of the last run."));
            let _ = writeln!(out, "# HELP {name} {}", escape_help(&help));
            let _ = writeln!(out, "# TYPE {name} gauge");
            current = Some(name);
        }
        let _ = write!(out, "{key} {}", format_value(latest.value));
        if timestamps {
            let _ = write!(out, " {}", latest.at.as_nanos() / 1_000_000);
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::SimTime;
    use crate::telemetry::metrics::{LabelSet, MetricName, TelemetryPayload, names};

    #[test]
    fn values_use_forms_prometheus_reads_back_exactly() {
        let cases = [
            (0.0, "0"),
            (-0.0, "-0"),
            (12.5, "12.5"),
            (250.0, "250"),
            (-4.0, "-4"),
            (0.1, "0.1"),
            (1e-5, "0.00001"),
            (1.5e-7, "1.5e-7"),
            (1e21, "1e21"),
            (123_456_789.25, "123456789.25"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
        ];
        for (value, text) in cases {
            assert_eq!(format_value(value), text, "{value}");
            if value.is_finite() {
                assert_eq!(
                    text.parse::<f64>().unwrap().to_bits(),
                    value.to_bits(),
                    "{text}"
                );
            }
        }
    }

    #[test]
    fn durations_in_prometheus_syntax() {
        for (d, text) in [
            (SimDuration::from_secs(30), "30s"),
            (SimDuration::from_mins(2), "2m"),
            (SimDuration::from_secs(90), "1m30s"),
            (SimDuration::from_mins(90), "1h30m"),
            (SimDuration::from_millis(250), "250ms"),
            (SimDuration::from_hours(26), "26h"),
            (SimDuration::ZERO, "0s"),
        ] {
            assert_eq!(format_duration(d).unwrap(), text);
        }
        assert_eq!(
            format_duration(SimDuration::from_micros(1500)),
            Err(DurationError(SimDuration::from_micros(1500)))
        );
    }

    #[test]
    fn escaping() {
        assert_eq!(escape_label_value("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
        assert_eq!(escape_help("x\\y\nz \"q\""), "x\\\\y\\nz \"q\"");
    }

    /// A minimal reader of the exposition format: enough to prove what we write parses back
    /// to the same families, label sets and values.
    /// Family name, labels, value, optional timestamp.
    type Parsed = (String, Vec<(String, String)>, f64, Option<i64>);

    fn parse(text: &str) -> Vec<Parsed> {
        let mut samples = Vec::new();
        let mut typed = std::collections::BTreeSet::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, kind) = rest.split_once(' ').unwrap();
                assert_eq!(kind, "gauge");
                assert!(typed.insert(name.to_owned()), "family {name} typed twice");
                continue;
            }
            if line.starts_with("# HELP ") {
                continue;
            }
            let brace = line.find('{').unwrap_or(line.find(' ').unwrap());
            let name = line[..brace].to_owned();
            assert!(typed.contains(&name), "{name} has no TYPE line before it");
            let mut rest = &line[brace..];
            let mut labels = Vec::new();
            if rest.starts_with('{') {
                rest = &rest[1..];
                loop {
                    let eq = rest.find('=').unwrap();
                    let label = rest[..eq].to_owned();
                    rest = &rest[eq + 1..];
                    assert!(rest.starts_with('"'));
                    let mut value = String::new();
                    let mut chars = rest[1..].char_indices();
                    let end = loop {
                        let (i, c) = chars.next().expect("unterminated label value");
                        match c {
                            '\\' => match chars.next().unwrap().1 {
                                'n' => value.push('\n'),
                                other => value.push(other),
                            },
                            '"' => break i + 2,
                            _ => value.push(c),
                        }
                    };
                    labels.push((label, value));
                    rest = &rest[end..];
                    if let Some(r) = rest.strip_prefix(',') {
                        rest = r;
                    } else {
                        rest = rest.strip_prefix('}').unwrap();
                        break;
                    }
                }
            }
            let mut fields = rest.split_whitespace();
            let value = match fields.next().unwrap() {
                "NaN" => f64::NAN,
                "+Inf" => f64::INFINITY,
                "-Inf" => f64::NEG_INFINITY,
                v => v.parse().unwrap(),
            };
            let ts = fields.next().map(|t| t.parse().unwrap());
            samples.push((name, labels, value, ts));
        }
        samples
    }

    fn small_store() -> MetricsStore {
        let mut store = MetricsStore::new();
        let t0 = SimTime::parse_rfc3339("2026-11-28T09:00:00Z").unwrap();
        let runs = [
            ("core_multi_pipeline", 0, 3.0, 120.0),
            ("core_multi_pipeline", 15, 4.0, 260.5),
            ("arb \"fast\"\\lane\nb", 15, 0.0, f64::NAN),
        ];
        for (sched, dt, signals, latency) in runs {
            let p = TelemetryPayload::new()
                .with(names::SIGNALS, signals)
                .with(names::LATENCY_MS, latency);
            store
                .record_run(sched, t0 + SimDuration::from_secs(dt), &p)
                .unwrap();
        }
        let p = TelemetryPayload::new()
            .with(names::PNL_DRAWDOWN_PCT, f64::NEG_INFINITY)
            .with("custom_score", 1e21);
        store.record_run("core_multi_pipeline", t0, &p).unwrap();
        let other = MetricName::new("stage4_sim_clock_skew_seconds").unwrap();
        store.record(&other, &LabelSet::new(), t0, -0.25).unwrap();
        store
    }

    #[test]
    fn exposition_snapshot() {
        insta::assert_snapshot!(render_exposition(&small_store()));
    }

    #[test]
    fn exposition_parses_back_to_the_latest_values() {
        let store = small_store();
        for (text, stamped) in [
            (render_exposition(&store), false),
            (render_exposition_with_timestamps(&store), true),
        ] {
            let parsed = parse(&text);
            assert_eq!(parsed.len(), store.len());
            for ((key, series), (name, labels, value, ts)) in store.series().zip(&parsed) {
                let latest = series.latest().unwrap();
                assert_eq!(name, key.metric.as_str());
                let want: Vec<(String, String)> = key
                    .labels
                    .iter()
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .collect();
                assert_eq!(labels, &want);
                assert_eq!(value.to_bits(), latest.value.to_bits(), "{name}");
                let want_ts = stamped.then(|| (latest.at.as_nanos() / 1_000_000) as i64);
                assert_eq!(*ts, want_ts);
            }
        }
    }

    #[test]
    fn exposition_is_deterministic() {
        assert_eq!(
            render_exposition(&small_store()),
            render_exposition(&small_store())
        );
    }
}
