//! The warnings of a run: correctness failures, skipped and failing cells,
//! a free-threaded build running with the GIL, outlying trials, speedups
//! beyond the cores (noise), imprecise verdicts and the machine's drift.

use crate::run::format::{describe, format_seconds};
use crate::run::record::{
    CellSummary, Drift, FailureKind, RunFile, ScenarioVerdict, TrialRecord, Warning, WarningKind,
};
use crate::vocabulary::WorkKind;

/// A sequential CPU-bound cell with less than this share of a core during
/// its work phase was starved by other programs.
const STARVED_BELOW: f64 = 0.8;
/// A `processes` cell of a CPU-bound scenario that used less than this
/// share of the cores it asked for was held back by other programs.
const HELD_BELOW: f64 = 0.75;

/// The warnings about cells and trials.
pub(super) fn cell_warnings(
    run: &RunFile,
    cells: &[CellSummary],
    trials: &[TrialRecord],
) -> Vec<Warning> {
    let mut warnings = Vec::new();
    for summary in cells {
        let cell = &summary.cell;
        let name = describe(run, cell);
        let of_cell: Vec<&TrialRecord> = trials.iter().filter(|t| &t.cell == cell).collect();
        let failures: Vec<_> = of_cell.iter().filter_map(|t| t.failure.as_ref()).collect();
        let digest_failures = failures
            .iter()
            .filter(|f| f.kind == FailureKind::DigestMismatch)
            .count();
        if digest_failures > 0 {
            warnings.push(Warning {
                kind: WarningKind::Digest,
                cell: Some(cell.clone()),
                message: format!(
                    "CORRECTNESS FAILURE: {name} produced a different digest in {digest_failures} trial(s): {}",
                    failures
                        .iter()
                        .find(|f| f.kind == FailureKind::DigestMismatch)
                        .map_or("", |f| f.message.as_str())
                ),
            });
        }
        if let Some(failure) = failures
            .iter()
            .find(|f| f.kind == FailureKind::GilNotForced)
        {
            warnings.push(Warning {
                kind: WarningKind::Gil,
                cell: Some(cell.clone()),
                message: format!("{name}: {}", failure.message),
            });
        }
        let other_failures: Vec<_> = failures
            .iter()
            .filter(|f| {
                !matches!(
                    f.kind,
                    FailureKind::DigestMismatch | FailureKind::GilNotForced
                )
            })
            .collect();
        if let Some(first) = other_failures.first() {
            warnings.push(Warning {
                kind: WarningKind::Failed,
                cell: Some(cell.clone()),
                message: format!(
                    "{name}: {} of {} trials failed (first: {})",
                    other_failures.len(),
                    of_cell.len(),
                    first.message
                ),
            });
        }
        if let Some(reason) = &summary.skip_reason {
            warnings.push(Warning {
                kind: WarningKind::Skipped,
                cell: Some(cell.clone()),
                message: format!("{name} skipped: {reason}"),
            });
        }
        let interpreter = run.interpreter(&cell.interpreter);
        let free_threaded_default = interpreter.is_some_and(|i| i.is_free_threaded_as_built());
        if free_threaded_default && summary.gil_enabled == Some(true) {
            warnings.push(Warning {
                kind: WarningKind::Gil,
                cell: Some(cell.clone()),
                message: format!(
                    "{name} ran with the GIL turned on (an import re-enabled it?): its figures are not free-threaded ones"
                ),
            });
        }
        for trial in &of_cell {
            for message in &trial.warnings {
                if !warnings
                    .iter()
                    .any(|w| w.message.ends_with(message.as_str()))
                {
                    warnings.push(Warning {
                        kind: WarningKind::Gil,
                        cell: Some(cell.clone()),
                        message: format!("{name}: {message}"),
                    });
                }
            }
        }
    }
    // Outliers are common on a shared machine: one line for all cells.
    let outlying: Vec<String> = cells
        .iter()
        .filter_map(|c| {
            let work = c.work.as_ref().filter(|w| !w.outliers.is_empty())?;
            Some(format!(
                "{} ({} of {})",
                describe(run, &c.cell),
                work.outliers.len(),
                work.n
            ))
        })
        .collect();
    if !outlying.is_empty() {
        let shown = outlying.len().min(4);
        warnings.push(Warning {
            kind: WarningKind::Outliers,
            cell: None,
            message: format!(
                "{} cell(s) have outlying trials (MAD rule; kept in the statistics): {}{}",
                outlying.len(),
                outlying[..shown].join(", "),
                if outlying.len() > shown {
                    format!(" and {} more", outlying.len() - shown)
                } else {
                    String::new()
                }
            ),
        });
    }
    warnings.extend(impossible_speedups(run, cells));
    warnings.extend(starved_baselines(run, cells));
    warnings.extend(held_cores(run, cells));
    warnings
}

/// `processes` cells of a CPU-bound scenario keep every worker busy: during
/// their work phase they should use min(workers, usable cores) cores. Well
/// below that, other programs held the rest, and the speedups understate
/// what the idle machine gives.
fn held_cores(run: &RunFile, cells: &[CellSummary]) -> Option<Warning> {
    let usable = run.settings.usable_cores.max(1);
    let short: Vec<String> = cells
        .iter()
        .filter(|c| {
            c.cell.approach == crate::vocabulary::Approach::Processes
                && c.cell.workers > 1
                && WorkKind::of_scenario(&c.cell.scenario) == Some(WorkKind::CpuBound)
        })
        .filter_map(|c| {
            let used = c.work_parallelism.as_ref()?.median;
            let wanted = f64::from(c.cell.workers.min(usable));
            (used < HELD_BELOW * wanted).then(|| {
                format!(
                    "{} {} ({:.2} of {wanted} cores)",
                    c.cell.scenario,
                    describe(run, &c.cell),
                    used
                )
            })
        })
        .collect();
    (!short.is_empty()).then(|| Warning {
        kind: WarningKind::Noise,
        cell: None,
        message: format!(
            "{} CPU-bound cell(s) with every worker busy used far fewer cores than they asked for during their work phase: {}; other programs held the rest, so the speedups understate this machine: run again when it is idle",
            short.len(),
            short.join(", ")
        ),
    })
}

/// A `sequential` cell of a CPU-bound scenario runs one busy thread: during
/// its work phase it should have a whole core. Less means other programs
/// took the rest, which slows the baseline and overstates every speedup
/// over it.
fn starved_baselines(run: &RunFile, cells: &[CellSummary]) -> Option<Warning> {
    let starved: Vec<String> = cells
        .iter()
        .filter(|c| {
            c.cell.is_baseline()
                && WorkKind::of_scenario(&c.cell.scenario) == Some(WorkKind::CpuBound)
        })
        .filter_map(|c| {
            let share = c.work_parallelism.as_ref()?.median;
            (share < STARVED_BELOW).then(|| {
                format!(
                    "{} {} ({:.0}%)",
                    c.cell.scenario,
                    describe(run, &c.cell),
                    share * 100.0
                )
            })
        })
        .collect();
    (!starved.is_empty()).then(|| Warning {
        kind: WarningKind::Noise,
        cell: None,
        message: format!(
            "{} sequential cell(s) had less than {:.0}% of a core during their work phase: {}; other programs took the rest, so speedups over them are overstated: run again on an idle machine",
            starved.len(),
            STARVED_BELOW * 100.0,
            starved.join(", ")
        ),
    })
}

/// One warning per speedup above what the usable cores allow.
fn impossible_speedups(run: &RunFile, cells: &[CellSummary]) -> Vec<Warning> {
    cells
        .iter()
        .filter_map(|c| Some((c, c.speedup_flag?, c.speedup?)))
        .map(|(c, flag, speedup)| Warning {
            kind: WarningKind::Impossible,
            cell: Some(c.cell.clone()),
            message: format!(
                "NOISE: {} measured a {:.2}× speedup (CI {:.2}–{:.2}), more than its {} worker(s) on {} usable core(s) can give to CPU-bound work{}",
                describe(run, &c.cell),
                speedup.point,
                speedup.ci_low,
                speedup.ci_high,
                c.cell.workers,
                run.settings.usable_cores,
                if flag.beyond_ci {
                    ": left out of the verdict"
                } else {
                    " (within its CI of the limit)"
                }
            ),
        })
        .collect()
}

/// A warning when the cells that decide a verdict (the leader and the cells
/// tied with it) stopped with a speedup CI wider than the target.
pub(super) fn imprecise_verdicts(
    run: &RunFile,
    cells: &[CellSummary],
    verdicts: &[ScenarioVerdict],
) -> Option<Warning> {
    let target = run.settings.target_rel_ci;
    let imprecise: Vec<String> = verdicts
        .iter()
        .flat_map(|v| v.winner.iter().chain(&v.tied_with))
        .filter_map(|key| cells.iter().find(|c| &c.cell == key))
        .filter(|c| deciding_half_width(c).is_some_and(|w| w > target))
        .map(|c| describe(run, &c.cell))
        .collect();
    (!imprecise.is_empty()).then(|| Warning {
        kind: WarningKind::Imprecise,
        cell: None,
        message: format!(
            "{} cell(s) deciding a verdict stopped with a CI wider than ±{:.0}% ({}): raise --budget or --max-runs for tighter figures",
            imprecise.len(),
            target * 100.0,
            imprecise.join(", ")
        ),
    })
}

/// The relative CI half-width that says how precisely a cell deciding a
/// verdict is known: its speedup's, or (a sequential cell) its work time's.
pub fn deciding_half_width(cell: &CellSummary) -> Option<f64> {
    match (cell.cell.is_baseline(), cell.speedup) {
        (false, Some(s)) => Some((s.ci_high - s.ci_low) / 2.0 / s.point),
        _ => cell.work.as_ref().map(|w| w.relative_half_width()),
    }
}

/// A warning when the machine's speed changed by more than 10% during the run.
pub(super) fn drift_warning(drift: Option<&Drift>) -> Option<Warning> {
    let drift = drift.filter(|d| d.change().abs() > 0.10)?;
    Some(Warning {
        kind: WarningKind::Drift,
        cell: None,
        message: format!(
            "the machine ran gil-lab's reference loop {:.0}% {} at the end of the run than at its start ({} rounds, {}–{}): figures from paired rounds are protected, comparisons across runs are not",
            drift.change().abs() * 100.0,
            if drift.change() > 0.0 {
                "slower"
            } else {
                "faster"
            },
            drift.rounds,
            format_seconds(drift.min_s),
            format_seconds(drift.max_s)
        ),
    })
}
