//! What the `gil-lab bench` end-to-end tests share: a seed no other run
//! uses, the bench command, and finding a run's processes through /proc.

use std::path::Path;
use std::process::{Child, Command, Output};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

/// A default CPython build that always exists here (Debian's).
pub const PYTHON: &str = "/usr/bin/python3";

/// A seed no other test (or run) uses: trial command lines contain it.
pub fn unique_seed() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    u64::from(std::process::id()) * 1_000_000_000
        + u64::from(nanos)
        + NEXT.fetch_add(1, Ordering::SeqCst)
}

pub fn bench(dir: &Path, seed: u64, extra: &[&str]) -> Command {
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
pub fn cpu_bench(
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

pub fn run(mut command: Command) -> Output {
    let output = command.output().expect("gil-lab runs");
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    eprintln!(
        "stdout:\n{}\nstderr:\n{}",
        text(&output.stdout),
        text(&output.stderr)
    );
    output
}

pub fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

pub fn read_trials(dir: &Path) -> Vec<Value> {
    std::fs::read_to_string(dir.join("trials.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|line| serde_json::from_str(line).expect("every line of trials.jsonl is JSON"))
        .collect()
}

/// Every live process whose command line contains `needle`.
pub fn processes_with(needle: &str) -> Vec<u32> {
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

pub fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 2..];
    after.split_whitespace().nth(1)?.parse().ok()
}

/// The seed as it appears in a trial's spec argument.
pub fn seed_marker(seed: u64) -> String {
    format!("\"seed\":{seed}")
}

pub fn assert_no_process_left(seed: u64) {
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

pub fn wait_for_lines(dir: &Path, lines: usize, child: &mut Child, limit: Duration) {
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
pub fn slot(trial: &Value) -> (String, u64) {
    let c = &trial["cell"];
    (
        format!(
            "{}/{}/{}/{}",
            c["scenario"], c["interpreter"], c["approach"], c["workers"]
        ),
        trial["repetition"].as_u64().unwrap(),
    )
}
