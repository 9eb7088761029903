//! The statistics of a run as stored in `run.json` (`summary`): per cell its
//! medians with CIs, speedups, efficiency, parallelism, memory and
//! orchestration; per scenario the winner and the cells tied with it; the
//! warnings; the totals. [`super::analysis`] computes them; every view
//! renders them. One idea with [`super::record`] (the run file holds the
//! summary, the summary names cells), split for size and re-exported there.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::record::CellKey;
use crate::stats::{Estimate, Summary};

/// Which condition stopped repeating a cell.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// The median's CI half-width reached the target.
    Precise,
    /// `max_runs` measured trials were reached.
    MaxRuns,
    /// The run's time budget was spent.
    Budget,
    /// The runner skipped the approach.
    Skipped,
    /// The cell failed repeatedly and was given up.
    Failing,
    /// Ctrl-C stopped the run before the cell was done.
    Interrupted,
}

/// The state of a cell at the end of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CellState {
    /// Has measured trials.
    Measured,
    /// The approach cannot run on this interpreter.
    Skipped,
    /// Trials ran but none succeeded.
    Failed,
    /// No trial finished (interrupted run).
    Pending,
}

/// Orchestration cost of a cell, apart from steady work (medians, seconds).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Orchestration {
    /// Interpreter start-up and exit: wall − the runner's phases together.
    pub interpreter_start_s: f64,
    /// The runner's `setup` phase (building inputs).
    pub setup_s: f64,
    /// Starting the pool / interpreters / event loop.
    pub pool_start_s: f64,
    /// Shutting the pool down.
    pub teardown_s: f64,
    /// `shared` scenario: making the knowledge base available to workers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sharing_cost_s: Option<f64>,
    /// `shared` scenario: how it was shared (`same-object`, `fork-inherited`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sharing_method: Option<String>,
    /// `ray`: the orchestration steps on the cluster (medians).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<super::cluster_steps::ClusterSteps>,
}

/// Statistics of one cell.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CellSummary {
    /// The cell.
    pub cell: CellKey,
    /// Measured, skipped, failed or pending.
    pub state: CellState,
    /// Why it was skipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip_reason: Option<String>,
    /// What stopped its repetitions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop: Option<StopReason>,
    /// Measured trials.
    pub trials: u32,
    /// Failed trials (warmups included).
    pub failed: u32,
    /// Work-phase time, seconds (the runner's `work`).
    pub work: Option<Summary>,
    /// Whole-trial wall time, seconds.
    pub wall: Option<Summary>,
    /// Speedup: baseline median work ÷ this cell's (same interpreter and scenario).
    pub speedup: Option<Estimate>,
    /// End-to-end speedup: the same with whole-trial wall times.
    pub end_to_end_speedup: Option<Estimate>,
    /// Efficiency: speedup ÷ min(workers, usable cores).
    pub efficiency: Option<Estimate>,
    /// Parallelism: tree CPU time ÷ wall time, per trial.
    pub parallelism: Option<Summary>,
    /// Parallelism during the work phase, per trial (see [`Measurement`]).
    #[serde(default)]
    pub work_parallelism: Option<Summary>,
    /// Median over trials of the tree's peak memory, bytes.
    pub peak_memory_bytes: Option<u64>,
    /// Orchestration cost, apart from steady work.
    pub orchestration: Option<Orchestration>,
    /// The digest its trials reported (when they agree with the reference).
    pub digest: Option<String>,
    /// Whether the GIL was on at the end of its trials (`None` = unknown).
    pub gil_enabled: Option<bool>,
}

/// The verdict for one scenario: which cell's work phase is fastest.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScenarioVerdict {
    /// The scenario.
    pub scenario: String,
    /// The fastest Python cell by median work-phase time.
    pub winner: Option<CellKey>,
    /// Cells whose difference from the winner is within noise (rank test).
    pub tied_with: Vec<CellKey>,
    /// The runner-up it was tested against.
    pub runner_up: Option<CellKey>,
    /// One sentence: who wins and why (or that it is a tie).
    pub explanation: String,
}

/// What a warning is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WarningKind {
    /// Machine state that makes timings noisy (load, governor, cores).
    Noise,
    /// Outlying trials (MAD rule) in a cell.
    Outliers,
    /// The median's CI stayed wider than the target.
    Imprecise,
    /// A free-threaded build ran with the GIL on.
    Gil,
    /// A digest differed from the reference: a correctness failure.
    Digest,
    /// A cell was skipped.
    Skipped,
    /// Trials failed.
    Failed,
    /// The run was interrupted or ran out of budget.
    Incomplete,
}

/// A warning shown with the results.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Warning {
    /// What it is about.
    pub kind: WarningKind,
    /// The cell concerned, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cell: Option<CellKey>,
    /// One line for humans.
    pub message: String,
}

/// Totals of a run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Totals {
    /// Trials recorded (all statuses).
    pub trials: u64,
    /// Measured trials.
    pub measured: u64,
    /// Warmup trials.
    pub warmups: u64,
    /// Failed trials.
    pub failed: u64,
    /// Seconds spent running trials (sum of their wall times).
    pub trial_time_s: f64,
}

/// The statistics of a run: everything the terminal tables show.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    /// Per cell, in plan order.
    pub cells: Vec<CellSummary>,
    /// Per scenario, the winner.
    pub scenarios: Vec<ScenarioVerdict>,
    /// Warnings about the machine, cells and trials.
    pub warnings: Vec<Warning>,
    /// Totals.
    pub totals: Totals,
    /// The reference digest per scenario and scale, keyed `scenario@scale`
    /// (e.g. `cpu@0.3`).
    pub reference_digests: BTreeMap<String, String>,
}
