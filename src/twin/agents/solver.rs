//! The solver: constraint satisfaction by backtracking (docs/agents.md,
//! section 4; `workload/gil_lab/agents/solver.py`).
//!
//! Counts the placements of N non-attacking queens on a board with blocked
//! cells. Rows are filled one by one; attacked columns and both diagonals are
//! bit masks.

use crate::prng::SplitMix64;

/// Board size of every task.
pub const BOARD_SIZE: usize = 11;
/// Blocked cells drawn per task (duplicates collapse).
pub const BLOCKED_DRAWS: usize = 10;

/// Solutions of N-Queens on an n x n board (n = `blocked.len()`, at most 31);
/// `blocked[row]` is a bit mask of the columns blocked in that row.
pub fn count_solutions(blocked: &[u32]) -> u64 {
    let full = (1u32 << blocked.len()) - 1;
    place(blocked, full, 0, 0, 0)
}

/// Placements of the remaining rows given the columns and diagonals under
/// attack; `blocked` holds the rows still to fill.
fn place(blocked: &[u32], full: u32, columns: u32, left: u32, right: u32) -> u64 {
    let Some((&row_blocked, rest)) = blocked.split_first() else {
        return 1;
    };
    let mut total = 0;
    let mut free = full & !(columns | left | right | row_blocked);
    while free != 0 {
        let bit = free & free.wrapping_neg();
        free ^= bit;
        total += place(
            rest,
            full,
            columns | bit,
            ((left | bit) << 1) & full,
            (right | bit) >> 1,
        );
    }
    total
}

/// Blocks cells drawn from the task seed (cell = below(n*n), row = cell / n,
/// column = cell % n); result = [n, distinct blocked cells, solutions].
pub fn run(task_seed: u64) -> Vec<i64> {
    let mut rng = SplitMix64::new(task_seed);
    let n = BOARD_SIZE as u64;
    let mut blocked = [0u32; BOARD_SIZE];
    for _ in 0..BLOCKED_DRAWS {
        let cell = rng.below(n * n);
        blocked[(cell / n) as usize] |= 1 << (cell % n);
    }
    let distinct: u32 = blocked.iter().map(|mask| mask.count_ones()).sum();
    vec![
        n as i64,
        i64::from(distinct),
        count_solutions(&blocked) as i64,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// OEIS A000170 (free boards).
    #[test]
    fn oeis_counts() {
        for (n, count) in [
            (1, 1),
            (4, 2),
            (6, 4),
            (8, 92),
            (10, 724),
            (11, 2680),
            (12, 14200),
        ] {
            assert_eq!(count_solutions(&vec![0; n]), count, "n = {n}");
        }
    }

    #[test]
    fn a_blocked_cell_removes_solutions() {
        let mut blocked = vec![0; 8];
        blocked[0] = 0b1111_1111;
        assert_eq!(count_solutions(&blocked), 0);
    }

    /// Same as the Python solver with task seeds 1 and 42.
    #[test]
    fn golden_results() {
        assert_eq!(run(1), [11, 10, 981]);
        assert_eq!(run(42), [11, 9, 1128]);
    }
}
