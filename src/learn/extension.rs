//! The extension of lessons 4 and 5 that turns the GIL back on: a C module
//! with no `Py_mod_gil` slot (`needs_gil.c`), built here with gcc against
//! the free-threaded interpreter's own headers, then imported by
//! `python check-imports`' machinery to see what it does to the GIL.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::interpreters::Interpreter;
use crate::interpreters::check_imports::{self, Check};

/// The module's C source.
pub const SOURCE: &str = include_str!("needs_gil.c");
/// The module's name.
pub const MODULE: &str = "needs_gil";

/// Builds the module for `python` into `dir/extension-<id>`; returns the
/// directory to put on the import path.
pub fn build(python: &Interpreter, lab: &super::lab::Lab, dir: &Path) -> Result<PathBuf> {
    let out = dir.join(format!(
        "extension-{}",
        crate::choice::interpreter_id(python)
    ));
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    let include = lab.python(
        python,
        &["-I"],
        &[],
        "import sysconfig; print(sysconfig.get_paths()['include'])",
    )?;
    let suffix = lab.python(
        python,
        &["-I"],
        &[],
        "import sysconfig; print(sysconfig.get_config_var('EXT_SUFFIX'))",
    )?;
    let source = out.join("needs_gil.c");
    std::fs::write(&source, SOURCE)
        .with_context(|| format!("cannot write {}", source.display()))?;
    let output = Command::new("gcc")
        .args(["-shared", "-fPIC", "-O0", "-I", include.trim()])
        .arg(&source)
        .arg("-o")
        .arg(out.join(format!("{MODULE}{}", suffix.trim())))
        .output()
        .context(
            "cannot run gcc: install it (`sudo apt-get install gcc`) to build the extension",
        )?;
    if !output.status.success() {
        bail!(
            "gcc could not build the extension: {}",
            String::from_utf8_lossy(&output.stderr)
                .lines()
                .last()
                .unwrap_or("")
        );
    }
    Ok(out)
}

/// Builds the module and imports it on `python`, as `python check-imports
/// needs_gil --path DIR` does.
pub fn check(python: &Interpreter, lab: &super::lab::Lab) -> Result<(Check, PathBuf)> {
    let dir = build(python, lab, &lab.dir)?;
    let checked = check_imports::check(python, MODULE, std::slice::from_ref(&dir))?;
    Ok((checked, dir))
}
