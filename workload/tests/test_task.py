"""A team's own task (`gil_lab.task`): the digest of results, finding the
function, and the runner as gil-lab starts it, on this interpreter."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import unittest

from gil_lab.task import digest, target

PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BOOTSTRAP = ("import sys;sys.path.insert(0,sys.argv[1]);m=sys.argv[2];"
             "sys.argv=sys.argv[2:];import runpy;"
             "runpy.run_module(m,run_name='__main__',alter_sys=True)")

TASKS = '''
import asyncio
_scratch = []
_seen = []

def square(i):
    return {"i": i, "square": i * i, "tags": {"a", "b"}}

async def later(i):
    await asyncio.sleep(0)
    return [i, float(i) / 3]

def remember(i):
    _seen.append(i)
    return len(_seen)

def boom(i):
    if i == 2:
        raise KeyError("no such key")
    return i
'''


@dataclasses.dataclass
class Point:
    x: int
    y: float


class DigestTest(unittest.TestCase):
    def test_equal_values_have_equal_digests(self) -> None:
        self.assertEqual(digest.digest({"b": 1, "a": [1, 2.5]}),
                         digest.digest({"a": [1, 2.5], "b": 1}))
        self.assertEqual(digest.digest({"x", "y", "z"}), digest.digest({"z", "y", "x"}))
        self.assertEqual(digest.digest(Point(1, 2.0)), digest.digest(Point(1, 2.0)))
        self.assertEqual(digest.digest(object), digest.digest(object))

    def test_different_values_have_different_digests(self) -> None:
        values = [1, 1.0, "1", b"1", True, None, [1], (1,), {1}, {"1": 1}, Point(1, 1.0),
                  0.1 + 0.2, 0.3]
        digests = [digest.digest(v) for v in values]
        self.assertEqual(len(set(digests)), len(values), digests)

    def test_cycles_and_addresses(self) -> None:
        loop: list = []
        loop.append(loop)
        self.assertEqual(len(digest.digest(loop)), 16)

        class Opaque:
            __slots__ = ()

        self.assertEqual(digest.digest(Opaque()), digest.digest(Opaque()))


class TargetTest(unittest.TestCase):
    def test_bad_targets_name_the_fix(self) -> None:
        with self.assertRaises(target.TaskError) as caught:
            target.split("module")
        self.assertEqual(caught.exception.kind, "bad_target")
        with self.assertRaises(target.TaskError) as caught:
            target.load("json:no_such_function", [])
        self.assertIn("has no function no_such_function", str(caught.exception))
        with self.assertRaises(target.TaskError) as caught:
            target.load("gil_lab_absent_module:run", [])
        self.assertEqual(caught.exception.kind, "import_failed")


class RunnerTest(unittest.TestCase):
    def setUp(self) -> None:
        self.dir = tempfile.TemporaryDirectory()
        self.file = os.path.join(self.dir.name, "tasks.py")
        with open(self.file, "w") as out:
            out.write(TASKS)

    def tearDown(self) -> None:
        self.dir.cleanup()

    def run_task(self, function: str, approach: str, **task: object) -> dict:
        spec = {"scenario": "task", "approach": approach, "workers": 2,
                "task": {"name": function, "target": f"{self.file}:{function}",
                         "calls": 6, **task}}
        completed = subprocess.run(
            [sys.executable, "-I", "-B", "-c", BOOTSTRAP, PACKAGE_ROOT,
             "gil_lab.task.runner", json.dumps(spec)],
            capture_output=True, text=True, timeout=120)
        lines = completed.stdout.splitlines()
        self.assertEqual(len(lines), 1, completed.stderr[-2000:])
        return json.loads(lines[0])

    def test_every_in_process_approach_gives_the_sequential_digest(self) -> None:
        reference = self.run_task("square", "sequential", report_calls=True)
        self.assertEqual(reference["result"], "success")
        self.assertEqual(len(reference["calls"]["digests"]), 6)
        path = os.path.join(self.dir.name, "reference.json")
        with open(path, "w") as out:
            json.dump(reference["calls"]["digests"], out)
        for approach in ("threads", "asyncio+threads", "processes"):
            result = self.run_task("square", approach, reference=path)
            self.assertEqual(result["digest"], reference["digest"], approach)
            self.assertTrue(result["calls"]["compared"])
            self.assertEqual(result["calls"]["mismatches"], 0)
        skipped = self.run_task("square", "asyncio")
        self.assertEqual(skipped["result"], "skipped")
        self.assertIn("async def", skipped["reason"])

    def test_coroutine_functions_run_everywhere(self) -> None:
        sequential = self.run_task("later", "sequential")
        for approach in ("asyncio", "asyncio+threads", "threads"):
            result = self.run_task("later", approach)
            self.assertEqual(result["digest"], sequential["digest"], approach)
            self.assertTrue(result["calls"]["is_async"])

    def test_per_worker_state_and_raising_calls(self) -> None:
        sequential = self.run_task("remember", "sequential", report_calls=True)
        path = os.path.join(self.dir.name, "reference.json")
        with open(path, "w") as out:
            json.dump(sequential["calls"]["digests"], out)
        processes = self.run_task("remember", "processes", reference=path)
        self.assertNotEqual(processes["digest"], sequential["digest"])
        self.assertGreater(processes["calls"]["mismatches"], 0)
        raised = self.run_task("boom", "sequential")
        self.assertEqual(raised["result"], "error")
        self.assertEqual(raised["error"]["kind"], "call_raised")
        self.assertEqual(raised["error"]["message"], "call 2 raised KeyError: 'no such key'")


if __name__ == "__main__":
    unittest.main()


class RayTaskTest(unittest.TestCase):
    def test_the_task_file_and_its_folder_modules_are_shipped(self) -> None:
        from gil_lab.task.ray_actors import shipped

        with tempfile.TemporaryDirectory() as root:
            for name in ("agent.py", "helpers.py", "notes.txt"):
                with open(os.path.join(root, name), "w") as out:
                    out.write("")
            os.makedirs(os.path.join(root, "tools"))
            with open(os.path.join(root, "tools", "__init__.py"), "w") as out:
                out.write("")
            for skipped in ("data", "__pycache__", ".venv"):
                os.makedirs(os.path.join(root, skipped))
            actor_target, entries = shipped(os.path.join(root, "agent.py") + ":run", [])
        self.assertEqual(actor_target, "agent:run")
        self.assertEqual([os.path.basename(e) for e in entries],
                         ["agent.py", "helpers.py", "tools"])

    def test_ray_runs_or_says_why_not(self) -> None:
        result = RunnerTest.run_task(self.runner, "square", "ray")
        if result["result"] == "skipped":
            self.assertIn("ray", result["reason"].lower())
        else:
            reference = RunnerTest.run_task(self.runner, "square", "sequential")
            self.assertEqual(result["digest"], reference["digest"])

    def setUp(self) -> None:
        self.runner = RunnerTest()
        RunnerTest.setUp(self.runner)

    def tearDown(self) -> None:
        RunnerTest.tearDown(self.runner)
