//! The plan of a run: which interpreters, which cells, with which settings.
//!
//! Defaults answer the question quickly: a default CPython build (the same
//! version as the free-threaded one when there is one, so the cost of
//! free-threading is measured on identical sources), every free-threaded
//! build, each of those with the GIL forced back on, every approach at workers
//! = usable cores, and the native twin.

use anyhow::{Result, bail};

use crate::bench::args::BenchArgs;
use crate::interpreters::supported;
use crate::protocol::TrialSpec;
use crate::run::record::{CellKey, InterpreterKind, InterpreterRecord, Settings};
use crate::vocabulary::{Approach, Scenario, scenario_uses_llm};

use crate::choice::{Selector, choose_interpreters, forced_gil_variant, same_file, unique_ids};

/// A preset: the settings a flag-less, `--quick` or `--full` run starts from.
struct Preset {
    name: &'static str,
    scenarios: &'static [Scenario],
    approaches: &'static [Approach],
    /// The approaches of the forced-GIL controls (a free-threaded build with
    /// `-X gil=1`); `None`: every approach.
    forced_gil_approaches: Option<&'static [Approach]>,
    /// The approaches of the Python interpreters beyond the lesson's two
    /// builds (the first free-threaded build and its default twin), e.g. a
    /// newer default build found next to them; `None`: every approach.
    other_approaches: Option<&'static [Approach]>,
    /// Latency of the built-in LLM endpoint, milliseconds.
    llm_latency_ms: f64,
    scale: f64,
    warmup: u32,
    min_runs: u32,
    max_runs: u32,
    budget_s: f64,
}

/// `gil-lab bench`: the chapter's first lesson, CPU-bound (`cpu`, `shared`)
/// against I/O-bound (`io`), with a decided verdict within 120 s here. The
/// scale keeps a sequential `cpu` trial around 0.2 s on CPython 3.13, long
/// enough that a 2-worker speedup is not drowned by start-up noise. The `io`
/// agents wait 20 ms per model call (`--full`: 50 ms): 16 calls make a
/// 0.35 s sequential trial, and four agents waiting at once still show the
/// effect unmistakably (about 3.5× with threads on any build). The
/// forced-GIL controls run `sequential` and `threads` only (what the
/// free-threading comparisons need). Three screening rounds (no warmup: the
/// median of paired rounds shrugs off a cold first trial) take about 86 s
/// here with 3.13.5, 3.13.5t, its control, 3.15.2 and the twin; the rest of
/// the budget races the cells that still decide a verdict or the lesson
/// (measured: 93-101 s in all, every scenario decided). The budget counts
/// measuring only (set-up apart); a newer default build found next to the
/// lesson's two builds (3.15 next to 3.13t and 3.13) runs sequential,
/// threads and processes only, so that screening still fits in it.
/// `mixed` does not fit: it is asked for with `--scenario` (or `--full`).
const DEFAULT: Preset = Preset {
    name: "default",
    scenarios: &[Scenario::Cpu, Scenario::Shared, Scenario::Io],
    approaches: &Approach::ALL,
    forced_gil_approaches: Some(&[Approach::Sequential, Approach::Threads]),
    other_approaches: Some(&[Approach::Sequential, Approach::Threads, Approach::Processes]),
    llm_latency_ms: 20.0,
    scale: 0.3,
    warmup: 0,
    min_runs: 3,
    max_runs: 20,
    budget_s: 110.0,
};

/// `--quick`: under 30 s in all; the budget counts measuring only, so it
/// leaves room for the set-up (discovery, the twin's check, inspection).
/// The lesson's two builds only (a newer default build is left out), the
/// forced-GIL control with sequential and threads.
const QUICK: Preset = Preset {
    name: "quick",
    scenarios: &[Scenario::Cpu],
    approaches: &[Approach::Sequential, Approach::Threads, Approach::Processes],
    forced_gil_approaches: Some(&[Approach::Sequential, Approach::Threads]),
    other_approaches: Some(&[]),
    llm_latency_ms: 20.0,
    scale: 0.2,
    warmup: 0,
    min_runs: 3,
    max_runs: 10,
    budget_s: 20.0,
};

/// `--full`: every interpreter, several worker counts, more trials.
const FULL: Preset = Preset {
    name: "full",
    scenarios: &Scenario::ALL,
    approaches: &Approach::ALL,
    forced_gil_approaches: None,
    other_approaches: None,
    llm_latency_ms: crate::llm::bench::BENCH_LATENCY_MS,
    scale: 1.0,
    warmup: 1,
    min_runs: 5,
    max_runs: 30,
    budget_s: 1800.0,
};

/// The native twin's cells of the CPU-bound scenarios run this many times
/// the Python cells' scale: its work phase is some 50 times shorter, and a few
/// milliseconds of work would be timing noise (measured here: 2 threads gave
/// 1.85x over 25 ms of work, 1.95x over 57 ms). (In `io` and `mixed` the twin
/// waits on the same endpoint as Python does: same scale.)
const NATIVE_SCALE_FACTOR: f64 = 20.0;
/// Default per-trial timeout, seconds.
const DEFAULT_TIMEOUT_S: f64 = 120.0;
/// Default CI target of the cells deciding a verdict: 5% of the estimate.
const DEFAULT_TARGET_REL_CI: f64 = 0.05;
/// Default workload seed.
const DEFAULT_SEED: u64 = 1;

/// The plan of a run.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Settings after presets and flags.
    pub settings: Settings,
    /// The interpreters of the run (forced-GIL variants and the twin included).
    pub interpreters: Vec<InterpreterRecord>,
    /// The cells in run order: per scenario, per interpreter, the sequential
    /// baseline first (so reference digests are known early).
    pub cells: Vec<CellKey>,
}

/// Builds the plan from the discovered Python interpreters, the native twin
/// (when available) and the options.
pub fn build(
    args: &BenchArgs,
    found: &[InterpreterRecord],
    twin: Option<InterpreterRecord>,
    usable_cores: u32,
) -> Result<Plan> {
    let preset = if args.quick {
        &QUICK
    } else if args.full {
        &FULL
    } else {
        &DEFAULT
    };
    let selectors = args
        .python
        .iter()
        .map(|s| Selector::parse(s))
        .collect::<Result<Vec<_>>>()?;

    let chosen = choose_interpreters(found, &selectors, args.full)?;
    if chosen.is_empty() {
        bail!(
            "no usable Python interpreter ({}) was found: install one, or name one with --python PATH",
            supported::describe()
        );
    }
    let mut interpreters = Vec::new();
    for interpreter in chosen {
        // Discovery probes the forced-GIL variant itself (confirming that
        // `-X gil=1` turns the GIL on); derive it only when it did not.
        let variant = interpreter.free_threaded.then(|| {
            found
                .iter()
                .find(|f| f.gil_forced == Some(true) && same_file(&f.path, &interpreter.path))
                .cloned()
                .unwrap_or_else(|| forced_gil_variant(&interpreter))
        });
        interpreters.push(interpreter);
        interpreters.extend(variant);
    }
    unique_ids(&mut interpreters);

    let scenarios: Vec<Scenario> = if args.scenario.is_empty() {
        preset.scenarios.to_vec()
    } else {
        keep_order(&Scenario::ALL, &args.scenario)
    };
    let mut approaches: Vec<Approach> = if args.approach.is_empty() {
        let preset = preset.approaches.iter().copied();
        preset.filter(|a| !a.on_request_only()).collect()
    } else {
        keep_order(&Approach::ALL, &args.approach)
    };
    // Speedups need the baseline of every (scenario, interpreter).
    if !approaches.contains(&Approach::Sequential) {
        approaches.insert(0, Approach::Sequential);
    }
    let workers: Vec<u32> = if !args.workers.is_empty() {
        sorted_unique(args.workers.clone())
    } else if args.full {
        sorted_unique(vec![1, 2, 4, 8, usable_cores])
    } else {
        vec![usable_cores.max(1)]
    };

    if let Some(twin) = twin.filter(|_| !args.no_twin) {
        interpreters.push(twin);
    }

    // A newer default build (3.14, 3.15 installed next to 3.13t) runs only
    // what compares it with the lesson's builds, so that screening still
    // fits in the budget; named with --python, it runs everything.
    let lesson_builds = lesson_builds(&interpreters);
    let other_approaches = preset
        .other_approaches
        .filter(|_| args.approach.is_empty() && args.python.is_empty());
    let mut cells = Vec::new();
    for scenario in &scenarios {
        for interpreter in &interpreters {
            // Asked-for approaches run on the controls too; a preset may
            // keep them to those its comparisons need.
            let control_approaches = preset
                .forced_gil_approaches
                .filter(|_| args.approach.is_empty());
            let offered = |approach: Approach| match interpreter.kind {
                InterpreterKind::Python if interpreter.gil_forced == Some(true) => {
                    control_approaches.is_none_or(|keep| keep.contains(&approach))
                }
                InterpreterKind::Python if !lesson_builds.contains(&interpreter.id) => {
                    other_approaches.is_none_or(|keep| keep.contains(&approach))
                }
                InterpreterKind::Python => true,
                InterpreterKind::Native => approach.native_in(*scenario),
            };
            for &approach in approaches.iter().filter(|&&a| offered(a)) {
                let counts: &[u32] = if approach == Approach::Sequential {
                    &[1]
                } else if scenario.uses_llm() && args.workers.is_empty() && !args.full {
                    // Agents waiting on a model need no core each: one per agent.
                    &[crate::llm::bench::LLM_WORKERS]
                } else {
                    &workers
                };
                for &workers in counts {
                    cells.push(CellKey {
                        scenario: scenario.name().into(),
                        interpreter: interpreter.id.clone(),
                        approach,
                        workers,
                    });
                }
            }
        }
    }

    // An interpreter the preset gave no cell is not part of the run, unless
    // the `service` scenario (which has no cells: its stage serves every
    // interpreter of the run) was asked for.
    if !args.scenario.contains(&Scenario::Service) {
        interpreters.retain(|i| cells.iter().any(|c| c.interpreter == i.id));
    }

    let (min_runs, max_runs) = match (args.runs, args.min_runs, args.max_runs) {
        (Some(runs), _, _) => (runs, runs),
        (None, min, max) => {
            let min = min.unwrap_or(preset.min_runs);
            let max = max.unwrap_or(preset.max_runs.max(min));
            (min, max)
        }
    };
    if max_runs < min_runs {
        bail!("--max-runs {max_runs} is below --min-runs {min_runs}: raise --max-runs");
    }
    let scale = args.scale.unwrap_or(preset.scale);
    let settings = Settings {
        preset: preset.name.into(),
        scale,
        native_scale: args.native_scale.unwrap_or(scale * NATIVE_SCALE_FACTOR),
        seed: args.seed.unwrap_or(DEFAULT_SEED),
        warmup: args.warmup.unwrap_or(preset.warmup),
        min_runs,
        max_runs,
        target_rel_ci: args.target_ci.map_or(DEFAULT_TARGET_REL_CI, |p| p / 100.0),
        timeout_s: args.timeout.unwrap_or(DEFAULT_TIMEOUT_S),
        budget_s: args.budget.unwrap_or(preset.budget_s),
        usable_cores,
        margin: args
            .margin
            .map_or(crate::run::verdict::DEFAULT_MARGIN, |p| p / 100.0),
        llm: crate::llm::bench::settings(
            &llm_scenarios(&scenarios, &args.scenario),
            args.llm_url.as_deref(),
            args.llm_model.as_deref(),
            args.llm_api_key_env.as_deref(),
            args.seed.unwrap_or(DEFAULT_SEED),
            preset.llm_latency_ms,
        )?,
        ray_address: approaches
            .contains(&Approach::Ray)
            .then(|| ray_address(args))
            .flatten(),
        // Recorded with the way the kernel enforces it when the run starts
        // (`bench::run`), before the first trial.
        memory_limit: None,
    };
    Ok(Plan {
        settings,
        interpreters,
        cells,
    })
}

/// The ids of the builds the lesson reads (`run::lesson`): the first
/// free-threaded build run as built and its default twin, else the first
/// default build.
fn lesson_builds(interpreters: &[InterpreterRecord]) -> Vec<String> {
    let python = |i: &&InterpreterRecord| i.kind == InterpreterKind::Python;
    let free = interpreters
        .iter()
        .filter(python)
        .find(|i| i.is_free_threaded_as_built());
    let default = free
        .and_then(|f| crate::run::record::default_twin_in(interpreters, f))
        .or_else(|| {
            interpreters
                .iter()
                .filter(python)
                .find(|i| !i.free_threaded)
        });
    default
        .into_iter()
        .chain(free)
        .map(|i| i.id.clone())
        .collect()
}

/// The scenarios the endpoint is for: the planned ones, and `service`
/// (which has no cells) when asked for.
fn llm_scenarios(planned: &[Scenario], asked: &[Scenario]) -> Vec<Scenario> {
    let mut all = planned.to_vec();
    all.extend(asked.iter().filter(|&&s| s == Scenario::Service));
    all
}

/// The scale of a cell's trials: the native twin's is larger in the
/// CPU-bound scenarios.
pub fn scale_of(cell: &CellKey, kind: InterpreterKind, settings: &Settings) -> f64 {
    let cpu_bound = !scenario_uses_llm(&cell.scenario);
    if kind == InterpreterKind::Native && cpu_bound && settings.native_scale > 0.0 {
        settings.native_scale
    } else {
        settings.scale
    }
}

/// The trial spec of a cell (docs/trial-protocol.md).
pub fn spec(cell: &CellKey, kind: InterpreterKind, settings: &Settings) -> Result<TrialSpec> {
    let Some(scenario) = Scenario::from_name(&cell.scenario) else {
        bail!(
            "the plan names an unknown scenario {}: this gil-lab runs {}",
            cell.scenario,
            Scenario::ALL.map(Scenario::name).join(", ")
        );
    };
    Ok(TrialSpec {
        scenario,
        approach: cell.approach,
        workers: cell.workers,
        scale: scale_of(cell, kind, settings),
        seed: settings.seed,
        start_method: None,
        llm: settings
            .llm
            .as_ref()
            .filter(|_| scenario.uses_llm())
            .map(|llm| llm.spec()),
        task: None,
        ray_address: settings
            .ray_address
            .clone()
            .filter(|_| cell.approach == Approach::Ray),
    })
}

/// The existing Ray cluster to use: `--ray-address`, else `RAY_ADDRESS`
/// (Ray's own variable), else none (a local cluster per trial).
fn ray_address(args: &BenchArgs) -> Option<String> {
    args.ray_address
        .clone()
        .or_else(|| std::env::var("RAY_ADDRESS").ok())
        .filter(|address| !address.trim().is_empty())
}

/// `wanted` in the order of `all`.
fn keep_order<T: Copy + PartialEq>(all: &[T], wanted: &[T]) -> Vec<T> {
    all.iter().copied().filter(|a| wanted.contains(a)).collect()
}

fn sorted_unique(mut values: Vec<u32>) -> Vec<u32> {
    values.sort_unstable();
    values.dedup();
    values
}

#[cfg(test)]
pub(crate) mod tests;
