//! The orchestration steps of a cell's trials on a Ray cluster, as medians:
//! what distributing costs before and after the steady work (the runner's
//! `orchestration` object, docs/trial-protocol.md).

use serde::{Deserialize, Serialize};

use crate::protocol::RunnerReport;
use crate::stats;

/// Medians of the orchestration steps of a ray cell's measured trials,
/// seconds. `connect_s + ship_code_s + worker_start_s` is the cell's pool
/// start, `shutdown_s` its teardown.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClusterSteps {
    /// `local` (a cluster started per trial, its processes measured with
    /// the trial's) or `existing` (`--ray-address`).
    pub cluster: String,
    /// `import ray` and `ray.init`: starting the local cluster, or connecting.
    pub connect_s: f64,
    /// Uploading the workload's code to the cluster (runtime environment).
    pub ship_code_s: f64,
    /// Starting the worker actors until each answered.
    pub worker_start_s: f64,
    /// `ray.shutdown`: stopping the local cluster, or disconnecting.
    pub shutdown_s: f64,
    /// Most distinct nodes the workers of one trial ran on.
    pub nodes: u32,
}

impl ClusterSteps {
    /// The medians over the reports that have orchestration steps; `None`
    /// when none has (every approach but `ray`).
    pub fn of(reports: &[&RunnerReport]) -> Option<ClusterSteps> {
        let steps: Vec<_> = reports
            .iter()
            .filter_map(|r| r.orchestration.as_ref())
            .collect();
        let first = steps.first()?;
        let median = |f: &dyn Fn(&crate::protocol::Orchestration) -> f64| -> f64 {
            stats::median(&steps.iter().map(|s| f(s)).collect::<Vec<_>>())
        };
        Some(ClusterSteps {
            cluster: first.cluster.clone(),
            connect_s: median(&|s| s.connect_s),
            ship_code_s: median(&|s| s.ship_code_s),
            worker_start_s: median(&|s| s.worker_start_s),
            shutdown_s: median(&|s| s.shutdown_s),
            nodes: steps
                .iter()
                .map(|s| s.nodes().len() as u32)
                .max()
                .unwrap_or(0),
        })
    }

    /// Everything before the work: connect + ship code + worker start.
    pub fn start_s(&self) -> f64 {
        self.connect_s + self.ship_code_s + self.worker_start_s
    }
}
