//! The `service` scenario in `bench` (`--scenario service`): after the
//! other scenarios' trials, with the run's endpoint still up, the
//! `service` room runs its ladders and `service.json` is written into the
//! run directory. A failure costs the run its service table, never its
//! other results: it is a warning.

use std::path::Path;

use super::args::BenchArgs;
use crate::run::directory;
use crate::run::record::RunFile;
use crate::vocabulary::{Approach, Scenario};

/// Arrivals per level at least with `--quick`.
const QUICK_MIN_REQUESTS: u32 = 20;

/// Whether the run asked for the `service` scenario.
pub(super) fn asked(args: &BenchArgs) -> bool {
    args.scenario.contains(&Scenario::Service)
}

/// Runs the scenario (unless `service.json` exists: a resumed run keeps it).
pub(super) fn run(args: &BenchArgs, run: &RunFile, dir: &Path, interactive: bool) {
    if dir.join(directory::SERVICE_FILE).exists() {
        return;
    }
    let Some(llm) = &run.settings.llm else {
        eprintln!("warning: the service scenario has no LLM endpoint: skipped");
        return;
    };
    let mut options = crate::service::Options::new(args.slo, run.settings.seed);
    if !args.approach.is_empty() {
        options
            .approaches
            .retain(|a: &Approach| args.approach.contains(a));
    }
    if let Some(&workers) = args.workers.first() {
        options.workers = workers;
    }
    if args.quick {
        // A look, not a verdict: levels this short report p99 = max, and say so.
        options.level_s = 1.0;
        options.min_requests = QUICK_MIN_REQUESTS;
    }
    let say = |line: &str| {
        if interactive || line.starts_with("warning") {
            eprintln!("{line}");
        }
    };
    match crate::service::run(&run.interpreters, llm, &options, &say) {
        Ok(service) => {
            if let Err(error) = directory::write_service(dir, &service) {
                eprintln!("warning: {error:#}");
            }
        }
        Err(error) => eprintln!("warning: the service scenario did not run: {error:#}"),
    }
}
