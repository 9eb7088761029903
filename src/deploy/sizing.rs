//! Resources to request, from what a run measured: cores = the cell's
//! workers, memory = the measured peak of the trial's whole process tree
//! (the largest over its measured trials; under `--memory-limit`, the
//! kernel's peak of its cgroup when larger) with headroom. For a ray cell the
//! tree is split the way a Kubernetes cluster splits it: the worker actors
//! (one per worker pod, with a node's own Ray processes), and the rest (the
//! driver, GCS and the head node's processes) on the head pod.

use crate::run::LoadedRun;
use crate::run::record::CellSummary;

/// Memory requested = measured peak × this.
pub const HEADROOM: f64 = 1.5;
/// Requests are rounded up to this many MiB.
const ROUND_MIB: u64 = 32;
/// The least memory requested for a pod, MiB (an interpreter and its
/// libraries, whatever the figures say).
const FLOOR_MIB: u64 = 128;

/// The name the sampler sees for a worker actor's process (`comm` is cut
/// at 15 bytes).
const ACTOR_PROCESS: &str = "ray::AgentWorke";
/// A Ray node's own processes besides the actors.
const NODE_PROCESSES: [&str; 3] = ["raylet", "ray::DashboardA", "ray::RuntimeEnv"];

/// CPU and memory of one pod.
#[derive(Clone, Debug, PartialEq)]
pub struct PodResources {
    /// Cores.
    pub cpu: u32,
    /// MiB, headroom included.
    pub memory_mib: u64,
    /// The measured peak it comes from, bytes.
    pub measured_bytes: u64,
}

/// A measured peak with headroom, as whole MiB.
fn with_headroom(bytes: u64) -> u64 {
    let mib = (bytes as f64 * HEADROOM / (1024.0 * 1024.0)).ceil() as u64;
    mib.div_ceil(ROUND_MIB).max(1) * ROUND_MIB
}

fn pod(cpu: u32, bytes: u64) -> PodResources {
    PodResources {
        cpu: cpu.max(1),
        memory_mib: with_headroom(bytes).max(FLOOR_MIB),
        measured_bytes: bytes,
    }
}

/// One machine: the cell's workers as cores, its measured peak: the PSS,
/// or the peak the kernel held to `--memory-limit` when the run had one and
/// it is larger (the manifest's memory and the tested limit then agree).
pub fn single_machine(cell: &CellSummary) -> Option<PodResources> {
    let peak = cell
        .peak_memory_bytes?
        .max(cell.limit_peak_bytes.unwrap_or(0));
    Some(pod(cell.cell.workers, peak))
}

/// A ray cell measured on a local cluster: the head pod and one worker pod
/// (of `workers`), from the largest measured trial's processes.
pub fn ray_cluster(loaded: &LoadedRun, cell: &CellSummary) -> Option<(PodResources, PodResources)> {
    let mut head_bytes = 0u64;
    let mut worker_bytes = 0u64;
    for trial in loaded
        .trials
        .iter()
        .filter(|t| t.cell == cell.cell && t.is_measured())
    {
        let processes = &trial.timeline.as_ref()?.processes;
        let actor = processes
            .iter()
            .filter(|p| p.name == ACTOR_PROCESS)
            .map(|p| p.peak_rss_bytes)
            .max()
            .unwrap_or(0);
        let node: u64 = processes
            .iter()
            .filter(|p| NODE_PROCESSES.contains(&p.name.as_str()))
            .map(|p| p.peak_rss_bytes)
            .sum();
        let rest: u64 = processes
            .iter()
            .filter(|p| p.name != ACTOR_PROCESS)
            .map(|p| p.peak_rss_bytes)
            .sum();
        head_bytes = head_bytes.max(rest);
        worker_bytes = worker_bytes.max(actor + node);
    }
    (worker_bytes > 0).then(|| (pod(1, head_bytes), pod(1, worker_bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_gets_headroom_rounded_up_with_a_floor() {
        assert_eq!(with_headroom(100 * 1024 * 1024), 160);
        assert_eq!(pod(0, 10 * 1024 * 1024).memory_mib, FLOOR_MIB);
        assert_eq!(pod(0, 10).cpu, 1);
        assert_eq!(pod(4, 1024 * 1024 * 1024).memory_mib, 1536);
    }

    /// The memory of `cell`'s pod in a run whose measured trials' kernel
    /// peak (under `--memory-limit`) was `limit_peak` (bytes, or none).
    fn sized(limit_peak: Option<u64>) -> PodResources {
        use crate::run::fixtures::{cell, run_file, trial};
        let key = cell("py", "threads", 2);
        let run = run_file(std::slice::from_ref(&key));
        let trials: Vec<_> = (0..3)
            .map(|i| {
                let mut record = trial(i, &key, i as u32, false, 1.0);
                if let Some(m) = record.measurement.as_mut() {
                    m.limit_peak_bytes = limit_peak.map(|p| p + i);
                }
                record
            })
            .collect();
        let summary = crate::run::analysis::summarize(&run, &trials, &Default::default(), &[]);
        let measured = summary.cells.iter().find(|c| c.cell == key);
        measured.and_then(single_machine).expect("a measured cell")
    }

    #[test]
    fn memory_is_the_kernel_peak_when_it_is_above_the_pss() {
        // The fixtures' trials: 20 MiB of PSS each.
        let pss = sized(None);
        assert_eq!(pss.measured_bytes, 20 << 20);
        assert_eq!(pss.cpu, 2);
        // The largest kernel peak of the measured trials, with headroom.
        let kernel = sized(Some(300 << 20));
        assert_eq!(kernel.measured_bytes, (300 << 20) + 2);
        assert_eq!(kernel.memory_mib, with_headroom((300 << 20) + 2));
        assert_eq!(kernel.memory_mib, 480);
        // A kernel peak below the PSS (the interpreter's pages were charged
        // before the trial): the PSS.
        assert_eq!(sized(Some(8 << 20)).measured_bytes, 20 << 20);
    }
}
