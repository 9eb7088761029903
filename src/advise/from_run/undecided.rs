//! When a scenario's run ended undecided: undecided is not a tie. The tie
//! rule (the simpler approach) holds only among cells proven equivalent;
//! here the advice names the leader so far, what is still open and the
//! command that would settle it. It never recommends a cell whose advantage
//! over sequential is not established while another cell's is, and (in any
//! decision) never threads on a GIL build for CPU-bound Python work unless
//! they were measured fastest.

use crate::advise::advice::Recommendation;
use crate::run::mechanism::{self, MeasuredWork};
use crate::run::record::CellSummary;
use crate::vocabulary::{Approach, GilMode, WorkKind};

use super::measure::python_args;
use super::view::{RunView, median_of, ratio_text};

/// Whether a cell's advantage over sequential is established: its
/// speedup's whole CI above 1.
pub(super) fn established(c: &CellSummary) -> bool {
    !c.cell.is_baseline() && c.speedup.is_some_and(|s| s.ci_low > 1.0)
}

/// Threads on a GIL build for CPU-bound Python work (the kind as measured,
/// else the scenario's), when they are not the fastest cell: never
/// recommended.
pub(super) fn gil_threads_barred(
    view: &RunView,
    kind: Option<&MeasuredWork>,
    c: &CellSummary,
    fastest: &CellSummary,
) -> bool {
    let gil_build = view
        .interpreter(&c.cell)
        .is_some_and(|i| i.gil_mode() == GilMode::Gil);
    let cpu_bound_python = match kind {
        Some(m) => m.kind.work_kind() == WorkKind::CpuBound && !m.kind.gil_threads_compute(),
        None => WorkKind::of_scenario(&c.cell.scenario) == Some(WorkKind::CpuBound),
    };
    c.cell.approach == Approach::Threads && gil_build && cpu_bound_python && c.cell != fastest.cell
}

fn fastest_of<'a>(cells: impl Iterator<Item = &'a CellSummary>) -> Option<&'a CellSummary> {
    cells.min_by(|a, b| median_of(a).total_cmp(&median_of(b)))
}

/// The leader so far of an undecided scenario: the fastest of the open
/// cells (`tied`: the leader and those not separated from it) whose
/// advantage over sequential is established when any cell's is, else the
/// fastest open cell; never a barred one.
pub(super) fn undecided_pick<'a>(
    candidates: &[&'a CellSummary],
    tied: &[&'a CellSummary],
    barred: &dyn Fn(&CellSummary) -> bool,
) -> Option<&'a CellSummary> {
    let allowed = || tied.iter().copied().filter(|c| !barred(c));
    if candidates.iter().any(|c| established(c)) {
        fastest_of(allowed().filter(|c| established(c))).or_else(|| {
            fastest_of(
                candidates
                    .iter()
                    .copied()
                    .filter(|c| established(c) && !barred(c)),
            )
        })
    } else {
        fastest_of(allowed())
    }
}

/// The `bench` command that would settle the open cells: their approaches
/// on their interpreters, with a longer budget.
fn settle_command(view: &RunView, scenario: &str, open: &[&CellSummary]) -> String {
    let mut approaches: Vec<&str> = open.iter().map(|c| c.cell.approach.name()).collect();
    approaches.sort_unstable();
    approaches.dedup();
    let cells: Vec<_> = open.iter().map(|c| &c.cell).collect();
    let budget = (view.loaded.run.settings.budget_s * 3.0).max(300.0);
    format!(
        "gil-lab bench --scenario {} --approach {} {} --budget {budget:.0}",
        crate::shell::quote(scenario),
        approaches.join(","),
        python_args(view, &cells)
    )
}

/// `threads ×2 on CPython 3.13t, processes ×2 on CPython 3.13`.
fn names(view: &RunView, cells: &[&CellSummary]) -> String {
    let mut names: Vec<String> = cells.iter().take(3).map(|c| view.name(&c.cell)).collect();
    if cells.len() > 3 {
        names.push(format!("{} more", cells.len() - 3));
    }
    names.join(", ")
}

/// The cells still open against the pick.
fn others<'a>(pick: &CellSummary, tied: &[&'a CellSummary]) -> Vec<&'a CellSummary> {
    tied.iter()
        .copied()
        .filter(|c| c.cell != pick.cell)
        .collect()
}

/// The reasons of an undecided scenario's advice, and the command that
/// would settle it (first of `measure`).
pub(super) fn undecided_reasons(
    view: &RunView,
    pick: &CellSummary,
    fastest: &CellSummary,
    tied: &[&CellSummary],
    kind: Option<&MeasuredWork>,
    rec: &mut Recommendation,
) {
    let open = others(pick, tied);
    if !open.is_empty() {
        rec.reasons.push(format!(
            "undecided, not a tie: {} leads so far but is not yet separated from {} (paired rounds); the tie rule (the simpler approach) applies only to cells proven equivalent",
            view.name(&pick.cell),
            names(view, &open)
        ));
    }
    if pick.cell != fastest.cell {
        // In the pick, only an advantage not established passes the fastest over.
        let cores = mechanism::cores_text(&view.loaded.run, fastest)
            .filter(|_| gil_threads_barred(view, kind, fastest, pick))
            .map(|t| format!("; threads on a GIL build, CPU-bound Python: they {t}"))
            .unwrap_or_default();
        let why = format!(
            "its advantage over sequential is not established{} while {}'s is{cores}",
            fastest
                .speedup
                .map(|s| format!(" (speedup {})", ratio_text(&s)))
                .unwrap_or_default(),
            view.name(&pick.cell)
        );
        rec.reasons.push(format!(
            "{} has the lowest median work time ({}), but {why}",
            view.name(&fastest.cell),
            crate::run::format::format_seconds(median_of(fastest))
        ));
    }
    let mut settle: Vec<&CellSummary> = vec![pick];
    settle.extend(open);
    rec.measure
        .insert(0, settle_command(view, &pick.cell.scenario, &settle));
}

/// `cpu: undecided: processes ×2 on CPython 3.13 leads so far (1.59× its
/// sequential); still open: ...; `gil-lab bench ...` would settle it`.
pub(super) fn undecided_headline(
    view: &RunView,
    scenario: &str,
    pick: &CellSummary,
    rec: &Recommendation,
) -> String {
    let speedup = pick
        .speedup
        .filter(|_| !pick.cell.is_baseline())
        .map(|s| {
            format!(
                " ({:.2}× its sequential, CI {:.2}–{:.2})",
                s.point, s.ci_low, s.ci_high
            )
        })
        .unwrap_or_default();
    let open: Vec<&CellSummary> = view
        .summary
        .scenarios
        .iter()
        .filter(|v| v.scenario == scenario)
        .flat_map(|v| &v.standings)
        .filter(|s| {
            matches!(
                s.standing,
                crate::run::record::StandingKind::Leader
                    | crate::run::record::StandingKind::Undecided
                    | crate::run::record::StandingKind::TooFewRounds
            ) && s.cell != pick.cell
        })
        .filter_map(|s| view.summary.cells.iter().find(|c| c.cell == s.cell))
        .collect();
    let settle = rec
        .measure
        .first()
        .map(|m| format!("; `{m}` would settle it"))
        .unwrap_or_default();
    format!(
        "{scenario}: undecided: {} leads so far{speedup}{}{settle}",
        view.name(&pick.cell),
        if open.is_empty() {
            String::new()
        } else {
            format!("; still open: {}", names(view, &open))
        }
    )
}
