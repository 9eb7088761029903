//! `gil-lab bench` when processes are stopped: Ctrl-C then `--resume`, a
//! worker killed with `kill -9`, a trial past `--timeout`; real
//! interpreters, every process of a run found (and proved gone) through
//! /proc by the run's own seed.

mod common;

use std::collections::BTreeSet;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::bench_run::*;
use serde_json::Value;

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
    // A budget nothing reaches: the killed trial's replacement round runs
    // however slow the machine is today (the default budget could end the
    // run first on a loaded machine, and the count below would depend on it).
    let mut command = cpu_bench(
        &dir,
        seed,
        "processes",
        "1.5",
        "2",
        &["--warmup", "0", "--budget", "3600"],
    );
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
