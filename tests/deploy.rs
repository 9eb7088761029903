//! `gil-lab deploy kubernetes`: the manifests are snapshot-tested, and
//! validated against the Kubernetes API schemas of a pinned version with
//! `kubernetes-validate` (PyPI, in a cached virtual environment). The RayJob
//! is a custom resource the package has no schema for (no package ships
//! KubeRay's CRD schema): its pod templates are validated as `v1`
//! PodTemplates, and its own fields are checked here against the fields
//! KubeRay's `ray.io/v1` RayJob CRD requires (docs/distributed.md says
//! exactly what is and is not checked).

mod common;
mod run_fixture;

use std::path::{Path, PathBuf};
use std::process::Command;

use gil_lab::deploy::kubernetes::{self, KUBERNETES_VERSION, Target};
use gil_lab::deploy::sizing::PodResources;
use gil_lab::deploy::yaml::to_yaml;
use gil_lab::vocabulary::Approach;
use serde_json::Value;

fn target(approach: Approach, python: &str) -> Target {
    Target {
        scenario: "cpu".into(),
        approach,
        workers: 2,
        python: python.into(),
        scale: 0.3,
        image: "registry.example/gil-lab:0.1.0".into(),
    }
}

fn pod(cpu: u32, memory_mib: u64) -> PodResources {
    PodResources {
        cpu,
        memory_mib,
        measured_bytes: memory_mib * 1024 * 1024 * 2 / 3,
    }
}

fn job() -> Value {
    kubernetes::job(&target(Approach::Threads, "3.13t"), &pod(2, 96))
}

fn ray_job() -> Value {
    kubernetes::ray_job(&target(Approach::Ray, "3.13"), &pod(1, 1120), &pod(1, 448))
}

#[test]
fn manifests_and_dockerfiles_are_stable() {
    insta::assert_snapshot!("job_yaml", to_yaml(&job()));
    insta::assert_snapshot!("ray_job_yaml", to_yaml(&ray_job()));
    insta::assert_snapshot!(
        "job_dockerfile",
        kubernetes::dockerfile(&target(Approach::Threads, "3.13t"))
    );
    insta::assert_snapshot!(
        "ray_dockerfile",
        kubernetes::dockerfile(&target(Approach::Ray, "3.13"))
    );
}

/// `kubernetes-validate` in a cached virtual environment.
fn kubernetes_validate() -> PathBuf {
    let python = common::cached_venv(
        "kubernetes-validate",
        Path::new("/usr/bin/python3"),
        &["kubernetes-validate==1.37.0"],
    );
    python.with_file_name("kubernetes-validate")
}

/// Validates `documents` (one file each) in strict mode; the output.
fn validate(documents: &[Value]) -> String {
    let tmp = tempfile::tempdir().unwrap();
    let files: Vec<PathBuf> = documents
        .iter()
        .enumerate()
        .map(|(n, doc)| {
            let path = tmp.path().join(format!("{n}.yaml"));
            std::fs::write(&path, to_yaml(doc)).unwrap();
            path
        })
        .collect();
    let output = Command::new(kubernetes_validate())
        .args(["-k", KUBERNETES_VERSION, "--strict"])
        .args(&files)
        .output()
        .expect("kubernetes-validate runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{text}");
    assert_eq!(
        text.matches(" passed for resource ").count(),
        documents.len(),
        "every document passes: {text}"
    );
    text
}

#[test]
fn the_job_passes_the_kubernetes_schemas() {
    validate(&[job()]);
}

#[test]
fn a_manifest_that_breaks_the_schema_is_caught() {
    // The validator really checks: a field of the wrong type fails.
    let mut broken = job();
    broken["spec"]["backoffLimit"] = Value::String("none".into());
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("broken.yaml");
    std::fs::write(&path, to_yaml(&broken)).unwrap();
    let output = Command::new(kubernetes_validate())
        .args(["-k", KUBERNETES_VERSION, "--strict"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(!output.status.success());
}

#[test]
fn the_ray_job_pods_pass_the_kubernetes_schemas_and_its_fields_follow_kuberay() {
    let ray_job = ray_job();
    let templates = kubernetes::ray_job_pod_templates(&ray_job);
    assert_eq!(templates.len(), 2, "a head and a worker group");
    validate(&templates);

    // The fields KubeRay's RayJob CRD (ray.io/v1) requires or that gil-lab
    // relies on, with their types.
    assert_eq!(ray_job["apiVersion"], "ray.io/v1");
    assert_eq!(ray_job["kind"], "RayJob");
    let spec = &ray_job["spec"];
    assert!(
        spec["entrypoint"]
            .as_str()
            .unwrap()
            .contains("--approach ray")
    );
    assert!(spec["shutdownAfterJobFinishes"].is_boolean());
    let cluster = &spec["rayClusterSpec"];
    assert_eq!(cluster["rayVersion"], "2.60.0");
    let head = &cluster["headGroupSpec"];
    assert!(head["rayStartParams"].is_object());
    assert!(
        head["rayStartParams"]
            .as_object()
            .unwrap()
            .values()
            .all(Value::is_string),
        "rayStartParams are strings"
    );
    assert_eq!(
        head["template"]["spec"]["containers"][0]["name"],
        "ray-head"
    );
    let group = &cluster["workerGroupSpecs"][0];
    assert!(group["groupName"].is_string());
    assert_eq!(group["replicas"], 2);
    assert_eq!(group["minReplicas"], 2);
    assert_eq!(group["maxReplicas"], 2);
    assert_eq!(group["rayStartParams"]["num-cpus"], "1");
    assert_eq!(
        group["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"],
        "1"
    );
}

#[test]
fn deploy_kubernetes_sizes_a_job_from_a_run() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    run_fixture::write_run(
        &run,
        &[
            run_fixture::cpu("cpython-3.13.5", "sequential", 1, &[1.0, 1.01, 0.99]),
            run_fixture::cpu("cpython-3.13.5", "processes", 2, &[0.5, 0.51, 0.49]),
        ],
        &run_fixture::Options::default(),
    );
    let out = tmp.path().join("deploy");
    let output = common::gil_lab()
        .args(["deploy", "kubernetes"])
        .arg(&run)
        .args(["--approach", "processes", "--output"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let manifest = std::fs::read_to_string(out.join("gil-lab-cpu-processes.yaml")).unwrap();
    // 22 MiB measured (fixture) × 1.5, rounded up to 32 MiB steps, at least 128 MiB.
    assert!(manifest.contains("memory: \"128Mi\""), "{manifest}");
    assert!(manifest.contains("cpu: \"2\""), "{manifest}");
    assert!(out.join("Dockerfile").is_file());

    // Without a measured cell of the approach: a one-line error naming the fix.
    let output = common::gil_lab()
        .args(["deploy", "kubernetes"])
        .arg(&run)
        .args(["--approach", "ray", "--output"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("gil-lab bench --scenario cpu --approach ray"),
        "{stderr}"
    );
}
