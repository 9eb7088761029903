//! Judging a finished trial: how its process ended, whether it printed one
//! protocol JSON object, whether its digest matches the scenario's reference,
//! and whether the GIL was in the state the cell asks for. The verdict is a
//! [`Judgement`]; `trial_record` turns it into the
//! trial's record.

use crate::bench::trial::{TrialExit, TrialOutcome};
use crate::protocol::result::{self, RunnerOutput, RunnerReport};
use crate::run::record::{Failure, FailureKind, InterpreterRecord, TrialStatus};

fn last_line(text: &str) -> &str {
    text.trim().lines().last().unwrap_or("").trim()
}

fn signal_name(signal: i32) -> String {
    match signal {
        libc::SIGKILL => "SIGKILL".into(),
        libc::SIGSEGV => "SIGSEGV".into(),
        libc::SIGABRT => "SIGABRT".into(),
        libc::SIGTERM => "SIGTERM".into(),
        libc::SIGINT => "SIGINT".into(),
        libc::SIGBUS => "SIGBUS".into(),
        other => format!("signal {other}"),
    }
}

/// What a trial's outcome means: its status, failure, runner report and warnings.
pub(crate) struct Judgement {
    pub(crate) status: TrialStatus,
    pub(crate) failure: Option<Failure>,
    pub(crate) skip_reason: Option<String>,
    pub(crate) runner: Option<RunnerReport>,
    pub(crate) warnings: Vec<String>,
}

fn failed(kind: FailureKind, message: String) -> Judgement {
    Judgement {
        status: TrialStatus::Failed,
        failure: Some(Failure { kind, message }),
        skip_reason: None,
        runner: None,
        warnings: vec![],
    }
}

/// Judges one trial: exit status, one protocol JSON object, digest against the
/// reference, and the GIL state the cell asks for.
pub(crate) fn judge(
    outcome: &TrialOutcome,
    interpreter: &InterpreterRecord,
    reference: Option<&str>,
    timeout_s: f64,
) -> Judgement {
    let mut judgement = judge_exit(outcome, interpreter, reference, timeout_s);
    if let Some(failure) = judgement.failure.as_mut()
        && (failure.kind == FailureKind::TimedOut || failure.message.contains("reported timeout"))
        && let Some(note) = super::memory_limit::timeout_note(outcome)
    {
        failure.message.push_str(&note);
    }
    judgement
}

fn judge_exit(
    outcome: &TrialOutcome,
    interpreter: &InterpreterRecord,
    reference: Option<&str>,
    timeout_s: f64,
) -> Judgement {
    if outcome.exit != TrialExit::Cancelled
        && let Some(message) = super::memory_limit::stopped(outcome)
    {
        return failed(FailureKind::MemoryLimit, message);
    }
    let code = match outcome.exit {
        TrialExit::OverMemoryLimit => {
            return failed(
                FailureKind::MemoryLimit,
                "stopped by the kernel at --memory-limit".into(),
            );
        }
        TrialExit::Cancelled => {
            return Judgement {
                status: TrialStatus::Cancelled,
                failure: None,
                skip_reason: None,
                runner: None,
                warnings: vec![],
            };
        }
        TrialExit::TimedOut => {
            return failed(
                FailureKind::TimedOut,
                format!(
                    "ran past the {timeout_s} s timeout (--timeout); its process group was killed"
                ),
            );
        }
        TrialExit::Signaled { signal } => {
            return failed(
                FailureKind::Signaled,
                format!("the runner was killed by {}", signal_name(signal)),
            );
        }
        TrialExit::Exited { code } => code,
    };
    let parsed = result::parse(&outcome.stdout);
    let report = match parsed {
        Err(_) if code != 0 => {
            let tail = last_line(&outcome.stderr);
            return failed(
                FailureKind::NonZeroExit,
                format!(
                    "exited with status {code}{}",
                    if tail.is_empty() {
                        String::new()
                    } else {
                        format!(": {tail}")
                    }
                ),
            );
        }
        Err(message) => return failed(FailureKind::BadOutput, message),
        Ok(RunnerOutput::Error { kind, message }) => {
            return failed(
                FailureKind::RunnerError,
                format!("the runner reported {kind}: {message}"),
            );
        }
        Ok(_) if code != 0 => {
            return failed(
                FailureKind::NonZeroExit,
                format!("exited with status {code} after printing its result"),
            );
        }
        Ok(RunnerOutput::Skipped(reason)) => {
            return Judgement {
                status: TrialStatus::Skipped,
                failure: None,
                skip_reason: Some(reason),
                runner: None,
                warnings: vec![],
            };
        }
        Ok(RunnerOutput::Success(report)) => *report,
    };
    let mut judgement = Judgement {
        status: TrialStatus::Ok,
        failure: None,
        skip_reason: None,
        runner: None,
        warnings: vec![],
    };
    if let Some(reference) = reference
        && report.digest != reference
    {
        judgement.status = TrialStatus::Failed;
        judgement.failure = Some(Failure {
            kind: FailureKind::DigestMismatch,
            message: format!(
                "digest {} differs from the reference {reference} (first successful sequential trial of this scenario)",
                report.digest
            ),
        });
    }
    if judgement.failure.is_none()
        && interpreter.gil_forced == Some(true)
        && !report.gil_on_everywhere()
    {
        judgement.status = TrialStatus::Failed;
        judgement.failure = Some(Failure {
            kind: FailureKind::GilNotForced,
            message: format!(
                "the GIL was forced on (-X gil=1) but was off somewhere: start {:?}, end {:?}, workers {:?}",
                report.gil_enabled_start, report.gil_enabled_end, report.worker_gil_enabled
            ),
        });
    }
    if interpreter.is_free_threaded_as_built() && report.gil_seen_on() == Some(true) {
        judgement.warnings.push(
            "the free-threaded build ran with the GIL on (an import turned it back on?)".into(),
        );
    }
    if outcome.stragglers > 0 {
        judgement.warnings.push(format!(
            "{} process(es) of the trial were still running after the runner exited; gil-lab killed them",
            outcome.stragglers
        ));
    }
    if outcome.survivors > 0 {
        judgement.warnings.push(format!(
            "{} process(es) of the trial could not be killed",
            outcome.survivors
        ));
    }
    judgement.runner = Some(report);
    judgement
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::sampler::SamplerReport;
    use crate::run::fixtures::run_file;

    fn outcome(exit: TrialExit, stdout: &str, stderr: &str) -> TrialOutcome {
        TrialOutcome {
            exit,
            wall_s: 1.0,
            user_s: 1.0,
            sys_s: 0.0,
            voluntary_context_switches: 0,
            involuntary_context_switches: 0,
            max_single_rss_bytes: 0,
            pid: 1,
            started_monotonic_s: 0.0,
            stragglers: 0,
            survivors: 0,
            stdout: stdout.into(),
            stderr: stderr.into(),
            sampler: SamplerReport::default(),
            memory_limit: None,
        }
    }

    const SUCCESS: &str = r#"{"protocol": 1, "result": "success", "runtime": {},
        "gil_enabled_start": true, "gil_enabled_end": true, "clock_t0": 0.0,
        "phases": {"work": 1.0}, "digest": "0123456789abcdef"}"#;

    fn judged(exit: TrialExit, stdout: &str, stderr: &str) -> Judgement {
        let interpreter = run_file(&[]).interpreters[0].clone();
        judge(&outcome(exit, stdout, stderr), &interpreter, None, 10.0)
    }

    fn kind(judgement: &Judgement) -> Option<FailureKind> {
        judgement.failure.as_ref().map(|f| f.kind)
    }

    fn message(judgement: &Judgement) -> &str {
        judgement
            .failure
            .as_ref()
            .map_or("", |f| f.message.as_str())
    }

    #[test]
    fn how_the_process_ended_comes_first() {
        let ok = TrialExit::Exited { code: 0 };
        assert_eq!(judged(ok, SUCCESS, "").status, TrialStatus::Ok);
        let cancelled = judged(TrialExit::Cancelled, SUCCESS, "");
        assert_eq!(
            (cancelled.status, kind(&cancelled)),
            (TrialStatus::Cancelled, None)
        );
        let timed_out = judged(TrialExit::TimedOut, "", "");
        assert_eq!(kind(&timed_out), Some(FailureKind::TimedOut));
        assert!(message(&timed_out).contains("10 s timeout"));
        let crashed = judged(TrialExit::Signaled { signal: 11 }, "", "");
        assert_eq!(kind(&crashed), Some(FailureKind::Signaled));
        assert_eq!(message(&crashed), "the runner was killed by SIGSEGV");
    }

    #[test]
    fn the_output_must_be_one_protocol_object() {
        let failed = TrialExit::Exited { code: 1 };
        let exited = judged(failed, "", "Traceback\nValueError: boom\n");
        assert_eq!(kind(&exited), Some(FailureKind::NonZeroExit));
        assert_eq!(message(&exited), "exited with status 1: ValueError: boom");
        let after_result = judged(failed, SUCCESS, "");
        assert_eq!(kind(&after_result), Some(FailureKind::NonZeroExit));
        let ok = TrialExit::Exited { code: 0 };
        assert_eq!(
            kind(&judged(ok, "not json", "")),
            Some(FailureKind::BadOutput)
        );
        let error = r#"{"protocol": 1, "result": "error", "error": {"kind": "exception", "message": "boom"}}"#;
        let reported = judged(ok, error, "");
        assert_eq!(kind(&reported), Some(FailureKind::RunnerError));
        assert_eq!(message(&reported), "the runner reported exception: boom");
        let skipped = judged(
            ok,
            r#"{"protocol": 1, "result": "skipped", "reason": "no"}"#,
            "",
        );
        assert_eq!(skipped.status, TrialStatus::Skipped);
        assert_eq!(skipped.skip_reason.as_deref(), Some("no"));
    }

    #[test]
    fn processes_left_behind_are_warnings() {
        let mut left = outcome(TrialExit::Exited { code: 0 }, SUCCESS, "");
        left.stragglers = 2;
        left.survivors = 1;
        let interpreter = run_file(&[]).interpreters[0].clone();
        let judgement = judge(&left, &interpreter, None, 10.0);
        assert_eq!(judgement.status, TrialStatus::Ok);
        assert_eq!(judgement.warnings.len(), 2, "{:?}", judgement.warnings);
    }

    #[test]
    fn a_timeout_under_an_rlimit_says_it_may_be_the_limit() {
        use crate::kernel_limit::LimitSeen;
        use crate::run::memory_limit::Enforcement;
        let interpreter = run_file(&[]).interpreters[0].clone();
        let under = |enforced_by| {
            let mut timed_out = outcome(TrialExit::TimedOut, "", "");
            timed_out.memory_limit = Some(LimitSeen {
                limit_bytes: 100 << 20,
                enforced_by,
                peak_bytes: None,
                oom_kills: 0,
            });
            judge(&timed_out, &interpreter, None, 10.0)
        };
        let rlimit = under(Enforcement::RlimitData);
        assert_eq!(kind(&rlimit), Some(FailureKind::TimedOut));
        assert!(
            message(&rlimit).contains("resource limit of 100 MB")
                && message(&rlimit).contains("may hang instead of raising MemoryError"),
            "{}",
            message(&rlimit)
        );
        let cgroup = under(Enforcement::CgroupV1);
        assert!(
            !message(&cgroup).contains("MemoryError"),
            "{}",
            message(&cgroup)
        );
    }
}
