//! `gil-lab export RUN_DIR`: writes the exports of a stored run, the same
//! files `gil-lab bench --export-*` writes when a run ends.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::Args;

use super::{ExportFormat, ExportManager};
use crate::run::directory;

/// Arguments of `gil-lab export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The run directory (made by `gil-lab bench`).
    #[arg(value_name = "RUN_DIR")]
    pub run: PathBuf,

    /// Write the summary as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,

    /// Write every trial as CSV (long format, one row per trial) to FILE.
    #[arg(long, value_name = "FILE")]
    pub csv: Option<PathBuf>,

    /// Write the tables as Markdown to FILE.
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,

    /// Write a pyperf-compatible JSON file (one benchmark per cell) to FILE.
    #[arg(long, value_name = "FILE")]
    pub pyperf: Option<PathBuf>,

    /// Write one trial's timeline (threads as tracks, their states and agent
    /// tasks as slices) as Chrome trace-event JSON to FILE, for Perfetto
    /// (ui.perfetto.dev) or chrome://tracing. TRIAL_INDEX is the trial's
    /// `index` in trials.jsonl.
    #[arg(long, num_args = 2, value_names = ["TRIAL_INDEX", "FILE"])]
    pub trace: Option<Vec<String>>,
}

/// Runs `gil-lab export`.
pub fn run(args: ExportArgs) -> Result<ExitCode> {
    let mut exports = ExportManager::default();
    exports.add(ExportFormat::Json, args.json.as_deref());
    exports.add(ExportFormat::Csv, args.csv.as_deref());
    exports.add(ExportFormat::Markdown, args.markdown.as_deref());
    exports.add(ExportFormat::Pyperf, args.pyperf.as_deref());
    if exports.is_empty() && args.trace.is_none() {
        bail!(
            "nothing to export: give at least one of --json, --csv, --markdown, --pyperf FILE or --trace TRIAL_INDEX FILE"
        );
    }
    let run = directory::load(&args.run)?;
    exports.write(&run)?;
    if let Some([index, file]) = args.trace.as_deref() {
        let index: u64 = index.parse().map_err(|_| {
            anyhow::anyhow!("--trace takes a trial index (a number from trials.jsonl) then a file, got {index:?}")
        })?;
        let trace = super::trace::trace(&run, index)?;
        let text = serde_json::to_vec(&trace)?;
        std::fs::write(file, text).with_context(|| format!("cannot write {file}"))?;
    }
    Ok(ExitCode::SUCCESS)
}
