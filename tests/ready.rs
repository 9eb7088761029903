//! `gil-lab ready` on real packages from the registry (PyPI through pip),
//! real interpreters (the provisioned CPython 3.13t and its default build)
//! and real source builds: a pure-Python distribution, one with
//! free-threaded wheels, one whose pinned old release turns the GIL back on
//! after a source build while a newer one does not (the fix is found), one
//! with no free-threaded wheel; a requirements.txt, a pyproject.toml and a
//! broken file; an unknown name and a registry that does not answer.
//!
//! Built wheels and each release's check are cached under gil-lab's home
//! (`ready/`), so the source builds are paid once for every test and run.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use common::{default_python, free_threaded_python, gil_lab, stdout_json};
use serde_json::Value;

/// `gil-lab ready FILE --json` with `extra` arguments.
fn ready(file: &Path, extra: &[&str]) -> Output {
    gil_lab()
        .arg("ready")
        .arg(file)
        .arg("--json")
        .args(extra)
        .timeout(Duration::from_secs(60 * 60))
        .output()
        .unwrap()
}

fn python_arg(python: PathBuf) -> String {
    python.display().to_string()
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// The record of `name` on the interpreter whose tag is `tag`.
fn record<'a>(records: &'a Value, tag: &str, name: &str) -> &'a Value {
    records
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["tag"] == tag && r["name"].as_str().unwrap().eq_ignore_ascii_case(name))
        .unwrap_or_else(|| panic!("no record of {name} on {tag} in {records:#}"))
}

fn ok_records(output: &Output) -> Value {
    assert!(
        output.status.success(),
        "ready failed ({}):\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout_json(output)
}

#[test]
fn pure_python_and_free_threaded_wheels_are_ready_on_both_builds() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "requirements.txt",
        "six==1.17.0\nmarkupsafe==3.0.3\n",
    );
    let output = ready(
        &file,
        &[
            "--strict",
            "--python",
            &python_arg(free_threaded_python()),
            "--python",
            &python_arg(default_python()),
        ],
    );
    let records = ok_records(&output);
    assert_eq!(records.as_array().unwrap().len(), 4, "{records:#}");
    let six = record(&records, "cp313t", "six");
    assert_eq!(six["install"], "pure");
    assert_eq!(six["verdict"], "ready");
    assert_eq!(six["imports"][0]["gil_after"], false);
    let markupsafe = record(&records, "cp313t", "markupsafe");
    assert_eq!(markupsafe["install"], "wheel", "{markupsafe:#}");
    assert!(markupsafe["file"].as_str().unwrap().contains("cp313t"));
    assert_eq!(markupsafe["imports"][0]["module"], "markupsafe");
    assert_eq!(markupsafe["imports"][0]["gil_after"], false);
    assert_eq!(markupsafe["interpreter_verdict"], "ready");
    let default = record(&records, "cp313", "markupsafe");
    assert_eq!(default["verdict"], "ready");
    assert!(default["imports"][0]["gil_after"].is_null());
}

#[test]
fn an_old_release_turns_the_gil_back_on_and_the_fix_is_found() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "requirements.txt", "ujson==5.10.0\n");
    let python = python_arg(free_threaded_python());
    let output = ready(&file, &["--python", &python]);
    let records = ok_records(&output);
    let ujson = record(&records, "cp313t", "ujson");
    // No cp313t wheel of 5.10.0: built here, and the build works.
    assert_eq!(ujson["install"], "source", "{ujson:#}");
    assert_eq!(ujson["built"], true);
    assert_eq!(ujson["verdict"], "gil_re_enabled");
    assert_eq!(ujson["interpreter_verdict"], "gil_re_enabled");
    assert_eq!(ujson["imports"][0]["gil_after"], true);
    assert_eq!(ujson["imports"][0]["gil_enabled_by"], "ujson");
    assert!(
        std::path::Path::new(ujson["log"].as_str().unwrap()).is_file(),
        "the build log is kept"
    );
    let fix = &ujson["fix"];
    let version = fix["version"]
        .as_str()
        .unwrap_or_else(|| panic!("a fix: {fix:#}"));
    assert!(version.split('.').next().unwrap().parse::<u32>().unwrap() >= 5);
    assert_ne!(version, "5.10.0");
    assert!(
        fix["tried"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v == version)
    );
    // The fix holds: the release it names, checked on its own, is ready.
    let fixed = write(dir.path(), "fixed.txt", &format!("ujson=={version}\n"));
    let output = ready(&fixed, &["--strict", "--python", &python]);
    let records = ok_records(&output);
    assert_eq!(record(&records, "cp313t", "ujson")["verdict"], "ready");
    // --strict: the old pin fails a CI gate; the table says why.
    let output = gil_lab()
        .arg("ready")
        .arg(&file)
        .args(["--strict", "--python", &python])
        .timeout(Duration::from_secs(600))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let table = String::from_utf8_lossy(&output.stdout);
    assert!(table.contains("GIL re-enabled by ujson"), "{table}");
    assert!(table.contains(&format!("ujson>={version}")), "{table}");
}

#[test]
fn a_release_without_a_free_threaded_wheel_is_blocked_by_its_tags() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "requirements.txt", "orjson\nsix\n");
    let output = ready(
        &file,
        &[
            "--python",
            &python_arg(default_python()),
            "--target",
            "3.13t",
        ],
    );
    let records = ok_records(&output);
    let orjson = record(&records, "cp313t", "orjson");
    assert_eq!(orjson["install"], "no_wheel", "{orjson:#}");
    assert_eq!(orjson["verdict"], "blocked");
    assert_eq!(orjson["registry_only"], true);
    assert_eq!(orjson["interpreter_verdict"], "blocked");
    assert_eq!(record(&records, "cp313t", "six")["verdict"], "ready");
    // On the default build it has a wheel and imports.
    assert_eq!(record(&records, "cp313", "orjson")["install"], "wheel");
    assert_eq!(record(&records, "cp313", "orjson")["verdict"], "ready");
}

#[test]
fn a_pyproject_with_an_optional_group() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "pyproject.toml",
        "[project]\nname = \"team-agents\"\nversion = \"0.1.0\"\ndependencies = [\"six==1.17.0\"]\n\
         [project.optional-dependencies]\nweb = [\"markupsafe==3.0.3\"]\n",
    );
    let python = python_arg(free_threaded_python());
    // Without FILE: what the current directory has.
    let output = gil_lab()
        .current_dir(dir.path())
        .args(["ready", "--json", "--extra", "web", "--python", &python])
        .timeout(Duration::from_secs(600))
        .output()
        .unwrap();
    let records = ok_records(&output);
    let names: Vec<&str> = records
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["six", "MarkupSafe"]);
    let output = ready(&dir.path().join("pyproject.toml"), &["--python", &python]);
    assert_eq!(ok_records(&output).as_array().unwrap().len(), 1);
}

#[test]
fn a_broken_file_is_one_error_naming_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "requirements.txt",
        "six\nujson = = 5\nmarkupsafe\n",
    );
    let output = gil_lab().arg("ready").arg(&file).output().unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("requirements.txt:2: not a requirement"),
        "{stderr}"
    );
    let output = gil_lab()
        .arg("ready")
        .arg(dir.path().join("nope.txt"))
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("no such file"));
}

#[test]
fn an_unknown_name_and_a_silent_registry_are_reported_per_distribution() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "requirements.txt",
        "six==1.17.0\ngil-lab-no-such-distribution-7f3a==1.0\n",
    );
    let python = python_arg(default_python());
    let output = ready(&file, &["--python", &python]);
    let records = ok_records(&output);
    let unknown = record(&records, "cp313", "gil-lab-no-such-distribution-7f3a");
    assert_eq!(unknown["install"], "unresolved");
    assert!(
        unknown["reason"]
            .as_str()
            .unwrap()
            .contains("requirements.txt:2"),
        "{unknown:#}"
    );
    assert_eq!(record(&records, "cp313", "six")["verdict"], "ready");
    // A registry that does not answer: every distribution says so, none
    // is left without a verdict, nothing hangs.
    let output = gil_lab()
        .arg("ready")
        .arg(&file)
        .args(["--json", "--refresh", "--python", &python])
        .env("PIP_INDEX_URL", "http://127.0.0.1:9/simple")
        .timeout(Duration::from_secs(600))
        .output()
        .unwrap();
    let records = ok_records(&output);
    for r in records.as_array().unwrap() {
        assert_eq!(r["verdict"], "blocked", "{r:#}");
        assert_eq!(r["install"], "unresolved", "{r:#}");
    }
    assert_eq!(records.as_array().unwrap().len(), 2);
}

/// `bench --task ... --task-requirements FILE` runs `ready` first: a
/// dependency that turns the GIL back on is stated in the advice (next to
/// the measured threads speedup) and stored in the run for the dashboard
/// (tests/browser.rs opens that page).
#[test]
fn bench_states_the_readiness_of_the_task_requirements() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "requirements.txt", "ujson==5.10.0\n");
    let task = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/scoring_agent.py");
    let output = gil_lab()
        .args([
            "bench",
            "--json",
            "--no-provision",
            "--no-inspect",
            "--warmup",
            "0",
            "--runs",
            "1",
        ])
        .args([
            "--approach",
            "sequential,threads",
            "--task-calls",
            "4",
            "--task",
        ])
        .arg(format!("{}:plan_route", task.display()))
        .arg("--task-requirements")
        .arg(&file)
        .arg("--python")
        .arg(free_threaded_python())
        .arg("--output")
        .arg(dir.path().join("run"))
        .timeout(Duration::from_secs(60 * 60))
        .output()
        .unwrap();
    let json = ok_records(&output);
    let rec = &json["advice"]["recommendations"][0];
    let warnings = rec["warnings"].to_string();
    assert!(warnings.contains("GIL re-enabled by ujson"), "{rec:#}");
    assert!(
        warnings.contains("the free-threaded speedups do not apply"),
        "{rec:#}"
    );
    assert!(warnings.contains("fix ujson: upgrade"), "{rec:#}");
    if rec["approach"] == "threads" {
        assert!(
            rec["headline"]
                .as_str()
                .unwrap()
                .contains("TURN THE GIL BACK ON"),
            "{rec:#}"
        );
    }
    let run: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("run").join("run.json")).unwrap(),
    )
    .unwrap();
    let readiness = &run["task"]["readiness"]["interpreters"][0];
    assert_eq!(readiness["verdict"], "gil_re_enabled", "{readiness:#}");
    assert_eq!(readiness["blockers"][0], "ujson");
    // `advise` on the stored run says the same.
    let output = gil_lab()
        .arg("advise")
        .arg(dir.path().join("run"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("GIL re-enabled by ujson"), "{text}");
}
