"""Runs one trial of a task: ``python -m gil_lab.task.runner '<spec-json>'``
prints exactly one JSON object on stdout, like ``gil_lab.runner``
(docs/trial-protocol.md, docs/tasks.md).

The spec is a trial spec with ``"scenario": "task"`` and a ``task`` object:
``name``, ``target``, ``path`` (directories to import from), ``calls``,
``rounds`` (``--stress``), ``reference`` (a file of the sequential calls'
digests, or null), ``memory_limit_mb``, ``timeout_s`` and ``report_calls``
(put every call's digest into the result).
"""

from __future__ import annotations

import faulthandler
import json
import os
import sys
import threading
import time
import traceback
from typing import Any

from ..approaches import APPROACHES as WORKLOAD_APPROACHES
from ..coordinator import gil_enabled
from ..trial import PROTOCOL, runtime
from . import pools, ray_actors, watchdog, workers
from .calls import Job, Outcome, Unpicklable
from .digest import combine
from .target import TaskError, load

#: Approach name -> how it runs a task.
APPROACHES = ("sequential", "threads", "processes", "interpreters", "asyncio",
              "asyncio+threads", "ray")
#: Records of the trial's timeline per worker at most (calls are grouped).
RECORDS_PER_WORKER = 64
#: Call indices named when results differ.
NAMED = 10


class BadSpec(Exception):
    """The spec cannot be run as given."""


class NoTaskPath(Exception):
    """An approach of the workload that has no way to run a task yet."""


def parse_spec(argv: list[str]) -> dict[str, Any]:
    """The spec from the command line, checked."""
    if len(argv) != 1:
        raise BadSpec("expected exactly one argument, the trial spec as JSON")
    try:
        spec = json.loads(argv[0])
    except ValueError as error:
        raise BadSpec(f"the spec is not valid JSON ({error})") from None
    task = spec.get("task") if isinstance(spec, dict) else None
    if not isinstance(task, dict):
        raise BadSpec('a task spec has a "task" object (gil-lab bench --task writes it)')
    if spec.get("approach") not in APPROACHES and spec.get("approach") in WORKLOAD_APPROACHES:
        raise NoTaskPath(f"the {spec['approach']} approach does not run a task yet (it runs "
                         "the built-in scenarios only)")
    if spec.get("approach") not in APPROACHES:
        raise BadSpec(f"unknown approach {spec.get('approach')!r}; one of "
                      + ", ".join(APPROACHES))
    workers_ = spec.get("workers", 1)
    if not isinstance(workers_, int) or workers_ < 1:
        raise BadSpec(f'"workers" must be an integer >= 1, got {workers_!r}')
    calls = task.get("calls")
    if not isinstance(calls, int) or calls < 1:
        raise BadSpec(f'"task.calls" must be an integer >= 1, got {calls!r}')
    spec.setdefault("start_method", None)
    task.setdefault("rounds", 1)
    task.setdefault("path", [])
    task.setdefault("reference", None)
    task.setdefault("memory_limit_mb", None)
    task.setdefault("timeout_s", None)
    task.setdefault("report_calls", False)
    return spec


def approach(spec: dict[str, Any], job: Job) -> pools.Ran:
    """Runs the job under the spec's approach."""
    name, count, task = spec["approach"], spec["workers"], spec["task"]
    if name == "sequential":
        return pools.sequential(job, count)
    if name == "threads":
        return pools.threads(job, count)
    if name == "asyncio":
        return pools.asyncio_loop(job, count)
    if name == "asyncio+threads":
        return pools.asyncio_threads(job, count)
    if name == "processes":
        return workers.processes(job, count, task["target"], task["path"],
                                 spec["start_method"])
    if name == "ray":
        return ray_actors.run(job, count, task["target"], task["path"], spec.get("ray_address"))
    return workers.interpreters(job, count, task["target"], task["path"])


def timeline(name: str, job: Job, outcomes: list[Outcome], clock_t0: float) -> list[dict]:
    """The trial's task records: per worker, runs of consecutive calls
    grouped so that a worker has at most RECORDS_PER_WORKER of them."""
    by_worker: dict[str, list[Outcome]] = {}
    for outcome in sorted(outcomes, key=lambda o: o.start):
        by_worker.setdefault(outcome.worker, []).append(outcome)
    records = []
    for worker, mine in by_worker.items():
        size = -(-len(mine) // RECORDS_PER_WORKER)
        for k in range(0, len(mine), size):
            group = mine[k:k + size]
            records.append({"agent": name, "index": group[0].position, "worker": worker,
                            "start": group[0].start - clock_t0,
                            "end": group[-1].end - clock_t0})
    return sorted(records, key=lambda r: (r["start"], r["index"]))


def compare(task: dict[str, Any], digests: list[str]) -> dict[str, Any]:
    """The calls' digests against the sequential reference, when there is one."""
    report: dict[str, Any] = {"compared": False, "mismatches": 0, "first_mismatches": []}
    if not task["reference"]:
        return report
    try:
        with open(task["reference"]) as source:
            reference = json.load(source)
    except (OSError, ValueError):
        return report
    if len(reference) != len(digests):
        return report
    differ = [p for p, (mine, theirs) in enumerate(zip(digests, reference)) if mine != theirs]
    report.update(compared=True, mismatches=len(differ), first_mismatches=differ[:NAMED])
    return report


def run(spec: dict[str, Any], result: dict[str, Any], clock_t0: float) -> None:
    """Runs the trial and fills `result`."""
    task = spec["task"]
    started = time.monotonic()
    try:
        if spec["approach"] == "ray":
            function, is_async = ray_actors.load_here(task["target"], task["path"])
        else:
            function, is_async = load(task["target"], task["path"])
        job = Job(function, is_async, task["calls"], task["rounds"])
        setup = time.monotonic() - started
        if spec["approach"] == "processes" and spec["start_method"] is None:
            import multiprocessing

            spec["start_method"] = multiprocessing.get_start_method()
        ran = approach(spec, job)
    except pools.Skip as skip:
        result.update(result="skipped", reason=str(skip))
        return
    outcomes = sorted(ran.outcomes, key=lambda o: o.position)
    if [o.position for o in outcomes] != list(range(job.positions)):
        raise RuntimeError(f"the approach returned {len(outcomes)} outcomes for "
                           f"{job.positions} calls, or some twice")
    failed = [o for o in outcomes if o.error is not None]
    if failed:
        first = failed[0]
        more = f" (and {len(failed) - 1} more calls raised)" if len(failed) > 1 else ""
        kind, message = first.error  # type: ignore[misc]
        raise CallRaised(f"call {first.position % job.calls} raised {kind}: {message}{more}")
    digests = [o.digest or "" for o in outcomes]
    calls = {"count": job.calls, "rounds": job.rounds, "is_async": is_async,
             "cpu_share": ran.cpu_share, **compare(task, digests)}
    if task["report_calls"]:
        calls["digests"] = digests
    result.update(
        result="success",
        worker_gil_enabled=ran.worker_gil_enabled,
        phases={"setup": setup, "pool_start": ran.pool_start, "work": ran.work,
                "teardown": ran.teardown},
        tasks=timeline(task["name"], job, outcomes, clock_t0),
        digest=combine(digests),
        calls=calls,
    )


class CallRaised(Exception):
    """A call of the task raised; the message names the call and the exception."""


#: Error kinds by exception: how gil-lab tells the causes apart.
KINDS = {CallRaised: "call_raised", Unpicklable: "unpicklable_result"}


def main(argv: list[str]) -> int:
    """Runs the trial given by `argv` and prints its result; the exit code."""
    clock_t0 = time.monotonic()
    # A crash (SIGSEGV in an extension) prints where the task was on stderr.
    faulthandler.enable()
    stdout = sys.stdout
    sys.stdout = sys.stderr
    result: dict[str, Any] = {"protocol": PROTOCOL, "result": "error", "spec": None,
                              "runtime": runtime(), "gil_enabled_start": gil_enabled(),
                              "gil_enabled_end": None, "worker_gil_enabled": [],
                              "clock_t0": clock_t0, "phases": None, "sharing": None,
                              "tasks": [], "digest": None}
    printed = threading.Lock()

    def emit(final: dict[str, Any]) -> None:
        final["gil_enabled_end"] = gil_enabled()
        stdout.write(json.dumps(final) + "\n")
        stdout.flush()

    def stop(kind: str, message: str) -> None:
        # From the watchdog: print the error and leave at once (gil-lab kills
        # the rest of the process group).
        if printed.acquire(blocking=False):
            emit(dict(result, result="error", tasks=[], digest=None,
                      error={"kind": kind, "message": message, "traceback": ""}))
            os._exit(1)

    try:
        spec = parse_spec(argv)
        result["spec"] = spec
        task = spec["task"]
        deadline = task["timeout_s"] * 0.9 - (time.monotonic() - clock_t0) \
            if task["timeout_s"] else None
        watchdog.start(deadline, stop)
        run(spec, result, clock_t0)
    except NoTaskPath as error:
        result.update(result="skipped", reason=str(error))
    except BadSpec as error:
        result["error"] = {"kind": "bad_spec", "message": str(error), "traceback": ""}
    except TaskError as error:
        result.update(result="error", tasks=[], digest=None)
        result["error"] = {"kind": error.kind, "message": str(error), "traceback": ""}
    except BaseException as error:  # report everything, even KeyboardInterrupt
        result.update(result="error", tasks=[], digest=None)
        kind = KINDS.get(type(error), type(error).__name__)
        # The task's own failures are findings: the runner's stack says nothing.
        result["error"] = {"kind": kind, "message": str(error),
                           "traceback": "" if type(error) in KINDS else traceback.format_exc()}
    limit = (result["spec"] or {}).get("task", {}).get("memory_limit_mb")
    error = result.get("error") or {}
    if limit is not None and "MemoryError" in f"{error.get('kind')} {error.get('message')}":
        # Under an rlimit an allocation past the limit fails: say which limit.
        result["error"] = {"kind": "memory_limit", "traceback": "",
                           "message": f"the task ran out of memory at --memory-limit {limit} MB "
                           f"({error.get('message') or 'MemoryError'}): raise --memory-limit, "
                           "or make the task use less memory"}
    if not printed.acquire(blocking=False):
        time.sleep(60)  # the watchdog is printing and exiting
    emit(result)
    return 1 if result["result"] == "error" else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
