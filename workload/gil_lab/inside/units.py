"""The units of work inspected: the four agents, the shared scenario's
knowledge-base queries, and a user's task function. Each unit is a function
of one task (its seed, or for a user's task its call index)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from .. import knowledge
from ..agents import AGENT_NAMES, AGENT_RUN
from ..scenarios import query_pairs

#: The workload's units, in the order reported.
WORKLOAD_UNITS = (*AGENT_NAMES, "knowledge")


class UnitError(Exception):
    """A unit cannot be inspected; the message names the fix."""


def knowledge_queries(seed: int) -> Callable[[int], Any]:
    """The `shared` scenario's lookups of one task: shortest routes in the
    knowledge base every agent reads (built once, like a trial does)."""
    network = knowledge.build(seed)

    def run(task_seed: int) -> list[int]:
        return [network.shortest_path(source, target)
                for source, target in query_pairs(task_seed, network)]

    return run


def workload_unit(name: str, seed: int) -> tuple[str, Callable[[int], Any]]:
    """(kind, task function) of a workload unit."""
    if name in AGENT_RUN:
        return "agent", AGENT_RUN[name]
    if name == "knowledge":
        return "knowledge", knowledge_queries(seed)
    raise UnitError(f"unknown unit {name!r}: use one of {', '.join(WORKLOAD_UNITS)}")


def task_unit(target: str, paths: list[str]) -> Callable[[int], Any]:
    """A user's task function, called with the task's index (a coroutine
    function through asyncio.run, as the task runner does)."""
    from ..task.target import TaskError, load

    try:
        function, is_coroutine = load(target, paths)
    except TaskError as error:
        raise UnitError(str(error)) from None
    if is_coroutine:
        return lambda index: asyncio.run(function(index))
    return function
