//! One service request in the native twin (`workload/gil_lab/service/request.py`):
//! the `mixed` agent's unit of work on task `index` (a model call, then a
//! reasoning step on the answer), with the times that split its latency,
//! all CLOCK_MONOTONIC seconds like the Python side's.

use anyhow::{Context, Result};

use super::super::agents::Agent;
use super::super::clock::monotonic;
use super::super::digest::Digest;
use super::super::llm_task::{chat_stamped, messages};
use super::super::task::Task;
use super::super::trial::current_tid;
use crate::llm::completion::text_hash;
use crate::prng::SplitMix64;
use crate::protocol::LlmSpec;
use crate::protocol::service::{RawRequest, RawRound};

/// Request `index`'s task: agent index mod 4, seed = output `index` of
/// SplitMix64(seed) (`request.request_task`).
pub fn request_task(index: u32, seed: u64) -> Task {
    let mut master = SplitMix64::new(seed);
    let mut value = 0;
    for _ in 0..=index {
        value = master.next_u64();
    }
    Task {
        index: index as usize,
        agent: Agent::ALL[index as usize % 4],
        seed: value,
    }
}

/// A worker's caller: its own single-threaded runtime and HTTP client.
pub struct Caller {
    runtime: tokio::runtime::Runtime,
    client: reqwest::Client,
    spec: LlmSpec,
}

impl Caller {
    /// A caller for `spec`.
    pub fn new(spec: &LlmSpec) -> Result<Caller> {
        Ok(Caller {
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("cannot start the HTTP client's runtime")?,
            client: super::super::llm_task::client(spec)?,
            spec: spec.clone(),
        })
    }

    /// Serves request `index` (`request.serve`, one round), blocking.
    pub fn serve(&self, index: u32, scheduled: f64, seed: u64) -> RawRequest {
        let start = monotonic();
        let task = request_task(index, seed);
        let call_start = monotonic();
        let answer = self.runtime.block_on(chat_stamped(
            &self.client,
            &self.spec,
            messages(&task, 0, 0),
        ));
        let (text, sent) = match answer {
            Ok(answer) => answer,
            Err(error) => {
                return RawRequest {
                    index,
                    scheduled,
                    start,
                    end: monotonic(),
                    ok: false,
                    error: Some(format!("{error:#}")),
                    digest: None,
                    tid: Some(i64::from(current_tid())),
                    rounds: Vec::new(),
                };
            }
        };
        let answered = monotonic();
        let previous = text_hash(&text);
        let mut results = vec![(previous >> 1) as i64];
        let step_start = monotonic();
        results.extend(task.agent.run(task.seed ^ previous));
        let step_end = monotonic();
        let mut digest = Digest::new();
        digest.task(task.agent.code(), task.index, &results);
        RawRequest {
            index,
            scheduled,
            start,
            end: monotonic(),
            ok: true,
            error: None,
            digest: Some(digest.hex()),
            tid: Some(i64::from(current_tid())),
            rounds: vec![RawRound {
                call_start,
                sent,
                answered,
                step_start,
                step_end,
            }],
        }
    }
}
