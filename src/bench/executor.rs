//! The seam between the run loop and the processes it runs: a
//! [`TrialExecutor`] runs one trial of a planned cell and tells how much time
//! the run has spent. [`ProcessExecutor`] is the real one (a child process
//! through [`trial::run_trial`]); the run loop's unit tests use a fake that
//! returns scripted outcomes instead.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use anyhow::Result;

use crate::bench::trial::{self, TrialCommand, TrialOptions, TrialOutcome};
use crate::kernel_limit::Enforcer;
use crate::llm::bench::LlmSettings;
use crate::run::record::PlannedCell;

#[cfg(test)]
pub mod fake;

/// Runs trials for the run loop.
pub trait TrialExecutor {
    /// Runs one trial of `planned`, stopped after `timeout` or once `cancel`
    /// is set. An error means the trial could not be run at all (the program
    /// could not start); everything about how it ended is in the outcome.
    fn execute(
        &mut self,
        planned: &PlannedCell,
        timeout: Duration,
        cancel: &AtomicBool,
    ) -> Result<TrialOutcome>;

    /// Time spent since this executor was made, which the run loop holds
    /// against the time budget. The executor is what spends the run's time,
    /// so it is also the run's clock.
    fn elapsed(&self) -> Duration;
}

/// The real executor: every trial is a child process, measured from outside.
pub struct ProcessExecutor {
    /// The run's LLM settings: a real server's API key goes into the
    /// environment of the trials that call it.
    llm: Option<LlmSettings>,
    /// `--memory-limit`: how the kernel holds each trial to it.
    memory_limit: Option<Enforcer>,
    started: Instant,
}

impl ProcessExecutor {
    /// An executor for a run with these LLM settings; its clock starts now.
    pub fn new(llm: Option<LlmSettings>) -> ProcessExecutor {
        ProcessExecutor {
            llm,
            memory_limit: None,
            started: Instant::now(),
        }
    }

    /// Holds every trial to the run's memory limit, the way `enforcer` does.
    pub fn with_memory_limit(mut self, enforcer: Option<Enforcer>) -> ProcessExecutor {
        self.memory_limit = enforcer;
        self
    }
}

impl TrialExecutor for ProcessExecutor {
    fn execute(
        &mut self,
        planned: &PlannedCell,
        timeout: Duration,
        cancel: &AtomicBool,
    ) -> Result<TrialOutcome> {
        let mut command = trial_command(planned);
        // A real LLM server's API key: into this trial's environment only.
        command.env.extend(crate::llm::bench::secret_env(
            &self.llm,
            &planned.cell.scenario,
        ));
        // An existing Ray cluster's token: into this trial's environment only.
        if planned.spec.ray_address.is_some() {
            command.env.extend(ray_auth_env());
        }
        let limit = self
            .memory_limit
            .as_ref()
            .map(Enforcer::prepare)
            .transpose()?;
        trial::run_trial_limited(&command, &TrialOptions::new(timeout), cancel, limit)
    }

    fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }
}

/// The environment every trial gets: a whitelist of the user's variables, so
/// that no `PYTHON*` setting (or anything else) changes what is measured.
pub fn trial_environment() -> BTreeMap<String, String> {
    const KEEP: &[&str] = &[
        "PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TMPDIR", "TZ",
    ];
    std::env::vars()
        .filter(|(name, _)| KEEP.contains(&name.as_str()) || name.starts_with("LC_"))
        .collect()
}

/// Ray's token authentication settings from gil-lab's environment
/// (`RAY_AUTH_MODE`, `RAY_AUTH_TOKEN`, `RAY_AUTH_TOKEN_PATH`), for trials on
/// an existing cluster; never written to the run (the token is a secret).
fn ray_auth_env() -> Vec<(OsString, OsString)> {
    const NAMES: [&str; 3] = ["RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH"];
    NAMES
        .iter()
        .filter_map(|name| std::env::var_os(name).map(|value| (OsString::from(name), value)))
        .collect()
}

/// The command of one trial, from its planned cell.
fn trial_command(planned: &PlannedCell) -> TrialCommand {
    let mut words = planned.command.iter();
    TrialCommand {
        program: PathBuf::from(words.next().cloned().unwrap_or_default()),
        args: words.map(OsString::from).collect(),
        env: planned
            .env
            .iter()
            .map(|(k, v)| (OsString::from(k), OsString::from(v)))
            .collect(),
        cwd: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_environment_is_a_whitelist() {
        let env = trial_environment();
        assert!(env.keys().all(|k| !k.starts_with("PYTHON")));
        assert!(env.contains_key("PATH"));
    }

    #[test]
    fn the_command_is_the_planned_words_with_the_planned_environment() {
        let cell = crate::run::fixtures::cell("py", "threads", 2);
        let planned = PlannedCell {
            command: vec!["/usr/bin/python3".into(), "-I".into(), "{}".into()],
            env: BTreeMap::from([("PATH".to_string(), "/usr/bin".to_string())]),
            ..crate::run::fixtures::run_file(&[cell]).plan.remove(0)
        };
        let command = trial_command(&planned);
        assert_eq!(command.program, PathBuf::from("/usr/bin/python3"));
        assert_eq!(command.args, vec![OsString::from("-I"), "{}".into()]);
        assert_eq!(command.env, vec![("PATH".into(), "/usr/bin".into())]);
        assert_eq!(command.cwd, None);
    }
}
