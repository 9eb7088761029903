//! The ray cells of a plan: each Python interpreter's Ray environment (made
//! now, with progress, when the plan has ray cells and it is missing), and a
//! one-line reason for each interpreter Ray has no wheels for. The cells of
//! those still run: their runner reports them skipped, so the run shows why.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Result;

use crate::interpreters::ray;
use crate::run::record::{CellKey, InterpreterKind, InterpreterRecord};
use crate::vocabulary::Approach;

/// Interpreter id → the Python of its Ray environment, for every Python
/// interpreter of a ray cell that Ray publishes wheels for.
pub fn ray_pythons(
    cells: &[CellKey],
    interpreters: &[InterpreterRecord],
) -> Result<BTreeMap<String, PathBuf>> {
    let mut pythons = BTreeMap::new();
    for interpreter in interpreters {
        let has_ray_cell = cells
            .iter()
            .any(|c| c.approach == Approach::Ray && c.interpreter == interpreter.id);
        if !has_ray_cell || interpreter.kind != InterpreterKind::Python {
            continue;
        }
        let Some(facts) = &interpreter.facts else {
            continue;
        };
        match ray::wheels::availability(facts) {
            Ok(()) => {
                let python = ray::ensure(&interpreter.path, facts, &interpreter.label)?;
                pythons.insert(interpreter.id.clone(), python);
            }
            Err(why) => eprintln!("ray: skipping {}: {why}", interpreter.label),
        }
    }
    Ok(pythons)
}
