//! Compatibility with a client nobody here wrote: the official `openai`
//! Python package (from PyPI, installed by this test into a venv cached under
//! Cargo's target directory) talks to `gil-lab llm-serve`: a normal and a
//! streamed chat completion, the model list, a malformed request, and the
//! 429 path (its own retries, honouring `retry-after-ms`, then a
//! `RateLimitError` when retries are off).

mod common;

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

const GIL_LAB: &str = env!("CARGO_BIN_EXE_gil-lab");

/// The interpreter that makes the venv (any CPython 3.9+ of the machine).
fn base_python() -> PathBuf {
    [
        "/root/.pyenv/versions/3.12.1/bin/python3.12",
        "/root/.pyenv/versions/3.13.0/bin/python3.13",
        "/usr/bin/python3",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.is_file())
    .expect("a CPython to make the openai venv with")
}

/// A venv with `openai` installed, made once and reused by later runs.
fn openai_python() -> PathBuf {
    common::cached_venv("openai-venv", &base_python(), &["openai>=1.0"])
}

/// A `gil-lab llm-serve` child (killed on drop) and its URL.
struct Endpoint {
    _process: common::ChildGuard,
    url: String,
}

impl Endpoint {
    fn start(args: &[&str]) -> Endpoint {
        let (process, url) = common::ChildGuard::start_server(
            Command::new(GIL_LAB)
                .args(["llm-serve", "--port", "0"])
                .args(args),
        );
        Endpoint {
            _process: process,
            url,
        }
    }
}

/// What the openai client does, printed as one JSON object.
const SCRIPT: &str = r#"
import json, sys, threading, time
import openai

url, limited_url = sys.argv[1], sys.argv[2]
client = openai.OpenAI(base_url=url, api_key="unused")
messages = [{"role": "user", "content": "Plan a route for the agents."}]
out = {"version": openai.__version__}

reply = client.chat.completions.create(model="gil-lab-sim", messages=messages, max_tokens=6)
out["text"] = reply.choices[0].message.content
out["finish_reason"] = reply.choices[0].finish_reason
out["completion_tokens"] = reply.usage.completion_tokens

pieces, usage = [], None
stream = client.chat.completions.create(model="gil-lab-sim", messages=messages, max_tokens=6,
                                        stream=True, stream_options={"include_usage": True})
for chunk in stream:
    if chunk.usage is not None:
        usage = chunk.usage.completion_tokens
    for choice in chunk.choices:
        pieces.append(choice.delta.content or "")
out["streamed"] = "".join(pieces)
out["streamed_usage"] = usage
out["models"] = [m.id for m in client.models.list()]

try:
    client.chat.completions.create(model="gil-lab-sim", messages=[])
except openai.BadRequestError as error:
    out["bad_request"] = [error.status_code, error.body.get("type") if isinstance(error.body, dict) else None]

# The 429 path: one slot, 400 ms per answer. A request sent while another
# holds the slot is refused with retry-after-ms: 400; openai retries it.
limited = openai.OpenAI(base_url=limited_url, api_key="unused", max_retries=3)
holder = threading.Thread(target=lambda: limited.chat.completions.create(
    model="gil-lab-sim", messages=messages))
holder.start()
time.sleep(0.15)
started = time.monotonic()
raw = limited.chat.completions.with_raw_response.create(model="gil-lab-sim", messages=messages)
out["retried_ok"] = raw.parse().choices[0].message.content is not None
out["retried_after_s"] = time.monotonic() - started
holder.join()
no_retry = openai.OpenAI(base_url=limited_url, api_key="unused", max_retries=0)
holder = threading.Thread(target=lambda: limited.chat.completions.create(
    model="gil-lab-sim", messages=messages))
holder.start()
time.sleep(0.15)
try:
    no_retry.chat.completions.create(model="gil-lab-sim", messages=messages)
except openai.RateLimitError as error:
    out["rate_limited"] = [error.status_code, error.response.headers.get("retry-after-ms")]
holder.join()
print(json.dumps(out))
"#;

#[test]
fn the_official_openai_client_talks_to_llm_serve() {
    let python = openai_python();
    let endpoint = Endpoint::start(&["--latency", "20", "--per-token", "2"]);
    let limited = Endpoint::start(&["--latency", "400", "--max-concurrency", "1"]);
    let output = Command::new(python)
        .args(["-c", SCRIPT, &endpoint.url, &limited.url])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let out: Value = serde_json::from_slice(&output.stdout).unwrap();
    let text = out["text"].as_str().unwrap();
    assert_eq!(text.split(' ').count(), 6, "{out}");
    assert_eq!(out["finish_reason"], "length");
    assert_eq!(out["completion_tokens"], 6);
    assert_eq!(out["streamed"], text, "streaming gives the same answer");
    assert_eq!(out["streamed_usage"], 6);
    assert_eq!(out["models"], serde_json::json!(["gil-lab-sim"]));
    assert_eq!(
        out["bad_request"],
        serde_json::json!([400, "invalid_request_error"])
    );
    assert_eq!(out["retried_ok"], true);
    // Refused at once, retried after the 400 ms asked for (the holder had
    // about 250 ms left), then answered in 400 ms.
    let waited = out["retried_after_s"].as_f64().unwrap();
    assert!(waited >= 0.6, "{out}");
    assert_eq!(out["rate_limited"], serde_json::json!([429, "400"]));
}
