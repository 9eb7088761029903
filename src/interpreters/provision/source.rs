//! CPython source tarballs (`.tar.xz`, `.tar.gz`): recognising one, reading
//! its version without unpacking it, and unpacking it for a build.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

/// The compressions CPython source tarballs come in, told apart by their
/// first bytes rather than the file name (downloads get renamed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Compression {
    Xz,
    Gzip,
}

fn compression(path: &Path) -> Result<Compression> {
    let mut magic = [0u8; 6];
    let mut file = File::open(path).with_context(|| {
        format!(
            "cannot open source tarball {}: give --source an existing CPython .tar.xz or .tar.gz",
            path.display()
        )
    })?;
    let read = file.read(&mut magic).unwrap_or(0);
    match &magic[..read] {
        [0xfd, b'7', b'z', b'X', b'Z', 0x00] => Ok(Compression::Xz),
        [0x1f, 0x8b, ..] => Ok(Compression::Gzip),
        _ => bail!(
            "{} is not a CPython source tarball (neither .tar.xz nor .tar.gz): \
             give --source a tarball from https://www.python.org/downloads/source/",
            path.display()
        ),
    }
}

fn archive(path: &Path) -> Result<tar::Archive<Box<dyn Read>>> {
    let kind = compression(path)?;
    let file = BufReader::new(
        File::open(path).with_context(|| format!("cannot open {}", path.display()))?,
    );
    let reader: Box<dyn Read> = match kind {
        Compression::Xz => Box::new(liblzma::read::XzDecoder::new(file)),
        Compression::Gzip => Box::new(flate2::read::GzDecoder::new(file)),
    };
    Ok(tar::Archive::new(reader))
}

/// Whether an entry is `<top>/Include/patchlevel.h`, the header that holds
/// `PY_VERSION` and that every CPython source tree has.
fn is_patchlevel(path: &Path) -> bool {
    let parts: Vec<_> = path.components().collect();
    parts.len() == 3 && parts[1].as_os_str() == "Include" && parts[2].as_os_str() == "patchlevel.h"
}

/// The value of `#define PY_VERSION "3.13.5"` in `patchlevel.h`.
fn py_version(patchlevel: &str) -> Option<String> {
    patchlevel.lines().find_map(|line| {
        let rest = line.trim().strip_prefix("#define")?.trim_start();
        let value = rest.strip_prefix("PY_VERSION")?.trim();
        let version = value.strip_prefix('"')?.split('"').next()?;
        // A development checkout says `3.15.0a0+`: the `+` is no part of it.
        Some(version.trim_end_matches('+').to_string())
    })
}

/// The CPython version of a source tarball (`3.13.5`), read from its
/// `Include/patchlevel.h` without unpacking the rest.
pub fn tarball_version(path: &Path) -> Result<String> {
    let not_cpython = || {
        format!(
            "{} is not a CPython source tarball (no readable Include/patchlevel.h): \
             give --source a tarball from https://www.python.org/downloads/source/",
            path.display()
        )
    };
    let mut archive = archive(path)?;
    let entries = archive.entries().with_context(not_cpython)?;
    for entry in entries {
        let mut entry = entry.with_context(not_cpython)?;
        let is_header = entry.path().map(|p| is_patchlevel(&p)).unwrap_or(false);
        if is_header {
            let mut text = String::new();
            entry.read_to_string(&mut text).with_context(not_cpython)?;
            return py_version(&text).with_context(not_cpython);
        }
    }
    bail!(not_cpython())
}

/// Unpacks a source tarball into `into` (emptied first) and returns the
/// source tree: the one top-level directory, which holds `configure`.
pub fn unpack(path: &Path, into: &Path) -> Result<PathBuf> {
    if into.exists() {
        std::fs::remove_dir_all(into)
            .with_context(|| format!("cannot remove the old build directory {}", into.display()))?;
    }
    std::fs::create_dir_all(into).with_context(|| format!("cannot create {}", into.display()))?;
    let mut archive = archive(path)?;
    // Keep the tarball's modification times: CPython's Makefile would
    // otherwise think generated files are stale and try to regenerate them.
    archive.set_preserve_mtime(true);
    archive
        .unpack(into)
        .with_context(|| format!("cannot unpack {} into {}", path.display(), into.display()))?;
    let mut trees = Vec::new();
    for entry in
        std::fs::read_dir(into).with_context(|| format!("cannot read {}", into.display()))?
    {
        let entry = entry?;
        if entry.path().join("configure").is_file() {
            trees.push(entry.path());
        }
    }
    match trees.as_slice() {
        [tree] => Ok(tree.clone()),
        _ => bail!(
            "{} does not unpack to one CPython source tree with a `configure` script: \
             give --source a tarball from https://www.python.org/downloads/source/",
            path.display()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// A small `.tar.gz` holding `files` (path, contents).
    fn tarball(dir: &Path, name: &str, files: &[(&str, &str)]) -> PathBuf {
        let path = dir.join(name);
        let gz = flate2::write::GzEncoder::new(
            File::create(&path).unwrap(),
            flate2::Compression::fast(),
        );
        let mut builder = tar::Builder::new(gz);
        for (name, contents) in files {
            let mut header = tar::Header::new_gnu();
            header.set_size(contents.len() as u64);
            header.set_mode(0o755);
            header.set_cksum();
            builder
                .append_data(&mut header, name, contents.as_bytes())
                .unwrap();
        }
        builder
            .into_inner()
            .unwrap()
            .finish()
            .unwrap()
            .flush()
            .unwrap();
        path
    }

    #[test]
    fn reads_the_version_of_a_cpython_tree() {
        let dir = tempfile::tempdir().unwrap();
        let header =
            "/* comment */\n#define PY_MINOR_VERSION 13\n#define PY_VERSION      \"3.13.5\"\n";
        let path = tarball(
            dir.path(),
            "Python-3.13.5.tgz",
            &[
                ("Python-3.13.5/configure", "#!/bin/sh\n"),
                ("Python-3.13.5/Include/patchlevel.h", header),
            ],
        );
        assert_eq!(tarball_version(&path).unwrap(), "3.13.5");
        let tree = unpack(&path, &dir.path().join("build")).unwrap();
        assert!(tree.ends_with("Python-3.13.5"));
        assert!(tree.join("configure").is_file());
    }

    #[test]
    fn rejects_other_tarballs_and_other_files() {
        let dir = tempfile::tempdir().unwrap();
        let other = tarball(dir.path(), "other.tar.gz", &[("project/README", "hello")]);
        let err = tarball_version(&other).unwrap_err().to_string();
        assert!(err.contains("is not a CPython source tarball"), "{err}");
        let text = dir.path().join("notes.tar.xz");
        std::fs::write(&text, "just text").unwrap();
        let err = tarball_version(&text).unwrap_err().to_string();
        assert!(err.contains("is not a CPython source tarball"), "{err}");
        let missing = tarball_version(&dir.path().join("missing.tar.xz")).unwrap_err();
        assert!(format!("{missing:#}").contains("cannot open source tarball"));
    }

    #[test]
    fn parses_py_version_lines() {
        assert_eq!(
            py_version("#define PY_VERSION \"3.14.0rc1\"").as_deref(),
            Some("3.14.0rc1")
        );
        assert_eq!(
            py_version("#define PY_VERSION \"3.15.0a0+\"").as_deref(),
            Some("3.15.0a0")
        );
        assert_eq!(py_version("#define PY_VERSION_HEX 0x030d05f0"), None);
    }
}
