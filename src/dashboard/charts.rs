//! The standard charts of a scenario, drawn as SVG with `plotters` (its SVG
//! backend: vector output that stays sharp, needs no fonts at build time and
//! is plain text inside the one HTML file): speedup vs workers with the ideal
//! line, median work-phase time with CI whiskers, peak memory, and
//! orchestration cost next to steady work. The native twin is drawn on every
//! one of them as the ceiling.
//!
//! Hover: every mark gets an invisible hit area carrying an SVG `<title>`
//! (the browser's own tooltip, no script) with the exact values and CIs. The
//! hit areas are placed with `plotters`' own coordinate mapping and rendered
//! by `minijinja` with HTML auto-escaping, like every string from outside.

use anyhow::{Result, anyhow};
use minijinja::{AutoEscape, Environment, context};
use plotters::coord::ranged1d::SegmentValue;
use plotters::prelude::*;
use serde::Serialize;

use crate::bench::record::{CellSummary, InterpreterKind, LoadedRun};
use crate::bench::summary::describe;
use crate::bench::terminal::{format_bytes, format_seconds};

use super::model::{GilMode, ratio_text, seconds_text};

/// Font family of every chart (the page's own sans-serif).
pub const FONT: &str = "sans-serif";
/// Size of tick labels (`plotters` writes 1/1.24 of it as the SVG font size).
pub const LABEL_SIZE: u32 = 18;
/// Size of axis descriptions.
pub const DESC_SIZE: u32 = 19;
/// Width of the standard charts, pixels (shown one per row, scaled to fit).
const WIDTH: u32 = 1000;

/// One chart of the page.
#[derive(Debug, Clone, Serialize)]
pub struct Chart {
    /// Unique id in the page (`cpu-speedup`).
    pub id: String,
    /// Title.
    pub title: String,
    /// What it shows and how to read it.
    pub caption: String,
    /// The key of colours and symbols.
    pub legend: Vec<LegendEntry>,
    /// Number of data marks drawn (bars, points): 0 means nothing to show.
    pub marks: usize,
    /// Why there is nothing to show, when there is not.
    pub empty: Option<String>,
}

/// One entry of a chart's key.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LegendEntry {
    /// What it stands for.
    pub label: String,
    /// CSS colour.
    pub color: String,
    /// `circle`, `triangle`, `cross`, `square`, `bar` or `line`.
    pub shape: String,
}

/// An invisible hover area over a mark, in the SVG's pixel coordinates.
#[derive(Debug, Clone, Serialize)]
pub struct HitArea {
    /// Left.
    pub x: i32,
    /// Top.
    pub y: i32,
    /// Width.
    pub w: i32,
    /// Height.
    pub h: i32,
    /// The tooltip: exact values with CIs.
    pub text: String,
}

/// The colour of an approach, the same on every chart.
pub fn approach_color(approach: &str) -> RGBColor {
    match approach {
        "sequential" => RGBColor(107, 114, 128),
        "threads" => RGBColor(37, 99, 235),
        "processes" => RGBColor(234, 88, 12),
        "interpreters" => RGBColor(22, 163, 74),
        "asyncio" => RGBColor(147, 51, 234),
        "asyncio+threads" => RGBColor(219, 39, 119),
        _ => RGBColor(8, 145, 178),
    }
}

/// The native twin's colour: near black, the ceiling.
pub const NATIVE_COLOR: RGBColor = RGBColor(17, 24, 39);

/// `#rrggbb` of a colour.
pub fn css(color: RGBColor) -> String {
    format!("#{:02x}{:02x}{:02x}", color.0, color.1, color.2)
}

/// The marker shape of an interpreter's GIL mode on the speedup chart.
fn shape_of(mode: GilMode) -> &'static str {
    match mode {
        GilMode::Gil => "circle",
        GilMode::FreeThreaded => "triangle",
        GilMode::ForcedOn => "cross",
        GilMode::Native => "square",
    }
}

/// A drawing error as an error for humans.
pub fn draw_error(err: impl std::fmt::Display) -> anyhow::Error {
    anyhow!("cannot draw a chart: {err}")
}

/// Puts the hover areas on top of a `plotters` SVG.
pub fn with_hit_areas(svg: String, areas: &[HitArea]) -> Result<String> {
    let mut env = Environment::new();
    env.set_auto_escape_callback(|_| AutoEscape::Html);
    let overlay = env
        .render_str(
            r#"<g class="hits">{% for a in areas %}<rect class="hit" x="{{ a.x }}" y="{{ a.y }}" width="{{ a.w }}" height="{{ a.h }}"><title>{{ a.text }}</title></rect>{% endfor %}</g>"#,
            context! { areas => minijinja::Value::from(minijinja::value::Serde(areas)) },
        )
        .map_err(|e| anyhow!("cannot render the hover areas: {e}"))?;
    let end = svg
        .rfind("</svg>")
        .ok_or_else(|| anyhow!("plotters wrote an SVG without its closing tag"))?;
    Ok(format!("{}{overlay}{}", &svg[..end], &svg[end..]))
}

fn is_native(loaded: &LoadedRun, c: &CellSummary) -> bool {
    loaded
        .run
        .interpreter(&c.cell.interpreter)
        .is_some_and(|i| i.kind == InterpreterKind::Native)
}

fn mode_of(loaded: &LoadedRun, c: &CellSummary) -> GilMode {
    loaded
        .run
        .interpreter(&c.cell.interpreter)
        .map_or(GilMode::Gil, GilMode::of)
}

fn label_of(loaded: &LoadedRun, id: &str) -> String {
    loaded
        .run
        .interpreter(id)
        .map_or_else(|| id.to_string(), |i| i.label.clone())
}

/// The colour of a cell: its approach's, or the native twin's.
fn cell_color(loaded: &LoadedRun, c: &CellSummary) -> RGBColor {
    if is_native(loaded, c) {
        NATIVE_COLOR
    } else {
        approach_color(&c.cell.approach)
    }
}

/// Every chart of one scenario, with its SVG. `cells` are the scenario's
/// cells in display order.
pub fn scenario_charts(
    loaded: &LoadedRun,
    scenario: &str,
    cells: &[&CellSummary],
) -> Result<Vec<(Chart, String)>> {
    Ok(vec![
        speedup_chart(loaded, scenario, cells)?,
        time_chart(loaded, scenario, cells)?,
        memory_chart(loaded, scenario, cells)?,
        orchestration_chart(loaded, scenario, cells)?,
    ])
}

fn empty_chart(id: String, title: &str, caption: &str, why: &str) -> (Chart, String) {
    (
        Chart {
            id,
            title: title.into(),
            caption: caption.into(),
            legend: vec![],
            marks: 0,
            empty: Some(why.into()),
        },
        String::new(),
    )
}

const NOTHING_YET: &str = "no measured cell yet";

/// Speedup vs workers: a series per approach × interpreter, the ideal line
/// (min(workers, usable cores)) and the "no speedup" line for reference.
fn speedup_chart(
    loaded: &LoadedRun,
    scenario: &str,
    cells: &[&CellSummary],
) -> Result<(Chart, String)> {
    let id = format!("{scenario}-speedup");
    let title = "Speedup vs workers";
    let caption = "Speedup = median work-phase time of `sequential` on the same interpreter ÷ this cell's (steady state, orchestration left out). Whiskers: 95% CI. Dashed grey: the ideal (one core per worker, up to the usable cores). Colour: approach; symbol: interpreter (● GIL build, ▲ free-threaded, ✚ GIL forced on, ■ native twin, the ceiling). Hover a point for exact values.";
    let points: Vec<&CellSummary> = cells
        .iter()
        .copied()
        .filter(|c| !c.cell.is_baseline() && c.speedup.is_some())
        .collect();
    if points.is_empty() {
        return Ok(empty_chart(id, title, caption, NOTHING_YET));
    }
    // One series per (approach, interpreter), in display order.
    let mut series: Vec<(String, String)> = Vec::new();
    for c in &points {
        let key = (c.cell.approach.clone(), c.cell.interpreter.clone());
        if !series.contains(&key) {
            series.push(key);
        }
    }
    let cores = loaded.run.settings.usable_cores.max(1);
    let max_workers = points
        .iter()
        .map(|c| c.cell.workers)
        .max()
        .unwrap_or(1)
        .max(2);
    let top = points
        .iter()
        .filter_map(|c| c.speedup.map(|s| s.ci_high))
        .fold(f64::from(max_workers.min(cores)), f64::max)
        * 1.12;
    // Points of different series at the same workers are spread sideways a
    // little so that none hides another.
    let spread = 0.5_f64.min(0.08 * series.len() as f64);
    let dodge = |i: usize| {
        if series.len() < 2 {
            0.0
        } else {
            -spread / 2.0 + spread * i as f64 / (series.len() - 1) as f64
        }
    };

    let (width, height) = (WIDTH, 420u32);
    let mut svg = String::new();
    let mut hits = Vec::new();
    let mut marks = 0;
    {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_error)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(50)
            .y_label_area_size(70)
            .build_cartesian_2d(0.5f64..f64::from(max_workers) + 0.5, 0f64..top)
            .map_err(draw_error)?;
        chart
            .configure_mesh()
            .x_labels((max_workers + 1) as usize)
            .x_label_formatter(&|x| {
                if (x - x.round()).abs() < 1e-9 && *x >= 1.0 {
                    format!("{}", x.round() as i64)
                } else {
                    String::new()
                }
            })
            .y_label_formatter(&|y| format!("{y:.1}×"))
            .x_desc("workers")
            .y_desc("speedup (work phase)")
            .label_style((FONT, LABEL_SIZE))
            .axis_desc_style((FONT, DESC_SIZE))
            .max_light_lines(2)
            .light_line_style(RGBColor(241, 245, 249))
            .bold_line_style(RGBColor(226, 232, 240))
            .draw()
            .map_err(draw_error)?;
        let grey = RGBColor(148, 163, 184);
        let ideal: Vec<(f64, f64)> = (1..=max_workers)
            .map(|w| (f64::from(w), f64::from(w.min(cores))))
            .collect();
        chart
            .draw_series(DashedLineSeries::new(ideal, 8, 5, grey.stroke_width(2)))
            .map_err(draw_error)?;
        chart
            .draw_series(LineSeries::new(
                [(0.5, 1.0), (f64::from(max_workers) + 0.5, 1.0)],
                grey.mix(0.6).stroke_width(1),
            ))
            .map_err(draw_error)?;
        // The baseline itself: sequential is 1× by definition.
        chart
            .draw_series([Circle::new((1.0, 1.0), 4, grey.filled())])
            .map_err(draw_error)?;
        for (i, (approach, interpreter)) in series.iter().enumerate() {
            let mine: Vec<&&CellSummary> = points
                .iter()
                .filter(|c| &c.cell.approach == approach && &c.cell.interpreter == interpreter)
                .collect();
            let color = cell_color(loaded, mine[0]);
            let shape = shape_of(mode_of(loaded, mine[0]));
            let xy: Vec<(f64, f64, &CellSummary)> = mine
                .iter()
                .filter_map(|c| Some((f64::from(c.cell.workers) + dodge(i), c.speedup?.point, **c)))
                .collect();
            if xy.len() > 1 {
                chart
                    .draw_series(LineSeries::new(
                        xy.iter().map(|&(x, y, _)| (x, y)),
                        color.stroke_width(2),
                    ))
                    .map_err(draw_error)?;
            }
            for &(x, y, c) in &xy {
                let s = c.speedup.expect("filtered on speedup");
                chart
                    .draw_series([ErrorBar::new_vertical(
                        x,
                        s.ci_low,
                        y,
                        s.ci_high,
                        color.stroke_width(2),
                        8,
                    )])
                    .map_err(draw_error)?;
                let style = color.filled();
                match shape {
                    "triangle" => chart
                        .draw_series([TriangleMarker::new((x, y), 7, style)])
                        .map(|_| ()),
                    "cross" => chart
                        .draw_series([Cross::new((x, y), 6, color.stroke_width(3))])
                        .map(|_| ()),
                    "square" => chart
                        .draw_series([Rectangle::new(
                            [(x - 0.025, y - top * 0.012), (x + 0.025, y + top * 0.012)],
                            style,
                        )])
                        .map(|_| ()),
                    _ => chart
                        .draw_series([Circle::new((x, y), 5, style)])
                        .map(|_| ()),
                }
                .map_err(draw_error)?;
                marks += 1;
                let (px, py) = chart.backend_coord(&(x, y));
                let mut text = format!(
                    "{}: speedup {}",
                    describe(&loaded.run, &c.cell),
                    ratio_text(&s)
                );
                if let Some(e) = &c.end_to_end_speedup {
                    text.push_str(&format!("; end-to-end speedup {}", ratio_text(e)));
                }
                if let Some(e) = &c.efficiency {
                    text.push_str(&format!("; efficiency {:.0}%", e.point * 100.0));
                }
                hits.push(HitArea {
                    x: px - 9,
                    y: py - 9,
                    w: 18,
                    h: 18,
                    text,
                });
            }
        }
        root.present().map_err(draw_error)?;
    }
    let mut legend: Vec<LegendEntry> = series
        .iter()
        .map(|(approach, interpreter)| {
            let c = points
                .iter()
                .find(|c| &c.cell.approach == approach && &c.cell.interpreter == interpreter)
                .expect("every series has a point");
            LegendEntry {
                label: format!("{approach} · {}", label_of(loaded, interpreter)),
                color: css(cell_color(loaded, c)),
                shape: shape_of(mode_of(loaded, c)).into(),
            }
        })
        .collect();
    legend.push(LegendEntry {
        label: format!("ideal (min(workers, {cores} usable cores))"),
        color: "#94a3b8".into(),
        shape: "line".into(),
    });
    Ok((
        Chart {
            id,
            title: title.into(),
            caption: caption.into(),
            legend,
            marks,
            empty: None,
        },
        with_hit_areas(svg, &hits)?,
    ))
}

/// One horizontal bar: its stacked segments (value, colour) and tooltip.
struct Bar {
    label: String,
    segments: Vec<(f64, RGBColor)>,
    whisker: Option<(f64, f64)>,
    tooltip: String,
}

/// A horizontal bar chart with one row per cell (top to bottom), optional
/// stacked segments and CI whiskers.
fn horizontal_bars(
    bars: &[Bar],
    x_desc: &str,
    x_format: &dyn Fn(f64) -> String,
) -> Result<(String, usize)> {
    let n = bars.len() as i32;
    let longest = bars
        .iter()
        .map(|b| b.label.chars().count())
        .max()
        .unwrap_or(10);
    // About 8 px per character at the label size, plus the tick.
    let label_width = (longest as u32 * 8 + 24).clamp(120, 460);
    let width = WIDTH.max(label_width + 420);
    let height = (n as u32) * 30 + 80;
    let top = bars
        .iter()
        .map(|b| {
            let sum: f64 = b.segments.iter().map(|s| s.0).sum();
            b.whisker.map_or(sum, |w| w.1.max(sum))
        })
        .fold(0.0, f64::max)
        .max(f64::MIN_POSITIVE)
        * 1.08;
    let labels: Vec<String> = bars.iter().map(|b| b.label.clone()).collect();
    // Row r (from the top) sits in segment n - 1 - r.
    let row_of = |segment: i32| (n - 1 - segment) as usize;
    let mut svg = String::new();
    let mut hits = Vec::new();
    let mut marks = 0;
    {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_error)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(50)
            .y_label_area_size(label_width)
            .build_cartesian_2d(0f64..top, (0..n).into_segmented())
            .map_err(draw_error)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(bars.len())
            .y_label_formatter(&|v| match v {
                SegmentValue::CenterOf(s) if (0..n).contains(s) => labels[row_of(*s)].clone(),
                _ => String::new(),
            })
            .x_label_formatter(&|x| x_format(*x))
            .x_desc(x_desc)
            .label_style((FONT, LABEL_SIZE))
            .axis_desc_style((FONT, DESC_SIZE))
            .max_light_lines(2)
            .light_line_style(RGBColor(241, 245, 249))
            .bold_line_style(RGBColor(226, 232, 240))
            .draw()
            .map_err(draw_error)?;
        for (r, bar) in bars.iter().enumerate() {
            let s = n - 1 - r as i32;
            let mut x0 = 0.0;
            for &(value, color) in &bar.segments {
                let mut rect = Rectangle::new(
                    [
                        (x0, SegmentValue::Exact(s)),
                        (x0 + value, SegmentValue::Exact(s + 1)),
                    ],
                    color.filled(),
                );
                rect.set_margin(4, 4, 0, 0);
                chart.draw_series([rect]).map_err(draw_error)?;
                x0 += value;
                marks += 1;
            }
            if let Some((low, high)) = bar.whisker {
                chart
                    .draw_series([ErrorBar::new_horizontal(
                        SegmentValue::CenterOf(s),
                        low,
                        x0,
                        high,
                        BLACK.stroke_width(2),
                        10,
                    )])
                    .map_err(draw_error)?;
            }
            let (left, row_top) = chart.backend_coord(&(0.0, SegmentValue::Exact(s + 1)));
            let (right, row_bottom) = chart.backend_coord(&(top, SegmentValue::Exact(s)));
            hits.push(HitArea {
                x: left,
                y: row_top,
                w: right - left,
                h: row_bottom - row_top,
                text: bar.tooltip.clone(),
            });
        }
        root.present().map_err(draw_error)?;
    }
    Ok((with_hit_areas(svg, &hits)?, marks))
}

/// `threads ×2 · CPython 3.13.5t`.
fn row_label(loaded: &LoadedRun, c: &CellSummary) -> String {
    let label = label_of(loaded, &c.cell.interpreter);
    if c.cell.is_baseline() {
        format!("{} · {label}", c.cell.approach)
    } else {
        format!("{} ×{} · {label}", c.cell.approach, c.cell.workers)
    }
}

/// A legend of the approaches present (and the native twin).
fn approach_legend(loaded: &LoadedRun, cells: &[&CellSummary]) -> Vec<LegendEntry> {
    let mut legend: Vec<LegendEntry> = Vec::new();
    for c in cells {
        let entry = if is_native(loaded, c) {
            LegendEntry {
                label: "native twin (ceiling)".into(),
                color: css(NATIVE_COLOR),
                shape: "bar".into(),
            }
        } else {
            LegendEntry {
                label: c.cell.approach.clone(),
                color: css(approach_color(&c.cell.approach)),
                shape: "bar".into(),
            }
        };
        if !legend.contains(&entry) {
            legend.push(entry);
        }
    }
    legend
}

/// Milliseconds for an axis.
fn ms(x: f64) -> String {
    format!("{:.0} ms", x * 1000.0)
}

fn time_chart(
    loaded: &LoadedRun,
    scenario: &str,
    cells: &[&CellSummary],
) -> Result<(Chart, String)> {
    let id = format!("{scenario}-time");
    let title = "Median work-phase time per cell";
    let caption = "Bar: median work-phase time (steady state); whisker: its 95% bootstrap CI. Shorter is better. The native twin (near black) is the ceiling: the same agents in Rust.";
    let measured: Vec<&CellSummary> = cells.iter().copied().filter(|c| c.work.is_some()).collect();
    if measured.is_empty() {
        return Ok(empty_chart(id, title, caption, NOTHING_YET));
    }
    let bars: Vec<Bar> = measured
        .iter()
        .map(|c| {
            let w = c.work.as_ref().expect("filtered");
            let mut tooltip = format!(
                "{}: work {} median of {} trials",
                describe(&loaded.run, &c.cell),
                seconds_text(&crate::stats::Estimate {
                    point: w.median,
                    ci_low: w.ci_low,
                    ci_high: w.ci_high
                }),
                w.n
            );
            if let Some(wall) = &c.wall {
                tooltip.push_str(&format!("; whole trial {}", format_seconds(wall.median)));
            }
            Bar {
                label: row_label(loaded, c),
                segments: vec![(w.median, cell_color(loaded, c))],
                whisker: Some((w.ci_low, w.ci_high)),
                tooltip,
            }
        })
        .collect();
    let (svg, marks) = horizontal_bars(&bars, "median work-phase time (95% CI)", &ms)?;
    Ok((
        Chart {
            id,
            title: title.into(),
            caption: caption.into(),
            legend: approach_legend(loaded, &measured),
            marks,
            empty: None,
        },
        svg,
    ))
}

fn memory_chart(
    loaded: &LoadedRun,
    scenario: &str,
    cells: &[&CellSummary],
) -> Result<(Chart, String)> {
    let id = format!("{scenario}-memory");
    let title = "Peak memory per cell";
    let caption = "Median over trials of the peak of the summed resident memory of the whole process tree (every worker process counted). Processes pay for one interpreter each; threads share one.";
    let measured: Vec<&CellSummary> = cells
        .iter()
        .copied()
        .filter(|c| c.peak_memory_bytes.is_some())
        .collect();
    if measured.is_empty() {
        return Ok(empty_chart(id, title, caption, NOTHING_YET));
    }
    const MIB: f64 = 1024.0 * 1024.0;
    let bars: Vec<Bar> = measured
        .iter()
        .map(|c| {
            let bytes = c.peak_memory_bytes.expect("filtered");
            Bar {
                label: row_label(loaded, c),
                segments: vec![(bytes as f64 / MIB, cell_color(loaded, c))],
                whisker: None,
                tooltip: format!(
                    "{}: peak memory {} (median of {} trials)",
                    describe(&loaded.run, &c.cell),
                    format_bytes(bytes),
                    c.trials
                ),
            }
        })
        .collect();
    let (svg, marks) = horizontal_bars(&bars, "peak memory of the process tree (MiB)", &|x| {
        format!("{x:.0}")
    })?;
    Ok((
        Chart {
            id,
            title: title.into(),
            caption: caption.into(),
            legend: approach_legend(loaded, &measured),
            marks,
            empty: None,
        },
        svg,
    ))
}

/// The colours of the parts of a trial, from start to end.
const PART_COLORS: [(&str, RGBColor); 5] = [
    ("interpreter start and exit", RGBColor(148, 163, 184)),
    ("setup (building inputs)", RGBColor(203, 213, 225)),
    ("pool start", RGBColor(245, 158, 11)),
    ("steady work", RGBColor(37, 99, 235)),
    ("teardown", RGBColor(167, 139, 250)),
];

fn orchestration_chart(
    loaded: &LoadedRun,
    scenario: &str,
    cells: &[&CellSummary],
) -> Result<(Chart, String)> {
    let id = format!("{scenario}-orchestration");
    let title = "Orchestration cost next to steady work";
    let caption = "Where a trial's wall time goes (medians): starting the interpreter, building inputs, starting the pool / interpreters / loop, the steady work itself, and shutting down. End-to-end speedup counts all of it; speedup only the steady work.";
    let measured: Vec<(&CellSummary, &crate::bench::record::Orchestration, f64)> = cells
        .iter()
        .filter_map(|c| Some((*c, c.orchestration.as_ref()?, c.work.as_ref()?.median)))
        .collect();
    if measured.is_empty() {
        return Ok(empty_chart(id, title, caption, NOTHING_YET));
    }
    let bars: Vec<Bar> = measured
        .iter()
        .map(|&(c, o, work)| {
            let parts = [
                o.interpreter_start_s,
                o.setup_s,
                o.pool_start_s,
                work,
                o.teardown_s,
            ];
            let mut tooltip = format!("{}:", describe(&loaded.run, &c.cell));
            for ((name, _), value) in PART_COLORS.iter().zip(parts) {
                tooltip.push_str(&format!(" {name} {};", format_seconds(value)));
            }
            if let (Some(cost), Some(method)) = (o.sharing_cost_s, &o.sharing_method) {
                tooltip.push_str(&format!(
                    " sharing the knowledge base ({method}) {}",
                    format_seconds(cost)
                ));
            }
            Bar {
                label: row_label(loaded, c),
                segments: PART_COLORS
                    .iter()
                    .zip(parts)
                    .map(|((_, color), value)| (value.max(0.0), *color))
                    .collect(),
                whisker: None,
                tooltip: tooltip.trim_end_matches(';').to_string(),
            }
        })
        .collect();
    let (svg, marks) = horizontal_bars(&bars, "median seconds per trial, by part", &ms)?;
    Ok((
        Chart {
            id,
            title: title.into(),
            caption: caption.into(),
            legend: PART_COLORS
                .iter()
                .map(|(name, color)| LegendEntry {
                    label: (*name).into(),
                    color: css(*color),
                    shape: "bar".into(),
                })
                .collect(),
            marks,
            empty: None,
        },
        svg,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hit_areas_escape_their_text() {
        let svg = "<svg>\n<rect/>\n</svg>\n".to_string();
        let areas = [HitArea {
            x: 1,
            y: 2,
            w: 3,
            h: 4,
            text: "<script>alert('x')</script> & \"q\"".into(),
        }];
        let out = with_hit_areas(svg, &areas).unwrap();
        assert!(!out.contains("<script>"), "{out}");
        assert!(out.contains("&lt;script&gt;"), "{out}");
        assert!(out.ends_with("</g></svg>\n"), "{out}");
    }
}
