//! Where gil-lab keeps its own files: the home directory (provisioned
//! interpreters, the probe cache, the extracted Python package).

use std::path::PathBuf;

use anyhow::{Context, Result};

/// Environment variable that overrides gil-lab's home directory.
pub const HOME_ENV: &str = "GIL_LAB_HOME";

/// gil-lab's home: `$GIL_LAB_HOME`, else `$XDG_CACHE_HOME/gil-lab` (usually
/// `~/.cache/gil-lab`). Created on first use.
pub fn home() -> Result<PathBuf> {
    let dir = match std::env::var_os(HOME_ENV) {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => dirs::cache_dir()
            .context("cannot find a cache directory: set GIL_LAB_HOME to a writable directory")?
            .join("gil-lab"),
    };
    std::fs::create_dir_all(&dir).with_context(|| {
        format!(
            "cannot create gil-lab's home {}: set GIL_LAB_HOME to a writable directory",
            dir.display()
        )
    })?;
    Ok(dir)
}

/// A subdirectory of gil-lab's home, created on first use.
pub fn home_subdir(name: &str) -> Result<PathBuf> {
    let dir = home()?.join(name);
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("cannot create directory {}", dir.display()))?;
    Ok(dir)
}
