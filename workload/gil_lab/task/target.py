"""Finding the task's function: ``path/to/file.py:function`` or
``package.module:function``, importable from the task's path."""

from __future__ import annotations

import importlib
import inspect
import os
import sys
from collections.abc import Callable
from typing import Any


class TaskError(Exception):
    """The target cannot be used; `kind` is ``import_failed``,
    ``no_function`` or ``bad_target``, the message names the fix."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def split(target: str) -> tuple[str, str]:
    """(module part, function name) of a target."""
    module, sep, function = target.rpartition(":")
    if not sep or not module or not function.isidentifier():
        raise TaskError("bad_target", f"{target!r} is not FILE.py:FUNCTION or "
                        "package.module:FUNCTION")
    return module, function


def module_name(target: str, paths: list[str]) -> tuple[str, list[str]]:
    """The module to import and the directories to put first on sys.path: a
    file target's folder is one of them and its stem the module name."""
    module, _ = split(target)
    if module.endswith(".py"):
        path = module if os.path.isabs(module) else os.path.join(paths[0] if paths else ".",
                                                                  module)
        path = os.path.abspath(path)
        if not os.path.isfile(path):
            raise TaskError("import_failed", f"no file {path}: check the path before ':' "
                            "(relative paths start at --task-path)")
        return os.path.splitext(os.path.basename(path))[0], [os.path.dirname(path), *paths]
    return module, list(paths)


def prepare_path(paths: list[str]) -> None:
    """Puts the task's directories first on sys.path (once each)."""
    for directory in reversed(paths):
        directory = os.path.abspath(directory)
        if directory not in sys.path:
            sys.path.insert(0, directory)


def load(target: str, paths: list[str]) -> tuple[Callable[[int], Any], bool]:
    """The function of `target` and whether it is a coroutine function."""
    name, directories = module_name(target, paths)
    prepare_path(directories)
    _, function_name = split(target)
    try:
        module = importlib.import_module(name)
    except BaseException as error:  # a module may raise anything, SystemExit too
        raise TaskError("import_failed", f"importing {name} failed: "
                        f"{type(error).__name__}: {error}") from None
    function = getattr(module, function_name, None)
    if function is None:
        names = sorted(n for n, v in vars(module).items()
                       if callable(v) and not n.startswith("_")
                       and getattr(v, "__module__", None) == module.__name__)
        hint = f" (it has {', '.join(names[:8])})" if names else ""
        raise TaskError("no_function", f"module {name} has no function {function_name}{hint}")
    if not callable(function):
        raise TaskError("no_function", f"{name}.{function_name} is a "
                        f"{type(function).__name__}, not a function")
    return function, inspect.iscoroutinefunction(function)
