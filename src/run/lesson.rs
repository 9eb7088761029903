//! The first lesson of a run, in one view: CPU-bound against I/O-bound work.
//! Under the GIL threads do not help CPU-bound agents but do help agents
//! that wait on a model or a tool; without the GIL they help both; processes
//! help CPU-bound work on either build and pay their start-up. [`Lesson`]
//! holds the measured speedups behind that, scenario × approach × build (the
//! default build and the free-threaded one), and one sentence per kind of
//! work from those numbers. The terminal, the dashboard and the advice all
//! show this one computation.
//!
//! Whether a cell helps is decided by its speedup's CI, or, for CPU-bound
//! work, by the cores its work phase used (`run::mechanism`): a cell that
//! used about one core cannot help whatever wall-time noise says. The run
//! loop races the cells still open (`?`) like those of a verdict, and the
//! lesson says which stay open when the run ends, and why.

use serde::Serialize;

use crate::run::mechanism::{self, MeasuredWork};
use crate::run::record::{
    CellKey, CellSummary, InterpreterKind, InterpreterRecord, RunFile, RunSummary,
};
use crate::stats::Estimate;
use crate::vocabulary::{Approach, GilMode, WorkKind};

/// Speedups whose whole CI is above this help; whose whole CI is below it
/// do not.
pub const HELPS_ABOVE: f64 = 1.15;

/// Whether an approach helps, from its speedup's CI.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Helps {
    /// The whole CI is above [`HELPS_ABOVE`].
    Yes,
    /// The whole CI is below it.
    No,
    /// The CI straddles it.
    Unclear,
}

impl Helps {
    fn of(speedup: &Estimate) -> Helps {
        if speedup.ci_low > HELPS_ABOVE {
            Helps::Yes
        } else if speedup.ci_high < HELPS_ABOVE {
            Helps::No
        } else {
            Helps::Unclear
        }
    }
}

/// One column of the matrix: a scenario on a build.
#[derive(Clone, Debug, Serialize)]
pub struct LessonColumn {
    /// The scenario.
    pub scenario: String,
    /// Its kind of work.
    pub kind: WorkKind,
    /// `gil` or `free_threaded`.
    pub mode: GilMode,
    /// The interpreter measured for that build.
    pub interpreter: String,
    /// `cpu (CPU-bound) · GIL`, `io (I/O-bound) · free-threaded`.
    pub label: String,
    /// The kind of work as measured on this build (CPU-bound Python,
    /// native code that releases the GIL, I/O-bound), with its figures.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub measured: Option<MeasuredWork>,
}

/// One measured speedup of the matrix.
#[derive(Clone, Debug, Serialize)]
pub struct LessonEntry {
    /// The cell measured.
    pub cell: CellKey,
    /// Speedup over sequential on the same interpreter, paired over rounds.
    pub speedup: Estimate,
    /// Whether it helps.
    pub helps: Helps,
    /// Workers of the cell.
    pub workers: u32,
    /// Flagged as beyond the cores (noise).
    pub noise: bool,
    /// `1.80×`, and its CI `1.74–1.86`, as every view writes them.
    pub text: String,
    /// The CI as text.
    pub ci_text: String,
    /// When the cores used decided it rather than the CI: `used 1.00
    /// cores, 47% of its time waiting on the GIL`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<String>,
    /// When it is still open (`?`): why, `CI 0.45–1.33 straddles 1.15×
    /// after 3 paired rounds; stopped: budget`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub open: Option<String>,
}

/// One approach's row: an entry per column (`None`: not measured).
#[derive(Clone, Debug, Serialize)]
pub struct LessonRow {
    /// The approach.
    pub approach: Approach,
    /// Per column, in [`Lesson::columns`] order.
    pub entries: Vec<Option<LessonEntry>>,
}

/// The matrix and its conclusions.
#[derive(Clone, Debug, Serialize)]
pub struct Lesson {
    /// Scenario × build, scenarios in plan order.
    pub columns: Vec<LessonColumn>,
    /// Every concurrent approach measured.
    pub rows: Vec<LessonRow>,
    /// One sentence per kind of work, from the numbers.
    pub conclusions: Vec<String>,
    /// The cells still open (`?`), one line each: which and why.
    pub open: Vec<String>,
    /// The cells the cores used decided (✗ whatever the wall-time CI
    /// said), one line each: `threads ×2 on cpu (CPU-bound) · GIL: ✗ does
    /// not help: used 1.00 cores, 47% of its time waiting on the GIL`.
    pub by_cores: Vec<String>,
    /// Where the rest of the ideal went, per CPU-bound scenario: the
    /// ceiling its task list puts on its workers ([`Lesson::add_ceilings`]).
    pub ceilings: Vec<String>,
}

impl Lesson {
    /// Adds, per CPU-bound scenario, the speedup its task list allows its
    /// workers with no overhead at all (`mechanism::schedule_ceiling`, from
    /// the default build's sequential trials), next to the best measured.
    pub fn add_ceilings(&mut self, trials: &[crate::run::record::TrialRecord]) {
        for column in self
            .columns
            .iter()
            .filter(|c| c.kind == WorkKind::CpuBound && c.mode != GilMode::FreeThreaded)
        {
            let entries: Vec<(&Approach, &LessonEntry)> = self
                .rows
                .iter()
                .flat_map(|r| {
                    self.columns
                        .iter()
                        .zip(&r.entries)
                        .filter(|(c, _)| c.scenario == column.scenario)
                        .filter_map(move |(_, e)| Some((&r.approach, e.as_ref()?)))
                })
                .collect();
            let Some(&(approach, best)) = entries
                .iter()
                .filter(|(_, e)| !e.noise)
                .max_by(|a, b| a.1.speedup.point.total_cmp(&b.1.speedup.point))
            else {
                continue;
            };
            let sequential = best.cell.baseline();
            let sequential = CellKey {
                interpreter: column.interpreter.clone(),
                ..sequential
            };
            let Some((tasks, ceiling)) =
                mechanism::schedule_ceiling(trials, &sequential, best.workers)
            else {
                continue;
            };
            self.ceilings.push(format!(
                "{}: {tasks} tasks of uneven length, {} workers each taking the next as it frees up: at most {ceiling:.2}× with no overhead at all (the last tasks run alone while the other workers idle); the best measured here is {} ({} ×{})",
                column.scenario,
                best.workers,
                best.text,
                approach,
                best.workers
            ));
        }
    }

    /// The cells still open (`?`), to be raced.
    pub fn open_cells(&self) -> impl Iterator<Item = &CellKey> {
        self.rows
            .iter()
            .flat_map(|r| r.entries.iter().flatten())
            .filter(|e| e.helps == Helps::Unclear)
            .map(|e| &e.cell)
    }
}

/// The interpreter standing for each build: the first free-threaded build
/// run as built, and its default twin ([`RunFile::default_twin`]; else the
/// first default build).
fn builds(run: &RunFile) -> Vec<&InterpreterRecord> {
    let python = |i: &&InterpreterRecord| i.kind == InterpreterKind::Python;
    let free = run
        .interpreters
        .iter()
        .filter(python)
        .find(|i| i.gil_mode() == GilMode::FreeThreaded);
    let default = free.and_then(|f| run.default_twin(f)).or_else(|| {
        run.interpreters
            .iter()
            .filter(python)
            .find(|i| i.gil_mode() == GilMode::Gil)
    });
    default.into_iter().chain(free).collect()
}

/// The lesson of a run, when it measured a scenario of known kind.
pub fn lesson(run: &RunFile, summary: &RunSummary) -> Option<Lesson> {
    let mut scenarios: Vec<&str> = Vec::new();
    for cell in &summary.cells {
        if WorkKind::of_scenario(&cell.cell.scenario).is_some()
            && !scenarios.contains(&cell.cell.scenario.as_str())
        {
            scenarios.push(&cell.cell.scenario);
        }
    }
    let builds = builds(run);
    let columns: Vec<LessonColumn> = scenarios
        .iter()
        .flat_map(|scenario| {
            builds.iter().map(move |b| {
                let kind = WorkKind::of_scenario(scenario).expect("kept above");
                let build = match b.gil_mode() {
                    GilMode::FreeThreaded => "free-threaded",
                    _ => "GIL",
                };
                LessonColumn {
                    scenario: scenario.to_string(),
                    kind,
                    mode: b.gil_mode(),
                    interpreter: b.id.clone(),
                    label: format!("{scenario} ({}) · {build}", kind.words()),
                    measured: mechanism::measured_on(run, &summary.cells, scenario, &b.id),
                }
            })
        })
        .collect();
    let entry = |column: &LessonColumn, approach: Approach| -> Option<LessonEntry> {
        // The cell with the most workers, when a run measured several.
        let cell: &CellSummary = summary
            .cells
            .iter()
            .filter(|c| {
                c.cell.scenario == column.scenario
                    && c.cell.interpreter == column.interpreter
                    && c.cell.approach == approach
            })
            .max_by_key(|c| c.cell.workers)?;
        let speedup = cell.speedup?;
        // For CPU-bound work the cores decide whether: one core cannot help.
        // (The scenario's design says so, or the measurement does.)
        let cpu_bound = column.kind == WorkKind::CpuBound
            || column
                .measured
                .as_ref()
                .is_some_and(|m| m.kind.work_kind() == WorkKind::CpuBound);
        let decided_by = mechanism::cannot_help(run, &summary.cells, cell).filter(|_| cpu_bound);
        let helps = if decided_by.is_some() {
            Helps::No
        } else {
            Helps::of(&speedup)
        };
        let ci_text = format!("{:.2}–{:.2}", speedup.ci_low, speedup.ci_high);
        let open = (helps == Helps::Unclear).then(|| {
            format!(
                "CI {ci_text} straddles {HELPS_ABOVE}× after {} paired rounds{}",
                cell.paired_rounds,
                cell.stop
                    .map(|s| format!("; stopped: {}", s.word()))
                    .unwrap_or_default()
            )
        });
        Some(LessonEntry {
            cell: cell.cell.clone(),
            speedup,
            helps,
            workers: cell.cell.workers,
            noise: cell.speedup_flag.is_some(),
            text: format!("{:.2}×", speedup.point),
            ci_text,
            decided_by,
            open,
        })
    };
    let rows: Vec<LessonRow> = Approach::ALL
        .iter()
        .filter(|&&a| a != Approach::Sequential)
        .map(|&approach| LessonRow {
            approach,
            entries: columns.iter().map(|c| entry(c, approach)).collect(),
        })
        .filter(|row| row.entries.iter().any(Option::is_some))
        .collect();
    if rows.is_empty() {
        return None;
    }
    let lines = |what: fn(&LessonEntry) -> Option<String>| -> Vec<String> {
        rows.iter()
            .flat_map(|row| {
                columns
                    .iter()
                    .zip(&row.entries)
                    .filter_map(move |(column, e)| {
                        let e = e.as_ref()?;
                        Some(format!(
                            "{} ×{} on {}: {}",
                            row.approach,
                            e.workers,
                            column.label,
                            what(e)?
                        ))
                    })
            })
            .collect()
    };
    let open = lines(|e| e.open.clone());
    let by_cores = lines(|e| Some(format!("✗ does not help: {}", e.decided_by.as_ref()?)));
    let mut lesson = Lesson {
        columns,
        rows,
        conclusions: vec![],
        open,
        by_cores,
        ceilings: vec![],
    };
    lesson.conclusions = [WorkKind::CpuBound, WorkKind::IoBound, WorkKind::Mixed]
        .into_iter()
        .filter_map(|kind| conclusion(&lesson, run, kind))
        .collect();
    Some(lesson)
}

/// An approach's speedups on one build over the scenarios of a kind, and
/// whether it helps on all of them.
fn on_build(
    lesson: &Lesson,
    approach: Approach,
    kind: WorkKind,
    mode: GilMode,
) -> Option<(String, Helps)> {
    let row = lesson.rows.iter().find(|r| r.approach == approach)?;
    let entries: Vec<&LessonEntry> = lesson
        .columns
        .iter()
        .zip(&row.entries)
        .filter(|(c, _)| c.kind == kind && c.mode == mode)
        .filter_map(|(_, e)| e.as_ref())
        .collect();
    if entries.is_empty() {
        return None;
    }
    let helps = if entries.iter().all(|e| e.helps == Helps::Yes) {
        Helps::Yes
    } else if entries.iter().all(|e| e.helps == Helps::No) {
        Helps::No
    } else {
        Helps::Unclear
    };
    let figures: Vec<String> = entries.iter().map(|e| e.text.clone()).collect();
    Some((figures.join(", "), helps))
}

/// One approach's clause: "threads do not help under the GIL (1.01×) but
/// help free-threaded (1.80×)".
fn clause(
    name: &str,
    gil: Option<(String, Helps)>,
    free: Option<(String, Helps)>,
) -> Option<String> {
    // `threads`, `processes`, `subinterpreters` are plural; `asyncio` is not.
    let plural = name.ends_with('s');
    let verb = |helps: Helps| match (helps, plural) {
        (Helps::Yes, true) => "help",
        (Helps::Yes, false) => "helps",
        (Helps::No, true) => "do not help",
        (Helps::No, false) => "does not help",
        (Helps::Unclear, true) => "are not clearly faster",
        (Helps::Unclear, false) => "is not clearly faster",
    };
    Some(match (gil, free) {
        (Some((g, gh)), Some((f, fh))) if gh == fh => format!(
            "{name} {} on {} ({g} under the GIL, {f} free-threaded)",
            verb(gh),
            if gh == Helps::Yes {
                "both builds"
            } else {
                "either build"
            }
        ),
        (Some((g, gh)), Some((f, fh))) => format!(
            "{name} {} under the GIL ({g}) but {} free-threaded ({f})",
            verb(gh),
            verb(fh)
        ),
        (Some((g, gh)), None) => format!("{name} {} under the GIL ({g})", verb(gh)),
        (None, Some((f, fh))) => format!("{name} {} free-threaded ({f})", verb(fh)),
        (None, None) => return None,
    })
}

/// One sentence for a kind of work, when the run measured it.
fn conclusion(lesson: &Lesson, run: &RunFile, kind: WorkKind) -> Option<String> {
    let scenarios: Vec<&str> = {
        let mut names: Vec<&str> = Vec::new();
        for c in lesson.columns.iter().filter(|c| c.kind == kind) {
            if !names.contains(&c.scenario.as_str()) {
                names.push(&c.scenario);
            }
        }
        names
    };
    if scenarios.is_empty() {
        return None;
    }
    let order: &[(Approach, &str)] = match kind {
        WorkKind::IoBound => &[
            (Approach::Threads, "threads"),
            (Approach::Asyncio, "asyncio"),
            (Approach::Processes, "processes"),
        ],
        _ => &[
            (Approach::Threads, "threads"),
            (Approach::Processes, "processes"),
            (Approach::Interpreters, "subinterpreters"),
        ],
    };
    let clauses: Vec<String> = order
        .iter()
        .filter_map(|&(approach, name)| {
            clause(
                name,
                on_build(lesson, approach, kind, GilMode::Gil),
                on_build(lesson, approach, kind, GilMode::FreeThreaded),
            )
        })
        .collect();
    if clauses.is_empty() {
        return None;
    }
    let labels: Vec<String> = [GilMode::Gil, GilMode::FreeThreaded]
        .iter()
        .filter_map(|&mode| {
            let id = &lesson.columns.iter().find(|c| c.mode == mode)?.interpreter;
            Some(run.interpreter(id).map_or(id.clone(), |i| i.label.clone()))
        })
        .collect();
    // The rule is about Python code: say where the measurement shows
    // native code that lets go of the GIL instead.
    let releasing: Vec<String> = lesson
        .columns
        .iter()
        .filter(|c| c.kind == kind)
        .filter_map(|c| {
            let m = c.measured.as_ref()?;
            m.kind.gil_threads_compute().then(|| {
                format!(
                    " Measured on `{}`: {} ({}), so threads on the GIL build can compute side by side.",
                    c.scenario,
                    m.kind.words(),
                    m.evidence
                )
            })
        })
        .collect();
    Some(format!(
        "{} work ({}): {} (speedups over sequential on {}).{}",
        kind.words(),
        scenarios.join(", "),
        clauses.join("; "),
        labels.join(" and "),
        releasing.concat()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::analysis::summarize;
    use crate::run::fixtures::{cell, run_file, trial};
    use crate::run::record::{CellKey, TrialRecord};
    use std::collections::BTreeMap;

    fn in_scenario(mut key: CellKey, scenario: &str) -> CellKey {
        key.scenario = scenario.into();
        key
    }

    #[test]
    fn threads_help_io_but_not_cpu_under_the_gil_and_both_free_threaded() {
        let mut keys = Vec::new();
        let mut trials: Vec<TrialRecord> = Vec::new();
        // (scenario, interpreter, approach, workers, work time)
        let plan = [
            ("cpu", "py", "sequential", 1, 1.0),
            ("cpu", "py", "threads", 2, 1.01),
            ("cpu", "py", "processes", 2, 0.54),
            ("cpu", "pyt", "sequential", 1, 1.3),
            ("cpu", "pyt", "threads", 2, 0.70),
            ("io", "py", "sequential", 1, 0.4),
            ("io", "py", "threads", 4, 0.11),
            ("io", "pyt", "sequential", 1, 0.4),
            ("io", "pyt", "threads", 4, 0.11),
        ];
        for (scenario, interpreter, approach, workers, work) in plan {
            let key = in_scenario(cell(interpreter, approach, workers), scenario);
            for (round, jitter) in [0.0, 0.01, -0.01, 0.005].iter().enumerate() {
                let mut t = trial(
                    trials.len() as u64,
                    &key,
                    round as u32,
                    false,
                    work * (1.0 + jitter),
                );
                // Threads under the GIL take turns: one core.
                if (scenario, interpreter, approach) == ("cpu", "py", "threads") {
                    let m = t.measurement.as_mut().unwrap();
                    m.work_parallelism = Some(1.0);
                    m.thread_states = Some(crate::run::thread_states::StateShares {
                        running: 0.52,
                        core_wait: 0.0,
                        lock_wait: 0.48,
                        io_wait: 0.0,
                        other: 0.0,
                        thread_s: 1.0,
                    });
                }
                trials.push(t);
            }
            keys.push(key);
        }
        let mut run = run_file(&keys);
        crate::run::fixtures::with_free_threaded(&mut run);
        let summary = summarize(&run, &trials, &BTreeMap::new(), &[]);
        let lesson = lesson(&run, &summary).unwrap();
        let columns: Vec<(&str, GilMode)> = lesson
            .columns
            .iter()
            .map(|c| (c.scenario.as_str(), c.mode))
            .collect();
        assert_eq!(
            columns,
            [
                ("cpu", GilMode::Gil),
                ("cpu", GilMode::FreeThreaded),
                ("io", GilMode::Gil),
                ("io", GilMode::FreeThreaded)
            ]
        );
        let threads = lesson
            .rows
            .iter()
            .find(|r| r.approach == Approach::Threads)
            .unwrap();
        let helps: Vec<Option<Helps>> = threads
            .entries
            .iter()
            .map(|e| e.as_ref().map(|e| e.helps))
            .collect();
        assert_eq!(
            helps,
            [
                Some(Helps::No),
                Some(Helps::Yes),
                Some(Helps::Yes),
                Some(Helps::Yes)
            ]
        );
        assert_eq!(
            lesson.by_cores,
            [
                "threads ×2 on cpu (CPU-bound) · GIL: ✗ does not help: used 1.00 cores, 48% of its time waiting on the GIL"
            ]
        );
        assert_eq!(
            lesson.columns[0].measured.as_ref().map(|m| m.kind),
            Some(crate::run::mechanism::MeasuredKind::CpuBoundPython)
        );
        assert!(lesson.open.is_empty(), "{:?}", lesson.open);
        assert_eq!(
            lesson.conclusions[0],
            "CPU-bound work (cpu): threads do not help under the GIL (0.99×) but help free-threaded (1.86×); processes help under the GIL (1.85×) (speedups over sequential on CPython 3.13.5 and CPython 3.13.5t)."
        );
        assert!(
            lesson.conclusions[1].starts_with("I/O-bound work (io): threads help on both builds (3.64× under the GIL, 3.64× free-threaded)"),
            "{}",
            lesson.conclusions[1]
        );
    }
}
