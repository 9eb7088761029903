//! The `bench` commands that would settle what a run leaves open: more
//! trials of a tie or of too few trials, a free-threaded build not measured.

use std::collections::BTreeSet;

use crate::run::record::{CellKey, CellSummary};
use crate::stats::Verdict;

use super::view::RunView;
use crate::advise::advice::Recommendation;

/// Fewer measured trials than this per cell cannot give a significant
/// rank test at 5% (3 vs 3 fully separated: p = 0.1).
const FEW_TRIALS: usize = 4;

/// The `--python` arguments of `bench` for these cells' interpreters.
pub(super) fn python_args(view: &RunView, cells: &[&CellKey]) -> String {
    let mut paths: BTreeSet<String> = BTreeSet::new();
    for cell in cells {
        if let Some(i) = view.interpreter(cell) {
            paths.insert(format!("--python {}", crate::shell::quote_path(&i.path)));
        }
    }
    paths.into_iter().collect::<Vec<_>>().join(" ")
}

/// The bench commands that would settle what the run leaves open.
pub(super) fn measure(
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
                "only {} and {} measured trials: too few to separate them",
                view.samples(&pick.cell).len(),
                view.samples(&second.cell).len()
            ));
        }
        if rec.undecided {
            // `undecided` already put the command that settles it first.
            return more_builds(view, scenario, rec);
        }
        let approaches: BTreeSet<&str> =
            [pick.cell.approach.name(), second.cell.approach.name()].into();
        let workers: BTreeSet<u32> = [pick.cell.workers, second.cell.workers].into();
        rec.measure.push(format!(
            "gil-lab bench --scenario {} --approach {} {} --workers {} --min-runs 15 --max-runs 40 --budget 600",
            crate::shell::quote(scenario),
            approaches.into_iter().collect::<Vec<_>>().join(","),
            python_args(view, &[&pick.cell, &second.cell]),
            workers.iter().map(u32::to_string).collect::<Vec<_>>().join(",")
        ));
    }
    more_builds(view, scenario, rec);
}

/// Without a free-threaded build: how to measure one.
fn more_builds(view: &RunView, scenario: &str, rec: &mut Recommendation) {
    let any_free_threaded = view.loaded.run.interpreters.iter().any(|i| i.free_threaded);
    if !any_free_threaded && scenario != "io" {
        rec.measure.push("gil-lab python install 3.13t".into());
        rec.measure.push(format!(
            "gil-lab bench --scenario {} --python 3.13t --python 3.13",
            crate::shell::quote(scenario)
        ));
    }
}
