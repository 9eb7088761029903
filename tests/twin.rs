//! The native twin against the Python workload, both run for real: the twin
//! as `gil-lab twin run <spec>`, the Python runner with /usr/bin/python3
//! (3.11, always present here) in isolated mode, as docs/trial-protocol.md
//! shows. Their digests (and every task's results) must agree, and the twin's
//! three approaches must agree with each other.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

/// The Python that always exists here.
const PYTHON: &str = "/usr/bin/python3";
/// Puts the package root on `sys.path` and runs a module like `python -m`
/// (isolated mode drops the script folder and PYTHONPATH).
const BOOTSTRAP: &str = "import sys;sys.path.insert(0,sys.argv[1]);m=sys.argv[2];\
sys.argv=sys.argv[2:];import runpy;runpy.run_module(m,run_name='__main__',alter_sys=True)";
/// Seeds of the cross-language check: small, odd and above 2^63 (the seed is
/// an unsigned 64-bit number in both languages).
const SEEDS: [u64; 3] = [1, 20_261_126, 0x8000_0000_0000_0005];
/// Scales of the cross-language check: 4 and 8 tasks, quick in Python.
const SCALES: [f64; 2] = [0.1, 0.25];

fn gil_lab() -> assert_cmd::Command {
    let mut command = assert_cmd::Command::cargo_bin("gil-lab").expect("gil-lab is built");
    command.timeout(Duration::from_secs(120));
    command
}

/// Parses the one JSON object a runner prints (and checks that it is one line).
fn one_object(output: &Output, who: &str) -> Value {
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        stdout.lines().count(),
        1,
        "{who} must print exactly one line, printed:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{who} printed bad JSON ({e}): {stdout}"))
}

/// Runs `gil-lab twin run <spec>`; returns (exit code, result).
fn twin(spec: &Value) -> (i32, Value) {
    let output = gil_lab()
        .args(["twin", "run", &spec.to_string()])
        .output()
        .expect("gil-lab runs");
    (
        output.status.code().expect("exit code"),
        one_object(&output, "gil-lab twin run"),
    )
}

/// Starts the Python runner on `spec` (the caller waits, so several run at once).
fn start_python(spec: &Value) -> std::process::Child {
    let package_root = Path::new(env!("CARGO_MANIFEST_DIR")).join("workload");
    Command::new(PYTHON)
        .args(["-I", "-B", "-c", BOOTSTRAP])
        .arg(package_root)
        .args(["gil_lab.runner", &spec.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("/usr/bin/python3 starts")
}

/// The successful result's task results, in task order.
fn results(result: &Value) -> Vec<Value> {
    result["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .map(|t| t["result"].clone())
        .collect()
}

fn spec(scenario: &str, approach: &str, workers: u64, scale: f64, seed: u64) -> Value {
    json!({"scenario": scenario, "approach": approach, "workers": workers,
           "scale": scale, "seed": seed})
}

/// Runs every seed x scale of `scenario` in Python (all at once) and in the
/// twin, and compares digests and task results.
fn agrees_with_python(scenario: &str) {
    let specs: Vec<Value> = SEEDS
        .iter()
        .flat_map(|&seed| SCALES.map(|scale| spec(scenario, "sequential", 1, scale, seed)))
        .collect();
    let pythons: Vec<_> = specs.iter().map(start_python).collect();
    for (spec, python) in specs.iter().zip(pythons) {
        let output = python.wait_with_output().expect("the Python runner ends");
        let python = one_object(&output, "the Python runner");
        assert!(
            output.status.success() && python["result"] == "success",
            "Python runner failed on {spec}: {python}"
        );
        let (code, native) = twin(spec);
        assert_eq!(
            (code, &native["result"]),
            (0, &json!("success")),
            "{native}"
        );
        let (py_results, native_results) = (results(&python), results(&native));
        assert_eq!(
            native_results.len(),
            py_results.len(),
            "task count for {spec}"
        );
        for (index, (py, rs)) in py_results.iter().zip(&native_results).enumerate() {
            assert_eq!(rs, py, "task {index} of {spec}: twin vs Python");
        }
        assert_eq!(native["digest"], python["digest"], "digest of {spec}");
    }
}

#[test]
fn cpu_digests_equal_the_python_runners() {
    agrees_with_python("cpu");
}

#[test]
fn shared_digests_equal_the_python_runners() {
    agrees_with_python("shared");
}

/// The reference digests of docs/agents.md (CPython 3.13, scale 1.0, seed 1).
#[test]
fn reference_digests_at_scale_one() {
    for (scenario, digest) in [("cpu", "88683c5d5ee77567"), ("shared", "79258117f3cd3e42")] {
        let (code, result) = twin(&spec(scenario, "threads", 2, 1.0, 1));
        assert_eq!(code, 0, "{result}");
        assert_eq!(result["digest"], digest, "{scenario}");
    }
}

#[test]
fn every_approach_gives_the_sequential_digest() {
    for scenario in ["cpu", "shared"] {
        let (_, baseline) = twin(&spec(scenario, "sequential", 1, 0.25, 3));
        assert_eq!(baseline["result"], "success", "{baseline}");
        assert!(
            baseline["tasks"]
                .as_array()
                .unwrap()
                .iter()
                .all(|t| t["worker"] == "main")
        );
        for (approach, workers) in [("threads", 2), ("threads", 3), ("processes", 2)] {
            let (code, result) = twin(&spec(scenario, approach, workers, 0.25, 3));
            assert_eq!(code, 0, "{result}");
            assert_eq!(
                result["digest"], baseline["digest"],
                "{scenario} {approach} x{workers}"
            );
            let tasks = result["tasks"].as_array().unwrap();
            let indices: Vec<u64> = tasks.iter().map(|t| t["index"].as_u64().unwrap()).collect();
            assert_eq!(indices, (0..8).collect::<Vec<_>>(), "records in task order");
            let prefix = if approach == "threads" {
                "thread-"
            } else {
                "process-"
            };
            let mut workers_seen: Vec<&str> = tasks
                .iter()
                .map(|t| t["worker"].as_str().unwrap())
                .collect();
            assert!(
                workers_seen.iter().all(|w| w.starts_with(prefix)),
                "{workers_seen:?}"
            );
            workers_seen.sort_unstable();
            workers_seen.dedup();
            assert!(workers_seen.len() <= workers as usize);
            for task in tasks {
                let (start, end) = (
                    task["start"].as_f64().unwrap(),
                    task["end"].as_f64().unwrap(),
                );
                assert!(0.0 <= start && start <= end, "{task}");
            }
            let sharing = &result["sharing"];
            match (scenario, approach) {
                ("cpu", _) => assert!(sharing.is_null()),
                ("shared", "threads") => assert_eq!(sharing["method"], "same-object"),
                _ => {
                    assert_eq!(sharing["method"], "rebuilt");
                    assert!(sharing["cost_s"].as_f64().unwrap() > 0.0);
                }
            }
            if approach == "processes" {
                assert_eq!(
                    result["worker_gil_enabled"],
                    json!(vec![false; workers as usize])
                );
                assert_eq!(result["spec"]["start_method"], "spawn");
            }
        }
    }
}

#[test]
fn result_carries_the_protocol_fields() {
    let (code, result) = twin(&json!({"scenario": "cpu", "approach": "sequential", "scale": 0.1}));
    assert_eq!(code, 0);
    assert_eq!(result["protocol"], 1);
    // The spec as understood, defaults filled in (later protocol fields may
    // join these, so they are checked one by one).
    let wanted = json!({"scenario": "cpu", "approach": "sequential", "workers": 1, "scale": 0.1,
                        "seed": 1, "start_method": null});
    for (field, value) in wanted.as_object().unwrap() {
        assert_eq!(&result["spec"][field], value, "spec.{field}");
    }
    assert_eq!(result["runtime"]["implementation"], "native");
    assert!(result["runtime"]["pid"].as_u64().unwrap() > 0);
    assert_eq!(result["gil_enabled_start"], false);
    assert_eq!(result["gil_enabled_end"], false);
    assert!(result["clock_t0"].as_f64().unwrap() > 0.0);
    for phase in ["setup", "pool_start", "work", "teardown"] {
        assert!(result["phases"][phase].as_f64().unwrap() >= 0.0, "{phase}");
    }
    let digest = result["digest"].as_str().unwrap();
    assert!(
        digest.len() == 16
            && digest
                .chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
    );
}

#[test]
fn python_only_approaches_are_skipped_with_a_reason() {
    for approach in ["interpreters", "asyncio", "asyncio+threads"] {
        let (code, result) = twin(&spec("cpu", approach, 2, 0.1, 1));
        assert_eq!(
            (code, &result["result"]),
            (0, &json!("skipped")),
            "{result}"
        );
        assert!(result["reason"].as_str().unwrap().contains(approach));
    }
    let mut forked = spec("cpu", "processes", 2, 0.1, 1);
    forked["start_method"] = json!("fork");
    let (code, result) = twin(&forked);
    assert_eq!(
        (code, &result["result"]),
        (0, &json!("skipped")),
        "{result}"
    );
}

#[test]
fn bad_specs_are_error_results_with_exit_1() {
    let cases = [
        ("not json", "not valid JSON"),
        (r#"{"scenario": "cpu"}"#, "\"approach\""),
        (
            r#"{"scenario": "cpu", "approach": "threads", "workers": -2}"#,
            "\"workers\"",
        ),
        (
            r#"{"scenario": "gpu", "approach": "threads"}"#,
            "\"scenario\"",
        ),
    ];
    for (text, wanted) in cases {
        let output = gil_lab().args(["twin", "run", text]).output().unwrap();
        assert_eq!(output.status.code(), Some(1), "{text}");
        let result = one_object(&output, "gil-lab twin run");
        assert_eq!(result["result"], "error");
        assert_eq!(result["error"]["kind"], "bad_spec");
        assert!(
            result["error"]["message"]
                .as_str()
                .unwrap()
                .contains(wanted),
            "{result}"
        );
        assert!(result["digest"].is_null());
    }
    // No argument at all is a bad spec too, not a usage error.
    let output = gil_lab().args(["twin", "run"]).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        one_object(&output, "gil-lab twin run")["error"]["kind"],
        "bad_spec"
    );
}

/// The worker side of `processes`, spoken to directly: a hello, then one
/// reply per line, including for lines that are not task indices.
#[test]
fn worker_answers_each_line() {
    let spec = spec("cpu", "processes", 1, 0.1, 1).to_string();
    let output = gil_lab()
        .args(["twin", "worker", &spec])
        .write_stdin("3\n99\nplanner\n0\n")
        .output()
        .unwrap();
    assert!(output.status.success());
    let lines: Vec<Value> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 5, "{lines:?}");
    assert!(lines[0]["pid"].as_u64().is_some());
    assert_eq!(lines[1]["index"], 3);
    assert!(lines[2]["error"].as_str().unwrap().contains("99"));
    assert!(lines[3]["error"].as_str().unwrap().contains("planner"));
    assert_eq!(lines[4]["index"], 0);
    assert_eq!(lines[4]["result"].as_array().unwrap().len(), 30);
}

#[test]
fn twin_is_hidden_from_help() {
    let output = gil_lab().arg("--help").output().unwrap();
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    assert!(
        help.lines().any(|l| l.trim_start().starts_with("bench")),
        "{help}"
    );
    assert!(
        !help.lines().any(|l| l.trim_start().starts_with("twin")),
        "{help}"
    );
}
