"""The blackboard: where agents post their findings for the others to read.

In the `shared` scenario every finished task posts its route lengths here.
Posts come from several threads at once, so they go through one lock; the
blackboard never feeds back into results (that would make them depend on
timing), so it does not enter the digest.
"""

from __future__ import annotations

import threading


class Blackboard:
    """Findings by task index, written under a lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._findings: dict[int, tuple[str, list[int]]] = {}

    def post(self, index: int, agent: str, finding: list[int]) -> None:
        """Records what task `index` of `agent` found."""
        with self._lock:
            self._findings[index] = (agent, finding)

    def read(self, index: int) -> tuple[str, list[int]] | None:
        """The finding of task `index`, if it was posted."""
        with self._lock:
            return self._findings.get(index)

    def __len__(self) -> int:
        with self._lock:
            return len(self._findings)
