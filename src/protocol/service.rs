//! What gil-lab sends the `service` scenario's runner
//! (`python -m gil_lab.service.runner '<spec-json>'`) and what it prints
//! back: raw per-request times, from which `service::figures` builds the
//! histograms (docs/service.md).

use serde::{Deserialize, Serialize};

use super::LlmSpec;
use crate::vocabulary::Approach;

/// One service run of one cell: a calibration or a ladder of rates.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ServiceSpec {
    /// threads, processes, asyncio or asyncio+threads.
    pub approach: Approach,
    /// Threads, processes or coroutines serving requests.
    pub workers: u32,
    /// Seeds request i's task (output i of SplitMix64(seed)).
    pub seed: u64,
    /// The endpoint every request calls.
    pub llm: LlmSpec,
    /// Calibration: this many requests one after another (no ladder).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub calibrate: Option<u32>,
    /// The ladder: requests per second, in order.
    pub rates: Vec<f64>,
    /// Seconds of arrivals per level.
    pub level_s: f64,
    /// Seconds after the last arrival before the level's stragglers count as dropped.
    pub drain_s: f64,
    /// The latency objective (p99), seconds: the ladder stops early after
    /// `stop_after_failures` levels in a row clearly over it.
    pub slo_s: f64,
    /// See `slo_s`.
    pub stop_after_failures: u32,
    /// Arrivals per level at least, however low the rate (a level lasts
    /// longer rather than report a p99 that is only its largest latency).
    pub min_requests: u32,
    /// A level over `slo_s` but not clearly (no drops, p99 at most twice
    /// it) is run once more; both runs come back, one after the other, and
    /// are judged pooled.
    pub repeat_marginal: bool,
    /// Tests only: `[request index, seconds]`, that request's worker stalls.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stall: Option<(u32, f64)>,
}

/// The runner's answer.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ServiceOutput {
    /// `success` or `error`.
    pub result: String,
    /// The calibration, when asked for.
    #[serde(default)]
    pub calibration: Option<Calibration>,
    /// The levels run, in order.
    #[serde(default)]
    pub levels: Vec<RawLevel>,
    /// `sys._is_gil_enabled()` at the end (null where it does not exist).
    #[serde(default)]
    pub gil_enabled_end: Option<bool>,
    /// Why it failed.
    #[serde(default)]
    pub error: Option<RawError>,
}

/// A failure of the runner.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RawError {
    /// The exception's name.
    pub kind: String,
    /// Its message.
    pub message: String,
}

/// Requests served one after another.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Calibration {
    /// How many.
    pub requests: u32,
    /// Mean seconds of reasoning steps per request.
    pub step_s: f64,
    /// Mean seconds per request, model calls included.
    pub request_s: f64,
}

/// One level of the ladder as run.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RawLevel {
    /// Offered requests per second.
    pub rate: f64,
    /// Arrivals scheduled.
    pub scheduled: u32,
    /// CLOCK_MONOTONIC seconds of the first arrival.
    pub first_arrival: f64,
    /// CLOCK_MONOTONIC seconds after which a request counts as dropped.
    pub deadline: f64,
    /// Arrivals not finished by the deadline.
    pub dropped: u32,
    /// The finished requests, by index.
    pub requests: Vec<RawRequest>,
    /// CPU seconds of the runner and its worker processes during the level.
    #[serde(default)]
    pub cpu_s: Option<f64>,
    /// Seconds the level took, first arrival to its end.
    #[serde(default)]
    pub wall_s: Option<f64>,
    /// Peak resident bytes of the runner plus its worker processes.
    #[serde(default)]
    pub peak_rss_bytes: Option<u64>,
    /// Processes serving (the runner and its pool's workers).
    #[serde(default)]
    pub processes: Option<u32>,
}

/// One finished request (CLOCK_MONOTONIC seconds).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RawRequest {
    /// Its number (its task).
    pub index: u32,
    /// When it was due to arrive: its latency counts from here.
    pub scheduled: f64,
    /// When a worker took it.
    pub start: f64,
    /// When its last step ended.
    pub end: f64,
    /// Whether it was served.
    pub ok: bool,
    /// Why not.
    #[serde(default)]
    pub error: Option<String>,
    /// The digest of its results (16 hex digits), when served.
    #[serde(default)]
    pub digest: Option<String>,
    /// The OS thread that ran it.
    #[serde(default)]
    pub tid: Option<i64>,
    /// Its (model call, reasoning step) rounds.
    pub rounds: Vec<RawRound>,
}

/// One (model call, reasoning step) round of a request.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RawRound {
    /// The call started.
    pub call_start: f64,
    /// The built-in endpoint sent the answer (null from other servers).
    #[serde(default)]
    pub sent: Option<f64>,
    /// The agent had read the answer.
    pub answered: f64,
    /// The reasoning step started.
    pub step_start: f64,
    /// It ended.
    pub step_end: f64,
}
