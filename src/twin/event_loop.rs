//! The twin's event-loop approaches, on tokio, for the `io` and `mixed`
//! scenarios (the native counterparts of Python's `asyncio` and
//! `asyncio+threads`):
//!
//! - `asyncio`: one single-threaded runtime, `workers` tasks taking task
//!   indices in turn; model calls overlap, `mixed`'s reasoning steps run on
//!   the loop's thread one at a time;
//! - `asyncio+threads`: the same loop, with each reasoning step handed to the
//!   runtime's blocking pool of `workers` threads (`spawn_blocking`), which
//!   run in parallel.

use std::cell::Cell;
use std::rc::Rc;

use anyhow::{Context, Result};

use super::clock::monotonic;
use super::llm_task;
use super::trial::{Outcome, TaskRecord, Trial};
use crate::protocol::LlmSpec;

/// Runs the trial on an event loop; `offload` hands reasoning steps to threads.
pub fn run(trial: &Trial, llm: &LlmSpec, offload: bool) -> Result<Outcome> {
    let workers = trial.spec.worker_count();
    let started = monotonic();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .max_blocking_threads(workers)
        .build()
        .context("cannot start the event loop")?;
    let client = llm_task::client(llm)?;
    let pool_start = monotonic() - started;

    let started = monotonic();
    let next = Rc::new(Cell::new(0usize));
    let scenario = trial.spec.scenario;
    let records = runtime.block_on(async {
        let agents = (0..workers).map(|n| {
            let (next, client) = (next.clone(), &client);
            async move {
                let mut mine = Vec::new();
                loop {
                    // One thread runs the loop: a Cell is enough to share the counter.
                    let i = next.get();
                    let Some(task) = trial.tasks.get(i) else {
                        return Ok::<_, anyhow::Error>(mine);
                    };
                    next.set(i + 1);
                    let start = monotonic();
                    let result = llm_task::run_task(client, llm, scenario, *task, offload).await?;
                    mine.push(TaskRecord {
                        index: task.index,
                        worker: format!("task-{n}"),
                        tid: super::trial::current_tid(),
                        start,
                        end: monotonic(),
                        result,
                    });
                }
            }
        });
        let mut records = Vec::with_capacity(trial.tasks.len());
        for mine in futures_util::future::join_all(agents).await {
            records.extend(mine?);
        }
        anyhow::Ok(records)
    })?;
    let work = monotonic() - started;

    let started = monotonic();
    drop(client);
    drop(runtime);
    Ok(Outcome {
        records,
        pool_start,
        work,
        teardown: monotonic() - started,
        worker_gil_enabled: Vec::new(),
        sharing: None,
    })
}
