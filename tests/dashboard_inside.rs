//! The dashboard's "Inside CPython" section on a real run: a small `bench`
//! of the default 3.13 build and the free-threaded 3.13t made without its
//! inspection (`--no-inspect`), whose report says so and names the command
//! that adds it; then `gil-lab inspect --run` looks inside both real
//! interpreters and the report shows, next to the measured single-thread
//! cost, how much of the agents' hot code each build specialised.
//!
//! Only facts are checked (shares, counts, features, structure), never a
//! timing: whether the cost agrees with the published explanation depends
//! on the measured CI, so only the reading's form is.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

/// `gil-lab report DIR -o DIR/report.html`, read back.
fn report(dir: &Path) -> String {
    let out = dir.join("report.html");
    common::gil_lab()
        .arg("report")
        .arg(dir)
        .arg("-o")
        .arg(&out)
        .assert()
        .success();
    std::fs::read_to_string(out).unwrap()
}

/// The section ids of a page, in order.
fn sections(html: &str) -> Vec<String> {
    html.match_indices("<section id=\"")
        .map(|(i, _)| {
            let id = &html[i + 13..];
            id[..id.find('"').unwrap()].to_string()
        })
        .collect()
}

/// A small real run: `cpu` and `io`, sequential only, on the free-threaded
/// 3.13t and the default 3.13 builds, without the inspection.
fn small_run(dir: &Path) {
    let output = common::gil_lab()
        .args([
            "bench",
            "--quick",
            "--no-inspect",
            "--no-twin",
            "--scenario",
            "cpu,io",
            "--approach",
            "sequential",
            "--runs",
            "3",
            "--python",
        ])
        .arg(common::free_threaded_python())
        .arg("--python")
        .arg(common::default_python())
        .arg("--output")
        .arg(dir)
        .timeout(Duration::from_secs(600))
        .output()
        .unwrap();
    common::assert_success(&output, "bench");
}

/// The column of the interpreter labelled `label` in the section's tables.
fn column(inside: &Value, label: &str) -> Option<usize> {
    inside["interpreters"]
        .as_array()
        .unwrap()
        .iter()
        .position(|i| i == label)
}

/// The labels of the run's default and free-threaded builds of the same
/// version (neither with the GIL forced), read from its `run.json`.
fn builds_of_one_version(dir: &Path) -> (String, String) {
    let run: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("run.json")).unwrap()).unwrap();
    let pythons: Vec<&Value> = run["interpreters"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["kind"] == "python" && i["gil_forced"].is_null())
        .collect();
    let free = pythons
        .iter()
        .find(|i| i["free_threaded"] == true)
        .expect("the run has a free-threaded build");
    let default = pythons
        .iter()
        .find(|i| i["free_threaded"] == false && i["version"] == free["version"])
        .unwrap_or_else(|| panic!("no default build of {}: {pythons:?}", free["version"]));
    let label = |i: &Value| i["label"].as_str().unwrap().to_string();
    (label(default), label(free))
}

#[test]
fn inside_cpython_section_shows_the_cost_next_to_both_builds_specialisation() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("dashboard-inside-run");
    if dir.exists() {
        std::fs::remove_dir_all(&dir).unwrap();
    }
    small_run(&dir);
    assert!(!dir.join("inside.json").exists(), "--no-inspect inspected");

    // Without inside.json: one sentence, and the command that adds it.
    let html = report(&dir);
    let data = common::embedded_data(&html);
    let missing = data["inside"]["missing"].as_str().expect("a missing note");
    assert!(missing.contains("no inside.json"), "{missing}");
    // minijinja escapes `/` as `&#x2f;`.
    assert!(
        html.replace("&#x2f;", "/")
            .contains(&format!("gil-lab inspect --run {}", dir.display())),
        "the page names the command that adds the inspection"
    );
    assert_eq!(data["inside"]["scenarios"], Value::Array(vec![]));

    // The real inspection of the run's interpreters.
    let output = common::gil_lab()
        .args(["inspect", "--run"])
        .arg(&dir)
        .timeout(Duration::from_secs(600))
        .output()
        .unwrap();
    common::assert_success(&output, "inspect --run");
    assert!(dir.join("inside.json").is_file());

    let html = report(&dir);
    let order = sections(&html);
    let claims = order.iter().position(|s| s == "claims").expect("claims");
    assert_eq!(
        order.get(claims + 1).map(String::as_str),
        Some("inside-cpython"),
        "the section comes right after the claims check: {order:?}"
    );
    assert!(html.contains("href=\"#inside-cpython\""), "no link to it");
    assert!(html.contains("docs/inside-cpython.md"));
    let data = common::embedded_data(&html);
    let inside = &data["inside"];
    assert!(inside["missing"].is_null(), "{}", inside["missing"]);
    assert_eq!(inside["failed"], Value::Array(vec![]));

    // Every measured free-threaded-vs-default cost has its reading.
    let measured: Vec<&Value> = data["claims"]["measured"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["kind"] == "free_threaded_vs_default")
        .collect();
    assert!(!measured.is_empty(), "no cost measured");
    let scenarios = inside["scenarios"].as_array().unwrap();
    for m in &measured {
        let scenario = scenarios
            .iter()
            .find(|s| s["scenario"] == m["scenario"])
            .unwrap_or_else(|| panic!("no inside view of {}", m["scenario"]));
        let cost = scenario["costs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["subject"] == m["subject"] && c["baseline"] == m["baseline"])
            .expect("the cost is shown");
        assert_eq!(cost["time_text"], m["time_text"]);
        let sentence = cost["sentence"].as_str().unwrap();
        assert!(sentence.ends_with('.'), "{sentence}");
        if m["scenario"] == "io" {
            assert_eq!(cost["reading"], "unknown");
            assert!(sentence.contains("not inspected"), "{sentence}");
            assert_eq!(cost["units"], Value::Array(vec![]));
        }
    }

    // The published explanation's facts, on the run's two builds of one
    // version (whichever patch release provisioning found).
    let (default, free) = builds_of_one_version(&dir);
    let (default, free) = (default.as_str(), free.as_str());
    let (Some(d), Some(f)) = (column(inside, default), column(inside, free)) else {
        panic!(
            "{default} and {free} were not both inspected: {}",
            inside["interpreters"]
        );
    };
    let cpu = scenarios
        .iter()
        .find(|s| s["scenario"] == "cpu")
        .expect("cpu");
    let cost = cpu["costs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["subject"] == free && c["baseline"] == default)
        .expect("the free-threaded build against the default build");
    assert!(cost["baseline_share"]["share"].as_f64().unwrap() > 0.0);
    assert_eq!(cost["subject_share"]["share"].as_f64(), Some(0.0));
    // Which way the reading goes follows from the measured CI (a timing);
    // with these shares it is never "nothing to compare".
    assert!(
        ["consistent", "contradicts"].contains(&cost["reading"].as_str().unwrap()),
        "{}",
        cost["reading"]
    );
    let sentence = cost["sentence"].as_str().unwrap();
    assert!(
        sentence.contains(&format!("{free} specialised 0%")),
        "{sentence}"
    );
    let units: Vec<&str> = cost["units"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["unit"].as_str().unwrap())
        .collect();
    assert_eq!(units, ["planner", "solver", "strategist", "reasoner"]);
    for unit in cost["units"].as_array().unwrap() {
        assert!(unit["baseline"]["share"].as_f64().unwrap() > 0.0, "{unit}");
        assert_eq!(unit["subject"]["share"].as_f64(), Some(0.0), "{unit}");
        assert!(unit["hottest"].is_string(), "{unit}");
    }

    // What each build offers, as it answered.
    let feature = |key: &str, column: usize| -> String {
        let row = inside["features"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["key"] == key)
            .unwrap_or_else(|| panic!("no {key} row"));
        row["cells"][column]["state"].as_str().unwrap().to_string()
    };
    assert_eq!(inside["features"].as_array().unwrap().len(), 7);
    assert_eq!(feature("gil", d), "on");
    assert_eq!(feature("gil", f), "off");
    assert_eq!(feature("specializing_interpreter", d), "on");
    assert_eq!(feature("specializing_interpreter", f), "off");
    assert_eq!(feature("biased_reference_counting", d), "absent");
    assert_eq!(feature("biased_reference_counting", f), "on");
    assert_eq!(feature("mimalloc", f), "on");

    // The most frequent specialisations: some on the default build, none
    // (and why) on the free-threaded one.
    let top = &inside["top"];
    assert!(!top[d]["forms"].as_array().unwrap().is_empty());
    assert!(top[f]["forms"].as_array().unwrap().is_empty());
    assert!(top[f]["none"].as_str().unwrap().contains("off"));

    // The solver's hottest function, instruction by instruction: the
    // default build rewrote some, the free-threaded build none.
    let listing = inside["listings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| {
            l["interpreters"]
                .as_array()
                .unwrap()
                .iter()
                .any(|i| i == default)
        })
        .expect("a listing with the default build");
    assert_eq!(listing["unit"], "solver");
    let at = |label: &str| {
        listing["interpreters"]
            .as_array()
            .unwrap()
            .iter()
            .position(|i| i == label)
    };
    let (ld, lf) = (at(default).unwrap(), at(free).expect("same bytecode"));
    assert!(listing["rewritten"][ld].as_u64().unwrap() > 0);
    assert_eq!(listing["rewritten"][lf].as_u64(), Some(0));
    let rows = listing["rows"].as_array().unwrap();
    let rewritten = rows
        .iter()
        .find(|r| r["forms"][ld].is_string())
        .expect("a rewritten instruction");
    // A specialised form is a form of the instruction it replaced
    // (`BINARY_OP` → `BINARY_OP_ADD_INT`, `RESUME` → `RESUME_CHECK`).
    let (op, form) = (
        rewritten["opname"].as_str().unwrap(),
        rewritten["forms"][ld].as_str().unwrap(),
    );
    assert!(form.starts_with(op) && form != op, "{op} → {form}");
    assert!(html.contains(&format!("→ {form}")));
    assert!(html.contains("<details class=\"listing\">"));
}
