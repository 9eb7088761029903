"""The inspection (`python -m gil_lab.inside`): its facts checked against this
interpreter's own answers (sys, sysconfig, gc, dis), as a real child process."""

from __future__ import annotations

import json
import platform
import subprocess
import sys
import sysconfig
import unittest

from gil_lab.inside import bytecode

from .test_runner import BOOTSTRAP, PACKAGE_ROOT


def inspect(spec: dict) -> tuple[int, dict]:
    completed = subprocess.run(
        [sys.executable, "-I", "-B", "-c", BOOTSTRAP, PACKAGE_ROOT, "gil_lab.inside",
         json.dumps(spec)],
        capture_output=True, text=True, timeout=300,
    )
    return completed.returncode, json.loads(completed.stdout)


class InspectionTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.status, cls.report = inspect({"units": ["solver", "knowledge"], "tasks": 3})

    def feature(self, key: str) -> dict:
        return next(f for f in self.report["features"] if f["key"] == key)

    def test_success_with_each_unit(self) -> None:
        self.assertEqual(self.status, 0, self.report)
        self.assertEqual([u["name"] for u in self.report["units"]], ["solver", "knowledge"])
        for unit in self.report["units"]:
            self.assertEqual(unit["tasks"], 3)
            self.assertTrue(unit["functions"], unit)
            shares = [f["own_time_share"] for f in unit["functions"]]
            self.assertEqual(shares, sorted(shares, reverse=True))
            self.assertLessEqual(sum(shares), 1.0001)

    def test_hot_functions_are_the_agents_own(self) -> None:
        solver = self.report["units"][0]
        hottest = solver["functions"][0]
        self.assertTrue(hottest["name"].endswith("place"), hottest["name"])
        self.assertEqual(hottest["file"], "gil_lab/agents/solver.py")
        self.assertIn("listing", hottest)
        self.assertEqual(len(hottest["listing"]), hottest["instructions"])

    def test_runtime_matches_sys_and_sysconfig(self) -> None:
        runtime = self.report["runtime"]
        self.assertEqual(runtime["version"], platform.python_version())
        self.assertEqual(runtime["free_threaded"],
                         bool(sysconfig.get_config_var("Py_GIL_DISABLED")))
        check = getattr(sys, "_is_gil_enabled", None)
        # This process and the child run the same interpreter the same way.
        if check is not None:
            self.assertEqual(runtime["gil_enabled"], check())
            self.assertEqual(self.feature("gil")["state"], "on" if check() else "off")

    def test_specialisation_matches_dis(self) -> None:
        state = self.feature("specializing_interpreter")["state"]
        solver = self.report["units"][0]
        if not bytecode.adaptive_view_available():
            self.assertEqual(state, "absent")
            self.assertIsNone(solver["specialisation"])
            return
        share = solver["specialisation"]
        self.assertLessEqual(share["specialised"], share["specialisable"])
        self.assertLessEqual(share["specialisable"], share["instructions"])
        free_threaded_313 = (sysconfig.get_config_var("Py_GIL_DISABLED")
                             and sys.version_info[:2] == (3, 13))
        if free_threaded_313:
            # Published: the 3.13 free-threaded build does not specialise.
            self.assertEqual(state, "off")
            self.assertEqual(share["specialised"], 0)
        else:
            self.assertEqual(state, "on")
            self.assertGreater(share["specialised"], 0)
            top = dict(share["top"])
            self.assertIn("BINARY_OP_ADD_INT", top)

    def test_collector_facts_match_gc(self) -> None:
        import gc
        get = getattr(gc, "get_threshold", None)
        expected = list(get()) if get is not None else None
        self.assertEqual(self.report["gc_thresholds"], expected)
        memory = self.report["units"][1]["memory"]
        if platform.python_implementation() == "CPython":
            self.assertEqual(len(memory["collections_per_task"]), len(gc.get_stats()))
            # The knowledge queries keep a frontier and distance tables.
            self.assertGreater(memory["peak_bytes_per_task"], 10_000)
        else:
            self.assertIsNone(memory["peak_bytes_per_task"])
            # PyPy's gc.hooks: minor and major collections.
            self.assertEqual(len(memory["collections_per_task"]), 2)

    def test_build_features_match_sysconfig(self) -> None:
        cpython = platform.python_implementation() == "CPython"
        free_threaded = bool(sysconfig.get_config_var("Py_GIL_DISABLED"))
        biased = self.feature("biased_reference_counting")["state"]
        self.assertEqual(biased, "on" if cpython and free_threaded else "absent")
        mimalloc = self.feature("mimalloc")["state"]
        if not (cpython and sysconfig.get_config_var("WITH_MIMALLOC")):
            self.assertEqual(mimalloc, "absent")
        elif free_threaded:
            self.assertEqual(mimalloc, "on")
        immortal = self.feature("immortal_objects")["state"]
        self.assertEqual(immortal, "on" if cpython and sys.version_info >= (3, 12) else "absent")
        jit = getattr(sys, "_jit", None)
        if jit is not None and jit.is_available():
            self.assertEqual(self.feature("jit")["state"], "on" if jit.is_enabled() else "off")


class BadSpecTest(unittest.TestCase):
    def test_unknown_unit_is_a_one_line_error(self) -> None:
        status, report = inspect({"units": ["nobody"]})
        self.assertEqual(status, 1)
        self.assertEqual(report["error"]["kind"], "bad_unit")
        self.assertIn("planner", report["error"]["message"])

    def test_bad_tasks(self) -> None:
        status, report = inspect({"tasks": 0})
        self.assertEqual((status, report["error"]["kind"]), (1, "bad_spec"))


if __name__ == "__main__":
    unittest.main()
