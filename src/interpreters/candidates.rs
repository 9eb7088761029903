//! Where gil-lab looks for interpreters: the paths a user names (with
//! `--python` or `GIL_LAB_PYTHON`), checked before anything runs, and every
//! place Python is usually installed (the active virtualenv, PATH, pyenv,
//! uv, gil-lab's own, common prefixes). No interpreter runs here (only `uv
//! python dir`, to ask uv where it keeps its interpreters).

use std::collections::HashSet;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};

use super::interpreter::Source;
use super::probe_cache;

/// Environment variable with extra interpreters, separated like PATH.
pub const PYTHON_ENV: &str = "GIL_LAB_PYTHON";
/// A candidate interpreter before probing.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Candidate {
    pub(super) path: PathBuf,
    pub(super) source: Source,
}

/// Checks a path the user named and makes it absolute. A bare name (no `/`)
/// that is not a file in the current directory is looked up on PATH.
pub(super) fn explicit_candidate(given: &Path, source: Source) -> Result<Candidate> {
    let naming = source.naming();
    let is_bare_name = given.components().count() == 1 && !given.as_os_str().is_empty();
    let path = if is_bare_name && !given.exists() {
        match find_on_path(given.as_os_str()) {
            Some(found) => found,
            None => bail!(
                "{} ({naming}) is not a file here nor on PATH: give the interpreter's full path",
                given.display()
            ),
        }
    } else {
        std::path::absolute(given)
            .with_context(|| format!("cannot make {} an absolute path", given.display()))?
    };
    let metadata = match std::fs::metadata(&path) {
        Ok(metadata) => metadata,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => bail!(
            "{} ({naming}) does not exist: give the path of a Python executable",
            path.display()
        ),
        Err(error) => bail!("cannot read {} ({naming}): {error}", path.display()),
    };
    if metadata.is_dir() {
        bail!(
            "{} ({naming}) is a directory: give the interpreter's executable, e.g. {}",
            path.display(),
            path.join("bin").join("python3").display()
        );
    }
    if !is_executable(&metadata) {
        bail!(
            "{} ({naming}) is not executable: give the path of a Python executable (or chmod +x it)",
            path.display()
        );
    }
    Ok(Candidate { path, source })
}

pub(super) fn is_executable(metadata: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    metadata.is_file() && metadata.permissions().mode() & 0o111 != 0
}

pub(super) fn find_on_path(name: &OsStr) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| {
            std::fs::metadata(candidate)
                .map(|m| is_executable(&m))
                .unwrap_or(false)
        })
}

/// Paths listed in `GIL_LAB_PYTHON` (empty entries ignored).
pub(super) fn environment_paths() -> Vec<PathBuf> {
    std::env::var_os(PYTHON_ENV)
        .map(|value| {
            std::env::split_paths(&value)
                .filter(|path| !path.as_os_str().is_empty())
                .collect()
        })
        .unwrap_or_default()
}

/// What makes two paths the same executable: the file's device and inode
/// (symlinks followed), which also catches hard links such as the
/// `python3.13` and `python3.13t` of a free-threaded install; the path
/// itself when the file cannot be read.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(super) enum FileIdentity {
    Inode(u64, u64),
    Path(PathBuf),
}

impl FileIdentity {
    pub(super) fn of(path: &Path) -> Self {
        use std::os::unix::fs::MetadataExt;
        match std::fs::metadata(path) {
            Ok(metadata) => Self::Inode(metadata.dev(), metadata.ino()),
            Err(_) => Self::Path(path.to_owned()),
        }
    }
}

/// Drops candidates whose real file was seen before; the first one found
/// wins, so an explicit path or the active virtualenv keeps its name.
pub(super) fn dedupe(candidates: Vec<Candidate>) -> Vec<Candidate> {
    let mut seen = HashSet::new();
    candidates
        .into_iter()
        .filter(|candidate| seen.insert(FileIdentity::of(&candidate.path)))
        .collect()
}

/// Every place interpreters are usually installed, in order of preference
/// (the first name found for a real file is the one shown).
pub(super) fn auto_candidates() -> Vec<Candidate> {
    let mut candidates = Vec::new();
    let add_dir = |dir: &Path, source: Source, candidates: &mut Vec<Candidate>| {
        for path in python_executables_in(dir) {
            // pyenv shims only work for the selected versions and would hide
            // which interpreter runs: the versions directory is searched.
            if source == Source::Path && is_pyenv_shim(&path) {
                continue;
            }
            candidates.push(Candidate { path, source });
        }
    };
    if let Some(venv) = std::env::var_os("VIRTUAL_ENV").filter(|v| !v.is_empty()) {
        add_dir(
            &PathBuf::from(venv).join("bin"),
            Source::Virtualenv,
            &mut candidates,
        );
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            add_dir(&dir, Source::Path, &mut candidates);
        }
    }
    for dir in pyenv_bin_dirs() {
        add_dir(&dir, Source::Pyenv, &mut candidates);
    }
    for dir in uv_bin_dirs() {
        add_dir(&dir, Source::Uv, &mut candidates);
    }
    if let Ok(home) = crate::paths::home() {
        for dir in subdirs(&home.join("pythons")) {
            add_dir(&dir.join("bin"), Source::GilLab, &mut candidates);
            // Debian's binary packages relocated by `python install` keep
            // their own layout (`usr/bin/python3.14`).
            add_dir(&dir.join("usr/bin"), Source::GilLab, &mut candidates);
        }
    }
    let mut prefixes = vec![PathBuf::from("/usr/bin"), PathBuf::from("/usr/local/bin")];
    prefixes.extend(
        subdirs(Path::new("/opt"))
            .into_iter()
            .map(|d| d.join("bin")),
    );
    for dir in prefixes {
        add_dir(&dir, Source::Prefix, &mut candidates);
    }
    candidates
}

/// The immediate subdirectories of `dir`, sorted (none if it is missing).
fn subdirs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.path())
        .filter(|path| path.is_dir())
        .collect();
    dirs.sort();
    dirs
}

/// Executables in `dir` named like an interpreter, the most specific name
/// first (`python3.13t` before `python3` before `python`): when several
/// names lead to one file, the first is the one shown.
fn python_executables_in(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok())
        .filter(|entry| entry.file_name().to_str().is_some_and(is_python_name))
        .map(|entry| entry.path())
        .filter(|path| {
            std::fs::metadata(path)
                .map(|m| is_executable(&m))
                .unwrap_or(false)
        })
        .collect();
    found.sort_by_key(|path| {
        let name = path.file_name().map(|n| n.len()).unwrap_or(0);
        (std::cmp::Reverse(name), path.clone())
    });
    found
}

/// `python`, `python3`, `python3.13`, `python3.13t`, `python3t`, `pypy3`,
/// `pypy3.10`; not `python3.13-config`, `python3.6m` or `python3.13-gdb.py`.
fn is_python_name(name: &str) -> bool {
    let Some(rest) = name
        .strip_prefix("python")
        .or_else(|| name.strip_prefix("pypy"))
    else {
        return false;
    };
    if rest.is_empty() {
        return true;
    }
    let rest = rest.strip_suffix('t').unwrap_or(rest);
    let (major, minor) = match rest.split_once('.') {
        Some((major, minor)) => (major, Some(minor)),
        None => (rest, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    matches!(major, "2" | "3") && minor.is_none_or(digits)
}

/// pyenv's root: `$PYENV_ROOT`, else `~/.pyenv`.
fn pyenv_root() -> Option<PathBuf> {
    match std::env::var_os("PYENV_ROOT") {
        Some(root) if !root.is_empty() => Some(PathBuf::from(root)),
        _ => dirs::home_dir().map(|home| home.join(".pyenv")),
    }
}

fn pyenv_bin_dirs() -> Vec<PathBuf> {
    pyenv_root()
        .map(|root| {
            subdirs(&root.join("versions"))
                .into_iter()
                .map(|version| version.join("bin"))
                .collect()
        })
        .unwrap_or_default()
}

/// A pyenv shim: a script in a `shims` directory that hands over to pyenv.
pub(super) fn is_pyenv_shim(path: &Path) -> bool {
    let in_shims_dir = path
        .parent()
        .and_then(Path::file_name)
        .is_some_and(|dir| dir == "shims");
    in_shims_dir
        && probe_cache::is_script(path)
        && std::fs::read(path)
            .map(|bytes| bytes.windows(5).any(|w| w == b"pyenv"))
            .unwrap_or(false)
}

/// The real executable behind a pyenv shim named `name`, in the newest
/// version that has it.
pub(super) fn pyenv_real_executable(name: &OsStr) -> Option<PathBuf> {
    pyenv_bin_dirs()
        .into_iter()
        .rev()
        .map(|dir| dir.join(name))
        .find(|path| path.is_file())
}

/// uv's interpreter directories: `uv python dir` when uv is installed (it
/// knows its own settings), else `$UV_PYTHON_INSTALL_DIR` or the default
/// `~/.local/share/uv/python`.
fn uv_bin_dirs() -> Vec<PathBuf> {
    let root = uv_python_dir()
        .or_else(|| std::env::var_os("UV_PYTHON_INSTALL_DIR").map(PathBuf::from))
        .or_else(|| dirs::data_dir().map(|data| data.join("uv").join("python")));
    root.map(|root| subdirs(&root).into_iter().map(|d| d.join("bin")).collect())
        .unwrap_or_default()
}

fn uv_python_dir() -> Option<PathBuf> {
    let uv = find_on_path(OsStr::new("uv"))?;
    let mut command = std::process::Command::new(uv);
    command.args(["python", "dir"]);
    match super::child::run(command, Duration::from_secs(5)).ok()? {
        super::child::Finished::Exited(status, output) if status.success() => {
            let dir = PathBuf::from(output.stdout.trim());
            dir.is_dir().then_some(dir)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_names() {
        for name in [
            "python",
            "python3",
            "python3.13",
            "python3.13t",
            "python3t",
            "pypy3",
            "pypy3.10",
            "python2.7",
        ] {
            assert!(is_python_name(name), "{name}");
        }
        for name in [
            "python3.13-config",
            "python3.6m",
            "python3.13-gdb.py",
            "python-argcomplete-check-easy-install-script",
            "python4",
            "python3.",
            "pythonw",
            "ipython3",
        ] {
            assert!(!is_python_name(name), "{name}");
        }
    }

    #[test]
    fn dedupe_keeps_the_first_name_of_a_real_file() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("python3.13");
        std::fs::write(&real, b"\x7fELF").unwrap();
        let link = dir.path().join("python3");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let candidates = vec![
            Candidate {
                path: link.clone(),
                source: Source::Given,
            },
            Candidate {
                path: real,
                source: Source::Prefix,
            },
        ];
        assert_eq!(
            dedupe(candidates),
            [Candidate {
                path: link,
                source: Source::Given
            }]
        );
    }

    #[test]
    fn dedupe_sees_hard_links() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("python3.13t");
        std::fs::write(&real, b"\x7fELF").unwrap();
        let hard = dir.path().join("python3.13");
        std::fs::hard_link(&real, &hard).unwrap();
        let candidates = [real.clone(), hard]
            .map(|path| Candidate {
                path,
                source: Source::GilLab,
            })
            .to_vec();
        let kept = dedupe(candidates);
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].path, real);
    }

    #[test]
    fn explicit_paths_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let missing = explicit_candidate(&dir.path().join("nope"), Source::Given).unwrap_err();
        assert!(missing.to_string().contains("does not exist"), "{missing}");
        let folder = explicit_candidate(dir.path(), Source::Environment).unwrap_err();
        assert!(
            folder.to_string().contains("is a directory")
                && folder.to_string().contains("GIL_LAB_PYTHON"),
            "{folder}"
        );
        let plain = dir.path().join("python3");
        std::fs::write(&plain, "").unwrap();
        let error = explicit_candidate(&plain, Source::Given).unwrap_err();
        assert!(error.to_string().contains("is not executable"), "{error}");
        let sh = explicit_candidate(Path::new("sh"), Source::Given).unwrap();
        assert!(sh.path.is_absolute(), "{sh:?}");
    }

    #[test]
    fn pyenv_shims_are_recognised() {
        let dir = tempfile::tempdir().unwrap();
        let shims = dir.path().join("shims");
        std::fs::create_dir(&shims).unwrap();
        let shim = shims.join("python3.12");
        std::fs::write(
            &shim,
            "#!/usr/bin/env bash\nexec \"/root/.pyenv/libexec/pyenv\" exec \"$program\" \"$@\"\n",
        )
        .unwrap();
        assert!(is_pyenv_shim(&shim));
        let script = dir.path().join("python3.12");
        std::fs::write(&script, "#!/bin/sh\nexec pyenv\n").unwrap();
        assert!(!is_pyenv_shim(&script), "not in a shims directory");
    }
}
