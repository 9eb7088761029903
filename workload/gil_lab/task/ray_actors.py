"""`ray` for a task: `workers` Ray actors (one CPU each) on a local cluster
started for the trial, or on the cluster at the spec's `ray_address`
(`gil_lab.approaches.ray_cluster` connects and ships the code).

The task's code travels with the trial: the task's file and the top-level
modules and packages of its directories (the file's folder and each
`--task-path`) are uploaded as the actors' `py_modules`, so a worker on
another node imports the task as the runner does here. Each actor loads the
task by its module name, takes its stripe of positions once every actor has
answered (as a `processes` worker does) and sends the results back pickled.

The Ray environment holds Ray only: a task whose imports are missing there
(`--task-requirements` is not applied to it) is skipped with the reason.
"""

from __future__ import annotations

import os
import time
from typing import Any

from ..approaches import ray_cluster
from ..coordinator import gil_enabled
from .calls import Job, Outcome, Unpicklable, unpack
from .pools import Ran, Skip
from .target import TaskError, load, module_name, split

#: What the Ray environment lacks, said when the task cannot be imported.
NOT_IN_RAY_ENV = ("the task cannot be imported in the Ray environment (it holds Ray only; "
                  "--task-requirements is not applied to it): ")
#: Directories never shipped from a task's folder.
SKIPPED_DIRS = {"__pycache__", "node_modules", "site-packages"}


def shipped(target: str, paths: list[str]) -> tuple[str, list[str]]:
    """(the target as the actors load it, the files and package directories
    to ship): a file target becomes `module:function`, importable from the
    shipped modules."""
    name, directories = module_name(target, paths)
    _, function = split(target)
    entries: list[str] = []
    for directory in dict.fromkeys(os.path.abspath(d) for d in directories):
        try:
            names = sorted(os.listdir(directory))
        except OSError:
            continue
        for entry in names:
            path = os.path.join(directory, entry)
            if entry.startswith(".") or entry in SKIPPED_DIRS:
                continue
            if entry.endswith(".py") and os.path.isfile(path):
                entries.append(path)
            elif os.path.isfile(os.path.join(path, "__init__.py")):
                entries.append(path)
    return f"{name}:{function}", entries


class TaskWorker:
    """One Ray actor: loads the task, then runs its stripe of calls. Made a
    Ray actor class in `ray` (this module imports without Ray)."""

    def __init__(self, number: int, target: str, calls: int, rounds: int) -> None:
        self.number = number
        self.error: str | None = None
        self.job: Job | None = None
        try:
            function, is_async = load(target, [])
            self.job = Job(function, is_async, calls, rounds)
        except TaskError as error:
            self.error = str(error)

    def hello(self) -> tuple[int, bool | None, str | None, float]:
        """(pid, GIL state, load error, this process's monotonic clock)."""
        return os.getpid(), gil_enabled(), self.error, time.monotonic()

    def stripe(self, workers: int) -> tuple[list[Outcome], str | None]:
        """This worker's calls, their results pickled; or the message of a
        result that cannot be pickled."""
        assert self.job is not None
        name = f"ray-{self.number}"
        try:
            return [self.job.run(p, name, send_back=True)
                    for p in self.job.stripe(self.number, workers)], None
        except Unpicklable as error:
            return [], str(error)


def run(job: Job, workers: int, target: str, paths: list[str], address: str | None) -> Ran:
    """The task's calls on `workers` Ray actors, one stripe each."""
    reason = ray_cluster.unavailable()
    if reason is not None:
        raise Skip(reason)
    actor_target, modules = shipped(target, paths)
    with ray_cluster.cluster(workers, address) as (ray, connect):
        step = time.monotonic()
        runtime_env = ray_cluster.ship(modules)
        actor_class = ray.remote(num_cpus=1)(TaskWorker).options(runtime_env=runtime_env)
        actors = [actor_class.remote(n, actor_target, job.calls, job.rounds)
                  for n in range(workers)]
        asked = time.monotonic()
        hellos = ray.get([actor.hello.remote() for actor in actors],
                         timeout=ray_cluster.WORKER_START_TIMEOUT_S)
        answered = time.monotonic()
        errors = [error for _, _, error, _ in hellos if error]
        if errors:
            raise Skip(NOT_IN_RAY_ENV + errors[0])
        pool_start = connect + time.monotonic() - step
        step = time.monotonic()
        parts = ray.get([actor.stripe.remote(workers) for actor in actors])
        work = time.monotonic() - step
        step = time.monotonic()
        for actor in actors:
            ray.kill(actor)
        del actors
        ray.shutdown()
        teardown = time.monotonic() - step
    outcomes = []
    for (part, unpicklable), (_, _, _, clock) in zip(parts, hellos):
        if unpicklable is not None:
            raise Unpicklable(unpicklable)
        # An actor on another node has its own monotonic clock: its times
        # are moved onto the runner's (to within the hello's round trip).
        shift = 0.0 if address is None else (asked + answered) / 2 - clock
        for outcome in part:
            outcome.start += shift
            outcome.end += shift
            outcomes.append(unpack(outcome))
    return Ran(outcomes, pool_start, work, teardown,
               worker_gil_enabled=[gil for _, gil, _, _ in hellos])


def load_here(target: str, paths: list[str]) -> Any:
    """`load` in the runner for a ray trial: an import that fails in the Ray
    environment skips the cell."""
    try:
        return load(target, paths)
    except TaskError as error:
        if error.kind == "import_failed":
            raise Skip(NOT_IN_RAY_ENV + str(error)) from None
        raise
