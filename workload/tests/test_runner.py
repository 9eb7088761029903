"""The runner as gil-lab starts it: a real child process of this interpreter,
isolated mode, one JSON object on stdout (docs/trial-protocol.md)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import unittest

from gil_lab import knowledge, scenarios
from gil_lab.approaches import APPROACHES, Trial, load
from gil_lab.digest import digest

PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The same bootstrap as src/embedded.rs.
BOOTSTRAP = ("import sys;sys.path.insert(0,sys.argv[1]);m=sys.argv[2];"
             "sys.argv=sys.argv[2:];import runpy;"
             "runpy.run_module(m,run_name='__main__',alter_sys=True)")
SCALE = 0.125
RESULT_FIELDS = {"protocol", "result", "spec", "runtime", "gil_enabled_start",
                 "gil_enabled_end", "worker_gil_enabled", "clock_t0", "phases",
                 "sharing", "tasks", "digest"}


def run_runner(*args: str) -> tuple[int, dict]:
    """Runs the runner with `args`; (exit status, parsed stdout)."""
    completed = subprocess.run(
        [sys.executable, "-I", "-B", "-c", BOOTSTRAP, PACKAGE_ROOT, "gil_lab.runner", *args],
        capture_output=True, text=True, timeout=120,
    )
    lines = completed.stdout.splitlines()
    if len(lines) != 1:
        raise AssertionError(f"expected one line on stdout, got {completed.stdout!r}; "
                             f"stderr: {completed.stderr[-2000:]}")
    return completed.returncode, json.loads(lines[0])


def run_spec(**spec: object) -> dict:
    """Runs one trial; fails the test unless it succeeded or was skipped."""
    status, result = run_runner(json.dumps(spec))
    if result["result"] == "error":
        raise AssertionError(f"{spec} failed: {result['error']}")
    assert status == 0, status
    return result


def ray_importable() -> bool:
    """Whether this interpreter has Ray (the suite is also run from the Ray
    environment `gil-lab python ray-env` makes)."""
    import importlib.util

    return importlib.util.find_spec("ray") is not None


@unittest.skipUnless(ray_importable(), "ray is not installed here (gil-lab python ray-env)")
class RayOrchestration(unittest.TestCase):
    def test_orchestration_steps_and_nodes_are_reported(self) -> None:
        result = run_spec(scenario="shared", approach="ray", workers=2, scale=SCALE, seed=3)
        self.assertEqual(result["result"], "success")
        steps = result["orchestration"]
        self.assertEqual(steps["cluster"], "local")
        for step in ("connect_s", "ship_code_s", "worker_start_s", "shutdown_s"):
            self.assertGreater(steps[step], 0.0, step)
        phases = result["phases"]
        self.assertAlmostEqual(phases["pool_start"], steps["connect_s"] + steps["ship_code_s"]
                               + steps["worker_start_s"])
        self.assertEqual(phases["teardown"], steps["shutdown_s"])
        self.assertEqual(sorted(w["worker"] for w in steps["workers"]), ["ray-0", "ray-1"])
        nodes = {w["node"] for w in steps["workers"]}
        self.assertEqual({t["node"] for t in result["tasks"]}, nodes)
        self.assertEqual({t["worker"] for t in result["tasks"]} - {"ray-0", "ray-1"}, set())
        self.assertEqual(result["sharing"]["method"], "object-store")

    def test_a_bad_address_is_a_bad_spec(self) -> None:
        status, result = run_runner(json.dumps({"scenario": "cpu", "approach": "ray",
                                                "ray_address": 6379}))
        self.assertEqual(status, 1)
        self.assertEqual(result["error"]["kind"], "bad_spec")


class DigestAcrossApproaches(unittest.TestCase):
    def check_scenario(self, scenario: str) -> None:
        reference = run_spec(scenario=scenario, approach="sequential", scale=SCALE, seed=7)
        self.assertEqual(reference["result"], "success")
        ran = []
        for approach in APPROACHES:
            if approach == "sequential":
                continue
            with self.subTest(approach=approach):
                result = run_spec(scenario=scenario, approach=approach, workers=2,
                                  scale=SCALE, seed=7)
                if result["result"] == "skipped":
                    # Only subinterpreters (PyPy, CPython < 3.12) and Ray (an
                    # interpreter without it installed) may be missing.
                    self.assertIn(approach, ("interpreters", "ray"))
                    self.assertTrue(result["reason"])
                    continue
                ran.append(approach)
                if approach == "interpreters":
                    # 3.14+ goes through the public API (PEP 734).
                    expected = ("concurrent.futures.InterpreterPoolExecutor"
                                if sys.version_info >= (3, 14) else "_interpreters")
                    if sys.version_info < (3, 13):
                        expected = "_xxsubinterpreters"
                    self.assertEqual(result["api"], expected)
                else:
                    self.assertIsNone(result["api"])
                self.assertEqual(result["digest"], reference["digest"])
                self.assertEqual([t["result"] for t in result["tasks"]],
                                 [t["result"] for t in reference["tasks"]])
        self.assertGreaterEqual(len(ran), 4)

    def test_cpu(self) -> None:
        self.check_scenario("cpu")

    def test_shared(self) -> None:
        self.check_scenario("shared")

    def test_the_default_start_method(self) -> None:
        import multiprocessing

        # 3.14 made forkserver the default on Linux: a null start method
        # runs (and reports) the interpreter's own default.
        result = run_spec(scenario="cpu", approach="processes", workers=2, scale=SCALE)
        self.assertEqual(result["spec"]["start_method"], multiprocessing.get_start_method())
        if sys.version_info >= (3, 14) and sys.platform == "linux":
            self.assertEqual(result["spec"]["start_method"], "forkserver")

    def test_every_start_method(self) -> None:
        import multiprocessing

        reference = run_spec(scenario="shared", approach="sequential", scale=SCALE)
        for method in multiprocessing.get_all_start_methods():
            with self.subTest(method=method):
                result = run_spec(scenario="shared", approach="processes", workers=2,
                                  scale=SCALE, start_method=method)
                self.assertEqual(result["digest"], reference["digest"])
                self.assertEqual(result["spec"]["start_method"], method)
                expected = "fork-inherited" if method == "fork" else "pickled"
                self.assertEqual(result["sharing"]["method"], expected)
                self.assertEqual(len(result["worker_gil_enabled"]), 2)


class ResultShape(unittest.TestCase):
    def test_success_result_has_every_field(self) -> None:
        result = run_spec(scenario="cpu", approach="threads", workers=2, scale=SCALE)
        self.assertTrue(RESULT_FIELDS <= set(result))
        self.assertEqual(result["protocol"], 1)
        # Fields later issues add to the spec (e.g. for the io scenario) are
        # allowed; these must be filled in as the protocol says.
        expected = {"scenario": "cpu", "approach": "threads", "workers": 2, "scale": SCALE,
                    "seed": 1, "start_method": None}
        self.assertEqual({k: result["spec"].get(k) for k in expected}, expected)
        self.assertEqual(set(result["phases"]), {"setup", "pool_start", "work", "teardown"})
        self.assertTrue(all(v >= 0 for v in result["phases"].values()))
        self.assertRegex(result["digest"], r"^[0-9a-f]{16}$")
        self.assertIsNone(result["sharing"])
        self.assertEqual(result["runtime"]["pid"] > 0, True)
        self.assertIsInstance(result["runtime"]["free_threaded_build"], bool)
        tasks = result["tasks"]
        self.assertEqual([t["index"] for t in tasks], list(range(4)))
        self.assertEqual([t["agent"] for t in tasks],
                         ["planner", "solver", "strategist", "reasoner"])
        for task in tasks:
            self.assertRegex(task["worker"], r"^thread-[0-9]+$")
            self.assertLessEqual(0, task["start"])
            self.assertLessEqual(task["start"], task["end"])
            self.assertTrue(all(isinstance(v, int) for v in task["result"]))
            # The OS thread that ran it: not the runner's main thread.
            self.assertIsInstance(task["tid"], int)
            self.assertNotEqual(task["tid"], result["runtime"]["pid"])
        self.assertEqual(len({t["tid"] for t in tasks}) <= 2, True)
        # The runner's own high-water mark (VmHWM), where /proc exists.
        if os.path.exists("/proc/self/status"):
            self.assertGreater(result["high_water_mark_bytes"], 1 << 20)

    def test_shared_reports_its_sharing(self) -> None:
        result = run_spec(scenario="shared", approach="threads", workers=2, scale=SCALE)
        self.assertEqual(result["sharing"]["method"], "same-object")
        self.assertGreaterEqual(result["sharing"]["cost_s"], 0)


class ErrorPath(unittest.TestCase):
    def check_bad(self, *args: str, mention: str) -> None:
        status, result = run_runner(*args)
        self.assertEqual(status, 1)
        self.assertEqual(result["result"], "error")
        self.assertEqual(result["error"]["kind"], "bad_spec")
        self.assertIn(mention, result["error"]["message"])

    def test_bad_specs(self) -> None:
        self.check_bad(mention="exactly one argument")
        self.check_bad("{not json", mention="not valid JSON")
        self.check_bad("[1]", mention="JSON object")
        self.check_bad('{"scenario": "gpu", "approach": "threads"}', mention="scenario")
        self.check_bad('{"scenario": "cpu", "approach": "fibers"}', mention="approach")
        self.check_bad('{"scenario": "cpu", "approach": "threads", "workers": 0}',
                       mention="workers")
        self.check_bad('{"scenario": "cpu", "approach": "threads", "scale": -1}',
                       mention="scale")
        self.check_bad('{"scenario": "cpu", "approach": "threads", "seed": -3}',
                       mention="seed")
        self.check_bad('{"scenario": "cpu", "approach": "processes", "start_method": "x"}',
                       mention="start_method")

    def test_failure_inside_a_trial_is_json_with_a_traceback(self) -> None:
        import contextlib
        import io

        from gil_lab import coordinator, trial

        def broken(*args: object) -> list[int]:
            raise ZeroDivisionError("agent failed")

        original = coordinator.run_task
        coordinator.run_task = broken  # type: ignore[assignment]
        out = io.StringIO()
        try:
            with contextlib.redirect_stdout(out):
                status = trial.main(['{"scenario": "cpu", "approach": "sequential"}'])
        finally:
            coordinator.run_task = original
        result = json.loads(out.getvalue())
        self.assertEqual(status, 1)
        self.assertEqual(result["result"], "error")
        self.assertEqual(result["error"]["kind"], "ZeroDivisionError")
        self.assertIn("agent failed", result["error"]["traceback"])
        self.assertIsNone(result["digest"])


class SharedUnderThreads(unittest.TestCase):
    def test_digest_is_stable_over_twenty_runs(self) -> None:
        network = knowledge.build(3)
        tasks = scenarios.make_tasks(SCALE, 3)
        threads = load("threads")
        digests = set()
        findings = set()
        for _ in range(20):
            trial = Trial("shared", tasks, 4, None, network, 3, SCALE)
            outcome = threads.run(trial)
            records = sorted(outcome.records, key=lambda r: r.index)
            digests.add(digest((tasks[r.index].agent_code, r.index, r.result)
                               for r in records))
            findings.add(len(trial.blackboard))
        self.assertEqual(len(digests), 1)
        self.assertEqual(findings, {len(tasks)})


if __name__ == "__main__":
    unittest.main()
