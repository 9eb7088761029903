//! The evidence wall-time noise does not touch: how many cores a cell's work
//! phase used (the tree's CPU time ÷ the work phase's wall time, the
//! sampler's `work_parallelism`) and why its threads waited (the lock-wait
//! share; under the GIL, the GIL).
//!
//! - **The bound.** A concurrent cell does at least the CPU work of its
//!   sequential baseline, so its speedup cannot exceed the cores it used ÷
//!   the cores its baseline used. Where that bound is below what "helps"
//!   means, the cell cannot help, whatever a noisy wall-time ratio says: a
//!   CPU-bound cell whose work phase used about one core. The wall-time ratio
//!   stays the measure of *how much*; the bound decides only *whether*.
//!   The cores decide only where they can tell: the cell's threads waited
//!   on a lock for a third of their time or more (they take turns; the lock
//!   wait says why) and some concurrent cell of the scenario got more cores
//!   than its baseline during the run. A saturated machine gives every cell
//!   the same share and turns lock waits into core waits: then nothing is
//!   decided by the cores ([`cores_tell`], [`TAKING_TURNS_LOCK_WAIT`]).
//!   Limit: I/O-bound work helps by overlapping waits, not by using cores
//!   (its baseline uses a fraction of one), so the bound is applied to
//!   CPU-bound work only.
//! - **The kind of work, measured.** CPU-bound or I/O-bound from the
//!   sequential cell's share of time on a core or waiting for one (which a
//!   busy machine does not shrink; else the cores it used); on a GIL build, CPU-bound work is *Python*
//!   when threads there used about one core (they take turns on the GIL),
//!   *native code that releases the GIL* (hashing, compression, numerical
//!   libraries) when they used more.
//! - **The ceiling of the task list.** `workers` workers taking a few tasks
//!   of uneven length in order, each the next as it frees up, cannot reach
//!   `workers`× even with no overhead: the last tasks run alone while the
//!   others idle ([`schedule_ceiling`], from the sequential trials' task
//!   times). At the default scale `cpu` has 8 tasks: about 1.83-1.90× on 2
//!   workers, which is where processes and free-threaded threads end up.

use serde::Serialize;

use crate::run::record::{CellKey, CellSummary, InterpreterKind, RunFile, TrialRecord};
use crate::vocabulary::{Approach, GilMode, WorkKind};

/// A speedup bound below this cannot help (the lesson's threshold: a speedup
/// "helps" when its CI is above it).
pub const CANNOT_HELP_BELOW: f64 = 1.15;

/// A cell whose threads spent at least this share of their time waiting
/// on a lock while it used about one core takes turns (under the GIL: on
/// the GIL; about 47-50% for two threads on a quiet machine). On a
/// saturated machine threads wait for a core instead, the share falls (15%
/// measured here) and the cores decide nothing.
pub const TAKING_TURNS_LOCK_WAIT: f64 = 0.35;

/// The cores a cell's work phase used: the median over its trials.
pub fn cores_used(cell: &CellSummary) -> Option<f64> {
    cell.work_parallelism.as_ref().map(|p| p.median)
}

/// The most a cell's speedup can be: its cores ÷ its baseline's (the
/// cell's own cores when the baseline's are unknown).
pub fn speedup_bound(cell: &CellSummary, baseline: Option<&CellSummary>) -> Option<f64> {
    let cores = cores_used(cell)?;
    let base = baseline.and_then(cores_used).unwrap_or(1.0).max(0.05);
    Some(cores / base)
}

/// Whether this machine gave some concurrent cell of `scenario` more cores
/// than its baseline while the run measured it (the control that the
/// cores can tell): on a saturated machine every cell gets about the same
/// share, and the cores decide nothing.
pub fn cores_tell(cells: &[CellSummary], scenario: &str) -> bool {
    cells
        .iter()
        .filter(|c| c.cell.scenario == scenario && !c.cell.is_baseline())
        .filter_map(|c| {
            let baseline = cells.iter().find(|b| b.cell == c.cell.baseline());
            speedup_bound(c, baseline)
        })
        .any(|bound| bound >= CANNOT_HELP_BELOW)
}

/// Whether a cell's threads waited on a lock for at least
/// [`TAKING_TURNS_LOCK_WAIT`] of their time: the signature of threads taking
/// turns, which tells a cell that cannot use a second core from one the
/// machine did not give one.
fn takes_turns(cell: &CellSummary) -> bool {
    cell.thread_states
        .as_ref()
        .is_some_and(|s| s.lock_wait >= TAKING_TURNS_LOCK_WAIT)
}

/// What the lock-wait share is of: the GIL on a GIL build, a lock otherwise.
fn waited_on(run: &RunFile, cell: &CellSummary) -> &'static str {
    match run
        .interpreter(&cell.cell.interpreter)
        .map(|i| i.gil_mode())
    {
        Some(GilMode::Gil | GilMode::ForcedOn) => "the GIL",
        _ => "a lock",
    }
}

/// `used 1.00 cores, 47% of its time waiting on the GIL`.
pub fn cores_text(run: &RunFile, cell: &CellSummary) -> Option<String> {
    let cores = cores_used(cell)?;
    let wait = cell
        .thread_states
        .as_ref()
        .filter(|_| cell.cell.approach == Approach::Threads)
        .map(|s| {
            format!(
                ", {:.0}% of its time waiting on {}",
                s.lock_wait * 100.0,
                waited_on(run, cell)
            )
        })
        .unwrap_or_default();
    Some(format!("used {cores:.2} cores{wait}"))
}

/// Why a CPU-bound cell cannot help, when its cores say so: `used 1.00
/// cores, 47% of its time waiting on the GIL`. `None` when the bound
/// allows a speedup, the cores were not measured, or they cannot tell
/// (no cell of the scenario got more cores than its baseline: [`cores_tell`]).
pub fn cannot_help(run: &RunFile, cells: &[CellSummary], cell: &CellSummary) -> Option<String> {
    if !cores_tell(cells, &cell.cell.scenario) {
        return None;
    }
    if !takes_turns(cell) {
        return None;
    }
    let baseline = cells.iter().find(|b| b.cell == cell.cell.baseline());
    let bound = speedup_bound(cell, baseline)?;
    (bound < CANNOT_HELP_BELOW)
        .then(|| cores_text(run, cell))
        .flatten()
}

/// The kind of work, as measured on one build.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MeasuredKind {
    /// CPU-bound Python: threads on a GIL build used about one core.
    CpuBoundPython,
    /// CPU-bound native code that releases the GIL: threads on a GIL build
    /// used more than one core.
    CpuBoundReleasesGil,
    /// CPU-bound, on a build without a GIL (or without threads measured).
    CpuBound,
    /// The sequential cell used at most a quarter of a core.
    IoBound,
    /// In between.
    Mixed,
}

impl MeasuredKind {
    /// In words.
    pub fn words(self) -> &'static str {
        match self {
            MeasuredKind::CpuBoundPython => "CPU-bound Python",
            MeasuredKind::CpuBoundReleasesGil => "CPU-bound native code that releases the GIL",
            MeasuredKind::CpuBound => "CPU-bound",
            MeasuredKind::IoBound => "I/O-bound",
            MeasuredKind::Mixed => "mixed CPU and I/O",
        }
    }

    /// The coarse kind.
    pub fn work_kind(self) -> WorkKind {
        match self {
            MeasuredKind::IoBound => WorkKind::IoBound,
            MeasuredKind::Mixed => WorkKind::Mixed,
            _ => WorkKind::CpuBound,
        }
    }

    /// Whether threads on a GIL build can compute in parallel here.
    pub fn gil_threads_compute(self) -> bool {
        self == MeasuredKind::CpuBoundReleasesGil
    }
}

/// The kind of work on one build, with the figures that say so.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MeasuredWork {
    /// The kind.
    pub kind: MeasuredKind,
    /// The kind in words.
    pub words: &'static str,
    /// Cores the sequential cell used in its work phase (its CPU share).
    pub cpu_share: f64,
    /// The figures in words: `sequential used 0.99 cores; threads ×2 used
    /// 1.00 cores, 47% of its time waiting on the GIL`.
    pub evidence: String,
}

/// The cell of `scenario` on `interpreter` with this approach (the most
/// workers when there are several).
fn cell_of<'a>(
    cells: &'a [CellSummary],
    scenario: &str,
    interpreter: &str,
    approach: Approach,
) -> Option<&'a CellSummary> {
    cells
        .iter()
        .filter(|c| {
            c.cell.scenario == scenario
                && c.cell.interpreter == interpreter
                && c.cell.approach == approach
                && c.work.is_some()
        })
        .max_by_key(|c| c.cell.workers)
}

/// The kind of work of `scenario` measured on `interpreter`: from its
/// sequential cell's CPU share and, on a GIL build, the cores its threads
/// used.
pub fn measured_on(
    run: &RunFile,
    cells: &[CellSummary],
    scenario: &str,
    interpreter: &str,
) -> Option<MeasuredWork> {
    measured_with(run, cells, scenario, interpreter, None)
}

/// [`measured_on`], with the sequential cell's CPU share when the runner
/// measured it on its own thread (a task's calls: not counting the time it
/// waited for a core, so the most robust on a busy machine).
pub fn measured_with(
    run: &RunFile,
    cells: &[CellSummary],
    scenario: &str,
    interpreter: &str,
    reported_share: Option<f64>,
) -> Option<MeasuredWork> {
    let sequential = cell_of(cells, scenario, interpreter, Approach::Sequential)?;
    // Its thread's time on a core or waiting for one: what it asked of the
    // cores, which a busy machine does not shrink (the cores it got do).
    let asked = sequential
        .thread_states
        .as_ref()
        .filter(|s| s.thread_s > 0.0)
        .map(|s| s.running + s.core_wait);
    let share = reported_share
        .or(asked)
        .or_else(|| cores_used(sequential))
        .or_else(|| sequential.parallelism.as_ref().map(|p| p.median))?;
    let mut evidence = match (reported_share.or(asked), cores_used(sequential)) {
        (Some(asked), Some(cores)) => format!(
            "sequential computed {:.0}% of its time and used {cores:.2} cores",
            asked * 100.0
        ),
        _ => format!("sequential used {share:.2} cores"),
    };
    let kind = match WorkKind::of_cpu_share(share) {
        WorkKind::IoBound => MeasuredKind::IoBound,
        WorkKind::Mixed => MeasuredKind::Mixed,
        WorkKind::CpuBound => {
            let gil = run
                .interpreter(interpreter)
                .is_some_and(|i| i.kind == InterpreterKind::Python && i.gil_mode() == GilMode::Gil);
            let threads = cell_of(cells, scenario, interpreter, Approach::Threads)
                .filter(|_| gil)
                .and_then(|t| Some((t, speedup_bound(t, Some(sequential))?)));
            match threads {
                Some((threads, bound)) => {
                    if let Some(text) = cores_text(run, threads) {
                        evidence.push_str(&format!("; threads ×{} {text}", threads.cell.workers));
                    }
                    if bound >= CANNOT_HELP_BELOW {
                        MeasuredKind::CpuBoundReleasesGil
                    } else if cores_tell(cells, scenario) && takes_turns(threads) {
                        MeasuredKind::CpuBoundPython
                    } else {
                        evidence.push_str(
                            "; the threads neither used more cores than sequential nor waited on the GIL for a third of their time (a busy machine): the cores cannot tell Python from native code here",
                        );
                        MeasuredKind::CpuBound
                    }
                }
                None => MeasuredKind::CpuBound,
            }
        }
    };
    Some(MeasuredWork {
        kind,
        words: kind.words(),
        cpu_share: share,
        evidence,
    })
}

/// The kind of work of `scenario`, read on a GIL build first (where Python
/// and native code that releases the GIL differ), else on any Python build.
pub fn measured(run: &RunFile, cells: &[CellSummary], scenario: &str) -> Option<MeasuredWork> {
    let python = || {
        run.interpreters
            .iter()
            .filter(|i| i.kind == InterpreterKind::Python && i.gil_forced != Some(true))
    };
    python()
        .filter(|i| i.gil_mode() == GilMode::Gil)
        .chain(python().filter(|i| i.gil_mode() != GilMode::Gil))
        .find_map(|i| measured_on(run, cells, scenario, &i.id))
}

/// The speedup `workers` workers taking `durations` in order (each the
/// next task as it frees up) reach with no overhead at all.
pub fn list_schedule_speedup(durations: &[f64], workers: u32) -> Option<f64> {
    let mut free = vec![0.0f64; workers.max(1) as usize];
    for &d in durations {
        let earliest = free
            .iter_mut()
            .min_by(|a, b| a.total_cmp(b))
            .expect("at least one worker");
        *earliest += d;
    }
    let makespan = free.iter().copied().fold(0.0, f64::max);
    (makespan > 0.0).then(|| durations.iter().sum::<f64>() / makespan)
}

/// The ceiling of a task list on `workers` workers: (tasks, speedup), the
/// median over the sequential cell's measured trials of
/// [`list_schedule_speedup`] of their task times.
pub fn schedule_ceiling(
    trials: &[TrialRecord],
    sequential: &CellKey,
    workers: u32,
) -> Option<(usize, f64)> {
    let mut ceilings: Vec<(usize, f64)> = trials
        .iter()
        .filter(|t| &t.cell == sequential && t.is_measured())
        .filter_map(|t| {
            let mut tasks = t.runner.as_ref()?.tasks.clone();
            tasks.sort_by_key(|task| task.index);
            let durations: Vec<f64> = tasks.iter().map(|task| task.end - task.start).collect();
            Some((durations.len(), list_schedule_speedup(&durations, workers)?))
        })
        .filter(|(n, _)| *n > 0)
        .collect();
    ceilings.sort_by(|a, b| a.1.total_cmp(&b.1));
    ceilings.get(ceilings.len() / 2).copied()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::analysis::summarize;
    use crate::run::fixtures::{cell, run_file, trial};
    use crate::run::thread_states::StateShares;
    use std::collections::BTreeMap;

    /// A GIL build's `cpu` cells: sequential on one core, threads ×2 on
    /// `threads_cores` with `lock_wait`.
    fn summary_with(threads_cores: f64, lock_wait: f64) -> (RunFile, Vec<CellSummary>) {
        let seq = cell("py", "sequential", 1);
        let threads = cell("py", "threads", 2);
        // The control: processes got the cores.
        let processes = cell("py", "processes", 2);
        let run = run_file(&[seq.clone(), threads.clone(), processes.clone()]);
        let mut trials = Vec::new();
        for round in 0..4 {
            for (key, work, cores, lock_wait) in [
                (&seq, 1.0, 1.0, 0.0),
                (&threads, 0.9, threads_cores, lock_wait),
                (&processes, 0.55, 1.8, 0.0),
            ] {
                let mut t = trial(trials.len() as u64, key, round, false, work);
                let m = t.measurement.as_mut().unwrap();
                m.work_parallelism = Some(cores);
                m.thread_states = Some(StateShares {
                    running: 1.0 - lock_wait,
                    core_wait: 0.0,
                    lock_wait,
                    io_wait: 0.0,
                    other: 0.0,
                    thread_s: 1.0,
                });
                trials.push(t);
            }
        }
        let summary = summarize(&run, &trials, &BTreeMap::new(), &[]);
        (run, summary.cells)
    }

    #[test]
    fn threads_on_one_core_cannot_help_and_say_why() {
        let (run, cells) = summary_with(1.0, 0.47);
        let threads = cells
            .iter()
            .find(|c| c.cell.approach == Approach::Threads)
            .unwrap();
        assert_eq!(
            cannot_help(&run, &cells, threads).as_deref(),
            Some("used 1.00 cores, 47% of its time waiting on the GIL")
        );
        let work = measured(&run, &cells, "cpu").unwrap();
        assert_eq!(work.kind, MeasuredKind::CpuBoundPython);
        assert!(!work.kind.gil_threads_compute());
    }

    #[test]
    fn threads_using_more_than_a_core_on_a_gil_build_mean_native_code() {
        let (run, cells) = summary_with(1.74, 0.26);
        let threads = cells
            .iter()
            .find(|c| c.cell.approach == Approach::Threads)
            .unwrap();
        assert_eq!(cannot_help(&run, &cells, threads), None);
        let work = measured(&run, &cells, "cpu").unwrap();
        assert_eq!(work.kind, MeasuredKind::CpuBoundReleasesGil);
        assert!(
            work.evidence.contains("threads ×2 used 1.74 cores"),
            "{work:?}"
        );
    }

    #[test]
    fn a_few_uneven_tasks_cap_two_workers_below_twice() {
        // The `cpu` task times of one sequential trial at scale 0.3.
        let tasks = [0.076, 0.068, 0.042, 0.065, 0.077, 0.1, 0.041, 0.04];
        let ceiling = list_schedule_speedup(&tasks, 2).unwrap();
        assert!((ceiling - 0.509 / 0.268).abs() < 1e-9, "{ceiling}");
        assert_eq!(list_schedule_speedup(&[1.0; 16], 2), Some(2.0));
    }

    #[test]
    fn on_a_saturated_machine_the_cores_decide_nothing() {
        // Every cell got the same share of the cores: the processes too.
        let (run, mut cells) = summary_with(1.0, 0.15);
        for c in &mut cells {
            if let Some(p) = c.work_parallelism.as_mut() {
                p.median = 0.34;
            }
        }
        let threads = cells
            .iter()
            .find(|c| c.cell.approach == Approach::Threads)
            .unwrap();
        assert_eq!(cannot_help(&run, &cells, threads), None);
        let work = measured(&run, &cells, "cpu").unwrap();
        assert_eq!(work.kind, MeasuredKind::CpuBound, "{work:?}");
        assert!(work.evidence.contains("cannot tell"), "{work:?}");
    }
}
