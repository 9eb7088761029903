//! The command line: one subcommand per job, each defined next to the code
//! that implements it.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::interpreters;

/// Measures which concurrency approach a multi-agent Python workload should
/// use (threads, processes, subinterpreters, asyncio, hybrids) and on which
/// interpreter (default or free-threaded CPython), on this machine.
#[derive(Debug, Parser)]
#[command(name = "gil-lab", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the workload on every interpreter and approach, measure, and report
    /// which approach wins where.
    Bench(Box<crate::bench::args::BenchArgs>),
    /// Find, probe, check and install Python interpreters.
    #[command(subcommand)]
    Python(interpreters::PythonCommand),
    /// Which approach and interpreter to use, why, with the evidence: from a
    /// run's measured numbers, or from a described situation (--workload).
    Advise(crate::advise::AdviseArgs),
    /// Compare two runs cell by cell: change of the median work-phase time
    /// with its CI, and whether it is faster, slower or a tie.
    Compare(crate::compare::CompareArgs),
    /// Look inside the interpreters: each unit's hot bytecode before and
    /// after specialisation, the collector's work, and what each interpreter
    /// offers (JIT, free-threading, immortal objects, mimalloc), side by side.
    Inspect(Box<crate::inside::InspectArgs>),
    /// Will our dependencies keep the GIL off? A requirements file,
    /// pyproject.toml or lock file resolved per interpreter: how each
    /// distribution installs, whether importing it turns the GIL back on,
    /// the fix for each blocker (docs/ready.md).
    Ready(Box<crate::ready::ReadyArgs>),
    /// The course chapter's six lessons as short live experiments on your
    /// interpreters, with a lab notebook page (learn.html); resumes where
    /// you stopped.
    Learn(crate::learn::LearnArgs),
    /// Write the exports (JSON, CSV, Markdown, pyperf) of a stored run.
    Export(crate::export::ExportArgs),
    /// Write the deployment of a measured set-up: Kubernetes manifests (a
    /// KubeRay RayJob for ray, a Job for one machine) and their Dockerfile.
    #[command(subcommand)]
    Deploy(crate::deploy::DeployCommand),
    /// Write a run's dashboard as one self-contained HTML file (works offline).
    Report(crate::dashboard::ReportArgs),
    /// Serve the dashboards of runs on a local, read-only web server.
    Serve(crate::dashboard::ServeArgs),
    /// Run the built-in OpenAI-compatible LLM endpoint (deterministic answers,
    /// configurable latency and limits) that the `io` and `mixed` agents call.
    LlmServe(crate::llm::cli::LlmServeArgs),
    /// The native Rust twin of the workload (`twin run <spec-json>`), run by
    /// `bench` like a Python runner; internal, hidden from `--help`.
    #[command(subcommand, hide = true)]
    Twin(crate::twin::TwinCommand),
}

/// Runs the chosen subcommand and returns the process exit code.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Bench(args) => crate::bench::run(*args),
        Command::Python(command) => interpreters::run(command),
        Command::Advise(args) => crate::advise::run(args),
        Command::Compare(args) => crate::compare::run(args),
        Command::Inspect(args) => crate::inside::run(*args),
        Command::Ready(args) => crate::ready::run(*args),
        Command::Learn(args) => crate::learn::run(args),
        Command::Export(args) => crate::export::run(args),
        Command::Deploy(command) => crate::deploy::run(command),
        Command::Report(args) => crate::dashboard::report::run(args),
        Command::Serve(args) => crate::dashboard::serve::run(args),
        Command::LlmServe(args) => crate::llm::cli::run(args),
        Command::Twin(command) => crate::twin::run(command),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
