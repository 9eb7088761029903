//! Drawing of a parallelism timeline with `plotters`: one swimlane per
//! thread or worker process, under a strip of the whole process tree's cores
//! busy, with red lines at 1, 2, ... cores. A lane shows either its share of
//! a core over time (a filled area: [`Shown::CpuUse`]) or what it was doing
//! (stacked bars of its thread states per time step: [`Shown::States`]),
//! with the agent tasks it ran as a band along its top. Each lane, task and
//! the strip carry a hover title.

use anyhow::Result;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::run::format::format_seconds;
use crate::run::thread_states::ThreadState;

use super::drawing::{
    BOLD_LINE, DESC_SIZE, FONT, HitArea, LABEL_SIZE, LIGHT_LINE, draw_error, draw_svg,
};
use super::trial_timeline::Prepared;

/// Lane colours: the main process blue, worker processes in turn.
const LANE_COLORS: [RGBColor; 6] = [
    RGBColor(37, 99, 235),
    RGBColor(234, 88, 12),
    RGBColor(22, 163, 74),
    RGBColor(147, 51, 234),
    RGBColor(219, 39, 119),
    RGBColor(8, 145, 178),
];

/// Height of the "cores busy" strip, in lane heights.
const STRIP: f64 = 1.5;

/// What the lanes show.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shown {
    /// Each thread's share of a core.
    CpuUse,
    /// Each thread's states (running, waiting for a core, on a lock, ...).
    States,
}

/// A state's colour (the same as the legend's CSS colour).
fn state_color(state: ThreadState) -> RGBColor {
    let hex = state.color().trim_start_matches('#');
    let byte = |i: usize| u8::from_str_radix(hex.get(i..i + 2).unwrap_or("80"), 16).unwrap_or(128);
    RGBColor(byte(0), byte(2), byte(4))
}

/// Task band colours, alternating so that consecutive tasks stand apart.
const TASK_COLORS: [RGBColor; 2] = [RGBColor(51, 65, 85), RGBColor(148, 163, 184)];

/// Draws a prepared timeline with the given time axis length and core count.
pub fn draw(p: &Prepared, x_max: f64, cores: u32, shown: Shown) -> Result<String> {
    let lanes = p.lanes.len();
    let cores = f64::from(cores.max(1));
    let height = 84 + 34 * lanes as u32 + 60;
    let width = 680;
    let y_top = lanes as f64 + 0.25 + STRIP + 0.1;
    // The lanes are not counted as marks: only the SVG is returned.
    let (svg, _) = draw_svg((width, height), |root, hits| {
        let mut chart = ChartBuilder::on(root)
            .margin(10)
            .x_label_area_size(44)
            .y_label_area_size(170)
            .build_cartesian_2d(0f64..x_max, 0f64..y_top)
            .map_err(draw_error)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(0)
            .x_labels(6)
            .max_light_lines(1)
            .x_label_formatter(&|x| format!("{x:.2} s"))
            .x_desc("time since the trial started")
            .label_style((FONT, LABEL_SIZE - 2))
            .axis_desc_style((FONT, DESC_SIZE - 2))
            .light_line_style(LIGHT_LINE)
            .bold_line_style(BOLD_LINE)
            .draw()
            .map_err(draw_error)?;
        let label_style = TextStyle::from((FONT, LABEL_SIZE - 1).into_font())
            .pos(Pos::new(HPos::Right, VPos::Center));
        // The strip on top: cores busy across the whole process tree.
        let strip_base = lanes as f64 + 0.25;
        let strip_y = |c: f64| strip_base + STRIP * (c / cores).min(1.0);
        chart
            .draw_series([Rectangle::new(
                [(0.0, strip_base), (x_max, strip_base + STRIP)],
                RGBColor(248, 250, 252).filled(),
            )])
            .map_err(draw_error)?;
        chart
            .draw_series(AreaSeries::new(
                p.total
                    .iter()
                    .flat_map(|&(s, e, c)| [(s, strip_y(c)), (e, strip_y(c))]),
                strip_base,
                RGBColor(15, 23, 42).mix(0.75),
            ))
            .map_err(draw_error)?;
        for k in 1..=(cores as u32) {
            let y = strip_y(f64::from(k));
            chart
                .draw_series(LineSeries::new(
                    [(0.0, y), (x_max, y)],
                    RGBColor(220, 38, 38).mix(0.7).stroke_width(1),
                ))
                .map_err(draw_error)?;
        }
        let (lx, ly) = chart.backend_coord(&(0.0, strip_base + STRIP / 2.0));
        root.draw(&Text::new(
            format!("cores busy (of {})", cores as u32),
            (lx - 8, ly),
            label_style.clone(),
        ))
        .map_err(draw_error)?;
        let (sx0, sy0) = chart.backend_coord(&(0.0, strip_base + STRIP));
        let (sx1, sy1) = chart.backend_coord(&(x_max, strip_base));
        let peak_text = format!(
            "whole process tree: at most {:.2} cores busy at once (red lines: 1, 2, ... cores)",
            p.view.peak_cores
        );
        hits.push(HitArea {
            x: sx0,
            y: sy0,
            w: sx1 - sx0,
            h: sy1 - sy0,
            text: peak_text,
        });
        for (j, steps) in p.lanes.iter().enumerate() {
            let base = (lanes - 1 - j) as f64;
            let color = LANE_COLORS[p.colors[j] % LANE_COLORS.len()];
            if j % 2 == 0 {
                chart
                    .draw_series([Rectangle::new(
                        [(0.0, base), (x_max, base + 1.0)],
                        RGBColor(248, 250, 252).filled(),
                    )])
                    .map_err(draw_error)?;
            }
            match (shown, p.states.get(j)) {
                (Shown::States, Some(groups)) => {
                    // Stacked per step, in the legend's order from the bottom.
                    let mut bars = Vec::new();
                    for &(s, e, times) in groups {
                        let total = times.total().max(f64::MIN_POSITIVE);
                        let mut y = base + 0.05;
                        for state in ThreadState::ALL {
                            let h = 0.8 * times.of(state) / total;
                            if h > 0.0 {
                                bars.push(Rectangle::new(
                                    [(s, y), (e, y + h)],
                                    state_color(state).filled(),
                                ));
                            }
                            y += h;
                        }
                    }
                    chart.draw_series(bars).map_err(draw_error)?;
                }
                _ => {
                    chart
                        .draw_series(AreaSeries::new(
                            steps.iter().flat_map(|&(s, e, u)| {
                                let y = base + 0.05 + 0.8 * u.clamp(0.0, 1.0);
                                [(s, y), (e, y)]
                            }),
                            base + 0.05,
                            color.mix(0.85),
                        ))
                        .map_err(draw_error)?;
                }
            }
            // The agent tasks the thread ran, as a band along its top.
            for (n, (s, e, name)) in p.tasks.get(j).into_iter().flatten().enumerate() {
                let (s, e) = (s.max(0.0), e.min(x_max));
                if e <= s {
                    continue;
                }
                chart
                    .draw_series([Rectangle::new(
                        [(s, base + 0.87), (e, base + 0.98)],
                        TASK_COLORS[n % 2].filled(),
                    )])
                    .map_err(draw_error)?;
                let (x0, y0) = chart.backend_coord(&(s, base + 0.98));
                let (x1, y1) = chart.backend_coord(&(e, base + 0.87));
                hits.push(HitArea {
                    x: x0,
                    y: y0,
                    w: (x1 - x0).max(1),
                    h: (y1 - y0).max(1),
                    text: format!(
                        "agent task {name} on {}: {} to {} ({})",
                        p.view.lanes[j].label,
                        format_seconds(s),
                        format_seconds(e),
                        format_seconds(e - s)
                    ),
                });
            }
            let lane = &p.view.lanes[j];
            let (lx, ly) = chart.backend_coord(&(0.0, base + 0.5));
            root.draw(&Text::new(
                lane.label.clone(),
                (lx - 8, ly),
                label_style.clone(),
            ))
            .map_err(draw_error)?;
            let (x0, y0) = chart.backend_coord(&(0.0, base + 1.0));
            let (x1, y1) = chart.backend_coord(&(x_max, base));
            let lived: f64 = steps.iter().map(|s| s.1 - s.0).sum();
            let states = lane.states.map_or_else(String::new, |s| {
                format!(
                    "; while it ran tasks: running {:.0}%, waiting for a core {:.0}%, on a lock {:.0}%, on I/O {:.0}%, other {:.0}%",
                    s.running * 100.0,
                    s.core_wait * 100.0,
                    s.lock_wait * 100.0,
                    s.io_wait * 100.0,
                    s.other * 100.0
                )
            });
            hits.insert(hits.len().saturating_sub(p.tasks.get(j).map_or(0, Vec::len)), HitArea {
                x: x0,
                y: y0,
                w: x1 - x0,
                h: y1 - y0,
                text: format!(
                    "{} (thread name {:?}, pid {}, tid {}): {} of CPU, busy {:.0}% of the {} it existed{states}",
                    lane.label,
                    lane.name,
                    lane.pid,
                    lane.tid,
                    format_seconds(lane.cpu_s),
                    if lived > 0.0 { 100.0 * lane.cpu_s / lived } else { 0.0 },
                    format_seconds(lived)
                ),
            });
        }
        Ok(0)
    })?;
    Ok(svg)
}
