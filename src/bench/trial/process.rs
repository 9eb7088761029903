//! The processes of a trial: gil-lab as their subreaper, their CPU time and
//! context switches from `wait4`, signalling their process group, and
//! killing and reaping whatever is left of it (or of the tree the sampler
//! saw) when the trial ends.

use std::time::{Duration, Instant};

/// How long to wait, after the child ended, for the rest of its group to die
/// and for its output pipes to close (a process outside the group may hold
/// them open).
pub(super) const CLEANUP_LIMIT: Duration = Duration::from_secs(3);

/// Makes orphaned descendants of trials (a worker whose parent died) children
/// of gil-lab instead of init, so that gil-lab can reap them, count their
/// CPU time, and prove that none is left: a zombie nobody reaps still belongs
/// to its process group. Process-wide and idempotent.
pub(super) fn become_subreaper() {
    // SAFETY: prctl with PR_SET_CHILD_SUBREAPER takes one integer argument.
    // Failure (very old kernel) only means stragglers go to init instead.
    unsafe {
        libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    }
}

/// CPU time and context switches from `wait4`.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Usage {
    pub(super) user_s: f64,
    pub(super) sys_s: f64,
    pub(super) voluntary_context_switches: u64,
    pub(super) involuntary_context_switches: u64,
    pub(super) max_rss_bytes: u64,
}

impl Usage {
    pub(super) fn from_rusage(ru: &libc::rusage) -> Usage {
        let secs = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 * 1e-6;
        Usage {
            user_s: secs(ru.ru_utime),
            sys_s: secs(ru.ru_stime),
            voluntary_context_switches: ru.ru_nvcsw.max(0) as u64,
            involuntary_context_switches: ru.ru_nivcsw.max(0) as u64,
            // Linux reports ru_maxrss in KiB.
            max_rss_bytes: ru.ru_maxrss.max(0) as u64 * 1024,
        }
    }

    /// Adds the CPU time of processes whose usage never reached `wait4`:
    /// a parent that ignores SIGCHLD (Ray's raylet does) has its children
    /// reaped by the kernel, and their CPU time is not passed up. The
    /// sampler saw every process of the tree with its own CPU time (10 ms
    /// ticks, as of its last sample); when their sum exceeds what `wait4`
    /// counted by more than the sampler's resolution, the difference is
    /// added, split between user and system time as the counted time is.
    pub(super) fn include_unreaped(&mut self, seen: &[crate::bench::sampler::ProcessSeen]) {
        /// Below this, the difference is the sampler's 10 ms ticks and the
        /// time since its last sample, not lost processes.
        const SLACK_S: f64 = 0.05;
        let seen_s: f64 = seen.iter().map(|p| p.cpu_s).sum();
        let counted_s = self.user_s + self.sys_s;
        let missing = seen_s - counted_s;
        if missing <= SLACK_S.max(0.02 * counted_s) {
            return;
        }
        let user_share = if counted_s > 0.0 {
            self.user_s / counted_s
        } else {
            1.0
        };
        self.user_s += missing * user_share;
        self.sys_s += missing * (1.0 - user_share);
    }

    pub(super) fn add(&mut self, other: &Usage) {
        self.user_s += other.user_s;
        self.sys_s += other.sys_s;
        self.voluntary_context_switches += other.voluntary_context_switches;
        self.involuntary_context_switches += other.involuntary_context_switches;
        self.max_rss_bytes = self.max_rss_bytes.max(other.max_rss_bytes);
    }
}

/// `wait4(pid, options)`, retried on EINTR: `Ok(None)` when nothing has
/// ended yet (WNOHANG), `Err` with the errno otherwise (ECHILD: no such
/// child).
pub(super) fn wait4(
    pid: libc::pid_t,
    options: libc::c_int,
) -> std::io::Result<Option<(libc::c_int, Usage)>> {
    loop {
        let mut status = 0;
        // SAFETY: an all-zero rusage is a valid value to be overwritten.
        let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: `status` and `ru` are valid, writable and outlive the call.
        let rc = unsafe { libc::wait4(pid, &mut status, options, &mut ru) };
        if rc > 0 {
            return Ok(Some((status, Usage::from_rusage(&ru))));
        }
        if rc == 0 {
            return Ok(None);
        }
        let err = std::io::Error::last_os_error();
        if err.kind() != std::io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

/// Waits for the child `pid` to end and reaps it.
pub(super) fn wait_blocking(pid: libc::pid_t) -> std::io::Result<(libc::c_int, Usage)> {
    match wait4(pid, 0)? {
        Some(reaped) => Ok(reaped),
        None => Err(std::io::Error::other("wait4 returned no child")),
    }
}

/// Sends `signal` to every process of the group; false when none is left.
pub(super) fn signal_group(pgid: libc::pid_t, signal: libc::c_int) -> bool {
    // SAFETY: killpg has no memory-safety preconditions.
    unsafe { libc::killpg(pgid, signal) == 0 }
}

/// What was left of a group after its leader ended.
#[derive(Debug, Default)]
pub(super) struct Cleanup {
    pub(super) stragglers: u32,
    pub(super) survivors: u32,
    pub(super) usage: Usage,
}

/// Kills and reaps whatever is left of the group after its leader ended (a
/// worker left behind, or the rest of a group being stopped), until
/// `killpg(pgid, 0)` says the group is gone or the time limit is hit.
pub(super) fn clean_up_group(pgid: libc::pid_t) -> Cleanup {
    let mut cleanup = Cleanup::default();
    let deadline = Instant::now() + CLEANUP_LIMIT;
    let mut killed = false;
    while signal_group(pgid, 0) {
        if !killed {
            signal_group(pgid, libc::SIGKILL);
            killed = true;
        }
        // Reap the members that are our children (orphans re-parented to
        // us as the subreaper); the others are reaped by their parents in
        // the group, which are dying too.
        while let Ok(Some((_, usage))) = wait4(-pgid, libc::WNOHANG) {
            cleanup.stragglers += 1;
            cleanup.usage.add(&usage);
        }
        if Instant::now() >= deadline {
            break;
        }
        // Newly orphaned members may appear after the first SIGKILL (a
        // process forked just then): signal again each round.
        signal_group(pgid, libc::SIGKILL);
        std::thread::sleep(Duration::from_millis(1));
    }
    if signal_group(pgid, 0) {
        cleanup.survivors = count_group(pgid as u32);
    }
    cleanup
}

/// Kills and reaps the processes of the trial's tree (as the sampler saw
/// it) that left its process group (a worker that leads a group of its
/// own, as Ray's do) and became children of gil-lab when their parents
/// died: their CPU time counts with the trial's, and none is left behind.
/// Only gil-lab's own children are touched, so a pid reused by another
/// program since is never signalled.
pub(super) fn clean_up_orphans(
    seen: &[crate::bench::sampler::ProcessSeen],
    pgid: libc::pid_t,
) -> Cleanup {
    let mut cleanup = Cleanup::default();
    let me = std::process::id();
    let mut pending: Vec<u32> = seen
        .iter()
        .map(|p| p.pid)
        .filter(|&pid| pid != pgid as u32)
        .collect();
    let deadline = Instant::now() + CLEANUP_LIMIT;
    while !pending.is_empty() {
        pending.retain(|&pid| {
            let Some(ppid) = parent_of(pid) else {
                // Gone, and reaped by its parent in the tree.
                return false;
            };
            if ppid != me {
                // Not (yet) orphaned: its parent is still dying.
                return true;
            }
            // SAFETY: kill has no memory-safety preconditions; `pid` is a
            // child of this process, so it cannot have been reused.
            unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
            if let Ok(Some((_, usage))) = wait4(pid as libc::pid_t, 0) {
                cleanup.stragglers += 1;
                cleanup.usage.add(&usage);
            }
            false
        });
        if pending.is_empty() || Instant::now() >= deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    // Still alive under a parent outside gil-lab's reach (should not happen).
    cleanup.survivors = pending.len() as u32;
    cleanup
}

/// The parent pid of a live (or zombie) process, from /proc.
pub(super) fn parent_of(pid: u32) -> Option<u32> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    text.rfind(')')
        .and_then(|i| text[i + 1..].split_ascii_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
}

/// Counts the processes of a group by reading /proc (for the report only).
pub(super) fn count_group(pgid: u32) -> u32 {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 1;
    };
    let mut count = 0;
    for entry in entries.flatten() {
        let path = entry.path().join("stat");
        let Ok(text) = std::fs::read_to_string(path) else {
            continue;
        };
        let pgrp = text
            .rfind(')')
            .and_then(|i| text[i + 1..].split_ascii_whitespace().nth(2))
            .and_then(|s| s.parse::<u32>().ok());
        if pgrp == Some(pgid) {
            count += 1;
        }
    }
    count.max(1)
}
