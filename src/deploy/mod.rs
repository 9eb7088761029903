//! `gil-lab deploy kubernetes`: the manifests to run a measured set-up on
//! Kubernetes, sized from a run. The cell is the advice's recommendation
//! for the scenario, found by its identity (the recommendation's
//! `CellKey`, never its words), or the fastest measured cell of
//! `--approach`: a ray cell becomes a KubeRay RayJob, any other a Job; both
//! come with the Dockerfile of their image, which runs the measured build
//! ([`interpreter`]). See docs/distributed.md.

pub mod interpreter;
pub mod kubernetes;
pub mod sizing;
pub mod yaml;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};

use crate::run::LoadedRun;
use crate::run::record::{CellState, CellSummary, InterpreterKind};
use crate::vocabulary::Approach;
use interpreter::ImagePython;
use kubernetes::Target;

/// `gil-lab deploy ...`.
#[derive(Debug, Subcommand)]
pub enum DeployCommand {
    /// Write Kubernetes manifests for a measured set-up: a KubeRay RayJob for
    /// the ray approach, a Job plus Dockerfile for the others; resources from
    /// the run's figures (cores = workers, memory = measured peak × 1.5).
    Kubernetes(KubernetesArgs),
}

/// The options of `deploy kubernetes`.
#[derive(Debug, Args)]
pub struct KubernetesArgs {
    /// The run to size from (default: the latest run in ./gil-lab-results).
    #[arg(value_name = "RUN_DIR")]
    pub run_dir: Option<PathBuf>,
    /// The scenario to deploy (default: the run's first).
    #[arg(long)]
    pub scenario: Option<String>,
    /// Deploy this approach (its fastest measured cell) instead of the
    /// advice's recommendation.
    #[arg(long, value_enum)]
    pub approach: Option<Approach>,
    /// The image the manifests run (built from the written Dockerfile).
    #[arg(long, default_value = "gil-lab:latest")]
    pub image: String,
    /// Take the interpreter from this base image's `python3` (e.g. an
    /// official `python:3.14t`) instead of installing it with uv; the image
    /// build fails unless it is the measured `major.minor` and build.
    #[arg(long, value_name = "IMAGE")]
    pub python_image: Option<String>,
    /// Directory to write the manifests and the Dockerfile to.
    #[arg(long, short, default_value = "gil-lab-deploy")]
    pub output: PathBuf,
}

/// Runs `gil-lab deploy`.
pub fn run(command: DeployCommand) -> Result<ExitCode> {
    match command {
        DeployCommand::Kubernetes(args) => kubernetes_command(&args),
    }
}

fn kubernetes_command(args: &KubernetesArgs) -> Result<ExitCode> {
    let dir = match &args.run_dir {
        Some(dir) => dir.clone(),
        None => crate::advise::latest_run(Path::new("gil-lab-results"))?,
    };
    let loaded = crate::run::directory::load(&dir)
        .with_context(|| format!("cannot size manifests from {}", dir.display()))?;
    let written = write(&loaded, args)?;
    for (path, about) in &written.files {
        println!("{}  ({about})", path.display());
    }
    for line in &written.interpreters {
        println!("  {line}");
    }
    Ok(ExitCode::SUCCESS)
}

/// The cell to deploy: the fastest measured cell of `approach`, else the
/// cell the advice recommends for `scenario` (by its key).
fn chosen<'a>(
    loaded: &'a LoadedRun,
    scenario: &str,
    approach: Option<Approach>,
) -> Result<&'a CellSummary> {
    // Python cells in their build's own GIL mode, as the advice weighs them.
    let measured = || {
        loaded
            .summary
            .cells
            .iter()
            .filter(move |c| c.cell.scenario == scenario && c.state == CellState::Measured)
            .filter(|c| {
                loaded
                    .run
                    .interpreter(&c.cell.interpreter)
                    .is_some_and(|i| i.kind == InterpreterKind::Python && i.gil_forced.is_none())
            })
    };
    if let Some(approach) = approach {
        return measured()
            .filter(|c| c.cell.approach == approach)
            .min_by(|a, b| median(a).total_cmp(&median(b)))
            .with_context(|| {
                format!(
                    "the run has no measured {approach} cell in the {scenario} scenario: run `gil-lab bench --scenario {scenario} --approach {approach}` first"
                )
            });
    }
    let advice = crate::advise::for_run(loaded);
    let rec = advice
        .recommendations
        .iter()
        .find(|r| r.topic == scenario)
        .with_context(|| format!("the run has no advice for the {scenario} scenario"))?;
    let Some(key) = &rec.cell else {
        bail!("the run recommends nothing measured for {scenario}: name one with --approach");
    };
    // Identity, never words: a label may start another's.
    let mut measured = measured();
    measured.find(|c| &c.cell == key).with_context(|| {
        format!(
            "the cell the advice recommends for {scenario} ({}) is not a measured Python cell of the run: name one with --approach",
            crate::run::format::describe(&loaded.run, key)
        )
    })
}

fn median(c: &CellSummary) -> f64 {
    c.work.as_ref().map_or(f64::INFINITY, |w| w.median)
}

/// What `write` wrote: each file with what it is, and the lines that name
/// the measured interpreter and the image's.
#[derive(Debug)]
pub struct Written {
    /// Each path written, with what it is.
    pub files: Vec<(PathBuf, String)>,
    /// `measured: ...`, `image: ...` and `may differ: ...`.
    pub interpreters: Vec<String>,
}

/// Writes the manifests and the Dockerfile.
pub fn write(loaded: &LoadedRun, args: &KubernetesArgs) -> Result<Written> {
    let scenario = match &args.scenario {
        Some(s) => s.clone(),
        None => loaded
            .summary
            .cells
            .first()
            .map(|c| c.cell.scenario.clone())
            .context("the run has no cells")?,
    };
    let cell = chosen(loaded, &scenario, args.approach)?;
    let measured = loaded
        .run
        .interpreter(&cell.cell.interpreter)
        .context("the cell's interpreter is not in the run")?;
    let python = ImagePython::for_measured(measured, args.python_image.as_deref())?;
    let interpreters = vec![
        format!("measured: {}", interpreter::measured_words(measured)),
        format!("image: {}", python.words()),
        format!(
            "may differ: {}",
            interpreter::differences(measured, &python)
        ),
    ];
    let target = Target {
        scenario: scenario.clone(),
        approach: cell.cell.approach,
        workers: cell.cell.workers,
        python,
        scale: loaded.run.settings.scale,
        image: args.image.clone(),
    };
    let on = format!(
        "CPython {} ({})",
        target.python.request(),
        target.python.build()
    );
    let (manifest, about) = if target.approach == Approach::Ray {
        let Some((head, worker)) = sizing::ray_cluster(loaded, cell) else {
            bail!(
                "the ray cell was not measured on a local cluster (its processes are sized from one): run `gil-lab bench --scenario {scenario} --approach ray` without --ray-address"
            );
        };
        (
            kubernetes::ray_job(&target, &head, &worker),
            format!(
                "KubeRay RayJob on {on}: head {} MiB, {} worker pods of 1 core and {} MiB",
                head.memory_mib, target.workers, worker.memory_mib
            ),
        )
    } else {
        let pod = sizing::single_machine(cell)
            .context("the cell has no measured peak memory to size the pod from")?;
        (
            kubernetes::job(&target, &pod),
            format!(
                "Job: {} ×{} on {on}, {} cores, {} MiB{}",
                target.approach,
                target.workers,
                pod.cpu,
                pod.memory_mib,
                if target.python.free_threaded {
                    "; checks at start that the GIL is off"
                } else {
                    ""
                }
            ),
        )
    };
    std::fs::create_dir_all(&args.output)
        .with_context(|| format!("cannot create {}", args.output.display()))?;
    let manifest_path = args.output.join(format!("{}.yaml", target.name()));
    let dockerfile_path = args.output.join("Dockerfile");
    let mut header = format!(
        "# {} for the {scenario} scenario, sized from {} (Kubernetes {}).\n",
        crate::run::format::describe(&loaded.run, &cell.cell),
        loaded.dir.display(),
        kubernetes::KUBERNETES_VERSION
    );
    for line in &interpreters {
        header.push_str(&format!("# {line}\n"));
    }
    header.push_str("# Written by `gil-lab deploy kubernetes`; see docs/distributed.md.\n");
    std::fs::write(&manifest_path, header + &yaml::to_yaml(&manifest))
        .with_context(|| format!("cannot write {}", manifest_path.display()))?;
    std::fs::write(&dockerfile_path, kubernetes::dockerfile(&target))
        .with_context(|| format!("cannot write {}", dockerfile_path.display()))?;
    Ok(Written {
        files: vec![
            (manifest_path, about),
            (dockerfile_path, format!("the image: gil-lab and {on}")),
        ],
        interpreters,
    })
}
