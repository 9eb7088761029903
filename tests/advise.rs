//! `gil-lab advise`: the advice for the six situations of issue 7
//! (snapshots), advice that follows a run's numbers (synthetic runs where
//! processes win, where free-threaded threads win, and a tie), and bad
//! input.

mod common;
mod run_fixture;

use std::path::Path;

use predicates::prelude::*;
use run_fixture::{Cell, Options, cpu, write_run};

use common::{gil_lab, stdout_json};

fn one_line() -> impl predicates::Predicate<str> {
    predicate::function(|s: &str| s.lines().count() == 1)
}

/// The advice text for these `advise` arguments (must succeed).
fn advice_text(args: &[&str]) -> String {
    let output = gil_lab().arg("advise").args(args).output().unwrap();
    assert!(
        output.status.success(),
        "advise {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn cpu_bound_independent_tasks() {
    insta::assert_snapshot!(advice_text(&["--workload", "cpu"]));
}

#[test]
fn cpu_bound_over_large_shared_read_only_data() {
    insta::assert_snapshot!(advice_text(&[
        "--workload",
        "cpu",
        "--shared-state",
        "--large-inputs"
    ]));
}

#[test]
fn io_bound_with_many_concurrent_calls() {
    insta::assert_snapshot!(advice_text(&["--workload", "io", "--latency-sensitive"]));
}

#[test]
fn mixed_io_and_cpu_agents() {
    insta::assert_snapshot!(advice_text(&["--workload", "mixed", "--python", "3.13t"]));
}

/// The import check as `gil-lab python check-imports --json` writes it: the
/// extension turned the GIL back on in the free-threaded build.
const CHECKS: &str = r#"[
  {"interpreter": "CPython 3.13.5t", "path": "/opt/cpython-3.13.5t/bin/python3.13t",
   "module": "legacy_ext", "outcome": "enabled_gil", "gil_before": false, "gil_after": true,
   "warnings": ["RuntimeWarning: The global interpreter lock (GIL) has been enabled to load module 'legacy_ext'"],
   "detail": null},
  {"interpreter": "CPython 3.13.5t", "path": "/opt/cpython-3.13.5t/bin/python3.13t",
   "module": "json", "outcome": "kept_gil_off", "gil_before": false, "gil_after": false,
   "warnings": [], "detail": null}
]"#;

#[test]
fn code_that_depends_on_extensions_that_reenable_the_gil() {
    let tmp = tempfile::tempdir().unwrap();
    let checks = tmp.path().join("checks.json");
    std::fs::write(&checks, CHECKS).unwrap();
    insta::assert_snapshot!(advice_text(&[
        "--workload",
        "cpu",
        "--c-extensions",
        "legacy_ext,json",
        "--import-checks",
        checks.to_str().unwrap(),
    ]));
}

#[test]
fn work_that_outgrows_one_machine() {
    insta::assert_snapshot!(advice_text(&["--workload", "cpu", "--beyond-one-machine"]));
}

/// Without a saved check the extensions are imported now, on the
/// free-threaded interpreters found here: `json` keeps the GIL off on every
/// one of them, or the advice says how to get one.
#[test]
fn extensions_are_checked_on_the_free_threaded_interpreters_found() {
    let output = gil_lab()
        .args([
            "advise",
            "--workload",
            "cpu",
            "--c-extensions",
            "json",
            "--json",
        ])
        .timeout(std::time::Duration::from_secs(300))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let advice = stdout_json(&output);
    let rec = &advice["recommendations"][0];
    assert!(
        rec["rules"]
            .as_array()
            .unwrap()
            .contains(&"extensions_reenable_gil".into())
    );
    let reasons = rec["reasons"].to_string();
    let measure = rec["measure"].to_string();
    assert!(
        reasons.contains("`json` kept the GIL off on")
            || (reasons.contains("no free-threaded interpreter was found")
                && measure.contains("gil-lab python install 3.13t")),
        "{reasons}"
    );
    // `json` keeps the GIL off: the workload's rule decides.
    assert_eq!(rec["approach"], "threads");
}

/// A run where processes beat every other approach, free-threaded threads
/// included.
fn processes_win() -> Vec<Cell> {
    vec![
        cpu(
            "cpython-3.13.5",
            "sequential",
            1,
            &[1.00, 1.02, 0.99, 1.01, 1.03, 0.98],
        ),
        cpu(
            "cpython-3.13.5",
            "threads",
            2,
            &[1.05, 1.07, 1.04, 1.06, 1.08, 1.03],
        ),
        cpu(
            "cpython-3.13.5",
            "processes",
            2,
            &[0.52, 0.53, 0.51, 0.54, 0.52, 0.53],
        ),
        cpu(
            "cpython-3.13.5t",
            "sequential",
            1,
            &[1.30, 1.32, 1.29, 1.31, 1.33, 1.28],
        ),
        cpu(
            "cpython-3.13.5t",
            "threads",
            2,
            &[0.80, 0.82, 0.79, 0.81, 0.83, 0.78],
        ),
    ]
}

/// The first recommendation for a fixture run of `cells`.
fn first_recommendation(cells: &[Cell]) -> serde_json::Value {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    write_run(&dir, cells, &Options::default());
    run_advice(&dir)["recommendations"][0].clone()
}

fn run_advice(dir: &Path) -> serde_json::Value {
    let output = gil_lab()
        .args(["advise", "--json"])
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout_json(&output)
}

#[test]
fn the_advice_follows_a_run_where_processes_win() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    write_run(&dir, &processes_win(), &Options::default());
    let advice = run_advice(&dir);
    assert_eq!(advice["basis"], "run");
    let rec = &advice["recommendations"][0];
    assert_eq!(rec["topic"], "cpu");
    assert_eq!(rec["approach"], "processes");
    assert_eq!(rec["workers"], 2);
    assert_eq!(rec["interpreter"], "CPython 3.13.5");
    assert_eq!(rec["tie"], false);
    // The margin is over the fastest other approach, free-threaded threads.
    let margin = &rec["margin"];
    assert_eq!(margin["runner_up"], "threads ×2 on CPython 3.13.5t");
    assert_eq!(margin["verdict"], "faster");
    let ratio = margin["ratio"]["point"].as_f64().unwrap();
    // Paired over the 6 rounds: the geometric mean of the per-round ratios.
    assert!((ratio - 0.525 / 0.805).abs() < 0.01, "{ratio}");
    assert!(margin["ratio"]["ci_high"].as_f64().unwrap() < 1.0);
    // Why not free-threaded threads, and what free-threading costs alone.
    let alternatives = rec["alternatives"].to_string();
    assert!(
        alternatives.contains("free-threaded threads"),
        "{alternatives}"
    );
    let costs = rec["costs"].to_string();
    assert!(
        costs.contains("free-threading single-thread cost"),
        "{costs}"
    );
    assert!(costs.contains("1.30× (95% CI"), "{costs}");
    assert!(costs.contains("memory (PSS"), "{costs}");
    // The evidence names the GIL's share of the threads' time.
    let reasons = rec["reasons"].to_string();
    assert!(
        reasons.contains("spent 48% of their time waiting on a lock: the GIL"),
        "{reasons}"
    );

    let text = advice_text(&[dir.to_str().unwrap()]);
    insta::assert_snapshot!(
        "processes_win_text",
        text.replace(dir.to_str().unwrap(), "[RUN_DIR]")
    );
}

#[test]
fn the_advice_follows_a_run_where_free_threaded_threads_win() {
    let mut cells = processes_win();
    // Same run, but the free-threaded threads now take 0.45 s.
    cells[4] = cpu(
        "cpython-3.13.5t",
        "threads",
        2,
        &[0.45, 0.46, 0.44, 0.47, 0.45, 0.46],
    );
    let rec = &first_recommendation(&cells);
    assert_eq!(rec["approach"], "threads", "{rec:#}");
    assert_eq!(rec["interpreter"], "CPython 3.13.5t (free-threaded)");
    assert_eq!(rec["margin"]["runner_up"], "processes ×2 on CPython 3.13.5");
}

#[test]
fn gil_threads_are_not_recommended_for_cpu_bound_work_by_the_tie_rule() {
    let mut cells = processes_win();
    // Threads under the GIL as fast as processes, within noise (and a
    // little slower by the median): not measured faster, so not chosen.
    cells[1] = cpu(
        "cpython-3.13.5",
        "threads",
        2,
        &[0.53, 0.53, 0.54, 0.52, 0.53, 0.53],
    );
    let rec = &first_recommendation(&cells);
    assert_eq!(rec["approach"], "processes", "{rec:#}");
    assert_eq!(rec["tie"], true);
    assert!(rec.get("undecided").is_none(), "{rec:#}");
}

#[test]
fn within_noise_the_simpler_approach_is_recommended() {
    let mut cells = processes_win();
    // Free-threaded threads 1% slower than processes in every round:
    // proven equivalent within the ±5% margin, and threads are the simpler
    // approach.
    cells[4] = cpu(
        "cpython-3.13.5t",
        "threads",
        2,
        &[0.52, 0.53, 0.51, 0.54, 0.52, 0.53].map(|w| w * 1.01),
    );
    let rec = &first_recommendation(&cells);
    assert_eq!(rec["approach"], "threads", "{rec:#}");
    assert_eq!(rec["interpreter"], "CPython 3.13.5t (free-threaded)");
    assert_eq!(rec["tie"], true);
    let reasons = rec["reasons"].to_string();
    assert!(
        reasons.contains("simpler approach is preferred"),
        "{reasons}"
    );
    assert_eq!(rec["margin"]["verdict"], "tie");
    assert!(
        rec["measure"][0]
            .as_str()
            .unwrap()
            .starts_with("gil-lab bench --scenario cpu --approach processes,threads"),
        "{}",
        rec["measure"]
    );
}

#[test]
fn bad_input_is_one_line_naming_the_fix() {
    let tmp = tempfile::tempdir().unwrap();
    gil_lab()
        .arg("advise")
        .current_dir(tmp.path())
        .assert()
        .failure()
        .stderr(predicate::str::contains("run `gil-lab bench` first").and(one_line()));
    gil_lab()
        .arg("advise")
        .arg(tmp.path())
        .assert()
        .failure()
        .stderr(predicate::str::contains("not a gil-lab run directory").and(one_line()));
    gil_lab()
        .args(["advise", "--workload", "gpu"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("use --workload cpu, io or mixed").and(one_line()));
    gil_lab()
        .args(["advise", "--workload", "cpu", "--python", "3.11t"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("free-threaded builds exist from 3.13").and(one_line()));
    gil_lab()
        .args([
            "advise",
            "--workload",
            "cpu",
            "--c-extensions",
            "not a module",
        ])
        .assert()
        .failure()
        .stderr(predicate::str::contains("is not a module name").and(one_line()));
}
