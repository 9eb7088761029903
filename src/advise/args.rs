//! The command line of `gil-lab advise`.

use std::path::PathBuf;

/// Recommends an approach and interpreter, with the evidence: from a run's
/// measured numbers (default: the latest run in ./gil-lab-results), or, with
/// --workload, from a described situation, published facts and what the
/// probe checks now.
#[derive(Debug, clap::Args)]
pub struct AdviseArgs {
    /// The run directory to advise on (default: the latest run in
    /// ./gil-lab-results).
    #[arg(value_name = "RUN_DIR", conflicts_with = "workload")]
    pub run_dir: Option<PathBuf>,
    /// Advise without a run, for this kind of work: cpu, io or mixed.
    #[arg(long, value_name = "cpu|io|mixed")]
    pub workload: Option<String>,
    /// The tasks work over common state (e.g. one knowledge base).
    #[arg(long, requires = "workload")]
    pub shared_state: bool,
    /// The inputs (or the shared state) are large: costly to copy or pickle
    /// to every worker.
    #[arg(long, requires = "workload")]
    pub large_inputs: bool,
    /// C extension modules the code imports (comma-separated): each is
    /// imported now on the free-threaded interpreters found, to see whether
    /// it keeps the GIL off.
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "MOD,...",
        requires = "workload"
    )]
    pub c_extensions: Vec<String>,
    /// Read the import checks from this file (`gil-lab python check-imports
    /// --json` output, e.g. made on another machine) instead of importing now.
    #[arg(long, value_name = "FILE", requires = "c_extensions")]
    pub import_checks: Option<PathBuf>,
    /// The interpreter the code will run on, as a version: 3.13t, 3.14t
    /// (free-threaded), 3.12, ...
    #[arg(long, value_name = "VERSION", requires = "workload")]
    pub python: Option<String>,
    /// Response time matters (requests waiting on the agents).
    #[arg(long, requires = "workload")]
    pub latency_sensitive: bool,
    /// The work outgrows one machine: with --workload, a fact of the
    /// situation; with a run, also the commands that measure Ray (on this
    /// machine or a cluster) and write Kubernetes manifests.
    #[arg(long)]
    pub beyond_one_machine: bool,
    /// Print the advice as JSON.
    #[arg(long)]
    pub json: bool,
}
