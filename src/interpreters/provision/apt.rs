//! Debian and Ubuntu: CPython's source from the distribution's archive
//! (`apt-get source pythonX.Y`, through gil-lab's private APT configuration,
//! see [`private`]), and the build dependencies, installed only with the
//! user's consent.
//!
//! Source packages are fetched from the archive the machine already trusts
//! (its own URIs and keyring), so the upstream tarball (`.orig.tar.xz`) is
//! checked against the signed `Sources` index by apt itself.

pub mod private;
mod sources;

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use self::private::PrivateApt;
pub use self::sources::OsRelease;
use self::sources::read_source_lists;
use super::command::{self, Log, run_logged};
use super::progress::Progress;
use super::request::Request;

/// Build dependencies without which the workload cannot run: a compiler,
/// make, `_ctypes` (libffi) and `zlib`.
const REQUIRED_PACKAGES: &[&str] = &["gcc", "make", "libffi-dev", "zlib1g-dev"];

/// Build dependencies of modules a user's code may want (`ssl`, `bz2`,
/// `lzma`, `sqlite3`, `readline`, `uuid`): installed when possible, a build
/// without them still works for gil-lab.
const OPTIONAL_PACKAGES: &[&str] = &[
    "pkg-config",
    "libssl-dev",
    "libbz2-dev",
    "liblzma-dev",
    "libsqlite3-dev",
    "libreadline-dev",
    "uuid-dev",
];

/// Wait for another apt or dpkg run (unattended upgrades, a second gil-lab)
/// to release its lock instead of failing at once.
const LOCK_WAIT: [&str; 2] = ["-o", "DPkg::Lock::Timeout=120"];

/// Where APT's configuration lives.
const ETC_APT: &str = "/etc/apt";

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// A file listed by `apt-get source --print-uris`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct SourceFile {
    name: String,
}

/// Parses `'URI' NAME SIZE HASH` lines of `apt-get source --print-uris`.
fn parse_print_uris(output: &str) -> Vec<SourceFile> {
    output
        .lines()
        .filter(|line| line.starts_with('\''))
        .filter_map(|line| line.split_whitespace().nth(1))
        .map(|name| SourceFile {
            name: name.to_string(),
        })
        .collect()
}

/// A Debian source package's upstream tarball, downloaded.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// The `.orig.tar.xz` in gil-lab's sources directory.
    pub tarball: PathBuf,
    /// Where it came from, e.g. `Debian source package python3.13 3.13.15-1 (sid)`.
    pub origin: String,
}

/// The private APT configurations of `suites` (see [`private`]), in order.
pub fn private_apts(suites: &[String]) -> Result<Vec<PrivateApt>> {
    let release = OsRelease::read();
    let entries = read_source_lists(Path::new(ETC_APT));
    let home_apt = crate::paths::home_subdir("apt")?;
    suites
        .iter()
        .map(|suite| PrivateApt::open(&home_apt, suite, &entries, &release.codename))
        .collect()
}

/// Sort key of a Debian version `[EPOCH:]UPSTREAM[-REVISION]`: the epoch,
/// then the numeric parts of the upstream version and of the revision.
fn debian_version_key(version: &str) -> (u64, Vec<u64>, Vec<u64>) {
    let (epoch, rest) = match version.split_once(':') {
        Some((epoch, rest)) => (epoch.parse().unwrap_or(0), rest),
        None => (0, version),
    };
    let (upstream, revision) = rest.rsplit_once('-').unwrap_or((rest, ""));
    let numbers = |text: &str| {
        text.split(|c: char| !c.is_ascii_digit())
            .filter(|part| !part.is_empty())
            .map(|part| part.parse().unwrap_or(0))
            .collect()
    };
    (epoch, numbers(upstream), numbers(revision))
}

/// The upstream part of a Debian version (`3.13.15` of `3.13.15-1`).
pub fn upstream_version(version: &str) -> &str {
    let rest = version.split_once(':').map_or(version, |(_, rest)| rest);
    rest.rsplit_once('-').map_or(rest, |(upstream, _)| upstream)
}

/// Downloads the upstream tarball of the newest `python3.X` source package
/// that satisfies `request` and actually downloads, looking in the suites
/// from the newest to the machine's own, each through gil-lab's private APT
/// configuration (nothing is written under `/etc`). The tarball is kept in
/// `sources_dir`, so a rebuild or `--source` reuses it.
pub fn fetch_source(
    request: Request,
    sources_dir: &Path,
    log: &mut Log,
    progress: &Progress,
) -> Result<Fetched> {
    if !command::on_path("apt-get") {
        bail!("this system has no apt-get");
    }
    let package = format!("python{}", request.minor_version());
    let suites = OsRelease::read().source_suites();
    if suites.is_empty() {
        bail!("cannot tell this system's release (no VERSION_CODENAME in /etc/os-release)");
    }
    let mut tried = Vec::new();
    for apt in private_apts(&suites)? {
        let suite = apt.suite.clone();
        progress.stage(&format!(
            "looking for the source package {package} in Debian {suite} (private APT configuration in {})",
            apt.dir().display()
        ));
        if let Err(error) = apt.update(log) {
            tried.push(format!("{error:#}"));
            continue;
        }
        let mut versions: Vec<String> = apt
            .source_versions(&package)
            .into_iter()
            .filter(|version| request.matches(upstream_version(version)))
            .collect();
        versions.sort_by_key(|version| std::cmp::Reverse(debian_version_key(version)));
        versions.dedup();
        if versions.is_empty() {
            tried.push(format!("{suite} has no {package} source for {request}"));
            continue;
        }
        for version in versions {
            match download(&apt, &package, &version, sources_dir, log, progress) {
                Ok(fetched) => return Ok(fetched),
                Err(error) => {
                    progress.println(&format!("{error:#}; trying the next one"));
                    tried.push(format!("{error:#}"));
                }
            }
        }
    }
    bail!(
        "no {package} source package for {request} downloads from here ({})",
        tried.join("; ")
    )
}

/// Downloads the upstream tarball of source package `package` `version`
/// with `apt-get source --download-only` (apt checks it against the signed
/// `Sources` index).
fn download(
    apt: &PrivateApt,
    package: &str,
    version: &str,
    sources_dir: &Path,
    log: &mut Log,
    progress: &Progress,
) -> Result<Fetched> {
    let pinned = format!("{package}={version}");
    let listing = apt
        .command("apt-get")
        .args(["source", "--print-uris", &pinned])
        .output()
        .context("cannot run apt-get")?;
    let files = parse_print_uris(&String::from_utf8_lossy(&listing.stdout));
    let orig = files
        .iter()
        .find(|f| f.name.contains(".orig.tar.") && !f.name.ends_with(".asc"))
        .with_context(|| {
            format!(
                "{package} {version} ({}) has no upstream .orig tarball",
                apt.suite
            )
        })?;
    let tarball = sources_dir.join(&orig.name);
    progress.stage(&format!("downloading {} (Debian {})", orig.name, apt.suite));
    let mut download = apt.command("apt-get");
    download
        .args(["source", "--download-only", &pinned])
        .current_dir(sources_dir);
    // apt-get skips files that are already there with the right checksum.
    let mut first_error = None;
    let status = run_logged(download, log, |line| {
        // apt says `E: Failed to fetch URI  404  Not Found` per file: the
        // first one tells the story.
        if first_error.is_none() && line.starts_with("E: ") {
            first_error = Some(line.split_whitespace().collect::<Vec<_>>().join(" "));
        }
    })?;
    if !status.success() || !tarball.is_file() {
        bail!(
            "{package} {version} ({}) does not download ({})",
            apt.suite,
            first_error
                .as_deref()
                .map(fetch_failure)
                .unwrap_or_else(|| log.tail(3))
        );
    }
    Ok(Fetched {
        tarball,
        origin: format!("Debian source package {package} {version} ({})", apt.suite),
    })
}

/// The gist of apt's `E: Failed to fetch URI  404  Not Found [IP: ...]`:
/// the file and the answer (`python3.14_3.14.10-1.dsc: 404 Not Found`).
fn fetch_failure(line: &str) -> String {
    let Some(rest) = line.strip_prefix("E: Failed to fetch ") else {
        return line.to_string();
    };
    let (uri, answer) = rest.split_once(' ').unwrap_or((rest, ""));
    let file = uri.rsplit('/').next().unwrap_or(uri);
    let answer = answer.split(" [").next().unwrap_or(answer).trim();
    format!("{file}: {answer}")
}

/// Which build dependencies are not installed, according to dpkg.
fn missing_packages(packages: &[&str]) -> Result<Vec<String>> {
    let output = Command::new("dpkg-query")
        .arg("-W")
        .arg("-f=${Package} ${db:Status-Abbrev}\n")
        .args(packages)
        .output()
        .context("cannot run dpkg-query")?;
    let installed: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| {
            let (name, status) = line.split_once(' ')?;
            // `ii`: desired install, currently installed.
            status
                .starts_with("ii")
                .then(|| name.split(':').next().unwrap_or(name).to_string())
        })
        .collect();
    Ok(packages
        .iter()
        .filter(|p| !installed.iter().any(|i| i == *p))
        .map(|p| p.to_string())
        .collect())
}

/// Whether gil-lab may install packages on the user's system.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consent {
    /// `--yes`: install what is missing without asking.
    Given,
    /// Ask on the terminal; without one, print the command instead.
    Ask,
}

/// What to do about missing build dependencies.
#[derive(Debug, PartialEq, Eq)]
enum DependencyPlan {
    /// Root and the user agreed: install them; `required` when the build
    /// needs them.
    Install {
        /// The missing packages.
        packages: Vec<String>,
        /// Whether a required one is among them (a failed install is fatal).
        required: bool,
    },
    /// The build cannot work without them: the error to show.
    Refuse(String),
    /// Only optional ones are missing: the note to show.
    Note(String),
}

/// The command that installs `packages` (with `sudo` unless root).
fn install_command(packages: &[String], root: bool) -> String {
    let mut words = Vec::new();
    if !root {
        words.push("sudo");
    }
    words.extend(["apt-get", "install", "-y", "--no-install-recommends"]);
    words.extend(packages.iter().map(String::as_str));
    crate::shell::join(words)
}

/// Decides what to do about the `missing` packages: install them only as
/// root and with the user's agreement, else say which command would.
fn plan_dependencies(missing: &[String], root: bool, agreed: bool) -> Option<DependencyPlan> {
    if missing.is_empty() {
        return None;
    }
    let required = missing
        .iter()
        .any(|p| REQUIRED_PACKAGES.contains(&p.as_str()));
    if root && agreed {
        return Some(DependencyPlan::Install {
            packages: missing.to_vec(),
            required,
        });
    }
    let command = install_command(missing, root);
    let or_yes = if root {
        " (or rerun with --yes to let gil-lab run it)"
    } else {
        ""
    };
    Some(if required {
        DependencyPlan::Refuse(format!(
            "CPython's build needs packages that are not installed: run `{command}` and retry{or_yes}"
        ))
    } else {
        DependencyPlan::Note(format!(
            "note: optional build dependencies are missing (ssl, sqlite3, ... will not be built): \
             `{command}` adds them{or_yes}"
        ))
    })
}

/// Makes sure CPython's build dependencies are installed (Debian/Ubuntu):
/// with `--yes`, or when the user agrees on the terminal, gil-lab installs
/// the missing ones (as root); otherwise it prints the command to run and
/// stops when the build cannot work without them. Other systems are not
/// checked: configure reports what is missing.
pub fn ensure_build_dependencies(
    consent: Consent,
    log: &mut Log,
    progress: &Progress,
) -> Result<()> {
    if !command::on_path("dpkg-query") || !command::on_path("apt-get") {
        progress.println(
            "not a Debian-like system: build dependencies are not checked \
             (configure reports what is missing)",
        );
        return Ok(());
    }
    let mut all: Vec<&str> = REQUIRED_PACKAGES.to_vec();
    all.extend(OPTIONAL_PACKAGES);
    let missing = missing_packages(&all)?;
    let root = is_root();
    let agreed = match consent {
        Consent::Given => true,
        Consent::Ask if root && !missing.is_empty() => progress.ask(&format!(
            "CPython's build wants packages that are not installed: {}. Install them now with `{}`?",
            missing.join(" "),
            install_command(&missing, true)
        )),
        Consent::Ask => false,
    };
    match plan_dependencies(&missing, root, agreed) {
        None => Ok(()),
        Some(DependencyPlan::Refuse(message)) => bail!(message),
        Some(DependencyPlan::Note(message)) => {
            progress.println(&message);
            Ok(())
        }
        Some(DependencyPlan::Install { packages, required }) => {
            progress.stage(&format!(
                "installing build dependencies: {}",
                packages.join(" ")
            ));
            let mut command = Command::new("apt-get");
            command
                .args(["install", "-y", "--no-install-recommends"])
                .args(LOCK_WAIT)
                .args(&packages)
                .env("DEBIAN_FRONTEND", "noninteractive");
            if run_logged(command, log, |_| {})?.success() {
                return Ok(());
            }
            let install = install_command(&packages, true);
            if required {
                bail!(
                    "cannot install the build dependencies (`{install}` failed): {}",
                    log.tail(5)
                );
            }
            progress.println(&format!(
                "warning: `{install}` failed; building without those optional modules"
            ));
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_dependencies_are_installed_only_as_root_with_consent() {
        let owned = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
        assert_eq!(plan_dependencies(&[], true, true), None);
        assert_eq!(
            plan_dependencies(&owned(&["libffi-dev", "libssl-dev"]), true, true),
            Some(DependencyPlan::Install {
                packages: owned(&["libffi-dev", "libssl-dev"]),
                required: true
            })
        );
        // Root without consent: the command, and how to consent.
        let Some(DependencyPlan::Refuse(message)) =
            plan_dependencies(&owned(&["gcc", "uuid-dev"]), true, false)
        else {
            panic!("a missing compiler must stop the build");
        };
        assert!(
            message.contains(
                "run `apt-get install -y --no-install-recommends gcc uuid-dev` and retry \
             (or rerun with --yes to let gil-lab run it)"
            ),
            "{message}"
        );
        // Not root: consent changes nothing, the command has sudo.
        for agreed in [false, true] {
            let Some(DependencyPlan::Refuse(message)) =
                plan_dependencies(&owned(&["gcc", "uuid-dev"]), false, agreed)
            else {
                panic!("a missing compiler must stop the build");
            };
            assert!(message.contains(
                "run `sudo apt-get install -y --no-install-recommends gcc uuid-dev` and retry"
            ));
        }
        let Some(DependencyPlan::Note(message)) =
            plan_dependencies(&owned(&["uuid-dev"]), false, false)
        else {
            panic!("an optional package only earns a note");
        };
        assert!(message.contains("sudo apt-get install -y --no-install-recommends uuid-dev"));
    }

    #[test]
    fn fetch_failures_are_summarised() {
        assert_eq!(
            fetch_failure(
                "E: Failed to fetch http://deb.debian.org/debian/pool/main/p/python3.14/python3.14_3.14.10-1.dsc 404 Not Found [IP: 203.0.113.80 80]"
            ),
            "python3.14_3.14.10-1.dsc: 404 Not Found"
        );
        assert_eq!(fetch_failure("E: other"), "E: other");
    }

    #[test]
    fn debian_versions_sort_and_split() {
        let mut versions = vec!["3.13.15-1", "3.13.18-1", "3.13.5-2+deb13u5", "3.13.15-10"];
        versions.sort_by_key(|v| std::cmp::Reverse(debian_version_key(v)));
        assert_eq!(
            versions,
            ["3.13.18-1", "3.13.15-10", "3.13.15-1", "3.13.5-2+deb13u5"]
        );
        assert_eq!(upstream_version("3.13.5-2+deb13u5"), "3.13.5");
        assert_eq!(upstream_version("1:3.14.0~rc1-1"), "3.14.0~rc1");
    }

    #[test]
    fn parses_print_uris_output() {
        let output = "Need to get 24.5 MB of source archives.\n\
'http://deb.debian.org/debian/pool/main/p/python3.13/python3.13_3.13.5-2+deb13u5.dsc' python3.13_3.13.5-2+deb13u5.dsc 3494 SHA256:f4\n\
'http://deb.debian.org/debian/pool/main/p/python3.13/python3.13_3.13.5.orig.tar.xz' python3.13_3.13.5.orig.tar.xz 22856016 SHA256:93\n";
        let files = parse_print_uris(output);
        assert_eq!(files.len(), 2);
        assert_eq!(files[1].name, "python3.13_3.13.5.orig.tar.xz");
    }
}
