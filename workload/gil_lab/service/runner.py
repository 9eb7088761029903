"""`python -m gil_lab.service.runner '<spec-json>'`: one cell of the
`service` scenario (docs/service.md). Prints exactly one JSON object.

Spec: `approach` (threads, processes, asyncio, asyncio+threads), `workers`,
`seed`, `llm` (the endpoint, as in the trial protocol), then either
`calibrate: N` (N requests one after another: the one-core capacity) or
`rates` (requests per second, the ladder), `level_s` (seconds of arrivals
per level), `drain_s` (the wait for stragglers after the last arrival),
`stop_after_failures` and `slo_s` (the ladder stops after that many levels
in a row whose p99 is above 2 x slo_s or that dropped requests),
`min_requests` (arrivals per level at least, however low the rate),
`repeat_marginal` (a level over slo_s but not clearly is run once more: two
levels with the same rate follow each other, judged pooled), and
`stall` (tests: `[request index, seconds]`, that request's worker sleeps).

Result: `result` (`success` or `error`), `runtime`, `gil_enabled_end`,
`calibration` or `levels` (each: `rate`, `scheduled`, `first_arrival`,
`deadline`, `dropped`, `requests`: per finished request `index`,
`scheduled`, `start`, `end`, `ok`, `error`, `digest`, `tid`, `rounds`: per
round `call_start`, `sent` (the endpoint's stamp, null from other servers),
`answered`, `step_start`, `step_end`; all CLOCK_MONOTONIC seconds).
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from typing import Any

from ..coordinator import gil_enabled
from ..llm_client import CONFIG_ENV
from ..trial import runtime
from . import load, request


def p99(values: list[float]) -> float:
    """The 99th percentile (nearest rank) of a non-empty list."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]


def broken(level: dict[str, Any], slo_s: float) -> bool:
    """Clearly over the objective: drops, or a p99 above twice it."""
    latencies = [r["end"] - r["scheduled"] for r in level["requests"]]
    return level["dropped"] > 0 or not latencies or p99(latencies) > 2 * slo_s


def marginal(level: dict[str, Any], slo_s: float) -> bool:
    """Over the objective but not clearly: nothing dropped and a p99 above
    it by at most twice. Such a level is run once more (one noisy moment on
    a shared machine must not decide), and gil-lab judges both runs pooled."""
    latencies = [r["end"] - r["scheduled"] for r in level["requests"]]
    return not broken(level, slo_s) and p99(latencies) > slo_s


def run(spec: dict[str, Any]) -> dict[str, Any]:
    """Runs the spec; the result's fields besides `result` and `runtime`."""
    if spec.get("llm") is None:
        raise ValueError('the service scenario needs an LLM endpoint: give the spec an "llm" object')
    os.environ[CONFIG_ENV] = json.dumps(spec["llm"])
    seed = int(spec.get("seed", 1))
    stall = spec.get("stall")
    request.set_stall((int(stall[0]), float(stall[1])) if stall else None)
    if spec.get("calibrate"):
        return {"calibration": load.calibrate(seed, int(spec["calibrate"]))}
    service = load.Service(spec["approach"], int(spec.get("workers", 4)))
    levels = []
    failures = 0
    slo_s = float(spec.get("slo_s", 0.25))
    attempts = 2 if spec.get("repeat_marginal", False) else 1
    try:
        for rate in spec["rates"]:
            for _ in range(attempts):
                level = service.level(float(rate), float(spec.get("level_s", 2.0)),
                                      float(spec.get("drain_s", 1.0)), seed,
                                      int(spec.get("min_requests", 8)))
                levels.append(level)
                if not marginal(level, slo_s):
                    break
            failures = failures + 1 if broken(level, slo_s) else 0
            if failures >= int(spec.get("stop_after_failures", 2)):
                break
    finally:
        service.close()
    return {"levels": levels}


def main(argv: list[str]) -> int:
    """Runs the spec in argv[0]; prints the result; the exit code."""
    stdout = sys.stdout
    sys.stdout = sys.stderr
    result: dict[str, Any] = {"protocol": 1, "result": "error", "runtime": runtime()}
    try:
        if len(argv) != 1:
            raise ValueError("expected exactly one argument, the service spec as JSON")
        result.update(run(json.loads(argv[0])))
        result["result"] = "success"
    except BaseException as error:  # report everything, even KeyboardInterrupt
        result["error"] = {"kind": type(error).__name__, "message": str(error),
                           "traceback": traceback.format_exc()}
    result["gil_enabled_end"] = gil_enabled()
    sys.stdout = stdout
    stdout.write(json.dumps(result) + "\n")
    stdout.flush()
    return 1 if result["result"] == "error" else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
