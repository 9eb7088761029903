"""The service scenario's pieces that need no endpoint: the open-loop
schedule and the request task list (which must be the usual task list)."""

from __future__ import annotations

import unittest

from gil_lab.scenarios import make_tasks
from gil_lab.service import load, request


class ServiceTest(unittest.TestCase):
    def test_arrivals_are_fixed_in_advance_one_every_period(self) -> None:
        arrivals = load.schedule(rate=20.0, level_s=1.0, start=100.0)
        self.assertEqual(len(arrivals), 20)
        self.assertEqual(arrivals[0], 100.0)
        self.assertAlmostEqual(arrivals[5], 100.25)

    def test_a_slow_rate_still_schedules_eight_requests(self) -> None:
        self.assertEqual(len(load.schedule(rate=1.0, level_s=2.0, start=0.0)), 8)

    def test_request_tasks_are_the_usual_task_list(self) -> None:
        tasks = make_tasks(1.0, 7)
        for index in (0, 1, 5, 31):
            self.assertEqual(request.request_task(index, 7), tasks[index])

    def test_unknown_approach_is_refused(self) -> None:
        with self.assertRaises(ValueError):
            load.Service("interpreters", 2)


if __name__ == "__main__":
    unittest.main()
