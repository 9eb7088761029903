//! The PyPI-style wheel (`pyproject.toml`, maturin with `bindings = "bin"`):
//! built here, installed into a fresh virtual environment with pip, and the
//! `gil-lab` it puts on the environment's PATH works (`python list`).
//!
//! maturin comes from PyPI into a cached virtual environment (made once).
//! The wheel is built with the `dev` profile in the test's own target
//! directory, where `cargo test` has just built the same binary: maturin's
//! cargo finds it up to date and only packs it. A release wheel is
//! `maturin build --release` (README).

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// The maturin this test builds with (the lower bound of pyproject.toml's
/// build requirement).
const MATURIN: &str = "maturin==1.16.0";

#[test]
fn the_wheel_installs_into_a_fresh_venv_and_runs() {
    let base = Path::new("/usr/bin/python3");
    let maturin_python = common::cached_venv("maturin-venv", base, &[MATURIN]);
    let maturin = maturin_python.parent().unwrap().join("maturin");
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let work = tempfile::tempdir().unwrap();
    let wheels = work.path().join("wheels");
    // `<target>/tmp` is where Cargo puts test scratch files: its parent is
    // the target directory the tests were built in.
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).parent().unwrap();

    let started = Instant::now();
    let output = Command::new(&maturin)
        .args(["build", "--profile", "dev", "--out"])
        .arg(&wheels)
        .arg("--target-dir")
        .arg(target)
        .current_dir(manifest)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "maturin build failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    eprintln!("maturin build: {:.0} s", started.elapsed().as_secs_f64());
    let wheel = std::fs::read_dir(&wheels)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .find(|path| path.extension().is_some_and(|e| e == "whl"))
        .expect("maturin wrote a wheel");
    let name = wheel.file_name().unwrap().to_string_lossy().into_owned();
    // A binary wheel for any Python 3: the tool does not link Python.
    assert!(name.starts_with("gil_lab-"), "{name}");
    assert!(name.contains("-py3-none-"), "{name}");

    let venv = work.path().join("venv");
    let status = Command::new(base)
        .args(["-m", "venv"])
        .arg(&venv)
        .status()
        .unwrap();
    assert!(status.success());
    let pip = Command::new(venv.join("bin/pip"))
        .args([
            "install",
            "--quiet",
            "--no-index",
            "--disable-pip-version-check",
        ])
        .arg(&wheel)
        .output()
        .unwrap();
    assert!(
        pip.status.success(),
        "{}",
        String::from_utf8_lossy(&pip.stderr)
    );
    let installed = venv.join("bin/gil-lab");
    assert!(installed.is_file(), "pip put no gil-lab into the venv");
    let list = assert_cmd::Command::new(&installed)
        .args(["python", "list", "--no-discover", "--python"])
        .arg(base)
        .env("NO_COLOR", "1")
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    assert!(
        list.status.success(),
        "{}",
        String::from_utf8_lossy(&list.stderr)
    );
    let stdout = String::from_utf8_lossy(&list.stdout);
    assert!(stdout.contains("CPython 3."), "{stdout}");
    assert!(stdout.contains("/usr/bin/python3"), "{stdout}");
}
