"""The approaches that run the task away from the runner's interpreter:
`processes` (a pool of worker processes) and `interpreters`
(subinterpreters, each with its own GIL). Each worker loads the task itself
(by its target, as a real pool would import it), takes its stripe of
positions once all workers are up, and sends its results back pickled: a
result that cannot be pickled is reported with its type (`calls.pack`).
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import sys
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from ..approaches.interpreters import private_module
from ..approaches.interpreters import unavailable as interpreters_unavailable
from ..coordinator import gil_enabled
from .calls import Job, Outcome, unpack
from .pools import Ran, Skip
from .target import TaskError, load

# Per-process state of a pool worker, set by `init_worker`.
_JOB: Job | None = None
_LOAD_ERROR: str | None = None
_BARRIER: Any = None


def init_worker(target: str, paths: list[str], calls: int, rounds: int, barrier: Any) -> None:
    """Pool initializer: loads the task in this worker process."""
    global _JOB, _LOAD_ERROR, _BARRIER
    _BARRIER = barrier
    try:
        function, is_async = load(target, paths)
        _JOB = Job(function, is_async, calls, rounds)
    except TaskError as error:
        _LOAD_ERROR = str(error)


def hello() -> tuple[int, bool | None, str | None]:
    """Once per worker, all up together: (pid, GIL state, load error)."""
    _BARRIER.wait(120)
    return os.getpid(), gil_enabled(), _LOAD_ERROR


def stripe(w: int, workers: int) -> list[Outcome]:
    """Worker w's calls, started when every worker is ready."""
    _BARRIER.wait(120)
    assert _JOB is not None
    name = f"process-{os.getpid()}"
    return [_JOB.run(p, name, send_back=True) for p in _JOB.stripe(w, workers)]


def processes(job: Job, workers: int, target: str, paths: list[str],
              start_method: str | None) -> Ran:
    """A ProcessPoolExecutor of `workers` processes, one stripe each."""
    context = multiprocessing.get_context(start_method)
    started = time.monotonic()
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=context,
                               initializer=init_worker,
                               initargs=(target, paths, job.calls, job.rounds,
                                         context.Barrier(workers)))
    try:
        hellos = [f.result() for f in [pool.submit(hello) for _ in range(workers)]]
        errors = [error for _, _, error in hellos if error]
        if errors:
            raise TaskError("import_failed", "in a worker process: " + errors[0])
        pool_start = time.monotonic() - started
        started = time.monotonic()
        futures = [pool.submit(stripe, w, workers) for w in range(workers)]
        outcomes = [unpack(o) for f in futures for o in f.result()]
        work = time.monotonic() - started
    finally:
        started = time.monotonic()
        pool.shutdown(wait=True, cancel_futures=True)
    return Ran(outcomes, pool_start, work, time.monotonic() - started,
               worker_gil_enabled=[gil for _, gil, _ in hellos])


class Interpreter:
    """One subinterpreter and the main-interpreter thread that runs it."""

    def __init__(self, module: Any, script: str) -> None:
        self.module = module
        if module.__name__ == "_xxsubinterpreters":
            self.id = module.create(isolated=True)
        else:
            self.id = module.create("isolated")
        self.script = script
        self.failure: str | None = None
        self.thread = threading.Thread(target=self.main, daemon=True)

    def main(self) -> None:
        """Runs the script, then destroys the subinterpreter (from this thread)."""
        try:
            if self.module.__name__ == "_xxsubinterpreters":
                self.module.run_string(self.id, self.script)
            else:
                failure = self.module.exec(self.id, self.script)
                if failure is not None:
                    self.failure = getattr(failure, "errdisplay", None) or str(failure)
        except Exception as error:
            self.failure = f"{type(error).__name__}: {error}"
        finally:
            try:
                self.module.destroy(self.id)
            except Exception as error:
                self.failure = self.failure or f"cannot destroy: {error}"


def interpreters(job: Job, workers: int, target: str, paths: list[str]) -> Ran:
    """`workers` subinterpreters on their own threads, one stripe each."""
    reason = interpreters_unavailable()
    if reason is not None:
        raise Skip(reason)
    import gil_lab

    root = os.path.dirname(os.path.dirname(os.path.abspath(gil_lab.__file__)))
    module = private_module()
    scratch = tempfile.mkdtemp(prefix="gil-lab-task-")
    started = time.monotonic()
    go_read, go_write = os.pipe()
    hellos: list[tuple[int, int]] = [os.pipe() for _ in range(workers)]
    outs = [os.path.join(scratch, f"{w}.pickle") for w in range(workers)]
    pool = []
    for w in range(workers):
        script = (f"import sys\nsys.path.insert(0, {root!r})\n"
                  "from gil_lab.task.interp_worker import serve\n"
                  f"serve({target!r}, {paths!r}, {job.calls}, {job.rounds}, {w}, "
                  f"{workers}, {hellos[w][1]}, {go_read}, {outs[w]!r})\n")
        pool.append(Interpreter(module, script))
    for worker in pool:
        worker.thread.start()
    states = [os.read(read_fd, 1) for read_fd, _ in hellos]
    pool_start = time.monotonic() - started
    released = time.monotonic()
    os.write(go_write, b"x" * workers)
    for worker in pool:
        worker.thread.join()
    joined = time.monotonic()
    for fd in [go_read, go_write, *(fd for pair in hellos for fd in pair)]:
        os.close(fd)
    results = []
    for w, path in enumerate(outs):
        if not os.path.exists(path):
            detail = pool[w].failure or "no result"
            raise RuntimeError("a subinterpreter failed: " + detail.strip().splitlines()[-1])
        with open(path, "rb") as source:
            results.append(pickle.load(source))
        os.remove(path)
    os.rmdir(scratch)
    for result in results:
        if isinstance(result, dict) and "error" in result:
            raise Skip("the task cannot be loaded in a subinterpreter: " + result["error"])
        if isinstance(result, dict) and "unpicklable" in result:
            from .calls import Unpicklable

            raise Unpicklable(result["unpicklable"])
    outcomes = [unpack(o) for part in results for o in part["outcomes"]]
    work = max(part["done"] for part in results) - released
    gil = {b"1": True, b"0": False}
    return Ran(outcomes, pool_start, work, joined - released - work,
               worker_gil_enabled=[gil.get(state) for state in states])
