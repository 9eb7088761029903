//! The check of a task on each interpreter before any trial: does it load
//! (the import and the function), how many calls make the sequential cell
//! last about a second, which modules does it import and did one of them
//! turn the GIL back on (confirmed with `python check-imports`), and do two
//! sequential runs in fresh processes agree (then the first is the
//! reference every trial compares its calls with, written to
//! `task/<interpreter>.json` in the run directory).
//!
//! Whatever goes wrong is one line in [`TaskCheck::excluded`]: the
//! interpreter is left out of the run, the others go on. Under
//! `--memory-limit` the check's children are held to the limit the way the
//! trials are (`kernel_limit`): the check never runs past a limit a user
//! set to protect the machine. A child the limit stopped is not an error:
//! [`TaskCheck::over_memory_limit`] says so, and the trials (stopped too,
//! or not) show which cells fit.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::Result;
use serde::Deserialize;

use crate::interpreters::child::{self, ChildOutput, Finished};
use crate::kernel_limit::{Enforcer, LimitSeen, TrialLimit};
use crate::protocol::result::{self as runner_result, RunnerOutput};
use crate::protocol::{TaskSpec, TrialSpec};
use crate::run::record::InterpreterRecord;
use crate::run::task::{GilImport, TaskCheck};
use crate::vocabulary::{Approach, Scenario};

use super::target::Target;

/// How long the sequential cell should last when the calls are calibrated.
pub const CALIBRATED_SECONDS: f64 = 1.0;

/// What the probe (`gil_lab.task.probe`) printed.
#[derive(Debug, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
enum Probe {
    Success {
        is_async: bool,
        gil_after_import: Option<bool>,
        modules: Vec<String>,
        gil_enabled_by: Vec<String>,
        #[serde(default)]
        calls: Option<u64>,
        #[serde(default)]
        per_call_s: Option<f64>,
        #[serde(default)]
        error: Option<CallError>,
    },
    Error {
        message: String,
    },
}

#[derive(Debug, Deserialize)]
struct CallError {
    index: u64,
    #[serde(rename = "type")]
    kind: String,
    message: String,
}

/// What the check needs besides the interpreter.
pub struct CheckSettings<'a> {
    /// The task.
    pub target: &'a Target,
    /// `--task-calls`.
    pub calls: Option<u64>,
    /// `--stress` rounds.
    pub rounds: u32,
    /// Per-trial timeout, seconds.
    pub timeout_s: f64,
    /// `--memory-limit`.
    pub memory_limit_mb: Option<u64>,
    /// How the kernel holds the check's children to it (absent without
    /// `--memory-limit`, and when only the cells are remade on `--resume`).
    pub limit: Option<&'a Enforcer>,
    /// The run directory (the references go to `task/` in it).
    pub run_dir: &'a Path,
}

/// A signal's name.
pub fn signal_name(signal: i32) -> String {
    match signal {
        libc::SIGSEGV => "SIGSEGV (a segmentation fault)".into(),
        libc::SIGABRT => "SIGABRT (an abort)".into(),
        libc::SIGBUS => "SIGBUS".into(),
        libc::SIGFPE => "SIGFPE".into(),
        libc::SIGILL => "SIGILL".into(),
        libc::SIGKILL => "SIGKILL (out of memory?)".into(),
        other => format!("signal {other}"),
    }
}

/// How a check's child ended, as the reason to leave the interpreter out
/// (None: it printed an answer to read).
fn ended(finished: &Finished, what: &str, timeout_s: f64) -> Option<String> {
    use std::os::unix::process::ExitStatusExt;
    match finished {
        Finished::TimedOut(_) => Some(format!(
            "{what} did not finish within {timeout_s} s: a call hangs, or needs more than --timeout"
        )),
        Finished::Exited(status, output) => status.signal().map(|signal| {
            format!(
                "the interpreter crashed with {} {what}{}",
                signal_name(signal),
                crash_site(&output.stderr)
                    .map(|site| format!(" (in {site})"))
                    .unwrap_or_default()
            )
        }),
    }
}

/// Runs a check's child to the end or the timeout, held to the memory
/// limit when there is one; also what the limit did.
fn run_limited(
    mut command: Command,
    timeout: Duration,
    limit: Option<&Enforcer>,
) -> Result<(Finished, Option<LimitSeen>)> {
    let limit = limit.map(Enforcer::prepare).transpose()?;
    if let Some(limit) = &limit {
        limit.confine(&mut command);
    }
    let finished = child::run(command, timeout)?;
    Ok((finished, limit.map(TrialLimit::finish)))
}

/// Why the memory limit stopped a check's child `what` (one line with the
/// kernel's peak), or None: the kernel killed a process of its cgroup, or
/// (under an rlimit) an allocation failed with `MemoryError`.
fn stopped(seen: Option<LimitSeen>, finished: &Finished, what: &str) -> Option<String> {
    let seen = seen?;
    let mb = seen.limit_bytes >> 20;
    if seen.oom_kills > 0 {
        let peak = seen
            .peak_bytes
            .map(|p| format!(", its cgroup peaked at {} MiB", p >> 20))
            .unwrap_or_default();
        return Some(format!(
            "stopped by the kernel at --memory-limit {mb} MB {what}: killed for memory{peak}"
        ));
    }
    let output: &ChildOutput = match finished {
        Finished::Exited(_, output) | Finished::TimedOut(output) => output,
    };
    let memory_error = output.stdout.contains("MemoryError")
        || output.stderr.contains("MemoryError")
        || output.stdout.contains("\"memory_limit\"");
    (!seen.enforced_by.whole_tree() && memory_error).then(|| {
        format!(
            "stopped by the kernel at --memory-limit {mb} MB {what}: an allocation failed with MemoryError (a resource limit on each process)"
        )
    })
}

/// A check's child that timed out under a resource limit: on a
/// free-threaded build an allocation past it can hang the process instead
/// of raising `MemoryError` (docs/memory-limit.md), so say so.
fn hang_note(seen: Option<LimitSeen>, finished: &Finished) -> String {
    match (seen, finished) {
        (Some(seen), Finished::TimedOut(_)) if !seen.enforced_by.whole_tree() => format!(
            " (under --memory-limit {} MB as a resource limit on each process, a free-threaded build may hang instead of raising MemoryError)",
            seen.limit_bytes >> 20
        ),
        _ => String::new(),
    }
}

/// Where the crash happened, from faulthandler's traceback on stderr (the
/// most recent frame first): `bad.py, line 20 in crashes`.
fn crash_site(stderr: &str) -> Option<String> {
    // faulthandler lists every thread; the crashing one is "Current thread".
    let current = stderr
        .find("Current thread")
        .map_or(stderr, |at| &stderr[at..]);
    let line = current
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("File \"") && !l.contains("/gil_lab/"))?;
    let rest = line.strip_prefix("File \"")?;
    let (file, place) = rest.split_once('"')?;
    let name = Path::new(file).file_name()?.to_string_lossy();
    Some(format!("{name}{place}"))
}

/// The first part of the check on `interpreter`: import, function, modules,
/// the GIL, and (without `--task-calls`) the calibrated number of calls.
pub fn probe(interpreter: &InterpreterRecord, settings: &CheckSettings) -> Result<TaskCheck> {
    let mut check = TaskCheck {
        interpreter: interpreter.id.clone(),
        label: interpreter.label.clone(),
        ..TaskCheck::default()
    };
    let target = settings.target;
    let request = serde_json::json!({
        "target": target.text,
        "path": target.path,
        "seconds": CALIBRATED_SECONDS,
        "calls": settings.calls,
    });
    let mut command = crate::embedded::module_command(
        &interpreter.path,
        &interpreter.flags,
        "gil_lab.task.probe",
    )?;
    command.arg(request.to_string());
    let timeout = settings.timeout_s.max(CALIBRATED_SECONDS * 4.0);
    let (finished, seen) = run_limited(command, Duration::from_secs_f64(timeout), settings.limit)?;
    let what = "while importing the task and timing its first calls";
    if let Some(reason) = stopped(seen, &finished, what) {
        // Nothing to calibrate with: --task-calls, else the other
        // interpreters' count (the plan takes the fewest), else one call.
        check.over_memory_limit = Some(reason);
        check.calls = settings.calls.unwrap_or(1);
        return Ok(check);
    }
    if let Some(reason) = ended(&finished, what, timeout) {
        check.excluded = Some(reason + &hang_note(seen, &finished));
        return Ok(check);
    }
    let Finished::Exited(status, output) = finished else {
        return Ok(check); // a timeout: `ended` said so above
    };
    let probe = output
        .stdout
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .and_then(|l| serde_json::from_str::<Probe>(l).ok());
    let (calls, per_call_s) = match probe {
        None => {
            check.excluded = Some(format!(
                "checking the task exited with {} ({})",
                child::describe_status(status),
                output.summary()
            ));
            return Ok(check);
        }
        Some(Probe::Error { message }) => {
            check.excluded = Some(format!("{message}: fix the target or --task-path"));
            return Ok(check);
        }
        Some(Probe::Success {
            is_async,
            gil_after_import,
            modules,
            gil_enabled_by,
            calls,
            per_call_s,
            error,
        }) => {
            check.is_async = is_async;
            check.gil_after_import = gil_after_import;
            check.modules = modules;
            if interpreter.is_free_threaded_as_built() && gil_after_import == Some(true) {
                check.gil_enabled_by = confirm(interpreter, target, &gil_enabled_by);
            }
            if let Some(error) = error {
                check.excluded = Some(format!(
                    "call {} raised {}: {} (fix the task; it raises without any concurrency)",
                    error.index, error.kind, error.message
                ));
                return Ok(check);
            }
            (settings.calls.or(calls).unwrap_or(1), per_call_s)
        }
    };
    check.calls = calls;
    check.per_call_s = per_call_s;
    Ok(check)
}

/// `python check-imports` for each module the warnings named (in a fresh
/// process each, so one module's effect never hides another's).
fn confirm(interpreter: &InterpreterRecord, target: &Target, named: &[String]) -> Vec<GilImport> {
    if named.is_empty() {
        return vec![GilImport {
            module: "(unknown)".into(),
            check_imports:
                "the GIL was on after the import, and no module warned that it turned it on".into(),
        }];
    }
    named
        .iter()
        .map(|module| GilImport {
            module: module.clone(),
            check_imports: crate::interpreters::check_imports::check_free_threaded(
                &interpreter.label,
                &interpreter.path,
                &[],
                module,
                &target.path,
            )
            .map_or_else(
                |err| format!("could not be checked: {err:#}"),
                |c| c.outcome_words().to_string(),
            ),
        })
        .collect()
}

/// The spec of a task trial on `interpreter`.
pub fn spec(
    check: &TaskCheck,
    settings: &CheckSettings,
    approach: Approach,
    workers: u32,
    seed: u64,
) -> TrialSpec {
    TrialSpec {
        scenario: Scenario::Task,
        approach,
        workers,
        scale: 1.0,
        seed,
        start_method: None,
        llm: None,
        ray_address: None,
        task: Some(TaskSpec {
            name: settings.target.function.clone(),
            target: settings.target.text.clone(),
            path: settings.target.path.clone(),
            calls: check.calls,
            rounds: settings.rounds,
            reference: check.reference.as_ref().map(|r| settings.run_dir.join(r)),
            memory_limit_mb: settings.memory_limit_mb,
            timeout_s: Some(settings.timeout_s),
            report_calls: false,
        }),
    }
}

/// The command of a task trial (the spec as its last argument).
pub fn command(interpreter: &InterpreterRecord, spec: &TrialSpec) -> Result<Command> {
    let mut command = crate::embedded::module_command(
        &interpreter.path,
        &interpreter.flags,
        "gil_lab.task.runner",
    )?;
    command.arg(spec.to_json());
    Ok(command)
}

/// The second part of the check: two sequential runs of `check.calls`
/// calls in fresh processes, their calls' digests compared; the reference
/// when they agree.
pub fn reference(
    interpreter: &InterpreterRecord,
    settings: &CheckSettings,
    check: &mut TaskCheck,
) -> Result<()> {
    if check.over_memory_limit.is_some() {
        return Ok(()); // the probe was stopped: the runs would be too
    }
    let mut spec = spec(check, settings, Approach::Sequential, 1, 1);
    if let Some(task) = spec.task.as_mut() {
        task.report_calls = true;
    }
    let mut runs: Vec<Vec<String>> = Vec::new();
    for pass in ["first", "second"] {
        let what = format!("during the {pass} sequential run of the check");
        let timeout = settings.timeout_s + 5.0;
        let (finished, seen) = run_limited(
            command(interpreter, &spec)?,
            Duration::from_secs_f64(timeout),
            settings.limit,
        )?;
        if let Some(reason) = stopped(seen, &finished, &what) {
            check.over_memory_limit = Some(reason);
            return Ok(());
        }
        if let Some(reason) = ended(&finished, &what, settings.timeout_s) {
            check.excluded = Some(reason + &hang_note(seen, &finished));
            return Ok(());
        }
        let Finished::Exited(_, output) = finished else {
            return Ok(()); // a timeout: `ended` said so above
        };
        match runner_result::parse(&output.stdout) {
            Ok(RunnerOutput::Success(report)) => {
                runs.push(report.calls.map(|c| c.digests).unwrap_or_default());
            }
            Ok(RunnerOutput::Error { message, .. }) => {
                check.excluded = Some(format!("{message} ({what})"));
                return Ok(());
            }
            Ok(RunnerOutput::Skipped(reason)) => {
                check.excluded = Some(reason);
                return Ok(());
            }
            Err(message) => {
                check.excluded = Some(format!("{message} ({what}; {})", output.summary()));
                return Ok(());
            }
        }
    }
    let deterministic = runs[0] == runs[1];
    check.deterministic = Some(deterministic);
    if deterministic {
        let relative = Path::new("task").join(format!("{}.json", interpreter.id));
        let file = settings.run_dir.join(&relative);
        std::fs::create_dir_all(settings.run_dir.join("task"))?;
        std::fs::write(&file, serde_json::to_vec(&runs[0])?)?;
        check.reference = Some(relative);
    }
    Ok(())
}
