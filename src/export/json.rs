//! `--export-json`: the run's metadata and summary (the numbers every view
//! shows), plus each cell's raw samples so that others can recompute them.

use anyhow::{Context, Result};
use serde::Serialize;

use super::{Exporter, summary_of};
use crate::run::LoadedRun;
use crate::run::machine::MachineInfo;
use crate::run::record::{
    CellKey, InterpreterRecord, RunStatus, RunSummary, SCHEMA_VERSION, Settings,
};

/// Writes the summary as pretty-printed JSON.
pub struct JsonExporter;

/// The document written: `run.json` without the plan's commands, plus samples.
#[derive(Serialize)]
struct JsonExport<'a> {
    /// Version of the run schema these fields follow.
    schema: u32,
    gil_lab_version: &'a str,
    started_at: &'a str,
    finished_at: Option<&'a str>,
    status: RunStatus,
    settings: &'a Settings,
    machine: &'a MachineInfo,
    interpreters: &'a [InterpreterRecord],
    summary: &'a RunSummary,
    /// Per cell, the measured trials' times in trial order.
    samples: Vec<CellSamples>,
    /// A run of a team's own task: `run.json`'s `task` (docs/tasks.md).
    #[serde(skip_serializing_if = "Option::is_none")]
    task: Option<&'a crate::run::task::TaskRun>,
    /// Its verdicts: per cell, results against sequential; safe approaches.
    #[serde(skip_serializing_if = "Option::is_none")]
    task_verdict: Option<crate::task::verdict::TaskVerdict>,
    /// The `service` scenario (`service.json`): per cell, latency
    /// percentiles per arrival rate and the sustainable rate (docs/service.md).
    #[serde(skip_serializing_if = "Option::is_none")]
    service: Option<&'a crate::run::service::ServiceRun>,
}

/// The raw samples of one cell.
#[derive(Serialize)]
struct CellSamples {
    cell: CellKey,
    /// The runner's work-phase time of each measured trial, seconds.
    work_s: Vec<f64>,
    /// Whole-trial wall time of each measured trial, seconds.
    wall_s: Vec<f64>,
}

/// Each cell of the summary with its measured trials' times.
fn samples(run: &LoadedRun, summary: &RunSummary) -> Vec<CellSamples> {
    summary
        .cells
        .iter()
        .map(|cell| {
            let measured = || {
                run.trials
                    .iter()
                    .filter(|t| t.is_measured() && t.cell == cell.cell)
            };
            CellSamples {
                cell: cell.cell.clone(),
                work_s: measured().filter_map(|t| t.work_s()).collect(),
                wall_s: measured().filter_map(|t| t.wall_s()).collect(),
            }
        })
        .collect()
}

impl Exporter for JsonExporter {
    fn serialize(&self, run: &LoadedRun) -> Result<Vec<u8>> {
        let summary = summary_of(run)?;
        let file = &run.run;
        let document = JsonExport {
            schema: SCHEMA_VERSION,
            gil_lab_version: &file.gil_lab_version,
            started_at: &file.started_at,
            finished_at: file.finished_at.as_deref(),
            status: file.status,
            settings: &file.settings,
            machine: &file.machine,
            interpreters: &file.interpreters,
            summary,
            samples: samples(run, summary),
            task: file.task.as_ref(),
            task_verdict: crate::task::verdict::of_run(run),
            service: run.service.as_ref(),
        };
        let mut bytes =
            serde_json::to_vec_pretty(&document).context("cannot serialise the summary")?;
        bytes.push(b'\n');
        Ok(bytes)
    }
}
