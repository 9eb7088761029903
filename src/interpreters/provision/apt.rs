//! Debian and Ubuntu: CPython's source from the system package manager
//! (`apt-get source pythonX.Y`), the `deb-src` entry that makes a newer
//! suite's source packages reachable, and the build dependencies.
//!
//! Source packages are fetched from the archive the machine already trusts
//! (its own URIs and keyring), so the upstream tarball (`.orig.tar.xz`) is
//! checked against the signed `Sources` index by apt itself.

mod sources;

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use self::sources::{OsRelease, covering_entry, deb_src_stanza, read_source_lists};
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

/// The files of `package`'s source package, if apt knows it.
fn source_files(package: &str) -> Result<Option<Vec<SourceFile>>> {
    let output = Command::new("apt-get")
        .args(["source", "--print-uris", package])
        .output()
        .context("cannot run apt-get")?;
    if !output.status.success() {
        return Ok(None);
    }
    let files = parse_print_uris(&String::from_utf8_lossy(&output.stdout));
    Ok((!files.is_empty()).then_some(files))
}

/// `apt-get update` of one source list file only: fast, and a broken
/// entry elsewhere on the machine does not get in the way.
fn update_one_list(file: &Path, log: &mut Log) -> Result<bool> {
    let mut update = Command::new("apt-get");
    update
        .arg("update")
        .arg("-o")
        .arg(format!("Dir::Etc::SourceList={}", file.display()))
        .args([
            "-o",
            "Dir::Etc::SourceParts=/nonexistent",
            "-o",
            "APT::Get::List-Cleanup=0",
        ])
        .args(LOCK_WAIT);
    Ok(run_logged(update, log, |_| {})?.success())
}

/// A Debian source package's upstream tarball, downloaded.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// The `.orig.tar.xz` in gil-lab's sources directory.
    pub tarball: PathBuf,
    /// Where it came from, e.g. `Debian source package python3.13 3.13.5-2+deb13u5`.
    pub origin: String,
}

/// Makes `package`'s source reachable, adding a `deb-src` entry for a newer
/// Debian suite when needed (as root). Returns the source package's files
/// and the entry file written by this call, if any.
fn reachable_source(
    package: &str,
    release: &OsRelease,
    log: &mut Log,
    progress: &Progress,
) -> Result<(Vec<SourceFile>, Option<PathBuf>)> {
    if let Some(files) = source_files(package)? {
        return Ok((files, None));
    }
    let suites = release.newer_debian_suites();
    if suites.is_empty() {
        bail!(
            "apt knows no source package {package} and gil-lab only knows Debian's suites \
             (this is {} {}): add a deb-src entry for a release that has {package}, or use --source",
            release.id,
            release.codename
        );
    }
    if !is_root() {
        bail!(
            "apt knows no source package {package}; gil-lab adds a deb-src entry for Debian {} \
             when run as root: rerun as root, or use --source",
            suites.join("/")
        );
    }
    let etc_apt = Path::new(ETC_APT);
    for suite in &suites {
        let entries = read_source_lists(etc_apt);
        let (list, created) = match covering_entry(&entries, suite) {
            Some(entry) => (entry.file.clone(), false),
            None => {
                let Some(stanza) = deb_src_stanza(&entries, &release.codename, suite) else {
                    bail!(
                        "no enabled `deb` entry for {} with component main in {}: \
                         cannot tell which archive to fetch {package}'s source from; use --source",
                        release.codename,
                        etc_apt.display()
                    );
                };
                let file = etc_apt
                    .join("sources.list.d")
                    .join(format!("gil-lab-{suite}-src.sources"));
                std::fs::write(
                    &file,
                    format!("# Added by gil-lab to fetch CPython sources.\n{stanza}"),
                )
                .with_context(|| format!("cannot write {}", file.display()))?;
                progress.println(&format!(
                    "added a deb-src entry for Debian {suite} (same archive and keyring as {}) in {}",
                    release.codename,
                    file.display()
                ));
                (file, true)
            }
        };
        progress.stage(&format!(
            "updating the package index for Debian {suite} (apt-get update)"
        ));
        let updated = update_one_list(&list, log)?;
        if updated && let Some(files) = source_files(package)? {
            return Ok((files, created.then_some(list)));
        }
        if created {
            // Leave no entry behind that does not help: it would only slow
            // down every later `apt-get update`.
            let _ = std::fs::remove_file(&list);
            progress.println(&format!(
                "Debian {suite} has no {package} source reachable from here; removed {}",
                list.display()
            ));
        }
    }
    bail!(
        "no Debian suite reachable from here has the source package {package} (tried {})",
        suites.join(", ")
    )
}

/// Downloads the upstream tarball of `python3.X` with `apt-get source
/// --download-only` into `sources_dir` (kept, so a rebuild or `--source`
/// reuses it).
pub fn fetch_source(
    request: Request,
    sources_dir: &Path,
    log: &mut Log,
    progress: &Progress,
) -> Result<Fetched> {
    if !command::on_path("apt-get") {
        bail!("this system has no apt-get");
    }
    let release = OsRelease::read();
    let package = format!("python{}", request.minor_version());
    progress.stage(&format!(
        "looking for the source package {package} (apt-get source)"
    ));
    let (files, created) = reachable_source(&package, &release, log, progress)?;
    let fetched = download(request, &package, &files, sources_dir, log, progress);
    if fetched.is_err()
        && let Some(list) = created
    {
        // The entry did not get us a tarball: leave the machine as it was.
        let _ = std::fs::remove_file(&list);
        progress.println(&format!("removed {} again", list.display()));
    }
    fetched
}

/// Downloads the upstream tarball among a source package's `files`.
fn download(
    request: Request,
    package: &str,
    files: &[SourceFile],
    sources_dir: &Path,
    log: &mut Log,
    progress: &Progress,
) -> Result<Fetched> {
    let orig = files
        .iter()
        .find(|f| f.name.contains(".orig.tar.") && !f.name.ends_with(".asc"))
        .with_context(|| format!("apt's source package {package} has no upstream .orig tarball"))?;
    let upstream = orig
        .name
        .strip_prefix(&format!("{package}_"))
        .and_then(|rest| rest.split(".orig.tar.").next())
        .unwrap_or_default()
        .to_string();
    if !request.matches(&upstream) {
        bail!("apt's source package {package} is CPython {upstream}, not {request}: use --source");
    }
    let debian_version = files
        .iter()
        .find_map(|f| f.name.strip_suffix(".dsc"))
        .and_then(|dsc| dsc.strip_prefix(&format!("{package}_")))
        .unwrap_or(&upstream)
        .to_string();
    let tarball = sources_dir.join(&orig.name);
    progress.stage(&format!("downloading {}", orig.name));
    let mut download = Command::new("apt-get");
    download
        .args(["source", "--download-only", package])
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
            "`apt-get source --download-only {package}` failed ({status}): {} (log: {})",
            first_error.unwrap_or_else(|| log.tail(3)),
            log.path().display()
        );
    }
    Ok(Fetched {
        tarball,
        origin: format!("Debian source package {package} {debian_version}"),
    })
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

/// What to do about missing build dependencies.
#[derive(Debug, PartialEq, Eq)]
enum DependencyPlan {
    /// Running as root: install them; `required` when the build needs them.
    Install {
        /// The missing packages.
        packages: Vec<String>,
        /// Whether a required one is among them (a failed install is fatal).
        required: bool,
    },
    /// Not root and the build cannot work without them: the error to show.
    Refuse(String),
    /// Not root and only optional ones are missing: the note to show.
    Note(String),
}

/// Decides what to do about the `missing` packages.
fn plan_dependencies(missing: &[String], root: bool) -> Option<DependencyPlan> {
    if missing.is_empty() {
        return None;
    }
    let required = missing
        .iter()
        .any(|p| REQUIRED_PACKAGES.contains(&p.as_str()));
    let command = format!(
        "sudo apt-get install -y --no-install-recommends {}",
        missing.join(" ")
    );
    Some(if root {
        DependencyPlan::Install {
            packages: missing.to_vec(),
            required,
        }
    } else if required {
        DependencyPlan::Refuse(format!(
            "CPython's build needs packages that are not installed: run `{command}` and retry"
        ))
    } else {
        DependencyPlan::Note(format!(
            "note: optional build dependencies are missing (ssl, sqlite3, ... will not be built): \
             `{command}` adds them"
        ))
    })
}

/// Makes sure CPython's build dependencies are installed (Debian/Ubuntu):
/// installs the missing ones as root, else says which command to run. Other
/// systems are not checked: configure reports what is missing.
pub fn ensure_build_dependencies(log: &mut Log, progress: &Progress) -> Result<()> {
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
    match plan_dependencies(&missing, is_root()) {
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
            let install = format!("apt-get install {}", packages.join(" "));
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
    fn missing_build_dependencies_are_installed_as_root_else_named() {
        let owned = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
        assert_eq!(plan_dependencies(&[], true), None);
        assert_eq!(
            plan_dependencies(&owned(&["libffi-dev", "libssl-dev"]), true),
            Some(DependencyPlan::Install {
                packages: owned(&["libffi-dev", "libssl-dev"]),
                required: true
            })
        );
        let Some(DependencyPlan::Refuse(message)) =
            plan_dependencies(&owned(&["gcc", "uuid-dev"]), false)
        else {
            panic!("a missing compiler must stop the build");
        };
        assert!(message.contains(
            "run `sudo apt-get install -y --no-install-recommends gcc uuid-dev` and retry"
        ));
        let Some(DependencyPlan::Note(message)) = plan_dependencies(&owned(&["uuid-dev"]), false)
        else {
            panic!("an optional package only earns a note");
        };
        assert!(message.contains("sudo apt-get install -y --no-install-recommends uuid-dev"));
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
