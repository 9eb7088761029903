"""Imports a C extension that declares no Py_mod_gil."""
import needs_gil  # noqa: F401


def run(i):
    return i + 1
