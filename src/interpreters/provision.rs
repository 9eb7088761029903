//! `gil-lab python install`: a CPython (free-threaded or default build) in
//! gil-lab's home, wherever gil-lab runs, verified with the probe.
//!
//! Ways to get one, each tried only when it applies, in this order:
//! 1. the source tarball given with `--source` (built here);
//! 2. `uv python install` when uv is on PATH and works;
//! 3. a default build only: Debian's binary package of a newer suite,
//!    relocated into gil-lab's home ([`debian_binary`]);
//! 4. the distribution's CPython source (Debian/Ubuntu: `apt-get source
//!    pythonX.Y`, the newest that downloads), built here.
//!
//! APT runs with a private configuration in gil-lab's home (nothing is
//! written under `/etc`); build dependencies are installed only with
//! `--yes` or when the user agrees on a terminal. `--optimized` builds
//! from source with PGO and LTO.
//!
//! A build is configured with its final prefix (CPython bakes it in), so an
//! install is only complete once its marker file is written, after the probe
//! verified the interpreter; a directory without a marker is rebuilt.

mod apt;
mod build;
pub mod command;
mod debian_binary;
mod marker;
pub mod progress;
mod request;
mod source;
mod uv;
mod verify;

use std::fs::File;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail, ensure as check};
use clap::Args;

use self::apt::Consent;
use self::command::Log;
use self::marker::{Marker, Strategy};
use self::progress::Progress;
pub use self::request::Request;
use self::verify::{Probing, verify};

/// `gil-lab python install`: provisions a CPython into gil-lab's home.
#[derive(Debug, Args)]
pub struct InstallArgs {
    /// The CPython to install: 3.13t, 3.13, 3.14, 3.15, ... (a `t` suffix
    /// means the free-threaded build); a patch level may be pinned (3.13.5t).
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
    /// Build from source with profile-guided optimisation and link-time
    /// optimisation (`--enable-optimizations --with-lto`), like release
    /// builds, so that a default / free-threaded pair is compared as
    /// released; installed next to the plain build. Takes several times
    /// longer than a plain build (the profile run executes the test suite).
    #[arg(long)]
    pub optimized: bool,
    /// Install missing build dependencies (as root) without asking; without
    /// it gil-lab asks on a terminal and otherwise prints the command.
    #[arg(long, short = 'y')]
    pub yes: bool,
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
    /// PGO + LTO from source (`--optimized`).
    optimized: bool,
    /// Whether build dependencies may be installed without asking.
    consent: Consent,
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
        optimized: args.optimized,
        consent: if args.yes {
            Consent::Given
        } else {
            Consent::Ask
        },
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
pub fn ensure(version: &str, with_default: bool) -> Result<Vec<PathBuf>> {
    let request = Request::parse(version)?;
    let options = Options {
        source: None,
        force: false,
        jobs: default_jobs(),
        optimized: false,
        consent: Consent::Ask,
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
        && let Some(found) = find_verified(
            &pythons,
            request,
            tarball_version.as_deref(),
            options.optimized,
        )
    {
        eprintln!(
            "CPython {}{}{} is already installed and verified: {}",
            found.version,
            if request.free_threaded { "t" } else { "" },
            if options.optimized { " (PGO+LTO)" } else { "" },
            found.executable.display()
        );
        return Ok(found);
    }

    let progress = Progress::new(&format!("CPython {request}"));
    let logs = crate::paths::home_subdir("logs")?;
    let mut log = Log::create(&logs.join(format!(
        "install-{request}{}.log",
        if options.optimized { "-pgo-lto" } else { "" }
    )))?;
    let tarball = match &options.source {
        Some(tarball) => {
            progress.println(&format!(
                "building CPython {request} from {}",
                tarball.origin
            ));
            tarball.clone()
        }
        None => match find(request, &pythons, options, &mut log, &progress)? {
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
        "installed CPython {version}{}{} from {} in {:.0} s: {}",
        if request.free_threaded { "t" } else { "" },
        if options.optimized { " (PGO+LTO)" } else { "" },
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
    /// uv, or Debian's binary package, gave a verified interpreter.
    Interpreter(Installed),
    /// A source tarball to build.
    Tarball(Tarball),
}

/// Tries uv, then (default builds) Debian's binary packages, then the
/// distribution's source; says on stderr which one it uses and why the ones
/// before did not apply. `--optimized` goes straight to the source: only a
/// build made here has the recipe asked for.
fn find(
    request: Request,
    pythons: &Path,
    options: &Options,
    log: &mut Log,
    progress: &Progress,
) -> Result<Found> {
    let mut reasons = Vec::new();
    if !options.optimized {
        progress.stage("trying uv (uv python install)");
        match uv::install(request, &pythons.join("uv"), options.force, log).and_then(|executable| {
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
                progress.println(&format!("uv: {error:#}"));
                log.note(&format!("uv did not apply: {error:#}"));
                reasons.push(format!("uv: {error:#}"));
            }
        }
        match install_binary(request, pythons, log, progress) {
            Ok(installed) => return Ok(Found::Interpreter(installed)),
            Err(error) => {
                progress.println(&format!("Debian binary packages: {error:#}"));
                log.note(&format!("Debian binary packages did not apply: {error:#}"));
                reasons.push(format!("Debian binary packages: {error:#}"));
            }
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
            log.note(&format!("source packages did not apply: {error:#}"));
            reasons.push(format!("source packages: {error:#}"));
            bail!(nothing_works(request, &reasons, log))
        }
    }
}

/// Debian's binary package relocated into `pythons`, verified and marked.
fn install_binary(
    request: Request,
    pythons: &Path,
    log: &mut Log,
    progress: &Progress,
) -> Result<Installed> {
    let unpacked = debian_binary::install(request, pythons, log, progress)?;
    progress.stage("verifying with the probe");
    let facts = verify(
        &unpacked.executable,
        request,
        Some(&unpacked.version),
        Probing::Fresh,
    )?;
    let prefix = pythons.join(request::install_name(&unpacked.version, false, false));
    let marker = Marker {
        name: request::install_name(&unpacked.version, false, false),
        version: facts.version.clone(),
        free_threaded: false,
        variant: facts.variant().describe().to_string(),
        executable: unpacked.executable.clone(),
        source: unpacked.deb.clone(),
        source_origin: unpacked.origin.clone(),
        strategy: Strategy::DebianBinary,
        optimized: false,
        configure_flags: Vec::new(),
        build_seconds: unpacked.seconds,
        installed_at: jiff::Timestamp::now().to_string(),
        build_log: log.path().to_path_buf(),
        gil_lab_version: env!("CARGO_PKG_VERSION").to_string(),
    };
    marker.write(&prefix.join(MARKER_FILE))?;
    progress.finish();
    eprintln!(
        "installed CPython {} from the {} in {:.0} s: {}",
        facts.version,
        unpacked.origin,
        unpacked.seconds,
        unpacked.executable.display()
    );
    Ok(Installed {
        executable: unpacked.executable,
        version: facts.version,
        tarball: None,
    })
}

/// The error when no way works, in one line: why each failed, and what to do.
fn nothing_works(request: Request, reasons: &[String], log: &Log) -> String {
    let minor = request.default_build();
    // python.org names its tarballs `Python-3.13.5.tar.xz`.
    let tarball = match request.patch {
        Some(_) => format!("Python-{minor}.tar.xz"),
        None => format!("Python-{minor}.N.tar.xz"),
    };
    let install = crate::shell::join([
        "gil-lab",
        "python",
        "install",
        &request.to_string(),
        "--source",
        &tarball,
    ]);
    format!(
        "cannot provision CPython {request} here ({}): run `{install}` with a CPython {minor} \
         source tarball from https://www.python.org/downloads/source/, or install uv \
         (https://docs.astral.sh/uv/) on a machine that reaches its download host and rerun, or \
         name a {} CPython {minor} you have with --python (details: {})",
        reasons.join("; "),
        if request.free_threaded {
            "free-threaded"
        } else {
            "default-build"
        },
        crate::shell::quote_path(log.path())
    )
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
    let name = request::install_name(version, request.free_threaded, options.optimized);
    let prefix = pythons.join(&name);
    // No marker while the build runs: an interrupted build is incomplete.
    let marker_path = prefix.join(MARKER_FILE);
    if marker_path.exists() {
        std::fs::remove_file(&marker_path)
            .with_context(|| format!("cannot remove {}", marker_path.display()))?;
    }
    apt::ensure_build_dependencies(options.consent, log, progress)?;
    let spec = build::BuildSpec {
        tarball: tarball.path.clone(),
        free_threaded: request.free_threaded,
        optimized: options.optimized,
        prefix: prefix.clone(),
        build_dir: crate::paths::home_subdir("build")?.join(&name),
        jobs: options.jobs,
    };
    progress.println(&format!(
        "building CPython {version}{}{} with {} jobs; log: {}",
        if request.free_threaded { "t" } else { "" },
        if options.optimized {
            " with PGO and LTO (this takes a long time: the profile run executes CPython's test suite)"
        } else {
            ""
        },
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
        strategy: Strategy::SourceBuild,
        optimized: options.optimized,
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
/// has exactly `version` when given, and the PGO+LTO recipe when
/// `optimized`).
fn find_verified(
    pythons: &Path,
    request: Request,
    version: Option<&str>,
    optimized: bool,
) -> Option<Installed> {
    let mut candidates: Vec<Marker> = marker::read_all(pythons)
        .into_iter()
        .map(|(_, marker)| marker)
        .filter(|m| m.free_threaded == request.free_threaded && request.matches(&m.version))
        .filter(|m| version.is_none_or(|v| v == m.version))
        .filter(|m| m.optimized == optimized)
        .filter(|m| m.executable.is_file())
        .collect();
    // The newest version first; of one version, a source build first (its
    // tarball serves --with-default).
    candidates.sort_by_key(|m| {
        (
            std::cmp::Reverse(marker::version_key(&m.version)),
            m.strategy != Strategy::SourceBuild,
        )
    });
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
                    .filter(|t| marker.strategy == Strategy::SourceBuild && t.path.is_file()),
                });
            }
            Err(error) => eprintln!(
                "the install {} no longer passes verification ({error:#}); it will be reinstalled",
                marker.executable.display()
            ),
        }
    }
    None
}
