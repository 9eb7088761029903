//! What the sampler saw of a trial's process tree, as stored with the trial
//! (`TrialRecord::timeline`): the per-thread CPU timeline and thread states,
//! memory over time (PSS and RSS) and the processes seen. `bench`'s sampler
//! fills it in; the dashboard draws it, [`super::thread_states`] reads the
//! states.

use serde::{Deserialize, Serialize};

/// What the sampler saw of one trial's process tree.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SamplerReport {
    /// Requested time between samples, seconds.
    pub interval_s: f64,
    /// Number of samples taken.
    pub samples: u32,
    /// Actual mean time between samples, seconds (0 with fewer than 2 samples).
    pub mean_interval_s: f64,
    /// Time of each sample, microseconds since the trial's spawn.
    pub sample_times_us: Vec<u64>,
    /// CLOCK_MONOTONIC seconds at the trial's spawn (the sampler's time 0):
    /// places the runner's task times (`clock_t0`-relative) on this timeline.
    #[serde(default)]
    pub started_monotonic_s: f64,
    /// Memory of the whole tree at each sample, bytes: the sum over its
    /// processes of their proportional set size (PSS, from `smaps_rollup`),
    /// so that pages shared between processes (after `fork`, or a library)
    /// count once in total. `smaps_rollup` is costly to read, so it is read
    /// now and then per process; in between, a process's PSS is its current
    /// RSS minus its shared excess (RSS - PSS) at the last reading. The
    /// pages the root shares with programs outside the tree (its shared
    /// excess while it was the only process: libraries, the Python
    /// executable of another Python running) are counted in full, so that
    /// the figure does not depend on what else runs on the machine: a
    /// single-process trial's memory is its RSS.
    pub memory_bytes: Vec<u64>,
    /// Peak of `memory_bytes`: the tree's peak PSS, bytes. This is the
    /// trial's "memory".
    pub peak_memory_bytes: u64,
    /// Summed resident memory (RSS) of the tree at each sample, bytes: pages
    /// shared between processes count once per process, as `ps` shows them.
    #[serde(default)]
    pub rss_bytes: Vec<u64>,
    /// Peak of `rss_bytes`, bytes.
    #[serde(default)]
    pub peak_rss_bytes: u64,
    /// How many times `smaps_rollup` was read (over all processes).
    #[serde(default)]
    pub pss_readings: u32,
    /// One lane per thread of every process seen, in order of discovery.
    pub lanes: Vec<Lane>,
    /// Every process of the tree seen, in order of discovery.
    pub processes: Vec<ProcessSeen>,
    /// CPU time the sampler thread itself used, seconds.
    pub cpu_s: f64,
    /// The sampler's CPU time ÷ the time it ran (its overhead on one core).
    pub overhead: f64,
}

impl SamplerReport {
    /// Cores busy per interval (sum of the lanes' CPU ÷ the interval's
    /// length): the parallelism timeline. One value per sample after the
    /// first; 2.0 means two cores busy.
    pub fn parallelism_timeline(&self) -> Vec<f64> {
        let times = &self.sample_times_us;
        let mut cpu_us = vec![0u64; times.len()];
        for lane in &self.lanes {
            for (k, &delta) in lane.cpu_us.iter().enumerate() {
                if let Some(slot) = cpu_us.get_mut(lane.first_sample as usize + k) {
                    *slot += u64::from(delta);
                }
            }
        }
        (1..times.len())
            .map(|i| cpu_us[i] as f64 / times[i].saturating_sub(times[i - 1]).max(1) as f64)
            .collect()
    }
}

/// One thread of the tree over time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Lane {
    /// Process id of the thread's process.
    pub pid: u32,
    /// Thread id (equal to `pid` for a process's main thread).
    pub tid: u32,
    /// The thread's name (`comm`, at most 15 bytes), last value seen.
    pub name: String,
    /// The main thread of its process, or another thread.
    pub kind: LaneKind,
    /// Index of the first sample that saw the thread.
    pub first_sample: u32,
    /// CPU microseconds the thread used in each interval, from `first_sample`
    /// on: `cpu_us[k]` is the CPU used up to sample `first_sample + k` since
    /// the sample before it (for `k = 0`: since the thread started). The last
    /// sample that saw the thread is `first_sample + cpu_us.len() - 1`.
    pub cpu_us: Vec<u32>,
    /// CPU time of the thread when last seen, seconds.
    pub cpu_s: f64,
    /// Microseconds the thread spent runnable but waiting for a core in
    /// each interval (growth of `run_delay` in `schedstat`), aligned with
    /// `cpu_us`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub core_wait_us: Vec<u32>,
    /// What the thread was doing at each sample, one letter per sample
    /// aligned with `cpu_us` (see [`super::thread_states::Seen`]): `R`
    /// runnable (on a core or waiting for one), `L` blocked in a futex (a
    /// lock: the GIL under the GIL), `I` blocked in an I/O, poll or sleep
    /// call, `O` blocked in anything else, `?` unknown.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub seen: String,
}

/// Whether a lane is a process's main thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LaneKind {
    /// The thread that started the process (its tid is the pid): for a
    /// single-threaded worker process, the whole process.
    Process,
    /// Another thread of the process.
    Thread,
}

/// One process of the tree.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProcessSeen {
    /// Process id.
    pub pid: u32,
    /// Parent process id when first seen.
    pub ppid: u32,
    /// Process name (`comm`), last value seen.
    pub name: String,
    /// Index of the first sample that saw it.
    pub first_sample: u32,
    /// Index of the last sample that saw it.
    pub last_sample: u32,
    /// Largest resident memory seen, bytes.
    pub peak_rss_bytes: u64,
    /// The process's own high-water mark of resident memory (`VmHWM` in
    /// `/proc/PID/status`, which `exec` resets), at the last sample, bytes.
    #[serde(default)]
    pub high_water_mark_bytes: u64,
    /// Largest PSS read from `smaps_rollup`, bytes.
    #[serde(default)]
    pub peak_pss_bytes: u64,
    /// CPU time (user + system, every thread including finished ones) when
    /// last seen, seconds; 10 ms resolution.
    pub cpu_s: f64,
}
