//! Whether a run compares builds made with different recipes (PGO, LTO,
//! compiler, `-O` level; see [`crate::interpreters::recipe`]): the terminal,
//! the dashboard and the advice show the same sentence next to the
//! comparison, because part of such a difference is the build, not the
//! version or the GIL.

use super::record::{InterpreterKind, RunFile};
use crate::interpreters::recipe;

/// The sentence for `scenario`'s comparison, or None when its CPython
/// interpreters were built alike (or when their recipes were not recorded:
/// runs probed before gil-lab recorded them).
pub fn note(run: &RunFile, scenario: &str) -> Option<String> {
    let mut ids: Vec<&str> = run
        .plan
        .iter()
        .filter(|planned| planned.cell.scenario == scenario)
        .map(|planned| planned.cell.interpreter.as_str())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let mut builds = Vec::new();
    for interpreter in &run.interpreters {
        // The forced-GIL variant is its build started differently.
        if !ids.contains(&interpreter.id.as_str())
            || interpreter.kind != InterpreterKind::Python
            || interpreter.gil_forced == Some(true)
        {
            continue;
        }
        let facts = interpreter.facts.as_ref()?;
        // The recipe's words (PGO, LTO, configure) are CPython's.
        if facts.implementation != "cpython" {
            continue;
        }
        if facts.build == recipe::BuildInfo::default() {
            return None;
        }
        builds.push((interpreter.label.as_str(), &facts.build));
    }
    if builds.len() < 2 {
        return None;
    }
    recipe::difference_note(builds)
}
