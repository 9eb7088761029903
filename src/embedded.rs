//! The Python package `gil_lab` (workload/gil_lab/), embedded in the binary and
//! written to a content-addressed directory of gil-lab's home before it runs,
//! so that a single binary is all a user installs.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};
use include_dir::{Dir, DirEntry, include_dir};
use sha2::{Digest, Sha256};

static PACKAGE: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/workload/gil_lab");

/// Bootstrap run with `-c`: puts the extracted package on `sys.path` (isolated
/// mode, `-I`, drops PYTHONPATH and the script's folder) and runs a module as
/// `python -m` would. Kept free of Python 3-only syntax so that even Python 2
/// gets as far as the module and can report itself as unsupported.
const BOOTSTRAP: &str = "import sys;sys.path.insert(0,sys.argv[1]);m=sys.argv[2];\
sys.argv=sys.argv[2:];import runpy;runpy.run_module(m,run_name='__main__',alter_sys=True)";

/// Every `.py` file of the package, as (path relative to the package, contents).
fn package_files() -> Vec<(&'static Path, &'static [u8])> {
    fn walk(dir: &'static Dir<'static>, out: &mut Vec<(&'static Path, &'static [u8])>) {
        for entry in dir.entries() {
            match entry {
                DirEntry::Dir(sub) => walk(sub, out),
                DirEntry::File(file) if file.path().extension() == Some(OsStr::new("py")) => {
                    out.push((file.path(), file.contents()));
                }
                DirEntry::File(_) => {}
            }
        }
    }
    let mut files = Vec::new();
    walk(&PACKAGE, &mut files);
    files.sort();
    files
}

/// Content hash of the embedded package: names the extraction directory.
fn package_hash(files: &[(&Path, &[u8])]) -> String {
    let mut hasher = Sha256::new();
    for (path, contents) in files {
        hasher.update(path.to_string_lossy().as_bytes());
        hasher.update([0]);
        hasher.update((contents.len() as u64).to_le_bytes());
        hasher.update(contents);
    }
    let digest = hasher.finalize();
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// Writes the package (once per content hash) and returns the directory to put
/// on `sys.path`: it holds `gil_lab/`.
pub fn package_root() -> Result<PathBuf> {
    let files = package_files();
    let root = crate::paths::home_subdir("py")?.join(package_hash(&files));
    if root.join("gil_lab").join("__init__.py").is_file() {
        return Ok(root);
    }
    // Extract next to the final place, then rename: concurrent gil-lab
    // processes never see a half-written package.
    let staging = root.with_extension(format!("tmp-{}", std::process::id()));
    let package_dir = staging.join("gil_lab");
    for (path, contents) in &files {
        let target = package_dir.join(path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::write(&target, contents)
            .with_context(|| format!("cannot write {}", target.display()))?;
    }
    if std::fs::rename(&staging, &root).is_err() {
        // Another process won the race; its copy has the same content.
        let _ = std::fs::remove_dir_all(&staging);
        anyhow::ensure!(
            root.join("gil_lab").is_dir(),
            "cannot extract the Python package to {}",
            root.display()
        );
    }
    Ok(root)
}

/// `python -I -B FLAGS -c CODE`: Python code run in isolated mode (`-I`
/// ignores PYTHON* variables, the user site and the current directory; `-B`
/// writes no bytecode), with `interpreter_flags` (e.g. `-X gil=1`) before it.
/// Arguments added to the command reach the code as `sys.argv[1:]`.
pub fn isolated_command(executable: &Path, interpreter_flags: &[String], code: &str) -> Command {
    let mut command = Command::new(executable);
    command
        .arg("-I")
        .arg("-B")
        .args(interpreter_flags)
        .arg("-c")
        .arg(code);
    command
}

/// A command that runs `module` of the embedded package like `python -m`, in
/// isolated mode (`-I -B`), with `interpreter_flags` (e.g. `-X gil=1`) before it.
pub fn module_command(
    executable: &Path,
    interpreter_flags: &[String],
    module: &str,
) -> Result<Command> {
    let root = package_root()?;
    let mut command = isolated_command(executable, interpreter_flags, BOOTSTRAP);
    command.arg(root).arg(module);
    Ok(command)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_is_embedded_with_its_init() {
        let files = package_files();
        assert!(files.iter().any(|(p, _)| *p == Path::new("__init__.py")));
        assert!(
            files
                .iter()
                .all(|(p, _)| p.extension() == Some(OsStr::new("py")))
        );
    }

    #[test]
    fn hash_changes_with_content() {
        let a = [(Path::new("a.py"), b"x = 1".as_slice())];
        let b = [(Path::new("a.py"), b"x = 2".as_slice())];
        assert_ne!(package_hash(&a), package_hash(&b));
        assert_eq!(package_hash(&a), package_hash(&a));
    }
}
