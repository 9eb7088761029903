//! What the probe (`probe.py`, beside this file) reports about an interpreter,
//! and what gil-lab derives from it.
//!
//! The raw facts are stored as the probe printed them (`Py_GIL_DISABLED`,
//! `Py_DEBUG`, ...); everything else, such as the [`BuildVariant`], is derived
//! from them so that a cached probe result stays meaningful when the
//! derivation changes.

use serde::{Deserialize, Serialize};

/// The probe's single JSON object: facts on success, a typed error otherwise.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum ProbeOutput {
    /// The interpreter answered with its facts.
    Success(Box<Facts>),
    /// The interpreter ran the probe and reported why it cannot be used.
    Error(ReportedError),
}

/// An error the probe itself reported (the interpreter started and ran it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportedError {
    /// Machine-readable kind: `probe_failed` from the probe;
    /// `unsupported_version` from gil-lab itself (see [`super::probe`]).
    pub kind: String,
    /// One human-readable sentence.
    pub message: String,
}

/// The facts the probe reports about one interpreter started in one way
/// (the same executable started with `-X gil=1` has its own facts).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Facts {
    /// `sys.implementation.name`: `cpython`, `pypy`, ...
    pub implementation: String,
    /// `sys.implementation.version` as `X.Y.Z` (PyPy's own version on PyPy).
    pub implementation_version: String,
    /// Full language version with patch level and release tag, e.g. `3.13.5`.
    pub version: String,
    /// `sys.version_info[:3]`: major, minor, micro.
    pub version_info: [u32; 3],
    /// `sys.version`: the build description (compiler, date).
    pub sys_version: String,
    /// `sys.executable` as the interpreter sees itself.
    pub executable: String,
    /// `sys.prefix` (a virtual environment's directory inside one).
    pub prefix: String,
    /// `sys.base_prefix`: the installation the interpreter belongs to.
    pub base_prefix: String,
    /// `sys.abiflags`: contains `t` on free-threaded builds, `d` on debug builds.
    pub abiflags: String,
    /// `sysconfig` `Py_GIL_DISABLED == 1`: a free-threaded build.
    pub py_gil_disabled: bool,
    /// `sysconfig` `Py_DEBUG == 1`: a debug build.
    pub py_debug: bool,
    /// `sys._is_gil_enabled()` when the probe ran; `None` where it does not
    /// exist (before 3.13, other implementations).
    pub gil_enabled: Option<bool>,
    /// `sys.flags.gil`: the configured GIL mode (`-X gil` / `PYTHON_GIL`),
    /// not the live state; `None` where it does not exist or is unset.
    pub gil_flag: Option<i64>,
    /// Which subinterpreter API the interpreter offers.
    pub subinterpreters: SubinterpreterSupport,
    /// `concurrent.futures.InterpreterPoolExecutor` exists (3.14+).
    pub interpreter_pool_executor: bool,
    /// multiprocessing's default start method (`fork`, `forkserver`, `spawn`).
    pub default_start_method: Option<String>,
    /// Every multiprocessing start method available here.
    pub start_methods: Vec<String>,
    /// `sys._jit.is_available()` (3.14+); `None` where there is no such API.
    pub jit_available: Option<bool>,
    /// `sys._jit.is_enabled()` (3.14+); `None` where there is no such API.
    pub jit_enabled: Option<bool>,
    /// `os.cpu_count()`: logical CPUs of the machine.
    pub cpu_count: Option<u32>,
    /// CPUs this process may use (`os.process_cpu_count()`, else affinity).
    pub usable_cpu_count: Option<u32>,
    /// `sys.platform`, e.g. `linux`.
    pub platform: String,
    /// `platform.machine()`, e.g. `x86_64`.
    pub machine: String,
    /// 64 or 32.
    pub pointer_bits: u32,
    /// How the interpreter was built, as `sysconfig` recorded it (absent
    /// from facts probed by older gil-lab versions: empty).
    #[serde(default)]
    pub build: super::recipe::BuildInfo,
}

/// Which subinterpreter API an interpreter offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SubinterpreterSupport {
    /// `concurrent.interpreters` (PEP 734, 3.14+).
    Public,
    /// The private `_interpreters` module (3.13).
    Private,
    /// The older private `_xxsubinterpreters` module (3.12).
    LegacyPrivate,
    /// No subinterpreter API.
    None,
}

impl SubinterpreterSupport {
    /// The module that gives access to subinterpreters, or `none`.
    pub fn module(self) -> &'static str {
        match self {
            Self::Public => "concurrent.interpreters",
            Self::Private => "_interpreters",
            Self::LegacyPrivate => "_xxsubinterpreters",
            Self::None => "none",
        }
    }
}

/// How the interpreter was built, derived from `Py_GIL_DISABLED` and `Py_DEBUG`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BuildVariant {
    /// A default build: the GIL is always on.
    Default,
    /// A debug build with the GIL.
    Debug,
    /// A free-threaded build (`--disable-gil`): the GIL can be off.
    FreeThreaded,
    /// A free-threaded debug build.
    FreeThreadedDebug,
}

impl BuildVariant {
    /// Derives the variant from the raw build flags.
    pub fn from_flags(py_gil_disabled: bool, py_debug: bool) -> Self {
        match (py_gil_disabled, py_debug) {
            (false, false) => Self::Default,
            (false, true) => Self::Debug,
            (true, false) => Self::FreeThreaded,
            (true, true) => Self::FreeThreadedDebug,
        }
    }

    /// A free-threaded build (debug or not).
    pub fn is_free_threaded(self) -> bool {
        matches!(self, Self::FreeThreaded | Self::FreeThreadedDebug)
    }

    /// The suffix CPython puts after the version for this variant: `t`, `d`, `td`.
    pub fn version_suffix(self) -> &'static str {
        match self {
            Self::Default => "",
            Self::Debug => "d",
            Self::FreeThreaded => "t",
            Self::FreeThreadedDebug => "td",
        }
    }

    /// The words used in tables.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Default => "default",
            Self::Debug => "debug",
            Self::FreeThreaded => "free-threaded",
            Self::FreeThreadedDebug => "free-threaded debug",
        }
    }
}

impl Facts {
    /// Whether gil-lab runs the workload on this interpreter: its language
    /// version is at least the supported minimum of its implementation
    /// ([`super::supported`]).
    pub fn runs_workload(&self) -> bool {
        let [major, minor, _] = self.version_info;
        super::supported::runs_workload(&self.implementation, (major, minor))
    }

    /// The build variant derived from `Py_GIL_DISABLED` and `Py_DEBUG`.
    pub fn variant(&self) -> BuildVariant {
        BuildVariant::from_flags(self.py_gil_disabled, self.py_debug)
    }

    /// Whether the GIL was on when the probe ran. Interpreters without
    /// `sys._is_gil_enabled()` have no way to run without it unless they are
    /// free-threaded builds (which all have that function).
    pub fn gil_at_start(&self) -> bool {
        self.gil_enabled.unwrap_or(!self.py_gil_disabled)
    }

    /// Whether `-X gil=0` / `-X gil=1` can switch the GIL: only free-threaded
    /// builds accept `-X gil=0` (default builds refuse to start with it).
    pub fn gil_switchable(&self) -> bool {
        self.py_gil_disabled
    }

    /// Whether subinterpreters get a GIL of their own (PEP 684, CPython
    /// 3.12+), so that they can run in parallel; 3.10 and 3.11 have the
    /// private module, but every subinterpreter shares the one GIL.
    pub fn subinterpreters_own_gil(&self) -> bool {
        self.implementation == "cpython"
            && self.version_info >= [3, 12, 0]
            && self.subinterpreters != SubinterpreterSupport::None
    }

    /// The implementation as people write it: `CPython`, `PyPy`, ...
    pub fn implementation_display(&self) -> String {
        match self.implementation.as_str() {
            "cpython" => "CPython".to_owned(),
            "pypy" => "PyPy".to_owned(),
            "graalpy" => "GraalPy".to_owned(),
            other => {
                let mut chars = other.chars();
                match chars.next() {
                    Some(first) => first.to_uppercase().chain(chars).collect(),
                    None => "Python".to_owned(),
                }
            }
        }
    }

    /// The build recipe derived from [`Facts::build`].
    pub fn recipe(&self) -> super::recipe::Recipe {
        super::recipe::Recipe::of(&self.build)
    }

    /// `CPython 3.13.5t`: implementation, full version, variant suffix.
    pub fn label(&self) -> String {
        format!(
            "{} {}{}",
            self.implementation_display(),
            self.version,
            self.variant().version_suffix()
        )
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// What the probe printed for the free-threaded 3.13.5 build here.
    pub(crate) const FREE_THREADED: &str = r#"{"abiflags": "t", "base_prefix": "/opt/py", "cpu_count": 2,
        "default_start_method": "fork", "executable": "/opt/py/bin/python3.13t", "gil_enabled": false,
        "gil_flag": null, "implementation": "cpython", "implementation_version": "3.13.5",
        "interpreter_pool_executor": false, "jit_available": null, "jit_enabled": null,
        "machine": "x86_64", "platform": "linux", "pointer_bits": 64, "prefix": "/opt/py",
        "py_debug": false, "py_gil_disabled": true, "result": "success",
        "start_methods": ["fork", "spawn", "forkserver"], "subinterpreters": "private",
        "sys_version": "3.13.5 experimental free-threading build", "usable_cpu_count": 2,
        "version": "3.13.5", "version_info": [3, 13, 5], "some_future_fact": 1}"#;

    /// [`FREE_THREADED`] parsed.
    pub(crate) fn free_threaded_facts() -> Facts {
        match serde_json::from_str(FREE_THREADED).unwrap() {
            ProbeOutput::Success(facts) => *facts,
            other => panic!("expected success, got {other:?}"),
        }
    }

    #[test]
    fn success_parses_into_facts_and_ignores_unknown_fields() {
        let output: ProbeOutput = serde_json::from_str(FREE_THREADED).unwrap();
        let ProbeOutput::Success(facts) = output else {
            panic!("expected success, got {output:?}");
        };
        assert_eq!(facts.variant(), BuildVariant::FreeThreaded);
        assert_eq!(facts.label(), "CPython 3.13.5t");
        assert!(!facts.gil_at_start());
        assert!(facts.gil_switchable());
        assert_eq!(facts.subinterpreters, SubinterpreterSupport::Private);
        assert!(facts.subinterpreters_own_gil());
        let old = Facts {
            version_info: [3, 11, 7],
            subinterpreters: SubinterpreterSupport::LegacyPrivate,
            ..(*facts).clone()
        };
        assert!(!old.subinterpreters_own_gil());
    }

    #[test]
    fn error_parses_with_kind_and_message() {
        let text = r#"{"result": "error", "kind": "unsupported_version",
            "message": "Python 3.6.15 is too old", "version": "3.6.15"}"#;
        let output: ProbeOutput = serde_json::from_str(text).unwrap();
        assert_eq!(
            output,
            ProbeOutput::Error(ReportedError {
                kind: "unsupported_version".into(),
                message: "Python 3.6.15 is too old".into(),
            })
        );
    }

    #[test]
    fn missing_fact_is_a_parse_error() {
        let text = FREE_THREADED.replace(r#""abiflags": "t","#, "");
        assert!(serde_json::from_str::<ProbeOutput>(&text).is_err());
    }

    #[test]
    fn variant_is_derived_from_both_flags() {
        assert_eq!(
            BuildVariant::from_flags(false, false),
            BuildVariant::Default
        );
        assert_eq!(BuildVariant::from_flags(false, true), BuildVariant::Debug);
        assert_eq!(
            BuildVariant::from_flags(true, true),
            BuildVariant::FreeThreadedDebug
        );
        assert_eq!(BuildVariant::FreeThreadedDebug.version_suffix(), "td");
        assert!(BuildVariant::FreeThreadedDebug.is_free_threaded());
        assert!(!BuildVariant::Debug.is_free_threaded());
    }

    #[test]
    fn default_build_without_is_gil_enabled_has_the_gil() {
        let text = FREE_THREADED
            .replace(r#""py_gil_disabled": true"#, r#""py_gil_disabled": false"#)
            .replace(r#""gil_enabled": false"#, r#""gil_enabled": null"#)
            .replace(
                r#""implementation": "cpython""#,
                r#""implementation": "pypy""#,
            );
        let ProbeOutput::Success(facts) = serde_json::from_str(&text).unwrap() else {
            panic!("expected success");
        };
        assert!(facts.gil_at_start());
        assert!(!facts.gil_switchable());
        assert_eq!(facts.label(), "PyPy 3.13.5");
    }
}
