//! `gil-lab python check-imports`: a stdlib module that keeps the GIL off, a
//! C extension built here without `Py_mod_gil` that turns it back on, a
//! module that fails to import, and the cases where the check does not apply.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::{build_extension, free_threaded_python, gil_lab, stdout_json};
use serde_json::Value;

fn check(python: &Path, modules: &[&str], paths: &[&Path]) -> Output {
    let mut command = gil_lab();
    command
        .args(["python", "check-imports", "--json", "--python"])
        .arg(python);
    for path in paths {
        command.arg("--path").arg(path);
    }
    command.args(modules).output().unwrap()
}

/// The JSON result for `module`.
fn result_for<'a>(results: &'a Value, module: &str) -> &'a Value {
    results
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["module"] == module)
        .unwrap_or_else(|| panic!("no result for {module}: {results:#}"))
}

#[test]
fn a_stdlib_module_keeps_the_gil_off() {
    let ft = free_threaded_python();
    let output = check(&ft, &["json", "os.path"], &[]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let results = stdout_json(&output);
    for module in ["json", "os.path"] {
        let result = result_for(&results, module);
        assert_eq!(result["outcome"], "kept_gil_off", "{result:#}");
        assert_eq!(result["gil_before"], false);
        assert_eq!(result["gil_after"], false);
    }
}

#[test]
fn a_c_extension_without_py_mod_gil_turns_the_gil_back_on() {
    let ft = free_threaded_python();
    let dir = tempfile::tempdir().unwrap();
    build_extension(&ft, dir.path());
    let output = check(&ft, &["needs_gil", "json"], &[dir.path()]);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let results = stdout_json(&output);
    let result = result_for(&results, "needs_gil");
    assert_eq!(result["outcome"], "enabled_gil", "{result:#}");
    assert_eq!(result["gil_before"], false);
    assert_eq!(result["gil_after"], true);
    let warnings = result["warnings"].to_string();
    assert!(
        warnings.contains("RuntimeWarning")
            && warnings.contains("has been enabled to load module 'needs_gil'"),
        "{result:#}"
    );
    // Each module is imported in its own process: json still keeps it off.
    assert_eq!(result_for(&results, "json")["outcome"], "kept_gil_off");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("1 of 2 imports did not keep the GIL off"),
        "{stderr}"
    );

    // The table says it in words.
    let table = gil_lab()
        .args(["python", "check-imports", "needs_gil", "--python"])
        .arg(&ft)
        .arg("--path")
        .arg(dir.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(
        text.contains("turned the GIL back on") && text.contains("off/on"),
        "{text}"
    );
}

#[test]
fn a_module_that_fails_to_import_is_reported() {
    let ft = free_threaded_python();
    let dir = tempfile::tempdir().unwrap();
    // A module that prints while it is imported (stdout must stay clean for
    // the answer), one that raises, one that exits its process.
    std::fs::write(dir.path().join("chatty.py"), "print('hello from chatty')\n").unwrap();
    std::fs::write(
        dir.path().join("broken.py"),
        "raise ValueError('broken on purpose')\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("quitter.py"), "import os\nos._exit(7)\n").unwrap();
    let output = check(
        &ft,
        &["chatty", "broken", "quitter", "no_such_module_here"],
        &[dir.path()],
    );
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let results = stdout_json(&output);
    assert_eq!(result_for(&results, "chatty")["outcome"], "kept_gil_off");
    let broken = result_for(&results, "broken");
    assert_eq!(broken["outcome"], "import_failed");
    assert_eq!(broken["detail"], "ValueError: broken on purpose");
    let quitter = result_for(&results, "quitter");
    assert_eq!(quitter["outcome"], "import_failed");
    assert!(
        quitter["detail"].as_str().unwrap().contains("status 7"),
        "{quitter:#}"
    );
    let missing = result_for(&results, "no_such_module_here");
    assert_eq!(missing["outcome"], "import_failed");
    assert!(
        missing["detail"]
            .as_str()
            .unwrap()
            .starts_with("ModuleNotFoundError"),
        "{missing:#}"
    );
}

#[test]
fn the_check_does_not_apply_to_a_default_build() {
    let default_build = PathBuf::from("/usr/bin/python3");
    let output = check(&default_build, &["json"], &[]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let results = stdout_json(&output);
    let result = result_for(&results, "json");
    assert_eq!(result["outcome"], "not_applicable");
    assert!(
        result["detail"]
            .as_str()
            .unwrap()
            .contains("GIL is always on"),
        "{result:#}"
    );
}

#[test]
fn bad_arguments_are_one_line_errors() {
    let ft = free_threaded_python();
    for (args, needle) in [
        (vec!["json;rm"], "is not a module name"),
        (
            vec!["json", "--path", "/nonexistent/dir"],
            "is not a directory",
        ),
        (
            vec!["json", "--python", "/nonexistent/python3"],
            "does not exist",
        ),
    ] {
        let output = gil_lab()
            .args(["python", "check-imports", "--python"])
            .arg(&ft)
            .args(&args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(
            stderr.starts_with("Error: ") && stderr.contains(needle),
            "{args:?}: {stderr}"
        );
    }
}
