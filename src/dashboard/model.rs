//! The dashboard's data: everything the page shows, computed from a loaded
//! run as plain, serialisable values ([`Dashboard`], built from the shared
//! [`super::views`] and from the charts, timelines, verdicts and claims,
//! which do not use this file). The page embeds it as JSON (so the snapshot
//! tests and any script read exactly what a person sees); the SVG charts are
//! kept apart in [`Dashboard::svgs`] because they are drawings, not data.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::run::LoadedRun;
use crate::run::format::{format_bytes, format_seconds};
use crate::run::machine::MachineInfo;
use crate::run::record::{
    CellKey, CellState, CellSummary, InterpreterKind, InterpreterRecord, RunStatus,
};

use super::charts;
use super::claims::{self, ClaimsCheck};
use super::drawing::Chart;
use super::timeline::{self, TimelineSet};
use super::verdict::{self, VerdictView};
use crate::run::thread_states::ThreadState;

use super::views::{
    CellRow, Fact, GilMode, InterpreterView, RowText, RunInfo, WarningView, median_estimate,
    ratio_text, seconds_text,
};

/// One thread state in the timelines' key.
#[derive(Debug, Clone, Serialize)]
pub struct StateLegend {
    /// `waiting on a lock`.
    pub name: &'static str,
    /// CSS colour.
    pub color: &'static str,
    /// One line for someone who never heard of the GIL.
    pub explanation: &'static str,
}

/// Everything the dashboard of one run shows.
#[derive(Debug, Clone, Serialize)]
pub struct Dashboard {
    /// Page title.
    pub title: String,
    /// What run this is and how far it got.
    pub run: RunInfo,
    /// CPU-bound against I/O-bound: approach × scenario × build, with one
    /// conclusion per kind of work.
    pub lesson: Option<crate::run::lesson::Lesson>,
    /// Per scenario, the verdict in one sentence with its evidence.
    pub verdicts: Vec<VerdictView>,
    /// The interpreters, free-threaded builds and GIL state marked.
    pub interpreters: Vec<InterpreterView>,
    /// Per scenario, the charts and the parallelism timelines.
    pub scenarios: Vec<ScenarioView>,
    /// The cost of free-threading measured here next to published figures.
    pub claims: ClaimsCheck,
    /// Inside CPython: that cost next to how much of the hot code each build
    /// specialised, and what each interpreter offers (`inside.json`).
    pub inside: super::inside::InsideSection,
    /// Machine metadata, as label and value.
    pub machine: Vec<Fact>,
    /// Warnings about the machine, cells and trials.
    pub warnings: Vec<WarningView>,
    /// Every cell, for the sortable table.
    pub cells: Vec<CellRow>,
    /// Why the timelines may show turns where there should be none: the
    /// machine was busy with other programs when the run started.
    pub busy_machine: Option<String>,
    /// The key of the thread-state timelines: each state, its colour and
    /// one line on what it means.
    pub state_legend: Vec<StateLegend>,
    /// Which approach and interpreter to use per scenario, from this run's
    /// numbers (the same advice as `gil-lab advise`).
    pub advice: crate::advise::Advice,
    /// Per scenario (the recommendation's topic), the id of the recommended
    /// cell's row in the cells table, from the advice's cell key.
    pub advice_links: BTreeMap<String, String>,
    /// The `service` scenario (`service.json`): sustainable rates, the
    /// latency-percentile charts and throughput-vs-p99 curves.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<super::service::ServiceSection>,
    /// A run of a team's own task (`bench --task`): the check on each
    /// interpreter, each cell's results against sequential, the safe
    /// approaches and the measured kind of work.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task: Option<crate::task::verdict::TaskVerdict>,
    /// The drawn charts by [`Chart::id`]: SVG markup, not data, so left out of
    /// the embedded JSON.
    #[serde(skip)]
    pub svgs: BTreeMap<String, String>,
}

/// One scenario's charts and timelines.
#[derive(Debug, Clone, Serialize)]
pub struct ScenarioView {
    /// The scenario.
    pub name: String,
    /// What the agents do in it.
    pub description: String,
    /// Speedup vs workers, median time, peak memory, orchestration cost.
    pub charts: Vec<Chart>,
    /// The parallelism timelines of representative trials.
    pub timelines: TimelineSet,
}

/// What a scenario's agents do, for the page.
fn scenario_description(name: &str) -> String {
    match name {
        "cpu" => "independent CPU-bound agent tasks (search, constraint solving, game search, inference): the case where parallel threads should help".into(),
        "shared" => "agents reading one shared knowledge base: sharing it costs differently for threads (same object), processes (inherited or pickled) and subinterpreters".into(),
        "io" => "agents that mostly wait: each task is a chain of model calls to an LLM endpoint with only a hash of each answer as CPU work; threads and event loops overlap the waits with or without a GIL".into(),
        "mixed" => "agents that alternate a model call with a CPU-bound reasoning step on its answer: waits overlap everywhere, but the steps only run in parallel on a free-threaded build or in processes".into(),
        other => format!("scenario `{other}` (a team's own task: see \"Your task\" above)"),
    }
}

/// Display rank of a cell: approaches in their usual order, interpreters in
/// run order, the native twin last.
pub fn cell_order(loaded: &LoadedRun, cell: &CellKey) -> (usize, usize, usize, u32) {
    let native = loaded
        .run
        .interpreter(&cell.interpreter)
        .is_some_and(|i| i.kind == InterpreterKind::Native);
    let approach = cell.approach.display_rank();
    let interpreter = loaded
        .run
        .interpreters
        .iter()
        .position(|i| i.id == cell.interpreter)
        .unwrap_or(usize::MAX);
    (usize::from(native), approach, interpreter, cell.workers)
}

fn interpreter_views(loaded: &LoadedRun) -> Vec<InterpreterView> {
    loaded
        .run
        .interpreters
        .iter()
        .map(|i| {
            let mode = i.gil_mode();
            let turned_on: BTreeSet<&str> = loaded
                .trials
                .iter()
                .filter(|t| t.cell.interpreter == i.id)
                .filter(|t| t.runner.as_ref().and_then(|r| r.gil_seen_on()) == Some(true))
                .map(|t| t.cell.approach.name())
                .collect();
            let gil_turned_on = mode == GilMode::FreeThreaded && !turned_on.is_empty();
            InterpreterView {
                id: i.id.clone(),
                label: i.label.clone(),
                path: i.path.display().to_string(),
                flags: i.flags.join(" "),
                version: format!("{} {}", i.implementation, i.version),
                build: i
                    .facts
                    .as_ref()
                    .filter(|f| f.implementation == "cpython")
                    .filter(|f| f.build != crate::interpreters::recipe::BuildInfo::default())
                    .map(|f| f.recipe().short())
                    .unwrap_or_default(),
                mode,
                mode_words: mode.words().into(),
                gil_turned_on,
                warning: gil_turned_on.then(|| {
                    format!(
                        "the GIL was turned back on during trials of: {} (an imported C extension without free-threading support enables it): those threads took turns",
                        turned_on.into_iter().collect::<Vec<_>>().join(", ")
                    )
                }),
            }
        })
        .collect()
}

fn cell_row(loaded: &LoadedRun, c: &CellSummary) -> CellRow {
    let interpreter = loaded.run.interpreter(&c.cell.interpreter);
    let work = c.work.as_ref().map(median_estimate);
    let orchestration_s = c
        .orchestration
        .as_ref()
        .map(|o| o.interpreter_start_s + o.setup_s + o.pool_start_s + o.teardown_s);
    let state = match c.state {
        CellState::Measured => "measured",
        CellState::Skipped => "skipped",
        CellState::Failed => "failed",
        CellState::Pending => "pending",
    };
    let dash = || "—".to_string();
    let text = RowText {
        work: work.as_ref().map_or_else(dash, seconds_text),
        speedup: c.speedup.as_ref().map_or_else(dash, ratio_text),
        end_to_end_speedup: c.end_to_end_speedup.as_ref().map_or_else(dash, ratio_text),
        efficiency: c
            .efficiency
            .map_or_else(dash, |e| format!("{:.0}%", e.point * 100.0)),
        parallelism: c
            .parallelism
            .as_ref()
            .map_or_else(dash, |p| format!("{:.2}", p.median)),
        work_parallelism: c
            .work_parallelism
            .as_ref()
            .map_or_else(dash, |p| format!("{:.2}", p.median)),
        peak_memory: c.peak_memory_bytes.map_or_else(dash, format_bytes),
        peak_rss: c.peak_rss_bytes.map_or_else(dash, format_bytes),
        lock_wait: c
            .thread_states
            .map_or_else(dash, |s| format!("{:.0}%", s.lock_wait * 100.0)),
        orchestration: orchestration_s.map_or_else(dash, format_seconds),
    };
    CellRow {
        anchor: super::views::cell_anchor(&c.cell),
        scenario: c.cell.scenario.clone(),
        approach: c.cell.approach.to_string(),
        workers: c.cell.workers,
        interpreter: c.cell.interpreter.clone(),
        interpreter_label: interpreter
            .map_or_else(|| c.cell.interpreter.clone(), |i| i.label.clone()),
        mode: interpreter.map_or(GilMode::Gil, InterpreterRecord::gil_mode),
        state: state.into(),
        skip_reason: c.skip_reason.clone(),
        memory_note: c.over_memory_limit.as_ref().map(|o| o.words()),
        work,
        wall: c.wall.as_ref().map(median_estimate),
        speedup: c.speedup,
        end_to_end_speedup: c.end_to_end_speedup,
        efficiency: c.efficiency,
        parallelism: c.parallelism.as_ref().map(|p| p.median),
        work_parallelism: c.work_parallelism.as_ref().map(|p| p.median),
        peak_memory_bytes: c.peak_memory_bytes,
        peak_rss_bytes: c.peak_rss_bytes,
        lock_wait: c.thread_states.map(|s| s.lock_wait),
        orchestration_s,
        trials: c.trials,
        failed: c.failed,
        stop: c.stop.map(|s| s.word().to_string()),
        noise: c.speedup_flag.is_some(),
        gil_enabled: c.gil_enabled,
        text,
    }
}

/// Machine metadata as label/value pairs (what was known of it).
fn machine_facts(machine: &MachineInfo) -> Vec<Fact> {
    let mut facts = Vec::new();
    let mut push = |label: &str, value: Option<String>| {
        if let Some(value) = value {
            facts.push(Fact {
                label: label.into(),
                value,
            });
        }
    };
    let known = |n: Option<u32>| n.map_or_else(|| "?".into(), |n| n.to_string());
    push("CPU", machine.cpu_model.clone());
    push(
        "cores (physical / logical / usable)",
        Some(format!(
            "{} / {} / {}",
            known(machine.physical_cores),
            known(machine.logical_cores),
            known(machine.usable_cores)
        )),
    );
    push(
        "CPU quota (cores)",
        machine.cpu_quota_cores.map(|q| q.to_string()),
    );
    push(
        "memory (total / available at start)",
        match (machine.memory_bytes, machine.memory_available_bytes) {
            (Some(total), Some(free)) => {
                Some(format!("{} / {}", format_bytes(total), format_bytes(free)))
            }
            (Some(total), None) => Some(format_bytes(total)),
            _ => None,
        },
    );
    push("operating system", machine.os.clone());
    push("kernel", machine.kernel.clone());
    push("architecture", machine.arch.clone());
    push("CPU frequency governor", machine.governor.clone());
    push(
        "virtualised",
        machine
            .virtualized
            .map(|v| if v { "yes" } else { "no" }.into()),
    );
    push(
        "load average at start (1, 5, 15 min)",
        machine.load_average.map(|a| {
            a.iter()
                .map(|x| format!("{x:.2}"))
                .collect::<Vec<_>>()
                .join(", ")
        }),
    );
    facts
}

/// A note when the load average at the start was close to (or above) the
/// usable cores: other programs then hold cores, and lanes that could run
/// side by side wait for one instead.
fn busy_machine(machine: &MachineInfo, usable_cores: u32) -> Option<String> {
    let load = machine.load_average?[0];
    let cores = f64::from(usable_cores.max(1));
    (load >= 0.75 * cores).then(|| {
        format!(
            "The machine was busy when this run started (load average {load:.2} on {usable_cores} usable cores): other programs held cores, so lanes that could run side by side may wait for one here. Run again on an idle machine for a clean picture."
        )
    })
}

/// `2026-11-26 19:31:00 UTC` from an RFC 3339 UTC timestamp (as written by
/// bench); any other text as it is.
fn readable_time(rfc3339: &str) -> String {
    match rfc3339.parse::<jiff::Timestamp>() {
        Ok(t) => t.strftime("%Y-%m-%d %H:%M:%S UTC").to_string(),
        Err(_) => rfc3339.to_string(),
    }
}

/// Builds the dashboard of a loaded run (and draws its charts).
pub fn build(loaded: &LoadedRun) -> anyhow::Result<Dashboard> {
    let run = &loaded.run;
    let (summary, provisional) = (&loaded.summary, loaded.is_provisional());
    let mut cells: Vec<&CellSummary> = summary.cells.iter().collect();
    cells.sort_by_key(|c| cell_order(loaded, &c.cell));

    let status = match run.status {
        RunStatus::Running => "running",
        RunStatus::Complete => "complete",
        RunStatus::Interrupted => "interrupted",
    };
    let per_cell = u64::from(run.settings.warmup + run.settings.min_runs);
    let started: BTreeSet<&CellKey> = loaded.trials.iter().map(|t| &t.cell).collect();
    let info = RunInfo {
        dir: loaded.dir.display().to_string(),
        status: status.into(),
        started_at: readable_time(&run.started_at),
        finished_at: run.finished_at.as_deref().map(readable_time),
        gil_lab_version: run.gil_lab_version.clone(),
        preset: run.settings.preset.clone(),
        scale: run.settings.scale,
        seed: run.settings.seed,
        usable_cores: run.settings.usable_cores,
        totals: summary.totals.clone(),
        trials_recorded: loaded.trials.len() as u64,
        trials_planned_min: per_cell * run.plan.len() as u64,
        cells_started: started.len(),
        cells_planned: run.plan.len(),
        provisional,
        time_spent: run
            .time_spent
            .as_ref()
            .map(|t| crate::run::format::format_time_spent(t, run.settings.budget_s)),
        setup_time: run
            .time_spent
            .as_ref()
            .map(crate::run::format::format_setup_time),
        drift: summary.drift.as_ref().map(crate::run::format::format_drift),
    };

    let mut svgs = BTreeMap::new();
    // Scenarios in plan order; cells of the summary too (a run written by
    // another tool may come without its plan).
    let scenario_names: Vec<String> = {
        let mut seen = BTreeSet::new();
        run.plan
            .iter()
            .map(|p| &p.cell)
            .chain(summary.cells.iter().map(|c| &c.cell))
            .map(|c| c.scenario.clone())
            .filter(|s| seen.insert(s.clone()))
            .collect()
    };
    let mut scenarios = Vec::new();
    for name in &scenario_names {
        let of_scenario: Vec<&CellSummary> = cells
            .iter()
            .copied()
            .filter(|c| &c.cell.scenario == name)
            .collect();
        let drawn = charts::scenario_charts(loaded, name, &of_scenario)?;
        let mut charts = Vec::new();
        for (chart, svg) in drawn {
            svgs.insert(chart.id.clone(), svg);
            charts.push(chart);
        }
        let (timelines, timeline_svgs) = timeline::scenario_timelines(loaded, name, &of_scenario)?;
        svgs.extend(timeline_svgs);
        scenarios.push(ScenarioView {
            name: name.clone(),
            description: scenario_description(name),
            charts,
            timelines,
        });
    }

    let service = match &loaded.service {
        Some(service) => {
            let (section, service_svgs) = super::service::section(service)?;
            svgs.extend(service_svgs);
            Some(section)
        }
        None => None,
    };

    let warnings = summary
        .warnings
        .iter()
        .map(|w| WarningView {
            kind: serde_json::to_value(w.kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            cell: w
                .cell
                .as_ref()
                .map(|c| crate::run::format::describe(run, c)),
            message: w.message.clone(),
        })
        .collect();

    // The page names its run directory already; a fixed value keeps the
    // embedded data independent of where the run is read from.
    let advice = crate::advise::Advice {
        run_dir: None,
        ..crate::advise::for_run(loaded)
    };
    let advice_links = advice
        .recommendations
        .iter()
        .filter_map(|r| Some((r.topic.clone(), super::views::cell_anchor(r.cell.as_ref()?))))
        .collect();
    let claims = claims::check(loaded, summary);
    Ok(Dashboard {
        advice,
        advice_links,
        service,
        task: crate::task::verdict::of_run(loaded),
        busy_machine: busy_machine(&run.machine, run.settings.usable_cores),
        state_legend: ThreadState::ALL
            .iter()
            .map(|&s| StateLegend {
                name: s.words(),
                color: s.color(),
                explanation: s.explanation(),
            })
            .collect(),
        title: format!("gil-lab run of {}", readable_time(&run.started_at)),
        run: info,
        lesson: crate::run::lesson::lesson(run, summary).map(|mut lesson| {
            lesson.add_ceilings(&loaded.trials);
            lesson
        }),
        verdicts: verdict::verdicts(loaded, summary),
        interpreters: interpreter_views(loaded),
        scenarios,
        inside: super::inside::section(loaded, &claims, &scenario_names),
        claims,
        machine: machine_facts(&run.machine),
        warnings,
        cells: cells.iter().map(|c| cell_row(loaded, c)).collect(),
        svgs,
    })
}
