"""The runner's watchdog: a thread that stops a trial whose task eats
memory past ``--memory-limit`` or whose call hangs past the trial's timeout,
and says which, before gil-lab has to kill it blind."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable

from .calls import IN_FLIGHT

PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
#: Seconds between two looks.
INTERVAL = 0.05


def descendants(pid: int) -> list[int]:
    """`pid` and every process under it (Linux /proc; just `pid` elsewhere)."""
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        try:
            tasks = os.listdir(f"/proc/{current}/task")
        except OSError:
            continue
        for tid in tasks:
            try:
                with open(f"/proc/{current}/task/{tid}/children") as children:
                    queue.extend(int(c) for c in children.read().split())
            except OSError:
                continue
    return found


def tree_rss_bytes() -> int:
    """Resident memory of this process and its children, bytes."""
    total = 0
    for pid in descendants(os.getpid()):
        try:
            with open(f"/proc/{pid}/statm") as statm:
                total += int(statm.read().split()[1]) * PAGE
        except (OSError, ValueError, IndexError):
            continue
    return total


def start(memory_limit_mb: int | None, deadline_s: float | None,
          stop: Callable[[str, str], None]) -> None:
    """Watches in a daemon thread; calls stop(kind, message) once."""
    if memory_limit_mb is None and deadline_s is None:
        return
    started = time.monotonic()

    def watch() -> None:
        while True:
            time.sleep(INTERVAL)
            if memory_limit_mb is not None:
                used = tree_rss_bytes()
                if used > memory_limit_mb * 1024 * 1024:
                    stop("memory_limit", f"the task used {used // (1024 * 1024)} MB, past "
                         f"--memory-limit {memory_limit_mb} MB: the trial was stopped (raise "
                         "--memory-limit, or make the task use less memory)")
                    return
            if deadline_s is not None and time.monotonic() - started > deadline_s:
                now = time.monotonic()
                running = sorted(IN_FLIGHT.items(), key=lambda item: item[1])
                if running:
                    position, since = running[0]
                    what = f"call {position} has been running for {now - since:.1f} s"
                else:
                    what = "the trial has been running for {:.1f} s".format(now - started)
                stop("timeout", f"{what}: it hangs, or needs more than the trial's "
                     "--timeout (raise --timeout, or lower --task-calls)")
                return

    threading.Thread(target=watch, name="gil-lab-watchdog", daemon=True).start()
