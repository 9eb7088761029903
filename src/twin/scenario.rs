//! What a task does in each scenario (docs/agents.md, section 7;
//! `workload/gil_lab/scenarios.py`): the agent's work, the `shared`
//! scenario's knowledge-base queries, the `io`/`mixed` model calls, on a
//! worker's [`Workbench`]. The task list itself is in [`super::task`].

use anyhow::{Context, Result};

use super::knowledge::{RoadNetwork, Router};
use super::llm_task::BlockingCaller;
use super::task::Task;
use crate::prng::SplitMix64;
use crate::protocol::LlmSpec;

/// Knowledge-base queries per task in the `shared` scenario.
pub const QUERIES_PER_TASK: usize = 2;
/// Largest |dx| and |dy| between a query's source and target junction.
const QUERY_RADIUS: i64 = 96;
/// Mixed into a task seed to seed its knowledge-base queries.
const QUERY_SALT: u64 = 0x7175_6572_7973_6565;

pub use crate::vocabulary::Scenario;

/// A task's knowledge-base queries as (source, target), from
/// SplitMix64(task seed ^ QUERY_SALT): per query, source = below(nodes),
/// dx = below(2R + 1) - R, dy = below(2R + 1) - R, the target being the source
/// moved by (dx, dy) and clamped to the grid.
pub fn query_pairs(task_seed: u64, network: &RoadNetwork) -> [(usize, usize); QUERIES_PER_TASK] {
    let mut rng = SplitMix64::new(task_seed ^ QUERY_SALT);
    let (width, height) = (network.width as i64, network.height as i64);
    let span = (2 * QUERY_RADIUS + 1) as u64;
    let mut pairs = [(0, 0); QUERIES_PER_TASK];
    for pair in &mut pairs {
        let source = rng.below((width * height) as u64) as i64;
        let dx = rng.below(span) as i64 - QUERY_RADIUS;
        let dy = rng.below(span) as i64 - QUERY_RADIUS;
        let x = (source % width + dx).clamp(0, width - 1);
        let y = (source / width + dy).clamp(0, height - 1);
        *pair = (source as usize, (y * width + x) as usize);
    }
    pairs
}

/// Where a task runs: the scenario, the knowledge base when the scenario has
/// one, and this worker's route-finding scratch space.
pub struct Workbench<'a> {
    scenario: Scenario,
    network: Option<&'a RoadNetwork>,
    router: Router,
    /// `io` and `mixed`: this worker's HTTP client.
    llm: Option<BlockingCaller>,
}

impl<'a> Workbench<'a> {
    /// A workbench for one worker; `network` must be given for `shared`.
    pub fn new(scenario: Scenario, network: Option<&'a RoadNetwork>) -> Self {
        Self {
            scenario,
            network,
            router: Router::default(),
            llm: None,
        }
    }

    /// The same, with an HTTP client for the LLM endpoint when the scenario
    /// calls one.
    pub fn with_llm(mut self, llm: Option<&LlmSpec>) -> Result<Self> {
        if let Some(spec) = llm.filter(|_| self.scenario.uses_llm()) {
            self.llm = Some(BlockingCaller::new(spec)?);
        }
        Ok(self)
    }

    /// Runs one task; result = the agent's results, then (`shared`) the
    /// length of each knowledge-base query's shortest route.
    pub fn run_task(&mut self, task: &Task) -> Result<Vec<i64>> {
        if self.scenario.uses_llm() {
            let caller = self
                .llm
                .as_ref()
                .context("the io and mixed scenarios need the spec's \"llm\" endpoint")?;
            return caller.run_task(self.scenario, task);
        }
        let mut results = task.agent.run(task.seed);
        if self.scenario.uses_knowledge() {
            let network = self
                .network
                .context("the shared scenario needs the knowledge base")?;
            results.reserve(QUERIES_PER_TASK);
            for (source, target) in query_pairs(task.seed, network) {
                let length = self
                    .router
                    .shortest_path(network, source, target)
                    .with_context(|| format!("no route from junction {source} to {target}"))?;
                results.push(length as i64);
            }
        }
        Ok(results)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::twin::agents::Agent;
    use crate::twin::task::make_tasks;

    /// Same task seeds and queries as the Python scenarios (seed 1).
    #[test]
    fn golden_tasks_and_queries() {
        let tasks = make_tasks(1.0, 1);
        let seeds: Vec<u64> = tasks[..3].iter().map(|t| t.seed).collect();
        assert_eq!(
            seeds,
            [0x910a2dec89025cc1, 0xbeeb8da1658eec67, 0xf893a2eefb32555e]
        );
        assert_eq!(tasks[5].agent, Agent::Solver);
        let network = RoadNetwork::for_seed(1);
        assert_eq!(
            query_pairs(tasks[0].seed, &network),
            [(44887, 30496), (55427, 49767)]
        );
    }

    #[test]
    fn shared_tasks_append_route_lengths() {
        let network = RoadNetwork::for_seed(1);
        let task = make_tasks(0.1, 1)[1];
        let cpu = Workbench::new(Scenario::Cpu, None).run_task(&task).unwrap();
        let shared = Workbench::new(Scenario::Shared, Some(&network))
            .run_task(&task)
            .unwrap();
        assert_eq!(shared.len(), cpu.len() + QUERIES_PER_TASK);
        assert_eq!(&shared[..cpu.len()], &cpu[..]);
        assert!(
            Workbench::new(Scenario::Shared, None)
                .run_task(&task)
                .is_err()
        );
    }
}
