"""The approaches, for a task: each runs every position of a `Job` and
returns a `Ran`. The in-process ones are here (sequential, threads, asyncio,
asyncio+threads); worker processes and subinterpreters are in `workers`.

Every concurrent approach starts its workers first (pool start), holds them
at a barrier and releases them together (the work phase starts then), as
pytest-run-parallel does to make races show.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from .calls import Job, Outcome


class Skip(Exception):
    """This approach cannot run this task here; the message says why."""


@dataclass
class Ran:
    """What an approach reports back to the runner."""

    #: One outcome per position, any order.
    outcomes: list[Outcome]
    pool_start: float
    work: float
    teardown: float
    #: sys._is_gil_enabled() in each worker process / interpreter.
    worker_gil_enabled: list[bool | None] = field(default_factory=list)
    #: sequential: CPU time ÷ (wall time − time waiting for a core).
    cpu_share: float | None = None


def runqueue_s() -> float | None:
    """Seconds this thread has waited for a core (/proc schedstat), or None."""
    try:
        with open("/proc/thread-self/schedstat") as stat:
            return int(stat.read().split()[1]) / 1e9
    except (OSError, ValueError, IndexError):
        return None


def sequential(job: Job, workers: int) -> Ran:
    """Every call in order on the main thread; also the share of its time
    the thread computed (CPU time ÷ the wall time it was not waiting for a
    core): the measured kind of work."""
    waited, cpu = runqueue_s(), time.thread_time()
    started = time.monotonic()
    outcomes = [job.run(p, "main") for p in range(job.positions)]
    work = time.monotonic() - started
    ran = Ran(outcomes, 0.0, work, 0.0)
    cpu = time.thread_time() - cpu
    after = runqueue_s()
    available = work - (after - waited if waited is not None and after is not None else 0.0)
    if available > 0:
        ran.cpu_share = min(1.0, cpu / available)
    return ran


def in_threads(workers: int, body: Callable[[int], None]) -> tuple[float, float]:
    """Runs body(w) on `workers` threads released together; (pool start, work)."""
    barrier = threading.Barrier(workers + 1)

    def main(w: int) -> None:
        barrier.wait()
        body(w)

    started = time.monotonic()
    threads = [threading.Thread(target=main, args=(w,), name=f"gil-lab_{w}", daemon=True)
               for w in range(workers)]
    for thread in threads:
        thread.start()
    pool_start = time.monotonic() - started
    barrier.wait()
    started = time.monotonic()
    for thread in threads:
        thread.join()
    return pool_start, time.monotonic() - started


def threads(job: Job, workers: int) -> Ran:
    """`workers` threads sharing the process; thread w takes stripe w."""
    outcomes: list[Outcome] = []

    def body(w: int) -> None:
        mine = [job.run(p, f"thread-{w}") for p in job.stripe(w, workers)]
        outcomes.extend(mine)

    pool_start, work = in_threads(workers, body)
    return Ran(outcomes, pool_start, work, 0.0)


def asyncio_loop(job: Job, workers: int) -> Ran:
    """One event loop, `workers` coroutines; coroutine w awaits stripe w."""
    if not job.is_async:
        raise Skip("asyncio runs coroutines: the task is a plain function (def, not "
                   "async def), so its calls would run one at a time on the loop, as in "
                   "sequential; make it `async def` to measure it under asyncio")
    outcomes: list[Outcome] = []

    async def worker(w: int, gate: asyncio.Event) -> None:
        await gate.wait()
        for p in job.stripe(w, workers):
            outcomes.append(await job.run_async(p, f"task-{w}"))

    async def main() -> tuple[float, float]:
        started = time.monotonic()
        gate = asyncio.Event()
        tasks = [asyncio.ensure_future(worker(w, gate)) for w in range(workers)]
        await asyncio.sleep(0)
        pool_start = time.monotonic() - started
        started = time.monotonic()
        gate.set()
        await asyncio.gather(*tasks)
        return pool_start, time.monotonic() - started

    started = time.monotonic()
    loop = asyncio.new_event_loop()
    loop_start = time.monotonic() - started
    try:
        pool_start, work = loop.run_until_complete(main())
        started = time.monotonic()
        loop.run_until_complete(loop.shutdown_asyncgens())
    finally:
        loop.close()
    return Ran(outcomes, loop_start + pool_start, work, time.monotonic() - started)


def asyncio_threads(job: Job, workers: int) -> Ran:
    """A plain task: an event loop offloading each call to a pool of
    `workers` threads (asyncio.to_thread), stripe w on coroutine w. A
    coroutine function: one event loop per thread, thread w awaiting stripe w
    on its own loop."""
    if job.is_async:
        outcomes: list[Outcome] = []

        def body(w: int) -> None:
            async def mine() -> list[Outcome]:
                return [await job.run_async(p, f"thread-{w}") for p in job.stripe(w, workers)]
            outcomes.extend(asyncio.run(mine()))

        pool_start, work = in_threads(workers, body)
        return Ran(outcomes, pool_start, work, 0.0)

    from concurrent.futures import ThreadPoolExecutor

    started = time.monotonic()
    loop = asyncio.new_event_loop()
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="gil-lab")
    barrier = threading.Barrier(workers)
    for future in [pool.submit(barrier.wait, 60) for _ in range(workers)]:
        future.result()
    loop.set_default_executor(pool)
    pool_start = time.monotonic() - started

    def step(p: int) -> Outcome:
        name = threading.current_thread().name.rpartition("_")[2]
        return job.run(p, f"thread-{name}")

    async def worker(w: int) -> list[Outcome]:
        return [await asyncio.to_thread(step, p) for p in job.stripe(w, workers)]

    async def main() -> list[Outcome]:
        parts = await asyncio.gather(*(worker(w) for w in range(workers)))
        return [o for part in parts for o in part]

    started = time.monotonic()
    try:
        outcomes = loop.run_until_complete(main())
        work = time.monotonic() - started
        started = time.monotonic()
        loop.run_until_complete(loop.shutdown_default_executor())
    finally:
        loop.close()
    return Ran(outcomes, pool_start, work, time.monotonic() - started)
