//! `gil-lab bench`: plans cells, runs their trials interleaved, records every
//! trial as it ends, and summarises the run.
//!
//! The pipeline: interpreters (discovered, provisioned when no free-threaded
//! build exists) → [`plan`] → run directory ([`crate::run::directory`]) →
//! [`run_loop`] (each trial through [`trial`], judged, appended) →
//! [`crate::run::summary`] → [`terminal`] tables and exports.

pub mod args;
mod ballast;
pub mod executor;
mod inspection;
pub mod interrupt;
mod judge;
pub mod machine;
mod memory_limit;
pub mod plan;
mod ray_cells;
mod reference;
pub mod run_loop;
pub mod sampler;
mod service_stage;
pub mod terminal;
pub mod trial;
mod trial_record;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::export::{ExportFormat, ExportManager};
use crate::interpreters::discovery;
use crate::interpreters::{Interpreter, Source};
use crate::kernel_limit::Enforcer;
use crate::protocol::result::{self as runner_result, RunnerOutput};
use crate::run::LoadedRun;
use crate::run::directory::{self, RunDir};
use crate::run::record::{
    InterpreterKind, InterpreterRecord, PlannedCell, RunFile, RunStatus, SCHEMA_VERSION,
};
use crate::run::{analysis, record};
use crate::vocabulary::Approach;
use args::BenchArgs;
use machine::MachineInfo;
use run_loop::RunState;
use terminal::Progress;

/// Version of free-threaded CPython gil-lab builds when none is found.
const PROVISION_VERSION: &str = "3.13t";

/// Discovers the interpreters (with `--python` paths), and provisions a
/// free-threaded CPython when none is found and provisioning is allowed.
fn find_interpreters(args: &BenchArgs) -> Result<Vec<InterpreterRecord>> {
    let explicit: Vec<PathBuf> = args
        .python
        .iter()
        .filter(|p| p.contains('/'))
        .map(PathBuf::from)
        .collect();
    let options = discovery::Options {
        explicit,
        forced_gil_variants: true,
        ..discovery::Options::default()
    };
    let mut found = discovery::discover(&options)?;
    let has_free_threaded = found.interpreters.iter().any(Interpreter::is_free_threaded);
    if !has_free_threaded && args.python.is_empty() {
        if args.no_provision {
            eprintln!(
                "warning: no free-threaded CPython found and --no-provision given: the run compares default builds only (`gil-lab python install {PROVISION_VERSION}` provides one)"
            );
        } else {
            eprintln!(
                "No free-threaded CPython found: provisioning one with `gil-lab python install {PROVISION_VERSION} --with-default` (cached for later runs; --no-provision skips this)."
            );
            crate::interpreters::provision::ensure(PROVISION_VERSION, true).context(
                "cannot provision a free-threaded CPython: install one yourself (see the message above) or run with --no-provision",
            )?;
            found = discovery::discover(&options)?;
        }
    }
    if args.python.is_empty() && !args.no_provision && provision_default_build(&found.interpreters)
    {
        found = discovery::discover(&options)?;
    }
    Ok(found
        .interpreters
        .iter()
        .map(crate::choice::interpreter_record)
        .collect())
}

/// The cost of free-threading is best measured against the default build of
/// the same sources: when gil-lab provisioned the free-threaded build and its
/// default twin is missing, build that too (a warning, not an error, if it
/// cannot be). Returns whether something was installed.
fn provision_default_build(interpreters: &[Interpreter]) -> bool {
    let version = |i: &Interpreter| i.facts.version_info;
    let Some(free_threaded) = interpreters
        .iter()
        .filter(|i| i.is_free_threaded_as_built() && i.source == Source::GilLab)
        .max_by_key(|i| version(i))
    else {
        return false;
    };
    let wanted = version(free_threaded);
    if interpreters
        .iter()
        .any(|i| !i.is_free_threaded() && version(i) == wanted)
    {
        return false;
    }
    let [major, minor, patch] = wanted;
    let request = format!("{major}.{minor}.{patch}");
    eprintln!(
        "No default build of CPython {request} next to {}: provisioning it from the same sources (`gil-lab python install {request}`; --no-provision skips this).",
        free_threaded.label
    );
    match crate::interpreters::provision::ensure(&request, false) {
        Ok(_) => true,
        Err(err) => {
            eprintln!(
                "warning: cannot provision CPython {request} ({err:#}); comparing with the newest default build found instead"
            );
            false
        }
    }
}

/// The native twin (`gil-lab twin run`), when this build of gil-lab has one
/// that answers a tiny trial correctly.
fn find_twin(env: &BTreeMap<String, String>) -> Option<InterpreterRecord> {
    let exe = std::env::current_exe().ok()?;
    let spec = r#"{"scenario":"cpu","approach":"sequential","workers":1,"scale":0.01,"seed":1}"#;
    let command = trial::TrialCommand {
        program: exe.clone(),
        args: vec!["twin".into(), "run".into(), spec.into()],
        env: env.iter().map(|(k, v)| (k.into(), v.into())).collect(),
        cwd: None,
    };
    let options = trial::TrialOptions {
        sample_interval: None,
        ..trial::TrialOptions::new(Duration::from_secs(20))
    };
    let outcome = trial::run_trial_with(&command, &options, &AtomicBool::new(false)).ok()?;
    let works = outcome.exit.success()
        && matches!(
            runner_result::parse(&outcome.stdout),
            Ok(RunnerOutput::Success(_))
        );
    works.then(|| InterpreterRecord {
        id: "native".into(),
        label: "native twin (Rust)".into(),
        kind: InterpreterKind::Native,
        path: exe,
        flags: vec![],
        implementation: "native".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        free_threaded: true,
        gil_forced: None,
        facts: None,
    })
}

/// The planned cells with their commands: Python cells run the embedded
/// runner in isolated mode, native cells `gil-lab twin run`.
fn planned_cells(
    cells: &[record::CellKey],
    interpreters: &[InterpreterRecord],
    settings: &record::Settings,
    env: &BTreeMap<String, String>,
) -> Result<Vec<PlannedCell>> {
    let ray_pythons = ray_cells::ray_pythons(cells, interpreters)?;
    cells
        .iter()
        .map(|cell| {
            let interpreter = interpreters
                .iter()
                .find(|i| i.id == cell.interpreter)
                .with_context(|| {
                    format!("the plan names an unknown interpreter {}", cell.interpreter)
                })?;
            let spec = plan::spec(cell, interpreter.kind, settings)?;
            let spec_text = spec.to_json();
            let mut command: Vec<String> = match interpreter.kind {
                InterpreterKind::Python => {
                    // A ray cell runs the same interpreter from its Ray
                    // environment (where Ray has no wheels, the base one:
                    // its runner reports the cell skipped, with the reason).
                    let python = match cell.approach {
                        Approach::Ray => ray_pythons.get(&interpreter.id),
                        _ => None,
                    };
                    let command = crate::embedded::module_command(
                        python.unwrap_or(&interpreter.path),
                        &interpreter.flags,
                        "gil_lab.runner",
                    )?;
                    std::iter::once(command.get_program())
                        .chain(command.get_args())
                        .map(|s| s.to_string_lossy().into_owned())
                        .collect()
                }
                InterpreterKind::Native => vec![
                    interpreter.path.to_string_lossy().into_owned(),
                    "twin".into(),
                    "run".into(),
                ],
            };
            command.push(spec_text);
            Ok(PlannedCell {
                cell: cell.clone(),
                spec,
                command,
                env: env.clone(),
            })
        })
        .collect()
}

/// The default run directory: `./gil-lab-results/<UTC timestamp>/`.
fn default_output() -> PathBuf {
    let stamp = jiff::Timestamp::now()
        .strftime("%Y%m%dT%H%M%SZ")
        .to_string();
    PathBuf::from("gil-lab-results").join(stamp)
}

/// A run ready to go: its file, directory, the trials already recorded, and
/// the built-in LLM endpoint when its io/mixed cells use it (stopped on drop).
type Started = (
    RunFile,
    RunDir,
    Vec<record::TrialRecord>,
    Option<crate::llm::server::ServerHandle>,
);

/// A new run: plan it, create its directory.
fn start(args: &BenchArgs, machine: &MachineInfo, limit: Option<&Enforcer>) -> Result<Started> {
    let env = run_loop::trial_environment();
    // A target that cannot be right is said before interpreters are looked for.
    if let Some(target) = &args.task.task {
        crate::task::target::parse(target, &args.task.task_path, &std::env::current_dir()?)?;
    }
    let found = find_interpreters(args)?;
    let own_task = args.task.task.is_some();
    let twin = if args.no_twin || own_task {
        None
    } else {
        find_twin(&env)
    };
    let mut plan = plan::build(args, &found, twin, machine.usable_cores().max(1))?;
    let dir = args.output.clone().unwrap_or_else(default_output);
    if dir.join("run.json").exists() {
        bail!(
            "{} already holds a run: choose another --output, or continue it with --resume {}",
            dir.display(),
            crate::shell::quote_path(&dir)
        );
    }
    // A team's own task: checked on each interpreter, its cells replace the scenarios'.
    let task = if own_task {
        Some(task_plan(args, &plan, (&dir, limit), &env)?)
    } else {
        None
    };
    // Before the specs are made: they carry the endpoint's URL.
    let endpoint = crate::llm::bench::start(&mut plan.settings.llm)?;
    let (cells, task) = match task {
        Some(prepared) => {
            plan.interpreters = prepared.interpreters;
            (prepared.cells, Some(prepared.run))
        }
        None => (
            planned_cells(&plan.cells, &plan.interpreters, &plan.settings, &env)?,
            None,
        ),
    };
    let run = RunFile {
        schema: SCHEMA_VERSION,
        gil_lab_version: env!("CARGO_PKG_VERSION").into(),
        started_at: jiff::Timestamp::now().to_string(),
        finished_at: None,
        status: RunStatus::Running,
        settings: plan.settings,
        machine: machine.clone(),
        interpreters: plan.interpreters,
        plan: cells,
        task,
        summary: None,
        time_spent: None,
    };
    let run_dir = RunDir::create(&dir, &run)?;
    if !args.no_inspect {
        inspection::inspect(&run, run_dir.path(), !args.json);
    }
    Ok((run, run_dir, Vec::new(), endpoint))
}

/// An interrupted run: reload it and refresh its commands (the embedded
/// package is extracted again if needed).
fn resume(dir: &Path) -> Result<Started> {
    let mut run = directory::read_run_file(dir)?;
    let trials = directory::read_trials(dir)?;
    for interpreter in &run.interpreters {
        if !interpreter.path.is_file() {
            bail!(
                "cannot resume {}: interpreter {} ({}) is gone",
                dir.display(),
                interpreter.label,
                interpreter.path.display()
            );
        }
    }
    let env = run_loop::trial_environment();
    let keys: Vec<_> = run.plan.iter().map(|p| p.cell.clone()).collect();
    // A new endpoint (new port) for this invocation, before the specs are remade.
    let endpoint = crate::llm::bench::start(&mut run.settings.llm)?;
    run.plan = if run.task.is_some() {
        let ray = crate::task::plan::RayCells {
            pythons: ray_cells::ray_pythons(&keys, &run.interpreters)?,
            address: run.settings.ray_address.clone(),
        };
        crate::task::plan::replan(&run, &ray, dir, &env)?
    } else {
        planned_cells(&keys, &run.interpreters, &run.settings, &env)?
    };
    run.status = RunStatus::Running;
    run.finished_at = None;
    let run_dir = RunDir::reopen(dir)?;
    run_dir.write_run(&run)?;
    Ok((run, run_dir, trials, endpoint))
}

/// The plan of a team's own task (`--task`): the approaches and workers
/// of `plan`, on its Python interpreters that pass the task's check.
fn task_plan(
    args: &BenchArgs,
    plan: &plan::Plan,
    (dir, memory_limit): (&Path, Option<&Enforcer>),
    env: &BTreeMap<String, String>,
) -> Result<crate::task::plan::Prepared> {
    let mut order: Vec<crate::vocabulary::Approach> = Vec::new();
    let mut workers: Vec<u32> = Vec::new();
    for cell in &plan.cells {
        if !order.contains(&cell.approach) {
            order.push(cell.approach);
        }
        if !cell.is_baseline() && !workers.contains(&cell.workers) {
            workers.push(cell.workers);
        }
    }
    order.sort_by_key(|a| a.display_rank());
    workers.sort_unstable();
    if workers.is_empty() {
        workers.push(machine::MachineInfo::collect().usable_cores().max(1));
    }
    let ray = crate::task::plan::RayCells {
        pythons: ray_cells::ray_pythons(&plan.cells, &plan.interpreters)?,
        address: plan.settings.ray_address.clone(),
    };
    let choice = crate::task::plan::Choice {
        ray: &ray,
        interpreters: &plan.interpreters,
        approaches: &order,
        workers: &workers,
        workers_given: !args.workers.is_empty(),
        timeout_s: plan.settings.timeout_s,
        seed: plan.settings.seed,
        memory_limit,
    };
    crate::task::plan::prepare(&args.task, &choice, dir, env)
}

/// The run's memory limit (`--memory-limit MB`, or the resumed run's): the
/// way the kernel enforces it on this machine, said once, before the task's
/// check (held to it too) and the trials.
fn memory_limit(mb: Option<u64>, interactive: bool) -> Result<Option<Enforcer>> {
    let Some(mb) = mb else { return Ok(None) };
    let enforcer = Enforcer::choose(mb)?;
    if interactive {
        eprintln!("{}", enforcer.record().sentence());
    }
    Ok(Some(enforcer))
}

/// Runs `gil-lab bench`.
pub fn run(mut args: BenchArgs) -> Result<ExitCode> {
    let started = std::time::Instant::now();
    if !(args.slo > 0.0 && args.slo.is_finite()) {
        bail!(
            "--slo {}: the objective is a positive number of milliseconds, e.g. --slo 250",
            args.slo
        );
    }
    crate::choice::resolve_python_paths(&mut args.python)?;
    let machine = MachineInfo::collect();
    let cancel = interrupt::install()?;
    let ((mut run, mut run_dir, trials, _endpoint), enforcer) = match &args.resume {
        Some(dir) => {
            let started = resume(dir)?;
            let mb = started.0.settings.memory_limit.as_ref().map(|l| l.mb);
            (started, memory_limit(mb, !args.json)?)
        }
        None => {
            let enforcer = memory_limit(args.task.memory_limit, !args.json)?;
            (start(&args, &machine, enforcer.as_ref())?, enforcer)
        }
    };
    if let Some(enforcer) = &enforcer {
        // The way chosen on this machine (a resumed run's may differ).
        run.settings.memory_limit = Some(enforcer.record().clone());
        run_dir.write_run(&run)?;
    }
    let mut state = RunState::new(&run, &trials);
    state.add_startup(started.elapsed().as_secs_f64());
    let settings = run.settings.clone();
    // Waiting agents need no core: only CPU-bound cells can oversubscribe.
    let max_workers = run
        .plan
        .iter()
        .filter(|p| !crate::vocabulary::scenario_uses_llm(&p.cell.scenario))
        .map(|p| p.cell.workers)
        .max()
        .unwrap_or(1);
    let machine_warnings: Vec<String> = machine
        .noise_warnings(max_workers)
        .into_iter()
        .map(|w| w.message)
        .collect();

    let interactive = !args.json;
    if interactive {
        eprintln!(
            "Run directory: {} ({} cells, {} interpreters; Ctrl-C stops, --resume continues)",
            run_dir.path().display(),
            run.plan.len(),
            run.interpreters.len()
        );
    }
    // The live dashboard stops when this handle is dropped, at the end.
    let _live = if args.serve {
        let live = crate::dashboard::spawn_live(run_dir.path(), &args.host, args.port)?;
        eprintln!("Live dashboard: {}", live.url());
        Some(live)
    } else {
        None
    };
    let progress = Progress::new(
        state.recorded() + state.remaining(settings.warmup, settings.min_runs),
        state.recorded(),
        interactive,
    );
    let mut executor =
        executor::ProcessExecutor::new(settings.llm.clone()).with_memory_limit(enforcer);
    // Test-only: gil-lab's own memory grows; the trials' figures must not.
    let ballast = ballast::from_env();
    let outcome = run_loop::run(
        &run,
        &mut state,
        &mut run_dir,
        &mut executor,
        &cancel,
        &progress,
    );
    progress.finish();
    drop(ballast);
    // Whatever happened, the records on disk are the truth: summarise them.
    let trials = directory::read_trials(run_dir.path())?;
    let interrupted = cancel.load(Ordering::SeqCst) || !state.complete();
    run.status = if interrupted {
        RunStatus::Interrupted
    } else {
        RunStatus::Complete
    };
    run.finished_at = Some(jiff::Timestamp::now().to_string());
    run.time_spent = Some(state.time_spent().clone());
    run.summary = Some(analysis::summarize(
        &run,
        &trials,
        &state.stops(),
        &machine_warnings,
    ));
    run_dir.write_run(&run)?;
    outcome?;
    if service_stage::asked(&args) && !interrupted {
        service_stage::run(&args, &run, run_dir.path(), interactive);
    }
    // Every view below renders the run as just stored.
    let mut loaded = LoadedRun::new(run_dir.path().to_path_buf(), run, trials);
    loaded.inside = directory::read_inside(run_dir.path()).unwrap_or_else(|error| {
        eprintln!("warning: {error:#}");
        None
    });
    loaded.service = directory::read_service(run_dir.path()).unwrap_or_else(|error| {
        eprintln!("warning: {error:#}");
        None
    });
    let run = &loaded.run;

    if !args.no_report {
        // The report is a view of the records: failing to write it loses nothing.
        match crate::dashboard::write_report(&loaded) {
            Ok(path) if interactive => eprintln!("Report: {}", path.display()),
            Ok(_) => {}
            Err(err) => eprintln!("warning: cannot write the HTML report: {err:#}"),
        }
    }

    let mut exports = ExportManager::default();
    exports.add(ExportFormat::Json, args.export_json.as_deref());
    exports.add(ExportFormat::Csv, args.export_csv.as_deref());
    exports.add(ExportFormat::Markdown, args.export_markdown.as_deref());
    exports.add(ExportFormat::Pyperf, args.export_pyperf.as_deref());
    if !exports.is_empty() {
        exports.write(&loaded)?;
    }

    let summary = &loaded.summary;
    if args.json {
        let json = serde_json::json!({
            "run_dir": run_dir.path(),
            "status": run.status,
            "settings": run.settings,
            "interpreters": run.interpreters,
            "summary": summary,
            "lesson": crate::run::lesson::lesson(run, summary).map(|mut lesson| {
                lesson.add_ceilings(&loaded.trials);
                lesson
            }),
            "advice": crate::advise::for_run(&loaded),
            "task": crate::task::verdict::of_run(&loaded),
            "service": loaded.service,
        });
        println!("{}", serde_json::to_string_pretty(&json)?);
    } else {
        let mut stdout = std::io::stdout().lock();
        terminal::print_report(
            &mut stdout,
            run,
            summary,
            &loaded.trials,
            terminal::colour_stdout(),
        )
        .context("cannot write the report")?;
        if let Some(service) = &loaded.service {
            crate::service::render::print(&mut stdout, service)
                .context("cannot write the report")?;
        }
        if let Some(verdict) = crate::task::verdict::of_run(&loaded) {
            crate::task::report::print(&mut stdout, &verdict).context("cannot write the report")?;
        }
        // Which approach to use, from the numbers just measured (`gil-lab advise`).
        crate::advise::print_after_bench(&mut stdout, &loaded)?;
    }
    if interrupted {
        eprintln!(
            "Interrupted: every finished trial is in {}; complete the run with `gil-lab bench --resume {}`.",
            run_dir.path().display(),
            crate::shell::quote_path(run_dir.path())
        );
        return Ok(ExitCode::from(interrupt::EXIT_INTERRUPTED));
    }
    let only_service = loaded.run.plan.is_empty() && loaded.service.is_some();
    if let Some(failures) = nothing_succeeded(&loaded.trials).filter(|_| !only_service) {
        eprintln!(
            "error: no trial of the run succeeded ({failures}); every record is in {}",
            run_dir.path().display()
        );
        return Ok(ExitCode::FAILURE);
    }
    if interactive {
        eprintln!("Results: {}", run_dir.path().display());
    }
    Ok(ExitCode::SUCCESS)
}

/// When no trial of a run succeeded: its failures and skips in one line,
/// the most frequent reason first.
fn nothing_succeeded(trials: &[record::TrialRecord]) -> Option<String> {
    if trials.iter().any(|t| t.status == record::TrialStatus::Ok) {
        return None;
    }
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    for trial in trials {
        let reason = match (&trial.failure, &trial.skip_reason) {
            (Some(failure), _) => failure.message.clone(),
            (None, Some(reason)) => format!("skipped: {reason}"),
            (None, None) => continue,
        };
        *reasons.entry(reason).or_default() += 1;
    }
    let mut reasons: Vec<(String, usize)> = reasons.into_iter().collect();
    reasons.sort_by_key(|r| std::cmp::Reverse(r.1));
    let shown: Vec<String> = reasons
        .iter()
        .take(3)
        .map(|(reason, n)| format!("{n}× {reason}"))
        .collect();
    Some(if shown.is_empty() {
        "no trial ran".into()
    } else {
        format!(
            "{}{}",
            shown.join("; "),
            if reasons.len() > 3 { "; ..." } else { "" }
        )
    })
}
