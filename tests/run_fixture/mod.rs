//! Run directories for tests of the commands that read runs (`export`,
//! `compare`): `run.json` and `trials.jsonl` in schema 1 (see
//! src/bench/record.rs), written from given work-phase times so that every
//! number a test checks follows from its inputs.

#![allow(dead_code)] // Each test binary uses part of it.

use std::path::Path;

use gil_lab::stats::median;
use serde_json::{Value, json};

/// One cell of a fixture run with its measured work-phase times.
pub struct Cell {
    pub scenario: &'static str,
    pub interpreter: &'static str,
    pub approach: &'static str,
    pub workers: u32,
    pub work: Vec<f64>,
}

/// A cell of the `cpu` scenario.
pub fn cpu(interpreter: &'static str, approach: &'static str, workers: u32, work: &[f64]) -> Cell {
    Cell {
        scenario: "cpu",
        interpreter,
        approach,
        workers,
        work: work.to_vec(),
    }
}

/// How the run was made.
pub struct Options {
    pub scale: f64,
    pub seed: u64,
    /// Write the summary into run.json (false: an interrupted run).
    pub with_summary: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            scale: 1.0,
            seed: 1,
            with_summary: true,
        }
    }
}

/// A `stats::Summary` document; the CI is given as the sample range (the
/// exporters render it, they do not recompute it).
fn summary(values: &[f64]) -> Value {
    let n = values.len() as f64;
    let m = median(values);
    let mean = values.iter().sum::<f64>() / n;
    let var = values.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let deviations: Vec<f64> = values.iter().map(|x| (x - m).abs()).collect();
    json!({
        "n": values.len(), "median": m, "ci_low": min, "ci_high": max, "mean": mean,
        "stddev": var.sqrt(), "min": min, "max": max, "mad": median(&deviations),
        "outliers": [],
    })
}

fn cell_key(cell: &Cell) -> Value {
    json!({
        "scenario": cell.scenario, "interpreter": cell.interpreter,
        "approach": cell.approach, "workers": cell.workers,
    })
}

fn interpreter(id: &str) -> Value {
    let (label, version, free_threaded, kind, implementation) = match id {
        "native" => ("native twin", "0.1.0", false, "native", "native"),
        id if id.ends_with('t') => ("CPython 3.13.5t", "3.13.5", true, "python", "CPython"),
        _ => ("CPython 3.13.5", "3.13.5", false, "python", "CPython"),
    };
    json!({
        "id": id, "label": label, "kind": kind,
        "path": format!("/opt/{id}/bin/python3"), "flags": [],
        "implementation": implementation, "version": version,
        "free_threaded": free_threaded, "gil_forced": null, "facts": {},
    })
}

/// The worker threads' state shares: half of the time on the GIL for
/// threads on a default build, running otherwise.
fn thread_states(cell: &Cell) -> Value {
    let lock = if cell.approach == "threads" && !cell.interpreter.ends_with('t') {
        0.48
    } else {
        0.01
    };
    json!({
        "running": 0.95 - lock, "core_wait": 0.04, "lock_wait": lock, "io_wait": 0.0,
        "other": 0.01, "thread_s": 1.0,
    })
}

/// One line of trials.jsonl.
fn trial(index: u64, cell: &Cell, repetition: u32, warmup: bool, work: f64) -> Value {
    let wall = work + 0.050;
    let parallelism = if cell.approach == "sequential" {
        1.0
    } else {
        1.9
    };
    json!({
        "schema": 1, "index": index, "cell": cell_key(cell), "repetition": repetition,
        "warmup": warmup,
        "started_at": format!("2026-11-26T19:00:{:02}Z", index % 60),
        "status": "ok",
        "measurement": {
            "wall_s": wall, "user_s": wall * parallelism * 0.95, "sys_s": wall * parallelism * 0.05,
            "parallelism": parallelism, "peak_memory_bytes": 20_971_520 + 1_048_576 * u64::from(cell.workers),
            "peak_rss_bytes": 25_165_824 + 2_097_152 * u64::from(cell.workers),
            "thread_states": thread_states(cell),
            "voluntary_context_switches": 12, "involuntary_context_switches": 3,
            "samples": 40, "sampler_cpu_s": 0.001,
        },
        "runner": {
            "protocol": 1,
            "runtime": {"implementation": "CPython", "version": "3.13.5", "free_threaded_build": false, "pid": 4242},
            "gil_enabled_start": null, "gil_enabled_end": null, "worker_gil_enabled": [],
            "clock_t0": 1000.0,
            "phases": {"setup": 0.010, "pool_start": 0.005, "work": work, "teardown": 0.002},
            "sharing": null, "tasks": [], "digest": "00ff00ff00ff00ff",
        },
    })
}

/// A failed trial of `cell` (a worker killed by a signal).
fn failed_trial(index: u64, cell: &Cell, repetition: u32) -> Value {
    json!({
        "schema": 1, "index": index, "cell": cell_key(cell), "repetition": repetition,
        "warmup": false, "started_at": "2026-11-26T19:01:00Z", "status": "failed",
        "failure": {"kind": "signaled", "message": "killed by signal 9, \"SIGKILL\""},
        "measurement": {
            "wall_s": 0.2, "user_s": 0.1, "sys_s": 0.01, "parallelism": 0.55,
            "peak_memory_bytes": 1000, "voluntary_context_switches": 1,
            "involuntary_context_switches": 0, "samples": 2, "sampler_cpu_s": 0.0,
        },
        "stderr": "Killed",
    })
}

fn ratio(numerator: f64, denominator: f64) -> Value {
    let point = numerator / denominator;
    json!({"point": point, "ci_low": point * 0.97, "ci_high": point * 1.03})
}

fn cell_summary(cell: &Cell, cells: &[Cell], usable_cores: u32) -> Value {
    let baseline = cells.iter().find(|c| {
        c.scenario == cell.scenario
            && c.interpreter == cell.interpreter
            && c.approach == "sequential"
    });
    let work_median = median(&cell.work);
    let wall: Vec<f64> = cell.work.iter().map(|w| w + 0.050).collect();
    let speedup = baseline.map(|b| ratio(median(&b.work), work_median));
    let end_to_end = baseline.map(|b| ratio(median(&b.work) + 0.050, work_median + 0.050));
    let efficiency = baseline.map(|b| {
        ratio(
            median(&b.work),
            work_median * f64::from(cell.workers.min(usable_cores)),
        )
    });
    let parallelism = if cell.approach == "sequential" {
        1.0
    } else {
        1.9
    };
    json!({
        "cell": cell_key(cell), "state": "measured", "stop": "precise",
        "trials": cell.work.len(), "failed": 0,
        "work": summary(&cell.work), "wall": summary(&wall),
        "speedup": speedup, "end_to_end_speedup": end_to_end, "efficiency": efficiency,
        "parallelism": summary(&vec![parallelism; cell.work.len()]),
        "peak_memory_bytes": 20_971_520 + 1_048_576 * u64::from(cell.workers),
        "peak_rss_bytes": 25_165_824 + 2_097_152 * u64::from(cell.workers),
        "thread_states": thread_states(cell),
        "orchestration": null, "digest": "00ff00ff00ff00ff", "gil_enabled": null,
    })
}

/// Writes a run directory at `dir` with `cells`: one warmup trial and the
/// given measured trials per cell, interleaved round-robin like a real run,
/// and one failed trial of the first cell.
pub fn write_run(dir: &Path, cells: &[Cell], options: &Options) {
    std::fs::create_dir_all(dir).unwrap();
    let usable_cores = 2;
    let mut lines = Vec::new();
    let mut index = 0;
    for cell in cells {
        lines.push(trial(index, cell, 0, true, cell.work[0] * 1.1));
        index += 1;
    }
    let rounds = cells.iter().map(|c| c.work.len()).max().unwrap_or(0);
    for round in 0..rounds {
        for cell in cells {
            if let Some(&work) = cell.work.get(round) {
                lines.push(trial(index, cell, round as u32 + 1, false, work));
                index += 1;
            }
        }
    }
    if let Some(first) = cells.first() {
        lines.push(failed_trial(index, first, first.work.len() as u32 + 1));
    }
    let trials: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(dir.join("trials.jsonl"), trials).unwrap();

    let unique = |names: Vec<&'static str>| {
        let mut seen: Vec<&'static str> = Vec::new();
        for name in names {
            if !seen.contains(&name) {
                seen.push(name);
            }
        }
        seen
    };
    let interpreters = unique(cells.iter().map(|c| c.interpreter).collect());
    let scenarios = unique(cells.iter().map(|c| c.scenario).collect());
    let measured: usize = cells.iter().map(|c| c.work.len()).sum();
    let summary = json!({
        "cells": cells.iter().map(|c| cell_summary(c, cells, usable_cores)).collect::<Vec<_>>(),
        "scenarios": scenarios.iter().map(|s| json!({
            "scenario": s, "winner": cells.first().map(cell_key), "tied_with": [],
            "runner_up": null,
            "explanation": format!("`{s}`: the fixture's first cell wins (a test run)."),
        })).collect::<Vec<_>>(),
        "warnings": [{"kind": "failed", "cell": cells.first().map(cell_key),
                      "message": "1 trial failed: killed by signal 9"}],
        "totals": {"trials": index + 1, "measured": measured, "warmups": cells.len(),
                   "failed": 1, "trial_time_s": 12.5},
        "reference_digests": {"cpu": "00ff00ff00ff00ff"},
    });
    let mut run = json!({
        "schema": 1, "gil_lab_version": "0.1.0",
        "started_at": "2026-11-26T19:00:00Z", "finished_at": "2026-11-26T19:02:00Z",
        "status": "complete",
        "settings": {
            "preset": "default", "scale": options.scale, "seed": options.seed, "warmup": 1,
            "min_runs": 5, "max_runs": 30, "target_rel_ci": 0.03, "timeout_s": 60.0,
            "budget_s": 120.0, "usable_cores": usable_cores,
        },
        "machine": {"cpu_model": "Test CPU @ 3.0GHz", "logical_cores": 2, "kernel": "6.1.0-test"},
        "interpreters": interpreters.iter().map(|i| interpreter(i)).collect::<Vec<_>>(),
        "plan": [],
    });
    if options.with_summary {
        run["summary"] = summary;
    } else {
        run["status"] = json!("interrupted");
    }
    std::fs::write(
        dir.join("run.json"),
        serde_json::to_string_pretty(&run).unwrap(),
    )
    .unwrap();
}
