"""Prints one JSON object: CLOCK_MONOTONIC at start, the environment and the
working directory, and whether stdin is at end of file."""
import json
import os
import sys
import time

t0 = time.monotonic()
print(json.dumps({
    "monotonic": t0,
    "env": dict(os.environ),
    "cwd": os.getcwd(),
    "stdin": sys.stdin.read() if sys.stdin is not None else None,
    "pgid": os.getpgid(0),
    "pid": os.getpid(),
}))
