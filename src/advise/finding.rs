//! What a rule of `gil-lab advise --workload ...` says: the approaches the
//! advice may recommend ([`AdvisedApproach`], ordered from the simplest), a
//! rule's [`Choice`], the [`Alternative`]s it weighs and its [`Finding`], with
//! the priorities that decide which deciding finding wins. The advice from a
//! run uses the same approaches and alternatives.

use serde::Serialize;

use crate::vocabulary::Approach;

/// A way to run the agents that the advice may recommend: one that gil-lab
/// measures ([`crate::vocabulary::Approach`], spelled once there) or one of
/// two it does not run itself, an event loop over a process pool and a
/// distributed engine over several machines. They are ordered from the
/// simplest to the most complex ([`AdvisedApproach::simplicity`]): on a tie
/// the simpler one is preferred (less code, fewer failure modes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdvisedApproach {
    /// An approach gil-lab measures; `ray` is advised as
    /// [`AdvisedApproach::Distributed`] (see [`AdvisedApproach::measured`]).
    Measured(Approach),
    /// An event loop for the waiting, a process pool for the computing.
    AsyncioProcesses,
    /// A distributed engine over several machines (Ray).
    Distributed,
}

impl AdvisedApproach {
    /// The name used on the command line and in runs (`interpreters` for
    /// subinterpreters, as `bench --approach` spells it).
    pub fn name(self) -> &'static str {
        match self {
            AdvisedApproach::Measured(approach) => approach.name(),
            AdvisedApproach::AsyncioProcesses => "asyncio+processes",
            AdvisedApproach::Distributed => "distributed",
        }
    }

    /// The approach of a measured cell: ray's actors are the distributed
    /// engine gil-lab measures.
    pub fn measured(approach: Approach) -> AdvisedApproach {
        match approach {
            Approach::Ray => AdvisedApproach::Distributed,
            approach => AdvisedApproach::Measured(approach),
        }
    }

    /// How complex it is to write and run, from 0 (one task after another):
    /// threads, an event loop, both, processes, both, subinterpreters, a
    /// distributed engine.
    pub fn simplicity(self) -> u8 {
        match self {
            AdvisedApproach::Measured(Approach::Sequential) => 0,
            AdvisedApproach::Measured(Approach::Threads) => 1,
            AdvisedApproach::Measured(Approach::Asyncio) => 2,
            AdvisedApproach::Measured(Approach::AsyncioThreads) => 3,
            AdvisedApproach::Measured(Approach::Processes) => 4,
            AdvisedApproach::AsyncioProcesses => 5,
            AdvisedApproach::Measured(Approach::Interpreters) => 6,
            AdvisedApproach::Measured(Approach::Ray) | AdvisedApproach::Distributed => 7,
        }
    }
}

impl PartialOrd for AdvisedApproach {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for AdvisedApproach {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.simplicity().cmp(&other.simplicity())
    }
}

impl Serialize for AdvisedApproach {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

/// What a rule recommends: an approach on an interpreter.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Choice {
    /// The approach.
    pub approach: AdvisedApproach,
    /// The interpreter, in words (e.g. `free-threaded CPython 3.13t or newer`).
    pub interpreter: String,
    /// The interpreter is a free-threaded build: what the rules read (the
    /// words above are for a reader, never parsed).
    pub free_threaded: bool,
}

/// An approach that was considered and why it is not the recommendation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alternative {
    /// The approach (`processes`, `free-threaded threads`, ...).
    pub approach: String,
    /// Why not, or when it would be the better choice.
    pub why_not: String,
}

/// What one rule says when its trigger holds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// The rule's name (the function's name).
    pub rule: &'static str,
    /// The recommendation, when this rule decides one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub choice: Option<Choice>,
    /// Which deciding rule wins: the highest.
    #[serde(skip)]
    pub priority: u8,
    /// Why.
    pub reasons: Vec<String>,
    /// Costs and caveats to weigh beyond time.
    pub costs: Vec<String>,
    /// Other approaches and why not.
    pub alternatives: Vec<Alternative>,
    /// `gil-lab` commands that would measure or check what the rule assumes.
    pub measure: Vec<String>,
    /// Ids of the published facts it rests on.
    pub cites: Vec<&'static str>,
}

impl Finding {
    pub(super) fn new(rule: &'static str) -> Finding {
        Finding {
            rule,
            choice: None,
            priority: 0,
            reasons: Vec::new(),
            costs: Vec::new(),
            alternatives: Vec::new(),
            measure: Vec::new(),
            cites: Vec::new(),
        }
    }

    pub(super) fn decides(
        mut self,
        approach: AdvisedApproach,
        interpreter: String,
        priority: u8,
    ) -> Finding {
        self.choice = Some(Choice {
            approach,
            interpreter,
            free_threaded: false,
        });
        self.priority = priority;
        self
    }

    /// Marks the choice made with [`Finding::decides`] as a free-threaded build.
    pub(super) fn on_free_threaded(mut self) -> Finding {
        if let Some(choice) = &mut self.choice {
            choice.free_threaded = true;
        }
        self
    }

    pub(super) fn reason(mut self, text: impl Into<String>) -> Finding {
        self.reasons.push(text.into());
        self
    }

    pub(super) fn cost(mut self, text: impl Into<String>) -> Finding {
        self.costs.push(text.into());
        self
    }

    pub(super) fn instead(mut self, approach: &str, why_not: impl Into<String>) -> Finding {
        self.alternatives.push(Alternative {
            approach: approach.into(),
            why_not: why_not.into(),
        });
        self
    }

    pub(super) fn measure(mut self, command: impl Into<String>) -> Finding {
        self.measure.push(command.into());
        self
    }

    pub(super) fn cite(mut self, ids: &[&'static str]) -> Finding {
        self.cites.extend_from_slice(ids);
        self
    }
}

/// Priority of the workload's own rule.
pub(super) const WORKLOAD: u8 = 1;
/// Priority of a rule that overrides the workload's choice because of the
/// code's dependencies.
pub(super) const DEPENDENCIES: u8 = 2;
/// Priority of a rule that overrides everything: the work does not fit one
/// machine.
pub(super) const SCALE_OUT: u8 = 3;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn approaches_are_ordered_from_the_simplest() {
        let m = AdvisedApproach::Measured;
        assert!(m(Approach::Sequential) < m(Approach::Threads));
        assert!(m(Approach::Threads) < m(Approach::Asyncio));
        assert!(m(Approach::Asyncio) < m(Approach::Processes));
        assert!(m(Approach::Processes) < AdvisedApproach::AsyncioProcesses);
        assert!(AdvisedApproach::AsyncioProcesses < m(Approach::Interpreters));
        assert!(m(Approach::Interpreters) < AdvisedApproach::Distributed);
        // Every measured approach is one the advice knows, by the same name;
        // ray is the distributed engine gil-lab measures.
        for approach in Approach::ALL {
            let advised = AdvisedApproach::measured(approach);
            match approach {
                Approach::Ray => assert_eq!(advised, AdvisedApproach::Distributed),
                _ => assert_eq!(advised.name(), approach.name()),
            }
        }
    }
}
