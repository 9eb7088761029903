//! The options of `gil-lab bench` for a team's own task (flattened into
//! `bench`'s options).

use std::path::PathBuf;

use clap::Args;

/// Options of `bench --task`.
#[derive(Debug, Default, Args)]
pub struct TaskArgs {
    /// Measure your own function instead of the built-in agents:
    /// `path/to/file.py:function` or `package.module:function`. It is called
    /// as function(i) for i in 0..calls (plain or `async def`), under every
    /// approach; results are compared with the sequential ones
    /// (docs/tasks.md).
    #[arg(long, value_name = "TARGET", group = "plan", conflicts_with_all = ["scenario", "scale", "native_scale"])]
    pub task: Option<String>,

    /// Where the task is imported from (repeatable) [default: the current
    /// directory].
    #[arg(long, value_name = "DIR", requires = "task", group = "plan")]
    pub task_path: Vec<PathBuf>,

    /// Calls per trial [default: calibrated so that the slowest interpreter's
    /// sequential cell takes about a second; the same on every interpreter].
    #[arg(long, value_name = "N", requires = "task", value_parser = clap::value_parser!(u64).range(1..=10_000_000), group = "plan")]
    pub task_calls: Option<u64>,

    /// Install these requirements (a pip requirements file) into one cached
    /// virtual environment per interpreter (uv when present, else venv +
    /// pip); an interpreter where they do not install is skipped, with pip's
    /// reason.
    #[arg(long, value_name = "FILE", requires = "task", group = "plan")]
    pub task_requirements: Option<PathBuf>,

    /// Hunt for races: every call is made K times per trial, the workers
    /// released together at a barrier (like pytest-run-parallel).
    #[arg(long, value_name = "K", requires = "task", value_parser = clap::value_parser!(u32).range(1..=1000), group = "plan")]
    pub stress: Option<u32>,

    /// Hold every trial (its whole process tree) to MB of memory, enforced
    /// by the kernel: a memory cgroup per trial where gil-lab may make one,
    /// else RLIMIT_DATA on each process. A trial past it fails, and a cell
    /// that cannot run within it is shown as not fitting (docs/memory-limit.md).
    /// With --task or the built-in scenarios.
    #[arg(long, value_name = "MB", value_parser = clap::value_parser!(u64).range(1..), group = "plan")]
    pub memory_limit: Option<u64>,
}
