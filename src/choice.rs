//! Which interpreters a run uses: `--python` selectors (a path or a version
//! such as `3.13t`), the supported versions, a default build paired with
//! each free-threaded build of the same version, the newest default build,
//! the forced-GIL variants, and unique ids; shared by `bench` and `inspect`.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};

use crate::interpreters::discovery;
use crate::interpreters::{Interpreter, supported};
use crate::run::record::{InterpreterKind, InterpreterRecord};

/// The short id of an interpreter in a run: `cpython-3.13.5t`, `-gil1` for the
/// forced-GIL variant.
pub fn interpreter_id(interpreter: &Interpreter) -> String {
    let facts = &interpreter.facts;
    let [major, minor, patch] = facts.version_info;
    let mut id = format!(
        "{}-{major}.{minor}.{patch}{}",
        facts.implementation.to_lowercase(),
        if interpreter.is_free_threaded() {
            "t"
        } else {
            ""
        }
    );
    if interpreter.gil_forced == Some(true) {
        id.push_str("-gil1");
    }
    id
}

/// What the run records about a discovered interpreter.
pub fn interpreter_record(interpreter: &Interpreter) -> InterpreterRecord {
    let facts = &interpreter.facts;
    let [major, minor, patch] = facts.version_info;
    InterpreterRecord {
        id: interpreter_id(interpreter),
        label: interpreter.label.clone(),
        kind: InterpreterKind::Python,
        path: interpreter.path.clone(),
        flags: interpreter.interpreter_flags(),
        implementation: facts.implementation_display(),
        version: format!("{major}.{minor}.{patch}"),
        free_threaded: interpreter.is_free_threaded(),
        gil_forced: interpreter.gil_forced,
        facts: Some(facts.clone()),
    }
}

/// Replaces each `--python PATH` by the executable discovery runs for it:
/// a wrapper script that `exec`s a real Python is run as that Python (as
/// `python list --python PATH` shows it), so the selector must name that
/// file to match. Versions (`3.13t`) are left as they are.
pub fn resolve_python_paths(selectors: &mut [String]) -> Result<()> {
    for selector in selectors.iter_mut().filter(|s| s.contains('/')) {
        let options = discovery::Options {
            explicit: vec![PathBuf::from(selector.as_str())],
            environment: false,
            auto: false,
            forced_gil_variants: false,
        };
        let found = discovery::discover(&options)?;
        if let Some(interpreter) = found.interpreters.first() {
            *selector = interpreter.path.to_string_lossy().into_owned();
        }
    }
    Ok(())
}

/// A Python version `major.minor.patch` parsed from a probe's version string.
fn version_of(text: &str) -> Option<(u32, u32, u32)> {
    let mut parts = text
        .split(|c: char| !c.is_ascii_digit())
        .filter(|p| !p.is_empty());
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    let patch = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    Some((major, minor, patch))
}

/// An interpreter selector given with `--python`.
#[derive(Debug, PartialEq)]
pub enum Selector {
    /// A path: matches the same real file.
    Path(PathBuf),
    /// `3.13`, `3.13.5`, `3.13t`: matches the version prefix and, with `t`,
    /// free-threaded builds only (without `t`, default builds only).
    Version {
        numbers: Vec<u32>,
        free_threaded: bool,
    },
}

impl Selector {
    pub fn parse(text: &str) -> Result<Selector> {
        if text.contains('/') {
            return Ok(Selector::Path(PathBuf::from(text)));
        }
        let (body, free_threaded) = match text.strip_suffix('t') {
            Some(body) => (body, true),
            None => (text, false),
        };
        let numbers: Option<Vec<u32>> = body.split('.').map(|p| p.parse().ok()).collect();
        match numbers {
            Some(numbers) if (1..=3).contains(&numbers.len()) => Ok(Selector::Version {
                numbers,
                free_threaded,
            }),
            _ => bail!(
                "--python {text}: expected a path to a Python executable or a version such as 3.13, 3.13.5 or 3.13t"
            ),
        }
    }

    pub(crate) fn matches(&self, interpreter: &InterpreterRecord) -> bool {
        match self {
            Selector::Path(path) => same_file(path, &interpreter.path),
            Selector::Version {
                numbers,
                free_threaded,
            } => {
                let Some((a, b, c)) = version_of(&interpreter.version) else {
                    return false;
                };
                interpreter.free_threaded == *free_threaded
                    && numbers
                        .iter()
                        .zip([a, b, c])
                        .all(|(want, have)| *want == have)
            }
        }
    }
}

/// Whether two paths name the same real file.
pub fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// Whether the workload can run on this interpreter at all.
fn supported(interpreter: &InterpreterRecord) -> bool {
    version_of(&interpreter.version).is_some_and(|(major, minor, _)| {
        supported::runs_workload(&interpreter.implementation, (major, minor))
    })
}

fn is_cpython(interpreter: &InterpreterRecord) -> bool {
    interpreter.implementation.eq_ignore_ascii_case("cpython")
}

/// The same free-threaded build with the GIL forced back on (`-X gil=1`,
/// because isolated mode ignores `PYTHON_GIL`).
pub fn forced_gil_variant(interpreter: &InterpreterRecord) -> InterpreterRecord {
    InterpreterRecord {
        id: format!("{}-gil1", interpreter.id),
        label: format!("{} with PYTHON_GIL=1", interpreter.label),
        flags: vec!["-X".into(), "gil=1".into()],
        gil_forced: Some(true),
        ..interpreter.clone()
    }
}

/// Chooses the Python interpreters of the run among the discovered ones
/// (default builds and free-threaded builds, without forced-GIL variants).
pub fn choose_interpreters(
    found: &[InterpreterRecord],
    selectors: &[Selector],
    every: bool,
) -> Result<Vec<InterpreterRecord>> {
    let usable: Vec<&InterpreterRecord> = found
        .iter()
        .filter(|i| i.gil_forced.is_none() && supported(i))
        .collect();
    let mut chosen: Vec<InterpreterRecord> = if !selectors.is_empty() {
        let mut chosen = Vec::new();
        for selector in selectors {
            let matching: Vec<_> = usable.iter().filter(|i| selector.matches(i)).collect();
            if matching.is_empty() {
                let (named, install) = match selector {
                    Selector::Path(path) => (path.display().to_string(), String::new()),
                    Selector::Version {
                        numbers,
                        free_threaded,
                    } => {
                        let version = format!(
                            "{}{}",
                            numbers
                                .iter()
                                .map(u32::to_string)
                                .collect::<Vec<_>>()
                                .join("."),
                            if *free_threaded { "t" } else { "" }
                        );
                        // `python install` provisions CPython 3.13 and newer.
                        let installable = numbers.first() == Some(&3)
                            && numbers.get(1).is_some_and(|minor| *minor >= 13);
                        let install = if installable {
                            format!(", or install it: `gil-lab python install {version}`")
                        } else {
                            String::new()
                        };
                        (version, install)
                    }
                };
                bail!(
                    "no usable interpreter ({}) matches --python {named}: see `gil-lab python list`{install}",
                    supported::describe(),
                );
            }
            chosen.extend(matching.into_iter().map(|i| (*i).clone()));
        }
        chosen
    } else if every {
        usable.iter().map(|i| (*i).clone()).collect()
    } else {
        let free_threaded: Vec<&InterpreterRecord> = usable
            .iter()
            .copied()
            .filter(|i| i.free_threaded && is_cpython(i))
            .collect();
        let defaults: Vec<&InterpreterRecord> = usable
            .iter()
            .copied()
            .filter(|i| !i.free_threaded && is_cpython(i))
            .collect();
        // The default build of the same version as the newest free-threaded
        // one (same patch level first), else the newest default build.
        let newest_ft = free_threaded
            .iter()
            .filter_map(|i| version_of(&i.version))
            .max();
        let key = |i: &InterpreterRecord| {
            let v = version_of(&i.version).unwrap_or_default();
            let same_patch = newest_ft == Some(v);
            let same_minor = newest_ft.is_some_and(|f| (f.0, f.1) == (v.0, v.1));
            (same_patch, same_minor, v)
        };
        let default_build = defaults.iter().copied().max_by_key(|i| key(i));
        // And the newest default build found (3.14, 3.15 next to 3.13t):
        // what a team would otherwise run.
        let newest_default = defaults
            .iter()
            .copied()
            .max_by_key(|i| version_of(&i.version).unwrap_or_default());
        default_build
            .into_iter()
            .chain(newest_default)
            .chain(free_threaded.iter().copied())
            .cloned()
            .collect()
    };
    dedup_by_path(&mut chosen);
    Ok(chosen)
}

/// Discovers the interpreters and chooses among them as `bench` does:
/// `python` holds the `--python` selectors (paths or versions), `every`
/// takes every usable one; ids made unique. Shared by `inspect` and
/// `ready`.
pub fn discover_and_choose(python: &[String], every: bool) -> Result<Vec<InterpreterRecord>> {
    let (selectors, found) = discover_selected(python)?;
    let records: Vec<InterpreterRecord> =
        found.interpreters.iter().map(interpreter_record).collect();
    let mut chosen = choose_interpreters(&records, &selectors, every)?;
    if chosen.is_empty() {
        bail!(
            "no usable Python interpreter found: see `gil-lab python list`, or `gil-lab python install 3.13t`"
        );
    }
    unique_ids(&mut chosen);
    Ok(chosen)
}

/// Parses the `--python` selectors (paths or versions, paths resolved) and
/// discovers the interpreters, the selectors' paths among them. The start
/// of [`discover_and_choose`] and of `learn`'s laboratory, which chooses
/// among the same interpreters by its own rules.
pub fn discover_selected(python: &[String]) -> Result<(Vec<Selector>, discovery::Discovery)> {
    let mut selectors_text = python.to_vec();
    resolve_python_paths(&mut selectors_text)?;
    let selectors = selectors_text
        .iter()
        .map(|s| Selector::parse(s))
        .collect::<Result<Vec<_>>>()?;
    let explicit = selectors_text
        .iter()
        .filter(|s| s.contains('/'))
        .map(PathBuf::from)
        .collect();
    let found = discovery::discover(&discovery::Options {
        explicit,
        ..discovery::Options::default()
    })?;
    Ok((selectors, found))
}

/// Removes interpreters that are the same real file started the same way.
fn dedup_by_path(interpreters: &mut Vec<InterpreterRecord>) {
    let mut seen: Vec<(PathBuf, Vec<String>)> = Vec::new();
    interpreters.retain(|i| {
        let real = i.path.canonicalize().unwrap_or_else(|_| i.path.clone());
        let key = (real, i.flags.clone());
        if seen.contains(&key) {
            false
        } else {
            seen.push(key);
            true
        }
    });
}

/// Makes interpreter ids unique (`-2`, `-3`, ... on collisions).
pub fn unique_ids(interpreters: &mut [InterpreterRecord]) {
    let mut used: Vec<String> = Vec::new();
    for interpreter in interpreters.iter_mut() {
        let mut id = interpreter.id.clone();
        let mut n = 2;
        while used.contains(&id) {
            id = format!("{}-{n}", interpreter.id);
            n += 1;
        }
        interpreter.id = id.clone();
        used.push(id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn python(id: &str, version: &str, free_threaded: bool) -> InterpreterRecord {
        crate::bench::plan::tests::python(id, version, free_threaded)
    }

    #[test]
    fn the_default_choice_adds_the_newest_default_build() {
        let found = [
            python("cpython-3.12.1", "3.12.1", false),
            python("cpython-3.13.5", "3.13.5", false),
            python("cpython-3.13.5t", "3.13.5", true),
            python("cpython-3.14.10", "3.14.10", false),
            python("cpython-3.15.2", "3.15.2", false),
        ];
        let chosen = choose_interpreters(&found, &[], false).unwrap();
        let ids: Vec<&str> = chosen.iter().map(|i| i.id.as_str()).collect();
        assert_eq!(ids, ["cpython-3.13.5", "cpython-3.15.2", "cpython-3.13.5t"]);
        // Without a newer one, nothing is added twice.
        let chosen = choose_interpreters(&found[..3], &[], false).unwrap();
        let ids: Vec<&str> = chosen.iter().map(|i| i.id.as_str()).collect();
        assert_eq!(ids, ["cpython-3.13.5", "cpython-3.13.5t"]);
    }

    #[test]
    fn selector_versions() {
        assert_eq!(
            Selector::parse("3.13t").unwrap(),
            Selector::Version {
                numbers: vec![3, 13],
                free_threaded: true
            }
        );
        assert!(
            Selector::parse("3.13t")
                .unwrap()
                .matches(&python("x", "3.13.5", true))
        );
        assert!(
            !Selector::parse("3.13")
                .unwrap()
                .matches(&python("x", "3.13.5", true))
        );
        assert!(
            Selector::parse("3.13.0")
                .unwrap()
                .matches(&python("x", "3.13.0", false))
        );
    }
}
