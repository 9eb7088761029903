//! `gil-lab serve [RUN_DIR...]`: a local web server that lists the runs it
//! was given and shows each run's dashboard; while a run is running its page
//! updates live (server-sent events, one per finished trial).
//!
//! It only reads. The URL space is fixed (`/`, `/runs/<n>/`, its `fragment`,
//! `events` and the two `raw/` files) and no part of a URL is ever joined to
//! a file path, so `..` and its encodings cannot reach anything: whatever is
//! not one of those routes is a 404.

use std::collections::HashMap;
use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result, anyhow};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use clap::Args;
use minijinja::context;
use serde::Serialize;
use tokio::sync::{Mutex, mpsc};
use tokio_stream::wrappers::ReceiverStream;

use crate::http_server::{BackgroundServer, BoundAddress, ServerKind};
use crate::run::directory::{self, RUN_FILE, TRIALS_FILE};
use crate::run::record::RunStatus;

use super::report::{self, Page};

/// Serves the dashboards of runs on a local web server (read only).
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Run directories, or folders holding run directories (default:
    /// ./gil-lab-results).
    #[arg(value_name = "RUN_DIR")]
    pub run_dirs: Vec<PathBuf>,
    /// Address to listen on; the default only accepts this machine.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Port to listen on (0: any free port).
    #[arg(long, default_value_t = 8000)]
    pub port: u16,
}

/// How often a run's files are checked for new trials.
const POLL: Duration = Duration::from_millis(250);

/// A run directory being served.
struct ServedRun {
    dir: PathBuf,
    /// Cached renders, keyed by kind (`page`, `fragment`), with the
    /// fingerprint of the files they were made from. The lock also makes
    /// concurrent requests for a changed run render it once.
    cache: Mutex<HashMap<&'static str, (Fingerprint, Bytes)>>,
}

/// What identifies the state of a run's files: sizes and modification time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Fingerprint {
    run_len: u64,
    run_modified: Option<SystemTime>,
    trials_len: u64,
    /// `inside.json` appears when `gil-lab inspect --run` adds it.
    inside_modified: Option<SystemTime>,
}

fn fingerprint(dir: &Path) -> Fingerprint {
    let run = std::fs::metadata(dir.join(RUN_FILE)).ok();
    Fingerprint {
        run_len: run.as_ref().map_or(0, |m| m.len()),
        run_modified: run.and_then(|m| m.modified().ok()),
        trials_len: std::fs::metadata(dir.join(TRIALS_FILE)).map_or(0, |m| m.len()),
        inside_modified: std::fs::metadata(dir.join(crate::run::directory::INSIDE_FILE))
            .and_then(|m| m.modified())
            .ok(),
    }
}

struct AppState {
    runs: Vec<ServedRun>,
}

type Shared = Arc<AppState>;

/// The run directories named (or found one level inside the folders named).
fn find_runs(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let defaults = [PathBuf::from("gil-lab-results")];
    let explicit = !paths.is_empty();
    let paths = if explicit { paths } else { &defaults[..] };
    let mut runs = Vec::new();
    for path in paths {
        if path.join(RUN_FILE).is_file() {
            runs.push(path.clone());
            continue;
        }
        let entries = match std::fs::read_dir(path) {
            Ok(entries) => entries,
            Err(_) if !explicit => continue,
            Err(err) => {
                return Err(err).with_context(|| {
                    format!(
                        "cannot read {}: name a run directory made by `gil-lab bench`",
                        path.display()
                    )
                });
            }
        };
        let mut found: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.join(RUN_FILE).is_file())
            .collect();
        if found.is_empty() && explicit {
            anyhow::bail!(
                "{} is not a run directory and holds none: name a run directory made by `gil-lab bench`",
                path.display()
            );
        }
        found.sort();
        runs.extend(found);
    }
    Ok(runs)
}

/// The server's routes over the given runs.
fn router(runs: Vec<PathBuf>) -> Router {
    let state = Arc::new(AppState {
        runs: runs
            .into_iter()
            .map(|dir| ServedRun {
                dir,
                cache: Mutex::new(HashMap::new()),
            })
            .collect(),
    });
    Router::new()
        .route("/", get(index))
        .route("/runs/{n}", get(run_redirect))
        .route("/runs/{n}/", get(run_page))
        .route("/runs/{n}/fragment", get(run_fragment))
        .route("/runs/{n}/events", get(run_events))
        .route("/runs/{n}/raw/{file}", get(raw_file))
        .fallback(not_found)
        .with_state(state)
}

async fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "not found\n").into_response()
}

fn server_error(err: anyhow::Error) -> Response {
    (StatusCode::INTERNAL_SERVER_ERROR, format!("{err:#}\n")).into_response()
}

/// The served run number `n`, if it is one.
fn served(state: &Shared, n: &str) -> Option<usize> {
    n.parse::<usize>().ok().filter(|&i| i < state.runs.len())
}

/// One row of the index page.
#[derive(Serialize)]
struct RunRow {
    index: usize,
    name: String,
    dir: String,
    status: String,
    started_at: String,
    preset: String,
    interpreters: Vec<String>,
    cells: usize,
    trials: usize,
    error: Option<String>,
}

fn run_row(index: usize, dir: &Path) -> RunRow {
    let name = dir.file_name().map_or_else(
        || dir.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let mut row = RunRow {
        index,
        name,
        dir: dir.display().to_string(),
        status: String::new(),
        started_at: String::new(),
        preset: String::new(),
        interpreters: vec![],
        cells: 0,
        trials: 0,
        error: None,
    };
    match directory::load(dir) {
        Ok(loaded) => {
            row.status = status_word(loaded.run.status).into();
            row.started_at = loaded.run.started_at.clone();
            row.preset = loaded.run.settings.preset.clone();
            row.interpreters = loaded
                .run
                .interpreters
                .iter()
                .map(|i| i.label.clone())
                .collect();
            row.cells = loaded.run.plan.len();
            row.trials = loaded.trials.len();
        }
        Err(err) => row.error = Some(format!("{err:#}")),
    }
    row
}

fn status_word(status: RunStatus) -> &'static str {
    match status {
        RunStatus::Running => "running",
        RunStatus::Complete => "complete",
        RunStatus::Interrupted => "interrupted",
    }
}

async fn index(State(state): State<Shared>) -> Response {
    let dirs: Vec<PathBuf> = state.runs.iter().map(|r| r.dir.clone()).collect();
    let rendered = tokio::task::spawn_blocking(move || -> Result<String> {
        let rows: Vec<RunRow> = dirs
            .iter()
            .enumerate()
            .map(|(i, d)| run_row(i, d))
            .collect();
        let env = report::environment()?;
        env.get_template("index.html")
            .and_then(|t| {
                t.render(
                    context! { runs => minijinja::Value::from(minijinja::value::Serde(&rows)) },
                )
            })
            .map_err(|e| anyhow!("cannot render the index: {e:#}"))
    })
    .await;
    match rendered {
        Ok(Ok(html)) => Html(html).into_response(),
        Ok(Err(err)) => server_error(err),
        Err(err) => server_error(anyhow!("the render task failed: {err}")),
    }
}

async fn run_redirect(State(state): State<Shared>, UrlPath(n): UrlPath<String>) -> Response {
    match served(&state, &n) {
        Some(i) => Redirect::permanent(&format!("/runs/{i}/")).into_response(),
        None => not_found().await,
    }
}

/// Renders (or takes from the cache) a page of run `i`.
/// The page is kept as `Bytes`: every response shares the one buffer.
async fn cached(state: &Shared, i: usize, kind: &'static str) -> Result<Bytes> {
    let run = &state.runs[i];
    let mut cache = run.cache.lock().await;
    let now = fingerprint(&run.dir);
    if let Some((seen, html)) = cache.get(kind)
        && *seen == now
    {
        return Ok(html.clone());
    }
    let dir = run.dir.clone();
    let html = tokio::task::spawn_blocking(move || -> Result<String> {
        let loaded = directory::load(&dir)?;
        let page = match kind {
            "fragment" => Page::Fragment,
            _ => Page::Served {
                base: format!("/runs/{i}/"),
                live: loaded.run.status == RunStatus::Running,
            },
        };
        report::render(&loaded, &page)
    })
    .await
    .map_err(|e| anyhow!("the render task failed: {e}"))??;
    let html = Bytes::from(html);
    cache.insert(kind, (now, html.clone()));
    Ok(html)
}

async fn run_page(State(state): State<Shared>, UrlPath(n): UrlPath<String>) -> Response {
    let Some(i) = served(&state, &n) else {
        return not_found().await;
    };
    match cached(&state, i, "page").await {
        Ok(html) => Html(html).into_response(),
        Err(err) => server_error(err),
    }
}

async fn run_fragment(State(state): State<Shared>, UrlPath(n): UrlPath<String>) -> Response {
    let Some(i) = served(&state, &n) else {
        return not_found().await;
    };
    match cached(&state, i, "fragment").await {
        Ok(html) => ([(header::CACHE_CONTROL, "no-store")], Html(html)).into_response(),
        Err(err) => server_error(err),
    }
}

async fn raw_file(
    State(state): State<Shared>,
    UrlPath((n, file)): UrlPath<(String, String)>,
) -> Response {
    let Some(i) = served(&state, &n) else {
        return not_found().await;
    };
    // Only the two files of a run, by their fixed names.
    let name = match file.as_str() {
        RUN_FILE => RUN_FILE,
        TRIALS_FILE => TRIALS_FILE,
        _ => return not_found().await,
    };
    match tokio::fs::read(state.runs[i].dir.join(name)).await {
        Ok(bytes) => (
            [
                (header::CONTENT_TYPE, "application/json"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            bytes,
        )
            .into_response(),
        Err(_) => not_found().await,
    }
}

/// What a live page is told: trials so far and the run's state.
#[derive(Serialize)]
struct Progress {
    trials: usize,
    status: &'static str,
}

fn progress_of(dir: &Path) -> Progress {
    let trials = std::fs::read(dir.join(TRIALS_FILE))
        .map(|b| b.iter().filter(|&&c| c == b'\n').count())
        .unwrap_or(0);
    let status = std::fs::read_to_string(dir.join(RUN_FILE))
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| v.get("status")?.as_str().map(str::to_owned));
    Progress {
        trials,
        status: match status.as_deref() {
            Some("complete") => "complete",
            Some("interrupted") => "interrupted",
            _ => "running",
        },
    }
}

/// Server-sent events of run `n`: `trial` whenever its files change (data:
/// the progress as JSON), `done` once the run is no longer running.
async fn run_events(State(state): State<Shared>, UrlPath(n): UrlPath<String>) -> Response {
    let Some(i) = served(&state, &n) else {
        return not_found().await;
    };
    let dir = state.runs[i].dir.clone();
    let (tx, rx) = mpsc::channel::<Result<Event, Infallible>>(8);
    // The state the page's client knows is the one at connection: take it
    // now, not in the task (which may first run after a change).
    let mut last = fingerprint(&dir);
    // A first comment makes the response start at once (headers included),
    // so that the client knows it is connected.
    let _ = tx.try_send(Ok(Event::default().comment("watching")));
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(POLL);
        loop {
            ticker.tick().await;
            let now = fingerprint(&dir);
            let progress = progress_of(&dir);
            let done = progress.status != "running";
            if now != last || done {
                last = now;
                let kind = if done { "done" } else { "trial" };
                let data = serde_json::to_string(&progress).unwrap_or_default();
                // A send error means the page went away: stop watching.
                if tx
                    .send(Ok(Event::default().event(kind).data(data)))
                    .await
                    .is_err()
                    || done
                {
                    break;
                }
            } else if tx.is_closed() {
                break;
            }
        }
    });
    Sse::new(ReceiverStream::new(rx))
        .keep_alive(KeepAlive::default())
        .into_response()
}

/// Binds the listener (an error names `--port`/`--host` when it fails).
fn bind(host: &str, port: u16) -> Result<BoundAddress> {
    BoundAddress::bind(host, port, "choose another --port (or --host)")
}

/// `gil-lab serve`: in the foreground, two runtime threads.
const FOREGROUND: ServerKind = ServerKind {
    name: "the web server",
    thread_name: "gil-lab-serve",
    workers: Some(2),
};

/// `gil-lab bench --serve`: in the background, beside the trials.
const LIVE: ServerKind = ServerKind {
    name: "the live dashboard",
    thread_name: "gil-lab-serve",
    workers: Some(2),
};

/// Runs `gil-lab serve` until it is stopped (Ctrl-C).
pub fn run(args: ServeArgs) -> Result<ExitCode> {
    let runs = find_runs(&args.run_dirs)?;
    let bound = bind(&args.host, args.port)?;
    let count = runs.len();
    bound.serve_forever(router(runs), &FOREGROUND, |addr| {
        println!("http://{addr}/");
        eprintln!("Serving {count} run(s) at http://{addr}/ (read only; Ctrl-C stops)");
    })?;
    Ok(ExitCode::SUCCESS)
}

/// A dashboard server running in the background for `gil-lab bench --serve`;
/// it stops when dropped.
pub struct LiveServer {
    server: BackgroundServer,
}

impl LiveServer {
    /// The URL of the run's live page.
    pub fn url(&self) -> String {
        format!("http://{}/runs/0/", self.server.addr())
    }
}

/// Serves `run_dir` live in a background thread, for `gil-lab bench
/// --serve`: its page updates as trials are appended to `trials.jsonl`.
/// Fails at once (naming `--port`) when the address cannot be bound.
pub fn spawn_live(run_dir: &Path, host: &str, port: u16) -> Result<LiveServer> {
    let bound = bind(host, port)?;
    let server = bound.spawn(router(vec![run_dir.to_path_buf()]), &LIVE)?;
    Ok(LiveServer { server })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::record::{RunFile, SCHEMA_VERSION};
    use std::io::Write;

    /// A run that has just started: no trial yet. (From JSON, so that the
    /// test does not need every field the record types may grow.)
    fn started_run(dir: &Path) {
        let run: RunFile = serde_json::from_value(serde_json::json!({
            "schema": SCHEMA_VERSION, "gil_lab_version": "0.1.0",
            "started_at": "2026-11-26T19:00:00Z", "status": "running",
            "settings": {"preset": "quick", "scale": 0.2, "seed": 1, "warmup": 1,
                "min_runs": 3, "max_runs": 6, "target_rel_ci": 0.03, "timeout_s": 120.0,
                "budget_s": 20.0, "usable_cores": 2},
            "machine": {}, "interpreters": [], "plan": [],
        }))
        .unwrap();
        directory::RunDir::create(dir, &run).unwrap();
    }

    use crate::http_server::test_client::get;

    #[test]
    fn live_server_serves_the_run_and_stops_when_dropped() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("run");
        started_run(&dir);
        let server = spawn_live(&dir, "127.0.0.1", 0).unwrap();
        assert!(server.url().ends_with("/runs/0/"), "{}", server.url());
        let addr = server.server.addr();
        let page = get(addr, "/runs/0/");
        assert!(page.starts_with("HTTP/1.1 200"), "{page}");
        assert!(page.contains("data-live=\"true\""));
        // An open event stream must not keep the server from stopping.
        let mut events = std::net::TcpStream::connect(addr).unwrap();
        write!(
            events,
            "GET /runs/0/events HTTP/1.1\r\nHost: {addr}\r\n\r\n"
        )
        .unwrap();
        let began = std::time::Instant::now();
        drop(server);
        assert!(began.elapsed() < Duration::from_secs(20));
        assert!(
            std::net::TcpStream::connect(addr).is_err(),
            "still listening"
        );
    }

    #[test]
    fn a_busy_port_is_an_error_naming_the_flag() {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = taken.local_addr().unwrap().port();
        let err = bind("127.0.0.1", port).unwrap_err();
        assert!(format!("{err:#}").contains("--port"), "{err:#}");
    }

    #[test]
    fn only_listed_runs_are_served() {
        let state = Arc::new(AppState { runs: vec![] });
        assert!(served(&state, "0").is_none());
        assert!(served(&state, "..").is_none());
        assert!(served(&state, "-1").is_none());
    }
}
