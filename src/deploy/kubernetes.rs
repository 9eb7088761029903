//! The manifests of `gil-lab deploy kubernetes`, as JSON values (written as
//! YAML): a `batch/v1` Job running the workload under a single-machine
//! approach, or a KubeRay `ray.io/v1` RayJob running it on a Ray cluster of
//! `workers` one-core worker pods; and the Dockerfile of the image both use
//! (gil-lab built from source, the interpreter provisioned with uv,
//! free-threaded builds included; Ray for a RayJob).

use serde_json::{Value, json};

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
    /// The interpreter as uv names it: `3.13t`, `3.13`, `3.12`.
    pub python: String,
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

fn labels(target: &Target) -> Value {
    json!({
        "app.kubernetes.io/name": "gil-lab",
        "app.kubernetes.io/component": target.approach.name().replace('+', "-"),
        "gil-lab/scenario": target.scenario,
    })
}

fn resources(pod: &PodResources) -> Value {
    let amounts = json!({"cpu": pod.cpu.to_string(), "memory": format!("{}Mi", pod.memory_mib)});
    json!({"requests": amounts, "limits": amounts})
}

/// The Job of a single-machine approach: one pod, `workers` cores.
pub fn job(target: &Target, pod: &PodResources) -> Value {
    json!({
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
    })
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
/// interpreter from uv (free-threaded builds included), and for the ray
/// approach Ray in gil-lab's environment, first on PATH (KubeRay runs
/// `ray start` from it).
pub fn dockerfile(target: &Target) -> String {
    let mut text = format!(
        "# The image of the {name} manifests, written by `gil-lab deploy kubernetes`.\n\
         # Build it from the root of the gil-lab source tree:\n\
         #   docker build -f <this file> -t {image} .\n\
         FROM rust:1-bookworm AS build\n\
         WORKDIR /src\n\
         COPY . .\n\
         RUN cargo build --release --locked\n\
         \n\
         FROM debian:bookworm-slim\n\
         RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \\\n    && rm -rf /var/lib/apt/lists/*\n\
         # uv provisions the interpreter: CPython {python}{ft}.\n\
         COPY --from=ghcr.io/astral-sh/uv:latest /uv /usr/local/bin/uv\n\
         ENV UV_PYTHON_INSTALL_DIR=/opt/python GIL_LAB_HOME={home}\n\
         RUN uv python install {python} && ln -s \"$(uv python find {python})\" {link}\n\
         COPY --from=build /src/target/release/gil-lab /usr/local/bin/gil-lab\n\
         RUN gil-lab python list --python {link} --no-discover\n",
        name = target.name(),
        image = target.image,
        python = target.python,
        ft = if target.python.ends_with('t') {
            " (free-threaded)"
        } else {
            ""
        },
        home = GIL_LAB_HOME,
        link = WORKLOAD_PYTHON,
    );
    if target.approach == Approach::Ray {
        text.push_str(&format!(
            "# Ray {RAY_VERSION} in gil-lab's environment of that interpreter, first on PATH.\n\
             RUN ln -s \"$(dirname \"$(dirname \"$(gil-lab python ray-env --python {WORKLOAD_PYTHON} | tail -n 1)\")\")\" {RAY_ENV_LINK}\n\
             ENV PATH={RAY_ENV_LINK}/bin:$PATH\n"
        ));
    }
    text
}
