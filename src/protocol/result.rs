//! The trial result (docs/trial-protocol.md): the one JSON object a runner
//! prints on stdout. The native twin writes a [`TrialResult`]; gil-lab reads
//! any runner's with [`parse`] and keeps the [`RunnerReport`] of a success
//! with the trial. The parts (phases, runtime, sharing, tasks, model calls)
//! are the same types both ways.

use serde::{Deserialize, Serialize};

use super::PROTOCOL_VERSION;
use super::spec::TrialSpec;

/// The runner's phases, seconds.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Phases {
    /// Building inputs (tasks, knowledge base).
    #[serde(default)]
    pub setup: f64,
    /// Starting the pool / interpreters / event loop.
    #[serde(default)]
    pub pool_start: f64,
    /// Handing out tasks until every result is in: the steady work.
    #[serde(default)]
    pub work: f64,
    /// Shutting the pool down.
    #[serde(default)]
    pub teardown: f64,
}

impl Phases {
    /// All phases together.
    pub fn total(&self) -> f64 {
        self.setup + self.pool_start + self.work + self.teardown
    }
}

/// What the runner says about itself.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Runtime {
    /// `CPython`, `PyPy`, `native`, ...
    #[serde(default)]
    pub implementation: String,
    /// Full version.
    #[serde(default)]
    pub version: String,
    /// Built with free-threading.
    #[serde(default)]
    pub free_threaded_build: bool,
    /// Process id of the runner.
    #[serde(default)]
    pub pid: u32,
}

/// How the `shared` scenario's knowledge base reached the workers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Sharing {
    /// `same-object`, `fork-inherited`, `pickled` or `rebuilt`.
    pub method: String,
    /// Seconds spent making it available.
    pub cost_s: f64,
}

/// One agent task as the runner reports it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaskReport {
    /// `planner`, `solver`, `strategist` or `reasoner`.
    pub agent: String,
    /// Task number.
    pub index: u64,
    /// Which worker ran it (`main`, `thread-1`, `process-<pid>`, ...).
    pub worker: String,
    /// Start, seconds since the runner's `clock_t0`.
    pub start: f64,
    /// End, seconds since the runner's `clock_t0`.
    pub end: f64,
    /// The OS thread id (`gettid`, Python's `threading.get_native_id()`)
    /// of the thread that ran it: which lane of the timeline it belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tid: Option<u32>,
    /// The task's results (summarised by the digest: [`parse`] drops them,
    /// so they are not kept with the trial).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub result: Vec<i64>,
    /// `ray`: the id of the cluster node that ran it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
}

/// `ray`: the orchestration steps of a trial on a cluster, seconds, and
/// where its workers ran. `connect_s + ship_code_s + worker_start_s` is the
/// `pool_start` phase, `shutdown_s` the `teardown` phase.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Orchestration {
    /// `local` (a cluster started for the trial, its processes in the
    /// trial's tree) or `existing` (`--ray-address`).
    pub cluster: String,
    /// `ray.init`: starting the local cluster, or connecting to one.
    pub connect_s: f64,
    /// Uploading the workload's code to the cluster (runtime environment).
    pub ship_code_s: f64,
    /// Starting the worker actors until each has answered.
    pub worker_start_s: f64,
    /// `ray.shutdown`: stopping the local cluster, or disconnecting.
    pub shutdown_s: f64,
    /// Each worker: its name, process id and node id.
    #[serde(default)]
    pub workers: Vec<OrchestratedWorker>,
    /// The Ray version of the driver.
    #[serde(default)]
    pub ray_version: String,
}

/// One worker of an [`Orchestration`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OrchestratedWorker {
    /// `ray-<n>`, as in the task records.
    pub worker: String,
    /// Its process id (on its node).
    pub pid: u32,
    /// The id of the node it ran on.
    pub node: String,
}

impl Orchestration {
    /// The distinct nodes the workers ran on, in order of first appearance.
    pub fn nodes(&self) -> Vec<&str> {
        let mut nodes: Vec<&str> = Vec::new();
        for worker in &self.workers {
            if !nodes.contains(&worker.node.as_str()) {
                nodes.push(&worker.node);
            }
        }
        nodes
    }
}

/// A successful runner result, as kept in the trial record (the per-task
/// `result` integers are summarised by the digest and not kept).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunnerReport {
    /// Protocol version.
    pub protocol: u32,
    /// The runner's view of itself.
    pub runtime: Runtime,
    /// `sys._is_gil_enabled()` at start (`None` where it does not exist).
    pub gil_enabled_start: Option<bool>,
    /// The same after the work.
    pub gil_enabled_end: Option<bool>,
    /// Per worker process / interpreter.
    #[serde(default)]
    pub worker_gil_enabled: Vec<Option<bool>>,
    /// CLOCK_MONOTONIC seconds at runner start.
    pub clock_t0: f64,
    /// Phase times.
    pub phases: Phases,
    /// `shared` scenario: how the knowledge base was shared.
    #[serde(default)]
    pub sharing: Option<Sharing>,
    /// `interpreters`: the API that ran the subinterpreters
    /// (`concurrent.futures.InterpreterPoolExecutor` on 3.14+,
    /// `_interpreters` on 3.13); absent for other approaches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api: Option<String>,
    /// One record per task.
    #[serde(default)]
    pub tasks: Vec<TaskReport>,
    /// 16 hex digits.
    pub digest: String,
    /// io and mixed scenarios: every model call, in task order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub llm_calls: Vec<LlmCall>,
    /// `ray`: the orchestration steps and where the workers ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub orchestration: Option<Orchestration>,
    /// The runner process's own high-water mark of resident memory at its
    /// end (`VmHWM` of `/proc/self/status`), bytes; `None` where it cannot
    /// read it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub high_water_mark_bytes: Option<u64>,
    /// A task's trial (`bench --task`): its calls, compared with the
    /// sequential ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calls: Option<Box<super::CallsReport>>,
}

impl RunnerReport {
    /// Whether the GIL was on anywhere: at the start, at the end, or in any
    /// worker. `None` when the interpreter cannot say.
    pub fn gil_seen_on(&self) -> Option<bool> {
        let states = [self.gil_enabled_start, self.gil_enabled_end]
            .into_iter()
            .chain(self.worker_gil_enabled.iter().copied());
        let known: Vec<bool> = states.flatten().collect();
        if known.is_empty() {
            None
        } else {
            Some(known.iter().any(|&on| on))
        }
    }

    /// Whether the GIL was on everywhere it was observed (and observed at all).
    pub fn gil_on_everywhere(&self) -> bool {
        self.gil_enabled_start == Some(true)
            && self.gil_enabled_end == Some(true)
            && self.worker_gil_enabled.iter().all(|&w| w == Some(true))
    }
}

/// One model call as a runner reports it (`llm_calls` in the trial result).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LlmCall {
    /// Task number.
    pub task: u64,
    /// Call number within the task.
    pub call: u32,
    /// Start, seconds since the runner's `clock_t0`.
    pub start: f64,
    /// End, seconds since the runner's `clock_t0`.
    pub end: f64,
    /// Whether an answer came back.
    pub ok: bool,
    /// HTTP status of the last attempt (None when nothing answered).
    #[serde(default)]
    pub status: Option<u16>,
    /// Attempts made (1 = no retry).
    pub attempts: u32,
    /// Completion tokens the server reported.
    #[serde(default)]
    pub completion_tokens: Option<u64>,
    /// Why it failed.
    #[serde(default)]
    pub error: Option<String>,
}

/// How a trial ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Every task ran; the digest is there.
    Success,
    /// The approach cannot run in the twin; `reason` says why.
    Skipped,
    /// The spec was bad or the trial failed; `error` says why.
    Error,
}

/// An error, as reported.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ErrorReport {
    /// `bad_spec`, `unsupported_interpreter`, an exception's name (Python),
    /// `trial_failed` or `panic` (twin).
    pub kind: String,
    /// What went wrong and, where it can, how to fix it.
    pub message: String,
    /// The Python traceback (empty from the twin: native code has none).
    pub traceback: String,
}

/// The one JSON object a trial prints, as the native twin writes it.
#[derive(Clone, Debug, Serialize)]
pub struct TrialResult {
    /// [`PROTOCOL_VERSION`].
    pub protocol: u32,
    /// How the trial ended.
    pub result: Status,
    /// The spec as understood (null when it could not be read).
    pub spec: Option<TrialSpec>,
    /// The twin's view of itself.
    pub runtime: Runtime,
    /// `sys._is_gil_enabled()` at start (the twin: false, it has no GIL).
    pub gil_enabled_start: Option<bool>,
    /// The same after the work.
    pub gil_enabled_end: Option<bool>,
    /// `processes` / `interpreters`: the same in each worker.
    pub worker_gil_enabled: Vec<Option<bool>>,
    /// CLOCK_MONOTONIC seconds when the twin started.
    pub clock_t0: f64,
    /// Phase timings (null unless `success`).
    pub phases: Option<Phases>,
    /// `shared` scenario: how the knowledge base was shared.
    pub sharing: Option<Sharing>,
    /// One record per task, in task order.
    pub tasks: Vec<TaskReport>,
    /// 16 lowercase hex digits (null unless `success`).
    pub digest: Option<String>,
    /// The twin process's own high-water mark of resident memory
    /// (`VmHWM`), bytes, at its end.
    pub high_water_mark_bytes: Option<u64>,
    /// With `skipped`: why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// With `error`: what happened.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorReport>,
}

impl TrialResult {
    /// An `error` result with nothing filled in yet (what is printed when
    /// the trial fails before it learns more).
    pub fn new(runtime: Runtime, clock_t0: f64) -> Self {
        Self {
            protocol: PROTOCOL_VERSION,
            result: Status::Error,
            spec: None,
            runtime,
            gil_enabled_start: Some(false),
            gil_enabled_end: Some(false),
            worker_gil_enabled: Vec::new(),
            clock_t0,
            phases: None,
            sharing: None,
            tasks: Vec::new(),
            digest: None,
            high_water_mark_bytes: None,
            reason: None,
            error: None,
        }
    }

    /// Turns this into an `error` result of `kind`, dropping partial results.
    pub fn fail(&mut self, kind: &str, message: String) {
        self.result = Status::Error;
        self.tasks.clear();
        self.digest = None;
        self.error = Some(ErrorReport {
            kind: kind.into(),
            message,
            traceback: String::new(),
        });
    }
}

/// What a runner printed, understood.
#[derive(Clone, Debug, PartialEq)]
pub enum RunnerOutput {
    /// `result: success`.
    Success(Box<RunnerReport>),
    /// `result: skipped`, with the reason.
    Skipped(String),
    /// `result: error`: kind and message (the traceback goes with stderr).
    Error {
        /// The runner's error kind (`bad_spec`, `exception`, ...).
        kind: String,
        /// The message, with the traceback's last line when there is one.
        message: String,
    },
}

/// The raw shape, tagged by `result`.
#[derive(Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
enum Raw {
    Success(Box<RunnerReport>),
    Skipped {
        #[serde(default)]
        reason: String,
    },
    Error {
        error: RawError,
    },
}

#[derive(Deserialize)]
struct RawError {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    traceback: String,
}

/// Parses a runner's stdout: exactly one JSON object (surrounding whitespace
/// allowed). The error is one line saying what was wrong.
pub fn parse(stdout: &str) -> Result<RunnerOutput, String> {
    let text = stdout.trim();
    if text.is_empty() {
        return Err("the runner printed nothing on stdout".into());
    }
    // A stream deserializer rejects a second object after the first, which a
    // plain `from_str` would report as "trailing characters" too; this keeps the
    // message specific.
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<serde_json::Value>();
    let value = match stream.next() {
        Some(Ok(value)) => value,
        Some(Err(err)) => return Err(format!("the runner printed bad JSON: {err}")),
        None => return Err("the runner printed nothing on stdout".into()),
    };
    if stream.next().is_some() {
        return Err("the runner printed more than one JSON value".into());
    }
    let protocol = value.get("protocol").and_then(|p| p.as_u64());
    if protocol != Some(u64::from(PROTOCOL_VERSION)) {
        return Err(format!(
            "the runner speaks protocol {}, gil-lab expects {PROTOCOL_VERSION}",
            protocol.map_or("(none)".to_string(), |p| p.to_string())
        ));
    }
    let raw: Raw = serde_json::from_value(value)
        .map_err(|err| format!("the runner's JSON does not follow the protocol: {err}"))?;
    Ok(match raw {
        Raw::Success(report) => {
            if report.digest.len() != 16 || !report.digest.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(format!(
                    "the runner's digest {:?} is not 16 hex digits",
                    report.digest
                ));
            }
            let mut report = report;
            for task in &mut report.tasks {
                task.result.clear();
            }
            RunnerOutput::Success(report)
        }
        Raw::Skipped { reason } => RunnerOutput::Skipped(reason),
        Raw::Error { error } => {
            let last = error.traceback.trim().lines().last().unwrap_or("").trim();
            let message = if last.is_empty() || error.message.contains(last) {
                error.message
            } else {
                format!("{} ({last})", error.message)
            };
            RunnerOutput::Error {
                kind: error.kind,
                message,
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUCCESS: &str = r#"{"protocol": 1, "result": "success",
        "spec": {"scenario": "cpu", "approach": "processes", "workers": 2, "scale": 1.0, "seed": 1, "start_method": null},
        "runtime": {"implementation": "CPython", "version": "3.13.5", "free_threaded_build": true, "pid": 42},
        "gil_enabled_start": true, "gil_enabled_end": true, "worker_gil_enabled": [true, true],
        "clock_t0": 1234.5, "phases": {"setup": 0.01, "pool_start": 0.02, "work": 0.5, "teardown": 0.01},
        "sharing": null,
        "tasks": [{"agent": "planner", "index": 0, "worker": "process-7", "start": 0.1, "end": 0.2, "result": [3, 4]}],
        "digest": "00112233aabbccdd"}"#;

    #[test]
    fn parses_a_success() {
        let RunnerOutput::Success(report) = parse(SUCCESS).unwrap() else {
            panic!("not a success");
        };
        assert_eq!(report.digest, "00112233aabbccdd");
        assert!((report.phases.total() - 0.54).abs() < 1e-9);
        assert!(report.gil_on_everywhere());
        assert_eq!(report.gil_seen_on(), Some(true));
        assert_eq!(report.tasks[0].worker, "process-7");
    }

    #[test]
    fn a_worker_with_the_gil_off_is_not_gil_everywhere() {
        let text = SUCCESS.replace("[true, true]", "[true, false]");
        let RunnerOutput::Success(report) = parse(&text).unwrap() else {
            panic!("not a success");
        };
        assert!(!report.gil_on_everywhere());
    }

    #[test]
    fn parses_skipped_and_error() {
        let skipped =
            r#"{"protocol": 1, "result": "skipped", "reason": "no subinterpreters before 3.12"}"#;
        assert_eq!(
            parse(skipped).unwrap(),
            RunnerOutput::Skipped("no subinterpreters before 3.12".into())
        );
        let error = r#"{"protocol": 1, "result": "error", "error": {"kind": "bad_spec", "message": "workers must be >= 1", "traceback": ""}}"#;
        assert_eq!(
            parse(error).unwrap(),
            RunnerOutput::Error {
                kind: "bad_spec".into(),
                message: "workers must be >= 1".into()
            }
        );
    }

    #[test]
    fn rejects_what_is_not_one_protocol_object() {
        assert!(parse("").unwrap_err().contains("nothing"));
        assert!(
            parse("Traceback (most recent")
                .unwrap_err()
                .contains("bad JSON")
        );
        assert!(
            parse("{\"protocol\": 1} {}")
                .unwrap_err()
                .contains("more than one")
        );
        assert!(
            parse(r#"{"protocol": 2, "result": "success"}"#)
                .unwrap_err()
                .contains("protocol 2")
        );
        let bad_digest = SUCCESS.replace("00112233aabbccdd", "xyz");
        assert!(parse(&bad_digest).unwrap_err().contains("16 hex digits"));
    }
}
