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
    let mut ready = Vec::new();
    // Without --python: the newest build with wheels (the one `bench` pairs
    // with a free-threaded build of the same version, when there is one);
    // where its environment cannot be made (a distribution's Python without
    // ensurepip), the next newest.
    let mut candidates: Vec<_> = found
        .interpreters
        .iter()
        .filter(|i| i.gil_forced.is_none() && (!given || i.source == Source::Given))
        .collect();
    candidates.sort_by_key(|i| std::cmp::Reverse(i.facts.version_info));
    for interpreter in candidates {
        let label = &interpreter.label;
        match wheels::availability(&interpreter.facts) {
            Err(why) => eprintln!("ray: skipping {label}: {why}"),
            Ok(()) if !given && !ready.is_empty() => {}
            Ok(()) => match ensure(&interpreter.path, &interpreter.facts, label) {
                Ok(python) => ready.push(python),
                Err(error) if !given => {
                    let error = format!("{error:#}");
                    let first = error.lines().next().unwrap_or_default();
                    eprintln!("ray: cannot set up {label} ({first}), trying an older build");
                }
                Err(error) => return Err(error),
            },
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
