"""`threads`: a ThreadPoolExecutor of `workers` threads sharing everything.

With the GIL only one thread runs Python at a time; on a free-threaded build
they run in parallel. The pool's threads are started (and kept) before the
work phase, so thread creation is counted in pool_start, not in work.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from ..coordinator import perform
from . import Outcome, Trial

#: Thread names are `<prefix>_<n>`; the worker id is `thread-<n>`.
THREAD_PREFIX = "gil-lab"


def unavailable() -> str | None:
    """Always available."""
    return None


def worker_name() -> str:
    """`thread-<n>` for the pool thread this runs on."""
    return "thread-" + threading.current_thread().name.rpartition("_")[2]


def start_pool(workers: int) -> ThreadPoolExecutor:
    """A pool whose `workers` threads are all running: ThreadPoolExecutor
    starts threads lazily, one per submit while none is idle, so `workers`
    jobs that wait for each other force every thread into existence."""
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=THREAD_PREFIX)
    barrier = threading.Barrier(workers)
    for future in [pool.submit(barrier.wait, 60) for _ in range(workers)]:
        future.result()
    return pool


def run(trial: Trial) -> Outcome:
    """Submits every task to the pool and waits for all of them."""
    started = time.monotonic()
    pool = start_pool(trial.workers)
    pool_start = time.monotonic() - started

    def job(task):
        return perform(trial.scenario, task, trial.network, worker_name(), trial.blackboard)

    started = time.monotonic()
    futures = [pool.submit(job, task) for task in trial.tasks]
    records = [future.result() for future in futures]
    work = time.monotonic() - started

    started = time.monotonic()
    pool.shutdown(wait=True)
    teardown = time.monotonic() - started
    sharing = {"method": "same-object", "cost_s": 0.0} if trial.network else None
    return Outcome(records, pool_start, work, teardown, sharing=sharing)
