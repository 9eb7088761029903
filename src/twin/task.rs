//! The task list (docs/agents.md, section 2; `workload/gil_lab/scenarios.py`):
//! it depends only on the scale and the seed, never on the approach or the
//! number of workers, so every approach (and the Python runner) computes the
//! same results and the same digest.

use super::agents::Agent;
use crate::prng::SplitMix64;
use crate::protocol::task_count;

/// One unit of agent work.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Task {
    /// Position in the task list (0-based).
    pub index: usize,
    /// The agent that does it.
    pub agent: Agent,
    /// The task's own 64-bit seed.
    pub seed: u64,
}

/// The task list: task i goes to agent i mod 4 and its seed is output i of
/// SplitMix64(seed).
pub fn make_tasks(scale: f64, seed: u64) -> Vec<Task> {
    let mut master = SplitMix64::new(seed);
    (0..task_count(scale) as usize)
        .map(|index| Task {
            index,
            agent: Agent::ALL[index % 4],
            seed: master.next_u64(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_counts_follow_the_scale() {
        assert_eq!(task_count(1.0), 32);
        assert_eq!(task_count(0.25), 8);
        assert_eq!(task_count(0.1), 4);
        assert_eq!(task_count(1e-9), 4);
        // 8 * 0.1875 + 0.5 = 2.0 exactly: rounds half up like Python.
        assert_eq!(task_count(0.1875), 8);
    }
}
