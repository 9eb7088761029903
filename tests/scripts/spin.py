"""Busy tree for the trial tests: PROCESSES processes (the first is this one,
the others forked) with THREADS threads each (the main thread included), every
thread burning CPU until its own thread CPU time reaches CPU seconds.

--mode gil: pure Python arithmetic (holds the GIL: threads take turns).
--mode nogil: hashing a large buffer (hashlib releases the GIL: threads run
side by side even on a default build).
"""
from __future__ import annotations

import argparse
import hashlib
import os
import sys
import threading
import time


def burn(mode: str, cpu_s: float) -> None:
    start = time.thread_time()
    # 32 MiB per call: the GIL is released for over 10 ms at a time, so the
    # threads rarely wait for it even on a busy machine.
    block = b"x" * (32 << 20)
    n = 0
    while time.thread_time() - start < cpu_s:
        if mode == "gil":
            for i in range(2000):
                n += i * i
        else:
            hashlib.sha256(block).digest()


def run_process(threads: int, mode: str, cpu_s: float) -> None:
    workers = [threading.Thread(target=burn, args=(mode, cpu_s)) for _ in range(threads - 1)]
    for t in workers:
        t.start()
    burn(mode, cpu_s)
    for t in workers:
        t.join()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--cpu", type=float, default=0.5)
    parser.add_argument("--mode", choices=["gil", "nogil"], default="gil")
    args = parser.parse_args()
    children = []
    for _ in range(args.processes - 1):
        pid = os.fork()
        if pid == 0:
            run_process(args.threads, args.mode, args.cpu)
            os._exit(0)
        children.append(pid)
    run_process(args.threads, args.mode, args.cpu)
    failed = 0
    for pid in children:
        _, status = os.waitpid(pid, 0)
        failed += status != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
