//! Open-loop load in the native twin (`workload/gil_lab/service/load.py`):
//! every arrival is fixed before a level starts; a dispatcher sleeps until
//! each and hands the request to `workers` native threads (no interpreter,
//! no GIL: the ceiling), whatever they are doing; latency counts from the
//! scheduled arrival. A request not finished by the last arrival + `drain_s`
//! is dropped; queued ones not started by then are skipped.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Result, anyhow};

use super::super::clock::monotonic;
use super::request::Caller;
use crate::protocol::LlmSpec;
use crate::protocol::service::{Calibration, RawLevel, RawRequest};

/// Arrival times: one every 1/rate seconds from `start` for `level_s`
/// seconds, at least `min_requests` of them (`load.schedule`).
pub fn schedule(rate: f64, level_s: f64, start: f64, min_requests: u32) -> Vec<f64> {
    let count = (rate * level_s).round().max(f64::from(min_requests)) as u32;
    (0..count).map(|i| start + f64::from(i) / rate).collect()
}

fn sleep_until(moment: f64) {
    let delay = moment - monotonic();
    if delay > 0.0 {
        std::thread::sleep(Duration::from_secs_f64(delay));
    }
}

/// CPU seconds of this process so far (`getrusage`).
fn cpu_s() -> Option<f64> {
    // SAFETY: an all-zero rusage is valid; getrusage fills it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: RUSAGE_SELF and a valid pointer.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return None;
    }
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    Some(seconds(usage.ru_utime) + seconds(usage.ru_stime))
}

/// One level: `rate` requests per second served by `workers` threads.
pub fn level(
    llm: &LlmSpec,
    workers: u32,
    rate: f64,
    level_s: f64,
    drain_s: f64,
    seed: u64,
    min_requests: u32,
) -> Result<RawLevel> {
    // Every worker's caller is made before the first arrival.
    let callers = (0..workers.max(1))
        .map(|_| Caller::new(llm))
        .collect::<Result<Vec<_>>>()?;
    let arrivals = schedule(rate, level_s, monotonic() + 0.05, min_requests);
    let deadline = arrivals.last().copied().unwrap_or(0.0) + drain_s;
    let cpu_before = cpu_s();
    let began = monotonic();
    let (send, receive) = mpsc::channel::<(u32, f64)>();
    let receive = Arc::new(Mutex::new(receive));
    let (done_send, done) = mpsc::channel::<RawRequest>();
    std::thread::scope(|scope| {
        for caller in &callers {
            let receive = Arc::clone(&receive);
            let done_send = done_send.clone();
            scope.spawn(move || {
                loop {
                    let next = match receive.lock() {
                        Ok(queue) => queue.recv(),
                        Err(_) => return,
                    };
                    let Ok((index, at)) = next else { return };
                    if monotonic() > deadline {
                        continue; // too late to start: dropped
                    }
                    if done_send.send(caller.serve(index, at, seed)).is_err() {
                        return;
                    }
                }
            });
        }
        for (index, &at) in arrivals.iter().enumerate() {
            sleep_until(at);
            if send.send((index as u32, at)).is_err() {
                break;
            }
        }
        drop(send);
    });
    drop(done_send);
    let mut requests: Vec<RawRequest> = done.iter().filter(|r| r.end <= deadline).collect();
    requests.sort_by_key(|r| r.index);
    let wall_s = monotonic() - began;
    Ok(RawLevel {
        rate,
        scheduled: arrivals.len() as u32,
        first_arrival: arrivals
            .first()
            .copied()
            .ok_or_else(|| anyhow!("a level with no arrivals"))?,
        deadline,
        dropped: arrivals.len() as u32 - requests.len() as u32,
        requests,
        cpu_s: cpu_s()
            .zip(cpu_before)
            .map(|(after, before)| after - before),
        wall_s: Some(wall_s),
        peak_rss_bytes: super::super::own_high_water_mark(),
        processes: Some(1),
    })
}

/// `count` requests one after another (`load.calibrate`).
pub fn calibrate(llm: &LlmSpec, seed: u64, count: u32) -> Result<Calibration> {
    let caller = Caller::new(llm)?;
    let records: Vec<RawRequest> = (0..count)
        .map(|index| caller.serve(index, monotonic(), seed))
        .collect();
    if let Some(failed) = records.iter().find(|r| !r.ok) {
        return Err(anyhow!(
            "calibration request failed: {}",
            failed.error.as_deref().unwrap_or("no reason")
        ));
    }
    let n = f64::from(count.max(1));
    let steps: f64 = records
        .iter()
        .flat_map(|r| r.rounds.iter())
        .map(|round| round.step_end - round.step_start)
        .sum();
    let totals: f64 = records.iter().map(|r| r.end - r.start).sum();
    Ok(Calibration {
        requests: count,
        step_s: steps / n,
        request_s: totals / n,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrivals_are_fixed_in_advance_and_at_least_the_minimum() {
        let arrivals = schedule(20.0, 1.0, 100.0, 8);
        assert_eq!(arrivals.len(), 20);
        assert!((arrivals[5] - 100.25).abs() < 1e-9);
        assert_eq!(schedule(5.0, 3.0, 0.0, 100).len(), 100);
    }
}
