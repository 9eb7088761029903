"""Forks WORKERS worker processes that each allocate MB megabytes (touched, so
resident) and then burn CPU seconds of their own CPU time. The parent writes
the workers' pids to PIDFILE (one per line, written atomically) and waits.

If a worker dies from a signal, the parent reports it on stderr, stops the
other workers and exits with status 3 (like a broken process pool).
With --leave the parent exits at once, leaving its workers behind (they
sleep instead of burning CPU).
"""
from __future__ import annotations

import argparse
import os
import signal
import sys
import time


def worker(mb: int, cpu_s: float, leave: bool) -> None:
    memory = bytearray(b"\x01") * (mb << 20)
    if leave:
        time.sleep(120)
    start = time.process_time()
    n = 0
    while time.process_time() - start < cpu_s:
        for i in range(2000):
            n += i
    memory[0] = n & 0xFF


def write_pids(path: str, pids: list[int]) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write("".join(f"{pid}\n" for pid in pids))
    os.rename(tmp, path)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--mb", type=int, default=50)
    parser.add_argument("--cpu", type=float, default=0.5)
    parser.add_argument("--pidfile")
    parser.add_argument("--leave", action="store_true")
    args = parser.parse_args()
    pids = []
    for _ in range(args.workers):
        pid = os.fork()
        if pid == 0:
            try:
                worker(args.mb, args.cpu, args.leave)
            finally:
                os._exit(0)
        pids.append(pid)
    if args.pidfile:
        write_pids(args.pidfile, pids)
    if args.leave:
        return 0
    code = 0
    remaining = set(pids)
    while remaining:
        pid, status = os.wait()
        remaining.discard(pid)
        if os.WIFSIGNALED(status):
            print(f"worker {pid} killed by signal {os.WTERMSIG(status)}", file=sys.stderr)
            for other in remaining:
                os.kill(other, signal.SIGTERM)
            code = 3
    return code


if __name__ == "__main__":
    sys.exit(main())
