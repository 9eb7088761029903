//! Exporters: the same run data written in other formats, one file per
//! format behind one [`Exporter`] trait (as in hyperfine). They read a
//! [`LoadedRun`] (what `run.json` and `trials.jsonl` hold), so a run exports
//! the same whether it just ended (`gil-lab bench --export-*`) or was stored
//! long ago (`gil-lab export DIR`). Formats and columns: docs/exports.md.

mod command;
mod csv;
mod json;
mod markdown;
mod pyperf;
mod service_csv;
pub mod trace;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::run::LoadedRun;
use crate::run::record::RunSummary;

pub use command::{ExportArgs, run};

/// Renders a run in one format.
pub trait Exporter {
    /// The whole file, ready to write.
    fn serialize(&self, run: &LoadedRun) -> Result<Vec<u8>>;
}

/// The export formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    /// The run's metadata, summary and per-cell samples as JSON.
    Json,
    /// One row per trial (long format).
    Csv,
    /// A table per scenario, the verdicts and the warnings.
    Markdown,
    /// A pyperf BenchmarkSuite: one benchmark per cell, one run per trial.
    Pyperf,
}

impl ExportFormat {
    /// The exporter that writes this format.
    pub fn exporter(self) -> Box<dyn Exporter> {
        match self {
            ExportFormat::Json => Box::new(json::JsonExporter),
            ExportFormat::Csv => Box::new(csv::CsvExporter),
            ExportFormat::Markdown => Box::new(markdown::MarkdownExporter),
            ExportFormat::Pyperf => Box::new(pyperf::PyperfExporter),
        }
    }

    /// The format's name, used in messages.
    pub fn name(self) -> &'static str {
        match self {
            ExportFormat::Json => "JSON",
            ExportFormat::Csv => "CSV",
            ExportFormat::Markdown => "Markdown",
            ExportFormat::Pyperf => "pyperf",
        }
    }
}

/// The exports asked for on the command line: each format with its file.
#[derive(Clone, Debug, Default)]
pub struct ExportManager {
    targets: Vec<(ExportFormat, PathBuf)>,
}

impl ExportManager {
    /// Adds `path` for `format` when the flag was given.
    pub fn add(&mut self, format: ExportFormat, path: Option<&Path>) {
        if let Some(path) = path {
            self.targets.push((format, path.to_path_buf()));
        }
    }

    /// True when no export was asked for.
    pub fn is_empty(&self) -> bool {
        self.targets.is_empty()
    }

    /// Writes every asked-for export of `run`. Each file is rendered whole
    /// before it is written, so a failing format leaves no half file.
    pub fn write(&self, run: &LoadedRun) -> Result<()> {
        for (format, path) in &self.targets {
            let bytes = format
                .exporter()
                .serialize(run)
                .with_context(|| format!("cannot make the {} export", format.name()))?;
            std::fs::write(path, bytes).with_context(|| {
                format!(
                    "cannot write the {} export to {}: choose a writable path",
                    format.name(),
                    path.display()
                )
            })?;
            // The service levels do not fit one row per trial: their own CSV, beside.
            if *format == ExportFormat::Csv
                && let Some(service) = &run.service
            {
                let beside = service_csv::path_beside(path);
                let bytes = service_csv::serialize(service)?;
                std::fs::write(&beside, bytes).with_context(|| {
                    format!(
                        "cannot write the service CSV to {} (beside --export-csv): choose a writable path",
                        beside.display()
                    )
                })?;
            }
        }
        Ok(())
    }
}

/// The run's summary, or an error for a run that never reached its end.
fn summary_of(run: &LoadedRun) -> Result<&RunSummary> {
    if run.is_provisional() {
        bail!(
            "{} has no summary yet (the run did not finish): complete it with `gil-lab bench --resume {}`",
            run.dir.display(),
            crate::shell::quote_path(&run.dir)
        );
    }
    Ok(&run.summary)
}
