//! The dashboard's "Inside CPython" section: per scenario, the single-thread
//! cost of each free-threaded build measured in the run (from the claims
//! check) next to how much of the agents' hot code each build specialised
//! (`inside.json`, read by `run::inside`), with the plain sentence on whether
//! that agrees with the published explanation; then what each interpreter
//! offers, its most frequent specialisations, the collector's work and one
//! hot function instruction by instruction (docs/inside-cpython.md).

use serde::Serialize;

use crate::protocol::inside::{
    FeatureState, InsideFile, InsideReport, Inspection, InspectionOutcome,
};
use crate::run::LoadedRun;
use crate::run::inside::{self as reading, Reading};

use super::bytecode::{self, ListingView};
use super::claims::{ClaimsCheck, CostKind, MeasuredCost};
use super::views::Fact;

/// The features' rows: key, the words a reader knows, one line on what it is.
const FEATURES: [(&str, &str, &str); 7] = [
    (
        "gil",
        "GIL",
        "the global interpreter lock: while it is on, only one thread runs Python code at a time",
    ),
    (
        "specializing_interpreter",
        "specialising interpreter",
        "rewrites hot instructions into faster forms for the types it sees (3.11+)",
    ),
    (
        "jit",
        "JIT compiler",
        "compiles hot code to machine code (experimental, 3.13+, when built with it)",
    ),
    (
        "gc",
        "garbage collector",
        "finds objects that refer to each other in a cycle and frees them",
    ),
    (
        "immortal_objects",
        "immortal objects",
        "None, small ints and other built-ins whose reference count never changes (3.12+)",
    ),
    (
        "biased_reference_counting",
        "biased reference counting",
        "the owning thread counts references without atomic instructions (free-threaded builds)",
    ),
    (
        "mimalloc",
        "mimalloc allocator",
        "a thread-safe memory allocator with per-thread heaps",
    ),
];

/// Specialised forms shown per interpreter.
const TOP_FORMS: usize = 6;

/// The "Inside CPython" section of a run.
#[derive(Debug, Clone, Serialize)]
pub struct InsideSection {
    /// Why there is nothing to show: the run has no `inside.json`.
    pub missing: Option<String>,
    /// Warm-up tasks each unit ran before it was looked at.
    pub tasks: u32,
    /// Interpreters whose inspection failed, with the reason.
    pub failed: Vec<Fact>,
    /// The interpreters that answered, in the run's order: the columns.
    pub interpreters: Vec<String>,
    /// Per scenario, the measured costs next to the specialisation.
    pub scenarios: Vec<InsideScenario>,
    /// Why no scenario has a cost to explain (no free-threaded build and
    /// its default build measured sequentially).
    pub no_cost: Option<String>,
    /// What each interpreter offers.
    pub features: Vec<FeatureRow>,
    /// The most frequent specialised forms, per interpreter.
    pub top: Vec<TopForms>,
    /// The collector's work and one task's peak, per unit.
    pub memory: Vec<MemoryRow>,
    /// Whether one task's peak was measured (a `bench` run leaves it out).
    pub peak: bool,
    /// The hottest function of one unit, one listing per distinct bytecode.
    pub listings: Vec<ListingView>,
}

/// One scenario's measured free-threading costs, explained.
#[derive(Debug, Clone, Serialize)]
pub struct InsideScenario {
    /// The scenario.
    pub scenario: String,
    /// One per free-threaded build measured against its default build.
    pub costs: Vec<InsideCost>,
}

/// A measured cost next to both builds' specialisation.
#[derive(Debug, Clone, Serialize)]
pub struct InsideCost {
    /// The free-threaded build's label.
    pub subject: String,
    /// The default build's label.
    pub baseline: String,
    /// The measured sequential cost, as the claims check writes it.
    pub time_text: String,
    /// Both builds are the same patch version.
    pub same_version: bool,
    /// What the shares say about the cost.
    pub reading: Reading,
    /// The badge's words.
    pub reading_words: &'static str,
    /// The plain sentence, capitalised, with its full stop.
    pub sentence: String,
    /// Pooled share of the scenario's units, free-threaded build.
    pub subject_share: ShareCell,
    /// The same, default build.
    pub baseline_share: ShareCell,
    /// Per unit.
    pub units: Vec<UnitRow>,
}

/// A specialised share as the page shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ShareCell {
    /// Specialised ÷ specialisable, 0-1.
    pub share: Option<f64>,
    /// `50 of 56 (89%)`, `0 of 56 (0%)`, or why there is none.
    pub text: String,
    /// Width of its bar, percent.
    pub bar: f64,
}

/// One unit of a scenario in both builds.
#[derive(Debug, Clone, Serialize)]
pub struct UnitRow {
    /// `solver`.
    pub unit: String,
    /// Its hottest function.
    pub hottest: Option<String>,
    /// Free-threaded build.
    pub subject: ShareCell,
    /// Default build.
    pub baseline: ShareCell,
    /// When the profiler found different hot functions on the two builds,
    /// each build's list (the shares are over the functions in both).
    pub functions_differ: Option<String>,
}

/// One feature across the interpreters.
#[derive(Debug, Clone, Serialize)]
pub struct FeatureRow {
    /// The feature's key.
    pub key: &'static str,
    /// Its name.
    pub name: &'static str,
    /// What it is, one line.
    pub explanation: &'static str,
    /// One per interpreter (column).
    pub cells: Vec<FeatureCell>,
}

/// One interpreter's answer about a feature.
#[derive(Debug, Clone, Serialize)]
pub struct FeatureCell {
    /// On, off, absent; None when it did not say.
    pub state: Option<FeatureState>,
    /// `on`, or `on: generational` for the collector.
    pub text: String,
    /// Its sentence and where it was read from.
    pub detail: String,
}

/// An interpreter's most frequent specialised forms.
#[derive(Debug, Clone, Serialize)]
pub struct TopForms {
    /// The interpreter's label.
    pub interpreter: String,
    /// Form and count, most frequent first.
    pub forms: Vec<(String, u32)>,
    /// Why there are none, when there are none.
    pub none: Option<String>,
}

/// The collector's work for one unit, per interpreter.
#[derive(Debug, Clone, Serialize)]
pub struct MemoryRow {
    /// The unit.
    pub unit: String,
    /// `0.17 / 0 / 0 collections, peak 789 KiB`, one per interpreter.
    pub cells: Vec<String>,
}

/// Builds the section from the run's `inside.json` and the claims check;
/// `scenarios` in the page's order.
pub fn section(loaded: &LoadedRun, claims: &ClaimsCheck, scenarios: &[String]) -> InsideSection {
    let Some(inside) = loaded.inside.as_ref() else {
        return InsideSection {
            missing: Some("This run has no inside.json (it was made with `--no-inspect` or by an older gil-lab), so the page cannot show what the interpreters did with the code.".into()),
            tasks: 0,
            failed: Vec::new(),
            interpreters: Vec::new(),
            scenarios: Vec::new(),
            no_cost: None,
            features: Vec::new(),
            top: Vec::new(),
            memory: Vec::new(),
            peak: false,
            listings: Vec::new(),
        };
    };
    let answered: Vec<(&Inspection, &InsideReport)> = inside
        .inspections
        .iter()
        .filter_map(|i| i.report().map(|r| (i, r)))
        .collect();
    let costs: Vec<&MeasuredCost> = claims
        .measured
        .iter()
        .filter(|m| m.kind == CostKind::FreeThreadedVsDefault)
        .collect();
    let scenarios: Vec<InsideScenario> = scenarios
        .iter()
        .filter_map(|scenario| {
            let costs: Vec<InsideCost> = costs
                .iter()
                .filter(|m| &m.scenario == scenario)
                .map(|m| cost(inside, m))
                .collect();
            (!costs.is_empty()).then(|| InsideScenario {
                scenario: scenario.clone(),
                costs,
            })
        })
        .collect();
    let no_cost = scenarios.is_empty().then(|| {
        claims.missing.clone().unwrap_or_else(|| {
            "no free-threaded build was measured against its default build".into()
        })
    });
    InsideSection {
        missing: None,
        tasks: inside.tasks,
        failed: inside
            .inspections
            .iter()
            .filter_map(|i| match &i.outcome {
                InspectionOutcome::Failed(why) => Some(Fact {
                    label: i.label.clone(),
                    value: why.clone(),
                }),
                InspectionOutcome::Report(_) => None,
            })
            .collect(),
        interpreters: answered.iter().map(|(i, _)| i.label.clone()).collect(),
        scenarios,
        no_cost,
        features: features(&answered),
        top: answered.iter().map(|(i, r)| top_forms(i, r)).collect(),
        memory: memory(&answered),
        peak: inside.peak,
        listings: bytecode::listings(&answered, &unit_names(&answered)),
    }
}

/// One measured cost with both builds' shares and the reading.
fn cost(inside: &InsideFile, m: &MeasuredCost) -> InsideCost {
    let read = reading::read(
        Some(inside),
        &m.scenario,
        (&m.subject_id, &m.subject),
        (&m.baseline_id, &m.baseline),
        &m.time_ratio,
    );
    let (subject, baseline) = (inside.of(&m.subject_id), inside.of(&m.baseline_id));
    InsideCost {
        subject: m.subject.clone(),
        baseline: m.baseline.clone(),
        time_text: m.time_text.clone(),
        same_version: m.same_version,
        reading: read.reading,
        reading_words: match read.reading {
            Reading::Consistent => "consistent",
            Reading::Contradicts => "contradicts",
            Reading::Unknown => "nothing to compare",
        },
        sentence: sentence(&read.sentence),
        subject_share: pooled_cell(subject, read.subject_counts),
        baseline_share: pooled_cell(baseline, read.baseline_counts),
        // Units neither build ran (a team's task runs its own function,
        // not the agents) have nothing to show.
        units: read
            .units
            .iter()
            .filter(|u| {
                [subject, baseline]
                    .iter()
                    .flatten()
                    .any(|r| r.unit(&u.unit).is_some())
            })
            .map(|u| UnitRow {
                unit: u.unit.clone(),
                hottest: u.hottest.clone(),
                subject: unit_cell(subject, &u.unit, u.subject_counts),
                baseline: unit_cell(baseline, &u.unit, u.baseline_counts),
                functions_differ: functions_differ(
                    (&m.baseline, baseline),
                    (&m.subject, subject),
                    &u.unit,
                ),
            })
            .collect(),
    }
}

/// Each build's hot functions of `unit`, when the two lists differ: the
/// profiler picks them by where each build's own warm-up spent its time.
fn functions_differ(
    (baseline, b): (&str, Option<&InsideReport>),
    (subject, s): (&str, Option<&InsideReport>),
    unit: &str,
) -> Option<String> {
    let names = |r: &InsideReport| -> Option<Vec<String>> {
        Some(
            r.unit(unit)?
                .functions
                .iter()
                .map(|f| f.name.clone())
                .collect(),
        )
    };
    let (b, s) = (names(b?)?, names(s?)?);
    let sorted = |v: &[String]| {
        let mut v = v.to_vec();
        v.sort();
        v
    };
    let common: Vec<&String> = b.iter().filter(|f| s.contains(f)).collect();
    let common = if common.is_empty() {
        "none in common: each build's own".to_string()
    } else {
        common
            .iter()
            .map(|f| f.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    (sorted(&b) != sorted(&s)).then(|| {
        format!(
            "hot functions differ: {baseline} {}; {subject} {}; the shares are over {common}",
            b.join(", "),
            s.join(", ")
        )
    })
}

/// A sentence starting with a capital and ending with a full stop.
fn sentence(text: &str) -> String {
    if text.is_empty() {
        return String::new();
    }
    let mut chars = text.chars();
    let mut out: String = chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default();
    if !out.ends_with('.') {
        out.push('.');
    }
    out
}

fn share_cell(counts: Option<(u32, u32)>, none: &str) -> ShareCell {
    match counts {
        Some((specialised, specialisable)) if specialisable > 0 => {
            let share = f64::from(specialised) / f64::from(specialisable);
            ShareCell {
                share: Some(share),
                text: format!("{specialised} of {specialisable} ({:.0}%)", share * 100.0),
                bar: share * 100.0,
            }
        }
        Some(_) => ShareCell {
            share: None,
            text: "nothing specialisable".into(),
            bar: 0.0,
        },
        None => ShareCell {
            share: None,
            text: none.into(),
            bar: 0.0,
        },
    }
}

/// One build's share of a unit, over the hot functions both builds
/// reported (`run::inside` counts them).
fn unit_cell(report: Option<&InsideReport>, unit: &str, counts: Option<(u32, u32)>) -> ShareCell {
    let Some(report) = report else {
        return share_cell(None, "not inspected");
    };
    if report.unit(unit).is_none() {
        return share_cell(None, "not run");
    }
    share_cell(counts, "no specialising interpreter")
}

/// The units' counts added up (as `run::inside` pools them).
fn pooled_cell(report: Option<&InsideReport>, counts: Option<(u32, u32)>) -> ShareCell {
    if report.is_none() {
        return share_cell(None, "not inspected");
    }
    share_cell(counts, "no specialising interpreter")
}

fn features(answered: &[(&Inspection, &InsideReport)]) -> Vec<FeatureRow> {
    FEATURES
        .iter()
        .map(|&(key, name, explanation)| FeatureRow {
            key,
            name,
            explanation,
            cells: answered
                .iter()
                .map(|(_, report)| match report.feature(key) {
                    None => FeatureCell {
                        state: None,
                        text: "—".into(),
                        detail: "not reported".into(),
                    },
                    Some(f) => FeatureCell {
                        state: Some(f.state),
                        text: f.cell_text(),
                        detail: format!("{} (read from {})", f.detail, f.evidence),
                    },
                })
                .collect(),
        })
        .collect()
}

fn top_forms(inspection: &Inspection, report: &InsideReport) -> TopForms {
    let mut forms = report.top_specialisations();
    forms.truncate(TOP_FORMS);
    let none = forms.is_empty().then(|| {
        match report.feature("specializing_interpreter").map(|f| f.state) {
            Some(FeatureState::Off) => "none: its specialising interpreter is off",
            Some(FeatureState::Absent) => "none: it has no specialising interpreter",
            _ => "none after warm-up",
        }
        .to_string()
    });
    TopForms {
        interpreter: inspection.label.clone(),
        forms,
        none,
    }
}

fn unit_names(answered: &[(&Inspection, &InsideReport)]) -> Vec<String> {
    crate::protocol::inside::unit_names(answered.iter().map(|(_, r)| *r))
}

fn memory(answered: &[(&Inspection, &InsideReport)]) -> Vec<MemoryRow> {
    unit_names(answered)
        .into_iter()
        .map(|name| MemoryRow {
            cells: answered
                .iter()
                .map(|(_, r)| reading::memory_text(r.unit(&name)))
                .collect(),
            unit: name,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences_start_with_a_capital_and_end_with_a_full_stop() {
        assert_eq!(sentence("cPython 3.13.5t was"), "CPython 3.13.5t was.");
        assert_eq!(sentence("this scenario."), "This scenario.");
        assert_eq!(sentence(""), "");
    }

    fn report(functions: &[&str]) -> InsideReport {
        let functions: Vec<serde_json::Value> = functions
            .iter()
            .map(|name| {
                serde_json::json!({"name": name, "file": "f.py", "line": 1, "own_time_share": 0.5,
                    "instructions": 10, "specialisable": 4, "specialised": 2})
            })
            .collect();
        serde_json::from_value(serde_json::json!({
            "protocol": 1,
            "runtime": {"implementation": "cpython", "version": "3.13.5", "free_threaded": false, "gil_enabled": true},
            "gc_thresholds": null, "features": [],
            "units": [{"name": "planner", "kind": "agent", "tasks": 3, "seconds_per_task": 0.1,
                "specialisation": null, "functions": functions,
                "memory": {"collections_per_task": null, "collected_per_task": null, "peak_bytes_per_task": null}}]
        }))
        .unwrap()
    }

    #[test]
    fn different_hot_functions_are_named() {
        let (a, b) = (report(&["solve", "scramble"]), report(&["solve"]));
        let differ = functions_differ(("A", Some(&a)), ("B", Some(&b)), "planner");
        assert_eq!(
            differ.as_deref(),
            Some("hot functions differ: A solve, scramble; B solve; the shares are over solve")
        );
        let same = report(&["scramble", "solve"]);
        assert_eq!(
            functions_differ(("A", Some(&a)), ("B", Some(&same)), "planner"),
            None
        );
        assert_eq!(
            functions_differ(("A", Some(&a)), ("B", None), "planner"),
            None
        );
    }

    #[test]
    fn shares_say_how_many_of_how_many() {
        let cell = share_cell(Some((50, 56)), "x");
        assert_eq!(cell.text, "50 of 56 (89%)");
        assert!((cell.bar - 89.28).abs() < 0.01);
        assert_eq!(share_cell(Some((0, 0)), "x").text, "nothing specialisable");
        assert_eq!(share_cell(None, "absent here").text, "absent here");
    }
}
