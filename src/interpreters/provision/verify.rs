//! Verifying an interpreter with the probe before it counts as installed:
//! the version, the build variant, the GIL's state (and `-X gil=1` on a
//! free-threaded build), and the modules the workload needs.

use std::path::Path;

use anyhow::{Context, Result, ensure as check};

use super::request::Request;
use crate::interpreters::facts::Facts;
use crate::interpreters::probe;
use crate::interpreters::probe_cache::ProbeCache;

/// Whether verification may use the probe cache.
#[derive(Debug, Clone, Copy)]
pub enum Probing {
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
pub fn verify(
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
