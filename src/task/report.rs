//! The task's part of `bench`'s terminal report: per interpreter, what the
//! check found (calls, imports, the GIL), the measured kind of work and
//! each cell's verdict, then which approaches are safe for this code.

use std::io::Write;

use super::verdict::TaskVerdict;

/// Writes the task's verdicts.
pub fn print(out: &mut dyn Write, verdict: &TaskVerdict) -> std::io::Result<()> {
    writeln!(
        out,
        "\nTask `{}` ({}){}:",
        verdict.name,
        verdict.target,
        if verdict.rounds > 1 {
            format!(", --stress {}", verdict.rounds)
        } else {
            String::new()
        }
    )?;
    for interpreter in &verdict.interpreters {
        let check = &interpreter.check;
        if let Some(reason) = &check.excluded {
            writeln!(out, "  {}: left out: {reason}", check.label)?;
            continue;
        }
        let kind = match (interpreter.kind, interpreter.cpu_share) {
            (_, _) if let Some(m) = &interpreter.measured => {
                format!("{} ({})", m.words, m.evidence)
            }
            (Some(kind), Some(share)) => format!(
                "{} (CPU time ÷ wall time of the sequential cell: {share:.2})",
                kind.words()
            ),
            _ => "kind of work not measured".into(),
        };
        writeln!(
            out,
            "  {}: {} calls per trial{}; {kind}",
            check.label,
            check.calls,
            if check.is_async { " (async def)" } else { "" }
        )?;
        writeln!(
            out,
            "    imports: {} module(s){}",
            check.modules.len(),
            match check.gil_after_import {
                Some(true) if !check.gil_enabled_by.is_empty() => " — the GIL came back on".into(),
                Some(false) => " — the GIL stayed off".into(),
                _ => String::new(),
            }
        )?;
        for gil in &check.gil_enabled_by {
            writeln!(
                out,
                "    `{}` turned the GIL back on (python check-imports: {})",
                gil.module, gil.check_imports
            )?;
        }
        if let Some(reason) = &check.over_memory_limit {
            writeln!(out, "    check: {reason}; results are not compared")?;
        }
        if check.deterministic == Some(false) {
            writeln!(
                out,
                "    nondeterministic: two sequential runs gave different results; results are not compared"
            )?;
        }
        for cell in &interpreter.cells {
            let detail = if cell.detail.is_empty() {
                String::new()
            } else {
                format!(": {}", cell.detail)
            };
            let mark = if cell.safety.wrong() { "!" } else { " " };
            writeln!(
                out,
                "   {mark} {} ×{}: {}{detail}",
                cell.cell.approach,
                cell.cell.workers,
                cell.safety.words()
            )?;
        }
    }
    let names = |list: &[crate::vocabulary::Approach]| -> String {
        list.iter().map(|a| a.name()).collect::<Vec<_>>().join(", ")
    };
    if !verdict.safe.is_empty() {
        writeln!(
            out,
            "  Safe for this code (same results as sequential): {}",
            names(&verdict.safe)
        )?;
    }
    for (approach, reason) in &verdict.unsafe_approaches {
        writeln!(
            out,
            "  NOT SAFE: {approach}: {reason} (its times are not shown as a speedup)"
        )?;
    }
    Ok(())
}
