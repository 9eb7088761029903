//! `bench --memory-limit`: the kernel holds each trial's whole process tree
//! to the limit (a memory cgroup per trial here, an rlimit on each process
//! as the fallback), on real interpreters and processes. The tasks are in
//! `tests/tasks/big.py`. No timing is compared: only which trials the limit
//! stopped.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::{default_python, free_threaded_python, gil_lab};
use serde_json::Value;

fn big(function: &str) -> String {
    let file = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("tasks")
        .join("big.py");
    format!("{}:{function}", file.display())
}

/// `gil-lab bench ARGS --memory-limit MB` into a new run directory, with
/// the way forced when `way` is given.
fn bench(args: &[&str], python: &Path, mb: u64, way: Option<&str>) -> (Output, Run) {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let mut command = gil_lab();
    command
        .args(["bench", "--no-provision", "--no-inspect", "--no-report"])
        .args(["--warmup", "0"])
        .args(args)
        .arg("--python")
        .arg(python)
        .arg("--memory-limit")
        .arg(mb.to_string())
        .arg("--output")
        .arg(&run);
    if let Some(way) = way {
        command.env("GIL_LAB_MEMORY_LIMIT_WAY", way);
    }
    (
        command.output().unwrap(),
        Run {
            _dir: dir,
            path: run,
        },
    )
}

/// A run directory, removed with its temporary directory.
struct Run {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl std::ops::Deref for Run {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.path
    }
}

fn trials(run: &Path) -> Vec<Value> {
    std::fs::read_to_string(run.join("trials.jsonl"))
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

fn run_json(run: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(run.join("run.json")).unwrap()).unwrap()
}

/// The task's check on each interpreter, as recorded.
fn checks(run: &Path) -> Vec<Value> {
    let checks = run_json(run)["task"]["checks"].as_array().cloned();
    let checks = checks.unwrap_or_default();
    assert!(!checks.is_empty(), "no task check in {}", run.display());
    checks
}

fn approach(trial: &Value) -> String {
    trial["cell"]["approach"].as_str().unwrap().to_string()
}

/// Every trial was stopped by the limit, and every approach asked for ran.
fn all_stopped(run: &Path, approaches: &[&str]) {
    let trials = trials(run);
    assert!(!trials.is_empty(), "no trial in {}", run.display());
    for trial in &trials {
        assert_eq!(
            trial["failure"]["kind"],
            "memory_limit",
            "{} was not stopped by the limit: {trial:#}",
            approach(trial)
        );
    }
    for wanted in approaches {
        assert!(
            trials.iter().any(|t| approach(t) == *wanted),
            "no {wanted} trial"
        );
    }
}

/// Every trial ran to the end.
fn all_fit(output: &Output, run: &Path) {
    assert!(
        output.status.success(),
        "bench failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    for trial in trials(run) {
        assert_eq!(trial["status"], "ok", "{trial:#}");
    }
}

/// No trial cgroup is left in gil-lab's memory cgroup once a run ended.
fn no_cgroup_left(run: &Path) {
    let limit = &run_json(run)["settings"]["memory_limit"];
    if !limit["enforced_by"]
        .as_str()
        .unwrap_or("")
        .starts_with("cgroup")
    {
        return;
    }
    let membership = std::fs::read_to_string("/proc/self/cgroup").unwrap();
    let own = membership
        .lines()
        .find_map(|l| l.split(':').nth(2).filter(|_| l.contains(":memory:")))
        .unwrap_or("/");
    let parent = Path::new("/sys/fs/cgroup/memory").join(own.trim_start_matches('/'));
    let Ok(entries) = std::fs::read_dir(&parent) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix("gil-lab-")
            .and_then(|r| r.split('-').next())
        else {
            continue;
        };
        assert!(
            Path::new("/proc").join(pid).exists(),
            "{name} was left behind in {}",
            parent.display()
        );
    }
}

const APPROACHES: [&str; 3] = ["sequential", "threads", "processes"];

fn big_task(python: &Path, mb: u64, way: Option<&str>) -> (Output, Run) {
    bench(
        &[
            "--task",
            &big("task"),
            "--approach",
            "sequential,threads,processes",
            "--workers",
            "2",
            "--task-calls",
            "4",
            "--runs",
            "3",
        ],
        python,
        mb,
        way,
    )
}

#[test]
fn a_task_past_the_limit_is_stopped_in_every_trial_and_fits_under_a_larger_one() {
    for python in [default_python(), free_threaded_python()] {
        let (output, run) = big_task(&python, 100, None);
        assert!(!output.status.success(), "nothing fitted: a failed run");
        all_stopped(&run, &APPROACHES);
        let limit = &run_json(&run)["settings"]["memory_limit"];
        assert_eq!(limit["mb"], 100);
        assert!(
            limit["enforced_by"]
                .as_str()
                .is_some_and(|w| w.starts_with("cgroup")),
            "a cgroup where gil-lab may make one (root here): {limit}"
        );
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(
            stderr.matches("Memory limit 100 MB, enforced by").count(),
            1,
            "said once: {stderr}"
        );
        // The check before the trials was held to the limit too, and was
        // stopped: recorded, not an error that left the interpreter out.
        for check in checks(&run) {
            assert!(check["excluded"].is_null(), "{check:#}");
            assert!(
                check["over_memory_limit"]
                    .as_str()
                    .is_some_and(|m| m.contains("stopped by the kernel at --memory-limit 100 MB")),
                "{check:#}"
            );
        }
        no_cgroup_left(&run);

        let (output, run) = big_task(&python, 1000, None);
        all_fit(&output, &run);
        for check in checks(&run) {
            assert!(check["over_memory_limit"].is_null(), "{check:#}");
            assert_eq!(check["deterministic"], true, "{check:#}");
        }
        no_cgroup_left(&run);
    }
}

#[test]
fn a_peak_of_a_few_milliseconds_is_stopped_every_time() {
    let (_output, run) = bench(
        &[
            "--task",
            &big("blip"),
            "--approach",
            "sequential,threads",
            "--workers",
            "2",
            "--task-calls",
            "2",
            "--runs",
            "5",
        ],
        &default_python(),
        100,
        None,
    );
    all_stopped(&run, &["sequential", "threads"]);
    no_cgroup_left(&run);
}

#[test]
fn without_a_cgroup_an_rlimit_holds_each_process() {
    let python = default_python();
    let (output, run) = big_task(&python, 100, Some("rlimit"));
    assert!(!output.status.success());
    all_stopped(&run, &APPROACHES);
    let limit = &run_json(&run)["settings"]["memory_limit"];
    assert_eq!(limit["enforced_by"], "rlimit_data", "{limit}");
    let message = trials(&run)[0]["failure"]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(message.contains("MemoryError"), "{message}");
    for check in checks(&run) {
        let stopped = check["over_memory_limit"].as_str().unwrap_or_default();
        assert!(stopped.contains("MemoryError"), "{check:#}");
    }

    let (output, run) = big_task(&python, 1000, Some("rlimit"));
    all_fit(&output, &run);
    // A free-threaded build asks for about 1 GiB of address space as soon
    // as it has threads (mimalloc's reservations) and backs off when it
    // cannot have it: a normal trial still runs under 1000 MB.
    let (output, run) = big_task(&free_threaded_python(), 1000, Some("rlimit"));
    all_fit(&output, &run);
}

/// The kernel's peak of each CPython cell with `approach` ×2, bytes (the
/// largest over its trials).
fn peak_of(run: &Path, approach_name: &str) -> u64 {
    trials(run)
        .iter()
        .filter(|t| approach(t) == approach_name && t["cell"]["interpreter"] != "native")
        .filter_map(|t| t["measurement"]["limit_peak_bytes"].as_u64())
        .max()
        .unwrap_or_else(|| panic!("no kernel peak for {approach_name}"))
}

#[test]
fn a_default_scenario_cell_that_does_not_fit_is_said_in_the_advice() {
    let python = default_python();
    let args = [
        "--scenario",
        "cpu",
        "--approach",
        "threads,processes",
        "--workers",
        "2",
        "--runs",
        "2",
    ];
    // First measured with room to spare: a limit between the two peaks.
    let (output, run) = bench(&args, &python, 1000, None);
    all_fit(&output, &run);
    let (threads, processes) = (peak_of(&run, "threads"), peak_of(&run, "processes"));
    assert!(
        processes as f64 > threads as f64 * 1.3,
        "processes ×2 ({processes} B) hold clearly more than threads ×2 ({threads} B)"
    );
    let mb = (threads + processes) / 2 / (1 << 20);
    let (output, run) = bench(&args, &python, mb, None);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let words = format!("does not fit in {mb} MB");
    let advice = stdout
        .lines()
        .skip_while(|l| !l.starts_with("Advice"))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        advice
            .lines()
            .any(|l| l.contains("processes ×2 on CPython") && l.contains(&words)),
        "the advice says processes ×2 does not fit:\n{advice}"
    );
    assert!(
        !advice
            .lines()
            .any(|l| l.contains("threads ×2 on CPython") && l.contains(&words)),
        "threads ×2 fit:\n{advice}"
    );
    let summary = &run_json(&run)["summary"]["cells"];
    let over = |name: &str| {
        summary
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["cell"]["approach"] == name && c["cell"]["interpreter"] != "native")
            .any(|c| !c["over_memory_limit"].is_null())
    };
    assert!(over("processes") && !over("threads"), "{summary:#}");
    no_cgroup_left(&run);
}
