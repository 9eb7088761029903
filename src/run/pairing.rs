//! Trials side by side: the measured trials of a run indexed by scenario and
//! round, so that two cells are compared only through trials that ran in the
//! same round (`stats::paired_ratio`).

use std::collections::BTreeMap;

use crate::run::record::{CellKey, TrialRecord};
use crate::stats::{self, Estimate};

/// The measured trials of a run by `(scenario, round)`, then by cell.
pub struct Rounds<'a> {
    by_round: BTreeMap<(&'a str, u32), BTreeMap<&'a CellKey, &'a TrialRecord>>,
}

impl<'a> Rounds<'a> {
    /// Indexes the measured trials (warmups and failures left out). A cell
    /// measured twice in one round keeps its later trial.
    pub fn new(trials: &'a [TrialRecord]) -> Rounds<'a> {
        let mut by_round: BTreeMap<_, BTreeMap<_, _>> = BTreeMap::new();
        for trial in trials.iter().filter(|t| t.is_measured()) {
            by_round
                .entry((trial.cell.scenario.as_str(), trial.round_number()))
                .or_default()
                .insert(&trial.cell, trial);
        }
        Rounds { by_round }
    }

    /// `(value of a, value of b)` for every round in which both cells were
    /// measured (they must be of the same scenario).
    pub fn pairs(
        &self,
        a: &CellKey,
        b: &CellKey,
        value: impl Fn(&TrialRecord) -> Option<f64>,
    ) -> Vec<(f64, f64)> {
        self.by_round
            .range((a.scenario.as_str(), 0)..=(a.scenario.as_str(), u32::MAX))
            .filter_map(|(_, cells)| Some((value(cells.get(a)?)?, value(cells.get(b)?)?)))
            .collect()
    }

    /// `a`'s work time ÷ `b`'s, paired over their common rounds, and how
    /// many rounds that was.
    pub fn work_ratio(&self, a: &CellKey, b: &CellKey) -> (Option<Estimate>, u32) {
        let pairs = self.pairs(a, b, TrialRecord::work_s);
        (stats::paired_ratio(&pairs), pairs.len() as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::fixtures::{cell, trial};

    #[test]
    fn only_trials_of_the_same_round_are_paired() {
        let (a, b) = (cell("py", "sequential", 1), cell("py", "threads", 2));
        let mut trials = vec![
            trial(0, &a, 0, false, 2.0),
            trial(1, &b, 0, false, 1.0),
            trial(2, &a, 1, false, 4.0),
            trial(3, &b, 2, false, 9.0),
            trial(4, &a, 3, false, 3.0),
            trial(5, &b, 3, false, 1.5),
        ];
        let mut warmup = trial(6, &b, 1, true, 100.0);
        warmup.round = None;
        trials.push(warmup);
        let rounds = Rounds::new(&trials);
        assert_eq!(
            rounds.pairs(&a, &b, TrialRecord::work_s),
            [(2.0, 1.0), (3.0, 1.5)]
        );
        let (ratio, n) = rounds.work_ratio(&a, &b);
        assert_eq!(n, 2);
        assert!((ratio.unwrap().point - 2.0).abs() < 1e-12);
    }
}
