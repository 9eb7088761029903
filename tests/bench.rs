//! `gil-lab bench` end to end, with real interpreters and real processes:
//! the run directory and its schema, the forced-GIL row, Ctrl-C then
//! `--resume`, a worker killed with `kill -9`, a trial past `--timeout`.
//! Each run uses a seed of its own so that the test can find (and prove the
//! absence of) every process of that run through /proc.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

/// A default CPython build that always exists here (Debian's).
const PYTHON: &str = "/usr/bin/python3";

/// A seed no other test (or run) uses: trial command lines contain it.
fn unique_seed() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    u64::from(std::process::id()) * 1_000_000_000
        + u64::from(nanos)
        + NEXT.fetch_add(1, Ordering::SeqCst)
}

fn bench(dir: &Path, seed: u64, extra: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_gil-lab"));
    command
        .arg("bench")
        .arg("--output")
        .arg(dir)
        .arg("--seed")
        .arg(seed.to_string())
        .args(["--no-twin", "--no-provision"])
        .args(extra)
        .env("NO_COLOR", "1");
    command
}

/// `gil-lab bench` of the `cpu` scenario on PYTHON with `approach` (one or
/// a comma-separated list), `scale` and exactly `runs` measured trials per
/// cell, then `extra`.
fn cpu_bench(
    dir: &Path,
    seed: u64,
    approach: &str,
    scale: &str,
    runs: &str,
    extra: &[&str],
) -> Command {
    let mut command = bench(
        dir,
        seed,
        &[
            "--python",
            PYTHON,
            "--scenario",
            "cpu",
            "--approach",
            approach,
            "--scale",
            scale,
            "--runs",
            runs,
        ],
    );
    command.args(extra);
    command
}

fn run(mut command: Command) -> Output {
    let output = command.output().expect("gil-lab runs");
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    eprintln!(
        "stdout:\n{}\nstderr:\n{}",
        text(&output.stdout),
        text(&output.stderr)
    );
    output
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn read_trials(dir: &Path) -> Vec<Value> {
    std::fs::read_to_string(dir.join("trials.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|line| serde_json::from_str(line).expect("every line of trials.jsonl is JSON"))
        .collect()
}

/// Every live process whose command line contains `needle`.
fn processes_with(needle: &str) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if cmdline.contains(needle) && pid != std::process::id() {
            found.push(pid);
        }
    }
    found
}

fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 2..];
    after.split_whitespace().nth(1)?.parse().ok()
}

/// The seed as it appears in a trial's spec argument.
fn seed_marker(seed: u64) -> String {
    format!("\"seed\":{seed}")
}

fn assert_no_process_left(seed: u64) {
    // Reaping takes a moment after the parent exits.
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let left = processes_with(&seed_marker(seed));
        if left.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "processes of the run are left: {left:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn wait_for_lines(dir: &Path, lines: usize, child: &mut Child, limit: Duration) {
    let deadline = Instant::now() + limit;
    while read_trials(dir).len() < lines {
        assert!(
            child.try_wait().unwrap().is_none(),
            "bench ended before {lines} trials"
        );
        assert!(
            Instant::now() < deadline,
            "no {lines} trials within {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A key identifying a trial's slot in the plan: (cell, repetition).
fn slot(trial: &Value) -> (String, u64) {
    let c = &trial["cell"];
    (
        format!(
            "{}/{}/{}/{}",
            c["scenario"], c["interpreter"], c["approach"], c["workers"]
        ),
        trial["repetition"].as_u64().unwrap(),
    )
}

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
fn sigint_keeps_finished_trials_and_resume_completes_without_repeating() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    let seed = unique_seed();
    let mut command = cpu_bench(
        &dir,
        seed,
        "threads,processes",
        "0.1",
        "3",
        &["--warmup", "1"],
    );
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_lines(&dir, 4, &mut child, Duration::from_secs(60));
    // Ctrl-C in the middle of a trial (trials take ~0.1-0.3 s).
    std::thread::sleep(Duration::from_millis(60));
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let output = child.wait_with_output().unwrap();
    eprintln!("{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(output.status.code(), Some(130), "Ctrl-C exits with 130");
    assert!(String::from_utf8_lossy(&output.stderr).contains("--resume"));
    assert_no_process_left(seed);
    let before = read_trials(&dir);
    assert!(
        before.len() >= 4 && before.len() < 12,
        "{} trials",
        before.len()
    );
    assert_eq!(read_json(&dir.join("run.json"))["status"], "interrupted");

    let mut resume = Command::new(env!("CARGO_BIN_EXE_gil-lab"));
    resume
        .args(["bench", "--resume"])
        .arg(&dir)
        .env("NO_COLOR", "1");
    let output = run(resume);
    assert!(output.status.success());
    assert_no_process_left(seed);
    let after = read_trials(&dir);
    assert_eq!(
        &after[..before.len()],
        &before[..],
        "finished trials are kept as they were"
    );
    let finished: Vec<&Value> = after
        .iter()
        .filter(|t| t["status"] != "cancelled")
        .collect();
    assert_eq!(
        finished.len(),
        3 * 4,
        "every slot once: 3 cells x (1 warmup + 3)"
    );
    let slots: BTreeSet<(String, u64)> = finished.iter().map(|t| slot(t)).collect();
    assert_eq!(slots.len(), finished.len(), "no trial repeated");
    let indices: BTreeSet<u64> = after.iter().map(|t| t["index"].as_u64().unwrap()).collect();
    assert_eq!(
        indices.len(),
        after.len(),
        "indices stay unique across the resume"
    );
    let run_json = read_json(&dir.join("run.json"));
    assert_eq!(run_json["status"], "complete");
    for cell in run_json["summary"]["cells"].as_array().unwrap() {
        assert_eq!(cell["trials"], 3, "{cell}");
    }
}

#[test]
fn a_worker_killed_with_sigkill_fails_its_trial_and_the_bench_goes_on() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    let seed = unique_seed();
    let mut command = cpu_bench(&dir, seed, "processes", "1.5", "2", &["--warmup", "0"]);
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The first trial is sequential; wait for the processes cell's workers.
    wait_for_lines(&dir, 1, &mut child, Duration::from_secs(60));
    let marker = seed_marker(seed);
    let deadline = Instant::now() + Duration::from_secs(30);
    let worker = loop {
        assert!(Instant::now() < deadline, "no worker process appeared");
        let pids = processes_with(&marker);
        // A worker: a process of the run whose parent is one too (the runner).
        if let Some(&pid) = pids
            .iter()
            .find(|&&pid| parent_of(pid).is_some_and(|p| pids.contains(&p)))
        {
            break pid;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    std::thread::sleep(Duration::from_millis(100));
    unsafe { libc::kill(worker as i32, libc::SIGKILL) };
    let output = child.wait_with_output().unwrap();
    eprintln!("{}", String::from_utf8_lossy(&output.stderr));
    assert!(
        output.status.success(),
        "the bench goes on after a failed trial"
    );
    assert_no_process_left(seed);
    let trials = read_trials(&dir);
    let failed: Vec<&Value> = trials.iter().filter(|t| t["status"] == "failed").collect();
    assert_eq!(failed.len(), 1, "exactly the trial whose worker was killed");
    assert_eq!(failed[0]["cell"]["approach"], "processes");
    assert!(failed[0]["failure"]["message"].as_str().unwrap().len() > 5);
    let ok = trials.iter().filter(|t| t["status"] == "ok").count();
    assert_eq!(ok, 4, "2 sequential + 2 processes trials still measured");
    let summary = &read_json(&dir.join("run.json"))["summary"];
    let processes = summary["cells"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["cell"]["approach"] == "processes")
        .unwrap();
    assert_eq!(processes["failed"], 1);
    assert_eq!(processes["trials"], 2);
}

#[test]
fn a_trial_past_the_timeout_is_killed_with_its_process_group() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    let seed = unique_seed();
    let started = Instant::now();
    // Processes, so the killed group holds workers as well as the runner.
    let output = run(cpu_bench(
        &dir,
        seed,
        "processes",
        "40",
        "3",
        &["--warmup", "0", "--timeout", "1"],
    ));
    let elapsed = started.elapsed();
    // No trial succeeded: the run is recorded, and the exit status says so.
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("error: no trial of the run succeeded (6× ran past the 1 s timeout"),
        "{stderr}"
    );
    assert_no_process_left(seed);
    let trials = read_trials(&dir);
    assert!(!trials.is_empty());
    for trial in &trials {
        assert_eq!(trial["status"], "failed");
        assert_eq!(trial["failure"]["kind"], "timed_out");
        // Killed at 1 s (plus the 0.3 s grace at most), far from the
        // 40 s or so such a trial takes when left to run; the bound leaves
        // room for a loaded machine to be slow to deliver the signals.
        assert!(
            trial["measurement"]["wall_s"].as_f64().unwrap() < 10.0,
            "{trial}"
        );
    }
    // Each cell is given up after 3 failures in a row: 2 cells x 3 trials of ~1 s.
    assert_eq!(trials.len(), 6);
    // Six ~1 s trials, not six whole ones (about 40 s each).
    assert!(elapsed < Duration::from_secs(120), "{elapsed:?}");
    let summary = &read_json(&dir.join("run.json"))["summary"];
    for cell in summary["cells"].as_array().unwrap() {
        assert_eq!(cell["state"], "failed");
        assert_eq!(cell["stop"], "failing");
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("timeout"),
        "the warning names the timeout: {stdout}"
    );
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
