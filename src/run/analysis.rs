//! The statistics of a run, computed from its trial records: per cell the
//! median work-phase time with its CI, speedups (paired over rounds; flagged
//! when beyond the cores), efficiency, parallelism, memory and orchestration
//! cost; per scenario the verdict ([`super::verdict`]); the machine's drift;
//! and the warnings ([`super::warnings`]).

use std::collections::{BTreeMap, BTreeSet};

use super::cluster_steps::ClusterSteps;
use crate::run::pairing::Rounds;
use crate::run::record::{
    CellKey, CellState, CellSummary, Drift, FailureKind, Orchestration, RunFile, RunSummary,
    SpeedupFlag, StopReason, Totals, TrialRecord, TrialStatus, Warning, WarningKind,
};
use crate::run::thread_states::StateShares;
use crate::run::{verdict, warnings};
use crate::stats::{self, Estimate, Summary};
use crate::vocabulary::WorkKind;

/// A stable seed per cell, so that the same trials always give the same CIs.
fn seed_of(cell: &CellKey) -> u64 {
    crate::hash::fnv1a_64(cell.to_string().as_bytes())
}

/// The measured trials of each cell.
fn measured_by_cell<'a>(
    run: &RunFile,
    trials: &'a [TrialRecord],
) -> BTreeMap<&'a CellKey, Vec<&'a TrialRecord>> {
    // A task's cell that gave a wrong result once is measured no more: its
    // times are never a speedup nor a winner (a racy task can be right by
    // luck). docs/tasks.md
    let task = run.task.as_ref().map(|t| t.name.as_str());
    let wrong: BTreeSet<&CellKey> = trials
        .iter()
        .filter(|t| Some(t.cell.scenario.as_str()) == task)
        .filter(|t| t.failure.as_ref().map(|f| f.kind) == Some(FailureKind::DigestMismatch))
        .map(|t| &t.cell)
        .collect();
    let mut by_cell: BTreeMap<&CellKey, Vec<&TrialRecord>> = BTreeMap::new();
    for trial in trials
        .iter()
        .filter(|t| t.is_measured() && !wrong.contains(&t.cell))
    {
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
    rounds: &Rounds<'_>,
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
    // Paired over the rounds both ran in; a run without two common rounds
    // (e.g. `--runs 1`) falls back on the ratio of the medians.
    let baseline_key = cell.baseline();
    let work_pairs = rounds.pairs(&baseline_key, cell, TrialRecord::work_s);
    // Only a cell with measured trials of its own has a speedup (a task's
    // cell that gave a wrong result has none).
    let ratio = |pairs: &[(f64, f64)], base: &[f64], mine: &[f64], seed: u64| {
        if mine.is_empty() || base.is_empty() {
            return None;
        }
        stats::paired_ratio(pairs).or_else(|| {
            (!base.is_empty() && !mine.is_empty())
                .then(|| stats::ratio_of_medians(base, mine, seed))
        })
    };
    let speedup = ratio(&work_pairs, &base_work, &work, seed);
    let wall_pairs = rounds.pairs(&baseline_key, cell, TrialRecord::wall_s);
    let end_to_end_speedup = ratio(&wall_pairs, &base_wall, &wall, seed ^ 1);
    let usable = run.settings.usable_cores.max(1);
    let limit = f64::from(cell.workers.min(usable).max(1));
    let efficiency = speedup.map(|s| scaled(s, limit));
    // CPU-bound: a built-in scenario by its kind, a team's task by its
    // sequential cell's CPU share (waiting work may exceed the cores).
    let cpu_bound = WorkKind::of_scenario(&cell.scenario).map_or_else(
        || {
            let shares: Vec<f64> = baseline
                .iter()
                .filter_map(|t| t.measurement.as_ref().map(|m| m.parallelism))
                .collect();
            !shares.is_empty()
                && WorkKind::of_cpu_share(stats::median(&shares)) == WorkKind::CpuBound
        },
        |kind| kind == WorkKind::CpuBound,
    );
    let speedup_flag = speedup
        .filter(|s| !cell.is_baseline() && cpu_bound && s.point > limit)
        .map(|s| SpeedupFlag {
            limit,
            beyond_ci: s.ci_low > limit,
        });
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
    let rss: Vec<f64> = mine
        .iter()
        .filter_map(|t| Some(t.measurement.as_ref()?.peak_rss_bytes? as f64))
        .collect();
    let thread_states: Vec<StateShares> = mine
        .iter()
        .filter_map(|t| t.measurement.as_ref()?.thread_states)
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
        speedup_flag,
        paired_rounds: if cell.is_baseline() {
            0
        } else {
            work_pairs.len() as u32
        },
        parallelism: (!parallelism.is_empty()).then(|| Summary::of(&parallelism, seed ^ 3)),
        work_parallelism: (!work_parallelism.is_empty())
            .then(|| Summary::of(&work_parallelism, seed ^ 4)),
        peak_memory_bytes: (!memory.is_empty()).then(|| stats::median(&memory) as u64),
        peak_rss_bytes: (!rss.is_empty()).then(|| stats::median(&rss) as u64),
        thread_states: StateShares::mean(&thread_states),
        orchestration: orchestration(&mine),
        digest: mine
            .iter()
            .find_map(|t| Some(t.runner.as_ref()?.digest.clone())),
        gil_enabled: (!gil_states.is_empty()).then(|| gil_states.iter().any(|&on| on)),
        limit_peak_bytes: mine
            .iter()
            .filter_map(|t| t.measurement.as_ref()?.limit_peak_bytes)
            .max(),
        over_memory_limit: super::memory_limit::OverLimit::of_cell(
            run.settings.memory_limit.as_ref(),
            of_cell(),
        ),
    }
}

/// Summarises a run from its records. `stops` says which condition stopped
/// each cell; `machine_warnings` are the noise warnings of the machine report.
pub fn summarize(
    run: &RunFile,
    trials: &[TrialRecord],
    stops: &BTreeMap<CellKey, StopReason>,
    machine_warnings: &[String],
) -> RunSummary {
    let measured = measured_by_cell(run, trials);
    let rounds = Rounds::new(trials);
    let cells: Vec<CellSummary> = run
        .plan
        .iter()
        .map(|planned| cell_summary(run, &planned.cell, trials, &measured, &rounds, stops))
        .collect();
    let mut wrong: BTreeMap<&CellKey, u32> = BTreeMap::new();
    for trial in trials {
        if trial
            .failure
            .as_ref()
            .is_some_and(|f| f.kind == FailureKind::DigestMismatch)
        {
            *wrong.entry(&trial.cell).or_default() += 1;
        }
    }
    let scenarios: Vec<String> = {
        let mut seen = BTreeSet::new();
        run.plan
            .iter()
            .map(|p| p.cell.scenario.clone())
            .filter(|s| seen.insert(s.clone()))
            .collect()
    };
    let verdicts: Vec<_> = scenarios
        .iter()
        .map(|s| verdict::scenario_verdict(run, s, &cells, &rounds, &wrong))
        .collect();
    let drift = drift(trials);
    let mut warnings: Vec<Warning> = machine_warnings
        .iter()
        .map(|message| Warning {
            kind: WarningKind::Noise,
            cell: None,
            message: message.clone(),
        })
        .collect();
    warnings.extend(warnings::cell_warnings(run, &cells, trials));
    warnings.extend(warnings::imprecise_verdicts(run, &cells, &verdicts));
    warnings.extend(warnings::drift_warning(drift.as_ref()));
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
        drift,
    }
}

/// The machine's drift from the reference loop timed before each round
/// (needs 3 rounds).
fn drift(trials: &[TrialRecord]) -> Option<Drift> {
    let by_round: BTreeMap<u32, f64> = trials
        .iter()
        .filter_map(|t| Some((t.round.as_ref()?.number, t.round.as_ref()?.reference_s?)))
        .collect();
    let times: Vec<f64> = by_round.into_values().collect();
    if times.len() < 3 {
        return None;
    }
    let third = times.len().div_ceil(3);
    Some(Drift {
        rounds: times.len() as u32,
        first_s: stats::median(&times[..third]),
        last_s: stats::median(&times[times.len() - third..]),
        min_s: times.iter().copied().fold(f64::INFINITY, f64::min),
        max_s: times.iter().copied().fold(0.0, f64::max),
    })
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
                1 + i as u32,
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
        assert!(e2e > 1.88 && e2e < 1.92, "{e2e}: wall = work + 0.05 s");
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
        let processes = cell("py", "processes", 2);
        let run = run_file(&[
            sequential.clone(),
            threads.clone(),
            interpreters.clone(),
            processes.clone(),
        ]);
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
        // Faster, but wrong once: never the winner.
        let mut wrong = trial(19, &processes, 0, false, 0.4);
        wrong.round = None;
        trials.push(wrong);
        let mut failed = trial(20, &processes, 1, false, 0.4);
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
        let verdict = &summary.scenarios[0];
        assert!(
            verdict.explanation.starts_with("tie within ±5%"),
            "{}",
            verdict.explanation
        );
        assert_eq!(verdict.decision(), crate::run::record::Decision::Tie);
        assert_ne!(verdict.winner.as_ref(), Some(&processes));
        let excluded = verdict
            .standings
            .iter()
            .find(|s| s.cell == processes)
            .unwrap();
        assert_eq!(
            excluded.standing,
            crate::run::record::StandingKind::Excluded
        );
        assert_eq!(summary.cells[2].state, CellState::Skipped);
        assert_eq!(summary.cells[3].failed, 1);
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

    #[test]
    fn a_speedup_beyond_the_cores_is_flagged_and_cannot_win() {
        let sequential = cell("py", "sequential", 1);
        let threads = cell("py", "threads", 2);
        let processes = cell("py", "processes", 2);
        let run = run_file(&[sequential.clone(), threads.clone(), processes.clone()]);
        let mut trials = Vec::new();
        for (i, jitter) in [0.0, 0.01, -0.01, 0.005].iter().enumerate() {
            let round = i as u32;
            trials.push(trial(3 * i as u64, &sequential, round, false, 1.0));
            // 2.5× on 2 cores, with a CI far above 2: noise.
            trials.push(trial(
                3 * i as u64 + 1,
                &processes,
                round,
                false,
                0.4 + jitter,
            ));
            // 2.02× whose CI reaches below 2: flagged, still a candidate.
            let noisy = if i % 2 == 0 { 0.47 } else { 0.52 };
            trials.push(trial(3 * i as u64 + 2, &threads, round, false, noisy));
        }
        let summary = summarize(&run, &trials, &BTreeMap::new(), &[]);
        let flag = summary.cells[2].speedup_flag.unwrap();
        assert_eq!((flag.limit, flag.beyond_ci), (2.0, true));
        let flag = summary.cells[1].speedup_flag.unwrap();
        assert!(!flag.beyond_ci, "{:?}", summary.cells[1].speedup);
        assert!(summary.cells[0].speedup_flag.is_none());
        let verdict = &summary.scenarios[0];
        assert_eq!(verdict.winner.as_ref(), Some(&threads));
        let impossible: Vec<_> = summary
            .warnings
            .iter()
            .filter(|w| w.kind == WarningKind::Impossible)
            .collect();
        assert_eq!(impossible.len(), 2, "{impossible:?}");
        assert!(impossible[0].message.starts_with("NOISE:"));
        // A baseline that had 40% of a core: the reason, said.
        let starved: Vec<_> = trials
            .iter()
            .cloned()
            .map(|mut t| {
                if t.cell == sequential {
                    t.measurement.as_mut().unwrap().work_parallelism = Some(0.4);
                }
                t
            })
            .collect();
        let summary = summarize(&run, &starved, &BTreeMap::new(), &[]);
        assert!(
            summary.warnings.iter().any(|w| w.kind == WarningKind::Noise
                && w.message.contains("cpu sequential on CPython 3.13.5 (40%)")),
            "{:?}",
            summary.warnings
        );
        // Processes ×2 that used one core of the two: held back, said.
        let held: Vec<_> = trials
            .iter()
            .cloned()
            .map(|mut t| {
                if t.cell == processes {
                    t.measurement.as_mut().unwrap().work_parallelism = Some(1.0);
                }
                t
            })
            .collect();
        let summary = summarize(&run, &held, &BTreeMap::new(), &[]);
        assert!(
            summary
                .warnings
                .iter()
                .any(|w| w.kind == WarningKind::Noise && w.message.contains("(1.00 of 2 cores)")),
            "{:?}",
            summary.warnings
        );
        // The io and mixed scenarios wait: their speedups are not bounded by cores.
        let mut io = run.clone();
        for planned in &mut io.plan {
            planned.cell.scenario = "io".into();
        }
        let io_trials: Vec<_> = trials
            .iter()
            .cloned()
            .map(|mut t| {
                t.cell.scenario = "io".into();
                t
            })
            .collect();
        let summary = summarize(&io, &io_trials, &BTreeMap::new(), &[]);
        assert!(summary.cells.iter().all(|c| c.speedup_flag.is_none()));
    }
}
