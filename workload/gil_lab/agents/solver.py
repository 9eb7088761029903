"""The solver: constraint satisfaction by backtracking.

Counts the ways to place N non-attacking queens on an N x N board on which
some cells are blocked (no queen may stand there). With no blocked cell the
counts are OEIS A000170 (8 -> 92, 10 -> 724, 12 -> 14200). Rows are filled one
by one; the columns and both diagonals under attack are bit masks.
"""

from __future__ import annotations

from ..prng import SplitMix64

#: Board size of every task.
BOARD_SIZE = 11
#: Blocked cells drawn per task (duplicates collapse).
BLOCKED_DRAWS = 10


def count_solutions(n: int, blocked: list[int]) -> int:
    """Solutions of N-Queens on an n x n board; `blocked[row]` is a bit mask
    of the columns blocked in that row (bit c = column c)."""
    full = (1 << n) - 1

    def place(row: int, columns: int, left: int, right: int) -> int:
        if row == n:
            return 1
        total = 0
        free = full & ~(columns | left | right | blocked[row])
        while free:
            bit = free & -free
            free ^= bit
            total += place(
                row + 1, columns | bit, ((left | bit) << 1) & full, (right | bit) >> 1
            )
        return total

    return place(0, 0, 0, 0)


def run(task_seed: int) -> list[int]:
    """Blocks cells drawn from the task seed (cell = rng.below(n*n), row =
    cell // n, column = cell % n); result = [n, distinct blocked cells,
    solutions]."""
    rng = SplitMix64(task_seed)
    n = BOARD_SIZE
    blocked = [0] * n
    for _ in range(BLOCKED_DRAWS):
        cell = rng.below(n * n)
        blocked[cell // n] |= 1 << (cell % n)
    distinct = sum(bin(mask).count("1") for mask in blocked)
    return [n, distinct, count_solutions(n, blocked)]
