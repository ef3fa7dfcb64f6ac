//! Small inline SVG charts for the HTML reports: line charts (axes, "nice" ticks, one polyline
//! per series, threshold lines, a legend) and a lane chart for alerts and operator actions.
//!
//! Choices that matter to readers of the output:
//! - x is seconds since the scenario start, labelled like scenario files (`40m`, `1h30m`), so
//!   every chart of a report shares one time axis when given the run length;
//! - long series are thinned to at most [`MAX_POINTS_PER_LINE`] points by keeping each pixel
//!   bucket's minimum and maximum: a 1-minute latency spike survives a 3-day series;
//! - a non-finite value breaks the line (gap), and a segment of one point is drawn as a dot;
//! - all text goes through XML escaping, and coordinates are printed with one decimal, so the
//!   same data gives the same bytes.

use std::fmt::{self, Write};

use crate::render::junit::escape;
use crate::scenario::{Point, format_offset};

/// Colours for series, in order (the Tableau 10 hues: distinguishable, also in print).
pub const PALETTE: [&str; 8] = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f",
];

/// Colour of warning thresholds and warning alerts.
pub const WARNING: &str = "#e69f00";
/// Colour of critical thresholds and critical alerts.
pub const CRITICAL: &str = "#d62728";

/// Pixel buckets a line is thinned into; each keeps at most its minimum and maximum.
const BUCKETS: usize = 240;

/// The most points a drawn line keeps after thinning.
pub const MAX_POINTS_PER_LINE: usize = 2 * BUCKETS + 2;

/// The palette colour for series number `i`.
pub fn series_color(i: usize) -> &'static str {
    PALETTE[i % PALETTE.len()]
}

/// The colour for an alert `severity` label (`critical`, `warning`, anything else).
pub fn severity_color(severity: &str) -> &'static str {
    match severity {
        "critical" | "page" => CRITICAL,
        "warning" => WARNING,
        _ => PALETTE[0],
    }
}

// Geometry shared by the charts (SVG user units; the CSS scales the whole picture).
const WIDTH: f64 = 960.0;
const RIGHT: f64 = 944.0;
const TOP: f64 = 44.0;
const CHAR_W: f64 = 7.0;
const FONT: &str =
    "font-family=\"DejaVu Sans, Liberation Sans, Arial, sans-serif\" font-size=\"12\"";

/// One series of a line chart.
#[derive(Debug, Clone)]
pub struct Line<'a> {
    /// Legend text.
    pub name: String,
    /// The points, in time order.
    pub points: &'a [Point],
    /// Stroke colour.
    pub color: &'static str,
}

/// A horizontal reference line (an alert threshold).
#[derive(Debug, Clone)]
pub struct Threshold {
    /// Text drawn at its right end (`warning 250 ms`).
    pub label: String,
    /// Where it is drawn.
    pub value: f64,
    /// Stroke colour.
    pub color: &'static str,
}

/// A time-series line chart.
#[derive(Debug, Clone)]
pub struct LineChart<'a> {
    /// Heading inside the picture.
    pub title: String,
    /// The y unit, written above the y axis (`ms`, `%`, `USDT`).
    pub unit: String,
    /// The end of the x axis (the run length, seconds); the data's last offset when `None`.
    pub x_end: Option<f64>,
    /// The series.
    pub lines: Vec<Line<'a>>,
    /// Reference lines; the y range always includes them.
    pub thresholds: Vec<Threshold>,
    /// Whether the y range must include 0 (drawdown, PnL).
    pub include_zero: bool,
}

const LINE_LEFT: f64 = 84.0;
const LINE_PLOT_H: f64 = 220.0;

impl LineChart<'_> {
    /// Writes the chart as one `<svg>` element.
    pub fn render(&self, out: &mut impl Write) -> fmt::Result {
        let segments: Vec<Vec<Vec<(f64, f64)>>> =
            self.lines.iter().map(|l| segments(l.points)).collect();
        let finite = || segments.iter().flatten().flatten();
        let x = x_axis(finite().map(|p| p.0), self.x_end, LINE_LEFT, RIGHT);
        let values: Vec<f64> = finite()
            .map(|p| p.1)
            .chain(
                self.thresholds
                    .iter()
                    .map(|t| t.value)
                    .filter(|v| v.is_finite()),
            )
            .chain(self.include_zero.then_some(0.0))
            .collect();
        let bottom = TOP + LINE_PLOT_H;
        let legend: Vec<LegendItem> = self
            .lines
            .iter()
            .map(|l| LegendItem {
                name: l.name.clone(),
                color: l.color,
                mark: LegendMark::Line,
            })
            .collect();
        let legend_top = bottom + 46.0;
        let height = legend_top + legend_height(&legend, LINE_LEFT) + 8.0;
        open_svg(out, &self.title, height)?;
        write_title(out, &self.title, LINE_LEFT)?;
        writeln!(
            out,
            "<text x=\"{}\" y=\"{}\" fill=\"#57606a\" text-anchor=\"end\">{}</text>",
            n(LINE_LEFT - 8.0),
            n(TOP - 8.0),
            escape(&self.unit)
        )?;
        writeln!(
            out,
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#ffffff\" stroke=\"#d0d7de\"/>",
            n(LINE_LEFT),
            n(TOP),
            n(RIGHT - LINE_LEFT),
            n(LINE_PLOT_H)
        )?;
        x.render(out, TOP, bottom)?;
        if let Some(y) = y_axis(&values, bottom, TOP) {
            y.render(out, LINE_LEFT, RIGHT)?;
            for t in &self.thresholds {
                if !t.value.is_finite() {
                    continue;
                }
                let py = y.px(t.value);
                writeln!(
                    out,
                    "<line x1=\"{}\" y1=\"{py}\" x2=\"{}\" y2=\"{py}\" stroke=\"{}\" stroke-width=\"1.5\" stroke-dasharray=\"6 4\"/>",
                    n(LINE_LEFT),
                    n(RIGHT),
                    t.color,
                    py = n(py),
                )?;
                writeln!(
                    out,
                    "<text x=\"{}\" y=\"{}\" fill=\"{}\" text-anchor=\"end\">{}</text>",
                    n(RIGHT - 4.0),
                    n(py - 4.0),
                    t.color,
                    escape(&t.label)
                )?;
            }
            if finite().next().is_none() {
                no_data(out, (LINE_LEFT + RIGHT) / 2.0, TOP + LINE_PLOT_H / 2.0)?;
            }
            for (line, segs) in self.lines.iter().zip(&segments) {
                writeln!(out, "<g><title>{}</title>", escape(&line.name))?;
                for seg in segs {
                    let kept = thin(seg, x.lo, x.hi, BUCKETS);
                    if let [(px, py)] = kept[..] {
                        writeln!(
                            out,
                            "<circle cx=\"{}\" cy=\"{}\" r=\"2.5\" fill=\"{}\"/>",
                            n(x.px(px)),
                            n(y.px(py)),
                            line.color
                        )?;
                        continue;
                    }
                    write!(
                        out,
                        "<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"1.5\" stroke-linejoin=\"round\" points=\"",
                        line.color
                    )?;
                    for (i, (px, py)) in kept.iter().enumerate() {
                        let sep = if i == 0 { "" } else { " " };
                        write!(out, "{sep}{},{}", n(x.px(*px)), n(y.px(*py)))?;
                    }
                    writeln!(out, "\"/>")?;
                }
                writeln!(out, "</g>")?;
            }
        } else {
            no_data(out, (LINE_LEFT + RIGHT) / 2.0, TOP + LINE_PLOT_H / 2.0)?;
        }
        render_legend(out, &legend, LINE_LEFT, legend_top)?;
        writeln!(out, "</svg>")
    }
}

/// Shapes of event markers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// A circle.
    Circle,
    /// A diamond.
    Diamond,
    /// A square.
    Square,
    /// A triangle pointing up.
    TriangleUp,
    /// A triangle pointing down.
    TriangleDown,
}

/// An interval drawn as a bar in a lane (an alert firing).
#[derive(Debug, Clone)]
pub struct Span {
    /// Start, seconds.
    pub from: f64,
    /// End, seconds; `None` when it lasts past the end of the axis (still firing).
    pub to: Option<f64>,
    /// Fill colour.
    pub color: &'static str,
    /// Hover text.
    pub tooltip: String,
}

/// An instant drawn as a marker in a lane (an operator action, a fault starting).
#[derive(Debug, Clone)]
pub struct Marker {
    /// When, seconds.
    pub at: f64,
    /// Its shape.
    pub shape: Shape,
    /// Its colour.
    pub color: &'static str,
    /// Outline only (an end, as opposed to a start).
    pub hollow: bool,
    /// Short text drawn beside it when there is room.
    pub label: String,
    /// Hover text.
    pub tooltip: String,
}

/// One horizontal lane of a [`LaneChart`].
#[derive(Debug, Clone)]
pub struct Lane {
    /// Text at the left of the lane.
    pub label: String,
    /// Bars.
    pub spans: Vec<Span>,
    /// Markers.
    pub markers: Vec<Marker>,
}

/// A legend entry of a [`LaneChart`].
#[derive(Debug, Clone)]
pub struct LegendEntry {
    /// Text.
    pub name: String,
    /// Colour.
    pub color: &'static str,
    /// Drawn as this marker shape; a bar swatch when `None`.
    pub shape: Option<Shape>,
    /// Outline only, like the markers it explains.
    pub hollow: bool,
}

/// Lanes over a time axis: bars for intervals, markers for instants.
#[derive(Debug, Clone)]
pub struct LaneChart {
    /// Heading inside the picture.
    pub title: String,
    /// The end of the x axis (the run length, seconds); the data's last instant when `None`.
    pub x_end: Option<f64>,
    /// The lanes, top to bottom.
    pub lanes: Vec<Lane>,
    /// Times at which a faint vertical guide crosses every lane (fault starts).
    pub guides: Vec<f64>,
    /// The legend.
    pub legend: Vec<LegendEntry>,
}

const LANE_LEFT: f64 = 290.0;
const LANE_H: f64 = 28.0;
const LANE_LABEL_CHARS: usize = 38;
const MARKER_LABEL_CHARS: usize = 28;
const MIN_MARKER_LABEL_CHARS: usize = 5;

impl LaneChart {
    /// Writes the chart as one `<svg>` element.
    pub fn render(&self, out: &mut impl Write) -> fmt::Result {
        let instants = self.lanes.iter().flat_map(|l| {
            l.spans
                .iter()
                .flat_map(|s| [Some(s.from), s.to])
                .flatten()
                .chain(l.markers.iter().map(|m| m.at))
        });
        let x = x_axis(
            instants.filter(|v| v.is_finite()),
            self.x_end,
            LANE_LEFT,
            RIGHT,
        );
        let lanes = self.lanes.len().max(1) as f64;
        let bottom = TOP + lanes * LANE_H;
        let legend: Vec<LegendItem> = self
            .legend
            .iter()
            .map(|e| LegendItem {
                name: e.name.clone(),
                color: e.color,
                mark: e
                    .shape
                    .map_or(LegendMark::Bar, |s| LegendMark::Shape(s, e.hollow)),
            })
            .collect();
        let legend_top = bottom + 46.0;
        let height = legend_top + legend_height(&legend, LANE_LEFT) + 8.0;
        open_svg(out, &self.title, height)?;
        write_title(out, &self.title, LANE_LEFT)?;
        for (i, _) in self.lanes.iter().enumerate() {
            let fill = if i % 2 == 0 { "#f6f8fa" } else { "#ffffff" };
            writeln!(
                out,
                "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{fill}\"/>",
                n(LANE_LEFT),
                n(TOP + i as f64 * LANE_H),
                n(RIGHT - LANE_LEFT),
                n(LANE_H)
            )?;
        }
        writeln!(
            out,
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#d0d7de\"/>",
            n(LANE_LEFT),
            n(TOP),
            n(RIGHT - LANE_LEFT),
            n(bottom - TOP)
        )?;
        x.render(out, TOP, bottom)?;
        if self.lanes.is_empty() {
            no_data(out, (LANE_LEFT + RIGHT) / 2.0, TOP + LANE_H / 2.0)?;
        }
        for &g in &self.guides {
            if g.is_finite() {
                writeln!(
                    out,
                    "<line x1=\"{gx}\" y1=\"{}\" x2=\"{gx}\" y2=\"{}\" stroke=\"{CRITICAL}\" stroke-opacity=\"0.35\" stroke-dasharray=\"3 3\"/>",
                    n(TOP),
                    n(bottom),
                    gx = n(x.px(g)),
                )?;
            }
        }
        for (i, lane) in self.lanes.iter().enumerate() {
            let top = TOP + i as f64 * LANE_H;
            let mid = top + LANE_H / 2.0;
            writeln!(
                out,
                "<text x=\"{}\" y=\"{}\" text-anchor=\"end\" fill=\"#24292f\"><title>{}</title>{}</text>",
                n(LANE_LEFT - 8.0),
                n(mid + 4.0),
                escape(&lane.label),
                escape(&truncate_middle(&lane.label, LANE_LABEL_CHARS))
            )?;
            for span in &lane.spans {
                render_span(out, &x, span, top)?;
            }
            let placed: Vec<(f64, &Marker)> = lane
                .markers
                .iter()
                .filter(|m| m.at.is_finite())
                .map(|m| (x.px(m.at), m))
                .collect();
            for (px, marker) in &placed {
                render_marker(out, marker, *px, mid)?;
            }
            // Labels go right of their marker, cut short before the next marker; a label with
            // no room for a few characters is left to the tooltip and the timeline table.
            let mut free_from = f64::NEG_INFINITY;
            for (i, (px, marker)) in placed.iter().enumerate() {
                let start = px + 9.0;
                let limit = placed[i + 1..]
                    .iter()
                    .map(|(next, _)| next - 9.0)
                    .find(|&next| next > start)
                    .unwrap_or(RIGHT)
                    .min(RIGHT);
                let room = ((limit - start) / CHAR_W).floor();
                if start < free_from || room < MIN_MARKER_LABEL_CHARS as f64 {
                    continue;
                }
                let label = truncate(&marker.label, (room as usize).min(MARKER_LABEL_CHARS));
                if label.is_empty() {
                    continue;
                }
                writeln!(
                    out,
                    "<text x=\"{}\" y=\"{}\" fill=\"#24292f\" font-size=\"11\">{}</text>",
                    n(start),
                    n(mid + 4.0),
                    escape(&label)
                )?;
                free_from = start + label.chars().count() as f64 * CHAR_W + 6.0;
            }
        }
        render_legend(out, &legend, LANE_LEFT, legend_top)?;
        writeln!(out, "</svg>")
    }
}

fn render_span(out: &mut impl Write, x: &XAxis, span: &Span, top: f64) -> fmt::Result {
    if !span.from.is_finite() {
        return Ok(());
    }
    let x1 = x.px(span.from);
    let open = span.to.is_none_or(|t| !t.is_finite());
    let x2 = if open {
        RIGHT
    } else {
        x.px(span.to.unwrap_or(x.hi))
    };
    // A zero-length interval is still an event somebody needs to see.
    let w = (x2 - x1).max(2.0);
    write!(
        out,
        "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"16\" rx=\"2\" fill=\"{}\" fill-opacity=\"0.85\"",
        n(x1),
        n(top + 6.0),
        n(w),
        span.color
    )?;
    if open {
        write!(out, " stroke=\"#24292f\" stroke-dasharray=\"4 2\"")?;
    }
    writeln!(out, "><title>{}</title></rect>", escape(&span.tooltip))?;
    if open {
        writeln!(
            out,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\" fill=\"#ffffff\" font-size=\"11\" font-weight=\"bold\">still firing &#8594;</text>",
            n(RIGHT - 4.0),
            n(top + 18.0)
        )?;
    }
    Ok(())
}

fn render_marker(out: &mut impl Write, m: &Marker, px: f64, mid: f64) -> fmt::Result {
    let fill = if m.hollow { "#ffffff" } else { m.color };
    let style = format!(
        "fill=\"{fill}\" stroke=\"{}\" stroke-width=\"1.5\"",
        m.color
    );
    write_shape(out, m.shape, px, mid, 6.0, &style, Some(&m.tooltip))
}

fn write_shape(
    out: &mut impl Write,
    shape: Shape,
    cx: f64,
    cy: f64,
    r: f64,
    style: &str,
    tooltip: Option<&str>,
) -> fmt::Result {
    let (open, close) = match tooltip {
        Some(t) => (">".to_owned(), format!("<title>{}</title>", escape(t))),
        None => ("/>".to_owned(), String::new()),
    };
    let (tag, geometry) = match shape {
        Shape::Circle => (
            "circle",
            format!("cx=\"{}\" cy=\"{}\" r=\"{}\"", n(cx), n(cy), n(r * 0.85)),
        ),
        Shape::Square => {
            let s = r * 0.8;
            (
                "rect",
                format!(
                    "x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"",
                    n(cx - s),
                    n(cy - s),
                    n(2.0 * s),
                    n(2.0 * s)
                ),
            )
        }
        Shape::Diamond => (
            "polygon",
            points_attr(&[(cx, cy - r), (cx + r, cy), (cx, cy + r), (cx - r, cy)]),
        ),
        Shape::TriangleUp => (
            "polygon",
            points_attr(&[(cx, cy - r), (cx + r, cy + r * 0.8), (cx - r, cy + r * 0.8)]),
        ),
        Shape::TriangleDown => (
            "polygon",
            points_attr(&[(cx - r, cy - r * 0.8), (cx + r, cy - r * 0.8), (cx, cy + r)]),
        ),
    };
    if tooltip.is_some() {
        writeln!(out, "<{tag} {geometry} {style}{open}{close}</{tag}>")
    } else {
        writeln!(out, "<{tag} {geometry} {style}{open}")
    }
}

fn points_attr(points: &[(f64, f64)]) -> String {
    let list: Vec<String> = points
        .iter()
        .map(|(x, y)| format!("{},{}", n(*x), n(*y)))
        .collect();
    format!("points=\"{}\"", list.join(" "))
}

fn open_svg(out: &mut impl Write, title: &str, height: f64) -> fmt::Result {
    writeln!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" role=\"img\" {FONT}>",
        w = n(WIDTH),
        h = n(height)
    )?;
    writeln!(out, "<title>{}</title>", escape(title))
}

fn write_title(out: &mut impl Write, title: &str, left: f64) -> fmt::Result {
    writeln!(
        out,
        "<text x=\"{}\" y=\"20\" font-size=\"15\" font-weight=\"bold\" fill=\"#24292f\">{}</text>",
        n(left),
        escape(title)
    )
}

fn no_data(out: &mut impl Write, cx: f64, cy: f64) -> fmt::Result {
    writeln!(
        out,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"#57606a\" font-style=\"italic\">no data</text>",
        n(cx),
        n(cy + 4.0)
    )
}

#[derive(Debug, Clone, Copy)]
enum LegendMark {
    Line,
    Bar,
    Shape(Shape, bool),
}

#[derive(Debug, Clone)]
struct LegendItem {
    name: String,
    color: &'static str,
    mark: LegendMark,
}

const LEGEND_ROW: f64 = 20.0;

/// Where each legend item goes: `(row, x)`. Items wrap to a new row at the right edge.
fn legend_layout(items: &[LegendItem], left: f64) -> Vec<(usize, f64)> {
    let (mut row, mut cursor) = (0, left);
    items
        .iter()
        .map(|item| {
            let width = 24.0 + item.name.chars().count() as f64 * CHAR_W + 18.0;
            if cursor > left && cursor + width > RIGHT {
                row += 1;
                cursor = left;
            }
            let at = (row, cursor);
            cursor += width;
            at
        })
        .collect()
}

fn legend_height(items: &[LegendItem], left: f64) -> f64 {
    legend_layout(items, left)
        .last()
        .map_or(0.0, |(row, _)| (*row as f64 + 1.0) * LEGEND_ROW)
}

fn render_legend(out: &mut impl Write, items: &[LegendItem], left: f64, top: f64) -> fmt::Result {
    for (item, (row, x)) in items.iter().zip(legend_layout(items, left)) {
        let cy = top + row as f64 * LEGEND_ROW + LEGEND_ROW / 2.0;
        match item.mark {
            LegendMark::Line => writeln!(
                out,
                "<line x1=\"{}\" y1=\"{cy}\" x2=\"{}\" y2=\"{cy}\" stroke=\"{}\" stroke-width=\"3\"/>",
                n(x),
                n(x + 18.0),
                item.color,
                cy = n(cy)
            )?,
            LegendMark::Bar => writeln!(
                out,
                "<rect x=\"{}\" y=\"{}\" width=\"18\" height=\"10\" rx=\"2\" fill=\"{}\"/>",
                n(x),
                n(cy - 5.0),
                item.color
            )?,
            LegendMark::Shape(shape, hollow) => write_shape(
                out,
                shape,
                x + 9.0,
                cy,
                6.0,
                &format!(
                    "fill=\"{}\" stroke=\"{}\" stroke-width=\"1.5\"",
                    if hollow { "#ffffff" } else { item.color },
                    item.color
                ),
                None,
            )?,
        }
        writeln!(
            out,
            "<text x=\"{}\" y=\"{}\" fill=\"#24292f\">{}</text>",
            n(x + 24.0),
            n(cy + 4.0),
            escape(&item.name)
        )?;
    }
    Ok(())
}

/// A horizontal time axis: `lo..hi` seconds mapped onto `left..right` pixels.
#[derive(Debug, Clone, Copy)]
struct XAxis {
    lo: f64,
    hi: f64,
    left: f64,
    right: f64,
    step: f64,
}

/// Steps between time ticks, seconds: the ones a clock reader expects.
const TIME_STEPS: [f64; 18] = [
    1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0,
    10800.0, 21600.0, 43200.0, 86400.0,
];
const MAX_X_TICKS: f64 = 10.0;

fn x_axis(values: impl Iterator<Item = f64>, end: Option<f64>, left: f64, right: f64) -> XAxis {
    let (mut lo, mut hi) = (0.0_f64, f64::NEG_INFINITY);
    for v in values {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if let Some(end) = end.filter(|e| e.is_finite()) {
        hi = hi.max(end);
    }
    // No data (hi still -inf) or a single instant: show a minute rather than nothing.
    if hi.partial_cmp(&lo) != Some(std::cmp::Ordering::Greater) {
        hi = lo + 60.0;
    }
    let span = hi - lo;
    let step = TIME_STEPS
        .iter()
        .copied()
        .find(|s| span / s <= MAX_X_TICKS)
        .unwrap_or_else(|| nice_step(span / 86400.0, 8.0) * 86400.0);
    XAxis {
        lo,
        hi,
        left,
        right,
        step,
    }
}

impl XAxis {
    fn px(&self, v: f64) -> f64 {
        self.left + (v - self.lo) / (self.hi - self.lo) * (self.right - self.left)
    }

    fn render(&self, out: &mut impl Write, top: f64, bottom: f64) -> fmt::Result {
        let first = (self.lo / self.step).ceil() as i64;
        let last = (self.hi / self.step + 1e-9).floor() as i64;
        for k in first..=last {
            let t = k as f64 * self.step;
            let px = n(self.px(t));
            writeln!(
                out,
                "<line x1=\"{px}\" y1=\"{}\" x2=\"{px}\" y2=\"{}\" stroke=\"#eaeef2\"/>",
                n(top),
                n(bottom)
            )?;
            let label = if t < 0.0 {
                format!("-{}", format_offset(-t))
            } else {
                format_offset(t)
            };
            writeln!(
                out,
                "<text x=\"{px}\" y=\"{}\" text-anchor=\"middle\" fill=\"#57606a\">{}</text>",
                n(bottom + 16.0),
                escape(&label)
            )?;
        }
        writeln!(
            out,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\" fill=\"#57606a\">time since start</text>",
            n(self.right),
            n(bottom + 34.0)
        )
    }
}

/// A vertical value axis: `lo..hi` mapped onto `bottom..top` pixels, with ticks every `step`.
#[derive(Debug, Clone, Copy)]
struct YAxis {
    lo: f64,
    hi: f64,
    bottom: f64,
    top: f64,
    step: f64,
}

const Y_TICKS: f64 = 5.0;

/// The y axis covering `values` (all finite), widened to whole ticks; `None` without values.
fn y_axis(values: &[f64], bottom: f64, top: f64) -> Option<YAxis> {
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !lo.is_finite() || !hi.is_finite() {
        return None;
    }
    let (lo, hi) = if hi > lo {
        (lo, hi)
    } else {
        // One value (or all equal): a band around it, so the line sits mid-chart.
        let pad = if lo == 0.0 { 1.0 } else { lo.abs() * 0.01 };
        (lo - pad, hi + pad)
    };
    let step = nice_step(hi - lo, Y_TICKS);
    let (lo_t, hi_t) = ((lo / step).floor() * step, (hi / step).ceil() * step);
    if !(step.is_finite() && step > 0.0 && hi_t > lo_t && (hi_t - lo_t) / step <= 50.0) {
        return Some(YAxis {
            lo,
            hi,
            bottom,
            top,
            step: hi - lo,
        });
    }
    Some(YAxis {
        lo: lo_t,
        hi: hi_t,
        bottom,
        top,
        step,
    })
}

impl YAxis {
    fn px(&self, v: f64) -> f64 {
        self.bottom - (v - self.lo) / (self.hi - self.lo) * (self.bottom - self.top)
    }

    fn render(&self, out: &mut impl Write, left: f64, right: f64) -> fmt::Result {
        let decimals = decimals_for(self.step);
        let first = (self.lo / self.step - 1e-9).ceil() as i64;
        let last = (self.hi / self.step + 1e-9).floor() as i64;
        for k in first..=last {
            let v = k as f64 * self.step;
            let py = n(self.px(v));
            writeln!(
                out,
                "<line x1=\"{}\" y1=\"{py}\" x2=\"{}\" y2=\"{py}\" stroke=\"#eaeef2\"/>",
                n(left),
                n(right)
            )?;
            writeln!(
                out,
                "<text x=\"{}\" y=\"{}\" text-anchor=\"end\" fill=\"#57606a\">{}</text>",
                n(left - 6.0),
                n(self.px(v) + 4.0),
                fixed(v, decimals)
            )?;
        }
        Ok(())
    }
}

/// A 1, 2, 2.5 or 5 × 10^k step giving about `target` intervals over `span`.
fn nice_step(span: f64, target: f64) -> f64 {
    let raw = span / target;
    let magnitude = 10f64.powf(raw.log10().floor());
    let norm = raw / magnitude;
    let nice = if norm <= 1.0 {
        1.0
    } else if norm <= 2.0 {
        2.0
    } else if norm <= 2.5 {
        2.5
    } else if norm <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * magnitude
}

/// Decimals needed to print multiples of `step` exactly (0..=8).
fn decimals_for(step: f64) -> usize {
    (0..=8)
        .find(|&d| {
            let scaled = step * 10f64.powi(d as i32);
            (scaled - scaled.round()).abs() < 1e-6 * scaled.abs().max(1.0)
        })
        .unwrap_or(8)
}

/// `v` with `decimals` decimals, never `-0`.
pub(crate) fn fixed(v: f64, decimals: usize) -> String {
    let text = format!("{v:.decimals$}");
    if text.starts_with('-') && text[1..].chars().all(|c| c == '0' || c == '.') {
        text[1..].to_owned()
    } else {
        text
    }
}

/// A coordinate with one decimal.
fn n(v: f64) -> String {
    fixed(v, 1)
}

/// The finite runs of `points`: a non-finite offset or value ends a run.
fn segments(points: &[Point]) -> Vec<Vec<(f64, f64)>> {
    let mut out = Vec::new();
    let mut current = Vec::new();
    for p in points {
        if p.offset_seconds.is_finite() && p.value.is_finite() {
            current.push((p.offset_seconds, p.value));
        } else if !current.is_empty() {
            out.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// Thins a segment to each x bucket's minimum and maximum (in time order), plus its first and
/// last point, so extremes survive however long the series is.
fn thin(seg: &[(f64, f64)], lo: f64, hi: f64, buckets: usize) -> Vec<(f64, f64)> {
    if seg.len() <= 2 * buckets {
        return seg.to_vec();
    }
    let bucket_of = |x: f64| {
        let b = ((x - lo) / (hi - lo) * buckets as f64).floor();
        b.clamp(0.0, (buckets - 1) as f64) as usize
    };
    let mut keep = vec![false; seg.len()];
    keep[0] = true;
    keep[seg.len() - 1] = true;
    let mut start = 0;
    while start < seg.len() {
        let b = bucket_of(seg[start].0);
        let mut end = start;
        let (mut min_i, mut max_i) = (start, start);
        while end < seg.len() && bucket_of(seg[end].0) == b {
            if seg[end].1 < seg[min_i].1 {
                min_i = end;
            }
            if seg[end].1 > seg[max_i].1 {
                max_i = end;
            }
            end += 1;
        }
        keep[min_i] = true;
        keep[max_i] = true;
        start = end;
    }
    seg.iter()
        .zip(keep)
        .filter_map(|(p, k)| k.then_some(*p))
        .collect()
}

/// `text` cut to `max` characters by dropping its middle: alert rule names share prefixes
/// (`MultiStrategySchedulerLatency…`) and differ at the end.
fn truncate_middle(text: &str, max: usize) -> String {
    let chars: Vec<char> = text.trim().chars().collect();
    if chars.len() <= max || max < 3 {
        return chars.into_iter().collect();
    }
    let tail = (max - 1) / 2;
    let head = max - 1 - tail;
    let mut out: String = chars[..head].iter().collect();
    out.push('\u{2026}');
    out.extend(&chars[chars.len() - tail..]);
    out
}

/// `text` cut to `max` characters with an ellipsis.
fn truncate(text: &str, max: usize) -> String {
    let text = text.trim();
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let cut: String = text.chars().take(max - 1).collect();
        format!("{}\u{2026}", cut.trim_end())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart(points: &[Point]) -> String {
        let mut out = String::new();
        LineChart {
            title: "Latency".into(),
            unit: "ms".into(),
            x_end: Some(3600.0),
            lines: vec![Line {
                name: "mr_core".into(),
                points,
                color: series_color(0),
            }],
            thresholds: vec![Threshold {
                label: "warning 250 ms".into(),
                value: 250.0,
                color: WARNING,
            }],
            include_zero: false,
        }
        .render(&mut out)
        .unwrap();
        out
    }

    #[test]
    fn edge_series_render_without_panicking_and_say_what_they_show() {
        let nan = [Point::gap(0.0), Point::new(f64::NAN, 1.0), Point::gap(60.0)];
        let cases: [(&str, &[Point], usize, usize, bool); 5] = [
            ("no points", &[], 0, 0, true),
            ("one point", &[Point::new(60.0, 120.0)], 0, 1, false),
            ("only gaps", &nan, 0, 0, true),
            (
                "gap in the middle",
                &[
                    Point::new(0.0, 1.0),
                    Point::new(60.0, 2.0),
                    Point::gap(120.0),
                    Point::new(180.0, 3.0),
                    Point::new(240.0, 4.0),
                ],
                2,
                0,
                false,
            ),
            (
                "lone point between gaps",
                &[
                    Point::new(0.0, 1.0),
                    Point::new(1.0, 1.0),
                    Point::gap(2.0),
                    Point::new(3.0, 5.0),
                ],
                1,
                1,
                false,
            ),
        ];
        for (name, points, polylines, dots, no_data) in cases {
            let svg = chart(points);
            assert_eq!(svg.matches("<polyline").count(), polylines, "{name}");
            assert_eq!(svg.matches("<circle").count(), dots, "{name}");
            assert_eq!(svg.contains(">no data<"), no_data, "{name}");
            assert!(
                !svg.contains("NaN") && !svg.contains("inf"),
                "{name}: {svg}"
            );
            assert!(svg.contains("warning 250 ms"), "{name}: threshold drawn");
        }
    }

    #[test]
    fn long_series_are_thinned_but_keep_their_spike() {
        let mut points: Vec<Point> = (0..100_000)
            .map(|i| Point::new(i as f64 * 0.036, 100.0 + (i % 7) as f64))
            .collect();
        points[54_321].value = 900.0;
        let svg = chart(&points);
        let polyline = svg
            .lines()
            .find(|l| l.starts_with("<polyline"))
            .expect("a polyline");
        let drawn = polyline.matches(',').count();
        assert!(drawn <= MAX_POINTS_PER_LINE, "{drawn} points drawn");
        assert!(drawn >= BUCKETS, "{drawn} points drawn");
        // The y axis reaches the spike, and the spike's pixel row is on the line.
        let y = y_axis(&[100.0, 900.0, 250.0], TOP + LINE_PLOT_H, TOP).unwrap();
        assert!(polyline.contains(&format!(",{}", n(y.px(900.0)))));
    }

    #[test]
    fn text_is_escaped_everywhere() {
        let evil = "<b>&\"'</b>";
        let mut out = String::new();
        LineChart {
            title: evil.into(),
            unit: evil.into(),
            x_end: None,
            lines: vec![Line {
                name: evil.into(),
                points: &[Point::new(0.0, 1.0), Point::new(1.0, 2.0)],
                color: series_color(1),
            }],
            thresholds: vec![Threshold {
                label: evil.into(),
                value: 1.5,
                color: CRITICAL,
            }],
            include_zero: true,
        }
        .render(&mut out)
        .unwrap();
        LaneChart {
            title: evil.into(),
            x_end: Some(100.0),
            lanes: vec![Lane {
                label: evil.into(),
                spans: vec![Span {
                    from: 1.0,
                    to: None,
                    color: WARNING,
                    tooltip: evil.into(),
                }],
                markers: vec![Marker {
                    at: 5.0,
                    shape: Shape::Diamond,
                    color: PALETTE[2],
                    hollow: false,
                    label: evil.into(),
                    tooltip: evil.into(),
                }],
            }],
            guides: vec![5.0],
            legend: vec![LegendEntry {
                name: evil.into(),
                color: PALETTE[3],
                shape: None,
                hollow: false,
            }],
        }
        .render(&mut out)
        .unwrap();
        assert!(!out.contains("<b>") && !out.contains("\"'"), "{out}");
        assert!(out.contains("&lt;b&gt;&amp;&quot;&apos;&lt;/b&gt;"));
    }

    #[test]
    fn ticks_are_round_numbers() {
        let cases = [
            (97.0, 5.0, 20.0),
            (1.0, 5.0, 0.2),
            (0.003, 5.0, 0.001),
            (0.0024, 5.0, 0.0005),
            (12_000.0, 5.0, 2500.0),
        ];
        for (span, target, step) in cases {
            let got = nice_step(span, target);
            assert!((got - step).abs() < step * 1e-9, "{span}: {got}");
        }
        assert_eq!(decimals_for(2500.0), 0);
        assert_eq!(decimals_for(0.25), 2);
        assert_eq!(decimals_for(0.0005), 4);
        assert_eq!(fixed(-0.0001, 2), "0.00");
        assert_eq!(fixed(-1.5, 1), "-1.5");
        let x = x_axis([0.0, 10_800.0].into_iter(), None, 0.0, 100.0);
        assert_eq!(x.step, 1800.0);
        let y = y_axis(&[42.0], 100.0, 0.0).unwrap();
        assert!(y.lo < 42.0 && y.hi > 42.0);
    }

    #[test]
    fn long_names_keep_the_end_that_tells_them_apart() {
        assert_eq!(truncate_middle("faults", 38), "faults");
        let high = truncate_middle("MultiStrategySchedulerLatencyHigh", 20);
        let critical = truncate_middle("MultiStrategySchedulerLatencyCritical", 20);
        assert_eq!(high.chars().count(), 20);
        assert_eq!(high, "MultiStrat\u{2026}tencyHigh");
        assert_eq!(critical, "MultiStrat\u{2026}yCritical");
        assert_eq!(
            truncate("incident INC-713 opened (sev2)", 10),
            "incident\u{2026}"
        );
    }

    #[test]
    fn an_open_alert_reaches_the_end_and_says_so() {
        let mut out = String::new();
        LaneChart {
            title: "Alerts".into(),
            x_end: Some(3600.0),
            lanes: vec![Lane {
                label: "MultiStrategySchedulerLatencyHigh".into(),
                spans: vec![
                    Span {
                        from: 600.0,
                        to: Some(1200.0),
                        color: WARNING,
                        tooltip: "10m to 20m".into(),
                    },
                    Span {
                        from: 3000.0,
                        to: None,
                        color: WARNING,
                        tooltip: "from 50m".into(),
                    },
                ],
                markers: vec![],
            }],
            guides: vec![],
            legend: vec![],
        }
        .render(&mut out)
        .unwrap();
        assert_eq!(out.matches("still firing").count(), 1);
        assert!(out.contains(&format!(
            "width=\"{}\"",
            n(RIGHT - (LANE_LEFT + (RIGHT - LANE_LEFT) * 3000.0 / 3600.0))
        )));
    }
}
