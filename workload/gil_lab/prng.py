"""SplitMix64: the only source of randomness in the workload.

SplitMix64 (Steele, Lea and Flood, "Fast splittable pseudorandom number
generators", OOPSLA 2014) is a few lines of 64-bit integer arithmetic, so the
Rust twin reproduces it bit for bit. Python's `random` and `hash()` are never
used: their output differs between versions, implementations and processes.
"""

from __future__ import annotations

MASK64 = 0xFFFFFFFFFFFFFFFF
GAMMA = 0x9E3779B97F4A7C15
MUL1 = 0xBF58476D1CE4E5B9
MUL2 = 0x94D049BB133111EB


def mix64(z: int) -> int:
    """The SplitMix64 output function (a bijection on 64-bit integers)."""
    z = ((z ^ (z >> 30)) * MUL1) & MASK64
    z = ((z ^ (z >> 27)) * MUL2) & MASK64
    return z ^ (z >> 31)


class SplitMix64:
    """A SplitMix64 generator; each instance belongs to one task (never shared
    between threads: a shared generator would make results depend on timing)."""

    __slots__ = ("state",)

    def __init__(self, seed: int) -> None:
        self.state = seed & MASK64

    def next_u64(self) -> int:
        """The next 64-bit output: state += GAMMA, then mix64(state)."""
        self.state = (self.state + GAMMA) & MASK64
        return mix64(self.state)

    def below(self, n: int) -> int:
        """A number in [0, n): the next output modulo n (n >= 1). The tiny
        modulo bias does not matter here and keeps the definition trivial."""
        return self.next_u64() % n
