//! Debian's binary packages of a newer CPython, relocated into gil-lab's
//! home: for a default build that neither uv nor the machine's own suite
//! provides (3.14 and 3.15 on Debian 12, whose newer suites' source packages
//! may not download while their binary packages do).
//!
//! The recipe: the package set that a simulated `apt-get install
//! --no-install-recommends python3.X` resolves in gil-lab's private APT
//! configuration for the newest suite that has it (an empty status file,
//! so every library is listed, glibc included), downloaded with `apt-get
//! download` (checked against the suite's signed index), each unpacked with
//! `dpkg-deb -x` into one root, and only the executable patched with
//! `patchelf` to use that root's dynamic loader and libraries
//! (`--set-interpreter ROOT/usr/lib/<triplet>/ld-linux-*.so.* --force-rpath
//! --set-rpath ROOT/usr/lib/<triplet>`; `--force-rpath` writes DT_RPATH,
//! which also serves the extension modules `dlopen` loads). CPython finds
//! its standard library from the executable's location, so the root needs
//! no other change. Debian ships no free-threaded build of 3.14 or 3.15.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};

use super::apt::{self, OsRelease, private::PrivateApt};
use super::command::{self, Log, run_logged};
use super::progress::Progress;
use super::request::{self, Request};

/// A relocated interpreter, not yet verified.
#[derive(Debug, Clone)]
pub struct Unpacked {
    /// The executable (`<prefix>/usr/bin/python3.14`).
    pub executable: PathBuf,
    /// The upstream version of the package (`3.14.10`).
    pub version: String,
    /// Where it came from, e.g. `Debian binary package python3.14 3.14.10-1 (sid)`.
    pub origin: String,
    /// The interpreter's package file.
    pub deb: PathBuf,
    /// Seconds from resolving to the patched executable.
    pub seconds: f64,
}

/// The Debian suites to take binary packages from, newest first (none
/// unless this is Debian: other distributions do not trust Debian's key).
fn suites() -> Vec<String> {
    OsRelease::read()
        .newer_debian_suites()
        .into_iter()
        .rev()
        .map(str::to_string)
        .collect()
}

/// Installs Debian's `python3.X` for `request` into `pythons` (see the
/// module's documentation); an error says why it does not apply here.
pub fn install(
    request: Request,
    pythons: &Path,
    log: &mut Log,
    progress: &Progress,
) -> Result<Unpacked> {
    if request.free_threaded {
        bail!(
            "Debian has no free-threaded binary package of CPython {}",
            request.minor_version()
        );
    }
    for tool in ["apt-get", "dpkg-deb"] {
        if !command::on_path(tool) {
            bail!("this system has no {tool}");
        }
    }
    let suites = suites();
    if suites.is_empty() {
        bail!("Debian's newer binary packages are only used on Debian");
    }
    let package = format!("python{}", request.minor_version());
    let mut tried = Vec::new();
    for apt in apt::private_apts(&suites)? {
        let started = Instant::now();
        progress.stage(&format!(
            "looking for the binary package {package} in Debian {} (private APT configuration in {})",
            apt.suite,
            apt.dir().display()
        ));
        match install_from(&apt, request, &package, pythons, log, progress) {
            Ok(mut unpacked) => {
                unpacked.seconds = started.elapsed().as_secs_f64();
                return Ok(unpacked);
            }
            Err(error) => {
                log.note(&format!("Debian {}: {error:#}", apt.suite));
                tried.push(format!("{error:#}"));
            }
        }
    }
    bail!("{}", tried.join("; "))
}

fn install_from(
    apt: &PrivateApt,
    request: Request,
    package: &str,
    pythons: &Path,
    log: &mut Log,
    progress: &Progress,
) -> Result<Unpacked> {
    apt.update(log)?;
    let packages = apt.resolve(package, log)?;
    let (_, debian_version) = packages
        .iter()
        .find(|(name, _)| name == package)
        .with_context(|| {
            format!(
                "Debian {} resolves {package} without installing it",
                apt.suite
            )
        })?
        .clone();
    let version = apt::upstream_version(&debian_version).to_string();
    if !request.matches(&version) {
        bail!(
            "Debian {} has {package} {debian_version}, not {request}",
            apt.suite
        );
    }
    let origin = format!(
        "Debian binary package {package} {debian_version} ({})",
        apt.suite
    );
    progress.stage(&format!(
        "downloading {} packages of Debian {} ({package} {debian_version} and the libraries it needs)",
        packages.len(),
        apt.suite
    ));
    let debs = apt.download(&packages, &apt.dir().join("archives"), log)?;
    let deb = debs[packages
        .iter()
        .position(|(name, _)| name == package)
        .unwrap_or(0)]
    .clone();

    let name = request::install_name(&version, false, false);
    let prefix = pythons.join(&name);
    // Unpacked and patched next to the prefix, then renamed: nobody ever
    // sees a half-made interpreter (discovery skips dot directories).
    let staging = pythons.join(format!(".staging-{name}"));
    remove_dir(&staging)?;
    std::fs::create_dir_all(&staging)
        .with_context(|| format!("cannot create {}", staging.display()))?;
    progress.stage(&format!(
        "unpacking {} packages into {} (dpkg-deb -x)",
        debs.len(),
        prefix.display()
    ));
    for (done, deb) in debs.iter().enumerate() {
        progress.update(&format!(
            "unpacking {}/{} (dpkg-deb -x)",
            done + 1,
            debs.len()
        ));
        let mut unpack = Command::new("dpkg-deb");
        unpack.arg("-x").arg(deb).arg(&staging);
        let status = run_logged(unpack, log, |_| {})?;
        if !status.success() {
            bail!("`dpkg-deb -x {}` failed ({status})", deb.display());
        }
    }
    let relative_exe = Path::new("usr/bin").join(request::executable_name(request.minor, false));
    if !staging.join(&relative_exe).is_file() {
        bail!(
            "{package} {debian_version} has no {}",
            relative_exe.display()
        );
    }
    let loader = find_loader(&staging)?;
    let libdir = loader
        .parent()
        .context("the dynamic loader has no directory")?
        .to_path_buf();
    let patchelf = patchelf(log, progress)?;
    progress.stage(&format!(
        "relocating {} with patchelf (its own dynamic loader and libraries)",
        relative_exe.display()
    ));
    let mut patch = Command::new(&patchelf);
    patch
        .arg("--set-interpreter")
        .arg(prefix.join(&loader))
        .arg("--force-rpath")
        .arg("--set-rpath")
        .arg(prefix.join(&libdir))
        .arg(staging.join(&relative_exe));
    let status = run_logged(patch, log, |_| {})?;
    if !status.success() {
        bail!(
            "`{} --set-interpreter ... {}` failed ({status}): {}",
            patchelf.display(),
            relative_exe.display(),
            log.tail(2)
        );
    }
    remove_dir(&prefix)?;
    std::fs::rename(&staging, &prefix)
        .with_context(|| format!("cannot move {} to {}", staging.display(), prefix.display()))?;
    let executable = prefix.join(&relative_exe);
    let started = Command::new(&executable)
        .args(["-I", "-c", "pass"])
        .output()
        .with_context(|| format!("cannot run {}", executable.display()))?;
    if !started.status.success() {
        bail!(
            "the relocated {} does not start ({}{}); patchelf {} may have written a broken \
             executable: install Debian's patchelf (`{}`) and rerun with --force",
            executable.display(),
            started.status,
            String::from_utf8_lossy(&started.stderr)
                .lines()
                .last()
                .map(|line| format!(": {line}"))
                .unwrap_or_default(),
            patchelf.display(),
            crate::shell::join(["apt-get", "install", "patchelf"])
        );
    }
    Ok(Unpacked {
        executable,
        version,
        origin,
        deb,
        seconds: 0.0,
    })
}

fn remove_dir(dir: &Path) -> Result<()> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).with_context(|| format!("cannot remove {}", dir.display()))?;
    }
    Ok(())
}

/// The dynamic loader the packages brought (`usr/lib/x86_64-linux-gnu/
/// ld-linux-x86-64.so.2`), relative to `root`.
fn find_loader(root: &Path) -> Result<PathBuf> {
    let lib = root.join("usr/lib");
    for entry in std::fs::read_dir(&lib)
        .with_context(|| format!("cannot read {}", lib.display()))?
        .flatten()
    {
        let dir = entry.path();
        for file in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let name = file.file_name().to_string_lossy().into_owned();
            if name.starts_with("ld-linux") && name.contains(".so.") {
                let path = file.path();
                return Ok(path.strip_prefix(root).unwrap_or(&path).to_path_buf());
            }
        }
    }
    bail!(
        "the packages brought no dynamic loader (usr/lib/*/ld-linux*.so.*) into {}",
        root.display()
    )
}

/// A `patchelf` to run: the one on PATH, else Debian's package for the
/// machine's own suite, fetched once through the private APT configuration
/// into `<home>/tools/patchelf` (it runs with the machine's own libraries).
fn patchelf(log: &mut Log, progress: &Progress) -> Result<PathBuf> {
    if let Some(found) = command::find_on_path("patchelf") {
        return Ok(found);
    }
    let tools = crate::paths::home_subdir("tools")?.join("patchelf");
    let executable = tools.join("usr/bin/patchelf");
    if executable.is_file() {
        return Ok(executable);
    }
    let codename = OsRelease::read().codename;
    let fetched = (|| -> Result<PathBuf> {
        progress.stage(&format!(
            "patchelf is not installed: fetching Debian {codename}'s patchelf package into {}",
            tools.display()
        ));
        let apt = apt::private_apts(std::slice::from_ref(&codename))?
            .pop()
            .context("no private APT configuration")?;
        apt.update(log)?;
        let entry = apt
            .resolve("patchelf", log)?
            .into_iter()
            .find(|(name, _)| name == "patchelf")
            .context("the resolution does not list patchelf")?;
        let debs = apt.download(&[entry], &apt.dir().join("archives"), log)?;
        let staging = tools.with_extension("staging");
        remove_dir(&staging)?;
        let mut unpack = Command::new("dpkg-deb");
        unpack.arg("-x").arg(&debs[0]).arg(&staging);
        if !run_logged(unpack, log, |_| {})?.success() {
            bail!("`dpkg-deb -x {}` failed", debs[0].display());
        }
        remove_dir(&tools)?;
        std::fs::rename(&staging, &tools)
            .with_context(|| format!("cannot move {} to {}", staging.display(), tools.display()))?;
        Ok(executable.clone())
    })();
    fetched.map_err(|error| {
        anyhow::anyhow!(
            "patchelf is not installed and Debian {codename}'s patchelf package could not be \
             fetched ({error:#}): install it with `{}`",
            crate::shell::join(["sudo", "apt-get", "install", "patchelf"])
        )
    })
}
