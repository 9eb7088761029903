//! `gil-lab advise`: which approach, on which interpreter, why, with the
//! evidence. From a run ([`from_run`]): the measured numbers decide, within
//! noise the simpler approach wins. From a described [`situation`]
//! ([`from_situation`]): the [`rules`] reason from published [`facts`] and
//! from what the probe can check now, each saying a [`finding`]. Both give an
//! [`Advice`] ([`advice`]), rendered for the terminal or as JSON by
//! [`render`] (and shown after `bench` and in the dashboard). This file is
//! the command ([`args`] its command line).
//!
//! Dependencies point one way: this file uses the others and none uses it;
//! `advice` and `finding` hold the types the others share; `situation`
//! holds what the rules read, `rules` what reasons about it, and
//! `from_situation` uses both.

pub mod advice;
pub mod args;
pub mod facts;
pub mod finding;
pub mod from_run;
pub mod from_situation;
pub mod render;
pub mod rules;
pub mod situation;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::run::LoadedRun;
pub use advice::{Advice, Basis, Margin, Recommendation};
use anyhow::{Context, Result, bail};
pub use args::AdviseArgs;
pub use from_run::for_run;

/// Where `bench` puts runs by default.
const RESULTS_DIR: &str = "gil-lab-results";

/// The latest run in `results`: the run directory whose `run.json` was
/// written last.
pub fn latest_run(results: &Path) -> Result<PathBuf> {
    let entries = std::fs::read_dir(results).with_context(|| {
        format!(
            "no runs in ./{RESULTS_DIR}: run `gil-lab bench` first, or give a run directory (gil-lab advise RUN_DIR) or --workload"
        )
    })?;
    let latest = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let modified = e.path().join("run.json").metadata().ok()?.modified().ok()?;
            Some((modified, e.path()))
        })
        .max();
    match latest {
        Some((_, dir)) => Ok(dir),
        None => bail!(
            "no runs in {}: run `gil-lab bench` first, or give a run directory (gil-lab advise RUN_DIR) or --workload",
            results.display()
        ),
    }
}

/// Runs `gil-lab advise`.
pub fn run(args: AdviseArgs) -> Result<ExitCode> {
    let advice = match &args.workload {
        Some(workload) => {
            from_situation::advise(&from_situation::from_args(workload, &args)?, &args)?
        }
        None => {
            let dir = match &args.run_dir {
                Some(dir) => dir.clone(),
                None => latest_run(Path::new(RESULTS_DIR))?,
            };
            let loaded = crate::run::directory::load(&dir)
                .with_context(|| format!("cannot advise on {}", dir.display()))?;
            let mut advice = for_run(&loaded);
            if args.beyond_one_machine {
                beyond_one_machine(&mut advice);
            }
            advice
        }
    };
    let mut stdout = std::io::stdout().lock();
    if args.json {
        render::json(&mut stdout, &advice)?;
    } else {
        render::terminal(&mut stdout, &advice)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `advise RUN_DIR --beyond-one-machine`: every recommendation also names
/// the commands that measure distributing (Ray on this machine or on a
/// cluster) and write the deployment (docs/distributed.md).
fn beyond_one_machine(advice: &mut Advice) {
    for rec in &mut advice.recommendations {
        let scenario = &rec.topic;
        for command in [
            "gil-lab python ray-env   # Ray for the default builds (no free-threaded wheels)"
                .to_string(),
            format!(
                "gil-lab bench --scenario {scenario} --approach processes,ray   # orchestration cost and break-even against one machine"
            ),
            format!(
                "gil-lab bench --scenario {scenario} --approach ray --ray-address HEAD:6379   # on an existing cluster"
            ),
            "gil-lab deploy kubernetes   # KubeRay RayJob or Job manifests sized from the run"
                .to_string(),
        ] {
            if !rec.measure.contains(&command) {
                rec.measure.push(command);
            }
        }
    }
}

/// The advice printed at the end of `bench`, from the run just summarised.
pub fn print_after_bench(out: &mut dyn std::io::Write, loaded: &LoadedRun) -> Result<()> {
    render::terminal(out, &for_run(loaded)).context("cannot write the advice")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_latest_run_is_the_last_written() {
        let tmp = tempfile::tempdir().unwrap();
        let err = latest_run(&tmp.path().join("none")).unwrap_err();
        assert!(
            err.to_string().contains("run `gil-lab bench` first"),
            "{err}"
        );
        let err = latest_run(tmp.path()).unwrap_err();
        assert!(err.to_string().contains("no runs in"), "{err}");
        for name in ["b", "a"] {
            std::fs::create_dir(tmp.path().join(name)).unwrap();
            std::fs::write(tmp.path().join(name).join("run.json"), "{}").unwrap();
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        std::fs::create_dir(tmp.path().join("not-a-run")).unwrap();
        assert_eq!(latest_run(tmp.path()).unwrap(), tmp.path().join("a"));
    }
}
