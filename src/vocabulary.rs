//! The words gil-lab measures with, as types: the [`Scenario`] (what the
//! agents do), the [`Approach`] (how they run concurrently) and the
//! [`GilMode`] (how an interpreter runs with respect to the GIL). Each is
//! listed here once, with its name on the command line and in every JSON
//! file, its display order and what follows from it; the CLI, the plan, the
//! twin, the advice and the dashboard all use these types.
//!
//! Adding an approach is one variant here plus its implementations in the
//! workload package (and, if it can have one, in the twin): see
//! `docs/adding-an-approach.md`.

use std::fmt;

use serde::{Deserialize, Serialize};

/// What the agents do in a trial.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Scenario {
    /// The agents work on independent CPU-bound tasks.
    Cpu,
    /// Each task also queries a shared read-only knowledge base and posts
    /// its findings to the blackboard.
    Shared,
    /// Each task makes chained calls to an LLM endpoint (I/O-bound).
    Io,
    /// Each task alternates model calls with reasoning steps on the answers.
    Mixed,
    /// Agent requests arriving at fixed rates, open-loop (`--scenario
    /// service`): latency percentiles and the sustainable rate within
    /// `--slo` (docs/service.md). It has no cells of its own (not in
    /// [`Scenario::ALL`]): `bench` runs it after the other scenarios.
    Service,
    /// A team's own function (`bench --task`): the kind of a task's trial
    /// spec. Its cells are named after the task, not `task`; it is no
    /// built-in scenario (not in [`Scenario::ALL`], not a `--scenario`).
    #[value(skip)]
    Task,
}

impl Scenario {
    /// Every scenario, in the order runs and tables show them.
    pub const ALL: [Scenario; 4] = [
        Scenario::Cpu,
        Scenario::Shared,
        Scenario::Io,
        Scenario::Mixed,
    ];

    /// The name on the command line, in specs and in runs.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Cpu => "cpu",
            Scenario::Shared => "shared",
            Scenario::Io => "io",
            Scenario::Mixed => "mixed",
            Scenario::Service => "service",
            Scenario::Task => "task",
        }
    }

    /// The scenario with this name.
    pub fn from_name(name: &str) -> Option<Scenario> {
        Scenario::ALL.into_iter().find(|s| s.name() == name)
    }

    /// Tasks query the shared knowledge base.
    pub fn uses_knowledge(self) -> bool {
        self == Scenario::Shared
    }

    /// Tasks call the LLM endpoint: the run needs one, and the native twin
    /// adds its event-loop approaches.
    pub fn uses_llm(self) -> bool {
        matches!(self, Scenario::Io | Scenario::Mixed | Scenario::Service)
    }
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Whether the scenario named `name` calls the LLM endpoint (false for a
/// name that is no built-in scenario).
pub fn scenario_uses_llm(name: &str) -> bool {
    Scenario::from_name(name).is_some_and(Scenario::uses_llm)
}

/// What kind of work a scenario's agents (or a team's task) do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkKind {
    /// They compute: CPU time at least 75% of the wall time (`cpu`, `shared`).
    CpuBound,
    /// They wait: CPU time at most 25% of the wall time (`io`).
    IoBound,
    /// In between (`mixed`).
    Mixed,
}

impl WorkKind {
    /// The kind of a built-in scenario (a team's task is measured instead).
    pub fn of_scenario(name: &str) -> Option<WorkKind> {
        match Scenario::from_name(name)? {
            Scenario::Cpu | Scenario::Shared => Some(WorkKind::CpuBound),
            Scenario::Io => Some(WorkKind::IoBound),
            Scenario::Mixed => Some(WorkKind::Mixed),
            _ => None,
        }
    }

    /// From the CPU time ÷ wall time of a sequential run.
    pub fn of_cpu_share(cpu_share: f64) -> WorkKind {
        if cpu_share >= 0.75 {
            WorkKind::CpuBound
        } else if cpu_share <= 0.25 {
            WorkKind::IoBound
        } else {
            WorkKind::Mixed
        }
    }

    /// In words.
    pub fn words(self) -> &'static str {
        match self {
            WorkKind::CpuBound => "CPU-bound",
            WorkKind::IoBound => "I/O-bound",
            WorkKind::Mixed => "mixed CPU and I/O",
        }
    }
}

/// How the agents run concurrently.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Approach {
    /// One task after another: the baseline every speedup is measured against.
    Sequential,
    /// A pool of threads in one process.
    Threads,
    /// A pool of worker processes.
    Processes,
    /// Subinterpreters, each with its own GIL (CPython 3.12+).
    Interpreters,
    /// One event loop with a task per agent call.
    Asyncio,
    /// An event loop for the waiting, a thread pool for the computing.
    #[serde(rename = "asyncio+threads")]
    #[value(name = "asyncio+threads")]
    AsyncioThreads,
    /// A pool of Ray actors on a local or an existing Ray cluster (worker
    /// processes, possibly on other machines).
    Ray,
}

impl Approach {
    /// Every approach, in the order runs and tables show them.
    pub const ALL: [Approach; 7] = [
        Approach::Sequential,
        Approach::Threads,
        Approach::Processes,
        Approach::Interpreters,
        Approach::Asyncio,
        Approach::AsyncioThreads,
        Approach::Ray,
    ];

    /// The name on the command line, in specs and in runs.
    pub fn name(self) -> &'static str {
        match self {
            Approach::Sequential => "sequential",
            Approach::Threads => "threads",
            Approach::Processes => "processes",
            Approach::Interpreters => "interpreters",
            Approach::Asyncio => "asyncio",
            Approach::AsyncioThreads => "asyncio+threads",
            Approach::Ray => "ray",
        }
    }

    /// The approach with this name.
    pub fn from_name(name: &str) -> Option<Approach> {
        Approach::ALL.into_iter().find(|a| a.name() == name)
    }

    /// Position in [`Approach::ALL`]: the display order.
    pub fn display_rank(self) -> usize {
        Approach::ALL
            .iter()
            .position(|&a| a == self)
            .unwrap_or(Approach::ALL.len())
    }

    /// Whether the native twin has this approach in `scenario`: sequential,
    /// threads and processes everywhere; its tokio event loop (standing in
    /// for asyncio) where the agents wait on the endpoint. Subinterpreters
    /// are a CPython idea with no native counterpart.
    pub fn native_in(self, scenario: Scenario) -> bool {
        match self {
            Approach::Sequential | Approach::Threads | Approach::Processes => true,
            Approach::Asyncio | Approach::AsyncioThreads => scenario.uses_llm(),
            Approach::Interpreters | Approach::Ray => false,
        }
    }

    /// Whether runs include this approach only when `--approach` names it:
    /// Ray needs a package gil-lab installs first (a virtual environment
    /// per interpreter) and a cluster start per trial.
    pub fn on_request_only(self) -> bool {
        self == Approach::Ray
    }
}

impl fmt::Display for Approach {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How an interpreter runs with respect to the GIL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GilMode {
    /// A default build: one GIL.
    Gil,
    /// A free-threaded build running without the GIL.
    FreeThreaded,
    /// A free-threaded build with the GIL forced back on (`-X gil=1`).
    ForcedOn,
    /// The native twin: no interpreter lock at all.
    Native,
}

impl GilMode {
    /// Short words for humans.
    pub fn words(self) -> &'static str {
        match self {
            GilMode::Gil => "default build (GIL)",
            GilMode::FreeThreaded => "free-threaded (no GIL)",
            GilMode::ForcedOn => "free-threaded build, GIL forced on",
            GilMode::Native => "native twin (no interpreter lock)",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_serde_clap_and_from_name() {
        use clap::ValueEnum;
        for approach in Approach::ALL {
            let json = serde_json::to_string(&approach).unwrap();
            assert_eq!(json, format!("\"{}\"", approach.name()));
            assert_eq!(serde_json::from_str::<Approach>(&json).unwrap(), approach);
            assert_eq!(Approach::from_name(approach.name()), Some(approach));
            let value = approach.to_possible_value().unwrap();
            assert_eq!(value.get_name(), approach.name());
        }
        for scenario in Scenario::ALL {
            let json = serde_json::to_string(&scenario).unwrap();
            assert_eq!(json, format!("\"{}\"", scenario.name()));
            assert_eq!(Scenario::from_name(scenario.name()), Some(scenario));
            let value = scenario.to_possible_value().unwrap();
            assert_eq!(value.get_name(), scenario.name());
        }
        assert_eq!(Approach::from_name("ray"), Some(Approach::Ray));
        assert_eq!(Approach::from_name("dask"), None);
        // A task's spec kind: no built-in scenario, no --scenario value.
        assert_eq!(Scenario::from_name("task"), None);
        assert!(
            Scenario::value_variants()
                .iter()
                .all(|s| *s != Scenario::Task)
        );
        assert_eq!(
            serde_json::from_str::<Scenario>("\"task\"").unwrap(),
            Scenario::Task
        );
        assert!(scenario_uses_llm("io") && !scenario_uses_llm("cpu"));
        assert!(!scenario_uses_llm("my_task"));
    }

    #[test]
    fn the_workload_package_registers_exactly_these_approaches() {
        // The runner's registry (name -> module) is the Python side of the
        // list: the two must name the same approaches.
        let registry = include_str!("../workload/gil_lab/approaches/__init__.py");
        let start = registry.find("APPROACHES = {").expect("the registry");
        let body = &registry[start..start + registry[start..].find('}').expect("its end")];
        let names: Vec<&str> = body
            .lines()
            .filter_map(|line| line.trim().strip_prefix('"'))
            .filter_map(|line| line.split('"').next())
            .collect();
        assert_eq!(names, Approach::ALL.map(Approach::name));
    }

    #[test]
    fn the_twin_has_its_event_loop_only_where_agents_wait() {
        assert!(Approach::Asyncio.native_in(Scenario::Io));
        assert!(!Approach::Asyncio.native_in(Scenario::Cpu));
        assert!(!Approach::Interpreters.native_in(Scenario::Cpu));
        assert!(Approach::Processes.native_in(Scenario::Shared));
    }
}
