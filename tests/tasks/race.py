"""A data race: a module-level scratch buffer reused by every call, with a
short wait (a log write, say) between filling it and reading it back."""
import time

_scratch = []


def tally(i):
    _scratch.clear()
    for k in range(3000):
        _scratch.append(k * (i + 1) % 7)
    time.sleep(0.0005)
    return sum(_scratch)


_busy = False


def send(i):
    """A client that is not reentrant: it raises when two calls overlap."""
    global _busy
    if _busy:
        raise RuntimeError("client already in use")
    _busy = True
    time.sleep(0.002)
    _busy = False
    return i
