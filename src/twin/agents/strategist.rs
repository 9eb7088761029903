//! The strategist: adversarial search by negamax with alpha-beta pruning on
//! Connect Four (docs/agents.md, section 5; `workload/gil_lab/agents/strategist.py`).
//!
//! Positions are bitboards: bit `column * 7 + row`, row 0 at the bottom; the
//! 7th bit of each column is an always-empty guard that keeps lines from
//! wrapping between columns.

use crate::prng::SplitMix64;

/// Positions analysed per task.
pub const POSITIONS_PER_TASK: usize = 8;
/// Random moves that make each opening.
pub const OPENING_MOVES: u32 = 8;
/// Search depth in plies.
pub const DEPTH: i32 = 6;
/// Columns in search order, centre first; the first column in this order
/// wins ties between equally good moves.
const MOVE_ORDER: [u32; 7] = [3, 2, 4, 1, 5, 0, 6];
/// A win is worth WIN + the depth left when it is reached.
const WIN: i32 = 100_000;
/// Above any value a search can return.
const INF: i32 = 1_000_000;
/// Cells on a full board.
const CELLS: u32 = 42;
/// Positional weight of each cell, `[row][column]`, row 0 at the bottom: the
/// number of four-in-a-row lines through the cell.
const CELL_WEIGHTS: [[i32; 7]; 6] = [
    [3, 4, 5, 7, 5, 4, 3],
    [4, 6, 8, 10, 8, 6, 4],
    [5, 8, 11, 13, 11, 8, 5],
    [5, 8, 11, 13, 11, 8, 5],
    [4, 6, 8, 10, 8, 6, 4],
    [3, 4, 5, 7, 5, 4, 3],
];
/// CELL_WEIGHTS by bit number (0 on guard bits).
const WEIGHTS: [i32; 49] = weights_by_bit();

const fn weights_by_bit() -> [i32; 49] {
    let mut weights = [0; 49];
    let mut row = 0;
    while row < 6 {
        let mut column = 0;
        while column < 7 {
            weights[column * 7 + row] = CELL_WEIGHTS[row][column];
            column += 1;
        }
        row += 1;
    }
    weights
}

/// The lowest cell of a column.
#[inline]
fn bottom(column: u32) -> u64 {
    1 << (column * 7)
}

/// The top cell of a column: the column is full when it is occupied.
#[inline]
fn top(column: u32) -> u64 {
    1 << (column * 7 + 5)
}

/// True if the bitboard holds four in a row (vertical, horizontal and both
/// diagonals: shifts 1, 7, 6 and 8).
#[inline]
pub fn wins(pieces: u64) -> bool {
    [1, 7, 6, 8].iter().any(|&shift| {
        let pairs = pieces & (pieces >> shift);
        pairs & (pairs >> (2 * shift)) != 0
    })
}

/// A position: pieces of the side to move, all pieces, moves played.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Position {
    /// Pieces of the side to move.
    pub mine: u64,
    /// Every piece on the board.
    pub mask: u64,
    /// Moves played so far.
    pub played: u32,
}

/// The position after OPENING_MOVES random moves, each uniform among the open
/// columns in ascending order; an opening in which a move wins is thrown away
/// and a new one drawn from the same generator.
pub fn opening(rng: &mut SplitMix64) -> Position {
    'fresh: loop {
        let (mut mine, mut mask) = (0u64, 0u64);
        for _ in 0..OPENING_MOVES {
            let mut open = [0u32; 7];
            let mut count = 0;
            for column in 0..7 {
                if mask & top(column) == 0 {
                    open[count] = column;
                    count += 1;
                }
            }
            let column = open[rng.below(count as u64) as usize];
            let new_mask = mask | (mask + bottom(column));
            let mover = mine | (new_mask ^ mask);
            if wins(mover) {
                continue 'fresh;
            }
            // The opponent moves next: their pieces are the ones not ours.
            mine = mover ^ new_mask;
            mask = new_mask;
        }
        return Position {
            mine,
            mask,
            played: OPENING_MOVES,
        };
    }
}

/// One search: counts the nodes it visits.
struct Search {
    nodes: u64,
}

impl Search {
    /// The value of playing `column` from (mine, mask), for the side to move.
    #[inline]
    fn value_of_move(
        &mut self,
        position: Position,
        column: u32,
        depth: i32,
        alpha: i32,
        beta: i32,
        score: i32,
    ) -> i32 {
        let Position { mine, mask, played } = position;
        let new_mask = mask | (mask + bottom(column));
        let moved = new_mask ^ mask;
        let mover = mine | moved;
        if wins(mover) {
            return WIN + depth;
        }
        let next = Position {
            mine: mover ^ new_mask,
            mask: new_mask,
            played: played + 1,
        };
        let score = score + WEIGHTS[moved.trailing_zeros() as usize];
        -self.negamax(next, depth - 1, -beta, -alpha, -score)
    }

    fn negamax(
        &mut self,
        position: Position,
        depth: i32,
        mut alpha: i32,
        beta: i32,
        score: i32,
    ) -> i32 {
        self.nodes += 1;
        if position.played == CELLS {
            return 0;
        }
        if depth == 0 {
            return score;
        }
        let mut best = -INF;
        for column in MOVE_ORDER {
            if position.mask & top(column) != 0 {
                continue;
            }
            let value = self.value_of_move(position, column, depth, alpha, beta, score);
            if value > best {
                best = value;
                if best > alpha {
                    alpha = best;
                    if alpha >= beta {
                        break;
                    }
                }
            }
        }
        best
    }
}

/// Negamax with alpha-beta from the side to move; result = [value, best
/// column, nodes searched]. The root runs the same loop with a full window
/// and no cutoff, keeping the first column (in MOVE_ORDER) with the best value.
pub fn analyse(position: Position, depth: i32) -> [i64; 3] {
    // The positional score (side to move minus opponent) of the position.
    let score: i32 = (0..49)
        .filter(|&bit| position.mask >> bit & 1 == 1)
        .map(|bit| {
            if position.mine >> bit & 1 == 1 {
                WEIGHTS[bit]
            } else {
                -WEIGHTS[bit]
            }
        })
        .sum();
    let mut search = Search { nodes: 1 };
    let (mut best, mut best_column) = (-INF, -1i64);
    let (mut alpha, beta) = (-INF, INF);
    for column in MOVE_ORDER {
        if position.mask & top(column) != 0 {
            continue;
        }
        let value = search.value_of_move(position, column, depth, alpha, beta, score);
        if value > best {
            best = value;
            best_column = i64::from(column);
            alpha = alpha.max(best);
        }
    }
    [i64::from(best), best_column, search.nodes as i64]
}

/// Analyses POSITIONS_PER_TASK seeded openings; result = [value, best column,
/// nodes] of each, concatenated.
pub fn run(task_seed: u64) -> Vec<i64> {
    let mut rng = SplitMix64::new(task_seed);
    let mut out = Vec::with_capacity(3 * POSITIONS_PER_TASK);
    for _ in 0..POSITIONS_PER_TASK {
        let position = opening(&mut rng);
        out.extend(analyse(position, DEPTH));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn four_in_a_row_wins_in_every_direction() {
        let vertical = 0b1111;
        let horizontal = 1 | 1 << 7 | 1 << 14 | 1 << 21;
        let rising = 1 | 1 << 8 | 1 << 16 | 1 << 24;
        let falling = 1 << 3 | 1 << 9 | 1 << 15 | 1 << 21;
        for board in [vertical, horizontal, rising, falling] {
            assert!(wins(board), "{board:b}");
        }
        assert!(!wins(0b111));
        // Three at the top of one column and one at the bottom of the next do
        // not line up: the guard bit keeps them apart.
        assert!(!wins(0b111 << 3 | 1 << 7));
    }

    #[test]
    fn takes_an_immediate_win() {
        // Side to move has three in column 0; the opponent three in column 1.
        let mine = 0b111;
        let theirs = 0b111 << 7;
        let position = Position {
            mine,
            mask: mine | theirs,
            played: 6,
        };
        let [value, column, _] = analyse(position, DEPTH);
        assert_eq!((value, column), (i64::from(WIN + DEPTH), 0));
    }

    /// Same as the Python strategist with task seeds 1 and 42.
    #[test]
    fn golden_results() {
        assert_eq!(
            run(1),
            [
                -5, 3, 1370, -1, 3, 2477, -4, 3, 2749, 100006, 4, 2324, -14, 4, 2503, -11, 3, 2984,
                -5, 4, 2168, 4, 3, 1118
            ]
        );
        assert_eq!(
            run(42),
            [
                -7, 1, 2423, -3, 3, 1334, -8, 3, 2004, 100006, 2, 981, 5, 2, 2461, -1, 2, 1251, 8,
                2, 6012, 0, 3, 2065
            ]
        );
    }
}
