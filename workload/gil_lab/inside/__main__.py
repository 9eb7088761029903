"""`python -m gil_lab.inside '<spec-json>'`: inspects the units the spec names
and prints one JSON object (docs/inside-cpython.md).

Spec: `{"units": ["planner", ...], "task": {"target": "file.py:fn",
"paths": ["."]} | null, "tasks": 6, "seed": 42, "listing": true, "peak": true}`
(`peak`: measure one task's peak with tracemalloc, which slows allocation
down several times: a `bench` run leaves it out).
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
from typing import Any

from ..prng import SplitMix64
from . import bytecode, features, memory
from .units import WORKLOAD_UNITS, UnitError, task_unit, workload_unit

#: Version of the inspection's output.
PROTOCOL = 1
#: Warm-up tasks per unit when the spec does not say.
DEFAULT_TASKS = 6


class BadSpec(Exception):
    """The spec cannot be used as given; the message names the fix."""


def parse_spec(argv: list[str]) -> dict[str, Any]:
    if len(argv) != 1:
        raise BadSpec('expected one argument, the spec as JSON, e.g. \'{"units": ["solver"]}\'')
    try:
        spec = json.loads(argv[0])
    except ValueError as error:
        raise BadSpec(f"the spec is not valid JSON ({error})") from None
    if not isinstance(spec, dict):
        raise BadSpec("the spec must be a JSON object")
    units = spec.get("units", list(WORKLOAD_UNITS))
    if not isinstance(units, list) or not all(isinstance(u, str) for u in units):
        raise BadSpec('"units" must be a list of unit names')
    tasks = spec.get("tasks", DEFAULT_TASKS)
    if not isinstance(tasks, int) or isinstance(tasks, bool) or not 1 <= tasks <= 1000:
        raise BadSpec('"tasks" must be an integer from 1 to 1000')
    task = spec.get("task")
    if task is not None and not (isinstance(task, dict) and isinstance(task.get("target"), str)):
        raise BadSpec('"task" must be {"target": "FILE.py:FUNCTION", "paths": [...]}')
    return {
        "units": units,
        "task": task,
        "tasks": tasks,
        "seed": int(spec.get("seed", 42)),
        "listing": bool(spec.get("listing", True)),
        "peak": bool(spec.get("peak", True)),
    }


def inspect_unit(name: str, kind: str, run: Any, arguments: list[int],
                 specialisable: set[str] | None, spec: dict[str, Any]) -> dict[str, Any]:
    """Profiles one task, warms up with the others while watching the
    collector, then reads the hot functions' bytecode and one task's peak."""
    package = os.path.dirname(os.path.abspath(__file__))
    hot = bytecode.hot_code(lambda: run(arguments[0]), skip=(package,))
    watch = memory.CollectorWatch()
    watch.start()
    started = time.perf_counter()
    for argument in arguments:
        run(argument)
    seconds = (time.perf_counter() - started) / len(arguments)
    watch.stop()
    functions = [bytecode.describe(code, share, specialisable, spec["listing"] and i == 0)
                 for i, (code, share) in enumerate(hot)]
    peak = memory.peak_bytes(lambda: run(arguments[0])) if spec["peak"] else None
    return {
        "name": name,
        "kind": kind,
        "tasks": len(arguments),
        "seconds_per_task": round(seconds, 6),
        "specialisation": bytecode.summarise(functions),
        "functions": functions,
        "memory": {**watch.per_task(len(arguments)), "peak_bytes_per_task": peak},
    }


def inspect(spec: dict[str, Any]) -> dict[str, Any]:
    specialisable = bytecode.families() if bytecode.adaptive_view_available() else None
    rng = SplitMix64(spec["seed"])
    seeds = [rng.next_u64() for _ in range(spec["tasks"])]
    units = []
    for name in spec["units"]:
        kind, run = workload_unit(name, spec["seed"])
        units.append(inspect_unit(name, kind, run, seeds, specialisable, spec))
    task = spec["task"]
    if task is not None:
        run = task_unit(task["target"], list(task.get("paths") or ["."]))
        units.append(inspect_unit(task["target"], "task", run, list(range(spec["tasks"])),
                                  specialisable, spec))
    seen = None
    if specialisable is not None:
        seen = any((u["specialisation"] or {}).get("specialised") for u in units)
    return {
        "protocol": PROTOCOL,
        "result": "success",
        "runtime": features.runtime(),
        "gc_thresholds": memory.thresholds(),
        "features": features.all_features(seen),
        "units": units,
    }


def error(kind: str, message: str, trace: str = "") -> dict[str, Any]:
    return {"protocol": PROTOCOL, "result": "error",
            "error": {"kind": kind, "message": message, "traceback": trace}}


def main(argv: list[str]) -> int:
    try:
        report = inspect(parse_spec(argv))
    except BadSpec as problem:
        report = error("bad_spec", str(problem))
    except UnitError as problem:
        report = error("bad_unit", str(problem))
    except BaseException as problem:  # a user's task may raise anything
        report = error("unit_failed", f"{type(problem).__name__}: {problem}",
                       traceback.format_exc())
    sys.stdout.write(json.dumps(report) + "\n")
    return 0 if report["result"] == "success" else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
