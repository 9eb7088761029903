//! Finding interpreters: the candidates (the places Python is usually
//! installed, plus the ones a user names with `--python` or
//! `GIL_LAB_PYTHON`, see [`super::candidates`]) are probed, and each that
//! answers becomes an [`Interpreter`]; then they are sorted and labelled.
//!
//! Auto-discovered candidates that fail to probe are set aside as
//! [`Unusable`] (shown by `python list --all`); a path the user named that
//! fails is an error, because the user expects it to be measured.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use anyhow::Result;
use serde::Serialize;

use super::candidates::{
    Candidate, FileIdentity, auto_candidates, dedupe, environment_paths, explicit_candidate,
    is_pyenv_shim, pyenv_real_executable,
};
use super::facts::Facts;
use super::interpreter::{Interpreter, Source};
use super::parallel_probe::probe_all;
use super::probe::{self, ProbeError};
use super::probe_cache::{self, ProbeCache};
use super::select_args::SelectArgs;

/// An auto-discovered candidate that cannot be used, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Unusable {
    /// The path it was found as.
    pub path: PathBuf,
    /// Where it was found.
    pub source: Source,
    /// Why it cannot be used (one line).
    pub reason: String,
}

/// What discovery found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Discovery {
    /// Usable interpreters, sorted by implementation, version and variant; a
    /// forced-GIL variant right after its free-threaded build.
    pub interpreters: Vec<Interpreter>,
    /// Auto-discovered candidates that failed to probe.
    pub unusable: Vec<Unusable>,
}

/// What to discover.
#[derive(Debug, Clone)]
pub struct Options {
    /// Paths given with `--python` (they come first and must work).
    pub explicit: Vec<PathBuf>,
    /// Read `GIL_LAB_PYTHON`.
    pub environment: bool,
    /// Look in the usual places too.
    pub auto: bool,
    /// Add, after each free-threaded build, the same build started with
    /// `-X gil=1` (the GIL forced on).
    pub forced_gil_variants: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            explicit: Vec::new(),
            environment: true,
            auto: true,
            forced_gil_variants: false,
        }
    }
}

impl Options {
    /// The options a [`SelectArgs`] asks for.
    pub fn from_args(args: &SelectArgs) -> Self {
        Self {
            explicit: args.python.clone(),
            auto: !args.no_discover,
            ..Self::default()
        }
    }
}

/// Finds and probes interpreters; see [`Discovery`].
pub fn discover(options: &Options) -> Result<Discovery> {
    let cache = ProbeCache::open()?;
    // Problems of gil-lab's own set-up would otherwise make every
    // auto-discovered candidate look unusable: report them once, up front.
    probe::timeout()?;
    let mut candidates = Vec::new();
    for path in &options.explicit {
        candidates.push(explicit_candidate(path, Source::Given)?);
    }
    if options.environment {
        for path in environment_paths() {
            candidates.push(explicit_candidate(&path, Source::Environment)?);
        }
    }
    if options.auto {
        candidates.extend(auto_candidates());
    }
    let candidates = dedupe(candidates);
    let probed = probe_all(&candidates, &cache);

    let mut discovery = Discovery::default();
    let mut seen_executables = HashSet::new();
    for (candidate, result) in candidates.iter().zip(probed) {
        let facts = match result {
            Ok(facts) => facts,
            Err(error) if candidate.source.is_explicit() => {
                return Err(explain_explicit_failure(candidate, error));
            }
            Err(error) => {
                // The path is shown next to the reason: drop it from the text.
                let text = error.to_string();
                let prefix = format!("{}: ", candidate.path.display());
                let reason = text.strip_prefix(&prefix).unwrap_or(&text).to_owned();
                discovery.unusable.push(Unusable {
                    path: candidate.path.clone(),
                    source: candidate.source,
                    reason,
                });
                continue;
            }
        };
        let path = run_path(&candidate.path, &facts);
        // Two names for the same real executable (a shim and its target, a
        // link found under another name) are one interpreter.
        if !seen_executables.insert(FileIdentity::of(&path)) {
            continue;
        }
        discovery.interpreters.push(Interpreter {
            label: facts.label(),
            path,
            found_as: candidate.path.clone(),
            source: candidate.source,
            variant: facts.variant(),
            gil_forced: None,
            facts,
        });
    }
    discovery
        .interpreters
        .sort_by(|a, b| sort_key(a).cmp(&sort_key(b)));

    if options.forced_gil_variants {
        add_forced_gil_variants(&mut discovery);
    }
    make_labels_unique(&mut discovery.interpreters);
    Ok(discovery)
}

/// Puts, right after each free-threaded build, the same build started with
/// `-X gil=1`; a build where that does not turn the GIL on is set aside as
/// unusable in that mode.
fn add_forced_gil_variants(discovery: &mut Discovery) {
    let interpreters = std::mem::take(&mut discovery.interpreters);
    for interpreter in interpreters {
        let forced = interpreter
            .is_free_threaded()
            .then(|| interpreter.with_gil_forced_on());
        match forced {
            Some(Err(error)) => discovery.unusable.push(Unusable {
                path: interpreter.path.clone(),
                source: interpreter.source,
                reason: format!("with -X gil=1: {error:#}"),
            }),
            Some(Ok(forced)) => {
                discovery.interpreters.push(interpreter);
                discovery.interpreters.push(forced);
                continue;
            }
            None => {}
        }
        discovery.interpreters.push(interpreter);
    }
}

/// Sort order: implementation (CPython first), version, variant, then the
/// default GIL mode before a forced one, then path.
fn sort_key(interpreter: &Interpreter) -> impl Ord + '_ {
    (
        interpreter.facts.implementation != "cpython",
        &interpreter.facts.implementation,
        interpreter.facts.version_info,
        interpreter.variant,
        interpreter.gil_forced,
        &interpreter.path,
    )
}

/// Appends the path to labels that two interpreters share (e.g. two builds
/// of CPython 3.13.5t in different places), so that every label names one.
fn make_labels_unique(interpreters: &mut [Interpreter]) {
    let mut counts = std::collections::HashMap::new();
    for interpreter in interpreters.iter() {
        *counts.entry(interpreter.label.clone()).or_insert(0) += 1;
    }
    for interpreter in interpreters.iter_mut() {
        if counts[&interpreter.label] > 1 {
            interpreter.label = format!("{} ({})", interpreter.label, interpreter.path.display());
        }
    }
}

/// The executable to run: a shim is replaced by the real executable it ran
/// (`sys.executable`), so that trials do not pay for the shim's shell script.
fn run_path(found: &Path, facts: &Facts) -> PathBuf {
    let reported = PathBuf::from(&facts.executable);
    if probe_cache::is_script(found) && reported.is_absolute() && reported.is_file() {
        reported
    } else {
        found.to_owned()
    }
}

/// Turns a probe failure of a path the user named into a one-line error
/// that says what to do.
fn explain_explicit_failure(candidate: &Candidate, error: ProbeError) -> anyhow::Error {
    let naming = candidate.source.naming();
    let path = candidate.path.display();
    if is_pyenv_shim(&candidate.path) {
        let hint = candidate
            .path
            .file_name()
            .and_then(pyenv_real_executable)
            .map(|real| format!(", e.g. {}", real.display()))
            .unwrap_or_default();
        let cause = match &error {
            ProbeError::Exited { output, .. } => output.summary(),
            other => other.to_string(),
        };
        return anyhow::anyhow!(
            "{path} ({naming}) is a pyenv shim that does not work ({cause}): give the real executable under pyenv's versions directory instead{hint}"
        );
    }
    if let ProbeError::Reported { message, .. } = &error
        && error.is_unsupported_version()
    {
        let (major, minor) = super::supported::MIN_CPYTHON;
        return anyhow::anyhow!(
            "{path} ({naming}) cannot be used: {message}; give a Python {major}.{minor}+ interpreter"
        );
    }
    anyhow::anyhow!("{error} ({naming})")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interpreters::interpreter::tests::interpreter;

    #[test]
    fn shared_labels_get_their_path() {
        let mut interpreters = vec![
            interpreter("CPython 3.13.5t", "/a/python3.13t"),
            interpreter("CPython 3.13.5t", "/b/python3.13t"),
            interpreter("CPython 3.12.1", "/c/python3.12"),
        ];
        make_labels_unique(&mut interpreters);
        assert_eq!(interpreters[0].label, "CPython 3.13.5t (/a/python3.13t)");
        assert_eq!(interpreters[1].label, "CPython 3.13.5t (/b/python3.13t)");
        assert_eq!(interpreters[2].label, "CPython 3.12.1");
    }
}
