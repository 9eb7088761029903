//! What the advice needs of a run, gathered once (`RunView`): each
//! cell's measured work-phase times, its digest failures, the cells that may
//! be recommended; and the helpers every part of the advice shares (the
//! seed of its CIs, how it writes a ratio, a cell's median).

use std::collections::BTreeMap;

use crate::run::LoadedRun;
use crate::run::format::describe;
use crate::run::pairing::Rounds;
use crate::run::record::{
    CellKey, CellState, CellSummary, FailureKind, InterpreterKind, InterpreterRecord, RunSummary,
    TrialRecord,
};
use crate::stats::{self, Estimate};

/// Seed of the bootstrap CIs of the advice: fixed, so the same run always
/// gets the same advice.
pub(super) const SEED: u64 = 0x6164_7669_7365; // "advise"

/// `1.93× (95% CI 1.88–1.98)`.
pub(super) fn ratio_text(e: &Estimate) -> String {
    format!("{:.2}× (95% CI {:.2}–{:.2})", e.point, e.ci_low, e.ci_high)
}

/// What the advice needs of a run, gathered once.
pub(super) struct RunView<'a> {
    pub(super) loaded: &'a LoadedRun,
    pub(super) summary: &'a RunSummary,
    /// Work-phase times of each cell's measured trials.
    pub(super) work: BTreeMap<CellKey, Vec<f64>>,
    /// Trials of each cell whose digest differed from the reference.
    pub(super) digest_failures: BTreeMap<CellKey, usize>,
    /// The measured trials by round, for paired ratios.
    rounds: Rounds<'a>,
}

impl<'a> RunView<'a> {
    pub(super) fn new(loaded: &'a LoadedRun) -> RunView<'a> {
        let summary = &loaded.summary;
        let mut work: BTreeMap<CellKey, Vec<f64>> = BTreeMap::new();
        let mut digest_failures: BTreeMap<CellKey, usize> = BTreeMap::new();
        for trial in &loaded.trials {
            if trial.is_measured()
                && let Some(w) = trial.work_s()
            {
                work.entry(trial.cell.clone()).or_default().push(w);
            }
            if trial
                .failure
                .as_ref()
                .is_some_and(|f| f.kind == FailureKind::DigestMismatch)
            {
                *digest_failures.entry(trial.cell.clone()).or_default() += 1;
            }
        }
        RunView {
            loaded,
            summary,
            work,
            digest_failures,
            rounds: Rounds::new(&loaded.trials),
        }
    }

    /// `(a, b)` work times of the rounds both ran in.
    pub(super) fn pairs(&self, a: &CellKey, b: &CellKey) -> Vec<(f64, f64)> {
        self.rounds.pairs(a, b, TrialRecord::work_s)
    }

    /// `a`'s work time ÷ `b`'s, paired over the rounds both ran in (the ratio
    /// of their medians when they share fewer than two), and the rounds.
    pub(super) fn ratio(&self, a: &CellKey, b: &CellKey) -> (Estimate, u32) {
        let pairs = self.pairs(a, b);
        let ratio = stats::paired_ratio(&pairs)
            .unwrap_or_else(|| stats::ratio_of_medians(self.samples(a), self.samples(b), SEED));
        (ratio, pairs.len() as u32)
    }

    pub(super) fn interpreter(&self, cell: &CellKey) -> Option<&InterpreterRecord> {
        self.loaded.run.interpreter(&cell.interpreter)
    }

    /// A free-threaded build running with its default (GIL off).
    pub(super) fn free_threaded(&self, cell: &CellKey) -> bool {
        self.interpreter(cell)
            .is_some_and(|i| i.is_free_threaded_as_built())
    }

    pub(super) fn name(&self, cell: &CellKey) -> String {
        describe(&self.loaded.run, cell)
    }

    pub(super) fn samples(&self, cell: &CellKey) -> &[f64] {
        self.work.get(cell).map_or(&[], Vec::as_slice)
    }

    /// The cells that can be recommended: measured Python cells on an
    /// interpreter in its default GIL mode (a forced GIL is a control, not
    /// an option), without a digest failure.
    pub(super) fn candidates(&self, scenario: &str) -> Vec<&CellSummary> {
        self.summary
            .cells
            .iter()
            .filter(|c| c.cell.scenario == scenario && c.state == CellState::Measured)
            .filter(|c| {
                self.interpreter(&c.cell)
                    .is_none_or(|i| i.kind == InterpreterKind::Python && i.gil_forced.is_none())
            })
            .filter(|c| !self.digest_failures.contains_key(&c.cell))
            .filter(|c| c.work.is_some() && !self.samples(&c.cell).is_empty())
            .collect()
    }
}

/// The median work-phase time of a cell (infinite when unmeasured).
pub(super) fn median_of(c: &CellSummary) -> f64 {
    c.work.as_ref().map_or(f64::INFINITY, |w| w.median)
}
