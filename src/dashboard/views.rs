//! The plain view types of the dashboard's data model that every part of
//! the page shares: what run this is ([`RunInfo`]), how an interpreter runs
//! with respect to the GIL ([`GilMode`]), the interpreters, machine facts,
//! warnings and rows of the cell table, and how an estimate is written
//! ([`ratio_text`], [`seconds_text`]). [`super::model`] builds the page from
//! them and from the charts, timelines, verdicts and claims, which use them
//! too.

use serde::Serialize;

use crate::run::format::format_seconds;
use crate::run::record::Totals;
use crate::stats::Estimate;

/// What run this is and how far it got.
#[derive(Debug, Clone, Serialize)]
pub struct RunInfo {
    /// The run directory as given.
    pub dir: String,
    /// `running`, `complete` or `interrupted`.
    pub status: String,
    /// When it started (RFC 3339).
    pub started_at: String,
    /// When it ended, if it did.
    pub finished_at: Option<String>,
    /// gil-lab version that wrote it.
    pub gil_lab_version: String,
    /// Preset (`default`, `quick`, `full`).
    pub preset: String,
    /// The runner's scale.
    pub scale: f64,
    /// The runner's seed.
    pub seed: u64,
    /// Usable cores when the run was planned.
    pub usable_cores: u32,
    /// Counts of trials.
    pub totals: Totals,
    /// Trials recorded so far.
    pub trials_recorded: u64,
    /// Trials the plan needs at least (warmups and minimum runs of every cell).
    pub trials_planned_min: u64,
    /// Cells with at least one measured, skipped or failed trial.
    pub cells_started: usize,
    /// Cells in the plan.
    pub cells_planned: usize,
    /// The statistics were computed for this page from the trials so far
    /// (the run has not written its summary yet).
    pub provisional: bool,
    /// The measuring time against the budget, in one line (finished runs).
    pub time_spent: Option<String>,
    /// The set-up before the first round, apart from the budget, in one line.
    pub setup_time: Option<String>,
    /// How much the machine's speed drifted, in one line.
    pub drift: Option<String>,
}

pub use crate::vocabulary::GilMode;

/// One interpreter of the run.
#[derive(Debug, Clone, Serialize)]
pub struct InterpreterView {
    /// Short id used by cells.
    pub id: String,
    /// Human label.
    pub label: String,
    /// The executable.
    pub path: String,
    /// Interpreter flags, space separated.
    pub flags: String,
    /// Implementation and version, e.g. `CPython 3.13.5`.
    pub version: String,
    /// How it was built (PGO, LTO, compiler, `-O` level), e.g. `GCC 12.2.0
    /// -O3`; empty where the probe did not record it (the twin, old runs).
    pub build: String,
    /// GIL mode.
    pub mode: GilMode,
    /// [`GilMode::words`].
    pub mode_words: String,
    /// A free-threaded build (not forced) that ran with the GIL on in some
    /// trial: its threads did not run in parallel there.
    pub gil_turned_on: bool,
    /// Why it matters, when `gil_turned_on`.
    pub warning: Option<String>,
}

/// A label and a value.
#[derive(Debug, Clone, Serialize)]
pub struct Fact {
    /// What it is.
    pub label: String,
    /// Its value, as text.
    pub value: String,
}

/// A warning shown on the page.
#[derive(Debug, Clone, Serialize)]
pub struct WarningView {
    /// Kind (`noise`, `gil`, `digest`, ...).
    pub kind: String,
    /// The cell concerned, described.
    pub cell: Option<String>,
    /// One line for humans.
    pub message: String,
}

/// The id of a cell's row in the table of all cells, from its key (the
/// advice links to its recommended cell with it): `cell--cpu--cpython-3.13.5t--threads--2`.
pub fn cell_anchor(key: &crate::run::record::CellKey) -> String {
    let part = |text: &str| -> String {
        text.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    };
    format!(
        "cell--{}--{}--{}--{}",
        part(&key.scenario),
        part(&key.interpreter),
        part(key.approach.name()),
        key.workers
    )
}

/// One row of the table of all cells.
#[derive(Debug, Clone, Serialize)]
pub struct CellRow {
    /// The row's id ([`cell_anchor`] of its key).
    pub anchor: String,
    /// Scenario.
    pub scenario: String,
    /// Approach.
    pub approach: String,
    /// Workers.
    pub workers: u32,
    /// Interpreter id.
    pub interpreter: String,
    /// Interpreter label.
    pub interpreter_label: String,
    /// GIL mode of the interpreter.
    pub mode: GilMode,
    /// `measured`, `skipped`, `failed` or `pending`.
    pub state: String,
    /// Why it was skipped.
    pub skip_reason: Option<String>,
    /// "does not fit in 512 MB" when `--memory-limit` stopped a trial of it.
    pub memory_note: Option<String>,
    /// Median work-phase time, seconds, with its CI.
    pub work: Option<Estimate>,
    /// Median whole-trial wall time, seconds, with its CI.
    pub wall: Option<Estimate>,
    /// Speedup (work phase) with its CI.
    pub speedup: Option<Estimate>,
    /// End-to-end speedup (wall time) with its CI.
    pub end_to_end_speedup: Option<Estimate>,
    /// Efficiency with its CI.
    pub efficiency: Option<Estimate>,
    /// Median parallelism (tree CPU ÷ wall).
    pub parallelism: Option<f64>,
    /// Median parallelism during the work phase alone.
    pub work_parallelism: Option<f64>,
    /// Median peak memory of the tree (PSS), bytes.
    pub peak_memory_bytes: Option<u64>,
    /// Median peak summed RSS of the tree, bytes.
    pub peak_rss_bytes: Option<u64>,
    /// Lock-wait share of the worker threads' time (work phase).
    pub lock_wait: Option<f64>,
    /// Orchestration cost (everything but the work phase), seconds.
    pub orchestration_s: Option<f64>,
    /// Measured trials.
    pub trials: u32,
    /// Failed trials.
    pub failed: u32,
    /// Why its trials stopped (`decided`, `eliminated`, ...).
    pub stop: Option<String>,
    /// Its speedup is more than the usable cores allow: noise.
    pub noise: bool,
    /// GIL seen on at the end of its trials.
    pub gil_enabled: Option<bool>,
    /// Texts of the numeric columns, formatted for the table.
    pub text: RowText,
}

/// The formatted numbers of a [`CellRow`].
#[derive(Debug, Clone, Default, Serialize)]
pub struct RowText {
    /// `366.6 ms (340.1–380.2)`.
    pub work: String,
    /// `1.93× (1.88–1.98)`.
    pub speedup: String,
    /// The same for the end-to-end speedup.
    pub end_to_end_speedup: String,
    /// `96%`.
    pub efficiency: String,
    /// `1.94`.
    pub parallelism: String,
    /// The same during the work phase.
    pub work_parallelism: String,
    /// `45.2 MiB`.
    pub peak_memory: String,
    /// The summed RSS, the same way.
    pub peak_rss: String,
    /// `48%`.
    pub lock_wait: String,
    /// `52.0 ms`.
    pub orchestration: String,
}

/// `1.93× (1.88–1.98)`.
pub fn ratio_text(e: &Estimate) -> String {
    format!("{:.2}× ({:.2}–{:.2})", e.point, e.ci_low, e.ci_high)
}

/// `366.6 ms (340.1 ms–380.2 ms)`.
pub fn seconds_text(e: &Estimate) -> String {
    format!(
        "{} ({}–{})",
        format_seconds(e.point),
        format_seconds(e.ci_low),
        format_seconds(e.ci_high)
    )
}

/// The median of a summary as an estimate with its CI.
pub fn median_estimate(s: &crate::stats::Summary) -> Estimate {
    Estimate {
        point: s.median,
        ci_low: s.ci_low,
        ci_high: s.ci_high,
    }
}
