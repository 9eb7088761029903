//! The reasoner: probabilistic inference by rejection sampling on the
//! burglary-alarm network (docs/agents.md, section 6;
//! `workload/gil_lab/agents/reasoner.py`).
//!
//! Probabilities are integer thresholds out of 65536: a variable is true when
//! the top 16 bits of a fresh output are below its threshold, so the counts
//! are exact in any language.

use crate::prng::SplitMix64;

/// Samples drawn per task.
pub const SAMPLES: usize = 9000;
/// P(burglary), out of 65536 (0.10).
const P_BURGLARY: u64 = 6554;
/// P(earthquake) (0.20).
const P_EARTHQUAKE: u64 = 13107;
/// P(alarm | burglary, earthquake), indexed by burglary * 2 + earthquake.
const P_ALARM: [u64; 4] = [3277, 19005, 61604, 62259];
/// P(John calls | alarm), indexed by alarm.
const P_JOHN: [u64; 2] = [3277, 58982];
/// P(Mary calls | alarm), indexed by alarm.
const P_MARY: [u64; 2] = [655, 45875];

/// A variable drawn true with probability `threshold / 65536`.
#[inline]
fn draw(rng: &mut SplitMix64, threshold: u64) -> usize {
    usize::from(rng.next_u64() >> 48 < threshold)
}

/// Estimates P(query | John calls = j, Mary calls = m): the seed draws query =
/// below(3) (burglary, earthquake, alarm), j = below(2), m = below(2); every
/// sample draws burglary, earthquake, alarm, John, Mary in that order (always
/// all five). Result = [query, j, m, accepted samples, accepted samples in
/// which the query variable is true].
pub fn run(task_seed: u64) -> Vec<i64> {
    let mut rng = SplitMix64::new(task_seed);
    let query = rng.below(3) as usize;
    let john_wanted = rng.below(2) as usize;
    let mary_wanted = rng.below(2) as usize;
    let (mut accepted, mut hits) = (0i64, 0i64);
    for _ in 0..SAMPLES {
        let burglary = draw(&mut rng, P_BURGLARY);
        let earthquake = draw(&mut rng, P_EARTHQUAKE);
        let alarm = draw(&mut rng, P_ALARM[burglary * 2 + earthquake]);
        let john = draw(&mut rng, P_JOHN[alarm]);
        let mary = draw(&mut rng, P_MARY[alarm]);
        if john == john_wanted && mary == mary_wanted {
            accepted += 1;
            hits += [burglary, earthquake, alarm][query] as i64;
        }
    }
    vec![
        query as i64,
        john_wanted as i64,
        mary_wanted as i64,
        accepted,
        hits,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Same as the Python reasoner with task seeds 1 and 42.
    #[test]
    fn golden_results() {
        assert_eq!(run(1), [2, 1, 0, 780, 426]);
        assert_eq!(run(42), [1, 1, 0, 818, 229]);
    }

    #[test]
    fn counts_are_consistent() {
        for seed in 0..20 {
            let r = run(seed);
            assert!(r[0] < 3 && r[1] < 2 && r[2] < 2);
            assert!(0 <= r[4] && r[4] <= r[3] && r[3] <= SAMPLES as i64);
        }
    }
}
