//! What `gil-lab ready` keeps between runs, per interpreter, under
//! `<home>/ready/<interpreter>/`: its tool environment (pip), the checked
//! environments, the build logs, one JSON record per distribution release
//! checked (`checked/<name>-<version>.json`), and a lock so that two
//! `ready` processes (two tests, two terminals) never install into the same
//! environment at once.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::run::readiness::{DistributionCheck, Verdict};

/// One interpreter's directory, held under an exclusive lock while alive.
pub struct InterpreterDir {
    /// The directory.
    pub dir: PathBuf,
    /// The open lock file (the lock is released when it closes).
    _lock: File,
}

impl InterpreterDir {
    /// Opens (and locks) the directory of the interpreter `label` at `path`
    /// started with `flags`; waits while another process holds it.
    pub fn open(label: &str, path: &Path, flags: &[String]) -> Result<InterpreterDir> {
        let mut key = path.to_string_lossy().into_owned();
        key.push('\0');
        key.push_str(label);
        for flag in flags {
            key.push('\0');
            key.push_str(flag);
        }
        let readable: String = label
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        let dir = super::pip::home()?.join(format!(
            "{readable}-{:012x}",
            crate::hash::fnv1a_64(key.as_bytes()) & 0xffff_ffff_ffff
        ));
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        let lock_path = dir.join("lock");
        let lock = File::create(&lock_path)
            .with_context(|| format!("cannot create {}", lock_path.display()))?;
        // SAFETY: flock on a file descriptor this function owns.
        let status = unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) };
        if status != 0 {
            return Err(std::io::Error::last_os_error())
                .with_context(|| format!("cannot lock {}", lock_path.display()));
        }
        Ok(InterpreterDir { dir, _lock: lock })
    }

    fn record_path(&self, name: &str, version: &str) -> PathBuf {
        self.dir
            .join("checked")
            .join(format!("{}-{version}.json", super::input::normalise(name)))
    }

    /// The stored check of this release, if any.
    pub fn load(&self, name: &str, version: &str) -> Option<DistributionCheck> {
        let text = std::fs::read_to_string(self.record_path(name, version)).ok()?;
        let mut check: DistributionCheck = serde_json::from_str(&text).ok()?;
        check.cached = true;
        Some(check)
    }

    /// Stores the check of a release: not an install that failed before
    /// anything was built or imported (a registry that did not answer is
    /// asked again next time).
    pub fn store(&self, check: &DistributionCheck) -> Result<()> {
        let Some(version) = &check.version else {
            return Ok(());
        };
        let transient = check.verdict == Verdict::Blocked
            && check.built != Some(false)
            && check.imports.is_empty();
        if transient {
            return Ok(());
        }
        let path = self.record_path(&check.name, version);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(&path, serde_json::to_vec_pretty(check)?)
            .with_context(|| format!("cannot write {}", path.display()))
    }

    /// Where the install log of a release is kept.
    pub fn log_path(&self, name: &str, version: &str) -> PathBuf {
        self.dir
            .join("logs")
            .join(format!("{}-{version}.log", super::input::normalise(name)))
    }
}
