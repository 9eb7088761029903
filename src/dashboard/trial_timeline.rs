//! One trial's parallelism timeline, prepared for drawing: one lane per
//! thread (and per worker process) with its share of a core over time and
//! what it was doing (its thread states: running, waiting for a core, on a
//! lock, on I/O), the agent tasks it ran (the runner's task times placed on
//! the sampler's clock), the whole tree's cores busy, and how to read it
//! (taking turns or side by side). Long trials are downsampled by merging consecutive sample
//! intervals into groups (CPU summed, divided by the group's length), so
//! that the report stays small and the picture exact in total CPU. Idle
//! helper threads (pool managers) are left out and counted. Drawn by
//! [`super::swimlanes`]; chosen and laid out per scenario by
//! [`super::timeline`].

use std::collections::BTreeMap;

use serde::Serialize;

use crate::run::record::{InterpreterRecord, TrialRecord};
use crate::run::thread_states::{StateShares, StateTimes, interval_times, worker_shares};
use crate::run::timeline::{Lane, LaneKind, SamplerReport};

use crate::vocabulary::Approach;

use super::views::GilMode;

/// At most this many lanes are drawn per trial.
const MAX_LANES: usize = 10;
/// A lane with less than this share of the trial's CPU is an idle helper.
const IDLE_SHARE: f64 = 0.02;
/// A lane counts as busy in a group from this utilisation of a core on.
const BUSY: f64 = 0.5;

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
    /// The worker threads' state shares over the work phase (the trial's
    /// `thread_states`), when sampled.
    pub states: Option<StateShares>,
    /// How to read the state view, in one sentence.
    pub states_reading: Option<String>,
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
    /// Its state shares over its working window (worker threads only).
    pub states: Option<StateShares>,
}

/// One lane's utilisation per group: (start s, end s, cores).
pub type Steps = Vec<(f64, f64, f64)>;

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
                states: None,
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
    /// Per lane, per group: (start s, end s, time in each state); empty
    /// when the timeline has no thread states.
    pub states: Vec<Vec<(f64, f64, StateTimes)>>,
    /// Per lane, the agent tasks it ran: (start s, end s, `planner #3`).
    pub tasks: Vec<Vec<(f64, f64, String)>>,
}

/// A lane's time in each state per group of intervals (only the intervals
/// in which it existed).
fn grouped_states(
    lane: &Lane,
    spans: &[(f64, f64)],
    groups: &[(usize, usize)],
) -> Vec<(f64, f64, StateTimes)> {
    let first = lane.first_sample as usize;
    groups
        .iter()
        .filter_map(|&(a, b)| {
            let mut times = StateTimes::default();
            let mut seen = None::<(f64, f64)>;
            // The lane's first interval runs from its thread's start: left out.
            let (from, to) = (a.max(first + 1), b.min(first + lane.cpu_us.len()));
            for (i, &(s, e)) in spans.iter().enumerate().take(to).skip(from) {
                times.add(&interval_times(lane, i - first, (e - s) * 1e6), 1.0);
                seen = Some(seen.map_or((s, e), |(s0, _)| (s0, e)));
            }
            let (s, e) = seen?;
            (times.total() > 0.0).then_some((s, e, times))
        })
        .collect()
}

/// One trial's timeline prepared for drawing: `groups` sample groups per
/// lane; `None` without at least two samples or a lane.
pub(super) fn prepare(
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
    let (mut kept, hidden) = lanes_of(report);
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
    let by_tid = |tid: u32| report.lanes.iter().find(|l| l.tid == tid);
    let has_states = report.lanes.iter().any(|l| !l.seen.is_empty());
    let states: Vec<Vec<(f64, f64, StateTimes)>> = if has_states {
        kept.iter()
            .map(|(view, _)| {
                by_tid(view.tid)
                    .map_or_else(Vec::new, |lane| grouped_states(lane, &spans, &grouped))
            })
            .collect()
    } else {
        Vec::new()
    };
    let runner = trial.runner.as_ref();
    let offset = runner.map_or(0.0, |r| r.clock_t0 - report.started_monotonic_s);
    let tasks: Vec<Vec<(f64, f64, String)>> = kept
        .iter()
        .map(|(view, _)| {
            runner
                .map(|r| {
                    r.tasks
                        .iter()
                        .filter(|t| t.tid == Some(view.tid))
                        .map(|t| {
                            (
                                offset + t.start,
                                offset + t.end,
                                format!("{} #{}", t.agent, t.index),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default()
        })
        .collect();
    let lane_states: Vec<(u32, StateShares)> = runner
        .map(|r| {
            worker_shares(report, r)
                .into_iter()
                .map(|(lane, s)| (lane.tid, s))
                .collect()
        })
        .unwrap_or_default();
    for (view, _) in &mut kept {
        view.states = lane_states
            .iter()
            .find(|(tid, _)| *tid == view.tid)
            .map(|(_, s)| *s);
    }
    let shares = trial.measurement.as_ref().and_then(|m| m.thread_states);
    let states_reading = shares.map(|s| {
        // Only threads of one process contend for one GIL.
        let gil = matches!(
            trial.cell.approach,
            Approach::Threads | Approach::AsyncioThreads
        ) && interpreter.gil_mode() != GilMode::FreeThreaded
            && trial.runner.as_ref().and_then(|r| r.gil_seen_on()) != Some(false);
        let lock = if gil {
            "waiting on a lock (the GIL)"
        } else {
            "waiting on a lock"
        };
        format!(
            "the threads that ran tasks spent {:.0}% of their time running, {:.0}% {lock}, {:.0}% waiting for a core, {:.0}% waiting on I/O",
            s.running * 100.0,
            s.lock_wait * 100.0,
            s.core_wait * 100.0,
            s.io_wait * 100.0
        )
    });
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
            mode: interpreter.gil_mode(),
            trial: trial.index,
            work_s: trial.work_s(),
            lanes: kept.into_iter().map(|(l, _)| l).collect(),
            hidden_lanes: hidden,
            peak_cores,
            overlap,
            reading,
            states: shares,
            states_reading,
        },
        lanes,
        total,
        colors,
        states,
        tasks,
    })
}

#[cfg(test)]
mod tests {
    use super::fixtures::report;
    use super::*;

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
}

/// Sampler reports for the unit tests of timelines.
#[cfg(test)]
pub(super) mod fixtures {
    use crate::run::timeline::{Lane, LaneKind, SamplerReport};

    pub fn lane(pid: u32, tid: u32, kind: LaneKind, first: u32, cpu_us: Vec<u32>) -> Lane {
        let cpu_s = cpu_us.iter().map(|&c| f64::from(c)).sum::<f64>() * 1e-6;
        Lane {
            pid,
            tid,
            name: "python3".into(),
            kind,
            first_sample: first,
            cpu_us,
            cpu_s,
            core_wait_us: Vec::new(),
            seen: String::new(),
        }
    }

    /// Two threads taking turns every 10 ms (the GIL) or running together.
    pub fn report(turns: bool) -> SamplerReport {
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
}
