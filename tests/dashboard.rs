//! `gil-lab report` and `gil-lab serve` on a run directory assembled here:
//! the report's data and structure (snapshots), escaping of hostile
//! interpreter labels and paths, the server's routes, path traversal, live
//! events and 200 concurrent requests.
//!
//! The fixture run is written from given work-phase times and per-thread CPU
//! timelines (threads taking turns under the GIL, side by side without it),
//! so every number the dashboard shows follows from the inputs; the
//! statistics are computed by gil-lab itself (the run has no summary yet).

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// A hostile interpreter label: markup and both kinds of quotes.
const HOSTILE_LABEL: &str = r#"CPython 3.13.5t <script>alert("label")</script> 'quoted' "double""#;
/// A hostile interpreter path.
const HOSTILE_PATH: &str = r#"/opt/"><script>alert('path')</script>/bin/python3.13t"#;

struct Interp {
    id: &'static str,
    label: &'static str,
    path: &'static str,
    free_threaded: bool,
    gil_forced: Option<bool>,
    kind: &'static str,
}

const INTERPRETERS: [Interp; 4] = [
    Interp {
        id: "cpython-3.13.5",
        label: "CPython 3.13.5",
        path: "/opt/cpython-3.13.5/bin/python3.13",
        free_threaded: false,
        gil_forced: None,
        kind: "python",
    },
    Interp {
        id: "cpython-3.13.5t",
        label: HOSTILE_LABEL,
        path: HOSTILE_PATH,
        free_threaded: true,
        gil_forced: None,
        kind: "python",
    },
    Interp {
        id: "cpython-3.13.5t-gil1",
        label: "CPython 3.13.5t with PYTHON_GIL=1",
        path: HOSTILE_PATH,
        free_threaded: true,
        gil_forced: Some(true),
        kind: "python",
    },
    Interp {
        id: "native",
        label: "native twin (Rust)",
        path: "/usr/local/bin/gil-lab",
        free_threaded: true,
        gil_forced: None,
        kind: "native",
    },
];

/// How the lanes of a fixture trial use the CPU.
#[derive(Clone, Copy)]
enum Shape {
    /// One busy thread.
    Alone,
    /// Two threads taking turns (the GIL).
    Turns,
    /// Two threads busy at once.
    SideBySide,
    /// Two worker processes busy at once, the parent idle.
    Processes,
}

/// Median work-phase seconds and lane shape of a cell.
fn plan_of(interpreter: &str, approach: &str) -> (f64, Shape) {
    match (interpreter, approach) {
        ("native", "sequential") => (0.050, Shape::Alone),
        ("native", _) => (0.026, Shape::SideBySide),
        (_, "sequential") if interpreter.ends_with("gil1") => (0.440, Shape::Alone),
        (_, "sequential") if interpreter.ends_with('t') => (0.460, Shape::Alone),
        (_, "sequential") => (0.400, Shape::Alone),
        (_, "threads") if interpreter.ends_with('t') => (0.235, Shape::SideBySide),
        (_, "threads") => (0.410, Shape::Turns),
        (_, _) => (0.260, Shape::Processes),
    }
}

/// The sampler's report of a trial: samples every 10 ms over `wall` seconds.
fn timeline(shape: Shape, wall: f64) -> Value {
    let n = (wall / 0.01).round() as u64;
    let times: Vec<u64> = (1..=n).map(|i| i * 10_000).collect();
    let busy = |f: &dyn Fn(u64) -> u32| -> Vec<u32> { (1..=n).map(f).collect() };
    let lane = |pid: u32, tid: u32, kind: &str, cpu: Vec<u32>| {
        let cpu_s = cpu.iter().map(|&c| f64::from(c)).sum::<f64>() * 1e-6;
        json!({"pid": pid, "tid": tid, "name": "python3", "kind": kind, "first_sample": 0,
               "cpu_us": cpu, "cpu_s": cpu_s})
    };
    let lanes = match shape {
        Shape::Alone => vec![lane(100, 100, "process", busy(&|_| 9_800))],
        Shape::Turns => vec![
            lane(100, 100, "process", busy(&|_| 300)),
            lane(
                100,
                101,
                "thread",
                busy(&|i| if i % 2 == 0 { 9_700 } else { 0 }),
            ),
            lane(
                100,
                102,
                "thread",
                busy(&|i| if i % 2 == 1 { 9_700 } else { 0 }),
            ),
        ],
        Shape::SideBySide => vec![
            lane(100, 100, "process", busy(&|_| 300)),
            lane(100, 101, "thread", busy(&|_| 9_700)),
            lane(100, 102, "thread", busy(&|_| 9_700)),
        ],
        Shape::Processes => vec![
            lane(100, 100, "process", busy(&|_| 300)),
            lane(100, 103, "thread", busy(&|_| 5)),
            lane(200, 200, "process", busy(&|_| 9_600)),
            lane(201, 201, "process", busy(&|_| 9_600)),
        ],
    };
    json!({"interval_s": 0.01, "samples": n, "mean_interval_s": 0.01,
           "sample_times_us": times, "memory_bytes": vec![20_000_000u64; n as usize],
           "peak_memory_bytes": 20_000_000u64, "lanes": lanes, "processes": [],
           "cpu_s": 0.001, "overhead": 0.002})
}

/// Writes the fixture run: `cpu` on the four interpreters, sequential,
/// threads ×2 and processes ×2 (the twin: sequential and threads), one warmup
/// and five measured trials each.
fn write_fixture(dir: &Path, status: &str) {
    write_fixture_of(dir, status, &INTERPRETERS.iter().collect::<Vec<_>>());
}

/// The fixture run on some of the interpreters only.
fn write_fixture_of(dir: &Path, status: &str, chosen: &[&Interp]) {
    std::fs::create_dir_all(dir).unwrap();
    let interpreters: Vec<Value> = chosen
        .iter()
        .map(|i| {
            json!({"id": i.id, "label": i.label, "kind": i.kind, "path": i.path,
                   "flags": if i.gil_forced == Some(true) { json!(["-X", "gil=1"]) } else { json!([]) },
                   "implementation": if i.kind == "native" { "native" } else { "CPython" },
                   "version": if i.kind == "native" { "0.1.0" } else { "3.13.5" },
                   "free_threaded": i.free_threaded, "gil_forced": i.gil_forced, "facts": {}})
        })
        .collect();
    let mut cells = Vec::new();
    for i in chosen {
        let approaches: &[&str] = if i.kind == "native" {
            &["sequential", "threads"]
        } else {
            &["sequential", "threads", "processes"]
        };
        for &approach in approaches {
            let workers = if approach == "sequential" { 1 } else { 2 };
            cells.push(json!({"scenario": "cpu", "interpreter": i.id, "approach": approach, "workers": workers}));
        }
    }
    let plan: Vec<Value> = cells
        .iter()
        .map(|c| {
            let spec = json!({"scenario": c["scenario"], "approach": c["approach"], "workers": c["workers"],
                              "scale": 0.3, "seed": 1, "start_method": null, "llm": null});
            json!({"cell": c, "spec": spec, "command": ["python3"], "env": {}})
        })
        .collect();
    let mut lines = String::new();
    let mut index = 0u64;
    for repetition in 0..6u32 {
        for cell in &cells {
            let interpreter = cell["interpreter"].as_str().unwrap();
            let approach = cell["approach"].as_str().unwrap();
            let (work, shape) = plan_of(interpreter, approach);
            // A fixed spread around the median: -2%, -1%, 0, +1%, +2%.
            let work = work * (1.0 + 0.01 * (f64::from(repetition % 5) - 2.0));
            let start = 0.045;
            let pool = if approach == "processes" {
                0.030
            } else {
                0.001
            };
            let wall = start + 0.010 + pool + work + 0.002;
            let free = interpreter.contains("5t");
            let forced = interpreter.ends_with("gil1");
            // The GIL is off in the twin and in the free-threaded build.
            let gil = json!(!(interpreter == "native" || (free && !forced)));
            // One trial of a free-threaded build saw the GIL turned back on
            // in a worker process (as an old C extension would do).
            let worker_gil = if free && !forced && approach == "processes" && repetition == 3 {
                json!([false, true])
            } else {
                json!([])
            };
            let memory = if approach == "processes" {
                48_000_000u64
            } else {
                18_000_000
            } + if free { 4_000_000 } else { 0 };
            let record = json!({
                "schema": 1, "index": index, "cell": cell, "repetition": repetition,
                "warmup": repetition == 0,
                "started_at": format!("2026-11-26T19:00:{:02}Z", index % 60),
                "status": "ok",
                "measurement": {"wall_s": wall, "user_s": wall * 0.9, "sys_s": wall * 0.05,
                    "parallelism": if approach == "sequential" || shape_is_turns(shape) { 0.95 } else { 1.8 },
                    "peak_memory_bytes": memory, "voluntary_context_switches": 10,
                    "involuntary_context_switches": 2, "samples": (wall / 0.01) as u64, "sampler_cpu_s": 0.001},
                "runner": {"protocol": 1,
                    "runtime": {"implementation": "CPython", "version": "3.13.5", "free_threaded_build": free, "pid": 100},
                    "gil_enabled_start": gil, "gil_enabled_end": gil,
                    "worker_gil_enabled": worker_gil,
                    "clock_t0": 1000.0,
                    "phases": {"setup": 0.010, "pool_start": pool, "work": work, "teardown": 0.002},
                    "sharing": null, "tasks": [], "digest": "0123456789abcdef"},
                "reference_digest": "0123456789abcdef",
                "timeline": timeline(shape, wall),
            });
            lines.push_str(&format!("{record}\n"));
            index += 1;
        }
    }
    std::fs::write(dir.join("trials.jsonl"), lines).unwrap();
    let run = json!({
        "schema": 1, "gil_lab_version": "0.1.0",
        "started_at": "2026-11-26T19:00:00Z", "status": status,
        "settings": {"preset": "default", "scale": 0.3, "seed": 1, "warmup": 1, "min_runs": 5,
            "max_runs": 12, "target_rel_ci": 0.03, "timeout_s": 120.0, "budget_s": 100.0,
            "usable_cores": 2},
        "machine": {"cpu_model": "Test CPU <b>bold</b>", "physical_cores": 2, "logical_cores": 2,
            "usable_cores": 2, "cpu_quota_cores": null, "memory_bytes": 25_769_803_776u64,
            "memory_available_bytes": 24_000_000_000u64, "os": "Debian GNU/Linux 12 (bookworm)",
            "kernel": "6.1.0-test", "arch": "x86_64", "governor": null, "virtualized": true,
            "load_average": [0.5, 0.4, 0.3]},
        "interpreters": interpreters,
        "plan": plan,
    });
    std::fs::write(
        dir.join("run.json"),
        serde_json::to_string_pretty(&run).unwrap(),
    )
    .unwrap();
}

fn shape_is_turns(shape: Shape) -> bool {
    matches!(shape, Shape::Turns)
}

/// Writes the fixture and its report; returns (run dir, report HTML).
fn report_of_fixture(tmp: &Path) -> (PathBuf, String) {
    let dir = tmp.join("run");
    write_fixture(&dir, "complete");
    let out = tmp.join("report.html");
    common::gil_lab()
        .args(["report"])
        .arg(&dir)
        .arg("-o")
        .arg(&out)
        .assert()
        .success();
    (dir, std::fs::read_to_string(&out).unwrap())
}

/// Rounds every float to 4 significant decimals so that snapshots do not
/// depend on the last bits of floating point arithmetic.
fn rounded(value: &Value) -> Value {
    match value {
        Value::Number(n) if n.is_f64() => {
            let f = n.as_f64().unwrap();
            json!((f * 1e4).round() / 1e4)
        }
        Value::Array(a) => Value::Array(a.iter().map(rounded).collect()),
        Value::Object(o) => Value::Object(o.iter().map(|(k, v)| (k.clone(), rounded(v))).collect()),
        other => other.clone(),
    }
}

/// The outline of a page: section ids and headings, charts with their marks.
fn outline(html: &str) -> String {
    let mut out = String::new();
    for (i, _) in html.match_indices("<section id=\"") {
        let id = &html[i + 13..];
        out.push_str(&format!("section {}\n", &id[..id.find('"').unwrap()]));
    }
    for (i, _) in html.match_indices("<figure class=\"chart") {
        let tag = &html[i..i + html[i..].find('>').unwrap()];
        let id = tag
            .split("id=\"chart-")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        let marks = tag
            .split("data-marks=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        out.push_str(&format!("chart {id} marks={marks}\n"));
    }
    out
}

#[test]
fn report_data_and_structure_match_the_snapshots() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, html) = report_of_fixture(tmp.path());
    let mut data = common::embedded_data(&html);
    data["run"]["dir"] = json!("[run dir]");
    insta::assert_json_snapshot!("report_data", rounded(&data));
    insta::assert_snapshot!("report_outline", outline(&html));
}

#[test]
fn report_shows_every_section_with_real_content() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, html) = report_of_fixture(tmp.path());
    let data = common::embedded_data(&html);
    // The verdict: free-threaded threads win, with speedup and memory.
    let sentence = data["verdicts"][0]["sentence"].as_str().unwrap();
    assert!(
        sentence.starts_with(
            "cpu: free-threaded threads, 1.96× at 2 workers, 0.4× the memory of processes"
        ),
        "{sentence}"
    );
    // The advice links to its cell's row by the cell's key, not its words.
    let cell = &data["advice"]["recommendations"][0]["cell"];
    let anchor = data["advice_links"]["cpu"].as_str().unwrap();
    let row = data["cells"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["anchor"] == anchor)
        .unwrap_or_else(|| panic!("no row {anchor}"));
    assert_eq!(
        (
            &row["scenario"],
            &row["interpreter"],
            &row["approach"],
            &row["workers"]
        ),
        (
            &cell["scenario"],
            &cell["interpreter"],
            &cell["approach"],
            &cell["workers"]
        )
    );
    assert!(html.contains(&format!("<tr id=\"{anchor}\"")));
    assert!(html.contains(&format!("href=\"#{anchor}\"")));
    // The GIL turned back on in one trial of the free-threaded build.
    assert_eq!(data["interpreters"][1]["gil_turned_on"], true);
    assert!(
        data["interpreters"][1]["warning"]
            .as_str()
            .unwrap()
            .contains("processes")
    );
    // Every chart has marks; every timeline has lanes.
    for chart in data["scenarios"][0]["charts"].as_array().unwrap() {
        assert!(chart["marks"].as_u64().unwrap() > 0, "{chart}");
    }
    let headline = data["scenarios"][0]["timelines"]["headline"]
        .as_array()
        .unwrap();
    assert_eq!(
        headline.len(),
        4,
        "GIL threads, free-threaded, GIL forced, processes"
    );
    let readings: Vec<&str> = headline
        .iter()
        .map(|t| t["reading"].as_str().unwrap())
        .collect();
    assert!(readings[0].starts_with("taking turns"), "{readings:?}");
    assert!(readings[1].starts_with("side by side"), "{readings:?}");
    assert!(readings[3].starts_with("side by side"), "{readings:?}");
    // The claims check: 3.13.5t vs 3.13.5 is 15% slower sequentially here,
    // next to the published figures with their sources.
    let measured = &data["claims"]["measured"][0];
    assert_eq!(measured["kind"], "free_threaded_vs_default");
    assert!((measured["time_ratio"]["point"].as_f64().unwrap() - 1.15).abs() < 1e-9);
    assert!(html.contains("https://peps.python.org/pep-0779/"));
    // The native twin is drawn as the ceiling; the raw files are inside.
    assert!(html.contains("native twin (ceiling)"));
    assert_eq!(html.matches("application/gzip+base64").count(), 2);
    assert!(
        !html.contains("http://") || !html.contains("src=\"http"),
        "nothing fetched"
    );
}

#[test]
fn report_without_a_free_threaded_build_says_how_to_get_one() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    write_fixture_of(&dir, "complete", &[&INTERPRETERS[0], &INTERPRETERS[3]]);
    let out = tmp.path().join("report.html");
    common::gil_lab()
        .arg("report")
        .arg(&dir)
        .arg("-o")
        .arg(&out)
        .assert()
        .success();
    let data = common::embedded_data(&std::fs::read_to_string(&out).unwrap());
    let sentence = data["verdicts"][0]["sentence"].as_str().unwrap();
    assert!(
        sentence.starts_with("cpu: processes, 1.54× at 2 workers, 2.7× the memory of threads"),
        "{sentence}"
    );
    let timelines = &data["scenarios"][0]["timelines"];
    assert!(
        timelines["headline_missing"]
            .as_str()
            .unwrap()
            .contains("gil-lab python install 3.13t")
    );
    assert!(
        data["claims"]["missing"]
            .as_str()
            .unwrap()
            .contains("no free-threaded interpreter")
    );
    assert_eq!(data["claims"]["measured"], json!([]));
}

#[test]
fn hostile_label_and_path_render_as_text() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, html) = report_of_fixture(tmp.path());
    assert!(
        !html.contains("<script>alert"),
        "a hostile string became markup"
    );
    assert!(!html.contains("<b>bold</b>"), "machine text became markup");
    // Page script, embedded data and the two raw files: nothing else.
    assert_eq!(html.matches("<script").count(), 4);
    // The label is shown, escaped, in the interpreter table, the charts'
    // text and their hover titles.
    assert!(
        html.contains("&lt;script&gt;alert("),
        "the label is not shown"
    );
    assert!(
        html.contains("&#x27;quoted&#x27;")
            || html.contains("&apos;quoted&apos;")
            || html.contains("&#39;quoted&#39;")
    );
    // And it round-trips exactly through the embedded data.
    let data = common::embedded_data(&html);
    assert_eq!(data["interpreters"][1]["label"], HOSTILE_LABEL);
    assert_eq!(data["interpreters"][1]["path"], HOSTILE_PATH);
}

#[test]
fn raw_files_embedded_in_the_report_are_the_run_files() {
    use base64::Engine;
    let tmp = tempfile::tempdir().unwrap();
    let (dir, html) = report_of_fixture(tmp.path());
    for (n, name) in ["run.json", "trials.jsonl"].iter().enumerate() {
        let marker = format!("id=\"raw-{n}\">");
        let start = html.find(&marker).unwrap() + marker.len();
        let packed = &html[start..start + html[start..].find("</script>").unwrap()];
        let gz = base64::engine::general_purpose::STANDARD
            .decode(packed.trim())
            .unwrap_or_else(|e| panic!("{name}: not base64 as the page's atob needs it: {e}"));
        let mut unpacked = Vec::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_end(&mut unpacked)
            .unwrap();
        assert_eq!(unpacked, std::fs::read(dir.join(name)).unwrap(), "{name}");
    }
}

#[test]
fn report_writes_into_the_run_directory_by_default() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    write_fixture(&dir, "complete");
    let output = common::gil_lab().arg("report").arg(&dir).output().unwrap();
    assert!(output.status.success());
    let path = dir.join("report.html");
    assert_eq!(
        common::last_line(&output).unwrap(),
        path.display().to_string()
    );
    assert!(std::fs::metadata(&path).unwrap().len() > 10_000);
}

#[test]
fn report_of_a_missing_run_is_a_one_line_error() {
    let tmp = tempfile::tempdir().unwrap();
    let output = common::gil_lab()
        .arg("report")
        .arg(tmp.path().join("nope"))
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("is not a gil-lab run directory"),
        "{stderr}"
    );
}

/// A `gil-lab serve` child, killed when dropped.
struct Server {
    _process: common::ChildGuard,
    addr: String,
}

impl Server {
    fn start(dirs: &[&Path]) -> Server {
        let (process, url) = common::ChildGuard::start_server(
            Command::new(env!("CARGO_BIN_EXE_gil-lab"))
                .arg("serve")
                .args(dirs)
                .args(["--port", "0"]),
        );
        let addr = url
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        assert!(!addr.is_empty(), "serve printed no address");
        Server {
            _process: process,
            addr,
        }
    }

    /// Sends one raw HTTP/1.1 request line for `target` (exactly as given,
    /// no normalisation) and returns the status code and body.
    fn request(&self, method: &str, target: &str) -> (u16, String) {
        let mut stream = TcpStream::connect(&self.addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        write!(
            stream,
            "{method} {target} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            self.addr
        )
        .unwrap();
        let mut response = Vec::new();
        stream.read_to_end(&mut response).unwrap();
        let text = String::from_utf8_lossy(&response).into_owned();
        let status = text
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no status line in {text:?}"));
        let body = text
            .split_once("\r\n\r\n")
            .map_or("", |(_, b)| b)
            .to_string();
        (status, body)
    }
}

#[test]
fn serve_lists_runs_and_shows_their_dashboards() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    write_fixture(&dir, "complete");
    let server = Server::start(&[tmp.path()]);
    let (status, index) = server.request("GET", "/");
    assert_eq!(status, 200);
    assert!(index.contains("href=\"/runs/0/\""), "{index}");
    assert!(
        index.contains("&lt;script&gt;"),
        "labels escaped in the index"
    );
    let (status, page) = server.request("GET", "/runs/0/");
    assert_eq!(status, 200);
    assert_eq!(common::embedded_data(&page)["run"]["status"], "complete");
    assert!(page.contains("data-live=\"false\""));
    let (status, fragment) = server.request("GET", "/runs/0/fragment");
    assert_eq!(status, 200);
    assert!(fragment.contains("id=\"verdict\"") && !fragment.contains("<html"));
    let (status, raw) = server.request("GET", "/runs/0/raw/run.json");
    assert_eq!(status, 200);
    assert_eq!(raw, std::fs::read_to_string(dir.join("run.json")).unwrap());
    let (status, _) = server.request("GET", "/runs/0");
    assert_eq!(status, 308, "redirect to the page's canonical URL");
    // Only reads: nothing accepts a write.
    let (status, _) = server.request("POST", "/runs/0/");
    assert_eq!(status, 405);
}

#[test]
fn paths_outside_the_served_runs_are_404() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    write_fixture(&dir, "complete");
    let server = Server::start(&[&dir]);
    for target in [
        "/../../etc/passwd",
        "/runs/0/../../../../etc/passwd",
        "/runs/0/raw/../../../../etc/passwd",
        "/%2e%2e/%2e%2e/etc/passwd",
        "/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "/runs/0/raw/..%2f..%2f..%2fetc%2fpasswd",
        "/runs/0/raw/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "/runs/0/raw/%252e%252e%252f%252e%252e%252fetc%252fpasswd",
        "/runs/%2e%2e/raw/run.json",
        "/runs/1/",
        "/runs/-1/raw/run.json",
        "/runs/0/raw/report.html",
        "/etc/passwd",
        "/runs/0/raw/%2fetc%2fpasswd",
    ] {
        let (status, body) = server.request("GET", target);
        assert_eq!(status, 404, "{target}: {body}");
        assert!(!body.contains("root:"), "{target} leaked a file");
    }
}

#[test]
fn serve_answers_200_concurrent_requests() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    write_fixture(&dir, "complete");
    let server = Arc::new(Server::start(&[&dir]));
    const REQUESTS: usize = 200;
    let start = Arc::new(Barrier::new(REQUESTS));
    let began = Instant::now();
    let handles: Vec<_> = (0..REQUESTS)
        .map(|i| {
            let server = server.clone();
            let start = start.clone();
            std::thread::spawn(move || {
                let target = [
                    "/",
                    "/runs/0/",
                    "/runs/0/fragment",
                    "/runs/0/raw/trials.jsonl",
                ][i % 4];
                start.wait();
                server.request("GET", target).0
            })
        })
        .collect();
    let statuses: Vec<u16> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert!(statuses.iter().all(|&s| s == 200), "{statuses:?}");
    // Bounded: each request has a 60 s read timeout; together well under.
    assert!(began.elapsed() < Duration::from_secs(120));
}

#[test]
fn live_page_gets_an_event_per_trial_and_one_when_done() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    write_fixture(&dir, "running");
    let server = Server::start(&[&dir]);
    let (_, page) = server.request("GET", "/runs/0/");
    assert!(
        page.contains("data-live=\"true\""),
        "a running run's page is live"
    );

    let mut stream = TcpStream::connect(&server.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET /runs/0/events HTTP/1.1\r\nHost: {}\r\nAccept: text/event-stream\r\n\r\n",
        server.addr
    )
    .unwrap();
    let mut reader = BufReader::new(stream);
    let mut wait_for = |needle: &str| {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut line = String::new();
        while Instant::now() < deadline {
            line.clear();
            if reader.read_line(&mut line).unwrap_or(0) > 0 && line.contains(needle) {
                return;
            }
        }
        panic!("no `{needle}` within 10 s");
    };
    wait_for("text/event-stream");
    // A trial ends: one more line in trials.jsonl.
    let trials = std::fs::read_to_string(dir.join("trials.jsonl")).unwrap();
    let last = trials.lines().last().unwrap().to_string();
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(dir.join("trials.jsonl"))
        .unwrap();
    writeln!(file, "{last}").unwrap();
    wait_for("event: trial");
    // The run ends: run.json says complete.
    let run = std::fs::read_to_string(dir.join("run.json")).unwrap();
    std::fs::write(
        dir.join("run.json"),
        run.replace("\"running\"", "\"complete\""),
    )
    .unwrap();
    wait_for("event: done");
}
