"""Each agent against answers known independently of this code."""

from __future__ import annotations

import unittest

from gil_lab import knowledge, scenarios
from gil_lab.agents import planner, reasoner, solver, strategist
from gil_lab.prng import SplitMix64


class Solver(unittest.TestCase):
    def test_n_queens_counts_match_oeis_a000170(self) -> None:
        for n, count in ((1, 1), (4, 2), (6, 4), (8, 92), (10, 724), (12, 14200)):
            self.assertEqual(solver.count_solutions(n, [0] * n), count, n)

    def test_blocked_cell_removes_its_solutions(self) -> None:
        # 4-Queens has 2 solutions, (1,3,0,2) and (2,0,3,1) by row; blocking
        # row 0 column 1 leaves only the second.
        self.assertEqual(solver.count_solutions(4, [0b0010, 0, 0, 0]), 1)

    def test_task_result_shape(self) -> None:
        n, distinct, count = solver.run(12345)
        self.assertEqual(n, solver.BOARD_SIZE)
        self.assertTrue(1 <= distinct <= solver.BLOCKED_DRAWS)
        self.assertTrue(0 <= count <= 2680)


class Planner(unittest.TestCase):
    def test_known_optimal_plan_lengths(self) -> None:
        self.assertEqual(planner.solve([1, 2, 3, 4, 5, 6, 7, 8, 0]), 0)
        self.assertEqual(planner.solve([1, 2, 3, 4, 5, 6, 7, 0, 8]), 1)
        self.assertEqual(planner.solve([1, 2, 3, 4, 5, 6, 0, 7, 8]), 2)
        # The two hardest 8-puzzle positions need 31 moves (Reinefeld 1993).
        self.assertEqual(planner.solve([8, 6, 7, 2, 5, 4, 3, 0, 1]), 31)
        self.assertEqual(planner.solve([6, 4, 7, 8, 5, 0, 3, 2, 1]), 31)

    def test_plans_are_no_longer_than_the_walk_and_of_its_parity(self) -> None:
        for length in planner.run(2024):
            self.assertLessEqual(length, planner.WALK_STEPS)
            self.assertEqual(length % 2, planner.WALK_STEPS % 2)

    def test_scramble_is_a_permutation(self) -> None:
        board = planner.scramble(SplitMix64(3), 40, planner.neighbours())
        self.assertEqual(sorted(board), list(range(9)))


def position(moves: list[int]) -> tuple[int, int, int]:
    """(pieces of the side to move, all pieces, moves played) after `moves`."""
    mine, mask = 0, 0
    for column in moves:
        new_mask = mask | (mask + (1 << (column * 7)))
        mine, mask = (mine | (new_mask ^ mask)) ^ new_mask, new_mask
    return mine, mask, len(moves)


class Strategist(unittest.TestCase):
    def test_takes_an_immediate_win(self) -> None:
        value, column, nodes = strategist.analyse(*position([3, 0, 3, 0, 3, 0]), 6)
        self.assertEqual((value, column), (strategist.WIN + 6, 3))
        self.assertGreater(nodes, 1)

    def test_knows_a_lost_position_and_breaks_ties_by_move_order(self) -> None:
        # The first player holds columns 2, 3, 4 of the bottom row with both
        # ends open: whatever the second player does, a win follows at once.
        value, column, _ = strategist.analyse(*position([2, 6, 3, 6, 4]), 6)
        self.assertEqual(value, -(strategist.WIN + 5))
        self.assertEqual(column, strategist.MOVE_ORDER[0])

    def test_wins_detects_every_direction(self) -> None:
        self.assertTrue(strategist.wins(0b1111))  # vertical
        self.assertTrue(strategist.wins(1 | 1 << 7 | 1 << 14 | 1 << 21))  # horizontal
        self.assertTrue(strategist.wins(1 | 1 << 8 | 1 << 16 | 1 << 24))  # diagonal /
        self.assertTrue(strategist.wins(1 << 3 | 1 << 9 | 1 << 15 | 1 << 21))  # diagonal \
        self.assertFalse(strategist.wins(0b111 | 1 << 7 | 1 << 14))


class Reasoner(unittest.TestCase):
    def exact_posterior(self, query: int, john: int, mary: int) -> float:
        """P(query | John, Mary) by enumerating the network."""
        def p(threshold: int, value: int) -> float:
            q = threshold / 65536
            return q if value else 1 - q

        joint = [0.0, 0.0]
        for b in (0, 1):
            for e in (0, 1):
                for a in (0, 1):
                    weight = (p(reasoner.P_BURGLARY, b) * p(reasoner.P_EARTHQUAKE, e)
                              * p(reasoner.P_ALARM[b * 2 + e], a)
                              * p(reasoner.P_JOHN[a], john) * p(reasoner.P_MARY[a], mary))
                    joint[(b, e, a)[query]] += weight
        return joint[1] / (joint[0] + joint[1])

    def test_estimates_agree_with_exact_inference(self) -> None:
        checked = 0
        for seed in range(40):
            query, john, mary, accepted, hits = reasoner.run(seed)
            if accepted < 1500:
                continue
            exact = self.exact_posterior(query, john, mary)
            # Four standard errors of a binomial proportion.
            bound = 4 * (exact * (1 - exact) / accepted) ** 0.5 + 1e-9
            self.assertLess(abs(hits / accepted - exact), bound, (seed, query, john, mary))
            checked += 1
        self.assertGreater(checked, 5)


class KnowledgeBase(unittest.TestCase):
    def test_size_and_symmetry(self) -> None:
        network = knowledge.build(5)
        self.assertGreaterEqual(network.edges, 200_000)
        self.assertEqual(network.edges, 2 * 2 * 255 * 256)
        # Every road is two-way with the same length.
        node = 300
        for edge in range(network.offsets[node], network.offsets[node + 1]):
            other = network.targets[edge]
            back = [network.lengths[e] for e in
                    range(network.offsets[other], network.offsets[other + 1])
                    if network.targets[e] == node]
            self.assertEqual(back, [network.lengths[edge]])

    def test_shortest_path_on_a_small_grid_against_brute_force(self) -> None:
        network = knowledge.build(9, width=6, height=5)
        # Bellman-Ford from node 0 as the independent reference.
        dist = [10**9] * network.nodes
        dist[0] = 0
        for _ in range(network.nodes):
            for node in range(network.nodes):
                for edge in range(network.offsets[node], network.offsets[node + 1]):
                    target = network.targets[edge]
                    dist[target] = min(dist[target], dist[node] + network.lengths[edge])
        for target in range(network.nodes):
            self.assertEqual(network.shortest_path(0, target), dist[target])

    def test_query_pairs_stay_on_the_grid(self) -> None:
        network = knowledge.build(1, width=40, height=30)
        for seed in range(20):
            for source, target in scenarios.query_pairs(seed, network):
                self.assertTrue(0 <= source < network.nodes)
                self.assertTrue(0 <= target < network.nodes)


if __name__ == "__main__":
    unittest.main()
