//! Advice from a run's measured numbers, per scenario: the fastest Python
//! cell by median work-phase time, unless simpler approaches are within
//! noise of it (Mann-Whitney, `stats::DEFAULT_ALPHA`): then the simplest of
//! them (sequential < threads < asyncio < processes < subinterpreters <
//! distributed), saying so. With its margin over the runner-up (the fastest
//! cell of another approach) with CIs, and the costs beyond time: peak
//! memory, orchestration, the free-threading single-thread cost, a GIL
//! turned back on, digest failures.

use std::collections::{BTreeMap, BTreeSet};

use crate::run::LoadedRun;
use crate::run::analysis::describe;
use crate::run::format::{format_bytes, format_seconds};
use crate::run::record::{
    CellKey, CellState, CellSummary, FailureKind, InterpreterKind, InterpreterRecord, RunSummary,
    WarningKind,
};
use crate::stats::{self, Comparison, Estimate, Verdict};

use super::advice::{self, Advice, Basis, Margin, Recommendation};
use super::finding::{AdvisedApproach, Alternative};
use crate::vocabulary::Approach;

/// Seed of the bootstrap CIs of the advice: fixed, so the same run always
/// gets the same advice.
const SEED: u64 = 0x6164_7669_7365; // "advise"

/// Fewer measured trials than this per cell cannot give a significant
/// rank test at 5% (3 vs 3 fully separated: p = 0.1).
const FEW_TRIALS: usize = 4;

/// `1.93× (95% CI 1.88–1.98)`.
fn ratio_text(e: &Estimate) -> String {
    format!("{:.2}× (95% CI {:.2}–{:.2})", e.point, e.ci_low, e.ci_high)
}

/// What the advice needs of a run, gathered once.
struct RunView<'a> {
    loaded: &'a LoadedRun,
    summary: RunSummary,
    /// Work-phase times of each cell's measured trials.
    work: BTreeMap<CellKey, Vec<f64>>,
    /// Trials of each cell whose digest differed from the reference.
    digest_failures: BTreeMap<CellKey, usize>,
}

impl<'a> RunView<'a> {
    fn new(loaded: &'a LoadedRun) -> RunView<'a> {
        let summary = loaded.summary.clone();
        let mut work: BTreeMap<CellKey, Vec<f64>> = BTreeMap::new();
        let mut digest_failures: BTreeMap<CellKey, usize> = BTreeMap::new();
        for trial in &loaded.trials {
            if trial.is_measured()
                && let Some(w) = trial.work_s()
            {
                work.entry(trial.cell.clone()).or_default().push(w);
            }
            if trial
                .failure
                .as_ref()
                .is_some_and(|f| f.kind == FailureKind::DigestMismatch)
            {
                *digest_failures.entry(trial.cell.clone()).or_default() += 1;
            }
        }
        RunView {
            loaded,
            summary,
            work,
            digest_failures,
        }
    }

    fn interpreter(&self, cell: &CellKey) -> Option<&InterpreterRecord> {
        self.loaded.run.interpreter(&cell.interpreter)
    }

    /// A free-threaded build running with its default (GIL off).
    fn free_threaded(&self, cell: &CellKey) -> bool {
        self.interpreter(cell)
            .is_some_and(|i| i.is_free_threaded_as_built())
    }

    fn name(&self, cell: &CellKey) -> String {
        describe(&self.loaded.run, cell)
    }

    fn samples(&self, cell: &CellKey) -> &[f64] {
        self.work.get(cell).map_or(&[], Vec::as_slice)
    }

    /// The cells that can be recommended: measured Python cells on an
    /// interpreter in its default GIL mode (a forced GIL is a control, not
    /// an option), without a digest failure.
    fn candidates(&self, scenario: &str) -> Vec<&CellSummary> {
        self.summary
            .cells
            .iter()
            .filter(|c| c.cell.scenario == scenario && c.state == CellState::Measured)
            .filter(|c| {
                self.interpreter(&c.cell)
                    .is_none_or(|i| i.kind == InterpreterKind::Python && i.gil_forced.is_none())
            })
            .filter(|c| !self.digest_failures.contains_key(&c.cell))
            .filter(|c| c.work.is_some() && !self.samples(&c.cell).is_empty())
            .collect()
    }
}

fn median_of(c: &CellSummary) -> f64 {
    c.work.as_ref().map_or(f64::INFINITY, |w| w.median)
}

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
    let recommendations: Vec<Recommendation> =
        scenarios.iter().map(|s| for_scenario(&view, s)).collect();
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
        recommendations,
        facts,
    }
}

/// The `--python` arguments of `bench` for these cells' interpreters.
fn python_args(view: &RunView, cells: &[&CellKey]) -> String {
    let mut paths: BTreeSet<String> = BTreeSet::new();
    for cell in cells {
        if let Some(i) = view.interpreter(cell) {
            paths.insert(format!("--python {}", i.path.display()));
        }
    }
    paths.into_iter().collect::<Vec<_>>().join(" ")
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
        rec.approach = "none".into();
        rec.headline = format!(
            "{scenario}: nothing to recommend: no Python cell of this scenario was measured successfully"
        );
        rec.measure
            .push(format!("gil-lab bench --scenario {scenario}"));
        return rec;
    };
    // The cells within noise of the fastest: not significantly slower.
    let tied: Vec<&CellSummary> = candidates
        .iter()
        .copied()
        .filter(|c| {
            c.cell == fastest.cell
                || Comparison::of(
                    view.samples(&fastest.cell),
                    view.samples(&c.cell),
                    stats::DEFAULT_ALPHA,
                    SEED,
                )
                .verdict
                    != Verdict::Slower
        })
        .collect();
    let pick = tied
        .iter()
        .copied()
        .min_by(|a, b| {
            simplicity(view, a)
                .cmp(&simplicity(view, b))
                .then(median_of(a).total_cmp(&median_of(b)))
        })
        .expect("the fastest is in its own tie");
    rec.tie = tied.len() > 1;
    rec.approach = pick.cell.approach.to_string();
    rec.workers = Some(pick.cell.workers);
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
        rec.reasons
            .push(format!("speedup (work phase) {}", ratio_text(&s)));
    }
    if let Some(s) = pick.end_to_end_speedup.filter(|_| !pick.cell.is_baseline()) {
        rec.reasons.push(format!(
            "end-to-end speedup (whole-trial wall time, orchestration included) {}",
            ratio_text(&s)
        ));
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
        rec.reasons.push(format!(
            "tie: {} {} within noise of {} (Mann-Whitney at {:.0}%): the simpler approach is preferred (sequential < threads < asyncio < processes < subinterpreters < distributed; a default build before a free-threaded one; fewer workers)",
            others.join(", "),
            if count == 1 { "is" } else { "are" },
            if pick.cell == fastest.cell { "it".to_string() } else { view.name(&pick.cell) },
            stats::DEFAULT_ALPHA * 100.0,
        ));
        if pick.cell != fastest.cell {
            rec.reasons.push(format!(
                "{} has the lowest median ({}), but not significantly lower",
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
        let comparison = Comparison::of(
            view.samples(&second.cell),
            view.samples(&pick.cell),
            stats::DEFAULT_ALPHA,
            SEED,
        );
        let margin = Margin {
            runner_up: view.name(&second.cell),
            ratio: comparison.ratio,
            shift_s: comparison.shift,
            p_value: comparison.test.p_value,
            verdict: comparison.verdict,
        };
        rec.reasons.push(format!(
            "margin over the runner-up, {}: work time {} of its, shift {:+.1} ms (95% CI {:+.1} to {:+.1}), Mann-Whitney p = {:.3}: {}",
            margin.runner_up,
            ratio_text(&margin.ratio),
            margin.shift_s.point * 1e3,
            margin.shift_s.ci_low * 1e3,
            margin.shift_s.ci_high * 1e3,
            margin.p_value,
            match margin.verdict {
                Verdict::Faster => "faster",
                Verdict::Slower => "slower (a simpler approach within noise of the fastest was preferred)",
                Verdict::Tie => "within noise",
            }
        ));
        costs_against(view, pick, second, &mut rec);
        rec.margin = Some(margin);
    }
    rec.headline = headline(view, scenario, pick, &rec);
    free_threading_cost(view, scenario, &mut rec);
    alternatives(view, scenario, pick, &candidates, &tied, &mut rec);
    measure(view, scenario, pick, runner_up, &mut rec);
    rec
}

fn headline(view: &RunView, scenario: &str, pick: &CellSummary, rec: &Recommendation) -> String {
    let name = view.name(&pick.cell);
    match (&rec.margin, rec.tie) {
        (_, true) => {
            format!("{scenario}: {name} (a tie within noise; the simpler approach is recommended)")
        }
        (Some(m), false) => format!(
            "{scenario}: {name}, {:.0}% less work time than the runner-up, {}",
            (1.0 - m.ratio.point) * 100.0,
            m.runner_up
        ),
        (None, false) => format!("{scenario}: {name} (the only cell measured)"),
    }
}

/// Peak memory and orchestration of the recommendation against the
/// runner-up.
fn costs_against(
    view: &RunView,
    pick: &CellSummary,
    second: &CellSummary,
    rec: &mut Recommendation,
) {
    if let (Some(mine), Some(theirs)) = (pick.peak_memory_bytes, second.peak_memory_bytes)
        && theirs > 0
    {
        rec.costs.push(format!(
            "peak memory {} vs {} for {} ({:.2}×)",
            format_bytes(mine),
            format_bytes(theirs),
            view.name(&second.cell),
            mine as f64 / theirs as f64
        ));
    }
    let orchestration = |c: &CellSummary| {
        c.orchestration.as_ref().map(|o| {
            let mut text = format!(
                "interpreter start {}, pool start {}, teardown {}",
                format_seconds(o.interpreter_start_s),
                format_seconds(o.pool_start_s),
                format_seconds(o.teardown_s)
            );
            if let (Some(cost), Some(method)) = (o.sharing_cost_s, &o.sharing_method) {
                text.push_str(&format!(
                    ", sharing the data ({method}) {}",
                    format_seconds(cost)
                ));
            }
            text
        })
    };
    if let Some(mine) = orchestration(pick) {
        rec.costs.push(format!(
            "orchestration (medians): {mine}{}",
            orchestration(second)
                .map(|theirs| format!("; runner-up: {theirs}"))
                .unwrap_or_default()
        ));
    }
}

/// Digest failures and a GIL turned back on, in this scenario.
fn warn_about_figures(view: &RunView, scenario: &str, rec: &mut Recommendation) {
    for (cell, count) in &view.digest_failures {
        if cell.scenario == scenario {
            rec.warnings.push(format!(
                "CORRECTNESS FAILURE: {} produced a different digest in {count} trial(s): it is left out of the advice",
                view.name(cell)
            ));
        }
    }
    for c in &view.summary.cells {
        if c.cell.scenario == scenario && view.free_threaded(&c.cell) && c.gil_enabled == Some(true)
        {
            rec.warnings.push(format!(
                "{} ran with the GIL turned back on (an import re-enabled it?): its figures are not free-threaded ones",
                view.name(&c.cell)
            ));
            if !rec.cites.iter().any(|id| id == "gil-reenabled") {
                rec.cites.push("gil-reenabled".into());
            }
        }
    }
}

/// The free-threading single-thread cost: sequential on each free-threaded
/// build against the default build of the same version, when both ran.
fn free_threading_cost(view: &RunView, scenario: &str, rec: &mut Recommendation) {
    let sequential: Vec<&CellSummary> = view
        .summary
        .cells
        .iter()
        .filter(|c| c.cell.scenario == scenario && c.cell.is_baseline())
        .filter(|c| !view.samples(&c.cell).is_empty())
        .collect();
    for ft in sequential.iter().filter(|c| view.free_threaded(&c.cell)) {
        let Some(ft_interpreter) = view.interpreter(&ft.cell) else {
            continue;
        };
        let minor = |v: &str| v.split('.').take(2).collect::<Vec<_>>().join(".");
        let default = sequential
            .iter()
            .filter(|c| {
                view.interpreter(&c.cell).is_some_and(|i| {
                    !i.free_threaded
                        && i.kind == InterpreterKind::Python
                        && minor(&i.version) == minor(&ft_interpreter.version)
                })
            })
            .max_by_key(|c| {
                view.interpreter(&c.cell)
                    .is_some_and(|i| i.version == ft_interpreter.version)
            });
        let Some(default) = default else {
            continue;
        };
        let ratio =
            stats::ratio_of_medians(view.samples(&ft.cell), view.samples(&default.cell), SEED);
        let published = if minor(&ft_interpreter.version) == "3.13" {
            "published: about 40% on 3.13 with pyperformance"
        } else {
            "published: roughly 5-10% from 3.14"
        };
        rec.costs.push(format!(
            "free-threading single-thread cost: sequential on {} takes {} the work time of {} ({published})",
            ft_interpreter.label,
            ratio_text(&ratio),
            view.interpreter(&default.cell)
                .map_or(default.cell.interpreter.as_str(), |i| i.label.as_str()),
        ));
        for id in ["ft-cost-3.13", "ft-cost-3.14"] {
            if !rec.cites.iter().any(|c| c == id) {
                rec.cites.push(id.into());
            }
        }
    }
}

/// The best cell of every other approach (free-threaded threads apart from
/// threads under the GIL), with its time relative to the recommendation;
/// and why not free-threaded threads when they are not recommended.
fn alternatives(
    view: &RunView,
    scenario: &str,
    pick: &CellSummary,
    candidates: &[&CellSummary],
    tied: &[&CellSummary],
    rec: &mut Recommendation,
) {
    let family = |c: &CellSummary| {
        if c.cell.approach == Approach::Threads && view.free_threaded(&c.cell) {
            "free-threaded threads".to_string()
        } else {
            c.cell.approach.to_string()
        }
    };
    let mut best: BTreeMap<String, &CellSummary> = BTreeMap::new();
    for c in candidates
        .iter()
        .copied()
        .filter(|c| family(c) != family(pick))
    {
        let entry = best.entry(family(c)).or_insert(c);
        if median_of(c) < median_of(entry) {
            *entry = c;
        }
    }
    let mut listed: Vec<(&String, &&CellSummary)> = best.iter().collect();
    listed.sort_by(|a, b| median_of(a.1).total_cmp(&median_of(b.1)));
    for (approach, c) in listed {
        let ratio = stats::ratio_of_medians(view.samples(&c.cell), view.samples(&pick.cell), SEED);
        let mut why_not = format!(
            "{}: {} the recommendation's work time",
            view.name(&c.cell),
            ratio_text(&ratio)
        );
        if tied.iter().any(|t| t.cell == c.cell) {
            why_not.push_str(&format!(
                ": within noise of the fastest, and {} is simpler",
                pick.cell.approach
            ));
        } else if ratio.ci_low > 1.0 {
            why_not.push_str(": significantly slower");
        } else {
            why_not.push_str(": slower by the rank test, though the ratio's CI reaches 1");
        }
        if view.free_threaded(&c.cell) && c.gil_enabled == Some(true) {
            why_not.push_str("; it ran with the GIL turned back on");
        }
        rec.alternatives.push(Alternative {
            approach: approach.clone(),
            why_not,
        });
    }
    // What the published facts say about the measured winner's kind of
    // approach, so the numbers and the reasons behind them read together.
    let waiting = matches!(scenario, "io" | "mixed");
    let cite = |rec: &mut Recommendation, id: &str| {
        if !rec.cites.iter().any(|c| c == id) {
            rec.cites.push(id.into());
        }
    };
    match pick.cell.approach {
        Approach::Threads if waiting => {
            rec.reasons.push("threads suit waiting: the GIL is released while a call waits, so they overlap calls on any build".into());
            cite(rec, "gil-released-on-io");
        }
        Approach::Asyncio | Approach::AsyncioThreads if waiting => {
            rec.reasons.push(
                "an event loop keeps many calls in flight on one thread, each a cheap task".into(),
            );
            cite(rec, "asyncio-io");
        }
        _ => {}
    }
    if family(pick) == "free-threaded threads" {
        if scenario != "io" && !rec.cites.iter().any(|c| c == "ft-scaling") {
            rec.cites.push("ft-scaling".into());
        }
        return;
    }
    let any_free_threaded = view
        .loaded
        .run
        .interpreters
        .iter()
        .any(|i| i.is_free_threaded_as_built());
    if !any_free_threaded {
        rec.alternatives.push(Alternative {
            approach: "free-threaded threads".into(),
            why_not: "not measured: this run has no free-threaded build (`gil-lab python install 3.13t`, then bench again)".into(),
        });
    } else if !best.contains_key("free-threaded threads") {
        let state = view
            .summary
            .cells
            .iter()
            .find(|c| {
                c.cell.scenario == scenario
                    && c.cell.approach == Approach::Threads
                    && view.free_threaded(&c.cell)
            })
            .map_or("not planned in this run".to_string(), |c| {
                match (&c.state, &c.skip_reason) {
                    (CellState::Skipped, Some(reason)) => format!("skipped: {reason}"),
                    (CellState::Failed, _) => "every trial failed".into(),
                    (CellState::Pending, _) => "no trial finished".into(),
                    _ if view.digest_failures.contains_key(&c.cell) => {
                        "left out: a digest differed".into()
                    }
                    _ => "not measured".into(),
                }
            });
        rec.alternatives.push(Alternative {
            approach: "free-threaded threads".into(),
            why_not: state,
        });
    }
}

/// The bench commands that would settle what the run leaves open.
fn measure(
    view: &RunView,
    scenario: &str,
    pick: &CellSummary,
    runner_up: Option<&CellSummary>,
    rec: &mut Recommendation,
) {
    let few = |c: &CellSummary| view.samples(&c.cell).len() < FEW_TRIALS;
    let undecided = rec.tie
        || rec
            .margin
            .as_ref()
            .is_some_and(|m| m.verdict == Verdict::Tie)
        || few(pick)
        || runner_up.is_some_and(few);
    if undecided && let Some(second) = runner_up {
        if few(pick) || few(second) {
            rec.warnings.push(format!(
                "only {} and {} measured trials: too few for the rank test to separate them",
                view.samples(&pick.cell).len(),
                view.samples(&second.cell).len()
            ));
        }
        let approaches: BTreeSet<&str> =
            [pick.cell.approach.name(), second.cell.approach.name()].into();
        let workers: BTreeSet<u32> = [pick.cell.workers, second.cell.workers].into();
        rec.measure.push(format!(
            "gil-lab bench --scenario {scenario} --approach {} {} --workers {} --min-runs 15 --max-runs 40 --budget 600",
            approaches.into_iter().collect::<Vec<_>>().join(","),
            python_args(view, &[&pick.cell, &second.cell]),
            workers.iter().map(u32::to_string).collect::<Vec<_>>().join(",")
        ));
    }
    let any_free_threaded = view.loaded.run.interpreters.iter().any(|i| i.free_threaded);
    if !any_free_threaded && scenario != "io" {
        rec.measure.push("gil-lab python install 3.13t".into());
        rec.measure.push(format!(
            "gil-lab bench --scenario {scenario} --python 3.13t --python 3.13"
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::record::fixtures::{cell, run_file, trial};
    use crate::run::record::{Failure, TrialRecord, TrialStatus};

    /// A free-threaded build next to the fixture's default build `py`.
    fn with_free_threaded(run: &mut crate::run::record::RunFile) {
        let mut ft = run.interpreters[0].clone();
        ft.id = "pyt".into();
        ft.label = "CPython 3.13.5t".into();
        ft.free_threaded = true;
        run.interpreters.push(ft);
    }

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
        let mut run = loaded(
            &[(seq, SLOW), (ft_seq, &slower), (ft_threads.clone(), FAST)],
            true,
        );
        for t in run.trials.iter_mut().filter(|t| t.cell == ft_threads) {
            t.runner.as_mut().unwrap().gil_enabled_end = Some(true);
        }
        let advice = for_run(&run);
        let rec = &advice.recommendations[0];
        assert_eq!(rec.approach, "threads");
        assert!(rec.interpreter.ends_with("(free-threaded)"));
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
