//! A task run's advice (`bench --task`): it starts from the measured kind
//! of work, says which approaches are safe for this code (and which gave
//! wrong results, never recommended), what the check before the trials
//! found (interpreters left out, the GIL turned back on), and measures
//! again with `--task` instead of `--scenario`.

use crate::run::record::RunFile;
use crate::task::verdict::{TaskVerdict, WorkKind};

use super::super::advice::Recommendation;

/// What the kind of work suggests before any number.
fn suggestion(kind: WorkKind) -> &'static str {
    match kind {
        WorkKind::CpuBound => {
            "computing in parallel needs free-threaded threads, processes or subinterpreters; with the GIL, threads and asyncio only take turns"
        }
        WorkKind::IoBound => {
            "waiting overlaps under asyncio or threads on any build; processes only add start-up"
        }
        WorkKind::Mixed => {
            "the waiting overlaps under asyncio or threads, the computing needs free-threaded threads, processes or asyncio+threads on a free-threaded build"
        }
    }
}

/// Adds the task's findings to its recommendation.
pub fn amend(recommendations: &mut [Recommendation], verdict: &TaskVerdict, run: &RunFile) {
    let Some(rec) = recommendations.iter_mut().find(|r| r.topic == verdict.name) else {
        return;
    };
    if let Some(measured) = verdict
        .interpreters
        .iter()
        .find(|i| i.kind.is_some() && i.check.excluded.is_none())
        && let (Some(kind), Some(share)) = (measured.kind, measured.cpu_share)
    {
        rec.reasons.insert(
            0,
            format!(
                "measured kind of work: {} (CPU time ÷ wall time of the sequential cell {share:.2} on {}): {}",
                kind.words(),
                measured.check.label,
                suggestion(kind)
            ),
        );
    }
    if !verdict.safe.is_empty() {
        let names: Vec<&str> = verdict.safe.iter().map(|a| a.name()).collect();
        rec.reasons.push(format!(
            "safe for this code (every call gave the sequential result): {}",
            names.join(", ")
        ));
    }
    for (approach, reason) in &verdict.unsafe_approaches {
        rec.warnings.insert(
            0,
            format!("NOT SAFE for this code: {approach}: {reason}; never recommended"),
        );
        if rec.approach == approach.name() {
            rec.headline = format!(
                "NOT SAFE: {} gave wrong results for this code; {}",
                approach, rec.headline
            );
        }
    }
    for interpreter in &verdict.interpreters {
        let check = &interpreter.check;
        if let Some(reason) = &check.excluded {
            rec.warnings
                .push(format!("task left out on {}: {reason}", check.label));
        }
        if check.deterministic == Some(false) {
            rec.warnings.push(format!(
                "nondeterministic on {}: two sequential runs disagree, so results were not compared there",
                check.label
            ));
        }
        for gil in &check.gil_enabled_by {
            rec.warnings.push(format!(
                "on {} importing `{}` turned the GIL back on (python check-imports: {}): its threads do not run in parallel",
                check.label, gil.module, gil.check_imports
            ));
        }
    }
    super::readiness::amend(rec, &verdict.readiness);
    if let Some(task) = &run.task {
        let scenario = format!("--scenario {}", verdict.name);
        let with_task = format!("--task {}", task.target);
        for command in &mut rec.measure {
            *command = command.replace(&scenario, &with_task);
        }
    }
}
