"""What gil-lab checks of a task on each interpreter before any trial:
``python -m gil_lab.task.probe '<json>'`` imports the target, finds the
function, notes the modules the import added to ``sys.modules`` and whether
the GIL came back on (and which module's import warned that it turned it
on), and, unless the number of calls is given, times calls to pick one that
makes the sequential cell last about ``seconds``. Prints one JSON object.
"""

from __future__ import annotations

import faulthandler
import json
import re
import sys
import time
import warnings
from typing import Any

from ..coordinator import gil_enabled
from .calls import Job, describe_error
from .target import TaskError, load

#: "The global interpreter lock (GIL) has been enabled to load module 'x'".
GIL_WARNING = re.compile(r"GIL\) has been enabled to load module '([^']+)'")
#: Calibration times calls for at least this share of the target duration.
SAMPLE_SHARE = 0.25
#: Most calls a calibrated task makes.
MAX_CALLS = 100_000


def calibrate(job: Job, seconds: float) -> dict[str, Any]:
    """Calls 0, 1, 2, ... until SAMPLE_SHARE × seconds have passed: the
    number of calls that lasts `seconds`, and the calls' CPU ÷ wall time."""
    wall0, cpu0 = time.perf_counter(), time.process_time()
    made = 0
    while made < MAX_CALLS:
        try:
            job.invoke(made)
        except Exception as error:
            kind, message = describe_error(error)
            return {"error": {"index": made, "type": kind, "message": message}}
        made += 1
        if time.perf_counter() - wall0 >= seconds * SAMPLE_SHARE:
            break
    wall = time.perf_counter() - wall0
    cpu = time.process_time() - cpu0
    per_call = wall / made
    calls = max(1, min(MAX_CALLS, round(seconds / per_call))) if per_call > 0 else MAX_CALLS
    return {"calls": calls, "per_call_s": per_call, "cpu_share": cpu / wall if wall else None}


def main(argv: list[str]) -> int:
    """Probes the task given by `argv[0]` (target, path, seconds, calls)."""
    faulthandler.enable()
    stdout, sys.stdout = sys.stdout, sys.stderr
    request = json.loads(argv[0])
    before = set(sys.modules)
    answer: dict[str, Any] = {"result": "success", "gil_before": gil_enabled()}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            function, is_async = load(request["target"], request["path"])
        except TaskError as error:
            answer = {"result": "error", "kind": error.kind, "message": str(error)}
    if answer["result"] == "success":
        texts = [f"{w.category.__name__}: {w.message}" for w in caught]
        answer.update(
            is_async=is_async,
            gil_after_import=gil_enabled(),
            modules=sorted(set(sys.modules) - before),
            gil_warnings=[t for t in texts if "GIL" in t],
            gil_enabled_by=[m for t in texts for m in GIL_WARNING.findall(t)],
        )
        if request.get("calls") is None:
            answer.update(calibrate(Job(function, is_async, 1, 1), request["seconds"]))
        answer["gil_after_calls"] = gil_enabled()
    stdout.write(json.dumps(answer) + "\n")
    stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
