//! The memory limit of a run (`bench --memory-limit MB`) as recorded: the
//! limit, how the kernel enforced it (a cgroup per trial, or a resource limit
//! on each process), and what it did to each trial. `bench` chooses the way
//! (`kernel_limit`); every view reads it from here, and the run's
//! summary says which cells do not fit ([`OverLimit`]).

use serde::{Deserialize, Serialize};

use super::record::{FailureKind, TrialRecord, TrialStatus};

/// How the kernel held a trial to the memory limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Enforcement {
    /// A cgroup v2 per trial with `memory.max`: the whole process tree,
    /// resident memory (page cache included), killed together on overflow
    /// (`memory.oom.group`).
    CgroupV2,
    /// A cgroup v1 per trial with `memory.limit_in_bytes`: the whole process
    /// tree; the kernel's OOM killer kills a process of it, gil-lab the rest.
    CgroupV1,
    /// `RLIMIT_DATA` set on the trial's first process before `exec` and
    /// inherited by every process it starts: each process on its own, its
    /// data segment and private writable mappings (what it asks for, not what
    /// it touches); an allocation past it fails (`MemoryError`).
    RlimitData,
    /// `RLIMIT_AS` (all of a process's address space), where `RLIMIT_DATA`
    /// does not count `mmap` (Linux before 4.7).
    RlimitAs,
}

impl Enforcement {
    /// Words for the terminal and the dashboard.
    pub fn describe(self) -> &'static str {
        match self {
            Enforcement::CgroupV2 => "a cgroup v2 per trial (memory.max, the whole process tree)",
            Enforcement::CgroupV1 => {
                "a cgroup v1 per trial (memory.limit_in_bytes, the whole process tree)"
            }
            Enforcement::RlimitData => {
                "RLIMIT_DATA on each process (each process on its own, not the tree)"
            }
            Enforcement::RlimitAs => {
                "RLIMIT_AS on each process (each process on its own, not the tree)"
            }
        }
    }

    /// Whether the limit holds for the whole process tree together.
    pub fn whole_tree(self) -> bool {
        matches!(self, Enforcement::CgroupV2 | Enforcement::CgroupV1)
    }
}

/// A run's memory limit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MemoryLimit {
    /// The limit, MB of 2^20 bytes (`--memory-limit`).
    pub mb: u64,
    /// How the kernel enforced it.
    pub enforced_by: Enforcement,
    /// Why a cgroup could not be used, when it was not (for the terminal and
    /// the docs: what to change to get one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_cgroup_because: Option<String>,
}

impl MemoryLimit {
    /// The limit in bytes.
    pub fn bytes(&self) -> u64 {
        self.mb.saturating_mul(1 << 20)
    }

    /// The one line the terminal says about it.
    pub fn sentence(&self) -> String {
        let mut line = format!(
            "Memory limit {} MB, enforced by the kernel: {}",
            self.mb,
            self.enforced_by.describe()
        );
        if let Some(why) = &self.no_cgroup_because {
            line.push_str(&format!("; no cgroup: {why}"));
        }
        if !self.enforced_by.whole_tree() {
            line.push_str(
                " (a free-threaded build may hang instead of raising MemoryError under it: such a trial ends at --timeout)",
            );
        }
        line
    }
}

/// A cell the memory limit stopped at least once: it does not fit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OverLimit {
    /// The limit, MB.
    pub limit_mb: u64,
    /// Its trials the limit stopped (warmups included).
    pub stopped: u32,
    /// Its trials that ran to the end (status ok).
    pub fitted: u32,
    /// The largest peak the kernel saw in a stopped trial's cgroup, bytes
    /// (with a cgroup; absent with an rlimit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_bytes: Option<u64>,
}

impl OverLimit {
    /// What the limit did to one cell's trials; `None` when it never
    /// stopped one (or the run had no limit).
    pub fn of_cell<'a>(
        limit: Option<&MemoryLimit>,
        trials: impl Iterator<Item = &'a TrialRecord>,
    ) -> Option<OverLimit> {
        let limit = limit?;
        let mut over = OverLimit {
            limit_mb: limit.mb,
            stopped: 0,
            fitted: 0,
            peak_bytes: None,
        };
        for trial in trials {
            if stopped_by_limit(trial) {
                over.stopped += 1;
                let peak = trial.measurement.as_ref().and_then(|m| m.limit_peak_bytes);
                over.peak_bytes = over.peak_bytes.max(peak);
            } else if trial.status == TrialStatus::Ok {
                over.fitted += 1;
            }
        }
        (over.stopped > 0).then_some(over)
    }

    /// "does not fit in 512 MB", with how often when some trials did fit.
    pub fn words(&self) -> String {
        let mut text = format!("does not fit in {} MB", self.limit_mb);
        if self.fitted > 0 {
            text.push_str(&format!(
                " ({} of {} trials stopped)",
                self.stopped,
                self.stopped + self.fitted
            ));
        }
        text
    }
}

/// Whether a trial was stopped by the memory limit.
pub fn stopped_by_limit(trial: &TrialRecord) -> bool {
    trial.failure.as_ref().map(|f| f.kind) == Some(FailureKind::MemoryLimit)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::fixtures::{cell, trial};
    use crate::run::record::Failure;

    #[test]
    fn a_cell_stopped_once_does_not_fit_and_counts_what_fitted() {
        let processes = cell("py", "processes", 2);
        let mut stopped = trial(0, &processes, 0, false, 1.0);
        stopped.status = TrialStatus::Failed;
        stopped.failure = Some(Failure {
            kind: FailureKind::MemoryLimit,
            message: "stopped".into(),
        });
        if let Some(m) = stopped.measurement.as_mut() {
            m.limit_peak_bytes = Some(200 << 20);
        }
        let limit = MemoryLimit {
            mb: 100,
            enforced_by: Enforcement::CgroupV1,
            no_cgroup_because: None,
        };
        let trials = [
            stopped.clone(),
            trial(1, &processes, 1, false, 1.0),
            stopped,
        ];
        let over = OverLimit::of_cell(Some(&limit), trials.iter());
        let over = over.expect("stopped twice");
        assert_eq!((over.stopped, over.fitted), (2, 1));
        assert_eq!(over.peak_bytes, Some(200 << 20));
        assert_eq!(
            over.words(),
            "does not fit in 100 MB (2 of 3 trials stopped)"
        );
        let fits = [trial(1, &processes, 1, false, 1.0)];
        assert_eq!(OverLimit::of_cell(Some(&limit), fits.iter()), None);
        assert_eq!(OverLimit::of_cell(None, trials.iter()), None);
    }

    #[test]
    fn the_sentence_names_the_way_and_why_not_a_cgroup() {
        let limit = MemoryLimit {
            mb: 512,
            enforced_by: Enforcement::RlimitData,
            no_cgroup_because: Some("no writable memory cgroup".into()),
        };
        assert_eq!(limit.bytes(), 512 << 20);
        let line = limit.sentence();
        assert!(line.contains("512 MB"), "{line}");
        assert!(line.contains("RLIMIT_DATA"), "{line}");
        assert!(line.contains("no writable memory cgroup"), "{line}");
        assert!(
            line.contains("may hang instead of raising MemoryError"),
            "{line}"
        );
        let cgroup = MemoryLimit {
            enforced_by: Enforcement::CgroupV1,
            no_cgroup_because: None,
            ..limit
        };
        assert!(!cgroup.sentence().contains("hang"));
        assert!(!Enforcement::RlimitData.whole_tree());
        assert!(Enforcement::CgroupV1.whole_tree());
    }
}
