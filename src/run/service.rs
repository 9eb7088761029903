//! The `service` scenario's results (`service.json` in the run directory):
//! per cell, a ladder of open-loop arrival rates with the latency
//! percentiles of each, where the time went, and the **sustainable rate**:
//! the highest rate whose p99 meets the objective (`--slo`) with nothing
//! dropped, every lower rate meeting it too. A rate the service cannot
//! keep up with is reported as such (its p99 and its drops), never as a
//! lower throughput with good latencies. docs/service.md.

use serde::{Deserialize, Serialize};

use crate::vocabulary::{Approach, GilMode};

/// Largest share of failed requests a sustainable level may have.
pub const MAX_ERROR_SHARE: f64 = 0.01;

/// `service.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ServiceRun {
    /// The latency objective: p99 at most this many milliseconds.
    pub slo_ms: f64,
    /// Seconds of arrivals per level.
    pub level_s: f64,
    /// Seconds after the last arrival before a request counts as dropped.
    pub drain_s: f64,
    /// Whether the model is gil-lab's endpoint (`builtin`) or a real server
    /// (`external`, whose latency includes its own queueing).
    pub endpoint: String,
    /// The built-in endpoint's latency per call, milliseconds.
    #[serde(default)]
    pub model_latency_ms: Option<f64>,
    /// Each interpreter's measured capacity and the ladder derived from it.
    pub capacities: Vec<ServiceCapacity>,
    /// One per (interpreter, approach).
    pub cells: Vec<ServiceCell>,
}

/// An interpreter's one-core capacity and its ladder of rates.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ServiceCapacity {
    /// The interpreter's id in the run.
    pub interpreter: String,
    /// Its label.
    pub label: String,
    /// Mean milliseconds of reasoning steps per request, one after another.
    pub step_ms: f64,
    /// Requests per second one core can reason through (1000 / `step_ms`).
    pub one_core_rps: f64,
    /// The rates tried, requests per second.
    pub rates: Vec<f64>,
}

/// One cell of the scenario: an approach on an interpreter.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ServiceCell {
    /// The interpreter's id in the run.
    pub interpreter: String,
    /// Its label.
    pub label: String,
    /// GIL or free-threaded (or native).
    pub gil_mode: GilMode,
    /// How the requests were served.
    pub approach: Approach,
    /// Threads, processes or coroutines serving.
    pub workers: u32,
    /// The levels run, lowest rate first (the ladder stops after two levels
    /// in a row clearly over the objective).
    pub levels: Vec<ServiceLevel>,
    /// The highest rate meeting the objective, every lower one meeting it
    /// too; None: not even the lowest rate tried.
    pub sustainable_rps: Option<f64>,
    /// Why the cell has no levels (its runner failed).
    #[serde(default)]
    pub error: Option<String>,
}

/// One rate of the ladder.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ServiceLevel {
    /// Requests per second offered (arrivals fixed in advance).
    pub offered_rps: f64,
    /// Arrivals scheduled.
    pub scheduled: u32,
    /// Requests served by the level's end.
    pub completed: u32,
    /// Requests that failed (a model call failed for good).
    pub errors: u32,
    /// Requests not finished by the level's end: the service fell behind.
    pub dropped: u32,
    /// Requests whose digest differs from the other cells'.
    pub digest_mismatches: u32,
    /// Served requests per second, first arrival to last completion.
    pub throughput_rps: f64,
    /// Latency from scheduled arrival to the end of the last step (HDR histogram).
    pub latency_ms: Percentiles,
    /// Waiting for a worker: scheduled arrival to a worker taking it.
    pub queue_ms: Spread,
    /// The model's own time: call start to the endpoint sending the answer
    /// (from a real server: to the agent reading it).
    pub model_ms: Spread,
    /// Answer sent to the agent running again: the GIL, a busy event loop
    /// or a busy core.
    pub answer_wait_ms: Spread,
    /// The reasoning steps.
    pub step_ms: Spread,
    /// Whether this level meets the objective.
    pub meets_objective: bool,
    /// Why not, in words.
    #[serde(default)]
    pub why_not: Option<String>,
}

/// Latency percentiles, milliseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Percentiles {
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile: the objective's figure.
    pub p99: f64,
    /// 99.9th percentile.
    pub p99_9: f64,
    /// Largest.
    pub max: f64,
}

/// A part of the latency, milliseconds per request.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Spread {
    /// Median.
    pub p50: f64,
    /// 99th percentile.
    pub p99: f64,
}

/// Whether a level meets the objective, and why not.
pub fn judge(level: &ServiceLevel, slo_ms: f64) -> (bool, Option<String>) {
    let mut why = Vec::new();
    if level.dropped > 0 {
        why.push(format!(
            "{} of {} requests not done by the level's end",
            level.dropped, level.scheduled
        ));
    }
    if level.completed == 0 {
        why.push("no request served".to_string());
    } else if level.latency_ms.p99 > slo_ms {
        why.push(format!(
            "p99 {:.0} ms > {:.0} ms",
            level.latency_ms.p99, slo_ms
        ));
    }
    if f64::from(level.errors) > MAX_ERROR_SHARE * f64::from(level.scheduled.max(1)) {
        why.push(format!("{} requests failed", level.errors));
    }
    if level.digest_mismatches > 0 {
        why.push(format!("{} wrong digests", level.digest_mismatches));
    }
    if why.is_empty() {
        (true, None)
    } else {
        (false, Some(why.join("; ")))
    }
}

/// The highest offered rate of the levels meeting the objective from the
/// lowest up (a pass above a failure is noise, not capacity).
pub fn sustainable_rate(levels: &[ServiceLevel]) -> Option<f64> {
    levels
        .iter()
        .take_while(|l| l.meets_objective)
        .map(|l| l.offered_rps)
        .last()
}

impl ServiceRun {
    /// The Python cell with the highest sustainable rate (the native twin is
    /// a ceiling, not an option); ties go to the lower p99 at that rate.
    pub fn best(&self) -> Option<&ServiceCell> {
        self.cells
            .iter()
            .filter(|c| c.gil_mode != GilMode::Native)
            .filter(|c| c.sustainable_rps.is_some())
            .max_by(|a, b| {
                let key = |c: &ServiceCell| {
                    (
                        c.sustainable_rps.unwrap_or(0.0),
                        -c.at_sustainable().map_or(f64::MAX, |l| l.latency_ms.p99),
                    )
                };
                key(a)
                    .partial_cmp(&key(b))
                    .unwrap_or(std::cmp::Ordering::Equal)
            })
    }

    /// A cell's level at the rate one core of its interpreter can reason
    /// through (the highest rate tried not above it).
    pub fn at_one_core<'a>(&self, cell: &'a ServiceCell) -> Option<&'a ServiceLevel> {
        let capacity = self.capacity(&cell.interpreter)?.one_core_rps;
        cell.levels
            .iter()
            .rfind(|l| l.offered_rps <= capacity * 1.001)
    }

    /// The capacity of an interpreter.
    pub fn capacity(&self, interpreter: &str) -> Option<&ServiceCapacity> {
        self.capacities
            .iter()
            .find(|c| c.interpreter == interpreter)
    }

    /// The lesson in one sentence with numbers: how long an answer waited
    /// at p99 for its agent to run again, at the rate one core can reason
    /// through (each interpreter's own), under the GIL, free-threaded and on
    /// the event loop; None when the cells to compare are missing.
    pub fn lesson(&self) -> Option<String> {
        let find = |mode: GilMode, approach: Approach| {
            self.cells
                .iter()
                .find(|c| c.gil_mode == mode && c.approach == approach)
                .and_then(|c| Some((c, self.at_one_core(c)?)))
        };
        let gil = find(GilMode::Gil, Approach::Threads)?;
        let free = find(GilMode::FreeThreaded, Approach::Threads);
        let event_loop = find(GilMode::FreeThreaded, Approach::Asyncio)
            .or_else(|| find(GilMode::Gil, Approach::Asyncio));
        let mut parts = vec![format!(
            "at the load one core can reason through, an answer waited {:.0} ms at p99 for its thread to run again under the GIL ({}, {:.1} requests/s, p99 latency {:.0} ms)",
            gil.1.answer_wait_ms.p99, gil.0.label, gil.1.offered_rps, gil.1.latency_ms.p99
        )];
        if let Some((cell, level)) = free {
            parts.push(format!(
                "free-threaded {:.0} ms ({}, {:.1} requests/s, p99 latency {:.0} ms)",
                level.answer_wait_ms.p99, cell.label, level.offered_rps, level.latency_ms.p99
            ));
        }
        if let Some((cell, level)) = event_loop {
            parts.push(format!(
                "on the event loop {:.0} ms (asyncio on {})",
                level.answer_wait_ms.p99, cell.label
            ));
        }
        let mut sentence = format!("Service: {}", parts.join("; "));
        if let Some(best) = self.best() {
            sentence.push_str(&format!(
                "; the highest rate within p99 ≤ {:.0} ms: {} on {}, {:.1} requests/s.",
                self.slo_ms,
                best.approach,
                best.label,
                best.sustainable_rps.unwrap_or(0.0)
            ));
        } else {
            sentence.push('.');
        }
        Some(sentence)
    }
}

impl ServiceCell {
    /// The level at the sustainable rate.
    pub fn at_sustainable(&self) -> Option<&ServiceLevel> {
        let rate = self.sustainable_rps?;
        self.levels.iter().find(|l| l.offered_rps == rate)
    }

    /// The first level over the objective.
    pub fn first_failure(&self) -> Option<&ServiceLevel> {
        self.levels.iter().find(|l| !l.meets_objective)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn level(rate: f64, p99: f64, dropped: u32) -> ServiceLevel {
        let mut level = ServiceLevel {
            offered_rps: rate,
            scheduled: 40,
            completed: 40 - dropped,
            errors: 0,
            dropped,
            digest_mismatches: 0,
            throughput_rps: rate,
            latency_ms: Percentiles {
                p99,
                ..Percentiles::default()
            },
            queue_ms: Spread::default(),
            model_ms: Spread::default(),
            answer_wait_ms: Spread::default(),
            step_ms: Spread::default(),
            meets_objective: false,
            why_not: None,
        };
        (level.meets_objective, level.why_not) = judge(&level, 250.0);
        level
    }

    #[test]
    fn drops_make_a_level_unsustainable_whatever_its_percentiles() {
        // The served requests look fast, but the service fell behind.
        let behind = level(20.0, 90.0, 12);
        assert!(!behind.meets_objective);
        assert!(
            behind
                .why_not
                .unwrap()
                .contains("12 of 40 requests not done")
        );
    }

    #[test]
    fn the_sustainable_rate_is_the_top_of_the_passing_prefix() {
        let levels = vec![
            level(5.0, 100.0, 0),
            level(10.0, 200.0, 0),
            level(15.0, 400.0, 0),
            level(20.0, 240.0, 0),
        ];
        assert_eq!(sustainable_rate(&levels), Some(10.0));
        assert_eq!(sustainable_rate(&levels[2..]), None);
    }
}
