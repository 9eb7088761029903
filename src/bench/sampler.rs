//! The /proc sampler: a thread that, about 100 times a second, reads the CPU
//! time, run-queue wait and state of every thread and the memory of every
//! process of a trial's process tree. Its report draws the parallelism
//! timeline (one lane per thread: threads taking turns under the GIL, or
//! running side by side without it), tells what each thread was doing
//! (running, waiting for a core, on a lock, on I/O: `run::thread_states`)
//! and gives the tree's peak memory.
//!
//! Memory is the workload's own: the tree's proportional set size (PSS, from
//! `smaps_rollup`, pages shared after `fork` divided among the sharers), the
//! summed RSS beside it, and each process's own high-water mark (`VmHWM`,
//! which `exec` resets, unlike `ru_maxrss`, which carries the RSS of the
//! gil-lab that forked the child). `smaps_rollup` walks the page tables (about
//! 0.4 ms for a 100 MiB process here), so each process's is read at most
//! every [`PSS_COST_FACTOR`] × (processes) times its reading cost; in
//! between, a process's PSS is its RSS (from `stat`, read every sample) minus
//! its shared excess (RSS - PSS) at the last reading. PSS also divides the
//! pages a process shares with programs outside the tree (libc, the Python
//! executable another Python on the machine runs), which would make the
//! figure depend on what else runs: the root's shared excess while it is the
//! tree's only process (before any worker exists, all its sharing is with
//! outsiders) is added back, so a single-process trial's memory is its RSS.
//!
//! /proc is read directly rather than through the `procfs` crate: the sampler
//! must cost under 1% of a trial, and that budget (100 µs per sample at 100 Hz)
//! only fits when the few files it needs stay open and are re-read with
//! `pread` from offset 0 (procfs regenerates them on every read), which a crate
//! that opens and fully parses a file per call does not allow. Kept-open files
//! are also safe against pid reuse: a file of /proc/<pid>/ belongs to that
//! task, and reads fail once it is gone.
//!
//! Per-thread CPU comes from `/proc/<pid>/task/<tid>/schedstat` (nanoseconds
//! on CPU), not from `stat`'s utime+stime, which count 10 ms clock ticks and
//! would make every 10 ms interval read as 0% or 100%.

use std::collections::HashMap;
use std::fs::File;
use std::path::PathBuf;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use proc_files::{
    PidLister, is_process, parse_blocking_call, parse_kib_line, parse_last_pid, parse_schedstat,
    parse_stat, reread,
};

use crate::run::thread_states::Seen;

mod proc_files;

pub use crate::run::timeline::{Lane, LaneKind, ProcessSeen, SamplerReport};

/// Default time between two samples: 100 Hz.
pub const DEFAULT_INTERVAL: Duration = Duration::from_millis(10);

/// How often (in samples) thread names are read again: a thread may name
/// itself after it starts (Python 3.14 sets the OS thread name), and reading
/// every name at every sample would cost more than the CPU times do.
const NAME_REFRESH_SAMPLES: u32 = 20;

/// A process's `smaps_rollup` is read again only after this many times as
/// long as its last reading took, times the number of processes tracked: all
/// readings together cost at most 1/1000 (0.1%) of a core, whatever the
/// processes' sizes.
const PSS_COST_FACTOR: u32 = 1000;

/// How often (in samples) each process's `VmHWM` is read. The mark never
/// goes down, so reading it now and then loses only what grew in a
/// process's last few samples (the runner reports its own at its end), and
/// `status` is the costliest file read every sample otherwise.
const HWM_REFRESH_SAMPLES: u32 = 5;

/// A running sampler thread; [`Sampler::stop`] ends it and returns its report.
pub struct Sampler {
    stop: mpsc::Sender<()>,
    handle: JoinHandle<SamplerReport>,
}

impl Sampler {
    /// Starts sampling the tree of `root` (a process that leads its own
    /// process group), with times measured from `origin` (the spawn).
    ///
    /// The tree is the root's process group plus any process whose parent is
    /// in the tree (so a worker that calls `setsid` is still seen).
    pub fn start(root: u32, origin: Instant, interval: Duration) -> Result<Sampler> {
        let (stop, stop_rx) = mpsc::channel();
        let interval = interval.max(Duration::from_millis(1));
        let handle = std::thread::Builder::new()
            .name("gil-lab-sampler".into())
            // At gil-lab's own priority: at nice 19 the kernel's EEVDF
            // scheduler (Linux 6.6+) starved the sampler on a loaded machine
            // (2 samples in 500 ms at load 8 on 2 cores), and thread states
            // need samples on time. It costs under 1% of a core either way.
            .spawn(move || {
                let mut state = State::new(root, origin, interval);
                state.run(&stop_rx);
                state.finish()
            })
            .context("cannot start the sampler thread")?;
        Ok(Sampler { stop, handle })
    }

    /// Stops the sampler and returns what it saw.
    pub fn stop(self) -> SamplerReport {
        // A send error means the thread has already ended, which is fine.
        let _ = self.stop.send(());
        // The sampler thread does not panic on bad /proc data (it skips it);
        // if it did anyway, an empty report is more useful than a crash.
        self.handle.join().unwrap_or_default()
    }
}

/// CPU time of the calling thread, seconds.
fn thread_cpu_s() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return 0.0;
    }
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

/// Bytes per page and clock ticks per second, for `stat`'s rss and utime.
fn page_size_and_ticks() -> (u64, f64) {
    // SAFETY: sysconf has no preconditions.
    let (page, ticks) = unsafe {
        (
            libc::sysconf(libc::_SC_PAGESIZE),
            libc::sysconf(libc::_SC_CLK_TCK),
        )
    };
    (
        if page > 0 { page as u64 } else { 4096 },
        if ticks > 0 { ticks as f64 } else { 100.0 },
    )
}

struct TrackedThread {
    schedstat: File,
    /// The thread's `stat`, for its state letter.
    stat: Option<File>,
    /// The thread's `syscall`, read when it is blocked: opened at the first
    /// need; `Err(())` once it could not be.
    syscall: Option<Result<File, ()>>,
    dir: PathBuf,
    comm_path: PathBuf,
    lane: usize,
    last_cpu_ns: u64,
    last_delay_ns: u64,
}

impl TrackedThread {
    /// What the thread is doing now, from its state letter and, when it is
    /// blocked, the system call it is blocked in.
    fn seen(&mut self, buf: &mut [u8]) -> Seen {
        let Some(state) = self
            .stat
            .as_ref()
            .and_then(|f| reread(f, buf))
            .and_then(parse_stat)
            .map(|s| s.state)
        else {
            return Seen::Unknown;
        };
        match state {
            b'R' => Seen::Runnable,
            b'S' | b'D' => {
                let file = self
                    .syscall
                    .get_or_insert_with(|| File::open(self.dir.join("syscall")).map_err(|_| ()));
                match file.as_ref().ok().and_then(|f| reread(f, buf)) {
                    Some(text) => parse_blocking_call(text),
                    None => Seen::Other,
                }
            }
            _ => Seen::Other,
        }
    }
}

struct TrackedProcess {
    stat: File,
    /// `status`, for `VmHWM`.
    status: Option<File>,
    /// `smaps_rollup`, for PSS (absent on kernels before 4.14).
    smaps_rollup: Option<File>,
    /// RSS - PSS at the last `smaps_rollup` reading, bytes.
    shared_excess: u64,
    /// When `smaps_rollup` may be read again.
    next_pss_reading: Instant,
    /// Index in the report's `processes`.
    index: usize,
    threads: HashMap<u32, TrackedThread>,
    /// The task directory must be listed again: the process has threads the
    /// sampler does not know yet (`num_threads` in `stat` differs).
    rescan_threads: bool,
}

struct State {
    root: u32,
    origin: Instant,
    interval: Duration,
    page_size: u64,
    ticks_per_s: f64,
    /// `/proc/loadavg`: its last field is the most recently allocated pid.
    /// Pids are handed out in increasing order (wrapping at `pid_max`), so
    /// the pids created since the last sample are those after the last value
    /// seen, up to the new one: only they can be new members of the tree.
    loadavg: Option<File>,
    /// The last pid allocated, at the last sample.
    last_pid: Option<u32>,
    /// Largest pid + 1 (`/proc/sys/kernel/pid_max`).
    pid_max: u32,
    /// Lists /proc when too many pids were created to probe them one by one.
    lister: Option<PidLister>,
    listing: Vec<u32>,
    processes: HashMap<u32, TrackedProcess>,
    /// The root's shared excess (RSS - PSS) while it was the tree's only
    /// process: pages it shares with processes outside the tree (shared
    /// libraries, other Pythons on the machine), counted in full.
    outside_excess: u64,
    report: SamplerReport,
    started: Instant,
    cpu_at_start: f64,
    buf: Vec<u8>,
}

impl State {
    fn new(root: u32, origin: Instant, interval: Duration) -> State {
        let (page_size, ticks_per_s) = page_size_and_ticks();
        State {
            root,
            origin,
            interval,
            page_size,
            ticks_per_s,
            loadavg: File::open("/proc/loadavg").ok(),
            last_pid: None,
            pid_max: std::fs::read_to_string("/proc/sys/kernel/pid_max")
                .ok()
                .and_then(|s| s.trim().parse().ok())
                .unwrap_or(1 << 22),
            lister: PidLister::open(),
            listing: Vec::new(),
            processes: HashMap::new(),
            outside_excess: 0,
            report: SamplerReport {
                interval_s: interval.as_secs_f64(),
                ..SamplerReport::default()
            },
            started: Instant::now(),
            cpu_at_start: thread_cpu_s(),
            buf: vec![0; 4096],
        }
    }

    /// Samples on a fixed schedule (no drift) until told to stop.
    fn run(&mut self, stop: &mpsc::Receiver<()>) {
        let mut next = Instant::now();
        loop {
            self.sample();
            next += self.interval;
            let now = Instant::now();
            if next < now {
                // Fell behind (the machine is overloaded): skip the missed
                // samples rather than firing a burst of them.
                next = now + self.interval;
            }
            match stop.recv_timeout(next - now) {
                Err(RecvTimeoutError::Timeout) => {}
                Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
            }
        }
    }

    fn finish(mut self) -> SamplerReport {
        let ran_s = self.started.elapsed().as_secs_f64();
        let report = &mut self.report;
        report.samples = report.sample_times_us.len() as u32;
        if let (Some(first), Some(last)) = (
            report.sample_times_us.first(),
            report.sample_times_us.last(),
        ) && report.samples > 1
        {
            report.mean_interval_s = (last - first) as f64 * 1e-6 / f64::from(report.samples - 1);
        }
        report.peak_memory_bytes = report.memory_bytes.iter().copied().max().unwrap_or(0);
        report.peak_rss_bytes = report.rss_bytes.iter().copied().max().unwrap_or(0);
        report.cpu_s = (thread_cpu_s() - self.cpu_at_start).max(0.0);
        report.overhead = if ran_s > 0.0 {
            report.cpu_s / ran_s
        } else {
            0.0
        };
        self.report
    }

    /// The last pid allocated on the system, from `/proc/loadavg`.
    fn read_last_pid(&mut self) -> Option<u32> {
        parse_last_pid(reread(self.loadavg.as_ref()?, &mut self.buf)?)
    }

    fn sample(&mut self) {
        let index = self.report.sample_times_us.len() as u32;
        let last_pid = self.read_last_pid();
        match (self.last_pid, last_pid) {
            // Nothing was created anywhere since the last sample.
            (Some(before), Some(now)) if before == now => {}
            // Pids created since the last sample (the root's, at the first).
            (before, Some(now)) => {
                let after = before.unwrap_or(self.root.saturating_sub(1));
                self.discover_processes(after, now, index);
            }
            // Cannot tell what is new: look at everything.
            (_, None) => self.discover_processes(0, u32::MAX - 1, index),
        }
        self.last_pid = last_pid;
        // The time of the sample is taken after the (occasionally slow)
        // discovery, right before the CPU times are read, so that each
        // interval's CPU is divided by the interval it was used in.
        let t_us = self.origin.elapsed().as_micros() as u64;
        let now = Instant::now();
        let mut memory = 0u64;
        let mut rss_sum = 0u64;
        let mut gone = Vec::new();
        let pss_factor = PSS_COST_FACTOR * (self.processes.len().max(1) as u32);
        let alone = self.processes.len() == 1;
        for (&pid, process) in self.processes.iter_mut() {
            let Some(stat) = reread(&process.stat, &mut self.buf).and_then(parse_stat) else {
                gone.push(pid);
                continue;
            };
            if process.rescan_threads {
                discover_threads(pid, process, &mut self.report.lanes, index);
            }
            let rss = stat.rss_pages * self.page_size;
            rss_sum += rss;
            let seen = &mut self.report.processes[process.index];
            seen.last_sample = index;
            seen.peak_rss_bytes = seen.peak_rss_bytes.max(rss);
            seen.cpu_s = stat.cpu_ticks as f64 / self.ticks_per_s;
            if seen.name.as_bytes() != stat.name {
                seen.name = String::from_utf8_lossy(stat.name).into_owned();
            }
            let num_threads = stat.num_threads;
            if now >= process.next_pss_reading
                && let Some(file) = &process.smaps_rollup
            {
                let began = Instant::now();
                if let Some(text) = reread(file, &mut self.buf)
                    && let (Some(pss), Some(rss_then)) =
                        (parse_kib_line(text, b"Pss:"), parse_kib_line(text, b"Rss:"))
                {
                    process.shared_excess = rss_then.saturating_sub(pss);
                    if alone && pid == self.root {
                        self.outside_excess = process.shared_excess;
                    }
                    seen.peak_pss_bytes = seen.peak_pss_bytes.max(pss);
                    self.report.pss_readings += 1;
                }
                process.next_pss_reading =
                    began + (began.elapsed() * pss_factor).max(self.interval);
            }
            memory += rss.saturating_sub(process.shared_excess);
            let hwm_due = (index - seen.first_sample).is_multiple_of(HWM_REFRESH_SAMPLES);
            if hwm_due
                && let Some(hwm) = process
                    .status
                    .as_ref()
                    .and_then(|f| reread(f, &mut self.buf))
                    .and_then(|text| parse_kib_line(text, b"VmHWM:"))
            {
                seen.high_water_mark_bytes = seen.high_water_mark_bytes.max(hwm);
            }
            process.threads.retain(|_, thread| {
                let Some((cpu_ns, delay_ns)) =
                    reread(&thread.schedstat, &mut self.buf).and_then(parse_schedstat)
                else {
                    return false;
                };
                let seen = thread.seen(&mut self.buf);
                let lane = &mut self.report.lanes[thread.lane];
                let micros = |now: u64, before: u64| {
                    u32::try_from(now.saturating_sub(before) / 1000).unwrap_or(u32::MAX)
                };
                lane.cpu_us.push(micros(cpu_ns, thread.last_cpu_ns));
                lane.core_wait_us
                    .push(micros(delay_ns, thread.last_delay_ns));
                lane.seen.push(seen.letter());
                lane.cpu_s = cpu_ns as f64 * 1e-9;
                thread.last_cpu_ns = cpu_ns;
                thread.last_delay_ns = delay_ns;
                true
            });
            // A thread created since this sample's listing, or one that
            // ended and was replaced, shows as a different count: list the
            // task directory again at the next sample.
            process.rescan_threads = num_threads != process.threads.len();
        }
        for pid in gone {
            self.processes.remove(&pid);
        }
        self.report.sample_times_us.push(t_us);
        self.report.memory_bytes.push(if memory > 0 {
            memory + self.outside_excess
        } else {
            0
        });
        self.report.rss_bytes.push(rss_sum);
        if index.is_multiple_of(NAME_REFRESH_SAMPLES) {
            self.refresh_thread_names();
        }
    }

    /// Reads every tracked thread's name again (after the CPU times, so as
    /// not to delay them).
    fn refresh_thread_names(&mut self) {
        for process in self.processes.values() {
            for thread in process.threads.values() {
                if let Ok(name) = std::fs::read_to_string(&thread.comm_path) {
                    let name = name.trim_end();
                    let lane = &mut self.report.lanes[thread.lane];
                    if lane.name != name {
                        lane.name = name.to_string();
                    }
                }
            }
        }
    }

    /// Finds processes of the tree not tracked yet among the pids allocated
    /// after `after` up to `last` (wrapping around at `pid_max`): the root,
    /// members of its process group, and children of tracked processes.
    fn discover_processes(&mut self, after: u32, last: u32, index: u32) {
        // Pids in the (cyclic) range, without the tracked ones. Probing each
        // pid costs a failed or short `open`; past a few hundred, one listing
        // of /proc is cheaper.
        const MAX_PROBES: u32 = 256;
        let in_range = |pid: u32| {
            if after < last {
                pid > after && pid <= last
            } else {
                pid > after || pid <= last
            }
        };
        let count = if after < last {
            last - after
        } else {
            (self.pid_max.saturating_sub(after)).saturating_add(last)
        };
        let mut candidates = Vec::new();
        if count <= MAX_PROBES {
            let mut pid = after;
            for _ in 0..count {
                pid = if pid + 1 >= self.pid_max { 1 } else { pid + 1 };
                candidates.push(pid);
            }
        } else if let Some(lister) = &mut self.lister
            && lister.list(&mut self.listing)
        {
            candidates.extend(self.listing.iter().copied().filter(|&pid| in_range(pid)));
        }
        candidates.retain(|pid| !self.processes.contains_key(pid));
        // Parents come before their children in pid order (except after a
        // wrap-around), so one pass finds whole new subtrees.
        candidates.sort_unstable();
        for pid in candidates {
            let Ok(file) = File::open(format!("/proc/{pid}/stat")) else {
                continue;
            };
            let Some(stat) = reread(&file, &mut self.buf).and_then(parse_stat) else {
                continue;
            };
            let in_tree = pid == self.root
                || stat.pgrp == self.root
                || self.processes.contains_key(&stat.ppid);
            // A probed pid may be a new thread, which /proc also answers
            // for; threads are found through their process.
            if !in_tree || !is_process(pid) {
                continue;
            }
            let mut process = TrackedProcess {
                stat: file,
                status: File::open(format!("/proc/{pid}/status")).ok(),
                smaps_rollup: File::open(format!("/proc/{pid}/smaps_rollup")).ok(),
                shared_excess: 0,
                next_pss_reading: Instant::now(),
                index: self.report.processes.len(),
                threads: HashMap::new(),
                rescan_threads: true,
            };
            self.report.processes.push(ProcessSeen {
                pid,
                ppid: stat.ppid,
                name: String::from_utf8_lossy(stat.name).into_owned(),
                first_sample: index,
                last_sample: index,
                peak_rss_bytes: 0,
                high_water_mark_bytes: 0,
                peak_pss_bytes: 0,
                cpu_s: 0.0,
            });
            discover_threads(pid, &mut process, &mut self.report.lanes, index);
            self.processes.insert(pid, process);
        }
    }
}

/// Starts tracking the threads of a process not tracked yet.
fn discover_threads(pid: u32, process: &mut TrackedProcess, lanes: &mut Vec<Lane>, index: u32) {
    process.rescan_threads = false;
    let task_dir = PathBuf::from(format!("/proc/{pid}/task"));
    let Ok(entries) = std::fs::read_dir(&task_dir) else {
        return;
    };
    for entry in entries.flatten() {
        let Some(tid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        if process.threads.contains_key(&tid) {
            continue;
        }
        let dir = task_dir.join(tid.to_string());
        let Ok(schedstat) = File::open(dir.join("schedstat")) else {
            continue;
        };
        let comm_path = dir.join("comm");
        let name = std::fs::read_to_string(&comm_path)
            .map(|s| s.trim_end().to_string())
            .unwrap_or_default();
        process.threads.insert(
            tid,
            TrackedThread {
                schedstat,
                stat: File::open(dir.join("stat")).ok(),
                syscall: None,
                dir,
                comm_path,
                lane: lanes.len(),
                last_cpu_ns: 0,
                last_delay_ns: 0,
            },
        );
        lanes.push(Lane {
            pid,
            tid,
            name,
            kind: if tid == pid {
                LaneKind::Process
            } else {
                LaneKind::Thread
            },
            first_sample: index,
            cpu_us: Vec::new(),
            cpu_s: 0.0,
            core_wait_us: Vec::new(),
            seen: String::new(),
        });
    }
}

#[cfg(test)]
mod tests;
