//! `--export-csv`: every trial of the run, one row each (long format: the
//! shape pandas, R and spreadsheets group and pivot best). Warmups, failed and
//! skipped trials are rows too, told apart by `warmup` and `status`; filter
//! on `status == "ok"` and `warmup == false` for the measured trials. Empty
//! fields mean "not known" (e.g. no runner output for a failed trial). The
//! columns are listed in docs/exports.md.

use anyhow::{Context, Result};
use serde::Serialize;

use super::Exporter;
use crate::run::LoadedRun;
use crate::run::record::{TrialRecord, TrialStatus};

/// Writes one CSV row per trial.
pub struct CsvExporter;

/// One row; the field order is the column order.
#[derive(Serialize)]
struct Row<'a> {
    trial: u64,
    scenario: &'a str,
    interpreter: &'a str,
    implementation: Option<&'a str>,
    version: Option<&'a str>,
    free_threaded: Option<bool>,
    gil_forced: Option<bool>,
    approach: &'a str,
    workers: u32,
    repetition: u32,
    warmup: bool,
    round: Option<u32>,
    stage: Option<&'static str>,
    reference_s: Option<f64>,
    status: &'static str,
    failure: Option<String>,
    started_at: &'a str,
    wall_s: Option<f64>,
    work_s: Option<f64>,
    setup_s: Option<f64>,
    pool_start_s: Option<f64>,
    teardown_s: Option<f64>,
    user_s: Option<f64>,
    sys_s: Option<f64>,
    parallelism: Option<f64>,
    /// The trial's memory: the tree's peak PSS.
    peak_memory_bytes: Option<u64>,
    /// The tree's peak summed RSS, beside it.
    peak_rss_bytes: Option<u64>,
    running_share: Option<f64>,
    core_wait_share: Option<f64>,
    lock_wait_share: Option<f64>,
    io_wait_share: Option<f64>,
    other_share: Option<f64>,
    voluntary_context_switches: Option<u64>,
    involuntary_context_switches: Option<u64>,
    gil_enabled_start: Option<bool>,
    gil_enabled_end: Option<bool>,
    sharing_method: Option<&'a str>,
    sharing_cost_s: Option<f64>,
    digest: Option<&'a str>,
}

fn status_word(status: TrialStatus) -> &'static str {
    match status {
        TrialStatus::Ok => "ok",
        TrialStatus::Skipped => "skipped",
        TrialStatus::Failed => "failed",
        TrialStatus::Cancelled => "cancelled",
    }
}

fn row<'a>(run: &'a LoadedRun, trial: &'a TrialRecord) -> Row<'a> {
    let interpreter = run.run.interpreter(&trial.cell.interpreter);
    let measurement = trial.measurement.as_ref();
    let runner = trial.runner.as_ref();
    let sharing = runner.and_then(|r| r.sharing.as_ref());
    let states = measurement.and_then(|m| m.thread_states);
    Row {
        trial: trial.index,
        scenario: &trial.cell.scenario,
        interpreter: &trial.cell.interpreter,
        implementation: interpreter.map(|i| i.implementation.as_str()),
        version: interpreter.map(|i| i.version.as_str()),
        free_threaded: interpreter.map(|i| i.free_threaded),
        gil_forced: interpreter.and_then(|i| i.gil_forced),
        approach: trial.cell.approach.name(),
        workers: trial.cell.workers,
        repetition: trial.repetition,
        warmup: trial.warmup,
        round: trial.round.as_ref().map(|r| r.number),
        stage: trial.round.as_ref().map(|r| r.stage.name()),
        reference_s: trial.round.as_ref().and_then(|r| r.reference_s),
        status: status_word(trial.status),
        failure: trial
            .failure
            .as_ref()
            .map(|f| f.message.clone())
            .or_else(|| trial.skip_reason.clone()),
        started_at: &trial.started_at,
        wall_s: measurement.map(|m| m.wall_s),
        work_s: runner.map(|r| r.phases.work),
        setup_s: runner.map(|r| r.phases.setup),
        pool_start_s: runner.map(|r| r.phases.pool_start),
        teardown_s: runner.map(|r| r.phases.teardown),
        user_s: measurement.map(|m| m.user_s),
        sys_s: measurement.map(|m| m.sys_s),
        parallelism: measurement.map(|m| m.parallelism),
        peak_memory_bytes: measurement.map(|m| m.peak_memory_bytes),
        peak_rss_bytes: measurement.and_then(|m| m.peak_rss_bytes),
        running_share: states.map(|s| s.running),
        core_wait_share: states.map(|s| s.core_wait),
        lock_wait_share: states.map(|s| s.lock_wait),
        io_wait_share: states.map(|s| s.io_wait),
        other_share: states.map(|s| s.other),
        voluntary_context_switches: measurement.map(|m| m.voluntary_context_switches),
        involuntary_context_switches: measurement.map(|m| m.involuntary_context_switches),
        gil_enabled_start: runner.and_then(|r| r.gil_enabled_start),
        gil_enabled_end: runner.and_then(|r| r.gil_enabled_end),
        sharing_method: sharing.map(|s| s.method.as_str()),
        sharing_cost_s: sharing.map(|s| s.cost_s),
        digest: runner.map(|r| r.digest.as_str()),
    }
}

impl Exporter for CsvExporter {
    fn serialize(&self, run: &LoadedRun) -> Result<Vec<u8>> {
        let mut writer = ::csv::Writer::from_writer(Vec::new());
        for trial in &run.trials {
            writer
                .serialize(row(run, trial))
                .with_context(|| format!("cannot write trial {} as CSV", trial.index))?;
        }
        writer.into_inner().context("cannot finish the CSV")
    }
}
