"""Hangs: this process forks a child, which forks a grandchild; all three
ignore SIGTERM and sleep forever. Their pids go to PIDFILE (one per line)
once all three exist."""
from __future__ import annotations

import os
import signal
import sys
import time


def main() -> None:
    pidfile = sys.argv[1]
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:
        grandchild = os.fork()
        if grandchild == 0:
            while True:
                time.sleep(60)
        os.write(write_end, f"{grandchild}\n".encode())
        while True:
            time.sleep(60)
    grandchild = int(os.read(read_end, 64).decode())
    tmp = pidfile + ".tmp"
    with open(tmp, "w") as f:
        f.write(f"{os.getpid()}\n{child}\n{grandchild}\n")
    os.rename(tmp, pidfile)
    while True:
        time.sleep(60)


if __name__ == "__main__":
    main()
