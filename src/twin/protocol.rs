//! The trial protocol as the twin speaks it (docs/trial-protocol.md): the spec
//! it reads and the one JSON object it prints, field for field the same as
//! the Python runner (`workload/gil_lab/trial.py`).

use serde::Serialize;
use serde_json::Value;

use super::llm_task::LlmSpec;
use super::scenario::{Scenario, task_count};
use crate::vocabulary::Approach;

/// Version of the trial protocol spoken here.
pub const PROTOCOL: u32 = 1;
/// multiprocessing start methods a spec may name.
pub const START_METHODS: [&str; 3] = ["fork", "spawn", "forkserver"];
/// Most tasks a spec may ask for: far beyond any useful scale (scale 1.0 is
/// 32 tasks), low enough that the task list always fits in memory.
const MAX_TASKS: u64 = 1 << 20;

/// The spec as understood, defaults filled in.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Spec {
    /// `cpu` or `shared`.
    pub scenario: Scenario,
    /// One of the Python runner's approaches.
    pub approach: Approach,
    /// Threads / processes at once (>= 1).
    pub workers: usize,
    /// Sizes the work (> 0); 1.0 makes 32 tasks.
    pub scale: f64,
    /// Seeds the PRNG that makes every task.
    pub seed: u64,
    /// `processes` only: the start method; the twin's workers are always
    /// started fresh by re-executing gil-lab, which is `spawn`.
    pub start_method: Option<String>,
    /// `io` and `mixed`: the LLM endpoint (null otherwise).
    pub llm: Option<LlmSpec>,
}

/// The spec cannot be run as given; the message names the fix.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BadSpec(pub String);

/// The spec from the command line, checked, with defaults filled in, under
/// the same rules as the Python runner.
pub fn parse_spec(args: &[String]) -> Result<Spec, BadSpec> {
    let bad = |message: String| Err(BadSpec(message));
    let [text] = args else {
        return bad(
            "expected exactly one argument, the trial spec as JSON, e.g. \
             '{\"scenario\": \"cpu\", \"approach\": \"threads\", \"workers\": 2}'"
                .into(),
        );
    };
    let raw: Value = match serde_json::from_str(text) {
        Ok(raw) => raw,
        Err(error) => {
            return bad(format!(
                "the spec is not valid JSON ({error}); pass one JSON object"
            ));
        }
    };
    let Value::Object(raw) = raw else {
        return bad(
            "the spec must be a JSON object, e.g. {\"scenario\": \"cpu\", \"approach\": \"sequential\"}"
                .into(),
        );
    };
    let field = |name: &str| raw.get(name).unwrap_or(&Value::Null);

    let Some(scenario) = field("scenario").as_str().and_then(Scenario::from_name) else {
        return bad(format!(
            "unknown scenario {}; set \"scenario\" to one of {}",
            field("scenario"),
            Scenario::ALL.map(Scenario::name).join(", ")
        ));
    };
    // Every approach a spec may name is the Python runner's; the twin runs
    // some of them and reports the others as skipped.
    let Some(approach) = field("approach").as_str().and_then(Approach::from_name) else {
        return bad(format!(
            "unknown approach {}; set \"approach\" to one of {}",
            field("approach"),
            Approach::ALL.map(Approach::name).join(", ")
        ));
    };
    let workers = match raw.get("workers") {
        None => 1,
        Some(value) => match value.as_u64().and_then(|w| usize::try_from(w).ok()) {
            Some(w) if w >= 1 => w,
            _ => return bad(format!("\"workers\" must be an integer >= 1, got {value}")),
        },
    };
    let scale = match raw.get("scale") {
        None => 1.0,
        Some(value) => match value.as_f64() {
            Some(s) if s.is_finite() && s > 0.0 => s,
            _ => return bad(format!("\"scale\" must be a number > 0, got {value}")),
        },
    };
    if task_count(scale) > MAX_TASKS {
        return bad(format!(
            "\"scale\" {scale} makes more than {MAX_TASKS} tasks; use a scale below {}",
            (MAX_TASKS / 32) as f64
        ));
    }
    let seed = match raw.get("seed") {
        None => 1,
        Some(value) => match value.as_u64() {
            Some(seed) => seed,
            None => {
                return bad(format!(
                    "\"seed\" must be an integer in [0, 2^64), got {value}"
                ));
            }
        },
    };
    let start_method = match field("start_method") {
        Value::Null => None,
        Value::String(m) if START_METHODS.contains(&m.as_str()) => Some(m.clone()),
        other => {
            return bad(format!(
                "\"start_method\" must be null or one of {}, got {other}",
                START_METHODS.join(", ")
            ));
        }
    };
    let llm = match field("llm") {
        Value::Null if scenario.uses_llm() => {
            return bad(format!(
                "the {} scenario calls an LLM endpoint: give the spec an \"llm\" object, e.g. {{\"url\": \"http://127.0.0.1:8000/v1\"}} (`gil-lab llm-serve` runs one)",
                field("scenario").as_str().unwrap_or_default()
            ));
        }
        Value::Null => None,
        _ if !scenario.uses_llm() => None,
        raw => Some(LlmSpec::from_json(raw).map_err(BadSpec)?),
    };
    Ok(Spec {
        scenario,
        approach,
        workers,
        scale,
        seed,
        start_method,
        llm,
    })
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

/// What the twin says about itself.
#[derive(Clone, Debug, Serialize)]
pub struct Runtime {
    /// Always `native`.
    pub implementation: &'static str,
    /// gil-lab's version (the twin is part of it).
    pub version: &'static str,
    /// True: native code has no GIL, its threads run in parallel like those
    /// of a free-threaded build.
    pub free_threaded_build: bool,
    /// Process id of the twin.
    pub pid: u32,
}

impl Runtime {
    /// This process.
    pub fn current() -> Self {
        Self {
            implementation: "native",
            version: env!("CARGO_PKG_VERSION"),
            free_threaded_build: true,
            pid: std::process::id(),
        }
    }
}

/// Phase timings, seconds.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Phases {
    /// Building inputs (task list, knowledge base).
    pub setup: f64,
    /// Starting the threads / worker processes.
    pub pool_start: f64,
    /// Handing out tasks until every result is in.
    pub work: f64,
    /// Joining the threads / shutting the worker processes down.
    pub teardown: f64,
}

/// How the `shared` scenario's knowledge base reached the workers.
#[derive(Clone, Debug, Serialize)]
pub struct Sharing {
    /// `same-object` (threads borrow one instance) or `rebuilt` (every
    /// worker process builds its own).
    pub method: &'static str,
    /// Seconds spent making it available to the workers (summed over them).
    pub cost_s: f64,
}

/// One agent task, as reported.
#[derive(Clone, Debug, Serialize)]
pub struct TaskReport {
    /// `planner`, `solver`, `strategist` or `reasoner`.
    pub agent: &'static str,
    /// Task number.
    pub index: usize,
    /// `main`, `thread-<n>` or `process-<pid>`.
    pub worker: String,
    /// Seconds since `clock_t0`.
    pub start: f64,
    /// Seconds since `clock_t0`.
    pub end: f64,
    /// The task's results.
    pub result: Vec<i64>,
}

/// An error, as reported.
#[derive(Clone, Debug, Serialize)]
pub struct ErrorReport {
    /// `bad_spec`, `trial_failed` or `panic`.
    pub kind: &'static str,
    /// What went wrong and, where it can, how to fix it.
    pub message: String,
    /// Always empty: native code has no traceback to give.
    pub traceback: String,
}

/// The one JSON object a trial prints.
#[derive(Clone, Debug, Serialize)]
pub struct TrialResult {
    /// [`PROTOCOL`].
    pub protocol: u32,
    /// How the trial ended.
    pub result: Status,
    /// The spec as understood (null when it could not be read).
    pub spec: Option<Spec>,
    /// The twin's view of itself.
    pub runtime: Runtime,
    /// Always false: there is no GIL.
    pub gil_enabled_start: bool,
    /// Always false.
    pub gil_enabled_end: bool,
    /// `processes`: false for each worker process.
    pub worker_gil_enabled: Vec<bool>,
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
    pub fn new(clock_t0: f64) -> Self {
        Self {
            protocol: PROTOCOL,
            result: Status::Error,
            spec: None,
            runtime: Runtime::current(),
            gil_enabled_start: false,
            gil_enabled_end: false,
            worker_gil_enabled: Vec::new(),
            clock_t0,
            phases: None,
            sharing: None,
            tasks: Vec::new(),
            digest: None,
            reason: None,
            error: None,
        }
    }

    /// Turns this into an `error` result of `kind`, dropping partial results.
    pub fn fail(&mut self, kind: &'static str, message: String) {
        self.result = Status::Error;
        self.tasks.clear();
        self.digest = None;
        self.error = Some(ErrorReport {
            kind,
            message,
            traceback: String::new(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Spec, BadSpec> {
        parse_spec(&[text.to_string()])
    }

    #[test]
    fn defaults_are_filled_in() {
        let spec = parse(r#"{"scenario": "cpu", "approach": "threads", "extra": 1}"#).unwrap();
        assert_eq!(
            spec,
            Spec {
                scenario: Scenario::Cpu,
                approach: Approach::Threads,
                workers: 1,
                scale: 1.0,
                seed: 1,
                start_method: None,
                llm: None,
            }
        );
        let spec = parse(
            r#"{"scenario": "shared", "approach": "processes", "workers": 3, "scale": 2,
                "seed": 18446744073709551615, "start_method": "spawn"}"#,
        )
        .unwrap();
        assert_eq!((spec.workers, spec.scale, spec.seed), (3, 2.0, u64::MAX));
    }

    #[test]
    fn bad_values_name_the_field_to_fix() {
        let cases = [
            ("", "exactly one argument"),
            ("{", "not valid JSON"),
            ("[1]", "must be a JSON object"),
            (r#"{"approach": "threads"}"#, "set \"scenario\""),
            (
                r#"{"scenario": "io", "approach": "threads"}"#,
                "give the spec an \"llm\" object",
            ),
            (
                r#"{"scenario": "mixed", "approach": "threads", "llm": {"url": "x"}}"#,
                "\"llm.url\"",
            ),
            (
                r#"{"scenario": "cpu", "approach": "fibers"}"#,
                "set \"approach\"",
            ),
            (
                r#"{"scenario": "cpu", "approach": "threads", "workers": 0}"#,
                "\"workers\"",
            ),
            (
                r#"{"scenario": "cpu", "approach": "threads", "workers": 2.0}"#,
                "\"workers\"",
            ),
            (
                r#"{"scenario": "cpu", "approach": "threads", "workers": true}"#,
                "\"workers\"",
            ),
            (
                r#"{"scenario": "cpu", "approach": "threads", "scale": 0}"#,
                "\"scale\"",
            ),
            (
                r#"{"scenario": "cpu", "approach": "threads", "scale": "1"}"#,
                "\"scale\"",
            ),
            (
                r#"{"scenario": "cpu", "approach": "threads", "scale": 1e12}"#,
                "\"scale\"",
            ),
            (
                r#"{"scenario": "cpu", "approach": "threads", "seed": -1}"#,
                "\"seed\"",
            ),
            (
                r#"{"scenario": "cpu", "approach": "threads", "seed": 18446744073709551616}"#,
                "\"seed\"",
            ),
            (
                r#"{"scenario": "cpu", "approach": "threads", "start_method": "fork2"}"#,
                "\"start_method\"",
            ),
        ];
        for (text, wanted) in cases {
            let args: Vec<String> = if text.is_empty() {
                vec![]
            } else {
                vec![text.into()]
            };
            let message = parse_spec(&args).unwrap_err().to_string();
            assert!(message.contains(wanted), "{text}: {message}");
        }
    }
}
