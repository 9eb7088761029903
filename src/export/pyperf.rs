//! `--export-pyperf`: a pyperf BenchmarkSuite (JSON format version 1.0, as
//! written by pyperf 2.x), so that `python -m pyperf stats FILE` and
//! `python -m pyperf compare_to A B` work on gil-lab runs.
//!
//! The mapping: one benchmark per cell, named `scenario/interpreter/approach/
//! workers`; one pyperf run per measured trial (each trial is its own
//! process, as each pyperf run is), holding one value: the trial's work-phase
//! time in seconds (the steady-state time speedups are computed from).
//! Warmup, failed and skipped trials are left out. pyperf checks metadata
//! strictly (no empty strings, no newlines, `loops` >= 1, values > 0), so
//! everything written here is checked the same way first.

use anyhow::{Context, Result, bail};
use serde_json::{Map, Value, json};

use super::Exporter;
use crate::run::LoadedRun;
use crate::run::record::{InterpreterKind, TrialRecord};

/// Writes a pyperf-compatible JSON suite.
pub struct PyperfExporter;

/// Version of pyperf's JSON format written.
const FORMAT_VERSION: &str = "1.0";

/// Metadata as pyperf accepts it: string values trimmed, on one line and
/// not empty (an empty one is left out).
#[derive(Default)]
struct Metadata(Map<String, Value>);

impl Metadata {
    fn text(&mut self, key: &str, value: &str) -> &mut Self {
        let value = value.replace(['\n', '\r'], " ");
        let value = value.trim();
        if !value.is_empty() {
            self.0.insert(key.to_string(), Value::from(value));
        }
        self
    }

    fn number(&mut self, key: &str, value: impl Into<Value>) -> &mut Self {
        self.0.insert(key.to_string(), value.into());
        self
    }

    fn take(&mut self) -> Value {
        Value::Object(std::mem::take(&mut self.0))
    }
}

/// Metadata common to every benchmark: the machine and the run.
fn suite_metadata(run: &LoadedRun) -> Value {
    let file = &run.run;
    let machine = &file.machine;
    let mut metadata = Metadata::default();
    if let Some(model) = &machine.cpu_model {
        metadata.text("cpu_model_name", model);
    }
    if let Some(count) = machine.logical_cores {
        metadata.number("cpu_count", count.max(1));
    }
    if let Some(kernel) = &machine.kernel {
        metadata.text("platform", kernel);
    }
    metadata
        .text("gil_lab_version", &file.gil_lab_version)
        .text("gil_lab_run", &file.started_at)
        .text("gil_lab_value", "work-phase time of one trial")
        .number("gil_lab_scale", file.settings.scale)
        .number("gil_lab_seed", file.settings.seed);
    metadata.take()
}

/// One pyperf run from a measured trial.
fn trial_run(trial: &TrialRecord) -> Result<Option<Value>> {
    let Some(work) = trial.work_s() else {
        return Ok(None);
    };
    if !(work.is_finite() && work > 0.0) {
        bail!(
            "trial {} ({}) has a work-phase time of {work} s; pyperf only stores times > 0",
            trial.index,
            trial.cell
        );
    }
    let mut metadata = Metadata::default();
    metadata.text("date", &trial.started_at).number("loops", 1);
    if let Some(measurement) = &trial.measurement {
        metadata
            .number("duration", measurement.wall_s.max(0.0))
            // pyperf's key means RSS: the tree's summed RSS goes there (the
            // PSS, gil-lab's "memory", is in the other exports).
            .number(
                "mem_max_rss",
                measurement
                    .peak_rss_bytes
                    .unwrap_or(measurement.peak_memory_bytes),
            );
    }
    Ok(Some(
        json!({ "metadata": metadata.take(), "values": [work] }),
    ))
}

impl Exporter for PyperfExporter {
    fn serialize(&self, run: &LoadedRun) -> Result<Vec<u8>> {
        // Cells in the order of their first trial, like the plan's order.
        let mut cells = Vec::new();
        for trial in &run.trials {
            if trial.is_measured() && !cells.contains(&&trial.cell) {
                cells.push(&trial.cell);
            }
        }
        let mut benchmarks = Vec::new();
        for cell in cells {
            let mut runs = Vec::new();
            for trial in run
                .trials
                .iter()
                .filter(|t| t.is_measured() && &t.cell == cell)
            {
                runs.extend(trial_run(trial)?);
            }
            if runs.is_empty() {
                continue;
            }
            let mut metadata = Metadata::default();
            metadata
                .text("name", &cell.to_string())
                .text("unit", "second")
                .text("gil_lab_scenario", &cell.scenario)
                .text("gil_lab_approach", cell.approach.name())
                .number("gil_lab_workers", cell.workers);
            if let Some(interpreter) = run.run.interpreter(&cell.interpreter) {
                metadata.text("gil_lab_interpreter", &interpreter.label);
                if interpreter.kind == InterpreterKind::Python {
                    metadata
                        .text(
                            "python_implementation",
                            &interpreter.implementation.to_lowercase(),
                        )
                        .text("python_version", &interpreter.version)
                        .text("python_executable", &interpreter.path.to_string_lossy());
                }
            }
            benchmarks.push(json!({ "metadata": metadata.take(), "runs": runs }));
        }
        if benchmarks.is_empty() {
            bail!("{} has no measured trial to export", run.dir.display());
        }
        let suite = json!({
            "version": FORMAT_VERSION,
            "metadata": suite_metadata(run),
            "benchmarks": benchmarks,
        });
        let mut bytes = serde_json::to_vec(&suite).context("cannot serialise the pyperf suite")?;
        bytes.push(b'\n');
        Ok(bytes)
    }
}
