//! `gil-lab ready [FILE]`: will our dependencies keep the GIL off? A team's
//! whole dependency tree, resolved per interpreter by pip, each
//! distribution installed (a wheel for the interpreter's tag, pure Python,
//! or a source build) and its modules imported in fresh free-threaded
//! processes and in a subinterpreter; for a blocker, the oldest newer
//! release that keeps the GIL off. A verdict per interpreter: ready, GIL
//! re-enabled by X, or blocked (docs/ready.md).
//!
//! A room of its own: it reads [`crate::run::readiness`] (the records),
//! [`crate::choice`] (which interpreters) and uses `interpreters` (the
//! import check, child processes); `bench --task --task-requirements` and
//! the views use it, never the other way round. Everything it installs
//! lives under gil-lab's home (`ready/`).
//!
//! - [`input`]: the dependency files;
//! - [`pip`]: resolving, installing, the releases of a distribution;
//! - [`check`]: one interpreter's checks (and `--target`'s);
//! - [`imports`]: what importing a distribution does (`ready_check.py`);
//! - [`fix`]: the oldest newer release that keeps the GIL off;
//! - [`cache`]: per interpreter and release, with a lock;
//! - [`render`]: the terminal table and the JSON records.

pub mod cache;
pub mod check;
pub mod fix;
pub mod imports;
pub mod input;
pub mod pip;
pub mod render;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::run::readiness::Readiness;
use crate::run::record::{InterpreterKind, InterpreterRecord};
use check::{LocalInterpreter, Settings};
use pip::RegistryTarget;

/// Answers "will our dependencies keep the GIL off?" for a requirements
/// file, a pyproject.toml or a lock file, per interpreter: ready, GIL
/// re-enabled by X (threads serialised), or blocked; with the fix for each
/// blocker. Exits 1 on bad input, and with --strict when any interpreter is
/// not ready.
#[derive(Debug, clap::Args)]
pub struct ReadyArgs {
    /// requirements.txt, pyproject.toml, uv.lock or pylock.toml [default:
    /// the first of pylock.toml, uv.lock, requirements.txt, pyproject.toml in
    /// the current directory].
    #[arg(value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Interpreters to check (repeatable): a path or a version such as
    /// `3.13t` or `3.13` [default: as `bench`: each free-threaded build found
    /// and the default build of the same version].
    #[arg(long, value_name = "PATH|VERSION")]
    pub python: Vec<String>,
    /// Also answer for an interpreter that is not installed (repeatable),
    /// e.g. `3.14t`: from the registry's wheel tags alone (cp314t, abi3t for
    /// 3.15+), nothing installed or imported.
    #[arg(long, value_name = "VERSION")]
    pub target: Vec<String>,
    /// A pyproject.toml's optional group to include (repeatable).
    #[arg(long, value_name = "GROUP")]
    pub extra: Vec<String>,
    /// Print a JSON array: one record per distribution × interpreter.
    #[arg(long)]
    pub json: bool,
    /// Exit 1 when any interpreter is not ready (for CI).
    #[arg(long)]
    pub strict: bool,
    /// The time limit of one distribution's install, its source build
    /// included, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 600, value_parser = clap::value_parser!(u64).range(1..))]
    pub build_timeout: u64,
    /// Check again what the cache holds (a release is otherwise checked once
    /// per interpreter).
    #[arg(long)]
    pub refresh: bool,
}

/// Runs `gil-lab ready`.
pub fn run(args: ReadyArgs) -> Result<ExitCode> {
    let file = match &args.file {
        Some(file) if !file.is_file() => bail!(
            "{}: no such file (give a requirements.txt, pyproject.toml, uv.lock or pylock.toml)",
            file.display()
        ),
        Some(file) => file.clone(),
        None => input::default_file(&std::env::current_dir()?)?,
    };
    let targets = args
        .target
        .iter()
        .map(|t| parse_target(t))
        .collect::<Result<Vec<_>>>()?;
    let deps = input::read(&file, &args.extra)?;
    if deps.requirements.is_empty() {
        bail!("{}: no requirements in it", file.display());
    }
    let interpreters = match crate::choice::discover_and_choose(&args.python, false) {
        Ok(chosen) => chosen,
        // Only --target asked for: any interpreter can run pip for it.
        Err(_) if args.python.is_empty() && !targets.is_empty() => {
            crate::choice::discover_and_choose(&[], true)
                .context("--target needs some Python to run pip: none was found")?
                .into_iter()
                .take(1)
                .collect()
        }
        Err(error) => return Err(error),
    };
    let settings = Settings {
        build_timeout: Duration::from_secs(args.build_timeout),
        refresh: args.refresh,
    };
    let readiness = check_file(&file, &deps, &interpreters, &targets, &settings)?;
    let mut stdout = std::io::stdout().lock();
    if args.json {
        writeln!(
            stdout,
            "{}",
            serde_json::to_string_pretty(&render::records(&readiness))?
        )?;
    } else {
        write!(
            stdout,
            "{}",
            render::table(&readiness, crate::interpreters::table::use_colour())
        )?;
    }
    if args.strict && !readiness.all_ready() {
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

/// `3.14t` → a registry target.
fn parse_target(text: &str) -> Result<RegistryTarget> {
    let (body, free_threaded) = match text.strip_suffix('t') {
        Some(body) => (body, true),
        None => (text, false),
    };
    let numbers: Vec<u32> = body
        .split('.')
        .map(|p| p.parse().ok())
        .collect::<Option<Vec<u32>>>()
        .unwrap_or_default();
    match numbers.as_slice() {
        [3, minor] if *minor >= 8 => Ok(RegistryTarget {
            version: (3, *minor),
            free_threaded,
        }),
        _ => bail!("--target {text}: expected a CPython version such as 3.14t or 3.15"),
    }
}

/// Checks `deps` (read from `file`) on the Python interpreters among
/// `interpreters` and on each registry target. Used by `ready` and by
/// `bench --task --task-requirements`.
pub fn check_file(
    file: &Path,
    deps: &input::Dependencies,
    interpreters: &[InterpreterRecord],
    targets: &[RegistryTarget],
    settings: &Settings,
) -> Result<Readiness> {
    let mut results = Vec::new();
    let mut tool: Option<PathBuf> = None;
    let local: Vec<LocalInterpreter> = interpreters
        .iter()
        .filter(|i| {
            i.kind == InterpreterKind::Python
                && i.gil_forced.is_none()
                && i.implementation.eq_ignore_ascii_case("cpython")
        })
        .map(local)
        .collect();
    for interpreter in &local {
        results.push(check::installed(interpreter, deps, settings)?);
        if tool.is_none() {
            let dir = cache::InterpreterDir::open(
                &interpreter.label,
                &interpreter.path,
                &interpreter.flags,
            )?;
            tool = Some(dir.dir.join("tool").join("bin").join("python"));
        }
    }
    for target in targets {
        let tool = match &tool {
            Some(tool) => tool.clone(),
            None => bail!("--target needs an installed CPython to run pip: give one with --python"),
        };
        let work = pip::home()?.join("registry").join(format!(
            "{}.{}{}",
            target.version.0,
            target.version.1,
            if target.free_threaded { "t" } else { "" }
        ));
        results.push(check::registry(target, deps, &tool, &work)?);
    }
    if results.is_empty() {
        bail!("no CPython interpreter to check: give one with --python, or a --target");
    }
    Ok(Readiness {
        source: file.to_path_buf(),
        interpreters: results,
    })
}

/// An interpreter of a run as `ready` checks it: as built (no forced GIL).
fn local(record: &InterpreterRecord) -> LocalInterpreter {
    let version = record
        .version
        .split('.')
        .filter_map(|p| p.parse::<u32>().ok())
        .collect::<Vec<_>>();
    LocalInterpreter {
        label: record.label.clone(),
        path: record.path.clone(),
        flags: Vec::new(),
        free_threaded: record.free_threaded,
        version: (
            version.first().copied().unwrap_or(3),
            version.get(1).copied().unwrap_or(0),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse() {
        assert_eq!(
            parse_target("3.14t").unwrap(),
            RegistryTarget {
                version: (3, 14),
                free_threaded: true
            }
        );
        assert!(!parse_target("3.15").unwrap().free_threaded);
        for bad in ["3", "3.14.1t", "x", "2.7"] {
            assert!(parse_target(bad).is_err(), "{bad}");
        }
    }
}
