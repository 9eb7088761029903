//! `--export-markdown`: the run as a report to paste into an issue or a pull
//! request: one table per scenario (interpreter x approach with median
//! work-phase time and its 95% CI, both speedups, efficiency, parallelism,
//! peak memory), the verdict of each scenario, a task run's thread-safety
//! verdict, what the run saw inside its interpreters, and the warnings.

use std::fmt::Write as _;

use anyhow::Result;

use super::{Exporter, summary_of};
use crate::run::LoadedRun;
use crate::run::format::{format_bytes, format_seconds};
use crate::run::record::{CellState, CellSummary, RunSummary, WarningKind};
use crate::stats::{Estimate, Summary};

/// Writes a Markdown report.
pub struct MarkdownExporter;

/// Escapes text for a table cell.
fn cell_text(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// `512.3 ms [508.1 ms, 517.0 ms]`: a median with its 95% CI.
fn time_with_ci(summary: &Summary) -> String {
    format!(
        "{} [{}, {}]",
        format_seconds(summary.median),
        format_seconds(summary.ci_low),
        format_seconds(summary.ci_high)
    )
}

/// `1.95× [1.90, 2.00]` (with `suffix` "×"), or `—` when there is none.
fn estimate(estimate: Option<&Estimate>, suffix: &str) -> String {
    estimate.map_or_else(
        || "—".to_string(),
        |e| format!("{:.2}{suffix} [{:.2}, {:.2}]", e.point, e.ci_low, e.ci_high),
    )
}

/// A scenario's cells as table rows.
fn table(out: &mut String, run: &LoadedRun, cells: &[&CellSummary]) {
    out.push_str(
        "| interpreter | approach | workers | work phase (median, 95% CI) | speedup | end-to-end speedup | efficiency | parallelism | memory (PSS) | lock wait | trials |\n",
    );
    out.push_str("|---|---|---:|---|---|---|---|---|---:|---:|---:|\n");
    for cell in cells {
        let key = &cell.cell;
        let interpreter = run
            .run
            .interpreter(&key.interpreter)
            .map_or(key.interpreter.as_str(), |i| i.label.as_str());
        let work = match (&cell.state, &cell.work) {
            (_, Some(work)) => time_with_ci(work),
            (CellState::Skipped, None) => format!(
                "skipped: {}",
                cell.skip_reason.as_deref().unwrap_or("not supported")
            ),
            (CellState::Failed, None) => cell
                .over_memory_limit
                .as_ref()
                .map_or_else(|| "failed".to_string(), |over| over.words()),
            (_, None) => "not measured".to_string(),
        };
        let parallelism = cell
            .parallelism
            .as_ref()
            .map_or_else(|| "—".to_string(), |p| format!("{:.2}", p.median));
        let memory = cell
            .peak_memory_bytes
            .map_or_else(|| "—".to_string(), format_bytes);
        let lock_wait = cell.thread_states.map_or_else(
            || "—".to_string(),
            |s| format!("{:.0}%", s.lock_wait * 100.0),
        );
        let noise = if cell.speedup_flag.is_some() {
            " ⚠ noise (beyond the cores)"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {}{noise} | {} | {} | {} | {} | {} | {} |",
            cell_text(interpreter),
            cell_text(key.approach.name()),
            key.workers,
            cell_text(&work),
            estimate(cell.speedup.as_ref(), "×"),
            estimate(cell.end_to_end_speedup.as_ref(), "×"),
            estimate(cell.efficiency.as_ref(), ""),
            parallelism,
            memory,
            lock_wait,
            cell.trials,
        );
    }
}

fn warning_word(kind: WarningKind) -> &'static str {
    match kind {
        WarningKind::Noise => "noise",
        WarningKind::Outliers => "outliers",
        WarningKind::Imprecise => "imprecise",
        WarningKind::Gil => "gil",
        WarningKind::Digest => "digest",
        WarningKind::Skipped => "skipped",
        WarningKind::Failed => "failed",
        WarningKind::Incomplete => "incomplete",
        WarningKind::Impossible => "impossible",
        WarningKind::Drift => "drift",
    }
}

/// Scenarios in the order their first cell appears.
fn scenarios(summary: &RunSummary) -> Vec<&str> {
    let mut names: Vec<&str> = Vec::new();
    for cell in &summary.cells {
        if !names.contains(&cell.cell.scenario.as_str()) {
            names.push(&cell.cell.scenario);
        }
    }
    names
}

impl Exporter for MarkdownExporter {
    fn serialize(&self, run: &LoadedRun) -> Result<Vec<u8>> {
        let summary = summary_of(run)?;
        let file = &run.run;
        let mut out = String::new();
        let _ = writeln!(out, "# gil-lab run of {}\n", file.started_at);
        let machine = file.machine.cpu_model.as_deref().unwrap_or("unknown CPU");
        let _ = writeln!(
            out,
            "gil-lab {}, preset `{}`, scale {}, seed {}, on {} with {} usable cores; {} measured trials.\n",
            file.gil_lab_version,
            file.settings.preset,
            file.settings.scale,
            file.settings.seed,
            cell_text(machine),
            file.settings.usable_cores,
            summary.totals.measured,
        );
        out.push_str(
            "Speedup: the `sequential` cell's median work-phase time ÷ this cell's (same \
             interpreter and scenario); end-to-end speedup uses whole-trial wall time. \
             Brackets hold 95% confidence intervals.\n",
        );
        for scenario in scenarios(summary) {
            let _ = writeln!(out, "\n## Scenario `{scenario}`\n");
            let cells: Vec<&CellSummary> = summary
                .cells
                .iter()
                .filter(|c| c.cell.scenario == scenario)
                .collect();
            table(&mut out, run, &cells);
            if let Some(verdict) = summary.scenarios.iter().find(|v| v.scenario == scenario) {
                let _ = writeln!(out, "\n**Verdict:** {}", verdict.explanation);
            }
        }
        if let Some(verdict) = crate::task::verdict::of_run(run) {
            task_section(&mut out, &verdict);
        }
        if let Some(inside) = &run.inside {
            inside_section(&mut out, inside);
        }
        if !summary.warnings.is_empty() {
            out.push_str("\n## Warnings\n\n");
            for warning in &summary.warnings {
                let cell = warning
                    .cell
                    .as_ref()
                    .map_or_else(String::new, |c| format!(" `{c}`"));
                let _ = writeln!(
                    out,
                    "- **{}**{cell}: {}",
                    warning_word(warning.kind),
                    warning.message
                );
            }
        }
        if let Some(service) = &run.service {
            service_section(&mut out, service);
        }
        Ok(out.into_bytes())
    }
}

/// A task run: which approaches gave the sequential results, which did
/// not and why, and the kind of work measured on each interpreter.
fn task_section(out: &mut String, verdict: &crate::task::verdict::TaskVerdict) {
    let _ = writeln!(
        out,
        "\n## Task `{}` (`{}`)\n",
        cell_text(&verdict.name),
        cell_text(&verdict.target)
    );
    let names = |approaches: &[crate::vocabulary::Approach]| {
        approaches
            .iter()
            .map(|a| format!("`{}`", a.name()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if !verdict.safe.is_empty() {
        let _ = writeln!(
            out,
            "- **Same results as sequential:** {}",
            names(&verdict.safe)
        );
    }
    for (approach, reason) in &verdict.unsafe_approaches {
        let _ = writeln!(
            out,
            "- **Wrong results** under `{}`: {}",
            approach.name(),
            cell_text(reason)
        );
    }
    for interpreter in &verdict.interpreters {
        if let (Some(kind), Some(share)) = (interpreter.kind, interpreter.cpu_share) {
            let _ = writeln!(
                out,
                "- On {}: {} ({:.0}% of the sequential work phase on a CPU)",
                cell_text(&interpreter.check.label),
                kind.words(),
                share * 100.0
            );
        }
    }
}

/// The specialised share of each inspected unit, per interpreter
/// (docs/inside-cpython.md).
fn inside_section(out: &mut String, inside: &crate::protocol::inside::InsideFile) {
    let answered: Vec<_> = inside
        .inspections
        .iter()
        .filter_map(|i| i.report().map(|r| (i, r)))
        .collect();
    let Some((_, first)) = answered.first() else {
        return;
    };
    out.push_str(
        "\n## Inside CPython\n\nSpecialised ÷ specialisable instructions in each unit's hot functions after warm-up (docs/inside-cpython.md).\n\n",
    );
    let labels: Vec<String> = answered.iter().map(|(i, _)| cell_text(&i.label)).collect();
    let _ = writeln!(out, "| unit | {} |", labels.join(" | "));
    let _ = writeln!(out, "|---|{}", "---|".repeat(labels.len()));
    for unit in &first.units {
        let shares: Vec<String> = answered
            .iter()
            .map(|(_, r)| {
                r.unit(&unit.name)
                    .map_or_else(|| "-".into(), |u| u.share_text())
            })
            .collect();
        let _ = writeln!(
            out,
            "| {} | {} |",
            cell_text(&unit.name),
            shares.join(" | ")
        );
    }
}

/// The `service` scenario: per cell and rate, the latency percentiles and
/// whether the rate meets the objective; then the lesson.
fn service_section(out: &mut String, service: &crate::run::service::ServiceRun) {
    let _ = writeln!(
        out,
        "\n## Service (open-loop, objective p99 ≤ {:.0} ms)\n",
        service.slo_ms
    );
    out.push_str("| interpreter | approach | offered req/s | throughput req/s | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | dropped | errors | answer wait p99 ms | meets |\n");
    out.push_str("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
    for cell in &service.cells {
        for level in &cell.levels {
            let l = &level.latency_ms;
            let _ = writeln!(
                out,
                "| {} | {} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {} | {} | {:.1} | {} |",
                cell_text(&cell.label),
                cell.approach,
                level.offered_rps,
                level.throughput_rps,
                l.p50,
                l.p90,
                l.p99,
                l.p99_9,
                l.max,
                level.dropped,
                level.errors,
                level.answer_wait_ms.p99,
                match &level.why_not {
                    None => "yes".to_string(),
                    Some(why) => format!("no: {}", cell_text(why)),
                }
            );
        }
    }
    out.push('\n');
    for cell in &service.cells {
        let rate = cell.sustainable_rps.map_or_else(
            || "none of the rates tried".to_string(),
            |r| format!("{r:.1} req/s"),
        );
        let _ = writeln!(
            out,
            "- sustainable rate, {} on {}: {rate}",
            cell.approach,
            cell_text(&cell.label)
        );
    }
    if let Some(lesson) = service.lesson() {
        let _ = writeln!(out, "\n{lesson}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_come_with_their_ci() {
        let s = Summary::of(&[0.5123, 0.5081, 0.5170], 1);
        // Three samples: the CI is their full range.
        assert_eq!(time_with_ci(&s), "512.3 ms [508.1 ms, 517.0 ms]");
    }

    #[test]
    fn inside_lists_each_units_share_per_interpreter() {
        let mut out = String::new();
        inside_section(&mut out, &crate::run::fixtures::task_inside());
        assert!(out.contains("| unit | 3.13.5t | 3.13.5 |"), "{out}");
        assert!(out.contains("| t.py:f | 0/4 (0%) | 2/4 (50%) |"), "{out}");
    }

    #[test]
    fn table_text_is_escaped() {
        assert_eq!(cell_text("a|b\nc"), "a\\|b c");
    }
}
