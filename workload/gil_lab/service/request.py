"""One service request: the `mixed` agent's work on task `index`, with the
times that split its latency (all `time.monotonic()` seconds, one clock for
every process of the machine and for the built-in endpoint)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

from ..agents import AGENT_NAMES
from ..digest import digest, hex_digest
from ..io_scenario import MAX_TOKENS, async_client, blocking_client, messages, text_hash
from ..mixed_scenario import step
from ..prng import SplitMix64
from ..scenarios import Task

#: (model call, reasoning step) rounds per request: one, the `mixed`
#: agent's unit of work (a request waits on the model once, then reasons).
ROUNDS = 1
#: A stall the spec asks for (tests): (request index, seconds) or None.
_stall: tuple[int, float] | None = None


def set_stall(stall: tuple[int, float] | None) -> None:
    """Makes the worker that takes request `stall[0]` sleep `stall[1]` seconds
    before its work: a deliberately stalled worker, for the open-loop test."""
    global _stall
    _stall = stall


def request_task(index: int, seed: int) -> Task:
    """Request `index`'s task: agent index mod 4, seed = output `index` of
    SplitMix64(seed) (the task list of docs/agents.md, as long as needed)."""
    master = SplitMix64(seed)
    value = 0
    for _ in range(index + 1):
        value = master.next_u64()
    return Task(index, AGENT_NAMES[index % 4], value)


def _stall_if_asked(index: int) -> None:
    if _stall is not None and _stall[0] == index:
        time.sleep(_stall[1])


def _record(task: Task, scheduled: float, start: float, results: list[int],
            rounds: list[dict[str, Any]], error: str | None) -> dict[str, Any]:
    return {"index": task.index, "scheduled": scheduled, "start": start,
            "end": time.monotonic(), "ok": error is None, "error": error,
            "digest": hex_digest(digest([(task.agent_code, task.index, results)]))
            if error is None else None,
            "tid": threading.get_native_id(), "rounds": rounds}


def _timed_step(task: Task, answer_hash: int) -> tuple[float, list[int], float]:
    began = time.monotonic()
    results = step(task, answer_hash)
    return began, results, time.monotonic()


def serve(index: int, scheduled: float, seed: int) -> dict[str, Any]:
    """Runs request `index` with blocking calls (threads, processes)."""
    start = time.monotonic()
    task = request_task(index, seed)
    results: list[int] = []
    rounds: list[dict[str, Any]] = []
    try:
        _stall_if_asked(index)
        client = blocking_client()
        previous = 0
        for call in range(ROUNDS):
            call_start = time.monotonic()
            answer, record = client.chat(messages(task, call, previous), MAX_TOKENS)
            if not record.ok:
                raise RuntimeError(record.error or "the model call failed")
            previous = text_hash(answer.text)
            results.append(previous >> 1)
            began, found, ended = _timed_step(task, previous)
            results.extend(found)
            rounds.append({"call_start": call_start, "sent": record.sent,
                           "answered": record.end, "step_start": began, "step_end": ended})
    except Exception as error:  # a failed request is counted, not fatal
        return _record(task, scheduled, start, results, rounds, f"{type(error).__name__}: {error}")
    return _record(task, scheduled, start, results, rounds, None)


async def serve_async(index: int, scheduled: float, seed: int,
                      offload: Callable[..., Awaitable[Any]] | None) -> dict[str, Any]:
    """Runs request `index` on the event loop; the steps run on the loop's
    thread, or through `offload` (`asyncio.to_thread`) when given."""
    start = time.monotonic()
    task = request_task(index, seed)
    results: list[int] = []
    rounds: list[dict[str, Any]] = []
    try:
        _stall_if_asked(index)
        client = async_client()
        previous = 0
        for call in range(ROUNDS):
            call_start = time.monotonic()
            answer, record = await client.chat_async(messages(task, call, previous), MAX_TOKENS)
            if not record.ok:
                raise RuntimeError(record.error or "the model call failed")
            previous = text_hash(answer.text)
            results.append(previous >> 1)
            if offload is None:
                began, found, ended = _timed_step(task, previous)
                # Let the other requests' answers in between two steps.
                await asyncio.sleep(0)
            else:
                began, found, ended = await offload(_timed_step, task, previous)
            results.extend(found)
            rounds.append({"call_start": call_start, "sent": record.sent,
                           "answered": record.end, "step_start": began, "step_end": ended})
    except Exception as error:  # a failed request is counted, not fatal
        return _record(task, scheduled, start, results, rounds, f"{type(error).__name__}: {error}")
    return _record(task, scheduled, start, results, rounds, None)
