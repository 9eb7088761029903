//! The run loop: trials of every cell interleaved round-robin (so machine drift
//! spreads evenly over cells), warmups first, then adaptive repetitions until
//! each cell is precise enough, reaches `max_runs`, or the budget is spent; a
//! cell failing 3 times in a row is given up. [`RunState`] is where every cell
//! stands, rebuilt from the records on `--resume`.
//!
//! Each trial runs through a [`TrialExecutor`], is judged (`bench::judge`:
//! exit status, protocol JSON, digest, GIL state), and its record
//! (`bench::trial_record`) is appended to `trials.jsonl` before the next one
//! starts.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Result;

use crate::bench::executor::TrialExecutor;
use crate::bench::judge::judge;
use crate::bench::terminal::Progress;
use crate::bench::trial_record::{self, TrialPlace};
use crate::run::analysis::describe;
use crate::run::directory::RunDir;
use crate::run::record::{
    CellKey, FailureKind, PlannedCell, RunFile, StopReason, TrialRecord, TrialStatus,
};
use crate::stats;

/// The environment of every trial (kept here for `bench::run`).
pub use crate::bench::executor::trial_environment;

/// A cell that failed this many times in a row is given up.
const MAX_FAILURES_IN_ROW: u32 = 3;

/// Where a cell stands.
#[derive(Debug, Default, Clone)]
struct CellProgress {
    /// Trials recorded (warmups and failures included, cancelled ones not).
    reps: u32,
    /// Measured trials.
    measured: u32,
    failures_in_row: u32,
    /// Work-phase times of the measured trials.
    work: Vec<f64>,
    /// Wall time of its last trial: the estimate of the next one.
    last_wall_s: f64,
    done: Option<StopReason>,
}

/// The state of a run: rebuilt from the records on `--resume`.
pub struct RunState {
    cells: Vec<(PlannedCell, CellProgress)>,
    /// Reference digest per `scenario@scale` (the seed is fixed per run; the
    /// native twin may run at another scale).
    references: BTreeMap<String, String>,
    next_index: u64,
    /// Seconds of trials before this invocation (resume).
    spent_before_s: f64,
}

impl RunState {
    /// The state after the given records (none for a new run).
    pub fn new(run: &RunFile, trials: &[TrialRecord]) -> RunState {
        let mut state = RunState {
            cells: run
                .plan
                .iter()
                .map(|p| (p.clone(), CellProgress::default()))
                .collect(),
            references: BTreeMap::new(),
            next_index: 0,
            spent_before_s: 0.0,
        };
        for trial in trials {
            state.next_index = state.next_index.max(trial.index + 1);
            state.spent_before_s += trial.wall_s().unwrap_or(0.0);
            state.note_reference(trial);
            if let Some(i) = state.position(&trial.cell) {
                state.count(i, trial);
            }
        }
        let settings = &run.settings;
        for (_, progress) in &mut state.cells {
            if progress.done.is_none() {
                progress.done = stop_reason(
                    progress,
                    settings.min_runs,
                    settings.max_runs,
                    settings.target_rel_ci,
                );
            }
        }
        state
    }

    fn position(&self, cell: &CellKey) -> Option<usize> {
        self.cells.iter().position(|(p, _)| &p.cell == cell)
    }

    /// The first successful sequential trial of a scenario sets its reference
    /// digest (warmups count: their results are as valid as any).
    fn note_reference(&mut self, trial: &TrialRecord) {
        if trial.status == TrialStatus::Ok
            && trial.cell.is_baseline()
            && let Some(report) = &trial.runner
            && let Some(i) = self.position(&trial.cell)
        {
            self.references
                .entry(self.cells[i].0.reference_key())
                .or_insert_with(|| report.digest.clone());
        }
    }

    fn count(&mut self, i: usize, trial: &TrialRecord) {
        let progress = &mut self.cells[i].1;
        match trial.status {
            TrialStatus::Cancelled => return,
            TrialStatus::Skipped => progress.done = Some(StopReason::Skipped),
            TrialStatus::Failed => progress.failures_in_row += 1,
            TrialStatus::Ok => {
                progress.failures_in_row = 0;
                if !trial.warmup {
                    progress.measured += 1;
                    progress.work.extend(trial.work_s());
                }
            }
        }
        progress.reps += 1;
        progress.last_wall_s = trial.wall_s().unwrap_or(progress.last_wall_s);
        if progress.failures_in_row >= MAX_FAILURES_IN_ROW {
            progress.done = Some(StopReason::Failing);
        }
    }

    /// Which condition stopped each cell (cells still open are `interrupted`).
    pub fn stops(&self) -> BTreeMap<CellKey, StopReason> {
        self.cells
            .iter()
            .map(|(p, progress)| {
                (
                    p.cell.clone(),
                    progress.done.unwrap_or(StopReason::Interrupted),
                )
            })
            .collect()
    }

    /// Whether every cell is done.
    pub fn complete(&self) -> bool {
        self.cells.iter().all(|(_, p)| p.done.is_some())
    }

    /// Trials recorded so far (for the progress bar).
    pub fn recorded(&self) -> u64 {
        self.cells.iter().map(|(_, p)| u64::from(p.reps)).sum()
    }

    /// Trials still expected: the mandatory ones, and one more for each cell
    /// that is not done beyond them.
    pub fn remaining(&self, warmup: u32, min_runs: u32) -> u64 {
        self.cells
            .iter()
            .filter(|(_, p)| p.done.is_none())
            .map(|(_, p)| u64::from((warmup + min_runs).saturating_sub(p.reps).max(1)))
            .sum()
    }
}

/// Whether a cell is done after its latest trial, and why.
fn stop_reason(
    progress: &CellProgress,
    min_runs: u32,
    max_runs: u32,
    target: f64,
) -> Option<StopReason> {
    if progress.done.is_some() {
        return progress.done;
    }
    if progress.failures_in_row >= MAX_FAILURES_IN_ROW {
        Some(StopReason::Failing)
    } else if progress.measured >= max_runs {
        Some(StopReason::MaxRuns)
    } else if progress.measured >= min_runs
        && stats::precise_enough(&progress.work, target, min_runs as usize)
    {
        Some(StopReason::Precise)
    } else {
        None
    }
}

/// Runs the remaining trials of a run through `executor`, appending each to
/// the run directory. Returns when every cell is done, or after Ctrl-C (the
/// flag is set). The budget counts `executor`'s time.
pub fn run(
    run: &RunFile,
    state: &mut RunState,
    dir: &mut RunDir,
    executor: &mut dyn TrialExecutor,
    cancel: &AtomicBool,
    progress: &Progress,
) -> Result<()> {
    let settings = run.settings.clone();
    let timeout = Duration::from_secs_f64(settings.timeout_s);
    let mandatory = settings.warmup + settings.min_runs;
    while !state.complete() {
        for i in 0..state.cells.len() {
            if cancel.load(Ordering::SeqCst) {
                return Ok(());
            }
            let (planned, cell) = &state.cells[i];
            if cell.done.is_some() {
                continue;
            }
            // Beyond the mandatory trials, a trial runs only if it fits the budget.
            let spent = state.spent_before_s + executor.elapsed().as_secs_f64();
            if cell.reps >= mandatory && spent + cell.last_wall_s > settings.budget_s {
                state.cells[i].1.done = Some(StopReason::Budget);
                continue;
            }
            let interpreter = run
                .interpreter(&planned.cell.interpreter)
                .cloned()
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "run.json names an unknown interpreter {}",
                        planned.cell.interpreter
                    )
                })?;
            let warmup = cell.reps < settings.warmup;
            let repetition = cell.reps;
            let name = describe(run, &planned.cell);
            progress.start_trial(
                &format!(
                    "{}: {name}{}",
                    planned.cell.scenario,
                    if warmup { " (warmup)" } else { "" }
                ),
                state.recorded() + state.remaining(settings.warmup, settings.min_runs),
            );
            let place = TrialPlace {
                index: state.next_index,
                cell: &planned.cell,
                repetition,
                warmup,
                started_at: jiff::Timestamp::now().to_string(),
            };
            let record = match executor.execute(planned, timeout, cancel) {
                Ok(outcome) => {
                    let reference = state
                        .references
                        .get(&planned.reference_key())
                        .filter(|_| {
                            crate::llm::bench::compares_digest(
                                &settings.llm,
                                &planned.cell.scenario,
                            )
                        })
                        // A task is compared only where its sequential runs agree.
                        .filter(|_| {
                            planned
                                .spec
                                .task
                                .as_ref()
                                .is_none_or(|t| t.reference.is_some())
                        })
                        .cloned();
                    let judgement = judge(
                        &outcome,
                        &interpreter,
                        reference.as_deref(),
                        settings.timeout_s,
                    );
                    trial_record::finished(place, &outcome, judgement, reference)
                }
                Err(err) => trial_record::not_started(place, &err),
            };
            dir.append(&record)?;
            state.next_index += 1;
            progress.finish_trial();
            match (&record.status, &record.failure) {
                (TrialStatus::Failed, Some(failure)) => {
                    let loud = if failure.kind == FailureKind::DigestMismatch {
                        "CORRECTNESS FAILURE: "
                    } else {
                        ""
                    };
                    progress.println(&format!(
                        "{loud}{} {name}: trial failed: {}",
                        planned.cell.scenario, failure.message
                    ));
                }
                (TrialStatus::Skipped, _) => progress.println(&format!(
                    "{} {name}: skipped: {}",
                    planned.cell.scenario,
                    record.skip_reason.as_deref().unwrap_or("")
                )),
                _ => {}
            }
            if record.status == TrialStatus::Cancelled {
                return Ok(());
            }
            state.note_reference(&record);
            state.count(i, &record);
            let cell = &mut state.cells[i].1;
            cell.done = stop_reason(
                cell,
                settings.min_runs,
                settings.max_runs,
                settings.target_rel_ci,
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
