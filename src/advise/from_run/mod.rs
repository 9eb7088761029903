//! Advice from a run's measured numbers, per scenario, following the run's
//! verdict (`run::verdict`: paired rounds, a winner, a tie within a margin,
//! or undecided): the winner; in a tie, the simplest of the cells proven
//! equivalent to the leader (sequential < threads < asyncio < processes <
//! subinterpreters < distributed), saying so; when undecided, the leader so
//! far, what is open and the command that settles it ([`undecided`]:
//! undecided is not a tie). Threads on a GIL build are never recommended
//! for CPU-bound Python work unless they were measured fastest. With its margin over the
//! runner-up (the fastest cell of another approach) paired over rounds, and
//! the costs beyond time: peak memory, orchestration, the free-threading
//! single-thread cost, a GIL turned back on, digest failures, speedups
//! beyond the cores.
//!
//! [`view`] gathers what the advice needs of the run; this file picks the
//! recommendation and writes its headline; [`reasons`] adds the costs,
//! warnings and alternatives, [`measure`](mod@measure) the `bench` commands
//! that would settle what the run leaves open, [`memory_fit`] the cells
//! that do not fit in `--memory-limit`.

pub mod distribution;
pub mod measure;
mod memory_fit;
pub mod readiness;
pub mod reasons;
pub mod service;
pub mod task;
pub mod undecided;
pub mod view;

use crate::run::LoadedRun;
use crate::run::format::format_seconds;
use crate::run::record::{CellSummary, Decision, StandingKind, WarningKind};
use crate::stats::{self, Verdict};

use super::advice::{self, Advice, Basis, Margin, Recommendation};
use super::finding::AdvisedApproach;
use measure::measure;
use reasons::{
    alternatives, costs_against, free_threading_cost, lock_wait_evidence, warn_about_figures,
};
use undecided::{gil_threads_barred, undecided_headline, undecided_pick, undecided_reasons};
use view::{RunView, median_of, ratio_text};

/// How simple a cell's way of running is: approach first, then a default
/// build before a free-threaded one, then fewer workers.
fn simplicity(view: &RunView, c: &CellSummary) -> (AdvisedApproach, bool, u32) {
    (
        AdvisedApproach::measured(c.cell.approach),
        view.free_threaded(&c.cell),
        c.cell.workers,
    )
}

/// The advice for every scenario of a run.
pub fn for_run(loaded: &LoadedRun) -> Advice {
    let view = RunView::new(loaded);
    let mut scenarios: Vec<String> = view
        .summary
        .scenarios
        .iter()
        .map(|s| s.scenario.clone())
        .collect();
    for c in &view.summary.cells {
        if !scenarios.contains(&c.cell.scenario) {
            scenarios.push(c.cell.scenario.clone());
        }
    }
    let mut recommendations: Vec<Recommendation> =
        scenarios.iter().map(|s| for_scenario(&view, s)).collect();
    if let Some(verdict) = crate::task::verdict::of_run(loaded) {
        task::amend(&mut recommendations, &verdict, &loaded.run);
    }
    if let Some(run) = &loaded.service {
        recommendations.push(service::recommend(run));
    }
    let facts = advice::cited_by(&recommendations);
    Advice {
        basis: Basis::Run,
        run_dir: Some(loaded.dir.clone()),
        situation: None,
        // A busy machine blurs every comparison: ties become likelier.
        warnings: view
            .summary
            .warnings
            .iter()
            .filter(|w| w.kind == WarningKind::Noise)
            .map(|w| format!("noisy machine: {}", w.message))
            .collect(),
        lessons: crate::run::lesson::lesson(&loaded.run, view.summary)
            .map(|l| l.conclusions)
            .unwrap_or_default(),
        recommendations,
        facts,
    }
}

fn for_scenario(view: &RunView, scenario: &str) -> Recommendation {
    let mut rec = Recommendation::new(scenario);
    warn_about_figures(view, scenario, &mut rec);
    let candidates = view.candidates(scenario);
    let Some(fastest) = candidates
        .iter()
        .copied()
        .min_by(|a, b| median_of(a).total_cmp(&median_of(b)))
    else {
        memory_fit::memory_fit(view, scenario, None, &mut rec);
        rec.approach = "none".into();
        rec.headline = format!(
            "{scenario}: nothing to recommend: no Python cell of this scenario was measured successfully"
        );
        rec.measure.push(format!(
            "gil-lab bench --scenario {}",
            crate::shell::quote(scenario)
        ));
        return rec;
    };
    // The cells not proven slower than the leader, as the run's verdict
    // judged them (paired over rounds); a summary stored before verdicts
    // had standings is judged here the same way.
    let verdict = view
        .summary
        .scenarios
        .iter()
        .find(|v| v.scenario == scenario && !v.standings.is_empty());
    // (A summary stored without standings is judged here the same way:
    // never a tie that was not proven.)
    let decision = verdict.map(|v| v.decision());
    let margin_of = verdict.map_or(crate::run::verdict::DEFAULT_MARGIN, |v| v.margin);
    let open = |c: &&CellSummary| {
        if c.cell == fastest.cell {
            return true;
        }
        match verdict {
            Some(v) => v.standings.iter().any(|s| {
                s.cell == c.cell
                    && matches!(
                        s.standing,
                        StandingKind::Leader
                            | StandingKind::Equivalent
                            | StandingKind::Undecided
                            | StandingKind::TooFewRounds
                    )
            }),
            None => {
                let pairs = view.pairs(&c.cell, &fastest.cell);
                !matches!(
                    stats::standing(&pairs, margin_of),
                    stats::Standing::Slower(_)
                )
            }
        }
    };
    let tied: Vec<&CellSummary> = candidates.iter().copied().filter(open).collect();
    let decision = decision.unwrap_or_else(|| {
        let mut decision = Decision::Winner;
        for c in tied.iter().filter(|c| c.cell != fastest.cell) {
            let pairs = view.pairs(&c.cell, &fastest.cell);
            match stats::standing(&pairs, margin_of) {
                stats::Standing::Equivalent(_) => decision = Decision::Tie,
                _ => return Decision::Undecided,
            }
        }
        decision
    });
    let kind = crate::run::mechanism::measured(&view.loaded.run, &view.summary.cells, scenario);
    let barred = |c: &CellSummary| gil_threads_barred(view, kind.as_ref(), c, fastest);
    let pick = if decision == Decision::Undecided {
        rec.undecided = true;
        undecided_pick(&candidates, &tied, &barred).unwrap_or(fastest)
    } else {
        // The tie rule: the simplest of the cells proven equivalent.
        tied.iter()
            .copied()
            .filter(|c| !barred(c))
            .min_by(|a, b| {
                simplicity(view, a)
                    .cmp(&simplicity(view, b))
                    .then(median_of(a).total_cmp(&median_of(b)))
            })
            .unwrap_or(fastest)
    };
    rec.tie = decision == Decision::Tie && tied.len() > 1;
    rec.approach = pick.cell.approach.to_string();
    rec.workers = Some(pick.cell.workers);
    rec.cell = Some(pick.cell.clone());
    rec.interpreter = view.interpreter(&pick.cell).map_or_else(
        || pick.cell.interpreter.clone(),
        |i| {
            if view.free_threaded(&pick.cell) {
                format!("{} (free-threaded)", i.label)
            } else {
                i.label.clone()
            }
        },
    );
    let work = pick.work.as_ref().expect("candidates have work times");
    rec.reasons.push(format!(
        "{}: median work phase {} (95% CI {}–{}) over {} trials",
        view.name(&pick.cell),
        format_seconds(work.median),
        format_seconds(work.ci_low),
        format_seconds(work.ci_high),
        work.n
    ));
    if let Some(s) = pick.speedup.filter(|_| !pick.cell.is_baseline()) {
        rec.reasons.push(format!(
            "speedup (work phase) {}{}",
            ratio_text(&s),
            crate::run::format::noise_note(pick)
        ));
    }
    if let Some(s) = pick.end_to_end_speedup.filter(|_| !pick.cell.is_baseline()) {
        rec.reasons.push(format!(
            "end-to-end speedup (whole-trial wall time, orchestration included) {}",
            ratio_text(&s)
        ));
    }
    if rec.undecided {
        undecided_reasons(view, pick, fastest, &tied, kind.as_ref(), &mut rec);
    }
    if rec.tie {
        let mut others: Vec<String> = tied
            .iter()
            .filter(|c| c.cell != pick.cell)
            .map(|c| view.name(&c.cell))
            .collect();
        let count = others.len();
        if count > 4 {
            others.truncate(3);
            others.push(format!("{} more", count - 3));
        }
        let how = format!(
            "equivalent within ±{:.0}% (paired rounds)",
            margin_of * 100.0
        );
        rec.reasons.push(format!(
            "tie: {} and {} are {how}: the simpler approach is preferred (sequential < threads < asyncio < processes < subinterpreters < distributed; a default build before a free-threaded one; fewer workers)",
            others.join(", "),
            if pick.cell == fastest.cell { "it".to_string() } else { view.name(&pick.cell) },
        ));
        if pick.cell != fastest.cell {
            rec.reasons.push(format!(
                "{} has the lowest median ({}), but is not proven faster",
                view.name(&fastest.cell),
                format_seconds(median_of(fastest))
            ));
        }
    }
    // The runner-up: the fastest cell of another approach (else any other).
    let others = || candidates.iter().copied().filter(|c| c.cell != pick.cell);
    let runner_up = others()
        .filter(|c| c.cell.approach != pick.cell.approach)
        .min_by(|a, b| median_of(a).total_cmp(&median_of(b)))
        .or_else(|| others().min_by(|a, b| median_of(a).total_cmp(&median_of(b))));
    if let Some(second) = runner_up {
        let (ratio, rounds) = view.ratio(&pick.cell, &second.cell);
        let verdict = if ratio.ci_low >= 1.0 - margin_of && ratio.ci_high <= 1.0 + margin_of {
            Verdict::Tie
        } else if ratio.ci_high < 1.0 {
            Verdict::Faster
        } else if ratio.ci_low > 1.0 {
            Verdict::Slower
        } else {
            Verdict::Tie
        };
        let margin = Margin {
            runner_up: view.name(&second.cell),
            ratio,
            rounds,
            verdict,
        };
        rec.reasons.push(format!(
            "margin over the runner-up, {}: work time {} of its, paired over {} rounds: {}",
            margin.runner_up,
            ratio_text(&margin.ratio),
            margin.rounds,
            match margin.verdict {
                Verdict::Faster => "faster",
                Verdict::Slower =>
                    "slower (a simpler approach not separated from the fastest was preferred)",
                Verdict::Tie => "not separated",
            }
        ));
        costs_against(view, pick, second, &mut rec);
        rec.margin = Some(margin);
    }
    rec.headline = headline(view, scenario, pick, &rec, decision);
    lock_wait_evidence(view, scenario, &mut rec);
    free_threading_cost(view, scenario, &mut rec);
    distribution::distributing(view, scenario, &mut rec);
    alternatives(view, scenario, pick, &candidates, &tied, &mut rec);
    measure(view, scenario, pick, runner_up, &mut rec);
    memory_fit::memory_fit(view, scenario, Some(&pick.cell), &mut rec);
    rec
}

fn headline(
    view: &RunView,
    scenario: &str,
    pick: &CellSummary,
    rec: &Recommendation,
    decision: Decision,
) -> String {
    let name = view.name(&pick.cell);
    if decision == Decision::Undecided {
        return undecided_headline(view, scenario, pick, rec);
    }
    match (&rec.margin, rec.tie) {
        (_, true) => {
            format!("{scenario}: {name} (a tie; the simpler approach is recommended)")
        }
        (Some(m), false) => format!(
            "{scenario}: {name}, {:.0}% less work time than the runner-up, {}",
            (1.0 - m.ratio.point) * 100.0,
            m.runner_up
        ),
        (None, false) => format!("{scenario}: {name} (the only cell measured)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::fixtures::{cell, run_file, trial, with_free_threaded};
    use crate::run::record::{CellKey, FailureKind};
    use crate::run::record::{Failure, TrialRecord, TrialStatus};

    fn loaded(cells: &[(CellKey, &[f64])], free_threaded: bool) -> LoadedRun {
        let keys: Vec<CellKey> = cells.iter().map(|(c, _)| c.clone()).collect();
        let mut run = run_file(&keys);
        if free_threaded {
            with_free_threaded(&mut run);
        }
        let mut trials: Vec<TrialRecord> = Vec::new();
        for (key, work) in cells {
            for (i, w) in work.iter().enumerate() {
                trials.push(trial(trials.len() as u64, key, i as u32, false, *w));
            }
        }
        LoadedRun::new("/runs/x".into(), run, trials)
    }

    const FAST: &[f64] = &[0.50, 0.51, 0.49, 0.52, 0.50, 0.51];
    const SLOW: &[f64] = &[1.00, 1.02, 0.99, 1.01, 1.03, 0.98];

    #[test]
    fn a_digest_failure_leaves_the_cell_out_and_is_a_warning() {
        let seq = cell("py", "sequential", 1);
        let threads = cell("py", "threads", 2);
        let mut run = loaded(&[(seq.clone(), SLOW), (threads.clone(), FAST)], false);
        let mut bad = trial(99, &threads, 9, false, 0.5);
        bad.status = TrialStatus::Failed;
        bad.failure = Some(Failure {
            kind: FailureKind::DigestMismatch,
            message: "digest differs".into(),
        });
        run.trials.push(bad);
        let rec = &for_run(&run).recommendations[0];
        assert_eq!(rec.approach, "sequential", "{rec:#?}");
        assert!(rec.warnings[0].starts_with("CORRECTNESS FAILURE: threads ×2"));
    }

    #[test]
    fn a_gil_turned_back_on_and_the_free_threading_cost_are_reported() {
        let seq = cell("py", "sequential", 1);
        let ft_seq = cell("pyt", "sequential", 1);
        let ft_threads = cell("pyt", "threads", 2);
        let slower: Vec<f64> = SLOW.iter().map(|w| w * 1.3).collect();
        // 1.73× its sequential: within what 2 cores allow.
        let threads: Vec<f64> = FAST.iter().map(|w| w * 1.5).collect();
        let mut run = loaded(
            &[
                (seq, SLOW),
                (ft_seq, &slower),
                (ft_threads.clone(), &threads),
            ],
            true,
        );
        for t in run.trials.iter_mut().filter(|t| t.cell == ft_threads) {
            t.runner.as_mut().unwrap().gil_enabled_end = Some(true);
        }
        let advice = for_run(&run);
        let rec = &advice.recommendations[0];
        assert_eq!(rec.approach, "threads");
        assert!(rec.interpreter.ends_with("(free-threaded)"));
        // The identity consumers find the cell by, not the words above.
        assert_eq!(rec.cell.as_ref(), Some(&ft_threads));
        assert!(
            rec.warnings
                .iter()
                .any(|w| w.contains("GIL turned back on")),
            "{rec:#?}"
        );
        assert!(
            rec.costs
                .iter()
                .any(|c| c.contains("single-thread cost") && c.contains("1.30×")),
            "{rec:#?}"
        );
        let cited: Vec<&str> = advice.facts.iter().map(|f| f.id).collect();
        assert!(cited.contains(&"gil-reenabled") && cited.contains(&"ft-cost-3.13"));
    }

    #[test]
    fn without_a_free_threaded_build_it_says_how_to_measure_one() {
        let seq = cell("py", "sequential", 1);
        let processes = cell("py", "processes", 2);
        let run = loaded(&[(seq, SLOW), (processes, FAST)], false);
        let rec = &for_run(&run).recommendations[0];
        assert_eq!(rec.approach, "processes");
        assert!(
            rec.alternatives
                .iter()
                .any(|a| a.approach == "free-threaded threads" && a.why_not.contains("install"))
        );
        assert!(
            rec.measure
                .iter()
                .any(|m| m == "gil-lab bench --scenario cpu --python 3.13t --python 3.13")
        );
    }

    #[test]
    fn nothing_measured_is_nothing_to_recommend() {
        let seq = cell("py", "sequential", 1);
        let mut run = loaded(&[(seq, &[1.0])], false);
        run.trials[0].status = TrialStatus::Failed;
        let rec = &for_run(&run).recommendations[0];
        assert_eq!(rec.approach, "none");
        assert!(rec.headline.contains("nothing to recommend"));
        assert_eq!(rec.measure, ["gil-lab bench --scenario cpu"]);
    }
}
