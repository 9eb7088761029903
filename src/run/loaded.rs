//! A run read back from its directory, with its summary: the one place that
//! decides whether the summary is the one stored when the run ended or one
//! computed now from the trials so far (a run that is still going, or died).

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::analysis::summarize;
use super::record::{RunFile, RunSummary, TrialRecord};
use super::service::ServiceRun;
use crate::protocol::inside::InsideFile;

/// Where a [`LoadedRun`]'s summary comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SummarySource {
    /// Stored in `run.json` when the run ended (complete or interrupted).
    Stored,
    /// Computed on loading from the trials recorded so far: the run has not
    /// ended (or its process died), so the figures are provisional, and the
    /// adaptive stopping reasons and machine warnings are missing.
    Computed,
}

/// A run read back from its directory: what every view reads.
#[derive(Clone, Debug)]
pub struct LoadedRun {
    /// The run directory.
    pub dir: PathBuf,
    /// `run.json`.
    pub run: RunFile,
    /// Every line of `trials.jsonl`, in order.
    pub trials: Vec<TrialRecord>,
    /// The run's statistics (`run.summary` when stored, else computed).
    pub summary: RunSummary,
    /// Whether [`LoadedRun::summary`] was stored or computed now.
    pub summary_source: SummarySource,
    /// `inside.json`: the interpreters' inspections, when the run made them.
    pub inside: Option<InsideFile>,
    /// `service.json`: the `service` scenario, when the run had it.
    pub service: Option<ServiceRun>,
}

impl LoadedRun {
    /// The run with its stored summary, or one computed from `trials`.
    pub fn new(dir: PathBuf, run: RunFile, trials: Vec<TrialRecord>) -> LoadedRun {
        let (summary, summary_source) = match &run.summary {
            Some(stored) => (stored.clone(), SummarySource::Stored),
            None => (
                summarize(&run, &trials, &BTreeMap::new(), &[]),
                SummarySource::Computed,
            ),
        };
        LoadedRun {
            dir,
            run,
            trials,
            summary,
            summary_source,
            inside: None,
            service: None,
        }
    }

    /// The summary is computed from a run that has not ended.
    pub fn is_provisional(&self) -> bool {
        self.summary_source == SummarySource::Computed
    }
}
