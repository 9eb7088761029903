//! The statistics of a run as stored in `run.json` (`summary`): per cell its
//! medians with CIs, speedups, efficiency, parallelism, memory and
//! orchestration; per scenario the winner and the cells tied with it; the
//! warnings; the totals. [`super::analysis`] computes them; every view
//! renders them. One idea with [`super::record`] (the run file holds the
//! summary, the summary names cells), split for size and re-exported there.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::record::CellKey;
use crate::run::thread_states::StateShares;
use crate::stats::{Estimate, Summary};

/// Which condition stopped repeating a cell.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// The median's CI half-width reached the target (runs made before
    /// racing).
    Precise,
    /// Not a contender of the verdict (the native twin): its screening
    /// rounds are all it gets.
    Screened,
    /// Significantly slower than the scenario's leader: it cannot win.
    Eliminated,
    /// Equivalent to the leader within the margin: part of a tie.
    Equivalent,
    /// The leader of a decided scenario, or its sequential baseline.
    Decided,
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

impl StopReason {
    /// The word shown next to a cell's trial count.
    pub fn word(self) -> &'static str {
        match self {
            StopReason::Precise => "precise",
            StopReason::Screened => "screened",
            StopReason::Eliminated => "eliminated",
            StopReason::Equivalent => "equivalent",
            StopReason::Decided => "decided",
            StopReason::MaxRuns => "max runs",
            StopReason::Budget => "budget",
            StopReason::Skipped => "skipped",
            StopReason::Failing => "failing",
            StopReason::Interrupted => "interrupted",
        }
    }
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
    /// Set when the speedup is above what the usable cores allow in a
    /// CPU-bound scenario: noise, not a result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speedup_flag: Option<SpeedupFlag>,
    /// Rounds its speedup was paired over (trials of the cell that ran in the
    /// same round as a trial of its baseline).
    #[serde(default)]
    pub paired_rounds: u32,
    /// Parallelism: tree CPU time ÷ wall time, per trial.
    pub parallelism: Option<Summary>,
    /// Parallelism during the work phase, per trial (see [`Measurement`]).
    #[serde(default)]
    pub work_parallelism: Option<Summary>,
    /// Median over trials of the tree's peak memory (PSS: pages shared
    /// after `fork` count once), bytes: the cell's "memory".
    pub peak_memory_bytes: Option<u64>,
    /// Median over trials of the tree's peak summed RSS (shared pages once
    /// per process), bytes, beside the PSS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_rss_bytes: Option<u64>,
    /// Mean over trials of the worker threads' state shares in the work
    /// phase; `lock_wait` is the cell's lock-wait share (under the GIL: GIL
    /// contention).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread_states: Option<StateShares>,
    /// Orchestration cost, apart from steady work.
    pub orchestration: Option<Orchestration>,
    /// The digest its trials reported (when they agree with the reference).
    pub digest: Option<String>,
    /// Whether the GIL was on at the end of its trials (`None` = unknown).
    pub gil_enabled: Option<bool>,
    /// The largest peak the kernel saw in a measured trial's cgroup under
    /// `--memory-limit`, bytes (page cache included: what the limit held).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit_peak_bytes: Option<u64>,
    /// Set when `--memory-limit` stopped a trial of it: it does not fit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub over_memory_limit: Option<super::memory_limit::OverLimit>,
}

/// A speedup above what the cores allow: on 2 cores, CPU-bound work cannot
/// run more than twice as fast, so such a figure is noise (or a bug).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct SpeedupFlag {
    /// The most the speedup can physically be: min(workers, usable cores).
    pub limit: f64,
    /// The whole CI is above the limit, not only the point: the cell is left
    /// out of the verdict.
    pub beyond_ci: bool,
}

/// How a scenario's verdict came out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// One cell is significantly faster than every other.
    Winner,
    /// The leader and the cells tied with it are equivalent within the margin.
    Tie,
    /// The budget ran out before the leader was separated from every other
    /// cell or proven equivalent to them.
    Undecided,
    /// No Python cell was measured.
    NoData,
}

/// Where a cell stands against the scenario's leader.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StandingKind {
    /// The leader: the lowest median work time.
    Leader,
    /// Significantly slower than the leader (paired ratio's CI above 1 and
    /// not within the margin).
    Slower,
    /// Equivalent to the leader within the margin.
    Equivalent,
    /// Neither yet.
    Undecided,
    /// Fewer than two rounds shared with the leader.
    TooFewRounds,
    /// Not considered: the native twin, a correctness failure, or a speedup
    /// beyond the cores.
    Excluded,
}

/// One cell of a scenario's verdict.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CellStanding {
    /// The cell.
    pub cell: CellKey,
    /// Where it stands.
    pub standing: StandingKind,
    /// Its work time ÷ the leader's, paired over their common rounds, with
    /// its 95% CI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ratio: Option<Estimate>,
    /// Rounds it shares with the leader.
    pub rounds: u32,
    /// Why it was excluded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The verdict for one scenario: which cell's work phase is fastest.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScenarioVerdict {
    /// The scenario.
    pub scenario: String,
    /// The fastest Python cell by median work-phase time.
    pub winner: Option<CellKey>,
    /// Cells not proven slower than the winner: equivalent within the
    /// margin, or undecided.
    pub tied_with: Vec<CellKey>,
    /// The cell closest to the winner.
    pub runner_up: Option<CellKey>,
    /// One sentence: who wins and why (or that it is a tie).
    pub explanation: String,
    /// Winner, tie, undecided (absent in runs made before racing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<Decision>,
    /// The equivalence margin the tie was judged with (0.05 = ±5%).
    #[serde(default)]
    pub margin: f64,
    /// Every Python cell of the scenario against the leader.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub standings: Vec<CellStanding>,
}

impl ScenarioVerdict {
    /// How it came out (runs made before racing: a winner without ties, or
    /// undecided).
    pub fn decision(&self) -> Decision {
        self.decision
            .unwrap_or(match (&self.winner, self.tied_with.is_empty()) {
                (None, _) => Decision::NoData,
                (Some(_), true) => Decision::Winner,
                (Some(_), false) => Decision::Undecided,
            })
    }
}

/// How much the machine's speed changed during the run, from gil-lab's
/// fixed reference loop timed before every round.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Drift {
    /// Rounds with a reference time.
    pub rounds: u32,
    /// Median reference time of the first third of the rounds, seconds.
    pub first_s: f64,
    /// Median reference time of the last third, seconds.
    pub last_s: f64,
    /// Fastest reference time, seconds.
    pub min_s: f64,
    /// Slowest reference time, seconds.
    pub max_s: f64,
}

impl Drift {
    /// The change from the first rounds to the last: 0.05 = the machine ran
    /// the reference loop 5% slower at the end.
    pub fn change(&self) -> f64 {
        self.last_s / self.first_s - 1.0
    }

    /// The spread of all rounds: slowest ÷ fastest − 1.
    pub fn spread(&self) -> f64 {
        self.max_s / self.min_s - 1.0
    }
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
    /// A speedup above what the usable cores allow: noise.
    Impossible,
    /// The machine's speed changed during the run (reference loop).
    Drift,
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
    /// How much the machine's speed drifted during the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drift: Option<Drift>,
}
