"""What the interpreter offers, each from the interpreter's own answer where
it gives one (`sys`, `sysconfig`, `gc`) and from the version where the fact
is only published (the collector's kind). Every feature has a state: `on`,
`off` or `absent` (this interpreter does not have it), a detail sentence and
the evidence it was read from."""

from __future__ import annotations

import gc
import os
import platform
import sys
import sysconfig
from typing import Any


def feature(key: str, state: str, detail: str, evidence: str) -> dict[str, str]:
    return {"key": key, "state": state, "detail": detail, "evidence": evidence}


def is_cpython() -> bool:
    return platform.python_implementation() == "CPython"


def free_threaded_build() -> bool:
    return bool(sysconfig.get_config_var("Py_GIL_DISABLED"))


def gil() -> dict[str, str]:
    check = getattr(sys, "_is_gil_enabled", None)
    build = "free-threaded build" if free_threaded_build() else "default build"
    if check is None:
        return feature("gil", "on", f"{build}: every thread needs the GIL to run Python code",
                       "no sys._is_gil_enabled (before 3.13): the GIL is always on")
    enabled = check()
    detail = (f"{build}: threads take turns running Python code" if enabled
              else f"{build}: threads run Python code at the same time")
    return feature("gil", "on" if enabled else "off", detail, "sys._is_gil_enabled()")


def specialising(seen: bool | None) -> dict[str, str]:
    """`seen`: whether warm-up produced any specialised instruction, None when
    `dis` cannot show specialised bytecode."""
    if not is_cpython() or seen is None:
        why = ("PyPy compiles hot loops with its tracing JIT instead"
               if platform.python_implementation() == "PyPy"
               else "before CPython 3.11 there is no specialising adaptive interpreter")
        return feature("specializing_interpreter", "absent", why,
                       "dis.get_instructions(adaptive=True) is not available")
    if seen:
        return feature("specializing_interpreter", "on",
                       "hot instructions are rewritten into forms specialised for the types seen",
                       "specialised instructions in dis after warm-up")
    detail = "no instruction was specialised after warm-up"
    if free_threaded_build() and sys.version_info[:2] == (3, 13):
        detail += " (the 3.13 free-threaded build disables the specialising interpreter)"
    return feature("specializing_interpreter", "off", detail,
                   "no specialised instruction in dis after warm-up")


def jit() -> dict[str, str]:
    if platform.python_implementation() == "PyPy":
        info = getattr(sys, "pypy_translation_info", {})
        on = bool(info.get("translation.jit"))
        return feature("jit", "on" if on else "off", "PyPy's tracing JIT compiles hot loops "
                       "to machine code", "sys.pypy_translation_info['translation.jit']")
    probe = getattr(sys, "_jit", None)
    if probe is not None:
        if not probe.is_available():
            return feature("jit", "absent", "this build has no JIT compiler",
                           "sys._jit.is_available()")
        on = probe.is_enabled()
        return feature("jit", "on" if on else "off",
                       "the experimental JIT is built in"
                       + (" and enabled" if on else "; PYTHON_JIT=1 enables it"),
                       "sys._jit.is_enabled()")
    flags = sysconfig.get_config_var("PY_CORE_CFLAGS") or ""
    if "_Py_JIT" in flags:
        return feature("jit", "on", "the experimental JIT is built in (3.13)",
                       "-D_Py_JIT in sysconfig PY_CORE_CFLAGS")
    return feature("jit", "absent", "this build has no JIT compiler",
                   "no sys._jit and no -D_Py_JIT in sysconfig PY_CORE_CFLAGS")


def collector() -> dict[str, str]:
    if platform.python_implementation() == "PyPy":
        kind = getattr(sys, "pypy_translation_info", {}).get("translation.gc", "its own")
        return feature("gc", "on" if gc.isenabled() else "off",
                       f"PyPy's {kind} collector: no reference counts, objects move",
                       "sys.pypy_translation_info['translation.gc']")
    threshold = gc.get_threshold()
    version = sys.version_info[:3]
    if free_threaded_build():
        kind = "one generation, stop-the-world (free-threaded build)"
    elif (3, 14, 0) <= version < (3, 14, 5):
        kind = "incremental: a young generation and the old one in increments (3.14.0-3.14.4)"
    else:
        kind = "generational: three generations"
    return feature("gc", "on" if gc.isenabled() else "off",
                   f"{kind}; thresholds {tuple(threshold)}",
                   "gc.get_threshold(), gc.isenabled() and the version")


def immortal_objects() -> dict[str, str]:
    if not is_cpython():
        return feature("immortal_objects", "absent", "no reference counts to freeze",
                       "not CPython")
    check = getattr(sys, "_is_immortal", None)
    if check is not None:
        on, evidence = check(None), "sys._is_immortal(None)"
    else:
        on, evidence = sys.getrefcount(None) >= 1 << 29, "sys.getrefcount(None)"
    if on:
        return feature("immortal_objects", "on", "None, small ints and other built-in objects "
                       "never change their reference count (PEP 683)", evidence)
    return feature("immortal_objects", "absent", "before 3.12 every object's reference count "
                   "changes when it is used", evidence)


def biased_reference_counting() -> dict[str, str]:
    if not is_cpython():
        return feature("biased_reference_counting", "absent", "no reference counts",
                       "not CPython")
    if free_threaded_build():
        return feature("biased_reference_counting", "on", "the thread that owns an object "
                       "counts its references without atomics; other threads use atomic "
                       "instructions (PEP 703)", "sysconfig Py_GIL_DISABLED")
    return feature("biased_reference_counting", "absent", "one reference count per object, "
                   "safe because the GIL serialises its updates", "sysconfig Py_GIL_DISABLED")


def mimalloc() -> dict[str, str]:
    built = bool(sysconfig.get_config_var("WITH_MIMALLOC")) and is_cpython()
    evidence = "sysconfig WITH_MIMALLOC"
    if not built:
        return feature("mimalloc", "absent", "this build has no mimalloc", evidence)
    if free_threaded_build():
        return feature("mimalloc", "on", "the free-threaded build allocates every object with "
                       "mimalloc (thread-safe, per-thread heaps)", evidence + ", Py_GIL_DISABLED")
    chosen = os.environ.get("PYTHONMALLOC", "") if not sys.flags.ignore_environment else ""
    if chosen.startswith("mimalloc"):
        return feature("mimalloc", "on", "selected with PYTHONMALLOC", evidence + ", PYTHONMALLOC")
    return feature("mimalloc", "off", "built in, but pymalloc is the default allocator "
                   "(PYTHONMALLOC=mimalloc selects it)", evidence)


def all_features(specialised_seen: bool | None) -> list[dict[str, str]]:
    return [gil(), specialising(specialised_seen), jit(), collector(), immortal_objects(),
            biased_reference_counting(), mimalloc()]


def runtime() -> dict[str, Any]:
    check = getattr(sys, "_is_gil_enabled", None)
    return {
        "implementation": platform.python_implementation().lower(),
        "version": platform.python_version(),
        "free_threaded": free_threaded_build(),
        "gil_enabled": check() if check is not None else True,
    }
