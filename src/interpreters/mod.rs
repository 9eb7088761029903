//! Python interpreters: discovery, probing, import checks and provisioning.
//!
//! The module is `crate::interpreters`; its command line stays
//! `gil-lab python ...` ([`PythonCommand`]).

pub mod candidates;
pub mod check_imports;
pub mod child;
pub mod discovery;
pub mod facts;
pub mod interpreter;
pub mod list;
pub mod parallel_probe;
pub mod probe;
pub mod probe_cache;
pub mod provision;
pub mod ray;
pub mod recipe;
pub mod select_args;
pub mod supported;
pub mod table;

pub use interpreter::{Interpreter, Source};

use std::process::ExitCode;

use clap::Subcommand;

/// `gil-lab python ...`: one variant per subcommand, each with its
/// arguments defined next to the code that implements it.
#[derive(Debug, Subcommand)]
pub enum PythonCommand {
    /// List the interpreters gil-lab finds, with their build variant, GIL
    /// state and concurrency facts.
    List(list::ListArgs),
    /// Check whether importing modules keeps the GIL off on free-threaded
    /// interpreters.
    CheckImports(check_imports::CheckImportsArgs),
    /// Install a CPython (free-threaded `3.13t`, or a default build such as
    /// `3.14`, `3.15`) into gil-lab's home, verified with the probe: uv,
    /// Debian's newer binary packages, or a build from source.
    Install(provision::InstallArgs),
    /// Set up Ray for the `ray` approach: a cached virtual environment with
    /// Ray from PyPI (~300 MB; uv when on PATH, else venv + pip) for the
    /// interpreters given with --python, else for the newest default CPython
    /// build found; prints each environment's Python. Interpreters Ray has
    /// no wheels for (free-threaded builds, PyPy) are skipped with the reason.
    RayEnv(ray::RayEnvArgs),
}

/// Runs a `gil-lab python` subcommand.
pub fn run(command: PythonCommand) -> anyhow::Result<ExitCode> {
    match command {
        PythonCommand::List(args) => list::run(&args),
        PythonCommand::CheckImports(args) => check_imports::run(&args),
        PythonCommand::Install(args) => provision::run(args),
        PythonCommand::RayEnv(args) => ray::run(&args),
    }
}
