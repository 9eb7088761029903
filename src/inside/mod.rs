//! Inside CPython: what each interpreter does with the workload's code
//! (`gil-lab inspect`, and every `bench` run's `inside.json`). The Python
//! side, `workload/gil_lab/inside/`, warms the units' hot functions up and
//! reports their bytecode before and after the specialising adaptive
//! interpreter rewrote it, the collector's work and the interpreter's
//! features; [`runner`] starts it, [`render`] prints it, and
//! `run::inside` sets it next to the measured single-thread cost.
//! docs/inside-cpython.md explains every figure.

pub mod render;
pub mod runner;

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context, Result, bail};

use crate::choice;
use crate::protocol::inside::{
    INSIDE_PROTOCOL, InsideFile, InsideSpec, InsideTask, Inspection, WORKLOAD_UNITS,
};
use crate::run::directory;
use crate::run::record::{InterpreterKind, InterpreterRecord, RunFile};

/// Warm-up tasks per unit of `gil-lab inspect`.
pub const DEFAULT_TASKS: u32 = 6;
/// Warm-up tasks per unit of the inspection a `bench` run makes: one task
/// runs each hot instruction thousands of times and specialising takes a
/// few, so two are plenty; with no tracemalloc peak, the inspection costs
/// about a second per interpreter of the budget.
pub const BENCH_TASKS: u32 = 2;
/// Seed of the inspection's tasks.
const SEED: u64 = 42;

/// Options of `gil-lab inspect`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  gil-lab inspect                       the default interpreters, every unit\n  gil-lab inspect --python 3.13 --python 3.13t --unit solver --dis\n  gil-lab inspect --task mycode.py:handle --python 3.13t\n  gil-lab inspect --run gil-lab-results/<run>   add it to a stored run's dashboard"
)]
pub struct InspectArgs {
    /// Only these interpreters (repeatable): a path to a Python executable, or
    /// a version such as `3.13`, `3.13.5` or `3.13t` (`t` = free-threaded)
    /// [default: as `bench`: each free-threaded build, the default build of
    /// its version and the newest default build].
    #[arg(long, value_name = "PATH|VERSION")]
    pub python: Vec<String>,
    /// Every usable interpreter found.
    #[arg(long, conflicts_with = "python")]
    pub all: bool,
    /// Only these units of the workload (repeatable or comma-separated)
    /// [default: all of them, or none with --task].
    #[arg(long, value_delimiter = ',', value_parser = clap::builder::PossibleValuesParser::new(WORKLOAD_UNITS))]
    pub unit: Vec<String>,
    /// Inspect your own function: `path/to/file.py:function` or
    /// `package.module:function`, called as function(i) (plain or `async
    /// def`). Its imports must work in each interpreter (use --python with a
    /// virtual environment's python).
    #[arg(long, value_name = "TARGET")]
    pub task: Option<String>,
    /// Where the task is imported from (repeatable) [default: the current
    /// directory].
    #[arg(long, value_name = "DIR", requires = "task")]
    pub task_path: Vec<PathBuf>,
    /// Warm-up tasks per unit.
    #[arg(long, default_value_t = DEFAULT_TASKS, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub tasks: u32,
    /// Print each unit's hottest function instruction by instruction, with
    /// the form each interpreter specialised it into.
    #[arg(long)]
    pub dis: bool,
    /// Print the inspection as JSON (the format of a run's `inside.json`).
    #[arg(long)]
    pub json: bool,
    /// Inspect the interpreters of a stored run and write its `inside.json`,
    /// so that its dashboard shows the "Inside CPython" section.
    #[arg(long, value_name = "RUN_DIR", conflicts_with_all = ["python", "all", "task", "unit"])]
    pub run: Option<PathBuf>,
}

/// The spec of a run's inspection, as `bench` makes it: every workload unit
/// (a task run: its task), short, no tracemalloc peak.
pub fn run_spec(run: &RunFile) -> InsideSpec {
    let task = run.task.as_ref().map(|task| InsideTask {
        target: task.target.clone(),
        paths: task
            .path
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect(),
    });
    InsideSpec {
        units: if task.is_some() {
            Vec::new()
        } else {
            WORKLOAD_UNITS.iter().map(|u| u.to_string()).collect()
        },
        task,
        tasks: BENCH_TASKS,
        seed: SEED,
        listing: true,
        peak: false,
    }
}

/// Whether an interpreter of a run is inspected: a Python one started as
/// built (a forced-GIL variant is the same build).
fn inspected(interpreter: &InterpreterRecord) -> bool {
    interpreter.kind == InterpreterKind::Python && interpreter.gil_forced != Some(true)
}

/// Inspects each Python interpreter of `interpreters` (the forced-GIL
/// variants are their build: skipped), two at a time; `done` hears of each
/// as it ends.
pub fn inspect_all(
    interpreters: &[InterpreterRecord],
    spec: &InsideSpec,
    done: &(dyn Fn(&Inspection) + Sync),
) -> InsideFile {
    let chosen: Vec<&InterpreterRecord> = interpreters.iter().filter(|i| inspected(i)).collect();
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Inspection>>> = Mutex::new(vec![None; chosen.len()]);
    let parallel = std::thread::available_parallelism().map_or(1, |n| n.get().min(2));
    std::thread::scope(|scope| {
        for _ in 0..parallel.min(chosen.len()) {
            scope.spawn(|| {
                loop {
                    let n = next.fetch_add(1, Ordering::SeqCst);
                    let Some(interpreter) = chosen.get(n) else {
                        break;
                    };
                    let inspection = runner::inspect(interpreter, spec);
                    done(&inspection);
                    results.lock().expect("inspection results")[n] = Some(inspection);
                }
            });
        }
    });
    InsideFile {
        schema: INSIDE_PROTOCOL,
        tasks: spec.tasks,
        peak: spec.peak,
        inspections: results
            .into_inner()
            .expect("inspection results")
            .into_iter()
            .flatten()
            .collect(),
    }
}

/// The interpreters `inspect` looks at, chosen as `bench` chooses them.
fn interpreters(args: &InspectArgs) -> Result<Vec<InterpreterRecord>> {
    choice::discover_and_choose(&args.python, args.all)
}

fn spec(args: &InspectArgs) -> InsideSpec {
    let units = if !args.unit.is_empty() {
        args.unit.clone()
    } else if args.task.is_some() {
        Vec::new()
    } else {
        WORKLOAD_UNITS.iter().map(|u| u.to_string()).collect()
    };
    let task = args.task.as_ref().map(|target| InsideTask {
        target: target.clone(),
        paths: if args.task_path.is_empty() {
            vec![".".into()]
        } else {
            args.task_path
                .iter()
                .map(|p| p.to_string_lossy().into_owned())
                .collect()
        },
    });
    InsideSpec {
        units,
        task,
        tasks: args.tasks,
        seed: SEED,
        listing: true,
        peak: true,
    }
}

/// Runs `gil-lab inspect`.
pub fn run(args: InspectArgs) -> Result<ExitCode> {
    let (interpreters, spec) = match &args.run {
        // A stored run: its interpreters and its units, with the peak that
        // `bench` leaves out.
        Some(dir) => {
            let run = directory::read_run_file(dir)?;
            let spec = InsideSpec {
                tasks: args.tasks,
                peak: true,
                ..run_spec(&run)
            };
            (run.interpreters, spec)
        }
        None => (interpreters(&args)?, spec(&args)),
    };
    let count = interpreters.iter().filter(|i| inspected(i)).count();
    if count == 0 {
        bail!("the run has no Python interpreter to inspect");
    }
    let progress = |inspection: &Inspection| {
        let state = if inspection.report().is_some() {
            "done"
        } else {
            "failed"
        };
        eprintln!("  inspected {}: {state}", inspection.label);
    };
    eprintln!(
        "Inspecting {count} interpreter{} (warm-up: {} tasks per unit)...",
        if count == 1 { "" } else { "s" },
        spec.tasks
    );
    let inside = inspect_all(&interpreters, &spec, &progress);
    if let Some(dir) = &args.run {
        directory::write_inside(dir, &inside)?;
        eprintln!(
            "Wrote {}: `gil-lab report {}` shows it in the dashboard's Inside CPython section.",
            dir.join(directory::INSIDE_FILE).display(),
            crate::shell::quote_path(dir)
        );
    }
    let mut stdout = std::io::stdout().lock();
    if args.json {
        let text = serde_json::to_string_pretty(&inside).context("cannot write the JSON")?;
        writeln!(stdout, "{text}")?;
    } else {
        let text = render::render(&inside, args.dis, crate::interpreters::table::use_colour());
        write!(stdout, "{text}")?;
    }
    let failed = inside
        .inspections
        .iter()
        .filter(|i| i.report().is_none())
        .count();
    Ok(if failed == inside.inspections.len() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::fixtures::{cell, run_file};

    #[test]
    fn a_run_inspects_its_agents_or_its_task() {
        let mut run = run_file(&[cell("py", "sequential", 1)]);
        let spec = run_spec(&run);
        assert_eq!(spec.units, WORKLOAD_UNITS);
        assert!(spec.task.is_none());
        assert!(!spec.peak, "bench leaves the tracemalloc peak out");
        run.task = Some(crate::run::task::TaskRun {
            name: "score".into(),
            target: "cpu.py:score".into(),
            path: vec!["/tasks".into()],
            calls: None,
            rounds: 1,
            requirements: None,
            memory_limit_mb: None,
            readiness: None,
            checks: vec![],
        });
        let spec = run_spec(&run);
        assert!(spec.units.is_empty(), "a task run inspects its task only");
        let task = spec.task.expect("the task");
        assert_eq!(
            (task.target.as_str(), task.paths),
            ("cpu.py:score", vec!["/tasks".to_string()])
        );
    }
}
