//! Thread states and memory, measured on real interpreters through `gil-lab
//! bench`: what the worker threads of the `cpu` scenario wait on under the
//! GIL and without it, that the `io` scenario waits on I/O, and that a
//! trial's memory is the workload's (not gil-lab's, however large gil-lab
//! is) and counts pages shared after `fork` once.
//!
//! Everything asserted is a share or a size, never a time: the machine may be
//! loaded. Load moves thread-time into "waiting for a core", so the lock-wait
//! figures are checked as shares of the time a thread was *not* waiting for
//! a core (the share of its own work the thread lost to the lock); the raw
//! shares are printed beside them.

mod common;

use std::path::Path;
use std::process::Command;

use gil_lab::run::directory;
use gil_lab::run::record::TrialRecord;
use gil_lab::run::thread_states::{StateShares, worker_shares};

/// A default CPython build that always exists here (Debian's).
const PYTHON: &str = "/usr/bin/python3";

fn bench(dir: &Path, extra: &[&str]) -> Vec<TrialRecord> {
    let output = Command::new(env!("CARGO_BIN_EXE_gil-lab"))
        .arg("bench")
        .arg("--output")
        .arg(dir)
        .args(["--no-twin", "--no-provision", "--warmup", "0"])
        .args(extra)
        .env("NO_COLOR", "1")
        .output()
        .expect("gil-lab runs");
    assert!(
        output.status.success(),
        "bench failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    directory::read_trials(dir).expect("trials.jsonl reads")
}

/// The share of the time a thread was not waiting for a core that it spent
/// waiting on a lock.
fn lock_share_of_own_time(s: &StateShares) -> f64 {
    s.lock_wait / (1.0 - s.core_wait).max(1e-9)
}

/// Per measured `threads` trial of `interpreter`, each worker thread's
/// shares, printed.
fn worker_threads(trials: &[TrialRecord], interpreter: &str) -> Vec<StateShares> {
    let mut all = Vec::new();
    for trial in trials
        .iter()
        .filter(|t| t.is_measured() && t.cell.approach.to_string() == "threads")
        .filter(|t| t.cell.interpreter == interpreter)
    {
        let (Some(timeline), Some(runner)) = (&trial.timeline, &trial.runner) else {
            continue;
        };
        let workers = worker_shares(timeline, runner);
        assert_eq!(
            workers.len(),
            2,
            "trial {}: two worker threads ran tasks",
            trial.index
        );
        for (lane, s) in workers {
            eprintln!(
                "{interpreter} trial {} thread {}: running {:.0}%, core {:.0}%, lock {:.0}% ({:.0}% of its own time), io {:.0}%, other {:.0}%",
                trial.index,
                lane.tid,
                s.running * 100.0,
                s.core_wait * 100.0,
                s.lock_wait * 100.0,
                lock_share_of_own_time(&s) * 100.0,
                s.io_wait * 100.0,
                s.other * 100.0
            );
            all.push(s);
        }
    }
    assert!(
        !all.is_empty(),
        "no measured threads trial of {interpreter}"
    );
    all
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[test]
fn threads_wait_on_the_gil_on_a_default_build_and_not_on_a_free_threaded_one() {
    let free = common::free_threaded_python();
    let dir = tempfile::tempdir().unwrap();
    let trials = bench(
        dir.path(),
        &[
            "--scenario",
            "cpu",
            "--approach",
            "threads",
            "--workers",
            "2",
            "--python",
            PYTHON,
            "--python",
            free.to_str().unwrap(),
            "--scale",
            "0.3",
            "--runs",
            "3",
        ],
    );
    let interpreters: Vec<(String, bool, Option<bool>)> = {
        let run = directory::load(dir.path()).unwrap();
        run.run
            .interpreters
            .iter()
            .map(|i| (i.id.clone(), i.free_threaded, i.gil_forced))
            .collect()
    };
    for (id, free_threaded, forced) in interpreters {
        let threads = worker_threads(&trials, &id);
        let own: Vec<f64> = threads.iter().map(lock_share_of_own_time).collect();
        let gil = !free_threaded || forced == Some(true);
        if gil {
            // Every worker thread loses at least a third of its time to the
            // GIL (two threads taking turns: about half).
            let low = own.iter().copied().fold(f64::INFINITY, f64::min);
            assert!(
                median(own.clone()) >= 0.35 && low >= 0.2,
                "{id}: worker threads' lock-wait shares {own:?}"
            );
        } else {
            assert!(
                median(own.clone()) <= 0.05,
                "{id}: worker threads' lock-wait shares {own:?}"
            );
        }
        // Every worker's time adds up.
        for s in &threads {
            let sum = s.running + s.core_wait + s.lock_wait + s.io_wait + s.other;
            assert!((sum - 1.0).abs() < 1e-6, "{s:?}");
        }
    }
}

#[test]
fn threads_of_the_io_scenario_wait_on_io() {
    let dir = tempfile::tempdir().unwrap();
    let trials = bench(
        dir.path(),
        &[
            "--scenario",
            "io",
            "--approach",
            "threads",
            "--workers",
            "2",
            "--python",
            PYTHON,
            "--runs",
            "2",
        ],
    );
    let id = trials
        .iter()
        .find(|t| t.cell.approach.to_string() == "threads")
        .map(|t| t.cell.interpreter.clone())
        .unwrap();
    for s in worker_threads(&trials, &id) {
        assert!(
            s.io_wait > 0.5 && s.io_wait > 5.0 * s.lock_wait,
            "an io worker thread: {s:?}"
        );
    }
}

#[test]
fn memory_is_the_workloads_not_gil_labs_and_counts_shared_pages_once() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_gil-lab"))
        .arg("bench")
        .arg("--output")
        .arg(dir.path())
        .args(["--no-twin", "--no-provision", "--warmup", "0"])
        .args(["--scenario", "cpu", "--approach", "processes"])
        .args(["--workers", "2", "--python", PYTHON, "--scale", "0.2"])
        .args(["--runs", "2"])
        // gil-lab itself holds 200 MiB more than usual.
        .env("GIL_LAB_TEST_BALLAST_MB", "200")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(output.status.success());
    let trials = directory::read_trials(dir.path()).unwrap();
    let mut sequential = 0;
    let mut processes = 0;
    for t in trials.iter().filter(|t| t.is_measured()) {
        let m = t.measurement.as_ref().unwrap();
        let runner = t.runner.as_ref().unwrap();
        let hwm = runner
            .high_water_mark_bytes
            .expect("the runner reports VmHWM") as f64;
        let mib = |b: f64| b / f64::from(1 << 20);
        eprintln!(
            "{} trial {}: memory (PSS) {:.1} MiB, summed RSS {:.1} MiB, runner's VmHWM {:.1} MiB",
            t.cell.approach,
            t.index,
            mib(m.peak_memory_bytes as f64),
            mib(m.peak_rss_bytes.unwrap() as f64),
            mib(hwm)
        );
        assert!(
            m.peak_memory_bytes < 150 << 20,
            "gil-lab's 200 MiB leaked into the figure"
        );
        match t.cell.approach.to_string().as_str() {
            "sequential" => {
                sequential += 1;
                let ratio = m.peak_memory_bytes as f64 / hwm;
                assert!(
                    (0.9..=1.1).contains(&ratio),
                    "sequential: memory {} vs the runner's high-water mark {hwm}",
                    m.peak_memory_bytes
                );
            }
            "processes" => {
                processes += 1;
                assert!(
                    m.peak_memory_bytes < m.peak_rss_bytes.unwrap(),
                    "processes: PSS {} not below summed RSS {:?}",
                    m.peak_memory_bytes,
                    m.peak_rss_bytes
                );
            }
            _ => {}
        }
        assert!(
            t.warnings.iter().all(|w| !w.contains("high-water mark")),
            "{:?}",
            t.warnings
        );
    }
    assert!(sequential > 0 && processes > 0);
}

/// Checks a value against the Chrome trace-event format's JSON object form
/// (the Trace Event Format document, "JSON Object Format"): the event
/// fields each phase used here requires, with their types.
fn check_trace_schema(trace: &serde_json::Value) {
    let events = trace["traceEvents"].as_array().expect("traceEvents array");
    assert!(!events.is_empty());
    assert!(matches!(
        trace["displayTimeUnit"].as_str(),
        Some("ms" | "ns")
    ));
    for e in events {
        let ph = e["ph"].as_str().expect("ph is a string");
        assert!(e["name"].is_string(), "name: {e}");
        assert!(e["pid"].is_u64(), "pid: {e}");
        match ph {
            "X" => {
                assert!(
                    e["tid"].is_u64() && e["ts"].is_number() && e["dur"].is_number(),
                    "{e}"
                );
                assert!(e["dur"].as_f64().unwrap() >= 0.0);
            }
            "C" => {
                assert!(e["ts"].is_number(), "{e}");
                let args = e["args"].as_object().expect("counter args");
                assert!(args.values().all(serde_json::Value::is_number), "{e}");
            }
            "M" => {
                assert!(matches!(
                    e["name"].as_str(),
                    Some("process_name" | "thread_name")
                ));
                assert!(e["args"]["name"].is_string(), "{e}");
            }
            other => panic!("unexpected phase {other}: {e}"),
        }
    }
}

#[test]
fn a_trial_exports_as_a_trace_that_trace_viewers_open() {
    let dir = tempfile::tempdir().unwrap();
    let trials = bench(
        dir.path(),
        &[
            "--scenario",
            "cpu",
            "--approach",
            "threads",
            "--workers",
            "2",
            "--python",
            PYTHON,
            "--scale",
            "0.2",
            "--runs",
            "1",
        ],
    );
    let trial = trials
        .iter()
        .find(|t| t.is_measured() && t.cell.approach.to_string() == "threads")
        .unwrap();
    let file = dir.path().join("trace.json");
    let status = Command::new(env!("CARGO_BIN_EXE_gil-lab"))
        .arg("export")
        .arg(dir.path())
        .arg("--trace")
        .arg(trial.index.to_string())
        .arg(&file)
        .status()
        .unwrap();
    assert!(status.success());
    let trace: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    check_trace_schema(&trace);
    let events = trace["traceEvents"].as_array().unwrap();
    let tasks = events.iter().filter(|e| e["cat"] == "agent task").count();
    assert_eq!(tasks, trial.runner.as_ref().unwrap().tasks.len());
    assert!(events.iter().any(|e| e["name"] == "waiting on a lock"));
    // A trial that does not exist is a one-line error.
    let output = Command::new(env!("CARGO_BIN_EXE_gil-lab"))
        .arg("export")
        .arg(dir.path())
        .args(["--trace", "999"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("has no trial 999"));
}
