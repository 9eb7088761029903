//! `gil-lab llm-serve`: the built-in OpenAI-compatible endpoint in the
//! foreground (or, with `--bench`, its load benchmark).

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;

use super::server::{self, DEFAULT_MODEL, LatencyModel, ServerConfig};

/// Options of `gil-lab llm-serve`.
#[derive(Debug, Args)]
pub struct LlmServeArgs {
    /// Port on 127.0.0.1 (0 picks a free one; the base URL is printed on stdout).
    #[arg(long, default_value_t = 0)]
    pub port: u16,

    /// Milliseconds before the first token of every answer.
    #[arg(long, value_name = "MS", default_value_t = 0.0, value_parser = non_negative)]
    pub latency: f64,

    /// Milliseconds per further completion token.
    #[arg(long, value_name = "MS", default_value_t = 0.0, value_parser = non_negative)]
    pub per_token: f64,

    /// Scale each answer's latency by a random factor within ±PCT percent
    /// (seeded by --seed: the n-th request always gets the same factor).
    #[arg(long, value_name = "PCT", default_value_t = 0.0, value_parser = jitter)]
    pub jitter: f64,

    /// Seed of the latency jitter.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,

    /// Most requests in flight; more are answered 429 with Retry-After.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_concurrency: Option<u32>,

    /// Most requests per second; more are answered 429 with Retry-After.
    #[arg(long, value_name = "RPS", value_parser = positive)]
    pub rate_limit: Option<f64>,

    /// The model name it lists and answers as.
    #[arg(long, default_value = DEFAULT_MODEL)]
    pub model: String,

    /// Require `Authorization: Bearer <key>` with the key read from this
    /// environment variable (401 otherwise), like a hosted API.
    #[arg(long, value_name = "VAR")]
    pub api_key_env: Option<String>,

    /// Worker threads of the server (default: one per core).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub threads: Option<u32>,

    /// Do not serve: measure the endpoint's throughput (zero latency) and
    /// latency accuracy (50 ms at 4 and 16 clients) on loopback, print the
    /// figures, and fail if it misses >= 5,000 requests/s or 10%.
    #[arg(long)]
    pub bench: bool,

    /// Seconds of the --bench throughput loop.
    #[arg(long, value_name = "SECONDS", default_value_t = 5.0, value_parser = positive, requires = "bench")]
    pub bench_seconds: f64,
}

fn number(text: &str) -> Result<f64, String> {
    text.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| format!("`{text}` is not a number"))
}

fn non_negative(text: &str) -> Result<f64, String> {
    let value = number(text)?;
    (value >= 0.0)
        .then_some(value)
        .ok_or_else(|| format!("`{text}` must be 0 or more"))
}

fn positive(text: &str) -> Result<f64, String> {
    let value = number(text)?;
    (value > 0.0)
        .then_some(value)
        .ok_or_else(|| format!("`{text}` must be greater than 0"))
}

fn jitter(text: &str) -> Result<f64, String> {
    let value = non_negative(text)?;
    (value <= 100.0)
        .then_some(value)
        .ok_or_else(|| format!("`{text}` must be a percentage from 0 to 100"))
}

impl LlmServeArgs {
    /// The server configuration these options describe.
    pub fn config(&self) -> Result<ServerConfig> {
        let api_key = match &self.api_key_env {
            None => None,
            Some(name) => Some(std::env::var(name).map_err(|_| {
                anyhow::anyhow!(
                    "--api-key-env {name}: the variable {name} is not set; export the key in it"
                )
            })?),
        };
        Ok(ServerConfig {
            port: self.port,
            model: self.model.clone(),
            latency: LatencyModel {
                latency_ms: self.latency,
                per_token_ms: self.per_token,
                jitter_pct: self.jitter,
                seed: self.seed,
            },
            max_concurrency: self.max_concurrency.map(|n| n as usize),
            rate_limit: self.rate_limit,
            threads: self.threads.map(|n| n as usize),
            api_key,
        })
    }
}

/// Runs `gil-lab llm-serve`.
pub fn run(args: LlmServeArgs) -> Result<ExitCode> {
    if args.bench {
        super::load::run(args.bench_seconds)?;
        return Ok(ExitCode::SUCCESS);
    }
    server::serve_forever(args.config()?, |url| {
        // The URL alone on stdout (flushed), so scripts and tests can read it.
        println!("{url}");
        let _ = std::io::stdout().flush();
        eprintln!("Serving an OpenAI-compatible endpoint at {url} (Ctrl-C stops)");
    })?;
    Ok(ExitCode::SUCCESS)
}
