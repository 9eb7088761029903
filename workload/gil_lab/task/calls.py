"""One call of the task, run and recorded the same way by every approach.

A trial makes ``calls × rounds`` calls: position ``p`` calls the function
with ``p % calls`` (``rounds`` > 1 with ``--stress``). Worker ``w`` of ``W``
takes positions ``w, w + W, w + 2W, ...`` in order, so a call's result
depends on the task's code alone, never on how a pool happened to schedule
it (docs/tasks.md).
"""

from __future__ import annotations

import pickle
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .digest import digest

#: Calls in flight in this process: position -> time.monotonic() at its
#: start (read by the runner's watchdog to name a call that hangs).
IN_FLIGHT: dict[int, float] = {}


@dataclass
class Outcome:
    """What one call did; picklable, so it comes back from processes."""

    #: Position in the trial (call index + calls × round).
    position: int
    #: Who ran it: `main`, `thread-<n>`, `process-<pid>`, `interpreter-<id>`, `task-<n>`,
    #: `ray-<n>`.
    worker: str
    #: time.monotonic() at its start and end.
    start: float
    end: float
    #: The result's digest (None when the call raised).
    digest: str | None
    #: (exception type, message) when it raised.
    error: tuple[str, str] | None = None
    #: The result pickled, when it has to travel back from a worker.
    payload: bytes | None = None


class Unpicklable(Exception):
    """A result cannot travel back from a worker process or interpreter."""


def describe_error(error: BaseException) -> tuple[str, str]:
    """(type, first line of the message) of an exception."""
    message = str(error).strip().splitlines()
    return type(error).__name__, (message[0][:300] if message else "")


@dataclass
class Job:
    """The task as the approaches run it."""

    function: Callable[[int], Any]
    is_async: bool
    calls: int
    rounds: int

    @property
    def positions(self) -> int:
        """Calls in the trial."""
        return self.calls * self.rounds

    def stripe(self, worker: int, workers: int) -> range:
        """The positions worker `worker` of `workers` takes, in order."""
        return range(worker, self.positions, workers)

    def invoke(self, position: int) -> Any:
        """Calls the function once: a coroutine function through asyncio.run."""
        index = position % self.calls
        if self.is_async:
            # Imported here: asyncio cannot be imported in CPython 3.12's
            # isolated subinterpreters, where a plain task still runs.
            import asyncio

            return asyncio.run(self.function(index))
        return self.function(index)

    def run(self, position: int, worker: str, send_back: bool = False) -> Outcome:
        """Runs and records one call; with `send_back`, the result is
        pickled for the trip back and digested where it arrives."""
        start = time.monotonic()
        IN_FLIGHT[position] = start
        try:
            result = self.invoke(position)
        except Exception as error:  # the task's exception is a finding, not a crash
            return Outcome(position, worker, start, time.monotonic(), None,
                           describe_error(error))
        finally:
            IN_FLIGHT.pop(position, None)
        end = time.monotonic()
        if send_back:
            return Outcome(position, worker, start, end, None, payload=pack(result, position))
        return Outcome(position, worker, start, end, digest(result))

    async def run_async(self, position: int, worker: str) -> Outcome:
        """`run` for a coroutine function on a running event loop."""
        start = time.monotonic()
        IN_FLIGHT[position] = start
        try:
            result = await self.function(position % self.calls)
        except Exception as error:
            return Outcome(position, worker, start, time.monotonic(), None,
                           describe_error(error))
        finally:
            IN_FLIGHT.pop(position, None)
        return Outcome(position, worker, start, time.monotonic(), digest(result))


#: Pickle with the pure-Python pickler: CPython 3.12's C pickler corrupts
#: memory in an isolated subinterpreter (set by `interp_worker` there).
PURE_PICKLE = False


def dumps(value: Any) -> bytes:
    """`pickle.dumps`, by the pure-Python pickler where PURE_PICKLE says so."""
    if PURE_PICKLE:
        return pickle._dumps(value, protocol=pickle.HIGHEST_PROTOCOL)  # type: ignore[attr-defined]
    return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)


def pack(result: Any, position: int) -> bytes:
    """The result pickled, or Unpicklable naming its type."""
    try:
        return dumps(result)
    except Exception as error:
        kind = type(result)
        raise Unpicklable(
            f"call {position} returned a {kind.__module__}.{kind.__qualname__}, which cannot "
            f"be pickled to come back from a worker ({describe_error(error)[1]}): return plain "
            "data (numbers, strings, lists, dicts, dataclasses)") from None


def unpack(outcome: Outcome) -> Outcome:
    """An outcome that came back from a worker, its result digested here."""
    if outcome.payload is not None:
        outcome.digest = digest(pickle.loads(outcome.payload))
        outcome.payload = None
    return outcome
