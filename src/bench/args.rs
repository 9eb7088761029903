//! The options of `gil-lab bench`.

use std::path::PathBuf;

use clap::{ArgGroup, Args};

use crate::vocabulary::{Approach, Scenario};

/// Runs the multi-agent workload across scenarios × interpreters × approaches
/// × workers, next to the native twin, and reports which approach wins on which
/// interpreter. Trials are written to a run directory as they end.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("plan").multiple(true).conflicts_with("resume")))]
pub struct BenchArgs {
    /// A short run (under 30 s here): the `cpu` scenario, the approaches sequential,
    /// threads and processes, fewer trials.
    #[arg(long, conflicts_with = "full", group = "plan")]
    pub quick: bool,

    /// A thorough run: workers 1, 2, 4, 8 and the usable cores (oversubscription
    /// shows), every interpreter found, more trials.
    #[arg(long, group = "plan")]
    pub full: bool,

    /// Only these scenarios (repeatable or comma-separated); io and mixed call
    /// an LLM endpoint: the built-in one unless --llm-url.
    #[arg(long, value_delimiter = ',', value_enum, group = "plan")]
    pub scenario: Vec<Scenario>,

    /// Only these approaches (repeatable or comma-separated). `sequential` is
    /// always kept: speedups need it.
    #[arg(long, value_delimiter = ',', value_enum, group = "plan")]
    pub approach: Vec<Approach>,

    /// Only these interpreters (repeatable): a path to a Python executable, or
    /// a version such as `3.12`, `3.13.5` or `3.13t` (`t` = free-threaded).
    #[arg(long, value_name = "PATH|VERSION", group = "plan")]
    pub python: Vec<String>,

    /// Worker counts (repeatable or comma-separated); default: the usable cores.
    #[arg(long, value_delimiter = ',', value_parser = clap::value_parser!(u32).range(1..=1024), group = "plan")]
    pub workers: Vec<u32>,

    /// Size of the work (the runner's `scale`, > 0)
    /// [default: 0.3; --quick 0.2; --full 1].
    #[arg(long, value_parser = positive_f64, group = "plan")]
    pub scale: Option<f64>,

    /// Size of the native twin's work in the cpu and shared scenarios
    /// [default: 20 × the scale].
    #[arg(long, value_parser = positive_f64, group = "plan")]
    pub native_scale: Option<f64>,

    /// Exactly this many measured trials per cell (sets --min-runs and --max-runs).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=10_000), conflicts_with_all = ["min_runs", "max_runs"], group = "plan")]
    pub runs: Option<u32>,

    /// Screening rounds: measured trials every cell gets before racing gives
    /// further rounds only to the cells that still decide a verdict [default: 3;
    /// --full 5].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=10_000), group = "plan")]
    pub min_runs: Option<u32>,

    /// Most measured trials per cell [default: 20; --quick 10; --full 30].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=10_000), group = "plan")]
    pub max_runs: Option<u32>,

    /// Warmup trials per cell (recorded, left out of the statistics) [default: 0;
    /// --quick 0; --full 1].
    #[arg(long, value_parser = clap::value_parser!(u32).range(0..=100), group = "plan")]
    pub warmup: Option<u32>,

    /// Racing goes on for the leader and the runner-up of a scenario until their
    /// speedup's 95% CI half-width is within this percentage [default: 5].
    #[arg(long, value_name = "PERCENT", value_parser = positive_f64, group = "plan")]
    pub target_ci: Option<f64>,

    /// Equivalence margin: cells whose paired work-time ratio to the leader
    /// has its whole 95% CI within ±PERCENT are a tie, and stop racing
    /// [default: 5].
    #[arg(long, value_name = "PERCENT", value_parser = positive_f64, group = "plan")]
    pub margin: Option<f64>,

    /// Measuring budget in seconds, from the first measured round (finding
    /// and provisioning interpreters and the inspection are timed apart):
    /// after the screening rounds, racing stops when the next round would
    /// not fit [default: 110; --quick 20; --full 1800].
    #[arg(long, value_name = "SECONDS", value_parser = positive_f64, group = "plan")]
    pub budget: Option<f64>,

    /// Per-trial timeout in seconds; the trial's process group is killed [default:
    /// 120].
    #[arg(long, value_name = "SECONDS", value_parser = positive_f64, group = "plan")]
    pub timeout: Option<f64>,

    /// Seed of the workload (the runner's `seed`) [default: 1].
    #[arg(long, group = "plan")]
    pub seed: Option<u64>,

    /// The io and mixed scenarios call this OpenAI-compatible server (base
    /// URL, e.g. http://127.0.0.1:8000/v1) instead of the built-in endpoint;
    /// digests are then not compared, every call's success and latency is
    /// recorded.
    #[arg(long, value_name = "URL", group = "plan")]
    pub llm_url: Option<String>,

    /// Model name sent to the LLM endpoint (default: gil-lab-sim).
    #[arg(long, value_name = "NAME", group = "plan")]
    pub llm_model: Option<String>,

    /// Name of the environment variable holding the --llm-url server's API
    /// key: passed to the trials only, never written to results or logs.
    #[arg(long, value_name = "VAR", requires = "llm_url", group = "plan")]
    pub llm_api_key_env: Option<String>,

    /// Run the ray cells on this existing Ray cluster (`host:port` of its
    /// head, as `ray start --head` prints it) instead of a local cluster
    /// started per trial; without it, `RAY_ADDRESS` is read the same way.
    #[arg(long, value_name = "ADDRESS", group = "plan")]
    pub ray_address: Option<String>,

    /// Leave out the native Rust twin.
    #[arg(long, group = "plan")]
    pub no_twin: bool,

    /// Do not build a free-threaded CPython when none is found.
    #[arg(long)]
    pub no_provision: bool,

    /// Run directory to create (default: ./gil-lab-results/<timestamp>/).
    #[arg(long, short, value_name = "DIR", conflicts_with = "resume")]
    pub output: Option<PathBuf>,

    /// Complete an interrupted run in DIR without repeating its finished
    /// trials (its plan and settings are reused).
    #[arg(long, value_name = "DIR")]
    pub resume: Option<PathBuf>,

    /// Serve the run's dashboard while it runs (updated as trials end), at
    /// --host:--port.
    #[arg(long)]
    pub serve: bool,

    /// Address of the --serve dashboard; the default only accepts this machine.
    #[arg(long, default_value = "127.0.0.1", requires = "serve")]
    pub host: String,

    /// Port of the --serve dashboard (0: any free port).
    #[arg(long, default_value_t = 8000, requires = "serve")]
    pub port: u16,

    /// Do not write the HTML report (report.html) into the run directory.
    #[arg(long)]
    pub no_report: bool,

    /// Do not look inside the interpreters before the trials (the few
    /// seconds that fill the dashboard's "Inside CPython" section; `gil-lab
    /// inspect --run DIR` adds it later).
    #[arg(long)]
    pub no_inspect: bool,

    /// The `service` scenario's latency objective: p99 at most MS
    /// milliseconds; the highest arrival rate meeting it is the sustainable
    /// rate (docs/service.md). The default, 500 ms, is about four times
    /// what one request (a model call and a reasoning step) takes alone.
    #[arg(long, value_name = "MS", default_value_t = 500.0)]
    pub slo: f64,

    /// Print the run's summary as JSON on stdout instead of the tables.
    #[arg(long)]
    pub json: bool,

    /// Also write the summary as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    pub export_json: Option<PathBuf>,

    /// Also write every trial as CSV (long format, one row per trial) to FILE.
    #[arg(long, value_name = "FILE")]
    pub export_csv: Option<PathBuf>,

    /// Also write the tables as Markdown to FILE.
    #[arg(long, value_name = "FILE")]
    pub export_markdown: Option<PathBuf>,

    /// Also write a pyperf-compatible JSON file (one benchmark per cell) to FILE.
    #[arg(long, value_name = "FILE")]
    pub export_pyperf: Option<PathBuf>,

    /// A team's own task instead of the built-in agents (docs/tasks.md).
    #[command(flatten)]
    pub task: crate::task::TaskArgs,
}

/// A finite number > 0.
fn positive_f64(text: &str) -> Result<f64, String> {
    let value: f64 = text
        .parse()
        .map_err(|_| format!("`{text}` is not a number"))?;
    if value.is_finite() && value > 0.0 {
        Ok(value)
    } else {
        Err(format!("`{text}` must be a number greater than 0"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positive_numbers_only() {
        assert_eq!(positive_f64("0.5"), Ok(0.5));
        assert!(positive_f64("0").is_err());
        assert!(positive_f64("-1").is_err());
        assert!(positive_f64("inf").is_err());
        assert!(positive_f64("x").is_err());
    }
}
