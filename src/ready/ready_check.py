"""Two questions `gil-lab ready` asks an installed distribution.

Embedded in gil-lab (src/ready/imports.rs) and run in the checked virtual
environment's Python, isolated (``-I -B -c``)::

    python -I -B -c <this file> modules DISTRIBUTION
    python -I -B -c <this file> subinterpreter MODULE

``modules`` prints the distribution's top-level importable modules (from
its ``top_level.txt``, else from the files it installed) as one JSON
object ``{"modules": [...]}``; ``subinterpreter`` imports MODULE in a
subinterpreter with its own GIL (what the ``interpreters`` approach does)
and prints ``{"available": bool, "imported": bool, "error": str|null}``.
The GIL check itself is ``check_imports.py``'s (src/interpreters).
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import sys

#: Top-level names that are a distribution's tests or docs, not its API.
NOT_API = {"test", "tests", "testing", "docs", "doc", "examples", "benchmarks"}


def top_level(distribution: str) -> list[str]:
    dist = importlib.metadata.distribution(distribution)
    names: set[str] = set()
    listed = dist.read_text("top_level.txt")
    if listed:
        names.update(line.strip() for line in listed.splitlines())
    else:
        for file in dist.files or []:
            parts = file.parts
            if not parts or parts[0].startswith("..") or parts[0].endswith(
                (".dist-info", ".data", ".egg-info", ".pth")
            ):
                continue
            if len(parts) == 1:
                name, _, suffix = parts[0].partition(".")
                if suffix == "py" or suffix.endswith(("so", "pyd")):
                    names.add(name)
            elif parts[0] != "__pycache__":
                names.add(parts[0])
    return sorted(
        n
        for n in names
        if n.isidentifier() and n not in NOT_API and "/" not in n
    )


def in_subinterpreter(module: str) -> dict[str, object]:
    code = f"import {module}"
    try:
        from concurrent import interpreters  # type: ignore[attr-defined]  # 3.14+
    except ImportError:
        interpreters = None
    if interpreters is not None:
        interp = interpreters.create()
        try:
            interp.exec(code)
            return {"available": True, "imported": True, "error": None}
        except Exception as exc:  # noqa: BLE001 - ExecutionFailed carries the reason
            return {"available": True, "imported": False, "error": str(exc)}
        finally:
            interp.close()
    try:
        import _interpreters  # type: ignore[import-not-found]  # 3.13
    except ImportError:
        return {"available": False, "imported": False, "error": None}
    interp = _interpreters.create()
    try:
        failure = _interpreters.exec(interp, code)
    finally:
        _interpreters.destroy(interp)
    if failure is None:
        return {"available": True, "imported": True, "error": None}
    message = getattr(failure, "formatted", None) or getattr(failure, "msg", None)
    return {"available": True, "imported": False, "error": str(message or failure)}


def main(argv: list[str]) -> int:
    # Whatever the module prints while importing goes to stderr: stdout
    # carries only the answer.
    stdout_fd = os.dup(1)
    os.dup2(2, 1)
    try:
        if len(argv) == 3 and argv[1] == "modules":
            answer: dict[str, object] = {"modules": top_level(argv[2])}
        elif len(argv) == 3 and argv[1] == "subinterpreter":
            answer = in_subinterpreter(argv[2])
        else:
            answer = {"error": "usage: ready_check modules DIST | subinterpreter MODULE"}
    except Exception as exc:  # noqa: BLE001 - reported as the answer
        answer = {"error": f"{type(exc).__name__}: {exc}"}
    sys.stdout.flush()
    os.dup2(stdout_fd, 1)
    sys.stdout.write(json.dumps(answer) + "\n")
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main(sys.argv)
