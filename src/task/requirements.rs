//! `--task-requirements FILE`: one cached virtual environment per
//! interpreter with the task's requirements installed, made with uv when it
//! is on PATH, else with `python -m venv` and pip. Kept in gil-lab's home
//! (`task-venvs/<hash of interpreter and requirements>`) and reused while
//! neither changes; a marker written after a successful install says it is
//! complete.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result};

use crate::interpreters::child::{self, Finished};

/// How long making one environment may take.
const INSTALL_TIMEOUT: Duration = Duration::from_secs(15 * 60);
/// Written into a finished environment.
const READY: &str = "gil-lab-ready";

/// The environment's Python for `python` with `requirements` installed:
/// `Ok(Err(reason))` when they cannot be installed there (one line, the
/// installer's own reason).
pub fn environment(python: &Path, requirements: &Path) -> Result<Result<PathBuf, String>> {
    let text = std::fs::read(requirements)
        .with_context(|| format!("cannot read --task-requirements {}", requirements.display()))?;
    let mut key = python.to_string_lossy().into_owned().into_bytes();
    key.push(0);
    key.extend_from_slice(&text);
    let dir = crate::paths::home_subdir("task-venvs")?
        .join(format!("{:016x}", crate::hash::fnv1a_64(&key)));
    let venv_python = dir.join("bin").join("python");
    if dir.join(READY).is_file() && venv_python.exists() {
        return Ok(Ok(venv_python));
    }
    let _ = std::fs::remove_dir_all(&dir);
    let uv = which("uv");
    let (make, install) = match &uv {
        Some(uv) => {
            let mut make = Command::new(uv);
            make.args(["venv", "--quiet", "--python"])
                .arg(python)
                .arg(&dir);
            let mut install = Command::new(uv);
            install
                .args(["pip", "install", "--quiet", "--python"])
                .arg(&venv_python)
                .arg("-r")
                .arg(requirements);
            (make, install)
        }
        None => {
            let mut make = Command::new(python);
            make.args(["-m", "venv"]).arg(&dir);
            let mut install = Command::new(&venv_python);
            install
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                    "-r",
                ])
                .arg(requirements);
            (make, install)
        }
    };
    for (what, command) in [("making the environment", make), ("installing", install)] {
        if let Err(reason) = finish(command) {
            let _ = std::fs::remove_dir_all(&dir);
            return Ok(Err(format!("{what} failed: {reason}")));
        }
    }
    std::fs::write(dir.join(READY), b"")?;
    Ok(Ok(venv_python))
}

/// Runs an installer step; the error is its reason in one line.
fn finish(command: Command) -> std::result::Result<(), String> {
    match child::run(command, INSTALL_TIMEOUT) {
        Err(error) => Err(format!("cannot start it: {error}")),
        Ok(Finished::TimedOut(_)) => Err(format!(
            "it did not finish within {} minutes",
            INSTALL_TIMEOUT.as_secs() / 60
        )),
        Ok(Finished::Exited(status, output)) if !status.success() => Err(reason(&output.stderr)
            .unwrap_or_else(|| {
                format!(
                    "it exited with {} ({})",
                    child::describe_status(status),
                    output.summary()
                )
            })),
        Ok(Finished::Exited(..)) => Ok(()),
    }
}

/// pip's (or uv's) reason: its first `ERROR:` / `error:` line, or the last
/// line of its output.
fn reason(stderr: &str) -> Option<String> {
    crate::ready::pip::reason_marked(stderr, &["ERROR:", "error:", "×"])
}

/// An executable on PATH.
fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.is_file())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pips_reason_is_its_error_line() {
        let stderr = "Collecting six==0.0.0\nERROR: Could not find a version that satisfies the requirement six==0.0.0\nERROR: No matching distribution found for six==0.0.0\n";
        assert_eq!(
            reason(stderr).unwrap(),
            "ERROR: Could not find a version that satisfies the requirement six==0.0.0"
        );
        assert_eq!(reason("a\nlast\n").unwrap(), "last");
        assert_eq!(reason(""), None);
        // uv marks its error with `×`, before its hints.
        assert_eq!(
            reason("  × No solution found\n  hint: pin fewer\n").unwrap(),
            "× No solution found"
        );
    }
}
