//! `gil-lab python list`: discovery and probing of real interpreters, the
//! forced-GIL variant of a free-threaded build, the probe cache, and a clear
//! one-line error for every kind of bad interpreter a user can name.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use common::{Skip, free_threaded_python, gil_lab, pyenv_versions, script, skip, stdout_json};
use predicates::prelude::*;
use serde_json::Value;

fn canonical(path: impl AsRef<Path>) -> PathBuf {
    std::fs::canonicalize(path.as_ref()).unwrap_or_else(|_| path.as_ref().to_owned())
}

/// Entries of `python list --json` whose executable is (really) `exe`.
fn entries_for<'a>(list: &'a Value, exe: &Path) -> Vec<&'a Value> {
    let exe = canonical(exe);
    list.as_array()
        .expect("a JSON array")
        .iter()
        .filter(|entry| {
            entry["executable"]
                .as_str()
                .is_some_and(|path| canonical(path) == exe)
        })
        .collect()
}

/// Asserts a failed run with exit status 1 and a single `Error: ...` line
/// on stderr containing every one of `needles`; returns that line.
fn assert_one_line_error(output: &Output, needles: &[&str]) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(1), "stderr: {stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line of error, got: {stderr}");
    assert!(lines[0].starts_with("Error: "), "{stderr}");
    for needle in needles {
        assert!(lines[0].contains(needle), "{needle:?} missing in: {stderr}");
    }
    assert!(!stderr.contains("panicked"), "{stderr}");
    lines[0].to_owned()
}

/// The pyenv versions here, as (version directory name, real executable).
fn pyenv_pythons(minors: std::ops::RangeInclusive<u32>) -> Vec<(String, PathBuf)> {
    let Ok(entries) = std::fs::read_dir(pyenv_versions()) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let mut parts = name.split('.');
        let (Some("3"), Some(minor)) = (parts.next(), parts.next()) else {
            continue;
        };
        let Ok(minor) = minor.parse::<u32>() else {
            continue;
        };
        let exe = entry.path().join("bin").join(format!("python3.{minor}"));
        if minors.contains(&minor) && exe.is_file() {
            found.push((name, exe));
        }
    }
    found.sort();
    found
}

#[test]
fn finds_pyenv_and_system_interpreters_without_being_told() {
    let output = gil_lab()
        .args(["python", "list", "--json"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let list = stdout_json(&output);
    let pyenv = pyenv_pythons(10..=13);
    assert!(
        !pyenv.is_empty() || Path::new("/usr/bin/python3").exists(),
        "this machine has pyenv's 3.10-3.13 or a system python3 to find"
    );
    for (version, exe) in &pyenv {
        let entries = entries_for(&list, exe);
        assert_eq!(entries.len(), 1, "pyenv {version} listed once: {list:#}");
        assert_eq!(entries[0]["version"], version.as_str());
        assert_eq!(entries[0]["source"], "pyenv");
        assert_eq!(entries[0]["free_threaded"], false);
        assert_eq!(entries[0]["gil_at_start"], true);
    }
    if Path::new("/usr/bin/python3").exists() {
        assert_eq!(
            entries_for(&list, Path::new("/usr/bin/python3")).len(),
            1,
            "the system python3 listed once: {list:#}"
        );
    }
    // Never a pyenv shim: they only work for the selected versions.
    for entry in list.as_array().unwrap() {
        let exe = entry["executable"].as_str().unwrap();
        assert!(!exe.contains("/shims/"), "a shim was listed: {exe}");
        let facts = &entry["facts"];
        // CPython 3.10+; PyPy 3.9+ (Debian 12's pypy3 implements 3.9).
        let minimum_minor = if entry["implementation"] == "pypy" {
            9
        } else {
            10
        };
        assert!(
            facts["version_info"][1].as_u64().unwrap() >= minimum_minor,
            "{entry}"
        );
        assert_eq!(entry["runs_workload"], true, "{entry}");
        assert!(facts["usable_cpu_count"].as_u64().unwrap() >= 1, "{entry}");
    }
}

#[test]
fn finds_the_active_virtualenv_uv_interpreters_and_gil_labs_own() {
    let ft = free_threaded_python();
    // Any CPython 3.10+ can make the virtualenv: pyenv's newest, else the
    // system's (Debian 12's is 3.11).
    let system = PathBuf::from("/usr/bin/python3");
    let Some(base) = pyenv_pythons(10..=13)
        .pop()
        .map(|(_, exe)| exe)
        .or_else(|| system.is_file().then_some(system))
    else {
        skip(Skip::Machine(
            "no CPython 3.10+ (pyenv or /usr/bin/python3) to make a virtualenv from",
        ));
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let venv = dir.path().join("venv");
    let made = std::process::Command::new(&base)
        .args(["-m", "venv", "--without-pip"])
        .arg(&venv)
        .output()
        .unwrap();
    assert!(made.status.success(), "{made:?}");
    // uv keeps one directory per interpreter, each with a bin/.
    let uv_bin = dir
        .path()
        .join("uv")
        .join("cpython-3.13-linux-x86_64")
        .join("bin");
    std::fs::create_dir_all(&uv_bin).unwrap();
    std::os::unix::fs::symlink(&ft, uv_bin.join("python3.13t")).unwrap();
    let home = dir.path().join("home");

    let output = gil_lab()
        .args(["python", "list", "--json"])
        .env("VIRTUAL_ENV", &venv)
        .env("UV_PYTHON_INSTALL_DIR", dir.path().join("uv"))
        // An empty home: the provisioned build is found through uv only.
        .env("GIL_LAB_HOME", &home)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let list = stdout_json(&output);
    let from_venv = entries_for(&list, &base);
    assert_eq!(from_venv.len(), 1, "{list:#}");
    assert_eq!(from_venv[0]["source"], "virtualenv");
    assert!(
        from_venv[0]["executable"]
            .as_str()
            .unwrap()
            .starts_with(venv.to_str().unwrap()),
        "the virtualenv's name is kept: {list:#}"
    );
    assert_eq!(
        from_venv[0]["facts"]["prefix"],
        canonical(&venv).to_str().unwrap()
    );
    let from_uv = entries_for(&list, &ft);
    assert_eq!(from_uv.len(), 2, "build + forced-GIL variant: {list:#}");
    assert_eq!(from_uv[0]["source"], "uv");

    // With gil-lab's default home, a provisioned build is found there.
    if ft.components().any(|c| c.as_os_str() == "pythons") {
        let output = gil_lab()
            .args(["python", "list", "--json"])
            .output()
            .unwrap();
        let list = stdout_json(&output);
        let own = entries_for(&list, &ft);
        assert_eq!(own.len(), 2, "{list:#}");
        assert_eq!(own[0]["source"], "gil-lab");
    }
}

#[test]
fn free_threaded_build_has_the_gil_off_and_forced_on_with_python_gil_1() {
    let ft = free_threaded_python();
    // --no-discover: another build of the same version found elsewhere
    // would get the path appended to its label (tested in unit tests).
    let output = gil_lab()
        .args(["python", "list", "--json", "--no-discover", "--python"])
        .arg(&ft)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let list = stdout_json(&output);
    let entries = entries_for(&list, &ft);
    assert_eq!(
        entries.len(),
        2,
        "the build and its forced-GIL variant: {list:#}"
    );
    let (build, forced) = (entries[0], entries[1]);
    assert_eq!(build["variant"], "free-threaded");
    assert_eq!(build["free_threaded"], true);
    assert_eq!(build["gil_switchable"], true);
    assert_eq!(build["gil_at_start"], false);
    assert_eq!(build["gil_forced"], Value::Null);
    assert_eq!(build["facts"]["abiflags"], "t");
    assert_eq!(build["source"], "--python");
    let label = build["label"].as_str().unwrap();
    assert!(
        label.starts_with("CPython 3.13.") && label.ends_with('t'),
        "{label}"
    );

    assert_eq!(forced["gil_at_start"], true, "{forced:#}");
    assert_eq!(forced["gil_forced"], true);
    assert_eq!(
        forced["interpreter_flags"],
        serde_json::json!(["-X", "gil=1"])
    );
    assert_eq!(forced["facts"]["gil_flag"], 1);
    assert_eq!(forced["label"], format!("{label} with PYTHON_GIL=1"));

    // The table marks the build and shows both GIL states.
    let table = gil_lab()
        .args(["python", "list", "--no-discover", "--python"])
        .arg(&ft)
        .env_remove("NO_COLOR")
        .output()
        .unwrap();
    assert!(table.status.success(), "{table:?}");
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(
        !text.contains('\u{1b}'),
        "no colour when stdout is not a terminal"
    );
    let rows: Vec<&str> = text.lines().filter(|l| l.contains(label)).collect();
    assert_eq!(rows.len(), 2, "{text}");
    assert!(
        rows[0].trim_start().starts_with('*') && rows[0].contains(" off "),
        "{text}"
    );
    assert!(
        rows[1].contains("with PYTHON_GIL=1") && rows[1].contains(" on "),
        "{text}"
    );
    assert!(text.contains("* free-threaded build"), "{text}");
}

#[test]
fn one_real_file_is_listed_once_whatever_it_is_called() {
    let ft = free_threaded_python();
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("python3");
    std::os::unix::fs::symlink(&ft, &link).unwrap();
    let output = gil_lab()
        .args(["python", "list", "--json", "--no-discover", "--python"])
        .arg(&link)
        .arg("--python")
        .arg(&ft)
        .env("GIL_LAB_PYTHON", &ft)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let list = stdout_json(&output);
    let entries = list.as_array().unwrap();
    assert_eq!(
        entries.len(),
        2,
        "one build + its forced-GIL variant: {list:#}"
    );
    // The first name given wins.
    assert_eq!(entries[0]["found_as"], link.to_str().unwrap());
}

#[test]
fn gil_lab_python_names_extra_interpreters() {
    let ft = free_threaded_python();
    let output = gil_lab()
        .args(["python", "list", "--json", "--no-discover"])
        .env("GIL_LAB_PYTHON", format!(":{}:", ft.display()))
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let list = stdout_json(&output);
    let entries = entries_for(&list, &ft);
    assert_eq!(entries.len(), 2, "{list:#}");
    assert_eq!(entries[0]["source"], "GIL_LAB_PYTHON");

    let output = gil_lab()
        .args(["python", "list", "--no-discover"])
        .env("GIL_LAB_PYTHON", "/nonexistent/python3")
        .output()
        .unwrap();
    assert_one_line_error(
        &output,
        &["/nonexistent/python3", "GIL_LAB_PYTHON", "does not exist"],
    );
}

#[test]
fn all_shows_found_interpreters_that_cannot_be_used() {
    let Some(old) = std::fs::read_dir(pyenv_versions())
        .ok()
        .and_then(|entries| {
            entries.flatten().map(|e| e.path()).find(|p| {
                p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("2."))
            })
        })
    else {
        skip(Skip::Machine("no Python 2 under pyenv here"));
        return;
    };
    let output = gil_lab()
        .args(["python", "list", "--all", "--json"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let list = stdout_json(&output);
    let unusable: Vec<&Value> = list
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["usable"] == false)
        .filter(|e| {
            e["executable"]
                .as_str()
                .unwrap()
                .starts_with(old.to_str().unwrap())
        })
        .collect();
    assert!(!unusable.is_empty(), "{list:#}");
    assert!(
        unusable[0]["reason"].as_str().unwrap().contains("too old"),
        "{list:#}"
    );
    assert_eq!(unusable[0]["runs_workload"], false, "{list:#}");
}

#[test]
fn probe_results_are_cached_until_the_executable_changes() {
    let home = tempfile::tempdir().unwrap();
    let ft = free_threaded_python();
    let list = || {
        let output = gil_lab()
            .args(["python", "list", "--json", "--no-discover", "--python"])
            .arg(&ft)
            .env("GIL_LAB_HOME", home.path())
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        stdout_json(&output)
    };
    let first = list();
    let real_version = first[0]["version"].as_str().unwrap().to_owned();
    let cache_dir = home.path().join("probe-cache");
    let entries: Vec<PathBuf> = std::fs::read_dir(&cache_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(
        entries.len(),
        2,
        "the build and its -X gil=1 variant: {entries:?}"
    );

    // Rewrite the cached answers: the next run must show them (it did not
    // run the probe again)...
    let edit = |change: &dyn Fn(&mut Value)| {
        for path in &entries {
            let mut entry: Value =
                serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
            change(&mut entry);
            std::fs::write(path, entry.to_string()).unwrap();
        }
    };
    edit(&|entry| entry["output"]["version"] = "3.99.0".into());
    assert_eq!(list()[0]["version"], "3.99.0");

    // ...until the executable changes (here: its recorded mtime no longer
    // matches, as after a rebuild): then it is probed again.
    edit(&|entry| entry["key"]["mtime_ns"] = 1.into());
    assert_eq!(list()[0]["version"], real_version.as_str());
}

// Bad input: each a clear one-line error and exit status 1.

#[test]
fn a_path_that_does_not_exist_is_an_error() {
    let output = gil_lab()
        .args(["python", "list", "--python", "/nonexistent/bin/python3"])
        .output()
        .unwrap();
    assert_one_line_error(
        &output,
        &["/nonexistent/bin/python3", "does not exist", "--python"],
    );
}

#[test]
fn a_file_that_is_not_executable_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("python3");
    std::fs::write(&file, "#!/bin/sh\n").unwrap();
    let output = gil_lab()
        .args(["python", "list", "--python"])
        .arg(&file)
        .output()
        .unwrap();
    assert_one_line_error(&output, &[file.to_str().unwrap(), "is not executable"]);

    let output = gil_lab()
        .args(["python", "list", "--python"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_one_line_error(&output, &["is a directory", "bin/python3"]);
}

#[test]
fn an_executable_that_is_not_python_is_an_error() {
    let output = gil_lab()
        .args(["python", "list", "--python", "/bin/ls"])
        .output()
        .unwrap();
    assert_one_line_error(&output, &["/bin/ls", "is not a working Python interpreter"]);
}

#[test]
fn python_2_is_an_error() {
    let python2 = pyenv_versions().join("2.7.18/bin/python2.7");
    if !python2.is_file() {
        skip(Skip::Machine(&format!(
            "{} is not on this machine",
            python2.display()
        )));
        return;
    }
    let output = gil_lab()
        .args(["python", "list", "--python"])
        .arg(&python2)
        .output()
        .unwrap();
    assert_one_line_error(
        &output,
        &["python2.7", "Python 2.7.18 is too old", "needs Python 3.10"],
    );
}

#[test]
fn a_python_that_hangs_at_start_up_times_out() {
    let hang = script("hang_at_startup.sh");
    let begin = Instant::now();
    let output = gil_lab()
        .args(["python", "list", "--no-discover", "--python"])
        .arg(&hang)
        .env("GIL_LAB_PROBE_TIMEOUT", "1")
        .timeout(Duration::from_secs(30))
        .output()
        .unwrap();
    assert!(
        begin.elapsed() < Duration::from_secs(20),
        "the probe was stopped at its timeout: {:?}",
        begin.elapsed()
    );
    assert_one_line_error(
        &output,
        &[
            "hang_at_startup.sh",
            "did not answer the probe within 1 s",
            "GIL_LAB_PROBE_TIMEOUT",
        ],
    );

    let output = gil_lab()
        .args(["python", "list"])
        .env("GIL_LAB_PROBE_TIMEOUT", "soon")
        .output()
        .unwrap();
    assert_one_line_error(
        &output,
        &["GIL_LAB_PROBE_TIMEOUT=soon", "number of seconds"],
    );
}

#[test]
fn a_pyenv_shim_that_fails_is_an_error() {
    let shims = pyenv_versions().with_file_name("shims");
    // A shim for a version that is not selected fails; find one here.
    let failing = (10..=13)
        .map(|minor| shims.join(format!("python3.{minor}")))
        .find(|shim| {
            shim.is_file()
                && !std::process::Command::new(shim)
                    .args(["-c", "pass"])
                    .output()
                    .is_ok_and(|o| o.status.success())
        });
    let Some(shim) = failing else {
        skip(Skip::Machine(&format!(
            "no failing pyenv shim under {}",
            shims.display()
        )));
        return;
    };
    let output = gil_lab()
        .args(["python", "list", "--python"])
        .arg(&shim)
        .output()
        .unwrap();
    let line = assert_one_line_error(
        &output,
        &[
            shim.to_str().unwrap(),
            "is a pyenv shim that does not work",
            "real executable",
        ],
    );
    // The hint names the real executable under pyenv's versions directory.
    assert!(line.contains(pyenv_versions().to_str().unwrap()), "{line}");
}

#[test]
fn bare_names_are_looked_up_on_path() {
    let output = gil_lab()
        .args([
            "python",
            "list",
            "--json",
            "--no-discover",
            "--python",
            "no-such-python-here",
        ])
        .output()
        .unwrap();
    assert_one_line_error(&output, &["no-such-python-here", "nor on PATH"]);
    gil_lab()
        .args(["python", "list", "--no-discover", "--python", "python3"])
        .env("PATH", "/usr/bin:/bin")
        .assert()
        .success()
        .stdout(predicate::str::contains("CPython 3."));
}
