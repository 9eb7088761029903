//! Probing an interpreter: run the probe script (`probe.py`, beside this
//! file, embedded with `include_str!`) in it with `-I -B -c`, with a timeout, and read the one JSON object it
//! prints into [`Facts`].

use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::time::Duration;

use anyhow::Context;
use sha2::{Digest, Sha256};

use super::child::{self, ChildOutput, Finished};
use super::facts::{Facts, ProbeOutput};
use super::probe_cache::{CacheKey, ProbeCache};

/// Environment variable: seconds to wait for an interpreter to answer the
/// probe before it is killed (default [`DEFAULT_TIMEOUT`]).
pub const TIMEOUT_ENV: &str = "GIL_LAB_PROBE_TIMEOUT";

/// How long an interpreter may take to answer: generous, because a first
/// start after a build or on a busy machine compiles and loads a lot (10 s
/// was too short: a fresh build probed while both cores were busy took
/// longer). It only has to catch an interpreter that hangs.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// The probe script, run with `-c` and hashed so that a changed probe
/// invalidates the cache.
const PROBE_SCRIPT: &str = include_str!("probe.py");

/// The error kind of interpreters older than gil-lab supports
/// ([`super::supported`]): the probe reports their facts, gil-lab decides.
pub const UNSUPPORTED_VERSION: &str = "unsupported_version";

/// Why an interpreter could not be probed. Every variant names the
/// executable; those where the child ran carry what it printed.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// The executable could not be started at all.
    #[error("cannot start {}: {source}", path.display())]
    Start {
        /// The executable.
        path: PathBuf,
        /// Why the operating system refused.
        source: std::io::Error,
    },
    /// The child exited with a failure status without answering.
    #[error(
        "{} is not a working Python interpreter: the probe exited with {} ({})",
        path.display(), child::describe_status(*status), output.summary()
    )]
    Exited {
        /// The executable.
        path: PathBuf,
        /// How it ended.
        status: ExitStatus,
        /// What it printed.
        output: ChildOutput,
    },
    /// The child printed something that is not the probe's JSON object.
    #[error(
        "{} is not a working Python interpreter: the probe's answer is not the expected JSON ({reason}; {})",
        path.display(), output.summary()
    )]
    BadJson {
        /// The executable.
        path: PathBuf,
        /// What is wrong with the answer.
        reason: String,
        /// What it printed.
        output: ChildOutput,
    },
    /// The child did not answer within the timeout and was killed.
    #[error(
        "{} did not answer the probe within {} s and was stopped ({}); if it is only slow, raise {TIMEOUT_ENV}",
        path.display(), timeout.as_secs_f64(), output.summary()
    )]
    TimedOut {
        /// The executable.
        path: PathBuf,
        /// The timeout that expired.
        timeout: Duration,
        /// What it printed before it was killed.
        output: ChildOutput,
    },
    /// The probe ran and reported an error (`probe_failed`), or reported an
    /// interpreter gil-lab does not support (`unsupported_version`).
    #[error("{}: {message}", path.display())]
    Reported {
        /// The executable.
        path: PathBuf,
        /// The probe's error kind, e.g. [`UNSUPPORTED_VERSION`].
        kind: String,
        /// The probe's explanation.
        message: String,
    },
    /// gil-lab itself could not prepare the probe (home, timeout setting).
    #[error("{0:#}")]
    Setup(anyhow::Error),
}

impl ProbeError {
    /// Whether the interpreter runs but is too old (or too new) for gil-lab.
    pub fn is_unsupported_version(&self) -> bool {
        matches!(self, Self::Reported { kind, .. } if kind == UNSUPPORTED_VERSION)
    }
}

/// The probe timeout: `GIL_LAB_PROBE_TIMEOUT` seconds, else [`DEFAULT_TIMEOUT`].
pub fn timeout() -> anyhow::Result<Duration> {
    match std::env::var(TIMEOUT_ENV) {
        Err(std::env::VarError::NotPresent) => Ok(DEFAULT_TIMEOUT),
        Ok(text) if text.trim().is_empty() => Ok(DEFAULT_TIMEOUT),
        Ok(text) => text
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|seconds| seconds.is_finite() && *seconds > 0.0)
            .map(Duration::from_secs_f64)
            .with_context(|| {
                format!("{TIMEOUT_ENV}={text} is not a number of seconds: set it to e.g. 10")
            }),
        Err(error) => {
            Err(error).with_context(|| format!("{TIMEOUT_ENV} is not valid: set it to e.g. 10"))
        }
    }
}

/// Hash of the embedded probe script (first 16 hex digits of its SHA-256).
fn probe_hash() -> String {
    let digest = Sha256::digest(PROBE_SCRIPT.as_bytes());
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// Probes `executable` started with `interpreter_flags` (e.g. `-X gil=1`),
/// using the probe cache of gil-lab's home: a cached answer is reused while
/// the executable's file is unchanged.
pub fn probe(executable: &Path, interpreter_flags: &[String]) -> Result<Facts, ProbeError> {
    let cache = ProbeCache::open().map_err(ProbeError::Setup)?;
    probe_with_cache(executable, interpreter_flags, &cache)
}

/// [`probe`] with an explicit cache.
pub fn probe_with_cache(
    executable: &Path,
    interpreter_flags: &[String],
    cache: &ProbeCache,
) -> Result<Facts, ProbeError> {
    let key = CacheKey::for_executable(executable, interpreter_flags, &probe_hash());
    let output = match key.as_ref().and_then(|key| cache.get(key)) {
        Some(output) => output,
        None => {
            let output = run_probe(executable, interpreter_flags)?;
            if let Some(key) = &key {
                // A cache that cannot be written only costs time later.
                let _ = cache.put(key, &output);
            }
            output
        }
    };
    into_facts(executable, output)
}

/// The facts of a supported interpreter; the probe's own error, or
/// [`UNSUPPORTED_VERSION`] for a version older than gil-lab supports.
fn into_facts(executable: &Path, output: ProbeOutput) -> Result<Facts, ProbeError> {
    match output {
        ProbeOutput::Success(facts) if !facts.runs_workload() => Err(ProbeError::Reported {
            path: executable.to_owned(),
            kind: UNSUPPORTED_VERSION.to_owned(),
            message: super::supported::too_old(&facts.implementation, &facts.version),
        }),
        ProbeOutput::Success(facts) => Ok(*facts),
        ProbeOutput::Error(error) => Err(ProbeError::Reported {
            path: executable.to_owned(),
            kind: error.kind,
            message: error.message,
        }),
    }
}

/// Runs the probe script and parses its answer. Results the probe reports
/// itself (success or a typed error) are returned as [`ProbeOutput`]: both
/// depend only on the executable, so both may be cached.
fn run_probe(executable: &Path, interpreter_flags: &[String]) -> Result<ProbeOutput, ProbeError> {
    let timeout = timeout().map_err(ProbeError::Setup)?;
    let command = crate::embedded::isolated_command(executable, interpreter_flags, PROBE_SCRIPT);
    let path = executable.to_owned();
    let (status, output) = match child::run(command, timeout) {
        Err(source) => return Err(ProbeError::Start { path, source }),
        Ok(Finished::TimedOut(output)) => {
            return Err(ProbeError::TimedOut {
                path,
                timeout,
                output,
            });
        }
        Ok(Finished::Exited(status, output)) => (status, output),
    };
    if let Some(parsed) = parse_answer(&output.stdout) {
        return Ok(parsed);
    }
    if !status.success() {
        if output.stderr.contains("Unknown option: -I") {
            // Python 2 (and 3 before 3.4) has no isolated mode and refuses
            // to run the probe at all: ask it for its version the old way.
            if let Some(version) = ancient_python_version(executable, timeout) {
                return Ok(ProbeOutput::Error(super::facts::ReportedError {
                    kind: UNSUPPORTED_VERSION.to_owned(),
                    // Its implementation is unknown: name CPython's minimum.
                    message: super::supported::too_old("cpython", &version),
                }));
            }
        }
        return Err(ProbeError::Exited {
            path,
            status,
            output,
        });
    }
    let reason = match serde_json::from_str::<serde_json::Value>(last_line(&output.stdout)) {
        Ok(_) => "fields are missing or of the wrong type".to_owned(),
        Err(error) => error.to_string(),
    };
    Err(ProbeError::BadJson {
        path,
        reason,
        output,
    })
}

/// The probe's answer: the whole of stdout, or else its last line (a
/// `sitecustomize` may print something before the probe runs).
fn parse_answer(stdout: &str) -> Option<ProbeOutput> {
    serde_json::from_str(stdout)
        .ok()
        .or_else(|| serde_json::from_str(last_line(stdout)).ok())
}

fn last_line(text: &str) -> &str {
    text.lines()
        .rev()
        .find(|line| !line.trim().is_empty())
        .unwrap_or("")
}

/// The `X.Y.Z` version of a Python too old for `-I`, if it is a Python.
fn ancient_python_version(executable: &Path, timeout: Duration) -> Option<String> {
    let mut command = Command::new(executable);
    // -E -s: ignore PYTHON* variables and the user site, like -I would.
    command.args([
        "-E",
        "-s",
        "-c",
        "import sys; sys.stdout.write('%d.%d.%d' % tuple(sys.version_info[:3]))",
    ]);
    match child::run(command, timeout).ok()? {
        Finished::Exited(status, output) if status.success() => {
            let version = output.stdout.trim();
            let well_formed = !version.is_empty()
                && version.split('.').count() == 3
                && version.split('.').all(|part| part.parse::<u32>().is_ok());
            well_formed.then(|| version.to_owned())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interpreters::facts::tests::{FREE_THREADED, free_threaded_facts};

    #[test]
    fn answer_is_found_after_noise() {
        let noisy = format!(
            "hello from sitecustomize\n{}\n",
            FREE_THREADED.replace('\n', " ")
        );
        assert!(matches!(
            parse_answer(&noisy),
            Some(ProbeOutput::Success(_))
        ));
        assert!(parse_answer("not json").is_none());
    }

    #[test]
    fn versions_older_than_supported_are_rejected_with_the_minimum() {
        let path = Path::new("/opt/py/bin/python3");
        let with = |implementation: &str, version_info: [u32; 3]| {
            let mut facts = free_threaded_facts();
            facts.implementation = implementation.to_owned();
            facts.version_info = version_info;
            facts.version = format!(
                "{}.{}.{}",
                version_info[0], version_info[1], version_info[2]
            );
            into_facts(path, ProbeOutput::Success(Box::new(facts)))
        };
        let error = with("cpython", [3, 9, 18]).unwrap_err();
        assert!(error.is_unsupported_version(), "{error:?}");
        assert_eq!(
            error.to_string(),
            "/opt/py/bin/python3: Python 3.9.18 is too old: gil-lab needs Python 3.10 or newer"
        );
        assert!(with("cpython", [3, 10, 0]).is_ok());
        assert!(with("pypy", [3, 9, 16]).is_ok());
        let error = with("pypy", [3, 8, 16]).unwrap_err();
        assert!(
            error.to_string().contains("needs Python 3.9 or newer"),
            "{error}"
        );
    }

    #[test]
    fn probe_hash_is_stable_and_short() {
        assert_eq!(probe_hash(), probe_hash());
        assert_eq!(probe_hash().len(), 16);
    }

    #[test]
    fn missing_executable_cannot_start() {
        let error = run_probe(Path::new("/nonexistent/python3"), &[]).unwrap_err();
        assert!(matches!(error, ProbeError::Start { .. }), "{error:?}");
        assert!(error.to_string().contains("/nonexistent/python3"));
    }

    #[test]
    fn not_python_is_an_error_with_its_output() {
        // `sh -I` is an illegal option: sh exits non-zero and says so.
        let error = run_probe(Path::new("/bin/sh"), &[]).unwrap_err();
        let text = error.to_string();
        assert!(
            matches!(
                error,
                ProbeError::Exited { .. } | ProbeError::BadJson { .. }
            ),
            "{error:?}"
        );
        assert!(
            text.contains("is not a working Python interpreter"),
            "{text}"
        );
    }
}
