//! The endpoint's error answers, shaped like OpenAI's
//! (`{"error": {"message", "type", "param", "code"}}`): 400 for a malformed
//! request, 401 for a wrong key, 404 for an unknown URL, and 429 with
//! `Retry-After` over the limits.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::llm::limits::Refusal;

/// An OpenAI-style error response.
pub(super) fn error(
    status: StatusCode,
    kind: &str,
    code: Option<&str>,
    message: String,
) -> Response {
    let body = json!({"error": {"message": message, "type": kind, "param": null, "code": code}});
    (status, axum::Json(body)).into_response()
}

/// 400 with the reason.
pub(super) fn bad_request(message: String) -> Response {
    error(
        StatusCode::BAD_REQUEST,
        "invalid_request_error",
        None,
        message,
    )
}

/// 429 with `Retry-After` (whole seconds, at least 1, as HTTP defines it)
/// and `retry-after-ms` (the exact wait).
pub(super) fn too_many(refusal: Refusal) -> Response {
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

/// 401: the request lacks the key the endpoint was started with.
pub(super) fn unauthorised() -> Response {
    error(
        StatusCode::UNAUTHORIZED,
        "invalid_request_error",
        Some("invalid_api_key"),
        "missing or wrong API key: send Authorization: Bearer <the key of --api-key-env>".into(),
    )
}

/// 404, naming the two URLs there are.
pub(super) async fn not_found() -> Response {
    error(
        StatusCode::NOT_FOUND,
        "invalid_request_error",
        Some("unknown_url"),
        "unknown URL: this endpoint serves POST /v1/chat/completions and GET /v1/models".into(),
    )
}
