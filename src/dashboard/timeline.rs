//! The parallelism timeline: for a representative trial of each approach, one
//! swimlane per thread (and per worker process) showing how much of a core it
//! used over time, with a strip on top for the whole tree's cores busy. Under
//! the GIL the lanes take turns (one busy while the others wait); without it
//! they are busy side by side. This is the picture that explains the numbers.
//!
//! Data: the sampler's per-thread CPU deltas (`TrialRecord::timeline`, about
//! 100 samples a second). Long trials are downsampled by merging consecutive
//! sample intervals into at most a few hundred groups (CPU summed, divided by
//! the group's length), so that the report stays small and the picture exact
//! in total CPU. Idle helper threads (pool managers) are left out and counted.

use std::collections::BTreeMap;

use anyhow::Result;
use serde::Serialize;

use crate::run::LoadedRun;
use crate::run::record::{CellSummary, InterpreterKind, InterpreterRecord, TrialRecord};
use crate::run::timeline::{LaneKind, SamplerReport};
use crate::vocabulary::Approach;

use super::swimlanes::draw;
use super::views::GilMode;

/// Sample groups per lane in the headline comparison.
const HEADLINE_GROUPS: usize = 160;
/// Sample groups per lane in the full set.
const DETAIL_GROUPS: usize = 90;
/// At most this many lanes are drawn per trial.
const MAX_LANES: usize = 10;
/// A lane with less than this share of the trial's CPU is an idle helper.
const IDLE_SHARE: f64 = 0.02;
/// A lane counts as busy in a group from this utilisation of a core on.
const BUSY: f64 = 0.5;

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

/// One drawn timeline.
#[derive(Debug, Clone, Serialize)]
pub struct TimelineView {
    /// Unique id in the page (the SVG's key).
    pub id: String,
    /// `threads ×2 on CPython 3.13.0`.
    pub title: String,
    /// The approach.
    pub approach: String,
    /// Workers.
    pub workers: u32,
    /// Interpreter id.
    pub interpreter: String,
    /// GIL mode of the interpreter.
    pub mode: GilMode,
    /// Index of the trial shown (its line in `trials.jsonl`).
    pub trial: u64,
    /// Its work-phase time, seconds.
    pub work_s: Option<f64>,
    /// The lanes drawn, top to bottom.
    pub lanes: Vec<LaneView>,
    /// Lanes left out as idle helpers (or beyond the lane limit).
    pub hidden_lanes: usize,
    /// Largest number of cores busy at once (per group).
    pub peak_cores: f64,
    /// Share of the busy time during which two or more lanes were busy at
    /// once: near 0 when they take turns, near 1 side by side.
    pub overlap: f64,
    /// How to read it, in one sentence.
    pub reading: String,
}

/// One swimlane.
#[derive(Debug, Clone, Serialize)]
pub struct LaneView {
    /// `main`, `thread 1`, `worker 2`, ...
    pub label: String,
    /// The OS thread name seen.
    pub name: String,
    /// Process id.
    pub pid: u32,
    /// Thread id.
    pub tid: u32,
    /// CPU time it used, seconds.
    pub cpu_s: f64,
}

/// One lane's utilisation per group: (start s, end s, cores).
pub type Steps = Vec<(f64, f64, f64)>;

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

/// Start and end (seconds) of every sample interval: interval `i` ends at
/// sample `i` and starts at the sample before it (at the spawn for `i = 0`).
fn intervals(report: &SamplerReport) -> Vec<(f64, f64)> {
    let t: Vec<f64> = report
        .sample_times_us
        .iter()
        .map(|&us| us as f64 * 1e-6)
        .collect();
    (0..t.len())
        .map(|i| (if i == 0 { 0.0 } else { t[i - 1] }, t[i]))
        .collect()
}

/// The groups of consecutive intervals: at most `groups` of them, as equal in
/// count as possible.
fn grouping(n: usize, groups: usize) -> Vec<(usize, usize)> {
    let g = groups.clamp(1, n.max(1));
    (0..g)
        .map(|k| (k * n / g, (k + 1) * n / g))
        .filter(|(a, b)| b > a)
        .collect()
}

/// Utilisation (cores) per group: CPU microseconds summed over the group's
/// intervals ÷ its length. `None` for a group in which the lane did not
/// exist (or of zero length).
fn grouped_steps(
    cpu_by_interval: &[Option<u64>],
    spans: &[(f64, f64)],
    groups: &[(usize, usize)],
) -> Vec<Option<(f64, f64, f64)>> {
    groups
        .iter()
        .map(|&(a, b)| {
            let seen: Vec<u64> = cpu_by_interval[a..b].iter().flatten().copied().collect();
            let start = spans[a].0;
            let end = spans[b - 1].1;
            (!seen.is_empty() && end > start).then(|| {
                (
                    start,
                    end,
                    seen.iter().sum::<u64>() as f64 * 1e-6 / (end - start),
                )
            })
        })
        .collect()
}

/// The lanes worth drawing, labelled, with their CPU per interval.
/// A lane to draw with its CPU microseconds per sample interval (`None`
/// before it existed or after it ended).
type KeptLane = (LaneView, Vec<Option<u64>>);

fn lanes_of(report: &SamplerReport) -> (Vec<KeptLane>, usize) {
    let n = report.sample_times_us.len();
    let total: f64 = report
        .lanes
        .iter()
        .map(|l| l.cpu_s)
        .sum::<f64>()
        .max(f64::MIN_POSITIVE);
    let root = report
        .processes
        .first()
        .map(|p| p.pid)
        .or_else(|| report.lanes.first().map(|l| l.pid))
        .unwrap_or(0);
    // Workers numbered by discovery, threads numbered within their process.
    let mut worker_number: BTreeMap<u32, usize> = BTreeMap::new();
    let mut thread_count: BTreeMap<u32, usize> = BTreeMap::new();
    let mut kept = Vec::new();
    let mut hidden = 0;
    for lane in &report.lanes {
        if lane.pid != root && !worker_number.contains_key(&lane.pid) {
            let next = worker_number.len() + 1;
            worker_number.insert(lane.pid, next);
        }
        let owner = if lane.pid == root {
            String::new()
        } else {
            format!("worker {}", worker_number[&lane.pid])
        };
        let label = match lane.kind {
            LaneKind::Process if owner.is_empty() => "main".to_string(),
            LaneKind::Process => owner,
            LaneKind::Thread => {
                let count = thread_count.entry(lane.pid).or_default();
                *count += 1;
                if owner.is_empty() {
                    format!("thread {count}")
                } else {
                    format!("{owner} · thread {count}")
                }
            }
        };
        if lane.cpu_s < IDLE_SHARE * total || kept.len() >= MAX_LANES {
            hidden += 1;
            continue;
        }
        let mut cpu = vec![None; n];
        for (k, &delta) in lane.cpu_us.iter().enumerate() {
            if let Some(slot) = cpu.get_mut(lane.first_sample as usize + k) {
                *slot = Some(u64::from(delta));
            }
        }
        kept.push((
            LaneView {
                label,
                name: lane.name.clone(),
                pid: lane.pid,
                tid: lane.tid,
                cpu_s: lane.cpu_s,
            },
            cpu,
        ));
    }
    (kept, hidden)
}

/// Everything needed to draw one trial's timeline.
pub struct Prepared {
    /// What the page says about it.
    pub view: TimelineView,
    /// Per lane, its steps.
    pub lanes: Vec<Steps>,
    /// The whole tree's cores busy per group (hidden lanes included).
    pub total: Steps,
    /// Colour index per lane (one colour per process).
    pub colors: Vec<usize>,
}

fn prepare(
    id: String,
    title: String,
    interpreter: &InterpreterRecord,
    trial: &TrialRecord,
    report: &SamplerReport,
    groups: usize,
) -> Option<Prepared> {
    let n = report.sample_times_us.len();
    if n < 2 {
        return None;
    }
    let spans = intervals(report);
    let grouped = grouping(n, groups);
    let (kept, hidden) = lanes_of(report);
    if kept.is_empty() {
        return None;
    }
    let per_group: Vec<Vec<Option<(f64, f64, f64)>>> = kept
        .iter()
        .map(|(_, cpu)| grouped_steps(cpu, &spans, &grouped))
        .collect();
    // The whole tree's cores busy per group: every lane (hidden ones too),
    // each capped at one core. A thread cannot use more than one core; a
    // sample interval shortened by scheduling jitter can make it look so.
    let mut total: Vec<Option<(f64, f64, f64)>> = vec![None; grouped.len()];
    for lane in &report.lanes {
        let mut cpu = vec![None; n];
        for (k, &delta) in lane.cpu_us.iter().enumerate() {
            if let Some(slot) = cpu.get_mut(lane.first_sample as usize + k) {
                *slot = Some(u64::from(delta));
            }
        }
        for (slot, step) in total.iter_mut().zip(grouped_steps(&cpu, &spans, &grouped)) {
            if let Some((start, end, u)) = step {
                let sum = slot.map_or(0.0, |s| s.2);
                *slot = Some((start, end, sum + u.min(1.0)));
            }
        }
    }
    let total: Steps = total.into_iter().flatten().collect();
    // Overlap: over the time the tree was busy (half a core or more), the
    // share during which it kept more than one and a half cores busy, i.e.
    // lanes truly ran at the same time. Under the GIL, threads switching
    // every 5 ms each show about half a core per sample, and the sum stays
    // near one.
    // (`fold` from +0.0: an empty float `sum` is -0.0, shown as "-0%".)
    let busy_time = total
        .iter()
        .filter(|s| s.2 >= BUSY)
        .fold(0.0, |acc, s| acc + (s.1 - s.0));
    let overlap_time = total
        .iter()
        .filter(|s| s.2 >= 1.0 + BUSY)
        .fold(0.0, |acc, s| acc + (s.1 - s.0));
    let lanes: Vec<Steps> = per_group
        .into_iter()
        .map(|lane| {
            lane.into_iter()
                .flatten()
                .map(|(s, e, u)| (s, e, u.min(1.0)))
                .collect()
        })
        .collect();
    let overlap = if busy_time > 0.0 {
        overlap_time / busy_time
    } else {
        0.0
    };
    let peak_cores = total.iter().map(|s| s.2).fold(0.0, f64::max);
    let reading = if kept.len() < 2 {
        format!(
            "one busy lane: the work ran on one core (at most {peak_cores:.1} cores busy at once)"
        )
    } else if overlap >= 0.5 {
        format!(
            "side by side: more than one core was busy for {:.0}% of the busy time, up to {peak_cores:.1} cores at once",
            overlap * 100.0
        )
    } else {
        format!(
            "taking turns: more than one core was busy for only {:.0}% of the busy time; at most {peak_cores:.1} cores at once",
            overlap * 100.0
        )
    };
    let mut pids: Vec<u32> = Vec::new();
    let colors = kept
        .iter()
        .map(|(lane, _)| {
            if !pids.contains(&lane.pid) {
                pids.push(lane.pid);
            }
            pids.iter().position(|&p| p == lane.pid).unwrap_or(0)
        })
        .collect();
    Some(Prepared {
        view: TimelineView {
            id,
            title,
            approach: trial.cell.approach.to_string(),
            workers: trial.cell.workers,
            interpreter: interpreter.id.clone(),
            mode: GilMode::of(interpreter),
            trial: trial.index,
            work_s: trial.work_s(),
            lanes: kept.into_iter().map(|(l, _)| l).collect(),
            hidden_lanes: hidden,
            peak_cores,
            overlap,
            reading,
        },
        lanes,
        total,
        colors,
    })
}

fn python_mode(i: &InterpreterRecord, mode: GilMode) -> bool {
    i.kind == InterpreterKind::Python && GilMode::of(i) == mode
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
        GilMode::of(interpreter).words()
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
        svgs.insert(p.view.id.clone(), draw(&p, x_max, cores)?);
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
            svgs.insert(p.view.id.clone(), draw(&p, x_max, cores)?);
            timelines.push(p.view);
        }
        set.groups.push(TimelineGroup {
            interpreter: interpreter.label.clone(),
            mode: GilMode::of(interpreter),
            timelines,
        });
    }
    Ok((set, svgs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::timeline::Lane;

    fn lane(pid: u32, tid: u32, kind: LaneKind, first: u32, cpu_us: Vec<u32>) -> Lane {
        let cpu_s = cpu_us.iter().map(|&c| f64::from(c)).sum::<f64>() * 1e-6;
        Lane {
            pid,
            tid,
            name: "python3".into(),
            kind,
            first_sample: first,
            cpu_us,
            cpu_s,
        }
    }

    /// Two threads taking turns every 10 ms (the GIL) or running together.
    fn report(turns: bool) -> SamplerReport {
        let n = 40;
        let a: Vec<u32> = (0..n)
            .map(|i| if !turns || i % 2 == 0 { 10_000 } else { 0 })
            .collect();
        let b: Vec<u32> = (0..n)
            .map(|i| if !turns || i % 2 == 1 { 10_000 } else { 0 })
            .collect();
        SamplerReport {
            interval_s: 0.01,
            samples: n + 1,
            sample_times_us: (0..=n).map(|i| u64::from(i) * 10_000).collect(),
            lanes: vec![
                lane(10, 10, LaneKind::Process, 0, vec![1000; (n + 1) as usize]),
                lane(10, 11, LaneKind::Thread, 1, a),
                lane(10, 12, LaneKind::Thread, 1, b),
            ],
            ..SamplerReport::default()
        }
    }

    #[test]
    fn grouping_covers_every_interval_once() {
        let g = grouping(10, 3);
        assert_eq!(g, vec![(0, 3), (3, 6), (6, 10)]);
        assert_eq!(grouping(2, 160), vec![(0, 1), (1, 2)]);
    }

    #[test]
    fn downsampling_keeps_total_cpu() {
        let r = report(false);
        let spans = intervals(&r);
        let cpu: Vec<Option<u64>> = std::iter::once(None)
            .chain(r.lanes[1].cpu_us.iter().map(|&c| Some(u64::from(c))))
            .collect();
        let steps = grouped_steps(&cpu, &spans, &grouping(cpu.len(), 7));
        let total: f64 = steps.iter().flatten().map(|(s, e, u)| (e - s) * u).sum();
        assert!((total - 0.4).abs() < 1e-9, "{total}");
    }

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
                facts: serde_json::Value::Null,
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
        let svg = draw(&gil, 0.5, 2).unwrap();
        assert!(
            svg.contains("<polygon") || svg.contains("<path"),
            "no area drawn"
        );
    }
}
