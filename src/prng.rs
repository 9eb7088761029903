//! SplitMix64, the only source of randomness in the workload, bit for bit the
//! generator of `workload/gil_lab/prng.py` (docs/agents.md, section 1). The
//! native twin's agents and the LLM endpoint's deterministic answers use it.
//!
//! SplitMix64 (Steele, Lea and Flood, "Fast splittable pseudorandom number
//! generators", OOPSLA 2014) is a few lines of wrapping 64-bit arithmetic,
//! which is exactly why both languages can agree on every output.

/// Added to the state before every output (the golden-ratio increment).
pub const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;
/// First multiplier of the output function.
const MUL1: u64 = 0xBF58_476D_1CE4_E5B9;
/// Second multiplier of the output function.
const MUL2: u64 = 0x94D0_49BB_1331_11EB;

/// The SplitMix64 output function (a bijection on 64-bit integers); the
/// digest uses it too.
#[inline]
pub fn mix64(z: u64) -> u64 {
    let z = (z ^ (z >> 30)).wrapping_mul(MUL1);
    let z = (z ^ (z >> 27)).wrapping_mul(MUL2);
    z ^ (z >> 31)
}

/// A SplitMix64 generator; each task owns its own, so results never depend
/// on which worker runs the task or when.
#[derive(Clone, Debug)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator whose first output is `mix64(seed + GAMMA)`.
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// The next 64-bit output: state += GAMMA, then mix64(state).
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GAMMA);
        mix64(self.state)
    }

    /// A number in `[0, n)`: the next output modulo `n` (`n >= 1`). Plain
    /// modulo, bias accepted, because that is the shared definition.
    #[inline]
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The golden values of docs/agents.md, section 1.
    #[test]
    fn golden_outputs() {
        let mut rng = SplitMix64::new(0);
        let got: Vec<u64> = (0..3).map(|_| rng.next_u64()).collect();
        assert_eq!(
            got,
            [0xe220a8397b1dcdaf, 0x6e789e6aa1b965f4, 0x06c45d188009454f]
        );
        let mut rng = SplitMix64::new(1234567);
        let got: Vec<u64> = (0..3).map(|_| rng.next_u64()).collect();
        assert_eq!(
            got,
            [0x599ed017fb08fc85, 0x2c73f08458540fa5, 0x883ebce5a3f27c77]
        );
    }

    #[test]
    fn below_is_modulo_of_the_next_output() {
        let mut a = SplitMix64::new(99);
        let mut b = SplitMix64::new(99);
        for n in [1, 2, 3, 7, 121, 65536] {
            assert_eq!(a.below(n), b.next_u64() % n);
        }
        // The largest seed wraps instead of overflowing.
        assert_eq!(
            SplitMix64::new(u64::MAX).next_u64(),
            mix64(GAMMA.wrapping_sub(1))
        );
    }
}
