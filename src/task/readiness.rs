//! `bench --task ... --task-requirements FILE` asks `gil-lab ready` first:
//! will these requirements keep the GIL off on each interpreter of the run?
//! The answer is stored in the run (`task.readiness`) and shown next to the
//! task's measured free-threaded speedups, in the advice and on the
//! dashboard ([`lines`]).

use std::path::Path;
use std::time::Duration;

use anyhow::Result;
use serde::Serialize;

use crate::run::loaded::LoadedRun;
use crate::run::readiness::{Readiness, Verdict};
use crate::run::record::InterpreterRecord;
use crate::vocabulary::Approach;

/// Runs the readiness check of `file` on the run's interpreters. A file
/// that does not parse is an error (one line naming the file and line); a
/// check that cannot run is a warning, and the run goes on without it.
pub fn check(file: &Path, interpreters: &[InterpreterRecord]) -> Result<Option<Readiness>> {
    let deps = crate::ready::input::read(file, &[])?;
    if deps.requirements.is_empty() {
        return Ok(None);
    }
    eprintln!(
        "Checking whether {} keeps the GIL off (gil-lab ready; cached per release)...",
        file.display()
    );
    let settings = crate::ready::check::Settings {
        build_timeout: Duration::from_secs(600),
        refresh: false,
    };
    match crate::ready::check_file(file, &deps, interpreters, &[], &settings) {
        Ok(readiness) => {
            for i in &readiness.interpreters {
                eprintln!("  {}: {}", i.interpreter, i.verdict_words());
            }
            Ok(Some(readiness))
        }
        Err(error) => {
            eprintln!(
                "warning: the readiness check of {} failed: {error:#}",
                file.display()
            );
            Ok(None)
        }
    }
}

/// One interpreter's readiness as the views state it.
#[derive(Clone, Debug, Serialize)]
pub struct ReadinessLine {
    /// The interpreter's label.
    pub interpreter: String,
    /// Whether it is a free-threaded build.
    pub free_threaded: bool,
    /// Its verdict.
    pub verdict: Verdict,
    /// The verdict in words (`GIL re-enabled by ujson`).
    pub words: String,
    /// What it means for threads (empty when ready).
    pub consequence: String,
    /// The task's best measured threads speedup on this interpreter, as
    /// text (`1.84× (1.70–1.99) with 2 workers`), when measured.
    pub threads_speedup: Option<String>,
    /// The fix of each blocker, one sentence each.
    pub fixes: Vec<String>,
}

/// The readiness lines of a task run (empty without `--task-requirements`).
pub fn lines(loaded: &LoadedRun) -> Vec<ReadinessLine> {
    let Some(task) = &loaded.run.task else {
        return Vec::new();
    };
    let Some(readiness) = &task.readiness else {
        return Vec::new();
    };
    readiness
        .interpreters
        .iter()
        .map(|i| {
            let id = task
                .checks
                .iter()
                .find(|c| c.label == i.interpreter)
                .map(|c| c.interpreter.as_str());
            let threads_speedup = loaded
                .summary
                .cells
                .iter()
                .filter(|c| {
                    Some(c.cell.interpreter.as_str()) == id
                        && c.cell.scenario == task.name
                        && c.cell.approach == Approach::Threads
                })
                .filter_map(|c| c.speedup.as_ref().map(|s| (s, c.cell.workers)))
                .max_by(|a, b| a.0.point.total_cmp(&b.0.point))
                .map(|(s, workers)| {
                    format!(
                        "{} with {workers} workers",
                        crate::run::format::format_ratio(s)
                    )
                });
            ReadinessLine {
                interpreter: i.interpreter.clone(),
                free_threaded: i.free_threaded,
                verdict: i.verdict,
                words: i.verdict_words(),
                consequence: i.consequence().to_owned(),
                threads_speedup,
                fixes: i
                    .distributions
                    .iter()
                    .filter_map(|d| d.fix.as_ref().map(|f| format!("{}: {}", d.name, f.advice)))
                    .collect(),
            }
        })
        .collect()
}
