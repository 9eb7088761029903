//! The plan of a task run: the interpreters `bench` chose (each in a
//! virtual environment with the task's requirements when asked), the check
//! of the task on each ([`check`](super::check)), and the cells of the ones
//! that passed: every approach `bench` would run, named after the task.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Result, bail};

use crate::run::record::{CellKey, InterpreterKind, InterpreterRecord, PlannedCell, RunFile};
use crate::run::task::{TaskCheck, TaskRun};
use crate::vocabulary::Approach;

use super::args::TaskArgs;
use super::check::{self, CheckSettings};
use super::requirements;
use super::target::{self, Target};

/// Workers of an `async def` task's cells unless `--workers` says otherwise:
/// a coroutine waits more than it computes, so one per core would say
/// little about concurrency.
pub const ASYNC_WORKERS: u32 = 8;

/// A task run, planned.
pub struct Prepared {
    /// `run.json`'s `task`.
    pub run: TaskRun,
    /// The interpreters that run the task (in their environments).
    pub interpreters: Vec<InterpreterRecord>,
    /// The cells, with their commands.
    pub cells: Vec<PlannedCell>,
}

/// What `bench`'s plan decided that a task run keeps.
pub struct Choice<'a> {
    /// The interpreters (the native twin is left out: it has no Python).
    pub interpreters: &'a [InterpreterRecord],
    /// The approaches, sequential first.
    pub approaches: &'a [Approach],
    /// Worker counts of the concurrent approaches.
    pub workers: &'a [u32],
    /// Whether --workers gave them.
    pub workers_given: bool,
    /// Per-trial timeout, seconds.
    pub timeout_s: f64,
    /// The run's seed.
    pub seed: u64,
    /// How the ray cells run.
    pub ray: &'a RayCells,
    /// `--memory-limit`: the check's children are held to it too.
    pub memory_limit: Option<&'a crate::kernel_limit::Enforcer>,
}

/// How a task's ray cells run: on the Python of each interpreter's Ray
/// environment (Ray only: `--task-requirements` is not installed there),
/// on a local cluster per trial or the cluster at `address`.
#[derive(Default)]
pub struct RayCells {
    /// Interpreter id → the Python of its Ray environment (interpreters
    /// without one run the base Python, whose runner skips the cell).
    pub pythons: BTreeMap<String, PathBuf>,
    /// `--ray-address` (or RAY_ADDRESS).
    pub address: Option<String>,
}

/// Checks the task on every chosen interpreter and plans the cells of
/// those it runs on; `dir` is the run directory (not yet holding a run).
pub fn prepare(
    args: &TaskArgs,
    choice: &Choice,
    dir: &Path,
    env: &BTreeMap<String, String>,
) -> Result<Prepared> {
    let Some(given) = &args.task else {
        bail!("no --task given");
    };
    let cwd = std::env::current_dir()?;
    let target = target::parse(given, &args.task_path, &cwd)?;
    let requirements = match &args.task_requirements {
        Some(file) if !file.is_file() => {
            bail!(
                "--task-requirements {}: no such file (a pip requirements file)",
                file.display()
            )
        }
        Some(file) => Some(std::path::absolute(file)?),
        None => None,
    };
    std::fs::create_dir_all(dir)?;
    // Will the requirements keep the GIL off? Asked before anything is
    // installed for the trials, so that the advice can say it.
    let readiness = match &requirements {
        Some(file) => super::readiness::check(file, choice.interpreters)?,
        None => None,
    };
    let settings = CheckSettings {
        target: &target,
        calls: args.task_calls,
        rounds: args.stress.unwrap_or(1),
        timeout_s: choice.timeout_s,
        memory_limit_mb: args.memory_limit,
        limit: choice.memory_limit,
        run_dir: dir,
    };
    let mut checks: Vec<TaskCheck> = Vec::new();
    let mut interpreters = Vec::new();
    for interpreter in choice
        .interpreters
        .iter()
        .filter(|i| i.kind == InterpreterKind::Python)
    {
        let mut interpreter = interpreter.clone();
        let mut venv = None;
        if let Some(file) = &requirements {
            eprintln!(
                "Installing {} for {} (a cached virtual environment)...",
                file.display(),
                interpreter.label
            );
            match requirements::environment(&interpreter.path, file)? {
                Ok(python) => {
                    venv = python
                        .parent()
                        .and_then(Path::parent)
                        .map(Path::to_path_buf);
                    interpreter.path = python;
                }
                Err(reason) => {
                    let check = TaskCheck {
                        interpreter: interpreter.id.clone(),
                        label: interpreter.label.clone(),
                        excluded: Some(format!("--task-requirements: {reason}")),
                        ..TaskCheck::default()
                    };
                    report(&check, &target);
                    checks.push(check);
                    continue;
                }
            }
        }
        eprintln!(
            "Checking task `{}` on {} (import, calls)...",
            target.function, interpreter.label
        );
        let mut check = check::probe(&interpreter, &settings)?;
        check.venv = venv;
        if check.excluded.is_none() {
            interpreters.push(interpreter);
        } else {
            report(&check, &target);
        }
        checks.push(check);
    }
    // One number of calls for every interpreter, so that their times compare:
    // the fewest any interpreter needs for about a second sequentially
    // (one that --memory-limit stopped has no count).
    let calls = args.task_calls.unwrap_or_else(|| {
        checks
            .iter()
            .filter(|c| c.excluded.is_none() && c.over_memory_limit.is_none())
            .map(|c| c.calls)
            .min()
            .unwrap_or(1)
    });
    let mut ready = Vec::new();
    for interpreter in interpreters {
        let Some(check) = checks.iter_mut().find(|c| c.interpreter == interpreter.id) else {
            continue;
        };
        check.calls = calls;
        if check.over_memory_limit.is_none() {
            eprintln!(
                "Running task `{}` twice sequentially on {} ({calls} calls)...",
                target.function, interpreter.label
            );
            check::reference(&interpreter, &settings, check)?;
        }
        report(check, &target);
        if check.excluded.is_none() {
            ready.push(interpreter);
        }
    }
    let interpreters = ready;
    if interpreters.is_empty() {
        let first = checks
            .first()
            .and_then(|c| c.excluded.as_deref())
            .unwrap_or("no Python interpreter was chosen");
        bail!(
            "task `{}` runs on none of the {} interpreter(s): {first}",
            target.function,
            checks.len()
        );
    }
    let run = TaskRun {
        name: target.function.clone(),
        target: target.text.clone(),
        path: target.path.clone(),
        calls: args.task_calls,
        rounds: settings.rounds,
        requirements,
        memory_limit_mb: args.memory_limit,
        checks,
        readiness,
    };
    let mut keys = Vec::new();
    for interpreter in &interpreters {
        let Some(check) = run.check(&interpreter.id) else {
            continue;
        };
        for &approach in choice.approaches {
            let counts: Vec<u32> = if approach == Approach::Sequential {
                vec![1]
            } else if check.is_async && !choice.workers_given {
                vec![ASYNC_WORKERS]
            } else {
                choice.workers.to_vec()
            };
            for workers in counts {
                keys.push(CellKey {
                    scenario: run.name.clone(),
                    interpreter: interpreter.id.clone(),
                    approach,
                    workers,
                });
            }
        }
    }
    let cells = planned_cells(
        &keys,
        &run,
        &interpreters,
        (choice.timeout_s, choice.seed),
        choice.ray,
        dir,
        env,
    )?;
    Ok(Prepared {
        run,
        interpreters,
        cells,
    })
}

/// One line per interpreter on stderr: what the check found.
fn report(check: &TaskCheck, target: &Target) {
    match &check.excluded {
        Some(reason) => eprintln!(
            "error: task `{}` left out on {}: {reason}",
            target.function, check.label
        ),
        None => {
            let each = check
                .per_call_s
                .map(|s| format!(" ({} each)", crate::run::format::format_seconds(s)))
                .unwrap_or_default();
            if let Some(reason) = &check.over_memory_limit {
                eprintln!(
                    "  {reason}; its trials are held to the limit too, and show which cells fit (results not compared)"
                );
                return;
            }
            let same = match check.deterministic {
                Some(true) => "two sequential runs agree",
                Some(false) => {
                    "NONDETERMINISTIC: two sequential runs disagree, results are not compared"
                }
                None => "results not compared",
            };
            eprintln!("  {} calls{each}; {same}", check.calls);
            for gil in &check.gil_enabled_by {
                eprintln!(
                    "  warning: importing `{}` turned the GIL back on (check-imports: {})",
                    gil.module, gil.check_imports
                );
            }
        }
    }
}

/// The planned cells of a task run, with their commands (also on `--resume`).
pub fn planned_cells(
    keys: &[CellKey],
    run: &TaskRun,
    interpreters: &[InterpreterRecord],
    (timeout_s, seed): (f64, u64),
    ray: &RayCells,
    dir: &Path,
    env: &BTreeMap<String, String>,
) -> Result<Vec<PlannedCell>> {
    let target = Target {
        text: run.target.clone(),
        function: run.name.clone(),
        path: run.path.clone(),
    };
    let settings = CheckSettings {
        target: &target,
        calls: run.calls,
        rounds: run.rounds,
        timeout_s,
        memory_limit_mb: run.memory_limit_mb,
        limit: None,
        run_dir: dir,
    };
    keys.iter()
        .map(|cell| {
            let (Some(interpreter), Some(check)) = (
                interpreters.iter().find(|i| i.id == cell.interpreter),
                run.check(&cell.interpreter),
            ) else {
                bail!("the plan names an unknown interpreter {}", cell.interpreter);
            };
            let mut spec = check::spec(check, &settings, cell.approach, cell.workers, seed);
            let command = if cell.approach == Approach::Ray {
                spec.ray_address = ray.address.clone();
                let mut in_ray_env = interpreter.clone();
                if let Some(python) = ray.pythons.get(&interpreter.id) {
                    in_ray_env.path = python.clone();
                }
                check::command(&in_ray_env, &spec)?
            } else {
                check::command(interpreter, &spec)?
            };
            Ok(PlannedCell {
                cell: cell.clone(),
                spec,
                command: std::iter::once(command.get_program())
                    .chain(command.get_args())
                    .map(|s| s.to_string_lossy().into_owned())
                    .collect(),
                env: env.clone(),
            })
        })
        .collect()
}

/// The cells of an interrupted task run with fresh commands (`--resume`).
pub fn replan(
    run: &RunFile,
    ray: &RayCells,
    dir: &Path,
    env: &BTreeMap<String, String>,
) -> Result<Vec<PlannedCell>> {
    let Some(task) = &run.task else {
        bail!("{} is no task run", dir.display());
    };
    let keys: Vec<CellKey> = run.plan.iter().map(|p| p.cell.clone()).collect();
    planned_cells(
        &keys,
        task,
        &run.interpreters,
        (run.settings.timeout_s, run.settings.seed),
        ray,
        dir,
        env,
    )
}
