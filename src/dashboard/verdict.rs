//! The verdict per scenario in one sentence ("cpu: free-threaded threads,
//! 1.93× at 2 workers, 0.4× the memory of processes"), with the evidence
//! behind it. The winner, the ties and whether the verdict was decided come
//! from the run's summary (`run::verdict`, paired rounds); this module only
//! words them.

use serde::Serialize;

use crate::run::LoadedRun;
use crate::run::format::describe;
use crate::run::format::{format_bytes, format_seconds};
use crate::run::record::{
    CellKey, CellSummary, Decision, InterpreterKind, InterpreterRecord, RunSummary,
};
use crate::vocabulary::Approach;

use super::views::{GilMode, median_estimate, ratio_text, seconds_text};

/// One scenario's verdict.
#[derive(Debug, Clone, Serialize)]
pub struct VerdictView {
    /// The scenario.
    pub scenario: String,
    /// The verdict in one sentence.
    pub sentence: String,
    /// Whether the winner is within noise of other cells.
    pub tie: bool,
    /// The facts the sentence rests on, one per line.
    pub evidence: Vec<String>,
    /// When the compared interpreters were built with different recipes
    /// (PGO, LTO, compiler, `-O` level): which, in one sentence.
    pub builds: Option<String>,
}

/// How an approach on an interpreter is called in a verdict:
/// "free-threaded threads", "threads under the GIL", "processes".
fn flavoured(loaded: &LoadedRun, cell: &CellKey) -> String {
    let mode = loaded
        .run
        .interpreter(&cell.interpreter)
        .map(InterpreterRecord::gil_mode);
    match mode {
        Some(GilMode::FreeThreaded) => format!("free-threaded {}", cell.approach),
        Some(GilMode::ForcedOn) => {
            format!("{} (free-threaded build, GIL forced on)", cell.approach)
        }
        Some(GilMode::Native) => format!("native {}", cell.approach),
        _ if cell.approach == Approach::Threads => "threads under the GIL".into(),
        _ => cell.approach.to_string(),
    }
}

fn summary_of<'a>(summary: &'a RunSummary, cell: &CellKey) -> Option<&'a CellSummary> {
    summary.cells.iter().find(|c| &c.cell == cell)
}

/// The memory comparison of the sentence: the winner against the other
/// family (threads-like approaches against `processes`, `processes` against
/// `threads`), on the same interpreter and workers when measured there.
fn memory_clause(
    loaded: &LoadedRun,
    summary: &RunSummary,
    winner: &CellSummary,
) -> Option<(String, String)> {
    let other = if winner.cell.approach == Approach::Processes {
        Approach::Threads
    } else {
        Approach::Processes
    };
    let mine = winner.peak_memory_bytes? as f64;
    let candidates: Vec<&CellSummary> = summary
        .cells
        .iter()
        .filter(|c| c.cell.scenario == winner.cell.scenario && c.cell.approach == other)
        .filter(|c| c.peak_memory_bytes.is_some())
        .collect();
    let same = candidates.iter().find(|c| {
        c.cell.interpreter == winner.cell.interpreter && c.cell.workers == winner.cell.workers
    });
    let theirs = same.or_else(|| candidates.first())?;
    let bytes = theirs.peak_memory_bytes? as f64;
    if bytes <= 0.0 {
        return None;
    }
    Some((
        format!("{:.1}× the memory of {other}", mine / bytes),
        format!(
            "peak memory {} vs {} for {}",
            format_bytes(mine as u64),
            format_bytes(bytes as u64),
            describe(&loaded.run, &theirs.cell)
        ),
    ))
}

/// The verdict of every scenario of the summary.
pub fn verdicts(loaded: &LoadedRun, summary: &RunSummary) -> Vec<VerdictView> {
    summary
        .scenarios
        .iter()
        .map(|v| {
            let scenario = v.scenario.clone();
            let Some(winner) = v.winner.as_ref().and_then(|w| summary_of(summary, w)) else {
                return VerdictView {
                    sentence: format!("{scenario}: no verdict yet ({})", v.explanation),
                    builds: crate::run::builds::note(&loaded.run, &scenario),
                    scenario,
                    tie: false,
                    evidence: vec![],
                };
            };
            let tie = !v.tied_with.is_empty();
            let mut evidence = vec![v.explanation.clone()];
            let mut parts = vec![flavoured(loaded, &winner.cell)];
            if let Some(s) = winner.speedup.filter(|_| !winner.cell.is_baseline()) {
                parts.push(format!("{:.2}× at {} workers", s.point, winner.cell.workers));
            }
            // Memory only matters next to another way of running in parallel.
            if !winner.cell.is_baseline()
                && let Some((clause, detail)) = memory_clause(loaded, summary, winner)
            {
                parts.push(clause);
                evidence.push(detail);
            }
            if let Some(work) = &winner.work {
                evidence.push(format!(
                    "{}: median work phase {} over {} trials",
                    describe(&loaded.run, &winner.cell),
                    seconds_text(&median_estimate(work)),
                    work.n
                ));
            }
            if let Some(s) = &winner.speedup {
                evidence.push(format!(
                    "speedup (work phase) {}{}",
                    ratio_text(s),
                    crate::run::format::noise_note(winner)
                ));
            }
            if let Some(s) = &winner.end_to_end_speedup {
                evidence.push(format!("end-to-end speedup (wall time) {}", ratio_text(s)));
            }
            if let Some(ceiling) = native_ceiling(loaded, summary, &scenario) {
                evidence.push(ceiling);
            }
            let others = |n: usize| {
                format!("{n} other cell{}", if n == 1 { " is" } else { "s are" })
            };
            let how = match v.decision() {
                Decision::Tie => format!("equivalent within ±{:.0}%", v.margin * 100.0),
                _ => "not yet separated from it (the run ended undecided)".to_string(),
            };
            // A tie leads with the tie: the fastest median is not a winner.
            let sentence = match (winner.cell.is_baseline(), tie) {
                (true, false) => format!(
                    "{scenario}: sequential — no concurrent approach was faster than running the agents one after another"
                ),
                (true, true) => format!(
                    "{scenario}: no approach was measurably faster than sequential — {} {how}",
                    others(v.tied_with.len())
                ),
                (false, true) => format!(
                    "{scenario}: {} — {} has the fastest median, {}, but {} {how}",
                    if v.decision() == Decision::Tie { "a tie" } else { "undecided" },
                    parts[0],
                    parts[1..].join(", "),
                    others(v.tied_with.len())
                ),
                (false, false) => format!("{scenario}: {}", parts.join(", ")),
            };
            VerdictView {
                builds: crate::run::builds::note(&loaded.run, &scenario),
                scenario,
                sentence,
                tie,
                evidence,
            }
        })
        .collect()
}

/// "native twin ceiling: threads ×2, 1.98× (...), 120.1 ms of work".
fn native_ceiling(loaded: &LoadedRun, summary: &RunSummary, scenario: &str) -> Option<String> {
    let best = summary
        .cells
        .iter()
        .filter(|c| c.cell.scenario == scenario && !c.cell.is_baseline())
        .filter(|c| {
            loaded
                .run
                .interpreter(&c.cell.interpreter)
                .is_some_and(|i| i.kind == InterpreterKind::Native)
        })
        .filter_map(|c| Some((c, c.speedup?)))
        .max_by(|a, b| a.1.point.total_cmp(&b.1.point))?;
    Some(format!(
        "ceiling, the native twin: {} ×{} reaches {} ({} of work)",
        best.0.cell.approach,
        best.0.cell.workers,
        ratio_text(&best.1),
        best.0
            .work
            .as_ref()
            .map_or_else(|| "—".into(), |w| format_seconds(w.median))
    ))
}
