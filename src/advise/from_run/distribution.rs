//! Distributing versus one machine, from a run's measured ray cells: what
//! Ray's orchestration costs over a process pool's, how its steady work
//! compares, and from how much work a cluster of machines like this one
//! would pay that back (the break-even).
//!
//! The break-even model, stated so it can be checked: a run does `W`
//! seconds of steady work as `processes` does it here, plus its overhead
//! `O_p` (everything but the work phase: interpreter start, pool start,
//! teardown). On `k` machines like this one, Ray's steady work takes
//! `W × r / k` (`r` = Ray's work time ÷ processes', measured with the same
//! workers) plus its overhead `O_r`. Ray is faster once
//! `W > (O_r − O_p) / (1 − r / k)`; with `r ≥ k` never.

use crate::run::format::format_seconds;
use crate::run::record::{CellState, CellSummary};
use crate::stats::{self, Comparison};
use crate::vocabulary::Approach;

use super::super::advice::Recommendation;
use super::view::{RunView, SEED, ratio_text};

/// Machines like this one the break-even is computed for.
const MACHINES: f64 = 2.0;

/// Everything of a cell's median trial but its steady work, seconds.
fn overhead_s(cell: &CellSummary) -> Option<f64> {
    let o = cell.orchestration.as_ref()?;
    Some(o.interpreter_start_s + o.setup_s + o.pool_start_s + o.teardown_s)
}

/// Adds, for each measured ray cell of `scenario` with a processes cell of
/// the same interpreter and workers, the comparison and the break-even to
/// the recommendation's costs.
pub(super) fn distributing(view: &RunView, scenario: &str, rec: &mut Recommendation) {
    let measured = |c: &&CellSummary| c.cell.scenario == scenario && c.state == CellState::Measured;
    let cells: Vec<&CellSummary> = view.summary.cells.iter().filter(measured).collect();
    for ray in cells.iter().filter(|c| c.cell.approach == Approach::Ray) {
        let Some(processes) = cells.iter().find(|c| {
            c.cell.approach == Approach::Processes
                && c.cell.interpreter == ray.cell.interpreter
                && c.cell.workers == ray.cell.workers
        }) else {
            rec.measure.push(format!(
                "gil-lab bench --scenario {scenario} --approach processes,ray --workers {}   # distributing vs one machine",
                ray.cell.workers
            ));
            continue;
        };
        if let Some(text) = comparison(view, ray, processes) {
            rec.costs.push(text);
        }
    }
}

/// The sentence comparing a ray cell with the processes cell beside it.
fn comparison(view: &RunView, ray: &CellSummary, processes: &CellSummary) -> Option<String> {
    let (ray_overhead, processes_overhead) = (overhead_s(ray)?, overhead_s(processes)?);
    let steps = ray.orchestration.as_ref()?.cluster.as_ref()?;
    let (baseline, candidate) = (view.samples(&processes.cell), view.samples(&ray.cell));
    if baseline.is_empty() || candidate.is_empty() {
        return None;
    }
    // Ray's work time ÷ processes'.
    let work = Comparison::of(baseline, candidate, stats::DEFAULT_ALPHA, SEED);
    let r = work.ratio.point;
    let processes_work = processes.work.as_ref()?.median;
    let extra = ray_overhead - processes_overhead;
    let break_even = if r >= MACHINES {
        format!(
            "on {MACHINES} machines like this one Ray never catches up (its steady work takes {r:.2}× processes', more than the {MACHINES}× the cores give back)"
        )
    } else {
        let work_s = (extra / (1.0 - r / MACHINES)).max(0.0);
        format!(
            "on {MACHINES} machines like this one Ray pays that back from about {} of steady work per run as processes does it here ({:.0}× this run's {}; model in docs/distributed.md)",
            format_seconds(work_s),
            work_s / processes_work.max(1e-9),
            format_seconds(processes_work)
        )
    };
    Some(format!(
        "distributing: {} costs {} more than {} outside the steady work (Ray, {} cluster: connect {}, shipping code {}, worker start {}, shutdown {}); its steady work takes {} processes'; {break_even}",
        view.name(&ray.cell),
        format_seconds(extra),
        view.name(&processes.cell),
        steps.cluster,
        format_seconds(steps.connect_s),
        format_seconds(steps.ship_code_s),
        format_seconds(steps.worker_start_s),
        format_seconds(steps.shutdown_s),
        ratio_text(&work.ratio),
    ))
}
