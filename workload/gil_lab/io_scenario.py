"""The `io` scenario: each agent task makes CALLS_PER_TASK model calls in a
chain (each prompt carries the previous answer's hash), with only a hash of
the answer as CPU work in between: an agent that mostly waits.

The prompts, the answer hash and the results are defined exactly here and in
the native twin (`src/twin/llm_task.rs`): given the built-in endpoint's
deterministic answers, every approach, interpreter and the twin get the same
results and digest.

- system message: `You are the <agent> agent of gil-lab.`
- user message: `task <index> call <c> seed <task seed, 16 hex> previous
  <hash of the previous answer, 16 hex, 0 for the first call>: answer in a
  few words.`
- `max_tokens` = MAX_TOKENS;
- answer hash = FNV-1a 64 over the answer's UTF-8 bytes, then mix64;
- result: the answer hash >> 1 of each call (non-negative in every language).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import Any

from .llm_client import AsyncClient, BlockingClient, CallRecord, LlmError, config_from_env
from .prng import MASK64, mix64
from .scenarios import Task

#: Model calls per task.
CALLS_PER_TASK = 2
#: `max_tokens` of every call.
MAX_TOKENS = 16
FNV_OFFSET = 0xCBF29CE484222325
FNV_PRIME = 0x100000001B3

_lock = threading.Lock()
_blocking: BlockingClient | None = None
_async: dict[int, AsyncClient] = {}


def text_hash(text: str) -> int:
    """FNV-1a 64 over the UTF-8 bytes of `text`, then mix64."""
    h = FNV_OFFSET
    for byte in text.encode():
        h = ((h ^ byte) * FNV_PRIME) & MASK64
    return mix64(h)


def messages(task: Task, call: int, previous: int) -> list[dict[str, str]]:
    """The prompt of call `call` of `task`."""
    return [
        {"role": "system", "content": f"You are the {task.agent} agent of gil-lab."},
        {"role": "user", "content": f"task {task.index} call {call} seed {task.seed:016x} "
                                    f"previous {previous:016x}: answer in a few words."},
    ]


def blocking_client() -> BlockingClient:
    """The process's blocking client, configured by the runner (GIL_LAB_LLM)."""
    global _blocking
    with _lock:
        if _blocking is None:
            config = config_from_env()
            if config is None:
                raise LlmError("the io and mixed scenarios need an LLM endpoint: "
                               'give the spec an "llm" object with its "url"')
            _blocking = BlockingClient(config)
        return _blocking


def async_client() -> AsyncClient:
    """The running event loop's client (its connections belong to the loop)."""
    loop = asyncio.get_running_loop()
    config = blocking_client().config
    with _lock:
        client = _async.get(id(loop))
        if client is None:
            client = _async[id(loop)] = AsyncClient(config)
        return client


async def close_async() -> None:
    """Closes the running loop's connections (call before the loop closes)."""
    with _lock:
        client = _async.pop(id(asyncio.get_running_loop()), None)
    if client is not None:
        await client.aclose()


def chain(task: Task, rounds: int,
          step: Callable[[Task, int], list[int]] | None = None,
          ) -> tuple[list[int], list[CallRecord]]:
    """`rounds` chained blocking calls; after each, the answer hash >> 1 goes
    into the results, followed by `step(task, answer hash)` when given (the
    `mixed` scenario's reasoning step). Returns (results, call records)."""
    client = blocking_client()
    results: list[int] = []
    calls: list[CallRecord] = []
    previous = 0
    for call in range(rounds):
        answer, record = client.chat(messages(task, call, previous), MAX_TOKENS)
        calls.append(record)
        previous = text_hash(answer.text)
        results.append(previous >> 1)
        if step is not None:
            results.extend(step(task, previous))
    return results, calls


async def chain_async(task: Task, rounds: int,
                      step: Callable[[Task, int], list[int]] | None = None,
                      offload: Callable[..., Awaitable[Any]] | None = None,
                      ) -> tuple[list[int], list[CallRecord]]:
    """`chain` on the running event loop: the calls are awaited; each step
    runs on the loop's thread, or through `offload` (e.g. `asyncio.to_thread`)
    when given."""
    client = async_client()
    results: list[int] = []
    calls: list[CallRecord] = []
    previous = 0
    for call in range(rounds):
        answer, record = await client.chat_async(messages(task, call, previous), MAX_TOKENS)
        calls.append(record)
        previous = text_hash(answer.text)
        results.append(previous >> 1)
        if step is None:
            continue
        if offload is None:
            results.extend(step(task, previous))
            # Let the other agents' answers in between two steps.
            await asyncio.sleep(0)
        else:
            results.extend(await offload(step, task, previous))
    return results, calls


def run(task: Task) -> tuple[list[int], list[CallRecord]]:
    """Runs an `io` task with blocking calls: (results, call records)."""
    return chain(task, CALLS_PER_TASK)


async def run_async(task: Task, offload: Any = None) -> tuple[list[int], list[CallRecord]]:
    """Runs an `io` task on the event loop (`offload` is unused: there is no
    CPU step worth a thread)."""
    return await chain_async(task, CALLS_PER_TASK)
