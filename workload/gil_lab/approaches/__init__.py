"""Approaches: how the agents' tasks are run concurrently.

Each approach module offers `unavailable() -> str | None` (why it cannot run
on this interpreter, or None) and `run(trial) -> Outcome`. The registry maps
the names used in the trial spec to the modules; they are imported on demand
so that a module that cannot even be imported here (asyncio on a stripped
build, say) only affects its own approach.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from ..blackboard import Blackboard
from ..coordinator import TaskRecord
from ..knowledge import RoadNetwork
from ..scenarios import Task

#: Approach name -> module (relative to this package).
APPROACHES = {
    "sequential": "sequential",
    "threads": "threads",
    "processes": "processes",
    "interpreters": "interpreters",
    "asyncio": "async_loop",
    "asyncio+threads": "async_threads",
    "ray": "ray_cluster",
}


@dataclass
class Trial:
    """Everything an approach needs to run one trial."""

    #: Scenario name.
    scenario: str
    #: The task list, in task order.
    tasks: list[Task]
    #: Threads / processes / interpreters / tasks at once.
    workers: int
    #: `processes` only: `fork`, `spawn`, `forkserver` or None (the default).
    start_method: str | None
    #: The knowledge base (`shared` scenario), else None.
    network: RoadNetwork | None
    #: The trial seed and scale, for workers that rebuild inputs themselves.
    seed: int
    scale: float
    #: Where findings are posted.
    blackboard: Blackboard = field(default_factory=Blackboard)
    #: `ray` only: the address of an existing cluster, or None for a local one.
    ray_address: str | None = None


@dataclass
class Outcome:
    """What an approach reports back to the runner."""

    #: One record per task, any order (the runner sorts them).
    records: list[TaskRecord]
    #: Seconds to start the pool / interpreters / event loop.
    pool_start: float
    #: Seconds from handing out the first task until every result was in.
    work: float
    #: Seconds to shut the pool down.
    teardown: float
    #: `sys._is_gil_enabled()` seen by each worker (processes, interpreters).
    worker_gil_enabled: list[bool | None] = field(default_factory=list)
    #: How the knowledge base reached the workers: {"method", "cost_s"}.
    sharing: dict[str, Any] | None = None
    #: `ray`: the orchestration steps (connect, ship_code, worker_start,
    #: shutdown, seconds) and where the workers ran.
    orchestration: dict[str, Any] | None = None
    #: `interpreters`: the API that ran the subinterpreters
    #: (`concurrent.futures.InterpreterPoolExecutor`, `_interpreters`, ...).
    api: str | None = None


def load(name: str) -> ModuleType:
    """The module of approach `name` (a KeyError for an unknown name)."""
    return importlib.import_module("." + APPROACHES[name], __name__)
