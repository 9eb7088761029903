//! Ray for the interpreters that can have it: which ones ([`wheels`]), a
//! cached virtual environment per interpreter with Ray installed ([`env`]),
//! and `gil-lab python ray-env`, which makes them. `bench --approach ray`
//! makes them too, and `python list` shows where Ray is ready.

pub mod env;
pub mod wheels;

use std::process::ExitCode;

use anyhow::{Result, bail};

use super::Source;
use super::discovery;
use super::select_args::SelectArgs;

pub use env::{Readiness, ensure, readiness};
pub use wheels::{NoWheels, RAY_VERSION};

/// Sets up Ray (a cached virtual environment with `ray` from the package
/// index, uv when on PATH, else venv + pip; ~300 MB each) for the
/// interpreters given with --python, or else for the newest default CPython
/// build found that Ray publishes wheels for. Interpreters without wheels
/// are listed with the reason.
#[derive(Debug, clap::Args)]
pub struct RayEnvArgs {
    #[command(flatten)]
    pub select: SelectArgs,
}

/// Runs `python ray-env`: prints one line per interpreter and, last, the
/// Python of each environment made (one per line on stdout).
pub fn run(args: &RayEnvArgs) -> Result<ExitCode> {
    let options = discovery::Options::from_args(&args.select);
    let found = discovery::discover(&options)?;
    let given = !args.select.python.is_empty();
    // Without --python: the newest build with wheels (the one `bench` pairs
    // with a free-threaded build of the same version, when there is one).
    let newest = found
        .interpreters
        .iter()
        .filter(|i| wheels::availability(&i.facts).is_ok())
        .max_by_key(|i| i.facts.version_info)
        .map(|i| i.path.clone());
    let mut ready = Vec::new();
    for interpreter in &found.interpreters {
        if interpreter.gil_forced.is_some() || (given && interpreter.source != Source::Given) {
            continue;
        }
        let label = &interpreter.label;
        match wheels::availability(&interpreter.facts) {
            Err(why) => eprintln!("ray: skipping {label}: {why}"),
            Ok(()) if !given && newest.as_ref() != Some(&interpreter.path) => {}
            Ok(()) => {
                let python = ensure(&interpreter.path, &interpreter.facts, label)?;
                ready.push(python);
            }
        }
    }
    if ready.is_empty() {
        bail!(
            "no interpreter found that Ray {RAY_VERSION} publishes wheels for (a default CPython 3.10-3.14 build): install one (`gil-lab python install 3.13`) or give one with --python"
        );
    }
    for python in ready {
        println!("{}", python.display());
    }
    Ok(ExitCode::SUCCESS)
}
