//! What a task run's trials say (docs/tasks.md, "Verdicts"): per cell,
//! whether its calls gave the sequential results, and if not, which kind
//! of wrong: *nondeterministic* (two sequential runs already disagree),
//! *per-worker state* (other results under processes or subinterpreters,
//! the same in every trial), *data race* (other results, or exceptions,
//! only where threads or coroutines share the process); per interpreter,
//! the measured kind of work (CPU time ÷ wall time of the sequential
//! cell); and which approaches are safe for this code.

use serde::Serialize;

use crate::run::LoadedRun;
use crate::run::record::{CellKey, FailureKind, TrialRecord, TrialStatus};
use crate::run::task::{TaskCheck, TaskRun};
use crate::vocabulary::Approach;

/// What a cell's results were.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Safety {
    /// Every call gave the sequential result.
    Same,
    /// Ran, but there was nothing to compare with.
    NotCompared,
    /// Two sequential runs disagree: results are not compared.
    Nondeterministic,
    /// Other results under processes / subinterpreters, stable run to run.
    PerWorkerState,
    /// Other results (or exceptions) where threads share the process.
    DataRace,
    /// Other results, not stable run to run, under processes or subinterpreters.
    Differs,
    /// Its trials failed for another reason (see the detail).
    Failed,
    /// The approach cannot run this task here.
    Skipped,
    /// No trial finished yet.
    Pending,
}

impl Safety {
    /// In words, for tables.
    pub fn words(self) -> &'static str {
        match self {
            Safety::Same => "same results as sequential",
            Safety::NotCompared => "not compared",
            Safety::Nondeterministic => "nondeterministic",
            Safety::PerWorkerState => "per-worker state",
            Safety::DataRace => "DATA RACE",
            Safety::Differs => "results differ",
            Safety::Failed => "failed",
            Safety::Skipped => "skipped",
            Safety::Pending => "not run",
        }
    }

    /// Whether the results are wrong (never a winner, never a gain).
    pub fn wrong(self) -> bool {
        matches!(
            self,
            Safety::PerWorkerState | Safety::DataRace | Safety::Differs
        )
    }
}

/// One cell's verdict.
#[derive(Debug, Clone, Serialize)]
pub struct CellVerdict {
    /// The cell.
    pub cell: CellKey,
    /// What its results were.
    pub safety: Safety,
    /// One line: which calls, how many trials, which exception.
    pub detail: String,
}

pub use crate::vocabulary::WorkKind;

/// One interpreter's part.
#[derive(Debug, Clone, Serialize)]
pub struct InterpreterVerdict {
    /// What the check before the trials found.
    pub check: TaskCheck,
    /// Median CPU time ÷ wall time of the sequential cell's work phase.
    pub cpu_share: Option<f64>,
    /// The kind of work that makes.
    pub kind: Option<WorkKind>,
    /// The kind of work as measured on this build, with its figures: on a
    /// GIL build, CPU-bound Python (threads used about one core) or native
    /// code that releases the GIL (they used more) (`run::mechanism`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub measured: Option<crate::run::mechanism::MeasuredWork>,
    /// Per cell.
    pub cells: Vec<CellVerdict>,
}

/// The verdict of a task run.
#[derive(Debug, Clone, Serialize)]
pub struct TaskVerdict {
    /// The task's name.
    pub name: String,
    /// Its target.
    pub target: String,
    /// Rounds per trial (`--stress`).
    pub rounds: u32,
    /// Per interpreter the check ran on (left-out ones included).
    pub interpreters: Vec<InterpreterVerdict>,
    /// Approaches whose every measured cell gave the sequential results.
    pub safe: Vec<Approach>,
    /// Approaches with wrong results somewhere, with the first reason.
    pub unsafe_approaches: Vec<(Approach, String)>,
    /// Whether `--task-requirements` keeps the GIL off, per interpreter,
    /// next to the measured threads speedup (empty without it).
    pub readiness: Vec<super::readiness::ReadinessLine>,
}

/// Whether this trial's failure is a call that raised.
fn call_raised(trial: &TrialRecord) -> Option<&str> {
    let failure = trial.failure.as_ref()?;
    (failure.kind == FailureKind::RunnerError)
        .then(|| {
            failure
                .message
                .strip_prefix("the runner reported call_raised: ")
        })
        .flatten()
}

fn mismatched(trial: &TrialRecord) -> bool {
    trial.failure.as_ref().map(|f| f.kind) == Some(FailureKind::DigestMismatch)
}

/// Shares memory between its workers: threads or coroutines in one process.
fn shares_memory(approach: Approach) -> bool {
    matches!(
        approach,
        Approach::Threads | Approach::Asyncio | Approach::AsyncioThreads
    )
}

fn calls_named(trials: &[&TrialRecord], calls: u64) -> String {
    let mut named: Vec<u64> = trials
        .iter()
        .filter_map(|t| t.runner.as_ref()?.calls.as_ref())
        .flat_map(|c| c.first_mismatches.iter().map(|p| p % calls.max(1)))
        .collect();
    named.sort_unstable();
    named.dedup();
    named.truncate(8);
    if named.is_empty() {
        return "results".into();
    }
    let list: Vec<String> = named.iter().map(u64::to_string).collect();
    format!("calls {}", list.join(", "))
}

/// The verdict of one cell.
fn cell_verdict(
    cell: &CellKey,
    trials: &[&TrialRecord],
    check: &TaskCheck,
    sequential_raised: bool,
) -> CellVerdict {
    let verdict = |safety, detail: String| CellVerdict {
        cell: cell.clone(),
        safety,
        detail,
    };
    let done: Vec<&&TrialRecord> = trials
        .iter()
        .filter(|t| t.status != TrialStatus::Cancelled)
        .collect();
    if let Some(skipped) = done.iter().find(|t| t.status == TrialStatus::Skipped) {
        return verdict(
            Safety::Skipped,
            skipped.skip_reason.clone().unwrap_or_default(),
        );
    }
    if done.is_empty() {
        return verdict(Safety::Pending, String::new());
    }
    let wrong: Vec<&TrialRecord> = done
        .iter()
        .copied()
        .copied()
        .filter(|t| mismatched(t))
        .collect();
    let raised: Vec<&str> = done.iter().filter_map(|t| call_raised(t)).collect();
    let of = |n: usize| format!("{n} of {} trials", done.len());
    if !wrong.is_empty() {
        let named = calls_named(&wrong, check.calls);
        if cell.is_baseline() {
            return verdict(
                Safety::Nondeterministic,
                format!("sequential runs disagree ({named}, {})", of(wrong.len())),
            );
        }
        if shares_memory(cell.approach) {
            return verdict(
                Safety::DataRace,
                format!("{named} differ from sequential in {}", of(wrong.len())),
            );
        }
        let digests: Vec<&str> = wrong
            .iter()
            .filter_map(|t| t.runner.as_ref().map(|r| r.digest.as_str()))
            .collect();
        let stable = wrong.len() == done.len() && digests.windows(2).all(|w| w[0] == w[1]);
        return if stable {
            verdict(
                Safety::PerWorkerState,
                format!(
                    "{named} differ from sequential, the same way in every trial: each worker has its own module globals"
                ),
            )
        } else {
            verdict(
                Safety::Differs,
                format!(
                    "{named} differ from sequential in {}, not always the same way",
                    of(wrong.len())
                ),
            )
        };
    }
    if !raised.is_empty() && shares_memory(cell.approach) && !sequential_raised {
        return verdict(
            Safety::DataRace,
            format!(
                "{} (only when calls share the process; {})",
                raised[0],
                of(raised.len())
            ),
        );
    }
    let failures: Vec<&TrialRecord> = done
        .iter()
        .copied()
        .copied()
        .filter(|t| t.status == TrialStatus::Failed)
        .collect();
    if failures.len() == done.len() {
        let first = failures[0]
            .failure
            .as_ref()
            .map_or("", |f| f.message.as_str());
        return verdict(Safety::Failed, first.to_string());
    }
    if check.deterministic == Some(false) {
        return verdict(
            Safety::Nondeterministic,
            "two sequential runs disagreed before the trials: results not compared".into(),
        );
    }
    let compared = done
        .iter()
        .filter_map(|t| t.runner.as_ref()?.calls.as_ref())
        .any(|c| c.compared);
    if compared {
        verdict(Safety::Same, String::new())
    } else {
        verdict(Safety::NotCompared, String::new())
    }
}

/// The median CPU time ÷ wall time of the sequential cell's measured trials:
/// as the runner measured it on its thread (not counting time spent waiting
/// for a core, so a busy machine does not make CPU-bound work look like
/// waiting), else the sampler's work phase, else the whole trial.
fn cpu_share(trials: &[&TrialRecord]) -> Option<f64> {
    let mut shares: Vec<f64> = trials
        .iter()
        .filter(|t| t.is_measured())
        .filter_map(|t| {
            let reported = t.runner.as_ref()?.calls.as_ref()?.cpu_share;
            let m = t.measurement.as_ref()?;
            reported.or(m.work_parallelism).or(Some(m.parallelism))
        })
        .collect();
    if shares.is_empty() {
        return None;
    }
    shares.sort_by(f64::total_cmp);
    Some(shares[shares.len() / 2])
}

/// The verdict of a task run (None for a run of the built-in scenarios).
pub fn of_run(loaded: &LoadedRun) -> Option<TaskVerdict> {
    let task: &TaskRun = loaded.run.task.as_ref()?;
    let mut interpreters = Vec::new();
    for check in &task.checks {
        let of_cell = |cell: &CellKey| -> Vec<&TrialRecord> {
            loaded.trials.iter().filter(|t| &t.cell == cell).collect()
        };
        let cells: Vec<&CellKey> = loaded
            .run
            .plan
            .iter()
            .map(|p| &p.cell)
            .filter(|c| c.interpreter == check.interpreter)
            .collect();
        let sequential = cells.iter().find(|c| c.is_baseline()).map(|c| of_cell(c));
        let sequential_raised = sequential
            .as_ref()
            .is_some_and(|t| t.iter().any(|t| call_raised(t).is_some()));
        let share = sequential.as_deref().and_then(cpu_share);
        interpreters.push(InterpreterVerdict {
            check: check.clone(),
            cpu_share: share,
            kind: share.map(WorkKind::of_cpu_share),
            measured: cells.first().and_then(|c| {
                crate::run::mechanism::measured_with(
                    &loaded.run,
                    &loaded.summary.cells,
                    &c.scenario,
                    &check.interpreter,
                    share,
                )
            }),
            cells: cells
                .iter()
                .map(|c| cell_verdict(c, &of_cell(c), check, sequential_raised))
                .collect(),
        });
    }
    let mut safe = Vec::new();
    let mut unsafe_approaches = Vec::new();
    for approach in Approach::ALL {
        let verdicts: Vec<&CellVerdict> = interpreters
            .iter()
            .flat_map(|i| &i.cells)
            .filter(|c| c.cell.approach == approach)
            .collect();
        if let Some(bad) = verdicts.iter().find(|v| v.safety.wrong()) {
            let label = task
                .check(&bad.cell.interpreter)
                .map_or(bad.cell.interpreter.as_str(), |c| c.label.as_str());
            unsafe_approaches.push((
                approach,
                format!("{} on {label}: {}", bad.safety.words(), bad.detail),
            ));
        } else if verdicts.iter().any(|v| v.safety == Safety::Same) {
            safe.push(approach);
        }
    }
    Some(TaskVerdict {
        name: task.name.clone(),
        target: task.target.clone(),
        rounds: task.rounds,
        interpreters,
        safe,
        unsafe_approaches,
        readiness: super::readiness::lines(loaded),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::CallsReport;
    use crate::run::fixtures::{cell, run_file, trial};
    use crate::run::record::Failure;

    /// A run of a task named `cpu` (the fixtures' scenario) on `py`.
    fn task_run(deterministic: bool) -> (crate::run::record::RunFile, [CellKey; 3]) {
        let cells = [
            cell("py", "sequential", 1),
            cell("py", "threads", 2),
            cell("py", "processes", 2),
        ];
        let mut run = run_file(&cells);
        run.task = Some(TaskRun {
            name: cells[0].scenario.clone(),
            target: "t.py:f".into(),
            path: vec![],
            calls: Some(10),
            rounds: 1,
            requirements: None,
            memory_limit_mb: None,
            readiness: None,
            checks: vec![TaskCheck {
                interpreter: "py".into(),
                label: "CPython 3.13.5".into(),
                calls: 10,
                deterministic: Some(deterministic),
                ..TaskCheck::default()
            }],
        });
        (run, cells)
    }

    fn compared(mut record: TrialRecord, mismatches: &[u64], digest: &str) -> TrialRecord {
        if let Some(runner) = record.runner.as_mut() {
            runner.digest = digest.into();
            runner.calls = Some(Box::new(CallsReport {
                count: 10,
                rounds: 1,
                compared: true,
                mismatches: mismatches.len() as u64,
                first_mismatches: mismatches.to_vec(),
                cpu_share: Some(0.97),
                ..CallsReport::default()
            }));
        }
        if !mismatches.is_empty() {
            record.status = TrialStatus::Failed;
            record.failure = Some(Failure {
                kind: FailureKind::DigestMismatch,
                message: "digest differs".into(),
            });
        }
        record
    }

    fn loaded(run: crate::run::record::RunFile, trials: Vec<TrialRecord>) -> LoadedRun {
        LoadedRun::new("/nonexistent".into(), run, trials)
    }

    #[test]
    fn wrong_results_are_told_apart_and_never_measured() {
        let (run, [seq, threads, processes]) = task_run(true);
        let mut trials = Vec::new();
        for i in 0..3u32 {
            let n = u64::from(i);
            trials.push(compared(
                trial(n, &seq, i, false, 1.0),
                &[],
                "0123456789abcdef",
            ));
            // The race shows in one trial of three: the cell is still wrong.
            let wrong: &[u64] = if i == 1 { &[3, 13] } else { &[] };
            trials.push(compared(
                trial(10 + n, &threads, i, false, 0.5),
                wrong,
                "77",
            ));
            trials.push(compared(
                trial(20 + n, &processes, i, false, 0.5),
                &[0, 1],
                "aa",
            ));
        }
        let loaded = loaded(run, trials);
        let verdict = of_run(&loaded).unwrap();
        let cells = &verdict.interpreters[0].cells;
        assert_eq!(cells[0].safety, Safety::Same);
        assert_eq!(cells[1].safety, Safety::DataRace, "{:?}", cells[1]);
        assert!(
            cells[1].detail.contains("calls 3 differ"),
            "{}",
            cells[1].detail
        );
        assert_eq!(cells[2].safety, Safety::PerWorkerState);
        assert_eq!(verdict.safe, [Approach::Sequential]);
        assert_eq!(verdict.unsafe_approaches.len(), 2);
        assert_eq!(verdict.interpreters[0].kind, Some(WorkKind::CpuBound));
        // Its two right trials are not measured: no speedup, no winner.
        let summary = &loaded.summary;
        let of = |c: &CellKey| summary.cells.iter().find(|s| &s.cell == c).unwrap();
        assert!(of(&threads).speedup.is_none() && of(&threads).work.is_none());
        assert_eq!(summary.scenarios[0].winner.as_ref(), Some(&seq));
    }

    #[test]
    fn nondeterminism_and_exceptions_only_under_threads() {
        let (run, [seq, threads, processes]) = task_run(false);
        let mut raised = trial(1, &threads, 0, false, 0.5);
        raised.status = TrialStatus::Failed;
        raised.runner = None;
        raised.failure = Some(Failure {
            kind: FailureKind::RunnerError,
            message:
                "the runner reported call_raised: call 4 raised IndexError: pop from empty list"
                    .into(),
        });
        let trials = vec![
            trial(0, &seq, 0, false, 1.0),
            raised,
            trial(2, &processes, 0, false, 0.5),
        ];
        let verdict = of_run(&loaded(run, trials)).unwrap();
        let cells = &verdict.interpreters[0].cells;
        assert_eq!(cells[0].safety, Safety::Nondeterministic);
        assert_eq!(cells[1].safety, Safety::DataRace);
        assert!(
            cells[1].detail.starts_with("call 4 raised IndexError"),
            "{}",
            cells[1].detail
        );
        assert_eq!(cells[2].safety, Safety::Nondeterministic);
    }

    #[test]
    fn kinds_of_work() {
        assert_eq!(WorkKind::of_cpu_share(0.98), WorkKind::CpuBound);
        assert_eq!(WorkKind::of_cpu_share(0.05), WorkKind::IoBound);
        assert_eq!(WorkKind::of_cpu_share(0.5), WorkKind::Mixed);
        assert!(Safety::DataRace.wrong() && !Safety::Same.wrong());
    }
}
