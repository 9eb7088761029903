//! The built-in OpenAI-compatible endpoint: `POST /v1/chat/completions`
//! (whole answers, or `stream: true` as server-sent events ending with
//! `data: [DONE]`) and `GET /v1/models`, on 127.0.0.1.
//!
//! Answers are deterministic functions of the request ([`super::completion`]);
//! only their timing varies, by a seeded latency model. Over its limits the
//! endpoint answers 429 with `Retry-After` (and `retry-after-ms`, which the
//! official `openai` client prefers), like a hosted provider; a malformed
//! request gets 400 with an OpenAI-style error body.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Result;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use super::completion::{Completion, Message};
use super::limits::{Limits, Refusal};
use crate::http_server::{BackgroundServer, BoundAddress, ServerKind};
use crate::twin::prng::SplitMix64;

/// The model name the endpoint lists and answers as by default.
pub const DEFAULT_MODEL: &str = "gil-lab-sim";

/// How long an answer takes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LatencyModel {
    /// Time to the first token, milliseconds.
    pub latency_ms: f64,
    /// Time per completion token after the first, milliseconds.
    pub per_token_ms: f64,
    /// Each request's whole latency is scaled by a factor drawn uniformly
    /// from [1 - jitter_pct/100, 1 + jitter_pct/100].
    pub jitter_pct: f64,
    /// Seeds the jitter: the n-th request of a server gets the n-th draw.
    pub seed: u64,
}

impl LatencyModel {
    /// The expected duration of an answer of `tokens` tokens (no jitter).
    pub fn expected(&self, tokens: usize) -> Duration {
        Duration::from_secs_f64(
            (self.latency_ms + self.per_token_ms * tokens.saturating_sub(1) as f64).max(0.0)
                / 1000.0,
        )
    }
}

/// Everything the endpoint is started with (recorded with a bench run).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ServerConfig {
    /// Port on 127.0.0.1; 0 picks a free (ephemeral) one.
    pub port: u16,
    /// The one model it lists.
    pub model: String,
    /// How long answers take.
    pub latency: LatencyModel,
    /// Most requests in flight; more get 429 (None = unlimited).
    pub max_concurrency: Option<usize>,
    /// Most requests per second (token bucket); more get 429 (None = unlimited).
    pub rate_limit: Option<f64>,
    /// Worker threads of the server's runtime (None = one per core).
    pub threads: Option<usize>,
    /// The API key clients must send as `Authorization: Bearer <key>`
    /// (None = no key needed). Never serialised: it stays out of run records.
    #[serde(skip)]
    pub api_key: Option<String>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            port: 0,
            model: DEFAULT_MODEL.into(),
            latency: LatencyModel {
                latency_ms: 0.0,
                per_token_ms: 0.0,
                jitter_pct: 0.0,
                seed: 1,
            },
            max_concurrency: None,
            rate_limit: None,
            threads: None,
            api_key: None,
        }
    }
}

/// What a server has done so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerStats {
    /// Chat completions answered (200).
    pub completions: u64,
    /// Requests refused with 429.
    pub refused: u64,
    /// Requests rejected with 400.
    pub malformed: u64,
}

struct AppState {
    config: ServerConfig,
    limits: Limits,
    requests: AtomicU64,
    completions: AtomicU64,
    refused: AtomicU64,
    malformed: AtomicU64,
}

impl AppState {
    /// The jitter factor of the next request.
    fn jitter_factor(&self) -> f64 {
        let n = self.requests.fetch_add(1, Ordering::Relaxed);
        let jitter = self.config.latency.jitter_pct / 100.0;
        if jitter == 0.0 {
            return 1.0;
        }
        let draw =
            SplitMix64::new(self.config.latency.seed ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15))
                .next_u64();
        // 53 random bits -> uniform in [0, 1), then [-1, 1).
        let unit = (draw >> 11) as f64 / (1u64 << 53) as f64;
        (1.0 + jitter * (2.0 * unit - 1.0)).max(0.0)
    }
}

/// An OpenAI-style error response.
fn error(status: StatusCode, kind: &str, code: Option<&str>, message: String) -> Response {
    let body = json!({"error": {"message": message, "type": kind, "param": null, "code": code}});
    (status, axum::Json(body)).into_response()
}

/// 400 with the reason.
fn bad_request(message: String) -> Response {
    error(
        StatusCode::BAD_REQUEST,
        "invalid_request_error",
        None,
        message,
    )
}

/// 429 with `Retry-After` (whole seconds, at least 1, as HTTP defines it)
/// and `retry-after-ms` (the exact wait).
fn too_many(refusal: Refusal) -> Response {
    let wait = refusal.retry_after();
    let message = match refusal {
        Refusal::Concurrency(_) => {
            "too many requests in flight (--max-concurrency); retry after the Retry-After delay"
        }
        Refusal::Rate(_) => {
            "rate limit reached (--rate-limit requests/s); retry after the Retry-After delay"
        }
    };
    let mut response = error(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limit_error",
        Some("rate_limit_exceeded"),
        message.into(),
    );
    let headers = response.headers_mut();
    let seconds = wait.as_secs_f64().ceil().max(1.0) as u64;
    headers.insert("retry-after", HeaderValue::from(seconds));
    headers.insert(
        "retry-after-ms",
        HeaderValue::from(wait.as_millis().max(1) as u64),
    );
    response
}

/// A chat-completion request, checked.
#[derive(Debug)]
struct ChatRequest {
    model: String,
    messages: Vec<Message>,
    max_tokens: Option<u64>,
    stream: bool,
    include_usage: bool,
}

/// The text of a message's `content`: a string, an array of text parts, or
/// null (an assistant message that only called tools).
fn content_text(content: &Value, i: usize) -> Result<String, String> {
    match content {
        Value::String(text) => Ok(text.clone()),
        Value::Null => Ok(String::new()),
        Value::Array(parts) => parts
            .iter()
            .map(|part| match (part.get("type"), part.get("text")) {
                (Some(Value::String(t)), Some(Value::String(text))) if t == "text" => {
                    Ok(text.as_str())
                }
                _ => Err(format!(
                    "messages[{i}].content: only text parts ({{\"type\": \"text\", \"text\": \"...\"}}) are supported"
                )),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(|texts| texts.concat()),
        _ => Err(format!(
            "messages[{i}].content must be a string or an array of text parts"
        )),
    }
}

/// Reads and checks a request body; the error names the field to fix.
fn parse_request(body: &[u8]) -> Result<ChatRequest, String> {
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        format!("the request body is not valid JSON ({e}); send a JSON object with \"model\" and \"messages\"")
    })?;
    let Value::Object(object) = value else {
        return Err(
            "the request body must be a JSON object with \"model\" and \"messages\"".into(),
        );
    };
    let model = match object.get("model") {
        Some(Value::String(model)) if !model.is_empty() => model.clone(),
        _ => return Err("\"model\" is required: a model name, e.g. \"gil-lab-sim\"".into()),
    };
    let Some(Value::Array(raw)) = object.get("messages") else {
        return Err(
            "\"messages\" is required: a non-empty array of {\"role\", \"content\"} objects".into(),
        );
    };
    if raw.is_empty() {
        return Err("\"messages\" must not be empty".into());
    }
    let mut messages = Vec::with_capacity(raw.len());
    for (i, message) in raw.iter().enumerate() {
        let Some(Value::String(role)) = message.get("role") else {
            return Err(format!(
                "messages[{i}].role is required (a string such as \"user\")"
            ));
        };
        let content = content_text(message.get("content").unwrap_or(&Value::Null), i)?;
        messages.push(Message {
            role: role.clone(),
            content,
        });
    }
    let mut max_tokens = None;
    for field in ["max_tokens", "max_completion_tokens"] {
        match object.get(field) {
            None | Some(Value::Null) => {}
            Some(value) => match value.as_u64() {
                Some(n) if n >= 1 => max_tokens = Some(n),
                _ => return Err(format!("\"{field}\" must be an integer >= 1, got {value}")),
            },
        }
    }
    let stream = match object.get("stream") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(stream)) => *stream,
        Some(other) => return Err(format!("\"stream\" must be true or false, got {other}")),
    };
    match object.get("n") {
        None | Some(Value::Null) => {}
        Some(n) if n.as_u64() == Some(1) => {}
        Some(n) => return Err(format!("\"n\" must be 1 (one choice per request), got {n}")),
    }
    let include_usage = object
        .get("stream_options")
        .and_then(|o| o.get("include_usage"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    Ok(ChatRequest {
        model,
        messages,
        max_tokens,
        stream,
        include_usage,
    })
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn usage(completion: &Completion) -> Value {
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

async fn chat_completions(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !authorised(&state, &headers) {
        return error(
            StatusCode::UNAUTHORIZED,
            "invalid_request_error",
            Some("invalid_api_key"),
            "missing or wrong API key: send Authorization: Bearer <the key of --api-key-env>"
                .into(),
        );
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
        super::completion::request_seed(&request.messages)
    );
    let created = unix_now();
    state.completions.fetch_add(1, Ordering::Relaxed);
    if !request.stream {
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
        return axum::Json(body).into_response();
    }

    // Streamed: the role, then one chunk per token (the first after the
    // latency, the others per_token_ms apart), the finish reason, the usage
    // when asked for, and [DONE].
    let first = Duration::from_secs_f64(latency.latency_ms.max(0.0) / 1000.0).mul_f64(factor);
    let gap = Duration::from_secs_f64(latency.per_token_ms.max(0.0) / 1000.0).mul_f64(factor);
    let (sender, receiver) = mpsc::channel::<Event>(4);
    tokio::spawn(async move {
        let _permit = permit;
        let chunk = |delta: Value, finish: Value| {
            json!({
                "id": id, "object": "chat.completion.chunk", "created": created,
                "model": request.model, "system_fingerprint": "gil-lab",
                "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}],
            })
        };
        let mut events = vec![chunk(
            json!({"role": "assistant", "content": ""}),
            Value::Null,
        )];
        events.extend(
            completion
                .pieces()
                .into_iter()
                .map(|piece| chunk(json!({"content": piece}), Value::Null)),
        );
        events.push(chunk(json!({}), json!(completion.finish_reason)));
        if request.include_usage {
            events.push(json!({
                "id": id, "object": "chat.completion.chunk", "created": created,
                "model": request.model, "choices": [], "usage": usage(&completion),
            }));
        }
        let tokens = completion.tokens();
        for (i, event) in events.into_iter().enumerate() {
            // Event 1 carries the first token, events 2..=tokens the others.
            if i == 1 {
                tokio::time::sleep(first).await;
            } else if (2..=tokens).contains(&i) {
                tokio::time::sleep(gap).await;
            }
            if sender
                .send(Event::default().data(event.to_string()))
                .await
                .is_err()
            {
                return; // the client went away
            }
        }
        let _ = sender.send(Event::default().data("[DONE]")).await;
    });
    let stream = tokio_stream::StreamExt::map(
        ReceiverStream::new(receiver),
        Ok::<_, std::convert::Infallible>,
    );
    Sse::new(stream).into_response()
}

async fn models(State(state): State<Arc<AppState>>) -> Response {
    axum::Json(json!({
        "object": "list",
        "data": [{"id": state.config.model, "object": "model", "created": 0, "owned_by": "gil-lab"}],
    }))
    .into_response()
}

async fn not_found() -> Response {
    error(
        StatusCode::NOT_FOUND,
        "invalid_request_error",
        Some("unknown_url"),
        "unknown URL: this endpoint serves POST /v1/chat/completions and GET /v1/models".into(),
    )
}

fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/v1/chat/completions", post(chat_completions))
        .route("/v1/models", get(models))
        .fallback(not_found)
        .with_state(state)
}

fn app_state(config: ServerConfig) -> Arc<AppState> {
    let slot_wait = config.latency.expected(1);
    Arc::new(AppState {
        limits: Limits::new(config.max_concurrency, config.rate_limit, slot_wait),
        config,
        requests: AtomicU64::new(0),
        completions: AtomicU64::new(0),
        refused: AtomicU64::new(0),
        malformed: AtomicU64::new(0),
    })
}

/// Binds 127.0.0.1:`port` (an error names `--port` when it fails).
fn bind(port: u16) -> Result<BoundAddress> {
    BoundAddress::bind(
        "127.0.0.1",
        port,
        "pick another --port, or 0 for a free one",
    )
}

/// The endpoint's threads: `threads` workers (None: one per core).
fn kind(threads: Option<usize>) -> ServerKind {
    ServerKind {
        name: "the LLM endpoint",
        thread_name: "gil-lab-llm",
        workers: threads,
    }
}

/// The endpoint running in a background thread of this process; it stops
/// when dropped.
pub struct ServerHandle {
    state: Arc<AppState>,
    server: BackgroundServer,
}

impl ServerHandle {
    /// The base URL clients use: `http://127.0.0.1:<port>/v1`.
    pub fn url(&self) -> String {
        format!("http://{}/v1", self.server.addr())
    }

    /// What it has done so far.
    pub fn stats(&self) -> ServerStats {
        ServerStats {
            completions: self.state.completions.load(Ordering::Relaxed),
            refused: self.state.refused.load(Ordering::Relaxed),
            malformed: self.state.malformed.load(Ordering::Relaxed),
        }
    }
}

/// Starts the endpoint in a background thread and returns once it listens
/// (an unusable port is an error here, not later).
pub fn start(config: ServerConfig) -> Result<ServerHandle> {
    let bound = bind(config.port)?;
    let kind = kind(config.threads);
    let state = app_state(config);
    let server = bound.spawn(router(state.clone()), &kind)?;
    Ok(ServerHandle { state, server })
}

/// Serves in the foreground until the process is stopped; `ready` gets the
/// base URL once the endpoint listens.
pub fn serve_forever(config: ServerConfig, ready: impl FnOnce(&str)) -> Result<()> {
    let bound = bind(config.port)?;
    let kind = kind(config.threads);
    let app = router(app_state(config));
    bound.serve_forever(app, &kind, |addr| ready(&format!("http://{addr}/v1")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_checked_field_by_field() {
        let ok = parse_request(
            br#"{"model": "m", "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
                 "max_tokens": 4, "stream": true, "stream_options": {"include_usage": true}}"#,
        )
        .unwrap();
        assert_eq!(ok.messages[0].content, "hi");
        assert_eq!(
            (ok.max_tokens, ok.stream, ok.include_usage),
            (Some(4), true, true)
        );
        let cases: [(&[u8], &str); 8] = [
            (b"{", "not valid JSON"),
            (b"[]", "JSON object"),
            (br#"{"messages": []}"#, "\"model\""),
            (br#"{"model": "m"}"#, "\"messages\" is required"),
            (br#"{"model": "m", "messages": []}"#, "must not be empty"),
            (br#"{"model": "m", "messages": [{"content": "x"}]}"#, "role"),
            (
                br#"{"model": "m", "messages": [{"role": "user", "content": "x"}], "max_tokens": 0}"#,
                "max_tokens",
            ),
            (
                br#"{"model": "m", "messages": [{"role": "user", "content": "x"}], "stream": "yes"}"#,
                "stream",
            ),
        ];
        for (body, wanted) in cases {
            let message = parse_request(body).unwrap_err();
            assert!(message.contains(wanted), "{message}");
        }
    }

    #[test]
    fn jitter_stays_within_its_band_and_is_seeded() {
        let config = ServerConfig {
            latency: LatencyModel {
                latency_ms: 50.0,
                per_token_ms: 0.0,
                jitter_pct: 10.0,
                seed: 7,
            },
            ..ServerConfig::default()
        };
        let a = app_state(config.clone());
        let b = app_state(config);
        let draws: Vec<f64> = (0..200).map(|_| a.jitter_factor()).collect();
        assert!(draws.iter().all(|f| (0.9..=1.1).contains(f)));
        assert!(draws.iter().any(|f| *f < 0.97) && draws.iter().any(|f| *f > 1.03));
        assert_eq!(draws[0], b.jitter_factor());
    }
}
