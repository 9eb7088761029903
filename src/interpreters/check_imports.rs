//! `gil-lab python check-imports`: will these modules keep the GIL off?
//!
//! On a free-threaded build, importing a C extension that does not declare
//! `Py_mod_gil` turns the GIL back on for the whole process, with only a
//! RuntimeWarning to say so. Each module is imported in a fresh isolated
//! process (the script `check_imports.py`, beside this file, run with
//! `-I -B -c`), so one module's effect never hides another's.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use comfy_table::{Cell, Color};
use serde::{Deserialize, Serialize};

use super::child::{self, Finished};
use super::discovery;
use super::interpreter::Interpreter;
use super::select_args::SelectArgs;

/// How long one import may take before it counts as failed (a big package
/// such as a machine-learning framework can take several seconds).
const IMPORT_TIMEOUT: Duration = Duration::from_secs(60);

/// The script that imports one module and prints one JSON object: run with
/// `-I -B -c`, the module and the extra import directories as arguments.
const CHECK_IMPORTS_SCRIPT: &str = include_str!("check_imports.py");

/// Imports each module in a fresh isolated process of each free-threaded
/// interpreter (or of the ones given with --python) and reports whether it
/// kept the GIL off, turned the GIL back on, or failed to import. Exits with
/// status 1 when any module did not keep the GIL off.
#[derive(Debug, clap::Args)]
pub struct CheckImportsArgs {
    /// Modules to import, e.g. `json numpy mypackage.fast`.
    #[arg(value_name = "MODULE", required = true)]
    pub modules: Vec<String>,
    #[command(flatten)]
    pub select: SelectArgs,
    /// A directory to put first on the import path (repeatable). The check
    /// runs isolated: site-packages and the user site are searched, but not
    /// PYTHONPATH nor the current directory; give those with --path.
    #[arg(long = "path", value_name = "DIR")]
    pub paths: Vec<PathBuf>,
    /// Put gil-lab's own workload package (`gil_lab`) on the import path:
    /// `gil_lab.runner` and `gil_lab.approaches.threads` can then be
    /// checked (the start check of `deploy kubernetes`' free-threaded Job).
    #[arg(long)]
    pub workload: bool,
    /// Count an interpreter that is not free-threaded as a failure instead
    /// of "does not apply": a deployment of a free-threaded build must not
    /// start on a default one.
    #[arg(long)]
    pub require_free_threaded: bool,
    /// Print a JSON array (one object per interpreter and module) instead
    /// of the table.
    #[arg(long)]
    pub json: bool,
}

/// What importing one module did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Imported, and the GIL is still off.
    KeptGilOff,
    /// Imported, and the GIL was turned back on.
    EnabledGil,
    /// The import failed (or crashed, or timed out).
    ImportFailed,
    /// The interpreter is not a free-threaded build: its GIL is always on.
    NotApplicable,
}

impl Outcome {
    fn describe(&self) -> &'static str {
        match self {
            Self::KeptGilOff => "kept the GIL off",
            Self::EnabledGil => "turned the GIL back on",
            Self::ImportFailed => "failed to import",
            Self::NotApplicable => "does not apply (not free-threaded)",
        }
    }
}

/// The result for one (interpreter, module).
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// The interpreter's label.
    pub interpreter: String,
    /// The interpreter's executable.
    pub path: PathBuf,
    /// The module imported.
    pub module: String,
    /// What the import did.
    pub outcome: Outcome,
    /// `sys._is_gil_enabled()` before the import.
    pub gil_before: Option<bool>,
    /// `sys._is_gil_enabled()` after the import.
    pub gil_after: Option<bool>,
    /// Warnings raised during the import (e.g. the RuntimeWarning that the
    /// GIL was enabled).
    pub warnings: Vec<String>,
    /// Why the import failed, or why the check does not apply.
    pub detail: Option<String>,
}

/// The answer of [`CHECK_IMPORTS_SCRIPT`].
#[derive(Debug, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
enum Answer {
    Success {
        imported: bool,
        gil_before: Option<bool>,
        gil_after: Option<bool>,
        warnings: Vec<String>,
        error: Option<ImportError>,
    },
    Error {
        message: String,
    },
}

#[derive(Debug, Deserialize)]
struct ImportError {
    #[serde(rename = "type")]
    kind: String,
    message: String,
}

/// Runs `python check-imports`.
pub fn run(args: &CheckImportsArgs) -> Result<ExitCode> {
    for module in &args.modules {
        if !is_module_name(module) {
            bail!(
                "{module:?} is not a module name: give dotted names such as `json` or `package.module`"
            );
        }
    }
    let mut paths = args
        .paths
        .iter()
        .map(|dir| {
            anyhow::ensure!(
                dir.is_dir(),
                "{} (given with --path) is not a directory",
                dir.display()
            );
            std::path::absolute(dir).with_context(|| format!("cannot resolve {}", dir.display()))
        })
        .collect::<Result<Vec<_>>>()?;
    if args.workload {
        paths.push(crate::embedded::package_root().context(
            "cannot write gil-lab's workload package for --workload (is GIL_LAB_HOME writable?)",
        )?);
    }
    let interpreters = interpreters(&args.select)?;

    let mut checks = Vec::new();
    for interpreter in &interpreters {
        for module in &args.modules {
            checks.push(check(interpreter, module, &paths)?);
        }
    }
    let mut stdout = std::io::stdout().lock();
    if args.json {
        writeln!(stdout, "{}", serde_json::to_string_pretty(&checks)?)?;
    } else {
        write!(stdout, "{}", table(&checks, super::table::use_colour()))?;
    }
    let failed = checks
        .iter()
        .filter(|c| match c.outcome {
            Outcome::EnabledGil | Outcome::ImportFailed => true,
            Outcome::NotApplicable => args.require_free_threaded,
            Outcome::KeptGilOff => false,
        })
        .count();
    if failed > 0 {
        let counted = checks
            .iter()
            .filter(|c| args.require_free_threaded || c.outcome != Outcome::NotApplicable)
            .count();
        eprintln!(
            "{failed} of {counted} imports did not keep the GIL off{}",
            if args.require_free_threaded
                && checks.iter().any(|c| c.outcome == Outcome::NotApplicable)
            {
                " (--require-free-threaded: an interpreter is not a free-threaded build)"
            } else {
                ""
            }
        );
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

/// The interpreters to check: those given with --python (every one, so that
/// a default build gets a "does not apply" row), else every free-threaded
/// build found.
fn interpreters(select: &SelectArgs) -> Result<Vec<Interpreter>> {
    let given = !select.python.is_empty();
    let mut options = discovery::Options::from_args(select);
    if given {
        options.auto = false;
        options.environment = false;
    }
    let found = discovery::discover(&options)?.interpreters;
    if given {
        return Ok(found);
    }
    let free_threaded: Vec<Interpreter> = found
        .into_iter()
        .filter(Interpreter::is_free_threaded)
        .collect();
    if free_threaded.is_empty() {
        bail!(
            "no free-threaded interpreter found: install one with `gil-lab python install 3.13t` or give one with --python"
        );
    }
    Ok(free_threaded)
}

/// `json`, `package.module`, `_private`: dotted identifiers.
pub(crate) fn is_module_name(name: &str) -> bool {
    !name.is_empty()
        && name.split('.').all(|part| {
            let mut chars = part.chars();
            chars.next().is_some_and(|c| c == '_' || c.is_alphabetic())
                && chars.all(|c| c == '_' || c.is_alphanumeric())
        })
}

/// Imports `module` in a fresh process of `interpreter`.
pub(crate) fn check(interpreter: &Interpreter, module: &str, paths: &[PathBuf]) -> Result<Check> {
    if !interpreter.is_free_threaded() {
        let mut result = Check::new(&interpreter.label, &interpreter.path, module);
        result.detail = Some(format!(
            "{} is a {} build: its GIL is always on",
            interpreter.label,
            interpreter.variant.describe()
        ));
        return Ok(result);
    }
    check_free_threaded(
        &interpreter.label,
        &interpreter.path,
        &interpreter.interpreter_flags(),
        module,
        paths,
    )
}

impl Check {
    fn new(label: &str, path: &std::path::Path, module: &str) -> Check {
        Check {
            interpreter: label.to_owned(),
            path: path.to_path_buf(),
            module: module.to_owned(),
            outcome: Outcome::NotApplicable,
            gil_before: None,
            gil_after: None,
            warnings: Vec::new(),
            detail: None,
        }
    }

    /// What the import did, in words (`turned the GIL back on`).
    pub fn outcome_words(&self) -> &'static str {
        self.outcome.describe()
    }
}

/// Imports `module` in a fresh process of the free-threaded interpreter
/// `path` (started with `flags`), `paths` first on the import path.
pub(crate) fn check_free_threaded(
    label: &str,
    path: &std::path::Path,
    flags: &[String],
    module: &str,
    paths: &[PathBuf],
) -> Result<Check> {
    let mut result = Check::new(label, path, module);
    let interpreter = (label, path);
    let mut command = crate::embedded::isolated_command(path, flags, CHECK_IMPORTS_SCRIPT);
    command.arg(module).args(paths);
    let finished = child::run(command, IMPORT_TIMEOUT)
        .with_context(|| format!("cannot start {}", interpreter.1.display()))?;
    let (status, output) = match finished {
        Finished::TimedOut(output) => {
            result.outcome = Outcome::ImportFailed;
            result.detail = Some(format!(
                "the import did not finish within {} s ({})",
                IMPORT_TIMEOUT.as_secs(),
                output.summary()
            ));
            return Ok(result);
        }
        Finished::Exited(status, output) => (status, output),
    };
    let answer = output
        .stdout
        .lines()
        .rev()
        .find(|line| !line.trim().is_empty())
        .and_then(|line| serde_json::from_str::<Answer>(line).ok());
    match answer {
        Some(Answer::Success {
            imported,
            gil_before,
            gil_after,
            warnings,
            error,
        }) => {
            result.gil_before = gil_before;
            result.gil_after = gil_after;
            result.warnings = warnings;
            result.outcome = match (imported, gil_after) {
                (false, _) => Outcome::ImportFailed,
                (true, Some(true)) => Outcome::EnabledGil,
                (true, _) => Outcome::KeptGilOff,
            };
            result.detail = error.map(|e| format!("{}: {}", e.kind, e.message));
        }
        Some(Answer::Error { message }) => {
            bail!("the import check failed in {}: {message}", interpreter.0)
        }
        None => {
            // The process died during the import (a crashing extension).
            result.outcome = Outcome::ImportFailed;
            result.detail = Some(format!(
                "the process ended during the import with {} ({})",
                child::describe_status(status),
                output.summary()
            ));
        }
    }
    Ok(result)
}

/// The readable table: one row per (interpreter, module).
fn table(checks: &[Check], colour: bool) -> String {
    let mut table = super::table::new(
        &[
            "interpreter",
            "module",
            "result",
            "GIL before/after",
            "detail",
        ],
        colour,
    );
    let state = |gil: Option<bool>| match gil {
        Some(true) => "on",
        Some(false) => "off",
        None => "-",
    };
    for check in checks {
        let colour = match check.outcome {
            Outcome::KeptGilOff => Color::Green,
            Outcome::EnabledGil => Color::Yellow,
            Outcome::ImportFailed => Color::Red,
            Outcome::NotApplicable => Color::Reset,
        };
        // The warning's first clause says it all; `--json` has the rest.
        let detail = check
            .warnings
            .iter()
            .find(|w| w.contains("GIL"))
            .map(|w| w.split(", which").next().unwrap_or(w).to_owned())
            .or_else(|| check.detail.clone())
            .unwrap_or_default();
        table.add_row(vec![
            Cell::new(&check.interpreter),
            Cell::new(&check.module),
            Cell::new(check.outcome.describe()).fg(colour),
            Cell::new(format!(
                "{}/{}",
                state(check.gil_before),
                state(check.gil_after)
            )),
            Cell::new(detail),
        ]);
    }
    super::table::render(&table)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_names() {
        for name in ["json", "os.path", "_ctypes", "numpy", "a1.b_2"] {
            assert!(is_module_name(name), "{name}");
        }
        for name in ["", "1abc", "a..b", "a.", "-m", "json;rm", "a b"] {
            assert!(!is_module_name(name), "{name}");
        }
    }

    #[test]
    fn answers_parse() {
        let ok: Answer = serde_json::from_str(
            r#"{"result": "success", "module": "m", "imported": true, "gil_before": false,
                "gil_after": true, "warnings": ["RuntimeWarning: The global interpreter lock (GIL) has been enabled"],
                "error": null}"#,
        )
        .unwrap();
        assert!(matches!(
            ok,
            Answer::Success {
                imported: true,
                gil_after: Some(true),
                ..
            }
        ));
        let failed: Answer = serde_json::from_str(
            r#"{"result": "success", "module": "m", "imported": false, "gil_before": false,
                "gil_after": false, "warnings": [],
                "error": {"type": "ModuleNotFoundError", "message": "No module named 'm'"}}"#,
        )
        .unwrap();
        assert!(matches!(
            failed,
            Answer::Success {
                imported: false,
                error: Some(_),
                ..
            }
        ));
    }

    #[test]
    fn table_shows_outcome_and_the_warning() {
        let check = Check {
            interpreter: "CPython 3.13.5t".into(),
            path: "/x".into(),
            module: "ext".into(),
            outcome: Outcome::EnabledGil,
            gil_before: Some(false),
            gil_after: Some(true),
            warnings: vec!["RuntimeWarning: The global interpreter lock (GIL) has been enabled to load module 'ext'".into()],
            detail: None,
        };
        let text = table(&[check], false);
        assert!(text.contains("turned the GIL back on"), "{text}");
        assert!(text.contains("off/on"), "{text}");
        assert!(
            text.contains("has been enabled to load module 'ext'"),
            "{text}"
        );
    }
}
