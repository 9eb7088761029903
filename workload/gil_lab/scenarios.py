"""Scenarios: what the agents do in a trial, and the task list it makes.

The task list depends only on the scenario, the scale and the seed, never on
the approach or the number of workers, so every approach (and the Rust twin)
computes the same results and the same digest.

`io` and `mixed` (agents that wait on a language-model endpoint) live in
`io_scenario` and `mixed_scenario`; `llm_module` finds them.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import knowledge
from .agents import AGENT_NAMES, AGENT_RUN
from .prng import SplitMix64

#: Tasks per agent at scale 1.0.
TASKS_PER_AGENT = 8
#: Knowledge-base queries per task in the `shared` scenario.
QUERIES_PER_TASK = 2
#: Largest |dx| and |dy| between a query's source and target junction.
QUERY_RADIUS = 96
#: Mixed into a task seed to seed its knowledge-base queries.
QUERY_SALT = 0x7175657279736565  # "queryse" + "e"


@dataclass(frozen=True)
class Task:
    """One unit of agent work: small and picklable, so it crosses process and
    interpreter boundaries as is."""

    #: Position in the task list (0-based).
    index: int
    #: Agent name (`planner`, `solver`, `strategist`, `reasoner`).
    agent: str
    #: The task's own 64-bit seed.
    seed: int

    @property
    def agent_code(self) -> int:
        """The agent's number in the digest."""
        return AGENT_NAMES.index(self.agent)


@dataclass(frozen=True)
class Scenario:
    """A scenario: its name and whether it needs the knowledge base."""

    #: Name used in the trial spec.
    name: str
    #: True if tasks query the shared knowledge base.
    uses_knowledge: bool
    #: True if tasks call the LLM endpoint (the module `<name>_scenario`).
    uses_llm: bool = False


#: Every scenario the runner knows.
SCENARIOS = {
    "cpu": Scenario("cpu", uses_knowledge=False),
    "shared": Scenario("shared", uses_knowledge=True),
    "io": Scenario("io", uses_knowledge=False, uses_llm=True),
    "mixed": Scenario("mixed", uses_knowledge=False, uses_llm=True),
}


def llm_module(scenario: str):
    """The module of an LLM scenario (`io_scenario`, `mixed_scenario`): its
    `run(task)` and `run_async(task, offload)` return (results, call records)."""
    import importlib

    return importlib.import_module(f".{scenario}_scenario", __package__)


def task_count(scale: float) -> int:
    """4 x max(1, floor(TASKS_PER_AGENT x scale + 0.5)) tasks."""
    return 4 * max(1, int(TASKS_PER_AGENT * scale + 0.5))


def make_tasks(scale: float, seed: int) -> list[Task]:
    """The task list: task i goes to agent i mod 4 (planner, solver,
    strategist, reasoner) and its seed is output i of SplitMix64(seed)."""
    master = SplitMix64(seed)
    return [
        Task(index, AGENT_NAMES[index % 4], master.next_u64())
        for index in range(task_count(scale))
    ]


def query_pairs(task_seed: int, network: knowledge.RoadNetwork) -> list[tuple[int, int]]:
    """A task's knowledge-base queries, from SplitMix64(task seed XOR
    QUERY_SALT): per query, source = below(nodes), dx = below(2R + 1) - R,
    dy = below(2R + 1) - R; the target is the source moved by (dx, dy) with x
    and y clamped to the grid."""
    rng = SplitMix64(task_seed ^ QUERY_SALT)
    width, height = network.width, network.height
    span = 2 * QUERY_RADIUS + 1
    pairs = []
    for _ in range(QUERIES_PER_TASK):
        source = rng.below(width * height)
        dx = rng.below(span) - QUERY_RADIUS
        dy = rng.below(span) - QUERY_RADIUS
        x = min(max(source % width + dx, 0), width - 1)
        y = min(max(source // width + dy, 0), height - 1)
        pairs.append((source, y * width + x))
    return pairs


def run_task(scenario: str, task: Task,
             network: knowledge.RoadNetwork | None = None) -> list[int]:
    """Runs one task; result = the agent's results, then (`shared`) the
    length of each knowledge-base query's shortest route; LLM scenarios: see
    `llm_module`."""
    if SCENARIOS[scenario].uses_llm:
        return llm_module(scenario).run(task)[0]
    results = AGENT_RUN[task.agent](task.seed)
    if SCENARIOS[scenario].uses_knowledge:
        if network is None:
            raise ValueError("the shared scenario needs the knowledge base")
        for source, target in query_pairs(task.seed, network):
            results.append(network.shortest_path(source, target))
    return results
