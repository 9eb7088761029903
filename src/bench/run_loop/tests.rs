//! Unit tests of the run loop: its state rebuilt from records, its stopping
//! rules, and the loop itself driven by a fake executor
//! ([`FakeExecutor`]) whose scripted trials take no time and need no
//! interpreter. The real process path is tested by `tests/trial.rs` and
//! `tests/bench.rs`.

use super::*;
use crate::run::directory::RunDir;
use crate::run::fixtures::{cell, run_file, trial};

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
        state.references.get("cpu@0.3").map(String::as_str),
        Some("0123456789abcdef")
    );
    // warmup 1 + min_runs 3 = 4 per cell: 2 + 3 still to go.
    assert_eq!(state.remaining(1, 3), 5);
    assert_eq!(state.next_round, 2, "rounds go on after the last recorded");
    assert!(!state.complete());
}

// The run loop against a fake executor: scripted outcomes, no processes.

use std::sync::atomic::AtomicBool;

use crate::bench::executor::fake::{DIGEST, FakeExecutor, Scripted};
use crate::run::directory;

/// Work times far too spread for the median's CI to reach 3 %.
const NOISY: [f64; 6] = [1.0, 2.0, 0.5, 3.0, 1.5, 0.8];

fn noisy(n: u32) -> Scripted {
    Scripted::ok(NOISY[n as usize % NOISY.len()])
}

/// What a call of the loop left behind.
struct Ran {
    state: RunState,
    /// Every record of the run directory, those it started with included.
    trials: Vec<TrialRecord>,
    cancelled: bool,
}

/// Runs the loop over `run` through `fake`, in a new run directory that
/// already holds the records `before` (a resumed run when there are some).
fn run_with(run: &RunFile, before: &[TrialRecord], fake: &mut FakeExecutor) -> Ran {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("run");
    let mut dir = RunDir::create(&path, run).unwrap();
    for trial in before {
        dir.append(trial).unwrap();
    }
    let mut state = RunState::new(run, before);
    let cancel = AtomicBool::new(false);
    let progress = Progress::new(0, 0, false);
    super::run(run, &mut state, &mut dir, fake, &cancel, &progress).unwrap();
    progress.finish();
    Ran {
        state,
        trials: directory::load(&path).unwrap().trials,
        cancelled: cancel.load(Ordering::SeqCst),
    }
}

/// The records of `cell`, in order.
fn of<'a>(trials: &'a [TrialRecord], cell: &CellKey) -> Vec<&'a TrialRecord> {
    trials.iter().filter(|t| &t.cell == cell).collect()
}

fn failure_kinds(trials: &[&TrialRecord]) -> Vec<Option<FailureKind>> {
    trials
        .iter()
        .map(|t| t.failure.as_ref().map(|f| f.kind))
        .collect()
}

#[test]
fn screening_runs_every_cell_once_per_round_with_the_warmups_first() {
    let sequential = cell("py", "sequential", 1);
    let threads = cell("py", "threads", 2);
    let run = run_file(&[sequential.clone(), threads.clone()]);
    // A slow warmup before stable trials: measured, it would move the median.
    let mut fake = FakeExecutor::new(|cell, n| {
        Scripted::ok(match (cell.approach.name(), n) {
            (_, 0) => 5.0,
            ("sequential", _) => 1.0,
            _ => 0.5,
        })
    });
    let ran = run_with(&run, &[], &mut fake);
    // warmup 1 + min_runs 3, then nothing left to decide: threads is twice
    // as fast in every round, exactly.
    for cell in [&sequential, &threads] {
        let trials = of(&ran.trials, cell);
        let shape: Vec<(u32, bool, u32)> = trials
            .iter()
            .map(|t| (t.repetition, t.warmup, t.round_number()))
            .collect();
        assert_eq!(
            shape,
            [(0, true, 0), (1, false, 1), (2, false, 2), (3, false, 3)]
        );
    }
    assert!(ran.trials.iter().all(|t| {
        let round = t.round.as_ref().unwrap();
        round.stage == Stage::Screening && round.reference_s.unwrap() > 0.0
    }));
    assert_eq!(ran.trials[0].work_s(), Some(5.0), "the warmup is recorded");
    assert_eq!(ran.state.cells[0].1.measured, 3);
    let stops = ran.state.stops();
    assert_eq!(stops[&threads], StopReason::Decided);
    assert_eq!(stops[&sequential], StopReason::Eliminated);
    assert!(ran.state.complete());
    let indices: Vec<u64> = ran.trials.iter().map(|t| t.index).collect();
    assert_eq!(indices, (0..8).collect::<Vec<u64>>());
    assert_eq!(ran.state.time_spent().rounds, 4);
}

/// Work times around `median` with ±`spread` noise, in a fixed pattern.
fn around(median: f64, spread: f64, n: u32) -> Scripted {
    const PATTERN: [f64; 5] = [0.0, 1.0, -1.0, 0.5, -0.5];
    Scripted::ok(median * (1.0 + spread * PATTERN[n as usize % PATTERN.len()]))
}

#[test]
fn racing_gives_rounds_to_the_contenders_only() {
    let sequential = cell("py", "sequential", 1);
    let threads = cell("py", "threads", 2);
    let processes = cell("py", "processes", 2);
    let asyncio = cell("py", "asyncio", 2);
    let mut run = run_file(&[
        sequential.clone(),
        threads.clone(),
        processes.clone(),
        asyncio.clone(),
    ]);
    run.settings.warmup = 0;
    run.settings.max_runs = 12;
    // threads and processes 3% apart with 6% noise: undecided after the
    // screening; asyncio as slow as sequential: out at once.
    let mut fake = FakeExecutor::new(|cell, n| match cell.approach.name() {
        "threads" => around(0.50, 0.06, n),
        "processes" => around(0.515, 0.06, n + 2),
        _ => around(1.0, 0.01, n),
    });
    let ran = run_with(&run, &[], &mut fake);
    let stops = ran.state.stops();
    assert_eq!(of(&ran.trials, &asyncio).len(), 3, "screening only");
    assert_eq!(stops[&asyncio], StopReason::Eliminated);
    assert!(of(&ran.trials, &threads).len() > 3);
    assert!(of(&ran.trials, &processes).len() > 3);
    // Their baseline runs in every racing round, for the speedups.
    assert_eq!(
        of(&ran.trials, &sequential).len(),
        of(&ran.trials, &threads).len()
    );
    let racing: Vec<&TrialRecord> = ran
        .trials
        .iter()
        .filter(|t| t.round.as_ref().unwrap().stage == Stage::Racing)
        .collect();
    assert!(!racing.is_empty());
    assert!(racing.iter().all(|t| t.cell != asyncio));
}

#[test]
fn cells_equivalent_within_the_margin_are_a_tie_and_stop() {
    let sequential = cell("py", "sequential", 1);
    let threads = cell("py", "threads", 2);
    let processes = cell("py", "processes", 2);
    let mut run = run_file(&[sequential.clone(), threads.clone(), processes.clone()]);
    run.settings.warmup = 0;
    let mut fake = FakeExecutor::new(|cell, n| match cell.approach.name() {
        "sequential" => Scripted::ok(1.0),
        _ => around(0.5, 0.004, n),
    });
    let ran = run_with(&run, &[], &mut fake);
    let stops = ran.state.stops();
    let tied = [stops[&threads], stops[&processes]];
    assert!(tied.contains(&StopReason::Decided), "{tied:?}");
    assert!(tied.contains(&StopReason::Equivalent), "{tied:?}");
    assert_eq!(ran.trials.len(), 9, "no racing round was needed");
}

#[test]
fn the_budget_stops_racing_but_never_the_screening() {
    let sequential = cell("py", "sequential", 1);
    let threads = cell("py", "threads", 2);
    let processes = cell("py", "processes", 2);
    let mut run = run_file(&[sequential.clone(), threads.clone(), processes.clone()]);
    run.settings.warmup = 0;
    // Spent after the first trial: the screening rounds run all the same.
    run.settings.budget_s = 1.0;
    let mut fake = FakeExecutor::new(|cell, n| match cell.approach.name() {
        "sequential" => Scripted::ok(1.0),
        _ => noisy(n),
    });
    let ran = run_with(&run, &[], &mut fake);
    let stops = ran.state.stops();
    for cell in [&sequential, &threads, &processes] {
        assert_eq!(of(&ran.trials, cell).len(), 3, "{cell}");
    }
    assert!(
        stops.values().any(|&s| s == StopReason::Budget),
        "{stops:?}"
    );
    assert!(ran.state.complete());
}

/// A run interrupted with the sequential cell done (precise) and the threads
/// cell at its second measured trial, the third cancelled.
fn interrupted_run() -> (RunFile, Vec<TrialRecord>, CellKey, CellKey) {
    let sequential = cell("py", "sequential", 1);
    let threads = cell("py", "threads", 2);
    let run = run_file(&[sequential.clone(), threads.clone()]);
    let mut cancelled = trial(7, &threads, 3, false, 0.5);
    cancelled.status = TrialStatus::Cancelled;
    let trials = vec![
        trial(0, &sequential, 0, true, 1.0),
        trial(1, &threads, 0, true, 0.5),
        trial(2, &sequential, 1, false, 1.0),
        trial(3, &threads, 1, false, 0.5),
        trial(4, &sequential, 2, false, 1.0),
        trial(5, &threads, 2, false, 0.5),
        trial(6, &sequential, 3, false, 1.0),
        cancelled,
    ];
    (run, trials, sequential, threads)
}

#[test]
fn a_resumed_run_continues_where_its_records_stopped() {
    let (run, before, sequential, threads) = interrupted_run();
    let mut fake = FakeExecutor::new(|_, _| Scripted::ok(0.5));
    let ran = run_with(&run, &before, &mut fake);
    assert_eq!(
        fake.calls,
        std::slice::from_ref(&threads),
        "the finished cell is not redone"
    );
    let new = &ran.trials[before.len()..];
    assert_eq!(new.len(), 1);
    assert_eq!(
        (new[0].index, new[0].repetition, new[0].warmup),
        (8, 3, false),
        "the next index, and the cancelled repetition again"
    );
    let stops = ran.state.stops();
    assert_eq!(stops[&sequential], StopReason::Eliminated);
    assert_eq!(stops[&threads], StopReason::Decided);
    assert_eq!(ran.state.cells[1].1.measured, 3);
    assert_eq!(
        new[0].round_number(),
        4,
        "rounds go on after the repetitions of a run made before rounds"
    );
}

#[test]
fn a_resumed_run_counts_the_time_spent_before_against_the_budget() {
    let (mut run, mut before, _, threads) = interrupted_run();
    // Threads 0.5 and 0.6 s: not yet precise enough, racing would go on.
    before[5].runner.as_mut().unwrap().phases.work = 0.6;
    // The records already hold 6.5 s of trials.
    run.settings.budget_s = 5.0;
    let mut fake = FakeExecutor::new(|_, _| Scripted::ok(0.55));
    let ran = run_with(&run, &before, &mut fake);
    assert_eq!(
        fake.calls,
        std::slice::from_ref(&threads),
        "the last mandatory trial only"
    );
    assert_eq!(ran.state.stops()[&threads], StopReason::Budget);
}

#[test]
fn a_cell_failing_three_times_in_a_row_is_given_up() {
    let sequential = cell("py", "sequential", 1);
    let exits = cell("py", "threads", 2);
    let unstartable = cell("py", "processes", 2);
    let flaky = cell("py", "asyncio", 2);
    let run = run_file(&[
        sequential.clone(),
        exits.clone(),
        unstartable.clone(),
        flaky.clone(),
    ]);
    let mut fake = FakeExecutor::new(|cell, n| match cell.approach.name() {
        "threads" => Scripted::Exit(1),
        "processes" => Scripted::SpawnError,
        // Three failures, never three in a row: a success restarts the count.
        "asyncio" if [0, 1, 3].contains(&n) => Scripted::Exit(1),
        _ => Scripted::ok(1.0),
    });
    let ran = run_with(&run, &[], &mut fake);
    let stops = ran.state.stops();

    let trials = of(&ran.trials, &exits);
    assert_eq!(failure_kinds(&trials), [Some(FailureKind::NonZeroExit); 3]);
    assert!(trials.iter().all(|t| t.status == TrialStatus::Failed));
    assert_eq!(
        trials[0].failure.as_ref().map(|f| f.message.as_str()),
        Some("exited with status 1")
    );
    assert_eq!(stops[&exits], StopReason::Failing);

    let trials = of(&ran.trials, &unstartable);
    assert_eq!(failure_kinds(&trials), [Some(FailureKind::Spawn); 3]);
    assert!(trials.iter().all(|t| t.measurement.is_none()));
    assert_eq!(stops[&unstartable], StopReason::Failing);

    let trials = of(&ran.trials, &flaky);
    let statuses: Vec<TrialStatus> = trials.iter().map(|t| t.status).collect();
    use TrialStatus::{Failed, Ok};
    assert_eq!(statuses[..4], [Failed, Failed, Ok, Failed]);
    assert_ne!(stops[&flaky], StopReason::Failing);
    assert_ne!(stops[&sequential], StopReason::Failing);
}

#[test]
fn a_digest_other_than_the_reference_is_a_correctness_failure() {
    let sequential = cell("py", "sequential", 1);
    let threads = cell("py", "threads", 2);
    let run = run_file(&[sequential.clone(), threads.clone()]);
    let mut fake = FakeExecutor::new(|cell, _| {
        if cell.approach.name() == "sequential" {
            Scripted::ok(1.0)
        } else {
            Scripted::with(0.5, "fedcba9876543210", Some(true))
        }
    });
    let ran = run_with(&run, &[], &mut fake);
    let trials = of(&ran.trials, &threads);
    assert_eq!(
        failure_kinds(&trials),
        [Some(FailureKind::DigestMismatch); 3]
    );
    assert!(
        trials
            .iter()
            .all(|t| t.reference_digest.as_deref() == Some(DIGEST))
    );
    assert_eq!(ran.state.stops()[&threads], StopReason::Failing);
    // The first successful sequential trial set the reference with its own digest.
    let baseline = of(&ran.trials, &sequential);
    assert!(baseline.iter().all(|t| t.status == TrialStatus::Ok));
    assert_eq!(baseline[0].reference_digest.as_deref(), Some(DIGEST));
    assert_eq!(ran.state.stops()[&sequential], StopReason::Decided);
}

#[test]
fn the_gil_state_is_checked_against_the_cell() {
    let free = cell("ft", "sequential", 1);
    let free_gil_back_on = cell("ft", "threads", 2);
    let forced_gil_off = cell("ft-gil1", "sequential", 1);
    let forced = cell("ft-gil1", "threads", 2);
    let mut run = run_file(&[
        free.clone(),
        free_gil_back_on.clone(),
        forced_gil_off.clone(),
        forced.clone(),
    ]);
    let mut free_threaded = run.interpreters[0].clone();
    free_threaded.id = "ft".into();
    free_threaded.free_threaded = true;
    let mut gil_forced = free_threaded.clone();
    gil_forced.id = "ft-gil1".into();
    gil_forced.gil_forced = Some(true);
    run.interpreters = vec![free_threaded, gil_forced];
    let mut fake = FakeExecutor::new(|cell, _| {
        let gil_on = match (cell.interpreter.as_str(), cell.approach.name()) {
            ("ft", "sequential") => false,
            ("ft", _) => true,
            ("ft-gil1", "sequential") => false,
            _ => true,
        };
        Scripted::with(1.0, DIGEST, Some(gil_on))
    });
    let ran = run_with(&run, &[], &mut fake);
    let stops = ran.state.stops();

    // A forced-GIL cell that ran with the GIL off is a failure.
    let trials = of(&ran.trials, &forced_gil_off);
    assert_eq!(failure_kinds(&trials), [Some(FailureKind::GilNotForced); 3]);
    assert_eq!(stops[&forced_gil_off], StopReason::Failing);

    // A free-threaded cell that ran with the GIL on is measured, with a warning.
    let trials = of(&ran.trials, &free_gil_back_on);
    assert!(trials.iter().all(|t| t.status == TrialStatus::Ok));
    assert!(trials.iter().all(|t| {
        t.warnings
            .iter()
            .any(|w| w.contains("free-threaded build ran with the GIL on"))
    }));
    assert_ne!(stops[&free_gil_back_on], StopReason::Failing);

    // As asked: no failure, no warning.
    for cell in [&free, &forced] {
        let trials = of(&ran.trials, cell);
        assert!(
            trials
                .iter()
                .all(|t| t.status == TrialStatus::Ok && t.warnings.is_empty()),
            "{cell}"
        );
        assert_ne!(stops[cell], StopReason::Failing);
    }
}

#[test]
fn ctrl_c_between_trials_stops_the_loop_with_every_finished_trial_appended() {
    let sequential = cell("py", "sequential", 1);
    let threads = cell("py", "threads", 2);
    let run = run_file(&[sequential.clone(), threads.clone()]);
    let mut fake = FakeExecutor::new(|_, _| Scripted::ok(1.0));
    fake.cancel_after = Some(3);
    let ran = run_with(&run, &[], &mut fake);
    assert!(ran.cancelled);
    assert_eq!(fake.calls.len(), 3, "no trial starts after Ctrl-C");
    let shape: Vec<(u64, TrialStatus)> = ran.trials.iter().map(|t| (t.index, t.status)).collect();
    assert_eq!(
        shape,
        [
            (0, TrialStatus::Ok),
            (1, TrialStatus::Ok),
            (2, TrialStatus::Ok)
        ]
    );
    assert_eq!(ran.trials[0].cell, sequential, "the baseline goes first");
    assert!(!ran.state.complete());
    assert!(
        ran.state
            .stops()
            .values()
            .all(|&s| s == StopReason::Interrupted)
    );
}

#[test]
fn ctrl_c_during_a_trial_records_it_cancelled_and_a_resume_runs_it_again() {
    let sequential = cell("py", "sequential", 1);
    let threads = cell("py", "threads", 2);
    let run = run_file(&[sequential.clone(), threads.clone()]);
    let mut fake = FakeExecutor::new(|cell, n| {
        if cell.approach.name() == "threads" && n == 1 {
            Scripted::Cancelled
        } else {
            Scripted::ok(1.0)
        }
    });
    let ran = run_with(&run, &[], &mut fake);
    assert!(ran.cancelled);
    let last = ran.trials.last().unwrap();
    let n = ran.trials.len() as u64;
    assert_eq!(
        (last.index, &last.cell, last.repetition, last.status),
        (n - 1, &threads, 1, TrialStatus::Cancelled),
        "the trials before and the cancelled one"
    );
    let before = &ran.trials[..ran.trials.len() - 1];
    assert!(before.iter().all(|t| t.status == TrialStatus::Ok));
    assert!(!ran.state.complete());

    // Resumed from its records: the cancelled repetition runs again.
    let mut fake = FakeExecutor::new(|_, _| Scripted::ok(1.0));
    let resumed = run_with(&run, &ran.trials, &mut fake);
    let new = &resumed.trials[ran.trials.len()..];
    assert_eq!(new[0].index, n, "indices go on");
    assert_eq!(
        of(new, &threads)[0].repetition,
        1,
        "the cancelled repetition is redone"
    );
    assert!(resumed.state.complete());
    assert_eq!(
        of(&resumed.trials, &threads).len(),
        5,
        "4 and the cancelled one"
    );
}

#[test]
fn a_skipped_approach_is_tried_once() {
    let sequential = cell("py", "sequential", 1);
    let interpreters = cell("py", "interpreters", 2);
    let run = run_file(&[sequential.clone(), interpreters.clone()]);
    let mut fake = FakeExecutor::new(|cell, _| {
        if cell.approach.name() == "interpreters" {
            Scripted::Skipped("no subinterpreters on 3.13".into())
        } else {
            Scripted::ok(1.0)
        }
    });
    let ran = run_with(&run, &[], &mut fake);
    let trials = of(&ran.trials, &interpreters);
    assert_eq!(trials.len(), 1);
    assert_eq!(trials[0].status, TrialStatus::Skipped);
    assert_eq!(
        trials[0].skip_reason.as_deref(),
        Some("no subinterpreters on 3.13")
    );
    assert_eq!(ran.state.stops()[&interpreters], StopReason::Skipped);
    assert_eq!(ran.state.stops()[&sequential], StopReason::Decided);
}
