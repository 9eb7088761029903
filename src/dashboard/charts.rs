//! The standard charts of a scenario, drawn as SVG with `plotters` (its SVG
//! backend: vector output that stays sharp, needs no fonts at build time and
//! is plain text inside the one HTML file): speedup vs workers with the ideal
//! line, median work-phase time with CI whiskers, peak memory, and
//! orchestration cost next to steady work. The native twin is drawn on every
//! one of them as the ceiling.
//!
//! This file holds the speedup chart and the list of a scenario's charts; the
//! bar charts are in [`super::bars`], what every chart shares in
//! [`super::drawing`].
//!
//! Hover: every mark gets an invisible hit area carrying an SVG `<title>`
//! (the browser's own tooltip, no script) with the exact values and CIs. The
//! hit areas are placed with `plotters`' own coordinate mapping and rendered
//! by `minijinja` with HTML auto-escaping, like every string from outside.

use anyhow::Result;
use plotters::prelude::*;

use crate::run::LoadedRun;
use crate::run::format::describe;
use crate::run::record::CellSummary;
use crate::vocabulary::Approach;

use super::bars;
use super::drawing::{
    BOLD_LINE, Chart, DESC_SIZE, FONT, HitArea, LABEL_SIZE, LIGHT_LINE, LegendEntry, NOTHING_YET,
    WIDTH, cell_color, css, draw_error, draw_svg, drawn, empty_chart, label_of, mode_of,
};
use super::views::{GilMode, ratio_text};

/// Every chart of one scenario, with its SVG. `cells` are the scenario's
/// cells in display order.
pub fn scenario_charts(
    loaded: &LoadedRun,
    scenario: &str,
    cells: &[&CellSummary],
) -> Result<Vec<(Chart, String)>> {
    Ok(vec![
        speedup_chart(loaded, scenario, cells)?,
        bars::time_chart(loaded, scenario, cells)?,
        bars::memory_chart(loaded, scenario, cells)?,
        bars::orchestration_chart(loaded, scenario, cells)?,
    ])
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
        // A zero-time cell would make an infinite ratio: not drawable.
        .filter(|c| !c.cell.is_baseline())
        .filter(|c| {
            c.speedup
                .is_some_and(|s| [s.point, s.ci_low, s.ci_high].iter().all(|v| v.is_finite()))
        })
        .collect();
    if points.is_empty() {
        return Ok(empty_chart(id, title, caption, NOTHING_YET));
    }
    // One series per (approach, interpreter), in display order.
    let mut series: Vec<(Approach, String)> = Vec::new();
    for c in &points {
        let key = (c.cell.approach, c.cell.interpreter.clone());
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
    let (svg, marks) = draw_svg((width, height), |root, hits| {
        let mut marks = 0;
        let mut chart = ChartBuilder::on(root)
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
            .light_line_style(LIGHT_LINE)
            .bold_line_style(BOLD_LINE)
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
                .filter(|c| c.cell.approach == *approach && &c.cell.interpreter == interpreter)
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
                hits.push(HitArea::around_point(chart.backend_coord(&(x, y)), text));
            }
        }
        Ok(marks)
    })?;
    let mut legend: Vec<LegendEntry> = series
        .iter()
        .map(|(approach, interpreter)| {
            let c = points
                .iter()
                .find(|c| c.cell.approach == *approach && &c.cell.interpreter == interpreter)
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
    Ok(drawn(id, title, caption, legend, marks, svg))
}
