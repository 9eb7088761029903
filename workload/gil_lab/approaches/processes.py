"""`processes`: a ProcessPoolExecutor of `workers` processes.

Each process has its own interpreter and GIL, so this scales on any build, at
the price of process start-up and of moving inputs and results between
processes. The knowledge base of the `shared` scenario travels the way the
start method allows: `fork` children inherit the parent's memory
(copy-on-write); `spawn` and `forkserver` children get it pickled through the
pool initializer.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from ..coordinator import TaskRecord, gil_enabled, perform, post_findings
from ..knowledge import RoadNetwork
from ..scenarios import Task
from . import Outcome, Trial

# Per-process state of a pool worker, set by `init_worker` (or, for the
# knowledge base under `fork`, inherited from the parent).
_NETWORK: RoadNetwork | None = None
_BARRIER: Any = None
_SHARING_COST = 0.0


def unavailable() -> str | None:
    """Available where multiprocessing can start processes."""
    try:
        multiprocessing.get_all_start_methods()
    except Exception as error:  # e.g. a platform without process support
        return f"multiprocessing is not usable here: {error}"
    return None


def init_worker(barrier: Any, payload: bytes | None) -> None:
    """Pool initializer: unpickles the knowledge base when it was sent."""
    global _NETWORK, _BARRIER, _SHARING_COST
    started = time.monotonic()
    if payload is not None:
        _NETWORK = pickle.loads(payload)
    _SHARING_COST = time.monotonic() - started
    _BARRIER = barrier


def hello() -> tuple[int, bool | None, float]:
    """Run once per worker before the work: waits until every worker is up
    (so each hello lands on a different process) and reports (pid, GIL
    state, seconds spent receiving the knowledge base)."""
    _BARRIER.wait(120)
    return os.getpid(), gil_enabled(), _SHARING_COST


def job(scenario: str, task: Task) -> TaskRecord:
    """Runs one task in this worker process."""
    return perform(scenario, task, _NETWORK, f"process-{os.getpid()}")


def stop_helpers(method: str) -> None:
    """Stops the helper processes `forkserver` and `spawn` leave behind (the
    fork server, the resource tracker): they would exit on their own only
    after the runner, outliving the trial's process tree. Both stop
    functions are private (they exist from 3.8 and 3.12 on, and are what
    CPython's own tests call); where one is missing the helper exits late,
    as it would anyway."""
    if method not in ("forkserver", "spawn"):
        return
    import gc
    from multiprocessing import forkserver, resource_tracker

    # The pool's semaphores unregister from the tracker when collected:
    # before it stops, or unregistering would start a new one.
    gc.collect()
    for helper in (getattr(forkserver, "_forkserver", None),
                   getattr(resource_tracker, "_resource_tracker", None)):
        stop = getattr(helper, "_stop", None)
        if stop is not None:
            try:
                stop()
            except (OSError, ChildProcessError):
                pass


def run(trial: Trial) -> Outcome:
    """Starts the pool, runs every task on it, shuts it down."""
    global _NETWORK
    context = multiprocessing.get_context(trial.start_method)
    method = context.get_start_method()
    started = time.monotonic()
    payload = None
    sharing_method = "fork-inherited"
    if trial.network is not None and method != "fork":
        payload = pickle.dumps(trial.network, protocol=pickle.HIGHEST_PROTOCOL)
        sharing_method = "pickled"
    pickling = time.monotonic() - started
    # A forked child sees this module global as it was at fork time.
    _NETWORK = trial.network if method == "fork" else None
    barrier = context.Barrier(trial.workers)
    try:
        pool = ProcessPoolExecutor(
            max_workers=trial.workers,
            mp_context=context,
            initializer=init_worker,
            initargs=(barrier, payload),
        )
        if not hasattr(pool, "_adjust_process_count") and hasattr(
                pool, "_adjust_process_count_cpython"):
            # Debian's PyPy 3.9 ships a process.py whose submit() calls a
            # method it renamed, so spawn/forkserver pools fail on the first
            # submit; point the old name at the renamed method.
            pool._adjust_process_count = pool._adjust_process_count_cpython
        hellos = [f.result() for f in [pool.submit(hello) for _ in range(trial.workers)]]
    finally:
        _NETWORK = None
    pool_start = time.monotonic() - started

    started = time.monotonic()
    futures = [pool.submit(job, trial.scenario, task) for task in trial.tasks]
    records = [future.result() for future in futures]
    work = time.monotonic() - started
    post_findings(trial.scenario, records, trial.blackboard)

    started = time.monotonic()
    pool.shutdown(wait=True)
    del pool, barrier
    stop_helpers(method)
    teardown = time.monotonic() - started
    sharing = None
    if trial.network is not None:
        cost = pickling + sum(cost for _, _, cost in hellos)
        sharing = {"method": sharing_method, "cost_s": cost}
    return Outcome(records, pool_start, work, teardown,
                   worker_gil_enabled=[gil for _, gil, _ in hellos], sharing=sharing)
