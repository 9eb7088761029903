//! `gil-lab llm-serve --bench`: measures the built-in endpoint on loopback
//! with a bounded load loop, so that it is known never to be the bottleneck
//! of a bench run.
//!
//! - throughput: zero latency, `connections` keep-alive connections each
//!   sending chat completions back to back for a fixed time;
//! - latency accuracy: a configured latency, `workers` clients at once (the
//!   concurrency of a bench cell), each request's round trip compared with
//!   the configured value.
//!
//! Both start their own endpoint in-process on an ephemeral port and stop it
//! at the end; every loop is bounded in time and in requests.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde::Serialize;

use super::server::{self, LatencyModel, ServerConfig};

/// Throughput of the endpoint.
#[derive(Debug, Serialize)]
pub struct Throughput {
    /// Keep-alive connections sending at once.
    pub connections: usize,
    /// Seconds the load ran.
    pub seconds: f64,
    /// Completions answered with 200.
    pub completions: u64,
    /// Requests that failed (anything but 200).
    pub failures: u64,
    /// Completions the server counted (a cross-check of `completions`).
    pub served: u64,
    /// Completions per second.
    pub requests_per_s: f64,
}

/// How close measured round trips are to the configured latency.
#[derive(Debug, Serialize)]
pub struct LatencyAccuracy {
    /// The configured latency, milliseconds.
    pub configured_ms: f64,
    /// Clients sending at once.
    pub concurrency: usize,
    /// Requests measured.
    pub requests: usize,
    /// Mean round trip, milliseconds.
    pub mean_ms: f64,
    /// Median round trip, milliseconds.
    pub median_ms: f64,
    /// 95th percentile, milliseconds.
    pub p95_ms: f64,
    /// Largest round trip, milliseconds.
    pub max_ms: f64,
    /// (mean - configured) / configured.
    pub mean_error: f64,
}

/// The request every load client sends.
const BODY: &str =
    r#"{"model":"gil-lab-sim","messages":[{"role":"user","content":"load test"}],"max_tokens":8}"#;

/// A client with one keep-alive connection.
fn client() -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .pool_max_idle_per_host(1)
        .timeout(Duration::from_secs(10))
        .build()
        .context("cannot build the load client")
}

/// Sends one completion; its round trip when it succeeded.
async fn one(client: &reqwest::Client, url: &str) -> Option<Duration> {
    let started = Instant::now();
    let response = client
        .post(url)
        .header("content-type", "application/json")
        .body(BODY)
        .send()
        .await
        .ok()?;
    let ok = response.status().is_success();
    let body = response.bytes().await.ok()?;
    (ok && !body.is_empty()).then(|| started.elapsed())
}

fn client_runtime(threads: usize) -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
        .context("cannot start the load client's runtime")
}

/// Zero-latency throughput with `connections` connections for `seconds`.
pub fn throughput(connections: usize, seconds: f64, server_threads: usize) -> Result<Throughput> {
    let server = server::start(ServerConfig {
        threads: Some(server_threads),
        ..ServerConfig::default()
    })?;
    let url = format!("{}/chat/completions", server.url());
    let runtime = client_runtime(1)?;
    let limit = Duration::from_secs_f64(seconds);
    let (completions, failures) = runtime.block_on(async {
        let mut tasks = Vec::new();
        for _ in 0..connections {
            let (client, url) = (client()?, url.clone());
            tasks.push(tokio::spawn(async move {
                let started = Instant::now();
                let (mut ok, mut failed) = (0u64, 0u64);
                while started.elapsed() < limit {
                    match one(&client, &url).await {
                        Some(_) => ok += 1,
                        None => failed += 1,
                    }
                }
                (ok, failed)
            }));
        }
        let mut totals = (0, 0);
        for task in tasks {
            let (ok, failed) = task.await.context("a load client failed")?;
            totals.0 += ok;
            totals.1 += failed;
        }
        anyhow::Ok(totals)
    })?;
    Ok(Throughput {
        connections,
        seconds,
        completions,
        failures,
        served: server.stats().completions,
        requests_per_s: completions as f64 / seconds,
    })
}

/// Round trips of `requests` completions at `latency_ms`, `concurrency` at once.
pub fn latency_accuracy(
    latency_ms: f64,
    concurrency: usize,
    requests: usize,
) -> Result<LatencyAccuracy> {
    let server = server::start(ServerConfig {
        latency: LatencyModel {
            latency_ms,
            per_token_ms: 0.0,
            jitter_pct: 0.0,
            seed: 1,
        },
        threads: Some(1),
        ..ServerConfig::default()
    })?;
    let url = format!("{}/chat/completions", server.url());
    let runtime = client_runtime(1)?;
    let per_client = requests.div_ceil(concurrency.max(1));
    let mut trips: Vec<f64> = runtime.block_on(async {
        let mut tasks = Vec::new();
        for _ in 0..concurrency {
            let (client, url) = (client()?, url.clone());
            tasks.push(tokio::spawn(async move {
                // One unmeasured request opens the keep-alive connection.
                one(&client, &url).await;
                let mut trips = Vec::with_capacity(per_client);
                for _ in 0..per_client {
                    if let Some(trip) = one(&client, &url).await {
                        trips.push(trip.as_secs_f64() * 1000.0);
                    }
                }
                trips
            }));
        }
        let mut all = Vec::new();
        for task in tasks {
            all.extend(task.await.context("a load client failed")?);
        }
        anyhow::Ok(all)
    })?;
    if trips.is_empty() {
        bail!("no request succeeded");
    }
    trips.sort_by(f64::total_cmp);
    let at = |q: f64| trips[((trips.len() - 1) as f64 * q).round() as usize];
    let mean = trips.iter().sum::<f64>() / trips.len() as f64;
    Ok(LatencyAccuracy {
        configured_ms: latency_ms,
        concurrency,
        requests: trips.len(),
        mean_ms: mean,
        median_ms: at(0.5),
        p95_ms: at(0.95),
        max_ms: at(1.0),
        mean_error: (mean - latency_ms) / latency_ms,
    })
}

/// Runs both measurements and prints them; fails when the endpoint misses
/// its targets (>= 5,000 requests/s, mean latency within 10%).
pub fn run(seconds: f64) -> Result<()> {
    let throughput = throughput(32, seconds, 1)?;
    println!(
        "throughput (latency 0, {} keep-alive connections, {:.1} s, server on 1 thread): {:.0} requests/s ({} completions, {} failures, {} counted by the server)",
        throughput.connections,
        throughput.seconds,
        throughput.requests_per_s,
        throughput.completions,
        throughput.failures,
        throughput.served
    );
    let mut accurate = true;
    for concurrency in [4, 16] {
        let accuracy = latency_accuracy(50.0, concurrency, 200)?;
        println!(
            "latency 50 ms, {} clients at once, {} requests: mean {:.2} ms ({:+.1}%), median {:.2} ms, p95 {:.2} ms, max {:.2} ms",
            accuracy.concurrency,
            accuracy.requests,
            accuracy.mean_ms,
            accuracy.mean_error * 100.0,
            accuracy.median_ms,
            accuracy.p95_ms,
            accuracy.max_ms
        );
        accurate &= accuracy.mean_error.abs() <= 0.10;
    }
    if throughput.requests_per_s < 5000.0 || throughput.failures > 0 || !accurate {
        bail!(
            "the endpoint missed its targets (>= 5,000 requests/s without failures, mean latency within 10%): see the figures above; a busy machine lowers them"
        );
    }
    Ok(())
}
