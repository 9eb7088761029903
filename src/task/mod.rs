//! A team's own function as the workload: `gil-lab bench --task TARGET`
//! (docs/tasks.md).
//!
//! A task is a scenario of its own, named after the function: its cells are
//! ordinary cells (`CellKey::scenario` is the task's name), measured,
//! summarised and shown like the built-in scenarios'. What is particular to
//! a task lives here: its options ([`args`]), its target ([`target`]), the
//! virtual environments of `--task-requirements` ([`requirements`]), the
//! check on each interpreter before any trial ([`check`]), the plan of its
//! cells ([`plan`]), whether `--task-requirements` keeps the GIL off
//! (`gil-lab ready`, [`readiness`]), and what its trials say about its thread safety and
//! its kind of work ([`verdict`]), written for the terminal by [`report`].
//! The Python side is `workload/gil_lab/task/`.
//!
//! Dependencies: this uses `run`, `protocol`, `interpreters`, `embedded`
//! and `vocabulary`; `bench` uses it to plan and report, `advise` and
//! `dashboard` to show the verdicts.

pub mod args;
pub mod check;
pub mod plan;
pub mod readiness;
pub mod report;
pub mod requirements;
pub mod target;
pub mod verdict;

pub use args::TaskArgs;
