//! The run's look inside its interpreters (`inside.json`), made before the
//! first trial: each Python interpreter warms the workload's units (or the
//! team's task) up and reports their specialisation, the collector's work
//! and its features. It runs two interpreters at a time while no trial
//! runs, and counts in the start-up time; `--no-inspect` skips it.

use std::path::Path;

use crate::protocol::inside::Inspection;
use crate::run::directory;
use crate::run::record::RunFile;

/// Inspects the run's interpreters and writes `inside.json`. A failure costs
/// the dashboard its "Inside CPython" section, never the run: it is a warning.
pub(super) fn inspect(run: &RunFile, dir: &Path, interactive: bool) {
    let spec = crate::inside::run_spec(run);
    if interactive {
        eprintln!(
            "Looking inside the interpreters (specialisation, collector; --no-inspect skips this)..."
        );
    }
    let failed = |inspection: &Inspection| {
        if let crate::protocol::inside::InspectionOutcome::Failed(why) = &inspection.outcome {
            eprintln!("warning: cannot inspect {}: {why}", inspection.label);
        }
    };
    let inside = crate::inside::inspect_all(&run.interpreters, &spec, &failed);
    if let Err(error) = directory::write_inside(dir, &inside) {
        eprintln!("warning: {error:#}");
    }
}
