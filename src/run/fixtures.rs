//! Records for unit tests of the modules that read them (test builds only):
//! a cell, a run planning cells on one default build (and its free-threaded
//! build), a successful trial, two builds' inspections of a task.

use std::collections::BTreeMap;

use super::machine::MachineInfo;
use super::record::*;
use crate::protocol::{Phases, RunnerReport, Runtime, TrialSpec};
use crate::vocabulary::{Approach, Scenario};

/// A cell of the `cpu` scenario on `interpreter`.
pub fn cell(interpreter: &str, approach: &str, workers: u32) -> CellKey {
    CellKey {
        scenario: "cpu".into(),
        interpreter: interpreter.into(),
        approach: Approach::from_name(approach).expect("an approach's name"),
        workers,
    }
}

/// Adds a free-threaded build `pyt` (`CPython 3.13.5t`) next to the
/// default build `py` of [`run_file`].
pub fn with_free_threaded(run: &mut RunFile) {
    let mut free = run.interpreters[0].clone();
    free.id = "pyt".into();
    free.label = "CPython 3.13.5t".into();
    free.free_threaded = true;
    run.interpreters.push(free);
}

/// A run planning `cells` on one default build, 2 usable cores.
pub fn run_file(cells: &[CellKey]) -> RunFile {
    RunFile {
        schema: SCHEMA_VERSION,
        gil_lab_version: "test".into(),
        started_at: "2026-01-01T00:00:00Z".into(),
        finished_at: None,
        status: RunStatus::Running,
        settings: Settings {
            preset: "default".into(),
            scale: 1.0,
            native_scale: 1.0,
            seed: 1,
            warmup: 1,
            min_runs: 3,
            max_runs: 5,
            target_rel_ci: 0.03,
            timeout_s: 10.0,
            budget_s: 100.0,
            usable_cores: 2,
            margin: 0.05,
            llm: None,
            ray_address: None,
            memory_limit: None,
        },
        machine: MachineInfo::default(),
        interpreters: vec![InterpreterRecord {
            id: "py".into(),
            label: "CPython 3.13.5".into(),
            kind: InterpreterKind::Python,
            path: "/usr/bin/python3".into(),
            flags: vec![],
            implementation: "CPython".into(),
            version: "3.13.5".into(),
            free_threaded: false,
            gil_forced: None,
            facts: None,
        }],
        plan: cells
            .iter()
            .map(|c| PlannedCell {
                cell: c.clone(),
                spec: TrialSpec {
                    scenario: Scenario::from_name(&c.scenario).expect("a scenario's name"),
                    approach: c.approach,
                    workers: c.workers,
                    scale: 0.3,
                    seed: 1,
                    start_method: None,
                    llm: None,
                    task: None,
                    ray_address: None,
                },
                command: vec!["/usr/bin/python3".into()],
                env: BTreeMap::new(),
            })
            .collect(),
        task: None,
        summary: None,
        time_spent: None,
    }
}

/// A successful trial with this work time (wall = work + 0.05 s).
pub fn trial(index: u64, cell: &CellKey, repetition: u32, warmup: bool, work: f64) -> TrialRecord {
    TrialRecord {
        schema: SCHEMA_VERSION,
        index,
        cell: cell.clone(),
        repetition,
        warmup,
        started_at: "2026-01-01T00:00:00Z".into(),
        status: TrialStatus::Ok,
        failure: None,
        skip_reason: None,
        measurement: Some(Measurement {
            wall_s: work + 0.05,
            user_s: work * f64::from(cell.workers),
            sys_s: 0.0,
            parallelism: work * f64::from(cell.workers) / (work + 0.05),
            work_parallelism: Some(f64::from(cell.workers)),
            peak_memory_bytes: 20 << 20,
            peak_rss_bytes: Some(24 << 20),
            limit_peak_bytes: None,
            thread_states: None,
            voluntary_context_switches: 1,
            involuntary_context_switches: 1,
            samples: 10,
            sampler_cpu_s: 0.001,
        }),
        runner: Some(RunnerReport {
            protocol: 1,
            runtime: Runtime::default(),
            gil_enabled_start: Some(true),
            gil_enabled_end: Some(true),
            worker_gil_enabled: vec![],
            clock_t0: 0.0,
            phases: Phases {
                setup: 0.01,
                pool_start: 0.002,
                work,
                teardown: 0.001,
            },
            sharing: None,
            api: None,
            tasks: vec![],
            digest: "0123456789abcdef".into(),
            llm_calls: vec![],
            orchestration: None,
            high_water_mark_bytes: None,
            calls: None,
        }),
        reference_digest: Some("0123456789abcdef".into()),
        stderr: String::new(),
        warnings: vec![],
        timeline: None,
        round: None,
    }
}

/// Two builds' inspections (`inside.json`) of a task `t.py:f`: `ft`
/// (free-threaded) specialised 0 of 4 instructions, `gil` 2 of 4.
pub fn task_inside() -> crate::protocol::inside::InsideFile {
    serde_json::from_str(TASK_INSIDE).expect("the fixture parses")
}

const TASK_INSIDE: &str = r#"{"schema": 1, "tasks": 3, "inspections": [
      {"interpreter": "ft", "label": "3.13.5t", "report": {"protocol": 1,
       "runtime": {"implementation": "cpython", "version": "3.13.5", "free_threaded": true, "gil_enabled": false},
       "gc_thresholds": [2000, 10, 10], "features": [], "units": [{"name": "t.py:f", "kind": "task",
       "tasks": 3, "seconds_per_task": 0.01, "specialisation": {"instructions": 9, "specialisable": 4,
       "specialised": 0, "top": []}, "functions": [], "memory": {"collections_per_task": null,
       "collected_per_task": null, "peak_bytes_per_task": null}}]}},
      {"interpreter": "gil", "label": "3.13.5", "report": {"protocol": 1,
       "runtime": {"implementation": "cpython", "version": "3.13.5", "free_threaded": false, "gil_enabled": true},
       "gc_thresholds": [2000, 10, 10], "features": [], "units": [{"name": "t.py:f", "kind": "task",
       "tasks": 3, "seconds_per_task": 0.01, "specialisation": {"instructions": 9, "specialisable": 4,
       "specialised": 2, "top": [["BINARY_OP_ADD_INT", 2]]}, "functions": [], "memory": {"collections_per_task": null,
       "collected_per_task": null, "peak_bytes_per_task": null}}]}}]}"#;
