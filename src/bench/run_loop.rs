//! The run loop, in rounds. A round runs one scenario's cells back to back in
//! a shuffled order, after timing gil-lab's reference loop (the machine's
//! speed at that moment), so that every ratio is taken between trials that
//! ran next to each other.
//!
//! - **Screening**: every cell gets `warmup + min_runs` trials, one per
//!   round, the scenarios taking turns.
//! - **Racing**: the scenario's verdict is computed from the records
//!   (`run::verdict`, exactly as the final summary does), and only the cells
//!   that still decide it run again: the leader, the cells neither proven
//!   slower nor equivalent, and (until their CI is within `target_rel_ci`)
//!   the leader and the runner-up, each with its sequential baseline. A
//!   scenario stops when nothing is left to decide, its contenders reach
//!   `max_runs`, or the run's time budget cannot fit another round. The
//!   cells the lesson reads (`run::lesson`) race the same way until each
//!   helps or does not.
//!
//! The budget counts measuring only, from the first measured round:
//! discovery, provisioning and inspection are timed apart (`startup_s`) and
//! never shorten it. When screening alone cannot fit, the run says so.
//!
//! Each trial runs through a [`TrialExecutor`], is judged (`bench::judge`),
//! and its record (`bench::trial_record`) is appended to `trials.jsonl`
//! before the next one starts. A cell failing 3 times in a row is given up.
//! [`RunState`] is rebuilt from the records on `--resume`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Result;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_xoshiro::Xoshiro256PlusPlus;

use crate::bench::executor::TrialExecutor;
use crate::bench::judge::judge;
use crate::bench::reference::time_reference;
use crate::bench::terminal::Progress;
use crate::bench::trial_record::{self, TrialPlace};
use crate::run::analysis;
use crate::run::format::describe;
use crate::run::record::{
    CellKey, Decision, FailureKind, PlannedCell, RoundInfo, RunFile, RunSummary, ScenarioVerdict,
    Stage, StandingKind, StopReason, TimeSpent, TrialRecord, TrialStatus,
};
use crate::run::warnings::deciding_half_width;

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
    next_round: u32,
    /// Every record so far: the racing decisions are made from them.
    trials: Vec<TrialRecord>,
    /// Where the time went, this invocation's added to the earlier ones'.
    time: TimeSpent,
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
            next_round: 0,
            trials: Vec::new(),
            time: run.time_spent.clone().unwrap_or_else(|| TimeSpent {
                // Runs that recorded no time: their trials' time.
                screening_s: trials.iter().filter_map(TrialRecord::wall_s).sum(),
                ..TimeSpent::default()
            }),
        };
        for trial in trials {
            state.next_index = state.next_index.max(trial.index + 1);
            state.next_round = state.next_round.max(trial.round_number() + 1);
            state.record(trial.clone());
        }
        let settings = &run.settings;
        for (_, progress) in &mut state.cells {
            if progress.done.is_none() && progress.measured >= settings.max_runs {
                progress.done = Some(StopReason::MaxRuns);
            }
        }
        state
    }

    fn position(&self, cell: &CellKey) -> Option<usize> {
        self.cells.iter().position(|(p, _)| &p.cell == cell)
    }

    /// Takes a record into account: its cell's progress, the reference
    /// digest, and the records the racing decisions are made from.
    fn record(&mut self, trial: TrialRecord) {
        if trial.status == TrialStatus::Cancelled {
            return;
        }
        if let Some(i) = self.position(&trial.cell) {
            // The first successful sequential trial of a scenario sets its
            // reference digest (warmups count: their results are as valid).
            if trial.status == TrialStatus::Ok
                && trial.cell.is_baseline()
                && let Some(report) = &trial.runner
            {
                self.references
                    .entry(self.cells[i].0.reference_key())
                    .or_insert_with(|| report.digest.clone());
            }
            let progress = &mut self.cells[i].1;
            match trial.status {
                TrialStatus::Cancelled => {}
                TrialStatus::Skipped => progress.done = Some(StopReason::Skipped),
                TrialStatus::Failed => progress.failures_in_row += 1,
                TrialStatus::Ok => {
                    progress.failures_in_row = 0;
                    progress.measured += u32::from(!trial.warmup);
                }
            }
            progress.reps += 1;
            progress.last_wall_s = trial.wall_s().unwrap_or(progress.last_wall_s);
            if progress.failures_in_row >= MAX_FAILURES_IN_ROW {
                progress.done = Some(StopReason::Failing);
            }
        }
        self.trials.push(trial);
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

    /// Trials still expected: the screening ones, and one more for each cell
    /// that is not done beyond them.
    pub fn remaining(&self, warmup: u32, min_runs: u32) -> u64 {
        self.cells
            .iter()
            .filter(|(_, p)| p.done.is_none())
            .map(|(_, p)| u64::from((warmup + min_runs).saturating_sub(p.reps).max(1)))
            .sum()
    }

    /// Where the run's time went so far.
    pub fn time_spent(&self) -> &TimeSpent {
        &self.time
    }

    /// Records the time before the first trial of this invocation.
    pub fn add_startup(&mut self, seconds: f64) {
        self.time.startup_s += seconds;
    }

    /// The time the screening trials still to run would take, from each
    /// cell's last trial; `None` before every open cell ran once.
    fn screening_estimate(&self, mandatory: u32) -> Option<f64> {
        let open = self.cells.iter().filter(|(_, p)| p.done.is_none());
        let mut total = 0.0;
        for (_, p) in open {
            if p.reps == 0 {
                return None;
            }
            total += f64::from(mandatory.saturating_sub(p.reps)) * p.last_wall_s;
        }
        Some(total)
    }

    /// The scenarios in plan order.
    fn scenarios(&self) -> Vec<String> {
        let mut seen = BTreeSet::new();
        self.cells
            .iter()
            .map(|(p, _)| p.cell.scenario.clone())
            .filter(|s| seen.insert(s.clone()))
            .collect()
    }

    /// The open cells of `scenario` that still need screening trials.
    fn screening(&self, scenario: &str, mandatory: u32) -> Vec<usize> {
        (0..self.cells.len())
            .filter(|&i| {
                let (p, progress) = &self.cells[i];
                p.cell.scenario == scenario && progress.done.is_none() && progress.reps < mandatory
            })
            .collect()
    }
}

/// The next racing round of a scenario.
struct Racing {
    /// The cells to run: the contenders and their baselines.
    cells: Vec<usize>,
    /// Why each open cell of the scenario stops if the budget ends racing
    /// here (from the same verdict).
    if_stopped: Vec<(usize, StopReason)>,
}

/// The cells of a scenario that still decide its verdict: the open
/// contenders and, until their CI is within `target` (relative half-width),
/// the leader and the runner-up (or the cells tied with it).
fn deciding_cells(verdict: &ScenarioVerdict, summary: &RunSummary, target: f64) -> Vec<CellKey> {
    let undecided = verdict.decision() == Decision::Undecided;
    verdict
        .standings
        .iter()
        .filter(|standing| {
            let open = matches!(
                standing.standing,
                StandingKind::Leader | StandingKind::Undecided | StandingKind::TooFewRounds
            );
            let decides = standing.standing == StandingKind::Leader
                || verdict.runner_up.as_ref() == Some(&standing.cell)
                || (verdict.decision() == Decision::Tie
                    && standing.standing == StandingKind::Equivalent);
            let imprecise = || {
                summary
                    .cells
                    .iter()
                    .find(|c| c.cell == standing.cell)
                    .and_then(deciding_half_width)
                    .is_some_and(|w| w > target)
            };
            (undecided && open) || (decides && imprecise())
        })
        .map(|standing| standing.cell.clone())
        .collect()
}

impl RunState {
    /// The next racing round of `scenario`: the cells still deciding its
    /// verdict (below `max_runs`) and their baselines, or the stop reason of
    /// every open cell when nothing is left to race.
    fn racing(&self, run: &RunFile, scenario: &str) -> Result<Racing, Vec<(usize, StopReason)>> {
        let summary = analysis::summarize(run, &self.trials, &BTreeMap::new(), &[]);
        let Some(verdict) = summary.scenarios.iter().find(|v| v.scenario == scenario) else {
            return Err(vec![]);
        };
        let max_runs = run.settings.max_runs;
        let below_max = |key: &CellKey| {
            self.position(key).is_some_and(|i| {
                self.cells[i].1.done.is_none() && self.cells[i].1.measured < max_runs
            })
        };
        // The verdict's deciding cells, and the lesson's open ones.
        let mut deciding = deciding_cells(verdict, &summary, run.settings.target_rel_ci);
        if let Some(lesson) = crate::run::lesson::lesson(run, &summary) {
            for cell in lesson.open_cells().filter(|c| c.scenario == scenario) {
                if !deciding.contains(cell) {
                    deciding.push(cell.clone());
                }
            }
        }
        let contenders: Vec<CellKey> = deciding.into_iter().filter(|c| below_max(c)).collect();
        if contenders.is_empty() {
            return Err(self.final_stops(scenario, verdict));
        }
        // Each with its baseline (for the paired speedup), which is held to
        // max_runs too.
        let round: BTreeSet<usize> = contenders
            .iter()
            .flat_map(|cell| [self.position(cell), self.position(&cell.baseline())])
            .flatten()
            .filter(|&i| below_max(&self.cells[i].0.cell))
            .collect();
        Ok(Racing {
            cells: round.into_iter().collect(),
            if_stopped: self.final_stops(scenario, verdict),
        })
    }

    /// Why each open cell of a scenario stops once nothing is left to race.
    fn final_stops(&self, scenario: &str, verdict: &ScenarioVerdict) -> Vec<(usize, StopReason)> {
        let settled = verdict.decision() != Decision::Undecided;
        (0..self.cells.len())
            .filter(|&i| {
                self.cells[i].0.cell.scenario == scenario && self.cells[i].1.done.is_none()
            })
            .map(|i| {
                let cell = &self.cells[i].0.cell;
                let standing = verdict
                    .standings
                    .iter()
                    .find(|s| &s.cell == cell)
                    .map(|s| s.standing);
                let progress = &self.cells[i].1;
                let reason = match standing {
                    _ if progress.measured == 0 && progress.failures_in_row > 0 => {
                        StopReason::Failing
                    }
                    Some(StandingKind::Slower) => StopReason::Eliminated,
                    Some(StandingKind::Equivalent) => StopReason::Equivalent,
                    Some(StandingKind::Excluded) | None => StopReason::Screened,
                    Some(StandingKind::Leader) if settled => StopReason::Decided,
                    Some(_) if progress.measured > 0 => StopReason::MaxRuns,
                    Some(_) => StopReason::Screened,
                };
                (i, reason)
            })
            .collect()
    }
}

/// Runs the remaining trials of a run through `executor`, appending each to
/// the run directory. Returns when every cell is done, or after Ctrl-C (the
/// flag is set). The budget counts the time spent before this invocation,
/// its start-up and `executor`'s time.
pub fn run(
    run: &RunFile,
    state: &mut RunState,
    dir: &mut crate::run::directory::RunDir,
    executor: &mut dyn TrialExecutor,
    cancel: &AtomicBool,
    progress: &Progress,
) -> Result<()> {
    let settings = run.settings.clone();
    let mandatory = settings.warmup + settings.min_runs;
    // The budget is for measuring: set-up (discovery, provisioning,
    // inspection) is timed apart and never shortens it.
    let spent_before_s = state.time.measuring_s();
    let mut overrun_said = false;
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(settings.seed ^ u64::from(state.next_round));
    while !state.complete() {
        for scenario in state.scenarios() {
            if cancel.load(Ordering::SeqCst) {
                return Ok(());
            }
            let screening = state.screening(&scenario, mandatory);
            let (stage, mut cells) = if !screening.is_empty() {
                if !overrun_said
                    && let Some(needed) = state.screening_estimate(mandatory)
                    && spent_before_s + executor.elapsed().as_secs_f64() + needed
                        > settings.budget_s
                {
                    overrun_said = true;
                    progress.println(&format!(
                        "note: screening alone needs about {needed:.0} s more, beyond the {:.0} s budget: every cell still gets its {mandatory} screening rounds, but nothing is left to race (fewer interpreters with --python, or scenarios with --scenario, leave time to decide)",
                        settings.budget_s
                    ));
                }
                (Stage::Screening, screening)
            } else {
                match state.racing(run, &scenario) {
                    Ok(racing) => {
                        let spent = spent_before_s + executor.elapsed().as_secs_f64();
                        let estimate: f64 = racing
                            .cells
                            .iter()
                            .map(|&i| state.cells[i].1.last_wall_s)
                            .sum();
                        if spent + estimate > settings.budget_s {
                            for &i in &racing.cells {
                                state.cells[i].1.done = Some(StopReason::Budget);
                            }
                            // The scenario's other open cells stop with it.
                            for (i, reason) in racing.if_stopped {
                                state.cells[i].1.done.get_or_insert(reason);
                            }
                            continue;
                        }
                        (Stage::Racing, racing.cells)
                    }
                    Err(stops) => {
                        for (i, reason) in stops {
                            state.cells[i].1.done = Some(reason);
                        }
                        continue;
                    }
                }
            };
            cells.shuffle(&mut rng);
            // A baseline whose scenario has no reference digest yet goes
            // first, so that every trial of the round is checked against it.
            cells.sort_by_key(|&i| {
                let planned = &state.cells[i].0;
                !planned.cell.is_baseline()
                    || state.references.contains_key(&planned.reference_key())
            });
            let started = Instant::now();
            let round = RoundInfo {
                number: state.next_round,
                stage,
                reference_s: Some(time_reference()),
            };
            state.next_round += 1;
            state.time.rounds += 1;
            let finished = run_round(
                &mut Loop {
                    run,
                    dir,
                    executor,
                    cancel,
                    progress,
                },
                state,
                &cells,
                &round,
            );
            let seconds = started.elapsed().as_secs_f64();
            match stage {
                Stage::Screening => state.time.screening_s += seconds,
                Stage::Racing => {
                    *state.time.racing_s.entry(scenario.clone()).or_default() += seconds
                }
            }
            if !finished? {
                return Ok(());
            }
        }
    }
    Ok(())
}

/// What every round of a run works with: the run, where its trials go, who
/// runs them, the Ctrl-C flag and the progress bar.
struct Loop<'a> {
    run: &'a RunFile,
    dir: &'a mut crate::run::directory::RunDir,
    executor: &'a mut dyn TrialExecutor,
    cancel: &'a AtomicBool,
    progress: &'a Progress,
}

/// Runs one trial of each of `cells`, in order. Returns false when Ctrl-C
/// stopped it.
fn run_round(
    Loop {
        run,
        dir,
        executor,
        cancel,
        progress,
    }: &mut Loop,
    state: &mut RunState,
    cells: &[usize],
    round: &RoundInfo,
) -> Result<bool> {
    let run: &RunFile = run;
    let cancel: &AtomicBool = cancel;
    let settings = &run.settings;
    let timeout = Duration::from_secs_f64(settings.timeout_s);
    for &i in cells {
        if cancel.load(Ordering::SeqCst) {
            return Ok(false);
        }
        let (planned, cell) = &state.cells[i];
        if cell.done.is_some() {
            continue;
        }
        let planned = planned.clone();
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
        let name = describe(run, &planned.cell);
        progress.start_trial(
            &format!(
                "{} {} round {}: {name}{}",
                planned.cell.scenario,
                round.stage.name(),
                round.number + 1,
                if warmup { " (warmup)" } else { "" }
            ),
            state.recorded() + state.remaining(settings.warmup, settings.min_runs),
        );
        let place = TrialPlace {
            index: state.next_index,
            cell: &planned.cell,
            repetition: cell.reps,
            warmup,
            started_at: jiff::Timestamp::now().to_string(),
        };
        let mut record = match executor.execute(&planned, timeout, cancel) {
            Ok(outcome) => {
                let reference = state
                    .references
                    .get(&planned.reference_key())
                    .filter(|_| {
                        crate::llm::bench::compares_digest(&settings.llm, &planned.cell.scenario)
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
        record.round = Some(round.clone());
        dir.append(&record)?;
        state.next_index += 1;
        progress.finish_trial();
        report_problem(progress, &record, &name);
        if record.status == TrialStatus::Cancelled {
            return Ok(false);
        }
        state.record(record);
    }
    Ok(true)
}

/// A line above the progress bar for a failed or skipped trial.
fn report_problem(progress: &Progress, record: &TrialRecord, name: &str) {
    match (&record.status, &record.failure) {
        (TrialStatus::Failed, Some(failure)) => {
            let loud = if failure.kind == FailureKind::DigestMismatch {
                "CORRECTNESS FAILURE: "
            } else {
                ""
            };
            progress.println(&format!(
                "{loud}{} {name}: trial failed: {}",
                record.cell.scenario, failure.message
            ));
        }
        (TrialStatus::Skipped, _) => progress.println(&format!(
            "{} {name}: skipped: {}",
            record.cell.scenario,
            record.skip_reason.as_deref().unwrap_or("")
        )),
        _ => {}
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod noise_tests;
