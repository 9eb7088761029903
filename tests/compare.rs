//! `gil-lab compare RUN_A RUN_B` on run directories made from known
//! work-phase times: the verdict per cell, the JSON form, and bad input.

mod run_fixture;

use std::path::Path;

use assert_cmd::Command;
use predicates::prelude::*;
use run_fixture::{Cell, Options, cpu, write_run};

fn gil_lab() -> Command {
    Command::cargo_bin("gil-lab").unwrap()
}

fn one_line() -> impl predicates::Predicate<str> {
    predicate::function(|s: &str| s.lines().count() == 1)
}

/// Run A: the baseline.
fn run_a() -> Vec<Cell> {
    vec![
        cpu(
            "cpython-3.13.5t",
            "sequential",
            1,
            &[1.10, 1.12, 1.09, 1.11, 1.10, 1.13],
        ),
        cpu(
            "cpython-3.13.5t",
            "threads",
            2,
            &[0.58, 0.57, 0.59, 0.58, 0.60, 0.59],
        ),
        cpu(
            "cpython-3.13.5t",
            "processes",
            2,
            &[0.62, 0.61, 0.63, 0.62, 0.64, 0.60],
        ),
        cpu(
            "cpython-3.13.5",
            "sequential",
            1,
            &[1.00, 1.01, 0.99, 1.02, 1.00, 0.98],
        ),
    ]
}

/// Run B: sequential unchanged (overlapping times), threads clearly faster,
/// processes clearly slower, a cell A does not have, and one A has missing.
fn run_b() -> Vec<Cell> {
    vec![
        cpu(
            "cpython-3.13.5t",
            "sequential",
            1,
            &[1.11, 1.09, 1.12, 1.10, 1.13, 1.10],
        ),
        cpu(
            "cpython-3.13.5t",
            "threads",
            2,
            &[0.52, 0.51, 0.53, 0.52, 0.50, 0.52],
        ),
        cpu(
            "cpython-3.13.5t",
            "processes",
            2,
            &[0.70, 0.71, 0.69, 0.72, 0.70, 0.73],
        ),
        cpu(
            "cpython-3.13.5t",
            "asyncio",
            2,
            &[1.2, 1.21, 1.19, 1.22, 1.2],
        ),
    ]
}

fn write_runs(root: &Path, b_options: &Options) -> (std::path::PathBuf, std::path::PathBuf) {
    let (a, b) = (root.join("a"), root.join("b"));
    write_run(&a, &run_a(), &Options::default());
    write_run(&b, &run_b(), b_options);
    (a, b)
}

#[test]
fn json_gives_a_verdict_per_common_cell() {
    let temp = tempfile::tempdir().unwrap();
    let (a, b) = write_runs(temp.path(), &Options::default());
    let output = gil_lab()
        .arg("compare")
        .arg(&a)
        .arg(&b)
        .arg("--json")
        .assert()
        .success();
    let doc: serde_json::Value = serde_json::from_slice(&output.get_output().stdout).unwrap();
    let cells = doc["cells"].as_array().unwrap();
    let verdicts: Vec<(&str, &str)> = cells
        .iter()
        .map(|c| {
            (
                c["cell"]["approach"].as_str().unwrap(),
                c["comparison"]["verdict"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        verdicts,
        [
            ("sequential", "tie"),
            ("threads", "faster"),
            ("processes", "slower")
        ]
    );
    let threads = &cells[1]["comparison"];
    // Medians 0.585 -> 0.52: ratio about 0.889, its CI below 1.
    let ratio = threads["ratio"]["point"].as_f64().unwrap();
    assert!((ratio - 0.52 / 0.585).abs() < 1e-9, "{ratio}");
    assert!(threads["ratio"]["ci_high"].as_f64().unwrap() < 1.0);
    assert!(threads["test"]["p_value"].as_f64().unwrap() < 0.05);
    assert!(threads["shift"]["point"].as_f64().unwrap() < 0.0);
    assert_eq!(doc["only_in_a"][0]["interpreter"], "cpython-3.13.5");
    assert_eq!(doc["only_in_b"][0]["approach"], "asyncio");
    assert_eq!(doc["warnings"], serde_json::json!([]));
}

#[test]
fn table_names_each_cell_and_its_verdict() {
    let temp = tempfile::tempdir().unwrap();
    let (a, b) = write_runs(temp.path(), &Options::default());
    let output = gil_lab()
        .arg("compare")
        .arg(&a)
        .arg(&b)
        .assert()
        .success()
        .stderr("");
    let text = String::from_utf8_lossy(&output.get_output().stdout)
        .replace(&temp.path().display().to_string(), "[TMP]");
    insta::assert_snapshot!("compare_table", text);
}

#[test]
fn different_scales_are_warned_about() {
    let temp = tempfile::tempdir().unwrap();
    let options = Options {
        scale: 0.5,
        ..Options::default()
    };
    let (a, b) = write_runs(temp.path(), &options);
    gil_lab()
        .arg("compare")
        .arg(&a)
        .arg(&b)
        .assert()
        .success()
        .stderr(predicate::str::contains("different --scale (1 and 0.5)"));
}

#[test]
fn bad_input_is_one_line_and_non_zero() {
    let temp = tempfile::tempdir().unwrap();
    let (a, _) = write_runs(temp.path(), &Options::default());
    let empty = temp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    gil_lab()
        .arg("compare")
        .arg(&a)
        .arg(&empty)
        .assert()
        .failure()
        .stderr(predicate::str::contains("cannot read RUN_B"))
        .stderr(predicate::str::contains("not a gil-lab run directory"))
        .stderr(one_line());

    let other = temp.path().join("other");
    write_run(
        &other,
        &[cpu("cpython-3.12.1", "sequential", 1, &[2.0, 2.1, 2.05])],
        &Options::default(),
    );
    gil_lab()
        .arg("compare")
        .arg(&a)
        .arg(&other)
        .assert()
        .failure()
        .stderr(predicate::str::contains("no cell measured in both"))
        .stderr(one_line());

    gil_lab()
        .args(["compare", "--alpha", "2"])
        .arg(&a)
        .arg(&a)
        .assert()
        .failure()
        .stderr(predicate::str::contains("between 0 and 1"));
}
