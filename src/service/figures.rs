//! From a runner's raw per-request times to a level's figures: latency
//! percentiles from an HDR histogram (the `hdrhistogram` crate, microsecond
//! resolution, 3 significant digits), the parts of each request's time, and
//! the judgement against the objective.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;

use crate::protocol::service::{RawLevel, RawRequest};
use crate::run::service::{P99_SAMPLES, Percentiles, ServiceLevel, Spread, judge};

/// Highest latency the histogram holds: an hour, in microseconds.
const MAX_US: u64 = 3_600_000_000;

/// A histogram of milliseconds, recorded as microseconds.
struct Recorder(Option<Histogram<u64>>);

impl Recorder {
    fn new() -> Recorder {
        Recorder(Histogram::new_with_bounds(1, MAX_US, 3).ok())
    }

    fn record(&mut self, ms: f64) {
        if let Some(histogram) = self.0.as_mut() {
            let us = (ms.max(0.0) * 1000.0).round() as u64;
            // Within the bounds by construction; saturate rather than lose one.
            histogram.saturating_record(us.clamp(1, MAX_US));
        }
    }

    fn at(&self, quantile: f64) -> f64 {
        self.0
            .as_ref()
            .filter(|h| !h.is_empty())
            .map_or(0.0, |h| h.value_at_quantile(quantile) as f64 / 1000.0)
    }

    fn percentiles(&self) -> Percentiles {
        Percentiles {
            p50: self.at(0.5),
            p90: self.at(0.9),
            p99: self.at(0.99),
            p99_9: self.at(0.999),
            max: self
                .0
                .as_ref()
                .filter(|h| !h.is_empty())
                .map_or(0.0, |h| h.max() as f64 / 1000.0),
        }
    }

    fn spread(&self) -> Spread {
        Spread {
            p50: self.at(0.5),
            p99: self.at(0.99),
        }
    }
}

/// A request's time split in four parts, milliseconds: (queue, model,
/// answer wait, steps). Without the endpoint's stamp (a real server) the
/// model's part ends when the agent had read the answer.
pub fn parts(request: &RawRequest) -> (f64, f64, f64, f64) {
    let queue = request.start - request.scheduled;
    let (mut model, mut wait, mut steps) = (0.0, 0.0, 0.0);
    for round in &request.rounds {
        let arrived = round
            .sent
            .filter(|&sent| sent >= round.call_start && sent <= round.step_start)
            .unwrap_or(round.answered);
        model += arrived - round.call_start;
        wait += round.step_start - arrived;
        steps += round.step_end - round.step_start;
    }
    (queue * 1e3, model * 1e3, wait * 1e3, steps * 1e3)
}

/// The runs of each rate: a marginal level run twice comes back as two raw
/// levels with the same rate, one after the other.
pub fn attempts(levels: &[RawLevel]) -> Vec<Vec<&RawLevel>> {
    let mut grouped: Vec<Vec<&RawLevel>> = Vec::new();
    for level in levels {
        match grouped.last_mut() {
            Some(last) if last.first().is_some_and(|l| l.rate == level.rate) => last.push(level),
            _ => grouped.push(vec![level]),
        }
    }
    grouped
}

/// The figures of one level run once; `reference` maps a request index to
/// the digest most cells agree on (empty: digests are not compared).
pub fn level(raw: &RawLevel, reference: &BTreeMap<u32, String>, slo_ms: f64) -> ServiceLevel {
    pooled(&[raw], reference, slo_ms)
}

/// The figures of one rate from every run of it, pooled (one histogram of
/// all their requests; drops and errors added up; throughput per run,
/// averaged by requests served).
pub fn pooled(tries: &[&RawLevel], reference: &BTreeMap<u32, String>, slo_ms: f64) -> ServiceLevel {
    let mut latency = Recorder::new();
    let (mut queue, mut model, mut wait, mut steps) = (
        Recorder::new(),
        Recorder::new(),
        Recorder::new(),
        Recorder::new(),
    );
    let (mut errors, mut mismatches, mut scheduled, mut dropped, mut completed) = (0, 0, 0, 0, 0);
    let (mut served_s, mut rate) = (0.0, 0.0);
    let (mut cpu_s, mut wall_s, mut memory, mut processes) = (0.0, 0.0, None, None);
    for raw in tries {
        if let (Some(cpu), Some(wall)) = (raw.cpu_s, raw.wall_s) {
            cpu_s += cpu;
            wall_s += wall;
        }
        memory = memory.max(raw.peak_rss_bytes);
        processes = processes.max(raw.processes);
        rate = raw.rate;
        scheduled += raw.scheduled;
        dropped += raw.dropped;
        let mut last_end = raw.first_arrival;
        let mut served = 0u32;
        for request in &raw.requests {
            if !request.ok {
                errors += 1;
                continue;
            }
            served += 1;
            if let (Some(expected), Some(digest)) = (reference.get(&request.index), &request.digest)
                && expected != digest
            {
                mismatches += 1;
            }
            latency.record((request.end - request.scheduled) * 1e3);
            let (q, m, w, s) = parts(request);
            queue.record(q);
            model.record(m);
            wait.record(w);
            steps.record(s);
            last_end = last_end.max(request.end);
        }
        completed += served;
        served_s += last_end - raw.first_arrival;
    }
    let mut level = ServiceLevel {
        offered_rps: rate,
        scheduled,
        completed,
        errors,
        dropped,
        digest_mismatches: mismatches,
        throughput_rps: if served_s > 0.0 {
            f64::from(completed) / served_s
        } else {
            0.0
        },
        latency_ms: latency.percentiles(),
        queue_ms: queue.spread(),
        model_ms: model.spread(),
        answer_wait_ms: wait.spread(),
        step_ms: steps.spread(),
        attempts: tries.len() as u32,
        p99_is_max: completed < P99_SAMPLES,
        cores: (wall_s > 0.0).then(|| cpu_s / wall_s),
        peak_memory_bytes: memory,
        processes,
        meets_objective: false,
        why_not: None,
    };
    (level.meets_objective, level.why_not) = judge(&level, slo_ms);
    level
}

/// Share of its CPU demand below which a failing level was starved.
const STARVED_SHARE: f64 = 0.5;

/// Says so in a failing level's `why_not` when it kept far fewer cores busy
/// than its work needs (rate × calibrated seconds of reasoning per request,
/// at most one core: what any approach gets on an idle machine, even under
/// the GIL): other programs held the CPU, and the failure says more about
/// the machine than about the approach. The verdict itself is unchanged.
pub fn note_starved(level: &mut ServiceLevel, step_s: f64) {
    let demand = (level.offered_rps * step_s).min(1.0);
    if let (false, Some(cores)) = (level.meets_objective, level.cores)
        && demand > 0.0
        && cores < STARVED_SHARE * demand
    {
        let note = format!(
            "starved: {cores:.2} cores busy for a demand of {demand:.2} (other programs held the CPU)"
        );
        level.why_not = Some(match level.why_not.take() {
            Some(why) => format!("{why}; {note}"),
            None => note,
        });
    }
}

/// Per request index, the digest most runs agree on.
pub fn reference_digests<'a>(levels: impl Iterator<Item = &'a RawLevel>) -> BTreeMap<u32, String> {
    let mut votes: BTreeMap<u32, BTreeMap<&str, usize>> = BTreeMap::new();
    for level in levels {
        for request in &level.requests {
            if let Some(digest) = &request.digest {
                *votes
                    .entry(request.index)
                    .or_default()
                    .entry(digest.as_str())
                    .or_default() += 1;
            }
        }
    }
    votes
        .into_iter()
        .filter_map(|(index, counts)| {
            let best = counts.into_iter().max_by_key(|(_, n)| *n)?;
            Some((index, best.0.to_string()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::service::RawRound;

    fn request(index: u32, scheduled: f64, start: f64, end: f64) -> RawRequest {
        RawRequest {
            index,
            scheduled,
            start,
            end,
            ok: true,
            error: None,
            digest: Some("00".into()),
            tid: None,
            rounds: vec![RawRound {
                call_start: start,
                sent: Some(start + 0.02),
                answered: start + 0.021,
                step_start: start + 0.03,
                step_end: end,
            }],
        }
    }

    /// A fake service: one worker, requests every 50 ms, and request 0
    /// stalls its worker for 1 s. Those queued behind the stall count their
    /// whole wait from their scheduled arrival, not from when the worker got
    /// to them (which would show 40 ms each: coordinated omission).
    #[test]
    fn requests_behind_a_stall_count_their_wait_from_their_scheduled_arrival() {
        let mut requests = vec![request(0, 0.0, 0.0, 1.04)];
        let mut free_at = 1.04;
        for i in 1..20 {
            let scheduled = f64::from(i) * 0.05;
            let start = free_at;
            free_at = start + 0.04;
            requests.push(request(i, scheduled, start, free_at));
        }
        let raw = RawLevel {
            rate: 20.0,
            scheduled: 20,
            first_arrival: 0.0,
            deadline: 10.0,
            dropped: 0,
            requests,
            cpu_s: None,
            wall_s: None,
            peak_rss_bytes: None,
            processes: None,
        };
        let figures = level(&raw, &BTreeMap::new(), 250.0);
        // Request 1 arrived at 50 ms and finished at 1.08 s: 1,030 ms.
        assert!(figures.latency_ms.p50 > 900.0, "{:?}", figures.latency_ms);
        assert!(figures.latency_ms.max >= 1039.0, "{:?}", figures.latency_ms);
        assert!(figures.queue_ms.p99 > 900.0, "{:?}", figures.queue_ms);
        assert!(!figures.meets_objective);
        assert!(figures.why_not.unwrap().contains("p99"));
    }

    #[test]
    fn a_wrong_digest_is_counted_against_the_majority() {
        let mut raw = RawLevel {
            rate: 1.0,
            scheduled: 2,
            first_arrival: 0.0,
            deadline: 5.0,
            dropped: 0,
            requests: vec![request(0, 0.0, 0.0, 0.1), request(1, 1.0, 1.0, 1.1)],
            cpu_s: None,
            wall_s: None,
            peak_rss_bytes: None,
            processes: None,
        };
        let reference = reference_digests([&raw, &raw, &raw].into_iter());
        raw.requests[1].digest = Some("ff".into());
        let figures = level(&raw, &reference, 250.0);
        assert_eq!(figures.digest_mismatches, 1);
        assert!(!figures.meets_objective);
    }

    /// A marginal level run twice is judged on both runs pooled: one noisy
    /// run (2 of 100 over the objective) with a clean repeat is 2 of 200,
    /// within a p99; a level with fewer than 100 requests says its p99 is
    /// its largest latency.
    #[test]
    fn a_repeated_level_is_judged_on_both_runs_pooled() {
        let run = |rate: f64, slow: u32, n: u32| RawLevel {
            rate,
            scheduled: n,
            first_arrival: 0.0,
            deadline: 100.0,
            dropped: 0,
            requests: (0..n)
                .map(|i| {
                    let t = f64::from(i) * 0.1;
                    request(i, t, t, t + if i < slow { 0.3 } else { 0.1 })
                })
                .collect(),
            cpu_s: Some(5.0),
            wall_s: Some(10.0),
            peak_rss_bytes: Some(1 << 20),
            processes: Some(1),
        };
        let raws = vec![run(10.0, 2, 100), run(10.0, 0, 100), run(20.0, 0, 50)];
        let grouped = attempts(&raws);
        assert_eq!(grouped.len(), 2);
        assert!(!level(&raws[0], &BTreeMap::new(), 250.0).meets_objective);
        let pooled_level = pooled(&grouped[0], &BTreeMap::new(), 250.0);
        assert_eq!((pooled_level.attempts, pooled_level.completed), (2, 200));
        assert!(pooled_level.meets_objective, "{:?}", pooled_level.why_not);
        assert!(!pooled_level.p99_is_max);
        assert_eq!(pooled_level.cores, Some(0.5));
        assert!(pooled(&grouped[1], &BTreeMap::new(), 250.0).p99_is_max);
    }

    #[test]
    fn a_failing_level_that_got_far_less_cpu_than_it_needs_says_it_was_starved() {
        let raw = RawLevel {
            rate: 10.0,
            scheduled: 1,
            first_arrival: 0.0,
            deadline: 5.0,
            dropped: 0,
            requests: vec![request(0, 0.0, 0.0, 1.0)],
            cpu_s: Some(0.2),
            wall_s: Some(1.0),
            peak_rss_bytes: None,
            processes: None,
        };
        let mut failing = level(&raw, &BTreeMap::new(), 250.0);
        // 10 requests/s × 80 ms = 0.8 cores needed, 0.2 got.
        note_starved(&mut failing, 0.08);
        assert!(failing.why_not.unwrap().contains("starved: 0.20 cores"));
        let mut passing = level(&raw, &BTreeMap::new(), 5000.0);
        note_starved(&mut passing, 0.08);
        assert_eq!(passing.why_not, None);
    }
}
