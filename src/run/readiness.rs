//! Readiness: will a team's dependencies keep the GIL off? What
//! `gil-lab ready` finds for a dependency tree, per interpreter and per
//! distribution (docs/ready.md), and what a `bench --task` run stores of it
//! (`run.json`'s `task.readiness`) so that the advice and the dashboard can
//! state it next to the measured free-threaded speedups.
//!
//! Only records and the words that describe them live here; the checks are
//! made by `crate::ready`.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// The readiness of one dependency file on every interpreter asked for.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Readiness {
    /// The file checked (requirements.txt, pyproject.toml, uv.lock or
    /// pylock.toml), as given.
    pub source: PathBuf,
    /// One entry per interpreter, in the order they were asked for.
    pub interpreters: Vec<InterpreterReadiness>,
}

/// The verdict of one interpreter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Every distribution installs and imports; on a free-threaded build the
    /// GIL stays off.
    Ready,
    /// Everything installs, but importing some extension module turns the
    /// GIL back on: threads are serialised and the free-threaded speedups do
    /// not apply.
    GilReEnabled,
    /// Some distribution cannot be installed or imported (no wheel and the
    /// build failed, unknown to the registry, the registry did not answer).
    Blocked,
}

/// How a distribution installs on one interpreter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InstallKind {
    /// A wheel built for this interpreter's tag (`cp313t`, `cp314t`, `abi3t`).
    Wheel,
    /// A pure-Python wheel (`py3-none-any`): nothing to build.
    Pure,
    /// Only a source distribution: it was built here (see `build`).
    Source,
    /// The resolver found no release that installs on this interpreter (no
    /// wheel for its tag; for `--target`: no source build is tried).
    NoWheel,
    /// The distribution could not be resolved at all (unknown name, the
    /// registry did not answer, conflicting pins).
    Unresolved,
}

/// What importing one top-level module did in a fresh process.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModuleImport {
    /// The top-level module.
    pub module: String,
    /// Whether it imported.
    pub imported: bool,
    /// On a free-threaded build: whether the GIL was on after the import
    /// (null on a default build, where it always is).
    pub gil_after: Option<bool>,
    /// The extension module CPython named when it turned the GIL back on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gil_enabled_by: Option<String>,
    /// Whether it imports in a subinterpreter with its own GIL (the
    /// `interpreters` approach); null where the interpreter has none or it
    /// was not tried.
    pub subinterpreter: Option<bool>,
    /// Why it did not import (in a process or a subinterpreter), one line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// The fix for a blocker: the oldest newer release that keeps the GIL off
/// (checked by installing and importing it), or none yet.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Fix {
    /// The release that was verified, or null: none yet.
    pub version: Option<String>,
    /// The releases installed and imported to find it, in the order tried.
    pub tried: Vec<String>,
    /// What to do, in one sentence (`ujson>=6.1.0`, or the PYTHON_GIL=0
    /// risk when there is no fix yet).
    pub advice: String,
}

/// One distribution of the resolved tree on one interpreter.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DistributionCheck {
    /// The distribution's name as the registry spells it.
    pub name: String,
    /// The release resolved (null when it could not be resolved).
    pub version: Option<String>,
    /// Whether it was asked for in the file (false: a dependency of one).
    pub requested: bool,
    /// How it installs here.
    pub install: InstallKind,
    /// The file pip chose (a wheel's or a source distribution's name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// Whether a source build succeeded (null when none was needed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub built: Option<bool>,
    /// The kept log of the install (and build), under gil-lab's home.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log: Option<PathBuf>,
    /// Each top-level module imported (empty when it was not installed, or
    /// for `--target`, where nothing is imported).
    pub imports: Vec<ModuleImport>,
    /// This distribution's own verdict.
    pub verdict: Verdict,
    /// Why, in one line: `wheel cp313t; the GIL stays off`, the build log's
    /// last line, `the GIL has been enabled to load module 'ujson'`.
    pub reason: String,
    /// For a blocker: the fix found, or none yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fix: Option<Fix>,
    /// Whether this came from the cache (same interpreter, same release).
    #[serde(default)]
    pub cached: bool,
}

/// The readiness of the tree on one interpreter.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InterpreterReadiness {
    /// The interpreter's label (`CPython 3.13.15t`), or the target
    /// (`3.14t`, from the registry alone).
    pub interpreter: String,
    /// Its executable (null for `--target`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<PathBuf>,
    /// The wheel tag its extension modules need (`cp313t`, `cp313`).
    pub tag: String,
    /// Whether it is a free-threaded build.
    pub free_threaded: bool,
    /// True for `--target`: answered from the registry's wheel tags alone,
    /// nothing installed or imported.
    pub registry_only: bool,
    /// The verdict.
    pub verdict: Verdict,
    /// The distributions that decide it (those that turn the GIL on, or
    /// block): empty when ready.
    pub blockers: Vec<String>,
    /// Every distribution of the resolved tree.
    pub distributions: Vec<DistributionCheck>,
}

impl InterpreterReadiness {
    /// The verdict in words: `ready`, `GIL re-enabled by ujson`,
    /// `blocked by orjson (no wheel for cp313t, ...)`.
    pub fn verdict_words(&self) -> String {
        let names = self.blockers.join(", ");
        match self.verdict {
            Verdict::Ready if self.registry_only => {
                "ready by wheel tags (registry only, nothing imported)".to_owned()
            }
            Verdict::Ready => "ready".to_owned(),
            Verdict::GilReEnabled => format!("GIL re-enabled by {names}"),
            Verdict::Blocked => {
                let first = self
                    .distributions
                    .iter()
                    .find(|d| d.verdict == Verdict::Blocked)
                    .map(|d| {
                        let reason: String = d.reason.chars().take(160).collect();
                        let cut = if reason.len() < d.reason.len() {
                            "..."
                        } else {
                            ""
                        };
                        format!(" ({reason}{cut})")
                    })
                    .unwrap_or_default();
                format!("blocked by {names}{first}")
            }
        }
    }

    /// What it means for threads, one sentence (empty when ready).
    pub fn consequence(&self) -> &'static str {
        match self.verdict {
            Verdict::Ready => "",
            Verdict::GilReEnabled => {
                "threads are serialised by the GIL: the free-threaded speedups do not apply"
            }
            Verdict::Blocked => "the dependencies do not install or import here",
        }
    }
}

impl Readiness {
    /// Whether every interpreter is ready (what `--strict` checks).
    pub fn all_ready(&self) -> bool {
        self.interpreters
            .iter()
            .all(|i| i.verdict == Verdict::Ready)
    }

    /// The free-threaded interpreters whose GIL comes back on (or that are
    /// blocked): what the advice must say before recommending threads.
    pub fn free_threaded_not_ready(&self) -> impl Iterator<Item = &InterpreterReadiness> {
        self.interpreters
            .iter()
            .filter(|i| i.free_threaded && i.verdict != Verdict::Ready)
    }
}

/// The verdict of a set of distributions: blocked beats GIL re-enabled
/// beats ready; returns it with the names that decide it.
pub fn combine<'a>(
    distributions: impl Iterator<Item = &'a DistributionCheck>,
) -> (Verdict, Vec<String>) {
    let mut blocked = Vec::new();
    let mut gil = Vec::new();
    for d in distributions {
        match d.verdict {
            Verdict::Blocked => blocked.push(d.name.clone()),
            Verdict::GilReEnabled => gil.push(d.name.clone()),
            Verdict::Ready => {}
        }
    }
    if !blocked.is_empty() {
        (Verdict::Blocked, blocked)
    } else if !gil.is_empty() {
        (Verdict::GilReEnabled, gil)
    } else {
        (Verdict::Ready, Vec::new())
    }
}
