//! The claims check: what free-threading costs on one thread, as published
//! (each figure with its source) and as measured on this machine — the
//! sequential work time of a free-threaded build against the default build of
//! the same version, and of the same free-threaded build with the GIL forced
//! back on (`PYTHON_GIL=1` / `-X gil=1`) against the GIL off.

use serde::Serialize;

use crate::run::LoadedRun;
use crate::run::record::RunSummary;
use crate::stats::{self, Estimate};

use super::views::{GilMode, ratio_text};

/// A published figure of the single-thread cost of free-threading.
#[derive(Debug, Clone, Serialize)]
pub struct PublishedFigure {
    /// Where it is published.
    pub source: String,
    /// Link to it.
    pub url: String,
    /// The figure as published.
    pub figure: String,
    /// The Python version it is about.
    pub applies_to: String,
    /// The CPU-time overhead it states, as a range in percent. "About X%"
    /// is read as X ± 5 points, a single exact figure as ± 1 point.
    pub cpu_overhead_pct: (f64, f64),
    /// The memory overhead it states, percent, when it states one.
    pub memory_overhead_pct: Option<(f64, f64)>,
}

/// The published single-thread cost of the free-threaded build, each figure
/// with the publication it comes from.
fn published() -> Vec<PublishedFigure> {
    let figure = |source: &str,
                  url: &str,
                  text: &str,
                  applies_to: &str,
                  cpu: (f64, f64),
                  memory: Option<(f64, f64)>| PublishedFigure {
        source: source.into(),
        url: url.into(),
        figure: text.into(),
        applies_to: applies_to.into(),
        cpu_overhead_pct: cpu,
        memory_overhead_pct: memory,
    };
    vec![
        figure(
            "Python 3.13 free-threading HOWTO",
            "https://docs.python.org/3.13/howto/free-threading-python.html",
            "about 40% slower on pyperformance (specializing interpreter disabled in that build)",
            "3.13",
            (35.0, 45.0),
            None,
        ),
        figure(
            "PEP 779",
            "https://peps.python.org/pep-0779/",
            "about 10% (about 3% on macOS); memory 15-20% higher; acceptance targets 15% CPU, 20% memory",
            "3.14",
            (5.0, 15.0),
            Some((15.0, 20.0)),
        ),
        figure(
            "What's New in Python 3.14",
            "https://docs.python.org/3.14/whatsnew/3.14.html",
            "roughly 5-10%, depending on platform and compiler",
            "3.14",
            (5.0, 10.0),
            None,
        ),
        figure(
            "Python 3.14 free-threading HOWTO",
            "https://docs.python.org/3.14/howto/free-threading-python.html",
            "about 1% (macOS aarch64) to 8% (x86-64 Linux)",
            "3.14",
            (1.0, 8.0),
            None,
        ),
        figure(
            "faster-cpython / Meta benchmark results (3.15 alpha, same commit)",
            "https://github.com/faster-cpython/benchmarking-public",
            "1.09x slower and 1.20-1.21x memory on x86-64",
            "3.15",
            (8.0, 10.0),
            Some((20.0, 21.0)),
        ),
    ]
}

/// How a measurement relates to a published range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Relation {
    /// The measured CI overlaps the published range.
    Agrees,
    /// The whole measured CI is below the published range.
    LowerHere,
    /// The whole measured CI is above the published range.
    HigherHere,
}

/// One published figure next to one measurement.
#[derive(Debug, Clone, Serialize)]
pub struct ClaimComparison {
    /// The source of the figure.
    pub source: String,
    /// Whether the figure is about the measured Python version.
    pub same_version: bool,
    /// CPU: the measured CI against the published range.
    pub cpu: Relation,
    /// Memory, when the source states a memory figure.
    pub memory: Option<Relation>,
}

/// What kind of cost a measurement is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CostKind {
    /// Free-threaded build against the default build.
    FreeThreadedVsDefault,
    /// The free-threaded build with the GIL forced on against the GIL off.
    GilOnVsOff,
}

/// One measured cost, sequential approach.
#[derive(Debug, Clone, Serialize)]
pub struct MeasuredCost {
    /// The scenario.
    pub scenario: String,
    /// What is compared.
    pub kind: CostKind,
    /// The interpreter whose cost it is.
    pub subject: String,
    /// The interpreter it is compared with.
    pub baseline: String,
    /// The subject's id in the run (`cpython-3.13.5t`).
    pub subject_id: String,
    /// The baseline's id in the run.
    pub baseline_id: String,
    /// `major.minor` of the subject.
    pub version: String,
    /// Both are the same `major.minor.patch` (a like-for-like comparison).
    pub same_version: bool,
    /// Median sequential work time of the subject ÷ the baseline's, with CI.
    pub time_ratio: Estimate,
    /// The same as text: `1.31× (1.22–1.40): 31% slower`.
    pub time_text: String,
    /// Median peak memory of the subject ÷ the baseline's.
    pub memory_ratio: Option<f64>,
    /// The published figures next to it (free-threaded vs default only).
    pub comparisons: Vec<ClaimComparison>,
}

/// The claims check of a run.
#[derive(Debug, Clone, Serialize)]
pub struct ClaimsCheck {
    /// What this machine measured.
    pub measured: Vec<MeasuredCost>,
    /// What is published.
    pub published: Vec<PublishedFigure>,
    /// Why nothing was measured, when nothing was.
    pub missing: Option<String>,
}

fn major_minor(version: &str) -> String {
    version.split('.').take(2).collect::<Vec<_>>().join(".")
}

/// The measured range against a published one.
fn relation(measured: (f64, f64), published: (f64, f64)) -> Relation {
    if measured.1 < published.0 {
        Relation::LowerHere
    } else if measured.0 > published.1 {
        Relation::HigherHere
    } else {
        Relation::Agrees
    }
}

/// `31% slower` / `4% faster`.
fn change_words(ratio: f64) -> String {
    let pct = (ratio - 1.0) * 100.0;
    if pct >= 0.0 {
        format!("{pct:.0}% slower")
    } else {
        format!("{:.0}% faster", -pct)
    }
}

/// Sequential work times of an interpreter in a scenario, and its median
/// peak memory.
fn sequential(
    loaded: &LoadedRun,
    summary: &RunSummary,
    scenario: &str,
    id: &str,
) -> (Vec<f64>, Option<u64>) {
    let times = loaded
        .trials
        .iter()
        .filter(|t| t.is_measured() && t.cell.scenario == scenario && t.cell.interpreter == id)
        .filter(|t| t.cell.is_baseline())
        .filter_map(|t| t.work_s())
        .collect();
    let memory = summary
        .cells
        .iter()
        .find(|c| c.cell.scenario == scenario && c.cell.interpreter == id && c.cell.is_baseline())
        .and_then(|c| c.peak_memory_bytes);
    (times, memory)
}

/// Measures the costs and sets them next to the published figures.
pub fn check(loaded: &LoadedRun, summary: &RunSummary) -> ClaimsCheck {
    let interpreters = &loaded.run.interpreters;
    let published = published();
    let mut scenarios: Vec<&str> = summary
        .scenarios
        .iter()
        .map(|s| s.scenario.as_str())
        .collect();
    scenarios.dedup();
    let mut measured = Vec::new();
    let rounds = crate::run::pairing::Rounds::new(&loaded.trials);
    for ft in interpreters
        .iter()
        .filter(|i| i.gil_mode() == GilMode::FreeThreaded)
    {
        let forced = interpreters
            .iter()
            .find(|i| i.gil_mode() == GilMode::ForcedOn && i.path == ft.path);
        let pairs = [
            loaded
                .run
                .default_twin(ft)
                .map(|d| (CostKind::FreeThreadedVsDefault, ft, d)),
            forced.map(|g| (CostKind::GilOnVsOff, g, ft)),
        ];
        for (kind, subject, baseline) in pairs.into_iter().flatten() {
            for &scenario in &scenarios {
                let (mine, my_memory) = sequential(loaded, summary, scenario, &subject.id);
                let (theirs, their_memory) = sequential(loaded, summary, scenario, &baseline.id);
                if mine.is_empty() || theirs.is_empty() {
                    continue;
                }
                // Paired over the rounds both sequential cells ran in.
                let key = |interpreter: &str| crate::run::record::CellKey {
                    scenario: scenario.to_string(),
                    interpreter: interpreter.to_string(),
                    approach: crate::vocabulary::Approach::Sequential,
                    workers: 1,
                };
                let pairs = rounds.pairs(&key(&subject.id), &key(&baseline.id), |t| t.work_s());
                let time_ratio = stats::paired_ratio(&pairs)
                    .unwrap_or_else(|| stats::ratio_of_medians(&mine, &theirs, 0x636c_6169_6d73));
                let memory_ratio = match (my_memory, their_memory) {
                    (Some(a), Some(b)) if b > 0 => Some(a as f64 / b as f64),
                    _ => None,
                };
                let version = major_minor(&subject.version);
                let comparisons = if kind == CostKind::FreeThreadedVsDefault {
                    let cpu = (
                        (time_ratio.ci_low - 1.0) * 100.0,
                        (time_ratio.ci_high - 1.0) * 100.0,
                    );
                    published
                        .iter()
                        .map(|p| ClaimComparison {
                            source: p.source.clone(),
                            same_version: p.applies_to == version,
                            cpu: relation(cpu, p.cpu_overhead_pct),
                            memory: match (memory_ratio, p.memory_overhead_pct) {
                                (Some(m), Some(range)) => {
                                    let pct = (m - 1.0) * 100.0;
                                    Some(relation((pct, pct), range))
                                }
                                _ => None,
                            },
                        })
                        .collect()
                } else {
                    vec![]
                };
                measured.push(MeasuredCost {
                    scenario: scenario.into(),
                    kind,
                    subject: subject.label.clone(),
                    baseline: baseline.label.clone(),
                    subject_id: subject.id.clone(),
                    baseline_id: baseline.id.clone(),
                    version,
                    same_version: subject.version == baseline.version,
                    time_text: format!(
                        "{}: {}",
                        ratio_text(&time_ratio),
                        change_words(time_ratio.point)
                    ),
                    time_ratio,
                    memory_ratio,
                    comparisons,
                });
            }
        }
    }
    let missing = measured.is_empty().then(|| {
        if interpreters.iter().any(|i| i.gil_mode() == GilMode::FreeThreaded) {
            "no sequential trials of a free-threaded build and its default build (or its GIL-forced variant) were measured in this run".to_string()
        } else {
            "this run has no free-threaded interpreter: `gil-lab python install 3.13t` provides one".to_string()
        }
    });
    ClaimsCheck {
        measured,
        published,
        missing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relation_compares_whole_intervals() {
        assert_eq!(relation((1.0, 3.0), (5.0, 10.0)), Relation::LowerHere);
        assert_eq!(relation((4.0, 6.0), (5.0, 10.0)), Relation::Agrees);
        assert_eq!(relation((12.0, 14.0), (5.0, 10.0)), Relation::HigherHere);
    }

    #[test]
    fn change_words_say_slower_or_faster() {
        assert_eq!(change_words(1.31), "31% slower");
        assert_eq!(change_words(0.96), "4% faster");
    }
}
