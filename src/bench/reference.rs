//! The reference loop: a fixed amount of single-threaded integer work that
//! gil-lab times before every round, in its own process. The same work takes
//! the same time on an idle machine, so a change in its time across rounds
//! is the machine's speed changing (another tenant, frequency scaling,
//! throttling) and is reported as the run's drift.

use std::hint::black_box;
use std::time::Instant;

/// Iterations of the loop: about 10 ms on the 2-core VM gil-lab was
/// developed on, short next to a trial and long next to the clock's
/// resolution.
const ITERATIONS: u64 = 4_000_000;

/// The loop's work: xorshift steps folded into a checksum (a data
/// dependency from one step to the next, so it cannot be vectorised or
/// skipped).
fn work(iterations: u64) -> u64 {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut checksum: u64 = 0;
    for _ in 0..black_box(iterations) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        checksum = checksum.wrapping_add(state).rotate_left(5);
    }
    checksum
}

/// Seconds of wall-clock time the reference loop takes now.
pub fn time_reference() -> f64 {
    let start = Instant::now();
    black_box(work(ITERATIONS));
    start.elapsed().as_secs_f64()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_work_is_fixed_and_really_done() {
        // The same checksum every time: the work is a function of nothing
        // but the iteration count.
        assert_eq!(work(1_000), work(1_000));
        assert_ne!(work(1_000), work(1_001));
        assert!(time_reference() > 0.0);
    }
}
