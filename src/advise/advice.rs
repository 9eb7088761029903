//! What `gil-lab advise` answers, from a run or from a situation: the
//! [`Advice`], its [`Recommendation`]s (with their [`Margin`] over the
//! runner-up when measured) and the published facts they cite.

use std::path::PathBuf;

use serde::Serialize;

use super::facts::{self, Fact};
use super::finding::Alternative;
use super::situation::Situation;
use crate::run::record::CellKey;
use crate::stats::{Estimate, Verdict};

/// Where an advice comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// A run's measured numbers.
    Run,
    /// A described situation, published facts and what the probe checked.
    Situation,
}

/// The margin of the recommendation over the runner-up (work-phase times).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Margin {
    /// The runner-up, in words (`processes ×2 on CPython 3.13.5`).
    pub runner_up: String,
    /// Work time of the recommendation ÷ the runner-up's, paired over the
    /// rounds both ran in, with its 95% CI (0.8 = 20% less time).
    pub ratio: Estimate,
    /// Rounds the ratio was paired over.
    pub rounds: u32,
    /// The recommendation against the runner-up: `faster` or `slower` when
    /// the ratio's CI excludes 1 and the margin, `tie` otherwise.
    pub verdict: Verdict,
}

/// One recommendation: for a scenario of a run, or for the situation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Recommendation {
    /// What it answers: the scenario (`cpu`, `io`, ...) or the workload.
    pub topic: String,
    /// The recommended approach (`threads`, `asyncio`, `processes`, ...).
    pub approach: String,
    /// The recommended interpreter, in words.
    pub interpreter: String,
    /// Workers of the recommended cell (advice from a run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workers: Option<u32>,
    /// The identity of the recommended cell (advice from a run that measured
    /// one): what `deploy`, the dashboard's links and every other consumer
    /// find the cell by. `interpreter` is words for a reader, never a key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cell: Option<CellKey>,
    /// The advice in one sentence.
    pub headline: String,
    /// Whether other approaches were within noise of it (then the simpler
    /// one is recommended).
    pub tie: bool,
    /// The run ended undecided: the recommendation is the leader so far,
    /// not a decision (undecided is not a tie).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub undecided: bool,
    /// Margin over the runner-up (advice from a run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub margin: Option<Margin>,
    /// Why.
    pub reasons: Vec<String>,
    /// Costs beyond time: memory, orchestration, the free-threading
    /// single-thread cost, and caveats.
    pub costs: Vec<String>,
    /// What makes the figures doubtful: digest failures, a GIL turned back
    /// on, too few trials.
    pub warnings: Vec<String>,
    /// Other approaches and why not.
    pub alternatives: Vec<Alternative>,
    /// `gil-lab` commands that would measure what the advice cannot know.
    pub measure: Vec<String>,
    /// The rules that fired (advice from a situation).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<String>,
    /// Ids of the published facts cited (see [`Advice::facts`]).
    pub cites: Vec<String>,
}

impl Recommendation {
    /// An empty recommendation about `topic`, to be filled in.
    pub(super) fn new(topic: &str) -> Recommendation {
        Recommendation {
            topic: topic.into(),
            approach: String::new(),
            interpreter: String::new(),
            workers: None,
            cell: None,
            headline: String::new(),
            tie: false,
            undecided: false,
            margin: None,
            reasons: Vec::new(),
            costs: Vec::new(),
            warnings: Vec::new(),
            alternatives: Vec::new(),
            measure: Vec::new(),
            rules: Vec::new(),
            cites: Vec::new(),
        }
    }
}

/// The advice: recommendations and the facts they cite.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Advice {
    /// From a run or from a situation.
    pub basis: Basis,
    /// The run directory (advice from a run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_dir: Option<PathBuf>,
    /// The situation as understood (advice from a situation).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub situation: Option<Situation>,
    /// What makes every figure of the run doubtful (a busy machine).
    pub warnings: Vec<String>,
    /// What the run shows about CPU-bound and I/O-bound work, one sentence
    /// per kind, from its measured speedups (`run::lesson`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub lessons: Vec<String>,
    /// One per scenario of the run, or one for the situation.
    pub recommendations: Vec<Recommendation>,
    /// Every published fact cited, with its source.
    pub facts: Vec<Fact>,
}

/// The facts the recommendations cite, each once, in the order first cited.
pub fn cited_by(recommendations: &[Recommendation]) -> Vec<Fact> {
    facts::cited(
        recommendations
            .iter()
            .flat_map(|r| r.cites.iter())
            .map(|id| facts::fact(id).id),
    )
}
