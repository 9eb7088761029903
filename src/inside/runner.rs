//! Runs the inspection (`python -m gil_lab.inside`) in one interpreter, with
//! a timeout, and reads its one JSON object back.

use std::time::Duration;

use crate::interpreters::child::{self, Finished};
use crate::protocol::inside::{
    INSIDE_PROTOCOL, InsideOutput, InsideReport, InsideSpec, Inspection, InspectionOutcome,
};
use crate::run::record::{InterpreterKind, InterpreterRecord};

/// Longest an interpreter may take to inspect the units: each unit runs a
/// few tasks of tens of milliseconds; a user's task may be slower.
pub fn timeout(spec: &InsideSpec) -> Duration {
    let units = spec.units.len() + usize::from(spec.task.is_some());
    Duration::from_secs(30 + 20 * units as u64 * u64::from(spec.tasks.max(1)))
}

/// Inspects the units of `spec` in `interpreter`; a failure is recorded as
/// one line, never an error: the other interpreters still answer.
pub fn inspect(interpreter: &InterpreterRecord, spec: &InsideSpec) -> Inspection {
    let outcome = match answer(interpreter, spec) {
        Ok(report) => InspectionOutcome::Report(report),
        Err(why) => InspectionOutcome::Failed(why),
    };
    Inspection {
        interpreter: interpreter.id.clone(),
        label: interpreter.label.clone(),
        outcome,
    }
}

fn answer(interpreter: &InterpreterRecord, spec: &InsideSpec) -> Result<InsideReport, String> {
    if interpreter.kind != InterpreterKind::Python {
        return Err("the native twin is compiled Rust: it has no bytecode to inspect".into());
    }
    let spec_text =
        serde_json::to_string(spec).map_err(|e| format!("cannot write the spec: {e}"))?;
    let mut command =
        crate::embedded::module_command(&interpreter.path, &interpreter.flags, "gil_lab.inside")
            .map_err(|e| format!("{e:#}"))?;
    command.arg(spec_text);
    let limit = timeout(spec);
    let (status, output) = match child::run(command, limit) {
        Ok(Finished::Exited(status, output)) => (status, output),
        Ok(Finished::TimedOut(_)) => {
            return Err(format!(
                "the inspection took longer than {} s and was stopped",
                limit.as_secs()
            ));
        }
        Err(error) => {
            return Err(format!(
                "cannot start {}: {error}",
                interpreter.path.display()
            ));
        }
    };
    let line = output
        .stdout
        .lines()
        .rev()
        .find(|l| l.trim_start().starts_with('{'));
    let parsed = line.and_then(|l| serde_json::from_str::<InsideOutput>(l).ok());
    match parsed {
        Some(InsideOutput::Success(report)) if report.protocol == INSIDE_PROTOCOL => Ok(report),
        Some(InsideOutput::Success(report)) => Err(format!(
            "the inspection speaks protocol {}, this gil-lab {INSIDE_PROTOCOL}",
            report.protocol
        )),
        Some(InsideOutput::Error { error }) => Err(error.message),
        None => Err(format!(
            "the inspection ended with {} and no report ({})",
            child::describe_status(status),
            output.summary()
        )),
    }
}
