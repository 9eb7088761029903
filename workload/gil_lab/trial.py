"""One trial, as the runner speaks it (docs/trial-protocol.md): read the
spec, set up, let the approach run the tasks, print one JSON object."""

from __future__ import annotations

import json
import math
import os
import platform
import sys
import sysconfig
import time
import traceback
from typing import Any

from . import knowledge
from .approaches import APPROACHES, Trial, load
from .coordinator import gil_enabled
from .digest import digest, hex_digest
from .scenarios import SCENARIOS, make_tasks

#: Version of the trial protocol spoken here.
PROTOCOL = 1
#: multiprocessing start methods a spec may name.
START_METHODS = ("fork", "spawn", "forkserver")


class BadSpec(Exception):
    """The spec cannot be run as given; the message names the fix."""


def parse_spec(argv: list[str]) -> dict[str, Any]:
    """The spec from the command line, checked, with defaults filled in."""
    if len(argv) != 1:
        raise BadSpec("expected exactly one argument, the trial spec as JSON, e.g. "
                      '\'{"scenario": "cpu", "approach": "threads", "workers": 2}\'')
    try:
        raw = json.loads(argv[0])
    except ValueError as error:
        raise BadSpec(f"the spec is not valid JSON ({error}); pass one JSON object") from None
    if not isinstance(raw, dict):
        raise BadSpec("the spec must be a JSON object, e.g. "
                      '{"scenario": "cpu", "approach": "sequential"}')
    spec = {
        "scenario": raw.get("scenario"),
        "approach": raw.get("approach"),
        "workers": raw.get("workers", 1),
        "scale": raw.get("scale", 1.0),
        "seed": raw.get("seed", 1),
        "start_method": raw.get("start_method"),
        "llm": raw.get("llm"),
        "ray_address": raw.get("ray_address"),
    }
    if spec["scenario"] not in SCENARIOS:
        raise BadSpec(f"unknown scenario {spec['scenario']!r}; set \"scenario\" to one of "
                      + ", ".join(SCENARIOS))
    if spec["approach"] not in APPROACHES:
        raise BadSpec(f"unknown approach {spec['approach']!r}; set \"approach\" to one of "
                      + ", ".join(APPROACHES))
    workers = spec["workers"]
    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
        raise BadSpec(f"\"workers\" must be an integer >= 1, got {workers!r}")
    scale = spec["scale"]
    if (not isinstance(scale, (int, float)) or isinstance(scale, bool)
            or not math.isfinite(scale) or scale <= 0):
        raise BadSpec(f"\"scale\" must be a number > 0, got {scale!r}")
    spec["scale"] = float(scale)
    seed = spec["seed"]
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**64:
        raise BadSpec(f"\"seed\" must be an integer in [0, 2^64), got {seed!r}")
    method = spec["start_method"]
    if method is not None and method not in START_METHODS:
        raise BadSpec(f"\"start_method\" must be null or one of {', '.join(START_METHODS)}, "
                      f"got {method!r}")
    address = spec["ray_address"]
    if spec["approach"] != "ray":
        spec["ray_address"] = None
    elif address is not None and (not isinstance(address, str) or not address):
        raise BadSpec(f"\"ray_address\" must be null or a cluster address such as "
                      f"\"127.0.0.1:6379\", got {address!r}")
    if SCENARIOS[spec["scenario"]].uses_llm:
        if spec["llm"] is None:
            raise BadSpec(f"the {spec['scenario']} scenario calls an LLM endpoint: give the spec "
                          'an "llm" object, e.g. {"url": "http://127.0.0.1:8000/v1"} '
                          "(`gil-lab llm-serve` runs one)")
        # Imported only here: urllib is no part of the other scenarios' start-up.
        from .llm_client import LlmConfig

        try:
            spec["llm"] = LlmConfig.from_dict(spec["llm"]).to_dict()
        except ValueError as error:
            raise BadSpec(str(error)) from None
    else:
        spec["llm"] = None
    return spec


def runtime() -> dict[str, Any]:
    """Facts about the interpreter running the trial."""
    return {
        "implementation": platform.python_implementation(),
        "version": platform.python_version(),
        "free_threaded_build": sysconfig.get_config_var("Py_GIL_DISABLED") == 1,
        "pid": os.getpid(),
    }


def skip_reason(spec: dict[str, Any], module: Any) -> str | None:
    """Why the approach cannot run on this interpreter, or None."""
    reason = module.unavailable()
    if reason is None and spec["approach"] == "processes" and spec["start_method"]:
        import multiprocessing

        if spec["start_method"] not in multiprocessing.get_all_start_methods():
            reason = f"start method {spec['start_method']!r} is not available here"
    return reason


def run(spec: dict[str, Any], result: dict[str, Any], clock_t0: float) -> None:
    """Runs the trial and fills `result`."""
    module = load(spec["approach"])
    reason = skip_reason(spec, module)
    if reason is not None:
        result.update(result="skipped", reason=reason)
        return
    if spec["approach"] == "processes" and spec["start_method"] is None:
        import multiprocessing

        spec["start_method"] = multiprocessing.get_start_method()

    started = time.monotonic()
    if spec["llm"] is not None:
        from .llm_client import CONFIG_ENV
        from .scenarios import llm_module

        # Every worker (thread, process, subinterpreter) finds it here.
        os.environ[CONFIG_ENV] = json.dumps(spec["llm"])
        # Its imports (urllib, ...) and the client belong to setup, not to work.
        llm_module(spec["scenario"])
        from .io_scenario import blocking_client

        blocking_client()
    tasks = make_tasks(spec["scale"], spec["seed"])
    network = knowledge.build(spec["seed"]) if SCENARIOS[spec["scenario"]].uses_knowledge \
        else None
    setup = time.monotonic() - started
    trial = Trial(spec["scenario"], tasks, spec["workers"], spec["start_method"], network,
                  spec["seed"], spec["scale"], ray_address=spec["ray_address"])
    outcome = module.run(trial)

    records = sorted(outcome.records, key=lambda r: r.index)
    if [r.index for r in records] != [t.index for t in tasks]:
        raise RuntimeError(f"the approach returned {len(records)} records for "
                           f"{len(tasks)} tasks, or some twice")
    result.update(
        result="success",
        worker_gil_enabled=outcome.worker_gil_enabled,
        phases={"setup": setup, "pool_start": outcome.pool_start, "work": outcome.work,
                "teardown": outcome.teardown},
        sharing=outcome.sharing,
        api=outcome.api,
        tasks=[task_fields(r, clock_t0) for r in records],
        digest=hex_digest(digest((tasks[r.index].agent_code, r.index, r.result)
                                 for r in records)),
    )
    if outcome.orchestration is not None:
        result["orchestration"] = outcome.orchestration
    if spec["llm"] is not None:
        result["llm_calls"] = [dict(call_fields(call, clock_t0), task=r.index, call=n)
                               for r in records for n, call in enumerate(r.calls)]


def task_fields(record: Any, clock_t0: float) -> dict[str, Any]:
    """A task's record in the result, times relative to `clock_t0`; `node`
    only where a cluster node ran it."""
    fields = {"agent": record.agent, "index": record.index, "worker": record.worker,
              "start": record.start - clock_t0, "end": record.end - clock_t0,
              "tid": record.tid, "result": record.result}
    if record.node is not None:
        fields["node"] = record.node
    return fields


def call_fields(call: Any, clock_t0: float) -> dict[str, Any]:
    """A model call's record (a CallRecord, or its fields as a dict when it
    came back from a subinterpreter) with times relative to `clock_t0`."""
    fields = dict(call if isinstance(call, dict) else vars(call))
    fields["start"] -= clock_t0
    fields["end"] -= clock_t0
    return fields


def high_water_mark() -> int | None:
    """This process's high-water mark of resident memory (`VmHWM` of
    /proc/self/status, which exec resets), bytes; None without /proc. Not
    `resource.getrusage().ru_maxrss`: on Linux it survives exec, so it would
    count the RSS of the gil-lab process that forked this one."""
    try:
        with open("/proc/self/status", "rb") as status:
            for line in status:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def main(argv: list[str]) -> int:
    """Runs the trial given by `argv` and prints its result; the exit code."""
    clock_t0 = time.monotonic()
    stdout = sys.stdout
    # Anything a library prints goes to stderr: stdout carries one JSON object.
    sys.stdout = sys.stderr
    result: dict[str, Any] = {"protocol": PROTOCOL, "result": "error", "spec": None,
                              "runtime": runtime(), "gil_enabled_start": gil_enabled(),
                              "gil_enabled_end": None, "worker_gil_enabled": [],
                              "clock_t0": clock_t0, "phases": None, "sharing": None,
                              "tasks": [], "digest": None}
    try:
        spec = parse_spec(argv)
        result["spec"] = spec
        run(spec, result, clock_t0)
    except BadSpec as error:
        result["error"] = {"kind": "bad_spec", "message": str(error), "traceback": ""}
    except BaseException as error:  # report everything, even KeyboardInterrupt
        result.update(result="error", tasks=[], digest=None)
        result["error"] = {"kind": type(error).__name__, "message": str(error),
                           "traceback": traceback.format_exc()}
    result["gil_enabled_end"] = gil_enabled()
    result["high_water_mark_bytes"] = high_water_mark()
    sys.stdout = stdout
    stdout.write(json.dumps(result) + "\n")
    stdout.flush()
    return 1 if result["result"] == "error" else 0
