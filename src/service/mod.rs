//! The `service` scenario (`bench --scenario service`): agent requests
//! arriving at fixed rates, open-loop, on each Python interpreter and
//! approach. Per interpreter, a calibration (requests one after another)
//! measures its one-core capacity; the ladder of rates is derived from it;
//! each (interpreter, approach) runs the ladder in one runner process
//! (`gil_lab.service.runner`), and [`figures`] turns the raw times into
//! percentiles and the sustainable rate (`run::service`, `service.json`).
//! docs/service.md.

pub mod figures;
pub mod render;

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::interpreters::child::{self, Finished};
use crate::llm::bench::{EndpointKind, LlmSettings};
use crate::protocol::service::{ServiceOutput, ServiceSpec};
use crate::run::record::{InterpreterKind, InterpreterRecord};
use crate::run::service::{ServiceCapacity, ServiceCell, ServiceRun, sustainable_rate, undecided};
use crate::vocabulary::Approach;

/// The ladder: multiples of an interpreter's one-core capacity (2 = two
/// cores' worth, what free-threading or processes can reach here).
pub const LADDER: [f64; 5] = [0.5, 0.75, 1.0, 1.5, 2.0];
/// The native twin's ladder: multiples of the fastest Python build's
/// one-core capacity (the twin serves with threads and no GIL).
pub const NATIVE_LADDER: [f64; 5] = [0.5, 1.0, 2.0, 4.0, 8.0];
/// Arrivals per level at least: with 100 or more, the p99 is not simply a
/// level's largest latency (docs/service.md, "The verdict").
pub const MIN_REQUESTS: u32 = 100;
/// The approaches a service runs.
pub const APPROACHES: [Approach; 4] = [
    Approach::Threads,
    Approach::Processes,
    Approach::Asyncio,
    Approach::AsyncioThreads,
];
/// Requests of the calibration.
const CALIBRATION_REQUESTS: u32 = 8;
/// Calibrations per interpreter, interleaved; the fastest counts.
const CALIBRATION_ROUNDS: u32 = 3;
/// A cell's ladder stops after this many levels in a row clearly over the
/// objective (drops, or a p99 above twice it).
const STOP_AFTER_BROKEN: u32 = 2;

/// A cell's ladder while the scenario runs.
struct Progress<'a> {
    interpreter: &'a InterpreterRecord,
    approach: Approach,
    rates: Vec<f64>,
    levels: Vec<crate::protocol::service::RawLevel>,
    broken: u32,
    error: Option<String>,
}

/// How the scenario runs.
#[derive(Clone, Debug)]
pub struct Options {
    /// The objective: p99 at most this many milliseconds (`--slo`).
    pub slo_ms: f64,
    /// Seconds of arrivals per level.
    pub level_s: f64,
    /// Seconds after the last arrival before a request counts as dropped.
    pub drain_s: f64,
    /// Workers serving (threads, processes, coroutines).
    pub workers: u32,
    /// Seeds the requests' tasks.
    pub seed: u64,
    /// Which approaches.
    pub approaches: Vec<Approach>,
    /// Arrivals per level at least ([`MIN_REQUESTS`]).
    pub min_requests: u32,
    /// Whether a level just over the objective is run once more.
    pub repeat_marginal: bool,
    /// Tests only: request index and seconds its worker stalls.
    pub stall: Option<(u32, f64)>,
}

impl Options {
    /// The defaults for an objective.
    pub fn new(slo_ms: f64, seed: u64) -> Options {
        Options {
            slo_ms,
            level_s: 3.0,
            drain_s: (4.0 * slo_ms / 1000.0).max(1.0),
            workers: crate::llm::bench::LLM_WORKERS,
            seed,
            approaches: APPROACHES.to_vec(),
            min_requests: MIN_REQUESTS,
            repeat_marginal: true,
            stall: None,
        }
    }
}

/// Runs the scenario on the Python interpreters (the forced-GIL controls
/// are left out: a service picks a build as it runs by default) and on the
/// native twin, the ceiling, when `interpreters` has it (threads only, at
/// the Python builds' rates). `say` hears the progress.
pub fn run(
    interpreters: &[InterpreterRecord],
    llm: &LlmSettings,
    options: &Options,
    say: &dyn Fn(&str),
) -> Result<ServiceRun> {
    if options.slo_ms <= 0.0 {
        bail!(
            "--slo {}: the objective must be positive milliseconds, e.g. --slo 250",
            options.slo_ms
        );
    }
    // The Python builds, then the native twin (the ceiling) when the run has it.
    let pythons: Vec<&InterpreterRecord> = interpreters
        .iter()
        .filter(|i| i.kind == InterpreterKind::Python && i.gil_forced != Some(true))
        .chain(
            interpreters
                .iter()
                .filter(|i| i.kind == InterpreterKind::Native)
                .take(1),
        )
        .collect();
    // Calibrations interleaved, several rounds: the machine's load drifts,
    // and each interpreter keeps its least disturbed round (the fastest).
    let mut best: Vec<Option<f64>> = vec![None; pythons.len()];
    for round in 0..CALIBRATION_ROUNDS {
        for (slot, interpreter) in best.iter_mut().zip(&pythons) {
            say(&format!(
                "service: calibrating {} ({}/{CALIBRATION_ROUNDS})",
                interpreter.label,
                round + 1
            ));
            let calibration_spec = spec(
                llm,
                options,
                Approach::Threads,
                Some(CALIBRATION_REQUESTS),
                vec![],
            );
            match spawn(interpreter, &calibration_spec, 120)
                .and_then(|out| out.calibration.context("the calibration reported nothing"))
            {
                Ok(c) => *slot = Some(slot.map_or(c.step_s, |s| s.min(c.step_s))),
                Err(error) => say(&format!(
                    "warning: service: cannot calibrate {}: {error:#}",
                    interpreter.label
                )),
            }
        }
    }
    let mut capacities = Vec::new();
    // (interpreter, approach, its ladder, raw levels so far, broken in a row, error)
    let mut cells: Vec<Progress> = Vec::new();
    // The twin's ladder is in the Python builds' rates (its own capacity is
    // far above what they reach): where they fail, does the ceiling hold?
    let fastest_python = pythons
        .iter()
        .zip(&best)
        .filter(|(i, _)| i.kind == InterpreterKind::Python)
        .filter_map(|(_, s)| s.map(|s| 1.0 / s.max(1e-6)))
        .fold(None, |a: Option<f64>, r| Some(a.map_or(r, |a| a.max(r))));
    for (interpreter, step_s) in pythons.iter().zip(&best) {
        let Some(step_s) = *step_s else { continue };
        let one_core_rps = 1.0 / step_s.max(1e-6);
        let native = interpreter.kind == InterpreterKind::Native;
        let (ladder, base): (&[f64], f64) = match (native, fastest_python) {
            (true, Some(python)) => (&NATIVE_LADDER, python),
            _ => (&LADDER, one_core_rps),
        };
        let rates: Vec<f64> = ladder
            .iter()
            .map(|f| ((f * base * 10.0).round() / 10.0).max(0.1))
            .collect();
        capacities.push(ServiceCapacity {
            interpreter: interpreter.id.clone(),
            label: interpreter.label.clone(),
            step_ms: step_s * 1e3,
            one_core_rps,
            rates: rates.clone(),
        });
        let approaches = if native {
            vec![Approach::Threads]
        } else {
            options.approaches.clone()
        };
        for approach in approaches {
            cells.push(Progress {
                interpreter,
                approach,
                rates: rates.clone(),
                levels: Vec::new(),
                broken: 0,
                error: None,
            });
        }
    }
    // The ladders interleaved: step i of every cell, then step i + 1, so
    // that cells compared ran next to each other (a cell stops after two
    // levels in a row clearly over the objective).
    for step in 0..LADDER.len().max(NATIVE_LADDER.len()) {
        for cell in cells.iter_mut() {
            if cell.error.is_some() || cell.broken >= STOP_AFTER_BROKEN {
                continue;
            }
            let Some(&rate) = cell.rates.get(step) else {
                continue;
            };
            say(&format!(
                "service: {} on {}, {rate:.1} requests/s",
                cell.approach, cell.interpreter.label
            ));
            let limit = 60
                + (2.0
                    * (options.level_s.max(f64::from(options.min_requests) / rate)
                        + options.drain_s
                        + 2.0)) as u64;
            match spawn(
                cell.interpreter,
                &spec(llm, options, cell.approach, None, vec![rate]),
                limit,
            ) {
                Ok(out) => {
                    let clearly_over = out.levels.last().is_none_or(|raw| {
                        let figures = figures::level(raw, &BTreeMap::new(), options.slo_ms);
                        figures.dropped > 0
                            || figures.completed == 0
                            || figures.latency_ms.p99 > 2.0 * options.slo_ms
                    });
                    cell.broken = if clearly_over { cell.broken + 1 } else { 0 };
                    cell.levels.extend(out.levels);
                }
                Err(error) => cell.error = Some(format!("{error:#}")),
            }
        }
    }
    let raws: Vec<_> = cells
        .into_iter()
        .map(|c| {
            let outcome = match c.error {
                Some(error) => Err(error),
                None => Ok(c.levels),
            };
            (c.interpreter, c.approach, outcome)
        })
        .collect();
    // Digests are compared across every cell when the answers are gil-lab's own.
    let reference = if llm.endpoint == EndpointKind::Builtin {
        figures::reference_digests(
            raws.iter()
                .filter_map(|(_, _, o)| o.as_ref().ok())
                .flat_map(|levels| levels.iter()),
        )
    } else {
        Default::default()
    };
    let cells = raws
        .into_iter()
        .map(|(interpreter, approach, outcome)| {
            let step_s = capacities
                .iter()
                .find(|c| c.interpreter == interpreter.id)
                .map_or(0.0, |c| c.step_ms / 1e3);
            let (levels, error) = match outcome {
                Ok(raw) => (
                    figures::attempts(&raw)
                        .iter()
                        .map(|tries| {
                            let mut level = figures::pooled(tries, &reference, options.slo_ms);
                            figures::note_starved(&mut level, step_s);
                            level
                        })
                        .collect(),
                    None,
                ),
                Err(error) => (Vec::new(), Some(error)),
            };
            ServiceCell {
                interpreter: interpreter.id.clone(),
                label: interpreter.label.clone(),
                gil_mode: interpreter.gil_mode(),
                approach,
                workers: options.workers,
                sustainable_rps: sustainable_rate(&levels),
                open: undecided(&levels),
                levels,
                error,
            }
        })
        .collect();
    Ok(ServiceRun {
        slo_ms: options.slo_ms,
        level_s: options.level_s,
        drain_s: options.drain_s,
        endpoint: match llm.endpoint {
            EndpointKind::Builtin => "builtin".into(),
            EndpointKind::External => "external".into(),
        },
        model_latency_ms: llm.server.as_ref().map(|s| s.latency.latency_ms),
        capacities,
        cells,
    })
}

/// The spec of one runner.
pub fn spec(
    llm: &LlmSettings,
    options: &Options,
    approach: Approach,
    calibrate: Option<u32>,
    rates: Vec<f64>,
) -> ServiceSpec {
    ServiceSpec {
        approach,
        workers: options.workers,
        seed: options.seed,
        llm: llm.spec(),
        calibrate,
        rates,
        level_s: options.level_s,
        drain_s: options.drain_s,
        slo_s: options.slo_ms / 1000.0,
        stop_after_failures: 2,
        min_requests: options.min_requests,
        repeat_marginal: options.repeat_marginal,
        stall: options.stall,
    }
}

/// Runs `gil_lab.service.runner` with `spec` on `interpreter`, stopped
/// after `limit_s` seconds; an error when it fails.
pub fn spawn(
    interpreter: &InterpreterRecord,
    spec: &ServiceSpec,
    limit_s: u64,
) -> Result<ServiceOutput> {
    let mut command = if interpreter.kind == InterpreterKind::Native {
        let mut twin = std::process::Command::new(&interpreter.path);
        twin.args(["twin", "service"]);
        twin
    } else {
        crate::embedded::module_command(
            &interpreter.path,
            &interpreter.flags,
            "gil_lab.service.runner",
        )?
    };
    command.arg(serde_json::to_string(spec).context("cannot write the service spec")?);
    if let Some(name) = &spec.llm.api_key_env
        && let Some(value) = std::env::var_os(name)
    {
        command.env(name, value);
    }
    let output = match child::run(command, Duration::from_secs(limit_s))
        .with_context(|| format!("cannot start {}", interpreter.path.display()))?
    {
        Finished::Exited(_, output) => output,
        Finished::TimedOut(_) => {
            bail!("the service runner took longer than {limit_s} s and was stopped")
        }
    };
    let line = output
        .stdout
        .lines()
        .rev()
        .find(|l| l.trim_start().starts_with('{'))
        .with_context(|| {
            format!(
                "the service runner printed no result ({})",
                output.summary()
            )
        })?;
    let parsed: ServiceOutput = serde_json::from_str(line)
        .context("the service runner's result is not what gil-lab reads")?;
    if parsed.result != "success" {
        let why = parsed.error.map_or_else(
            || "no reason given".into(),
            |e| format!("{}: {}", e.kind, e.message),
        );
        bail!("the service runner failed: {why}");
    }
    Ok(parsed)
}
