"""`asyncio+threads`: an event loop that hands each agent's CPU step to a
pool of `workers` threads (`asyncio.to_thread` on the loop's default
executor), the way an async application offloads blocking work. On a
free-threaded build the steps run in parallel; with the GIL they take turns.
"""

from __future__ import annotations

import asyncio
import time

from ..coordinator import TaskRecord, perform, perform_async
from ..scenarios import SCENARIOS
from . import Outcome, Trial
from .async_loop import run_agents
from .threads import start_pool, worker_name


def unavailable() -> str | None:
    """Always available."""
    return None


def step(trial: Trial, task) -> TaskRecord:
    """The CPU step, run on a pool thread."""
    return perform(trial.scenario, task, trial.network, worker_name(), trial.blackboard)


async def agent_worker(number: int, queue: asyncio.Queue, trial: Trial,
                       records: list[TaskRecord]) -> None:
    """One coroutine per worker: offloads tasks one at a time. In LLM
    scenarios the coroutine (`task-<n>`) awaits the model calls on the loop
    and offloads only the CPU steps."""
    while not queue.empty():
        task = queue.get_nowait()
        if SCENARIOS[trial.scenario].uses_llm:
            records.append(await perform_async(trial.scenario, task, f"task-{number}",
                                               asyncio.to_thread))
            continue
        records.append(await asyncio.to_thread(step, trial, task))


async def work(trial: Trial) -> list[TaskRecord]:
    """Runs every task, `workers` of them at once."""
    return await run_agents(trial, agent_worker)


def run(trial: Trial) -> Outcome:
    """Starts the loop and its thread pool (threads kept alive), runs the
    work, shuts both down."""
    started = time.monotonic()
    loop = asyncio.new_event_loop()
    pool = start_pool(trial.workers)
    loop.set_default_executor(pool)
    pool_start = time.monotonic() - started

    started = time.monotonic()
    records = loop.run_until_complete(work(trial))
    elapsed = time.monotonic() - started

    started = time.monotonic()
    loop.run_until_complete(loop.shutdown_default_executor())
    loop.close()
    teardown = time.monotonic() - started
    sharing = {"method": "same-object", "cost_s": 0.0} if trial.network else None
    return Outcome(records, pool_start, elapsed, teardown, sharing=sharing)
