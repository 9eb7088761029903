//! What every approach of the twin shares (`workload/gil_lab/approaches/
//! __init__.py`): the [`Trial`] it is given, the [`Outcome`] it reports, and
//! [`perform`], one task on a worker's workbench.

use anyhow::{Context, Result};

use super::blackboard::Blackboard;
use super::clock::monotonic;
use super::knowledge::RoadNetwork;
use super::scenario::{QUERIES_PER_TASK, Workbench};
use super::task::Task;
use crate::protocol::{Sharing, TrialSpec as Spec};

/// Everything an approach needs to run one trial.
pub struct Trial<'a> {
    /// The spec (worker processes get it as their argument).
    pub spec: &'a Spec,
    /// The task list, in task order.
    pub tasks: &'a [Task],
    /// The knowledge base (`shared` scenario, in-process approaches).
    pub network: Option<&'a RoadNetwork>,
    /// Where findings are posted.
    pub blackboard: &'a Blackboard,
}

/// What one task did.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskRecord {
    /// Position in the task list.
    pub index: usize,
    /// Who ran it: `main`, `thread-<n>`, `process-<pid>`.
    pub worker: String,
    /// The OS thread id of the thread that ran it.
    pub tid: u32,
    /// CLOCK_MONOTONIC seconds when the task started.
    pub start: f64,
    /// CLOCK_MONOTONIC seconds when it ended.
    pub end: f64,
    /// The task's results.
    pub result: Vec<i64>,
}

/// What an approach reports back.
#[derive(Debug)]
pub struct Outcome {
    /// One record per task, in any order.
    pub records: Vec<TaskRecord>,
    /// Seconds to get every worker running.
    pub pool_start: f64,
    /// Seconds from handing out the first task until every result was in.
    pub work: f64,
    /// Seconds to join the threads / stop the worker processes.
    pub teardown: f64,
    /// `processes`: what each worker says about a GIL (always false).
    pub worker_gil_enabled: Vec<Option<bool>>,
    /// `shared` scenario: how the knowledge base reached the workers.
    pub sharing: Option<Sharing>,
}

/// Runs `task` on this worker's workbench and returns its record; in the
/// `shared` scenario, posts the route lengths to the blackboard (outside the
/// task's timing, like the Python coordinator).
pub fn perform(
    bench: &mut Workbench,
    task: &Task,
    worker: &str,
    blackboard: Option<&Blackboard>,
) -> Result<TaskRecord> {
    let start = monotonic();
    let result = bench
        .run_task(task)
        .with_context(|| format!("task {} ({})", task.index, task.agent.name()))?;
    let end = monotonic();
    if let Some(blackboard) = blackboard {
        blackboard.post(task.index, task.agent, findings(&result));
    }
    Ok(TaskRecord {
        index: task.index,
        worker: worker.to_string(),
        tid: current_tid(),
        start,
        end,
        result,
    })
}

/// The part of a `shared` result that is posted: the route lengths.
pub fn findings(result: &[i64]) -> &[i64] {
    &result[result.len().saturating_sub(QUERIES_PER_TASK)..]
}

/// The OS thread id of the calling thread (`gettid`).
pub fn current_tid() -> u32 {
    // SAFETY: gettid has no preconditions.
    unsafe { libc::gettid() as u32 }
}
