//! The marker file of a complete install (`.gil-lab-installed.json`):
//! written last, after the probe verified the interpreter, so a directory
//! without it is an interrupted or failed build.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use super::MARKER_FILE;

/// What was installed, from what, and how.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Marker {
    /// The install's directory name, e.g. `cpython-3.13.5t`.
    pub name: String,
    /// The full CPython version the probe reported, e.g. `3.13.5`.
    pub version: String,
    /// Built with `--disable-gil`.
    pub free_threaded: bool,
    /// The build variant as the probe derived it (`free-threaded`, `default`).
    pub variant: String,
    /// The interpreter's executable.
    pub executable: PathBuf,
    /// The source tarball it was built from.
    pub source: PathBuf,
    /// Where that tarball came from, e.g. `Debian source package python3.13 3.13.5-2+deb13u5`.
    pub source_origin: String,
    /// How it was installed (markers written before this field: a source build).
    #[serde(default)]
    pub strategy: Strategy,
    /// Built with PGO and LTO (`--optimized`).
    #[serde(default)]
    pub optimized: bool,
    /// The arguments `configure` got.
    pub configure_flags: Vec<String>,
    /// Wall-clock seconds of the build (unpack to `make install`).
    pub build_seconds: f64,
    /// When the install was verified (RFC 3339, UTC).
    pub installed_at: String,
    /// The full build log.
    pub build_log: PathBuf,
    /// The gil-lab version that built it.
    pub gil_lab_version: String,
}

impl Marker {
    /// Writes the marker (through a temporary file and a rename, so a
    /// reader never sees half of it).
    pub fn write(&self, path: &Path) -> Result<()> {
        let text =
            serde_json::to_string_pretty(self).context("cannot serialise the install marker")?;
        let temporary = path.with_extension("json.tmp");
        std::fs::write(&temporary, text + "\n")
            .with_context(|| format!("cannot write {}", temporary.display()))?;
        std::fs::rename(&temporary, path)
            .with_context(|| format!("cannot write {}", path.display()))
    }
}

/// How an install was made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Strategy {
    /// Built here from a source tarball (`source` is the tarball).
    #[default]
    SourceBuild,
    /// Debian's binary packages relocated into gil-lab's home (`source` is
    /// the interpreter's `.deb`).
    DebianBinary,
}

/// Every readable marker in the subdirectories of `pythons`, with its directory.
pub fn read_all(pythons: &Path) -> Vec<(PathBuf, Marker)> {
    let mut markers = Vec::new();
    for entry in std::fs::read_dir(pythons).into_iter().flatten().flatten() {
        let dir = entry.path();
        let Ok(text) = std::fs::read_to_string(dir.join(MARKER_FILE)) else {
            continue;
        };
        // A marker of an older, incompatible format counts as no marker:
        // that install is rebuilt.
        if let Ok(marker) = serde_json::from_str::<Marker>(&text) {
            markers.push((dir, marker));
        }
    }
    markers.sort_by(|a, b| a.0.cmp(&b.0));
    markers
}

/// Sort key of a version: its numeric parts (`3.13.10` after `3.13.9`).
pub fn version_key(version: &str) -> Vec<u64> {
    version
        .split('.')
        .map(|part| {
            let digits: String = part.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().unwrap_or(0)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(dir: &Path, version: &str) -> Marker {
        Marker {
            name: format!("cpython-{version}t"),
            version: version.to_string(),
            free_threaded: true,
            variant: "free-threaded".to_string(),
            executable: dir.join("bin/python3.13t"),
            source: PathBuf::from("/tmp/python3.13_3.13.5.orig.tar.xz"),
            source_origin: "Debian source package python3.13 3.13.5-2+deb13u5".to_string(),
            strategy: Strategy::SourceBuild,
            optimized: false,
            configure_flags: vec!["--disable-gil".to_string()],
            build_seconds: 150.0,
            installed_at: "2026-11-26T19:00:00Z".to_string(),
            build_log: PathBuf::from("/tmp/log"),
            gil_lab_version: "0.1.0".to_string(),
        }
    }

    #[test]
    fn markers_round_trip_and_dirs_without_one_are_skipped() {
        let home = tempfile::tempdir().unwrap();
        let complete = home.path().join("cpython-3.13.5t");
        let incomplete = home.path().join("cpython-3.13.4t");
        std::fs::create_dir_all(&complete).unwrap();
        std::fs::create_dir_all(&incomplete).unwrap();
        std::fs::write(incomplete.join(MARKER_FILE.to_string() + ".tmp"), "{").unwrap();
        let marker = sample(&complete, "3.13.5");
        marker.write(&complete.join(MARKER_FILE)).unwrap();
        let found = read_all(home.path());
        assert_eq!(found, vec![(complete, marker)]);
    }

    #[test]
    fn versions_sort_numerically() {
        assert!(version_key("3.13.10") > version_key("3.13.9"));
        assert!(version_key("3.14.0rc1") > version_key("3.13.5"));
    }
}
