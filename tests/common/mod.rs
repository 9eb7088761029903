//! Helpers shared by the integration tests: the `gil-lab` binary as an
//! `assert_cmd` command, a provisioned free-threaded CPython, fixtures, and
//! the guard that kills a child process (a server) when a test ends.
//!
//! Use from a test file with `mod common;`.

// Every test binary compiles this module and uses only part of it.
#![allow(dead_code)]

pub mod bench_run;
pub mod browser;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

/// Environment variable naming a free-threaded interpreter to use instead
/// of provisioning one (for working on the tests before or without a
/// provisioned build; the test suite itself never sets it).
pub const FREE_THREADED_OVERRIDE: &str = "GIL_LAB_TEST_FREE_THREADED_PYTHON";

/// The `gil-lab` binary built for these tests, with gil-lab's default home
/// (so that provisioned interpreters and the probe cache are shared with
/// the test suite's set-up step).
pub fn gil_lab() -> assert_cmd::Command {
    assert_cmd::Command::cargo_bin("gil-lab").expect("the gil-lab binary is built")
}

/// A child process that is killed, and reaped, when dropped: a test that
/// fails half-way leaves no server running behind it.
pub struct ChildGuard(Child);

impl ChildGuard {
    /// Starts a server (`command`, e.g. `gil-lab serve --port 0`) with its
    /// stderr discarded and returns it with the first line it printed on
    /// stdout, trimmed: the URL it listens on.
    pub fn start_server(command: &mut Command) -> (ChildGuard, String) {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {command:?}: {error}"));
        let stdout = child.stdout.take().expect("stdout is piped");
        // Guarded before reading: a failed read must not leave it running.
        let guard = ChildGuard(child);
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .unwrap_or_else(|error| panic!("cannot read the stdout of {command:?}: {error}"));
        (guard, line.trim().to_string())
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        // Errors mean it has already exited (and been reaped).
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Environment variable naming a file to which every skipped test appends
/// one line (`binary::test: why`); `scripts/test` sets it and prints the
/// lines at the end, because `cargo test --quiet` hides a passing test's
/// stderr.
pub const SKIPS_FILE: &str = "GIL_LAB_TEST_SKIPS";

/// Why a test could not run here.
pub enum Skip<'a> {
    /// Something `scripts/test` installs or provisions is missing (a Debian
    /// package, a provisioned interpreter): a failure under CI (`CI` set),
    /// where the test command has installed it, a visible skip elsewhere.
    NotSetUp(&'a str),
    /// Something the test command does not install, or the machine's state
    /// at that moment (no pyenv, no Python 2, only one core given).
    Machine(&'a str),
}

/// Records that the calling test is skipped and why; the caller returns
/// right after. Panics instead for a [`Skip::NotSetUp`] under CI.
pub fn skip(why: Skip<'_>) {
    let thread = std::thread::current();
    let test = format!(
        "{}::{}",
        env!("CARGO_CRATE_NAME"),
        thread.name().unwrap_or("?")
    );
    let reason = match why {
        Skip::NotSetUp(what) => {
            if std::env::var_os("CI").is_some_and(|v| !v.is_empty()) {
                panic!("{test}: {what}, which the test command sets up (CI is set)");
            }
            what
        }
        Skip::Machine(what) => what,
    };
    eprintln!("skipped {test}: {reason}");
    if let Some(path) = std::env::var_os(SKIPS_FILE).filter(|p| !p.is_empty()) {
        use std::io::Write;
        let line = format!("{test}: {reason}\n");
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut file| file.write_all(line.as_bytes()));
        if let Err(error) = written {
            panic!(
                "cannot record the skip in {}: {error}",
                Path::new(&path).display()
            );
        }
    }
}

/// A file of `tests/scripts/`.
pub fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("scripts")
        .join(name)
}

/// The executable of a free-threaded CPython 3.13t: runs
/// `gil-lab python install 3.13t` (idempotent, cached after the first build)
/// once per test binary and returns the path printed on the last line of
/// its stdout.
pub fn free_threaded_python() -> PathBuf {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON
        .get_or_init(|| {
            if let Some(path) = std::env::var_os(FREE_THREADED_OVERRIDE).filter(|p| !p.is_empty()) {
                return PathBuf::from(path);
            }
            let output = gil_lab()
                .args(["python", "install", "3.13t"])
                // A first build compiles CPython: minutes, not hours.
                .timeout(Duration::from_secs(30 * 60))
                .output()
                .expect("gil-lab python install runs");
            assert!(
                output.status.success(),
                "`gil-lab python install 3.13t` failed ({}):\n{}",
                output.status,
                String::from_utf8_lossy(&output.stderr)
            );
            let path = last_line(&output)
                .map(PathBuf::from)
                .expect("`gil-lab python install 3.13t` prints the executable's path last");
            assert!(
                path.is_file(),
                "the installed executable {} does not exist",
                path.display()
            );
            path
        })
        .clone()
}

/// The last non-empty line of a command's stdout.
pub fn last_line(output: &Output) -> Option<String> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .rev()
        .find(|line| !line.trim().is_empty())
        .map(|line| line.trim().to_owned())
}

/// Asserts that a command succeeded (panicking with `what`, its exit status,
/// stdout and stderr otherwise) and returns its stdout.
pub fn assert_success(output: &Output, what: &str) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{what} failed ({}):\n{stdout}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// A command's stdout parsed as JSON (panics with the output otherwise).
pub fn stdout_json(output: &Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
        panic!(
            "stdout is not JSON ({error}):\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

/// The Python of a virtual environment `name` under Cargo's target
/// directory, made by `base` with `packages` installed from PyPI. Made once
/// and reused by later test runs: a marker file, written only after pip
/// succeeded, says the environment is complete.
pub fn cached_venv(name: &str, base: &Path, packages: &[&str]) -> PathBuf {
    // Tests of one binary run on parallel threads: one makes the venv, the
    // others wait for it instead of racing on the same directory.
    static LOCK: Mutex<()> = Mutex::new(());
    let _guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let python = venv.join("bin").join("python");
    let ready = venv.join("gil-lab-ready");
    if !ready.is_file() {
        // A venv left half-made by an interrupted run starts over.
        let _ = std::fs::remove_dir_all(&venv);
        let status = Command::new(base)
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .unwrap_or_else(|error| {
                panic!(
                    "cannot start {} to make a virtual environment: {error}",
                    base.display()
                )
            });
        assert!(
            status.success(),
            "`python -m venv {}` failed",
            venv.display()
        );
        let output = Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .args(packages)
            .output()
            .expect("cannot start pip");
        assert!(
            output.status.success(),
            "pip install {} failed (is PyPI reachable?): {}",
            packages.join(" "),
            String::from_utf8_lossy(&output.stderr)
        );
        std::fs::write(&ready, b"").unwrap();
    }
    python
}

/// pyenv's versions directory (`$PYENV_ROOT` or `~/.pyenv`).
pub fn pyenv_versions() -> PathBuf {
    std::env::var_os("PYENV_ROOT")
        .filter(|root| !root.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| dirs_home().join(".pyenv"))
        .join("versions")
}

fn dirs_home() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/root"))
}

/// A multi-phase-init extension module that declares no `Py_mod_gil` slot:
/// importing it on a free-threaded build turns the GIL on (Python/import.c).
/// The one `gil-lab learn 4` builds.
const GIL_EXTENSION: &str = include_str!("../../src/learn/needs_gil.c");

/// Runs `python -c code` and returns its stdout, trimmed.
pub fn python_output(python: &Path, code: &str) -> String {
    let output = std::process::Command::new(python)
        .args(["-I", "-c", code])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

/// Compiles [`GIL_EXTENSION`] for `python` into `dir` with gcc and the
/// interpreter's own headers.
pub fn build_extension(python: &Path, dir: &Path) {
    let include = python_output(
        python,
        "import sysconfig; print(sysconfig.get_paths()['include'])",
    );
    let suffix = python_output(
        python,
        "import sysconfig; print(sysconfig.get_config_var('EXT_SUFFIX'))",
    );
    let source = dir.join("needs_gil.c");
    std::fs::write(&source, GIL_EXTENSION).unwrap();
    let output = std::process::Command::new("gcc")
        .args(["-shared", "-fPIC", "-O0", "-I", &include])
        .arg(&source)
        .arg("-o")
        .arg(dir.join(format!("needs_gil{suffix}")))
        .output()
        .expect("gcc runs (it is needed to build CPython too)");
    assert!(
        output.status.success(),
        "gcc failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The default (GIL) build of the same CPython version as
/// [`free_threaded_python`]: `gil-lab python install X.Y.Z` (cached, as
/// `scripts/test` provisions it with `--with-default`).
pub fn default_python() -> PathBuf {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON
        .get_or_init(|| {
            let version = python_output(
                &free_threaded_python(),
                "import platform; print(platform.python_version())",
            );
            let output = gil_lab()
                .args(["python", "install", &version])
                .timeout(Duration::from_secs(30 * 60))
                .output()
                .expect("gil-lab python install runs");
            assert!(
                output.status.success(),
                "`gil-lab python install {version}` failed:\n{}",
                String::from_utf8_lossy(&output.stderr)
            );
            last_line(&output)
                .map(PathBuf::from)
                .expect("the install prints the executable's path last")
        })
        .clone()
}

/// The dashboard data a report page embeds (`<script id="dashboard-data">`).
pub fn embedded_data(html: &str) -> serde_json::Value {
    let start = html
        .find(r#"<script type="application/json" id="dashboard-data">"#)
        .expect("the page embeds its data");
    let rest = &html[start..];
    let body = &rest[rest.find('>').unwrap() + 1..rest.find("</script>").unwrap()];
    serde_json::from_str(body).expect("the embedded data is JSON")
}
