//! The `service` scenario on the dashboard (`service.json`, docs/service.md):
//! per interpreter, a latency-percentile chart (p50 to max of each approach
//! at the rate one core can reason through, the objective as a line) and a
//! throughput-vs-p99 curve (each approach's ladder: throughput achieved
//! against p99, filled where a level met the objective, hollow where it did
//! not); a table of the sustainable rates and the lesson. Drawn with
//! `plotters` like the other charts, hover titles with the exact values.

use anyhow::Result;
use plotters::prelude::*;
use serde::Serialize;

use crate::run::service::{ServiceCell, ServiceChoice, ServiceLevel, ServiceRun};

use super::drawing::{
    BOLD_LINE, Chart, DESC_SIZE, FONT, HitArea, LABEL_SIZE, LIGHT_LINE, LegendEntry, NATIVE_COLOR,
    WIDTH, approach_color, css, draw_error, draw_svg, drawn,
};
use super::views::GilMode;

/// The percentiles drawn, in order, with their labels.
const PERCENTILES: [&str; 5] = ["p50", "p90", "p99", "p99.9", "max"];
/// The objective's colour.
const SLO_COLOR: RGBColor = RGBColor(220, 38, 38);

/// The service scenario's part of the page.
#[derive(Debug, Clone, Serialize)]
pub struct ServiceSection {
    /// The objective: p99 at most this many milliseconds.
    pub slo_ms: f64,
    /// The lesson in one sentence with numbers.
    pub lesson: Option<String>,
    /// What the scenario decides, in one sentence (or why it does not).
    pub choice: String,
    /// Whether the model was a real server (its time includes its queueing).
    pub external: bool,
    /// One row per cell.
    pub rows: Vec<ServiceRow>,
    /// Per interpreter: the percentile chart and the throughput-vs-p99 curve.
    pub charts: Vec<Chart>,
}

/// One cell in the service table.
#[derive(Debug, Clone, Serialize)]
pub struct ServiceRow {
    /// The interpreter's label.
    pub interpreter: String,
    /// GIL, free-threaded or native.
    pub mode: GilMode,
    /// The approach.
    pub approach: String,
    /// The sustainable rate, or why there is none / it is open.
    pub sustainable: String,
    /// p50 / p99 / max at the sustainable rate, milliseconds.
    pub latency: String,
    /// p99 of the answer wait at the sustainable rate, milliseconds.
    pub answer_wait: String,
    /// The first rate over the objective and why.
    pub first_failure: String,
}

fn ms(value: f64) -> String {
    if value >= 10.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.1}")
    }
}

fn color_of(cell: &ServiceCell) -> RGBColor {
    if cell.gil_mode == GilMode::Native {
        NATIVE_COLOR
    } else {
        approach_color(cell.approach)
    }
}

fn row(cell: &ServiceCell) -> ServiceRow {
    let at = cell.at_sustainable();
    let sustainable = match (&cell.error, &cell.open, cell.sustainable_rps) {
        (Some(error), _, _) => format!("failed: {error}"),
        (None, Some(why), Some(rate)) => format!("open (at least {rate:.1} req/s): {why}"),
        (None, Some(why), None) => format!("open: {why}"),
        (None, None, Some(rate)) if cell.censored() => {
            format!("at least {rate:.1} req/s (the ladder's top)")
        }
        (None, None, Some(rate)) => format!("{rate:.1} req/s"),
        (None, None, None) => format!(
            "none (below {:.1} req/s)",
            cell.levels.first().map_or(0.0, |l| l.offered_rps)
        ),
    };
    ServiceRow {
        interpreter: cell.label.clone(),
        mode: cell.gil_mode,
        approach: cell.approach.to_string(),
        sustainable,
        latency: at.map_or_else(
            || "–".into(),
            |l| {
                format!(
                    "{} / {} / {} ms{}",
                    ms(l.latency_ms.p50),
                    ms(l.latency_ms.p99),
                    ms(l.latency_ms.max),
                    if l.p99_is_max { " (p99 = max)" } else { "" }
                )
            },
        ),
        answer_wait: at.map_or_else(
            || "–".into(),
            |l| format!("{} ms", ms(l.answer_wait_ms.p99)),
        ),
        first_failure: cell.first_failure().map_or_else(
            || "none tried".into(),
            |l| {
                format!(
                    "{:.1} req/s: {}",
                    l.offered_rps,
                    l.why_not.as_deref().unwrap_or("")
                )
            },
        ),
    }
}

fn choice_text(service: &ServiceRun) -> String {
    match service.choice() {
        ServiceChoice::Best(cell) => format!(
            "Highest sustainable rate within p99 ≤ {:.0} ms: {} on {}, {:.1} requests/s.",
            service.slo_ms,
            cell.approach,
            cell.label,
            cell.sustainable_rps.unwrap_or(0.0)
        ),
        ServiceChoice::Level(cells) => format!(
            "Undecided: {} sustain the same rate ({:.1} requests/s, the ladder's resolution).",
            cells
                .iter()
                .map(|c| format!("{} on {}", c.approach, c.label))
                .collect::<Vec<_>>()
                .join(", "),
            cells.first().and_then(|c| c.sustainable_rps).unwrap_or(0.0)
        ),
        ServiceChoice::Open(_, cell) => format!(
            "Undecided: {} on {}: {}.",
            cell.approach,
            cell.label,
            cell.why_undecided()
        ),
        ServiceChoice::Nothing => format!(
            "No approach met p99 ≤ {:.0} ms even at its lowest rate.",
            service.slo_ms
        ),
    }
}

/// The section and its charts' SVGs by chart id.
pub fn section(service: &ServiceRun) -> Result<(ServiceSection, Vec<(String, String)>)> {
    // One pair of charts per Python build, the native twin (the ceiling)
    // drawn on each; a run of the twin alone gets its own pair.
    let twin: Vec<&ServiceCell> = service
        .cells
        .iter()
        .filter(|c| c.gil_mode == GilMode::Native && !c.levels.is_empty())
        .collect();
    let mut interpreters: Vec<(&str, &str)> = Vec::new();
    for cell in &service.cells {
        let python = cell.gil_mode != GilMode::Native || twin.len() == service.cells.len();
        if python && !interpreters.iter().any(|(id, _)| *id == cell.interpreter) {
            interpreters.push((&cell.interpreter, &cell.label));
        }
    }
    let mut charts = Vec::new();
    let mut svgs = Vec::new();
    for (id, label) in interpreters {
        let mut cells: Vec<&ServiceCell> = service
            .cells
            .iter()
            .filter(|c| c.interpreter == id && !c.levels.is_empty())
            .collect();
        if cells.iter().all(|c| c.gil_mode != GilMode::Native) {
            cells.extend(&twin);
        }
        if cells.is_empty() {
            continue;
        }
        for (chart, svg) in [
            percentile_chart(service, id, label, &cells)?,
            curve_chart(service, id, label, &cells)?,
        ] {
            svgs.push((chart.id.clone(), svg));
            charts.push(chart);
        }
    }
    Ok((
        ServiceSection {
            slo_ms: service.slo_ms,
            lesson: service.lesson(),
            choice: choice_text(service),
            external: service.endpoint == "external",
            rows: service.cells.iter().map(row).collect(),
            charts,
        },
        svgs,
    ))
}

fn legend(cells: &[&ServiceCell]) -> Vec<LegendEntry> {
    let mut legend: Vec<LegendEntry> = cells
        .iter()
        .map(|c| LegendEntry {
            label: if c.gil_mode == GilMode::Native {
                format!("native twin ({})", c.approach)
            } else {
                c.approach.to_string()
            },
            color: css(color_of(c)),
            shape: "circle".into(),
        })
        .collect();
    legend.push(LegendEntry {
        label: "objective (p99)".into(),
        color: css(SLO_COLOR),
        shape: "line".into(),
    });
    legend
}

/// The y range of a log-scale latency axis holding `values` and the objective.
fn latency_range(values: impl Iterator<Item = f64>, slo_ms: f64) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| v.is_finite() && *v > 0.0)
        .fold((slo_ms, slo_ms), |(lo, hi), v| (lo.min(v), hi.max(v)));
    (lo / 1.5, hi * 1.5)
}

/// 1-2-5 steps from `lo` to `hi`: the log axis' labelled values (plotters'
/// own pick keeps only the powers of ten, too few over one decade).
fn ticks(lo: f64, hi: f64) -> Vec<f64> {
    let mut ticks = Vec::new();
    let mut decade = 10f64.powf(lo.max(1e-3).log10().floor());
    while decade <= hi {
        for step in [1.0, 2.0, 5.0] {
            let value = decade * step;
            if value >= lo && value <= hi {
                ticks.push(value);
            }
        }
        decade *= 10.0;
    }
    ticks
}

fn percentiles_of(level: &ServiceLevel) -> [f64; 5] {
    let l = &level.latency_ms;
    [l.p50, l.p90, l.p99, l.p99_9, l.max]
}

/// p50 to max of each approach at the interpreter's one-core rate.
fn percentile_chart(
    service: &ServiceRun,
    id: &str,
    label: &str,
    cells: &[&ServiceCell],
) -> Result<(Chart, String)> {
    let chart_id = format!("service-{id}-percentiles");
    let title = format!("Latency percentiles on {label}");
    let mut series: Vec<(&ServiceCell, &ServiceLevel)> = cells
        .iter()
        .filter(|c| c.gil_mode != GilMode::Native)
        .filter_map(|c| Some((*c, service.at_one_core(c).or(c.levels.first())?)))
        .collect();
    let rate = series.first().map_or(0.0, |(_, l)| l.offered_rps);
    // The twin at its rate nearest to the builds' (its ladder is in their rates).
    for twin in cells.iter().filter(|c| c.gil_mode == GilMode::Native) {
        if let Some(level) = twin.levels.iter().min_by(|a, b| {
            (a.offered_rps - rate)
                .abs()
                .total_cmp(&(b.offered_rps - rate).abs())
        }) {
            series.push((twin, level));
        }
    }
    if series.iter().all(|(c, _)| c.gil_mode == GilMode::Native) {
        series.truncate(1);
    }
    let caption = format!(
        "Each approach at {rate:.1} requests/s (what one core of {label} can reason through; open-loop, latency from each request's scheduled arrival). A line per approach from the median to the slowest request; log scale; black: the native twin (threads, no interpreter), the ceiling, at its nearest rate. Red dashed: the objective, p99 ≤ {:.0} ms. Hover a point for exact values.",
        service.slo_ms
    );
    let (lo, hi) = latency_range(
        series.iter().flat_map(|(_, l)| percentiles_of(l)),
        service.slo_ms,
    );
    let (width, height) = (WIDTH, 400u32);
    let (svg, marks) = draw_svg((width, height), |root, hits| {
        let mut marks = 0;
        let mut chart = ChartBuilder::on(root)
            .margin(12)
            .x_label_area_size(50)
            .y_label_area_size(80)
            .build_cartesian_2d(
                -0.3f64..4.3,
                (lo..hi).log_scale().with_key_points(ticks(lo, hi)),
            )
            .map_err(draw_error)?;
        chart
            .configure_mesh()
            .x_labels(5)
            .x_label_formatter(&|x| {
                let i = x.round();
                if (x - i).abs() < 1e-6 && (0.0..5.0).contains(&i) {
                    PERCENTILES[i as usize].to_string()
                } else {
                    String::new()
                }
            })
            .y_label_formatter(&|y| format!("{} ms", ms(*y)))
            .x_desc("percentile")
            .y_desc("latency (ms, log scale)")
            .label_style((FONT, LABEL_SIZE))
            .axis_desc_style((FONT, DESC_SIZE))
            .max_light_lines(0)
            .light_line_style(LIGHT_LINE)
            .bold_line_style(BOLD_LINE)
            .draw()
            .map_err(draw_error)?;
        draw_objective(&mut chart, (-0.3, 4.3), service.slo_ms)?;
        for (cell, level) in &series {
            let color = color_of(cell);
            let points: Vec<(f64, f64)> = percentiles_of(level)
                .iter()
                .enumerate()
                .map(|(i, &v)| (i as f64, v.max(lo)))
                .collect();
            chart
                .draw_series(LineSeries::new(points.clone(), color.stroke_width(3)))
                .map_err(draw_error)?;
            chart
                .draw_series(points.iter().map(|&p| Circle::new(p, 5, color.filled())))
                .map_err(draw_error)?;
            for (i, &(x, y)) in points.iter().enumerate() {
                let text = format!(
                    "{} on {}, {:.1} req/s: {} {} ms ({} requests{})",
                    cell.approach,
                    cell.label,
                    level.offered_rps,
                    PERCENTILES[i],
                    ms(y),
                    level.completed,
                    if level.p99_is_max {
                        "; fewer than 100: p99 = max"
                    } else {
                        ""
                    }
                );
                hits.push(HitArea::around_point(chart.backend_coord(&(x, y)), text));
                marks += 1;
            }
        }
        Ok(marks)
    })?;
    Ok(drawn(chart_id, &title, &caption, legend(cells), marks, svg))
}

/// Each approach's ladder: throughput achieved against p99.
fn curve_chart(
    service: &ServiceRun,
    id: &str,
    label: &str,
    cells: &[&ServiceCell],
) -> Result<(Chart, String)> {
    let chart_id = format!("service-{id}-curve");
    let title = format!("Throughput vs p99 on {label}");
    let caption = format!(
        "Each approach's ladder of offered rates: requests served per second against the p99 latency (both axes log scale; black: the native twin, the ceiling). Filled: the level met the objective (p99 ≤ {:.0} ms, red dashed, nothing dropped); hollow: it did not. A curve that turns up sharply has hit its capacity: more offered load only queues. Hover a point for the offered rate and why a level failed.",
        service.slo_ms
    );
    let levels = || cells.iter().flat_map(|c| c.levels.iter());
    let (lo, hi) = latency_range(levels().map(|l| l.latency_ms.p99), service.slo_ms);
    // Log scale on both axes: the twin's rates are many times the builds'.
    let right = levels()
        .map(|l| l.throughput_rps.max(l.offered_rps))
        .fold(1.0, f64::max)
        * 1.15;
    let left = levels()
        .map(|l| l.throughput_rps)
        .filter(|t| *t > 0.0)
        .fold(right, f64::min)
        / 1.3;
    let (width, height) = (WIDTH, 400u32);
    let (svg, marks) = draw_svg((width, height), |root, hits| {
        let mut marks = 0;
        let mut chart = ChartBuilder::on(root)
            .margin(12)
            .x_label_area_size(50)
            .y_label_area_size(80)
            .build_cartesian_2d(
                (left..right)
                    .log_scale()
                    .with_key_points(ticks(left, right)),
                (lo..hi).log_scale().with_key_points(ticks(lo, hi)),
            )
            .map_err(draw_error)?;
        chart
            .configure_mesh()
            .y_label_formatter(&|y| format!("{} ms", ms(*y)))
            .x_label_formatter(&|x| format!("{x:.0}"))
            .x_desc("throughput achieved (requests/s, log scale)")
            .y_desc("p99 latency (ms, log scale)")
            .label_style((FONT, LABEL_SIZE))
            .axis_desc_style((FONT, DESC_SIZE))
            .max_light_lines(0)
            .light_line_style(LIGHT_LINE)
            .bold_line_style(BOLD_LINE)
            .draw()
            .map_err(draw_error)?;
        draw_objective(&mut chart, (left, right), service.slo_ms)?;
        for cell in cells {
            let color = color_of(cell);
            let points: Vec<(f64, f64, &ServiceLevel)> = cell
                .levels
                .iter()
                .map(|l| (l.throughput_rps.max(left), l.latency_ms.p99.max(lo), l))
                .collect();
            chart
                .draw_series(LineSeries::new(
                    points.iter().map(|&(x, y, _)| (x, y)),
                    color.stroke_width(3),
                ))
                .map_err(draw_error)?;
            for &(x, y, level) in &points {
                let style = if level.meets_objective {
                    color.filled()
                } else {
                    WHITE.filled()
                };
                chart
                    .draw_series([Circle::new((x, y), 6, style)])
                    .map_err(draw_error)?;
                chart
                    .draw_series([Circle::new((x, y), 6, color.stroke_width(2))])
                    .map_err(draw_error)?;
                let text = format!(
                    "{} on {}: offered {:.1} req/s, served {:.1} req/s, p99 {} ms; {}",
                    cell.approach,
                    cell.label,
                    level.offered_rps,
                    level.throughput_rps,
                    ms(level.latency_ms.p99),
                    level.why_not.as_deref().unwrap_or("meets the objective")
                );
                hits.push(HitArea::around_point(chart.backend_coord(&(x, y)), text));
                marks += 1;
            }
        }
        Ok(marks)
    })?;
    Ok(drawn(chart_id, &title, &caption, legend(cells), marks, svg))
}

/// The objective (p99 at most `slo_ms`) as a red dashed line across a
/// chart, from `left` to `right` on its x axis.
fn draw_objective<X, Y>(
    chart: &mut ChartContext<'_, SVGBackend<'_>, Cartesian2d<X, Y>>,
    (left, right): (f64, f64),
    slo_ms: f64,
) -> Result<()>
where
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    chart
        .draw_series(DashedLineSeries::new(
            [(left, slo_ms), (right, slo_ms)],
            8,
            5,
            SLO_COLOR.stroke_width(2),
        ))
        .map_err(draw_error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_axis_ticks_step_one_two_five() {
        assert_eq!(
            ticks(90.0, 2100.0),
            vec![100.0, 200.0, 500.0, 1000.0, 2000.0]
        );
    }
}
