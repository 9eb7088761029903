//! `gil-lab advise`: which approach, on which interpreter, why, with the
//! evidence. From a run ([`from_run`]): the measured numbers decide, within
//! noise the simpler approach wins. From a described situation
//! ([`situation`]): the [`rules`] reason from published [`facts`] and from
//! what the probe can check now. Both give an [`Advice`], rendered for the
//! terminal or as JSON by [`render`] (and shown after `bench` and in the
//! dashboard).

pub mod facts;
pub mod from_run;
pub mod render;
pub mod rules;
pub mod situation;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use serde::Serialize;

use crate::run::LoadedRun;
use crate::stats::{Estimate, Verdict};
pub use from_run::for_run;
use rules::Alternative;

/// Where an advice comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// A run's measured numbers.
    Run,
    /// A described situation, published facts and what the probe checked.
    Situation,
}

/// The margin of the recommendation over the runner-up (work-phase times).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Margin {
    /// The runner-up, in words (`processes ×2 on CPython 3.13.5`).
    pub runner_up: String,
    /// Median work time of the recommendation ÷ the runner-up's, with its
    /// 95% bootstrap CI (0.8 = 20% less time).
    pub ratio: Estimate,
    /// Hodges-Lehmann shift recommendation − runner-up, seconds, with its
    /// 95% CI.
    pub shift_s: Estimate,
    /// Two-sided Mann-Whitney p-value.
    pub p_value: f64,
    /// The recommendation against the runner-up: `faster`, `slower` or `tie`.
    pub verdict: Verdict,
}

/// One recommendation: for a scenario of a run, or for the situation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Recommendation {
    /// What it answers: the scenario (`cpu`, `io`, ...) or the workload.
    pub topic: String,
    /// The recommended approach (`threads`, `asyncio`, `processes`, ...).
    pub approach: String,
    /// The recommended interpreter, in words.
    pub interpreter: String,
    /// Workers of the recommended cell (advice from a run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workers: Option<u32>,
    /// The advice in one sentence.
    pub headline: String,
    /// Whether other approaches were within noise of it (then the simpler
    /// one is recommended).
    pub tie: bool,
    /// Margin over the runner-up (advice from a run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub margin: Option<Margin>,
    /// Why.
    pub reasons: Vec<String>,
    /// Costs beyond time: memory, orchestration, the free-threading
    /// single-thread cost, and caveats.
    pub costs: Vec<String>,
    /// What makes the figures doubtful: digest failures, a GIL turned back
    /// on, too few trials.
    pub warnings: Vec<String>,
    /// Other approaches and why not.
    pub alternatives: Vec<Alternative>,
    /// `gil-lab` commands that would measure what the advice cannot know.
    pub measure: Vec<String>,
    /// The rules that fired (advice from a situation).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<String>,
    /// Ids of the published facts cited (see [`Advice::facts`]).
    pub cites: Vec<String>,
}

impl Recommendation {
    /// An empty recommendation about `topic`, to be filled in.
    fn new(topic: &str) -> Recommendation {
        Recommendation {
            topic: topic.into(),
            approach: String::new(),
            interpreter: String::new(),
            workers: None,
            headline: String::new(),
            tie: false,
            margin: None,
            reasons: Vec::new(),
            costs: Vec::new(),
            warnings: Vec::new(),
            alternatives: Vec::new(),
            measure: Vec::new(),
            rules: Vec::new(),
            cites: Vec::new(),
        }
    }
}

/// The advice: recommendations and the facts they cite.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Advice {
    /// From a run or from a situation.
    pub basis: Basis,
    /// The run directory (advice from a run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_dir: Option<PathBuf>,
    /// The situation as understood (advice from a situation).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub situation: Option<situation::Situation>,
    /// What makes every figure of the run doubtful (a busy machine).
    pub warnings: Vec<String>,
    /// One per scenario of the run, or one for the situation.
    pub recommendations: Vec<Recommendation>,
    /// Every published fact cited, with its source.
    pub facts: Vec<facts::Fact>,
}

/// Recommends an approach and interpreter, with the evidence: from a run's
/// measured numbers (default: the latest run in ./gil-lab-results), or, with
/// --workload, from a described situation, published facts and what the
/// probe checks now.
#[derive(Debug, clap::Args)]
pub struct AdviseArgs {
    /// The run directory to advise on (default: the latest run in
    /// ./gil-lab-results).
    #[arg(value_name = "RUN_DIR", conflicts_with = "workload")]
    pub run_dir: Option<PathBuf>,
    /// Advise without a run, for this kind of work: cpu, io or mixed.
    #[arg(long, value_name = "cpu|io|mixed")]
    pub workload: Option<String>,
    /// The tasks work over common state (e.g. one knowledge base).
    #[arg(long, requires = "workload")]
    pub shared_state: bool,
    /// The inputs (or the shared state) are large: costly to copy or pickle
    /// to every worker.
    #[arg(long, requires = "workload")]
    pub large_inputs: bool,
    /// C extension modules the code imports (comma-separated): each is
    /// imported now on the free-threaded interpreters found, to see whether
    /// it keeps the GIL off.
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "MOD,...",
        requires = "workload"
    )]
    pub c_extensions: Vec<String>,
    /// Read the import checks from this file (`gil-lab python check-imports
    /// --json` output, e.g. made on another machine) instead of importing now.
    #[arg(long, value_name = "FILE", requires = "c_extensions")]
    pub import_checks: Option<PathBuf>,
    /// The interpreter the code will run on, as a version: 3.13t, 3.14t
    /// (free-threaded), 3.12, ...
    #[arg(long, value_name = "VERSION", requires = "workload")]
    pub python: Option<String>,
    /// Response time matters (requests waiting on the agents).
    #[arg(long, requires = "workload")]
    pub latency_sensitive: bool,
    /// The work outgrows one machine.
    #[arg(long, requires = "workload")]
    pub beyond_one_machine: bool,
    /// Print the advice as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Where `bench` puts runs by default.
const RESULTS_DIR: &str = "gil-lab-results";

/// The latest run in `results`: the run directory whose `run.json` was
/// written last.
fn latest_run(results: &Path) -> Result<PathBuf> {
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
        Some(workload) => situation::advise(&situation::from_args(workload, &args)?, &args)?,
        None => {
            let dir = match &args.run_dir {
                Some(dir) => dir.clone(),
                None => latest_run(Path::new(RESULTS_DIR))?,
            };
            let loaded = crate::run::directory::load(&dir)
                .with_context(|| format!("cannot advise on {}", dir.display()))?;
            for_run(&loaded)
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
