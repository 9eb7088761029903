"""Bytecode and specialisation: the hot functions of a unit (by own time
under the profiler) and, after warm-up, which of their instructions the
specialising adaptive interpreter (CPython 3.11+, PEP 659) replaced by a
specialised form.

An instruction is *specialisable* when its family has specialised forms
(`dis._specializations`), and *specialised* when `dis` with `adaptive=True`
shows another name than the plain bytecode at the same offset (3.11's
`*_ADAPTIVE` placeholders are not specialisations yet). Superinstructions
(3.11-3.12's `LOAD_FAST__LOAD_FAST`: two instructions fused, whatever the
types) are not counted, nor are the families that only have them.
"""

from __future__ import annotations

import cProfile
import dis
import os
from collections import Counter
from collections.abc import Callable
from types import CodeType
from typing import Any

#: Hot functions kept per unit: every function with at least this share of
#: the unit's Python own time (no cumulative cut-off: a function near the edge
#: would move in and out of the set from run to run, and the builds compared
#: should see the same functions)...
MIN_SHARE = 0.05
#: ... but never more than this many.
MAX_HOT = 6
#: Most frequent specialisations reported per unit.
TOP_SPECIALISATIONS = 8


def adaptive_view_available() -> bool:
    """Whether `dis` can show the specialised bytecode (CPython 3.11+)."""
    try:
        list(dis.get_instructions(adaptive_view_available.__code__, adaptive=True))
    except TypeError:
        return False
    return True


def families() -> set[str]:
    """Instruction names that have specialised forms (for the types seen,
    not only superinstructions)."""
    table = getattr(dis, "_specializations", None) or {}
    return {name for name, forms in table.items()
            if any(not is_superinstruction(form) for form in forms)}


def is_superinstruction(name: str) -> bool:
    """`LOAD_FAST__LOAD_FAST`: two instructions fused (3.11-3.12)."""
    return "__" in name


def hot_code(call: Callable[[], Any], skip: tuple[str, ...]) -> list[tuple[CodeType, float]]:
    """Runs `call` once under the profiler; the hot Python functions with their
    share of the Python own time (files under `skip` are left out)."""
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        call()
    finally:
        profiler.disable()
    own: dict[CodeType, float] = {}
    for entry in profiler.getstats():
        code = entry.code
        if not isinstance(code, CodeType) or code.co_filename.startswith(skip):
            continue
        own[code] = own.get(code, 0.0) + entry.inlinetime
    total = sum(own.values())
    if total <= 0.0:
        return []
    hot = [(code, seconds / total) for code, seconds in own.items()
           if seconds / total >= MIN_SHARE]
    hot.sort(key=lambda item: -item[1])
    return hot[:MAX_HOT]


def short_path(filename: str) -> str:
    """`gil_lab/agents/solver.py` for the workload, else the file's name
    relative to the current directory when it is below it."""
    marker = os.sep + "gil_lab" + os.sep
    if marker in filename:
        return "gil_lab/" + filename.split(marker, 1)[1].replace(os.sep, "/")
    relative = os.path.relpath(filename)
    return filename if relative.startswith("..") else relative


def is_specialised(plain: str, adaptive: str) -> bool:
    return (adaptive != plain and not adaptive.endswith("_ADAPTIVE")
            and not is_superinstruction(adaptive))


def describe(code: CodeType, share: float, specialisable_names: set[str] | None,
             listing: bool) -> dict[str, Any]:
    """One hot function: where it is, its share of the unit's time, its
    instruction counts and (with `listing`) every instruction."""
    plain = [i for i in dis.get_instructions(code) if i.opname != "CACHE"]
    function: dict[str, Any] = {
        "name": getattr(code, "co_qualname", code.co_name),
        "file": short_path(code.co_filename),
        "line": code.co_firstlineno,
        "own_time_share": round(share, 4),
        "instructions": len(plain),
        "specialisable": None,
        "specialised": None,
        "specialisations": {},
    }
    adaptive_names: list[str | None] = [None] * len(plain)
    if specialisable_names is not None:
        adaptive = [i for i in dis.get_instructions(code, adaptive=True) if i.opname != "CACHE"]
        by_offset = {i.offset: i.opname for i in adaptive}
        adaptive_names = [by_offset.get(i.offset, i.opname) for i in plain]
        counted: Counter[str] = Counter()
        specialisable = 0
        for instruction, name in zip(plain, adaptive_names):
            assert name is not None
            if instruction.opname in specialisable_names or is_specialised(instruction.opname, name):
                specialisable += 1
            if is_specialised(instruction.opname, name):
                counted[name] += 1
        function["specialisable"] = specialisable
        function["specialised"] = sum(counted.values())
        function["specialisations"] = dict(counted.most_common())
    if listing:
        function["listing"] = [
            {
                "offset": instruction.offset,
                "line": line_of(instruction),
                "opname": instruction.opname,
                "adaptive": name if name is not None and name != instruction.opname else None,
                "argrepr": instruction.argrepr,
            }
            for instruction, name in zip(plain, adaptive_names)
        ]
    return function


def line_of(instruction: dis.Instruction) -> int | None:
    """The source line an instruction starts (3.13 renamed the field)."""
    line = getattr(instruction, "line_number", None)
    if line is None:
        line = instruction.starts_line
        # Before 3.13 `starts_line` is the line number, or None.
        if isinstance(line, bool):
            return None
    return line


def summarise(functions: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The unit's specialisation over its hot functions, or None when this
    interpreter has no specialising interpreter to show."""
    if not functions or functions[0]["specialisable"] is None:
        return None
    counted: Counter[str] = Counter()
    for function in functions:
        counted.update(function["specialisations"])
    return {
        "instructions": sum(f["instructions"] for f in functions),
        "specialisable": sum(f["specialisable"] for f in functions),
        "specialised": sum(f["specialised"] for f in functions),
        "top": [[name, count] for name, count in counted.most_common(TOP_SPECIALISATIONS)],
    }
