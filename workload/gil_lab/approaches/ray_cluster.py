"""`ray`: the agents' tasks run on a Ray cluster, on a pool of `workers` Ray
actors (one CPU each).

Actors rather than plain Ray tasks, because an actor is a long-lived worker
process with state, like a `processes` pool worker:

- `workers` means what it means for every other approach: exactly that many
  worker processes at once, also on a cluster with more CPUs (Ray tasks would
  spread over every free CPU);
- the `shared` scenario's knowledge base is delivered once per worker (the
  actor's constructor), not once per task;
- starting the workers is a step of its own (create the actors, wait for
  their first answer), so it stays out of the work phase. With plain tasks,
  Ray starts worker processes lazily during the first tasks.

Tasks are handed out dynamically: each actor holds one task at a time and
gets the next one when it hands back a result, as a process pool does.

Orchestration is timed step by step and reported beside the phases:
`connect` (`import ray` and `ray.init`: starting a local cluster, or
connecting to one),
`ship_code` (uploading this package to the cluster as a runtime
environment's `py_modules`, so every node can import it), `worker_start`
(starting the actors until each has answered) and `shutdown`
(`ray.shutdown`: stopping the local cluster, or disconnecting).

The spec's `ray_address` names an existing cluster (`ray start --head`);
without it a local cluster is started for the trial and stopped with it, so
its processes (GCS, raylet, workers) are the trial's processes and count in
its CPU time and memory. Each task records the node that ran it.

Ray publishes no free-threaded wheels (ray-project/ray#47933), so this
approach runs on default builds only; gil-lab installs `ray` in a virtual
environment per interpreter (`gil-lab python ray-env`).
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import platform
import secrets
import shutil
import sysconfig
import tempfile
import time
from collections.abc import Iterator
from typing import Any

from ..coordinator import TaskRecord, gil_enabled, perform, post_findings
from . import Outcome, Trial

#: Object store of a local cluster, bytes: tasks and results are small, and
#: Ray's default (30% of memory) would reserve gigabytes of shared memory.
LOCAL_OBJECT_STORE_BYTES = 128 * 1024 * 1024
#: How long workers may take to start, seconds.
WORKER_START_TIMEOUT_S = 120


def unavailable() -> str | None:
    """Why Ray cannot run on this interpreter, or None."""
    # Found, not imported: importing Ray belongs to the trial's orchestration
    # (`connect`), and its settings must be in the environment before then.
    if importlib.util.find_spec("ray") is not None:
        return None
    if sysconfig.get_config_var("Py_GIL_DISABLED") == 1:
        return "Ray publishes no wheels for free-threaded builds (ray-project/ray#47933)"
    if platform.python_implementation() != "CPython":
        return f"Ray publishes no wheels for {platform.python_implementation()} (PyPI: ray)"
    return ("the ray package is not installed for this interpreter: "
            "`gil-lab python ray-env --python PATH` installs it")


def package_root() -> str:
    """The directory holding `gil_lab/` (the code shipped to the cluster)."""
    import gil_lab

    return os.path.dirname(os.path.dirname(os.path.abspath(gil_lab.__file__)))


class AgentWorker:
    """One Ray actor: a worker process that runs tasks one at a time. Made a
    Ray actor class by `run` (`ray.remote` is applied there, so this module
    imports without Ray)."""

    def __init__(self, number: int, network_refs: list[Any]) -> None:
        import ray

        # The reference arrives inside a list, so Ray leaves it unresolved
        # and fetching the knowledge base from the object store is timed
        # here.
        started = time.monotonic()
        self.network = ray.get(network_refs[0]) if network_refs else None
        self.sharing_cost = time.monotonic() - started
        self.number = number

    def hello(self) -> tuple[int, bool | None, float, str]:
        """(pid, GIL state, seconds spent receiving the knowledge base, node id)."""
        import ray

        return (os.getpid(), gil_enabled(), self.sharing_cost,
                ray.get_runtime_context().get_node_id())

    def job(self, scenario: str, task: Any) -> tuple[TaskRecord, str]:
        """Runs one task here; its record and this node's id."""
        import ray

        record = perform(scenario, task, self.network, f"ray-{self.number}")
        return record, ray.get_runtime_context().get_node_id()


def run(trial: Trial) -> Outcome:
    """Connects to (or starts) a cluster, starts the actors, runs every task
    on them, shuts down; the orchestration steps timed one by one."""
    with cluster(trial.workers, trial.ray_address) as (ray, connect):
        return run_on_cluster(ray, trial, connect)


@contextlib.contextmanager
def cluster(workers: int, address: str | None) -> Iterator[tuple[Any, float]]:
    """(the ray module, seconds taken to connect): connected to the cluster at
    `address`, or to a local cluster of `workers` CPUs started for the trial;
    shut down (and the local cluster's directory removed) on leaving."""
    # Nothing leaves the machine: no usage statistics.
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    if not address:
        # Token authentication with a token of the trial's own, handed to
        # the cluster's processes through the environment (Ray would
        # otherwise write one to ~/.ray/auth_token); read when Ray is
        # imported.
        os.environ["RAY_AUTH_MODE"] = "token"
        os.environ["RAY_AUTH_TOKEN"] = secrets.token_hex(32)
    temp_dir = None
    started = time.monotonic()
    import ray

    try:
        if address:
            ray.init(address=address, logging_level="WARNING", log_to_driver=False)
        else:
            # A cluster of its own for this trial (`local` never joins a
            # cluster found on the machine), in a temporary directory removed
            # afterwards.
            temp_dir = tempfile.mkdtemp(prefix="gil-lab-ray-")
            ray.init(address="local", num_cpus=workers, include_dashboard=False,
                     object_store_memory=LOCAL_OBJECT_STORE_BYTES, _temp_dir=temp_dir,
                     logging_level="WARNING", log_to_driver=False)
        yield ray, time.monotonic() - started
    finally:
        if ray.is_initialized():
            ray.shutdown()
        if temp_dir is not None:
            shutil.rmtree(temp_dir, ignore_errors=True)


def ship(extra: list[str]) -> dict[str, Any]:
    """The runtime environment of the actors: this package and `extra` (.py
    files and package directories) uploaded to the cluster as py_modules
    (content-addressed, so an upload is skipped when the cluster has it);
    each worker unpacks them when it starts. This is what
    `ray.init(runtime_env=...)` does inside `ray.init`, called here as its
    own step to time it apart (Ray 2.60's function, the version gil-lab
    installs; per-actor runtime environments only take the uploaded URIs)."""
    from ray._private.runtime_env.py_modules import upload_py_modules_if_needed

    scratch = tempfile.mkdtemp(prefix="gil-lab-ray-ship-")
    try:
        runtime_env = upload_py_modules_if_needed(
            {"py_modules": [os.path.join(package_root(), "gil_lab"), *extra]},
            include_gitignore=False, scratch_dir=scratch,
            logger=logging.getLogger("gil_lab.ray"))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    runtime_env["env_vars"] = {"RAY_USAGE_STATS_ENABLED": "0"}
    return runtime_env


def run_on_cluster(ray: Any, trial: Trial, connect: float) -> Outcome:
    """The trial on a connected cluster, ending with `ray.shutdown()`."""
    # Shipping the code (`ship`).
    step = time.monotonic()
    runtime_env = ship([])
    ship_code = time.monotonic() - step

    step = time.monotonic()
    network_ref = ray.put(trial.network) if trial.network is not None else None
    put = time.monotonic() - step
    step = time.monotonic()
    actor_class = ray.remote(num_cpus=1)(AgentWorker).options(runtime_env=runtime_env)
    refs = [network_ref] if network_ref is not None else []
    actors = [actor_class.remote(n, refs) for n in range(trial.workers)]
    hellos = ray.get([actor.hello.remote() for actor in actors],
                     timeout=WORKER_START_TIMEOUT_S)
    worker_start = time.monotonic() - step

    step = time.monotonic()
    records, nodes = dispatch(ray, actors, trial)
    work = time.monotonic() - step
    post_findings(trial.scenario, records, trial.blackboard)

    step = time.monotonic()
    for actor in actors:
        ray.kill(actor)
    del actors
    ray.shutdown()
    shutdown = time.monotonic() - step

    sharing = None
    if trial.network is not None:
        sharing = {"method": "object-store",
                   "cost_s": put + sum(cost for _, _, cost, _ in hellos)}
    for record, node in zip(records, nodes):
        record.node = node
    orchestration = {
        "cluster": "existing" if trial.ray_address else "local",
        "connect_s": connect,
        "ship_code_s": ship_code,
        "worker_start_s": worker_start,
        "shutdown_s": shutdown,
        "workers": [{"worker": f"ray-{n}", "pid": pid, "node": node}
                    for n, (pid, _, _, node) in enumerate(hellos)],
        "ray_version": ray.__version__,
    }
    return Outcome(records, pool_start=connect + ship_code + worker_start, work=work,
                   teardown=shutdown, worker_gil_enabled=[gil for _, gil, _, _ in hellos],
                   sharing=sharing, orchestration=orchestration)


def dispatch(ray: Any, actors: list[Any], trial: Trial) -> tuple[list[TaskRecord], list[str]]:
    """Runs every task, one at a time per actor, handing the next task to
    whichever actor finishes first; the records and the node of each."""
    pending = list(reversed(trial.tasks))
    running: dict[Any, Any] = {}
    for actor in actors:
        if pending:
            running[actor.job.remote(trial.scenario, pending.pop())] = actor
    records: list[TaskRecord] = []
    nodes: list[str] = []
    while running:
        done, _ = ray.wait(list(running), num_returns=1)
        for ref in done:
            actor = running.pop(ref)
            record, node = ray.get(ref)
            records.append(record)
            nodes.append(node)
            if pending:
                running[actor.job.remote(trial.scenario, pending.pop())] = actor
    return records, nodes
