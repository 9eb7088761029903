"""Thread-owned copies of shared integer constants.

On a free-threaded build every use of an object another thread owns (here:
a module-level int above 256, which is not immortal) writes its reference
count atomically, and cores that do so in a hot loop contend for one cache
line. The result of big-int arithmetic is always a new object, owned by the
thread that computed it, so hot loops work on such copies instead.
"""

from __future__ import annotations


def owned(value: int) -> int:
    """A new int object equal to `value`, owned by the calling thread."""
    return (value + (1 << 64)) - (1 << 64)
