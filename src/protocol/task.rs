//! A task's part of the protocol (docs/tasks.md): the `task` object of a
//! trial spec whose scenario is `task` ([`TaskSpec`]), and the `calls`
//! object of its result ([`CallsReport`]). The Python side is
//! `workload/gil_lab/task/runner.py`.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// The `task` object of a trial spec: which function, how many calls, and
/// what the runner compares and watches.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaskSpec {
    /// The task's name: the scenario's name in the run (the function's name
    /// unless `--task-name`).
    pub name: String,
    /// `path/to/file.py:function` or `package.module:function`.
    pub target: String,
    /// Directories put first on `sys.path` (`--task-path`, absolute).
    pub path: Vec<PathBuf>,
    /// Calls per round: the function is called with `0..calls`.
    pub calls: u64,
    /// Rounds: every call is made this many times (`--stress K`; 1 without).
    pub rounds: u32,
    /// A JSON file with the sequential calls' digests to compare against
    /// (null: nothing compared).
    pub reference: Option<PathBuf>,
    /// The trial is stopped when the task's processes hold more resident
    /// memory than this (`--memory-limit`).
    pub memory_limit_mb: Option<u64>,
    /// The trial's timeout, seconds: the runner names the hanging call
    /// shortly before gil-lab would kill it.
    pub timeout_s: Option<f64>,
    /// Put every call's digest into the result (the check before trials).
    #[serde(default)]
    pub report_calls: bool,
}

/// The `calls` object of a task trial's result.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CallsReport {
    /// Calls per round.
    pub count: u64,
    /// Rounds (`--stress`).
    #[serde(default = "one")]
    pub rounds: u32,
    /// The function is a coroutine function (`async def`).
    #[serde(default)]
    pub is_async: bool,
    /// `sequential`: the calling thread's CPU time ÷ the wall time it was
    /// not waiting for a core (from /proc schedstat), over the work phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_share: Option<f64>,
    /// Whether the calls were compared with the sequential reference.
    #[serde(default)]
    pub compared: bool,
    /// Calls whose result differs from the reference's.
    #[serde(default)]
    pub mismatches: u64,
    /// The first of them (positions: call index + calls × round).
    #[serde(default)]
    pub first_mismatches: Vec<u64>,
    /// Every call's digest (only when the spec asked for them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub digests: Vec<String>,
}

fn one() -> u32 {
    1
}
