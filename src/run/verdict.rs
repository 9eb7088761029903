//! A scenario's verdict, decided the way the run loop races its cells: the
//! *leader* is the Python cell with the lowest median work time; every other
//! cell is compared with it through the rounds they share
//! ([`crate::stats::standing`]): significantly slower, equivalent within the
//! margin, or undecided. The verdict is a winner when every other cell is
//! slower, a tie when the rest are equivalent, and undecided otherwise. The
//! run loop gives further rounds to the undecided cells until none is left or
//! the budget is spent, so it and this verdict never disagree.
//!
//! Cells that cannot win are left out before the leader is chosen: the
//! native twin (it answers another question), the forced-GIL controls (a
//! free-threaded build with `-X gil=1` is a measurement, not an option),
//! cells whose digest differed (wrong results), and cells whose speedup is
//! beyond the cores with its whole CI (noise).

use std::collections::BTreeMap;

use crate::run::format::describe;
use crate::run::pairing::Rounds;
use crate::run::record::{
    CellKey, CellStanding, CellSummary, Decision, InterpreterKind, RunFile, ScenarioVerdict,
    StandingKind,
};
use crate::stats::{self, Standing};

/// The default equivalence margin: ±5%.
pub const DEFAULT_MARGIN: f64 = 0.05;

/// The margin of a run (older runs recorded none).
pub fn margin_of(run: &RunFile) -> f64 {
    if run.settings.margin > 0.0 {
        run.settings.margin
    } else {
        DEFAULT_MARGIN
    }
}

/// Why a cell cannot be the scenario's winner, if it cannot.
fn exclusion(
    run: &RunFile,
    summary: &CellSummary,
    wrong: &BTreeMap<&CellKey, u32>,
) -> Option<String> {
    let interpreter = run.interpreter(&summary.cell.interpreter);
    if interpreter.is_some_and(|i| i.kind == InterpreterKind::Native) {
        return Some("the native twin is a reference, not a candidate".into());
    }
    if interpreter.is_some_and(|i| i.gil_forced == Some(true)) {
        return Some("a control: the GIL forced back on a free-threaded build".into());
    }
    if let Some(n) = wrong.get(&summary.cell) {
        return Some(format!(
            "its digest differed from the reference in {n} trial(s)"
        ));
    }
    match (summary.speedup_flag, summary.speedup) {
        (Some(flag), Some(speedup)) if flag.beyond_ci => Some(format!(
            "its speedup {:.2}× (CI {:.2}–{:.2}) is beyond the {} usable core(s): noise",
            speedup.point, speedup.ci_low, speedup.ci_high, flag.limit
        )),
        _ => None,
    }
}

/// The verdict of one scenario from its cells' summaries and the rounds.
/// `wrong` counts the digest failures per cell.
pub fn scenario_verdict(
    run: &RunFile,
    scenario: &str,
    cells: &[CellSummary],
    rounds: &Rounds<'_>,
    wrong: &BTreeMap<&CellKey, u32>,
) -> ScenarioVerdict {
    let margin = margin_of(run);
    let measured: Vec<&CellSummary> = cells
        .iter()
        .filter(|c| c.cell.scenario == scenario && c.work.is_some())
        .collect();
    let mut standings = Vec::new();
    let mut candidates: Vec<(&CellSummary, f64)> = Vec::new();
    for summary in &measured {
        match exclusion(run, summary, wrong) {
            Some(note) => standings.push(CellStanding {
                cell: summary.cell.clone(),
                standing: StandingKind::Excluded,
                ratio: None,
                rounds: 0,
                note: Some(note),
            }),
            None => candidates.push((summary, summary.work.as_ref().map_or(0.0, |w| w.median))),
        }
    }
    candidates.sort_by(|a, b| a.1.total_cmp(&b.1));
    let Some(&(leader, leader_median)) = candidates.first() else {
        return ScenarioVerdict {
            scenario: scenario.into(),
            winner: None,
            tied_with: vec![],
            runner_up: None,
            explanation: format!("no Python cell of `{scenario}` was measured"),
            decision: Some(Decision::NoData),
            margin,
            standings,
        };
    };
    let mut ranked = vec![CellStanding {
        cell: leader.cell.clone(),
        standing: StandingKind::Leader,
        ratio: None,
        rounds: leader.trials,
        note: None,
    }];
    for &(other, _) in &candidates[1..] {
        let pairs = rounds.pairs(&other.cell, &leader.cell, |t| t.work_s());
        let (standing, ratio) = match stats::standing(&pairs, margin) {
            Standing::Slower(r) => (StandingKind::Slower, Some(r)),
            Standing::Equivalent(r) => (StandingKind::Equivalent, Some(r)),
            Standing::Undecided(r) => (StandingKind::Undecided, Some(r)),
            Standing::TooFewRounds => (StandingKind::TooFewRounds, None),
        };
        ranked.push(CellStanding {
            cell: other.cell.clone(),
            standing,
            ratio,
            rounds: pairs.len() as u32,
            note: None,
        });
    }
    ranked.append(&mut standings);
    let open = |s: &&CellStanding| {
        matches!(
            s.standing,
            StandingKind::Equivalent | StandingKind::Undecided | StandingKind::TooFewRounds
        )
    };
    let tied_with: Vec<CellKey> = ranked.iter().filter(open).map(|s| s.cell.clone()).collect();
    let undecided = ranked
        .iter()
        .filter(|s| {
            matches!(
                s.standing,
                StandingKind::Undecided | StandingKind::TooFewRounds
            )
        })
        .count();
    let decision = if tied_with.is_empty() {
        Decision::Winner
    } else if undecided == 0 {
        Decision::Tie
    } else {
        Decision::Undecided
    };
    let runner_up = ranked
        .get(1)
        .filter(|s| s.standing != StandingKind::Excluded);
    let explanation = explain(
        run,
        leader,
        leader_median,
        runner_up,
        &ranked,
        decision,
        margin,
    );
    ScenarioVerdict {
        scenario: scenario.into(),
        winner: Some(leader.cell.clone()),
        tied_with,
        runner_up: runner_up.map(|s| s.cell.clone()),
        explanation,
        decision: Some(decision),
        margin,
        standings: ranked,
    }
}

/// `threads ×2 on CPython 3.13.5t (0.97× its time, CI 0.94–1.01)`.
fn against_leader(run: &RunFile, standing: &CellStanding) -> String {
    match standing.ratio {
        Some(r) => format!(
            "{} ({:.2}× its time, CI {:.2}–{:.2})",
            describe(run, &standing.cell),
            r.point,
            r.ci_low,
            r.ci_high
        ),
        None => format!("{} (too few rounds)", describe(run, &standing.cell)),
    }
}

/// One sentence for the verdict.
fn explain(
    run: &RunFile,
    leader: &CellSummary,
    median: f64,
    runner_up: Option<&CellStanding>,
    ranked: &[CellStanding],
    decision: Decision,
    margin: f64,
) -> String {
    let name = describe(run, &leader.cell);
    let speedup = leader
        .speedup
        .filter(|_| !leader.cell.is_baseline())
        .map(|s| format!(", {:.2}× its sequential", s.point))
        .unwrap_or_default();
    let listed = |kinds: &[StandingKind]| -> Vec<String> {
        let all: Vec<&CellStanding> = ranked
            .iter()
            .filter(|s| kinds.contains(&s.standing))
            .collect();
        let mut names: Vec<String> = all.iter().take(3).map(|s| against_leader(run, s)).collect();
        if all.len() > 3 {
            names.push(format!("{} more", all.len() - 3));
        }
        names
    };
    match (decision, runner_up) {
        (_, None) => format!("{name} is the only measured candidate ({median:.3} s of work)"),
        (Decision::Winner, Some(second)) => {
            let ratio = second.ratio.map_or(String::new(), |r| {
                format!(
                    " takes {:.0}% longer (paired over {} rounds, CI {:.0}–{:.0}%)",
                    (r.point - 1.0) * 100.0,
                    second.rounds,
                    (r.ci_low - 1.0) * 100.0,
                    (r.ci_high - 1.0) * 100.0
                )
            });
            format!(
                "{name} wins ({median:.3} s of work{speedup}): every other cell is significantly slower; the runner-up, {},{ratio}",
                describe(run, &second.cell)
            )
        }
        (Decision::Tie, _) => format!(
            "tie within ±{:.0}%: {name} ({median:.3} s of work{speedup}) and {}",
            margin * 100.0,
            listed(&[StandingKind::Equivalent]).join(", ")
        ),
        _ => {
            let open = listed(&[StandingKind::Undecided, StandingKind::TooFewRounds]);
            let equivalent = listed(&[StandingKind::Equivalent]);
            format!(
                "undecided: {name} leads ({median:.3} s of work{speedup}) but is not separated from {}{}; a longer --budget would decide",
                open.join(", "),
                if equivalent.is_empty() {
                    String::new()
                } else {
                    format!(
                        " (equivalent within ±{:.0}%: {})",
                        margin * 100.0,
                        equivalent.join(", ")
                    )
                }
            )
        }
    }
}
