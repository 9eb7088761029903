"""How long a waiting thread waits for its turn after its wait ends.

`gil-lab learn 3` runs this: the main thread sleeps for a short time, again
and again, and measures how late it wakes up, first alone, then while
another thread computes, under several switch intervals
(`sys.setswitchinterval`). Under the GIL a thread whose wait has ended must
take the GIL back from the computing thread, which gives it up only when the
switch interval has passed: the lateness follows the interval. Without the
GIL the two run side by side and the lateness does not.

Prints one JSON object: {"gil_enabled": bool, "sleep_s": float,
"alone": {...}, "intervals": [{"switch_interval_s": float, ...}, ...]};
each measurement has "median_late_s", "p90_late_s" and "samples".
"""

from __future__ import annotations

import json
import statistics
import sys
import threading
import time

SLEEP_S = 0.002
SAMPLES = 60
INTERVALS_S = (0.001, 0.005, 0.02)


def compute(stop: threading.Event) -> None:
    """Pure-Python work that never waits: it holds the GIL when it can."""
    x = 0
    while not stop.is_set():
        for i in range(2_000):
            x = (x * 31 + i) % 1_000_003


def lateness(samples: int) -> dict[str, float | int]:
    """How late the main thread wakes from `SLEEP_S` sleeps, in seconds."""
    late: list[float] = []
    for _ in range(samples):
        start = time.perf_counter()
        time.sleep(SLEEP_S)
        late.append(time.perf_counter() - start - SLEEP_S)
    late.sort()
    return {
        "median_late_s": statistics.median(late),
        "p90_late_s": late[int(0.9 * (len(late) - 1))],
        "samples": len(late),
    }


def with_computing_thread(interval_s: float, samples: int) -> dict[str, float | int]:
    """Lateness while another thread computes, at this switch interval."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(interval_s)
    stop = threading.Event()
    worker = threading.Thread(target=compute, args=(stop,), name="computing")
    worker.start()
    try:
        time.sleep(0.05)  # the computing thread is running
        measured = lateness(samples)
    finally:
        stop.set()
        worker.join()
        sys.setswitchinterval(before)
    return {"switch_interval_s": interval_s, **measured}


def main() -> None:
    is_gil_enabled = getattr(sys, "_is_gil_enabled", None)
    result = {
        "gil_enabled": True if is_gil_enabled is None else bool(is_gil_enabled()),
        "sleep_s": SLEEP_S,
        "default_switch_interval_s": sys.getswitchinterval(),
        "alone": lateness(SAMPLES),
        "intervals": [with_computing_thread(s, SAMPLES) for s in INTERVALS_S],
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
