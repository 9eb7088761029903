//! A task run's advice (`bench --task`): it starts from the kind of work
//! as measured (on a GIL build: CPU-bound Python, or native code that
//! releases the GIL, told apart by the cores its threads used), says which approaches are safe for this code (and which gave
//! wrong results, never recommended), what the check before the trials
//! found (interpreters left out, the GIL turned back on), and measures
//! again with `--task` instead of `--scenario`.

use crate::run::mechanism::MeasuredKind;
use crate::run::record::RunFile;
use crate::task::verdict::{TaskVerdict, WorkKind};

use super::super::advice::Recommendation;

/// What the measured kind of work means for the approaches.
fn suggestion(kind: MeasuredKind) -> &'static str {
    match kind {
        MeasuredKind::CpuBoundPython => {
            "computing in parallel needs free-threaded threads, processes or subinterpreters; with the GIL, threads and asyncio only take turns"
        }
        MeasuredKind::CpuBoundReleasesGil => {
            "its work runs in native code that releases the GIL, so threads compute side by side even on a GIL build; processes add start-up and copies"
        }
        MeasuredKind::CpuBound => {
            "computing in parallel needs threads on a free-threaded build, processes or subinterpreters; threads on a GIL build help only where the work releases the GIL (not measured on a GIL build here)"
        }
        MeasuredKind::IoBound => {
            "waiting overlaps under asyncio or threads on any build; processes only add start-up"
        }
        MeasuredKind::Mixed => {
            "the waiting overlaps under asyncio or threads, the computing needs free-threaded threads, processes or asyncio+threads on a free-threaded build"
        }
    }
}

/// Adds the task's findings to its recommendation.
pub fn amend(recommendations: &mut [Recommendation], verdict: &TaskVerdict, run: &RunFile) {
    let Some(rec) = recommendations.iter_mut().find(|r| r.topic == verdict.name) else {
        return;
    };
    // Read on a GIL build first: there Python and native code differ.
    let usable = || {
        verdict
            .interpreters
            .iter()
            .filter(|i| i.check.excluded.is_none())
    };
    let measured = usable()
        .filter_map(|i| Some((i, i.measured.as_ref()?)))
        .min_by_key(|(_, m)| {
            !m.kind.gil_threads_compute() && m.kind != MeasuredKind::CpuBoundPython
        });
    if let Some((interpreter, work)) = measured {
        rec.reasons.insert(
            0,
            format!(
                "measured kind of work: {} on {} ({}): {}",
                work.words,
                interpreter.check.label,
                work.evidence,
                suggestion(work.kind)
            ),
        );
    } else if let Some(measured) = usable().find(|i| i.kind.is_some())
        && let (Some(kind), Some(share)) = (measured.kind, measured.cpu_share)
    {
        let kind = match kind {
            WorkKind::CpuBound => MeasuredKind::CpuBound,
            WorkKind::IoBound => MeasuredKind::IoBound,
            WorkKind::Mixed => MeasuredKind::Mixed,
        };
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
