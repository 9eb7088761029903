//! The statistics of a run, computed from its trial records: per cell the
//! median work-phase time with its CI, speedups, efficiency, parallelism,
//! memory and orchestration cost; per scenario the winner; and the warnings.

use std::collections::{BTreeMap, BTreeSet};

use super::cluster_steps::ClusterSteps;
use crate::run::record::{
    CellKey, CellState, CellSummary, FailureKind, InterpreterKind, Orchestration, RunFile,
    RunSummary, ScenarioVerdict, StopReason, Totals, TrialRecord, TrialStatus, Warning,
    WarningKind,
};
use crate::stats::{self, Comparison, Estimate, Summary, Verdict};

/// A stable seed per cell, so that the same trials always give the same CIs.
fn seed_of(cell: &CellKey) -> u64 {
    crate::hash::fnv1a_64(cell.to_string().as_bytes())
}

/// The measured trials of each cell.
fn measured_by_cell(trials: &[TrialRecord]) -> BTreeMap<&CellKey, Vec<&TrialRecord>> {
    let mut by_cell: BTreeMap<&CellKey, Vec<&TrialRecord>> = BTreeMap::new();
    for trial in trials.iter().filter(|t| t.is_measured()) {
        by_cell.entry(&trial.cell).or_default().push(trial);
    }
    by_cell
}

/// Work-phase times of a cell's measured trials.
fn work_samples(trials: &[&TrialRecord]) -> Vec<f64> {
    trials.iter().filter_map(|t| t.work_s()).collect()
}

/// Whole-trial wall times of a cell's measured trials.
fn wall_samples(trials: &[&TrialRecord]) -> Vec<f64> {
    trials.iter().filter_map(|t| t.wall_s()).collect()
}

fn scaled(estimate: Estimate, by: f64) -> Estimate {
    Estimate {
        point: estimate.point / by,
        ci_low: estimate.ci_low / by,
        ci_high: estimate.ci_high / by,
    }
}

fn orchestration(trials: &[&TrialRecord]) -> Option<Orchestration> {
    let reports: Vec<_> = trials
        .iter()
        .filter_map(|t| Some((t.runner.as_ref()?, t.measurement.as_ref()?)))
        .collect();
    if reports.is_empty() {
        return None;
    }
    let pick = |f: &dyn Fn(
        &(
            &crate::protocol::RunnerReport,
            &crate::run::record::Measurement,
        ),
    ) -> f64| { stats::median(&reports.iter().map(f).collect::<Vec<_>>()) };
    let interpreter_start_s = pick(&|(r, m)| (m.wall_s - r.phases.total()).max(0.0));
    let setup_s = pick(&|(r, _)| r.phases.setup);
    let pool_start_s = pick(&|(r, _)| r.phases.pool_start);
    let teardown_s = pick(&|(r, _)| r.phases.teardown);
    let sharing: Vec<_> = reports
        .iter()
        .filter_map(|(r, _)| r.sharing.as_ref())
        .collect();
    let sharing_cost_s = (!sharing.is_empty())
        .then(|| stats::median(&sharing.iter().map(|s| s.cost_s).collect::<Vec<_>>()));
    Some(Orchestration {
        interpreter_start_s,
        setup_s,
        pool_start_s,
        teardown_s,
        sharing_cost_s,
        sharing_method: sharing.first().map(|s| s.method.clone()),
        cluster: ClusterSteps::of(&reports.iter().map(|(r, _)| *r).collect::<Vec<_>>()),
    })
}

/// Summarises one cell.
fn cell_summary(
    run: &RunFile,
    cell: &CellKey,
    all: &[TrialRecord],
    measured: &BTreeMap<&CellKey, Vec<&TrialRecord>>,
    stops: &BTreeMap<CellKey, StopReason>,
) -> CellSummary {
    let mine: Vec<&TrialRecord> = measured.get(cell).cloned().unwrap_or_default();
    let of_cell = || all.iter().filter(move |t| &t.cell == cell);
    let failed = of_cell()
        .filter(|t| t.status == TrialStatus::Failed)
        .count() as u32;
    let skip_reason = of_cell()
        .find(|t| t.status == TrialStatus::Skipped)
        .map(|t| t.skip_reason.clone().unwrap_or_default());
    let state = if !mine.is_empty() {
        CellState::Measured
    } else if skip_reason.is_some() {
        CellState::Skipped
    } else if failed > 0 {
        CellState::Failed
    } else {
        CellState::Pending
    };
    let seed = seed_of(cell);
    let work = work_samples(&mine);
    let wall = wall_samples(&mine);
    let baseline: Vec<&TrialRecord> = measured.get(&cell.baseline()).cloned().unwrap_or_default();
    let base_work = work_samples(&baseline);
    let base_wall = wall_samples(&baseline);
    let speedup = (!work.is_empty() && !base_work.is_empty())
        .then(|| stats::ratio_of_medians(&base_work, &work, seed));
    let end_to_end_speedup = (!wall.is_empty() && !base_wall.is_empty())
        .then(|| stats::ratio_of_medians(&base_wall, &wall, seed ^ 1));
    let usable = run.settings.usable_cores.max(1);
    let efficiency = speedup.map(|s| scaled(s, f64::from(cell.workers.min(usable).max(1))));
    let parallelism: Vec<f64> = mine
        .iter()
        .filter_map(|t| t.measurement.as_ref().map(|m| m.parallelism))
        .collect();
    let work_parallelism: Vec<f64> = mine
        .iter()
        .filter_map(|t| t.measurement.as_ref()?.work_parallelism)
        .collect();
    let memory: Vec<f64> = mine
        .iter()
        .filter_map(|t| t.measurement.as_ref().map(|m| m.peak_memory_bytes as f64))
        .collect();
    let gil_states: Vec<bool> = mine
        .iter()
        .filter_map(|t| t.runner.as_ref()?.gil_seen_on())
        .collect();
    CellSummary {
        cell: cell.clone(),
        state,
        skip_reason,
        stop: stops.get(cell).copied(),
        trials: mine.len() as u32,
        failed,
        work: (!work.is_empty()).then(|| Summary::of(&work, seed)),
        wall: (!wall.is_empty()).then(|| Summary::of(&wall, seed ^ 2)),
        speedup,
        end_to_end_speedup,
        efficiency,
        parallelism: (!parallelism.is_empty()).then(|| Summary::of(&parallelism, seed ^ 3)),
        work_parallelism: (!work_parallelism.is_empty())
            .then(|| Summary::of(&work_parallelism, seed ^ 4)),
        peak_memory_bytes: (!memory.is_empty()).then(|| stats::median(&memory) as u64),
        orchestration: orchestration(&mine),
        digest: mine
            .iter()
            .find_map(|t| Some(t.runner.as_ref()?.digest.clone())),
        gil_enabled: (!gil_states.is_empty()).then(|| gil_states.iter().any(|&on| on)),
    }
}

/// How a cell is named for humans: `threads ×2 on CPython 3.13.5t`.
pub fn describe(run: &RunFile, cell: &CellKey) -> String {
    let label = run
        .interpreter(&cell.interpreter)
        .map_or(cell.interpreter.as_str(), |i| i.label.as_str());
    if cell.is_baseline() {
        format!("{} on {label}", cell.approach)
    } else {
        format!("{} ×{} on {label}", cell.approach, cell.workers)
    }
}

/// The winner of one scenario among its Python cells, by median work-phase
/// time; a cell is only called faster when the rank test says so.
fn scenario_verdict(
    run: &RunFile,
    scenario: &str,
    cells: &[CellSummary],
    measured: &BTreeMap<&CellKey, Vec<&TrialRecord>>,
) -> ScenarioVerdict {
    let python = |c: &&CellSummary| {
        run.interpreter(&c.cell.interpreter)
            .is_none_or(|i| i.kind == InterpreterKind::Python)
    };
    let mut ranked: Vec<(&CellSummary, f64)> = cells
        .iter()
        .filter(|c| c.cell.scenario == scenario)
        .filter(python)
        .filter_map(|c| Some((c, c.work.as_ref()?.median)))
        .collect();
    ranked.sort_by(|a, b| a.1.total_cmp(&b.1));
    let Some(&(best, best_median)) = ranked.first() else {
        return ScenarioVerdict {
            scenario: scenario.into(),
            winner: None,
            tied_with: vec![],
            runner_up: None,
            explanation: format!("no Python cell of `{scenario}` was measured"),
        };
    };
    let best_work = work_samples(measured.get(&best.cell).map_or(&[][..], |v| v));
    let mut tied_with = Vec::new();
    let mut runner_up: Option<(CellKey, Comparison)> = None;
    for &(other, _) in ranked.iter().skip(1) {
        let other_work = work_samples(measured.get(&other.cell).map_or(&[][..], |v| v));
        let comparison = Comparison::of(
            &other_work,
            &best_work,
            stats::DEFAULT_ALPHA,
            seed_of(&best.cell),
        );
        if comparison.verdict != Verdict::Faster {
            tied_with.push(other.cell.clone());
        }
        if runner_up.is_none() {
            runner_up = Some((other.cell.clone(), comparison));
        }
    }
    let speedup = best
        .speedup
        .filter(|_| !best.cell.is_baseline())
        .map(|s| format!(", {:.2}x its sequential", s.point))
        .unwrap_or_default();
    let explanation = match (&runner_up, tied_with.is_empty()) {
        (None, _) => format!(
            "{} is the only measured cell ({:.3} s of work)",
            describe(run, &best.cell),
            best_median
        ),
        (Some((second, comparison)), true) => format!(
            "{} wins by steady-state work time ({:.3} s{speedup}); it is faster than the runner-up, {}, by {:.0}% (Mann-Whitney p = {:.3})",
            describe(run, &best.cell),
            best_median,
            describe(run, second),
            (1.0 - comparison.ratio.point) * 100.0,
            comparison.test.p_value
        ),
        (Some(_), false) => {
            let mut names: Vec<String> =
                tied_with.iter().take(3).map(|c| describe(run, c)).collect();
            if tied_with.len() > 3 {
                names.push(format!("{} more", tied_with.len() - 3));
            }
            format!(
                "tie: {} has the lowest median work time ({:.3} s{speedup}), but {} {} within noise of it (Mann-Whitney at {:.0}%)",
                describe(run, &best.cell),
                best_median,
                names.join(", "),
                if tied_with.len() == 1 { "is" } else { "are" },
                stats::DEFAULT_ALPHA * 100.0
            )
        }
    };
    ScenarioVerdict {
        scenario: scenario.into(),
        winner: Some(best.cell.clone()),
        tied_with,
        runner_up: runner_up.map(|(cell, _)| cell),
        explanation,
    }
}

/// The warnings about cells and trials.
fn cell_warnings(run: &RunFile, cells: &[CellSummary], trials: &[TrialRecord]) -> Vec<Warning> {
    let mut warnings = Vec::new();
    let target = run.settings.target_rel_ci;
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
    let imprecise: Vec<&CellSummary> = cells
        .iter()
        .filter(|c| {
            c.work
                .as_ref()
                .is_some_and(|w| w.relative_half_width() > target)
        })
        .collect();
    if !imprecise.is_empty() {
        let budget = imprecise
            .iter()
            .filter(|c| c.stop == Some(StopReason::Budget))
            .count();
        let max_runs = imprecise
            .iter()
            .filter(|c| c.stop == Some(StopReason::MaxRuns))
            .count();
        warnings.push(Warning {
            kind: WarningKind::Imprecise,
            cell: None,
            message: format!(
                "{} cell(s) stopped with a CI wider than ±{:.0}% of the median ({budget} by the time budget, {max_runs} at --max-runs): raise --budget or --max-runs for tighter figures",
                imprecise.len(),
                target * 100.0
            ),
        });
    }
    warnings
}

/// Summarises a run from its records. `stops` says which condition stopped
/// each cell; `machine_warnings` are the noise warnings of the machine report.
pub fn summarize(
    run: &RunFile,
    trials: &[TrialRecord],
    stops: &BTreeMap<CellKey, StopReason>,
    machine_warnings: &[String],
) -> RunSummary {
    let measured = measured_by_cell(trials);
    let cells: Vec<CellSummary> = run
        .plan
        .iter()
        .map(|planned| cell_summary(run, &planned.cell, trials, &measured, stops))
        .collect();
    let scenarios: Vec<String> = {
        let mut seen = BTreeSet::new();
        run.plan
            .iter()
            .map(|p| p.cell.scenario.clone())
            .filter(|s| seen.insert(s.clone()))
            .collect()
    };
    let verdicts = scenarios
        .iter()
        .map(|s| scenario_verdict(run, s, &cells, &measured))
        .collect();
    let mut warnings: Vec<Warning> = machine_warnings
        .iter()
        .map(|message| Warning {
            kind: WarningKind::Noise,
            cell: None,
            message: message.clone(),
        })
        .collect();
    warnings.extend(cell_warnings(run, &cells, trials));
    let pending = cells
        .iter()
        .filter(|c| c.state == CellState::Pending)
        .count();
    if pending > 0 {
        warnings.push(Warning {
            kind: WarningKind::Incomplete,
            cell: None,
            message: format!(
                "{pending} cell(s) have no finished trial yet: complete the run with --resume"
            ),
        });
    }
    let mut reference_digests = BTreeMap::new();
    for trial in trials {
        let planned = run.plan.iter().find(|p| p.cell == trial.cell);
        if let (Some(reference), TrialStatus::Ok, Some(planned)) =
            (&trial.reference_digest, trial.status, planned)
        {
            reference_digests
                .entry(planned.reference_key())
                .or_insert_with(|| reference.clone());
        }
    }
    let totals = Totals {
        trials: trials.len() as u64,
        measured: trials.iter().filter(|t| t.is_measured()).count() as u64,
        warmups: trials.iter().filter(|t| t.warmup).count() as u64,
        failed: trials
            .iter()
            .filter(|t| t.status == TrialStatus::Failed)
            .count() as u64,
        trial_time_s: trials.iter().filter_map(|t| t.wall_s()).sum(),
    };
    RunSummary {
        cells,
        scenarios: verdicts,
        warnings,
        totals,
        reference_digests,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::fixtures::{cell, run_file, trial};
    use crate::run::record::Failure;

    #[test]
    fn speedup_efficiency_and_the_winner_come_from_the_trials() {
        let sequential = cell("py", "sequential", 1);
        let threads = cell("py", "threads", 2);
        let run = run_file(&[sequential.clone(), threads.clone()]);
        let mut trials = vec![trial(0, &sequential, 0, true, 9.0)];
        for (i, jitter) in [0.0, 0.01, -0.01, 0.02, -0.02].iter().enumerate() {
            let i = i as u64;
            trials.push(trial(
                1 + 2 * i,
                &sequential,
                1 + i as u32,
                false,
                1.0 + jitter,
            ));
            trials.push(trial(
                2 + 2 * i,
                &threads,
                i as u32,
                false,
                0.5 + jitter / 2.0,
            ));
        }
        let summary = summarize(&run, &trials, &BTreeMap::new(), &[]);
        let seq = &summary.cells[0];
        assert_eq!(seq.trials, 5, "the warmup is left out");
        assert_eq!(seq.work.as_ref().unwrap().median, 1.0);
        let thr = &summary.cells[1];
        let speedup = thr.speedup.unwrap();
        assert!((speedup.point - 2.0).abs() < 1e-9, "{speedup:?}");
        assert!(speedup.ci_low <= 2.0 && 2.0 <= speedup.ci_high);
        assert!((thr.efficiency.unwrap().point - 1.0).abs() < 1e-9);
        let e2e = thr.end_to_end_speedup.unwrap().point;
        assert!((e2e - 1.05 / 0.55).abs() < 1e-9, "{e2e}");
        let orchestration = thr.orchestration.as_ref().unwrap();
        assert!((orchestration.interpreter_start_s - (0.55 - 0.513)).abs() < 1e-9);
        assert_eq!(thr.gil_enabled, Some(true));
        let verdict = &summary.scenarios[0];
        assert_eq!(verdict.winner.as_ref(), Some(&threads));
        assert!(verdict.tied_with.is_empty());
        assert!(
            verdict.explanation.contains("wins"),
            "{}",
            verdict.explanation
        );
        assert_eq!(summary.totals.measured, 10);
        assert_eq!(summary.totals.warmups, 1);
    }

    #[test]
    fn overlapping_cells_tie_and_failures_and_skips_are_warned_about() {
        let sequential = cell("py", "sequential", 1);
        let threads = cell("py", "threads", 2);
        let interpreters = cell("py", "interpreters", 2);
        let run = run_file(&[sequential.clone(), threads.clone(), interpreters.clone()]);
        let mut trials = Vec::new();
        for (i, work) in [1.0, 1.02, 0.98, 1.01, 0.99].iter().enumerate() {
            trials.push(trial(i as u64, &sequential, i as u32, false, *work));
            trials.push(trial(
                10 + i as u64,
                &threads,
                i as u32,
                false,
                work + 0.005,
            ));
        }
        let mut failed = trial(20, &threads, 5, false, 1.0);
        failed.status = TrialStatus::Failed;
        failed.failure = Some(Failure {
            kind: FailureKind::DigestMismatch,
            message: "digest 1 differs".into(),
        });
        trials.push(failed);
        let mut skipped = trial(21, &interpreters, 0, true, 0.0);
        skipped.status = TrialStatus::Skipped;
        skipped.skip_reason = Some("no subinterpreters".into());
        skipped.runner = None;
        trials.push(skipped);
        let summary = summarize(&run, &trials, &BTreeMap::new(), &["load is high".into()]);
        assert!(
            summary.scenarios[0].explanation.starts_with("tie"),
            "{}",
            summary.scenarios[0].explanation
        );
        assert_eq!(summary.cells[2].state, CellState::Skipped);
        assert_eq!(summary.cells[1].failed, 1);
        let kinds: Vec<WarningKind> = summary.warnings.iter().map(|w| w.kind).collect();
        for kind in [
            WarningKind::Noise,
            WarningKind::Digest,
            WarningKind::Skipped,
        ] {
            assert!(kinds.contains(&kind), "{kind:?} in {:?}", summary.warnings);
        }
        let digest = summary
            .warnings
            .iter()
            .find(|w| w.kind == WarningKind::Digest)
            .unwrap();
        assert!(digest.message.contains("CORRECTNESS FAILURE"));
    }
}
