//! The records of a run, as written to its run directory: one [`TrialRecord`]
//! per line of `trials.jsonl`, and one [`RunFile`] in `run.json` (plan, machine,
//! interpreters and the [`RunSummary`]). Every view (terminal, exports,
//! `compare`, dashboard) renders these types, so every field is documented here
//! and in `docs/results-schema.md`. Bump [`SCHEMA_VERSION`] on any change that
//! an older reader would misread.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::interpreters::facts::Facts;
use crate::protocol::RunnerReport;
use crate::protocol::TrialSpec;
use crate::run::machine::MachineInfo;
use crate::run::thread_states::StateShares;
use crate::run::timeline::SamplerReport;
use crate::vocabulary::{Approach, GilMode};

pub use super::summary::{
    CellStanding, CellState, CellSummary, Decision, Drift, Orchestration, RunSummary,
    ScenarioVerdict, SpeedupFlag, StandingKind, StopReason, Totals, Warning, WarningKind,
};

/// Version of the run directory's schema (`trials.jsonl` and `run.json`).
pub const SCHEMA_VERSION: u32 = 1;

/// One cell: (scenario, interpreter, approach, workers).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CellKey {
    /// What the agents do: a [`crate::vocabulary::Scenario`]'s name (`cpu`,
    /// `shared`, ...). A string, not the enum: a team's own task is a
    /// scenario too, named after it.
    pub scenario: String,
    /// The [`InterpreterRecord::id`] that runs the cell (`native` for the twin).
    pub interpreter: String,
    /// How the agents run.
    pub approach: Approach,
    /// Threads / processes / interpreters / tasks at once.
    pub workers: u32,
}

impl CellKey {
    /// The same cell with the `sequential` approach at 1 worker: the baseline
    /// of its speedup.
    pub fn baseline(&self) -> CellKey {
        CellKey {
            approach: Approach::Sequential,
            workers: 1,
            ..self.clone()
        }
    }

    /// Whether this cell is its own baseline.
    pub fn is_baseline(&self) -> bool {
        self.approach == Approach::Sequential
    }

    /// The fields in the order cells sort by, the approach by its name (the
    /// order of every run written so far).
    fn sort_key(&self) -> (&str, &str, &str, u32) {
        (
            &self.scenario,
            &self.interpreter,
            self.approach.name(),
            self.workers,
        )
    }
}

impl Ord for CellKey {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.sort_key().cmp(&other.sort_key())
    }
}

impl PartialOrd for CellKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for CellKey {
    /// `scenario/interpreter/approach/workers`, e.g. `cpu/cpython-3.13.5t/threads/2`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{}/{}/{}",
            self.scenario, self.interpreter, self.approach, self.workers
        )
    }
}

/// What kind of program runs a cell.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InterpreterKind {
    /// A Python interpreter running `gil_lab.runner`.
    Python,
    /// gil-lab's native Rust twin (`gil-lab twin run`).
    Native,
}

/// One interpreter of the run: an executable plus how it is started.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InterpreterRecord {
    /// Short id, unique in the run, used by [`CellKey::interpreter`]:
    /// e.g. `cpython-3.13.5`, `cpython-3.13.5t`, `cpython-3.13.5t-gil1`, `native`.
    pub id: String,
    /// Human label, e.g. `CPython 3.13.5t with PYTHON_GIL=1`.
    pub label: String,
    /// Python interpreter or native twin.
    pub kind: InterpreterKind,
    /// The executable.
    pub path: PathBuf,
    /// Interpreter flags put before the runner (e.g. `["-X", "gil=1"]`).
    pub flags: Vec<String>,
    /// Implementation name (`CPython`, `PyPy`, `native`).
    pub implementation: String,
    /// Full version with patch level (e.g. `3.13.5`); the twin: gil-lab's version.
    pub version: String,
    /// Built with free-threading (`Py_GIL_DISABLED`).
    pub free_threaded: bool,
    /// The GIL forced on (`Some(true)`) or off (`Some(false)`) with `-X gil=N`;
    /// `None` = the build's default.
    pub gil_forced: Option<bool>,
    /// The probe's facts as reported (as `gil-lab python list --json` shows
    /// them); `{}` for the native twin, which has none.
    #[serde(default, with = "facts_or_empty")]
    pub facts: Option<Facts>,
}

/// `InterpreterRecord::facts` in JSON: the facts, or `{}` (also read: null)
/// when there are none.
mod facts_or_empty {
    use serde::de::Error;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use crate::interpreters::facts::Facts;

    pub fn serialize<S: Serializer>(facts: &Option<Facts>, s: S) -> Result<S::Ok, S::Error> {
        match facts {
            Some(facts) => facts.serialize(s),
            None => serde_json::Map::new().serialize(s),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Facts>, D::Error> {
        match Option::<serde_json::Value>::deserialize(d)? {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(serde_json::Value::Object(map)) if map.is_empty() => Ok(None),
            Some(value) => serde_json::from_value(value)
                .map(Some)
                .map_err(D::Error::custom),
        }
    }
}

/// The settings a run was planned with (after defaults and presets).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// Preset used: `default`, `quick` or `full`.
    pub preset: String,
    /// The runner's `scale`.
    pub scale: f64,
    /// The `scale` of the native twin's cells in the CPU-bound scenarios
    /// (`cpu`, `shared`): larger than `scale`, so that its much faster work
    /// phase stays long enough to time. A cell's digest is checked against the
    /// reference of its own scenario and scale. 0 (older runs) = `scale`.
    #[serde(default)]
    pub native_scale: f64,
    /// The runner's `seed`.
    pub seed: u64,
    /// Warmup trials per cell (recorded, not measured).
    pub warmup: u32,
    /// Measured trials every cell gets before adaptive stopping may stop it.
    pub min_runs: u32,
    /// Measured trials after which a cell stops even if imprecise.
    pub max_runs: u32,
    /// Target relative half-width of the median's 95% CI (0.03 = 3%).
    pub target_rel_ci: f64,
    /// Per-trial timeout, seconds.
    pub timeout_s: f64,
    /// Time budget of the whole run, seconds: adaptive repetitions stop when
    /// it is spent (the `min_runs` are always run).
    pub budget_s: f64,
    /// Usable cores (CPU affinity) when the run was planned.
    pub usable_cores: u32,
    /// Equivalence margin of the verdict: two cells whose paired work-time
    /// ratio has its whole 95% CI within ±margin of 1 are a tie (0.05 = 5%).
    /// 0 (older runs) = the default.
    #[serde(default)]
    pub margin: f64,
    /// The LLM endpoint of the io and mixed scenarios (absent when the run
    /// has neither).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub llm: Option<crate::llm::bench::LlmSettings>,
    /// The existing Ray cluster the ray cells ran on (`--ray-address` or
    /// `RAY_ADDRESS`); absent: each ray trial started a local cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ray_address: Option<String>,
    /// `--memory-limit` and how the kernel enforced it (absent: no limit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_limit: Option<super::memory_limit::MemoryLimit>,
}

/// A planned cell with the exact command that runs one of its trials.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlannedCell {
    /// The cell.
    pub cell: CellKey,
    /// The trial spec sent to the runner (docs/trial-protocol.md).
    pub spec: TrialSpec,
    /// The command line (program first), the spec as its last argument.
    pub command: Vec<String>,
    /// The complete environment of the trial (nothing else is inherited).
    pub env: BTreeMap<String, String>,
}

impl PlannedCell {
    /// The key of the cell's reference digest, `scenario@scale` (e.g.
    /// `cpu@0.3`, `cpu@1.0`): the digest depends on the scenario, the scale
    /// and the run's seed only. The scale is written as JSON writes it. A
    /// task's cell: `task@interpreter`.
    pub fn reference_key(&self) -> String {
        // A task's results may differ from one interpreter to the next (and
        // its scale means nothing): each is compared with its own sequential cell.
        if self.spec.task.is_some() {
            return format!("{}@{}", self.cell.scenario, self.cell.interpreter);
        }
        let scale = serde_json::Number::from_f64(self.spec.scale)
            .map_or_else(|| self.spec.scale.to_string(), |n| n.to_string());
        format!("{}@{scale}", self.cell.scenario)
    }
}

/// How a trial ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrialStatus {
    /// Ran, validated (exit 0, protocol JSON, digest, GIL state): measured.
    Ok,
    /// The runner reported that the approach cannot run on this interpreter.
    Skipped,
    /// Failed; [`TrialRecord::failure`] says why. Not measured.
    Failed,
    /// Stopped by Ctrl-C; not measured, run again on `--resume`.
    Cancelled,
}

/// Why a trial failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// The process could not be started.
    Spawn,
    /// Killed by a signal (a crash, or a worker killed with `kill -9`).
    Signaled,
    /// Exited with a non-zero status.
    NonZeroExit,
    /// Ran past `--timeout`; its process group was killed.
    TimedOut,
    /// Did not print exactly one protocol JSON object.
    BadOutput,
    /// The runner reported `result: error`.
    RunnerError,
    /// The digest differs from the reference digest: a correctness failure.
    DigestMismatch,
    /// A forced-GIL cell ran with the GIL off somewhere.
    GilNotForced,
    /// Stopped by the kernel at `--memory-limit` (an OOM kill in its cgroup,
    /// or a `MemoryError` under an rlimit): the cell does not fit.
    MemoryLimit,
}

/// The reason of a failed trial.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Failure {
    /// What went wrong.
    pub kind: FailureKind,
    /// One line for humans.
    pub message: String,
}

/// What gil-lab measured of a trial from outside (the whole process tree).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Measurement {
    /// Wall time from spawn to reaped, seconds.
    pub wall_s: f64,
    /// User CPU time of the whole tree, seconds.
    pub user_s: f64,
    /// System CPU time of the whole tree, seconds.
    pub sys_s: f64,
    /// Parallelism: (user + sys) / wall.
    pub parallelism: f64,
    /// Parallelism during the work phase alone (from the runner's first task
    /// start to its last task end): the sampler's tree CPU in that window ÷
    /// its length. Absent when the window is shorter than 10 samples.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub work_parallelism: Option<f64>,
    /// The trial's memory: the peak of the tree's proportional set size (PSS,
    /// summed over its processes; pages shared after `fork` count once),
    /// bytes. A trial too short to be sampled falls back on the largest
    /// high-water mark (`VmHWM`) of a process of the tree.
    pub peak_memory_bytes: u64,
    /// Peak of the tree's summed resident memory (RSS; shared pages count
    /// once per process), at least the largest single process's high-water
    /// mark, bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_rss_bytes: Option<u64>,
    /// The peak the kernel saw in the trial's cgroup under `--memory-limit`
    /// (`memory.peak`, or `memory.max_usage_in_bytes` in cgroup v1; page
    /// cache included: what the limit is held against), bytes. Absent
    /// without a limit, or with an rlimit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit_peak_bytes: Option<u64>,
    /// Shares of the worker threads' time during the work phase spent
    /// running, waiting for a core, on a lock, on I/O, or otherwise
    /// (`run::thread_states`). Absent without a work phase long enough or a
    /// sampled timeline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread_states: Option<StateShares>,
    /// Voluntary context switches of the tree.
    pub voluntary_context_switches: u64,
    /// Involuntary context switches of the tree.
    pub involuntary_context_switches: u64,
    /// Number of /proc samples taken.
    pub samples: u64,
    /// CPU time the sampler itself used, seconds.
    pub sampler_cpu_s: f64,
}

/// One trial: one line of `trials.jsonl`, appended and flushed when it ends.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrialRecord {
    /// [`SCHEMA_VERSION`] of this line.
    pub schema: u32,
    /// Position of the trial in the run (0-based, unique; continues on resume).
    pub index: u64,
    /// The cell.
    pub cell: CellKey,
    /// Repetition of this cell (0-based, warmups included, cancelled ones not).
    pub repetition: u32,
    /// A warmup trial: recorded but left out of the statistics.
    pub warmup: bool,
    /// When it started (RFC 3339, UTC).
    pub started_at: String,
    /// How it ended.
    pub status: TrialStatus,
    /// Why it failed (status `failed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
    /// Why the approach cannot run here (status `skipped`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip_reason: Option<String>,
    /// Outside measurement (absent when the process could not start).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measurement: Option<Measurement>,
    /// What the runner reported (absent when it printed no valid result).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runner: Option<RunnerReport>,
    /// The reference digest it was checked against, if one was known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_digest: Option<String>,
    /// The child's standard error (the last 8 KiB), kept for failed trials and
    /// whenever it is not empty.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub stderr: String,
    /// Warnings about this trial (e.g. a free-threaded build that ended with the GIL on).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// The sampler's per-thread CPU timeline and tree totals (absent when the
    /// trial was not sampled; see docs/results-schema.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeline: Option<SamplerReport>,
    /// The round the trial ran in (absent in runs made before rounds: their
    /// `repetition` was their round).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub round: Option<RoundInfo>,
}

/// Which part of a run a round belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Every cell of a scenario, `min_runs` rounds.
    Screening,
    /// Only the cells still contending for the scenario's verdict, and their
    /// baselines.
    Racing,
}

impl Stage {
    /// The word shown to users.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Screening => "screening",
            Stage::Racing => "racing",
        }
    }
}

/// A round: one scenario's compared cells run back to back in a shuffled
/// order, so that ratios are taken between trials that ran next to each other.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RoundInfo {
    /// Its number in the run (unique across scenarios, from 0).
    pub number: u32,
    /// Screening or racing.
    pub stage: Stage,
    /// Seconds gil-lab's fixed single-threaded reference loop took just
    /// before the round: the machine's speed at that moment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_s: Option<f64>,
}

impl TrialRecord {
    /// A measured trial: status ok and not a warmup.
    pub fn is_measured(&self) -> bool {
        self.status == TrialStatus::Ok && !self.warmup
    }

    /// The runner's work-phase time, seconds (measured trials).
    pub fn work_s(&self) -> Option<f64> {
        self.runner.as_ref().map(|r| r.phases.work)
    }

    /// Whole-trial wall time, seconds.
    pub fn wall_s(&self) -> Option<f64> {
        self.measurement.as_ref().map(|m| m.wall_s)
    }

    /// The round it ran in: its own, or (runs made before rounds, whose loop
    /// ran every cell's n-th trial in one pass) its repetition.
    pub fn round_number(&self) -> u32 {
        self.round.as_ref().map_or(self.repetition, |r| r.number)
    }
}

/// State of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Running (or the process died without rewriting run.json).
    Running,
    /// Every cell is done.
    Complete,
    /// Stopped by Ctrl-C; `--resume` completes it.
    Interrupted,
}

/// `run.json`: written when a run starts and rewritten when it ends.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunFile {
    /// [`SCHEMA_VERSION`].
    pub schema: u32,
    /// `gil-lab` version that wrote it.
    pub gil_lab_version: String,
    /// When the run started (RFC 3339, UTC).
    pub started_at: String,
    /// When it last ended (RFC 3339, UTC); absent while running.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
    /// Running, complete or interrupted.
    pub status: RunStatus,
    /// Settings.
    pub settings: Settings,
    /// Machine metadata at the start.
    #[serde(default)]
    pub machine: MachineInfo,
    /// The interpreters of the run.
    pub interpreters: Vec<InterpreterRecord>,
    /// Every cell, with its command and environment.
    pub plan: Vec<PlannedCell>,
    /// A run of a team's own task (`bench --task`): the task and what was
    /// found of it on each interpreter before the trials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<super::task::TaskRun>,
    /// The statistics (absent until the run ends).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<RunSummary>,
    /// Where the run's time went (absent until the run ends, and in runs
    /// made before it was recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_spent: Option<TimeSpent>,
}

/// Where a run's time went, seconds of wall-clock time (summed over
/// `--resume` invocations).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TimeSpent {
    /// Before the first trial: discovery, provisioning, the twin's check,
    /// planning, inspection. Not counted in the budget.
    pub startup_s: f64,
    /// Screening rounds (every cell).
    pub screening_s: f64,
    /// Racing rounds, per scenario.
    pub racing_s: BTreeMap<String, f64>,
    /// Rounds run (screening and racing).
    pub rounds: u32,
}

impl TimeSpent {
    /// Everything together.
    pub fn total_s(&self) -> f64 {
        self.startup_s + self.measuring_s()
    }

    /// The measuring rounds (screening and racing): what the budget counts.
    pub fn measuring_s(&self) -> f64 {
        self.screening_s + self.racing_s.values().sum::<f64>()
    }
}

impl InterpreterRecord {
    /// How it runs with respect to the GIL.
    pub fn gil_mode(&self) -> GilMode {
        match (self.kind, self.free_threaded, self.gil_forced) {
            (InterpreterKind::Native, _, _) => GilMode::Native,
            (_, true, Some(true)) => GilMode::ForcedOn,
            (_, true, _) => GilMode::FreeThreaded,
            (_, false, _) => GilMode::Gil,
        }
    }

    /// A free-threaded build run as built: the GIL off, nothing forced.
    pub fn is_free_threaded_as_built(&self) -> bool {
        self.free_threaded && self.gil_forced.is_none()
    }
}

impl RunFile {
    /// The interpreter with this id.
    pub fn interpreter(&self, id: &str) -> Option<&InterpreterRecord> {
        self.interpreters.iter().find(|i| i.id == id)
    }

    /// The default build a free-threaded build is compared with (its
    /// single-thread cost, the lesson's GIL column): the same implementation
    /// and `major.minor`, the same patch level preferred.
    pub fn default_twin(&self, free_threaded: &InterpreterRecord) -> Option<&InterpreterRecord> {
        default_twin_in(&self.interpreters, free_threaded)
    }
}

/// The default build standing next to a free-threaded one among
/// `interpreters` (see [`RunFile::default_twin`]): the same version, else the
/// same minor version.
pub fn default_twin_in<'a>(
    interpreters: &'a [InterpreterRecord],
    free_threaded: &InterpreterRecord,
) -> Option<&'a InterpreterRecord> {
    let minor = |v: &str| v.split('.').take(2).collect::<Vec<_>>().join(".");
    let candidates: Vec<&InterpreterRecord> = interpreters
        .iter()
        .filter(|i| i.kind == InterpreterKind::Python && i.gil_mode() == GilMode::Gil)
        .filter(|i| {
            i.implementation == free_threaded.implementation
                && minor(&i.version) == minor(&free_threaded.version)
        })
        .collect();
    candidates
        .iter()
        .find(|i| i.version == free_threaded.version)
        .or_else(|| candidates.first())
        .copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cell_key_displays_and_finds_its_baseline() {
        let key = CellKey {
            scenario: "cpu".into(),
            interpreter: "cpython-3.13.5t".into(),
            approach: Approach::Threads,
            workers: 2,
        };
        assert_eq!(key.to_string(), "cpu/cpython-3.13.5t/threads/2");
        assert_eq!(
            key.baseline().to_string(),
            "cpu/cpython-3.13.5t/sequential/1"
        );
        assert!(key.baseline().is_baseline());
        assert!(!key.is_baseline());
    }
}
