//! The built-in OpenAI-compatible endpoint: `POST /v1/chat/completions`
//! (whole answers, or `stream: true` as server-sent events ending with
//! `data: [DONE]`) and `GET /v1/models`, on 127.0.0.1.
//!
//! Answers are deterministic functions of the request ([`super::completion`]);
//! only their timing varies, by a seeded latency model. Over its limits the
//! endpoint answers 429 with `Retry-After` (and `retry-after-ms`, which the
//! official `openai` client prefers), like a hosted provider; a malformed
//! request gets 400 with an OpenAI-style error body.
//!
//! This file holds what the endpoint is started with, its state and its
//! start and stop; `request` reads a request, `handlers` answers it,
//! `streaming` paces a streamed answer and `errors` shapes the error bodies.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Result;
use axum::Router;
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};

use super::limits::Limits;
use crate::http_server::{BackgroundServer, BoundAddress, ServerKind};
use crate::prng::SplitMix64;

mod errors;
mod handlers;
mod request;
mod streaming;

/// The model name the endpoint lists and answers as by default.
pub use crate::protocol::spec::DEFAULT_MODEL;

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

fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/v1/chat/completions", post(handlers::chat_completions))
        .route("/v1/models", get(handlers::models))
        .fallback(errors::not_found)
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
