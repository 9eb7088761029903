//! The inspection's wire format (`python -m gil_lab.inside '<spec-json>'`,
//! docs/inside-cpython.md): the spec gil-lab sends, the report the
//! interpreter prints about itself and the units it ran, and the file a run
//! keeps them in (`inside.json`).

use serde::{Deserialize, Serialize};

/// Version of the inspection's output (the `protocol` field).
pub const INSIDE_PROTOCOL: u32 = 1;

/// The workload's units, in the order reported: the four agents and the
/// `shared` scenario's knowledge-base queries.
pub const WORKLOAD_UNITS: [&str; 5] = ["planner", "solver", "strategist", "reasoner", "knowledge"];

/// What gil-lab asks the inspection to do.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InsideSpec {
    /// Workload units to inspect (names of [`WORKLOAD_UNITS`]).
    pub units: Vec<String>,
    /// A user's task function to inspect too.
    pub task: Option<InsideTask>,
    /// Warm-up tasks per unit (the collector is watched over them).
    pub tasks: u32,
    /// Seed of the tasks' seeds.
    pub seed: u64,
    /// Whether the hottest function of each unit comes with its listing.
    pub listing: bool,
    /// Whether one task's peak is measured with tracemalloc (it slows
    /// allocation down several times: a `bench` run leaves it out).
    pub peak: bool,
}

/// A user's task function to inspect.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InsideTask {
    /// `FILE.py:FUNCTION` or `package.module:FUNCTION`.
    pub target: String,
    /// Directories put first on `sys.path`.
    pub paths: Vec<String>,
}

/// What the interpreter printed: a report, or an error that names the fix.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum InsideOutput {
    /// The inspection ran.
    Success(InsideReport),
    /// It could not: a bad spec or unit, or a unit that raised.
    Error {
        /// `bad_spec`, `bad_unit` or `unit_failed`.
        error: InsideError,
    },
}

/// Why an inspection failed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InsideError {
    /// `bad_spec`, `bad_unit` or `unit_failed`.
    pub kind: String,
    /// One line that names the fix.
    pub message: String,
    /// The Python traceback, when a unit raised.
    #[serde(default)]
    pub traceback: String,
}

/// One interpreter's answers about itself and the units it ran.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InsideReport {
    /// [`INSIDE_PROTOCOL`].
    pub protocol: u32,
    /// Which interpreter answered.
    pub runtime: InsideRuntime,
    /// `gc.get_threshold()`, absent where the collector has none (PyPy).
    pub gc_thresholds: Option<Vec<u64>>,
    /// What the interpreter offers, in a fixed order (see [`Feature`]).
    pub features: Vec<Feature>,
    /// The units, in the order asked.
    pub units: Vec<Unit>,
}

impl InsideReport {
    /// The feature with this key (`gil`, `specializing_interpreter`, `jit`,
    /// `gc`, `immortal_objects`, `biased_reference_counting`, `mimalloc`).
    pub fn feature(&self, key: &str) -> Option<&Feature> {
        self.features.iter().find(|f| f.key == key)
    }

    /// The unit with this name.
    pub fn unit(&self, name: &str) -> Option<&Unit> {
        self.units.iter().find(|u| u.name == name)
    }

    /// The specialised forms of all its units, most frequent first (ties by
    /// name).
    pub fn top_specialisations(&self) -> Vec<(String, u32)> {
        let mut counts: std::collections::BTreeMap<&str, u32> = Default::default();
        for unit in &self.units {
            for (name, count) in unit.specialisation.iter().flat_map(|s| &s.top) {
                *counts.entry(name.as_str()).or_default() += count;
            }
        }
        let mut top: Vec<(String, u32)> = counts.into_iter().map(|(n, c)| (n.into(), c)).collect();
        top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        top
    }
}

/// The names of the units of `reports`, in the order they reported them.
pub fn unit_names<'a>(reports: impl IntoIterator<Item = &'a InsideReport>) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for unit in reports.into_iter().flat_map(|r| &r.units) {
        if !names.contains(&unit.name) {
            names.push(unit.name.clone());
        }
    }
    names
}

/// The interpreter that answered.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InsideRuntime {
    /// `cpython` or `pypy`.
    pub implementation: String,
    /// `platform.python_version()`.
    pub version: String,
    /// Built free-threaded (`Py_GIL_DISABLED`).
    pub free_threaded: bool,
    /// `sys._is_gil_enabled()` while it ran (true before 3.13).
    pub gil_enabled: bool,
}

impl Feature {
    /// Its state in a table cell: `on`, and for the collector which kind
    /// (`on: generational`), the start of its detail.
    pub fn cell_text(&self) -> String {
        let state = self.state.words();
        let kind = self
            .detail
            .split([':', ';', '('])
            .next()
            .unwrap_or_default()
            .trim();
        if self.key == "gc" && !kind.is_empty() {
            format!("{state}: {kind}")
        } else {
            state.into()
        }
    }
}

/// Whether an interpreter has a feature and uses it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeatureState {
    /// Present and in use.
    On,
    /// Present, not in use.
    Off,
    /// This interpreter does not have it.
    Absent,
}

impl FeatureState {
    /// `on`, `off`, `absent`.
    pub fn words(self) -> &'static str {
        match self {
            FeatureState::On => "on",
            FeatureState::Off => "off",
            FeatureState::Absent => "absent",
        }
    }
}

/// One feature of the interpreter.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Feature {
    /// The feature's key.
    pub key: String,
    /// On, off or absent.
    pub state: FeatureState,
    /// One sentence on what it is here.
    pub detail: String,
    /// Where the answer was read from (`sysconfig Py_GIL_DISABLED`, ...).
    pub evidence: String,
}

/// One unit of work and what the interpreter did with it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Unit {
    /// `planner`, ..., `knowledge`, or the task's target.
    pub name: String,
    /// `agent`, `knowledge` or `task`.
    pub kind: String,
    /// Warm-up tasks run.
    pub tasks: u32,
    /// Mean wall time of a warm-up task, seconds (informative only).
    pub seconds_per_task: f64,
    /// The hot functions' specialisation together; None where the
    /// interpreter has no specialising interpreter to show.
    pub specialisation: Option<Specialisation>,
    /// The hot functions, hottest first.
    pub functions: Vec<HotFunction>,
    /// What the collector did and the memory one task allocated.
    pub memory: UnitMemory,
}

impl Unit {
    /// `50/56 (89%)`; `absent` where the interpreter has no specialising
    /// interpreter to show.
    pub fn share_text(&self) -> String {
        match &self.specialisation {
            None => "absent".into(),
            Some(s) => counts_text(s.specialised, s.specialisable),
        }
    }

    /// (specialised, specialisable) over the hot functions named in `only`
    /// (`file:name`), None without a specialising interpreter.
    pub fn counts_over(&self, only: &std::collections::BTreeSet<String>) -> Option<(u32, u32)> {
        self.specialisation.as_ref()?;
        let mut counts = (0, 0);
        for function in self.functions.iter().filter(|f| only.contains(&f.key())) {
            counts.0 += function.specialised.unwrap_or(0);
            counts.1 += function.specialisable.unwrap_or(0);
        }
        Some(counts)
    }
}

/// `50/56 (89%)`, or `nothing specialisable`.
pub fn counts_text(specialised: u32, specialisable: u32) -> String {
    if specialisable == 0 {
        return "nothing specialisable".into();
    }
    format!(
        "{specialised}/{specialisable} ({:.0}%)",
        f64::from(specialised) / f64::from(specialisable) * 100.0
    )
}

/// The hot functions (`file:name`) every one of `units` reported: the
/// profiler's time shares differ a little from build to build, so a
/// function near the cut-off may be hot in one and not in another; shares
/// compared across builds are taken over the functions they have in common.
pub fn common_functions(units: &[&Unit]) -> std::collections::BTreeSet<String> {
    let mut sets = units.iter().map(|u| {
        u.functions
            .iter()
            .map(HotFunction::key)
            .collect::<std::collections::BTreeSet<_>>()
    });
    let Some(first) = sets.next() else {
        return Default::default();
    };
    sets.fold(first, |common, set| {
        common.intersection(&set).cloned().collect()
    })
}

/// Specialisation counts over a unit's hot functions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Specialisation {
    /// Instructions in the hot functions.
    pub instructions: u32,
    /// Of them, instructions of a family that has specialised forms.
    pub specialisable: u32,
    /// Of them, instructions specialised after warm-up.
    pub specialised: u32,
    /// The most frequent specialised forms, with their counts.
    pub top: Vec<(String, u32)>,
}

/// One hot function of a unit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HotFunction {
    /// Its qualified name.
    pub name: String,
    /// Its file (`gil_lab/agents/solver.py`).
    pub file: String,
    /// Its first line.
    pub line: u32,
    /// Its share of the unit's Python own time under the profiler.
    pub own_time_share: f64,
    /// Its instructions.
    pub instructions: u32,
    /// Specialisable instructions (None: no specialising interpreter).
    pub specialisable: Option<u32>,
    /// Specialised instructions after warm-up.
    pub specialised: Option<u32>,
    /// Count of each specialised form.
    #[serde(default)]
    pub specialisations: std::collections::BTreeMap<String, u32>,
    /// Every instruction (the hottest function of each unit only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listing: Option<Vec<Instruction>>,
}

impl HotFunction {
    /// `file:name`, the same in every build of the same source.
    pub fn key(&self) -> String {
        format!("{}:{}", self.file, self.name)
    }
}

/// One instruction of a listing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Instruction {
    /// Byte offset.
    pub offset: u32,
    /// The source line it starts, when it starts one.
    pub line: Option<u32>,
    /// The instruction as compiled.
    pub opname: String,
    /// The specialised form after warm-up, when it differs.
    pub adaptive: Option<String>,
    /// `dis`'s rendering of its argument.
    pub argrepr: String,
}

/// The collector's work over a unit's warm-up tasks and one task's peak.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UnitMemory {
    /// Collections per task, per generation (None: PyPy).
    pub collections_per_task: Option<Vec<f64>>,
    /// Objects the collector freed per task (cycles).
    pub collected_per_task: Option<f64>,
    /// Peak bytes allocated while one task ran (tracemalloc; None: PyPy).
    pub peak_bytes_per_task: Option<u64>,
}

/// One interpreter's inspection in a run or in `gil-lab inspect --json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Inspection {
    /// The interpreter's id in the run (`cpython-3.13.5t`).
    pub interpreter: String,
    /// Its label (`CPython 3.13.5t`).
    pub label: String,
    /// What it answered, or why it could not (one line).
    #[serde(flatten)]
    pub outcome: InspectionOutcome,
}

/// An inspection's report, or why there is none.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InspectionOutcome {
    /// The interpreter's answers.
    Report(InsideReport),
    /// Why it failed, one line.
    Failed(String),
}

impl Inspection {
    /// The report, when the inspection ran.
    pub fn report(&self) -> Option<&InsideReport> {
        match &self.outcome {
            InspectionOutcome::Report(report) => Some(report),
            InspectionOutcome::Failed(_) => None,
        }
    }
}

/// `inside.json`: every interpreter's inspection, in the run's order.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct InsideFile {
    /// [`INSIDE_PROTOCOL`].
    pub schema: u32,
    /// The warm-up tasks per unit.
    pub tasks: u32,
    /// Whether one task's peak was measured (not in a `bench` run).
    #[serde(default = "measured")]
    pub peak: bool,
    /// One per interpreter.
    pub inspections: Vec<Inspection>,
}

fn measured() -> bool {
    true
}

impl InsideFile {
    /// The inspection of the interpreter with this id.
    pub fn of(&self, interpreter: &str) -> Option<&InsideReport> {
        self.inspections
            .iter()
            .find(|i| i.interpreter == interpreter)
            .and_then(Inspection::report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A unit whose hot functions are `(name, specialised, specialisable)`.
    fn unit(functions: &[(&str, u32, u32)]) -> Unit {
        let functions: Vec<HotFunction> = functions
            .iter()
            .map(|&(name, specialised, specialisable)| HotFunction {
                name: name.into(),
                file: "gil_lab/agents/planner.py".into(),
                line: 1,
                own_time_share: 0.5,
                instructions: specialisable + 3,
                specialisable: Some(specialisable),
                specialised: Some(specialised),
                specialisations: Default::default(),
                listing: None,
            })
            .collect();
        Unit {
            name: "planner".into(),
            kind: "agent".into(),
            tasks: 3,
            seconds_per_task: 0.01,
            specialisation: Some(Specialisation {
                instructions: functions.iter().map(|f| f.instructions).sum(),
                specialisable: functions.iter().filter_map(|f| f.specialisable).sum(),
                specialised: functions.iter().filter_map(|f| f.specialised).sum(),
                top: vec![],
            }),
            functions,
            memory: UnitMemory {
                collections_per_task: None,
                collected_per_task: None,
                peak_bytes_per_task: None,
            },
        }
    }

    #[test]
    fn builds_are_compared_over_the_hot_functions_they_share() {
        let default = unit(&[("solve", 50, 56), ("scramble", 5, 19)]);
        let free_threaded = unit(&[("solve", 0, 56)]);
        let common = common_functions(&[&default, &free_threaded]);
        assert_eq!(common.len(), 1);
        assert_eq!(default.counts_over(&common), Some((50, 56)));
        assert_eq!(default.share_text(), "55/75 (73%)");
        assert_eq!(counts_text(0, 56), "0/56 (0%)");
        assert_eq!(counts_text(0, 0), "nothing specialisable");
    }
}
