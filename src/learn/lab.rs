//! The learner's laboratory: the interpreters the lessons run on (found as
//! `bench` finds them), the learning directory, and the two ways a lesson
//! experiments: a short `gil-lab bench` run (a child process of this same
//! binary, its run directory kept under the learning directory and read back
//! with `run::directory::load`), or a few lines of Python run in one
//! interpreter.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail};

use super::lessons::Page;
use crate::choice;
use crate::interpreters::child::{self, Finished};
use crate::interpreters::{Interpreter, supported};
use crate::run::LoadedRun;
use crate::run::record::{CellSummary, InterpreterRecord};

/// Where the lessons run, and on what.
pub struct Lab {
    /// The learning directory: progress, notebook, the experiments' runs.
    pub dir: PathBuf,
    /// Lesson 6 runs `bench --quick` instead of the full `bench`.
    pub quick: bool,
    /// The default (GIL) CPython build the lessons use: the version of the
    /// free-threaded build when there is one (same sources), else the newest.
    pub default_build: Option<Interpreter>,
    /// The free-threaded CPython build the lessons use (the newest).
    pub free_threaded: Option<Interpreter>,
    /// One default CPython build per minor version from 3.13 on (the lesson
    /// default build for its minor, else the newest patch), oldest first.
    pub minors: Vec<Interpreter>,
    /// A PyPy, when one is found.
    pub pypy: Option<Interpreter>,
}

fn is_cpython(i: &Interpreter) -> bool {
    i.facts.implementation == "cpython"
}

impl Lab {
    /// Finds the interpreters: `selectors` (`--python`) choose the default
    /// and free-threaded builds; lesson 2 looks at every CPython minor found.
    pub fn new(dir: PathBuf, selectors: &[String], quick: bool) -> Result<Lab> {
        let (parsed, found) = choice::discover_selected(selectors)?;
        let usable: Vec<Interpreter> = found
            .interpreters
            .into_iter()
            .filter(|i| i.gil_forced.is_none())
            .collect();
        let chosen: Vec<&Interpreter> = usable
            .iter()
            .filter(|i| {
                is_cpython(i)
                    && supported::runs_workload(
                        &i.facts.implementation,
                        (i.facts.version_info[0], i.facts.version_info[1]),
                    )
            })
            .filter(|i| {
                parsed.is_empty() || {
                    let record = choice::interpreter_record(i);
                    parsed.iter().any(|s| s.matches(&record))
                }
            })
            .collect();
        if !parsed.is_empty() && chosen.is_empty() {
            bail!(
                "no CPython found matches --python {}: see `gil-lab python list`",
                selectors.join(" --python ")
            );
        }
        let version = |i: &&&Interpreter| i.facts.version_info;
        let free_threaded = chosen
            .iter()
            .filter(|i| i.is_free_threaded_as_built())
            .max_by_key(version)
            .map(|i| (*i).clone());
        let defaults = || chosen.iter().filter(|i| !i.is_free_threaded_as_built());
        let default_build = free_threaded
            .as_ref()
            .and_then(|ft| {
                defaults()
                    .filter(|i| i.facts.version_info == ft.facts.version_info)
                    .max_by_key(|i| i.source == crate::interpreters::Source::GilLab)
            })
            .or_else(|| defaults().max_by_key(|i| i.facts.version_info))
            .map(|i| (*i).clone());
        let mut minors: Vec<Interpreter> = Vec::new();
        let all_defaults = usable
            .iter()
            .filter(|i| is_cpython(i) && !i.is_free_threaded_as_built())
            .filter(|i| i.facts.version_info[0] == 3 && i.facts.version_info[1] >= 13);
        for candidate in all_defaults {
            let minor = candidate.facts.version_info[1];
            let preferred = default_build
                .as_ref()
                .is_some_and(|d| d.path == candidate.path);
            match minors.iter_mut().find(|m| m.facts.version_info[1] == minor) {
                Some(existing) => {
                    let keep_existing = default_build
                        .as_ref()
                        .is_some_and(|d| d.path == existing.path)
                        || (!preferred
                            && existing.facts.version_info >= candidate.facts.version_info);
                    if !keep_existing {
                        *existing = candidate.clone();
                    }
                }
                None => minors.push(candidate.clone()),
            }
        }
        minors.sort_by_key(|i| i.facts.version_info);
        let pypy = usable
            .iter()
            .filter(|i| i.facts.implementation == "pypy")
            .max_by_key(|i| i.facts.version_info)
            .cloned();
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create the learning directory {}", dir.display()))?;
        Ok(Lab {
            dir,
            quick,
            default_build,
            free_threaded,
            minors,
            pypy,
        })
    }

    /// Runs `gil-lab bench ARGS --output DIR` (no provisioning; no twin and
    /// no report unless `whole`: the capstone's run is `bench` as a user
    /// runs it), its JSON answer kept beside the run, and reads the run
    /// back. The progress bar shows on the terminal.
    pub fn bench(&self, name: &str, args: &[String], whole: bool) -> Result<LoadedRun> {
        let runs = self.dir.join("runs");
        std::fs::create_dir_all(&runs)
            .with_context(|| format!("cannot create {}", runs.display()))?;
        let stamp = jiff::Timestamp::now()
            .strftime("%Y%m%dT%H%M%SZ")
            .to_string();
        let out = runs.join(format!("{name}-{stamp}"));
        let answer = runs.join(format!("{name}-{stamp}.bench.json"));
        let exe = std::env::current_exe().context("cannot find the gil-lab executable")?;
        let mut command = Command::new(exe);
        command
            .args(["bench", "--json", "--no-provision", "--output"])
            .arg(&out)
            .args(args);
        if !whole {
            command.args(["--no-report", "--no-twin"]);
        }
        let file = std::fs::File::create(&answer)
            .with_context(|| format!("cannot create {}", answer.display()))?;
        eprintln!("  $ gil-lab bench {}", args.join(" "));
        let status = command
            .stdin(Stdio::null())
            .stdout(file)
            .status()
            .context("cannot start gil-lab bench")?;
        if !status.success() {
            bail!(
                "the experiment's `gil-lab bench` ended with {} (its answer: {}; its run: {})",
                child::describe_status(status),
                answer.display(),
                out.display()
            );
        }
        crate::run::directory::load(&out)
    }

    /// A lesson's brief experiment: `bench` on `pythons` for `scenarios` ×
    /// `approaches` without warmup, with `extra` flags (rounds, workers,
    /// scale, `--no-inspect`), recorded as a run of `page`.
    pub fn brief(
        &self,
        page: &mut Page,
        name: &str,
        pythons: &[&Interpreter],
        scenarios: &str,
        approaches: &str,
        extra: &[&str],
    ) -> Result<LoadedRun> {
        let mut args = Vec::new();
        for python in pythons {
            args.push("--python".to_string());
            args.push(python.path.to_string_lossy().into_owned());
        }
        for flag in [
            "--scenario",
            scenarios,
            "--approach",
            approaches,
            "--warmup",
            "0",
        ]
        .iter()
        .chain(extra)
        {
            args.push(flag.to_string());
        }
        let loaded = self.bench(name, &args, false)?;
        page.run(loaded.dir.clone());
        Ok(loaded)
    }

    /// Runs `code` in `interpreter` (`python FLAGS -c CODE`, with `env`
    /// added), and returns its stdout. Not isolated unless `flags` say so:
    /// lesson 4 shows what `-I` changes.
    pub fn python(
        &self,
        interpreter: &Interpreter,
        flags: &[&str],
        env: &[(&str, &str)],
        code: &str,
    ) -> Result<String> {
        let mut command = Command::new(&interpreter.path);
        command.args(flags).arg("-c").arg(code);
        for (key, value) in env {
            command.env(key, value);
        }
        // The learner's own PYTHON_GIL must not decide what the lesson shows.
        if !env.iter().any(|(k, _)| *k == "PYTHON_GIL") {
            command.env_remove("PYTHON_GIL");
        }
        self.output(command, &interpreter.label)
    }

    /// Runs `python -m gil_lab.MODULE` of the embedded workload in
    /// `interpreter` and returns its stdout.
    pub fn module(&self, interpreter: &Interpreter, module: &str) -> Result<String> {
        let command = crate::embedded::module_command(&interpreter.path, &[], module)?;
        self.output(command, &interpreter.label)
    }

    fn output(&self, command: Command, label: &str) -> Result<String> {
        match child::run(command, Duration::from_secs(120))
            .with_context(|| format!("cannot start {label}"))?
        {
            Finished::Exited(status, output) if status.success() => Ok(output.stdout),
            Finished::Exited(status, output) => bail!(
                "{label} ended with {} ({})",
                child::describe_status(status),
                output.summary()
            ),
            Finished::TimedOut(_) => bail!("{label} took longer than 120 s and was stopped"),
        }
    }
}

/// The record of `interpreter` in a run (the forced-GIL variant when
/// `forced`).
pub fn in_run<'a>(
    loaded: &'a LoadedRun,
    interpreter: &Interpreter,
    forced: bool,
) -> Option<&'a InterpreterRecord> {
    loaded.run.interpreters.iter().find(|r| {
        choice::same_file(&r.path, &interpreter.path) && (r.gil_forced == Some(true)) == forced
    })
}

/// A measured cell of a run: scenario, interpreter id, approach and workers.
pub fn cell<'a>(
    loaded: &'a LoadedRun,
    scenario: &str,
    interpreter: &str,
    approach: &str,
    workers: u32,
) -> Option<&'a CellSummary> {
    loaded.summary.cells.iter().find(|c| {
        c.cell.scenario == scenario
            && c.cell.interpreter == interpreter
            && c.cell.approach.name() == approach
            && c.cell.workers == workers
            && c.work.is_some()
    })
}

/// Median work-phase time of a cell, seconds.
pub fn median_work(cell: &CellSummary) -> Option<f64> {
    cell.work.as_ref().map(|w| w.median)
}

/// `run.json` of a run, as a figure's source.
pub fn source(loaded: &LoadedRun) -> String {
    loaded.dir.join("run.json").display().to_string()
}

/// Flags of a brief experiment: three rounds, no inspection.
pub const THREE_ROUNDS: [&str; 3] = ["--runs", "3", "--no-inspect"];

/// The path of a run directory as the learner would type it.
pub fn shown(path: &Path) -> String {
    crate::shell::quote_path(path)
}
