//! The measured single-thread cost of a free-threaded build next to what the
//! inspection saw inside both builds (`inside.json`): how much of the hot
//! code each specialised, and whether that agrees with the published
//! explanation of the cost or contradicts it. The dashboard's "Inside
//! CPython" section and the advice's free-threading cost line read it.

use serde::Serialize;

use crate::protocol::inside::{
    HotFunction, InsideFile, InsideReport, Inspection, Unit, WORKLOAD_UNITS, common_functions,
};
use crate::stats::Estimate;
use crate::vocabulary::Scenario;

/// Two builds' shares differing by less than this (in share points, 0-1)
/// specialise "about the same".
const SAME_SHARE: f64 = 0.15;

/// What the specialisation shares say about a measured cost.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reading {
    /// The shares and the cost tell the same story.
    Consistent,
    /// They do not: the reason for the cost is elsewhere.
    Contradicts,
    /// One of the builds was not inspected, or nothing here specialises.
    Unknown,
}

/// One unit's specialisation in both builds.
#[derive(Clone, Debug, Serialize)]
pub struct UnitShares {
    /// The unit (`solver`, `knowledge`).
    pub unit: String,
    /// Its hottest function, as the free-threaded build reported it.
    pub hottest: Option<String>,
    /// Specialised share in the free-threaded build, over the hot functions
    /// both builds reported (None: not shown).
    pub subject: Option<f64>,
    /// Specialised share in the default build.
    pub baseline: Option<f64>,
    /// (specialised, specialisable) behind `subject`.
    pub subject_counts: Option<(u32, u32)>,
    /// (specialised, specialisable) behind `baseline`.
    pub baseline_counts: Option<(u32, u32)>,
}

/// The inside view of one measured free-threading cost.
#[derive(Clone, Debug, Serialize)]
pub struct InsideReading {
    /// The units the scenario runs, with their shares.
    pub units: Vec<UnitShares>,
    /// Specialised share of all those units' hot instructions, free-threaded.
    pub subject_share: Option<f64>,
    /// The same, default build.
    pub baseline_share: Option<f64>,
    /// (specialised, specialisable) behind `subject_share`.
    pub subject_counts: Option<(u32, u32)>,
    /// (specialised, specialisable) behind `baseline_share`.
    pub baseline_counts: Option<(u32, u32)>,
    /// What the shares say about the cost.
    pub reading: Reading,
    /// The plain sentence.
    pub sentence: String,
}

/// The units whose CPU work a scenario runs: the agents, and the knowledge
/// base's queries in `shared`; none for `io` (its agents wait). A task
/// run's only unit is its task.
pub fn scenario_units(scenario: &str) -> Vec<&'static str> {
    match Scenario::from_name(scenario) {
        Some(Scenario::Io) => Vec::new(),
        Some(s) if s.uses_knowledge() => WORKLOAD_UNITS.to_vec(),
        _ => WORKLOAD_UNITS
            .iter()
            .copied()
            .filter(|u| *u != "knowledge")
            .collect(),
    }
}

/// Both builds' (specialised, specialisable) counts of `unit`, over the
/// hot functions both reported (each build's own where they share none, or
/// only one build has the unit).
fn unit_counts(
    ft: Option<&InsideReport>,
    default: Option<&InsideReport>,
    unit: &str,
) -> [Option<(u32, u32)>; 2] {
    let sides = [
        ft.and_then(|r| r.unit(unit)),
        default.and_then(|r| r.unit(unit)),
    ];
    let common = match sides {
        [Some(a), Some(b)] => common_functions(&[a, b]),
        _ => Default::default(),
    };
    sides.map(|side| {
        let side = side?;
        if common.is_empty() {
            side.specialisation
                .as_ref()
                .map(|s| (s.specialised, s.specialisable))
        } else {
            side.counts_over(&common)
        }
    })
}

/// specialised ÷ specialisable.
fn share((specialised, specialisable): (u32, u32)) -> Option<f64> {
    (specialisable > 0).then(|| f64::from(specialised) / f64::from(specialisable))
}

fn pct(share: f64) -> String {
    format!("{:.0}%", share * 100.0)
}

/// Reads the `cost` of `subject` (free-threaded) against `baseline` in
/// `scenario`, given both builds' inspections.
pub fn read(
    inside: Option<&InsideFile>,
    scenario: &str,
    (subject_id, subject): (&str, &str),
    (baseline_id, baseline): (&str, &str),
    cost: &Estimate,
) -> InsideReading {
    let reports = inside.map(|f| (f.of(subject_id), f.of(baseline_id)));
    let (ft, default) = reports.unwrap_or((None, None));
    // A task run's scenario is the task: its unit is the task function.
    let units: Vec<&str> = if Scenario::from_name(scenario).is_some() {
        scenario_units(scenario)
    } else {
        ft.or(default)
            .map(|r| {
                r.units
                    .iter()
                    .filter(|u| u.kind == "task")
                    .map(|u| u.name.as_str())
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut totals: [Option<(u32, u32)>; 2] = [None, None];
    let mut rows = Vec::new();
    for unit in &units {
        let counts = unit_counts(ft, default, unit);
        for (total, count) in totals.iter_mut().zip(counts) {
            if let Some((a, b)) = count {
                let sum = total.get_or_insert((0, 0));
                sum.0 += a;
                sum.1 += b;
            }
        }
        rows.push(UnitShares {
            unit: (*unit).into(),
            hottest: ft
                .or(default)
                .and_then(|r| r.unit(unit)?.functions.first())
                .map(|f| f.name.clone()),
            subject: counts[0].and_then(share),
            baseline: counts[1].and_then(share),
            subject_counts: counts[0],
            baseline_counts: counts[1],
        });
    }
    // Both builds inspected: the pooled shares compare like with like.
    if ft.is_none() || default.is_none() {
        totals = [None, None];
    }
    let [subject_share, baseline_share] = totals.map(|t| t.and_then(share));
    let (reading, sentence) = judge(
        Scenario::from_name(scenario) == Some(Scenario::Io),
        (subject, ft.is_some(), subject_share),
        (baseline, default.is_some(), baseline_share),
        cost,
    );
    InsideReading {
        units: rows,
        subject_share,
        baseline_share,
        subject_counts: totals[0],
        baseline_counts: totals[1],
        reading,
        sentence,
    }
}

/// The reading and its sentence.
fn judge(
    no_units: bool,
    (subject, subject_seen, s_ft): (&str, bool, Option<f64>),
    (baseline, baseline_seen, s_def): (&str, bool, Option<f64>),
    cost: &Estimate,
) -> (Reading, String) {
    if no_units {
        return (
            Reading::Unknown,
            "this scenario's agents mostly wait on the model: their CPU work (a hash per call) is not inspected".into(),
        );
    }
    for (label, seen) in [(subject, subject_seen), (baseline, baseline_seen)] {
        if !seen {
            return (
                Reading::Unknown,
                format!(
                    "{label} was not inspected in this run (`gil-lab inspect --run RUN_DIR` adds it)"
                ),
            );
        }
    }
    let (Some(ft), Some(default)) = (s_ft, s_def) else {
        return (
            Reading::Unknown,
            format!("{subject} or {baseline} shows no specialisation to compare"),
        );
    };
    let slower = cost.ci_low > 1.0;
    let times = format!("{:.2}×", cost.point);
    let shares = format!(
        "{subject} specialised {} of its hot instructions, {baseline} {}",
        pct(ft),
        pct(default)
    );
    if default - ft >= SAME_SHARE {
        if slower {
            (
                Reading::Consistent,
                format!(
                    "{shares}, and its sequential work took {times} as long: consistent with the published explanation (the free-threaded build does not specialise as much; the rest of the cost is what free-threading adds on any build: biased reference counting, per-object locks, mimalloc)"
                ),
            )
        } else {
            (
                Reading::Contradicts,
                format!(
                    "{shares}, yet its sequential work was not measurably slower ({times}, CI {:.2}–{:.2}): less specialisation does not cost this code time here",
                    cost.ci_low, cost.ci_high
                ),
            )
        }
    } else if ft - default >= SAME_SHARE {
        (
            Reading::Contradicts,
            format!(
                "{shares}: the free-threaded build specialises more, so specialisation does not explain its {times}"
            ),
        )
    } else if slower {
        (
            Reading::Contradicts,
            format!(
                "{shares}: about the same, yet the free-threaded build took {times} as long: the specialising interpreter does not explain this cost; what free-threading adds does (biased and atomic reference counting, per-object locks, mimalloc), with any difference in how the two were built"
            ),
        )
    } else {
        (
            Reading::Consistent,
            format!(
                "{shares}: about the same, and its sequential work took about as long ({times})"
            ),
        )
    }
}

/// `1.2 KiB`, `789 KiB`, `1.4 MiB`: a task's peak is often small.
fn peak_text(bytes: u64) -> String {
    if bytes < 1024 * 1024 {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
    } else {
        crate::run::format::format_bytes(bytes)
    }
}

/// `0.17 · 0 · 0, peak 789.1 KiB`: collections per task by generation
/// (young first), and one task's peak.
pub fn memory_text(unit: Option<&Unit>) -> String {
    let Some(unit) = unit else {
        return "-".into();
    };
    let memory = &unit.memory;
    let collections = memory.collections_per_task.as_ref().map_or_else(
        || "collector: not reported".to_string(),
        |c| {
            let per: Vec<String> = c
                .iter()
                .map(|x| {
                    if *x == 0.0 {
                        "0".into()
                    } else {
                        format!("{x:.2}")
                    }
                })
                .collect();
            per.join(" · ")
        },
    );
    match memory.peak_bytes_per_task {
        Some(bytes) => format!("{collections}, peak {}", peak_text(bytes)),
        None => collections,
    }
}

/// Interpreters whose hottest function of a unit compiled to the same
/// bytecode: their labels, the function (as the first of them reported it)
/// and each one's specialised form per instruction.
#[derive(Debug)]
pub struct ListingGroup<'a> {
    /// The interpreters' labels: the columns.
    pub labels: Vec<String>,
    /// The function, with its listing.
    pub function: &'a HotFunction,
    /// Per interpreter, per instruction, the specialised form (None: left
    /// generic).
    pub forms: Vec<Vec<Option<String>>>,
}

/// The hottest function of `unit` in each inspection that listed it, one
/// group per distinct bytecode (`dis` listings of the same version line up
/// instruction by instruction; another version gets a group of its own).
pub fn listing_groups<'a>(
    answered: &[(&'a Inspection, &'a InsideReport)],
    unit: &str,
) -> Vec<ListingGroup<'a>> {
    let mut groups: Vec<ListingGroup<'a>> = Vec::new();
    for (inspection, report) in answered {
        let Some(function) = report.unit(unit).and_then(|u| u.functions.first()) else {
            continue;
        };
        let Some(listing) = &function.listing else {
            continue;
        };
        let forms: Vec<Option<String>> = listing.iter().map(|i| i.adaptive.clone()).collect();
        let same = groups.iter_mut().find(|g| {
            g.function.name == function.name
                && g.function.listing.as_ref().is_some_and(|l| {
                    l.len() == listing.len()
                        && l.iter().zip(listing).all(|(a, b)| a.opname == b.opname)
                })
        });
        match same {
            Some(group) => {
                group.labels.push(inspection.label.clone());
                group.forms.push(forms);
            }
            None => groups.push(ListingGroup {
                labels: vec![inspection.label.clone()],
                function,
                forms: vec![forms],
            }),
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cost(point: f64, low: f64, high: f64) -> Estimate {
        Estimate {
            point,
            ci_low: low,
            ci_high: high,
        }
    }

    fn judged(ft: f64, default: f64, estimate: Estimate) -> Reading {
        judge(
            false,
            ("3.13.5t", true, Some(ft)),
            ("3.13.5", true, Some(default)),
            &estimate,
        )
        .0
    }

    #[test]
    fn less_specialisation_and_slower_is_the_published_story() {
        assert_eq!(judged(0.0, 0.8, cost(1.37, 1.3, 1.45)), Reading::Consistent);
    }

    #[test]
    fn same_specialisation_but_slower_contradicts_it() {
        assert_eq!(
            judged(0.78, 0.8, cost(1.12, 1.08, 1.16)),
            Reading::Contradicts
        );
        assert_eq!(
            judged(0.78, 0.8, cost(1.01, 0.97, 1.05)),
            Reading::Consistent
        );
    }

    #[test]
    fn less_specialisation_without_a_cost_contradicts_it() {
        assert_eq!(
            judged(0.0, 0.8, cost(1.0, 0.95, 1.06)),
            Reading::Contradicts
        );
    }

    #[test]
    fn a_task_run_reads_its_task_unit() {
        let file = crate::run::fixtures::task_inside();
        let reading = read(
            Some(&file),
            "plan_route",
            ("ft", "3.13.5t"),
            ("gil", "3.13.5"),
            &cost(1.6, 1.3, 2.1),
        );
        assert_eq!(reading.units.len(), 1);
        assert_eq!(reading.subject_share, Some(0.0));
        assert_eq!(reading.baseline_share, Some(0.5));
        assert_eq!(reading.reading, Reading::Consistent);
    }

    #[test]
    fn io_inspects_nothing_and_missing_builds_are_named() {
        assert!(scenario_units("io").is_empty());
        assert_eq!(scenario_units("shared").len(), 5);
        assert_eq!(scenario_units("cpu").len(), 4);
        let reading = read(None, "cpu", ("a", "A"), ("b", "B"), &cost(1.2, 1.1, 1.3));
        assert_eq!(reading.reading, Reading::Unknown);
        assert!(reading.sentence.contains("A was not inspected"));
    }
}
