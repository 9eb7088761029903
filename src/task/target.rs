//! The task's target as given on the command line: `path/to/file.py:function`
//! or `package.module:function`, checked for its form before anything runs
//! (whether it imports is checked on each interpreter, `check`).

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};

/// A target, understood.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// As given, with a relative file made absolute.
    pub text: String,
    /// The function's name: the task's (and its scenario's) name.
    pub function: String,
    /// Directories to import from (absolute).
    pub path: Vec<PathBuf>,
}

fn is_identifier(text: &str) -> bool {
    let mut chars = text.chars();
    chars.next().is_some_and(|c| c == '_' || c.is_alphabetic())
        && chars.all(|c| c == '_' || c.is_alphanumeric())
}

/// Parses `target`; relative files and `--task-path` directories are taken
/// from `cwd`.
pub fn parse(target: &str, task_path: &[PathBuf], cwd: &Path) -> Result<Target> {
    let Some((module, function)) = target.rsplit_once(':') else {
        bail!(
            "--task {target}: give FILE.py:FUNCTION or package.module:FUNCTION, e.g. --task agents/score.py:score"
        );
    };
    if !is_identifier(function) {
        bail!("--task {target}: `{function}` is not a Python function name");
    }
    let mut path: Vec<PathBuf> = if task_path.is_empty() {
        vec![cwd.to_path_buf()]
    } else {
        task_path.iter().map(|p| cwd.join(p)).collect()
    };
    for dir in &path {
        if !dir.is_dir() {
            bail!(
                "--task-path {} is not a directory: give the folder your task is imported from",
                dir.display()
            );
        }
    }
    let text = if module.ends_with(".py") {
        let file = path[0].join(module);
        let file = if Path::new(module).is_absolute() {
            PathBuf::from(module)
        } else if file.is_file() {
            file
        } else {
            cwd.join(module)
        };
        if !file.is_file() {
            bail!(
                "--task {target}: no file {} (a relative path starts at the current directory or --task-path)",
                file.display()
            );
        }
        let file = std::path::absolute(&file)?;
        if let Some(parent) = file.parent() {
            path.insert(0, parent.to_path_buf());
        }
        format!("{}:{function}", file.display())
    } else {
        if !module.split('.').all(is_identifier) {
            bail!("--task {target}: `{module}` is neither a .py file nor a dotted module name");
        }
        target.to_string()
    };
    path.dedup();
    Ok(Target {
        text,
        function: function.to_string(),
        path,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_and_modules() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("t.py"), "def f(i): return i\n").unwrap();
        let target = parse("t.py:f", &[], dir.path()).unwrap();
        assert_eq!(target.function, "f");
        assert!(target.text.ends_with("/t.py:f"), "{}", target.text);
        assert_eq!(target.path[0], dir.path());
        let module = parse("pkg.mod:run", &[], dir.path()).unwrap();
        assert_eq!(module.text, "pkg.mod:run");
        for (bad, wanted) in [
            ("t.py", "FILE.py:FUNCTION"),
            ("t.py:1f", "not a Python function name"),
            ("missing.py:f", "no file"),
            ("a-b:f", "neither a .py file"),
        ] {
            let err = parse(bad, &[], dir.path()).unwrap_err().to_string();
            assert!(err.contains(wanted), "{bad}: {err}");
        }
        let err = parse("t.py:f", &["nope".into()], dir.path()).unwrap_err();
        assert!(err.to_string().contains("--task-path"), "{err}");
    }
}
