//! What a run of a team's own task (`bench --task`) records beyond the
//! cells: `run.json`'s `task` object (docs/tasks.md, docs/results-schema.md).
//! The task's cells are ordinary cells whose scenario is the task's name;
//! this holds the target, the settings and, per interpreter, what gil-lab
//! found before any trial: whether the task loads, how many calls make the
//! sequential cell last about a second, the modules it imports, whether the
//! GIL came back on, and whether two sequential runs agree.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// `run.json`'s `task`: the task of a `bench --task` run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaskRun {
    /// The task's name: the scenario's name of its cells.
    pub name: String,
    /// `path/to/file.py:function` or `package.module:function`, as given.
    pub target: String,
    /// Directories the target is imported from (absolute).
    pub path: Vec<PathBuf>,
    /// `--task-calls`, when given (else each interpreter's calibrated count).
    pub calls: Option<u64>,
    /// Rounds per trial: `--stress K` (1 without).
    pub rounds: u32,
    /// `--task-requirements`, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requirements: Option<PathBuf>,
    /// `--memory-limit`, MB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_limit_mb: Option<u64>,
    /// Per interpreter asked for: what the check before the trials found.
    pub checks: Vec<TaskCheck>,
    /// What `gil-lab ready` found of `--task-requirements` before the
    /// trials: per interpreter, ready / GIL re-enabled by X / blocked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub readiness: Option<super::readiness::Readiness>,
}

impl TaskRun {
    /// The check of the interpreter with this id.
    pub fn check(&self, interpreter: &str) -> Option<&TaskCheck> {
        self.checks.iter().find(|c| c.interpreter == interpreter)
    }
}

/// What gil-lab found of the task on one interpreter before any trial.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TaskCheck {
    /// The interpreter's id in the run.
    pub interpreter: String,
    /// Its label.
    pub label: String,
    /// Why the task does not run on it (one line), or null: it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub excluded: Option<String>,
    /// Why `--memory-limit` stopped the check (held to it like the trials),
    /// or null. Not a reason to leave the interpreter out: its trials run,
    /// held to the limit too, and show which cells do not fit; without a
    /// reference (nothing to compare their calls with).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub over_memory_limit: Option<String>,
    /// The function is a coroutine function (`async def`).
    #[serde(default)]
    pub is_async: bool,
    /// Calls per trial round (the run's: the same on every interpreter).
    #[serde(default)]
    pub calls: u64,
    /// Mean seconds per call when calibrating (absent with --task-calls).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_call_s: Option<f64>,
    /// Modules the import of the target added to `sys.modules`.
    #[serde(default)]
    pub modules: Vec<String>,
    /// `sys._is_gil_enabled()` after the import (null where it cannot say).
    #[serde(default)]
    pub gil_after_import: Option<bool>,
    /// On a free-threaded build: the modules that turned the GIL back on,
    /// each confirmed (or not) by `python check-imports` in a fresh process.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gil_enabled_by: Vec<GilImport>,
    /// Whether two sequential runs (fresh processes) gave the same results
    /// (null when they could not be compared).
    #[serde(default)]
    pub deterministic: Option<bool>,
    /// The sequential calls' digests the trials compare with, relative to
    /// the run directory (absent when nondeterministic or not made).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<PathBuf>,
    /// The virtual environment made for `--task-requirements`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub venv: Option<PathBuf>,
}

/// A module whose import turned the GIL back on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GilImport {
    /// The module.
    pub module: String,
    /// What `python check-imports` said of it alone, in a fresh process
    /// (e.g. `turned the GIL back on`).
    pub check_imports: String,
}
