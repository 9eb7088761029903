//! The clock of every twin timestamp: CLOCK_MONOTONIC, the clock Python's
//! `time.monotonic()` reads, so gil-lab can line twin records up with its
//! sampler and with worker processes (one clock for the whole machine).

/// CLOCK_MONOTONIC now, in seconds.
pub fn monotonic() -> f64 {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid timespec for clock_gettime to fill;
    // CLOCK_MONOTONIC exists on every Linux and macOS, so the call cannot fail.
    unsafe {
        libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now);
    }
    now.tv_sec as f64 + now.tv_nsec as f64 * 1e-9
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_goes_back() {
        let a = monotonic();
        let b = monotonic();
        assert!(a > 0.0 && b >= a);
    }
}
