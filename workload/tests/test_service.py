"""The service scenario's pieces that need no endpoint: the open-loop
schedule and the request task list (which must be the usual task list)."""

from __future__ import annotations

import unittest

from gil_lab.scenarios import make_tasks
from gil_lab.service import load, request, runner


class ServiceTest(unittest.TestCase):
    def test_arrivals_are_fixed_in_advance_one_every_period(self) -> None:
        arrivals = load.schedule(rate=20.0, level_s=1.0, start=100.0)
        self.assertEqual(len(arrivals), 20)
        self.assertEqual(arrivals[0], 100.0)
        self.assertAlmostEqual(arrivals[5], 100.25)

    def test_a_slow_rate_still_schedules_eight_requests(self) -> None:
        self.assertEqual(len(load.schedule(rate=1.0, level_s=2.0, start=0.0)), 8)

    def test_a_level_holds_at_least_min_requests_however_slow_the_rate(self) -> None:
        arrivals = load.schedule(rate=5.0, level_s=3.0, start=0.0, min_requests=100)
        self.assertEqual(len(arrivals), 100)
        self.assertAlmostEqual(arrivals[-1], 99 / 5.0)

    def test_only_a_level_just_over_the_objective_is_marginal(self) -> None:
        def level(latencies: list[float], dropped: int = 0) -> dict:
            return {"dropped": dropped,
                    "requests": [{"scheduled": 0.0, "end": x} for x in latencies]}
        ok = level([0.1] * 100)
        just_over = level([0.1] * 97 + [0.3] * 3)
        far_over = level([0.1] * 97 + [0.6] * 3)
        self.assertFalse(runner.marginal(ok, 0.25))
        self.assertTrue(runner.marginal(just_over, 0.25))
        self.assertFalse(runner.marginal(far_over, 0.25))
        self.assertTrue(runner.broken(far_over, 0.25))
        self.assertFalse(runner.marginal(level([0.3] * 100, dropped=2), 0.25))

    def test_a_level_s_cost_counts_this_process(self) -> None:
        cpu, rss = load.usage([])
        self.assertGreater(rss, 0)
        sum(i * i for i in range(200_000))
        self.assertGreater(load.usage([])[0], cpu)

    def test_request_tasks_are_the_usual_task_list(self) -> None:
        tasks = make_tasks(1.0, 7)
        for index in (0, 1, 5, 31):
            self.assertEqual(request.request_task(index, 7), tasks[index])

    def test_unknown_approach_is_refused(self) -> None:
        with self.assertRaises(ValueError):
            load.Service("interpreters", 2)


if __name__ == "__main__":
    unittest.main()
