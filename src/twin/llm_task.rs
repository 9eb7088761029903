//! The twin's `io` and `mixed` tasks: model calls over HTTP with reqwest,
//! with the exact prompts, answer hash and results of
//! `workload/gil_lab/io_scenario.py` and `mixed_scenario.py`, so the twin's
//! digest equals the Python runner's against the built-in endpoint.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use super::task::Task;
use crate::llm::completion::text_hash;
use crate::protocol::LlmSpec;
use crate::vocabulary::Scenario;

/// Model calls per `io` task (`io_scenario.CALLS_PER_TASK`).
const CALLS_PER_TASK: u32 = 2;
/// (call, reasoning step) rounds per `mixed` task (`mixed_scenario.ROUNDS`).
const ROUNDS: u32 = 2;
/// `max_tokens` of every call (`io_scenario.MAX_TOKENS`).
pub const MAX_TOKENS: u32 = 16;
/// First backoff delay and its cap, as in `llm_client.py`.
const BASE_BACKOFF_S: f64 = 0.05;
const MAX_BACKOFF_S: f64 = 5.0;

/// An HTTP client for one worker (its connections are kept alive).
pub fn client(spec: &LlmSpec) -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(Duration::from_secs_f64(spec.timeout_s))
        .no_proxy()
        .build()
        .context("cannot build the HTTP client of the LLM endpoint")
}

/// The prompt of call `call` of `task` (`io_scenario.messages`).
pub fn messages(task: &Task, call: u32, previous: u64) -> Value {
    json!([
        {"role": "system", "content": format!("You are the {} agent of gil-lab.", task.agent.name())},
        {"role": "user", "content": format!(
            "task {} call {call} seed {:016x} previous {previous:016x}: answer in a few words.",
            task.index, task.seed
        )},
    ])
}

/// Seconds to wait before the next attempt: `retry-after-ms`, else
/// `Retry-After` (seconds), else exponential backoff.
fn retry_delay(attempt: u32, headers: Option<&reqwest::header::HeaderMap>) -> Duration {
    let header = |name: &str| {
        headers
            .and_then(|h| h.get(name))
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|v| v.is_finite() && *v >= 0.0)
    };
    let seconds = header("retry-after-ms")
        .map(|ms| ms / 1000.0)
        .or_else(|| header("retry-after"))
        .unwrap_or_else(|| (BASE_BACKOFF_S * 2f64.powi(attempt as i32)).min(MAX_BACKOFF_S));
    Duration::from_secs_f64(seconds)
}

/// One chat completion with retries on 429, 5xx and connection errors; the
/// answer's text.
async fn chat(client: &reqwest::Client, spec: &LlmSpec, messages: Value) -> Result<String> {
    Ok(chat_stamped(client, spec, messages).await?.0)
}

/// [`chat`] with the built-in endpoint's `x-gil-lab-sent` stamp (when it
/// sent the answer, CLOCK_MONOTONIC seconds): the `service` mode splits a
/// request's time there.
pub async fn chat_stamped(
    client: &reqwest::Client,
    spec: &LlmSpec,
    messages: Value,
) -> Result<(String, Option<f64>)> {
    let body = json!({"model": spec.model, "messages": messages, "max_tokens": MAX_TOKENS, "stream": false})
        .to_string();
    let url = format!("{}/chat/completions", spec.url);
    let key = spec
        .api_key_env
        .as_ref()
        .and_then(|name| std::env::var(name).ok());
    let mut problem = String::new();
    for attempt in 0..=spec.max_retries {
        let mut request = client
            .post(&url)
            .header("content-type", "application/json")
            .body(body.clone());
        if let Some(key) = &key {
            request = request.bearer_auth(key);
        }
        let (retry, headers) = match request.send().await {
            Ok(response) => {
                let status = response.status();
                let headers = response.headers().clone();
                let bytes = response.bytes().await;
                match bytes {
                    Ok(bytes) if status.is_success() => {
                        let answer: Value = serde_json::from_slice(&bytes)
                            .context("the LLM endpoint's answer is not JSON")?;
                        let sent = headers
                            .get("x-gil-lab-sent")
                            .and_then(|v| v.to_str().ok())
                            .and_then(|v| v.parse::<f64>().ok());
                        return Ok((
                            answer["choices"][0]["message"]["content"]
                                .as_str()
                                .unwrap_or_default()
                                .to_string(),
                            sent,
                        ));
                    }
                    Ok(bytes) => {
                        problem = format!(
                            "HTTP {status}: {}",
                            String::from_utf8_lossy(&bytes[..bytes.len().min(200)])
                        );
                        (
                            status.as_u16() == 429 || status.is_server_error(),
                            Some(headers),
                        )
                    }
                    Err(error) => {
                        problem = format!("reading the answer failed: {error}");
                        (true, None)
                    }
                }
            }
            Err(error) => {
                problem = format!("no answer: {error}");
                (true, None)
            }
        };
        if !retry || attempt == spec.max_retries {
            break;
        }
        tokio::time::sleep(retry_delay(attempt, headers.as_ref())).await;
    }
    bail!("{problem} (calling {url})")
}

/// Runs an `io` or `mixed` task on an async runtime: (call, hash) rounds,
/// with `mixed`'s reasoning step inline, or on the runtime's blocking pool
/// when `offload` is set.
pub async fn run_task(
    client: &reqwest::Client,
    spec: &LlmSpec,
    scenario: Scenario,
    task: Task,
    offload: bool,
) -> Result<Vec<i64>> {
    let rounds = if scenario == Scenario::Mixed {
        ROUNDS
    } else {
        CALLS_PER_TASK
    };
    let mut results = Vec::new();
    let mut previous = 0u64;
    for call in 0..rounds {
        let text = chat(client, spec, messages(&task, call, previous))
            .await
            .with_context(|| format!("model call {call} of task {}", task.index))?;
        previous = text_hash(&text);
        results.push((previous >> 1) as i64);
        if scenario == Scenario::Mixed {
            let seed = task.seed ^ previous;
            let step = if offload {
                tokio::task::spawn_blocking(move || task.agent.run(seed))
                    .await
                    .context("a reasoning step failed")?
            } else {
                let step = task.agent.run(seed);
                // Let the other agents' answers in between two steps.
                tokio::task::yield_now().await;
                step
            };
            results.extend(step);
        }
    }
    Ok(results)
}

/// A worker's blocking caller (sequential, threads, processes): its own
/// single-threaded runtime and client.
pub struct BlockingCaller {
    runtime: tokio::runtime::Runtime,
    client: reqwest::Client,
    spec: LlmSpec,
}

impl BlockingCaller {
    /// A caller for `spec`.
    pub fn new(spec: &LlmSpec) -> Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot start the HTTP client's runtime")?;
        Ok(Self {
            client: client(spec)?,
            runtime,
            spec: spec.clone(),
        })
    }

    /// Runs one task, blocking this thread while it waits.
    pub fn run_task(&self, scenario: Scenario, task: &Task) -> Result<Vec<i64>> {
        self.runtime
            .block_on(run_task(&self.client, &self.spec, scenario, *task, false))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delays_follow_the_server_then_back_off() {
        let mut headers = reqwest::header::HeaderMap::new();
        assert_eq!(retry_delay(0, None), Duration::from_millis(50));
        assert_eq!(retry_delay(10, None), Duration::from_secs(5));
        headers.insert("retry-after", "2".parse().unwrap());
        assert_eq!(retry_delay(0, Some(&headers)), Duration::from_secs(2));
        headers.insert("retry-after-ms", "120".parse().unwrap());
        assert_eq!(retry_delay(0, Some(&headers)), Duration::from_millis(120));
    }

    #[test]
    fn prompts_match_the_python_scenario() {
        let task = super::super::task::make_tasks(0.125, 1)[0];
        let prompt = messages(&task, 1, 0xab);
        assert_eq!(
            prompt[0]["content"],
            "You are the planner agent of gil-lab."
        );
        assert_eq!(
            prompt[1]["content"],
            format!(
                "task 0 call 1 seed {:016x} previous 00000000000000ab: answer in a few words.",
                task.seed
            )
        );
    }
}
