"""Imports one module and reports whether that turned the GIL back on.

Embedded in gil-lab (src/interpreters/check_imports.rs) and run by
``gil-lab python check-imports`` in a fresh isolated process per module
(``-I -B``, so a module imported earlier cannot have turned the GIL on
already)::

    python -I -B -c <this file> MODULE [EXTRA_SYS_PATH_DIR ...]

Prints exactly one JSON object on stdout::

    {"result": "success", "module": ..., "imported": true|false,
     "gil_before": bool|null, "gil_after": bool|null,
     "warnings": [str, ...], "error": null | {"type": ..., "message": ...}}

On a free-threaded build, importing a C extension that does not declare
``Py_mod_gil`` enables the GIL for the whole process and emits
``RuntimeWarning: The global interpreter lock (GIL) has been enabled to load
module '...'`` (Python/import.c).
"""

from __future__ import annotations

import importlib
import json
import os
import site
import sys
import warnings


def gil_enabled() -> bool | None:
    function = getattr(sys, "_is_gil_enabled", None)
    return None if function is None else bool(function())


def extend_path(extra: list[str]) -> None:
    """Where a plain ``python -c "import MODULE"`` would look, minus
    PYTHONPATH (isolated mode drops it and the user site): the user site is
    added back, and the directories gil-lab was given go first."""
    user_site = site.getusersitepackages()
    if isinstance(user_site, str) and os.path.isdir(user_site):
        site.addsitedir(user_site)
    for directory in reversed(extra):
        sys.path.insert(0, os.path.abspath(directory))


def check(module: str) -> dict[str, object]:
    before = gil_enabled()
    error = None
    # A module may print while it is imported (even from C, on fd 1): send
    # that to stderr so that stdout carries only the one JSON object.
    stdout_fd = os.dup(1)
    sys.stdout.flush()
    os.dup2(2, 1)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                importlib.import_module(module)
            except BaseException as exc:  # noqa: BLE001 - SystemExit too: report it
                error = {"type": type(exc).__name__, "message": str(exc)}
    finally:
        sys.stdout.flush()
        os.dup2(stdout_fd, 1)
        os.close(stdout_fd)
    return {
        "result": "success",
        "module": module,
        "imported": error is None,
        "gil_before": before,
        "gil_after": gil_enabled(),
        "warnings": [
            "%s: %s" % (w.category.__name__, w.message) for w in caught
        ],
        "error": error,
    }


def main(argv: list[str]) -> int:
    if len(argv) < 2 or not argv[1]:
        result: dict[str, object] = {
            "result": "error",
            "kind": "bad_arguments",
            "message": "usage: check_imports MODULE [DIR ...]",
        }
    else:
        extend_path(argv[2:])
        result = check(argv[1])
    sys.stdout.write(json.dumps(result, sort_keys=True) + "\n")
    sys.stdout.flush()
    # Exit at once: threads the module started, or atexit handlers, must not
    # keep this process alive or print after the answer.
    os._exit(0 if result["result"] == "success" else 1)


if __name__ == "__main__":
    main(sys.argv)
