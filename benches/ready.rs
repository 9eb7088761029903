//! How long `gil-lab ready` takes on a ten-package requirements file for a
//! free-threaded CPython 3.13t and the default 3.13 build of the same
//! version, cold (an empty gil-lab home: nothing resolved, downloaded,
//! built or checked before) and warm (the same home again: every release's
//! check from the cache), with the table it prints. A benchmark, not a
//! test: the times are figures for the report, never a pass/fail bound.
//!
//! `cargo bench --bench ready [-- --python PATH --python PATH] [--keep]`:
//! without `--python`, the 3.13t build and its default twin that
//! `gil-lab python list` finds. The cold home is a scratch directory under
//! gil-lab's home (`bench-ready-<pid>`), removed at the end unless `--keep`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};

/// Ten distributions a team's agents might use: pure Python, free-threaded
/// wheels, source builds, and one pinned release that turns the GIL back on.
const REQUIREMENTS: &str = "\
six
markupsafe
ujson==5.10.0
requests
pyyaml
msgpack
psutil
regex
attrs
python-dateutil
";

fn main() {
    if let Err(err) = run() {
        eprintln!("Error: {err:#}");
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let keep = args.iter().any(|a| a == "--keep");
    let mut pythons: Vec<String> = args
        .windows(2)
        .filter(|w| w[0] == "--python")
        .map(|w| w[1].clone())
        .collect();
    if pythons.is_empty() {
        pythons = found_pythons()?;
    }
    let binary = PathBuf::from(env!("CARGO_BIN_EXE_gil-lab"));
    let home = gil_lab::paths::home()?.join(format!("bench-ready-{}", std::process::id()));
    std::fs::create_dir_all(&home)?;
    let file = home.join("requirements.txt");
    std::fs::write(&file, REQUIREMENTS)?;
    println!(
        "gil-lab ready on {} packages for {}\n",
        REQUIREMENTS.lines().count(),
        pythons.join(" and ")
    );
    let mut times = Vec::new();
    let mut table = String::new();
    for pass in ["cold", "warm"] {
        let started = Instant::now();
        let output = ready(&binary, &home, &file, &pythons)?;
        let seconds = started.elapsed().as_secs_f64();
        println!("{pass}: {seconds:.1} s ({})", output.status);
        times.push((pass, seconds));
        table = String::from_utf8_lossy(&output.stdout).into_owned();
        if output.stdout.is_empty() {
            bail!(
                "gil-lab ready printed nothing:\n{}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
    }
    println!("\n{table}");
    for (pass, seconds) in &times {
        println!("{pass:>5}: {seconds:7.1} s wall");
    }
    if keep {
        println!("home kept: {}", home.display());
    } else {
        std::fs::remove_dir_all(&home)
            .with_context(|| format!("cannot remove {}", home.display()))?;
    }
    Ok(())
}

/// `gil-lab ready FILE --python ...` with `home` as gil-lab's home.
fn ready(
    binary: &Path,
    home: &Path,
    file: &Path,
    pythons: &[String],
) -> Result<std::process::Output> {
    let mut command = Command::new(binary);
    command.env("GIL_LAB_HOME", home).arg("ready").arg(file);
    for python in pythons {
        command.arg("--python").arg(python);
    }
    command.output().context("cannot run gil-lab ready")
}

/// The free-threaded 3.13 build and the default build of the same version
/// that `gil-lab python list` finds (in the usual home).
fn found_pythons() -> Result<Vec<String>> {
    let output = Command::new(env!("CARGO_BIN_EXE_gil-lab"))
        .args(["python", "list", "--json"])
        .output()
        .context("cannot run gil-lab python list")?;
    let list: serde_json::Value = serde_json::from_slice(&output.stdout)
        .context("gil-lab python list --json printed no JSON")?;
    let entries = list.as_array().context("a JSON array")?;
    let of = |free_threaded: bool, version: Option<&str>| {
        entries.iter().find(|e| {
            let facts = &e["facts"];
            facts["py_gil_disabled"] == free_threaded
                && facts["version"]
                    .as_str()
                    .is_some_and(|v| v.starts_with("3.13.") && version.is_none_or(|w| v == w))
        })
    };
    let free_threaded = of(true, None)
        .context("no free-threaded CPython 3.13 found: give two interpreters with --python")?;
    let version = free_threaded["facts"]["version"].as_str();
    let default = of(false, version)
        .or_else(|| of(false, None))
        .context("no default CPython 3.13 build found: give it with --python")?;
    Ok([free_threaded, default]
        .iter()
        .filter_map(|e| e["executable"].as_str().map(str::to_owned))
        .collect())
}
