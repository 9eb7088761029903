//! An interpreter gil-lab can run: one Python executable, where it was
//! found ([`Source`]), how it is started (the GIL mode), and what the probe
//! reported about it started that way.

use std::fmt;
use std::path::PathBuf;

use anyhow::Result;
use serde::Serialize;

use super::facts::{BuildVariant, Facts};
use super::probe;

/// Where a candidate interpreter was found (serialized as it is shown).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Source {
    /// Given with `--python`.
    #[serde(rename = "--python")]
    Given,
    /// Listed in `GIL_LAB_PYTHON`.
    #[serde(rename = "GIL_LAB_PYTHON")]
    Environment,
    /// The active virtual environment (`VIRTUAL_ENV`).
    #[serde(rename = "virtualenv")]
    Virtualenv,
    /// A directory on PATH.
    #[serde(rename = "PATH")]
    Path,
    /// pyenv's versions directory.
    #[serde(rename = "pyenv")]
    Pyenv,
    /// uv's managed interpreters.
    #[serde(rename = "uv")]
    Uv,
    /// Provisioned by `gil-lab python install`.
    #[serde(rename = "gil-lab")]
    GilLab,
    /// A common prefix (`/usr/bin`, `/usr/local/bin`, `/opt/*/bin`).
    #[serde(rename = "prefix")]
    Prefix,
}

impl Source {
    /// Whether the user named this interpreter (then failing is an error).
    pub fn is_explicit(self) -> bool {
        matches!(self, Self::Given | Self::Environment)
    }

    /// How the user named it, for error messages that say what to fix.
    pub(super) fn naming(self) -> &'static str {
        match self {
            Self::Environment => "listed in GIL_LAB_PYTHON",
            _ => "given with --python",
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Given => "--python",
            Self::Environment => "GIL_LAB_PYTHON",
            Self::Virtualenv => "virtualenv",
            Self::Path => "PATH",
            Self::Pyenv => "pyenv",
            Self::Uv => "uv",
            Self::GilLab => "gil-lab",
            Self::Prefix => "prefix",
        })
    }
}

/// An interpreter: one Python executable plus how it is started.
#[derive(Debug, Clone, Serialize)]
pub struct Interpreter {
    /// Unique name, e.g. `CPython 3.13.5t` or
    /// `CPython 3.13.5t with PYTHON_GIL=1`; the path is appended when two
    /// interpreters would otherwise share a name.
    pub label: String,
    /// The executable to run (a pyenv shim is replaced by the real
    /// executable it ran).
    pub path: PathBuf,
    /// The path it was found or given as.
    pub found_as: PathBuf,
    /// Where it was found.
    pub source: Source,
    /// The build variant derived from the facts.
    pub variant: BuildVariant,
    /// `Some(true)`: started with `-X gil=1` (the GIL forced on);
    /// `Some(false)`: `-X gil=0`; `None`: the build's default.
    pub gil_forced: Option<bool>,
    /// What the probe reported when started this way.
    pub facts: Facts,
}

impl Interpreter {
    /// The flags that start it this way, for
    /// [`crate::embedded::module_command`] and
    /// [`crate::embedded::isolated_command`]: `-X gil=1` for a forced GIL.
    pub fn interpreter_flags(&self) -> Vec<String> {
        gil_flags(self.gil_forced)
    }

    /// A free-threaded build run as built: the GIL off, nothing forced.
    pub fn is_free_threaded_as_built(&self) -> bool {
        self.is_free_threaded() && self.gil_forced.is_none()
    }

    /// Whether it is a free-threaded build (whatever the GIL mode).
    pub fn is_free_threaded(&self) -> bool {
        self.variant.is_free_threaded()
    }

    /// Whether the GIL was on when it started (as the probe saw it).
    pub fn gil_at_start(&self) -> bool {
        self.facts.gil_at_start()
    }

    /// The same free-threaded build started with `-X gil=1`, probed to
    /// confirm that the GIL is then on. (Isolated mode ignores `PYTHON_GIL`,
    /// so `-X gil=1` is how gil-lab starts the "PYTHON_GIL=1" interpreter.)
    pub fn with_gil_forced_on(&self) -> Result<Interpreter> {
        anyhow::ensure!(
            self.is_free_threaded(),
            "{} is not a free-threaded build: its GIL is always on",
            self.label
        );
        let flags = gil_flags(Some(true));
        let facts = probe::probe(&self.path, &flags)?;
        anyhow::ensure!(
            facts.gil_enabled == Some(true),
            "{} started with -X gil=1 still reports the GIL off",
            self.path.display()
        );
        Ok(Interpreter {
            label: forced_label(&facts.label()),
            gil_forced: Some(true),
            facts,
            ..self.clone()
        })
    }
}

fn gil_flags(gil: Option<bool>) -> Vec<String> {
    match gil {
        Some(on) => vec!["-X".to_owned(), format!("gil={}", u8::from(on))],
        None => Vec::new(),
    }
}

fn forced_label(base: &str) -> String {
    format!("{base} with PYTHON_GIL=1")
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::interpreters::facts::tests::free_threaded_facts;

    #[test]
    fn sources_serialize_as_they_are_shown() {
        for source in [
            Source::Given,
            Source::Environment,
            Source::Path,
            Source::GilLab,
        ] {
            let json = serde_json::to_value(source).unwrap();
            assert_eq!(json, source.to_string());
        }
    }

    pub(crate) fn interpreter(label: &str, path: &str) -> Interpreter {
        let facts = free_threaded_facts();
        Interpreter {
            label: label.to_owned(),
            path: path.into(),
            found_as: path.into(),
            source: Source::Path,
            variant: facts.variant(),
            gil_forced: None,
            facts,
        }
    }

    #[test]
    fn gil_flags_follow_the_mode() {
        assert!(gil_flags(None).is_empty());
        assert_eq!(gil_flags(Some(true)), ["-X", "gil=1"]);
        assert_eq!(gil_flags(Some(false)), ["-X", "gil=0"]);
        assert_eq!(
            forced_label("CPython 3.13.5t"),
            "CPython 3.13.5t with PYTHON_GIL=1"
        );
    }
}
