"""Memory management in numbers: what the cyclic garbage collector did while
a unit ran its tasks, and the peak memory one task allocated.

CPython frees most objects the moment their reference count drops to zero;
the collector only looks for reference cycles among container objects, and
runs when enough of them were allocated since its last run (its thresholds).
CPython does not count allocations cumulatively (only a `--enable-pystats`
build does), so what is reported is what the collector did (collections per
generation, objects it freed) and what `tracemalloc` saw (peak bytes of one
task). PyPy has no reference counts: every object is allocated in a nursery
that a minor collection empties when it is full, and its `gc.hooks` count
minor and major collections; it has no `tracemalloc` (absent).
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from typing import Any


def collector_stats() -> list[dict[str, Any]] | None:
    """CPython's per-generation collector statistics, or None (PyPy)."""
    stats = getattr(gc, "get_stats", None)
    if stats is None:
        return None
    value = stats()
    if not isinstance(value, list) or not all(isinstance(s, dict) for s in value):
        return None
    return value


class CollectorWatch:
    """Counts the collector's work between `start` and `stop`: CPython's
    generations from `gc.get_stats()`, PyPy's minor and major collections
    from `gc.hooks`."""

    def __init__(self) -> None:
        self.before: list[dict[str, Any]] | None = None
        self.after: list[dict[str, Any]] | None = None
        self.pypy: list[int] | None = None

    def start(self) -> None:
        gc.collect()
        self.before = collector_stats()
        hooks = getattr(gc, "hooks", None)
        if self.before is None and hooks is not None:
            counts = self.pypy = [0, 0]

            def minor(stats: Any) -> None:
                counts[0] += stats.count

            def major(stats: Any) -> None:
                counts[1] += stats.count

            hooks.on_gc_minor = minor
            hooks.on_gc_collect = major

    def stop(self) -> None:
        self.after = collector_stats()
        hooks = getattr(gc, "hooks", None)
        if self.pypy is not None and hooks is not None:
            hooks.on_gc_minor = None
            hooks.on_gc_collect = None

    def per_task(self, tasks: int) -> dict[str, Any]:
        """Collections per generation (PyPy: minor, major) and objects freed
        by the collector, per task (None where this interpreter does not say)."""
        if self.pypy is not None and tasks > 0:
            return {"collections_per_task": [round(c / tasks, 3) for c in self.pypy],
                    "collected_per_task": None}
        if self.before is None or self.after is None or tasks <= 0:
            return {"collections_per_task": None, "collected_per_task": None}
        collections = [
            round((after.get("collections", 0) - before.get("collections", 0)) / tasks, 3)
            for before, after in zip(self.before, self.after)
        ]
        collected = sum(after.get("collected", 0) - before.get("collected", 0)
                        for before, after in zip(self.before, self.after))
        return {
            "collections_per_task": collections,
            "collected_per_task": round(collected / tasks, 2),
        }


def thresholds() -> list[int] | None:
    """The collector's thresholds (allocations that trigger a young
    collection, then collections that trigger the older ones)."""
    get = getattr(gc, "get_threshold", None)
    return list(get()) if get is not None else None


def peak_bytes(call: Callable[[], Any]) -> int | None:
    """The peak of memory allocated while `call` ran, measured by tracemalloc
    from its start (None where tracemalloc is missing)."""
    try:
        import tracemalloc
    except ImportError:
        return None
    gc.collect()
    tracemalloc.start()
    try:
        call()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
