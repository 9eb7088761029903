"""The runner's watchdog: a thread that stops a trial whose call hangs past
the trial's timeout, and says which call, before gil-lab has to kill it
blind.

``--memory-limit`` is not its job: gil-lab has the kernel hold the trial's
whole process tree to it (a memory cgroup per trial, or an rlimit on each
process), which a thread that has to win the GIL to look cannot do."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from .calls import IN_FLIGHT

#: Seconds between two looks.
INTERVAL = 0.05


def start(deadline_s: float | None, stop: Callable[[str, str], None]) -> None:
    """Watches in a daemon thread; calls stop(kind, message) once."""
    if deadline_s is None:
        return
    started = time.monotonic()

    def watch() -> None:
        while True:
            time.sleep(INTERVAL)
            if time.monotonic() - started > deadline_s:
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
