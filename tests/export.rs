//! `gil-lab export`: the JSON, CSV, Markdown and pyperf exports of a run
//! directory, snapshot-tested, and the pyperf file read by pyperf itself
//! (installed from PyPI into a virtual environment this test makes).

mod common;
mod run_fixture;

use std::path::{Path, PathBuf};
use std::process::Command as Process;

use assert_cmd::Command;
use predicates::prelude::*;
use run_fixture::{Options, cpu, write_run};

fn gil_lab() -> Command {
    Command::cargo_bin("gil-lab").unwrap()
}

/// A run with a sequential baseline, threads on two interpreters and the
/// native twin.
fn fixture_cells() -> Vec<run_fixture::Cell> {
    vec![
        cpu(
            "cpython-3.13.5",
            "sequential",
            1,
            &[1.00, 1.02, 0.99, 1.01, 1.03],
        ),
        cpu(
            "cpython-3.13.5",
            "threads",
            2,
            &[1.05, 1.04, 1.07, 1.06, 1.05],
        ),
        cpu(
            "cpython-3.13.5t",
            "sequential",
            1,
            &[1.10, 1.12, 1.09, 1.11, 1.10],
        ),
        cpu(
            "cpython-3.13.5t",
            "threads",
            2,
            &[0.58, 0.57, 0.59, 0.58, 0.60],
        ),
        cpu(
            "native",
            "sequential",
            1,
            &[0.020, 0.021, 0.020, 0.022, 0.020],
        ),
    ]
}

/// Runs `gil-lab export` on a fixture run and returns each file's text.
fn export_all(dir: &Path) -> [String; 4] {
    let out = dir.join("out");
    std::fs::create_dir_all(&out).unwrap();
    let names = ["summary.json", "trials.csv", "report.md", "pyperf.json"];
    gil_lab()
        .arg("export")
        .arg(dir.join("run"))
        .arg("--json")
        .arg(out.join(names[0]))
        .arg("--csv")
        .arg(out.join(names[1]))
        .arg("--markdown")
        .arg(out.join(names[2]))
        .arg("--pyperf")
        .arg(out.join(names[3]))
        .assert()
        .success()
        .stdout("")
        .stderr("");
    names.map(|name| std::fs::read_to_string(out.join(name)).unwrap())
}

#[test]
fn exports_match_their_snapshots() {
    let temp = tempfile::tempdir().unwrap();
    write_run(
        &temp.path().join("run"),
        &fixture_cells(),
        &Options::default(),
    );
    let [json, csv, markdown, pyperf] = export_all(temp.path());
    insta::assert_snapshot!("summary_json", json);
    insta::assert_snapshot!("trials_csv", csv);
    insta::assert_snapshot!("report_markdown", markdown);
    insta::assert_snapshot!("pyperf_json", pyperf);
}

#[test]
fn csv_has_one_row_per_trial_with_documented_columns() {
    let temp = tempfile::tempdir().unwrap();
    write_run(
        &temp.path().join("run"),
        &fixture_cells(),
        &Options::default(),
    );
    let [_, csv, _, _] = export_all(temp.path());
    let lines: Vec<&str> = csv.lines().collect();
    let trials = std::fs::read_to_string(temp.path().join("run/trials.jsonl")).unwrap();
    // A header, then one row per line of trials.jsonl (warmups and failures too).
    assert_eq!(lines.len(), 1 + trials.lines().count());
    let header: Vec<&str> = lines[0].split(',').collect();
    for column in [
        "trial",
        "scenario",
        "interpreter",
        "approach",
        "workers",
        "warmup",
        "status",
        "wall_s",
        "work_s",
        "parallelism",
        "peak_memory_bytes",
    ] {
        assert!(header.contains(&column), "no column {column} in {header:?}");
    }
    let status = header.iter().position(|c| *c == "status").unwrap();
    let warmup = header.iter().position(|c| *c == "warmup").unwrap();
    let measured = lines[1..]
        .iter()
        .map(|row| row.split(',').collect::<Vec<_>>())
        .filter(|fields| fields[status] == "ok" && fields[warmup] == "false")
        .count();
    assert_eq!(measured, 25);
    // The failure message holds a comma and quotes: CSV quoting keeps it one field.
    assert!(
        csv.contains(r#""killed by signal 9, ""SIGKILL""""#),
        "{csv}"
    );
}

#[test]
fn json_export_holds_the_summary_and_the_samples() {
    let temp = tempfile::tempdir().unwrap();
    write_run(
        &temp.path().join("run"),
        &fixture_cells(),
        &Options::default(),
    );
    let [json, _, _, _] = export_all(temp.path());
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(doc["schema"], 1);
    assert_eq!(doc["summary"]["cells"].as_array().unwrap().len(), 5);
    let samples = doc["samples"].as_array().unwrap();
    assert_eq!(samples[3]["cell"]["interpreter"], "cpython-3.13.5t");
    assert_eq!(
        samples[3]["work_s"],
        serde_json::json!([0.58, 0.57, 0.59, 0.58, 0.60])
    );
}

#[test]
fn interrupted_run_cannot_export_a_summary_but_can_export_trials() {
    let temp = tempfile::tempdir().unwrap();
    let run = temp.path().join("run");
    let options = Options {
        with_summary: false,
        ..Options::default()
    };
    write_run(&run, &fixture_cells(), &options);
    gil_lab()
        .arg("export")
        .arg(&run)
        .arg("--markdown")
        .arg(temp.path().join("report.md"))
        .assert()
        .failure()
        .stderr(predicate::str::contains("gil-lab bench --resume"))
        .stderr(predicate::function(|s: &str| s.lines().count() == 1));
    assert!(!temp.path().join("report.md").exists());
    gil_lab()
        .arg("export")
        .arg(&run)
        .arg("--csv")
        .arg(temp.path().join("trials.csv"))
        .assert()
        .success();
}

#[test]
fn bad_input_is_one_line_and_names_the_fix() {
    let temp = tempfile::tempdir().unwrap();
    let one_line = || predicate::function(|s: &str| s.lines().count() == 1);
    gil_lab()
        .arg("export")
        .arg(temp.path())
        .arg("--json")
        .arg(temp.path().join("x.json"))
        .assert()
        .failure()
        .stderr(predicate::str::contains("not a gil-lab run directory"))
        .stderr(one_line());
    let run = temp.path().join("run");
    write_run(&run, &fixture_cells(), &Options::default());
    gil_lab()
        .arg("export")
        .arg(&run)
        .assert()
        .failure()
        .stderr(predicate::str::contains("--csv"))
        .stderr(one_line());
    gil_lab()
        .arg("export")
        .arg(&run)
        .arg("--pyperf")
        .arg(temp.path().join("missing-dir/pyperf.json"))
        .assert()
        .failure()
        .stderr(predicate::str::contains("choose a writable path"))
        .stderr(one_line());
}

/// A Python 3 to make the pyperf virtual environment with: pyenv's 3.12 when
/// present, else `python3` on PATH.
fn base_python() -> PathBuf {
    let pyenv = Path::new("/root/.pyenv/versions/3.12.1/bin/python3.12");
    if pyenv.exists() {
        pyenv.to_path_buf()
    } else {
        PathBuf::from("python3")
    }
}

/// The Python of a virtual environment with pyperf from PyPI, made once and
/// kept under the target directory so later test runs reuse it.
fn pyperf_python() -> PathBuf {
    common::cached_venv("pyperf-venv", &base_python(), &["pyperf"])
}

#[test]
fn pyperf_reads_the_pyperf_export() {
    let temp = tempfile::tempdir().unwrap();
    let before = temp.path().join("before");
    let after = temp.path().join("after");
    write_run(&before.join("run"), &fixture_cells(), &Options::default());
    let mut faster = fixture_cells();
    faster[3].work = vec![0.52, 0.51, 0.53, 0.52, 0.50];
    write_run(&after.join("run"), &faster, &Options::default());
    export_all(&before);
    export_all(&after);
    let file_a = before.join("out/pyperf.json");
    let file_b = after.join("out/pyperf.json");

    let python = pyperf_python();
    let stats = Process::new(&python)
        .args(["-m", "pyperf", "stats"])
        .arg(&file_a)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&stats.stdout);
    assert!(
        stats.status.success(),
        "pyperf stats failed: {}",
        String::from_utf8_lossy(&stats.stderr)
    );
    // One benchmark per cell, each with its five trials as values.
    assert!(text.contains("cpu/cpython-3.13.5t/threads/2"), "{text}");
    assert!(text.contains("Total number of run: 5"), "{text}");
    let section = &text[text.find("cpu/cpython-3.13.5t/threads/2").unwrap()..];
    let median = section
        .lines()
        .find(|l| l.starts_with("Median +- MAD:"))
        .unwrap();
    assert!(median.contains("580 ms"), "{median}");

    let compare = Process::new(&python)
        .args(["-m", "pyperf", "compare_to"])
        .arg(&file_a)
        .arg(&file_b)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&compare.stdout);
    assert!(
        compare.status.success(),
        "pyperf compare_to failed: {}",
        String::from_utf8_lossy(&compare.stderr)
    );
    assert!(
        text.contains("cpu/cpython-3.13.5t/threads/2") && text.contains("faster"),
        "{text}"
    );
}

#[test]
fn real_run_exports_read_by_pyperf_and_reexported_identically() {
    // A small real run: Debian's Python 3, sequential and threads, 3 trials
    // each, exported as the run ends.
    let temp = tempfile::tempdir().unwrap();
    let run = temp.path().join("run");
    let at_end = temp.path().join("at-end.json");
    gil_lab()
        .args(["bench", "--quick", "--no-provision", "--no-twin"])
        .args([
            "--python",
            "/usr/bin/python3",
            "--approach",
            "sequential,threads",
        ])
        .args([
            "--scale",
            "0.05",
            "--runs",
            "3",
            "--warmup",
            "0",
            "--timeout",
            "60",
        ])
        .arg("-o")
        .arg(&run)
        .arg("--export-pyperf")
        .arg(&at_end)
        .arg("--export-csv")
        .arg(temp.path().join("trials.csv"))
        .assert()
        .success();
    let trials = std::fs::read_to_string(run.join("trials.jsonl")).unwrap();
    let csv = std::fs::read_to_string(temp.path().join("trials.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + trials.lines().count());

    // `gil-lab export` of the stored run writes the same bytes.
    let later = temp.path().join("later.json");
    gil_lab()
        .arg("export")
        .arg(&run)
        .arg("--pyperf")
        .arg(&later)
        .assert()
        .success();
    assert_eq!(
        std::fs::read(&at_end).unwrap(),
        std::fs::read(&later).unwrap()
    );

    let stats = Process::new(pyperf_python())
        .args(["-m", "pyperf", "stats"])
        .arg(&at_end)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&stats.stdout);
    assert!(
        stats.status.success(),
        "pyperf stats failed: {}",
        String::from_utf8_lossy(&stats.stderr)
    );
    assert!(text.contains("Number of benchmarks: 2"), "{text}");
    assert_eq!(text.matches("Total number of run: 3").count(), 2, "{text}");
}
