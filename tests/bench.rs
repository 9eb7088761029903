//! `gil-lab bench` end to end, with real interpreters and real processes:
//! the run directory and its schema, `--json`, the forced-GIL row, a closed
//! stdout and `--serve` (Ctrl-C, `kill -9` and `--timeout` are in
//! tests/bench_processes.rs). Each run uses a seed of its own so that the
//! test can find (and prove the absence of) every process of that run
//! through /proc.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use common::bench_run::*;
use serde_json::Value;

#[test]
fn a_small_run_writes_a_run_directory_that_follows_the_schema() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    let seed = unique_seed();
    let output = run(cpu_bench(
        &dir,
        seed,
        "threads,processes",
        "0.05",
        "2",
        &["--warmup", "1"],
    ));
    assert!(output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("Scenario `cpu`"), "{stdout}");
    assert!(stdout.contains("speedup"), "{stdout}");

    let run_json = read_json(&dir.join("run.json"));
    assert_eq!(run_json["schema"], 1);
    assert_eq!(run_json["status"], "complete");
    // Before the first trial, the run looked inside its interpreter.
    let inside = read_json(&dir.join("inside.json"));
    assert_eq!(
        inside["inspections"][0]["interpreter"],
        run_json["interpreters"][0]["id"]
    );
    let units = inside["inspections"][0]["report"]["units"]
        .as_array()
        .unwrap();
    assert_eq!(units.len(), 5, "the four agents and the knowledge queries");
    assert_eq!(run_json["settings"]["seed"], seed);
    let plan = run_json["plan"].as_array().unwrap();
    assert_eq!(plan.len(), 3, "sequential, threads, processes");
    for cell in plan {
        let command: Vec<&str> = cell["command"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert!(command.contains(&"-I"), "isolated mode: {command:?}");
        assert!(command.last().unwrap().contains(&seed_marker(seed)));
        let env = cell["env"].as_object().unwrap();
        assert!(
            env.keys().all(|k| !k.starts_with("PYTHON")),
            "no PYTHON* variable: {env:?}"
        );
    }
    let summary = &run_json["summary"];
    let cells = summary["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 3);
    for cell in cells {
        assert_eq!(cell["state"], "measured", "{cell}");
        assert_eq!(cell["trials"], 2);
        assert!(cell["work"]["median"].as_f64().unwrap() > 0.0);
        assert!(
            cell["work"]["ci_low"].as_f64().unwrap() <= cell["work"]["ci_high"].as_f64().unwrap()
        );
        assert!(cell["speedup"]["point"].as_f64().unwrap() > 0.0);
        assert!(cell["end_to_end_speedup"]["point"].as_f64().unwrap() > 0.0);
        assert!(cell["parallelism"]["median"].as_f64().unwrap() > 0.0);
        assert!(cell["peak_memory_bytes"].as_u64().unwrap() > 1_000_000);
        assert!(
            cell["orchestration"]["interpreter_start_s"]
                .as_f64()
                .unwrap()
                > 0.0
        );
        // Two screening rounds (--runs 2), then nothing more: whatever the
        // verdict made of the cell.
        assert!(
            ["max_runs", "eliminated", "equivalent", "decided"]
                .contains(&cell["stop"].as_str().unwrap()),
            "{cell}"
        );
    }
    assert_eq!(summary["scenarios"][0]["scenario"], "cpu");
    assert!(summary["scenarios"][0]["winner"].is_object());

    let trials = read_trials(&dir);
    assert_eq!(trials.len(), 3 * 3, "1 warmup + 2 measured per cell");
    let digests: BTreeSet<&str> = trials
        .iter()
        .map(|t| t["runner"]["digest"].as_str().unwrap())
        .collect();
    assert_eq!(
        digests.len(),
        1,
        "one digest for every approach: {digests:?}"
    );
    for (i, trial) in trials.iter().enumerate() {
        assert_eq!(trial["schema"], 1);
        assert_eq!(trial["index"], i as u64);
        assert_eq!(trial["status"], "ok", "{trial}");
        assert_eq!(trial["warmup"], trial["repetition"] == 0);
        let m = &trial["measurement"];
        assert!(m["wall_s"].as_f64().unwrap() > 0.0);
        assert!(m["user_s"].as_f64().unwrap() + m["sys_s"].as_f64().unwrap() > 0.0);
        assert!(m["samples"].as_u64().unwrap() > 0);
        assert!(trial["runner"]["phases"]["work"].as_f64().unwrap() > 0.0);
        assert!(trial["timeline"]["lanes"].is_array());
    }
    // Interleaved: the first round runs every cell once before any repeats.
    let first_round: BTreeSet<String> = trials[..3].iter().map(|t| slot(t).0).collect();
    assert_eq!(first_round.len(), 3);
    assert_no_process_left(seed);
}

#[test]
fn json_output_is_the_summary_and_bad_flags_are_one_line_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let seed = unique_seed();
    let output = run(cpu_bench(
        &tmp.path().join("run"),
        seed,
        "threads",
        "0.05",
        "1",
        &["--warmup", "0", "--json"],
    ));
    assert!(output.status.success());
    let json: Value =
        serde_json::from_slice(&output.stdout).expect("--json prints one JSON document");
    assert_eq!(json["status"], "complete");
    assert_eq!(json["summary"]["cells"].as_array().unwrap().len(), 2);

    let output = run(bench(&tmp.path().join("bad"), seed, &["--python", "3.9x"]));
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--python 3.9x"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");

    let output = run(bench(&tmp.path().join("run"), seed, &["--python", PYTHON]));
    assert!(
        !output.status.success(),
        "an existing run directory is not overwritten"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--resume"), "{stderr}");

    let mut resume = Command::new(env!("CARGO_BIN_EXE_gil-lab"));
    resume
        .args(["bench", "--resume"])
        .arg(tmp.path().join("nothing-here"));
    let output = run(resume);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("not a gil-lab run directory"));
}

#[test]
fn the_forced_gil_row_runs_with_the_gil_on_in_every_worker() {
    let free_threaded: PathBuf = common::free_threaded_python();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    let seed = unique_seed();
    let mut command = bench(&dir, seed, &["--python"]);
    command.arg(&free_threaded).args([
        "--scenario",
        "cpu",
        "--approach",
        "threads,processes",
        "--workers",
        "2",
        "--scale",
        "0.05",
        "--runs",
        "2",
        "--warmup",
        "0",
    ]);
    let output = run(command);
    assert!(output.status.success());
    let run_json = read_json(&dir.join("run.json"));
    let interpreters: BTreeMap<String, &Value> = run_json["interpreters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["id"].as_str().unwrap().to_string(), i))
        .collect();
    let forced: Vec<&String> = interpreters
        .keys()
        .filter(|id| id.ends_with("-gil1"))
        .collect();
    assert_eq!(
        forced.len(),
        1,
        "the free-threaded build and its forced-GIL row: {interpreters:?}"
    );
    assert_eq!(
        interpreters[forced[0]]["flags"],
        serde_json::json!(["-X", "gil=1"])
    );
    let trials = read_trials(&dir);
    let mut processes_seen = 0;
    for trial in &trials {
        assert_eq!(trial["status"], "ok", "{trial}");
        let runner = &trial["runner"];
        let gil_row = trial["cell"]["interpreter"] == *forced[0];
        assert_eq!(runner["gil_enabled_start"], gil_row, "{trial}");
        assert_eq!(runner["gil_enabled_end"], gil_row, "{trial}");
        let workers = runner["worker_gil_enabled"].as_array().unwrap();
        if trial["cell"]["approach"] == "processes" {
            assert!(!workers.is_empty(), "processes report their workers' GIL");
            if gil_row {
                processes_seen += 1;
            }
        }
        assert!(workers.iter().all(|w| *w == gil_row), "{trial}");
    }
    assert_eq!(processes_seen, 2);
    assert_no_process_left(seed);
}

#[test]
fn a_closed_stdout_ends_the_report_quietly() {
    use std::io::{BufRead, BufReader};
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    let seed = unique_seed();
    let mut command = cpu_bench(&dir, seed, "threads", "0.05", "1", &["--warmup", "0"]);
    // `gil-lab bench | head -1`: read one line of the report, then close the pipe.
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    drop(stdout);
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains("panicked") && !stderr.contains("Broken pipe"),
        "{stderr}"
    );
    // Everything was recorded before the report was printed.
    assert_eq!(read_json(&dir.join("run.json"))["status"], "complete");
    assert_no_process_left(seed);
}

#[test]
fn serve_shows_the_run_live_and_the_report_is_written_at_the_end() {
    use std::io::{BufRead, BufReader, Read, Write};
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    let seed = unique_seed();
    let mut command = cpu_bench(
        &dir,
        seed,
        "threads",
        "0.1",
        "4",
        &["--serve", "--port", "0"],
    );
    let mut child = command
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let url = loop {
        let mut line = String::new();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "no dashboard URL on stderr"
        );
        if let Some(url) = line.trim().strip_prefix("Live dashboard: ") {
            break url.to_string();
        }
    };
    let address = url
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap()
        .to_string();
    let mut stream = std::net::TcpStream::connect(&address).unwrap();
    write!(
        stream,
        "GET /runs/0/ HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(
        response.starts_with("HTTP/1.1 200"),
        "{}",
        &response[..response.len().min(200)]
    );
    let mut rest = String::new();
    stderr.read_to_string(&mut rest).unwrap();
    assert!(child.wait().unwrap().success(), "{rest}");
    assert!(rest.contains("Report: "), "{rest}");
    assert!(dir.join("report.html").is_file());
    assert_no_process_left(seed);
}
