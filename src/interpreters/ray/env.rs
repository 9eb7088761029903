//! The virtual environment with Ray of one interpreter, in gil-lab's home
//! (`ray/<interpreter>-<hash of its path>/`): made on request with uv when it
//! is on PATH (fast), else with the interpreter's own `venv` and `pip`;
//! complete only once its marker file (the Ray version) is written, after
//! `import ray` worked in it. The ray cells of a run start their runner with
//! this environment's Python: the same interpreter, plus Ray.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use super::wheels::{self, NoWheels, RAY_VERSION};
use crate::interpreters::facts::Facts;
use crate::interpreters::provision::command::{self, Log};
use crate::interpreters::provision::progress::Progress;

/// The file whose presence (holding [`RAY_VERSION`]) says an environment is
/// complete.
const MARKER: &str = "gil-lab-ray-ready";

/// Where Ray stands for one interpreter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Readiness {
    /// Installed and verified: the environment's Python.
    Ready(PathBuf),
    /// Ray can be installed, and is not yet (`gil-lab python ray-env`).
    NotSetUp,
    /// No Ray wheels exist for this interpreter.
    NoWheels(NoWheels),
}

impl Readiness {
    /// In words, for `python list`: `ready (Ray 2.60.0)`, `not set up`, or
    /// `no wheels: <reason> (source: ...)`.
    pub fn words(&self) -> String {
        match self {
            Readiness::Ready(_) => format!("ready (Ray {RAY_VERSION})"),
            Readiness::NotSetUp => "not set up (`gil-lab python ray-env`)".into(),
            Readiness::NoWheels(why) => format!("unavailable: {why}"),
        }
    }

    /// A short word for tables: `ready`, `not set up`, `no wheels`.
    pub fn short(&self) -> &'static str {
        match self {
            Readiness::Ready(_) => "ready",
            Readiness::NotSetUp => "not set up",
            Readiness::NoWheels(_) => "no wheels",
        }
    }
}

/// The environment directory of the interpreter at `base` (its absolute
/// path, as discovered).
pub fn env_dir(base: &Path, facts: &Facts) -> Result<PathBuf> {
    let canonical = std::fs::canonicalize(base).unwrap_or_else(|_| base.to_path_buf());
    let hash = crate::hash::fnv1a_64(canonical.as_os_str().as_encoded_bytes());
    let [major, minor, patch] = facts.version_info;
    let name = format!(
        "{}-{major}.{minor}.{patch}-{:08x}",
        facts.implementation, hash as u32
    );
    Ok(crate::paths::home_subdir("ray")?.join(name))
}

/// Where Ray stands for the interpreter at `base`.
pub fn readiness(base: &Path, facts: &Facts) -> Readiness {
    if let Err(why) = wheels::availability(facts) {
        return Readiness::NoWheels(why);
    }
    match env_dir(base, facts) {
        Ok(dir) if is_complete(&dir) => Readiness::Ready(python_of(&dir)),
        _ => Readiness::NotSetUp,
    }
}

fn python_of(dir: &Path) -> PathBuf {
    dir.join("bin").join("python")
}

fn is_complete(dir: &Path) -> bool {
    std::fs::read_to_string(dir.join(MARKER)).is_ok_and(|v| v.trim() == RAY_VERSION)
        && python_of(dir).is_file()
}

/// The environment's Python for the interpreter at `base` (`label` names it
/// in messages), made first if needed, with progress on stderr. An error
/// when Ray has no wheels for it, or when the install failed (the log's
/// path and last lines say why).
pub fn ensure(base: &Path, facts: &Facts, label: &str) -> Result<PathBuf> {
    wheels::availability(facts).map_err(|why| anyhow::anyhow!("{label}: {why}"))?;
    let dir = env_dir(base, facts)?;
    if is_complete(&dir) {
        return Ok(python_of(&dir));
    }
    let log_path = crate::paths::home_subdir("logs")?.join(format!(
        "ray-{}.log",
        dir.file_name().unwrap_or_default().to_string_lossy()
    ));
    let mut log = Log::create(&log_path)?;
    let progress = Progress::new(&format!("Ray {RAY_VERSION} for {label}"));
    let made = make(base, &dir, &progress, &mut log);
    progress.finish();
    if let Err(err) = made {
        // Half-made: the next attempt starts over.
        let _ = std::fs::remove_dir_all(&dir);
        bail!(
            "cannot install Ray {RAY_VERSION} for {label}: {err:#} (log: {}; last lines:\n{})",
            log.path().display(),
            log.tail(6)
        );
    }
    eprintln!(
        "Ray {RAY_VERSION} is ready for {label}: {}",
        python_of(&dir).display()
    );
    Ok(python_of(&dir))
}

/// Makes the environment in `dir` and installs Ray into it.
fn make(base: &Path, dir: &Path, progress: &Progress, log: &mut Log) -> Result<()> {
    if dir.exists() {
        std::fs::remove_dir_all(dir)
            .with_context(|| format!("cannot remove the incomplete {}", dir.display()))?;
    }
    let python = python_of(dir);
    let requirement = format!("ray=={RAY_VERSION}");
    let use_uv = command::on_path("uv");
    log.note(&format!(
        "making {} with {}",
        dir.display(),
        if use_uv { "uv" } else { "venv + pip" }
    ));
    progress.stage(&format!(
        "making a virtual environment ({})",
        if use_uv { "uv venv" } else { "python -m venv" }
    ));
    let mut venv = if use_uv {
        let mut uv = Command::new("uv");
        uv.arg("venv").arg("--python").arg(base).arg(dir);
        uv
    } else {
        let mut venv = Command::new(base);
        venv.args(["-m", "venv"]).arg(dir);
        venv
    };
    venv.env("UV_NO_PROGRESS", "1");
    run(venv, log, |_| {})?;

    progress.stage(&format!(
        "installing {requirement} from the package index (~80 MB)"
    ));
    let mut install = if use_uv {
        let mut uv = Command::new("uv");
        uv.args(["pip", "install", "--python"]).arg(&python);
        uv
    } else {
        let mut pip = Command::new(&python);
        pip.args(["-m", "pip", "install", "--disable-pip-version-check"]);
        pip
    };
    install.arg(&requirement).env("UV_NO_PROGRESS", "1");
    run(install, log, |line| {
        // pip's and uv's own stage lines: what is being fetched or installed.
        let line = line.trim();
        if line.starts_with("Collecting ")
            || line.starts_with("Downloading ")
            || line.starts_with("Installing ")
            || line.starts_with("Prepared ")
            || line.starts_with("Installed ")
        {
            progress.stage(line);
        }
    })?;

    progress.stage("checking `import ray`");
    let mut check = Command::new(&python);
    check.args(["-I", "-c", "import ray; print(ray.__version__)"]);
    let mut version = String::new();
    run(check, log, |line| version = line.trim().to_string())?;
    if version != RAY_VERSION {
        bail!(
            "`import ray` in the new environment gives version {version:?}, expected {RAY_VERSION}"
        );
    }
    std::fs::write(dir.join(MARKER), RAY_VERSION)
        .with_context(|| format!("cannot write {}", dir.join(MARKER).display()))?;
    Ok(())
}

/// Runs one step, logged; an error names it.
fn run(command: Command, log: &mut Log, on_line: impl FnMut(&str)) -> Result<()> {
    let described = command::describe(&command);
    let status = command::run_logged(command, log, on_line)?;
    if !status.success() {
        bail!("`{described}` failed ({status})");
    }
    Ok(())
}
