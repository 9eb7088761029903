//! Cache of probe results in `<gil-lab home>/probe-cache/`, one JSON file per
//! (executable, interpreter flags).
//!
//! Like uv's interpreter cache, an entry is keyed by the absolute and the
//! canonical path and is valid only while the canonical file keeps its
//! modification time and size: reinstalling or rebuilding an interpreter
//! changes both. Scripts (pyenv shims, wrappers) are never cached: what they
//! run can change without the script changing.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::facts::ProbeOutput;

/// Where one probe result is stored and what makes it valid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CacheKey {
    /// The executable's absolute path, as it is run.
    pub absolute: PathBuf,
    /// The real file behind it (symlinks resolved).
    pub canonical: PathBuf,
    /// Flags the interpreter is started with (e.g. `-X gil=1`).
    pub flags: Vec<String>,
    /// Hash of the probe script: a changed probe invalidates every entry.
    pub probe_hash: String,
    /// Modification time of the canonical file, nanoseconds since the epoch.
    pub mtime_ns: u128,
    /// Size of the canonical file in bytes.
    pub size: u64,
}

impl CacheKey {
    /// The key for probing `executable` with `flags`, or `None` when its
    /// result must not be cached (a script such as a pyenv shim, or a file
    /// whose metadata cannot be read).
    pub fn for_executable(executable: &Path, flags: &[String], probe_hash: &str) -> Option<Self> {
        let absolute = std::path::absolute(executable).ok()?;
        let canonical = fs::canonicalize(&absolute).ok()?;
        if is_script(&canonical) {
            return None;
        }
        let metadata = fs::metadata(&canonical).ok()?;
        let mtime_ns = metadata
            .modified()
            .ok()?
            .duration_since(UNIX_EPOCH)
            .ok()?
            .as_nanos();
        Some(Self {
            absolute,
            canonical,
            flags: flags.to_vec(),
            probe_hash: probe_hash.to_owned(),
            mtime_ns,
            size: metadata.len(),
        })
    }

    /// The entry's file name: a hash of what identifies the entry (not of
    /// what validates it, so that a changed executable overwrites its entry).
    fn file_name(&self) -> String {
        let mut hasher = Sha256::new();
        hasher.update(self.absolute.as_os_str().as_encoded_bytes());
        hasher.update([0]);
        hasher.update(self.canonical.as_os_str().as_encoded_bytes());
        for flag in &self.flags {
            hasher.update([0]);
            hasher.update(flag.as_bytes());
        }
        let digest = hasher.finalize();
        let hex: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
        format!("{hex}.json")
    }
}

/// Whether the file starts with `#!`: a script, not an interpreter binary.
pub fn is_script(path: &Path) -> bool {
    let mut start = [0u8; 2];
    fs::File::open(path)
        .and_then(|mut file| file.read_exact(&mut start))
        .map(|()| &start == b"#!")
        .unwrap_or(false)
}

/// One stored entry: the key it was made for and the probe's output.
#[derive(Debug, Serialize, Deserialize)]
struct Entry {
    key: CacheKey,
    output: ProbeOutput,
}

/// The probe cache directory.
#[derive(Debug, Clone)]
pub struct ProbeCache {
    dir: PathBuf,
}

impl ProbeCache {
    /// The cache in gil-lab's home.
    pub fn open() -> Result<Self> {
        Ok(Self::in_dir(crate::paths::home_subdir("probe-cache")?))
    }

    /// A cache in `dir` (which must exist).
    pub fn in_dir(dir: PathBuf) -> Self {
        Self { dir }
    }

    /// The stored output for `key`, if there is one and it is still valid.
    /// A missing, unreadable or outdated entry is simply a miss.
    pub fn get(&self, key: &CacheKey) -> Option<ProbeOutput> {
        let text = fs::read_to_string(self.dir.join(key.file_name())).ok()?;
        let entry: Entry = serde_json::from_str(&text).ok()?;
        (entry.key == *key).then_some(entry.output)
    }

    /// Stores `output` for `key`, replacing any older entry atomically (write
    /// to a temporary file, then rename) so that a concurrent reader never
    /// sees half an entry.
    pub fn put(&self, key: &CacheKey, output: &ProbeOutput) -> Result<()> {
        let entry = Entry {
            key: key.clone(),
            output: output.clone(),
        };
        let path = self.dir.join(key.file_name());
        let staging = path.with_extension(format!("tmp-{}", std::process::id()));
        let text = serde_json::to_string_pretty(&entry).context("cannot encode a probe result")?;
        fs::write(&staging, text)
            .with_context(|| format!("cannot write the probe cache {}", staging.display()))?;
        fs::rename(&staging, &path)
            .with_context(|| format!("cannot write the probe cache {}", path.display()))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interpreters::facts::ReportedError;

    fn output(message: &str) -> ProbeOutput {
        ProbeOutput::Error(ReportedError {
            kind: "unsupported_version".into(),
            message: message.into(),
        })
    }

    #[test]
    fn stores_and_invalidates_on_change_of_the_executable() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ProbeCache::in_dir(dir.path().to_owned());
        let exe = dir.path().join("python3");
        fs::write(&exe, b"\x7fELF binary").unwrap();
        let key = CacheKey::for_executable(&exe, &[], "h1").unwrap();
        assert_eq!(cache.get(&key), None);
        cache.put(&key, &output("a")).unwrap();
        assert_eq!(cache.get(&key), Some(output("a")));

        // A rebuilt executable (other size) misses.
        fs::write(&exe, b"\x7fELF binary, rebuilt").unwrap();
        let changed = CacheKey::for_executable(&exe, &[], "h1").unwrap();
        assert_eq!(cache.get(&changed), None);

        // A new probe script misses, and other flags are another entry.
        let new_probe = CacheKey::for_executable(&exe, &[], "h2").unwrap();
        assert_eq!(cache.get(&new_probe), None);
        cache.put(&changed, &output("b")).unwrap();
        let flags = ["-X".to_owned(), "gil=1".to_owned()];
        let forced = CacheKey::for_executable(&exe, &flags, "h1").unwrap();
        assert_eq!(cache.get(&forced), None);
        assert_eq!(cache.get(&changed), Some(output("b")));
    }

    #[test]
    fn same_size_but_new_mtime_misses() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ProbeCache::in_dir(dir.path().to_owned());
        let exe = dir.path().join("python3");
        fs::write(&exe, b"\x7fELF one").unwrap();
        let file = fs::File::options().write(true).open(&exe).unwrap();
        file.set_modified(UNIX_EPOCH + std::time::Duration::from_secs(1_000_000))
            .unwrap();
        let key = CacheKey::for_executable(&exe, &[], "h").unwrap();
        cache.put(&key, &output("a")).unwrap();
        fs::write(&exe, b"\x7fELF two").unwrap();
        let key = CacheKey::for_executable(&exe, &[], "h").unwrap();
        assert_eq!(cache.get(&key), None);
    }

    #[test]
    fn symlinks_are_keyed_by_their_target_too() {
        let dir = tempfile::tempdir().unwrap();
        let exe = dir.path().join("python3.13");
        fs::write(&exe, b"\x7fELF").unwrap();
        let link = dir.path().join("python3");
        std::os::unix::fs::symlink(&exe, &link).unwrap();
        let key = CacheKey::for_executable(&link, &[], "h").unwrap();
        assert_eq!(key.absolute, link);
        assert_eq!(key.canonical, fs::canonicalize(&exe).unwrap());
    }

    #[test]
    fn scripts_and_missing_files_are_not_cached() {
        let dir = tempfile::tempdir().unwrap();
        let shim = dir.path().join("python3.12");
        fs::write(
            &shim,
            "#!/usr/bin/env bash\nexec pyenv exec python3.12 \"$@\"\n",
        )
        .unwrap();
        assert!(is_script(&shim));
        assert_eq!(CacheKey::for_executable(&shim, &[], "h"), None);
        assert_eq!(
            CacheKey::for_executable(&dir.path().join("missing"), &[], "h"),
            None
        );
    }

    #[test]
    fn corrupt_entry_is_a_miss() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ProbeCache::in_dir(dir.path().to_owned());
        let exe = dir.path().join("python3");
        fs::write(&exe, b"\x7fELF").unwrap();
        let key = CacheKey::for_executable(&exe, &[], "h").unwrap();
        fs::write(dir.path().join(key.file_name()), "{not json").unwrap();
        assert_eq!(cache.get(&key), None);
    }
}
