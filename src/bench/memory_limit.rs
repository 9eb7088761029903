//! Whether `--memory-limit` stopped a trial, and the one line that says so
//! with the peak the kernel saw (the limit itself is held by
//! `kernel_limit`).

use crate::run::memory_limit::Enforcement;

use super::trial::{TrialExit, TrialOutcome};

/// Why the memory limit stopped a trial, when it did: the kernel killed a
/// process of its cgroup, or (under an rlimit) an allocation failed with
/// `MemoryError`. The message gives the peak the kernel saw.
pub(crate) fn stopped(outcome: &TrialOutcome) -> Option<String> {
    let seen = outcome.memory_limit?;
    let mb = seen.limit_bytes >> 20;
    let mib = |bytes: u64| bytes as f64 / f64::from(1 << 20);
    if seen.oom_kills > 0 || outcome.exit == TrialExit::OverMemoryLimit {
        let peak = seen
            .peak_bytes
            .map(|p| format!(", its cgroup peaked at {:.0} MiB", mib(p)))
            .unwrap_or_default();
        return Some(format!(
            "stopped by the kernel at --memory-limit {mb} MB: {} process(es) of the trial killed for memory{peak} (raise --memory-limit, or use less memory)",
            seen.oom_kills.max(1)
        ));
    }
    if seen.enforced_by.whole_tree() || outcome.exit.success() {
        return None;
    }
    let said = |text: &str| text.contains("MemoryError") || text.contains("\"memory_limit\"");
    if !(said(&outcome.stdout) || said(&outcome.stderr)) {
        return None;
    }
    let largest = outcome
        .sampler
        .processes
        .iter()
        .map(|p| p.high_water_mark_bytes)
        .max()
        .unwrap_or(0);
    let peak = if largest > 0 {
        format!(
            ", its largest process peaked at {:.0} MiB (VmHWM)",
            mib(largest)
        )
    } else {
        String::new()
    };
    Some(format!(
        "stopped by the kernel at --memory-limit {mb} MB ({}): an allocation failed with MemoryError{peak} (raise --memory-limit, or use less memory)",
        match seen.enforced_by {
            Enforcement::RlimitAs => "RLIMIT_AS",
            _ => "RLIMIT_DATA",
        }
    ))
}

/// What to add to a timed-out trial's message under an rlimit: on a
/// free-threaded build an allocation past `RLIMIT_DATA` can leave a worker
/// thread dead and the process waiting for it (seen on 3.13t), so the trial
/// ends at the timeout instead of with `MemoryError`.
pub(crate) fn timeout_note(outcome: &TrialOutcome) -> Option<String> {
    let seen = outcome.memory_limit?;
    (!seen.enforced_by.whole_tree()).then(|| {
        format!(
            " (under a resource limit of {} MB on each process, a free-threaded build may hang instead of raising MemoryError when an allocation fails: raise --memory-limit, or run where gil-lab can make a memory cgroup; docs/memory-limit.md)",
            seen.limit_bytes >> 20
        )
    })
}
