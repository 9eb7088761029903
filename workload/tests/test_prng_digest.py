"""Golden values of the PRNG, the digest and the task list: the Rust twin
reproduces them, so any change here is a change of the spec (docs/agents.md)."""

from __future__ import annotations

import unittest

from gil_lab import digest, scenarios
from gil_lab.prng import MASK64, SplitMix64, mix64


class SplitMix64Golden(unittest.TestCase):
    def test_seed_zero(self) -> None:
        rng = SplitMix64(0)
        self.assertEqual(
            [rng.next_u64() for _ in range(3)],
            [0xE220A8397B1DCDAF, 0x6E789E6AA1B965F4, 0x06C45D188009454F],
        )

    def test_seed_1234567(self) -> None:
        rng = SplitMix64(1234567)
        self.assertEqual(
            [rng.next_u64() for _ in range(3)],
            [0x599ED017FB08FC85, 0x2C73F08458540FA5, 0x883EBCE5A3F27C77],
        )

    def test_below_stays_in_range_and_covers_it(self) -> None:
        rng = SplitMix64(7)
        seen = {rng.below(5) for _ in range(200)}
        self.assertEqual(seen, {0, 1, 2, 3, 4})

    def test_seed_wraps_to_64_bits(self) -> None:
        self.assertEqual(SplitMix64(2**64 + 5).next_u64(), SplitMix64(5).next_u64())

    def test_mix64_is_64_bit(self) -> None:
        self.assertLessEqual(mix64(MASK64), MASK64)


class DigestGolden(unittest.TestCase):
    def test_empty_is_zero(self) -> None:
        self.assertEqual(digest.hex_digest(digest.digest([])), "0000000000000000")

    def test_order_and_sign_matter(self) -> None:
        a = digest.digest([(0, 0, [1, 2]), (1, 1, [3])])
        b = digest.digest([(1, 1, [3]), (0, 0, [1, 2])])
        c = digest.digest([(0, 0, [1, -2]), (1, 1, [3])])
        self.assertEqual(len({a, b, c}), 3)

    def test_negative_is_twos_complement(self) -> None:
        self.assertEqual(digest.digest([(0, 0, [-1])]), digest.digest([(0, 0, [MASK64])]))

    def test_reference_digest_small_cpu_trial(self) -> None:
        # cpu, scale 0.125, seed 1: 4 tasks, one per agent (docs/agents.md).
        tasks = scenarios.make_tasks(0.125, 1)
        records = [(t.agent_code, t.index, scenarios.run_task("cpu", t)) for t in tasks]
        self.assertEqual(digest.hex_digest(digest.digest(records)), "eaa6855b6c958bfd")


class TaskList(unittest.TestCase):
    def test_count_follows_scale(self) -> None:
        self.assertEqual(scenarios.task_count(1.0), 32)
        self.assertEqual(scenarios.task_count(0.125), 4)
        self.assertEqual(scenarios.task_count(0.001), 4)
        self.assertEqual(scenarios.task_count(2.5), 80)

    def test_agents_cycle_and_seeds_follow_the_master_generator(self) -> None:
        tasks = scenarios.make_tasks(0.5, 99)
        master = SplitMix64(99)
        for task in tasks:
            self.assertEqual(task.agent, ("planner", "solver", "strategist",
                                          "reasoner")[task.index % 4])
            self.assertEqual(task.seed, master.next_u64())


if __name__ == "__main__":
    unittest.main()
