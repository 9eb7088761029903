//! The `service` scenario in the terminal: per cell, the sustainable rate
//! with its percentiles, the first rate over the objective, and where the
//! time went at the sustainable rate; then the lesson sentence.

use std::io::Write;

use comfy_table::{ContentArrangement, Table, presets};

use crate::run::service::{ServiceLevel, ServiceRun};

fn ms(value: f64) -> String {
    if value >= 10.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.1}")
    }
}

fn percentiles(level: &ServiceLevel) -> String {
    let l = &level.latency_ms;
    let mut text = format!(
        "{} / {} / {} / {} / {} ({} req",
        ms(l.p50),
        ms(l.p90),
        ms(l.p99),
        ms(l.p99_9),
        ms(l.max),
        level.completed
    );
    if level.attempts > 1 {
        text.push_str(&format!(", {} runs pooled", level.attempts));
    }
    if level.p99_is_max {
        text.push_str(", p99 = max");
    }
    text.push(')');
    text
}

/// The table of a service run.
pub fn table(service: &ServiceRun) -> Table {
    let mut table = Table::new();
    table
        .load_style(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(vec![
            "interpreter",
            "approach",
            "sustainable rate (req/s)",
            "p50 / p90 / p99 / p99.9 / max ms",
            "throughput (req/s)",
            "queue · model · answer wait · steps, p99 ms",
            "first rate over the objective",
        ]);
    for cell in &service.cells {
        let at = cell.at_sustainable();
        let sustainable = match (cell.sustainable_rps, &cell.error, &cell.open) {
            (_, Some(error), _) => format!("failed: {error}"),
            (Some(rate), None, Some(why)) => format!("open: at least {rate:.1}; {why}"),
            (None, None, Some(why)) => format!("open: {why}"),
            (Some(rate), None, None) if cell.censored() => {
                format!("at least {rate:.1} (the ladder's top)")
            }
            (Some(rate), None, None) => format!("{rate:.1}"),
            (None, None, None) => format!(
                "none (below {:.1})",
                cell.levels.first().map_or(0.0, |l| l.offered_rps)
            ),
        };
        let failure = cell.first_failure().map_or_else(
            || "none tried".to_string(),
            |l| {
                format!(
                    "{:.1} req/s: {}",
                    l.offered_rps,
                    l.why_not.as_deref().unwrap_or("")
                )
            },
        );
        let shown = at.or(cell.levels.first());
        table.add_row(vec![
            cell.label.clone(),
            cell.approach.to_string(),
            sustainable,
            shown.map_or_else(String::new, percentiles),
            shown.map_or_else(String::new, |l| format!("{:.1}", l.throughput_rps)),
            shown.map_or_else(String::new, |l| {
                format!(
                    "{} · {} · {} · {}",
                    ms(l.queue_ms.p99),
                    ms(l.model_ms.p99),
                    ms(l.answer_wait_ms.p99),
                    ms(l.step_ms.p99)
                )
            }),
            failure,
        ]);
    }
    table
}

/// Prints the scenario: heading, table, what the figures are, the lesson.
pub fn print(out: &mut dyn Write, service: &ServiceRun) -> std::io::Result<()> {
    writeln!(
        out,
        "\nService (open-loop arrivals, latency from each request's scheduled arrival; objective p99 ≤ {:.0} ms)",
        service.slo_ms
    )?;
    writeln!(out, "{}", table(service))?;
    let capacities: Vec<String> = service
        .capacities
        .iter()
        .map(|c| {
            format!(
                "{}: {:.0} ms of reasoning per request, one core {:.1} req/s",
                c.label, c.step_ms, c.one_core_rps
            )
        })
        .collect();
    writeln!(
        out,
        "Figures at the sustainable rate (else the lowest tried). Ladder: 0.5-2× each interpreter's one-core capacity ({}).",
        capacities.join("; ")
    )?;
    if service.endpoint == "external" {
        writeln!(
            out,
            "The model is a real server: its time includes its own queueing, and the model/answer-wait split ends when the agent read the answer."
        )?;
    }
    if let Some(lesson) = service.lesson() {
        writeln!(out, "{lesson}")?;
    }
    Ok(())
}
