//! CPython 3.14 and 3.15 from Debian's binary packages (`gil-lab python
//! install 3.14`, relocated into gil-lab's home), their build recipe in
//! `python list`, and the 3.14 code paths of the workload run for real on
//! them: the `interpreters` approach through the public API
//! (`concurrent.futures.InterpreterPoolExecutor`), `processes` under the
//! default start method of 3.14 (`forkserver`), digests equal to the other
//! approaches'. `bench` on 3.14 next to 3.13t says that the builds differ.
//!
//! The installs are cached in gil-lab's default home (`scripts/test`
//! installs them before the tests): here they are normally found at once.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use common::{gil_lab, last_line};

/// Puts the package root on `sys.path` and runs a module like `python -m`.
const BOOTSTRAP: &str = "import sys;sys.path.insert(0,sys.argv[1]);m=sys.argv[2];\
sys.argv=sys.argv[2:];import runpy;runpy.run_module(m,run_name='__main__',alter_sys=True)";

fn succeeded(output: Output) -> Output {
    assert!(
        output.status.success(),
        "failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// `gil-lab python install VERSION` (cached after the first time): the
/// executable it prints last.
fn installed(version: &str) -> PathBuf {
    let output = succeeded(
        gil_lab()
            .args(["python", "install", version])
            .timeout(Duration::from_secs(15 * 60))
            .output()
            .unwrap(),
    );
    PathBuf::from(last_line(&output).expect("install prints the executable last"))
}

fn marker(executable: &Path) -> Value {
    // `<prefix>/usr/bin/python3.X`
    let prefix = executable.ancestors().nth(3).unwrap();
    let text = std::fs::read_to_string(prefix.join(".gil-lab-installed.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn python_3_14_and_3_15_come_from_debian_binaries_and_list_their_recipe() {
    for (version, minor) in [("3.14", 14), ("3.15", 15)] {
        let executable = installed(version);
        assert!(
            executable.ends_with(format!("usr/bin/python3.{minor}")),
            "{}",
            executable.display()
        );
        let marker = marker(&executable);
        assert_eq!(marker["strategy"], "debian-binary", "{marker}");
        assert_eq!(marker["free_threaded"], false);
        let origin = marker["source_origin"].as_str().unwrap();
        assert!(
            origin.starts_with(&format!("Debian binary package python3.{minor} ")),
            "{origin}"
        );
        // The relocated interpreter has what the workload and users need.
        let output = succeeded(
            Command::new(&executable)
                .args([
                    "-I",
                    "-c",
                    "import ssl, ctypes, sqlite3, zlib, concurrent.interpreters, multiprocessing as m; \
                     print(m.get_start_method())",
                ])
                .output()
                .unwrap(),
        );
        assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "forkserver");

        // `python list` shows it with its build recipe.
        let output = succeeded(
            gil_lab()
                .args(["python", "list", "--no-discover", "--json", "--python"])
                .arg(&executable)
                .output()
                .unwrap(),
        );
        let list: Value = serde_json::from_slice(&output.stdout).unwrap();
        let entry = &list[0];
        assert_eq!(entry["facts"]["subinterpreters"], "public");
        assert_eq!(entry["facts"]["interpreter_pool_executor"], true);
        let recipe = &entry["recipe"];
        assert!(
            recipe["compiler"].as_str().unwrap().starts_with("GCC "),
            "{recipe}"
        );
        assert_eq!(recipe["disable_gil"], false);
        // Debian's packaging adds its optimisations outside configure.
        assert_eq!(recipe["pgo"], "not-recorded", "{recipe}");
        assert!(recipe["opt_level"].as_str().unwrap().starts_with("-O"));
        let table = succeeded(
            gil_lab()
                .args(["python", "list", "--no-discover", "--python"])
                .arg(&executable)
                .env("NO_COLOR", "1")
                .output()
                .unwrap(),
        );
        let table = String::from_utf8_lossy(&table.stdout);
        assert!(table.contains(" build "), "{table}");
        assert!(table.contains("(PGO/LTO?)"), "{table}");
    }
}

/// Runs the embedded workload's runner on `python` with `spec`.
fn runner(python: &Path, spec: &Value) -> Value {
    let package_root = Path::new(env!("CARGO_MANIFEST_DIR")).join("workload");
    let output = Command::new(python)
        .args(["-I", "-B", "-c", BOOTSTRAP])
        .arg(package_root)
        .args(["gil_lab.runner", &spec.to_string()])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let result: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
        panic!(
            "the runner printed no JSON ({error}): {}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    assert_eq!(result["result"], "success", "{spec}: {result}");
    result
}

#[test]
fn the_3_14_code_paths_run_on_3_14_and_3_15_with_equal_digests() {
    for version in ["3.14", "3.15"] {
        let python = installed(version);
        for scenario in ["cpu", "shared"] {
            let spec = |approach: &str| {
                json!({"scenario": scenario, "approach": approach, "workers": 2,
                       "scale": 0.1, "seed": 7})
            };
            let baseline = runner(&python, &spec("sequential"));
            let digest = baseline["digest"].clone();
            assert!(digest.is_string(), "{baseline}");

            let interpreters = runner(&python, &spec("interpreters"));
            assert_eq!(interpreters["digest"], digest, "{version} {scenario}");
            assert_eq!(
                interpreters["api"], "concurrent.futures.InterpreterPoolExecutor",
                "{interpreters}"
            );
            let workers: Vec<&str> = interpreters["tasks"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["worker"].as_str().unwrap())
                .collect();
            assert!(
                workers.iter().all(|w| w.starts_with("interpreter-")),
                "{workers:?}"
            );
            // Each subinterpreter has its own GIL, on in a default build.
            assert!(
                interpreters["worker_gil_enabled"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .all(|g| g == true)
            );

            // No start method given: the interpreter's default, forkserver.
            let processes = runner(&python, &spec("processes"));
            assert_eq!(processes["spec"]["start_method"], "forkserver");
            assert_eq!(processes["digest"], digest, "{version} {scenario}");
            if scenario == "shared" {
                assert_eq!(processes["sharing"]["method"], "pickled");
            }
            for approach in ["threads", "asyncio", "asyncio+threads"] {
                let other = runner(&python, &spec(approach));
                assert_eq!(other["digest"], digest, "{version} {scenario} {approach}");
            }
        }
    }
}

fn is_3_14(trial: &Value) -> bool {
    trial["cell"]["interpreter"]
        .as_str()
        .is_some_and(|id| id.starts_with("cpython-3.14."))
}

#[test]
fn bench_on_3_14_and_3_13t_runs_every_approach_and_says_the_builds_differ() {
    installed("3.14");
    common::free_threaded_python();
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_gil-lab"))
        .args(["bench", "--output"])
        .arg(dir.path().join("run"))
        .args([
            "--python",
            "3.14",
            "--python",
            "3.13t",
            "--scenario",
            "cpu",
            "--scale",
            "0.1",
            "--runs",
            "1",
            "--workers",
            "2",
            "--no-twin",
            "--no-provision",
        ])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stdout = common::assert_success(&output, "bench");
    // Next to the comparison, in the terminal and in the advice.
    assert!(stdout.contains("Builds differ: CPython 3.14."), "{stdout}");
    assert!(stdout.contains("builds differ: "), "{stdout}");
    let report = std::fs::read_to_string(dir.path().join("run/report.html")).unwrap();
    assert!(report.contains("Builds differ: CPython 3.14"), "dashboard");

    let trials: Vec<Value> = std::fs::read_to_string(dir.path().join("run/trials.jsonl"))
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let measured: Vec<&Value> = trials.iter().filter(|t| t["warmup"] == false).collect();
    let digests: std::collections::BTreeSet<&str> = measured
        .iter()
        .map(|t| t["runner"]["digest"].as_str().unwrap())
        .collect();
    assert_eq!(digests.len(), 1, "one digest for every cell: {digests:?}");
    let approaches_on_3_14: std::collections::BTreeSet<&str> = measured
        .iter()
        .filter(|t| is_3_14(t))
        .map(|t| t["cell"]["approach"].as_str().unwrap())
        .collect();
    for approach in [
        "sequential",
        "threads",
        "processes",
        "interpreters",
        "asyncio",
    ] {
        assert!(
            approaches_on_3_14.contains(approach),
            "{approach} on 3.14: {approaches_on_3_14:?}"
        );
    }
    for trial in &measured {
        if trial["cell"]["approach"] == "interpreters" {
            let api = &trial["runner"]["api"];
            if is_3_14(trial) {
                assert_eq!(api, "concurrent.futures.InterpreterPoolExecutor");
            } else {
                assert_eq!(api, "_interpreters");
            }
        }
    }
}
