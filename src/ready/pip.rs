//! pip, the resolver and installer `gil-lab ready` drives: one tool
//! environment per interpreter (a venv with pip, under gil-lab's home),
//! `install --dry-run --report` to resolve, `install --no-deps` into a
//! checked environment, `index versions` to find newer releases. Built
//! wheels are cached in one pip cache under the home (`ready/pip-cache`),
//! shared by every interpreter, run and test.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde::Deserialize;

use crate::interpreters::child::{self, Finished};

/// How long resolving one file may take (the registry answering slowly, a
/// source distribution's metadata being prepared).
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(10 * 60);
/// How long making a virtual environment may take.
const VENV_TIMEOUT: Duration = Duration::from_secs(5 * 60);
/// How long `pip index versions` may take.
const INDEX_TIMEOUT: Duration = Duration::from_secs(120);

/// gil-lab ready's directory in the home.
pub fn home() -> Result<PathBuf> {
    crate::paths::home_subdir("ready")
}

/// A pip command run by `python` (a tool environment's), with the shared
/// cache and no questions asked.
pub fn command(python: &Path) -> Result<Command> {
    let mut command = Command::new(python);
    command
        .args(["-m", "pip"])
        .env("PIP_CACHE_DIR", home()?.join("pip-cache"))
        .env("PIP_DISABLE_PIP_VERSION_CHECK", "1")
        .env("PIP_NO_INPUT", "1")
        .env("PIP_PROGRESS_BAR", "off")
        .env("PYTHONDONTWRITEBYTECODE", "1");
    // A registry that does not answer is reported after one retry, not five.
    for (key, value) in [("PIP_RETRIES", "1"), ("PIP_TIMEOUT", "20")] {
        if std::env::var_os(key).is_none() {
            command.env(key, value);
        }
    }
    Ok(command)
}

/// A virtual environment of `python` at `dir` (with pip when `with_pip`),
/// made once: a marker says it is complete.
pub fn venv(python: &Path, flags: &[String], dir: &Path, with_pip: bool) -> Result<PathBuf> {
    let marker = dir.join("gil-lab-ready");
    let venv_python = dir.join("bin").join("python");
    if marker.is_file() && venv_python.exists() {
        return Ok(venv_python);
    }
    let _ = std::fs::remove_dir_all(dir);
    let mut make = Command::new(python);
    make.args(flags).args(["-m", "venv"]);
    if !with_pip {
        make.arg("--without-pip");
    }
    make.arg(dir);
    match child::run(make, VENV_TIMEOUT)
        .with_context(|| format!("cannot start {}", python.display()))?
    {
        Finished::Exited(status, _) if status.success() => {}
        Finished::Exited(status, output) => bail!(
            "cannot make a virtual environment with {} ({}: {}): install its venv/ensurepip modules or give another with --python",
            python.display(),
            child::describe_status(status),
            output.summary()
        ),
        Finished::TimedOut(_) => bail!(
            "making a virtual environment with {} did not finish within {} s",
            python.display(),
            VENV_TIMEOUT.as_secs()
        ),
    }
    std::fs::write(&marker, b"")?;
    Ok(venv_python)
}

/// pip's `--report`: what it would install.
#[derive(Debug, Deserialize)]
pub struct Report {
    /// The distributions, in pip's order.
    pub install: Vec<ReportItem>,
}

/// One distribution of a report.
#[derive(Debug, Deserialize)]
pub struct ReportItem {
    /// Its core metadata (name, version).
    pub metadata: ReportMetadata,
    /// Where it comes from.
    pub download_info: DownloadInfo,
    /// Whether the requirements named it.
    #[serde(default)]
    pub requested: bool,
}

/// The metadata fields gil-lab reads.
#[derive(Debug, Deserialize)]
pub struct ReportMetadata {
    /// The distribution's name.
    pub name: String,
    /// Its version.
    pub version: String,
}

/// The download's URL.
#[derive(Debug, Deserialize)]
pub struct DownloadInfo {
    /// A wheel's or a source distribution's URL.
    pub url: String,
}

impl ReportItem {
    /// The file's name (the URL's last segment).
    pub fn file(&self) -> String {
        let url = self
            .download_info
            .url
            .split(['#', '?'])
            .next()
            .unwrap_or("");
        url.rsplit('/').next().unwrap_or(url).to_owned()
    }
}

/// Resolving for an interpreter that is not installed: pip's
/// `--platform/--python-version/--implementation/--abi` with wheels only.
#[derive(Clone, Debug, PartialEq)]
pub struct RegistryTarget {
    /// `(3, 14)`.
    pub version: (u32, u32),
    /// A free-threaded build (`3.14t`).
    pub free_threaded: bool,
}

impl RegistryTarget {
    /// The wheel ABI tags its extension modules need: `cp314t`; `abi3t`
    /// too from 3.15 (PEP 803); `abi3` on a default build.
    pub fn abis(&self) -> Vec<String> {
        let (major, minor) = self.version;
        if self.free_threaded {
            let mut abis = vec![format!("cp{major}{minor}t")];
            if (major, minor) >= (3, 15) {
                abis.push("abi3t".into());
            }
            abis
        } else {
            vec![format!("cp{major}{minor}"), "abi3".into()]
        }
    }

    /// pip's options for it: wheels only, this machine's platforms.
    fn options(&self) -> Vec<String> {
        let (major, minor) = self.version;
        let mut options = vec![
            "--only-binary=:all:".to_owned(),
            "--python-version".into(),
            format!("{major}.{minor}"),
            "--implementation".into(),
            "cp".into(),
        ];
        for abi in self.abis() {
            options.push("--abi".into());
            options.push(abi);
        }
        for platform in platforms() {
            options.push("--platform".into());
            options.push(platform);
        }
        options
    }
}

/// This machine's wheel platforms, newest first: `manylinux_2_N_ARCH` down to
/// 2.17 (glibc's version), their legacy aliases, and `linux_ARCH`.
fn platforms() -> Vec<String> {
    let arch = std::env::consts::ARCH;
    let glibc_minor = glibc_minor().unwrap_or(17);
    let mut platforms: Vec<String> = (5..=glibc_minor.max(17))
        .rev()
        .map(|minor| format!("manylinux_2_{minor}_{arch}"))
        .collect();
    platforms.extend(
        ["manylinux2014", "manylinux2010", "manylinux1"]
            .iter()
            .map(|alias| format!("{alias}_{arch}")),
    );
    platforms.push(format!("linux_{arch}"));
    platforms
}

/// The running glibc's minor version (`2.36` → 36).
fn glibc_minor() -> Option<u32> {
    // SAFETY: gnu_get_libc_version returns a pointer to a static string.
    let version = unsafe { std::ffi::CStr::from_ptr(libc::gnu_get_libc_version()) };
    version.to_str().ok()?.split('.').nth(1)?.parse().ok()
}

/// How a resolution ended.
pub enum Resolved {
    /// pip's report.
    Report(Report),
    /// pip could not resolve it: its reason in one line.
    Failed(String),
}

/// Resolves `requirements` (lines of a requirements file, pip's options
/// first) with the tool environment's pip, for its own interpreter or for
/// `target`; `work` is a scratch directory.
pub fn resolve(
    tool_python: &Path,
    lines: &[String],
    target: Option<&RegistryTarget>,
    work: &Path,
) -> Result<Resolved> {
    std::fs::create_dir_all(work)?;
    let file = work.join("requirements.txt");
    std::fs::write(&file, lines.join("\n") + "\n")?;
    let report_file = work.join("report.json");
    let _ = std::fs::remove_file(&report_file);
    let mut pip = command(tool_python)?;
    pip.args([
        "install",
        "--dry-run",
        "--ignore-installed",
        "--quiet",
        "--report",
    ])
    .arg(&report_file)
    .arg("-r")
    .arg(&file);
    if let Some(target) = target {
        pip.args(target.options());
    }
    match child::run(pip, RESOLVE_TIMEOUT).context("cannot start pip")? {
        Finished::TimedOut(_) => Ok(Resolved::Failed(format!(
            "resolving did not finish within {} s",
            RESOLVE_TIMEOUT.as_secs()
        ))),
        Finished::Exited(status, output) if !status.success() => Ok(Resolved::Failed(
            reason(&output.stderr)
                .unwrap_or_else(|| format!("pip exited with {}", child::describe_status(status))),
        )),
        Finished::Exited(..) => {
            let text = std::fs::read_to_string(&report_file)
                .with_context(|| format!("pip wrote no report {}", report_file.display()))?;
            let report: Report =
                serde_json::from_str(&text).context("cannot read pip's --report")?;
            Ok(Resolved::Report(report))
        }
    }
}

/// How an install ended.
pub enum Installed {
    /// It installed.
    Yes,
    /// It did not: the last line of its log.
    No(String),
    /// It did not finish in time (a hanging build).
    TimedOut,
}

/// Installs `spec` (`name==version`) into the environment of `env_python`
/// (`--no-deps` when `no_deps`), its whole output written to `log`, what
/// it installed to `report` when given.
pub struct InstallStep<'a> {
    /// The tool environment's Python (pip).
    pub tool_python: &'a Path,
    /// The environment installed into.
    pub env_python: &'a Path,
    /// `name==version`.
    pub spec: &'a str,
    /// Without its dependencies (they are installed on their own).
    pub no_deps: bool,
    /// The time limit (a hanging build is stopped).
    pub timeout: Duration,
    /// Where pip's whole output is kept.
    pub log: &'a Path,
    /// Where pip's `--report` goes, when wanted.
    pub report: Option<&'a Path>,
}

/// Runs an [`InstallStep`].
pub fn install(step: &InstallStep) -> Result<Installed> {
    let InstallStep {
        tool_python,
        env_python,
        spec,
        no_deps,
        timeout,
        log,
        report,
    } = *step;
    let mut pip = command(tool_python)?;
    pip.arg("--python")
        .arg(env_python)
        .args(["install", "--no-input"]);
    if no_deps {
        pip.arg("--no-deps");
    }
    if let Some(report) = report {
        pip.arg("--report").arg(report);
    }
    pip.arg(spec);
    let finished = child::run(pip, timeout).context("cannot start pip")?;
    let (status, output) = match finished {
        Finished::TimedOut(output) => (None, output),
        Finished::Exited(status, output) => (Some(status), output),
    };
    if let Some(dir) = log.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(log, format!("{}\n{}", output.stdout, output.stderr))
        .with_context(|| format!("cannot write {}", log.display()))?;
    Ok(match status {
        None => Installed::TimedOut,
        Some(status) if status.success() => Installed::Yes,
        Some(_) => Installed::No(last_line(&output.stderr).unwrap_or_else(|| {
            last_line(&output.stdout).unwrap_or_else(|| "pip printed nothing".into())
        })),
    })
}

/// The releases of `name` pip can install for the tool environment's
/// interpreter, oldest first (`None`: the registry does not know it or
/// does not answer).
pub fn versions(
    tool_python: &Path,
    name: &str,
) -> Result<std::result::Result<Vec<String>, String>> {
    let mut pip = command(tool_python)?;
    pip.args(["index", "versions", name]);
    match child::run(pip, INDEX_TIMEOUT).context("cannot start pip")? {
        Finished::TimedOut(_) => Ok(Err("the registry did not answer in time".into())),
        Finished::Exited(status, output) if !status.success() => Ok(Err(reason(&output.stderr)
            .unwrap_or_else(|| format!("pip exited with {}", child::describe_status(status))))),
        Finished::Exited(_, output) => {
            let listed = output
                .stdout
                .lines()
                .find_map(|l| l.trim().strip_prefix("Available versions:"))
                .map(|list| {
                    list.split(',')
                        .map(|v| v.trim().to_owned())
                        .filter(|v| !v.is_empty())
                        .rev()
                        .collect()
                })
                .unwrap_or_default();
            Ok(Ok(listed))
        }
    }
}

/// pip's reason: its first `ERROR:` line, else its last line.
pub fn reason(stderr: &str) -> Option<String> {
    reason_marked(stderr, &["ERROR:", "error:"])
}

/// An installer's reason: the first non-blank line of `stderr` that starts
/// with one of `markers`, else its last non-blank line (trimmed). Shared with
/// `task`, whose installer may be uv (which marks errors with `×` too).
pub fn reason_marked(stderr: &str, markers: &[&str]) -> Option<String> {
    let lines: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    lines
        .iter()
        .find(|l| markers.iter().any(|m| l.starts_with(m)))
        .or(lines.last())
        .map(|l| l.to_string())
}

/// The last non-empty line (pip's notes on upgrading it left out).
fn last_line(text: &str) -> Option<String> {
    text.lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty() && !l.starts_with("[notice]") && !l.starts_with("hint:"))
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_files_and_reasons() {
        let report: Report = serde_json::from_str(
            r#"{"install": [{"metadata": {"name": "MarkupSafe", "version": "3.0.3"},
                "download_info": {"url": "https://files.example/m/markupsafe-3.0.3-cp313-cp313t-manylinux_2_17_x86_64.whl#sha256=ab"},
                "requested": true}]}"#,
        )
        .unwrap();
        assert_eq!(
            report.install[0].file(),
            "markupsafe-3.0.3-cp313-cp313t-manylinux_2_17_x86_64.whl"
        );
        let stderr = "ERROR: Could not find a version that satisfies the requirement nope\nERROR: No matching distribution found for nope\n";
        assert_eq!(
            reason(stderr).unwrap(),
            "ERROR: Could not find a version that satisfies the requirement nope"
        );
        assert_eq!(last_line("a\n  b  \n\n[notice] new pip\n").unwrap(), "b");
    }

    #[test]
    fn registry_targets_ask_for_their_abis() {
        let t = RegistryTarget {
            version: (3, 14),
            free_threaded: true,
        };
        assert_eq!(t.abis(), ["cp314t"]);
        let t = RegistryTarget {
            version: (3, 15),
            free_threaded: true,
        };
        assert_eq!(t.abis(), ["cp315t", "abi3t"]);
        let options = t.options();
        assert!(options.contains(&"--only-binary=:all:".to_owned()));
        assert!(options.iter().any(|o| o.starts_with("manylinux_2_17_")));
    }
}
