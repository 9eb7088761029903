//! Building a trial's record: what was measured from outside (times,
//! parallelism over the whole trial and over its work phase, memory), the
//! judgement, the reference digest it was compared with, and the tail of its
//! stderr.

use crate::bench::judge::Judgement;
use crate::bench::trial::TrialOutcome;
use crate::protocol::RunnerReport;
use crate::run::record::{
    CellKey, Failure, FailureKind, Measurement, SCHEMA_VERSION, TrialRecord, TrialStatus,
};
use crate::run::thread_states;

/// The work-phase parallelism needs a work phase this many samples long.
const MIN_WINDOW_SAMPLES: f64 = 10.0;
/// How much of a child's stderr a record keeps.
const STDERR_KEEP: usize = 8 * 1024;

/// Where a trial stands in its run: what its record says besides the outcome.
pub(crate) struct TrialPlace<'a> {
    /// Its index in the run (`trials.jsonl` order).
    pub(crate) index: u64,
    /// Its cell.
    pub(crate) cell: &'a CellKey,
    /// How many trials of the cell were recorded before it.
    pub(crate) repetition: u32,
    /// Whether it is a warmup (recorded, not measured).
    pub(crate) warmup: bool,
    /// When it started (RFC 3339).
    pub(crate) started_at: String,
}

/// The record of a trial that ran: its outcome as judged. `reference` is the
/// digest it was compared with; a successful baseline trial without one
/// records its own (it is the reference from now on).
pub(crate) fn finished(
    place: TrialPlace<'_>,
    outcome: &TrialOutcome,
    judgement: Judgement,
    reference: Option<String>,
) -> TrialRecord {
    let reference_digest = reference.or_else(|| {
        (judgement.status == TrialStatus::Ok && place.cell.is_baseline())
            .then(|| judgement.runner.as_ref().map(|r| r.digest.clone()))
            .flatten()
    });
    let mut warnings = judgement.warnings;
    if let Some(runner) = &judgement.runner
        && let Some(disagreement) = memory_disagreement(outcome, runner)
    {
        warnings.push(disagreement);
    }
    let keep_stderr = judgement.status == TrialStatus::Failed || !outcome.stderr.trim().is_empty();
    TrialRecord {
        schema: SCHEMA_VERSION,
        index: place.index,
        cell: place.cell.clone(),
        repetition: place.repetition,
        warmup: place.warmup,
        started_at: place.started_at,
        status: judgement.status,
        failure: judgement.failure,
        skip_reason: judgement.skip_reason,
        measurement: Some(measurement(outcome, judgement.runner.as_ref())),
        runner: judgement.runner,
        reference_digest,
        stderr: if keep_stderr {
            stderr_tail(&outcome.stderr)
        } else {
            String::new()
        },
        warnings,
        timeline: Some(outcome.sampler.clone()),
        round: None,
    }
}

/// The record of a trial that could not be started: a `spawn` failure.
pub(crate) fn not_started(place: TrialPlace<'_>, err: &anyhow::Error) -> TrialRecord {
    TrialRecord {
        schema: SCHEMA_VERSION,
        index: place.index,
        cell: place.cell.clone(),
        repetition: place.repetition,
        warmup: place.warmup,
        started_at: place.started_at,
        status: TrialStatus::Failed,
        failure: Some(Failure {
            kind: FailureKind::Spawn,
            message: format!("{err:#}"),
        }),
        skip_reason: None,
        measurement: None,
        runner: None,
        reference_digest: None,
        stderr: String::new(),
        warnings: vec![],
        timeline: None,
        round: None,
    }
}

/// The last `STDERR_KEEP` bytes of stderr (cut at a character boundary).
fn stderr_tail(stderr: &str) -> String {
    let text = stderr.trim_end();
    if text.len() <= STDERR_KEEP {
        return text.to_string();
    }
    let mut start = text.len() - STDERR_KEEP;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    format!("[...]{}", &text[start..])
}

/// Parallelism during the work phase: the tree's CPU time in the window from
/// the first task's start to the last task's end (placed on the sampler's
/// clock through the runner's `clock_t0`), ÷ the window's length. Intervals
/// that straddle the window's edges count in proportion to their overlap.
fn work_parallelism(outcome: &TrialOutcome, report: &RunnerReport) -> Option<f64> {
    let sampler = &outcome.sampler;
    let start = report.tasks.iter().map(|t| t.start).reduce(f64::min)?;
    let end = report.tasks.iter().map(|t| t.end).reduce(f64::max)?;
    let offset = report.clock_t0 - outcome.started_monotonic_s;
    let (from, to) = ((offset + start) * 1e6, (offset + end) * 1e6);
    // Samples at the window's edges are split in proportion, which is only
    // an estimate: over a few samples it would dominate (a 47 ms window read
    // 1.63 where the whole trial read 1.92).
    if to - from < MIN_WINDOW_SAMPLES * sampler.interval_s * 1e6 {
        return None;
    }
    let times = &sampler.sample_times_us;
    let timeline = sampler.parallelism_timeline();
    let mut cpu_us = 0.0;
    for (i, utilisation) in timeline.iter().enumerate() {
        let (a, b) = (times[i] as f64, times[i + 1] as f64);
        let overlap = (b.min(to) - a.max(from)).max(0.0);
        cpu_us += utilisation * overlap;
    }
    Some(cpu_us / (to - from))
}

/// How far gil-lab's and the runner's figures for the runner's own
/// high-water mark may differ: 10% and 1 MiB.
const MEMORY_TOLERANCE: (f64, u64) = (0.10, 1 << 20);

/// A warning when gil-lab's high-water mark of the runner process (`VmHWM`
/// at its last sample) and the one the runner reported at its end disagree:
/// gil-lab's cannot exceed it (the mark only grows), and the runner's can
/// exceed it only by what grew after the last sample (teardown).
fn memory_disagreement(outcome: &TrialOutcome, runner: &RunnerReport) -> Option<String> {
    let theirs = runner.high_water_mark_bytes?;
    let mine = outcome
        .sampler
        .processes
        .iter()
        .find(|p| p.pid == outcome.pid)?
        .high_water_mark_bytes;
    if mine == 0 || theirs == 0 {
        return None;
    }
    let (share, floor) = MEMORY_TOLERANCE;
    let limit = |x: u64| x + ((x as f64 * share) as u64).max(floor);
    let mib = |b: u64| b as f64 / (1 << 20) as f64;
    if mine > limit(theirs) {
        Some(format!(
            "gil-lab measured a high-water mark of {:.1} MiB for the runner, which reported {:.1} MiB itself: the trial's memory figure may include memory that is not the workload's",
            mib(mine),
            mib(theirs)
        ))
    } else if theirs > limit(mine) && outcome.sampler.samples >= 10 {
        Some(format!(
            "the runner reported a high-water mark of {:.1} MiB, gil-lab saw at most {:.1} MiB: memory peaked after the last sample, so the trial's memory figure is low",
            mib(theirs),
            mib(mine)
        ))
    } else {
        None
    }
}

/// What gil-lab measured of a trial from outside, with the work-phase
/// parallelism and thread states when the runner reported its tasks.
fn measurement(outcome: &TrialOutcome, report: Option<&RunnerReport>) -> Measurement {
    let sampler = &outcome.sampler;
    // The largest high-water mark of a single process: each process's own
    // (`VmHWM`, reset by `exec`), never `ru_maxrss`, which carries
    // gil-lab's RSS into the child it forks.
    let high_water_mark = sampler
        .processes
        .iter()
        .map(|p| p.high_water_mark_bytes)
        .chain(report.and_then(|r| r.high_water_mark_bytes))
        .max()
        .unwrap_or(0);
    Measurement {
        wall_s: outcome.wall_s,
        user_s: outcome.user_s,
        sys_s: outcome.sys_s,
        parallelism: outcome.parallelism(),
        work_parallelism: report.and_then(|r| work_parallelism(outcome, r)),
        // The tree's PSS; a trial too short for a single sample falls back
        // on the largest high-water mark.
        peak_memory_bytes: if sampler.peak_memory_bytes > 0 {
            sampler.peak_memory_bytes
        } else {
            high_water_mark
        },
        peak_rss_bytes: Some(sampler.peak_rss_bytes.max(high_water_mark)),
        limit_peak_bytes: outcome.memory_limit.and_then(|seen| seen.peak_bytes),
        thread_states: report.and_then(|r| thread_states::work_shares(sampler, r)),
        voluntary_context_switches: outcome.voluntary_context_switches,
        involuntary_context_switches: outcome.involuntary_context_switches,
        samples: u64::from(sampler.samples),
        sampler_cpu_s: sampler.cpu_s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::trial::TrialExit;
    use crate::run::fixtures::{cell, trial};

    #[test]
    fn work_parallelism_counts_the_work_window_only() {
        use crate::bench::sampler::{Lane, LaneKind, SamplerReport};
        use crate::protocol::TaskReport;
        // 10 ms samples; one lane busy on 2 cores from 20 ms to 160 ms after
        // spawn, idle before and after.
        let times: Vec<u64> = (0..=20).map(|i| i * 10_000).collect();
        let cpu: Vec<u32> = (0..=20)
            .map(|i| if (3..=16).contains(&i) { 20_000 } else { 0 })
            .collect();
        let outcome = TrialOutcome {
            exit: TrialExit::Exited { code: 0 },
            wall_s: 0.1,
            user_s: 0.12,
            sys_s: 0.0,
            voluntary_context_switches: 0,
            involuntary_context_switches: 0,
            max_single_rss_bytes: 0,
            pid: 1,
            started_monotonic_s: 100.0,
            stragglers: 0,
            survivors: 0,
            stdout: String::new(),
            stderr: String::new(),
            sampler: SamplerReport {
                interval_s: 0.01,
                samples: 21,
                sample_times_us: times,
                lanes: vec![Lane {
                    pid: 1,
                    tid: 1,
                    name: "python".into(),
                    kind: LaneKind::Process,
                    first_sample: 0,
                    cpu_us: cpu,
                    cpu_s: 0.12,
                    core_wait_us: Vec::new(),
                    seen: String::new(),
                }],
                ..SamplerReport::default()
            },
            memory_limit: None,
        };
        let task = |start: f64, end: f64| TaskReport {
            agent: "planner".into(),
            index: 0,
            worker: "thread-0".into(),
            start,
            end,
            tid: None,
            result: Vec::new(),
            node: None,
        };
        // The runner started 5 ms after spawn; its tasks ran 15-155 ms later.
        let mut report = trial(0, &cell("py", "threads", 2), 0, false, 0.06)
            .runner
            .unwrap();
        report.clock_t0 = 100.005;
        report.tasks = vec![task(0.015, 0.05), task(0.02, 0.155)];
        let p = work_parallelism(&outcome, &report).unwrap();
        assert!((p - 2.0).abs() < 1e-9, "{p}");
        report.tasks = vec![task(0.015, 0.075)];
        assert_eq!(
            work_parallelism(&outcome, &report),
            None,
            "too short a window"
        );
    }

    #[test]
    fn a_long_stderr_keeps_its_tail() {
        assert_eq!(stderr_tail("short\n\n"), "short");
        let long = format!("{}é{}", "a".repeat(STDERR_KEEP), "b".repeat(10));
        let tail = stderr_tail(&long);
        assert!(tail.starts_with("[...]"));
        assert!(tail.ends_with("bbbbbbbbbb"));
        assert!(tail.len() <= STDERR_KEEP + "[...]".len());
    }
}
