//! The four reasoning agents, ported from `workload/gil_lab/agents/` by the
//! contract in docs/agents.md. Each is a pure function of a task seed that
//! returns integer results, so a task gives the same result in any language,
//! on any worker.

pub mod planner;
pub mod reasoner;
pub mod solver;
pub mod strategist;

/// One of the four agents; the discriminant is the agent's code in the digest
/// and its position in the task cycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Agent {
    /// A* on 8-puzzles.
    Planner = 0,
    /// N-Queens with blocked cells, by backtracking.
    Solver = 1,
    /// Connect Four, negamax with alpha-beta.
    Strategist = 2,
    /// Rejection sampling on the burglary-alarm network.
    Reasoner = 3,
}

impl Agent {
    /// Every agent, in the order tasks cycle through them.
    pub const ALL: [Agent; 4] = [
        Agent::Planner,
        Agent::Solver,
        Agent::Strategist,
        Agent::Reasoner,
    ];

    /// The agent's code in the digest (its position in [`Agent::ALL`]).
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The agent's name, as in the protocol's task records.
    pub fn name(self) -> &'static str {
        match self {
            Agent::Planner => "planner",
            Agent::Solver => "solver",
            Agent::Strategist => "strategist",
            Agent::Reasoner => "reasoner",
        }
    }

    /// Runs one task of this agent.
    pub fn run(self, task_seed: u64) -> Vec<i64> {
        match self {
            Agent::Planner => planner::run(task_seed),
            Agent::Solver => solver::run(task_seed),
            Agent::Strategist => strategist::run(task_seed),
            Agent::Reasoner => reasoner::run(task_seed),
        }
    }
}
