"""`sequential`: every task in task order on the main thread: the baseline
every speedup is measured against."""

from __future__ import annotations

import time

from ..coordinator import perform
from . import Outcome, Trial


def unavailable() -> str | None:
    """Always available."""
    return None


def run(trial: Trial) -> Outcome:
    """Runs the tasks one after the other."""
    start = time.monotonic()
    records = [
        perform(trial.scenario, task, trial.network, "main", trial.blackboard)
        for task in trial.tasks
    ]
    work = time.monotonic() - start
    sharing = {"method": "same-object", "cost_s": 0.0} if trial.network else None
    return Outcome(records, pool_start=0.0, work=work, teardown=0.0, sharing=sharing)
