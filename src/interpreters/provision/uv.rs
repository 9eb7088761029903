//! uv (astral-sh/uv): `uv python install` downloads a prebuilt CPython,
//! free-threaded builds included, in seconds. gil-lab keeps uv's interpreters
//! in its own home (`UV_PYTHON_INSTALL_DIR`) and asks uv where it put them.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use super::command::{self, Log};
use super::request::Request;
use crate::interpreters::child::{self, Finished};

/// How long `uv python install` may take: a download of ~40 MB and an unpack.
const INSTALL_TIMEOUT: Duration = Duration::from_secs(15 * 60);

/// How long `uv --version` and `uv python find` may take.
const QUICK_TIMEOUT: Duration = Duration::from_secs(60);

/// Runs one uv command, keeping its output in the log; an error says why
/// it did not work.
fn run_uv(args: &[&str], install_dir: &Path, timeout: Duration, log: &mut Log) -> Result<String> {
    let mut uv = Command::new("uv");
    uv.args(args)
        .env("UV_PYTHON_INSTALL_DIR", install_dir)
        // Only interpreters uv manages (in gil-lab's home), never one that
        // happens to be on PATH: that one is found by discovery anyway.
        .env("UV_PYTHON_PREFERENCE", "only-managed")
        .env("UV_NO_PROGRESS", "1");
    let described = command::describe(&uv);
    log.note(&format!("$ {described}"));
    let finished =
        child::run(uv, timeout).with_context(|| format!("cannot start `{described}`"))?;
    match finished {
        Finished::Exited(status, output) => {
            log.note(&output.stdout);
            log.note(&output.stderr);
            if !status.success() {
                bail!("`{described}` failed ({status}; {})", output.summary());
            }
            Ok(output.stdout)
        }
        Finished::TimedOut(output) => {
            bail!(
                "`{described}` did not finish within {} s ({})",
                timeout.as_secs(),
                output.summary()
            )
        }
    }
}

/// Installs `request` with uv into `install_dir` and returns the executable.
pub fn install(
    request: Request,
    install_dir: &Path,
    force: bool,
    log: &mut Log,
) -> Result<PathBuf> {
    if !command::on_path("uv") {
        bail!("uv is not on PATH");
    }
    run_uv(&["--version"], install_dir, QUICK_TIMEOUT, log).context("uv does not work")?;
    let spec = request.to_string();
    let mut args = vec!["python", "install"];
    if force {
        args.push("--reinstall");
    }
    args.push(&spec);
    run_uv(&args, install_dir, INSTALL_TIMEOUT, log)?;
    let found = run_uv(&["python", "find", &spec], install_dir, QUICK_TIMEOUT, log)?;
    let path = found
        .lines()
        .map(str::trim)
        .rfind(|line| !line.is_empty())
        .with_context(|| format!("`uv python find {spec}` printed no path"))?;
    Ok(PathBuf::from(path))
}
