//! The twin's approaches: how the tasks of a trial are run.
//!
//! - `sequential`: every task in task order on the main thread (the baseline);
//! - `threads`: scoped threads pulling task indices from one atomic counter,
//!   sharing the knowledge base by reference (no GIL, so they run in
//!   parallel: the native ceiling of the Python `threads` approach);
//! - `processes`: gil-lab re-executes itself as worker processes
//!   (`gil-lab twin worker`, see [`super::process_pool`]).
//!
//! Each approach runs every task through [`perform`], so timings and records
//! mean the same everywhere, like the Python coordinator's `perform`.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};
use std::thread;

use anyhow::{Context, Result, anyhow};

use super::blackboard::Blackboard;
use super::clock::monotonic;
use super::process_pool::Pool;
use super::scenario::Workbench;
use super::trial::{Outcome, TaskRecord, Trial, findings, perform};
use crate::protocol::Sharing;
use crate::vocabulary::Approach;

/// Runs the trial's tasks the way `approach` does.
pub fn run(approach: Approach, trial: &Trial) -> Result<Outcome> {
    match approach {
        Approach::Sequential => sequential(trial),
        Approach::Threads => threads(trial),
        Approach::Processes => processes(trial),
        Approach::Asyncio | Approach::AsyncioThreads => {
            let llm = trial.spec.llm.as_ref().context(
                "the native twin runs its event-loop approaches in the io and mixed scenarios only",
            )?;
            super::event_loop::run(trial, llm, approach == Approach::AsyncioThreads)
        }
        // Skipped before it gets here (`Approach::native_in`).
        Approach::Interpreters => {
            anyhow::bail!("the native twin has no subinterpreters: {approach} is a Python approach")
        }
        Approach::Ray => {
            anyhow::bail!("the native twin runs on one machine: {approach} is a Python approach")
        }
    }
}

/// Same-object sharing, free: what threads (and the main thread) get.
fn same_object(trial: &Trial) -> Option<Sharing> {
    trial.network.map(|_| Sharing {
        method: "same-object".into(),
        cost_s: 0.0,
    })
}

/// The blackboard when the scenario posts findings.
fn board<'a>(trial: &Trial<'a>) -> Option<&'a Blackboard> {
    trial
        .spec
        .scenario
        .uses_knowledge()
        .then_some(trial.blackboard)
}

fn sequential(trial: &Trial) -> Result<Outcome> {
    let started = monotonic();
    let mut bench =
        Workbench::new(trial.spec.scenario, trial.network).with_llm(trial.spec.llm.as_ref())?;
    let records = trial
        .tasks
        .iter()
        .map(|task| perform(&mut bench, task, "main", board(trial)))
        .collect::<Result<Vec<_>>>()?;
    Ok(Outcome {
        records,
        pool_start: 0.0,
        work: monotonic() - started,
        teardown: 0.0,
        worker_gil_enabled: Vec::new(),
        sharing: same_object(trial),
    })
}

/// Holds worker threads until all of them are running, so thread creation
/// is counted in `pool_start`, not in `work`; or sends them home when one of
/// them could not be created.
#[derive(Default)]
struct StartGate {
    /// (threads waiting, Some(go?) once decided).
    state: Mutex<(usize, Option<bool>)>,
    changed: Condvar,
}

impl StartGate {
    /// Called by a worker thread: true when the work starts, false when the
    /// trial was called off.
    fn arrive(&self) -> bool {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.0 += 1;
        self.changed.notify_all();
        loop {
            if let Some(go) = state.1 {
                return go;
            }
            state = self.changed.wait(state).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Waits until `threads` threads have arrived.
    fn wait_for(&self, threads: usize) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        while state.0 < threads {
            state = self.changed.wait(state).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Lets every thread go (`true`) or sends them home (`false`).
    fn open(&self, go: bool) {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).1 = Some(go);
        self.changed.notify_all();
    }
}

/// What a worker thread hands back: its records and when it ran out of tasks.
type ThreadResult = Result<(Vec<TaskRecord>, f64)>;

fn threads(trial: &Trial) -> Result<Outcome> {
    let workers = trial.spec.worker_count();
    let gate = StartGate::default();
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let started = monotonic();
    thread::scope(|scope| {
        let mut handles = Vec::with_capacity(workers);
        for n in 0..workers {
            let (gate, next, failed) = (&gate, &next, &failed);
            let spawned = thread::Builder::new()
                .name(format!("thread-{n}"))
                .spawn_scoped(scope, move || -> ThreadResult {
                    if !gate.arrive() {
                        return Ok((Vec::new(), 0.0));
                    }
                    let worker = format!("thread-{n}");
                    let mut bench = Workbench::new(trial.spec.scenario, trial.network)
                        .with_llm(trial.spec.llm.as_ref())?;
                    let mut records = Vec::new();
                    // Tasks are pulled one at a time, so a worker that drew
                    // quick tasks takes more of them (like a thread pool).
                    while !failed.load(Ordering::Relaxed) {
                        let Some(task) = trial.tasks.get(next.fetch_add(1, Ordering::Relaxed))
                        else {
                            break;
                        };
                        match perform(&mut bench, task, &worker, board(trial)) {
                            Ok(record) => records.push(record),
                            Err(error) => {
                                failed.store(true, Ordering::Relaxed);
                                return Err(error);
                            }
                        }
                    }
                    Ok((records, monotonic()))
                });
            match spawned {
                Ok(handle) => handles.push(handle),
                Err(error) => {
                    gate.open(false);
                    return Err(anyhow!(error).context(format!(
                        "cannot start worker thread {} of {workers}: use fewer \"workers\"",
                        n + 1
                    )));
                }
            }
        }
        gate.wait_for(workers);
        let pool_start = monotonic() - started;
        let work_started = monotonic();
        gate.open(true);

        let mut records = Vec::with_capacity(trial.tasks.len());
        let mut finished = work_started;
        let mut first_error = None;
        for handle in handles {
            match handle.join() {
                Ok(Ok((mine, ran_out))) => {
                    records.extend(mine);
                    finished = finished.max(ran_out);
                }
                Ok(Err(error)) => {
                    first_error.get_or_insert(error);
                }
                Err(_) => {
                    first_error.get_or_insert(anyhow!("a worker thread panicked"));
                }
            }
        }
        let joined = monotonic();
        if let Some(error) = first_error {
            return Err(error);
        }
        Ok(Outcome {
            records,
            pool_start,
            work: finished - work_started,
            teardown: joined - finished,
            worker_gil_enabled: Vec::new(),
            sharing: same_object(trial),
        })
    })
}

fn processes(trial: &Trial) -> Result<Outcome> {
    let started = monotonic();
    let mut pool = Pool::start(trial.spec)?;
    let pool_start = monotonic() - started;

    let started = monotonic();
    let records = pool.run(trial.tasks)?;
    let work = monotonic() - started;
    // Workers cannot reach this process's blackboard: their findings are
    // posted when the results come back, as the Python runner does.
    if let Some(blackboard) = board(trial) {
        for record in &records {
            let agent = trial.tasks[record.index].agent;
            blackboard.post(record.index, agent, findings(&record.result));
        }
    }

    let started = monotonic();
    pool.shutdown()?;
    let teardown = monotonic() - started;
    // Each worker builds its own knowledge base from the seed: cheaper in
    // native code than sending 261,120 roads down a pipe.
    let sharing = trial.spec.scenario.uses_knowledge().then(|| Sharing {
        method: "rebuilt".into(),
        cost_s: pool.sharing_cost_s(),
    });
    Ok(Outcome {
        records,
        pool_start,
        work,
        teardown,
        worker_gil_enabled: vec![Some(false); trial.spec.worker_count()],
        sharing,
    })
}
