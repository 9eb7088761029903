//! What the machine was when a run started, as stored in `run.json`
//! (`machine`). `bench` reads it from /proc and /sys; every field is
//! optional because what cannot be read is left out rather than guessed
//! (metadata must never stop a run), and so that a reader shows only what
//! was known.

use serde::{Deserialize, Serialize};

/// What the machine was when a run started.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MachineInfo {
    /// CPU model name (`/proc/cpuinfo`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_model: Option<String>,
    /// Physical cores (distinct package and core ids); equal to
    /// `logical_cores` when the kernel does not say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub physical_cores: Option<u32>,
    /// Logical CPUs online (hardware threads).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logical_cores: Option<u32>,
    /// CPUs this process may run on (`sched_getaffinity`): what workers can
    /// really use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usable_cores: Option<u32>,
    /// CPU time the cgroup allows, in cores (`cpu.max`), when limited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_quota_cores: Option<f64>,
    /// Total memory, bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_bytes: Option<u64>,
    /// Memory available for new work at the start, bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_available_bytes: Option<u64>,
    /// Operating system (`PRETTY_NAME` of /etc/os-release).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os: Option<String>,
    /// Kernel release (`uname -r`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kernel: Option<String>,
    /// Machine architecture (`uname -m`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arch: Option<String>,
    /// CPU frequency governor of CPU 0, when the kernel exposes one (virtual
    /// machines often do not).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub governor: Option<String>,
    /// Runs under a hypervisor (the CPU's `hypervisor` flag).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub virtualized: Option<bool>,
    /// Load average over 1, 5 and 15 minutes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_average: Option<[f64; 3]>,
}

impl MachineInfo {
    /// Usable cores, else logical cores, else 1.
    pub fn usable_cores(&self) -> u32 {
        self.usable_cores.or(self.logical_cores).unwrap_or(1)
    }
}
