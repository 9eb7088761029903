"""`interpreters`: subinterpreters, each with its own GIL (PEP 684), in one
process.

- 3.14+: `concurrent.futures.InterpreterPoolExecutor` (PEP 734).
- 3.12 / 3.13: the private `_xxsubinterpreters` / `_interpreters` module; one
  OS thread per subinterpreter runs the worker loop of `interp_worker`, task
  numbers go out through one shared pipe and results come back through one
  pipe per worker.
- Elsewhere (PyPy, CPython before 3.12): skipped.

Subinterpreters share no objects, so the `shared` scenario's knowledge base is
rebuilt in each of them (sharing method `rebuilt`).
"""

from __future__ import annotations

import json
import os
import platform
import selectors
import sys
import threading
import time
from typing import Any

from ..coordinator import TaskRecord, post_findings
from . import Outcome, Trial
from .interp_worker import RECORD_BYTES


def private_module() -> Any:
    """The private subinterpreter module of 3.12 / 3.13 (None if missing)."""
    for name in ("_interpreters", "_xxsubinterpreters"):
        try:
            return __import__(name)
        except ImportError:
            continue
    return None


def unavailable() -> str | None:
    """Why subinterpreters cannot run here, or None."""
    if platform.python_implementation() != "CPython":
        return f"{platform.python_implementation()} has no subinterpreters"
    if sys.version_info < (3, 12):
        return "subinterpreters with their own GIL need CPython 3.12 or newer (PEP 684)"
    if sys.version_info >= (3, 14):
        try:
            from concurrent.futures import InterpreterPoolExecutor  # noqa: F401
        except ImportError as error:
            return f"InterpreterPoolExecutor is missing: {error}"
        return None
    if private_module() is None:
        return "this build has neither _interpreters nor _xxsubinterpreters"
    return None


def package_root() -> str:
    """The directory holding `gil_lab/`: subinterpreters start with the
    interpreter's initial sys.path, not the main interpreter's current one."""
    import gil_lab

    return os.path.dirname(os.path.dirname(os.path.abspath(gil_lab.__file__)))


def run(trial: Trial) -> Outcome:
    """Runs the trial on subinterpreters."""
    if sys.version_info >= (3, 14):
        return run_pool_executor(trial)
    return run_private(trial)


def run_pool_executor(trial: Trial) -> Outcome:
    """3.14+: InterpreterPoolExecutor; functions and arguments are pickled."""
    from concurrent.futures import InterpreterPoolExecutor

    from .interp_worker import pool_hello, pool_job

    started = time.monotonic()
    setup = f"import sys\nsys.path.insert(0, {package_root()!r})\n"
    pool = InterpreterPoolExecutor(max_workers=trial.workers, initializer=exec,
                                   initargs=(setup, {}))
    # Unlike a process pool, there is no barrier here to pin one hello per
    # interpreter: collect distinct workers from the hellos and the tasks.
    hellos = [f.result() for f in
              [pool.submit(pool_hello, trial.scenario, trial.seed)
               for _ in range(trial.workers)]]
    pool_start = time.monotonic() - started

    started = time.monotonic()
    futures = [pool.submit(pool_job, trial.scenario, trial.seed, task) for task in trial.tasks]
    records = [TaskRecord(*future.result()) for future in futures]
    work = time.monotonic() - started
    post_findings(trial.scenario, records, trial.blackboard)

    started = time.monotonic()
    pool.shutdown(wait=True)
    teardown = time.monotonic() - started
    seen: dict[str, tuple[bool | None, float]] = {}
    for worker, gil, cost in hellos:
        seen.setdefault(worker, (gil, cost))
    sharing = None
    if trial.network is not None:
        sharing = {"method": "rebuilt", "cost_s": sum(cost for _, cost in seen.values())}
    return Outcome(records, pool_start, work, teardown,
                   worker_gil_enabled=[gil for gil, _ in seen.values()], sharing=sharing,
                   api="concurrent.futures.InterpreterPoolExecutor")


class Worker:
    """One subinterpreter and the main-interpreter thread that runs it."""

    def __init__(self, module: Any, task_fd: int, trial: Trial) -> None:
        self.module = module
        if module.__name__ == "_xxsubinterpreters":
            self.id = module.create(isolated=True)
        else:
            self.id = module.create("isolated")
        self.read_fd, self.write_fd = os.pipe()
        self.script = (
            "import sys\n"
            f"sys.path.insert(0, {package_root()!r})\n"
            "from gil_lab.approaches.interp_worker import serve\n"
            f"serve({task_fd}, {self.write_fd}, {trial.scenario!r}, {trial.scale!r}, "
            f"{trial.seed!r})\n"
        )
        self.failure: str | None = None
        self.thread = threading.Thread(target=self.main, name=f"interpreter-{self.id}")

    def main(self) -> None:
        """Thread body: runs the worker loop in the subinterpreter, closes the
        result pipe (which tells the main thread this worker is done), then
        destroys the subinterpreter. Destroying it from this thread matters on
        3.12: from another thread the subinterpreter's threading._shutdown
        waits forever for the thread that ran it."""
        try:
            if self.module.__name__ == "_xxsubinterpreters":
                self.module.run_string(self.id, self.script)
            else:
                failure = self.module.exec(self.id, self.script)
                if failure is not None:
                    self.failure = getattr(failure, "errdisplay", None) or str(failure)
        except Exception as error:  # RunFailedError (3.12) and the like
            self.failure = f"{type(error).__name__}: {error}"
        finally:
            os.close(self.write_fd)
            try:
                self.module.destroy(self.id)
            except Exception as error:
                self.failure = self.failure or f"cannot destroy: {error}"


def read_lines(workers: list[Worker], wanted: int | None) -> list[tuple[Worker, Any]]:
    """Reads JSON lines from the workers' result pipes: `wanted` lines (one
    hello per worker), or every line until every pipe is closed (None)."""
    out: list[tuple[Worker, Any]] = []
    buffers = {w.read_fd: b"" for w in workers}
    owner = {w.read_fd: w for w in workers}
    with selectors.DefaultSelector() as selector:
        for worker in workers:
            selector.register(worker.read_fd, selectors.EVENT_READ)
        open_fds = len(workers)
        while open_fds and (wanted is None or len(out) < wanted):
            for key, _ in selector.select():
                fd = key.fd
                # A hello is read one byte at a time so that no task line is
                # swallowed into this call's buffer.
                chunk = os.read(fd, 1 if wanted is not None else 65536)
                if not chunk:
                    selector.unregister(fd)
                    open_fds -= 1
                    continue
                buffers[fd] += chunk
                while b"\n" in buffers[fd]:
                    line, buffers[fd] = buffers[fd].split(b"\n", 1)
                    out.append((owner[fd], json.loads(line)))
    return out


def run_private(trial: Trial) -> Outcome:
    """3.12 / 3.13: the private module, pipes and one thread per worker."""
    module = private_module()
    started = time.monotonic()
    task_read, task_write = os.pipe()
    workers = [Worker(module, task_read, trial) for _ in range(trial.workers)]
    for worker in workers:
        worker.thread.start()
    hellos = read_lines(workers, wanted=trial.workers)
    if len(hellos) < trial.workers:
        # A worker died while starting (its pipe closed without a hello).
        os.close(task_write)
        for worker in workers:
            worker.thread.join()
        failures = [w.failure for w in workers if w.failure]
        raise RuntimeError("a subinterpreter failed to start:\n"
                           + (failures[0] if failures else "no hello"))
    pool_start = time.monotonic() - started

    def hand_out() -> None:
        # A thread of its own: with more than a pipe's worth of tasks the
        # writer blocks until workers read, while the main thread collects.
        try:
            for task in trial.tasks:
                os.write(task_write, task.index.to_bytes(RECORD_BYTES, "little"))
        finally:
            os.close(task_write)

    started = time.monotonic()
    writer = threading.Thread(target=hand_out, name="task-writer")
    writer.start()
    lines = read_lines(workers, wanted=None)
    writer.join()
    work = time.monotonic() - started

    started = time.monotonic()
    for worker in workers:
        worker.thread.join()
        os.close(worker.read_fd)
    os.close(task_read)
    failures = [w.failure for w in workers if w.failure]
    teardown = time.monotonic() - started
    if failures:
        raise RuntimeError("a subinterpreter failed:\n" + failures[0])
    records = [TaskRecord(*line) for _, line in lines]
    if len(records) != len(trial.tasks):
        raise RuntimeError(f"subinterpreters returned {len(records)} of "
                           f"{len(trial.tasks)} task results")
    post_findings(trial.scenario, records, trial.blackboard)
    sharing = None
    if trial.network is not None:
        sharing = {"method": "rebuilt",
                   "cost_s": sum(line["sharing_cost"] for _, line in hellos)}
    return Outcome(records, pool_start, work, teardown,
                   worker_gil_enabled=[line["gil"] for _, line in hellos], sharing=sharing,
                   api=module.__name__)
