//! Probing the candidates of a discovery in parallel, a few threads at a
//! time, each result in the candidate's place.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::candidates::Candidate;
use super::facts::Facts;
use super::probe::{self, ProbeError};
use super::probe_cache::ProbeCache;

/// Probes every candidate, a few at a time: a probe mostly waits for the
/// child, so a handful in parallel finishes a cold discovery much sooner.
pub(super) fn probe_all(
    candidates: &[Candidate],
    cache: &ProbeCache,
) -> Vec<Result<Facts, ProbeError>> {
    let results: Vec<Mutex<Option<Result<Facts, ProbeError>>>> =
        candidates.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    let threads = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .clamp(2, 8)
        .min(candidates.len().max(1));
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(candidate) = candidates.get(index) else {
                        break;
                    };
                    let result = probe::probe_with_cache(&candidate.path, &[], cache);
                    *results[index].lock().unwrap_or_else(|e| e.into_inner()) = Some(result);
                }
            });
        }
    });
    results
        .into_iter()
        .map(|slot| {
            slot.into_inner()
                .unwrap_or_else(|e| e.into_inner())
                .expect("every candidate is probed once the scope ends")
        })
        .collect()
}
