//! From a runner's raw per-request times to a level's figures: latency
//! percentiles from an HDR histogram (the `hdrhistogram` crate, microsecond
//! resolution, 3 significant digits), the parts of each request's time, and
//! the judgement against the objective.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;

use crate::protocol::service::{RawLevel, RawRequest};
use crate::run::service::{Percentiles, ServiceLevel, Spread, judge};

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

/// The figures of one level; `reference` maps a request index to the digest
/// most cells agree on (empty: digests are not compared).
pub fn level(raw: &RawLevel, reference: &BTreeMap<u32, String>, slo_ms: f64) -> ServiceLevel {
    let mut latency = Recorder::new();
    let (mut queue, mut model, mut wait, mut steps) = (
        Recorder::new(),
        Recorder::new(),
        Recorder::new(),
        Recorder::new(),
    );
    let mut errors = 0;
    let mut mismatches = 0;
    let mut last_end = raw.first_arrival;
    for request in &raw.requests {
        if !request.ok {
            errors += 1;
            continue;
        }
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
    let completed = raw.requests.len() as u32 - errors;
    let span = last_end - raw.first_arrival;
    let mut level = ServiceLevel {
        offered_rps: raw.rate,
        scheduled: raw.scheduled,
        completed,
        errors,
        dropped: raw.dropped,
        digest_mismatches: mismatches,
        throughput_rps: if span > 0.0 {
            f64::from(completed) / span
        } else {
            0.0
        },
        latency_ms: latency.percentiles(),
        queue_ms: queue.spread(),
        model_ms: model.spread(),
        answer_wait_ms: wait.spread(),
        step_ms: steps.spread(),
        meets_objective: false,
        why_not: None,
    };
    (level.meets_objective, level.why_not) = judge(&level, slo_ms);
    level
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
        };
        let reference = reference_digests([&raw, &raw, &raw].into_iter());
        raw.requests[1].digest = Some("ff".into());
        let figures = level(&raw, &reference, 250.0);
        assert_eq!(figures.digest_mismatches, 1);
        assert!(!figures.meets_objective);
    }
}
