//! The endpoint's routes: `POST /v1/chat/completions` (checked, admitted
//! by the limits, then answered whole after the modelled latency, or handed
//! to [`super::streaming`] when `stream` is true) and `GET /v1/models`.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::AppState;
use super::errors::{bad_request, too_many, unauthorised};
use super::request::parse_request;
use super::streaming::{self, Answer};
use crate::llm::completion::{self, Completion};

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The `usage` object of an answer: its prompt and completion tokens.
pub(super) fn usage(completion: &Completion) -> Value {
    json!({
        "prompt_tokens": completion.prompt_tokens,
        "completion_tokens": completion.tokens(),
        "total_tokens": completion.prompt_tokens + completion.tokens(),
    })
}

/// Whether the request carries the configured API key (or none is needed).
fn authorised(state: &AppState, headers: &HeaderMap) -> bool {
    let Some(key) = &state.config.api_key else {
        return true;
    };
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|sent| sent == key)
}

pub(super) async fn chat_completions(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !authorised(&state, &headers) {
        return unauthorised();
    }
    let request = match parse_request(&body) {
        Ok(request) => request,
        Err(message) => {
            state.malformed.fetch_add(1, Ordering::Relaxed);
            return bad_request(message);
        }
    };
    let permit = match state.limits.admit() {
        Ok(permit) => permit,
        Err(refusal) => {
            state.refused.fetch_add(1, Ordering::Relaxed);
            return too_many(refusal);
        }
    };
    let completion = Completion::answer(&request.messages, request.max_tokens);
    let factor = state.jitter_factor();
    let latency = &state.config.latency;
    let id = format!(
        "chatcmpl-{:016x}",
        completion::request_seed(&request.messages)
    );
    let created = unix_now();
    state.completions.fetch_add(1, Ordering::Relaxed);
    if request.stream {
        let first = Duration::from_secs_f64(latency.latency_ms.max(0.0) / 1000.0).mul_f64(factor);
        let gap = Duration::from_secs_f64(latency.per_token_ms.max(0.0) / 1000.0).mul_f64(factor);
        let answer = Answer {
            id,
            created,
            model: request.model,
            completion,
            include_usage: request.include_usage,
        };
        return streaming::respond(answer, first, gap, permit);
    }
    tokio::time::sleep(latency.expected(completion.tokens()).mul_f64(factor)).await;
    drop(permit);
    let body = json!({
        "id": id,
        "object": "chat.completion",
        "created": created,
        "model": request.model,
        "system_fingerprint": "gil-lab",
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": completion.text()},
            "logprobs": null,
            "finish_reason": completion.finish_reason,
        }],
        "usage": usage(&completion),
    });
    let mut response = axum::Json(body).into_response();
    // When the answer left: the `service` scenario splits a request's time
    // at this stamp (the model's own time before, the agent's wait after).
    if let Ok(sent) = HeaderValue::from_str(&format!("{:.6}", monotonic_s())) {
        response.headers_mut().insert(SENT_HEADER, sent);
    }
    response
}

/// The response header carrying when the endpoint sent a (non-streamed)
/// answer: CLOCK_MONOTONIC seconds, the clock of Python's `time.monotonic()`.
pub const SENT_HEADER: &str = "x-gil-lab-sent";

/// CLOCK_MONOTONIC now, in seconds.
fn monotonic_s() -> f64 {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid timespec; CLOCK_MONOTONIC exists on Linux and macOS.
    unsafe {
        libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now);
    }
    now.tv_sec as f64 + now.tv_nsec as f64 / 1e9
}

pub(super) async fn models(State(state): State<Arc<AppState>>) -> Response {
    axum::Json(json!({
        "object": "list",
        "data": [{"id": state.config.model, "object": "model", "created": 0, "owned_by": "gil-lab"}],
    }))
    .into_response()
}
