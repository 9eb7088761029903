"""Tasks that go wrong in one way each."""
import os
import signal
import time


def raises(i):
    if i == 3:
        raise ValueError(f"bad input {i}")
    return i


def hangs(i):
    if i == 2:
        time.sleep(3600)
    return i


def crashes(i):
    if i == 1:
        os.kill(os.getpid(), signal.SIGSEGV)
    return i


def generator(i):
    return (k for k in range(i))


_hoard = []


def hoards(i):
    _hoard.append(bytearray(20 * 1024 * 1024))
    time.sleep(0.01)
    return len(_hoard)


def thread_only_error(i):
    _scratch.clear()
    _scratch.extend(range(200))
    for _ in range(200):
        _scratch.pop()
    return i


_scratch = []
