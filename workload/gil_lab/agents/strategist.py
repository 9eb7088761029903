"""The strategist: adversarial search by negamax with alpha-beta pruning.

The game is Connect Four (7 columns x 6 rows). Positions are bitboards: bit
`column * 7 + row` (row 0 at the bottom; the 7th bit of each column is an
always-empty guard that keeps lines from wrapping between columns). A seeded
opening of random moves sets up each position; the search looks a fixed number
of plies ahead and scores the leaves with a positional table.
"""

from __future__ import annotations

from ..prng import SplitMix64
from .owned import owned

#: Positions analysed per task.
POSITIONS_PER_TASK = 8
#: Random moves that make each opening.
OPENING_MOVES = 8
#: Search depth in plies.
DEPTH = 6
#: Columns in the order they are searched: centre first (better pruning); the
#: first column in this order wins ties between equally good moves.
MOVE_ORDER = (3, 2, 4, 1, 5, 0, 6)
#: A win is worth WIN + the depth left when it is reached (a quicker win is
#: worth more); far above any positional score.
WIN = 100_000
#: Bound of every search window (beyond any value).
INF = 1_000_000
#: Positional weight of each cell, [row][column], row 0 at the bottom: the
#: number of four-in-a-row lines through the cell.
CELL_WEIGHTS = (
    (3, 4, 5, 7, 5, 4, 3),
    (4, 6, 8, 10, 8, 6, 4),
    (5, 8, 11, 13, 11, 8, 5),
    (5, 8, 11, 13, 11, 8, 5),
    (4, 6, 8, 10, 8, 6, 4),
    (3, 4, 5, 7, 5, 4, 3),
)


def wins(pieces: int) -> bool:
    """True if the bitboard `pieces` holds four in a row (vertical, horizontal
    and both diagonals: bit shifts 1, 7, 6 and 8)."""
    for shift in (1, 7, 6, 8):
        pairs = pieces & (pieces >> shift)
        if pairs & (pairs >> (2 * shift)):
            return True
    return False


def weights_by_bit() -> list[int]:
    """CELL_WEIGHTS indexed by bit number (a fresh list: task-local)."""
    weights = [0] * 49
    for row in range(6):
        for column in range(7):
            weights[column * 7 + row] = CELL_WEIGHTS[row][column]
    return weights


def opening(rng: SplitMix64) -> tuple[int, int, int]:
    """(pieces of the side to move, all pieces, moves played) after
    OPENING_MOVES random moves, each uniform among the open columns in
    ascending order. An opening in which a move wins is thrown away and a new
    one drawn from the same generator."""
    while True:
        mine, mask = 0, 0
        for _ in range(OPENING_MOVES):
            open_columns = [c for c in range(7) if not mask & (1 << (c * 7 + 5))]
            column = open_columns[rng.below(len(open_columns))]
            new_mask = mask | (mask + (1 << (column * 7)))
            mover = mine | (new_mask ^ mask)
            if wins(mover):
                break
            # The opponent moves next: their pieces are the ones not ours.
            mine, mask = mover ^ new_mask, new_mask
        else:
            return mine, mask, OPENING_MOVES


def analyse(mine: int, mask: int, played: int, depth: int) -> list[int]:
    """Negamax with alpha-beta from the side to move; result = [value, best
    column, nodes searched]."""
    weights = weights_by_bit()
    order = list(MOVE_ORDER)
    bottoms = [1 << (c * 7) for c in range(7)]
    tops = [1 << (c * 7 + 5) for c in range(7)]
    nodes = 0
    # The positional score (side to move minus opponent) of the opening.
    score = 0
    for bit in range(49):
        if mask >> bit & 1:
            score += weights[bit] if mine >> bit & 1 else -weights[bit]

    best_column = -1
    # Thread-owned copies of the constants used at every node (agents/owned.py).
    win = owned(WIN)
    lowest = owned(-INF)

    def negamax(mine: int, mask: int, played: int, depth: int, alpha: int, beta: int,
                score: int) -> int:
        nonlocal nodes, best_column
        nodes += 1
        if played == 42:
            return 0
        if depth == 0:
            return score
        best = lowest
        for column in order:
            if mask & tops[column]:
                continue
            new_mask = mask | (mask + bottoms[column])
            move = new_mask ^ mask
            mover = mine | move
            if wins(mover):
                value = win + depth
            else:
                value = -negamax(mover ^ new_mask, new_mask, played + 1, depth - 1,
                                 -beta, -alpha, -(score + weights[move.bit_length() - 1]))
            if value > best:
                best = value
                if depth == root_depth:
                    # Only the root searches at the full depth: remember the
                    # first column (in MOVE_ORDER) that reached the best value.
                    best_column = column
                if best > alpha:
                    alpha = best
                    if alpha >= beta:
                        break
        return best

    # The root gets the full window, so nothing is cut off there.
    root_depth = depth
    value = negamax(mine, mask, played, depth, lowest, -lowest, score)
    return [value, best_column, nodes]


def run(task_seed: int) -> list[int]:
    """Analyses POSITIONS_PER_TASK seeded openings; result = [value, best
    column, nodes] of each, concatenated."""
    rng = SplitMix64(task_seed)
    out: list[int] = []
    for _ in range(POSITIONS_PER_TASK):
        mine, mask, played = opening(rng)
        out.extend(analyse(mine, mask, played, DEPTH))
    return out
