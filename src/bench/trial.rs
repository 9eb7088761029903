//! One trial: start a command in its own process group with an explicit
//! environment, measure it from outside (wall time, CPU time and context
//! switches of the whole tree from `wait4`, the /proc sampler), enforce the
//! timeout and cancellation by killing the whole group, and leave no process
//! of the group behind.

use std::ffi::OsString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{ChildStderr, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use super::sampler::{self, Sampler, SamplerReport};
use crate::kernel_limit::{LimitSeen, TrialLimit};

mod process;
use process::{
    CLEANUP_LIMIT, become_subreaper, clean_up_group, clean_up_orphans, signal_group, wait_blocking,
};

/// How long a group gets between SIGTERM and SIGKILL when a trial is stopped.
pub const DEFAULT_KILL_GRACE: Duration = Duration::from_millis(300);

/// How often the watching thread checks the cancel flag (set by a signal
/// handler, so it cannot wake anyone). The timeout itself is waited for
/// exactly, and the end of the trial is seen the moment the child exits.
/// Rare wake-ups matter: on a busy machine every bit of CPU gil-lab uses
/// comes out of the share the child could have had.
const CANCEL_POLL: Duration = Duration::from_millis(50);

/// The command of one trial.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrialCommand {
    /// The executable (an absolute path: `PATH` is not searched in the
    /// child's environment).
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<OsString>,
    /// The complete environment: nothing of gil-lab's own is inherited.
    pub env: Vec<(OsString, OsString)>,
    /// Working directory; `None` keeps gil-lab's.
    pub cwd: Option<PathBuf>,
}

/// Limits and settings of one trial.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrialOptions {
    /// The trial is killed (its whole process group) after this long.
    pub timeout: Duration,
    /// Time between /proc samples; `None` runs without the sampler.
    pub sample_interval: Option<Duration>,
    /// Time between SIGTERM and SIGKILL when the trial is stopped.
    pub kill_grace: Duration,
}

impl TrialOptions {
    /// The given timeout, the sampler at 100 Hz and the default kill grace.
    pub fn new(timeout: Duration) -> TrialOptions {
        TrialOptions {
            timeout,
            sample_interval: Some(sampler::DEFAULT_INTERVAL),
            kill_grace: DEFAULT_KILL_GRACE,
        }
    }
}

/// How a trial's child process ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TrialExit {
    /// Exited by itself with this status code.
    Exited {
        /// The exit status (0 = success).
        code: i32,
    },
    /// Killed by a signal it did not get from gil-lab (a crash, or `kill`).
    Signaled {
        /// The signal number (e.g. 9 for SIGKILL, 11 for SIGSEGV).
        signal: i32,
    },
    /// Ran past the timeout; gil-lab killed its process group.
    TimedOut,
    /// Stopped because the run was cancelled (Ctrl-C); gil-lab killed its
    /// process group.
    Cancelled,
    /// The kernel killed a process of it at the memory limit (an OOM kill
    /// in its cgroup); gil-lab killed the rest of its process group.
    OverMemoryLimit,
}

impl TrialExit {
    /// Exited with status 0.
    pub fn success(self) -> bool {
        self == TrialExit::Exited { code: 0 }
    }
}

/// What one trial measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrialOutcome {
    /// How the child ended.
    pub exit: TrialExit,
    /// Wall time from just before spawn to the child reaped, seconds.
    pub wall_s: f64,
    /// User CPU time of the whole tree, seconds: the child and every
    /// descendant it waited for (`wait4`), plus the group's stragglers, plus
    /// descendants reaped without passing their time up (seen by the
    /// sampler; see `Usage::include_unreaped`).
    pub user_s: f64,
    /// System CPU time of the whole tree, seconds (same scope as `user_s`).
    pub sys_s: f64,
    /// Voluntary context switches of the tree (same scope as `user_s`).
    pub voluntary_context_switches: u64,
    /// Involuntary context switches of the tree (same scope as `user_s`).
    pub involuntary_context_switches: u64,
    /// Largest `ru_maxrss` of any single process of the tree, bytes. Not the
    /// workload's memory: on Linux `ru_maxrss` survives `exec`, so a child
    /// forked from gil-lab reports at least gil-lab's RSS at the fork. Kept
    /// for reference only; the trial's memory is the sampler's (PSS, and
    /// each process's `VmHWM`).
    pub max_single_rss_bytes: u64,
    /// Process id of the child (also its process group id).
    pub pid: u32,
    /// CLOCK_MONOTONIC seconds just before spawn, to align the runner's
    /// `clock_t0` (Python's `time.monotonic()`) with the sampler's times.
    pub started_monotonic_s: f64,
    /// Processes of the group still alive after the child ended (a worker
    /// left behind), killed by gil-lab.
    pub stragglers: u32,
    /// Processes of the group gil-lab could not get rid of (should be 0; a
    /// process stuck in the kernel survives SIGKILL for a while).
    pub survivors: u32,
    /// The child's standard output, complete.
    pub stdout: String,
    /// The child's standard error, complete.
    pub stderr: String,
    /// What the sampler saw (empty when it was off).
    pub sampler: SamplerReport,
    /// What the memory limit did, as the kernel tells it (absent without
    /// `--memory-limit`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_limit: Option<LimitSeen>,
}

impl TrialOutcome {
    /// Parallelism: CPU time of the whole tree ÷ wall time.
    pub fn parallelism(&self) -> f64 {
        if self.wall_s > 0.0 {
            (self.user_s + self.sys_s) / self.wall_s
        } else {
            0.0
        }
    }
}

/// Runs one trial with the sampler at 100 Hz and the default kill grace.
pub fn run_trial(
    cmd: &TrialCommand,
    timeout: Duration,
    cancel: &AtomicBool,
) -> Result<TrialOutcome> {
    run_trial_with(cmd, &TrialOptions::new(timeout), cancel)
}

/// Runs one trial: spawn in a new process group, sample, wait, stop it on
/// timeout or `cancel`, clean up the group. An error means the trial could
/// not be run at all (the program could not start); everything about how it
/// ended is in the outcome.
pub fn run_trial_with(
    cmd: &TrialCommand,
    options: &TrialOptions,
    cancel: &AtomicBool,
) -> Result<TrialOutcome> {
    run_trial_limited(cmd, options, cancel, None)
}

/// [`run_trial_with`] held to a memory limit by the kernel: the child joins
/// the trial's cgroup (or sets its rlimit) between `fork` and `exec`; an OOM
/// kill in the cgroup stops the trial at once; the cgroup is removed at the
/// end.
pub fn run_trial_limited(
    cmd: &TrialCommand,
    options: &TrialOptions,
    cancel: &AtomicBool,
    limit: Option<TrialLimit>,
) -> Result<TrialOutcome> {
    become_subreaper();

    let mut command = Command::new(&cmd.program);
    command
        .args(&cmd.args)
        .env_clear()
        .envs(cmd.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    if let Some(cwd) = &cmd.cwd {
        command.current_dir(cwd);
    }
    if let Some(limit) = &limit {
        limit.confine(&mut command);
    }

    let started_monotonic_s = monotonic_s();
    let started = Instant::now();
    let mut child = command.spawn().with_context(|| {
        format!(
            "cannot start {}: check that the interpreter path exists and is executable",
            cmd.program.display()
        )
    })?;
    let pid = child.id();
    let pgid = pid as libc::pid_t;

    // From here on the child must be reaped whatever happens, so nothing
    // below returns early before it is.
    let sampler = options
        .sample_interval
        .and_then(|interval| Sampler::start(pid, started, interval).ok());
    // One thread (this one) drains both pipes and sees the exit, through
    // poll(2) on the pipes and a pidfd: no helper threads to wake up at the
    // end, which on a busy machine delays the measured end by milliseconds.
    let mut watch = Watch::new(pgid, child.stdout.take(), child.stderr.take());

    let deadline = started + options.timeout;
    let mut stopped_as = None;
    let mut ended = loop {
        if let Some(ended) =
            watch.pump(CANCEL_POLL.min(deadline.saturating_duration_since(Instant::now())))
        {
            break Some(ended);
        }
        if cancel.load(Ordering::Relaxed) {
            stopped_as = Some(TrialExit::Cancelled);
        } else if limit.as_ref().is_some_and(TrialLimit::oom_killed) {
            // A process of the tree was killed for memory: what is left may
            // wait forever for it (a pool missing a worker).
            stopped_as = Some(TrialExit::OverMemoryLimit);
        } else if Instant::now() >= deadline {
            stopped_as = Some(TrialExit::TimedOut);
        } else {
            continue;
        }
        break None;
    };
    if ended.is_none() {
        // Stop the group: SIGTERM, a grace period, then SIGKILL.
        signal_group(pgid, libc::SIGTERM);
        ended = watch.pump_until(Instant::now() + options.kill_grace);
        if ended.is_none() {
            signal_group(pgid, libc::SIGKILL);
            ended = watch.pump_until(Instant::now() + CLEANUP_LIMIT);
        }
    }
    let Some(ended) = ended else {
        // Stuck in the kernel, beyond even SIGKILL for now: it stays a child
        // of gil-lab, reaped by nobody until gil-lab ends.
        anyhow::bail!("trial process {pid} survived SIGKILL for {CLEANUP_LIMIT:?}");
    };
    let (status, usage) =
        wait_blocking(pgid).with_context(|| format!("cannot wait for trial process {pid}"))?;
    let wall_s = ended.duration_since(started).as_secs_f64();

    let mut cleanup = clean_up_group(pgid);
    let mut sampler = sampler.map(Sampler::stop).unwrap_or_default();
    sampler.started_monotonic_s = started_monotonic_s;
    // Descendants in process groups of their own (Ray's workers) were
    // orphaned when the group died, and came to gil-lab as the subreaper.
    let orphans = clean_up_orphans(&sampler.processes, pgid);
    cleanup.stragglers += orphans.stragglers;
    cleanup.survivors += orphans.survivors;
    cleanup.usage.add(&orphans.usage);
    // The rest of the output, until the pipes close (a process outside the
    // group may hold them open: then give up after a while).
    let (stdout, stderr) = watch.finish(Instant::now() + CLEANUP_LIMIT);
    // The kernel's figures, and the cgroup removed, once the tree is gone.
    let memory_limit = limit.map(TrialLimit::finish);

    let exit = stopped_as.unwrap_or(if libc::WIFSIGNALED(status) {
        TrialExit::Signaled {
            signal: libc::WTERMSIG(status),
        }
    } else {
        TrialExit::Exited {
            code: libc::WEXITSTATUS(status),
        }
    });
    let mut total = usage;
    total.add(&cleanup.usage);
    total.include_unreaped(&sampler.processes);
    Ok(TrialOutcome {
        exit,
        wall_s,
        user_s: total.user_s,
        sys_s: total.sys_s,
        voluntary_context_switches: total.voluntary_context_switches,
        involuntary_context_switches: total.involuntary_context_switches,
        max_single_rss_bytes: total.max_rss_bytes,
        pid,
        started_monotonic_s,
        stragglers: cleanup.stragglers,
        survivors: cleanup.survivors,
        stdout,
        stderr,
        sampler,
        memory_limit,
    })
}

/// CLOCK_MONOTONIC now, seconds (the clock of Python's `time.monotonic()`).
fn monotonic_s() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

/// Watches a running child from the calling thread: drains its stdout and
/// stderr (so that a child writing a lot to both never blocks on a full
/// pipe) and notices its exit, all with one poll(2).
struct Watch {
    pid: libc::pid_t,
    /// A pidfd of the child (Linux 5.3+): readable once it has exited.
    /// Without one, the exit is checked every millisecond instead.
    pidfd: Option<OwnedFd>,
    exited: Option<Instant>,
    pipes: [Option<OwnedFd>; 2],
    output: [Vec<u8>; 2],
}

impl Watch {
    fn new(pid: libc::pid_t, stdout: Option<ChildStdout>, stderr: Option<ChildStderr>) -> Watch {
        // SAFETY: pidfd_open takes a pid and flags and has no memory-safety
        // preconditions.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
        // SAFETY: a non-negative result is a new descriptor nobody else owns.
        let pidfd = (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd as RawFd) });
        Watch {
            pid,
            pidfd,
            exited: None,
            pipes: [stdout.map(OwnedFd::from), stderr.map(OwnedFd::from)],
            output: [Vec::new(), Vec::new()],
        }
    }

    /// Waits up to `timeout` for output or the child's exit, reads what is
    /// there, and returns the instant the exit was seen, if it was.
    fn pump(&mut self, timeout: Duration) -> Option<Instant> {
        if self.exited.is_some() {
            return self.exited;
        }
        let timeout = match &self.pidfd {
            Some(_) => timeout,
            None => timeout.min(Duration::from_millis(1)),
        };
        let mut fds = Vec::with_capacity(3);
        if let Some(pidfd) = &self.pidfd {
            fds.push(poll_fd(pidfd));
        }
        for pipe in self.pipes.iter().flatten() {
            fds.push(poll_fd(pipe));
        }
        // SAFETY: `fds` is a valid array of pollfd of the given length.
        let ready = unsafe {
            libc::poll(
                fds.as_mut_ptr(),
                fds.len() as libc::nfds_t,
                timeout.as_millis().min(i32::MAX as u128) as libc::c_int,
            )
        };
        let now = Instant::now();
        if ready > 0 {
            self.read_ready(&fds);
        }
        let exited = match &self.pidfd {
            Some(pidfd) => fds
                .iter()
                .any(|fd| fd.fd == pidfd.as_raw_fd() && fd.revents != 0),
            None => has_exited(self.pid),
        };
        if exited {
            self.exited = Some(now);
        }
        self.exited
    }

    /// Pumps until the child's exit is seen or `deadline` passes.
    fn pump_until(&mut self, deadline: Instant) -> Option<Instant> {
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let seen = self.pump(left.min(CANCEL_POLL));
            if seen.is_some() || left.is_zero() {
                return seen;
            }
        }
    }

    /// Reads once from every pipe poll said is ready; closes a pipe at its
    /// end.
    fn read_ready(&mut self, fds: &[libc::pollfd]) {
        let mut chunk = [0u8; 64 * 1024];
        for (pipe, output) in self.pipes.iter_mut().zip(self.output.iter_mut()) {
            let Some(fd) = pipe else { continue };
            let raw = fd.as_raw_fd();
            if !fds.iter().any(|p| p.fd == raw && p.revents != 0) {
                continue;
            }
            // SAFETY: reading into a valid buffer of the given length; poll
            // said the pipe is readable (or closed), so this does not block.
            let n = unsafe { libc::read(raw, chunk.as_mut_ptr().cast(), chunk.len()) };
            if n > 0 {
                output.extend_from_slice(&chunk[..n as usize]);
            } else if n == 0
                || std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted
            {
                *pipe = None;
            }
        }
    }

    /// Reads the pipes to their end or until `deadline`, and returns the
    /// output (stdout, stderr).
    fn finish(mut self, deadline: Instant) -> (String, String) {
        // The child is reaped: only the pipes are left to watch.
        self.pidfd = None;
        self.exited = Some(Instant::now());
        while self.pipes.iter().any(Option::is_some) && Instant::now() < deadline {
            let left = deadline.saturating_duration_since(Instant::now());
            let mut fds: Vec<libc::pollfd> = self.pipes.iter().flatten().map(poll_fd).collect();
            // SAFETY: as in `pump`.
            let ready = unsafe {
                libc::poll(
                    fds.as_mut_ptr(),
                    fds.len() as libc::nfds_t,
                    left.as_millis().clamp(1, i32::MAX as u128) as libc::c_int,
                )
            };
            if ready > 0 {
                self.read_ready(&fds);
            }
        }
        let [out, err] = &self.output;
        (
            String::from_utf8_lossy(out).into_owned(),
            String::from_utf8_lossy(err).into_owned(),
        )
    }
}

/// A pollfd asking whether `fd` is readable.
fn poll_fd(fd: &OwnedFd) -> libc::pollfd {
    libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    }
}

/// Whether the child has exited, without reaping it (for kernels without
/// pidfd).
fn has_exited(pid: libc::pid_t) -> bool {
    // SAFETY: an all-zero siginfo_t is valid; waitid writes into it.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: `info` is valid and writable; WNOWAIT leaves the child
    // unreaped for wait4 to collect its rusage.
    let rc = unsafe {
        libc::waitid(
            libc::P_PID,
            pid as libc::id_t,
            &mut info,
            libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
        )
    };
    // SAFETY: si_pid is set by waitid when a child was found.
    rc == 0 && unsafe { info.si_pid() } == pid
}
