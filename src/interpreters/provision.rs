//! `gil-lab python install`: a CPython (free-threaded or default build) in
//! gil-lab's home, wherever gil-lab runs, verified with the probe.
//!
//! Ways to get one, each tried only when it applies, in this order:
//! 1. the source tarball given with `--source` (built here);
//! 2. `uv python install` when uv is on PATH and works;
//! 3. the system package manager's CPython source (Debian/Ubuntu:
//!    `apt-get source pythonX.Y`), built here.
//!
//! A build is configured with its final prefix (CPython bakes it in), so an
//! install is only complete once its marker file is written, after the probe
//! verified the interpreter; a directory without a marker is rebuilt.

mod apt;
mod build;
pub mod command;
mod marker;
pub mod progress;
mod request;
mod source;
mod uv;

use std::fs::File;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail, ensure as check};
use clap::Args;

use self::command::Log;
use self::marker::Marker;
use self::progress::Progress;
pub use self::request::Request;
use crate::interpreters::facts::Facts;
use crate::interpreters::probe;
use crate::interpreters::probe_cache::ProbeCache;

/// `gil-lab python install`: provisions a CPython into gil-lab's home.
#[derive(Debug, Args)]
pub struct InstallArgs {
    /// The CPython to install: 3.13t, 3.13, 3.14t or 3.14 (a `t` suffix means
    /// the free-threaded build); a patch level may be pinned (3.13.5t).
    #[arg(value_name = "VERSION")]
    pub version: String,
    /// Build from this CPython source tarball (.tar.xz or .tar.gz, e.g. from
    /// https://www.python.org/downloads/source/) instead of looking for one.
    #[arg(long, value_name = "TARBALL")]
    pub source: Option<PathBuf>,
    /// Also install the default (GIL) build of the same sources, so the cost
    /// of free-threading is measured on identical code; printed first.
    #[arg(long)]
    pub with_default: bool,
    /// Rebuild even when a verified install exists.
    #[arg(long)]
    pub force: bool,
    /// Parallel compile jobs (default: the usable CPU count).
    #[arg(long, value_name = "N")]
    pub jobs: Option<NonZeroUsize>,
}

/// How an install runs.
#[derive(Debug, Clone)]
struct Options {
    /// A source tarball to build from (`--source`), with where it came from.
    source: Option<Tarball>,
    /// Rebuild even when a verified install exists.
    force: bool,
    /// Parallel compile jobs.
    jobs: usize,
}

/// A CPython source tarball and where it came from.
#[derive(Debug, Clone)]
struct Tarball {
    path: PathBuf,
    origin: String,
}

/// One installed interpreter.
#[derive(Debug, Clone)]
struct Installed {
    /// The executable (`.../bin/python3.13t`).
    executable: PathBuf,
    /// Its full version (`3.13.5`).
    version: String,
    /// The tarball it was built from (none for uv's prebuilt ones).
    tarball: Option<Tarball>,
}

/// The file that marks a verified, complete install.
pub const MARKER_FILE: &str = ".gil-lab-installed.json";

/// Runs `gil-lab python install`: the executables go to stdout, one per
/// line, the requested one last; everything else goes to stderr.
pub fn run(args: InstallArgs) -> Result<ExitCode> {
    let request = Request::parse(&args.version)?;
    let source = match args.source {
        Some(path) => {
            let path = std::path::absolute(&path)
                .with_context(|| format!("cannot resolve --source {}", path.display()))?;
            Some(Tarball {
                origin: format!("source tarball {}", path.display()),
                path,
            })
        }
        None => None,
    };
    let options = Options {
        source,
        force: args.force,
        jobs: args.jobs.map_or_else(default_jobs, NonZeroUsize::get),
    };
    for executable in install(request, args.with_default, &options)? {
        println!("{}", executable.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// Makes sure CPython `version` (`3.13t`, ...) is installed in gil-lab's
/// home, provisioning it the way `gil-lab python install` does and saying
/// so on stderr, and returns its executable (after the default build of the
/// same sources when `with_default`). Where nothing works, the error says
/// exactly what to install.
#[allow(
    dead_code,
    reason = "called by `bench` when it finds no free-threaded interpreter"
)]
pub fn ensure(version: &str, with_default: bool) -> Result<Vec<PathBuf>> {
    let request = Request::parse(version)?;
    let options = Options {
        source: None,
        force: false,
        jobs: default_jobs(),
    };
    install(request, with_default, &options)
}

fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(2, NonZeroUsize::get)
}

/// Installs `request` (and the default build of the same sources when
/// `with_default`); returns the executables, the requested one last.
fn install(request: Request, with_default: bool, options: &Options) -> Result<Vec<PathBuf>> {
    let requested = install_one(request, options)?;
    let mut executables = Vec::new();
    if with_default && request.free_threaded {
        // Pin the default build to the very version (and tarball) of the
        // free-threaded one: the comparison is only fair on identical code.
        let patch = requested.version.split('.').nth(2).and_then(|p| {
            p.chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
                .parse()
                .ok()
        });
        let default_request = Request {
            patch,
            ..request.default_build()
        };
        let default_options = Options {
            source: requested.tarball.clone().or_else(|| options.source.clone()),
            ..options.clone()
        };
        executables.push(install_one(default_request, &default_options)?.executable);
    } else if with_default {
        eprintln!(
            "note: --with-default adds nothing to {request}, which is the default build already"
        );
    }
    executables.push(requested.executable);
    Ok(executables)
}

/// Holds gil-lab's install lock: one install at a time per home, so that two
/// gil-lab processes (or parallel tests) never build into the same prefix.
fn lock(pythons: &Path) -> Result<File> {
    let path = pythons.join(".install.lock");
    let file = File::create(&path).with_context(|| format!("cannot create {}", path.display()))?;
    if file.try_lock().is_err() {
        eprintln!(
            "waiting for another gil-lab install to finish (lock {})",
            path.display()
        );
        file.lock()
            .with_context(|| format!("cannot lock {}", path.display()))?;
    }
    Ok(file)
}

fn install_one(request: Request, options: &Options) -> Result<Installed> {
    let pythons = crate::paths::home_subdir("pythons")?;
    // Check the tarball before waiting for the lock: bad input fails fast.
    let tarball_version = match &options.source {
        Some(tarball) => {
            let version = source::tarball_version(&tarball.path)?;
            check!(
                request.matches(&version),
                "{} is CPython {version}, not {request}: give --source a {} tarball or ask for {}{}",
                tarball.path.display(),
                request.default_build(),
                version,
                if request.free_threaded { "t" } else { "" }
            );
            Some(version)
        }
        None => None,
    };
    let _lock = lock(&pythons)?;
    if !options.force
        && let Some(found) = find_verified(&pythons, request, tarball_version.as_deref())
    {
        eprintln!(
            "CPython {}{} is already installed and verified: {}",
            found.version,
            if request.free_threaded { "t" } else { "" },
            found.executable.display()
        );
        return Ok(found);
    }

    let progress = Progress::new(&format!("CPython {request}"));
    let logs = crate::paths::home_subdir("logs")?;
    let mut log = Log::create(&logs.join(format!("install-{request}.log")))?;
    let tarball = match &options.source {
        Some(tarball) => {
            progress.println(&format!(
                "building CPython {request} from {}",
                tarball.origin
            ));
            tarball.clone()
        }
        None => match find_tarball(request, &pythons, options.force, &mut log, &progress)? {
            Found::Interpreter(installed) => return Ok(installed),
            Found::Tarball(tarball) => tarball,
        },
    };
    let version = match tarball_version {
        Some(version) => version,
        None => source::tarball_version(&tarball.path)?,
    };
    check!(
        request.matches(&version),
        "{} is CPython {version}, not {request}",
        tarball.origin
    );
    let built = build_and_verify(
        request, &version, &tarball, &pythons, options, &mut log, &progress,
    )?;
    progress.finish();
    eprintln!(
        "installed CPython {version}{} from {} in {:.0} s: {}",
        if request.free_threaded { "t" } else { "" },
        tarball.origin,
        built.build_seconds,
        built.executable.display()
    );
    Ok(Installed {
        executable: built.executable,
        version,
        tarball: Some(tarball),
    })
}

/// What the strategies without `--source` found.
enum Found {
    /// uv installed a verified interpreter.
    Interpreter(Installed),
    /// A source tarball to build.
    Tarball(Tarball),
}

/// Tries uv, then the system package manager; says on stderr which one it
/// uses and why the ones before did not apply.
fn find_tarball(
    request: Request,
    pythons: &Path,
    force: bool,
    log: &mut Log,
    progress: &Progress,
) -> Result<Found> {
    let mut reasons = Vec::new();
    progress.stage("trying uv (uv python install)");
    match uv::install(request, &pythons.join("uv"), force, log).and_then(|executable| {
        verify(&executable, request, None, Probing::Fresh).map(|facts| (executable, facts))
    }) {
        Ok((executable, facts)) => {
            progress.println(&format!("installed with uv: {}", executable.display()));
            return Ok(Found::Interpreter(Installed {
                executable,
                version: facts.version,
                tarball: None,
            }));
        }
        Err(error) => {
            progress.println(&format!("uv: {error:#}; trying the system package manager"));
            log.note(&format!("uv did not apply: {error:#}"));
            reasons.push(format!("uv: {error:#}"));
        }
    }
    let sources = crate::paths::home_subdir("sources")?;
    match apt::fetch_source(request, &sources, log, progress) {
        Ok(fetched) => {
            progress.println(&format!("building from the {}", fetched.origin));
            Ok(Found::Tarball(Tarball {
                path: fetched.tarball,
                origin: fetched.origin,
            }))
        }
        Err(error) => {
            log.note(&format!("apt did not apply: {error:#}"));
            reasons.push(format!("system package manager: {error:#}"));
            bail!(nothing_works(request, &reasons, log))
        }
    }
}

/// The error when no way works: why each failed, and what to do.
fn nothing_works(request: Request, reasons: &[String], log: &Log) -> String {
    let minor = request.default_build();
    // python.org names its tarballs `Python-3.13.5.tar.xz`.
    let tarball = match request.patch {
        Some(_) => format!("Python-{minor}.tar.xz"),
        None => format!("Python-{minor}.N.tar.xz"),
    };
    let mut text = format!("cannot provision CPython {request} on this machine:\n");
    for reason in reasons {
        text.push_str(&format!("  - {reason}\n"));
    }
    text.push_str(&format!(
        "To fix it, do one of:\n  \
         - download a CPython {minor} source tarball (https://www.python.org/downloads/source/) \
         and run `gil-lab python install {request} --source {tarball}`;\n  \
         - install uv (https://docs.astral.sh/uv/getting-started/installation/) where it can \
         download, then rerun `gil-lab python install {request}`;\n  \
         - install a {} CPython {minor} yourself and name its executable with --python \
         (or GIL_LAB_PYTHON).\n\
         Details: {}",
        if request.free_threaded {
            "free-threaded"
        } else {
            "default-build"
        },
        log.path().display()
    ));
    text
}

/// What [`build_and_verify`] made.
struct BuildResult {
    executable: PathBuf,
    build_seconds: f64,
}

fn build_and_verify(
    request: Request,
    version: &str,
    tarball: &Tarball,
    pythons: &Path,
    options: &Options,
    log: &mut Log,
    progress: &Progress,
) -> Result<BuildResult> {
    let name = request::install_name(version, request.free_threaded);
    let prefix = pythons.join(&name);
    // No marker while the build runs: an interrupted build is incomplete.
    let marker_path = prefix.join(MARKER_FILE);
    if marker_path.exists() {
        std::fs::remove_file(&marker_path)
            .with_context(|| format!("cannot remove {}", marker_path.display()))?;
    }
    apt::ensure_build_dependencies(log, progress)?;
    let spec = build::BuildSpec {
        tarball: tarball.path.clone(),
        free_threaded: request.free_threaded,
        prefix: prefix.clone(),
        build_dir: crate::paths::home_subdir("build")?.join(&name),
        jobs: options.jobs,
    };
    progress.println(&format!(
        "building CPython {version}{} with {} jobs; log: {}",
        if request.free_threaded { "t" } else { "" },
        spec.jobs,
        log.path().display()
    ));
    let built = build::build(&spec, log, progress)?;
    let executable = prefix.join("bin").join(request::executable_name(
        request.minor,
        request.free_threaded,
    ));
    progress.stage("verifying with the probe");
    let facts = verify(&executable, request, Some(version), Probing::Fresh).with_context(|| {
        format!(
            "the new build does not pass verification (log: {})",
            log.path().display()
        )
    })?;
    let marker = Marker {
        name,
        version: facts.version.clone(),
        free_threaded: request.free_threaded,
        variant: facts.variant().describe().to_string(),
        executable: executable.clone(),
        source: tarball.path.clone(),
        source_origin: tarball.origin.clone(),
        configure_flags: built.configure_flags,
        build_seconds: built.seconds,
        installed_at: jiff::Timestamp::now().to_string(),
        build_log: log.path().to_path_buf(),
        gil_lab_version: env!("CARGO_PKG_VERSION").to_string(),
    };
    marker.write(&marker_path)?;
    Ok(BuildResult {
        executable,
        build_seconds: built.seconds,
    })
}

/// The newest verified install in `pythons` that satisfies `request` (and
/// has exactly `version` when given).
fn find_verified(pythons: &Path, request: Request, version: Option<&str>) -> Option<Installed> {
    let mut candidates: Vec<Marker> = marker::read_all(pythons)
        .into_iter()
        .map(|(_, marker)| marker)
        .filter(|m| m.free_threaded == request.free_threaded && request.matches(&m.version))
        .filter(|m| version.is_none_or(|v| v == m.version))
        .filter(|m| m.executable.is_file())
        .collect();
    candidates.sort_by_key(|m| std::cmp::Reverse(marker::version_key(&m.version)));
    for marker in candidates {
        // The cached probe answers in milliseconds; an answer cached from a
        // broken moment (another process probed a build being replaced)
        // gets a second chance with a fresh probe.
        let verified = verify(
            &marker.executable,
            request,
            Some(&marker.version),
            Probing::Cached,
        )
        .or_else(|_| {
            verify(
                &marker.executable,
                request,
                Some(&marker.version),
                Probing::Fresh,
            )
        });
        match verified {
            Ok(_) => {
                return Some(Installed {
                    executable: marker.executable,
                    version: marker.version,
                    tarball: Some(Tarball {
                        path: marker.source,
                        origin: marker.source_origin,
                    })
                    .filter(|t| t.path.is_file()),
                });
            }
            Err(error) => eprintln!(
                "the install {} no longer passes verification ({error:#}); it will be rebuilt",
                marker.executable.display()
            ),
        }
    }
    None
}

/// Whether verification may use the probe cache.
#[derive(Debug, Clone, Copy)]
enum Probing {
    /// Use the cache (an install verified before).
    Cached,
    /// Run the probe (a new build: nothing cached may stand for it).
    Fresh,
}

/// Modules the workload cannot run without: a build that lacks one (a
/// missing build dependency) is not a usable interpreter for gil-lab.
const REQUIRED_MODULES: &str = "_ctypes, zlib, _multiprocessing, _posixsubprocess, _socket, select, asyncio, concurrent.futures";

/// Checks with the probe that `executable` is the CPython `request` asks
/// for: the version, the build variant, the GIL off at start on a
/// free-threaded build and `-X gil=1` turning it on; and that the modules
/// the workload needs import.
fn verify(
    executable: &Path,
    request: Request,
    version: Option<&str>,
    fresh: Probing,
) -> Result<Facts> {
    let Probing::Fresh = fresh else {
        return verify_with(executable, request, version, &ProbeCache::open()?);
    };
    // An empty cache of its own: the answer is the interpreter's now.
    let dir = crate::paths::home_subdir("build")?.join(format!(".probe-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let result = verify_with(
        executable,
        request,
        version,
        &ProbeCache::in_dir(dir.clone()),
    );
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn verify_with(
    executable: &Path,
    request: Request,
    version: Option<&str>,
    cache: &ProbeCache,
) -> Result<Facts> {
    let run_probe = |flags: &[String]| probe::probe_with_cache(executable, flags, cache);
    let facts = run_probe(&[])?;
    let shown = executable.display();
    check!(
        facts.implementation == "cpython",
        "{shown} is {}, not CPython",
        facts.implementation_display()
    );
    check!(
        request.matches(&facts.version) && version.is_none_or(|v| v == facts.version),
        "{shown} is CPython {}, not {}",
        facts.version,
        version.unwrap_or(&request.to_string())
    );
    check!(
        facts.variant().is_free_threaded() == request.free_threaded,
        "{shown} is a {} build, not {}",
        facts.variant().describe(),
        if request.free_threaded {
            "free-threaded"
        } else {
            "a default build"
        }
    );
    if request.free_threaded {
        check!(!facts.gil_at_start(), "{shown} starts with the GIL on");
        let forced = run_probe(&["-X".to_string(), "gil=1".to_string()])?;
        check!(
            forced.gil_at_start(),
            "{shown} keeps the GIL off under -X gil=1"
        );
    } else {
        check!(facts.gil_at_start(), "{shown} starts with the GIL off");
    }
    let imports = std::process::Command::new(executable)
        .args(["-I", "-c", &format!("import {REQUIRED_MODULES}")])
        .output()
        .with_context(|| format!("cannot run {shown}"))?;
    check!(
        imports.status.success(),
        "{shown} cannot import modules the workload needs ({REQUIRED_MODULES}): {}; \
         install the build dependencies (libffi-dev, zlib1g-dev) and rerun with --force",
        String::from_utf8_lossy(&imports.stderr)
            .lines()
            .last()
            .unwrap_or("no message")
    );
    Ok(facts)
}
