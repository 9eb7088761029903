//! Thread states: what each thread of a trial was doing, interval by
//! interval, told apart from outside through /proc: **running** (on a core),
//! **waiting for a core** (runnable, but the cores were busy), **waiting on a
//! lock** (blocked in a futex: under the GIL, the GIL; on a free-threaded
//! build, per-object locks and other mutexes), **waiting on I/O** (blocked in
//! a socket, poll, read/write or sleep call) and **other**.
//!
//! The sampler stores per thread and interval the CPU time and the run-queue
//! wait (`schedstat`) and what the thread was seen doing at the sample
//! ([`Seen`], from `stat` and `syscall`). An interval's time splits into
//! running (CPU), waiting for a core (`run_delay` growth) and the rest,
//! blocked, which is put down to the blocking call seen at that sample, or
//! at a neighbouring one when the thread was runnable right then (a thread
//! taking turns on the GIL every 5 ms is often caught running while half of
//! its interval was spent waiting for the lock). The **lock-wait share** of a
//! cell is the share of its worker threads' time spent waiting on a lock
//! during the work phase.

use serde::{Deserialize, Serialize};

use crate::protocol::RunnerReport;

use super::timeline::{Lane, SamplerReport};

/// What a thread was doing during an interval.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ThreadState {
    /// On a core.
    Running,
    /// Runnable, waiting for a free core.
    CoreWait,
    /// Blocked in a futex: waiting on a lock (under the GIL, the GIL).
    LockWait,
    /// Blocked in a socket, poll/epoll/select, read/write or sleep call.
    IoWait,
    /// Blocked in anything else, or not known.
    Other,
}

impl ThreadState {
    /// Every state, in the order of [`StateTimes`] and of the legend.
    pub const ALL: [ThreadState; 5] = [
        ThreadState::Running,
        ThreadState::CoreWait,
        ThreadState::LockWait,
        ThreadState::IoWait,
        ThreadState::Other,
    ];

    /// The words for it: `waiting on a lock`.
    pub fn words(self) -> &'static str {
        match self {
            ThreadState::Running => "running",
            ThreadState::CoreWait => "waiting for a core",
            ThreadState::LockWait => "waiting on a lock",
            ThreadState::IoWait => "waiting on I/O",
            ThreadState::Other => "other",
        }
    }

    /// One line for a reader who never heard of the GIL.
    pub fn explanation(self) -> &'static str {
        match self {
            ThreadState::Running => "the thread was executing on a CPU core",
            ThreadState::CoreWait => {
                "the thread was ready to run, but every core was busy with other work"
            }
            ThreadState::LockWait => {
                "the thread was blocked until another thread released a lock; under the GIL this is the GIL: only one thread may run Python code at a time"
            }
            ThreadState::IoWait => {
                "the thread was blocked waiting for the network, a file, a timer or a sleep"
            }
            ThreadState::Other => {
                "blocked for another reason (e.g. the kernel mapping memory, or waiting for a child process), or not known"
            }
        }
    }

    /// CSS colour of the state, the same in every view.
    pub fn color(self) -> &'static str {
        match self {
            ThreadState::Running => "#16a34a",
            ThreadState::CoreWait => "#f59e0b",
            ThreadState::LockWait => "#dc2626",
            ThreadState::IoWait => "#2563eb",
            ThreadState::Other => "#cbd5e1",
        }
    }

    fn slot(self) -> usize {
        ThreadState::ALL
            .iter()
            .position(|&s| s == self)
            .unwrap_or(4)
    }
}

/// What the sampler saw a thread doing at a sample (one letter per sample in
/// [`Lane::seen`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Seen {
    /// `R`: runnable (on a core or waiting for one).
    Runnable,
    /// `L`: blocked in a futex.
    Lock,
    /// `I`: blocked in an I/O, poll or sleep call.
    Io,
    /// `O`: blocked in another call, or stopped.
    Other,
    /// `?`: not read (the thread's files could not be read).
    Unknown,
}

impl Seen {
    /// The letter stored.
    pub fn letter(self) -> char {
        match self {
            Seen::Runnable => 'R',
            Seen::Lock => 'L',
            Seen::Io => 'I',
            Seen::Other => 'O',
            Seen::Unknown => '?',
        }
    }

    /// The value of a stored letter.
    pub fn from_letter(letter: u8) -> Seen {
        match letter {
            b'R' => Seen::Runnable,
            b'L' => Seen::Lock,
            b'I' => Seen::Io,
            b'O' => Seen::Other,
            _ => Seen::Unknown,
        }
    }

    /// The state blocked time is put down to, when the thread was blocked.
    fn blocked_state(self) -> Option<ThreadState> {
        match self {
            Seen::Lock => Some(ThreadState::LockWait),
            Seen::Io => Some(ThreadState::IoWait),
            Seen::Other => Some(ThreadState::Other),
            Seen::Runnable | Seen::Unknown => None,
        }
    }
}

/// Microseconds spent in each state, in the order of [`ThreadState::ALL`].
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct StateTimes(pub [f64; 5]);

impl StateTimes {
    /// Time in `state`, microseconds.
    pub fn of(&self, state: ThreadState) -> f64 {
        self.0[state.slot()]
    }

    /// All states together, microseconds.
    pub fn total(&self) -> f64 {
        self.0.iter().sum()
    }

    /// Adds `other` scaled by `weight`.
    pub fn add(&mut self, other: &StateTimes, weight: f64) {
        for (a, b) in self.0.iter_mut().zip(other.0) {
            *a += b * weight;
        }
    }

    /// The state with the most time (the first of equals, so running wins a
    /// tie).
    pub fn dominant(&self) -> ThreadState {
        let mut best = 0;
        for (i, &t) in self.0.iter().enumerate() {
            if t > self.0[best] {
                best = i;
            }
        }
        ThreadState::ALL[best]
    }

    /// As shares of the total; `None` when no time was seen.
    pub fn shares(&self) -> Option<StateShares> {
        let total = self.total();
        (total > 0.0).then(|| StateShares {
            running: self.of(ThreadState::Running) / total,
            core_wait: self.of(ThreadState::CoreWait) / total,
            lock_wait: self.of(ThreadState::LockWait) / total,
            io_wait: self.of(ThreadState::IoWait) / total,
            other: self.of(ThreadState::Other) / total,
            thread_s: total * 1e-6,
        })
    }
}

/// Shares of thread-time in each state (they add up to 1).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct StateShares {
    /// Running on a core.
    pub running: f64,
    /// Runnable, waiting for a free core.
    pub core_wait: f64,
    /// Waiting on a lock (under the GIL: the GIL). The lock-wait share.
    pub lock_wait: f64,
    /// Waiting on I/O (network, files, timers, sleep).
    pub io_wait: f64,
    /// Blocked otherwise, or not known.
    pub other: f64,
    /// The thread-time these shares are of, seconds.
    pub thread_s: f64,
}

impl StateShares {
    /// The share of `state`.
    pub fn of(&self, state: ThreadState) -> f64 {
        match state {
            ThreadState::Running => self.running,
            ThreadState::CoreWait => self.core_wait,
            ThreadState::LockWait => self.lock_wait,
            ThreadState::IoWait => self.io_wait,
            ThreadState::Other => self.other,
        }
    }

    /// The mean of several trials' shares (each trial weighs the same).
    pub fn mean(all: &[StateShares]) -> Option<StateShares> {
        if all.is_empty() {
            return None;
        }
        let n = all.len() as f64;
        let avg = |f: fn(&StateShares) -> f64| all.iter().map(f).sum::<f64>() / n;
        Some(StateShares {
            running: avg(|s| s.running),
            core_wait: avg(|s| s.core_wait),
            lock_wait: avg(|s| s.lock_wait),
            io_wait: avg(|s| s.io_wait),
            other: avg(|s| s.other),
            thread_s: avg(|s| s.thread_s),
        })
    }
}

/// How many samples away from an interval its blocked time may be put down
/// to a blocking call seen (10 samples: 100 ms at 100 Hz).
const NEIGHBOURS: usize = 10;

/// Start and end (microseconds since spawn) of sample interval `i`: it ends
/// at sample `i` and starts at the sample before (at the spawn for `i = 0`).
pub fn interval_span(report: &SamplerReport, i: usize) -> Option<(u64, u64)> {
    let end = *report.sample_times_us.get(i)?;
    let start = if i == 0 {
        0
    } else {
        report.sample_times_us[i - 1]
    };
    Some((start, end))
}

/// The time a lane spent in each state during its `k`-th interval (sample
/// `first_sample + k`), `span_us` long, for drawing: never negative, adding
/// up to the interval.
pub fn interval_times(lane: &Lane, k: usize, span_us: f64) -> StateTimes {
    let mut times = raw_interval_times(lane, k, span_us);
    let busy = times.0[0] + times.0[1];
    if busy >= span_us {
        let scale = if busy > 0.0 {
            span_us.max(0.0) / busy
        } else {
            0.0
        };
        times = StateTimes([times.0[0] * scale, times.0[1] * scale, 0.0, 0.0, 0.0]);
    }
    times
}

/// The same, as counted: the kernel adds a thread's CPU time and run-queue
/// wait to its counters late (at the next tick, or when the wait ends), so
/// one interval can show less than it had and the next more than its length.
/// The blocked time here is then negative, and sums over several intervals
/// even it out; [`lane_times`] clamps only the totals.
fn raw_interval_times(lane: &Lane, k: usize, span_us: f64) -> StateTimes {
    let cpu = lane.cpu_us.get(k).map_or(0.0, |&c| f64::from(c));
    let wait = lane.core_wait_us.get(k).map_or(0.0, |&c| f64::from(c));
    let mut times = StateTimes::default();
    times.0[0] = cpu;
    times.0[1] = wait;
    let seen = |k: usize| {
        lane.seen
            .as_bytes()
            .get(k)
            .map_or(Seen::Unknown, |&b| Seen::from_letter(b))
    };
    // The blocking call seen at this sample, else at the nearest sample
    // before or after (up to NEIGHBOURS away, the one before first): a
    // thread caught runnable was blocked on what it was blocked on just
    // before (or just after).
    let blocked = (0..=NEIGHBOURS)
        .find_map(|d| {
            k.checked_sub(d)
                .and_then(|p| seen(p).blocked_state())
                .or_else(|| seen(k + d).blocked_state())
        })
        .unwrap_or(ThreadState::Other);
    times.0[blocked.slot()] += span_us - cpu - wait;
    times
}

/// The time a lane spent in each state between `from_us` and `to_us`
/// (microseconds since spawn); intervals at the edges count in proportion.
pub fn lane_times(report: &SamplerReport, lane: &Lane, from_us: f64, to_us: f64) -> StateTimes {
    let mut total = StateTimes::default();
    for k in 0..lane.cpu_us.len() {
        let Some((a, b)) = interval_span(report, lane.first_sample as usize + k) else {
            break;
        };
        let (a, b) = (a as f64, b as f64);
        let overlap = (b.min(to_us) - a.max(from_us)).max(0.0);
        if overlap <= 0.0 || b <= a {
            continue;
        }
        total.add(&raw_interval_times(lane, k, b - a), overlap / (b - a));
    }
    // The late counting evens out over the window, except at its edges.
    let span = (to_us - from_us).max(0.0);
    for t in &mut total.0 {
        *t = t.max(0.0);
    }
    let busy = total.0[0] + total.0[1];
    if busy > span && busy > 0.0 {
        total = StateTimes([
            total.0[0] * span / busy,
            total.0[1] * span / busy,
            0.0,
            0.0,
            0.0,
        ]);
    }
    total
}

/// The work phase on the sampler's clock (microseconds since spawn), from
/// the runner's first task start to its last task end.
pub fn work_window(report: &SamplerReport, runner: &RunnerReport) -> Option<(f64, f64)> {
    let start = runner.tasks.iter().map(|t| t.start).reduce(f64::min)?;
    let end = runner.tasks.iter().map(|t| t.end).reduce(f64::max)?;
    let offset = runner.clock_t0 - report.started_monotonic_s;
    Some(((offset + start) * 1e6, (offset + end) * 1e6))
}

/// The threads that ran agent tasks (the runner names each task's thread
/// id), each with its own working window on the sampler's clock
/// (microseconds since spawn): from the start of its first task to the end
/// of its last, so that a worker waiting for its first task, or idle after
/// its last while another finishes, is not counted as waiting on a lock (it
/// waits on the task queue's lock then). Without thread ids: every lane,
/// over the whole work phase.
pub fn worker_lanes<'a>(
    report: &'a SamplerReport,
    runner: &RunnerReport,
) -> Vec<(&'a Lane, f64, f64)> {
    let offset = runner.clock_t0 - report.started_monotonic_s;
    let has_tids = runner.tasks.iter().any(|t| t.tid.is_some());
    let Some((from, to)) = work_window(report, runner) else {
        return Vec::new();
    };
    report
        .lanes
        .iter()
        .filter_map(|lane| {
            if !has_tids {
                return Some((lane, from, to));
            }
            let mine = runner.tasks.iter().filter(|t| t.tid == Some(lane.tid));
            let start = mine.clone().map(|t| t.start).reduce(f64::min)?;
            let end = mine.map(|t| t.end).reduce(f64::max)?;
            Some((lane, (offset + start) * 1e6, (offset + end) * 1e6))
        })
        .collect()
}

/// Per worker thread, its shares of its working window: (lane, shares).
pub fn worker_shares<'a>(
    report: &'a SamplerReport,
    runner: &RunnerReport,
) -> Vec<(&'a Lane, StateShares)> {
    worker_lanes(report, runner)
        .into_iter()
        .filter_map(|(lane, from, to)| Some((lane, lane_times(report, lane, from, to).shares()?)))
        .collect()
}

/// The shares of the worker threads' time in each state during the work
/// phase (each over its working window), all worker threads together.
/// `None` without task times, states (a timeline from before states were
/// sampled) or samples in the window.
pub fn work_shares(report: &SamplerReport, runner: &RunnerReport) -> Option<StateShares> {
    let mut total = StateTimes::default();
    for (lane, from, to) in worker_lanes(report, runner) {
        if lane.seen.is_empty() {
            return None;
        }
        total.add(&lane_times(report, lane, from, to), 1.0);
    }
    total.shares()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::timeline::LaneKind;

    fn lane(cpu_us: Vec<u32>, core_wait_us: Vec<u32>, seen: &str) -> Lane {
        Lane {
            pid: 1,
            tid: 2,
            name: String::new(),
            kind: LaneKind::Thread,
            first_sample: 1,
            cpu_us,
            cpu_s: 0.0,
            core_wait_us,
            seen: seen.into(),
        }
    }

    #[test]
    fn an_interval_splits_into_cpu_core_wait_and_the_blocking_call() {
        // Ran 5 ms, waited 1 ms for a core, blocked 4 ms; caught running, so
        // the block is put down to the futex seen at the sample before.
        let l = lane(vec![2_000, 5_000], vec![0, 1_000], "LR");
        let t = interval_times(&l, 1, 10_000.0);
        assert_eq!(t.of(ThreadState::Running), 5_000.0);
        assert_eq!(t.of(ThreadState::CoreWait), 1_000.0);
        assert_eq!(t.of(ThreadState::LockWait), 4_000.0);
        assert_eq!(t.dominant(), ThreadState::Running);
        // Never blocked anywhere: the rest is "other".
        let l = lane(vec![2_000], vec![0], "R");
        assert_eq!(
            interval_times(&l, 0, 10_000.0).of(ThreadState::Other),
            8_000.0
        );
        // Counters past the interval's length are scaled into it.
        let l = lane(vec![12_000], vec![3_000], "R");
        let t = interval_times(&l, 0, 10_000.0);
        assert!((t.total() - 10_000.0).abs() < 1e-9);
    }

    #[test]
    fn shares_of_a_window_count_edges_in_proportion() {
        let report = SamplerReport {
            sample_times_us: vec![0, 10_000, 20_000, 30_000],
            lanes: vec![lane(vec![0, 10_000, 0], vec![0, 0, 0], "RRL")],
            ..SamplerReport::default()
        };
        // Interval 1 (0-10 ms) is idle and unknown, 2 running, 3 on a lock.
        let t = lane_times(&report, &report.lanes[0], 15_000.0, 30_000.0);
        let s = t.shares().unwrap();
        assert!((s.running - 1.0 / 3.0).abs() < 1e-9, "{s:?}");
        assert!((s.lock_wait - 2.0 / 3.0).abs() < 1e-9, "{s:?}");
        let sum = s.running + s.core_wait + s.lock_wait + s.io_wait + s.other;
        assert!((sum - 1.0).abs() < 1e-9);
    }
}
