//! `gil-lab python install`: the real provisioning of CPython 3.13t (and the
//! default build of the same sources), idempotency, the uv strategy and the
//! errors for bad input.
//!
//! The first real install builds CPython (a few minutes on 2 cores); the
//! test suite's set-up (`scripts/test`) runs it before the tests, so here it
//! is normally found already installed. Everything uses gil-lab's default
//! home unless a test needs an empty one.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use assert_cmd::Command;
use predicates::prelude::*;

mod stand_in;

use stand_in::write_tarball;

fn gil_lab() -> Command {
    Command::cargo_bin("gil-lab").unwrap()
}

/// Asserts that a command succeeded, showing its stderr otherwise.
fn succeeded(output: Output) -> Output {
    assert!(
        output.status.success(),
        "failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn stdout_lines(output: &Output) -> Vec<PathBuf> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(PathBuf::from)
        .collect()
}

/// Provisions 3.13t and 3.13 (cached after the first time) and returns
/// (default executable, free-threaded executable).
fn provisioned() -> (PathBuf, PathBuf) {
    let output = succeeded(
        gil_lab()
            .args(["python", "install", "3.13t", "--with-default"])
            .timeout(Duration::from_secs(30 * 60))
            .output()
            .unwrap(),
    );
    let lines = stdout_lines(&output);
    assert_eq!(
        lines.len(),
        2,
        "two executables, the requested one last: {lines:?}"
    );
    (lines[0].clone(), lines[1].clone())
}

fn marker(executable: &Path) -> serde_json::Value {
    let prefix = executable.parent().unwrap().parent().unwrap();
    let text = std::fs::read_to_string(prefix.join(".gil-lab-installed.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Runs `python [flags] -c code` and returns its stdout, trimmed.
fn python(executable: &Path, flags: &[&str], code: &str) -> String {
    let output = succeeded(
        std::process::Command::new(executable)
            .args(flags)
            .args(["-c", code])
            .output()
            .unwrap(),
    );
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

const GIL_STATE: &str = "import sys, sysconfig; print(sys.version_info[:2], sysconfig.get_config_var('Py_GIL_DISABLED'), sys._is_gil_enabled())";

#[test]
fn installs_a_verified_free_threaded_cpython_and_its_default_twin() {
    let (default, free_threaded) = provisioned();
    assert!(
        free_threaded.ends_with("bin/python3.13t"),
        "{}",
        free_threaded.display()
    );
    assert!(default.ends_with("bin/python3.13"), "{}", default.display());

    let ft = marker(&free_threaded);
    assert_eq!(ft["free_threaded"], true);
    assert_eq!(ft["variant"], "free-threaded");
    let version = ft["version"].as_str().unwrap();
    assert!(version.starts_with("3.13."), "{version}");
    assert_eq!(ft["name"], format!("cpython-{version}t"));
    let flags: Vec<&str> = ft["configure_flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    assert!(flags.contains(&"--disable-gil"), "{flags:?}");
    assert!(Path::new(ft["build_log"].as_str().unwrap()).is_file());

    // The default build comes from the very same sources, built the same way
    // except for --disable-gil.
    let df = marker(&default);
    assert_eq!(df["free_threaded"], false);
    assert_eq!(df["version"], ft["version"]);
    assert_eq!(df["source"], ft["source"]);
    let default_flags: Vec<&str> = df["configure_flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    let without_gil_flag: Vec<&str> = flags
        .iter()
        .copied()
        .filter(|f| *f != "--disable-gil")
        .collect();
    assert_eq!(default_flags.len(), without_gil_flag.len());

    // What the interpreters say about themselves, asked directly.
    assert_eq!(python(&free_threaded, &[], GIL_STATE), "(3, 13) 1 False");
    assert_eq!(
        python(&free_threaded, &["-X", "gil=1"], GIL_STATE),
        "(3, 13) 1 True"
    );
    assert_eq!(python(&default, &[], GIL_STATE), "(3, 13) 0 True");
    // The modules the workload needs were built.
    python(
        &free_threaded,
        &["-I"],
        "import _ctypes, zlib, _multiprocessing, asyncio",
    );
}

#[test]
fn a_second_install_reuses_the_verified_one() {
    let (_, free_threaded) = provisioned();
    let installed_at = marker(&free_threaded)["installed_at"].clone();
    let output = succeeded(
        gil_lab()
            .args(["python", "install", "3.13t"])
            .output()
            .unwrap(),
    );
    assert_eq!(stdout_lines(&output).last(), Some(&free_threaded));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("already installed and verified"),
        "{stderr}"
    );
    assert!(!stderr.contains("compiling"), "{stderr}");
    // Nothing was rebuilt: the same marker (a build writes a new one). No
    // bound on the time it took: that is noise here, not evidence.
    assert_eq!(marker(&free_threaded)["installed_at"], installed_at);
}

#[test]
fn the_downloaded_source_tarball_can_be_given_with_source() {
    let (_, free_threaded) = provisioned();
    let tarball = marker(&free_threaded)["source"]
        .as_str()
        .unwrap()
        .to_string();
    let output = succeeded(
        gil_lab()
            .args(["python", "install", "3.13t", "--source", &tarball])
            .output()
            .unwrap(),
    );
    assert_eq!(stdout_lines(&output).last(), Some(&free_threaded));

    // The same tarball cannot make a 3.14.
    gil_lab()
        .args(["python", "install", "3.14t", "--source", &tarball])
        .assert()
        .failure()
        .stderr(
            predicate::str::contains("is CPython 3.13.").and(predicate::str::contains("not 3.14t")),
        );
}

#[test]
fn unknown_versions_are_refused() {
    for (version, expected) in [
        ("3.9x", "unknown Python version \"3.9x\""),
        ("2.7", "gil-lab installs CPython 3.13 or newer, not \"2.7\""),
        ("3.12t", "gil-lab installs CPython 3.13 or newer"),
    ] {
        gil_lab()
            .args(["python", "install", version])
            .assert()
            .code(1)
            .stdout("")
            .stderr(predicate::str::starts_with("Error: ").and(predicate::str::contains(expected)))
            .stderr(predicate::str::contains("3.13t"))
            .stderr(predicate::str::contains("panicked").not());
    }
}

#[test]
fn a_bad_source_tarball_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    gil_lab()
        .args(["python", "install", "3.13t", "--source"])
        .arg(dir.path().join("Python-3.13.5.tar.xz"))
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("cannot open source tarball")
                .and(predicate::str::contains("No such file")),
        );

    let text = dir.path().join("notes.tar.xz");
    std::fs::write(&text, "not a tarball").unwrap();
    gil_lab()
        .args(["python", "install", "3.13t", "--source"])
        .arg(&text)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("is not a CPython source tarball"));

    // A real tarball, of something else.
    let other = dir.path().join("project.tar.gz");
    write_tarball(&other, &[("project/README", "hello", 0o644)]);
    gil_lab()
        .args(["python", "install", "3.13t", "--source"])
        .arg(&other)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "is not a CPython source tarball (no readable Include/patchlevel.h)",
        ));
}

/// A stand-in `uv` in a directory put first on PATH: records how it was
/// called, and answers `python find` with `found` (fails everything when None).
fn fake_uv(dir: &Path, found: Option<&Path>) -> PathBuf {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let calls = dir.join("calls.txt");
    let answer = match found {
        Some(path) => format!(
            "case \"$1 $2\" in\n  'python find') echo {};;\nesac\nexit 0",
            path.display()
        ),
        None => "echo 'error: Failed to download https://github.com/...: network unreachable' >&2\nexit 2".to_string(),
    };
    let script = format!(
        "#!/bin/sh\necho \"$* | UV_PYTHON_INSTALL_DIR=$UV_PYTHON_INSTALL_DIR\" >> {}\n\
         if [ \"$1\" = --version ]; then echo 'uv 0.0.0 (gil-lab test)'; exit 0; fi\n{answer}\n",
        calls.display()
    );
    let uv = bin.join("uv");
    std::fs::write(&uv, script).unwrap();
    std::fs::set_permissions(&uv, std::fs::Permissions::from_mode(0o755)).unwrap();
    bin
}

fn path_with(first: &Path) -> std::ffi::OsString {
    let mut paths = vec![first.to_path_buf()];
    paths.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    std::env::join_paths(paths).unwrap()
}

#[test]
fn uv_is_used_when_it_works_and_its_result_is_verified() {
    let (_, free_threaded) = provisioned();
    let home = tempfile::tempdir().unwrap();
    let bin = fake_uv(home.path(), Some(&free_threaded));
    let output = gil_lab()
        .args(["python", "install", "3.13t"])
        .env("GIL_LAB_HOME", home.path())
        .env("PATH", path_with(&bin))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("installed with uv"), "{stderr}");
    assert_eq!(stdout_lines(&output).last(), Some(&free_threaded));
    let calls = std::fs::read_to_string(home.path().join("calls.txt")).unwrap();
    let install_dir = home.path().join("pythons").join("uv");
    assert!(
        calls.contains(&format!(
            "python install 3.13t | UV_PYTHON_INSTALL_DIR={}",
            install_dir.display()
        )),
        "{calls}"
    );
    assert!(calls.contains("python find 3.13t"), "{calls}");
}

/// `python install 3.14t` in an empty home with a stand-in uv (see
/// [`fake_uv`]): it cannot succeed here (Debian's archive has no reachable
/// 3.14 source), so it must fail with exit status 1 and print no path.
fn failed_3_14t_install(home: &Path, uv_answer: Option<&Path>) -> Output {
    let bin = fake_uv(home, uv_answer);
    let output = gil_lab()
        .args(["python", "install", "3.14t"])
        .env("GIL_LAB_HOME", home)
        .env("PATH", path_with(&bin))
        .timeout(Duration::from_secs(300))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty());
    output
}

/// Every file under `/etc/apt` with its modification time and size.
fn etc_apt_snapshot() -> Vec<(PathBuf, std::time::SystemTime, u64)> {
    fn walk(dir: &Path, into: &mut Vec<(PathBuf, std::time::SystemTime, u64)>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(metadata) = std::fs::symlink_metadata(&path) else {
                continue;
            };
            if metadata.is_dir() {
                walk(&path, into);
            } else {
                into.push((path, metadata.modified().unwrap(), metadata.len()));
            }
        }
    }
    let mut files = Vec::new();
    walk(Path::new("/etc/apt"), &mut files);
    files.sort();
    files
}

#[test]
fn when_nothing_works_the_error_is_one_line_that_says_what_to_do() {
    // uv fails (no network), Debian has no free-threaded binary package,
    // and the archive's 3.14 source packages do not download here.
    let before = etc_apt_snapshot();
    let home = tempfile::tempdir().unwrap();
    let output = failed_3_14t_install(home.path(), None);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let error = stderr.lines().last().unwrap_or_default();
    assert!(
        error.starts_with("Error: cannot provision CPython 3.14t here ("),
        "{stderr}"
    );
    assert_eq!(stderr.matches("Error:").count(), 1, "{stderr}");
    assert!(
        error.contains("uv: `uv python install 3.14t` failed"),
        "{error}"
    );
    assert!(error.contains("network unreachable"), "{error}");
    assert!(
        error.contains(
            "Debian binary packages: Debian has no free-threaded binary package of CPython 3.14"
        ),
        "{error}"
    );
    assert!(error.contains("; source packages: "), "{error}");
    assert!(
        error.contains("run `gil-lab python install 3.14t --source Python-3.14.N.tar.xz`"),
        "{error}"
    );
    assert!(error.contains("install uv"), "{error}");
    // Nothing is left that would look like an install.
    let pythons = std::fs::read_dir(home.path().join("pythons")).unwrap();
    let names: Vec<_> = pythons.map(|e| e.unwrap().file_name()).collect();
    assert!(
        names
            .iter()
            .all(|n| !n.to_string_lossy().starts_with("cpython-")),
        "{names:?}"
    );
    // The package lookups used gil-lab's private APT configuration: the
    // machine's own is exactly as it was.
    assert!(
        home.path()
            .join("apt/sid/sources.list.d/gil-lab.sources")
            .is_file()
    );
    assert_eq!(etc_apt_snapshot(), before, "a file under /etc/apt changed");
}

#[test]
fn an_interpreter_from_uv_that_fails_verification_is_not_used() {
    // This stand-in uv answers a request for 3.14t with a 3.13t.
    let (_, free_threaded) = provisioned();
    let home = tempfile::tempdir().unwrap();
    let output = failed_3_14t_install(home.path(), Some(&free_threaded));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let expected = format!("uv: {} is CPython 3.13.", free_threaded.display());
    assert!(stderr.contains(&expected), "{stderr}");
    assert!(stderr.contains("not 3.14t"), "{stderr}");
}
