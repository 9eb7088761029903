//! The `service` scenario's open-loop measurement on a real interpreter, a
//! real runner process and the built-in endpoint: a deliberately stalled
//! worker (the spec's `stall`) makes the requests behind it queue, and they
//! must count their whole wait from their scheduled arrival; a rate the
//! service cannot keep up with is reported as not sustainable (drops), not
//! as a lower throughput with good latencies. No assertion is on how fast
//! anything ran: a stall is a sleep, which lasts at least its length.

mod common;

use std::collections::BTreeMap;

use gil_lab::llm::bench::{EndpointKind, LlmSettings};
use gil_lab::llm::server::{self, ServerConfig};
use gil_lab::run::record::{InterpreterKind, InterpreterRecord};
use gil_lab::service::{self, Options, figures};
use gil_lab::vocabulary::Approach;

const STALL_S: f64 = 1.5;

fn python() -> InterpreterRecord {
    let path = common::default_python();
    InterpreterRecord {
        id: "cpython-3.13".into(),
        label: "CPython 3.13".into(),
        kind: InterpreterKind::Python,
        path,
        flags: vec![],
        implementation: "CPython".into(),
        version: "3.13".into(),
        free_threaded: false,
        gil_forced: None,
        facts: None,
    }
}

fn endpoint() -> (server::ServerHandle, LlmSettings) {
    let handle = server::start(ServerConfig::default()).expect("the endpoint starts");
    let settings = LlmSettings {
        endpoint: EndpointKind::Builtin,
        url: handle.url(),
        model: server::DEFAULT_MODEL.into(),
        api_key_env: None,
        server: None,
    };
    (handle, settings)
}

/// One worker, 8 requests 100 ms apart; request 0's worker sleeps 1.5 s.
fn stalled(drain_s: f64) -> (gil_lab::protocol::service::RawLevel, f64) {
    let (_server, llm) = endpoint();
    let mut options = Options::new(250.0, 7);
    options.workers = 1;
    options.level_s = 0.8;
    options.drain_s = drain_s;
    options.min_requests = 8;
    options.repeat_marginal = false;
    options.stall = Some((0, STALL_S));
    let spec = service::spec(&llm, &options, Approach::Threads, None, vec![10.0]);
    let output = service::spawn(&python(), &spec, 120).expect("the service runner runs");
    let level = output.levels.into_iter().next().expect("one level");
    let stall_end = level
        .requests
        .iter()
        .find(|r| r.index == 0)
        .map_or(level.first_arrival + STALL_S, |r| r.start + STALL_S);
    (level, stall_end)
}

#[test]
fn requests_queued_behind_a_stalled_worker_count_their_wait_from_their_scheduled_arrival() {
    let (level, stall_end) = stalled(10.0);
    assert_eq!(level.scheduled, 8);
    assert_eq!(level.dropped, 0, "a 10 s drain leaves none behind");
    for request in level.requests.iter().filter(|r| r.index > 0) {
        assert!(request.ok, "{:?}", request.error);
        // It could not start before the one worker was free again...
        assert!(
            request.start >= stall_end,
            "request {} started during the stall",
            request.index
        );
        // ...and its latency counts from when it was due, not from then.
        let latency = request.end - request.scheduled;
        assert!(
            latency >= stall_end - request.scheduled,
            "request {}: {latency:.3} s counted from when it started, not its arrival",
            request.index
        );
    }
    let figures = figures::level(&level, &BTreeMap::new(), 250.0);
    // Every request behind the stall waited more than the objective.
    assert!(figures.latency_ms.p50 > 250.0, "{:?}", figures.latency_ms);
    assert!(figures.queue_ms.p99 > 250.0, "{:?}", figures.queue_ms);
    assert!(!figures.meets_objective);
    assert_eq!(gil_lab::run::service::sustainable_rate(&[figures]), None);
}

#[test]
fn a_rate_the_service_cannot_keep_up_with_is_reported_as_not_sustainable() {
    // The level ends 0.2 s after the last arrival, still inside the stall:
    // the requests behind it are dropped, not left out of the figures.
    let (level, _) = stalled(0.2);
    assert!(
        level.dropped >= 7,
        "dropped {} of {}",
        level.dropped,
        level.scheduled
    );
    let figures = figures::level(&level, &BTreeMap::new(), 250.0);
    assert!(!figures.meets_objective);
    let why = figures.why_not.unwrap_or_default();
    assert!(
        why.contains("requests not done by the level's end"),
        "{why}"
    );
}

/// The native twin's service mode (`gil-lab twin service`) serves the same
/// requests as the Python runner: same spec in, same result shape out, and
/// for every request index the same digest (the same work was done).
#[test]
fn the_native_twin_serves_the_same_requests_as_the_python_runner() {
    let (_server, llm) = endpoint();
    let mut options = Options::new(5000.0, 11);
    options.workers = 2;
    options.level_s = 0.5;
    options.drain_s = 10.0;
    options.min_requests = 8;
    options.repeat_marginal = false;
    let spec = service::spec(&llm, &options, Approach::Threads, None, vec![16.0]);
    let twin = InterpreterRecord {
        id: "native".into(),
        label: "native twin".into(),
        kind: InterpreterKind::Native,
        path: std::path::PathBuf::from(env!("CARGO_BIN_EXE_gil-lab")),
        flags: vec![],
        implementation: "native".into(),
        version: "twin".into(),
        free_threaded: true,
        gil_forced: None,
        facts: None,
    };
    let native = service::spawn(&twin, &spec, 120).expect("the twin's service mode runs");
    let python = service::spawn(&python(), &spec, 120).expect("the Python runner runs");
    let digests = |levels: &[gil_lab::protocol::service::RawLevel]| -> BTreeMap<u32, String> {
        levels
            .iter()
            .flat_map(|l| l.requests.iter())
            .filter_map(|r| Some((r.index, r.digest.clone()?)))
            .collect()
    };
    let (native, python) = (digests(&native.levels), digests(&python.levels));
    assert_eq!(native.len(), 8, "a 10 s drain leaves none behind");
    assert_eq!(native, python);
    let calibration = service::spawn(
        &twin,
        &service::spec(&llm, &options, Approach::Threads, Some(4), vec![]),
        60,
    )
    .expect("the twin calibrates")
    .calibration
    .expect("a calibration");
    assert_eq!(calibration.requests, 4);
}
