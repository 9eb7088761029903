//! What the advice says of its pick beyond the reasons it was picked: its
//! costs against the runner-up (peak memory, orchestration), warnings about
//! the figures (digest failures, a GIL turned back on), the free-threading
//! single-thread cost, and the alternatives with why not.

use std::collections::BTreeMap;

use crate::run::format::{format_bytes, format_seconds};
use crate::run::record::{CellState, CellSummary};
use crate::vocabulary::Approach;

use super::view::{RunView, median_of, ratio_text};
use crate::advise::advice::Recommendation;
use crate::advise::finding::Alternative;

/// Peak memory and orchestration of the recommendation against the
/// runner-up.
pub(super) fn costs_against(
    view: &RunView,
    pick: &CellSummary,
    second: &CellSummary,
    rec: &mut Recommendation,
) {
    if let (Some(mine), Some(theirs)) = (pick.peak_memory_bytes, second.peak_memory_bytes)
        && theirs > 0
    {
        rec.costs.push(format!(
            "memory (PSS, pages shared after fork counted once) {} vs {} for {} ({:.2}×)",
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
            if let Some(steps) = &o.cluster {
                text.push_str(&format!(
                    " (Ray, {} cluster: connect {}, shipping code {}, worker start {}, shutdown {})",
                    steps.cluster,
                    format_seconds(steps.connect_s),
                    format_seconds(steps.ship_code_s),
                    format_seconds(steps.worker_start_s),
                    format_seconds(steps.shutdown_s)
                ));
            }
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

/// Digest failures, a GIL turned back on, and builds of different recipes,
/// in this scenario.
pub(super) fn warn_about_figures(view: &RunView, scenario: &str, rec: &mut Recommendation) {
    if let Some(note) = crate::run::builds::note(&view.loaded.run, scenario) {
        rec.warnings.push(format!("builds differ: {note}"));
    }
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
pub(super) fn free_threading_cost(view: &RunView, scenario: &str, rec: &mut Recommendation) {
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
        let twin = view.loaded.run.default_twin(ft_interpreter);
        let default = sequential
            .iter()
            .find(|c| twin.is_some_and(|t| t.id == c.cell.interpreter));
        let Some(default) = default else {
            continue;
        };
        let (ratio, _) = view.ratio(&ft.cell, &default.cell);
        let published = if minor(&ft_interpreter.version) == "3.13" {
            "published: about 40% on 3.13 with pyperformance"
        } else {
            "published: roughly 5-10% from 3.14"
        };
        let default_label = view
            .interpreter(&default.cell)
            .map_or(default.cell.interpreter.as_str(), |i| i.label.as_str());
        // Why, from inside both builds: their specialisation (the
        // dashboard's Inside CPython section shows the evidence).
        let inside = crate::run::inside::read(
            view.loaded.inside.as_ref(),
            scenario,
            (&ft.cell.interpreter, &ft_interpreter.label),
            (&default.cell.interpreter, default_label),
            &ratio,
        );
        rec.costs.push(format!(
            "free-threading single-thread cost: sequential on {} takes {} the work time of {} ({published}); inside CPython: {} (dashboard: Inside CPython, #inside-cpython)",
            ft_interpreter.label,
            ratio_text(&ratio),
            default_label,
            inside.sentence,
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
pub(super) fn alternatives(
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
        let (ratio, _) = view.ratio(&c.cell, &pick.cell);
        let mut why_not = format!(
            "{}: {} the recommendation's work time",
            view.name(&c.cell),
            ratio_text(&ratio)
        );
        if tied.iter().any(|t| t.cell == c.cell) {
            why_not.push_str(&format!(
                ": not separated from the fastest, and {} is simpler",
                pick.cell.approach
            ));
        } else if ratio.ci_low > 1.0 {
            why_not.push_str(": significantly slower");
        } else {
            why_not.push_str(": slower than the fastest, though this ratio's CI reaches 1");
        }
        if c.speedup_flag.is_some() {
            why_not.push_str(&crate::run::format::noise_note(c));
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

/// What the threads of the scenario's `threads` cells waited on (the
/// sampler's thread states over the work phase): the lock-wait share, named
/// the GIL where the GIL was on.
pub(super) fn lock_wait_evidence(view: &RunView, scenario: &str, rec: &mut Recommendation) {
    for cell in view.summary.cells.iter().filter(|c| {
        c.cell.scenario == scenario
            && c.cell.approach == Approach::Threads
            && c.state == CellState::Measured
    }) {
        let Some(states) = cell.thread_states else {
            continue;
        };
        // The GIL as seen by the runner, else as the interpreter is built.
        let gil = cell
            .gil_enabled
            .unwrap_or_else(|| !view.free_threaded(&cell.cell));
        let lock = if gil {
            "waiting on a lock: the GIL".to_string()
        } else {
            "waiting on a lock (no GIL here: per-object locks and other mutexes)".to_string()
        };
        let mut text = format!(
            "threads ×{} on {} spent {:.0}% of their time {lock}",
            cell.cell.workers,
            view.interpreter(&cell.cell)
                .map_or(cell.cell.interpreter.as_str(), |i| i.label.as_str()),
            states.lock_wait * 100.0
        );
        if states.core_wait >= 0.2 {
            text.push_str(&format!(
                ", {:.0}% waiting for a core (the machine was busy)",
                states.core_wait * 100.0
            ));
        }
        if states.io_wait >= 0.2 {
            text.push_str(&format!(", {:.0}% waiting on I/O", states.io_wait * 100.0));
        }
        rec.reasons.push(text);
    }
}
