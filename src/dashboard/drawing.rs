//! What every chart of the page shares: the [`Chart`] and its legend, the
//! invisible hover areas put over a `plotters` SVG (rendered by `minijinja`
//! with HTML auto-escaping), fonts and sizes, the colours of approaches and
//! cells, and a chart drawn or left empty. Used by [`super::charts`],
//! [`super::bars`] and [`super::swimlanes`].

use anyhow::{Result, anyhow};
use minijinja::{AutoEscape, Environment, context};
use plotters::coord::Shift;
use plotters::prelude::*;
use serde::Serialize;

use crate::run::LoadedRun;
use crate::run::record::{CellSummary, InterpreterKind, InterpreterRecord};
use crate::vocabulary::Approach;

use super::views::GilMode;

/// Font family of every chart (the page's own sans-serif).
pub const FONT: &str = "sans-serif";
/// Size of tick labels (`plotters` writes 1/1.24 of it as the SVG font size).
pub const LABEL_SIZE: u32 = 18;
/// Size of axis descriptions.
pub const DESC_SIZE: u32 = 19;
/// Width of the standard charts, pixels (shown one per row, scaled to fit).
pub(super) const WIDTH: u32 = 1000;

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

impl HitArea {
    /// The hover square (18 px) over a point drawn at pixel `(x, y)`.
    pub fn around_point((x, y): (i32, i32), text: String) -> HitArea {
        HitArea {
            x: x - 9,
            y: y - 9,
            w: 18,
            h: 18,
            text,
        }
    }
}

/// The colour of an approach, the same on every chart.
pub fn approach_color(approach: Approach) -> RGBColor {
    match approach {
        Approach::Sequential => RGBColor(107, 114, 128),
        Approach::Threads => RGBColor(37, 99, 235),
        Approach::Processes => RGBColor(234, 88, 12),
        Approach::Interpreters => RGBColor(22, 163, 74),
        Approach::Asyncio => RGBColor(147, 51, 234),
        Approach::AsyncioThreads => RGBColor(219, 39, 119),
        Approach::Ray => RGBColor(8, 145, 178),
    }
}

/// The native twin's colour: near black, the ceiling.
pub const NATIVE_COLOR: RGBColor = RGBColor(17, 24, 39);

/// `#rrggbb` of a colour.
pub fn css(color: RGBColor) -> String {
    format!("#{:02x}{:02x}{:02x}", color.0, color.1, color.2)
}

/// A drawing error as an error for humans.
pub fn draw_error(err: impl std::fmt::Display) -> anyhow::Error {
    anyhow!("cannot draw a chart: {err}")
}

/// The grid's light lines, the same on every chart.
pub const LIGHT_LINE: RGBColor = RGBColor(241, 245, 249);
/// The grid's bold lines, the same on every chart.
pub const BOLD_LINE: RGBColor = RGBColor(226, 232, 240);

/// The canvas every chart is drawn on: a white `width`×`height` SVG that
/// `draw` fills, pushing its hover areas and returning how many marks it
/// drew. Returns the SVG with the hover areas on top, and that count.
pub fn draw_svg(
    (width, height): (u32, u32),
    draw: impl FnOnce(&DrawingArea<SVGBackend<'_>, Shift>, &mut Vec<HitArea>) -> Result<usize>,
) -> Result<(String, usize)> {
    let mut svg = String::new();
    let mut hits = Vec::new();
    let marks;
    {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_error)?;
        marks = draw(&root, &mut hits)?;
        root.present().map_err(draw_error)?;
    }
    Ok((with_hit_areas(svg, &hits)?, marks))
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

pub(super) fn is_native(loaded: &LoadedRun, c: &CellSummary) -> bool {
    loaded
        .run
        .interpreter(&c.cell.interpreter)
        .is_some_and(|i| i.kind == InterpreterKind::Native)
}

pub(super) fn mode_of(loaded: &LoadedRun, c: &CellSummary) -> GilMode {
    loaded
        .run
        .interpreter(&c.cell.interpreter)
        .map_or(GilMode::Gil, InterpreterRecord::gil_mode)
}

pub(super) fn label_of(loaded: &LoadedRun, id: &str) -> String {
    loaded
        .run
        .interpreter(id)
        .map_or_else(|| id.to_string(), |i| i.label.clone())
}

/// The colour of a cell: its approach's, or the native twin's.
pub(super) fn cell_color(loaded: &LoadedRun, c: &CellSummary) -> RGBColor {
    if is_native(loaded, c) {
        NATIVE_COLOR
    } else {
        approach_color(c.cell.approach)
    }
}

/// A chart with nothing to show, and why.
pub(super) fn empty_chart(id: String, title: &str, caption: &str, why: &str) -> (Chart, String) {
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

/// A drawn chart with its SVG.
pub(super) fn drawn(
    id: String,
    title: &str,
    caption: &str,
    legend: Vec<LegendEntry>,
    marks: usize,
    svg: String,
) -> (Chart, String) {
    (
        Chart {
            id,
            title: title.into(),
            caption: caption.into(),
            legend,
            marks,
            empty: None,
        },
        svg,
    )
}

pub(super) const NOTHING_YET: &str = "no measured cell yet";

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
