//! The planner: optimal plans for 8-puzzles by A* search (docs/agents.md,
//! section 3; `workload/gil_lab/agents/planner.py`).
//!
//! Instances are seeded random walks of the blank from the goal, so they are
//! always solvable; A* with the Manhattan heuristic (admissible and
//! consistent) returns the optimal plan length, which is unique whatever
//! order equal-cost nodes are expanded in.

use rustc_hash::FxHashMap;

use crate::prng::SplitMix64;

/// Puzzles solved per task.
pub const PUZZLES_PER_TASK: usize = 30;
/// Length of the random walk that scrambles each puzzle.
pub const WALK_STEPS: usize = 60;
/// The solved board: tile t at cell t - 1, the blank (0) last.
const GOAL: [u8; 9] = [1, 2, 3, 4, 5, 6, 7, 8, 0];

/// Cells next to each cell, in the fixed order up, down, left, right, as
/// (cells, how many).
const NEIGHBOURS: [([u8; 4], usize); 9] = neighbours();

/// `MANHATTAN[tile][cell]`: distance of `tile` at `cell` from its goal cell
/// (the blank costs nothing).
const MANHATTAN: [[u8; 9]; 9] = manhattan();

const fn neighbours() -> [([u8; 4], usize); 9] {
    let mut out = [([0u8; 4], 0usize); 9];
    let mut cell = 0;
    while cell < 9 {
        let (row, col) = (cell / 3, cell % 3);
        let mut near = [0u8; 4];
        let mut n = 0;
        if row > 0 {
            near[n] = (cell - 3) as u8;
            n += 1;
        }
        if row < 2 {
            near[n] = (cell + 3) as u8;
            n += 1;
        }
        if col > 0 {
            near[n] = (cell - 1) as u8;
            n += 1;
        }
        if col < 2 {
            near[n] = (cell + 1) as u8;
            n += 1;
        }
        out[cell] = (near, n);
        cell += 1;
    }
    out
}

const fn manhattan() -> [[u8; 9]; 9] {
    let mut table = [[0u8; 9]; 9];
    let mut tile = 1;
    while tile < 9 {
        let (goal_row, goal_col) = ((tile - 1) / 3, (tile - 1) % 3);
        let mut cell = 0;
        while cell < 9 {
            let (row, col) = (cell / 3, cell % 3);
            table[tile][cell] = (row.abs_diff(goal_row) + col.abs_diff(goal_col)) as u8;
            cell += 1;
        }
        tile += 1;
    }
    table
}

/// The goal board after `steps` random blank moves; a move never undoes the
/// one before it.
pub fn scramble(rng: &mut SplitMix64, steps: usize) -> [u8; 9] {
    let mut board = GOAL;
    let mut blank = 8usize;
    let mut previous = usize::MAX;
    for _ in 0..steps {
        let (near, n) = NEIGHBOURS[blank];
        let mut choices = [0usize; 4];
        let mut count = 0;
        for &cell in &near[..n] {
            if usize::from(cell) != previous {
                choices[count] = usize::from(cell);
                count += 1;
            }
        }
        let target = choices[rng.below(count as u64) as usize];
        board[blank] = board[target];
        board[target] = 0;
        previous = blank;
        blank = target;
    }
    board
}

/// A node waiting in the open list: (board, 4 bits per cell; g; blank cell; h).
type Node = (u64, u8, u8, u8);

/// A* scratch space, reused by every puzzle of a task so the search loop
/// does not allocate once it has warmed up.
#[derive(Default)]
pub struct Solver {
    /// Cheapest known number of moves to each board seen.
    best_g: FxHashMap<u64, u8>,
    /// Open list as a bucket queue indexed by f = g + h.
    buckets: Vec<Vec<Node>>,
}

impl Solver {
    /// The optimal number of moves from `board` to the goal.
    pub fn solve(&mut self, board: &[u8; 9]) -> u32 {
        self.best_g.clear();
        for bucket in &mut self.buckets {
            bucket.clear();
        }
        let mut state = 0u64;
        let mut h = 0u8;
        let mut blank = 0u8;
        for (cell, &tile) in board.iter().enumerate() {
            state |= u64::from(tile) << (4 * cell);
            h += MANHATTAN[usize::from(tile)][cell];
            if tile == 0 {
                blank = cell as u8;
            }
        }
        // A bucket queue replaces a binary heap: f takes small integer values
        // and never decreases along a path (the heuristic is consistent).
        self.best_g.insert(state, 0);
        self.push((state, 0, blank, h));
        let mut f = usize::from(h);
        loop {
            let Some((state, g, blank, h)) = self.buckets[f].pop() else {
                f += 1;
                continue;
            };
            if self.best_g[&state] < g {
                continue; // a cheaper path to this board was found after the push
            }
            if h == 0 {
                return u32::from(g);
            }
            let g = g + 1;
            let (near, n) = NEIGHBOURS[usize::from(blank)];
            for &target in &near[..n] {
                let shift = 4 * u32::from(target);
                let tile = (state >> shift) & 15;
                let child = state - (tile << shift) + (tile << (4 * u32::from(blank)));
                let known = self.best_g.entry(child).or_insert(u8::MAX);
                if *known <= g {
                    continue;
                }
                *known = g;
                let row = &MANHATTAN[tile as usize];
                let child_h = h - row[usize::from(target)] + row[usize::from(blank)];
                self.push((child, g, target, child_h));
            }
        }
    }

    fn push(&mut self, node: Node) {
        let f = usize::from(node.1) + usize::from(node.3);
        if f >= self.buckets.len() {
            self.buckets.resize_with(f + 1, Vec::new);
        }
        self.buckets[f].push(node);
    }
}

/// Solves `PUZZLES_PER_TASK` scrambled puzzles; result = their optimal plan
/// lengths, in the order they were made.
pub fn run(task_seed: u64) -> Vec<i64> {
    let mut rng = SplitMix64::new(task_seed);
    let mut solver = Solver::default();
    (0..PUZZLES_PER_TASK)
        .map(|_| i64::from(solver.solve(&scramble(&mut rng, WALK_STEPS))))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_plan_lengths() {
        let mut solver = Solver::default();
        assert_eq!(solver.solve(&GOAL), 0);
        assert_eq!(solver.solve(&[1, 2, 3, 4, 5, 6, 7, 0, 8]), 1);
        // One of the two hardest 8-puzzle positions: 31 moves.
        assert_eq!(solver.solve(&[8, 6, 7, 2, 5, 4, 3, 0, 1]), 31);
    }

    /// Same as the Python planner (cpu scenario, seed 1, task 0, and seeds 1
    /// and 42 as task seeds).
    #[test]
    fn golden_results() {
        let task0 = run(0x910a2dec89025cc1);
        assert_eq!(&task0[..4], &[22, 26, 16, 18]);
        assert_eq!(
            run(1),
            [
                22, 24, 16, 22, 24, 26, 22, 26, 24, 24, 20, 26, 20, 20, 24, 14, 12, 20, 24, 24, 18,
                24, 16, 22, 20, 22, 26, 24, 24, 22
            ]
        );
        assert_eq!(
            run(42),
            [
                20, 26, 22, 22, 20, 22, 26, 20, 18, 26, 18, 24, 22, 28, 22, 22, 20, 20, 20, 24, 18,
                22, 18, 22, 18, 24, 22, 12, 24, 24
            ]
        );
    }
}
