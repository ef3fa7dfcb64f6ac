//! The Grafana dashboard "Stage4 – Multi-Strategy Operations" (uid `stage4-multi`,
//! reference §12.3): eight panels over the `bot_core_multi_strategy_*` metrics, 30 s
//! refresh, last 6 hours, schema 39.
//!
//! Panels are data ([`panels`]) so tests and the harness can read the PromQL they use; the
//! colour steps come from the balanced row of [`super::thresholds`], as in the reference
//! (z-score 2.8 / 3.3, secondary delay 300 / 450, spread capture 6 / 3 with low = red).

use serde_json::{Value, json};

use super::metrics::{NAMESPACE, names};
use super::thresholds::{TelemetryProfile, ThresholdMetric, threshold};

/// Dashboard uid.
pub const DASHBOARD_UID: &str = "stage4-multi";
/// Dashboard title.
pub const DASHBOARD_TITLE: &str = "Stage4 – Multi-Strategy Operations";

/// Grafana panel kinds used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PanelKind {
    /// A time-series graph.
    Timeseries,
    /// A single-number stat.
    Stat,
}

impl PanelKind {
    fn as_str(self) -> &'static str {
        match self {
            PanelKind::Timeseries => "timeseries",
            PanelKind::Stat => "stat",
        }
    }
}

/// One query of a panel.
#[derive(Clone, Debug, PartialEq)]
pub struct PanelTarget {
    /// PromQL.
    pub expr: String,
    /// Legend template.
    pub legend: String,
}

/// One colour step: from `from` upwards (the first step has no lower bound).
#[derive(Clone, Debug, PartialEq)]
pub struct ColourStep {
    /// Grafana colour name.
    pub colour: &'static str,
    /// Lower bound; `None` for the base step.
    pub from: Option<f64>,
}

/// One dashboard panel.
#[derive(Clone, Debug, PartialEq)]
pub struct Panel {
    /// Title.
    pub title: String,
    /// Kind.
    pub kind: PanelKind,
    /// Grafana unit id.
    pub unit: &'static str,
    /// Queries.
    pub targets: Vec<PanelTarget>,
    /// Colour steps, when the reference gives them.
    pub steps: Vec<ColourStep>,
}

fn m(key: &str) -> String {
    format!("{NAMESPACE}{key}")
}

fn balanced(metric: ThresholdMetric) -> (f64, f64) {
    let t = threshold(TelemetryProfile::Balanced, metric).expect("balanced has every level");
    (t.warning, t.critical)
}

/// The eight panels, in reference order.
pub fn panels() -> Vec<Panel> {
    let target = |expr: String, legend: &str| PanelTarget {
        expr,
        legend: legend.to_owned(),
    };
    let by_schedule = "{{schedule}}";
    let (z_warn, z_crit) = balanced(ThresholdMetric::AvgAbsZscore);
    let (delay_warn, delay_crit) = balanced(ThresholdMetric::SecondaryDelayMs);
    let (spread_warn, spread_crit) = balanced(ThresholdMetric::SpreadCaptureBps);
    let step = |colour, from| ColourStep { colour, from };
    vec![
        Panel {
            title: "Scheduler loop latency".into(),
            kind: PanelKind::Timeseries,
            unit: "ms",
            targets: vec![target(
                format!("max_over_time({}[5m])", m(names::LATENCY_MS)),
                by_schedule,
            )],
            steps: vec![],
        },
        Panel {
            title: "Signals per run".into(),
            kind: PanelKind::Timeseries,
            unit: "none",
            targets: vec![target(
                format!("avg_over_time({}[5m])", m(names::SIGNALS)),
                by_schedule,
            )],
            steps: vec![],
        },
        Panel {
            title: "Mean reversion – avg |z-score|".into(),
            kind: PanelKind::Timeseries,
            unit: "none",
            targets: vec![target(
                format!("avg_over_time({}[5m])", m(names::AVG_ABS_ZSCORE)),
                by_schedule,
            )],
            steps: vec![
                step("green", None),
                step("orange", Some(z_warn)),
                step("red", Some(z_crit)),
            ],
        },
        Panel {
            title: "Volatility targeting – allocation error".into(),
            kind: PanelKind::Timeseries,
            unit: "percent",
            targets: vec![
                target(
                    format!("avg_over_time({}[5m])", m(names::ALLOCATION_ERROR_PCT)),
                    "{{schedule}} allocation error",
                ),
                target(
                    format!(
                        "avg_over_time({}[5m])",
                        m(names::REALIZED_VS_TARGET_VOL_PCT)
                    ),
                    "{{schedule}} vol drift",
                ),
            ],
            steps: vec![],
        },
        Panel {
            title: "Arbitrage spread capture (bps)".into(),
            kind: PanelKind::Stat,
            unit: "none",
            targets: vec![target(format!("avg({})", m(names::SPREAD_CAPTURE_BPS)), "")],
            // Lower is worse: red below the critical level, green from the warning level.
            steps: vec![
                step("red", None),
                step("orange", Some(spread_crit)),
                step("green", Some(spread_warn)),
            ],
        },
        Panel {
            title: "Arbitrage secondary delay (ms)".into(),
            kind: PanelKind::Stat,
            unit: "ms",
            targets: vec![target(format!("max({})", m(names::SECONDARY_DELAY_MS)), "")],
            steps: vec![
                step("green", None),
                step("orange", Some(delay_warn)),
                step("red", Some(delay_crit)),
            ],
        },
        Panel {
            title: "PnL drawdown".into(),
            kind: PanelKind::Timeseries,
            unit: "percent",
            targets: vec![target(
                format!("min_over_time({}[30m])", m(names::PNL_DRAWDOWN_PCT)),
                by_schedule,
            )],
            steps: vec![],
        },
        Panel {
            title: "Risk exposure deviation".into(),
            kind: PanelKind::Timeseries,
            unit: "percent",
            targets: vec![target(
                format!(
                    "avg_over_time({}[15m])",
                    m(names::RISK_EXPOSURE_DEVIATION_PCT)
                ),
                by_schedule,
            )],
            steps: vec![],
        },
    ]
}

fn panel_json(id: usize, panel: &Panel) -> Value {
    // Two panels per row on Grafana's 24-column grid.
    let (w, h) = (12, 8);
    let x = (id % 2) * w;
    let y = (id / 2) * h;
    let datasource = json!({"type": "prometheus", "uid": "${datasource}"});
    let targets: Vec<Value> = panel
        .targets
        .iter()
        .enumerate()
        .map(|(i, t)| {
            json!({
                "datasource": datasource,
                "expr": t.expr,
                "legendFormat": t.legend,
                "refId": ((b'A' + i as u8) as char).to_string(),
            })
        })
        .collect();
    let steps: Vec<Value> = if panel.steps.is_empty() {
        vec![json!({"color": "green", "value": null})]
    } else {
        panel
            .steps
            .iter()
            .map(|s| json!({"color": s.colour, "value": s.from}))
            .collect()
    };
    let options = match panel.kind {
        PanelKind::Timeseries => json!({
            "legend": {"displayMode": "list", "placement": "bottom", "showLegend": true},
            "tooltip": {"mode": "multi", "sort": "desc"},
        }),
        PanelKind::Stat => json!({
            "colorMode": "background",
            "graphMode": "area",
            "justifyMode": "auto",
            "orientation": "auto",
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": false},
            "textMode": "auto",
        }),
    };
    let color_mode = if panel.steps.is_empty() {
        "palette-classic"
    } else {
        "thresholds"
    };
    json!({
        "id": id + 1,
        "type": panel.kind.as_str(),
        "title": panel.title,
        "datasource": datasource,
        "gridPos": {"h": h, "w": w, "x": x, "y": y},
        "fieldConfig": {
            "defaults": {
                "unit": panel.unit,
                "color": {"mode": color_mode},
                "thresholds": {"mode": "absolute", "steps": steps},
            },
            "overrides": [],
        },
        "options": options,
        "targets": targets,
    })
}

/// The dashboard as Grafana JSON (pretty-printed, keys sorted, so it is byte-stable).
pub fn dashboard_json() -> String {
    let panels: Vec<Value> = panels()
        .iter()
        .enumerate()
        .map(|(i, p)| panel_json(i, p))
        .collect();
    let dashboard = json!({
        "annotations": {"list": [{
            "builtIn": 1,
            "datasource": {"type": "grafana", "uid": "-- Grafana --"},
            "enable": true,
            "hide": true,
            "iconColor": "rgba(0, 211, 255, 1)",
            "name": "Annotations & Alerts",
            "type": "dashboard",
        }]},
        "description": "Stage4 multi-strategy scheduler, strategy and risk telemetry (bot_core_multi_strategy_*).",
        "editable": true,
        "graphTooltip": 1,
        "id": null,
        "links": [],
        "panels": panels,
        "refresh": "30s",
        "schemaVersion": 39,
        "tags": ["stage4", "multi-strategy"],
        "templating": {"list": [{
            "current": {},
            "hide": 0,
            "label": "Prometheus",
            "name": "datasource",
            "options": [],
            "query": "prometheus",
            "refresh": 1,
            "regex": "",
            "type": "datasource",
        }]},
        "time": {"from": "now-6h", "to": "now"},
        "timepicker": {},
        "timezone": "utc",
        "title": DASHBOARD_TITLE,
        "uid": DASHBOARD_UID,
        "version": 1,
    });
    let mut text = serde_json::to_string_pretty(&dashboard).expect("JSON values serialise");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dashboard_has_the_reference_panels() {
        let d: Value = serde_json::from_str(&dashboard_json()).unwrap();
        assert_eq!(d["uid"], DASHBOARD_UID);
        assert_eq!(d["title"], "Stage4 – Multi-Strategy Operations");
        assert_eq!(d["refresh"], "30s");
        assert_eq!(d["schemaVersion"], 39);
        assert_eq!(d["time"]["from"], "now-6h");
        let panels = d["panels"].as_array().unwrap();
        let got: Vec<(&str, &str, &str)> = panels
            .iter()
            .map(|p| {
                (
                    p["title"].as_str().unwrap(),
                    p["type"].as_str().unwrap(),
                    p["targets"][0]["expr"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (
                    "Scheduler loop latency",
                    "timeseries",
                    "max_over_time(bot_core_multi_strategy_latency_ms[5m])"
                ),
                (
                    "Signals per run",
                    "timeseries",
                    "avg_over_time(bot_core_multi_strategy_signals[5m])"
                ),
                (
                    "Mean reversion – avg |z-score|",
                    "timeseries",
                    "avg_over_time(bot_core_multi_strategy_avg_abs_zscore[5m])"
                ),
                (
                    "Volatility targeting – allocation error",
                    "timeseries",
                    "avg_over_time(bot_core_multi_strategy_allocation_error_pct[5m])"
                ),
                (
                    "Arbitrage spread capture (bps)",
                    "stat",
                    "avg(bot_core_multi_strategy_spread_capture_bps)"
                ),
                (
                    "Arbitrage secondary delay (ms)",
                    "stat",
                    "max(bot_core_multi_strategy_secondary_delay_ms)"
                ),
                (
                    "PnL drawdown",
                    "timeseries",
                    "min_over_time(bot_core_multi_strategy_pnl_drawdown_pct[30m])"
                ),
                (
                    "Risk exposure deviation",
                    "timeseries",
                    "avg_over_time(bot_core_multi_strategy_risk_exposure_deviation_pct[15m])"
                ),
            ]
        );
        assert_eq!(
            panels[3]["targets"][1]["expr"],
            "avg_over_time(bot_core_multi_strategy_realized_vs_target_vol_pct[5m])"
        );
        // Panels tile the 24-column grid two by two without overlap.
        for (i, p) in panels.iter().enumerate() {
            assert_eq!(p["gridPos"]["w"], 12);
            assert_eq!(p["gridPos"]["x"], (i % 2) * 12);
            assert_eq!(p["gridPos"]["y"], (i / 2) * 8);
        }
    }

    #[test]
    fn colour_steps_follow_the_balanced_levels() {
        let d: Value = serde_json::from_str(&dashboard_json()).unwrap();
        let steps = |i: usize| -> Vec<(String, Value)> {
            d["panels"][i]["fieldConfig"]["defaults"]["thresholds"]["steps"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| (s["color"].as_str().unwrap().to_owned(), s["value"].clone()))
                .collect()
        };
        let s = |c: &str, v: Value| (c.to_owned(), v);
        assert_eq!(
            steps(2),
            [
                s("green", Value::Null),
                s("orange", json!(2.8)),
                s("red", json!(3.3))
            ]
        );
        assert_eq!(
            steps(4),
            [
                s("red", Value::Null),
                s("orange", json!(3.0)),
                s("green", json!(6.0))
            ]
        );
        assert_eq!(
            steps(5),
            [
                s("green", Value::Null),
                s("orange", json!(300.0)),
                s("red", json!(450.0))
            ]
        );
    }

    #[test]
    fn dashboard_is_byte_stable() {
        assert_eq!(dashboard_json(), dashboard_json());
    }
}
