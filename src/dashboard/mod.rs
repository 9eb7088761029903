//! The dashboard: `gil-lab report` (one self-contained HTML file per run) and
//! `gil-lab serve` (a local, read-only web server that shows every run's
//! dashboard and updates it live while a bench runs).
//!
//! Every view is a renderer of the run directory's versioned JSON: [`model`]
//! turns a loaded run into a [`model::Dashboard`] (plain data, also embedded
//! in the page), [`charts`] and [`timeline`] draw its SVG charts with
//! `plotters`, and [`report`] fills the HTML template with `minijinja`, which
//! escapes every string that came from outside.

pub mod bars;
pub mod charts;
pub mod claims;
pub mod model;
pub mod report;
pub mod serve;
pub mod swimlanes;
pub mod timeline;
pub mod verdict;

use std::path::PathBuf;

use anyhow::Result;

use crate::run::LoadedRun;

pub use report::{ReportArgs, write_report_to};
// `spawn_live` and `write_report` are the hooks of `gil-lab bench` (its
// `--serve` and the report written when a run ends).
pub use serve::{LiveServer, ServeArgs, spawn_live};

/// Name of the report file `gil-lab bench` writes into every run directory.
pub const REPORT_FILE: &str = "report.html";

/// Writes the run's report to `RUN_DIR/report.html` and returns its path; what
/// `gil-lab bench` calls when a run ends.
pub fn write_report(loaded: &LoadedRun) -> Result<PathBuf> {
    let path = loaded.dir.join(REPORT_FILE);
    report::write_loaded_report(loaded, &path)?;
    Ok(path)
}
