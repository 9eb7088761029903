//! `--export-csv` for a run with the `service` scenario: besides the trials'
//! CSV, a second file of service levels, one row per (interpreter,
//! approach, offered rate), long format, carrying the latency percentiles,
//! where the time went and the verdict. It is written beside the first:
//! `trials.csv` gives `trials.service.csv` (docs/exports.md).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Serialize;

use crate::run::service::ServiceRun;
use crate::vocabulary::GilMode;

/// One row; the field order is the column order.
#[derive(Serialize)]
struct Row<'a> {
    interpreter: &'a str,
    label: &'a str,
    gil_mode: GilMode,
    approach: &'a str,
    workers: u32,
    slo_ms: f64,
    offered_rps: f64,
    attempts: u32,
    scheduled: u32,
    completed: u32,
    errors: u32,
    dropped: u32,
    digest_mismatches: u32,
    throughput_rps: f64,
    p50_ms: f64,
    p90_ms: f64,
    p99_ms: f64,
    p99_9_ms: f64,
    max_ms: f64,
    p99_is_max: bool,
    queue_p50_ms: f64,
    queue_p99_ms: f64,
    model_p50_ms: f64,
    model_p99_ms: f64,
    answer_wait_p50_ms: f64,
    answer_wait_p99_ms: f64,
    step_p50_ms: f64,
    step_p99_ms: f64,
    cores: Option<f64>,
    peak_memory_bytes: Option<u64>,
    processes: Option<u32>,
    meets_objective: bool,
    why_not: Option<&'a str>,
    sustainable_rps: Option<f64>,
    open: Option<&'a str>,
}

/// The service CSV's path beside the trials' CSV at `path`:
/// `trials.csv` → `trials.service.csv`.
pub fn path_beside(path: &Path) -> PathBuf {
    let stem = path
        .file_stem()
        .map_or_else(|| "trials".into(), |s| s.to_string_lossy().into_owned());
    path.with_file_name(format!("{stem}.service.csv"))
}

/// The service CSV: one row per level of every cell.
pub fn serialize(service: &ServiceRun) -> Result<Vec<u8>> {
    let mut writer = ::csv::Writer::from_writer(Vec::new());
    for cell in &service.cells {
        for level in &cell.levels {
            let row = Row {
                interpreter: &cell.interpreter,
                label: &cell.label,
                gil_mode: cell.gil_mode,
                approach: cell.approach.name(),
                workers: cell.workers,
                slo_ms: service.slo_ms,
                offered_rps: level.offered_rps,
                attempts: level.attempts,
                scheduled: level.scheduled,
                completed: level.completed,
                errors: level.errors,
                dropped: level.dropped,
                digest_mismatches: level.digest_mismatches,
                throughput_rps: level.throughput_rps,
                p50_ms: level.latency_ms.p50,
                p90_ms: level.latency_ms.p90,
                p99_ms: level.latency_ms.p99,
                p99_9_ms: level.latency_ms.p99_9,
                max_ms: level.latency_ms.max,
                p99_is_max: level.p99_is_max,
                queue_p50_ms: level.queue_ms.p50,
                queue_p99_ms: level.queue_ms.p99,
                model_p50_ms: level.model_ms.p50,
                model_p99_ms: level.model_ms.p99,
                answer_wait_p50_ms: level.answer_wait_ms.p50,
                answer_wait_p99_ms: level.answer_wait_ms.p99,
                step_p50_ms: level.step_ms.p50,
                step_p99_ms: level.step_ms.p99,
                cores: level.cores,
                peak_memory_bytes: level.peak_memory_bytes,
                processes: level.processes,
                meets_objective: level.meets_objective,
                why_not: level.why_not.as_deref(),
                sustainable_rps: cell.sustainable_rps,
                open: cell.open.as_deref(),
            };
            writer.serialize(row).with_context(|| {
                format!(
                    "cannot write the service level {} req/s of {} on {} as CSV",
                    level.offered_rps, cell.approach, cell.label
                )
            })?;
        }
    }
    writer.into_inner().context("cannot finish the service CSV")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_service_csv_sits_beside_the_trials_csv() {
        assert_eq!(
            path_beside(Path::new("out/trials.csv")),
            Path::new("out/trials.service.csv")
        );
        assert_eq!(
            path_beside(Path::new("results")),
            Path::new("results.service.csv")
        );
    }
}
