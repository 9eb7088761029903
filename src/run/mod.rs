//! The run: what a `bench` invocation writes and every other command reads.
//!
//! - [`record`]: the typed records of a run directory (`run.json`,
//!   `trials.jsonl`), versioned and documented in `docs/results-schema.md`;
//! - [`summary`]: the statistics of a run as stored;
//! - [`directory`]: creating, appending to and loading a run directory;
//! - [`analysis`]: the run's statistics (medians, CIs, speedups, winners
//!   and ties, warnings), computed once and stored in `run.json`, with
//!   [`pairing`] (trials of the same round side by side), [`verdict`] (a
//!   scenario's winner, tie or undecided leader) and [`warnings`];
//! - [`loaded`]: a run read back, with its summary stored or computed now;
//! - [`format`]: how every view writes times, sizes and ratios;
//! - [`timeline`]: what the sampler saw of a trial's process tree;
//! - [`cluster_steps`]: a ray cell's orchestration steps on its cluster;
//! - [`thread_states`]: what threads were doing (running, waiting for a
//!   core, on a lock, on I/O) and their shares of a window;
//! - [`machine`]: what the machine was when the run started;
//! - [`memory_limit`]: `--memory-limit`, how the kernel enforced it, and
//!   the cells it stopped;
//! - [`task`]: what a run of a team's own task records beyond its cells;
//! - [`builds`]: whether the compared interpreters were built alike;
//! - [`readiness`]: whether a dependency tree keeps the GIL off (`ready`);
//! - [`mechanism`]: the cores a work phase used, the bound they put on a
//!   speedup, and the kind of work as measured;
//! - [`lesson`]: the first lesson, CPU-bound against I/O-bound, decided.
//!
//! Dependencies point one way: this module uses the statistics (`stats`),
//! the vocabulary, the protocol's types and the types it stores from
//! `interpreters` (the probe's facts) and `llm` (a run's endpoint settings),
//! and nothing that renders or produces runs (`bench`, `advise`,
//! `dashboard`, `export`, `compare`): they all use it.

pub mod analysis;
pub mod builds;
pub mod cluster_steps;
pub mod directory;
#[cfg(test)]
pub mod fixtures;
pub mod format;
pub mod inside;
pub mod lesson;
pub mod loaded;
pub mod machine;
pub mod mechanism;
pub mod memory_limit;
pub mod pairing;
pub mod readiness;
pub mod record;
pub mod service;
pub mod summary;
pub mod task;
pub mod thread_states;
pub mod timeline;
pub mod verdict;
pub mod warnings;

pub use loaded::{LoadedRun, SummarySource};
