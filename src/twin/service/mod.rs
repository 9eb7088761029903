//! The native twin's `service` mode (`gil-lab twin service <spec-json>`,
//! `workload/gil_lab/service/runner.py`): the same spec in, the same one
//! JSON object out, with native threads serving (the ceiling: no
//! interpreter, no GIL). [`request`] is one request, [`load`] the open-loop
//! driver and the calibration. docs/service.md.

mod load;
mod request;

use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use serde_json::json;

use crate::protocol::service::ServiceSpec;
use crate::vocabulary::Approach;

/// Runs the spec in `args` and prints the result; exit 1 on an error.
pub fn serve(args: &[String]) -> Result<ExitCode> {
    let outcome = args
        .first()
        .context("expected exactly one argument, the service spec as JSON")
        .and_then(|text| {
            serde_json::from_str::<ServiceSpec>(text).context("the service spec is not valid")
        })
        .and_then(|spec| run(&spec));
    let (value, code) = match outcome {
        Ok(mut value) => {
            value["result"] = json!("success");
            (value, ExitCode::SUCCESS)
        }
        Err(error) => (
            json!({"result": "error", "error": {"kind": "twin_service_failed", "message": format!("{error:#}")}}),
            ExitCode::FAILURE,
        ),
    };
    println!("{value}");
    Ok(code)
}

fn run(spec: &ServiceSpec) -> Result<serde_json::Value> {
    if spec.approach != Approach::Threads {
        bail!(
            "the native twin serves with threads only, not {}",
            spec.approach
        );
    }
    if !spec.llm.strict {
        bail!("the native twin calls the built-in endpoint only");
    }
    if let Some(count) = spec.calibrate {
        let calibration = load::calibrate(&spec.llm, spec.seed, count)?;
        return Ok(json!({ "calibration": calibration }));
    }
    let mut levels = Vec::new();
    let attempts = if spec.repeat_marginal { 2 } else { 1 };
    for &rate in &spec.rates {
        for _ in 0..attempts {
            let level = load::level(
                &spec.llm,
                spec.workers,
                rate,
                spec.level_s,
                spec.drain_s,
                spec.seed,
                spec.min_requests,
            )?;
            let again = marginal(&level, spec.slo_s);
            levels.push(level);
            if !again {
                break;
            }
        }
    }
    Ok(json!({ "levels": levels }))
}

/// Over the objective but not clearly (`runner.marginal`): nothing dropped
/// and a p99 above `slo_s` by at most twice; such a level is run once more.
fn marginal(level: &crate::protocol::service::RawLevel, slo_s: f64) -> bool {
    let mut latencies: Vec<f64> = level.requests.iter().map(|r| r.end - r.scheduled).collect();
    if level.dropped > 0 || latencies.is_empty() {
        return false;
    }
    latencies.sort_by(f64::total_cmp);
    let rank = ((0.99 * latencies.len() as f64) as usize).min(latencies.len() - 1);
    let p99 = latencies[rank];
    p99 > slo_s && p99 <= 2.0 * slo_s
}
