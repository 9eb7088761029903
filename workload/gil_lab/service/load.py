"""Open-loop load: every arrival time is fixed before a level starts, and a
request's latency counts from it, not from when a worker got to it.

The dispatcher sleeps until each arrival and hands the request to the
approach's queue, whatever the workers are doing; if the dispatcher itself
is late (the GIL, a busy loop), the request's clock has started anyway.
After the last arrival the level waits `drain_s` for the stragglers; a
request not finished by then is *dropped* (counted, and the level cannot be
sustainable), and queued ones are cancelled so the next level starts clean.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import resource
import sys
import time
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from typing import Any

from . import request

#: Approaches the service scenario runs.
APPROACHES = ("threads", "processes", "asyncio", "asyncio+threads")


def schedule(rate: float, level_s: float, start: float, min_requests: int = 8) -> list[float]:
    """Arrival times: one every 1/rate seconds from `start` for `level_s`
    seconds, at least `min_requests` of them (a level lasts longer at a low
    rate rather than report a p99 that is only its largest latency)."""
    count = max(min_requests, round(rate * level_s))
    return [start + i / rate for i in range(count)]


def sleep_until(moment: float) -> None:
    """Sleeps until time.monotonic() reaches `moment`."""
    delay = moment - time.monotonic()
    if delay > 0:
        time.sleep(delay)


def _hello() -> int:
    return 0


def _proc_cpu_s(pid: int) -> float | None:
    """CPU seconds (user + system) of process `pid` from /proc (None elsewhere)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def _proc_peak_rss(pid: int) -> int | None:
    """Peak resident bytes (VmHWM) of process `pid` from /proc (None elsewhere)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def usage(worker_pids: list[int]) -> tuple[float, int]:
    """CPU seconds so far and peak resident bytes of this process and its
    pool's worker processes (what a service costs: cores and memory)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    cpu = own.ru_utime + own.ru_stime
    # ru_maxrss: kilobytes on Linux, bytes on macOS.
    rss = own.ru_maxrss * (1 if sys.platform == "darwin" else 1024)
    for pid in worker_pids:
        cpu += _proc_cpu_s(pid) or 0.0
        rss += _proc_peak_rss(pid) or 0
    return cpu, rss


def _collect(futures: list[Future], deadline: float) -> list[dict[str, Any]]:
    """The records finished by `deadline`; the rest are cancelled or left."""
    wait_futures(futures, timeout=max(0.0, deadline - time.monotonic()))
    done = []
    for future in futures:
        if future.done() and not future.cancelled() and future.exception() is None:
            done.append(future.result())
        else:
            future.cancel()
    return done


def run_pool(pool: Any, arrivals: list[float], seed: int, drain_s: float) -> list[dict[str, Any]]:
    """Submits request i at arrivals[i] to a concurrent.futures pool."""
    futures = []
    for index, at in enumerate(arrivals):
        sleep_until(at)
        futures.append(pool.submit(request.serve, index, at, seed))
    return _collect(futures, arrivals[-1] + drain_s)


async def run_loop(arrivals: list[float], seed: int, drain_s: float, workers: int,
                   offload: bool) -> list[dict[str, Any]]:
    """`workers` coroutines take the requests from a queue the dispatcher
    fills at their arrival times (`offload`: steps via asyncio.to_thread)."""
    queue: asyncio.Queue = asyncio.Queue()
    done: list[dict[str, Any]] = []
    step = asyncio.to_thread if offload else None

    async def worker() -> None:
        while True:
            item = await queue.get()
            if item is None:
                return
            index, at = item
            done.append(await request.serve_async(index, at, seed, step))

    tasks = [asyncio.ensure_future(worker()) for _ in range(workers)]
    for index, at in enumerate(arrivals):
        delay = at - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        queue.put_nowait((index, at))
    for _ in tasks:
        queue.put_nowait(None)
    remaining = max(0.0, arrivals[-1] + drain_s - time.monotonic())
    _, pending = await asyncio.wait(tasks, timeout=remaining)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    from ..io_scenario import close_async
    await close_async()
    return done


class Service:
    """One approach's service, started once and kept across the levels."""

    def __init__(self, approach: str, workers: int) -> None:
        if approach not in APPROACHES:
            raise ValueError(f"the service scenario runs {', '.join(APPROACHES)}, "
                             f"not {approach!r}")
        self.approach = approach
        self.workers = workers
        self.pool: Any = None
        if approach == "threads":
            self.pool = ThreadPoolExecutor(max_workers=workers)
        elif approach == "processes":
            self.pool = ProcessPoolExecutor(max_workers=workers,
                                            mp_context=multiprocessing.get_context())
        if self.pool is not None:
            # Every worker started before the first arrival.
            for future in [self.pool.submit(_hello) for _ in range(workers)]:
                future.result()

    def level(self, rate: float, level_s: float, drain_s: float, seed: int,
              min_requests: int = 8) -> dict[str, Any]:
        """One level of the ladder: `rate` requests per second, open-loop."""
        arrivals = schedule(rate, level_s, time.monotonic() + 0.05, min_requests)
        pids = self.worker_pids()
        cpu_before, _ = usage(pids)
        began = time.monotonic()
        if self.pool is not None:
            done = run_pool(self.pool, arrivals, seed, drain_s)
        else:
            offload = self.approach == "asyncio+threads"
            runner = run_loop(arrivals, seed, drain_s, self.workers, offload)
            if offload:
                done = asyncio.run(_with_threads(runner, self.workers))
            else:
                done = asyncio.run(runner)
        cpu_after, peak_rss = usage(pids)
        elapsed = time.monotonic() - began
        deadline = arrivals[-1] + drain_s
        finished = [r for r in done if r["end"] <= deadline]
        return {"rate": rate, "scheduled": len(arrivals), "first_arrival": arrivals[0],
                "deadline": deadline, "requests": sorted(finished, key=lambda r: r["index"]),
                "dropped": len(arrivals) - len(finished),
                "cpu_s": cpu_after - cpu_before, "wall_s": elapsed,
                "peak_rss_bytes": peak_rss, "processes": 1 + len(pids)}

    def worker_pids(self) -> list[int]:
        """The pool's worker processes (none for threads and event loops)."""
        if self.approach != "processes":
            return []
        processes = getattr(self.pool, "_processes", None) or {}
        return sorted(processes)

    def close(self) -> None:
        """Stops the pool (cancelling what is still queued)."""
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)


async def _with_threads(runner: Any, workers: int) -> list[dict[str, Any]]:
    """Runs `runner` with a default executor of `workers` threads."""
    loop = asyncio.get_running_loop()
    executor = ThreadPoolExecutor(max_workers=workers)
    loop.set_default_executor(executor)
    try:
        return await runner
    finally:
        executor.shutdown(wait=True, cancel_futures=True)


def calibrate(seed: int, count: int) -> dict[str, Any]:
    """`count` requests one after another in this thread: the reasoning
    steps' seconds per request give the interpreter's one-core capacity."""
    records = [request.serve(index, time.monotonic(), seed) for index in range(count)]
    failed = [r["error"] for r in records if not r["ok"]]
    if failed:
        raise RuntimeError(f"calibration request failed: {failed[0]}")
    steps = [sum(r["step_end"] - r["step_start"] for r in rec["rounds"]) for rec in records]
    totals = [rec["end"] - rec["start"] for rec in records]
    return {"requests": count, "step_s": sum(steps) / count, "request_s": sum(totals) / count}
