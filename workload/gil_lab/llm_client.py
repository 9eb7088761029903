"""A small client for OpenAI-compatible chat completions, standard library
only.

- `BlockingClient`: `urllib.request`, for the approaches that block a thread
  or process while they wait (`sequential`, `threads`, `processes`,
  `interpreters`); a new connection per request, as urllib makes them.
- `AsyncClient`: asyncio streams speaking HTTP/1.1 with keep-alive
  connections (a small pool per event loop), for `asyncio` and
  `asyncio+threads`.

Both time out (`timeout_s` per attempt), retry on 429, 5xx and broken
connections with exponential backoff, honouring `retry-after-ms` and
`Retry-After` when the server sends them, and record every call (when, how it
ended, how many attempts) so that a run against a real server shows each
call's success and latency.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import deque
from dataclasses import dataclass
from typing import Any

#: Environment variable through which the runner hands the spec's `llm`
#: object to every worker (threads, processes and subinterpreters alike).
CONFIG_ENV = "GIL_LAB_LLM"
#: The built-in endpoint's response header: CLOCK_MONOTONIC seconds when it
#: sent the answer (the `service` scenario's model time ends there).
SENT_HEADER = "x-gil-lab-sent"
#: First backoff delay, seconds; doubled per attempt up to MAX_BACKOFF_S.
BASE_BACKOFF_S = 0.05
MAX_BACKOFF_S = 5.0


class LlmError(Exception):
    """A call failed for good (after retries, or a request the server will
    never accept)."""


@dataclass(frozen=True)
class LlmConfig:
    """Where the model is and how to call it (the spec's `llm` object)."""

    #: Base URL, e.g. `http://127.0.0.1:8000/v1`.
    url: str
    #: Model name sent with every request.
    model: str = "gil-lab-sim"
    #: Name of the environment variable holding the API key (never the key).
    api_key_env: str | None = None
    #: Seconds per attempt.
    timeout_s: float = 30.0
    #: Attempts after the first one.
    max_retries: int = 5
    #: True for the built-in endpoint: a call that fails for good fails the
    #: trial. False for a real server: it is recorded and the agent goes on.
    strict: bool = True

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> LlmConfig:
        """From the spec's `llm` object; a ValueError names a bad field."""
        if not isinstance(raw, dict):
            raise ValueError('"llm" must be an object with at least "url"')
        url = raw.get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ValueError(f'"llm.url" must be an http:// or https:// URL, got {url!r}')
        model = raw.get("model", "gil-lab-sim")
        if not isinstance(model, str) or not model:
            raise ValueError(f'"llm.model" must be a non-empty string, got {model!r}')
        key_env = raw.get("api_key_env")
        if key_env is not None and (not isinstance(key_env, str) or not key_env):
            raise ValueError(f'"llm.api_key_env" must be null or a variable name, got {key_env!r}')
        timeout = raw.get("timeout_s", 30.0)
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
            raise ValueError(f'"llm.timeout_s" must be a number > 0, got {timeout!r}')
        retries = raw.get("max_retries", 5)
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise ValueError(f'"llm.max_retries" must be an integer >= 0, got {retries!r}')
        strict = raw.get("strict", True)
        if not isinstance(strict, bool):
            raise ValueError(f'"llm.strict" must be true or false, got {strict!r}')
        return cls(url.rstrip("/"), model, key_env, float(timeout), retries, strict)

    def to_dict(self) -> dict[str, Any]:
        """The spec's `llm` object, defaults filled in."""
        return {"url": self.url, "model": self.model, "api_key_env": self.api_key_env,
                "timeout_s": self.timeout_s, "max_retries": self.max_retries,
                "strict": self.strict}

    def headers(self) -> dict[str, str]:
        """Request headers; the API key is read from its variable here, at
        call time, and goes nowhere else."""
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.api_key_env:
            key = os.environ.get(self.api_key_env)
            if key:
                headers["Authorization"] = "Bearer " + key
        return headers


def config_from_env() -> LlmConfig | None:
    """The configuration the runner put in `GIL_LAB_LLM`, if any."""
    text = os.environ.get(CONFIG_ENV)
    return LlmConfig.from_dict(json.loads(text)) if text else None


@dataclass
class Answer:
    """What the model said."""

    text: str
    completion_tokens: int | None
    finish_reason: str | None


@dataclass
class CallRecord:
    """One model call, as the trial result reports it."""

    #: `time.monotonic()` when the call started and when it ended.
    start: float
    end: float
    #: Whether an answer came back.
    ok: bool
    #: HTTP status of the last attempt (None when no response came).
    status: int | None
    #: Attempts made (1 = no retry).
    attempts: int
    #: Completion tokens the server reported.
    completion_tokens: int | None = None
    #: Why it failed.
    error: str | None = None
    #: When the server sent the answer (`time.monotonic()` seconds, the
    #: built-in endpoint's `x-gil-lab-sent` header; None from other servers).
    sent: float | None = None

    def to_json(self, clock_t0: float) -> dict[str, Any]:
        """The record with times relative to the runner's `clock_t0`."""
        return {"start": self.start - clock_t0, "end": self.end - clock_t0, "ok": self.ok,
                "status": self.status, "attempts": self.attempts,
                "completion_tokens": self.completion_tokens, "error": self.error}


def sent_at(value: str | None) -> float | None:
    """The `x-gil-lab-sent` header as monotonic seconds (None if absent or bad)."""
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        return None


def request_body(model: str, messages: list[dict[str, str]], max_tokens: int) -> bytes:
    """A non-streaming chat-completion request."""
    return json.dumps({"model": model, "messages": messages, "max_tokens": max_tokens,
                       "stream": False}).encode()


def parse_answer(body: bytes) -> Answer:
    """The first choice of a chat-completion response body."""
    try:
        data = json.loads(body)
        choice = data["choices"][0]
        text = choice["message"].get("content") or ""
        usage = data.get("usage") or {}
        return Answer(text, usage.get("completion_tokens"), choice.get("finish_reason"))
    except (ValueError, KeyError, IndexError, TypeError, AttributeError) as error:
        raise LlmError(f"the server's answer is not a chat completion ({error!r}): "
                       f"{body[:200]!r}") from None


def error_message(status: int, body: bytes) -> str:
    """The OpenAI-style error message of a response, else its start."""
    try:
        return f"HTTP {status}: {json.loads(body)['error']['message']}"
    except (ValueError, KeyError, TypeError):
        return f"HTTP {status}: {body[:200]!r}"


def retryable(status: int | None) -> bool:
    """429, 5xx, or no response at all."""
    return status is None or status == 429 or status >= 500


def retry_delay(attempt: int, headers: dict[str, str]) -> float:
    """Seconds to wait before attempt `attempt + 1`: what the server asked
    for (`retry-after-ms`, else `Retry-After` in seconds or as an HTTP date),
    else exponential backoff."""
    lowered = {k.lower(): v for k, v in headers.items()}
    try:
        if "retry-after-ms" in lowered:
            return max(0.0, float(lowered["retry-after-ms"]) / 1000.0)
        if "retry-after" in lowered:
            value = lowered["retry-after"].strip()
            try:
                return max(0.0, float(value))
            except ValueError:
                when = email.utils.parsedate_to_datetime(value)
                return max(0.0, when.timestamp() - time.time())
    except (ValueError, TypeError, OverflowError):
        pass
    return min(MAX_BACKOFF_S, BASE_BACKOFF_S * 2 ** attempt)


def next_wait(attempt: int, max_retries: int, status: int | None,
              headers: dict[str, str]) -> float | None:
    """After failed attempt `attempt` (0-based) with `status` (None: no
    response): seconds to wait before trying again, or None when the failure
    is final (not retryable, or the last of `max_retries` retries)."""
    if not retryable(status) or attempt == max_retries:
        return None
    return retry_delay(attempt, headers)


class BlockingClient:
    """Chat completions over `urllib.request`."""

    def __init__(self, config: LlmConfig) -> None:
        self.config = config
        self.endpoint = config.url + "/chat/completions"
        # Our own opener rather than urlopen's default one: that one builds
        # an HTTPS handler whose TLS context loads the system's certificates
        # (30-40 ms) even for http:// URLs. No proxy handler either: the
        # endpoint is called directly.
        self.opener = urllib.request.OpenerDirector()
        handlers: list[Any] = [urllib.request.HTTPHandler(),
                               urllib.request.HTTPDefaultErrorHandler(),
                               urllib.request.HTTPErrorProcessor()]
        if self.endpoint.startswith("https://"):
            handlers.append(urllib.request.HTTPSHandler())
        for handler in handlers:
            self.opener.add_handler(handler)

    def chat(self, messages: list[dict[str, str]], max_tokens: int) -> tuple[Answer, CallRecord]:
        """One chat completion; a failure for good raises LlmError when the
        config is strict, else comes back as an empty answer and a failed
        record."""
        body = request_body(self.config.model, messages, max_tokens)
        start = time.monotonic()
        status: int | None = None
        problem = ""
        attempts = 0
        for attempt in range(self.config.max_retries + 1):
            attempts += 1
            headers: dict[str, str] = {}
            request = urllib.request.Request(self.endpoint, data=body, method="POST",
                                             headers=self.config.headers())
            try:
                with self.opener.open(request, timeout=self.config.timeout_s) as response:
                    status = response.status
                    answer = parse_answer(response.read())
                    sent = sent_at(response.headers.get(SENT_HEADER))
                return answer, CallRecord(start, time.monotonic(), True, status, attempts,
                                          answer.completion_tokens, sent=sent)
            except urllib.error.HTTPError as error:
                status = error.code
                headers = dict(error.headers.items()) if error.headers else {}
                problem = error_message(error.code, error.read())
            except (urllib.error.URLError, OSError, TimeoutError) as error:
                status = None
                problem = f"no answer: {getattr(error, 'reason', error)}"
            wait = next_wait(attempt, self.config.max_retries, status, headers)
            if wait is None:
                break
            time.sleep(wait)
        return self.failed(start, status, attempts, problem)

    def failed(self, start: float, status: int | None, attempts: int,
               problem: str) -> tuple[Answer, CallRecord]:
        """A call that failed for good."""
        message = f"{problem} (after {attempts} attempt(s) to {self.endpoint})"
        if self.config.strict:
            raise LlmError(message)
        return Answer("", None, None), CallRecord(start, time.monotonic(), False, status,
                                                  attempts, error=message)


class _Connection:
    """One keep-alive HTTP/1.1 connection."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    def close(self) -> None:
        self.writer.close()


class AsyncClient(BlockingClient):
    """Chat completions over asyncio streams (HTTP/1.1, keep-alive). Belongs
    to one event loop."""

    def __init__(self, config: LlmConfig) -> None:
        super().__init__(config)
        parts = urllib.parse.urlsplit(self.endpoint)
        self.tls = parts.scheme == "https"
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or (443 if self.tls else 80)
        self.path = parts.path + ("?" + parts.query if parts.query else "")
        self.host_header = parts.netloc.rpartition("@")[2]
        self.idle: deque[_Connection] = deque()

    async def _connect(self) -> _Connection:
        ssl_context: Any = None
        if self.tls:
            import ssl  # only for https: not every interpreter context can import it

            ssl_context = ssl.create_default_context()
        reader, writer = await asyncio.open_connection(self.host, self.port, ssl=ssl_context)
        return _Connection(reader, writer)

    async def _exchange(self, connection: _Connection,
                        body: bytes) -> tuple[int, dict[str, str], bytes]:
        """Sends one request, reads one response (Content-Length or chunked)."""
        lines = [f"POST {self.path} HTTP/1.1", f"Host: {self.host_header}",
                 f"Content-Length: {len(body)}", "Connection: keep-alive"]
        lines += [f"{k}: {v}" for k, v in self.config.headers().items()]
        connection.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        await connection.writer.drain()
        reader = connection.reader
        status_line = await reader.readline()
        if not status_line:
            raise ConnectionResetError("the server closed the connection")
        parts = status_line.decode("latin-1").split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/"):
            raise ConnectionError(f"not an HTTP response: {status_line[:80]!r}")
        status = int(parts[1])
        headers: dict[str, str] = {}
        while True:
            line = await reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        if headers.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int((await reader.readline()).split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    break
                chunks.append(await reader.readexactly(size))
                await reader.readexactly(2)
            data = b"".join(chunks)
        elif "content-length" in headers:
            data = await reader.readexactly(int(headers["content-length"]))
        else:
            data = await reader.read()
            headers["connection"] = "close"
        return status, headers, data

    async def _request(self, body: bytes) -> tuple[int, dict[str, str], bytes]:
        """One attempt: on an idle connection if there is one (a connection the
        server has meanwhile closed is replaced once, silently), else a new one."""
        while True:
            reused = bool(self.idle)
            connection = self.idle.pop() if reused else await self._connect()
            try:
                status, headers, data = await asyncio.wait_for(
                    self._exchange(connection, body), self.config.timeout_s)
            except (ConnectionError, asyncio.IncompleteReadError) as error:
                connection.close()
                if reused:
                    continue
                raise ConnectionError(str(error) or type(error).__name__) from None
            except BaseException:
                connection.close()
                raise
            if headers.get("connection", "").lower() == "close":
                connection.close()
            else:
                self.idle.append(connection)
            return status, headers, data

    async def chat_async(self, messages: list[dict[str, str]],
                         max_tokens: int) -> tuple[Answer, CallRecord]:
        """One chat completion (see BlockingClient.chat)."""
        body = request_body(self.config.model, messages, max_tokens)
        start = time.monotonic()
        status: int | None = None
        problem = ""
        attempts = 0
        for attempt in range(self.config.max_retries + 1):
            attempts += 1
            headers: dict[str, str] = {}
            try:
                status, headers, data = await self._request(body)
                if status == 200:
                    answer = parse_answer(data)
                    return answer, CallRecord(start, time.monotonic(), True, status, attempts,
                                              answer.completion_tokens,
                                              sent=sent_at(headers.get(SENT_HEADER)))
                problem = error_message(status, data)
            except (OSError, asyncio.TimeoutError, ValueError) as error:
                status = None
                problem = f"no answer: {type(error).__name__}: {error}"
            wait = next_wait(attempt, self.config.max_retries, status, headers)
            if wait is None:
                break
            await asyncio.sleep(wait)
        return self.failed(start, status, attempts, problem)

    async def aclose(self) -> None:
        """Closes every idle connection."""
        while self.idle:
            connection = self.idle.pop()
            connection.close()
            try:
                await connection.writer.wait_closed()
            except OSError:
                pass

