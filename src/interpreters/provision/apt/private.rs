//! A private APT configuration in gil-lab's home, one per Debian suite: its
//! own source list, package lists, status file and download cache, passed to
//! `apt-get` and `apt-cache` with `-o` options. It reads the machine's APT
//! settings (proxies, keyrings) but writes nothing outside gil-lab's home:
//! no file under `/etc`, no change to the machine's package lists, no root
//! needed. The archive and keyring are the ones the machine already trusts
//! (its own `deb` entry), so apt checks every download against the suite's
//! signed index as usual.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result, bail};

use super::sources::{SourceEntry, archive_stanza};
use crate::interpreters::provision::command::{Log, run_logged};

/// How long a suite's package lists are used before `apt-get update` runs
/// again: long enough that a second install is fast, short enough that a
/// release from the day before is seen.
const FRESH_FOR: Duration = Duration::from_secs(12 * 3600);

/// The file whose modification time says when the lists were fetched.
const UPDATED_STAMP: &str = "updated";

/// Index targets the machine's APT may add (AppStream metadata, icons,
/// command-not-found): gil-lab needs none of them, and they double the
/// download.
const UNNEEDED_TARGETS: &[&str] = &[
    "DEP-11",
    "DEP-11-icons",
    "DEP-11-icons-small",
    "DEP-11-icons-hidpi",
    "CNF",
];

/// One suite's private APT configuration under `<home>/apt/<suite>`.
#[derive(Debug, Clone)]
pub struct PrivateApt {
    dir: PathBuf,
    /// The Debian suite, e.g. `sid`.
    pub suite: String,
}

impl PrivateApt {
    /// Sets up the configuration for `suite` (binary and source packages of
    /// `main`), copying the URIs and keyring of the machine's `deb` entry for
    /// its own `codename` from `entries`.
    pub fn open(
        home_apt: &Path,
        suite: &str,
        entries: &[SourceEntry],
        codename: &str,
    ) -> Result<PrivateApt> {
        let Some(stanza) = archive_stanza(entries, codename, suite) else {
            bail!(
                "no enabled `deb` entry for {codename} with component main in the machine's APT \
                 sources: cannot tell which archive to use for Debian {suite}"
            );
        };
        let dir = home_apt.join(suite);
        for sub in [
            "sources.list.d",
            "lists/partial",
            "archives/partial",
            "cache",
            "preferences.d",
        ] {
            std::fs::create_dir_all(dir.join(sub))
                .with_context(|| format!("cannot create {}", dir.join(sub).display()))?;
        }
        let list = dir.join("sources.list.d").join("gil-lab.sources");
        let text = format!("# Written by gil-lab: its private APT configuration.\n{stanza}");
        if std::fs::read_to_string(&list).ok().as_deref() != Some(text.as_str()) {
            std::fs::write(&list, text)
                .with_context(|| format!("cannot write {}", list.display()))?;
        }
        let status = dir.join("status");
        if !status.exists() {
            std::fs::write(&status, "")
                .with_context(|| format!("cannot write {}", status.display()))?;
        }
        Ok(PrivateApt {
            dir,
            suite: suite.to_string(),
        })
    }

    /// The directory of this configuration.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The `-o` options that point APT at this configuration: an empty
    /// status file (nothing counts as installed, so a resolution lists every
    /// package needed), the private lists and caches.
    pub fn options(&self) -> Vec<String> {
        let at = |sub: &str| self.dir.join(sub).display().to_string();
        let mut options = vec![
            format!("Dir::Etc::SourceList={}", at("sources.list")),
            format!("Dir::Etc::SourceParts={}", at("sources.list.d")),
            format!("Dir::Etc::Preferences={}", at("preferences")),
            format!("Dir::Etc::PreferencesParts={}", at("preferences.d")),
            format!("Dir::State={}", at("")),
            format!("Dir::State::Lists={}", at("lists")),
            format!("Dir::State::status={}", at("status")),
            format!("Dir::Cache={}", at("cache")),
            format!("Dir::Cache::Archives={}", at("archives")),
            "APT::Get::List-Cleanup=1".to_string(),
        ];
        for target in UNNEEDED_TARGETS {
            options.push(format!(
                "Acquire::IndexTargets::deb::{target}::DefaultEnabled=false"
            ));
        }
        options
            .into_iter()
            .flat_map(|option| ["-o".to_string(), option])
            .collect()
    }

    /// `program` (apt-get, apt-cache) with this configuration.
    pub fn command(&self, program: &str) -> Command {
        let mut command = Command::new(program);
        command.args(self.options());
        command
    }

    /// When the suite's package lists were last fetched, if ever.
    fn updated_at(&self) -> Option<SystemTime> {
        std::fs::metadata(self.dir.join(UPDATED_STAMP))
            .ok()?
            .modified()
            .ok()
    }

    /// Fetches the suite's package lists (`apt-get update`) unless they are
    /// fresh; returns whether they were fetched now.
    pub fn update(&self, log: &mut Log) -> Result<bool> {
        let fresh = self
            .updated_at()
            .and_then(|at| at.elapsed().ok())
            .is_some_and(|age| age < FRESH_FOR);
        if fresh {
            log.note(&format!(
                "the package lists of {} in {} are fresh: not updated",
                self.suite,
                self.dir.display()
            ));
            return Ok(false);
        }
        let mut update = self.command("apt-get");
        update.arg("update");
        let mut first_error = None;
        let status = run_logged(update, log, |line| {
            if first_error.is_none() && (line.starts_with("E: ") || line.starts_with("Err:")) {
                first_error = Some(line.to_string());
            }
        })?;
        if !status.success() || first_error.is_some() {
            bail!(
                "`apt-get update` of Debian {} failed: {}",
                self.suite,
                first_error.unwrap_or_else(|| log.tail(2))
            );
        }
        // apt gives the lists the archive's dates: mark when they were fetched.
        let stamp = self.dir.join(UPDATED_STAMP);
        std::fs::write(&stamp, "").with_context(|| format!("cannot write {}", stamp.display()))?;
        Ok(true)
    }

    /// Every package (name, version) that `package=version` (or the
    /// candidate) needs on a system with nothing installed, from a
    /// simulated install without recommends; `package` itself included.
    pub fn resolve(&self, package: &str, log: &mut Log) -> Result<Vec<(String, String)>> {
        let mut simulate = self.command("apt-get");
        simulate.args(["-s", "-q", "install", "--no-install-recommends", package]);
        let mut installs = Vec::new();
        let mut first_error = None;
        let status = run_logged(simulate, log, |line| {
            if let Some(found) = parse_inst_line(line) {
                installs.push(found);
            } else if first_error.is_none() && line.starts_with("E: ") {
                first_error = Some(line.to_string());
            }
        })?;
        if !status.success() || installs.is_empty() {
            bail!(
                "Debian {} cannot install {package}: {}",
                self.suite,
                first_error.unwrap_or_else(|| format!("apt-get exited with {status}"))
            );
        }
        Ok(installs)
    }

    /// Downloads the binary packages `packages` (name, version) into
    /// `into` (`apt-get download` checks each against the signed index) and
    /// returns the `.deb` files.
    pub fn download(
        &self,
        packages: &[(String, String)],
        into: &Path,
        log: &mut Log,
    ) -> Result<Vec<PathBuf>> {
        std::fs::create_dir_all(into)
            .with_context(|| format!("cannot create {}", into.display()))?;
        let mut download = self.command("apt-get");
        download.args(["-q", "download"]).current_dir(into);
        for (name, version) in packages {
            download.arg(format!("{name}={version}"));
        }
        let mut first_error = None;
        let status = run_logged(download, log, |line| {
            if first_error.is_none() && line.starts_with("E: ") {
                first_error = Some(line.to_string());
            }
        })?;
        if !status.success() {
            bail!(
                "`apt-get download` from Debian {} failed: {}",
                self.suite,
                first_error.unwrap_or_else(|| log.tail(3))
            );
        }
        let mut debs = Vec::new();
        for (name, version) in packages {
            // apt names the file NAME_VERSION_ARCH.deb with the epoch's `:`
            // written as `%3a`.
            let prefix = format!("{name}_{}_", version.replace(':', "%3a"));
            let found = std::fs::read_dir(into)
                .with_context(|| format!("cannot read {}", into.display()))?
                .flatten()
                .map(|entry| entry.path())
                .find(|path| {
                    path.file_name().is_some_and(|file| {
                        let file = file.to_string_lossy();
                        file.starts_with(&prefix) && file.ends_with(".deb")
                    })
                });
            debs.push(found.with_context(|| {
                format!(
                    "apt-get download left no {prefix}*.deb in {}",
                    into.display()
                )
            })?);
        }
        Ok(debs)
    }

    /// The versions of source package `package` the suite lists.
    pub fn source_versions(&self, package: &str) -> Vec<String> {
        let output = self
            .command("apt-cache")
            .args(["showsrc", "--only-source", package])
            .output();
        let Ok(output) = output else {
            return Vec::new();
        };
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter_map(|line| line.strip_prefix("Version: "))
            .map(|version| version.trim().to_string())
            .collect()
    }
}

/// `Inst NAME (VERSION SUITE [ARCH])` lines of a simulated install.
pub fn parse_inst_line(line: &str) -> Option<(String, String)> {
    let rest = line.strip_prefix("Inst ")?;
    let (name, rest) = rest.split_once(' ')?;
    // `Inst libc6 [2.36-9] (2.43-7 ...)`: an upgrade shows the old version
    // in brackets first; the empty status file makes that impossible, but
    // read past it anyway.
    let rest = match rest.strip_prefix('[') {
        Some(after) => after.split_once("] ")?.1,
        None => rest,
    };
    let version = rest.strip_prefix('(')?.split_whitespace().next()?;
    Some((name.to_string(), version.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_simulated_installs() {
        assert_eq!(
            parse_inst_line("Inst libc6 (2.43-7 Debian:unstable [amd64]) []"),
            Some(("libc6".into(), "2.43-7".into()))
        );
        assert_eq!(
            parse_inst_line("Inst zlib1g (1:1.3.dfsg+really1.3.2-4 Debian:unstable [amd64])"),
            Some(("zlib1g".into(), "1:1.3.dfsg+really1.3.2-4".into()))
        );
        assert_eq!(
            parse_inst_line("Inst libc6 [2.36-9] (2.43-7 Debian:unstable [amd64])"),
            Some(("libc6".into(), "2.43-7".into()))
        );
        assert_eq!(
            parse_inst_line("Conf libc6 (2.43-7 Debian:unstable [amd64])"),
            None
        );
    }

    #[test]
    fn writes_only_inside_its_directory() {
        let home = tempfile::tempdir().unwrap();
        let entries = super::super::sources::parse_deb822(
            "Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm\nComponents: main\n\
             Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n",
            Path::new("debian.sources"),
        );
        let apt = PrivateApt::open(home.path(), "sid", &entries, "bookworm").unwrap();
        let list =
            std::fs::read_to_string(apt.dir().join("sources.list.d/gil-lab.sources")).unwrap();
        assert!(list.contains("Types: deb deb-src\n"), "{list}");
        assert!(list.contains("Suites: sid\n"), "{list}");
        let options = apt.options();
        for option in options.iter().filter(|o| o.starts_with("Dir::")) {
            let path = option.split_once('=').unwrap().1;
            assert!(
                path.starts_with(&home.path().display().to_string()),
                "{option}"
            );
        }
        assert!(PrivateApt::open(home.path(), "sid", &entries, "noble").is_err());
    }
}
