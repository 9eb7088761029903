"""The `mixed` scenario: each agent task alternates a model call with a
CPU-bound reasoning step on the answer, ROUNDS times. The step is the task's
own agent (planner, solver, strategist or reasoner, docs/agents.md) seeded
with `task seed XOR answer hash`, so it really depends on what the model
said.

Prompts and the answer hash are those of the `io` scenario
(`io_scenario.messages`, `io_scenario.text_hash`); round r uses call number r
and the previous round's answer hash. Result: per round, the answer hash >> 1
followed by the agent's results.

This is where approaches differ most: blocking threads overlap the waits but,
with a GIL, take turns on the steps; an event loop overlaps the waits but
runs steps one at a time on its thread; `asyncio+threads` keeps the waits on
the loop and hands steps to threads, which run in parallel on a
free-threaded build.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from .agents import AGENT_RUN
from .io_scenario import chain, chain_async
from .llm_client import CallRecord
from .scenarios import Task

#: (model call, reasoning step) rounds per task.
ROUNDS = 2


def step(task: Task, answer_hash: int) -> list[int]:
    """The reasoning step on an answer: the task's agent, seeded from it."""
    return AGENT_RUN[task.agent](task.seed ^ answer_hash)


def run(task: Task) -> tuple[list[int], list[CallRecord]]:
    """Runs a `mixed` task with blocking calls: (results, call records)."""
    return chain(task, ROUNDS, step)


async def run_async(
    task: Task,
    offload: Callable[..., Awaitable[Any]] | None = None,
) -> tuple[list[int], list[CallRecord]]:
    """Runs a `mixed` task on the event loop; each step runs on the loop's
    thread, or through `offload` (e.g. `asyncio.to_thread`) when given."""
    return await chain_async(task, ROUNDS, step, offload)
