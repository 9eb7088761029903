"""`asyncio`: the agents as coroutines on one event loop.

`workers` coroutines take tasks from a queue. The agents never wait on I/O, so
each task runs to its end once started: cooperative multitasking interleaves
the agents but cannot run two at once. This is the cost of putting CPU-bound
agents on an event loop (the `io` scenario, later, is where it shines).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from ..coordinator import TaskRecord, perform, perform_async
from ..scenarios import SCENARIOS, llm_module
from . import Outcome, Trial


def unavailable() -> str | None:
    """Always available."""
    return None


async def agent_worker(number: int, queue: asyncio.Queue, trial: Trial,
                       records: list[TaskRecord]) -> None:
    """Coroutine `task-<number>`: takes tasks until the queue is empty."""
    while not queue.empty():
        task = queue.get_nowait()
        if SCENARIOS[trial.scenario].uses_llm:
            records.append(await perform_async(trial.scenario, task, f"task-{number}"))
            continue
        records.append(perform(trial.scenario, task, trial.network,
                               f"task-{number}", trial.blackboard))
        # Hand the loop back between tasks, as an agent awaiting a tool would.
        await asyncio.sleep(0)


AgentWorker = Callable[[int, asyncio.Queue, Trial, list[TaskRecord]], Awaitable[None]]


async def run_agents(trial: Trial, agent: AgentWorker) -> list[TaskRecord]:
    """Runs every task with `workers` coroutines `agent` at once, sharing one
    queue (also the work of `asyncio+threads`, with its own coroutine)."""
    queue: asyncio.Queue = asyncio.Queue()
    for task in trial.tasks:
        queue.put_nowait(task)
    records: list[TaskRecord] = []
    await asyncio.gather(*(agent(n, queue, trial, records)
                           for n in range(trial.workers)))
    if SCENARIOS[trial.scenario].uses_llm:
        await llm_module("io").close_async()
    return records


async def work(trial: Trial) -> list[TaskRecord]:
    """Runs every task with `workers` coroutines at once."""
    return await run_agents(trial, agent_worker)


def run(trial: Trial) -> Outcome:
    """Starts an event loop, runs the work on it, closes it."""
    started = time.monotonic()
    loop = asyncio.new_event_loop()
    pool_start = time.monotonic() - started

    started = time.monotonic()
    records = loop.run_until_complete(work(trial))
    elapsed = time.monotonic() - started

    started = time.monotonic()
    loop.run_until_complete(loop.shutdown_asyncgens())
    loop.close()
    teardown = time.monotonic() - started
    sharing = {"method": "same-object", "cost_s": 0.0} if trial.network else None
    return Outcome(records, pool_start, elapsed, teardown, sharing=sharing)
