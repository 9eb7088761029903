//! The built-in LLM endpoint (`gil-lab llm-serve`) as a client sees it over
//! real HTTP: answers, streaming, malformed requests, 429s with Retry-After,
//! the API key; and the io/mixed scenarios end to end (Python runner on every
//! approach, the native twin, `bench` with the built-in endpoint and with a
//! "real" server whose API key must never be written down).

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};

const GIL_LAB: &str = env!("CARGO_BIN_EXE_gil-lab");

/// A `gil-lab llm-serve` child process, killed on drop.
struct Endpoint {
    _process: common::ChildGuard,
    /// `http://127.0.0.1:<port>/v1`.
    url: String,
}

impl Endpoint {
    fn start(args: &[&str], env: &[(&str, &str)]) -> Endpoint {
        let (process, url) = common::ChildGuard::start_server(
            Command::new(GIL_LAB)
                .args(["llm-serve", "--port", "0", "--threads", "2"])
                .args(args)
                .envs(env.iter().copied()),
        );
        assert!(url.starts_with("http://127.0.0.1:"), "{url:?}");
        Endpoint {
            _process: process,
            url,
        }
    }

    fn addr(&self) -> String {
        self.url
            .trim_start_matches("http://")
            .trim_end_matches("/v1")
            .to_string()
    }
}

/// A response: status, lower-cased headers, body.
struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

/// One HTTP/1.1 request on a fresh connection (`Connection: close`), by
/// hand: the test depends on no client library's leniency.
fn http(endpoint: &Endpoint, method: &str, path: &str, body: &str, extra: &[&str]) -> Response {
    let mut stream = TcpStream::connect(endpoint.addr()).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut request = format!(
        "{method} /v1{path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
        endpoint.addr(),
        body.len()
    );
    for header in extra {
        request.push_str(header);
        request.push_str("\r\n");
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let raw = String::from_utf8(raw).unwrap();
    let (head, rest) = raw.split_once("\r\n\r\n").unwrap();
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_lowercase(), v.trim().to_string()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.contains("chunked"));
    let body = if chunked {
        dechunk(rest)
    } else {
        rest.to_string()
    };
    Response {
        status,
        headers,
        body,
    }
}

/// Decodes a chunked body.
fn dechunk(mut rest: &str) -> String {
    let mut body = String::new();
    loop {
        let (size, after) = rest.split_once("\r\n").unwrap();
        let size = usize::from_str_radix(size.trim(), 16).unwrap();
        if size == 0 {
            return body;
        }
        body.push_str(&after[..size]);
        rest = &after[size + 2..];
    }
}

fn chat(content: &str, extra: Value) -> String {
    let mut body =
        json!({"model": "gil-lab-sim", "messages": [{"role": "user", "content": content}]});
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    body.to_string()
}

#[test]
fn completions_are_deterministic_and_streams_end_with_done() {
    let endpoint = Endpoint::start(&["--per-token", "1"], &[]);
    let models = http(&endpoint, "GET", "/models", "", &[]);
    assert_eq!(models.status, 200);
    assert_eq!(models.json()["data"][0]["id"], "gil-lab-sim");

    let first = http(
        &endpoint,
        "POST",
        "/chat/completions",
        &chat("hi there", json!({})),
        &[],
    );
    assert_eq!(first.status, 200);
    let answer = first.json();
    assert_eq!(answer["object"], "chat.completion");
    assert_eq!(answer["choices"][0]["message"]["role"], "assistant");
    let text = answer["choices"][0]["message"]["content"]
        .as_str()
        .unwrap()
        .to_string();
    let tokens = answer["usage"]["completion_tokens"].as_u64().unwrap();
    assert_eq!(text.split(' ').count() as u64, tokens);
    let again = http(
        &endpoint,
        "POST",
        "/chat/completions",
        &chat("hi there", json!({})),
        &[],
    );
    assert_eq!(
        again.json()["choices"][0]["message"]["content"],
        text.as_str()
    );
    let other = http(
        &endpoint,
        "POST",
        "/chat/completions",
        &chat("hi where", json!({})),
        &[],
    );
    assert_ne!(
        other.json()["choices"][0]["message"]["content"],
        text.as_str()
    );

    let stream = http(
        &endpoint,
        "POST",
        "/chat/completions",
        &chat(
            "hi there",
            json!({"stream": true, "stream_options": {"include_usage": true}}),
        ),
        &[],
    );
    assert_eq!(stream.status, 200);
    assert!(
        stream
            .header("content-type")
            .unwrap()
            .starts_with("text/event-stream")
    );
    let events: Vec<&str> = stream
        .body
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .collect();
    assert_eq!(events.last(), Some(&"[DONE]"));
    let chunks: Vec<Value> = events[..events.len() - 1]
        .iter()
        .map(|e| serde_json::from_str(e).unwrap())
        .collect();
    let streamed: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(streamed, text, "the streamed pieces make the same answer");
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    assert_eq!(
        chunks[chunks.len() - 2]["choices"][0]["finish_reason"],
        "stop"
    );
    assert_eq!(chunks.last().unwrap()["usage"]["completion_tokens"], tokens);
}

#[test]
fn malformed_requests_get_openai_style_errors() {
    let endpoint = Endpoint::start(&[], &[]);
    let cases = [
        ("{", "not valid JSON"),
        ("[1]", "JSON object"),
        (
            r#"{"messages": [{"role": "user", "content": "x"}]}"#,
            "\"model\"",
        ),
        (r#"{"model": "m"}"#, "\"messages\""),
        (r#"{"model": "m", "messages": []}"#, "must not be empty"),
        (
            r#"{"model": "m", "messages": [{"role": "user", "content": 3}]}"#,
            "content",
        ),
        (
            r#"{"model": "m", "messages": [{"role": "user", "content": "x"}], "max_tokens": -1}"#,
            "max_tokens",
        ),
        (
            r#"{"model": "m", "messages": [{"role": "user", "content": "x"}], "n": 2}"#,
            "\"n\"",
        ),
    ];
    for (body, wanted) in cases {
        let response = http(&endpoint, "POST", "/chat/completions", body, &[]);
        assert_eq!(response.status, 400, "{body}");
        let error = &response.json()["error"];
        assert_eq!(error["type"], "invalid_request_error", "{body}");
        let message = error["message"].as_str().unwrap();
        assert!(message.contains(wanted), "{body}: {message}");
    }
    let missing = http(&endpoint, "GET", "/nowhere", "", &[]);
    assert_eq!(missing.status, 404);
    assert_eq!(missing.json()["error"]["code"], "unknown_url");
}

#[test]
fn over_its_limits_it_answers_429_with_retry_after() {
    // Concurrency: one slow request in flight, the next is refused.
    let endpoint = Endpoint::start(&["--latency", "3000", "--max-concurrency", "1"], &[]);
    let addr = endpoint.addr();
    let slow = std::thread::spawn(move || {
        let mut stream = TcpStream::connect(addr).unwrap();
        let body = chat("slow", json!({}));
        write!(
            stream,
            "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut out = String::new();
        stream.read_to_string(&mut out).unwrap();
        out
    });
    // Give the slow request time to take the only slot (it holds it 3 s).
    std::thread::sleep(Duration::from_millis(1000));
    let refused = http(
        &endpoint,
        "POST",
        "/chat/completions",
        &chat("fast", json!({})),
        &[],
    );
    assert_eq!(refused.status, 429);
    assert_eq!(refused.header("retry-after"), Some("3"));
    assert_eq!(refused.header("retry-after-ms"), Some("3000"));
    assert_eq!(refused.json()["error"]["type"], "rate_limit_error");
    assert!(slow.join().unwrap().starts_with("HTTP/1.1 200"));

    // Rate: 2 requests per second, the third at once is refused.
    let endpoint = Endpoint::start(&["--rate-limit", "2"], &[]);
    let statuses: Vec<u16> = (0..3)
        .map(|_| {
            http(
                &endpoint,
                "POST",
                "/chat/completions",
                &chat("x", json!({})),
                &[],
            )
            .status
        })
        .collect();
    assert_eq!(statuses, [200, 200, 429]);
    let refused = http(
        &endpoint,
        "POST",
        "/chat/completions",
        &chat("x", json!({})),
        &[],
    );
    let wait: u64 = refused.header("retry-after-ms").unwrap().parse().unwrap();
    assert!((1..=500).contains(&wait), "{wait}");
}

#[test]
fn the_api_key_is_required_when_configured() {
    let endpoint = Endpoint::start(
        &["--api-key-env", "LLM_TEST_KEY"],
        &[("LLM_TEST_KEY", "sk-abc")],
    );
    let body = chat("x", json!({}));
    assert_eq!(
        http(&endpoint, "POST", "/chat/completions", &body, &[]).status,
        401
    );
    let wrong = ["Authorization: Bearer sk-wrong"];
    assert_eq!(
        http(&endpoint, "POST", "/chat/completions", &body, &wrong).status,
        401
    );
    let right = ["Authorization: Bearer sk-abc"];
    assert_eq!(
        http(&endpoint, "POST", "/chat/completions", &body, &right).status,
        200
    );
    let output = Command::new(GIL_LAB)
        .args(["llm-serve", "--api-key-env", "GIL_LAB_SURELY_UNSET"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("GIL_LAB_SURELY_UNSET is not set"),
        "{stderr}"
    );
}

/// A CPython 3.12 or newer default build for the end-to-end tests: the
/// provisioned default 3.13 (present on every machine the test command set
/// up, with or without pyenv).
fn python() -> PathBuf {
    common::default_python()
}

fn python_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("workload")
}

#[test]
fn every_python_approach_and_the_twin_agree_on_io_and_mixed_digests() {
    let endpoint = Endpoint::start(&["--latency", "5"], &[]);
    // The Python side: the runner on every approach (workload/tests/test_llm.py).
    let output = Command::new(python())
        .args(["-m", "unittest", "-v", "tests.test_llm"])
        .current_dir(python_dir())
        .env("GIL_LAB_TEST_LLM_URL", &endpoint.url)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("test_every_approach_agrees") && !stderr.contains("skipped"),
        "{stderr}"
    );

    for scenario in ["io", "mixed"] {
        let spec = |approach: &str| {
            json!({"scenario": scenario, "approach": approach, "workers": 3, "scale": 0.125,
                   "llm": {"url": endpoint.url}})
            .to_string()
        };
        let python_result = Command::new(python())
            .args(["-m", "gil_lab.runner", &spec("sequential")])
            .current_dir(python_dir())
            .output()
            .unwrap();
        let reference: Value = serde_json::from_slice(&python_result.stdout).unwrap();
        assert_eq!(reference["result"], "success", "{reference}");
        for approach in [
            "sequential",
            "threads",
            "processes",
            "asyncio",
            "asyncio+threads",
        ] {
            let output = Command::new(GIL_LAB)
                .args(["twin", "run", &spec(approach)])
                .output()
                .unwrap();
            let twin: Value = serde_json::from_slice(&output.stdout).unwrap();
            assert_eq!(twin["result"], "success", "{approach}: {twin}");
            assert_eq!(twin["digest"], reference["digest"], "{scenario} {approach}");
        }
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn bench_runs_io_cells_on_its_own_endpoint_and_records_every_call() {
    let dir = tempfile::tempdir().unwrap();
    let run_dir = dir.path().join("run");
    let output = Command::new(GIL_LAB)
        .args([
            "bench",
            "--scenario",
            "io",
            "--approach",
            "asyncio",
            "--runs",
            "1",
        ])
        .args([
            "--warmup",
            "0",
            "--scale",
            "0.125",
            "--no-provision",
            "--json",
            "--python",
        ])
        .arg(python())
        .arg("--output")
        .arg(&run_dir)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let run: Value = serde_json::from_str(&read(&run_dir.join("run.json"))).unwrap();
    let llm = &run["settings"]["llm"];
    assert_eq!(llm["endpoint"], "builtin");
    // The default run's model latency (`--full`: 50 ms).
    assert_eq!(llm["server"]["latency"]["latency_ms"], 20.0);
    assert!(
        llm["url"]
            .as_str()
            .unwrap()
            .starts_with("http://127.0.0.1:")
    );
    let trials: Vec<Value> = read(&run_dir.join("trials.jsonl"))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // Python sequential and asyncio, the twin's sequential and asyncio.
    assert_eq!(trials.len(), 4, "{trials:?}");
    for trial in &trials {
        assert_eq!(trial["status"], "ok", "{trial}");
        let calls = trial["runner"]["llm_calls"].as_array().map_or(0, Vec::len);
        if trial["cell"]["interpreter"] != "native" {
            assert_eq!(calls, 8, "4 tasks x 2 calls");
        }
    }
    // Per interpreter (the twin may run at its own scale), one digest; the
    // trials of a round run in a shuffled order.
    let mut digests: std::collections::BTreeMap<String, Vec<Value>> = Default::default();
    for trial in &trials {
        digests
            .entry(trial["cell"]["interpreter"].to_string())
            .or_default()
            .push(trial["runner"]["digest"].clone());
    }
    assert_eq!(digests.len(), 2, "{digests:?}");
    for (interpreter, digests) in &digests {
        assert_eq!(digests.len(), 2, "{interpreter}");
        assert_eq!(digests[0], digests[1], "{interpreter}");
    }
}

#[test]
fn bench_against_a_real_server_passes_the_key_but_never_writes_it() {
    const SECRET: &str = "sk-gil-lab-test-6f1d3c9a";
    let endpoint = Endpoint::start(&["--api-key-env", "LLM_KEY"], &[("LLM_KEY", SECRET)]);
    let dir = tempfile::tempdir().unwrap();
    let run_dir = dir.path().join("run");
    let output = Command::new(GIL_LAB)
        .args([
            "bench",
            "--scenario",
            "mixed",
            "--approach",
            "threads",
            "--runs",
            "1",
        ])
        .args([
            "--warmup",
            "0",
            "--scale",
            "0.125",
            "--no-provision",
            "--no-twin",
        ])
        .args(["--llm-url", &endpoint.url, "--llm-model", "my-model"])
        .args(["--llm-api-key-env", "LLM_KEY", "--python"])
        .arg(python())
        .arg("--output")
        .arg(&run_dir)
        .env("LLM_KEY", SECRET)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let trials = read(&run_dir.join("trials.jsonl"));
    let run = read(&run_dir.join("run.json"));
    for (name, text) in [("trials.jsonl", &trials), ("run.json", &run)] {
        assert!(!text.contains(SECRET), "the API key leaked into {name}");
    }
    assert!(!stdout.contains(SECRET) && !stderr.contains(SECRET));
    // The server answered (so the trial had the key: it refuses without it).
    for line in trials.lines() {
        let trial: Value = serde_json::from_str(line).unwrap();
        assert_eq!(trial["status"], "ok", "{trial}");
        let calls = trial["runner"]["llm_calls"].as_array().unwrap();
        assert_eq!(calls.len(), 8);
        assert!(calls.iter().all(|c| c["ok"] == true && c["status"] == 200));
        if trial["cell"]["approach"] != "sequential" {
            assert!(
                trial.get("reference_digest").is_none(),
                "digests are not compared"
            );
        }
    }
    let run: Value = serde_json::from_str(&run).unwrap();
    assert_eq!(run["settings"]["llm"]["endpoint"], "external");
    assert_eq!(run["settings"]["llm"]["api_key_env"], "LLM_KEY");
    assert_eq!(run["settings"]["llm"]["model"], "my-model");

    let output = Command::new(GIL_LAB)
        .args([
            "bench",
            "--scenario",
            "io",
            "--no-provision",
            "--llm-url",
            "localhost:1",
        ])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("--llm-url localhost:1"));
}
