//! The native twin: the four agents in Rust, with the same PRNG, tasks,
//! results and digest as the Python workload (docs/agents.md), run
//! `sequential`, on `threads` or on `processes`. It is the ceiling the Python
//! approaches are compared against: no interpreter, no GIL, no reference
//! counts.
//!
//! gil-lab runs it as a child process exactly like the Python runner:
//! `gil-lab twin run <spec-json>` prints one JSON object
//! (docs/trial-protocol.md). The subcommand is hidden from `--help`.
//!
//! Its files mirror the workload package's (`workload/gil_lab/`) one for one,
//! except the PRNG: it is `crate::prng`, shared with the LLM endpoint (whose
//! deterministic answers use it too).

mod agents;
mod approach;
mod blackboard;
mod clock;
mod digest;
mod event_loop;
mod knowledge;
mod llm_task;
mod process_pool;

mod scenario;
mod service;
mod task;
mod trial;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::Subcommand;

use crate::protocol::{
    Phases, Runtime, Status, TaskReport, TrialResult, TrialSpec as Spec, parse_spec,
};
use crate::vocabulary::{Approach, Scenario};
use blackboard::Blackboard;
use clock::monotonic;
use digest::Digest;
use knowledge::RoadNetwork;
use task::make_tasks;
use trial::Trial;

/// The hidden `gil-lab twin` subcommands.
#[derive(Debug, Subcommand)]
pub enum TwinCommand {
    /// Run one trial of the native twin: one spec (JSON) in, one result
    /// (JSON) out on stdout, as in docs/trial-protocol.md.
    Run {
        /// The trial spec, e.g. '{"scenario": "cpu", "approach": "threads", "workers": 2}'.
        #[arg(num_args = 0.., allow_hyphen_values = true)]
        spec: Vec<String>,
    },
    /// One cell of the `service` scenario with native threads: the spec
    /// and result of `python -m gil_lab.service.runner` (docs/service.md).
    Service {
        /// The service spec (JSON).
        #[arg(num_args = 0.., allow_hyphen_values = true)]
        spec: Vec<String>,
    },
    /// Serve tasks to a `twin run` parent as one of its worker processes
    /// (task indices on stdin, one JSON result per line on stdout).
    Worker {
        /// The parent's trial spec (JSON).
        #[arg(num_args = 0.., allow_hyphen_values = true)]
        spec: Vec<String>,
    },
}

/// Runs a twin subcommand and returns the exit code.
pub fn run(command: TwinCommand) -> Result<ExitCode> {
    match command {
        TwinCommand::Run { spec } => run_trial(&spec),
        TwinCommand::Worker { spec } => process_pool::serve(&spec),
        TwinCommand::Service { spec } => service::serve(&spec),
    }
}

/// Runs one trial and prints its result: exit 0 on `success` or `skipped`,
/// 1 on `error` (a bad spec included). Never panics out: a panic becomes an
/// error result too, so gil-lab always gets its one JSON object.
fn run_trial(args: &[String]) -> Result<ExitCode> {
    let clock_t0 = monotonic();
    let mut result = TrialResult::new(runtime(), clock_t0);
    match parse_spec(args) {
        Err(bad) => result.fail("bad_spec", bad.to_string()),
        Ok(spec) => {
            result.spec = Some(spec.clone());
            match catch_unwind(AssertUnwindSafe(|| execute(spec, &mut result, clock_t0))) {
                Ok(Ok(())) => {}
                Ok(Err(error)) => result.fail("trial_failed", format!("{error:#}")),
                Err(panic) => {
                    let message = panic
                        .downcast_ref::<&str>()
                        .map(|s| s.to_string())
                        .or_else(|| panic.downcast_ref::<String>().cloned())
                        .unwrap_or_else(|| "unknown panic".into());
                    result.fail("panic", format!("the native twin panicked: {message}"));
                }
            }
        }
    }
    result.high_water_mark_bytes = own_high_water_mark();
    let text = serde_json::to_string(&result).context("cannot encode the trial result")?;
    println!("{text}");
    Ok(if result.result == Status::Error {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// What the twin says about itself: `native`, gil-lab's version, and a
/// "free-threaded build" (native code has no GIL; its threads run in
/// parallel like a free-threaded build's).
fn runtime() -> Runtime {
    Runtime {
        implementation: "native".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        free_threaded_build: true,
        pid: std::process::id(),
    }
}

/// Runs the trial of `spec` and fills `result` (success or skipped).
fn execute(mut spec: Spec, result: &mut TrialResult, clock_t0: f64) -> Result<()> {
    let approach = spec.approach;
    if !Scenario::ALL.iter().any(|&s| approach.native_in(s)) {
        result.result = Status::Skipped;
        result.reason = Some(format!(
            "the native twin runs sequential, threads and processes; {approach} is a Python approach"
        ));
        return Ok(());
    }
    if !approach.native_in(spec.scenario) {
        result.result = Status::Skipped;
        result.reason = Some(format!(
            "the native twin runs {} in the io and mixed scenarios only (its event loop waits on the LLM endpoint)",
            spec.approach
        ));
        return Ok(());
    }
    if spec.llm.as_ref().is_some_and(|llm| !llm.strict) {
        result.result = Status::Skipped;
        result.reason = Some(
            "the native twin calls the built-in endpoint only (a real server's answers vary and the twin does not record its calls)".into(),
        );
        return Ok(());
    }
    if approach == Approach::Processes {
        // Workers are always fresh executions of gil-lab: that is `spawn`.
        match spec.start_method.as_deref() {
            None | Some("spawn") => spec.start_method = Some("spawn".into()),
            Some(other) => {
                result.result = Status::Skipped;
                result.reason = Some(format!(
                    "the native twin starts its worker processes by re-executing gil-lab (spawn); start method {other:?} is not available"
                ));
                return Ok(());
            }
        }
        result.spec = Some(spec.clone());
    }

    let started = monotonic();
    let tasks = make_tasks(spec.scale, spec.seed);
    // Worker processes build their own knowledge base, so the parent of a
    // `processes` trial does not.
    let network = (spec.scenario.uses_knowledge() && approach != Approach::Processes)
        .then(|| RoadNetwork::for_seed(spec.seed));
    let setup = monotonic() - started;

    let blackboard = Blackboard::default();
    let trial = Trial {
        spec: &spec,
        tasks: &tasks,
        network: network.as_ref(),
        blackboard: &blackboard,
    };
    let mut outcome = approach::run(approach, &trial)?;

    outcome.records.sort_by_key(|r| r.index);
    let indices_match = outcome.records.len() == tasks.len()
        && outcome
            .records
            .iter()
            .enumerate()
            .all(|(i, r)| r.index == i);
    if !indices_match {
        bail!(
            "the {} approach returned {} records for {} tasks, or some twice",
            spec.approach,
            outcome.records.len(),
            tasks.len()
        );
    }
    if spec.scenario.uses_knowledge() && blackboard.posted() != tasks.len() {
        bail!(
            "{} of {} tasks posted their findings to the blackboard",
            blackboard.posted(),
            tasks.len()
        );
    }
    let mut digest = Digest::new();
    let mut reports = Vec::with_capacity(tasks.len());
    for (task, record) in tasks.iter().zip(outcome.records) {
        digest.task(task.agent.code(), task.index, &record.result);
        reports.push(TaskReport {
            agent: task.agent.name().into(),
            index: task.index as u64,
            worker: record.worker,
            tid: Some(record.tid),
            start: record.start - clock_t0,
            end: record.end - clock_t0,
            result: record.result,
            node: None,
        });
    }
    result.result = Status::Success;
    result.worker_gil_enabled = outcome.worker_gil_enabled;
    result.phases = Some(Phases {
        setup,
        pool_start: outcome.pool_start,
        work: outcome.work,
        teardown: outcome.teardown,
    });
    result.sharing = outcome.sharing;
    result.tasks = reports;
    result.digest = Some(digest.hex());
    Ok(())
}

/// This process's high-water mark of resident memory (`VmHWM`), bytes.
fn own_high_water_mark() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kib = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))?
        .trim()
        .strip_suffix("kB")?
        .trim()
        .parse::<u64>()
        .ok()?;
    Some(kib * 1024)
}
