//! Advice for the `service` scenario of a run (`service.json`): the
//! approach and interpreter with the highest sustainable rate within the
//! objective, and what it costs at that rate (cores kept busy, memory,
//! processes). Only a decided choice is a recommendation; a tie at the
//! ladder's resolution, an undecided ladder or no passing cell says so and
//! recommends nothing (docs/service.md, "The verdict").

use crate::advise::advice::Recommendation;
use crate::advise::finding::Alternative;
use crate::run::format::format_bytes;
use crate::run::service::{ServiceCell, ServiceChoice, ServiceRun};

/// The cost of serving `cell` at its sustainable rate, in words.
fn costs(cell: &ServiceCell) -> Vec<String> {
    let Some(level) = cell.at_sustainable() else {
        return Vec::new();
    };
    let mut costs = Vec::new();
    if let Some(cores) = level.cores {
        costs.push(format!(
            "{cores:.2} cores kept busy at {:.1} requests/s",
            level.offered_rps
        ));
    }
    if let Some(bytes) = level.peak_memory_bytes {
        costs.push(format!(
            "{} peak memory across {} process{}",
            format_bytes(bytes),
            level.processes.unwrap_or(1),
            if level.processes.unwrap_or(1) == 1 {
                ""
            } else {
                "es"
            }
        ));
    }
    costs.push(format!(
        "p99 {:.0} ms there ({} requests{})",
        level.latency_ms.p99,
        level.completed,
        if level.p99_is_max { ", p99 = max" } else { "" }
    ));
    costs
}

fn name(cell: &ServiceCell) -> String {
    format!("{} on {}", cell.approach, cell.label)
}

fn rate_text(cell: &ServiceCell) -> String {
    match (cell.sustainable_rps, &cell.open, &cell.error) {
        (_, _, Some(error)) => format!("failed: {error}"),
        (Some(rate), Some(why), None) => format!("undecided (at least {rate:.1} req/s): {why}"),
        (None, Some(why), None) => format!("undecided: {why}"),
        (Some(rate), None, None) if cell.censored() => {
            format!("at least {rate:.1} req/s (passed to the ladder's top)")
        }
        (Some(rate), None, None) => format!("{rate:.1} req/s"),
        (None, None, None) => "not even its lowest rate".into(),
    }
}

/// The recommendation for the run's service scenario.
pub fn recommend(service: &ServiceRun) -> Recommendation {
    let mut rec = Recommendation::new("service");
    // "none": no recommendation, only the headline (what advise prints).
    rec.approach = "none".into();
    let objective = format!("p99 ≤ {:.0} ms", service.slo_ms);
    let chosen = match service.choice() {
        ServiceChoice::Best(cell) => {
            rec.approach = cell.approach.to_string();
            rec.interpreter = cell.label.clone();
            rec.workers = Some(cell.workers);
            rec.headline = format!(
                "For a service: {} — the highest sustainable rate within {objective}, {}.",
                name(cell),
                rate_text(cell)
            );
            rec.costs = costs(cell);
            Some(cell)
        }
        ServiceChoice::Level(cells) => {
            rec.headline = format!(
                "For a service: undecided — {} sustain the same rate within {objective} at the ladder's resolution; their costs differ (below).",
                cells.iter().map(|c| name(c)).collect::<Vec<_>>().join(", ")
            );
            for cell in &cells {
                rec.reasons
                    .push(format!("{}: {}", name(cell), costs(cell).join(", ")));
            }
            None
        }
        ServiceChoice::Open(_, cell) => {
            rec.headline = format!(
                "For a service: undecided — {}: {}.",
                name(cell),
                cell.why_undecided()
            );
            None
        }
        ServiceChoice::Nothing => {
            rec.headline = format!(
                "For a service: no approach met {objective} even at its lowest rate; loosen --slo or measure on an idle machine."
            );
            None
        }
    };
    for cell in &service.cells {
        if chosen.is_some_and(|c| std::ptr::eq(c, cell)) {
            continue;
        }
        rec.alternatives.push(Alternative {
            approach: name(cell),
            why_not: rate_text(cell),
        });
    }
    if service.endpoint == "external" {
        rec.warnings
            .push("the model is a real server: its own queueing is part of every latency".into());
    }
    rec.measure.push(format!(
        "gil-lab bench --scenario service --slo {:.0}   # again, on an idle machine",
        service.slo_ms
    ));
    rec
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn level(rate: f64, meets: bool) -> serde_json::Value {
        let p = json!({"p50": 100.0, "p99": 200.0});
        json!({
            "offered_rps": rate, "scheduled": 100, "completed": 100, "errors": 0,
            "dropped": 0, "digest_mismatches": 0, "throughput_rps": rate,
            "latency_ms": {"p50": 100.0, "p90": 150.0, "p99": 200.0, "p99_9": 210.0, "max": 220.0},
            "queue_ms": p, "model_ms": p, "answer_wait_ms": p, "step_ms": p,
            "cores": 0.8, "peak_memory_bytes": 104857600u64, "processes": 5,
            "meets_objective": meets
        })
    }

    fn run(cells: Vec<(&str, Option<f64>, Vec<serde_json::Value>)>) -> ServiceRun {
        let cells: Vec<serde_json::Value> = cells
            .into_iter()
            .map(|(approach, rate, levels)| {
                json!({"interpreter": "cpython-3.13", "label": "CPython 3.13",
                       "gil_mode": "gil", "approach": approach, "workers": 4,
                       "levels": levels, "sustainable_rps": rate})
            })
            .collect();
        serde_json::from_value(json!({"slo_ms": 500.0, "level_s": 3.0, "drain_s": 2.0,
            "endpoint": "builtin", "capacities": [], "cells": cells}))
        .unwrap()
    }

    #[test]
    fn a_decided_service_is_recommended_with_its_cost_an_undecided_one_is_not() {
        let decided = recommend(&run(vec![
            (
                "processes",
                Some(10.0),
                vec![level(5.0, true), level(10.0, true), level(20.0, false)],
            ),
            (
                "threads",
                Some(5.0),
                vec![level(5.0, true), level(10.0, false)],
            ),
        ]));
        assert_eq!(decided.approach, "processes");
        assert!(
            decided.costs.iter().any(|c| c.contains("0.80 cores")),
            "{:?}",
            decided.costs
        );
        assert!(
            decided
                .costs
                .iter()
                .any(|c| c.contains("100.0 MiB") && c.contains("5 processes")),
            "{:?}",
            decided.costs
        );
        let same = recommend(&run(vec![
            (
                "processes",
                Some(5.0),
                vec![level(5.0, true), level(10.0, false)],
            ),
            (
                "threads",
                Some(5.0),
                vec![level(5.0, true), level(10.0, false)],
            ),
        ]));
        assert_eq!(same.approach, "none");
        assert!(same.headline.contains("undecided"), "{}", same.headline);
    }
}
