//! The per-cell bar charts of a scenario, one row per cell: median
//! work-phase time with its CI whisker, peak memory, and the parts of a
//! trial's wall time (orchestration next to steady work). The native twin's
//! rows are drawn near black: the ceiling.

use anyhow::Result;
use plotters::coord::ranged1d::SegmentValue;
use plotters::prelude::*;

use crate::run::LoadedRun;
use crate::run::format::describe;
use crate::run::format::{format_bytes, format_seconds};
use crate::run::record::{CellSummary, Orchestration};

use super::drawing::{
    BOLD_LINE, Chart, DESC_SIZE, FONT, HitArea, LABEL_SIZE, LIGHT_LINE, LegendEntry, NATIVE_COLOR,
    NOTHING_YET, WIDTH, approach_color, cell_color, css, draw_error, draw_svg, drawn, empty_chart,
    is_native, label_of,
};
use super::views::{median_estimate, seconds_text};

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
    let label_width = (longest as u32 * 8 + 24).clamp(120, 760);
    let width = WIDTH.max(label_width + 640);
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
    let (svg, marks) = draw_svg((width, height), |root, hits| {
        let mut marks = 0;
        let mut chart = ChartBuilder::on(root)
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
            .x_labels(7)
            .x_label_formatter(&|x| x_format(*x))
            .x_desc(x_desc)
            .label_style((FONT, LABEL_SIZE))
            .axis_desc_style((FONT, DESC_SIZE))
            .max_light_lines(2)
            .light_line_style(LIGHT_LINE)
            .bold_line_style(BOLD_LINE)
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
        Ok(marks)
    })?;
    Ok((svg, marks))
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
                label: c.cell.approach.to_string(),
                color: css(approach_color(c.cell.approach)),
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

/// The words of a chart of one bar per cell: its id, title, caption and
/// the description of its x axis.
struct CellBarsText<'a> {
    id: String,
    title: &'a str,
    caption: &'a str,
    x_desc: &'a str,
}

/// A chart of one bar per cell that has the measure, coloured by approach
/// (the legend), or the "nothing yet" chart when no cell has it. `measure`
/// gives a cell's bar length, whisker and tooltip, `None` for a cell
/// without the measure.
fn cell_bars_chart(
    loaded: &LoadedRun,
    cells: &[&CellSummary],
    text: CellBarsText,
    measure: impl Fn(&CellSummary) -> Option<(f64, Option<(f64, f64)>, String)>,
    x_format: &dyn Fn(f64) -> String,
) -> Result<(Chart, String)> {
    let CellBarsText {
        id,
        title,
        caption,
        x_desc,
    } = text;
    let (measured, bars): (Vec<&CellSummary>, Vec<Bar>) = cells
        .iter()
        .filter_map(|&c| {
            let (length, whisker, tooltip) = measure(c)?;
            let bar = Bar {
                label: row_label(loaded, c),
                segments: vec![(length, cell_color(loaded, c))],
                whisker,
                tooltip,
            };
            Some((c, bar))
        })
        .unzip();
    if measured.is_empty() {
        return Ok(empty_chart(id, title, caption, NOTHING_YET));
    }
    let (svg, marks) = horizontal_bars(&bars, x_desc, x_format)?;
    Ok(drawn(
        id,
        title,
        caption,
        approach_legend(loaded, &measured),
        marks,
        svg,
    ))
}

/// Median work-phase time per cell, with its 95% CI as a whisker.
pub fn time_chart(
    loaded: &LoadedRun,
    scenario: &str,
    cells: &[&CellSummary],
) -> Result<(Chart, String)> {
    let text = CellBarsText {
        id: format!("{scenario}-time"),
        title: "Median work-phase time per cell",
        caption: "Bar: median work-phase time (steady state); whisker: its 95% bootstrap CI. Shorter is better. The native twin (near black) is the ceiling: the same agents in Rust.",
        x_desc: "median work-phase time (95% CI)",
    };
    cell_bars_chart(
        loaded,
        cells,
        text,
        |c| {
            let w = c.work.as_ref()?;
            let mut tooltip = format!(
                "{}: work {} median of {} trials",
                describe(&loaded.run, &c.cell),
                seconds_text(&median_estimate(w)),
                w.n
            );
            if let Some(wall) = &c.wall {
                tooltip.push_str(&format!("; whole trial {}", format_seconds(wall.median)));
            }
            Some((w.median, Some((w.ci_low, w.ci_high)), tooltip))
        },
        &ms,
    )
}

/// Median peak memory of the process tree per cell.
pub fn memory_chart(
    loaded: &LoadedRun,
    scenario: &str,
    cells: &[&CellSummary],
) -> Result<(Chart, String)> {
    const MIB: f64 = 1024.0 * 1024.0;
    let text = CellBarsText {
        id: format!("{scenario}-memory"),
        title: "Peak memory (PSS) per cell",
        caption: "Shown: PSS (proportional set size), not RSS. Median over trials of the peak memory of the whole process tree, every worker process counted, with the pages that processes share after fork counted once (the summed RSS, in the table of cells, counts them once per process). Processes pay for one interpreter each; threads share one.",
        x_desc: "peak PSS of the process tree (MiB)",
    };
    cell_bars_chart(
        loaded,
        cells,
        text,
        |c| {
            let bytes = c.peak_memory_bytes?;
            let tooltip = format!(
                "{}: peak memory {} PSS{} (median of {} trials)",
                describe(&loaded.run, &c.cell),
                format_bytes(bytes),
                c.peak_rss_bytes
                    .map(|rss| format!(", {} summed RSS", format_bytes(rss)))
                    .unwrap_or_default(),
                c.trials
            );
            Some((bytes as f64 / MIB, None, tooltip))
        },
        &|x| format!("{x:.0}"),
    )
}

/// The colours of the parts of a trial, from start to end.
const PART_COLORS: [(&str, RGBColor); 7] = [
    ("interpreter start and exit", RGBColor(148, 163, 184)),
    ("setup (building inputs)", RGBColor(203, 213, 225)),
    ("cluster connect (ray.init)", RGBColor(21, 94, 117)),
    ("shipping code (Ray runtime env)", RGBColor(103, 232, 249)),
    ("pool start", RGBColor(245, 158, 11)),
    ("steady work", RGBColor(37, 99, 235)),
    ("teardown", RGBColor(167, 139, 250)),
];

/// The parts of a trial's wall time per cell, stacked: orchestration next
/// to steady work.
pub fn orchestration_chart(
    loaded: &LoadedRun,
    scenario: &str,
    cells: &[&CellSummary],
) -> Result<(Chart, String)> {
    let id = format!("{scenario}-orchestration");
    let title = "Orchestration cost next to steady work";
    let caption = "Where a trial's wall time goes (medians): starting the interpreter, building inputs, starting the pool / interpreters / loop (for ray: connecting to or starting the cluster, shipping the code, starting the worker actors), the steady work itself, and shutting down. End-to-end speedup counts all of it; speedup only the steady work.";
    let measured: Vec<(&CellSummary, &Orchestration, f64)> = cells
        .iter()
        .filter_map(|c| Some((*c, c.orchestration.as_ref()?, c.work.as_ref()?.median)))
        .collect();
    if measured.is_empty() {
        return Ok(empty_chart(id, title, caption, NOTHING_YET));
    }
    // The cluster's steps are parts of their own only when a ray cell is
    // shown; otherwise they would be empty in every bar and the legend.
    let has_cluster = measured.iter().any(|(_, o, _)| o.cluster.is_some());
    let shown = |name: &str| has_cluster || !name.contains("Ray") && !name.contains("ray.init");
    let bars: Vec<Bar> = measured
        .iter()
        .map(|&(c, o, work)| {
            // A ray cell's pool start is its cluster's steps, shown apart.
            let (connect, ship, start) = match &o.cluster {
                Some(steps) => (steps.connect_s, steps.ship_code_s, steps.worker_start_s),
                None => (0.0, 0.0, o.pool_start_s),
            };
            let parts = [
                o.interpreter_start_s,
                o.setup_s,
                connect,
                ship,
                start,
                work,
                o.teardown_s,
            ];
            let parts: Vec<(&str, RGBColor, f64)> = PART_COLORS
                .iter()
                .zip(parts)
                .filter(|((name, _), _)| shown(name))
                .map(|((name, color), value)| (*name, *color, value))
                .collect();
            let mut tooltip = format!("{}:", describe(&loaded.run, &c.cell));
            for (name, _, value) in &parts {
                tooltip.push_str(&format!(" {name} {};", format_seconds(*value)));
            }
            if let Some(steps) = &o.cluster {
                tooltip.push_str(&format!(
                    " {} Ray cluster, workers on {} node(s), shutdown {};",
                    steps.cluster,
                    steps.nodes,
                    format_seconds(steps.shutdown_s)
                ));
            }
            if let (Some(cost), Some(method)) = (o.sharing_cost_s, &o.sharing_method) {
                tooltip.push_str(&format!(
                    " sharing the knowledge base ({method}) {}",
                    format_seconds(cost)
                ));
            }
            Bar {
                label: row_label(loaded, c),
                segments: parts
                    .iter()
                    .map(|(_, color, value)| (value.max(0.0), *color))
                    .collect(),
                whisker: None,
                tooltip: tooltip.trim_end_matches(';').to_string(),
            }
        })
        .collect();
    let (svg, marks) = horizontal_bars(&bars, "median seconds per trial, by part", &ms)?;
    Ok(drawn(
        id,
        title,
        caption,
        PART_COLORS
            .iter()
            .filter(|(name, _)| shown(name))
            .map(|(name, color)| LegendEntry {
                label: (*name).into(),
                color: css(*color),
                shape: "bar".into(),
            })
            .collect(),
        marks,
        svg,
    ))
}
