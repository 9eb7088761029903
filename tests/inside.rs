//! `gil-lab inspect` on real interpreters: its facts checked against each
//! interpreter's own answers (`sys`, `sysconfig`), the published fact that
//! the 3.13 free-threaded build does not specialise, its terminal output
//! snapshot-tested on the provisioned default 3.13 build (its patch release,
//! whichever provisioning found, normalised in the snapshot),
//! `--run` adding the inspection to a stored run, and its errors.

mod common;

use std::path::Path;

use common::{default_python, free_threaded_python, gil_lab, python_output, stdout_json};
use serde_json::Value;

const AGENTS: [&str; 4] = ["planner", "solver", "strategist", "reasoner"];

/// `gil-lab inspect --json` of these interpreters.
fn inspect_json(pythons: &[&Path], extra: &[&str]) -> Value {
    let mut command = gil_lab();
    command.args(["inspect", "--json", "--tasks", "3"]);
    for python in pythons {
        command.arg("--python").arg(python);
    }
    let output = command.args(extra).output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout_json(&output)
}

fn report_of(inside: &Value, free_threaded: bool) -> &Value {
    inside["inspections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| &i["report"])
        .find(|r| r["runtime"]["free_threaded"] == free_threaded)
        .unwrap_or_else(|| panic!("no report with free_threaded={free_threaded}: {inside}"))
}

fn state(report: &Value, key: &str) -> String {
    report["features"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["key"] == key)
        .unwrap_or_else(|| panic!("no feature {key}"))["state"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn the_agents_specialise_on_313_and_not_on_313t_as_each_interpreter_says() {
    let default = default_python();
    let free_threaded = free_threaded_python();
    let inside = inspect_json(&[&default, &free_threaded], &[]);
    for (python, free) in [(&default, false), (&free_threaded, true)] {
        let report = report_of(&inside, free);
        // The interpreter's own answers, asked separately.
        let answers = python_output(
            python,
            "import sys, sysconfig, platform; print(platform.python_version(), \
             int(bool(sysconfig.get_config_var('Py_GIL_DISABLED'))), \
             int(sys._is_gil_enabled()), int(bool(sysconfig.get_config_var('WITH_MIMALLOC'))), \
             int(sys.getrefcount(None) >= 1 << 29))",
        );
        let answers: Vec<&str> = answers.split_whitespace().collect();
        assert_eq!(report["runtime"]["version"], answers[0]);
        assert_eq!(report["runtime"]["free_threaded"], answers[1] == "1");
        assert_eq!(
            state(report, "gil"),
            if answers[2] == "1" { "on" } else { "off" }
        );
        let biased = if answers[1] == "1" { "on" } else { "absent" };
        assert_eq!(state(report, "biased_reference_counting"), biased);
        let mimalloc = match (answers[3], answers[1]) {
            ("0", _) => "absent",
            (_, "1") => "on",
            _ => "off",
        };
        assert_eq!(state(report, "mimalloc"), mimalloc);
        let immortal = if answers[4] == "1" { "on" } else { "absent" };
        assert_eq!(state(report, "immortal_objects"), immortal);
        // Every unit, with its hottest function in the workload's own files.
        let units = report["units"].as_array().unwrap();
        let names: Vec<&str> = units.iter().map(|u| u["name"].as_str().unwrap()).collect();
        assert_eq!(names, [&AGENTS[..], &["knowledge"]].concat());
        for unit in units {
            let hottest = &unit["functions"][0];
            assert!(
                hottest["file"].as_str().unwrap().starts_with("gil_lab/"),
                "{hottest}"
            );
            assert!(hottest["listing"].as_array().is_some_and(|l| !l.is_empty()));
        }
    }
    // As published for 3.13: the free-threaded build does not specialise.
    let specialised = |free: bool, agent: &str| {
        let unit = report_of(&inside, free)["units"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["name"] == agent)
            .unwrap()
            .clone();
        unit["specialisation"]["specialised"].as_u64().unwrap()
    };
    for agent in AGENTS {
        assert!(
            specialised(false, agent) > 0,
            "{agent} on the default build"
        );
        assert_eq!(
            specialised(true, agent),
            0,
            "{agent} on the free-threaded build"
        );
    }
    assert_eq!(
        state(report_of(&inside, false), "specializing_interpreter"),
        "on"
    );
    assert_eq!(
        state(report_of(&inside, true), "specializing_interpreter"),
        "off"
    );
}

#[test]
fn the_terminal_output_of_a_fixed_interpreter() {
    let output = gil_lab()
        .args([
            "inspect",
            "--unit",
            "solver,reasoner",
            "--dis",
            "--tasks",
            "3",
        ])
        .arg("--python")
        .arg(default_python())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    // The layout, the units, the features and the forms are what the code
    // and CPython 3.13 decide; which patch release provisioning found (the
    // newest whose source still downloads) is not.
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(r"CPython 3\.13\.\d+", "CPython 3.13.[patch]");
    settings.bind(|| insta::assert_snapshot!("inspect_cpython_3_13", text));
}

#[test]
fn inspect_adds_the_inspection_to_a_stored_run() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let output = gil_lab()
        .args(["bench", "--scenario", "cpu", "--approach", "sequential"])
        .args([
            "--no-twin",
            "--no-inspect",
            "--no-report",
            "--scale",
            "0.02",
        ])
        .args(["--min-runs", "1", "--max-runs", "1", "--json", "--output"])
        .arg(&run)
        .arg("--python")
        .arg(default_python())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        !run.join("inside.json").exists(),
        "--no-inspect writes none"
    );
    let output = gil_lab()
        .args(["inspect", "--tasks", "2", "--run"])
        .arg(&run)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let inside: Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("inside.json")).unwrap()).unwrap();
    let stored: Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("run.json")).unwrap()).unwrap();
    let ids: Vec<&Value> = inside["inspections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| &i["interpreter"])
        .collect();
    let python_ids: Vec<&Value> = stored["interpreters"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["kind"] == "python")
        .map(|i| &i["id"])
        .collect();
    assert_eq!(ids, python_ids);
    // `--run` measures the peak that `bench` leaves out.
    assert_eq!(inside["peak"], true);
    let units = inside["inspections"][0]["report"]["units"]
        .as_array()
        .unwrap();
    assert!(
        units
            .iter()
            .all(|u| u["memory"]["peak_bytes_per_task"].is_u64())
    );
    assert!(String::from_utf8_lossy(&output.stderr).contains("gil-lab report"));
}

#[test]
fn a_users_task_is_inspected_and_a_broken_one_is_one_line() {
    let tasks = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tasks");
    let inside = inspect_json(
        &[&default_python()],
        &[
            "--task",
            "cpu.py:score",
            "--task-path",
            tasks.to_str().unwrap(),
        ],
    );
    let report = &inside["inspections"][0]["report"];
    let units = report["units"].as_array().unwrap();
    assert_eq!(units.len(), 1, "--task alone inspects only the task");
    assert_eq!(units[0]["kind"], "task");
    assert_eq!(units[0]["functions"][0]["name"], "score");
    assert!(units[0]["specialisation"]["specialised"].as_u64().unwrap() > 0);

    let output = gil_lab()
        .args(["inspect", "--task", "missing.py:f", "--task-path"])
        .arg(&tasks)
        .arg("--python")
        .arg(default_python())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "every inspection failed");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("no inspection: no file"), "{stdout}");
    assert!(!stdout.contains("Traceback"));
}

#[test]
fn an_unknown_interpreter_is_a_one_line_error() {
    let output = gil_lab()
        .args(["inspect", "--python", "2.5"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("gil-lab python list"), "{stderr}");
}
