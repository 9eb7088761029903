//! What importing an installed distribution does: its top-level modules
//! (the helper `ready_check.py`, beside this file), each imported in a fresh
//! process by `python check-imports`'s own check (does the GIL stay off,
//! and which extension module turned it on), and in a subinterpreter with
//! its own GIL (the `interpreters` approach).

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};
use serde::Deserialize;

use crate::interpreters::check_imports::{self, Outcome};
use crate::interpreters::child::{self, Finished};
use crate::run::readiness::ModuleImport;

/// The helper script, run with `-I -B -c`.
const READY_CHECK_SCRIPT: &str = include_str!("ready_check.py");
/// How long listing modules or a subinterpreter import may take.
const HELPER_TIMEOUT: Duration = Duration::from_secs(60);

/// The environment a distribution was installed into.
pub struct Environment<'a> {
    /// The interpreter's label.
    pub label: &'a str,
    /// The environment's Python.
    pub python: &'a Path,
    /// The interpreter's flags.
    pub flags: &'a [String],
    /// Whether it is a free-threaded build.
    pub free_threaded: bool,
}

/// The helper's answer to `modules DIST`.
#[derive(Deserialize)]
struct Modules {
    /// The top-level modules.
    #[serde(default)]
    modules: Vec<String>,
    /// Why they cannot be listed.
    error: Option<String>,
}

/// The helper's answer to `subinterpreter MODULE`.
#[derive(Deserialize)]
struct Subinterpreter {
    /// The interpreter has subinterpreters with their own GIL.
    #[serde(default)]
    available: bool,
    /// The module imported in one.
    #[serde(default)]
    imported: bool,
    /// Why it did not.
    error: Option<String>,
}

/// Runs the helper and parses its one JSON line.
fn helper<T: serde::de::DeserializeOwned>(env: &Environment, args: &[&str]) -> Result<T> {
    let mut command = crate::embedded::isolated_command(env.python, env.flags, READY_CHECK_SCRIPT);
    command.args(args);
    let finished = child::run(command, HELPER_TIMEOUT)
        .with_context(|| format!("cannot start {}", env.python.display()))?;
    let output = match finished {
        Finished::TimedOut(_) => {
            anyhow::bail!("did not finish within {} s", HELPER_TIMEOUT.as_secs())
        }
        Finished::Exited(_, output) => output,
    };
    let line = output
        .stdout
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .with_context(|| format!("printed no answer ({})", output.summary()))?;
    serde_json::from_str(line).with_context(|| format!("unreadable answer {line:?}"))
}

/// The distribution's top-level modules, or why they cannot be listed.
pub fn modules(env: &Environment, distribution: &str) -> std::result::Result<Vec<String>, String> {
    match helper::<Modules>(env, &["modules", distribution]) {
        Ok(Modules {
            error: Some(error), ..
        }) => Err(error),
        Ok(Modules { modules, .. }) => Ok(modules),
        Err(error) => Err(format!("listing its modules failed: {error:#}")),
    }
}

/// Imports `module` in a fresh process, then in a subinterpreter.
pub fn import(env: &Environment, module: &str) -> Result<ModuleImport> {
    let check = check_imports::check_free_threaded(env.label, env.python, env.flags, module, &[])?;
    let imported = check.outcome != Outcome::ImportFailed;
    let gil_after = if env.free_threaded {
        check.gil_after
    } else {
        None
    };
    let gil_enabled_by = if gil_after == Some(true) {
        check
            .warnings
            .iter()
            .find_map(|w| enabled_by(w))
            .or_else(|| Some(module.to_owned()))
    } else {
        None
    };
    let mut result = ModuleImport {
        module: module.to_owned(),
        imported,
        gil_after,
        gil_enabled_by,
        subinterpreter: None,
        detail: if imported { None } else { check.detail.clone() },
    };
    if imported {
        match helper::<Subinterpreter>(env, &["subinterpreter", module]) {
            Ok(answer) if answer.available => {
                result.subinterpreter = Some(answer.imported);
                if !answer.imported {
                    result.detail = answer
                        .error
                        .map(|e| format!("in a subinterpreter: {}", first_line(&e)));
                }
            }
            Ok(_) => {}
            Err(error) => {
                result.detail = Some(format!("the subinterpreter check failed: {error:#}"));
            }
        }
    }
    Ok(result)
}

/// The module CPython names in "The global interpreter lock (GIL) has been
/// enabled to load module 'X', which has not declared ...".
pub fn enabled_by(warning: &str) -> Option<String> {
    let rest = warning.split("to load module '").nth(1)?;
    rest.split('\'').next().map(str::to_owned)
}

/// The last line of a multi-line message (a traceback's exception line).
fn first_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty())
        .unwrap_or(text)
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_warning_names_the_module() {
        let w = "RuntimeWarning: The global interpreter lock (GIL) has been enabled to load module 'ujson', which has not declared that it can run safely without the GIL.";
        assert_eq!(enabled_by(w).as_deref(), Some("ujson"));
        assert_eq!(enabled_by("DeprecationWarning: x"), None);
    }
}
