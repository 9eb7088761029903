//! Finding interpreters: the places Python is usually installed, plus the
//! ones a user names with `--python` or `GIL_LAB_PYTHON`; each is probed and
//! becomes an [`Interpreter`].
//!
//! Auto-discovered candidates that fail to probe are set aside as
//! [`Unusable`] (shown by `python list --all`); a path the user named that
//! fails is an error, because the user expects it to be measured.

use std::collections::HashSet;
use std::ffi::OsStr;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde::Serialize;

use super::facts::{BuildVariant, Facts};
use super::probe::{self, ProbeError};
use super::probe_cache::{self, ProbeCache};

/// Environment variable with extra interpreters, separated like PATH.
pub const PYTHON_ENV: &str = "GIL_LAB_PYTHON";

/// Which interpreters to look at (shared by `python list`, `check-imports`
/// and anything else that works on a set of interpreters).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct SelectArgs {
    /// An interpreter to include (repeatable): a path, or a name looked up on
    /// PATH (e.g. `python3.13t`). A path that is not a working Python 3.10+ is
    /// an error. GIL_LAB_PYTHON adds more (colon-separated).
    #[arg(long = "python", value_name = "PATH")]
    pub python: Vec<PathBuf>,
    /// Only the interpreters given with --python or GIL_LAB_PYTHON: do not
    /// look for others.
    #[arg(long)]
    pub no_discover: bool,
}

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
    fn naming(self) -> &'static str {
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
    pub gil: Option<bool>,
    /// What the probe reported when started this way.
    pub facts: Facts,
}

impl Interpreter {
    /// The flags that start it this way, for
    /// [`crate::embedded::module_command`]: `-X gil=1` for a forced GIL.
    pub fn interpreter_flags(&self) -> Vec<String> {
        gil_flags(self.gil)
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
            gil: Some(true),
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
    crate::embedded::package_root()?;
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
            gil: None,
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
        interpreter.gil,
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

/// A candidate interpreter before probing.
#[derive(Debug, Clone, PartialEq)]
struct Candidate {
    path: PathBuf,
    source: Source,
}

/// Checks a path the user named and makes it absolute. A bare name (no `/`)
/// that is not a file in the current directory is looked up on PATH.
fn explicit_candidate(given: &Path, source: Source) -> Result<Candidate> {
    let naming = source.naming();
    let is_bare_name = given.components().count() == 1 && !given.as_os_str().is_empty();
    let path = if is_bare_name && !given.exists() {
        match find_on_path(given.as_os_str()) {
            Some(found) => found,
            None => bail!(
                "{} ({naming}) is not a file here nor on PATH: give the interpreter's full path",
                given.display()
            ),
        }
    } else {
        std::path::absolute(given)
            .with_context(|| format!("cannot make {} an absolute path", given.display()))?
    };
    let metadata = match std::fs::metadata(&path) {
        Ok(metadata) => metadata,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => bail!(
            "{} ({naming}) does not exist: give the path of a Python executable",
            path.display()
        ),
        Err(error) => bail!("cannot read {} ({naming}): {error}", path.display()),
    };
    if metadata.is_dir() {
        bail!(
            "{} ({naming}) is a directory: give the interpreter's executable, e.g. {}",
            path.display(),
            path.join("bin").join("python3").display()
        );
    }
    if !is_executable(&metadata) {
        bail!(
            "{} ({naming}) is not executable: give the path of a Python executable (or chmod +x it)",
            path.display()
        );
    }
    Ok(Candidate { path, source })
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
        return anyhow::anyhow!(
            "{path} ({naming}) cannot be used: {message}; give a Python 3.10+ interpreter"
        );
    }
    anyhow::anyhow!("{error} ({naming})")
}

fn is_executable(metadata: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    metadata.is_file() && metadata.permissions().mode() & 0o111 != 0
}

fn find_on_path(name: &OsStr) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| {
            std::fs::metadata(candidate)
                .map(|m| is_executable(&m))
                .unwrap_or(false)
        })
}

/// Paths listed in `GIL_LAB_PYTHON` (empty entries ignored).
fn environment_paths() -> Vec<PathBuf> {
    std::env::var_os(PYTHON_ENV)
        .map(|value| {
            std::env::split_paths(&value)
                .filter(|path| !path.as_os_str().is_empty())
                .collect()
        })
        .unwrap_or_default()
}

/// What makes two paths the same executable: the file's device and inode
/// (symlinks followed), which also catches hard links such as the
/// `python3.13` and `python3.13t` of a free-threaded install; the path
/// itself when the file cannot be read.
#[derive(Debug, PartialEq, Eq, Hash)]
enum FileIdentity {
    Inode(u64, u64),
    Path(PathBuf),
}

impl FileIdentity {
    fn of(path: &Path) -> Self {
        use std::os::unix::fs::MetadataExt;
        match std::fs::metadata(path) {
            Ok(metadata) => Self::Inode(metadata.dev(), metadata.ino()),
            Err(_) => Self::Path(path.to_owned()),
        }
    }
}

/// Drops candidates whose real file was seen before; the first one found
/// wins, so an explicit path or the active virtualenv keeps its name.
fn dedupe(candidates: Vec<Candidate>) -> Vec<Candidate> {
    let mut seen = HashSet::new();
    candidates
        .into_iter()
        .filter(|candidate| seen.insert(FileIdentity::of(&candidate.path)))
        .collect()
}

/// Probes every candidate, a few at a time: a probe mostly waits for the
/// child, so a handful in parallel finishes a cold discovery much sooner.
fn probe_all(candidates: &[Candidate], cache: &ProbeCache) -> Vec<Result<Facts, ProbeError>> {
    let results: Vec<Mutex<Option<Result<Facts, ProbeError>>>> =
        candidates.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    let threads = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .clamp(2, 8)
        .min(candidates.len().max(1));
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(candidate) = candidates.get(index) else {
                        break;
                    };
                    let result = probe::probe_with_cache(&candidate.path, &[], cache);
                    *results[index].lock().unwrap_or_else(|e| e.into_inner()) = Some(result);
                }
            });
        }
    });
    results
        .into_iter()
        .map(|slot| {
            slot.into_inner()
                .unwrap_or_else(|e| e.into_inner())
                .expect("every candidate is probed once the scope ends")
        })
        .collect()
}

/// Every place interpreters are usually installed, in order of preference
/// (the first name found for a real file is the one shown).
fn auto_candidates() -> Vec<Candidate> {
    let mut candidates = Vec::new();
    let add_dir = |dir: &Path, source: Source, candidates: &mut Vec<Candidate>| {
        for path in python_executables_in(dir) {
            // pyenv shims only work for the selected versions and would hide
            // which interpreter runs: the versions directory is searched.
            if source == Source::Path && is_pyenv_shim(&path) {
                continue;
            }
            candidates.push(Candidate { path, source });
        }
    };
    if let Some(venv) = std::env::var_os("VIRTUAL_ENV").filter(|v| !v.is_empty()) {
        add_dir(
            &PathBuf::from(venv).join("bin"),
            Source::Virtualenv,
            &mut candidates,
        );
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            add_dir(&dir, Source::Path, &mut candidates);
        }
    }
    for dir in pyenv_bin_dirs() {
        add_dir(&dir, Source::Pyenv, &mut candidates);
    }
    for dir in uv_bin_dirs() {
        add_dir(&dir, Source::Uv, &mut candidates);
    }
    if let Ok(home) = crate::paths::home() {
        for dir in subdirs(&home.join("pythons")) {
            add_dir(&dir.join("bin"), Source::GilLab, &mut candidates);
        }
    }
    let mut prefixes = vec![PathBuf::from("/usr/bin"), PathBuf::from("/usr/local/bin")];
    prefixes.extend(
        subdirs(Path::new("/opt"))
            .into_iter()
            .map(|d| d.join("bin")),
    );
    for dir in prefixes {
        add_dir(&dir, Source::Prefix, &mut candidates);
    }
    candidates
}

/// The immediate subdirectories of `dir`, sorted (none if it is missing).
fn subdirs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.path())
        .filter(|path| path.is_dir())
        .collect();
    dirs.sort();
    dirs
}

/// Executables in `dir` named like an interpreter, the most specific name
/// first (`python3.13t` before `python3` before `python`): when several
/// names lead to one file, the first is the one shown.
fn python_executables_in(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok())
        .filter(|entry| entry.file_name().to_str().is_some_and(is_python_name))
        .map(|entry| entry.path())
        .filter(|path| {
            std::fs::metadata(path)
                .map(|m| is_executable(&m))
                .unwrap_or(false)
        })
        .collect();
    found.sort_by_key(|path| {
        let name = path.file_name().map(|n| n.len()).unwrap_or(0);
        (std::cmp::Reverse(name), path.clone())
    });
    found
}

/// `python`, `python3`, `python3.13`, `python3.13t`, `python3t`, `pypy3`,
/// `pypy3.10`; not `python3.13-config`, `python3.6m` or `python3.13-gdb.py`.
fn is_python_name(name: &str) -> bool {
    let Some(rest) = name
        .strip_prefix("python")
        .or_else(|| name.strip_prefix("pypy"))
    else {
        return false;
    };
    if rest.is_empty() {
        return true;
    }
    let rest = rest.strip_suffix('t').unwrap_or(rest);
    let (major, minor) = match rest.split_once('.') {
        Some((major, minor)) => (major, Some(minor)),
        None => (rest, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    matches!(major, "2" | "3") && minor.is_none_or(digits)
}

/// pyenv's root: `$PYENV_ROOT`, else `~/.pyenv`.
fn pyenv_root() -> Option<PathBuf> {
    match std::env::var_os("PYENV_ROOT") {
        Some(root) if !root.is_empty() => Some(PathBuf::from(root)),
        _ => dirs::home_dir().map(|home| home.join(".pyenv")),
    }
}

fn pyenv_bin_dirs() -> Vec<PathBuf> {
    pyenv_root()
        .map(|root| {
            subdirs(&root.join("versions"))
                .into_iter()
                .map(|version| version.join("bin"))
                .collect()
        })
        .unwrap_or_default()
}

/// A pyenv shim: a script in a `shims` directory that hands over to pyenv.
fn is_pyenv_shim(path: &Path) -> bool {
    let in_shims_dir = path
        .parent()
        .and_then(Path::file_name)
        .is_some_and(|dir| dir == "shims");
    in_shims_dir
        && probe_cache::is_script(path)
        && std::fs::read(path)
            .map(|bytes| bytes.windows(5).any(|w| w == b"pyenv"))
            .unwrap_or(false)
}

/// The real executable behind a pyenv shim named `name`, in the newest
/// version that has it.
fn pyenv_real_executable(name: &OsStr) -> Option<PathBuf> {
    pyenv_bin_dirs()
        .into_iter()
        .rev()
        .map(|dir| dir.join(name))
        .find(|path| path.is_file())
}

/// uv's interpreter directories: `uv python dir` when uv is installed (it
/// knows its own settings), else `$UV_PYTHON_INSTALL_DIR` or the default
/// `~/.local/share/uv/python`.
fn uv_bin_dirs() -> Vec<PathBuf> {
    let root = uv_python_dir()
        .or_else(|| std::env::var_os("UV_PYTHON_INSTALL_DIR").map(PathBuf::from))
        .or_else(|| dirs::data_dir().map(|data| data.join("uv").join("python")));
    root.map(|root| subdirs(&root).into_iter().map(|d| d.join("bin")).collect())
        .unwrap_or_default()
}

fn uv_python_dir() -> Option<PathBuf> {
    let uv = find_on_path(OsStr::new("uv"))?;
    let mut command = std::process::Command::new(uv);
    command.args(["python", "dir"]);
    match super::child::run(command, Duration::from_secs(5)).ok()? {
        super::child::Finished::Exited(status, output) if status.success() => {
            let dir = PathBuf::from(output.stdout.trim());
            dir.is_dir().then_some(dir)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
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

    fn interpreter(label: &str, path: &str) -> Interpreter {
        let facts = free_threaded_facts();
        Interpreter {
            label: label.to_owned(),
            path: path.into(),
            found_as: path.into(),
            source: Source::Path,
            variant: facts.variant(),
            gil: None,
            facts,
        }
    }

    #[test]
    fn python_names() {
        for name in [
            "python",
            "python3",
            "python3.13",
            "python3.13t",
            "python3t",
            "pypy3",
            "pypy3.10",
            "python2.7",
        ] {
            assert!(is_python_name(name), "{name}");
        }
        for name in [
            "python3.13-config",
            "python3.6m",
            "python3.13-gdb.py",
            "python-argcomplete-check-easy-install-script",
            "python4",
            "python3.",
            "pythonw",
            "ipython3",
        ] {
            assert!(!is_python_name(name), "{name}");
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

    #[test]
    fn dedupe_keeps_the_first_name_of_a_real_file() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("python3.13");
        std::fs::write(&real, b"\x7fELF").unwrap();
        let link = dir.path().join("python3");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let candidates = vec![
            Candidate {
                path: link.clone(),
                source: Source::Given,
            },
            Candidate {
                path: real,
                source: Source::Prefix,
            },
        ];
        assert_eq!(
            dedupe(candidates),
            [Candidate {
                path: link,
                source: Source::Given
            }]
        );
    }

    #[test]
    fn dedupe_sees_hard_links() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("python3.13t");
        std::fs::write(&real, b"\x7fELF").unwrap();
        let hard = dir.path().join("python3.13");
        std::fs::hard_link(&real, &hard).unwrap();
        let candidates = [real.clone(), hard]
            .map(|path| Candidate {
                path,
                source: Source::GilLab,
            })
            .to_vec();
        let kept = dedupe(candidates);
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].path, real);
    }

    #[test]
    fn explicit_paths_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let missing = explicit_candidate(&dir.path().join("nope"), Source::Given).unwrap_err();
        assert!(missing.to_string().contains("does not exist"), "{missing}");
        let folder = explicit_candidate(dir.path(), Source::Environment).unwrap_err();
        assert!(
            folder.to_string().contains("is a directory")
                && folder.to_string().contains("GIL_LAB_PYTHON"),
            "{folder}"
        );
        let plain = dir.path().join("python3");
        std::fs::write(&plain, "").unwrap();
        let error = explicit_candidate(&plain, Source::Given).unwrap_err();
        assert!(error.to_string().contains("is not executable"), "{error}");
        let sh = explicit_candidate(Path::new("sh"), Source::Given).unwrap();
        assert!(sh.path.is_absolute(), "{sh:?}");
    }

    #[test]
    fn pyenv_shims_are_recognised() {
        let dir = tempfile::tempdir().unwrap();
        let shims = dir.path().join("shims");
        std::fs::create_dir(&shims).unwrap();
        let shim = shims.join("python3.12");
        std::fs::write(
            &shim,
            "#!/usr/bin/env bash\nexec \"/root/.pyenv/libexec/pyenv\" exec \"$program\" \"$@\"\n",
        )
        .unwrap();
        assert!(is_pyenv_shim(&shim));
        let script = dir.path().join("python3.12");
        std::fs::write(&script, "#!/bin/sh\nexec pyenv\n").unwrap();
        assert!(!is_pyenv_shim(&script), "not in a shims directory");
    }
}
