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

use gil_lab::deploy::interpreter::{ImagePython, PythonSource};
use gil_lab::deploy::kubernetes::{self, KUBERNETES_VERSION, Target};
use gil_lab::deploy::sizing::PodResources;
use gil_lab::deploy::yaml::to_yaml;
use gil_lab::vocabulary::Approach;
use serde_json::Value;

fn python(version: &str, free_threaded: bool) -> ImagePython {
    ImagePython {
        version: version.into(),
        free_threaded,
        source: PythonSource::Uv,
    }
}

fn target(approach: Approach, python: ImagePython) -> Target {
    Target {
        scenario: "cpu".into(),
        approach,
        workers: 2,
        python,
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
    kubernetes::job(
        &target(Approach::Threads, python("3.13", true)),
        &pod(2, 96),
    )
}

fn ray_job() -> Value {
    kubernetes::ray_job(
        &target(Approach::Ray, python("3.13", false)),
        &pod(1, 1120),
        &pod(1, 448),
    )
}

#[test]
fn manifests_and_dockerfiles_are_stable() {
    insta::assert_snapshot!("job_yaml", to_yaml(&job()));
    insta::assert_snapshot!("ray_job_yaml", to_yaml(&ray_job()));
    insta::assert_snapshot!(
        "job_dockerfile",
        kubernetes::dockerfile(&target(Approach::Threads, python("3.13", true)))
    );
    insta::assert_snapshot!(
        "ray_dockerfile",
        kubernetes::dockerfile(&target(Approach::Ray, python("3.13", false)))
    );
    let official = ImagePython {
        source: PythonSource::Image("python:3.14t".into()),
        ..python("3.14", true)
    };
    insta::assert_snapshot!(
        "python_image_dockerfile",
        kubernetes::dockerfile(&target(Approach::Threads, official))
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
    validate_files(&files)
}

/// Validates `files` (one document each) in strict mode; the output.
fn validate_files(files: &[PathBuf]) -> String {
    let output = Command::new(kubernetes_validate())
        .args(["-k", KUBERNETES_VERSION, "--strict"])
        .args(files)
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
        files.len(),
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

/// The interpreter record of `id` in a run directory's run.json.
fn interpreter_record(run: &Path, id: &str) -> Value {
    let run: Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("run.json")).unwrap()).unwrap();
    run["interpreters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == id)
        .unwrap_or_else(|| panic!("no interpreter {id} in the run"))
        .clone()
}

#[test]
fn deploy_kubernetes_deploys_the_free_threaded_build_the_advice_recommends() {
    // The default build of the same version is measured too, listed first,
    // and its label starts the free-threaded build's: the advice's cell is
    // found by its key, never by its words.
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    let (default, free) = ("cpython-3.13.5", "cpython-3.13.5t");
    run_fixture::write_run(
        &run,
        &[
            run_fixture::cpu(default, "sequential", 1, &[1.0, 1.01, 0.99, 1.0, 1.02]),
            run_fixture::cpu(default, "threads", 2, &[1.05, 1.04, 1.06, 1.05, 1.03]),
            run_fixture::cpu(free, "sequential", 1, &[1.3, 1.31, 1.29, 1.3, 1.32]),
            run_fixture::cpu(free, "threads", 2, &[0.68, 0.69, 0.67, 0.68, 0.7]),
        ],
        &run_fixture::Options::default(),
    );
    let default_record = interpreter_record(&run, default);
    let free_record = interpreter_record(&run, free);
    let (default_label, free_label) = (
        default_record["label"].as_str().unwrap(),
        free_record["label"].as_str().unwrap(),
    );
    assert!(
        free_label.starts_with(default_label),
        "the trap of the issue: {free_label:?} starts with {default_label:?}"
    );
    let version = free_record["version"].as_str().unwrap();
    let minor = version.split('.').take(2).collect::<Vec<_>>().join(".");

    // The advice carries the cell's identity, in the JSON too.
    let advice = common::gil_lab()
        .arg("advise")
        .arg(&run)
        .arg("--json")
        .output()
        .unwrap();
    assert!(advice.status.success(), "{advice:?}");
    let advice = common::stdout_json(&advice);
    let rec = &advice["recommendations"][0];
    assert_eq!(
        rec["cell"],
        serde_json::json!({"scenario": "cpu", "interpreter": free, "approach": "threads", "workers": 2}),
        "{rec:#}"
    );

    let out = tmp.path().join("deploy");
    let output = common::gil_lab()
        .args(["deploy", "kubernetes"])
        .arg(&run)
        .args(["--scenario", "cpu", "--output"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains(&format!(
            "Job: threads ×2 on CPython {minor}t (free-threaded build)"
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "measured: CPython {version}t (free-threaded build)"
        )),
        "{stdout}"
    );
    assert!(stdout.contains("may differ: "), "{stdout}");

    // The header names the measured build and the image's.
    let manifest_path = out.join("gil-lab-cpu-threads.yaml");
    let manifest = std::fs::read_to_string(&manifest_path).unwrap();
    let header: Vec<&str> = manifest
        .lines()
        .take_while(|l| l.starts_with('#'))
        .collect();
    assert!(
        header[0].starts_with(&format!(
            "# threads ×2 on {free_label} for the cpu scenario"
        )),
        "{header:#?}"
    );
    assert!(
        header.iter().any(|l| l.contains(&format!(
            "measured: CPython {version}t (free-threaded build)"
        ))),
        "{header:#?}"
    );
    assert!(
        header.iter().any(|l| l.contains(&format!(
            "image: CPython {minor}t (free-threaded build) installed by uv"
        ))),
        "{header:#?}"
    );
    assert!(
        header
            .iter()
            .any(|l| l.contains(&format!("may not be {version}"))),
        "{header:#?}"
    );

    // The Job names the free-threaded build and checks the GIL at start.
    assert!(
        manifest.contains(&format!("gil-lab/python: \"{minor}t\"")),
        "{manifest}"
    );
    assert!(
        manifest.contains("gil-lab/build: \"free-threaded\""),
        "{manifest}"
    );
    assert!(manifest.contains("initContainers:"), "{manifest}");
    assert!(
        manifest.contains("\"--require-free-threaded\""),
        "{manifest}"
    );

    // The Dockerfile installs the free-threaded build and refuses another.
    let dockerfile = std::fs::read_to_string(out.join("Dockerfile")).unwrap();
    assert!(
        dockerfile.contains(&format!("uv python install {minor}t ")),
        "{dockerfile}"
    );
    assert!(
        dockerfile.contains(&format!("not the measured {minor}t (free-threaded build)")),
        "{dockerfile}"
    );

    // The written manifest, header and all, passes the Kubernetes schemas.
    validate_files(&[manifest_path]);

    // --approach takes the fastest measured cell of the approach, on
    // whichever build: sequential is fastest on the default build here, and
    // the image and the Job follow that cell's build.
    let output = common::gil_lab()
        .args(["deploy", "kubernetes"])
        .arg(&run)
        .args(["--approach", "sequential", "--output"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let dockerfile = std::fs::read_to_string(out.join("Dockerfile")).unwrap();
    assert!(
        dockerfile.contains(&format!("uv python install {minor} ")),
        "the fastest sequential cell is the default build's: {dockerfile}"
    );
    let manifest = std::fs::read_to_string(out.join("gil-lab-cpu-sequential.yaml")).unwrap();
    assert!(!manifest.contains("initContainers:"), "{manifest}");
    assert!(
        manifest.contains("gil-lab/build: \"default\""),
        "{manifest}"
    );
}

/// Runs the image's build check of `python` on the interpreter `executable`.
fn build_check(executable: &Path, python: &ImagePython) -> std::process::Output {
    Command::new(executable)
        .args(["-c", &python.build_check()])
        .output()
        .unwrap()
}

#[test]
fn the_image_build_check_accepts_the_measured_build_only() {
    // Debian's python3: a default build.
    let debian = Path::new("/usr/bin/python3");
    let version =
        common::python_output(debian, "import sys; print('%d.%d' % sys.version_info[:2])");
    let same = build_check(debian, &python(&version, false));
    assert!(same.status.success(), "{same:?}");
    let free = build_check(debian, &python(&version, true));
    assert!(!free.status.success());
    let stderr = String::from_utf8_lossy(&free.stderr);
    assert!(
        stderr.contains(&format!(
            "is {version} (default build), not the measured {version}t (free-threaded build)"
        )),
        "{stderr}"
    );
    let other = build_check(debian, &python("3.9", false));
    assert!(!other.status.success(), "{other:?}");

    // A real free-threaded build passes as what it is, and only as that.
    let ft = common::free_threaded_python();
    let ft_version =
        common::python_output(&ft, "import sys; print('%d.%d' % sys.version_info[:2])");
    let ok = build_check(&ft, &python(&ft_version, true));
    assert!(ok.status.success(), "{ok:?}");
    let wrong = build_check(&ft, &python(&ft_version, false));
    assert!(!wrong.status.success(), "{wrong:?}");
}

/// The init container's command of `job`, with the image's interpreter
/// replaced by `python`.
fn start_check(job: &Value, python: &Path) -> Vec<String> {
    let init = &job["spec"]["template"]["spec"]["initContainers"][0];
    assert_eq!(init["command"][0], "gil-lab");
    init["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            let a = a.as_str().unwrap();
            if a == "/usr/local/bin/python-workload" {
                python.display().to_string()
            } else {
                a.to_string()
            }
        })
        .collect()
}

#[test]
fn the_free_threaded_job_checks_at_start_that_the_gil_is_off() {
    let ft = common::free_threaded_python();
    let version = common::python_output(&ft, "import sys; print('%d.%d' % sys.version_info[:2])");
    // Every approach the Job may run: the runner and its module import and
    // keep the GIL off (a wrong module name would fail to import).
    for approach in Approach::ALL.into_iter().filter(|a| *a != Approach::Ray) {
        let job = kubernetes::job(&target(approach, python(&version, true)), &pod(2, 128));
        let output = common::gil_lab()
            .args(start_check(&job, &ft))
            .output()
            .unwrap();
        assert!(output.status.success(), "{approach}: {output:?}");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(stdout.contains("kept the GIL off"), "{approach}: {stdout}");
    }
    // A default build where the free-threaded one was measured fails the pod.
    let job = kubernetes::job(
        &target(Approach::Threads, python(&version, true)),
        &pod(2, 128),
    );
    let output = common::gil_lab()
        .args(start_check(&job, Path::new("/usr/bin/python3")))
        .output()
        .unwrap();
    assert!(!output.status.success(), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--require-free-threaded"), "{stderr}");
    // A default-build Job has no such check: its GIL is on by design.
    let job = kubernetes::job(
        &target(Approach::Threads, python(&version, false)),
        &pod(2, 128),
    );
    assert!(job["spec"]["template"]["spec"]["initContainers"].is_null());
}

#[test]
fn the_workload_modules_are_the_runners_registry() {
    let root = gil_lab::embedded::package_root().unwrap();
    let registry = common::python_output(
        Path::new("/usr/bin/python3"),
        &format!(
            "import sys, json; sys.path.insert(0, {:?}); from gil_lab.approaches import APPROACHES; print(json.dumps(APPROACHES))",
            root.display().to_string()
        ),
    );
    let registry: Value = serde_json::from_str(&registry).unwrap();
    for approach in Approach::ALL {
        let module = registry[approach.name()].as_str().unwrap();
        assert_eq!(
            kubernetes::workload_modules(approach)[1],
            format!("gil_lab.approaches.{module}")
        );
    }
}
