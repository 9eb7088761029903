//! The situation `gil-lab advise --workload ...` describes: the kind of
//! work, its flags, the interpreter asked for (a [`Target`]), what is known
//! of its C extensions, and the interpreter names and `bench` flags the
//! rules derive from it. Reasoning about it is in [`super::from_situation`]
//! and [`super::rules`].

use std::fmt;
use std::str::FromStr;

use anyhow::{Result, bail};
use serde::{Deserialize, Serialize};

/// What the agents mostly do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Workload {
    /// Compute.
    Cpu,
    /// Wait on calls (network, model endpoints, disks).
    Io,
    /// Both.
    Mixed,
}

impl Workload {
    /// The `bench` scenario that measures this kind of work.
    pub fn scenario(self) -> &'static str {
        match self {
            Workload::Cpu => "cpu",
            Workload::Io => "io",
            Workload::Mixed => "mixed",
        }
    }

    pub(super) fn words(self) -> &'static str {
        match self {
            Workload::Cpu => "CPU-bound agents",
            Workload::Io => "I/O-bound agents",
            Workload::Mixed => "mixed I/O and CPU agents",
        }
    }
}

impl FromStr for Workload {
    type Err = anyhow::Error;

    fn from_str(text: &str) -> Result<Workload> {
        match text {
            "cpu" => Ok(Workload::Cpu),
            "io" => Ok(Workload::Io),
            "mixed" => Ok(Workload::Mixed),
            other => bail!("unknown workload `{other}`: use --workload cpu, io or mixed"),
        }
    }
}

/// The interpreter the code will run on: a CPython version, free-threaded
/// or not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Target {
    /// Major version (3).
    pub major: u32,
    /// Minor version.
    pub minor: u32,
    /// Patch level, when given.
    pub patch: Option<u32>,
    /// A free-threaded build (`t`).
    pub free_threaded: bool,
}

impl Target {
    /// The version without the `t`: `3.13`.
    pub fn without_t(&self) -> String {
        match self.patch {
            Some(patch) => format!("{}.{}.{patch}", self.major, self.minor),
            None => format!("{}.{}", self.major, self.minor),
        }
    }
}

impl fmt::Display for Target {
    /// `3.13t`, `3.12`, `3.13.5t`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}{}",
            self.without_t(),
            if self.free_threaded { "t" } else { "" }
        )
    }
}

impl FromStr for Target {
    type Err = anyhow::Error;

    fn from_str(text: &str) -> Result<Target> {
        let bad = || {
            anyhow::anyhow!(
                "--python {text:?} is not a CPython version: give one such as 3.13t, 3.14t or 3.12"
            )
        };
        let (digits, free_threaded) = match text.strip_suffix('t') {
            Some(rest) => (rest, true),
            None => (text, false),
        };
        let parts: Vec<u32> = digits
            .split('.')
            .map(|p| p.parse().map_err(|_| bad()))
            .collect::<Result<_>>()?;
        let (major, minor, patch) = match parts[..] {
            [major, minor] => (major, minor, None),
            [major, minor, patch] => (major, minor, Some(patch)),
            _ => return Err(bad()),
        };
        if major != 3 {
            return Err(bad());
        }
        if free_threaded && minor < 13 {
            bail!(
                "--python {text}: free-threaded builds exist from 3.13: give 3.13t, 3.14t or a default version such as 3.{minor}"
            );
        }
        Ok(Target {
            major,
            minor,
            patch,
            free_threaded,
        })
    }
}

/// The situation, as `--workload` and its flags describe it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Situation {
    /// What the agents mostly do.
    pub workload: Workload,
    /// The tasks work over common state.
    pub shared_state: bool,
    /// The inputs (or the shared state) are large.
    pub large_inputs: bool,
    /// C extension modules the code imports.
    pub c_extensions: Vec<String>,
    /// The interpreter the code will run on, if decided.
    pub python: Option<Target>,
    /// Response time matters.
    pub latency_sensitive: bool,
    /// The work outgrows one machine.
    pub beyond_one_machine: bool,
}

/// What importing a module did on a free-threaded interpreter (as
/// `python check-imports --json` reports it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportOutcome {
    /// Imported, and the GIL is still off.
    KeptGilOff,
    /// Imported, and the GIL was turned back on.
    EnabledGil,
    /// The import failed.
    ImportFailed,
    /// Not a free-threaded build.
    NotApplicable,
}

/// One module imported on one interpreter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportCheck {
    /// The interpreter's label.
    pub interpreter: String,
    /// The module.
    pub module: String,
    /// What the import did.
    pub outcome: ImportOutcome,
    /// Why the import failed.
    #[serde(default)]
    pub detail: Option<String>,
}

/// What is known about the `--c-extensions`.
#[derive(Debug, Clone, PartialEq)]
pub enum ExtensionCheck {
    /// None were given.
    NotAsked,
    /// No free-threaded interpreter to import them with.
    NoFreeThreaded,
    /// Imported on the free-threaded interpreters.
    Checked(Vec<ImportCheck>),
}

/// The free-threaded interpreter to name: the one asked for, else the
/// newest line (whose single-thread cost is the smallest).
pub(super) fn free_threaded_name(target: Option<&Target>) -> String {
    match target {
        Some(t) if t.free_threaded => format!("free-threaded CPython {t}"),
        _ => "free-threaded CPython 3.14t (or 3.13t)".into(),
    }
}

/// The default build to name: the one asked for, else any.
pub(super) fn default_name(target: Option<&Target>) -> String {
    match target {
        Some(t) if !t.free_threaded => format!("CPython {t} (default build)"),
        Some(t) => format!("the default build of CPython {}", t.without_t()),
        None => {
            let (major, minor) = crate::interpreters::supported::MIN_CPYTHON;
            format!("a default CPython build ({major}.{minor}+)")
        }
    }
}

/// `--python` values for `bench` comparing a free-threaded build with the
/// default build of the same version.
pub(super) fn bench_pythons(target: Option<&Target>) -> String {
    let version = match target {
        Some(t) if t.minor >= 13 => t.without_t(),
        _ => "3.13".into(),
    };
    format!("--python {version}t --python {version}")
}

/// Whether the situation can use free-threaded threads: no interpreter was
/// named, or a free-threaded one was.
pub(super) fn free_threading_possible(s: &Situation) -> bool {
    s.python.as_ref().is_none_or(|t| t.free_threaded)
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_and_bad_ones_name_the_fix() {
        let t: Target = "3.13t".parse().unwrap();
        assert!(t.free_threaded && t.minor == 13 && t.patch.is_none());
        assert_eq!(t.to_string(), "3.13t");
        assert_eq!(t.without_t(), "3.13");
        let t: Target = "3.13.5".parse().unwrap();
        assert_eq!((t.patch, t.free_threaded), (Some(5), false));
        for bad in ["3", "three", "2.7", "3.13.5.1", "3.x"] {
            let err = bad.parse::<Target>().unwrap_err().to_string();
            assert!(err.contains("such as 3.13t"), "{bad}: {err}");
        }
        let err = "3.12t".parse::<Target>().unwrap_err().to_string();
        assert!(err.contains("from 3.13"), "{err}");
        let err = "gpu".parse::<Workload>().unwrap_err().to_string();
        assert_eq!(
            err,
            "unknown workload `gpu`: use --workload cpu, io or mixed"
        );
    }
}

/// Situations and checks for the unit tests of the rules.
#[cfg(test)]
pub(super) mod fixtures {
    use super::*;

    /// A situation of this workload with no other flags.
    pub fn situation(workload: Workload) -> Situation {
        Situation {
            workload,
            shared_state: false,
            large_inputs: false,
            c_extensions: vec![],
            python: None,
            latency_sensitive: false,
            beyond_one_machine: false,
        }
    }

    pub fn target(text: &str) -> Option<Target> {
        Some(text.parse().unwrap())
    }

    pub fn check(module: &str, outcome: ImportOutcome) -> ImportCheck {
        ImportCheck {
            interpreter: "CPython 3.13.5t".into(),
            module: module.into(),
            outcome,
            detail: None,
        }
    }
}
