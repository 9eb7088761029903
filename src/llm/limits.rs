//! The endpoint's limits, as hosted providers enforce them: at most N
//! requests in flight, at most R requests per second. Over a limit a request
//! is refused at once (429) with how long to wait, never queued.

use std::sync::Arc;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// A token bucket: `rate` tokens per second, holding at most `burst`.
///
/// Hand-written rather than taken from a rate-limiting crate: it is a dozen
/// lines, and the endpoint needs the exact wait until the next token for its
/// `Retry-After` header.
#[derive(Debug)]
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    state: Mutex<(f64, Instant)>,
}

impl TokenBucket {
    /// A full bucket of `rate` requests per second (burst = max(1, rate)).
    pub fn new(rate: f64) -> Self {
        let burst = rate.max(1.0);
        Self {
            rate,
            burst,
            state: Mutex::new((burst, Instant::now())),
        }
    }

    /// Takes a token, or says how long until one is there.
    pub fn take(&self) -> Result<(), Duration> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let (tokens, last) = *state;
        let tokens = (tokens + now.duration_since(last).as_secs_f64() * self.rate).min(self.burst);
        if tokens >= 1.0 {
            *state = (tokens - 1.0, now);
            Ok(())
        } else {
            *state = (tokens, now);
            Err(Duration::from_secs_f64((1.0 - tokens) / self.rate))
        }
    }
}

/// Why a request was refused, and when to come back.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Refusal {
    /// `--max-concurrency` requests are in flight.
    Concurrency(Duration),
    /// `--rate-limit` was exceeded.
    Rate(Duration),
}

impl Refusal {
    /// How long the client should wait.
    pub fn retry_after(self) -> Duration {
        match self {
            Refusal::Concurrency(wait) | Refusal::Rate(wait) => wait,
        }
    }
}

/// Both limits; either may be absent.
#[derive(Debug, Clone)]
pub struct Limits {
    concurrency: Option<Arc<Semaphore>>,
    rate: Option<Arc<TokenBucket>>,
    /// What a refused client is told to wait for a free slot: about one
    /// request's latency.
    slot_wait: Duration,
}

impl Limits {
    /// Limits of `max_concurrency` requests in flight and `rate_limit`
    /// requests per second; `slot_wait` is the expected duration of one
    /// request.
    pub fn new(
        max_concurrency: Option<usize>,
        rate_limit: Option<f64>,
        slot_wait: Duration,
    ) -> Self {
        Self {
            concurrency: max_concurrency.map(|n| Arc::new(Semaphore::new(n))),
            rate: rate_limit.map(|r| Arc::new(TokenBucket::new(r))),
            slot_wait,
        }
    }

    /// Admits a request: a permit to hold until its answer is complete (None
    /// when concurrency is unlimited), or the refusal.
    pub fn admit(&self) -> Result<Option<OwnedSemaphorePermit>, Refusal> {
        let permit = match &self.concurrency {
            Some(semaphore) => Some(
                semaphore
                    .clone()
                    .try_acquire_owned()
                    .map_err(|_| Refusal::Concurrency(self.slot_wait))?,
            ),
            None => None,
        };
        if let Some(bucket) = &self.rate {
            bucket.take().map_err(Refusal::Rate)?;
        }
        Ok(permit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bucket_refuses_beyond_its_burst_and_names_the_wait() {
        // One request per 50 s (burst 1): a rate slow enough that no pause
        // of this machine between the two takes shows in the wait.
        let bucket = TokenBucket::new(0.02);
        assert!(bucket.take().is_ok());
        let wait = bucket.take().unwrap_err();
        assert!(
            wait > Duration::from_secs(40) && wait <= Duration::from_secs(50),
            "{wait:?}"
        );
    }

    #[test]
    fn concurrency_permits_are_returned_on_drop() {
        let limits = Limits::new(Some(1), None, Duration::from_millis(50));
        let permit = limits.admit().unwrap();
        assert_eq!(
            limits.admit().unwrap_err(),
            Refusal::Concurrency(Duration::from_millis(50))
        );
        drop(permit);
        assert!(limits.admit().is_ok());
    }
}
