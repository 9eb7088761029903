//! Commands gil-lab suggests can be pasted into a shell as they are printed
//! (paths with spaces and `<` are quoted), and `bench --python PATH`
//! accepts every path `python list --python PATH` accepts, a wrapper script
//! that `exec`s a real Python included.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;

use common::gil_lab;

/// A real, supported Python: Debian's.
const PYTHON: &str = "/usr/bin/python3";

/// A directory whose name needs quoting in a shell.
fn awkward_dir(root: &Path) -> PathBuf {
    let dir = root.join("my pythons <3>");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn bench(python: &Path, output: &Path) -> Output {
    gil_lab()
        .args(["bench", "--python"])
        .arg(python)
        .args([
            "--scenario",
            "cpu",
            "--approach",
            "sequential,threads",
            "--workers",
            "1,2",
            "--runs",
            "1",
            "--scale",
            "0.05",
            "--no-twin",
            "--no-provision",
            "--output",
        ])
        .arg(output)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn a_wrapper_script_listed_by_python_list_is_accepted_by_bench() {
    let root = tempfile::tempdir().unwrap();
    let wrapper = awkward_dir(root.path()).join("python-wrapper");
    std::fs::write(&wrapper, format!("#!/bin/sh\nexec {PYTHON} \"$@\"\n")).unwrap();
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();

    let listed = gil_lab()
        .args(["python", "list", "--no-discover", "--json", "--python"])
        .arg(&wrapper)
        .output()
        .unwrap();
    assert!(listed.status.success(), "{}", text(&listed.stderr));
    let list: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(list[0]["found_as"], wrapper.to_str().unwrap());

    let output = bench(&wrapper, &root.path().join("run"));
    assert!(
        output.status.success(),
        "bench refused a path python list accepts: {}",
        text(&output.stderr)
    );
    let run: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root.path().join("run/run.json")).unwrap())
            .unwrap();
    let interpreters = run["interpreters"].as_array().unwrap();
    assert_eq!(interpreters.len(), 1, "{interpreters:?}");
}

#[test]
fn suggested_commands_quote_paths_with_spaces_and_angle_brackets() {
    let root = tempfile::tempdir().unwrap();
    let dir = awkward_dir(root.path());
    // A link keeps its own name (it is not a script discovery looks through).
    let python = dir.join("python3");
    std::os::unix::fs::symlink(PYTHON, &python).unwrap();
    let run_dir = dir.join("run <1>");
    let output = bench(&python, &run_dir);
    assert!(output.status.success(), "{}", text(&output.stderr));

    // `To measure it` lines of the advice: one trial per cell is too few to
    // separate them, so there is one, naming the interpreter's path.
    let advice = gil_lab().arg("advise").arg(&run_dir).output().unwrap();
    assert!(advice.status.success(), "{}", text(&advice.stderr));
    let stdout = text(&advice.stdout);
    let line = stdout
        .lines()
        .map(str::trim)
        .find_map(|line| line.strip_prefix("$ gil-lab bench"))
        .unwrap_or_else(|| panic!("no command to measure it: {stdout}"));
    let words = shlex::split(line).expect("the command parses as shell words");
    let at = words.iter().position(|w| w == "--python").unwrap();
    assert_eq!(Path::new(&words[at + 1]), python, "{line}");

    // The hint of a run directory that holds a run already.
    let again = bench(&python, &run_dir);
    assert_eq!(again.status.code(), Some(1));
    let stderr = text(&again.stderr);
    let hint = stderr
        .split("continue it with ")
        .nth(1)
        .unwrap_or_else(|| panic!("{stderr}"))
        .trim();
    assert_eq!(
        shlex::split(hint).unwrap(),
        ["--resume", run_dir.to_str().unwrap()],
        "{stderr}"
    );
}
