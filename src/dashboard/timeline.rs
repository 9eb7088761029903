//! The parallelism timeline: for a representative trial of each approach, one
//! swimlane per thread (and per worker process) showing how much of a core it
//! used over time, with a strip on top for the whole tree's cores busy. Under
//! the GIL the lanes take turns (one busy while the others wait); without it
//! they are busy side by side. This is the picture that explains the numbers.
//!
//! This file chooses what is shown for a scenario: the representative trial
//! of a cell (work-phase time closest to the median), the headline
//! comparison (threads on a default build, on a free-threaded build, with the
//! GIL forced back on, and processes) and the detail set (every approach on
//! every interpreter), on one time axis. Each trial's timeline is prepared
//! from the sampler's per-thread CPU deltas (`TrialRecord::timeline`, about
//! 100 samples a second) by [`super::trial_timeline`] and drawn by
//! [`super::swimlanes`].

use std::collections::BTreeMap;

use anyhow::Result;
use serde::Serialize;

use crate::run::LoadedRun;
use crate::run::record::{CellSummary, InterpreterKind, InterpreterRecord, TrialRecord};
use crate::run::timeline::SamplerReport;
use crate::vocabulary::Approach;

use super::swimlanes::{Shown, draw};
use super::trial_timeline::{Prepared, TimelineView, prepare};
use super::views::GilMode;

/// Sample groups per lane in the headline comparison.
const HEADLINE_GROUPS: usize = 160;
/// Sample groups per lane in the full set.
const DETAIL_GROUPS: usize = 90;
/// The timelines of one scenario.
#[derive(Debug, Clone, Serialize, Default)]
pub struct TimelineSet {
    /// The comparison that explains the GIL: the same work as threads on a
    /// default build, on a free-threaded build, and as processes, on one time
    /// axis.
    pub headline: Vec<TimelineView>,
    /// Why there is no headline comparison, when there is none.
    pub headline_missing: Option<String>,
    /// Every approach on every interpreter, grouped by interpreter.
    pub groups: Vec<TimelineGroup>,
}

/// The timelines of one interpreter.
#[derive(Debug, Clone, Serialize)]
pub struct TimelineGroup {
    /// Interpreter label.
    pub interpreter: String,
    /// Its GIL mode.
    pub mode: GilMode,
    /// One per approach.
    pub timelines: Vec<TimelineView>,
}

/// The trial of a cell whose work-phase time is closest to the cell's median
/// (and that has a timeline).
pub fn representative<'a>(
    loaded: &'a LoadedRun,
    cell: &CellSummary,
) -> Option<(&'a TrialRecord, &'a SamplerReport)> {
    let median = cell.work.as_ref()?.median;
    loaded
        .trials
        .iter()
        .filter(|t| t.is_measured() && t.cell == cell.cell)
        .filter_map(|t| Some((t, t.timeline.as_ref()?, (t.work_s()? - median).abs())))
        .min_by(|a, b| a.2.total_cmp(&b.2).then(a.0.index.cmp(&b.0.index)))
        .map(|(t, timeline, _)| (t, timeline))
}

fn python_mode(i: &InterpreterRecord, mode: GilMode) -> bool {
    i.kind == InterpreterKind::Python && i.gil_mode() == mode
}

/// `threads ×2 on CPython 3.13.0 (default build (GIL))`.
fn title_of(cell: &CellSummary, interpreter: &InterpreterRecord) -> String {
    let how = if cell.cell.is_baseline() {
        cell.cell.approach.to_string()
    } else {
        format!("{} ×{}", cell.cell.approach, cell.cell.workers)
    };
    format!(
        "{how} on {} — {}",
        interpreter.label,
        interpreter.gil_mode().words()
    )
}

/// The timelines of one scenario and their SVGs by id.
pub fn scenario_timelines(
    loaded: &LoadedRun,
    scenario: &str,
    cells: &[&CellSummary],
) -> Result<(TimelineSet, BTreeMap<String, String>)> {
    let run = &loaded.run;
    let cores = run.settings.usable_cores.max(1);
    let find =
        |approach: Approach, interpreter: Option<&InterpreterRecord>| -> Option<&CellSummary> {
            let interpreter = interpreter?;
            cells
                .iter()
                .copied()
                .filter(|c| {
                    c.cell.approach == approach
                        && c.cell.interpreter == interpreter.id
                        && c.work.is_some()
                })
                .max_by_key(|c| c.cell.workers)
        };
    let free = run
        .interpreters
        .iter()
        .find(|i| python_mode(i, GilMode::FreeThreaded));
    let default = run
        .interpreters
        .iter()
        .filter(|i| python_mode(i, GilMode::Gil))
        .max_by_key(|i| free.is_some_and(|f| f.version == i.version));
    let forced = free.and_then(|f| {
        run.interpreters
            .iter()
            .find(|i| python_mode(i, GilMode::ForcedOn) && i.path == f.path)
    });
    let wanted = [
        (Approach::Threads, default),
        (Approach::Threads, free),
        (Approach::Threads, forced),
        (Approach::Processes, default.or(free)),
    ];

    // The representative trial of a cell, prepared for drawing.
    let timeline_of = |cell: &CellSummary, interpreter: &InterpreterRecord, id: String, groups| {
        let (trial, report) = representative(loaded, cell)?;
        prepare(
            id,
            title_of(cell, interpreter),
            interpreter,
            trial,
            report,
            groups,
        )
    };
    let mut prepared_headline = Vec::new();
    for (approach, interpreter) in wanted {
        let (Some(cell), Some(interpreter)) = (find(approach, interpreter), interpreter) else {
            continue;
        };
        let id = format!("{scenario}-headline-{}", prepared_headline.len());
        prepared_headline.extend(timeline_of(cell, interpreter, id, HEADLINE_GROUPS));
    }
    let mut prepared_groups: Vec<(&InterpreterRecord, Vec<Prepared>)> = Vec::new();
    for interpreter in &run.interpreters {
        let mut mine = Vec::new();
        let mut approaches: Vec<Approach> = Vec::new();
        for c in cells
            .iter()
            .filter(|c| c.cell.interpreter == interpreter.id)
        {
            if !approaches.contains(&c.cell.approach) {
                approaches.push(c.cell.approach);
            }
        }
        for approach in approaches {
            let Some(cell) = find(approach, Some(interpreter)) else {
                continue;
            };
            let id = format!("{scenario}-{}-{approach}", interpreter.id);
            mine.extend(timeline_of(cell, interpreter, id, DETAIL_GROUPS));
        }
        if !mine.is_empty() {
            prepared_groups.push((interpreter, mine));
        }
    }

    // One time axis for the whole scenario, so that a longer trial looks
    // longer: the GIL's cost is visible as length as well as as turns.
    let x_max = prepared_headline
        .iter()
        .chain(prepared_groups.iter().flat_map(|(_, p)| p.iter()))
        .filter_map(|p| p.total.last().map(|s| s.1))
        .fold(0.0, f64::max)
        .max(1e-3);
    let mut svgs = BTreeMap::new();
    let mut set = TimelineSet::default();
    for p in prepared_headline {
        insert_svgs(&mut svgs, &p, x_max, cores)?;
        set.headline.push(p.view);
    }
    let has_free_threads = set
        .headline
        .iter()
        .any(|t| t.mode == GilMode::FreeThreaded && t.approach == "threads");
    set.headline_missing = if free.is_none() {
        Some("this run has no free-threaded build, so there is no GIL / no-GIL comparison: `gil-lab python install 3.13t` provides one".into())
    } else if !has_free_threads {
        Some(
            "the threads cell of the free-threaded build has no measured trial with a timeline yet"
                .into(),
        )
    } else {
        None
    };
    for (interpreter, prepared) in prepared_groups {
        let mut timelines = Vec::new();
        for p in prepared {
            insert_svgs(&mut svgs, &p, x_max, cores)?;
            timelines.push(p.view);
        }
        set.groups.push(TimelineGroup {
            interpreter: interpreter.label.clone(),
            mode: interpreter.gil_mode(),
            timelines,
        });
    }
    Ok((set, svgs))
}

/// A timeline's SVGs: the CPU-use view under its id, and the thread-state
/// view under `<id>-states` when the trial's threads have states.
fn insert_svgs(
    svgs: &mut BTreeMap<String, String>,
    p: &Prepared,
    x_max: f64,
    cores: u32,
) -> Result<()> {
    svgs.insert(p.view.id.clone(), draw(p, x_max, cores, Shown::CpuUse)?);
    if !p.states.is_empty() {
        svgs.insert(
            format!("{}-states", p.view.id),
            draw(p, x_max, cores, Shown::States)?,
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dashboard::trial_timeline::fixtures::report;

    #[test]
    fn turns_and_side_by_side_read_differently() {
        let record = |turns: bool| {
            let interpreter = InterpreterRecord {
                id: "x".into(),
                label: "x".into(),
                kind: InterpreterKind::Python,
                path: "/x".into(),
                flags: vec![],
                implementation: "CPython".into(),
                version: "3.13.5".into(),
                free_threaded: !turns,
                gil_forced: None,
                facts: None,
            };
            let trial: TrialRecord = serde_json::from_value(serde_json::json!({
                "schema": 1, "index": 3, "repetition": 0, "warmup": false,
                "started_at": "2026-01-01T00:00:00Z", "status": "ok",
                "cell": {"scenario": "cpu", "interpreter": "x", "approach": "threads", "workers": 2}
            }))
            .unwrap();
            prepare(
                "t".into(),
                "t".into(),
                &interpreter,
                &trial,
                &report(turns),
                HEADLINE_GROUPS,
            )
            .unwrap()
        };
        let gil = record(true);
        let free = record(false);
        assert!(gil.view.overlap < 0.1, "{}", gil.view.overlap);
        assert!(free.view.overlap > 0.9, "{}", free.view.overlap);
        assert!(
            gil.view.reading.starts_with("taking turns"),
            "{}",
            gil.view.reading
        );
        assert!(
            free.view.reading.starts_with("side by side"),
            "{}",
            free.view.reading
        );
        assert!(free.view.peak_cores > 1.9 && gil.view.peak_cores < 1.2);
        // The main thread is idle (1 ms per 10 ms is 10% of a core, above the
        // idle share) and drawn; the two threads too.
        assert_eq!(gil.view.lanes.len(), 3);
        let svg = draw(&gil, 0.5, 2, Shown::CpuUse).unwrap();
        assert!(
            svg.contains("<polygon") || svg.contains("<path"),
            "no area drawn"
        );
    }
}
