//! A fake [`TrialExecutor`], used to unit-test the run loop's logic
//! (scheduling, stopping, resume, failure handling, cancellation) fast and
//! without interpreters. It runs no process: it returns scripted
//! [`TrialOutcome`]s whose stdout is a runner result JSON with the chosen
//! work-phase time, digest and GIL state, and its clock advances by the wall
//! time of the trials it pretends to run. A [`Scripted::Measured`] trial
//! also comes with what the sampler would have seen: its worker threads'
//! CPU time through the work phase (how many cores it used) and, for the
//! rest of their time, a wait on a lock (under the GIL: the GIL). The real
//! process path is tested by `tests/trial.rs` and `tests/bench.rs`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Result, bail};

use crate::bench::executor::TrialExecutor;
use crate::bench::sampler::SamplerReport;
use crate::bench::trial::{TrialExit, TrialOutcome};
use crate::protocol::result::TaskReport;
use crate::protocol::{PROTOCOL_VERSION, Phases, RunnerReport, Runtime};
use crate::run::record::{CellKey, PlannedCell};
use crate::run::timeline::{Lane, LaneKind};

/// The digest the scripted trials report unless told otherwise.
pub const DIGEST: &str = "0123456789abcdef";
/// Each trial's wall time is its work-phase time plus this much (setup,
/// interpreter start-up).
pub const OVERHEAD_S: f64 = 0.05;

/// What the fake makes of one trial.
#[derive(Clone, Debug, PartialEq)]
pub enum Scripted {
    /// The runner printed a successful result.
    Success {
        /// Its work-phase time, seconds.
        work_s: f64,
        /// Its digest (16 hex digits).
        digest: String,
        /// `sys._is_gil_enabled()` at the start and the end (`None`: the
        /// interpreter cannot say).
        gil: Option<bool>,
    },
    /// The runner exited with this status, printing nothing.
    Exit(i32),
    /// A success (usual digest, GIL on) whose work phase used `cores`
    /// cores spread evenly over `lanes` worker threads, each waiting on a
    /// lock for the rest of its time.
    Measured {
        /// Its work-phase time, seconds.
        work_s: f64,
        /// Cores used during the work phase (tree CPU time ÷ wall time).
        cores: f64,
        /// Worker threads.
        lanes: u32,
    },
    /// The runner skipped the approach, for this reason.
    Skipped(String),
    /// The program could not be started.
    SpawnError,
    /// Ctrl-C during this trial: the fake sets the cancel flag and the trial
    /// ends as cancelled, like a real one whose process group was killed.
    Cancelled,
}

impl Scripted {
    /// A success with this work time, the usual digest and a GIL on (a
    /// default build).
    pub fn ok(work_s: f64) -> Scripted {
        Scripted::Success {
            work_s,
            digest: DIGEST.into(),
            gil: Some(true),
        }
    }

    /// A success with this work time, digest and GIL state.
    pub fn with(work_s: f64, digest: &str, gil: Option<bool>) -> Scripted {
        Scripted::Success {
            work_s,
            digest: digest.into(),
            gil,
        }
    }
}

/// The script: what the `n`th trial (from 0) of a cell in this executor does.
type Script = Box<dyn FnMut(&CellKey, u32) -> Scripted>;

/// An executor that returns scripted outcomes (see the module's doc).
pub struct FakeExecutor {
    script: Script,
    /// The cells of the trials asked for, in order.
    pub calls: Vec<CellKey>,
    /// Set the cancel flag after this many trials (Ctrl-C between trials).
    pub cancel_after: Option<usize>,
    clock_s: f64,
}

impl FakeExecutor {
    /// A fake following `script`: `script(cell, n)` is what the `n`th trial
    /// of `cell` asked of this executor does.
    pub fn new(script: impl FnMut(&CellKey, u32) -> Scripted + 'static) -> FakeExecutor {
        FakeExecutor {
            script: Box::new(script),
            calls: vec![],
            cancel_after: None,
            clock_s: 0.0,
        }
    }

    /// How many trials of `cell` were asked for.
    pub fn runs_of(&self, cell: &CellKey) -> usize {
        self.calls.iter().filter(|c| *c == cell).count()
    }
}

impl TrialExecutor for FakeExecutor {
    fn execute(
        &mut self,
        planned: &PlannedCell,
        _timeout: Duration,
        cancel: &AtomicBool,
    ) -> Result<TrialOutcome> {
        let n = self.runs_of(&planned.cell) as u32;
        self.calls.push(planned.cell.clone());
        if self.cancel_after == Some(self.calls.len()) {
            cancel.store(true, Ordering::SeqCst);
        }
        let scripted = (self.script)(&planned.cell, n);
        let mut sampler = SamplerReport::default();
        let (exit, work_s, stdout) = match scripted {
            Scripted::Success {
                work_s,
                digest,
                gil,
            } => (
                TrialExit::Exited { code: 0 },
                work_s,
                runner_result(work_s, &digest, gil, &[]),
            ),
            Scripted::Measured {
                work_s,
                cores,
                lanes,
            } => {
                sampler = sampled(work_s, cores, lanes);
                let tids: Vec<u32> = sampler.lanes.iter().map(|l| l.tid).collect();
                (
                    TrialExit::Exited { code: 0 },
                    work_s,
                    runner_result(work_s, DIGEST, Some(true), &tids),
                )
            }
            Scripted::Exit(code) => (TrialExit::Exited { code }, 0.0, String::new()),
            Scripted::Skipped(reason) => (
                TrialExit::Exited { code: 0 },
                0.0,
                serde_json::json!({"protocol": PROTOCOL_VERSION, "result": "skipped", "reason": reason})
                    .to_string(),
            ),
            Scripted::SpawnError => bail!("cannot start {}: scripted", planned.command[0]),
            Scripted::Cancelled => {
                cancel.store(true, Ordering::SeqCst);
                (TrialExit::Cancelled, 0.0, String::new())
            }
        };
        let wall_s = work_s + OVERHEAD_S;
        self.clock_s += wall_s;
        let cpu_s = match &sampler.lanes[..] {
            [] => work_s,
            lanes => lanes.iter().map(|l| l.cpu_s).sum(),
        };
        Ok(TrialOutcome {
            exit,
            wall_s,
            user_s: cpu_s,
            sys_s: 0.0,
            voluntary_context_switches: 0,
            involuntary_context_switches: 0,
            max_single_rss_bytes: 20 << 20,
            pid: 1,
            started_monotonic_s: 0.0,
            stragglers: 0,
            survivors: 0,
            stdout,
            stderr: String::new(),
            sampler,
            memory_limit: None,
        })
    }

    fn elapsed(&self) -> Duration {
        Duration::from_secs_f64(self.clock_s)
    }
}

/// Samples of a work phase from 0 to `work_s` (20 intervals): `lanes`
/// threads, each running `cores / lanes` of every interval and seen
/// blocked on a lock for the rest.
fn sampled(work_s: f64, cores: f64, lanes: u32) -> SamplerReport {
    const INTERVALS: u32 = 20;
    let interval_us = work_s * 1e6 / f64::from(INTERVALS);
    let lanes = lanes.max(1);
    let per_lane_us = (interval_us * cores / f64::from(lanes)).min(interval_us);
    let lane = |n: u32| Lane {
        pid: 1,
        tid: 100 + n,
        name: format!("worker-{n}"),
        kind: LaneKind::Thread,
        first_sample: 0,
        cpu_us: std::iter::once(0)
            .chain((0..INTERVALS).map(|_| per_lane_us as u32))
            .collect(),
        cpu_s: per_lane_us * f64::from(INTERVALS) / 1e6,
        core_wait_us: vec![0; INTERVALS as usize + 1],
        seen: "L".repeat(INTERVALS as usize + 1),
    };
    SamplerReport {
        interval_s: interval_us / 1e6,
        samples: INTERVALS + 1,
        mean_interval_s: interval_us / 1e6,
        sample_times_us: (0..=INTERVALS)
            .map(|k| (f64::from(k) * interval_us) as u64)
            .collect(),
        lanes: (0..lanes).map(lane).collect(),
        ..SamplerReport::default()
    }
}

/// What a runner prints after a successful trial (docs/trial-protocol.md):
/// with thread ids, one task per worker thread over the whole work phase.
fn runner_result(work_s: f64, digest: &str, gil: Option<bool>, tids: &[u32]) -> String {
    let report = RunnerReport {
        protocol: PROTOCOL_VERSION,
        runtime: Runtime::default(),
        gil_enabled_start: gil,
        gil_enabled_end: gil,
        worker_gil_enabled: vec![],
        clock_t0: 0.0,
        phases: Phases {
            setup: 0.01,
            pool_start: 0.002,
            work: work_s,
            teardown: 0.001,
        },
        sharing: None,
        api: None,
        tasks: tids
            .iter()
            .enumerate()
            .map(|(i, &tid)| TaskReport {
                agent: "planner".into(),
                index: i as u64,
                worker: format!("thread-{i}"),
                start: 0.0,
                end: work_s,
                tid: Some(tid),
                result: vec![],
                node: None,
            })
            .collect(),
        digest: digest.into(),
        llm_calls: vec![],
        orchestration: None,
        high_water_mark_bytes: None,
        calls: None,
    };
    let mut json = serde_json::to_value(report).expect("a runner report serialises");
    json["result"] = "success".into();
    json.to_string()
}
