//! The manifests of `gil-lab deploy kubernetes`, as JSON values (written as
//! YAML): a `batch/v1` Job running the workload under a single-machine
//! approach, or a KubeRay `ray.io/v1` RayJob running it on a Ray cluster of
//! `workers` one-core worker pods; and the Dockerfile of the image both use
//! (gil-lab built from source, the interpreter of the measured build from uv
//! or a base image, checked when the image is built; Ray for a RayJob). A
//! free-threaded Job checks at start, in an init container, that the
//! workload keeps the GIL off (`gil-lab python check-imports --workload`):
//! a module that turns it back on fails the Job, named.

use serde_json::{Value, json};

use super::interpreter::{ImagePython, PythonSource};
use super::sizing::PodResources;
use crate::interpreters::ray::RAY_VERSION;
use crate::vocabulary::Approach;

/// The Kubernetes API version the manifests are written for and validated
/// against (`kubernetes-validate -k`).
pub const KUBERNETES_VERSION: &str = "1.34.0";

/// Where the image keeps the interpreter's link and gil-lab's home.
const WORKLOAD_PYTHON: &str = "/usr/local/bin/python-workload";
const GIL_LAB_HOME: &str = "/opt/gil-lab";
const RAY_ENV_LINK: &str = "/opt/ray-env";

/// What to deploy: one cell of a run.
#[derive(Clone, Debug, PartialEq)]
pub struct Target {
    /// The scenario.
    pub scenario: String,
    /// The approach.
    pub approach: Approach,
    /// Workers (cores, or Ray worker pods).
    pub workers: u32,
    /// The interpreter the image runs: the measured `major.minor` and build.
    pub python: ImagePython,
    /// The run's scale.
    pub scale: f64,
    /// The container image (built from the Dockerfile).
    pub image: String,
}

impl Target {
    /// `gil-lab-cpu-threads`: a DNS-1123 name.
    pub fn name(&self) -> String {
        let raw = format!("gil-lab-{}-{}", self.scenario, self.approach.name());
        raw.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .collect()
    }

    /// The `gil-lab bench` command the pods run: this cell (and the
    /// sequential baseline its digest is checked against).
    fn bench_args(&self, extra: &[&str]) -> Vec<String> {
        let mut args: Vec<String> = [
            "bench",
            "--scenario",
            &self.scenario,
            "--approach",
            self.approach.name(),
            "--python",
            WORKLOAD_PYTHON,
            "--workers",
            &self.workers.to_string(),
            "--scale",
            &self.scale.to_string(),
            "--no-twin",
            "--no-provision",
            "--no-report",
            "--json",
            "--output",
            "/results/run",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.extend(extra.iter().map(|s| s.to_string()));
        args
    }
}

/// The workload's modules a runner of `approach` imports: the runner and
/// the approach's module (`workload/gil_lab/approaches/__init__.py`'s
/// registry; a test checks that they match).
pub fn workload_modules(approach: Approach) -> [String; 2] {
    let module = match approach {
        Approach::Sequential => "sequential",
        Approach::Threads => "threads",
        Approach::Processes => "processes",
        Approach::Interpreters => "interpreters",
        Approach::Asyncio => "async_loop",
        Approach::AsyncioThreads => "async_threads",
        Approach::Ray => "ray_cluster",
    };
    [
        "gil_lab.runner".to_string(),
        format!("gil_lab.approaches.{module}"),
    ]
}

/// The init container of a free-threaded Job: imports the workload's
/// modules on the image's interpreter in a fresh process and fails (the
/// pod, so the Job) when the GIL is on after them, naming the module that
/// turned it on. A deployment running with the GIL would measure the wrong
/// build.
fn gil_off_check(target: &Target, pod: &PodResources) -> Value {
    let mut args: Vec<String> = [
        "python",
        "check-imports",
        "--python",
        WORKLOAD_PYTHON,
        "--no-discover",
        "--require-free-threaded",
        "--workload",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(workload_modules(target.approach));
    json!({
        "name": "gil-off",
        "image": target.image,
        "command": ["gil-lab"],
        "args": args,
        "resources": resources(pod),
    })
}

fn labels(target: &Target) -> Value {
    json!({
        "app.kubernetes.io/name": "gil-lab",
        "app.kubernetes.io/component": target.approach.name().replace('+', "-"),
        "gil-lab/scenario": target.scenario,
        "gil-lab/python": target.python.request(),
        "gil-lab/build": if target.python.free_threaded { "free-threaded" } else { "default" },
    })
}

fn resources(pod: &PodResources) -> Value {
    let amounts = json!({"cpu": pod.cpu.to_string(), "memory": format!("{}Mi", pod.memory_mib)});
    json!({"requests": amounts, "limits": amounts})
}

/// The Job of a single-machine approach: one pod, `workers` cores; on a
/// free-threaded build, after an init container that checks the GIL is off.
pub fn job(target: &Target, pod: &PodResources) -> Value {
    let mut job = json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": target.name(), "labels": labels(target)},
        "spec": {
            "backoffLimit": 0,
            "template": {
                "metadata": {"labels": labels(target)},
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{
                        "name": "workload",
                        "image": target.image,
                        "command": ["gil-lab"],
                        "args": target.bench_args(&[]),
                        "resources": resources(pod),
                        "volumeMounts": [{"name": "results", "mountPath": "/results"}],
                    }],
                    "volumes": [{"name": "results", "emptyDir": {}}],
                }
            }
        }
    });
    if target.python.free_threaded {
        job["spec"]["template"]["spec"]["initContainers"] = json!([gil_off_check(target, pod)]);
    }
    job
}

/// A Ray node's pod template: `ray start` is added by KubeRay to the
/// container named `ray-head` / `ray-worker`.
fn ray_pod(target: &Target, container: &str, pod: &PodResources) -> Value {
    json!({
        "metadata": {"labels": labels(target)},
        "spec": {
            "containers": [{
                "name": container,
                "image": target.image,
                "resources": resources(pod),
                "volumeMounts": [{"name": "results", "mountPath": "/results"}],
            }],
            "volumes": [{"name": "results", "emptyDir": {}}],
        }
    })
}

/// The KubeRay RayJob: a head pod (no actors: `num-cpus: 0`), `workers`
/// worker pods of one core each, and the bench as the job's entrypoint on
/// the cluster (`--ray-address auto`); the cluster is deleted when the job
/// ends.
pub fn ray_job(target: &Target, head: &PodResources, worker: &PodResources) -> Value {
    let entrypoint = std::iter::once("gil-lab".to_string())
        .chain(target.bench_args(&["--ray-address", "auto"]))
        .collect::<Vec<_>>()
        .join(" ");
    json!({
        "apiVersion": "ray.io/v1",
        "kind": "RayJob",
        "metadata": {"name": target.name(), "labels": labels(target)},
        "spec": {
            "entrypoint": entrypoint,
            "shutdownAfterJobFinishes": true,
            "ttlSecondsAfterFinished": 600,
            "rayClusterSpec": {
                "rayVersion": RAY_VERSION,
                "headGroupSpec": {
                    "rayStartParams": {"num-cpus": "0", "dashboard-host": "0.0.0.0"},
                    "template": ray_pod(target, "ray-head", head),
                },
                "workerGroupSpecs": [{
                    "groupName": "workers",
                    "replicas": target.workers,
                    "minReplicas": target.workers,
                    "maxReplicas": target.workers,
                    "rayStartParams": {"num-cpus": "1"},
                    "template": ray_pod(target, "ray-worker", worker),
                }],
            }
        }
    })
}

/// The pod templates inside a RayJob, each as a `v1` PodTemplate: what the
/// Kubernetes schemas can check of a custom resource.
pub fn ray_job_pod_templates(ray_job: &Value) -> Vec<Value> {
    let spec = &ray_job["spec"]["rayClusterSpec"];
    let mut templates = vec![("head", &spec["headGroupSpec"]["template"])];
    if let Some(groups) = spec["workerGroupSpecs"].as_array() {
        templates.extend(groups.iter().map(|g| ("worker", &g["template"])));
    }
    templates
        .into_iter()
        .map(|(role, template)| {
            json!({
                "apiVersion": "v1",
                "kind": "PodTemplate",
                "metadata": {"name": format!("{}-{role}", ray_job["metadata"]["name"].as_str().unwrap_or("ray"))},
                "template": template,
            })
        })
        .collect()
}

/// The Dockerfile of the image: gil-lab from this source tree, the
/// interpreter of the measured build from uv (or the base image given with
/// `--python-image`), refused at build time when it is another `major.minor`
/// or build, and for the ray approach Ray in gil-lab's environment, first on
/// PATH (KubeRay runs `ray start` from it).
pub fn dockerfile(target: &Target) -> String {
    let python = &target.python;
    let request = python.request();
    let mut text = format!(
        "# The image of the {name} manifests, written by `gil-lab deploy kubernetes`.\n\
         # Build it from the root of the gil-lab source tree:\n\
         #   docker build -f <this file> -t {image} .\n\
         FROM rust:1-bookworm AS build\n\
         WORKDIR /src\n\
         COPY . .\n\
         RUN cargo build --release --locked\n\
         \n",
        name = target.name(),
        image = target.image,
    );
    match &python.source {
        PythonSource::Uv => text.push_str(&format!(
            "FROM debian:bookworm-slim\n\
             RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \\\n    && rm -rf /var/lib/apt/lists/*\n\
             # uv provisions the interpreter: CPython {request} ({build}).\n\
             COPY --from=ghcr.io/astral-sh/uv:latest /uv /usr/local/bin/uv\n\
             ENV UV_PYTHON_INSTALL_DIR=/opt/python GIL_LAB_HOME={GIL_LAB_HOME}\n\
             RUN uv python install {request} && ln -s \"$(uv python find {request})\" {WORKLOAD_PYTHON}\n",
            build = python.build(),
        )),
        PythonSource::Image(base) => text.push_str(&format!(
            "FROM {base}\n\
             # The interpreter is the base image's: CPython {request} ({build}).\n\
             ENV GIL_LAB_HOME={GIL_LAB_HOME}\n\
             RUN ln -s \"$(command -v python{request} || command -v python3)\" {WORKLOAD_PYTHON}\n",
            build = python.build(),
        )),
    }
    text.push_str(&format!(
        "# The measured build or no image: CPython {request} ({build}).\n\
         RUN {WORKLOAD_PYTHON} -c \"{check}\"\n\
         COPY --from=build /src/target/release/gil-lab /usr/local/bin/gil-lab\n\
         RUN gil-lab python list --python {WORKLOAD_PYTHON} --no-discover\n",
        build = python.build(),
        check = python.build_check(),
    ));
    if target.approach == Approach::Ray {
        text.push_str(&format!(
            "# Ray {RAY_VERSION} in gil-lab's environment of that interpreter, first on PATH.\n\
             RUN ln -s \"$(dirname \"$(dirname \"$(gil-lab python ray-env --python {WORKLOAD_PYTHON} | tail -n 1)\")\")\" {RAY_ENV_LINK}\n\
             ENV PATH={RAY_ENV_LINK}/bin:$PATH\n"
        ));
    }
    text
}
