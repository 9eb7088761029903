//! Machine metadata recorded with every run (CPU, cores, memory, kernel,
//! frequency governor, load) and the noise warnings it gives: a benchmark on
//! a busy machine, or with more workers than usable cores, must say so.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

pub use crate::run::machine::MachineInfo;

/// How much a noise warning matters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// The numbers are likely disturbed.
    Warning,
    /// Worth knowing when reading the numbers.
    Info,
}

/// A reason the measurements may be noisier or different than expected.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NoiseWarning {
    /// How much it matters.
    pub severity: Severity,
    /// Short machine-readable name: `load`, `governor`, `cores`, `quota`.
    pub kind: String,
    /// One line for humans, saying what to do about it.
    pub message: String,
}

/// A 1-minute load average above this share of the usable cores means other
/// work competes for the CPU.
const BUSY_LOAD_PER_CORE: f64 = 0.25;

impl MachineInfo {
    /// Reads the machine's state now. Every part that cannot be read is left
    /// empty rather than failing: metadata must never stop a run.
    pub fn collect() -> MachineInfo {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = parse_cpuinfo(&cpuinfo);
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let logical_cores = online_cpus().unwrap_or(cpu.logical).max(1);
        let (kernel, arch) = uname();
        MachineInfo {
            cpu_model: Some(cpu.model).filter(|m| !m.is_empty()),
            physical_cores: Some(if cpu.physical > 0 {
                cpu.physical
            } else {
                logical_cores
            }),
            logical_cores: Some(logical_cores),
            usable_cores: Some(usable_cores().unwrap_or(logical_cores)),
            cpu_quota_cores: cgroup_cpu_quota(),
            memory_bytes: meminfo_bytes(&meminfo, "MemTotal"),
            memory_available_bytes: meminfo_bytes(&meminfo, "MemAvailable"),
            os: std::fs::read_to_string("/etc/os-release")
                .ok()
                .and_then(|text| os_release_name(&text)),
            kernel: Some(kernel),
            arch: Some(arch),
            governor: std::fs::read_to_string(
                "/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor",
            )
            .ok()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty()),
            virtualized: Some(cpu.hypervisor),
            load_average: std::fs::read_to_string("/proc/loadavg")
                .ok()
                .and_then(|text| parse_loadavg(&text)),
        }
    }

    /// Warnings about this machine for a run with up to `max_workers`
    /// workers per cell.
    pub fn noise_warnings(&self, max_workers: u32) -> Vec<NoiseWarning> {
        let mut warnings = Vec::new();
        let usable = self.usable_cores().max(1);
        let load = self.load_average.map_or(0.0, |l| l[0]);
        if load > (BUSY_LOAD_PER_CORE * f64::from(usable)).max(0.5) {
            warnings.push(NoiseWarning {
                severity: Severity::Warning,
                kind: "load".into(),
                message: format!(
                    "load average {load:.2} on {usable} usable cores: other programs compete \
                     for the CPU and make timings noisy; stop them or run again when the machine is idle"
                ),
            });
        }
        if max_workers > usable {
            warnings.push(NoiseWarning {
                severity: Severity::Warning,
                kind: "cores".into(),
                message: format!(
                    "{max_workers} workers requested but only {usable} usable cores: cells with more \
                     workers than cores measure oversubscription, not scaling (lower --workers to see scaling)"
                ),
            });
        }
        if let Some(quota) = self.cpu_quota_cores
            && quota < f64::from(max_workers.min(usable))
        {
            warnings.push(NoiseWarning {
                severity: Severity::Warning,
                kind: "quota".into(),
                message: format!(
                    "the cgroup allows {quota:.2} cores of CPU time, fewer than the {} workers \
                     that could run at once: parallel cells are throttled",
                    max_workers.min(usable)
                ),
            });
        }
        if let Some(governor) = &self.governor
            && governor != "performance"
        {
            warnings.push(NoiseWarning {
                severity: Severity::Info,
                kind: "governor".into(),
                message: format!(
                    "CPU frequency governor is `{governor}`, not `performance`: clock speed may \
                     change during the run (set it with `cpupower frequency-set -g performance`)"
                ),
            });
        }
        warnings
    }
}

/// What /proc/cpuinfo says about the CPUs.
#[derive(Debug, Default, PartialEq)]
struct CpuInfo {
    model: String,
    logical: u32,
    physical: u32,
    hypervisor: bool,
}

fn parse_cpuinfo(text: &str) -> CpuInfo {
    let mut info = CpuInfo::default();
    let mut cores = HashSet::new();
    // (physical id, core id) of the processor block being read.
    let mut package = None;
    let mut core = None;
    let mut finish_block = |package: &mut Option<String>, core: &mut Option<String>| {
        if let (Some(p), Some(c)) = (package.take(), core.take()) {
            cores.insert((p, c));
        }
    };
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else {
            if line.trim().is_empty() {
                finish_block(&mut package, &mut core);
            }
            continue;
        };
        let (key, value) = (key.trim(), value.trim());
        match key {
            "processor" => info.logical += 1,
            "model name" if info.model.is_empty() => info.model = value.to_string(),
            "physical id" => package = Some(value.to_string()),
            "core id" => core = Some(value.to_string()),
            "flags" => info.hypervisor |= value.split_ascii_whitespace().any(|f| f == "hypervisor"),
            _ => {}
        }
    }
    finish_block(&mut package, &mut core);
    info.physical = cores.len() as u32;
    info
}

fn meminfo_bytes(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|line| {
        let rest = line.strip_prefix(key)?.strip_prefix(':')?;
        let kib: u64 = rest.split_ascii_whitespace().next()?.parse().ok()?;
        Some(kib * 1024)
    })
}

fn parse_loadavg(text: &str) -> Option<[f64; 3]> {
    let mut fields = text.split_ascii_whitespace().map(|f| f.parse::<f64>().ok());
    Some([fields.next()??, fields.next()??, fields.next()??])
}

fn os_release_name(text: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let value = line.strip_prefix("PRETTY_NAME=")?;
        Some(value.trim_matches('"').to_string())
    })
}

/// Parses a cgroup v2 `cpu.max` ("max 100000" or "150000 100000") into
/// cores; `None` when unlimited.
fn parse_cpu_max(text: &str) -> Option<f64> {
    let mut fields = text.split_ascii_whitespace();
    let quota: f64 = fields.next()?.parse().ok()?;
    let period: f64 = fields.next()?.parse().ok()?;
    (period > 0.0).then(|| quota / period)
}

/// The CPU limit of this process's cgroup (v2), if any.
fn cgroup_cpu_quota() -> Option<f64> {
    let cgroup = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let path = cgroup.lines().find_map(|line| line.strip_prefix("0::"))?;
    let file = format!("/sys/fs/cgroup{}/cpu.max", path.trim_end_matches('/'));
    parse_cpu_max(&std::fs::read_to_string(file).ok()?)
}

fn online_cpus() -> Option<u32> {
    // SAFETY: sysconf has no preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    (n > 0).then_some(n as u32)
}

fn usable_cores() -> Option<u32> {
    // SAFETY: an all-zero cpu_set_t is an empty set; sched_getaffinity writes
    // at most size_of::<cpu_set_t>() bytes into it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
            return None;
        }
        let n = libc::CPU_COUNT(&set);
        (n > 0).then_some(n as u32)
    }
}

/// Kernel release and machine architecture.
fn uname() -> (String, String) {
    // SAFETY: an all-zero utsname is valid; uname fills it with NUL-terminated
    // strings.
    unsafe {
        let mut name: libc::utsname = std::mem::zeroed();
        if libc::uname(&mut name) != 0 {
            return (String::new(), String::new());
        }
        let text = |field: &[libc::c_char]| {
            std::ffi::CStr::from_ptr(field.as_ptr())
                .to_string_lossy()
                .into_owned()
        };
        (text(&name.release), text(&name.machine))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CPUINFO: &str = "processor\t: 0\nmodel name\t: Example CPU @ 3.0GHz\nphysical id\t: 0\n\
core id\t\t: 0\nflags\t\t: fpu sse hypervisor\n\nprocessor\t: 1\nmodel name\t: Example CPU @ 3.0GHz\n\
physical id\t: 0\ncore id\t\t: 0\n\nprocessor\t: 2\nmodel name\t: Example CPU @ 3.0GHz\n\
physical id\t: 0\ncore id\t\t: 1\n\nprocessor\t: 3\nmodel name\t: Example CPU @ 3.0GHz\n\
physical id\t: 0\ncore id\t\t: 1\n";

    fn machine() -> MachineInfo {
        MachineInfo {
            cpu_model: Some("x".into()),
            physical_cores: Some(2),
            logical_cores: Some(2),
            usable_cores: Some(2),
            cpu_quota_cores: None,
            memory_bytes: Some(1 << 30),
            memory_available_bytes: Some(1 << 29),
            os: None,
            kernel: Some("6.1".into()),
            arch: Some("x86_64".into()),
            governor: None,
            virtualized: Some(false),
            load_average: Some([0.1, 0.1, 0.1]),
        }
    }

    fn kinds(warnings: &[NoiseWarning]) -> Vec<&str> {
        warnings.iter().map(|w| w.kind.as_str()).collect()
    }

    #[test]
    fn cpuinfo_counts_hyperthreads_apart_from_cores() {
        let info = parse_cpuinfo(CPUINFO);
        assert_eq!(info.model, "Example CPU @ 3.0GHz");
        assert_eq!(info.logical, 4);
        assert_eq!(info.physical, 2);
        assert!(info.hypervisor);
    }

    #[test]
    fn small_files_are_parsed() {
        assert_eq!(
            meminfo_bytes(
                "MemTotal:       24000 kB\nMemAvailable: 100 kB\n",
                "MemAvailable"
            ),
            Some(102_400)
        );
        assert_eq!(
            parse_loadavg("0.34 0.56 0.27 1/91 19262\n"),
            Some([0.34, 0.56, 0.27])
        );
        assert_eq!(parse_loadavg("bad"), None);
        assert_eq!(
            os_release_name("NAME=x\nPRETTY_NAME=\"Debian GNU/Linux 12\"\n").as_deref(),
            Some("Debian GNU/Linux 12")
        );
        assert_eq!(parse_cpu_max("max 100000\n"), None);
        assert_eq!(parse_cpu_max("150000 100000\n"), Some(1.5));
    }

    #[test]
    fn quiet_machine_gives_no_warning() {
        assert!(machine().noise_warnings(2).is_empty());
    }

    #[test]
    fn busy_machine_and_too_many_workers_are_warned_about() {
        let mut m = machine();
        m.load_average = Some([1.9, 1.0, 0.5]);
        m.governor = Some("powersave".into());
        m.cpu_quota_cores = Some(1.0);
        let warnings = m.noise_warnings(4);
        assert_eq!(kinds(&warnings), ["load", "cores", "quota", "governor"]);
        assert_eq!(warnings[3].severity, Severity::Info);
        assert!(warnings[1].message.contains("--workers"));
    }

    #[test]
    fn this_machine_is_described() {
        let m = MachineInfo::collect();
        let logical = m.logical_cores.unwrap();
        assert!(logical >= 1);
        assert!(m.usable_cores() >= 1 && m.usable_cores() <= logical);
        assert!(m.physical_cores.unwrap() >= 1);
        assert!(m.memory_bytes.unwrap() > 0);
        assert!(!m.kernel.unwrap().is_empty());
    }
}
