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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interpreters::facts::tests::free_threaded_facts;
    use crate::interpreters::recipe::BuildInfo;
    use crate::run::fixtures::{cell, run_file};

    /// A run comparing `py` (CPython 3.13.5t built by GCC 12 -O3) with `new`
    /// (built as `new_build` says), and `py`'s forced-GIL variant.
    fn run_with(new_build: BuildInfo) -> RunFile {
        let cells = [
            cell("py", "threads", 2),
            cell("py-gil1", "threads", 2),
            cell("new", "threads", 2),
        ];
        let mut run = run_file(&cells);
        let own = BuildInfo {
            config_args: "'--prefix=/opt/py' '--disable-gil'".into(),
            compiler: "GCC 12.2.0".into(),
            cflags: "-O3".into(),
            ..BuildInfo::default()
        };
        let mut facts = free_threaded_facts();
        facts.build = own;
        run.interpreters[0].facts = Some(facts.clone());
        run.interpreters[0].label = "CPython 3.13.5t".into();
        let mut forced = run.interpreters[0].clone();
        forced.id = "py-gil1".into();
        forced.gil_forced = Some(true);
        let mut new = run.interpreters[0].clone();
        new.id = "new".into();
        new.label = "CPython 3.14.10".into();
        new.facts = Some(crate::interpreters::facts::Facts {
            build: new_build,
            ..facts
        });
        run.interpreters.extend([forced, new]);
        run
    }

    #[test]
    fn only_a_comparison_across_recipes_gets_the_note() {
        let debian = BuildInfo {
            config_args: "'--prefix=/usr' '--enable-shared'".into(),
            compiler: "GCC 16.2.0".into(),
            cflags: "-O2".into(),
            ..BuildInfo::default()
        };
        let text = note(&run_with(debian), "cpu").unwrap();
        assert!(
            text.starts_with("CPython 3.13.5t is a GCC 12.2.0 -O3 build without PGO or LTO, CPython 3.14.10 is a GCC 16.2.0 -O2 build (PGO/LTO not recorded)"),
            "{text}"
        );
        // The same recipe (the forced-GIL variant is the same build).
        let same = BuildInfo {
            config_args: "'--prefix=/opt/py314'".into(),
            compiler: "GCC 12.2.0".into(),
            cflags: "-O3".into(),
            ..BuildInfo::default()
        };
        assert_eq!(note(&run_with(same), "cpu"), None);
        // A run probed before recipes were recorded: nothing is claimed.
        assert_eq!(note(&run_with(BuildInfo::default()), "cpu"), None);
        assert_eq!(note(&run_with(BuildInfo::default()), "io"), None);
    }
}
