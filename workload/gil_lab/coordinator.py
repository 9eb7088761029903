"""The coordinator: runs one task where a worker stands and records it.

Every approach hands tasks out its own way but runs each one through
`perform`, so the timing and the record are the same everywhere.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from .blackboard import Blackboard
from .knowledge import RoadNetwork
from .scenarios import QUERIES_PER_TASK, SCENARIOS, Task, llm_module, run_task


@dataclass
class TaskRecord:
    """What one task did; picklable, so it comes back from processes too."""

    #: Position in the task list.
    index: int
    #: Agent name.
    agent: str
    #: Who ran it: `main`, `thread-<n>`, `process-<pid>`, `interpreter-<id>`, `task-<n>`,
    #: `ray-<n>`.
    worker: str
    #: `time.monotonic()` when the task started (CLOCK_MONOTONIC: one clock
    #: for every process on the machine).
    start: float
    #: `time.monotonic()` when it ended.
    end: float
    #: The task's results.
    result: list[int]
    #: LLM scenarios: one `llm_client.CallRecord` per model call.
    calls: list[Any] = field(default_factory=list)
    #: The OS thread id of the thread that ran it (`threading.get_native_id()`):
    #: gil-lab finds the task's lane of the timeline by it.
    tid: int = 0
    #: `ray`: the id of the cluster node that ran it (set by the approach;
    #: last, since records are also built from positional tuples).
    node: str | None = None


def perform(scenario: str, task: Task, network: RoadNetwork | None, worker: str,
            blackboard: Blackboard | None = None) -> TaskRecord:
    """Runs `task` and returns its record; in the `shared` scenario, posts the
    route lengths to `blackboard` when there is one in this process."""
    start = time.monotonic()
    calls: list[Any] = []
    if SCENARIOS[scenario].uses_llm:
        result, calls = llm_module(scenario).run(task)
    else:
        result = run_task(scenario, task, network)
    end = time.monotonic()
    if blackboard is not None and SCENARIOS[scenario].uses_knowledge:
        blackboard.post(task.index, task.agent, result[-QUERIES_PER_TASK:])
    return TaskRecord(task.index, task.agent, worker, start, end, result, calls,
                      threading.get_native_id())


async def perform_async(scenario: str, task: Task, worker: str,
                        offload: Any = None) -> TaskRecord:
    """`perform` for an LLM scenario on an event loop: model calls are
    awaited; CPU steps run on the loop, or through `offload` (e.g.
    `asyncio.to_thread`) when given."""
    start = time.monotonic()
    result, calls = await llm_module(scenario).run_async(task, offload)
    return TaskRecord(task.index, task.agent, worker, start, time.monotonic(), result, calls,
                      threading.get_native_id())


def post_findings(scenario: str, records: list[TaskRecord], blackboard: Blackboard) -> None:
    """Posts the findings of records that came back from other processes or
    interpreters (their workers cannot reach this process's blackboard)."""
    if SCENARIOS[scenario].uses_knowledge:
        for record in records:
            blackboard.post(record.index, record.agent, record.result[-QUERIES_PER_TASK:])


def gil_enabled() -> bool | None:
    """`sys._is_gil_enabled()`, or None where it does not exist (before 3.13,
    PyPy)."""
    import sys

    probe = getattr(sys, "_is_gil_enabled", None)
    return probe() if probe is not None else None
