"""The code that runs inside a subinterpreter of the `interpreters` approach
for a task. It imports as little as it can: CPython 3.12's isolated
subinterpreters crash on some extension modules (hashlib, asyncio's)."""

from __future__ import annotations

import os
import sys
import time
from typing import Any

from ..coordinator import gil_enabled
from . import calls as calls_module
from .calls import Job, Unpicklable, dumps
from .target import TaskError, load


def serve(target: str, paths: list[str], calls: int, rounds: int, w: int,
          workers: int, hello_fd: int, go_fd: int, out_path: str) -> None:
    """Runs inside subinterpreter w: loads the task, says hello (its GIL
    state), waits to be released, runs its stripe, writes the outcomes
    (pickled) to `out_path`."""
    calls_module.PURE_PICKLE = sys.version_info < (3, 13)
    try:
        function, is_async = load(target, paths)
    except TaskError as error:
        with open(out_path, "wb") as out:
            out.write(dumps({"error": str(error)}))
        os.write(hello_fd, b"-")
        return
    gil = gil_enabled()
    os.write(hello_fd, b"1" if gil else b"0" if gil is False else b"?")
    os.read(go_fd, 1)
    job = Job(function, is_async, calls, rounds)
    try:
        done: Any = {"outcomes": [job.run(p, f"interpreter-{w}", send_back=True)
                                  for p in job.stripe(w, workers)]}
    except Unpicklable as error:
        done = {"unpicklable": str(error)}
    # The work ends here: destroying the subinterpreter is teardown.
    done["done"] = time.monotonic()
    with open(out_path, "wb") as out:
        out.write(dumps(done))
