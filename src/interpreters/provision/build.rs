//! Building CPython from a source tarball: unpack, `configure`, `make`,
//! `make install`, with the whole output in the build log and the compile
//! step's progress counted from make's output.
//!
//! By default no PGO or LTO: the default and the free-threaded build are
//! made with the same flags from the same sources, which is what a fair
//! comparison needs, and a build takes minutes instead of most of an hour.
//! `--optimized` adds `--enable-optimizations --with-lto` to both, the
//! recipe of release builds.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::time::Instant;

use anyhow::{Context, Result, anyhow, bail};

use super::command::{Log, run_logged};
use super::progress::Progress;
use super::source;

/// One build to make.
#[derive(Debug, Clone)]
pub struct BuildSpec {
    /// The CPython source tarball.
    pub tarball: PathBuf,
    /// `--disable-gil`: the free-threaded build.
    pub free_threaded: bool,
    /// `--enable-optimizations --with-lto`: PGO and LTO.
    pub optimized: bool,
    /// The install prefix (baked into the interpreter by configure).
    pub prefix: PathBuf,
    /// Scratch directory the sources are unpacked and compiled in.
    pub build_dir: PathBuf,
    /// Parallel compile jobs (`make -j`).
    pub jobs: usize,
}

/// What a finished build reports for the install marker.
#[derive(Debug, Clone)]
pub struct Built {
    /// The arguments given to `configure`.
    pub configure_flags: Vec<String>,
    /// Wall-clock seconds from unpacking to the end of `make install`.
    pub seconds: f64,
}

/// The arguments `configure` gets: the prefix, `--disable-gil` for the
/// free-threaded build, `--enable-optimizations --with-lto` for a PGO+LTO
/// build; nothing else, so a default / free-threaded pair differs only in
/// `--disable-gil`.
pub fn configure_flags(prefix: &Path, free_threaded: bool, optimized: bool) -> Vec<String> {
    let mut flags = vec![format!("--prefix={}", prefix.display())];
    if free_threaded {
        flags.push("--disable-gil".to_string());
    }
    if optimized {
        flags.push("--enable-optimizations".to_string());
        flags.push("--with-lto".to_string());
    }
    flags
}

/// Whether a line of make's output is a compiler building one object file
/// (`gcc ... -c Objects/abstract.c -o Objects/abstract.o`).
pub fn is_compile_line(line: &str) -> bool {
    let tokens: Vec<&str> = line.split_whitespace().collect();
    tokens.contains(&"-c")
        && tokens
            .windows(2)
            .any(|pair| pair[0] == "-o" && pair[1].ends_with(".o"))
}

fn failed(step: &str, status: ExitStatus, log: &Log) -> anyhow::Error {
    anyhow!(
        "{step} failed ({status}); the full build log is {}; its last lines:\n{}",
        log.path().display(),
        log.tail(15)
    )
}

/// How many objects `make` will compile, from a dry run (`make -n`), so the
/// compile step can show N/M. Zero when the dry run fails: the bar then
/// grows with the count.
fn planned_objects(tree: &Path) -> u64 {
    let output = Command::new("make").arg("-n").current_dir(tree).output();
    match output {
        Ok(output) if output.status.success() => String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter(|line| is_compile_line(line))
            .count() as u64,
        _ => 0,
    }
}

/// `make install` into a staging directory (`DESTDIR`), then one rename to
/// the prefix: nobody (discovery in another gil-lab, a probe) ever sees a
/// half-installed interpreter, whose probe failure would even be cached.
fn install_atomically(tree: &Path, prefix: &Path, log: &mut Log) -> Result<()> {
    let (Some(parent), Some(name)) = (prefix.parent(), prefix.file_name()) else {
        bail!("{} cannot be an install prefix", prefix.display());
    };
    // Next to the prefix, so the rename stays on one file system; the dot
    // keeps it out of discovery's `pythons/*/bin`.
    let staging = parent.join(format!(".staging-{}", name.to_string_lossy()));
    if staging.exists() {
        std::fs::remove_dir_all(&staging)
            .with_context(|| format!("cannot remove {}", staging.display()))?;
    }
    let mut install = Command::new("make");
    install
        .arg("install")
        .arg(format!("DESTDIR={}", staging.display()))
        .current_dir(tree);
    let status = run_logged(install, log, |_| {})?;
    if !status.success() {
        return Err(failed("make install", status, log));
    }
    let relative = prefix.strip_prefix("/").unwrap_or(prefix);
    let staged = staging.join(relative);
    if !staged.is_dir() {
        bail!(
            "make install put nothing into {} (log: {})",
            staged.display(),
            log.path().display()
        );
    }
    if prefix.exists() {
        // An incomplete install (no marker) or `--force`: no file of the
        // older build may survive next to the new one.
        std::fs::remove_dir_all(prefix)
            .with_context(|| format!("cannot remove the old install {}", prefix.display()))?;
    }
    std::fs::rename(&staged, prefix)
        .with_context(|| format!("cannot move {} to {}", staged.display(), prefix.display()))?;
    // Only empty directories are left in the staging tree.
    let _ = std::fs::remove_dir_all(&staging);
    Ok(())
}

/// Builds and installs one CPython into `spec.prefix`.
pub fn build(spec: &BuildSpec, log: &mut Log, progress: &Progress) -> Result<Built> {
    let started = Instant::now();
    progress.stage(&format!("unpacking {}", spec.tarball.display()));
    let tree = source::unpack(&spec.tarball, &spec.build_dir)?;

    let flags = configure_flags(&spec.prefix, spec.free_threaded, spec.optimized);
    progress.stage(&format!("configuring ({})", flags.join(" ")));
    let mut configure = Command::new("./configure");
    configure.args(&flags).current_dir(&tree);
    let status = run_logged(configure, log, |_| {})?;
    if !status.success() {
        return Err(failed("./configure", status, log));
    }

    progress.stage("compiling");
    let total = planned_objects(&tree);
    let mut done = 0u64;
    let mut make = Command::new("make");
    make.arg(format!("-j{}", spec.jobs)).current_dir(&tree);
    let status = run_logged(make, log, |line| {
        if is_compile_line(line) {
            done += 1;
            progress.compiling(done, total);
        }
    })?;
    if !status.success() {
        return Err(failed(&format!("make -j{}", spec.jobs), status, log));
    }

    progress.stage(&format!("installing into {}", spec.prefix.display()));
    install_atomically(&tree, &spec.prefix, log)?;
    if let Err(error) = std::fs::remove_dir_all(&spec.build_dir) {
        // Only disk space is at stake: say so and go on.
        progress.println(&format!(
            "note: cannot remove the build directory {}: {error}",
            spec.build_dir.display()
        ));
    }
    Ok(Built {
        configure_flags: flags,
        seconds: started.elapsed().as_secs_f64(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_compiler_lines_only() {
        assert!(is_compile_line(
            "gcc -c -fno-strict-overflow -O3 -Wall -std=c11 -IInclude -DPy_BUILD_CORE -o Objects/abstract.o Objects/abstract.c"
        ));
        assert!(is_compile_line(
            "gcc -pthread -fPIC -c ./Modules/_ctypes/_ctypes.c -o Modules/_ctypes/_ctypes.o"
        ));
        assert!(!is_compile_line(
            "gcc -pthread -o python Programs/python.o libpython3.13t.a -ldl"
        ));
        assert!(!is_compile_line(
            "./Programs/_freeze_module importlib._bootstrap Lib/x.py Python/x.h"
        ));
        assert!(!is_compile_line(
            "In file included from ./Include/Python.h:70,"
        ));
    }

    #[test]
    fn configure_differs_between_builds_only_by_disable_gil() {
        let prefix = Path::new("/home/u/.cache/gil-lab/pythons/cpython-3.13.5t");
        assert_eq!(
            configure_flags(prefix, true, false),
            [
                "--prefix=/home/u/.cache/gil-lab/pythons/cpython-3.13.5t",
                "--disable-gil"
            ]
        );
        assert_eq!(configure_flags(prefix, false, false).len(), 1);
        assert_eq!(
            configure_flags(prefix, true, true)[1..],
            ["--disable-gil", "--enable-optimizations", "--with-lto"]
        );
    }
}
