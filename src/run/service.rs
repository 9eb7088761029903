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
/// Requests a level needs before its p99 is more than its largest latency
/// (with fewer, the 99th percentile's rank is the last one).
pub const P99_SAMPLES: u32 = 100;

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
    /// Why the sustainable rate is not decided: a rate above a failing one
    /// passed even after the failing one was repeated (None: decided).
    #[serde(default)]
    pub open: Option<String>,
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
    /// Runs of this rate pooled in these figures (2: it was just over the
    /// objective and was run once more).
    #[serde(default = "one")]
    pub attempts: u32,
    /// Fewer than [`P99_SAMPLES`] requests served: the p99 is the largest latency.
    #[serde(default)]
    pub p99_is_max: bool,
    /// Cores kept busy: CPU seconds of the runner and its workers ÷ the
    /// level's seconds (what serving this rate costs in cores).
    #[serde(default)]
    pub cores: Option<f64>,
    /// Peak resident memory of the runner plus its worker processes, bytes.
    #[serde(default)]
    pub peak_memory_bytes: Option<u64>,
    /// Processes serving (1 unless `processes`).
    #[serde(default)]
    pub processes: Option<u32>,
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

fn one() -> u32 {
    1
}

/// The highest offered rate of the levels meeting the objective from the
/// lowest up (a pass above a failure is not counted as capacity; see
/// [`undecided`]).
pub fn sustainable_rate(levels: &[ServiceLevel]) -> Option<f64> {
    levels
        .iter()
        .take_while(|l| l.meets_objective)
        .map(|l| l.offered_rps)
        .last()
}

/// Why the ladder has not decided the sustainable rate: a level passed
/// above one that failed (pooled over its repeat). The rate is then at
/// least the passing prefix's top, perhaps up to that higher pass: open,
/// never a recommendation. None when the ladder is consistent.
pub fn undecided(levels: &[ServiceLevel]) -> Option<String> {
    let failed = levels.iter().position(|l| !l.meets_objective)?;
    let passed = levels[failed..].iter().rfind(|l| l.meets_objective)?;
    Some(format!(
        "{:.1} req/s failed ({}) but {:.1} req/s passed: noise on this machine; between the two is undecided",
        levels[failed].offered_rps,
        levels[failed]
            .why_not
            .as_deref()
            .unwrap_or("over the objective"),
        passed.offered_rps
    ))
}

/// What the scenario decides about which cell to run.
#[derive(Debug)]
pub enum ServiceChoice<'a> {
    /// One cell sustains the highest rate, and no undecided cell could beat it.
    Best(&'a ServiceCell),
    /// These cells sustain the same highest rate (ladder resolution): not
    /// decided between them by rate.
    Level(Vec<&'a ServiceCell>),
    /// An undecided cell might sustain more than the best decided one.
    Open(&'a ServiceCell, &'a ServiceCell),
    /// No Python cell sustains even its lowest rate.
    Nothing,
}

impl ServiceRun {
    /// Which Python cell sustains the highest rate (the native twin is a
    /// ceiling, not an option): decided only when one cell is strictly
    /// above every other and no cell with an undecided ladder could pass it.
    pub fn choice(&self) -> ServiceChoice<'_> {
        let python = || {
            self.cells
                .iter()
                .filter(|c| c.gil_mode != GilMode::Native && c.error.is_none())
        };
        let top = python()
            .filter(|c| c.open.is_none())
            .filter_map(|c| c.sustainable_rps)
            .fold(None, |best: Option<f64>, r| {
                Some(best.map_or(r, |b| b.max(r)))
            });
        let Some(top) = top else {
            return match python().find(|c| c.open.is_some()) {
                Some(open) => ServiceChoice::Open(open, open),
                None => ServiceChoice::Nothing,
            };
        };
        let best: Vec<&ServiceCell> = python()
            .filter(|c| c.open.is_none() && c.sustainable_rps == Some(top))
            .collect();
        // Another cell whose ladder has not excluded `top` (its first failure
        // above its highest pass is above it: the ladders differ) might
        // sustain as much: undecided.
        let rival = python()
            .find(|c| c.upper_rps() > top * 1.001 && !best.iter().any(|b| std::ptr::eq(*b, *c)));
        if let (Some(open), Some(first)) = (rival, best.first()) {
            return ServiceChoice::Open(first, open);
        }
        match best.as_slice() {
            [one] => ServiceChoice::Best(one),
            _ => ServiceChoice::Level(best),
        }
    }

    /// The Python cell the scenario recommends, when it decided one.
    pub fn best(&self) -> Option<&ServiceCell> {
        match self.choice() {
            ServiceChoice::Best(cell) => Some(cell),
            _ => None,
        }
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
        if let Some(twin) = self.cells.iter().find(|c| c.gil_mode == GilMode::Native) {
            parts.push(format!(
                "the native twin (no interpreter, the ceiling) sustained {}",
                match (twin.sustainable_rps, &twin.open) {
                    (_, Some(_)) => "an undecided rate".to_string(),
                    (Some(rate), None) if twin.censored() => {
                        format!("at least {rate:.1} requests/s")
                    }
                    (Some(rate), None) => format!("{rate:.1} requests/s"),
                    (None, None) => "none of its rates".to_string(),
                }
            ));
        }
        let mut sentence = format!("Service: {}", parts.join("; "));
        sentence.push_str(&match self.choice() {
            ServiceChoice::Best(best) => format!(
                "; the highest rate within p99 ≤ {:.0} ms: {} on {}, {:.1} requests/s.",
                self.slo_ms,
                best.approach,
                best.label,
                best.sustainable_rps.unwrap_or(0.0)
            ),
            ServiceChoice::Level(cells) => format!(
                "; {} sustain the same rate within p99 ≤ {:.0} ms ({:.1} requests/s, the ladder's resolution): undecided between them.",
                cells
                    .iter()
                    .map(|c| format!("{} on {}", c.approach, c.label))
                    .collect::<Vec<_>>()
                    .join(", "),
                self.slo_ms,
                cells[0].sustainable_rps.unwrap_or(0.0)
            ),
            ServiceChoice::Open(_, open) => format!(
                "; which approach sustains the most is undecided: {} on {}: {}.",
                open.approach,
                open.label,
                open.why_undecided()
            ),
            ServiceChoice::Nothing => format!(
                "; no approach met p99 ≤ {:.0} ms at its lowest rate.",
                self.slo_ms
            ),
        });
        Some(sentence)
    }
}

impl ServiceCell {
    /// The level at the sustainable rate.
    pub fn at_sustainable(&self) -> Option<&ServiceLevel> {
        let rate = self.sustainable_rps?;
        self.levels.iter().find(|l| l.offered_rps == rate)
    }

    /// The rate the ladder has shown this cell cannot sustain: the first
    /// failing level above its highest passing one (infinite when its top
    /// level passed; the lowest rate when none passed).
    pub fn upper_rps(&self) -> f64 {
        let highest_pass = self.levels.iter().rposition(|l| l.meets_objective);
        let from = highest_pass.map_or(0, |i| i + 1);
        self.levels[from..]
            .iter()
            .find(|l| !l.meets_objective)
            .map_or(f64::INFINITY, |l| l.offered_rps)
    }

    /// Why this cell leaves the choice undecided, in words.
    pub fn why_undecided(&self) -> String {
        if let Some(why) = &self.open {
            return why.clone();
        }
        let upper = self.upper_rps();
        match (self.sustainable_rps, upper.is_finite()) {
            (Some(rate), true) => format!(
                "it sustained {rate:.1} req/s and first failed at {upper:.1} req/s, so it might sustain up to just below {upper:.1} (its ladder's rates differ)"
            ),
            (Some(rate), false) => {
                format!("it passed every rate up to its ladder's top, {rate:.1} req/s")
            }
            (None, _) => "its ladder has decided nothing".into(),
        }
    }

    /// Whether every level passed up to the ladder's top: the sustainable
    /// rate is then only a lower bound ("at least").
    pub fn censored(&self) -> bool {
        self.open.is_none()
            && !self.levels.is_empty()
            && self.levels.iter().all(|l| l.meets_objective)
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
            attempts: 1,
            p99_is_max: false,
            cores: None,
            peak_memory_bytes: None,
            processes: None,
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
        // 20 passed above a failure at 15: the ladder has not decided.
        assert!(undecided(&levels).unwrap().contains("15.0 req/s failed"));
        assert_eq!(undecided(&levels[..3]), None);
    }

    fn cell(approach: Approach, levels: Vec<ServiceLevel>) -> ServiceCell {
        ServiceCell {
            interpreter: "cpython".into(),
            label: "CPython".into(),
            gil_mode: GilMode::Gil,
            approach,
            workers: 4,
            sustainable_rps: sustainable_rate(&levels),
            open: undecided(&levels),
            levels,
            error: None,
        }
    }

    fn run(cells: Vec<ServiceCell>) -> ServiceRun {
        ServiceRun {
            slo_ms: 250.0,
            level_s: 3.0,
            drain_s: 1.0,
            endpoint: "builtin".into(),
            model_latency_ms: None,
            capacities: vec![],
            cells,
        }
    }

    #[test]
    fn the_choice_is_decided_only_by_a_strictly_higher_consistent_ladder() {
        let up_to = |top: usize| {
            [5.0, 10.0, 15.0]
                .iter()
                .enumerate()
                .map(|(i, &r)| level(r, if i < top { 100.0 } else { 900.0 }, 0))
                .collect::<Vec<_>>()
        };
        let clear = run(vec![
            cell(Approach::Threads, up_to(1)),
            cell(Approach::Processes, up_to(2)),
        ]);
        assert!(
            matches!(clear.choice(), ServiceChoice::Best(c) if c.approach == Approach::Processes)
        );
        let same = run(vec![
            cell(Approach::Threads, up_to(2)),
            cell(Approach::Processes, up_to(2)),
        ]);
        assert!(matches!(same.choice(), ServiceChoice::Level(cells) if cells.len() == 2));
        assert!(same.best().is_none());
        // Threads fail 10 but pass 15: they might sustain more than processes.
        let noisy = vec![
            level(5.0, 100.0, 0),
            level(10.0, 400.0, 0),
            level(15.0, 100.0, 0),
        ];
        let open = run(vec![
            cell(Approach::Threads, noisy),
            cell(Approach::Processes, up_to(2)),
        ]);
        assert!(
            matches!(open.choice(), ServiceChoice::Open(_, c) if c.approach == Approach::Threads)
        );
        assert!(open.best().is_none());
        // Threads passed every level up to 15: at least 15, perhaps more
        // than processes' 10 — undecided; at the top of the choice, decided.
        let capped = run(vec![
            cell(Approach::Threads, up_to(3)),
            cell(Approach::Processes, up_to(2)),
        ]);
        assert!(capped.cells[0].censored());
        assert!(
            matches!(capped.choice(), ServiceChoice::Best(c) if c.approach == Approach::Threads)
        );
        let capped_low = run(vec![
            cell(Approach::Threads, up_to(2)[..1].to_vec()),
            cell(Approach::Processes, up_to(2)),
        ]);
        assert!(
            matches!(capped_low.choice(), ServiceChoice::Open(_, c) if c.approach == Approach::Threads)
        );
        // Ladders in different rates: processes passed 10 and failed 30;
        // threads passed 20 and failed 40. Processes might sustain 20 too.
        let apart = run(vec![
            cell(
                Approach::Threads,
                vec![level(20.0, 100.0, 0), level(40.0, 900.0, 0)],
            ),
            cell(
                Approach::Processes,
                vec![level(10.0, 100.0, 0), level(30.0, 900.0, 0)],
            ),
        ]);
        assert!(
            matches!(apart.choice(), ServiceChoice::Open(_, c) if c.approach == Approach::Processes)
        );
        assert!(
            apart.cells[1]
                .why_undecided()
                .contains("first failed at 30.0")
        );
        let none = run(vec![cell(Approach::Threads, up_to(0))]);
        assert!(matches!(none.choice(), ServiceChoice::Nothing));
    }
}
