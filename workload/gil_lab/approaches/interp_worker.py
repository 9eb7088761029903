"""The code that runs inside a subinterpreter of the `interpreters` approach.

A subinterpreter shares nothing with the main interpreter but the process: it
rebuilds the task list (and, in the `shared` scenario, the knowledge base)
from the seed, then takes task numbers from a pipe shared by all workers and
writes one JSON line per finished task to its own result pipe.
"""

from __future__ import annotations

import json
import os
import time

from .. import knowledge
from ..coordinator import gil_enabled, perform
from ..scenarios import SCENARIOS, Task, llm_module, make_tasks

#: Bytes per task number in the task pipe: a pipe write of at most PIPE_BUF
#: bytes is atomic and so is a read of a whole record, so several workers can
#: share one pipe without a lock.
RECORD_BYTES = 8


def current_id() -> int:
    """This interpreter's id (3.13+ returns (id, whence); 3.12 an id object)."""
    try:
        import _interpreters as module
    except ImportError:
        import _xxsubinterpreters as module  # type: ignore[no-redef]
    current = module.get_current()
    if isinstance(current, tuple):
        current = current[0]
    return int(current)


def write_line(fd: int, value: object) -> None:
    """Writes one JSON line, looping over partial writes."""
    data = (json.dumps(value) + "\n").encode()
    while data:
        data = data[os.write(fd, data):]


def serve(task_fd: int, result_fd: int, scenario: str, scale: float, seed: int) -> None:
    """Worker loop: a hello line, then one line per task until the task pipe
    is closed."""
    worker = f"interpreter-{current_id()}"
    started = time.monotonic()
    network = knowledge.build(seed) if SCENARIOS[scenario].uses_knowledge else None
    rebuild = time.monotonic() - started
    if SCENARIOS[scenario].uses_llm:
        llm_module(scenario)  # import the HTTP client before the work phase
    tasks: list[Task] = make_tasks(scale, seed)
    write_line(result_fd, {"worker": worker, "gil": gil_enabled(), "sharing_cost": rebuild})
    while True:
        data = os.read(task_fd, RECORD_BYTES)
        if not data:
            return
        record = perform(scenario, tasks[int.from_bytes(data, "little")], network, worker)
        write_line(result_fd, [record.index, record.agent, record.worker, record.start,
                               record.end, record.result, [vars(c) for c in record.calls],
                               record.tid])


# The InterpreterPoolExecutor (3.14+) path: functions pickled by reference.
_CACHE: dict[tuple[str, int], knowledge.RoadNetwork | None] = {}


def pool_hello(scenario: str, seed: int) -> tuple[str, bool | None, float]:
    """Rebuilds this interpreter's knowledge base (once) and reports (worker,
    GIL state, seconds spent rebuilding)."""
    started = time.monotonic()
    if (scenario, seed) not in _CACHE:
        uses = SCENARIOS[scenario].uses_knowledge
        _CACHE[(scenario, seed)] = knowledge.build(seed) if uses else None
        if SCENARIOS[scenario].uses_llm:
            llm_module(scenario)  # import the HTTP client before the work phase
    return f"interpreter-{current_id()}", gil_enabled(), time.monotonic() - started


def pool_job(scenario: str, seed: int, task: Task) -> list:
    """Runs one task in this interpreter; the record as a plain list."""
    pool_hello(scenario, seed)
    record = perform(scenario, task, _CACHE[(scenario, seed)], f"interpreter-{current_id()}")
    return [record.index, record.agent, record.worker, record.start, record.end,
            record.result, [vars(c) for c in record.calls], record.tid]
