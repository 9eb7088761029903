//! The digest: one 64-bit number summarising every result of a trial, as
//! defined in docs/agents.md (section 8) and `workload/gil_lab/digest.py`.

use crate::prng::{GAMMA, mix64};

/// Mixes one integer into the running hash; a negative value enters as its
/// two's-complement bit pattern, like Python's `value & MASK64`.
#[inline]
fn absorb(h: u64, value: i64) -> u64 {
    mix64((h ^ value as u64).wrapping_add(GAMMA))
}

/// The running digest of a trial's task records, fed in task order.
#[derive(Clone, Debug, Default)]
pub struct Digest {
    h: u64,
}

impl Digest {
    /// An empty digest (h = 0).
    pub fn new() -> Self {
        Self::default()
    }

    /// Absorbs one task: agent code, task index, number of results, results.
    pub fn task(&mut self, agent_code: u8, index: usize, results: &[i64]) {
        let mut h = self.h;
        h = absorb(h, i64::from(agent_code));
        h = absorb(h, index as i64);
        h = absorb(h, results.len() as i64);
        for &value in results {
            h = absorb(h, value);
        }
        self.h = h;
    }

    /// The digest as printed: 16 lowercase hex digits.
    pub fn hex(&self) -> String {
        format!("{:016x}", self.h)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_digest_is_zero() {
        assert_eq!(Digest::new().hex(), "0000000000000000");
    }

    #[test]
    fn negative_values_enter_as_twos_complement() {
        let mut a = Digest::new();
        a.task(2, 0, &[-1]);
        let mut h = 0;
        for v in [2u64, 0, 1, u64::MAX] {
            h = mix64((h ^ v).wrapping_add(GAMMA));
        }
        assert_eq!(a.hex(), format!("{h:016x}"));
    }

    #[test]
    fn order_matters() {
        let mut a = Digest::new();
        a.task(0, 0, &[1, 2]);
        let mut b = Digest::new();
        b.task(0, 0, &[2, 1]);
        assert_ne!(a.hex(), b.hex());
    }
}
