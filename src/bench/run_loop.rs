//! The run loop: trials of every cell interleaved round-robin (so machine drift
//! spreads evenly over cells), warmups first, then adaptive repetitions until
//! each cell is precise enough, reaches `max_runs`, or the budget is spent.
//! Every trial is judged (exit status, protocol JSON, digest, GIL state) and
//! appended to `trials.jsonl` before the next one starts.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Result;

use crate::bench::executor::TrialExecutor;
use crate::bench::terminal::Progress;
use crate::bench::trial::{TrialExit, TrialOutcome};
use crate::run::analysis::describe;
use crate::run::directory::RunDir;
use crate::run::record::{
    CellKey, Failure, FailureKind, InterpreterRecord, Measurement, PlannedCell, RunFile,
    SCHEMA_VERSION, StopReason, TrialRecord, TrialStatus,
};
use crate::run::runner_report::{self, RunnerOutput};
use crate::stats;

/// A cell that failed this many times in a row is given up.
const MAX_FAILURES_IN_ROW: u32 = 3;
/// The work-phase parallelism needs a work phase this many samples long.
const MIN_WINDOW_SAMPLES: f64 = 10.0;
/// How much of a child's stderr a record keeps.
const STDERR_KEEP: usize = 8 * 1024;

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

    /// The key of a cell's reference digest: `scenario@scale`.
    fn reference_key(planned: &PlannedCell) -> String {
        format!("{}@{}", planned.cell.scenario, planned.spec["scale"])
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
                .entry(Self::reference_key(&self.cells[i].0))
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

pub use crate::bench::executor::trial_environment;

/// The last `STDERR_KEEP` bytes of stderr (cut at a character boundary).
fn stderr_tail(stderr: &str) -> String {
    let text = stderr.trim_end();
    if text.len() <= STDERR_KEEP {
        return text.to_string();
    }
    let mut start = text.len() - STDERR_KEEP;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    format!("[...]{}", &text[start..])
}

fn last_line(text: &str) -> &str {
    text.trim().lines().last().unwrap_or("").trim()
}

fn signal_name(signal: i32) -> String {
    match signal {
        libc::SIGKILL => "SIGKILL".into(),
        libc::SIGSEGV => "SIGSEGV".into(),
        libc::SIGABRT => "SIGABRT".into(),
        libc::SIGTERM => "SIGTERM".into(),
        libc::SIGINT => "SIGINT".into(),
        libc::SIGBUS => "SIGBUS".into(),
        other => format!("signal {other}"),
    }
}

/// What a trial's outcome means: its status, failure, runner report and warnings.
struct Judgement {
    status: TrialStatus,
    failure: Option<Failure>,
    skip_reason: Option<String>,
    runner: Option<runner_report::RunnerReport>,
    warnings: Vec<String>,
}

fn failed(kind: FailureKind, message: String) -> Judgement {
    Judgement {
        status: TrialStatus::Failed,
        failure: Some(Failure { kind, message }),
        skip_reason: None,
        runner: None,
        warnings: vec![],
    }
}

/// Judges one trial: exit status, one protocol JSON object, digest against the
/// reference, and the GIL state the cell asks for.
fn judge(
    outcome: &TrialOutcome,
    interpreter: &InterpreterRecord,
    reference: Option<&str>,
    timeout_s: f64,
) -> Judgement {
    let code = match outcome.exit {
        TrialExit::Cancelled => {
            return Judgement {
                status: TrialStatus::Cancelled,
                failure: None,
                skip_reason: None,
                runner: None,
                warnings: vec![],
            };
        }
        TrialExit::TimedOut => {
            return failed(
                FailureKind::TimedOut,
                format!(
                    "ran past the {timeout_s} s timeout (--timeout); its process group was killed"
                ),
            );
        }
        TrialExit::Signaled { signal } => {
            return failed(
                FailureKind::Signaled,
                format!("the runner was killed by {}", signal_name(signal)),
            );
        }
        TrialExit::Exited { code } => code,
    };
    let parsed = runner_report::parse(&outcome.stdout);
    let report = match parsed {
        Err(_) if code != 0 => {
            let tail = last_line(&outcome.stderr);
            return failed(
                FailureKind::NonZeroExit,
                format!(
                    "exited with status {code}{}",
                    if tail.is_empty() {
                        String::new()
                    } else {
                        format!(": {tail}")
                    }
                ),
            );
        }
        Err(message) => return failed(FailureKind::BadOutput, message),
        Ok(RunnerOutput::Error { kind, message }) => {
            return failed(
                FailureKind::RunnerError,
                format!("the runner reported {kind}: {message}"),
            );
        }
        Ok(_) if code != 0 => {
            return failed(
                FailureKind::NonZeroExit,
                format!("exited with status {code} after printing its result"),
            );
        }
        Ok(RunnerOutput::Skipped(reason)) => {
            return Judgement {
                status: TrialStatus::Skipped,
                failure: None,
                skip_reason: Some(reason),
                runner: None,
                warnings: vec![],
            };
        }
        Ok(RunnerOutput::Success(report)) => *report,
    };
    let mut judgement = Judgement {
        status: TrialStatus::Ok,
        failure: None,
        skip_reason: None,
        runner: None,
        warnings: vec![],
    };
    if let Some(reference) = reference
        && report.digest != reference
    {
        judgement.status = TrialStatus::Failed;
        judgement.failure = Some(Failure {
            kind: FailureKind::DigestMismatch,
            message: format!(
                "digest {} differs from the reference {reference} (first successful sequential trial of this scenario)",
                report.digest
            ),
        });
    }
    if judgement.failure.is_none()
        && interpreter.gil_forced == Some(true)
        && !report.gil_on_everywhere()
    {
        judgement.status = TrialStatus::Failed;
        judgement.failure = Some(Failure {
            kind: FailureKind::GilNotForced,
            message: format!(
                "the GIL was forced on (-X gil=1) but was off somewhere: start {:?}, end {:?}, workers {:?}",
                report.gil_enabled_start, report.gil_enabled_end, report.worker_gil_enabled
            ),
        });
    }
    if interpreter.free_threaded
        && interpreter.gil_forced.is_none()
        && report.gil_seen_on() == Some(true)
    {
        judgement.warnings.push(
            "the free-threaded build ran with the GIL on (an import turned it back on?)".into(),
        );
    }
    if outcome.stragglers > 0 {
        judgement.warnings.push(format!(
            "{} process(es) of the trial were still running after the runner exited; gil-lab killed them",
            outcome.stragglers
        ));
    }
    if outcome.survivors > 0 {
        judgement.warnings.push(format!(
            "{} process(es) of the trial could not be killed",
            outcome.survivors
        ));
    }
    judgement.runner = Some(report);
    judgement
}

/// Parallelism during the work phase: the tree's CPU time in the window from
/// the first task's start to the last task's end (placed on the sampler's
/// clock through the runner's `clock_t0`), ÷ the window's length. Intervals
/// that straddle the window's edges count in proportion to their overlap.
fn work_parallelism(outcome: &TrialOutcome, report: &runner_report::RunnerReport) -> Option<f64> {
    let sampler = &outcome.sampler;
    let start = report.tasks.iter().map(|t| t.start).reduce(f64::min)?;
    let end = report.tasks.iter().map(|t| t.end).reduce(f64::max)?;
    let offset = report.clock_t0 - outcome.started_monotonic_s;
    let (from, to) = ((offset + start) * 1e6, (offset + end) * 1e6);
    // Samples at the window's edges are split in proportion, which is only
    // an estimate: over a few samples it would dominate (a 47 ms window read
    // 1.63 where the whole trial read 1.92).
    if to - from < MIN_WINDOW_SAMPLES * sampler.interval_s * 1e6 {
        return None;
    }
    let times = &sampler.sample_times_us;
    let timeline = sampler.parallelism_timeline();
    let mut cpu_us = 0.0;
    for (i, utilisation) in timeline.iter().enumerate() {
        let (a, b) = (times[i] as f64, times[i + 1] as f64);
        let overlap = (b.min(to) - a.max(from)).max(0.0);
        cpu_us += utilisation * overlap;
    }
    Some(cpu_us / (to - from))
}

fn measurement(
    outcome: &TrialOutcome,
    report: Option<&runner_report::RunnerReport>,
) -> Measurement {
    let sampler = &outcome.sampler;
    Measurement {
        wall_s: outcome.wall_s,
        user_s: outcome.user_s,
        sys_s: outcome.sys_s,
        parallelism: outcome.parallelism(),
        work_parallelism: report.and_then(|r| work_parallelism(outcome, r)),
        // The sampler's sum over processes; a trial too short for a single
        // sample falls back on the largest single process.
        peak_memory_bytes: sampler.peak_memory_bytes.max(outcome.max_single_rss_bytes),
        voluntary_context_switches: outcome.voluntary_context_switches,
        involuntary_context_switches: outcome.involuntary_context_switches,
        samples: u64::from(sampler.samples),
        sampler_cpu_s: sampler.cpu_s,
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
            let started_at = jiff::Timestamp::now().to_string();
            let record = match executor.execute(planned, timeout, cancel) {
                Ok(outcome) => {
                    let reference = state
                        .references
                        .get(&RunState::reference_key(planned))
                        .filter(|_| {
                            crate::llm::bench::compares_digest(
                                &settings.llm,
                                &planned.cell.scenario,
                            )
                        })
                        .cloned();
                    let judgement = judge(
                        &outcome,
                        &interpreter,
                        reference.as_deref(),
                        settings.timeout_s,
                    );
                    let reference_digest = reference.or_else(|| {
                        (judgement.status == TrialStatus::Ok && planned.cell.is_baseline())
                            .then(|| judgement.runner.as_ref().map(|r| r.digest.clone()))
                            .flatten()
                    });
                    let keep_stderr = judgement.status == TrialStatus::Failed
                        || !outcome.stderr.trim().is_empty();
                    TrialRecord {
                        schema: SCHEMA_VERSION,
                        index: state.next_index,
                        cell: planned.cell.clone(),
                        repetition,
                        warmup,
                        started_at,
                        status: judgement.status,
                        failure: judgement.failure,
                        skip_reason: judgement.skip_reason,
                        measurement: Some(measurement(&outcome, judgement.runner.as_ref())),
                        runner: judgement.runner,
                        reference_digest,
                        stderr: if keep_stderr {
                            stderr_tail(&outcome.stderr)
                        } else {
                            String::new()
                        },
                        warnings: judgement.warnings,
                        timeline: Some(outcome.sampler.clone()),
                    }
                }
                Err(err) => TrialRecord {
                    schema: SCHEMA_VERSION,
                    index: state.next_index,
                    cell: planned.cell.clone(),
                    repetition,
                    warmup,
                    started_at,
                    status: TrialStatus::Failed,
                    failure: Some(Failure {
                        kind: FailureKind::Spawn,
                        message: format!("{err:#}"),
                    }),
                    skip_reason: None,
                    measurement: None,
                    runner: None,
                    reference_digest: None,
                    stderr: String::new(),
                    warnings: vec![],
                    timeline: None,
                },
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
mod tests {
    use super::*;
    use crate::run::record::fixtures::{cell, run_file, trial};

    #[test]
    fn state_after_records_counts_warmups_failures_and_cancellations() {
        let sequential = cell("py", "sequential", 1);
        let threads = cell("py", "threads", 2);
        let run = run_file(&[sequential.clone(), threads.clone()]);
        let mut cancelled = trial(3, &threads, 1, false, 0.5);
        cancelled.status = TrialStatus::Cancelled;
        let trials = vec![
            trial(0, &sequential, 0, true, 1.0),
            trial(1, &threads, 0, true, 0.5),
            trial(2, &sequential, 1, false, 1.0),
            cancelled,
        ];
        let state = RunState::new(&run, &trials);
        assert_eq!(state.next_index, 4);
        assert_eq!(state.cells[0].1.reps, 2);
        assert_eq!(state.cells[0].1.measured, 1);
        assert_eq!(state.cells[1].1.reps, 1, "a cancelled trial is run again");
        assert_eq!(
            state.references.get("cpu@null").map(String::as_str),
            Some("0123456789abcdef")
        );
        // warmup 1 + min_runs 3 = 4 per cell: 2 + 3 still to go.
        assert_eq!(state.remaining(1, 3), 5);
        assert!(!state.complete());
    }

    #[test]
    fn stopping_rules() {
        let mut progress = CellProgress {
            measured: 3,
            work: vec![1.0, 1.0, 1.0],
            ..CellProgress::default()
        };
        assert_eq!(
            stop_reason(&progress, 3, 5, 0.03),
            Some(StopReason::Precise)
        );
        progress.work = vec![1.0, 2.0, 3.0];
        assert_eq!(stop_reason(&progress, 3, 5, 0.03), None);
        progress.measured = 5;
        assert_eq!(
            stop_reason(&progress, 3, 5, 0.03),
            Some(StopReason::MaxRuns)
        );
        progress.failures_in_row = MAX_FAILURES_IN_ROW;
        assert_eq!(
            stop_reason(&progress, 3, 5, 0.03),
            Some(StopReason::Failing)
        );
    }

    #[test]
    fn work_parallelism_counts_the_work_window_only() {
        use crate::bench::sampler::{Lane, LaneKind, SamplerReport};
        use crate::run::runner_report::TaskReport;
        // 10 ms samples; one lane busy on 2 cores from 20 ms to 160 ms after
        // spawn, idle before and after.
        let times: Vec<u64> = (0..=20).map(|i| i * 10_000).collect();
        let cpu: Vec<u32> = (0..=20)
            .map(|i| if (3..=16).contains(&i) { 20_000 } else { 0 })
            .collect();
        let outcome = TrialOutcome {
            exit: TrialExit::Exited { code: 0 },
            wall_s: 0.1,
            user_s: 0.12,
            sys_s: 0.0,
            voluntary_context_switches: 0,
            involuntary_context_switches: 0,
            max_single_rss_bytes: 0,
            pid: 1,
            started_monotonic_s: 100.0,
            stragglers: 0,
            survivors: 0,
            stdout: String::new(),
            stderr: String::new(),
            sampler: SamplerReport {
                interval_s: 0.01,
                samples: 21,
                sample_times_us: times,
                lanes: vec![Lane {
                    pid: 1,
                    tid: 1,
                    name: "python".into(),
                    kind: LaneKind::Process,
                    first_sample: 0,
                    cpu_us: cpu,
                    cpu_s: 0.12,
                }],
                ..SamplerReport::default()
            },
        };
        let task = |start: f64, end: f64| TaskReport {
            agent: "planner".into(),
            index: 0,
            worker: "thread-0".into(),
            start,
            end,
        };
        // The runner started 5 ms after spawn; its tasks ran 15-155 ms later.
        let mut report = trial(0, &cell("py", "threads", 2), 0, false, 0.06)
            .runner
            .unwrap();
        report.clock_t0 = 100.005;
        report.tasks = vec![task(0.015, 0.05), task(0.02, 0.155)];
        let p = work_parallelism(&outcome, &report).unwrap();
        assert!((p - 2.0).abs() < 1e-9, "{p}");
        report.tasks = vec![task(0.015, 0.075)];
        assert_eq!(
            work_parallelism(&outcome, &report),
            None,
            "too short a window"
        );
    }
}
