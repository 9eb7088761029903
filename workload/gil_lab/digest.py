"""The digest: one 64-bit number that summarises every result of a trial.

Definition (the Rust twin implements the same):

    h = 0
    for each task, in task order:
        absorb(agent code)  # planner 0, solver 1, strategist 2, reasoner 3
        absorb(task index)
        absorb(number of results)
        absorb(each result)
    absorb(v):  h = mix64((h XOR (v mod 2^64)) + 0x9E3779B97F4A7C15 mod 2^64)

`mix64` is SplitMix64's output function (`gil_lab.prng.mix64`); a negative
result is taken as its two's-complement 64-bit pattern. The digest is printed
as 16 lowercase hex digits.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from .prng import GAMMA, MASK64, mix64


def absorb(h: int, value: int) -> int:
    """Mixes one integer into the running hash `h`."""
    return mix64(((h ^ (value & MASK64)) + GAMMA) & MASK64)


def digest(records: Iterable[tuple[int, int, Sequence[int]]]) -> int:
    """The digest of (agent code, task index, results) records, which must
    come in task order."""
    h = 0
    for agent_code, index, results in records:
        h = absorb(h, agent_code)
        h = absorb(h, index)
        h = absorb(h, len(results))
        for value in results:
            h = absorb(h, value)
    return h


def hex_digest(value: int) -> str:
    """The digest as printed: 16 lowercase hex digits."""
    return format(value, "016x")
