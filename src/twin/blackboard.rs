//! The blackboard: where agents post their findings in the `shared` scenario
//! (the twin of `workload/gil_lab/blackboard.py`).
//!
//! Posts come from several threads at once, so they go through one lock, as
//! in Python; findings never feed back into results (that would make them
//! depend on timing), so the blackboard does not enter the digest.

use std::collections::HashMap;
use std::sync::Mutex;

use super::agents::Agent;

/// Findings by task index, written under a lock.
#[derive(Debug, Default)]
pub struct Blackboard {
    findings: Mutex<HashMap<usize, (Agent, Vec<i64>)>>,
}

impl Blackboard {
    /// Records what task `index` of `agent` found.
    pub fn post(&self, index: usize, agent: Agent, finding: &[i64]) {
        // A poisoned lock only means another poster panicked mid-insert; the
        // map itself is still sound, so keep posting.
        let mut findings = self.findings.lock().unwrap_or_else(|e| e.into_inner());
        findings.insert(index, (agent, finding.to_vec()));
    }

    /// How many tasks have posted.
    pub fn posted(&self) -> usize {
        self.findings
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn posts_from_threads_all_land() {
        let board = Blackboard::default();
        std::thread::scope(|s| {
            for t in 0..4 {
                let board = &board;
                s.spawn(move || {
                    for i in 0..50 {
                        board.post(t * 50 + i, Agent::Solver, &[1, 2]);
                    }
                });
            }
        });
        assert_eq!(board.posted(), 200);
    }
}
