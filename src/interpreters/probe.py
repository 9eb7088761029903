"""Prints one JSON object describing the interpreter that runs it.

gil-lab embeds this script (src/interpreters/probe.rs) and runs it with
``python -I -B -c <this file>`` on every interpreter it finds; it is not part
of the workload package. gil-lab reads exactly one JSON object from stdout: ``{"result": "success", ...facts}``
or ``{"result": "error", "kind": "probe_failed", "message": ...}``.

This file must parse and run on Python 2.7 and 3.6+ as well (no f-strings, no
annotations, no walrus), so that old interpreters report their facts instead
of failing with a SyntaxError. It holds no version policy: which versions
gil-lab supports is decided in Rust (src/interpreters/supported.rs), from the
version reported here.
"""

import json
import os
import sys

def version_string():
    """The full version with patch level and release tag, e.g. ``3.13.5``
    or ``3.14.0rc1``."""
    info = sys.version_info
    text = "%d.%d.%d" % (info[0], info[1], info[2])
    if info[3] != "final":
        text += {"alpha": "a", "beta": "b", "candidate": "rc"}.get(info[3], info[3])
        text += str(info[4])
    return text


def implementation_name():
    implementation = getattr(sys, "implementation", None)
    if implementation is not None:
        return implementation.name
    import platform

    return platform.python_implementation().lower()


def config_flag(name):
    """A sysconfig variable that is 0/1 (or missing) as a bool."""
    import sysconfig

    value = sysconfig.get_config_var(name)
    try:
        return bool(int(value))
    except (TypeError, ValueError):
        return False


def gil_enabled():
    """``sys._is_gil_enabled()`` (3.13+), None where it does not exist."""
    function = getattr(sys, "_is_gil_enabled", None)
    if function is None:
        return None
    return bool(function())


def module_exists(name):
    import importlib.util

    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def subinterpreters():
    """Which subinterpreter API exists: the public one of 3.14 (PEP 734), the
    private module of 3.13, the older private module of 3.12, or none."""
    if module_exists("concurrent.interpreters"):
        return "public"
    if module_exists("_interpreters"):
        return "private"
    if module_exists("_xxsubinterpreters"):
        return "legacy-private"
    return "none"


def interpreter_pool_executor():
    try:
        import concurrent.futures
    except ImportError:
        return False
    try:
        return getattr(concurrent.futures, "InterpreterPoolExecutor", None) is not None
    except ImportError:
        # concurrent.futures loads it lazily; a broken _interpreters raises.
        return False


def start_methods():
    """(default start method, all available start methods) of multiprocessing."""
    try:
        import multiprocessing
    except ImportError:
        return None, []
    try:
        default = multiprocessing.get_start_method(allow_none=False)
    except (RuntimeError, ValueError):
        default = None
    try:
        available = list(multiprocessing.get_all_start_methods())
    except (RuntimeError, ValueError):
        available = []
    return default, available


def jit():
    """(available, enabled) of the experimental JIT: ``sys._jit`` (3.14+),
    None for both where the interpreter has no such API."""
    module = getattr(sys, "_jit", None)
    if module is None:
        return None, None
    available = getattr(module, "is_available", None)
    enabled = getattr(module, "is_enabled", None)
    return (
        bool(available()) if available is not None else None,
        bool(enabled()) if enabled is not None else None,
    )


def usable_cpu_count():
    """CPUs this process may run on: ``os.process_cpu_count()`` (3.13+), else
    the scheduler affinity, else the machine's count."""
    function = getattr(os, "process_cpu_count", None)
    if function is not None:
        return function()
    affinity = getattr(os, "sched_getaffinity", None)
    if affinity is not None:
        try:
            return len(affinity(0))
        except OSError:
            pass
    return os.cpu_count()


def build_recipe():
    """How the interpreter was built, as sysconfig recorded it: configure's
    arguments, the compiler, and the compile flags (where the ``-O`` level
    and ``-flto`` / ``-fprofile-use`` show)."""
    import platform
    import sysconfig

    def text(name):
        value = sysconfig.get_config_var(name)
        return value if isinstance(value, str) else ""

    return {
        "config_args": text("CONFIG_ARGS"),
        "cc": text("CC"),
        "compiler": platform.python_compiler(),
        "cflags": " ".join(part for part in (text("PY_CFLAGS"), text("PY_CFLAGS_NODIST")) if part),
        "ldflags": text("PY_LDFLAGS_NODIST"),
    }


def facts():
    import platform

    jit_available, jit_enabled = jit()
    default_start_method, all_start_methods = start_methods()
    return {
        "result": "success",
        "implementation": implementation_name(),
        "implementation_version": "%d.%d.%d" % tuple(sys.implementation.version[:3]),
        "version": version_string(),
        "version_info": list(sys.version_info[:3]),
        "sys_version": sys.version,
        "executable": sys.executable,
        "prefix": sys.prefix,
        "base_prefix": getattr(sys, "base_prefix", sys.prefix),
        "abiflags": getattr(sys, "abiflags", ""),
        "py_gil_disabled": config_flag("Py_GIL_DISABLED"),
        "py_debug": config_flag("Py_DEBUG"),
        "gil_enabled": gil_enabled(),
        "gil_flag": getattr(sys.flags, "gil", None),
        "subinterpreters": subinterpreters(),
        "interpreter_pool_executor": interpreter_pool_executor(),
        "default_start_method": default_start_method,
        "start_methods": all_start_methods,
        "jit_available": jit_available,
        "jit_enabled": jit_enabled,
        "cpu_count": os.cpu_count(),
        "usable_cpu_count": usable_cpu_count(),
        "platform": sys.platform,
        "machine": platform.machine(),
        "pointer_bits": 64 if sys.maxsize > 2**32 else 32,
        "build": build_recipe(),
    }


def main():
    try:
        result = facts()
    except Exception as error:  # noqa: BLE001 - reported, never a traceback
        import traceback

        result = {
            "result": "error",
            "kind": "probe_failed",
            "message": "%s: %s" % (type(error).__name__, error),
            "traceback": traceback.format_exc(),
        }
    sys.stdout.write(json.dumps(result, sort_keys=True) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
