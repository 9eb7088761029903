//! The `ray` approach for real: Ray installed from the package index into
//! gil-lab's cached environment of the default 3.13 build, `bench --approach
//! ray` on a local cluster per trial (digests equal to sequential, the
//! free-threaded build skipped with its reason), and a two-node cluster on
//! this machine (a head and a worker node started with `ray start`, one CPU
//! each) that the bench's tasks land on, both nodes, stopped by the test
//! whatever happens.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The default (GIL) build provisioned next to the free-threaded one, from
/// the same sources (`gil-lab python install 3.13t --with-default`).
fn default_python() -> PathBuf {
    let free_threaded = common::free_threaded_python();
    let dir = free_threaded
        .parent()
        .and_then(Path::parent)
        .expect("the free-threaded build lives in <prefix>/bin");
    let name = dir.file_name().unwrap().to_string_lossy();
    let default = dir
        .with_file_name(name.trim_end_matches('t'))
        .join("bin")
        .join(
            free_threaded
                .file_name()
                .unwrap()
                .to_string_lossy()
                .trim_end_matches('t'),
        );
    assert!(
        default.is_file(),
        "{} is missing: run `gil-lab python install 3.13t --with-default`",
        default.display()
    );
    default
}

/// The Python of the default build's Ray environment (made once, cached).
fn ray_python() -> PathBuf {
    let output = common::gil_lab()
        .args(["python", "ray-env", "--python"])
        .arg(default_python())
        .timeout(Duration::from_secs(20 * 60))
        .output()
        .expect("gil-lab python ray-env runs");
    assert!(
        output.status.success(),
        "`gil-lab python ray-env` failed (is PyPI reachable?):\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    PathBuf::from(common::last_line(&output).expect("it prints the environment's Python"))
}

fn bench(dir: &Path, extra: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_gil-lab"));
    command
        .arg("bench")
        .arg("--output")
        .arg(dir)
        .args([
            "--no-twin",
            "--no-provision",
            "--no-report",
            "--scenario",
            "cpu",
            "--approach",
            "ray",
            "--scale",
            "0.1",
            "--runs",
            "1",
            "--warmup",
            "0",
            "--workers",
            "2",
        ])
        .args(extra)
        .env("NO_COLOR", "1")
        .env_remove("RAY_ADDRESS");
    command
}

fn run(mut command: Command) -> Output {
    let output = command.output().expect("gil-lab runs");
    eprintln!("{}", String::from_utf8_lossy(&output.stderr));
    output
}

fn trials(dir: &Path) -> Vec<Value> {
    std::fs::read_to_string(dir.join("trials.jsonl"))
        .expect("trials.jsonl")
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect()
}

/// Pids of processes whose command line contains `needle`.
fn processes_mentioning(needle: &str) -> Vec<u32> {
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse().ok()) else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        if String::from_utf8_lossy(&cmdline).contains(needle) {
            pids.push(pid);
        }
    }
    pids
}

/// Live (not zombie) descendants of `roots`, the roots included.
fn with_descendants(roots: &[u32]) -> BTreeSet<u32> {
    let mut tree: BTreeSet<u32> = roots.iter().copied().collect();
    loop {
        let before = tree.len();
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<u32>().ok())
            else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
                continue;
            };
            let mut fields = stat[stat.rfind(')').unwrap() + 1..].split_whitespace();
            let state = fields.next();
            let ppid: u32 = fields.next().and_then(|p| p.parse().ok()).unwrap_or(0);
            if state != Some("Z") && tree.contains(&ppid) {
                tree.insert(pid);
            }
        }
        if tree.len() == before {
            break;
        }
    }
    tree.retain(|pid| {
        std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
            !stat[stat.rfind(')').unwrap() + 1..]
                .trim_start()
                .starts_with('Z')
        })
    });
    tree
}

/// A Ray cluster of this test: its processes are the ones whose command
/// line names its temporary directory, and their descendants (workers).
/// Dropping it kills exactly those, by pid: the test stops its cluster
/// whatever happens, and never touches another Ray on the machine.
struct Cluster {
    temp: tempfile::TempDir,
    address: String,
    token: String,
}

impl Cluster {
    fn processes(&self) -> BTreeSet<u32> {
        with_descendants(&processes_mentioning(&self.temp.path().to_string_lossy()))
    }

    fn stop(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let alive = self.processes();
            if alive.is_empty() || Instant::now() > deadline {
                return;
            }
            for pid in alive {
                // SAFETY: kill has no memory-safety preconditions; these are
                // this test's cluster processes.
                unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `ray start` of the Ray environment, with the cluster's token.
fn ray_start(ray_python: &Path, cluster: &Cluster, args: &[&str]) {
    let ray = ray_python.with_file_name("ray");
    let output = Command::new(&ray)
        .arg("start")
        .args(args)
        .args(["--num-cpus", "1", "--disable-usage-stats", "--temp-dir"])
        .arg(cluster.temp.path())
        .env("RAY_USAGE_STATS_ENABLED", "0")
        .env("RAY_AUTH_MODE", "token")
        .env("RAY_AUTH_TOKEN", &cluster.token)
        .output()
        .expect("ray start runs");
    assert!(
        output.status.success(),
        "`ray start {}` failed:\n{}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn ray_cells_match_sequential_and_free_threaded_builds_say_why_they_are_skipped() {
    ray_python();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    let default = default_python();
    let free_threaded = common::free_threaded_python();
    let output = run(bench(
        &dir,
        &[
            "--python",
            &default.to_string_lossy(),
            "--python",
            &free_threaded.to_string_lossy(),
        ],
    ));
    assert!(output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.lines().any(|line| line.starts_with("ray: skipping CPython 3.")
            && line.ends_with("t: Ray publishes no wheels for free-threaded builds (source: ray-project/ray#47933)")),
        "{stderr}"
    );

    let trials = trials(&dir);
    let reference = trials
        .iter()
        .find(|t| t["cell"]["approach"] == "sequential" && t["status"] == "ok")
        .expect("a sequential trial")["runner"]["digest"]
        .clone();
    let ray: Vec<&Value> = trials
        .iter()
        .filter(|t| t["cell"]["approach"] == "ray")
        .collect();
    let ran: Vec<&&Value> = ray.iter().filter(|t| t["status"] == "ok").collect();
    assert_eq!(ran.len(), 1, "one ray trial on the default build");
    let runner = &ran[0]["runner"];
    assert_eq!(runner["digest"], reference);
    let steps = &runner["orchestration"];
    assert_eq!(steps["cluster"], "local");
    assert_eq!(steps["workers"].as_array().unwrap().len(), 2);
    // The local cluster's processes (GCS, raylet, workers) are the trial's.
    let seen = ran[0]["timeline"]["processes"].as_array().unwrap();
    let names: BTreeSet<&str> = seen.iter().filter_map(|p| p["name"].as_str()).collect();
    assert!(
        names.contains("raylet") && names.contains("gcs_server"),
        "{names:?}"
    );
    let skipped: Vec<&&Value> = ray.iter().filter(|t| t["status"] == "skipped").collect();
    assert_eq!(skipped.len(), 2, "3.13t and 3.13t with the GIL forced on");
    for trial in skipped {
        let reason = trial["skip_reason"].as_str().unwrap();
        assert!(reason.contains("ray-project/ray#47933"), "{reason}");
    }
    // Nothing of the local clusters is left.
    assert_eq!(processes_mentioning("gil-lab-ray-"), Vec::<u32>::new());
}

#[test]
fn a_two_node_cluster_runs_the_tasks_on_both_nodes() {
    let ray_python = ray_python();
    let port = free_port();
    let cluster = Cluster {
        temp: tempfile::Builder::new()
            .prefix("rc")
            .tempdir_in("/tmp")
            .unwrap(),
        address: format!("127.0.0.1:{port}"),
        token: format!("{:032x}", rand_token()),
    };
    ray_start(
        &ray_python,
        &cluster,
        &[
            "--head",
            "--port",
            &port.to_string(),
            "--include-dashboard=false",
        ],
    );
    ray_start(&ray_python, &cluster, &["--address", &cluster.address]);

    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    let mut command = bench(
        &dir,
        &[
            "--python",
            &default_python().to_string_lossy(),
            "--ray-address",
            &cluster.address,
        ],
    );
    command
        .env("RAY_AUTH_MODE", "token")
        .env("RAY_AUTH_TOKEN", &cluster.token);
    let output = run(command);
    assert!(output.status.success());

    let trials = trials(&dir);
    let reference = &trials
        .iter()
        .find(|t| t["cell"]["approach"] == "sequential")
        .unwrap()["runner"]["digest"];
    let ray = trials
        .iter()
        .find(|t| t["cell"]["approach"] == "ray")
        .unwrap();
    assert_eq!(ray["status"], "ok", "{ray}");
    let runner = &ray["runner"];
    assert_eq!(&runner["digest"], reference);
    assert_eq!(runner["orchestration"]["cluster"], "existing");
    let nodes: BTreeSet<&str> = runner["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["node"].as_str().expect("every task names its node"))
        .collect();
    assert_eq!(nodes.len(), 2, "tasks ran on both nodes: {nodes:?}");
    // The run stores the address, never the token.
    let run_json = std::fs::read_to_string(dir.join("run.json")).unwrap();
    assert!(run_json.contains(&cluster.address));
    assert!(!run_json.contains(&cluster.token));

    assert!(!cluster.processes().is_empty(), "the cluster is still up");
    cluster.stop();
    assert_eq!(cluster.processes(), BTreeSet::new(), "nothing left running");
}

/// A token nobody can guess from outside the test (not a secret that needs
/// a CSPRNG: the cluster lives for seconds on a test machine).
fn rand_token() -> u128 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    nanos ^ (u128::from(std::process::id()) << 64)
}

/// `bench --task FILE.py:FUNCTION --approach ray`: the task's file is
/// shipped to a local cluster's actors and their calls give the sequential
/// results (the same verdict as sequential), and the cluster is gone after.
#[test]
fn a_task_runs_on_ray_actors_with_the_sequential_results() {
    let ray_python = ray_python();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    let task = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tasks/cpu.py");
    let output = run({
        let mut command = Command::new(env!("CARGO_BIN_EXE_gil-lab"));
        command
            .args(["bench", "--json", "--no-provision", "--no-report"])
            .arg("--output")
            .arg(&dir)
            .arg("--task")
            .arg(format!("{}:score", task.display()))
            .args(["--task-calls", "8", "--runs", "1", "--warmup", "0"])
            .args(["--approach", "sequential,ray", "--workers", "2"])
            .arg("--python")
            .arg(default_python())
            .env("NO_COLOR", "1")
            .env_remove("RAY_ADDRESS");
        command
    });
    assert!(output.status.success());
    let json: Value = serde_json::from_slice(&output.stdout).expect("--json prints JSON");
    let cells = json["task"]["interpreters"][0]["cells"].as_array().unwrap();
    let safety = |approach: &str| {
        cells
            .iter()
            .find(|c| c["cell"]["approach"] == approach)
            .unwrap_or_else(|| panic!("no {approach} cell: {cells:#?}"))["safety"]
            .clone()
    };
    assert_eq!(safety("sequential"), "same");
    assert_eq!(safety("ray"), "same", "{cells:#?}");
    // The ray cell runs the Ray environment's Python; its calls ran on the actors.
    let run_file: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("run.json")).unwrap()).unwrap();
    let planned = run_file["plan"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["cell"]["approach"] == "ray")
        .expect("a planned ray cell");
    assert_eq!(planned["command"][0], ray_python.to_string_lossy().as_ref());
    let trials = trials(&dir);
    let ray = trials
        .iter()
        .find(|t| t["cell"]["approach"] == "ray")
        .expect("a ray trial");
    assert_eq!(ray["status"], "ok", "{ray}");
    let workers: BTreeSet<&str> = ray["runner"]["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["worker"].as_str())
        .collect();
    assert_eq!(workers, BTreeSet::from(["ray-0", "ray-1"]));
    // Nothing of the local cluster is left.
    assert_eq!(processes_mentioning("gil-lab-ray-"), Vec::<u32>::new());
}
