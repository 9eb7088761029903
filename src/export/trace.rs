//! One trial's timeline in the Chrome trace-event format (the JSON object
//! form: `{"traceEvents": [...]}`), which Perfetto, `chrome://tracing` and
//! other trace viewers open: `gil-lab export RUN_DIR --trace TRIAL_INDEX
//! FILE`. Each process of the tree is a process track, each thread a thread
//! track; a thread's states (running, waiting for a core, on a lock, on I/O,
//! other) are complete (`X`) slices, one per run of equal dominant states
//! between samples, and the agent tasks it ran are slices above them. The
//! tree's memory (PSS and RSS) and cores busy are counter (`C`) events.
//! Times are microseconds since the trial's spawn.

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use crate::run::LoadedRun;
use crate::run::thread_states::{ThreadState, interval_span, interval_times};

/// The trace of trial `index` of a loaded run, as JSON.
pub fn trace(run: &LoadedRun, index: u64) -> Result<Value> {
    let trial = run
        .trials
        .iter()
        .find(|t| t.index == index)
        .with_context(|| {
            format!(
                "the run has no trial {index}: trial indexes go from 0 to {} (see trials.jsonl)",
                run.trials.len().saturating_sub(1)
            )
        })?;
    let Some(report) = &trial.timeline else {
        bail!("trial {index} has no timeline (it did not start, or ran without the sampler)");
    };
    let mut events = Vec::new();
    for process in &report.processes {
        events.push(json!({
            "name": "process_name", "ph": "M", "pid": process.pid, "tid": process.pid,
            "args": {"name": format!("{} ({})", process.name, process.pid)}
        }));
    }
    for lane in &report.lanes {
        events.push(json!({
            "name": "thread_name", "ph": "M", "pid": lane.pid, "tid": lane.tid,
            "args": {"name": format!("{} ({})", lane.name, lane.tid)}
        }));
        // Runs of equal dominant state become one slice each.
        let mut open: Option<(ThreadState, u64, u64)> = None;
        let flush = |slice: Option<(ThreadState, u64, u64)>, events: &mut Vec<Value>| {
            if let Some((state, start, end)) = slice
                && end > start
            {
                events.push(json!({
                    "name": state.words(), "cat": "thread state", "ph": "X",
                    "ts": start, "dur": end - start, "pid": lane.pid, "tid": lane.tid
                }));
            }
        };
        for k in 0..lane.cpu_us.len() {
            let Some((a, b)) = interval_span(report, lane.first_sample as usize + k) else {
                break;
            };
            if k == 0 || lane.seen.is_empty() {
                // The first interval runs from the thread's start, unknown.
                continue;
            }
            let state = interval_times(lane, k, (b - a) as f64).dominant();
            open = match open {
                Some((s, start, _)) if s == state => Some((s, start, b)),
                other => {
                    flush(other, &mut events);
                    Some((state, a, b))
                }
            };
        }
        flush(open, &mut events);
    }
    if let Some(runner) = &trial.runner {
        let offset_us = (runner.clock_t0 - report.started_monotonic_s) * 1e6;
        for task in &runner.tasks {
            let Some(tid) = task.tid else { continue };
            let Some(lane) = report.lanes.iter().find(|l| l.tid == tid) else {
                continue;
            };
            let start = (offset_us + task.start * 1e6).max(0.0);
            let end = (offset_us + task.end * 1e6).max(start);
            events.push(json!({
                "name": format!("{} #{}", task.agent, task.index), "cat": "agent task",
                "ph": "X", "ts": start.round() as u64, "dur": (end - start).round() as u64,
                "pid": lane.pid, "tid": lane.tid,
                "args": {"agent": task.agent, "task": task.index, "worker": task.worker}
            }));
        }
    }
    let root = report.processes.first().map_or(0, |p| p.pid);
    let parallelism = report.parallelism_timeline();
    for (i, &t) in report.sample_times_us.iter().enumerate() {
        let mut args = serde_json::Map::new();
        if let Some(&pss) = report.memory_bytes.get(i) {
            args.insert("PSS MiB".into(), json!(pss as f64 / f64::from(1 << 20)));
        }
        if let Some(&rss) = report.rss_bytes.get(i) {
            args.insert("RSS MiB".into(), json!(rss as f64 / f64::from(1 << 20)));
        }
        events.push(json!({"name": "memory", "ph": "C", "ts": t, "pid": root, "args": args}));
        if i > 0 {
            events.push(json!({
                "name": "cores busy", "ph": "C", "ts": t, "pid": root,
                "args": {"cores": parallelism[i - 1]}
            }));
        }
    }
    Ok(json!({
        "traceEvents": events,
        "displayTimeUnit": "ms",
        "otherData": {
            "generator": "gil-lab",
            "trial": trial.index,
            "cell": format!("{} {} ×{} on {}", trial.cell.scenario, trial.cell.approach, trial.cell.workers, trial.cell.interpreter),
        }
    }))
}
