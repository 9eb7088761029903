//! The trial protocol (docs/trial-protocol.md), one module for both sides:
//! the [`spec`] gil-lab sends a runner (the Python runner or the native
//! twin) and the [`result`] it prints back. The plan writes specs, the twin
//! reads them and writes results, the run loop reads results: all with these
//! types.

pub mod inside;
pub mod result;
pub mod service;
pub mod spec;
pub mod task;

pub use result::{
    ErrorReport, LlmCall, OrchestratedWorker, Orchestration, Phases, RunnerOutput, RunnerReport,
    Runtime, Sharing, Status, TaskReport, TrialResult,
};
pub use spec::{BadSpec, LlmSpec, TrialSpec, parse_spec, task_count};
pub use task::{CallsReport, TaskSpec};

/// Version of the trial protocol spoken here (the `protocol` field).
pub const PROTOCOL_VERSION: u32 = 1;
