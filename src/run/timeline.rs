//! What the sampler saw of a trial's process tree, as stored with the trial
//! (`TrialRecord::timeline`): the per-thread CPU timeline, memory over time
//! and the processes seen. `bench`'s sampler fills it in; the dashboard draws
//! it.

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
    /// Resident memory of the whole tree at each sample (sum over its
    /// processes), bytes.
    pub memory_bytes: Vec<u64>,
    /// Peak of the summed resident memory of every process of the tree, bytes
    /// (the maximum of `memory_bytes`; not the largest single process). Pages
    /// shared between processes (after `fork`) count once per process, as
    /// `ps` shows them.
    pub peak_memory_bytes: u64,
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
    /// CPU time (user + system, every thread including finished ones) when
    /// last seen, seconds; 10 ms resolution.
    pub cpu_s: f64,
}
