"""The planner: optimal plans for 8-puzzles by A* search.

An instance is made by a seeded random walk of the blank from the goal, so it
is always solvable; A* with the Manhattan-distance heuristic (admissible and
consistent) returns the optimal plan length, which is unique whatever order
equal-cost nodes are expanded in.
"""

from __future__ import annotations

from ..prng import SplitMix64

#: Puzzles solved per task.
PUZZLES_PER_TASK = 30
#: Length of the random walk that scrambles each puzzle.
WALK_STEPS = 60


def neighbours() -> list[list[int]]:
    """Cells next to each cell of the 3x3 board, in the fixed order up, down,
    left, right (cell = row * 3 + column)."""
    out = []
    for cell in range(9):
        row, col = divmod(cell, 3)
        near = []
        if row > 0:
            near.append(cell - 3)
        if row < 2:
            near.append(cell + 3)
        if col > 0:
            near.append(cell - 1)
        if col < 2:
            near.append(cell + 1)
        out.append(near)
    return out


def manhattan_table() -> list[list[int]]:
    """`table[tile][cell]`: distance of `tile` at `cell` from its goal cell
    (tile t belongs at cell t - 1; the blank, 0, costs nothing)."""
    table = [[0] * 9 for _ in range(9)]
    for tile in range(1, 9):
        goal_row, goal_col = divmod(tile - 1, 3)
        for cell in range(9):
            row, col = divmod(cell, 3)
            table[tile][cell] = abs(row - goal_row) + abs(col - goal_col)
    return table


def scramble(rng: SplitMix64, steps: int, near: list[list[int]]) -> list[int]:
    """The goal board after `steps` random blank moves; a move never undoes
    the one before it."""
    board = [1, 2, 3, 4, 5, 6, 7, 8, 0]
    blank, previous = 8, -1
    for _ in range(steps):
        choices = [c for c in near[blank] if c != previous]
        target = choices[rng.below(len(choices))]
        board[blank], board[target] = board[target], 0
        previous, blank = blank, target
    return board


def solve(board: list[int]) -> int:
    """The optimal number of moves from `board` to the goal (A*)."""
    near = neighbours()
    table = manhattan_table()
    # The board as one integer, 4 bits per cell: cheap to hash and to copy.
    state = 0
    h = 0
    blank = 0
    for cell in range(9):
        tile = board[cell]
        state |= tile << (4 * cell)
        h += table[tile][cell]
        if tile == 0:
            blank = cell
    # A bucket queue indexed by f = g + h replaces a binary heap: f only takes
    # small integer values and never decreases (the heuristic is consistent).
    buckets: list[list[tuple[int, int, int, int]]] = [[] for _ in range(64)]
    best_g = {state: 0}
    buckets[h].append((state, 0, blank, h))
    f = h
    while True:
        bucket = buckets[f]
        if not bucket:
            f += 1
            continue
        state, g, blank, h = bucket.pop()
        if best_g[state] < g:
            continue  # a cheaper path to this state was found after the push
        if h == 0:
            return g
        g += 1
        for target in near[blank]:
            shift = 4 * target
            tile = (state >> shift) & 15
            child = state - (tile << shift) + (tile << (4 * blank))
            known = best_g.get(child)
            if known is not None and known <= g:
                continue
            best_g[child] = g
            child_h = h - table[tile][target] + table[tile][blank]
            buckets[g + child_h].append((child, g, target, child_h))


def run(task_seed: int) -> list[int]:
    """Solves `PUZZLES_PER_TASK` scrambled puzzles; result = their optimal plan
    lengths, in the order they were made."""
    rng = SplitMix64(task_seed)
    near = neighbours()
    return [solve(scramble(rng, WALK_STEPS, near)) for _ in range(PUZZLES_PER_TASK)]
