"""The LLM client and the io/mixed scenarios.

Client behaviour (retries honouring Retry-After, backoff, keep-alive,
timeouts, failures) is tested against a tiny standard-library HTTP server
defined here, whose answers can be scripted. When `GIL_LAB_TEST_LLM_URL`
points at a running `gil-lab llm-serve` (tests/llm.rs does that), the io and
mixed scenarios also run through the real runner on every approach, and
their digests must agree.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from gil_lab import io_scenario
from gil_lab.approaches import APPROACHES
from gil_lab.llm_client import (AsyncClient, BlockingClient, LlmConfig, LlmError,
                                retry_delay)
from gil_lab.scenarios import make_tasks

from .test_runner import run_runner, run_spec

#: Environment variable naming a running `gil-lab llm-serve` base URL.
URL_ENV = "GIL_LAB_TEST_LLM_URL"


class ScriptedServer:
    """A chat-completion server on 127.0.0.1 that answers from a script: a
    list of (status, headers, delay_s) used in order, then 200s. The answer
    text echoes the last message, so tests can check what was sent."""

    def __init__(self) -> None:
        self.script: list[tuple[int, dict[str, str], float]] = []
        self.requests: list[dict] = []
        self.authorizations: list[str | None] = []
        self.connections = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive

            def setup(self) -> None:
                super().setup()
                outer.connections += 1

            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.requests.append(json.loads(body))
                outer.authorizations.append(self.headers.get("Authorization"))
                status, headers, delay = (outer.script.pop(0) if outer.script
                                          else (200, {}, 0.0))
                time.sleep(delay)
                if status == 200:
                    text = outer.requests[-1]["messages"][-1]["content"][::-1]
                    payload = {"choices": [{"message": {"role": "assistant", "content": text},
                                            "finish_reason": "stop"}],
                               "usage": {"completion_tokens": 3}}
                else:
                    payload = {"error": {"message": f"scripted {status}",
                                         "type": "rate_limit_error"}}
                data = json.dumps(payload).encode()
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: object, client_address: object) -> None:
                pass  # a client that timed out and left: expected here

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


MESSAGES = [{"role": "user", "content": "hello"}]


class ClientTest(unittest.TestCase):
    def setUp(self) -> None:
        self.server = ScriptedServer()
        self.addCleanup(self.server.close)

    def config(self, **changes: object) -> LlmConfig:
        raw = {"url": self.server.url, "timeout_s": 5.0, "max_retries": 3}
        raw.update(changes)
        return LlmConfig.from_dict(raw)

    def test_blocking_retries_429_honouring_retry_after_ms(self) -> None:
        self.server.script = [(429, {"retry-after-ms": "200", "Retry-After": "60"}, 0.0),
                              (503, {}, 0.0)]
        answer, record = BlockingClient(self.config()).chat(MESSAGES, 8)
        self.assertEqual(answer.text, "olleh")
        self.assertTrue(record.ok)
        self.assertEqual(record.attempts, 3)
        # 200 ms as asked for, then a 100 ms backoff. Not the 60 s of
        # Retry-After: a bound that no load on this machine comes near.
        self.assertGreaterEqual(record.end - record.start, 0.2 + 0.1)
        self.assertLess(record.end - record.start, 30.0)
        self.assertEqual(len(self.server.requests), 3)

    def test_async_retries_and_keeps_one_connection_alive(self) -> None:
        self.server.script = [(429, {"Retry-After": "0.1"}, 0.0)]

        async def calls() -> list:
            client = AsyncClient(self.config())
            results = [await client.chat_async(MESSAGES, 8) for _ in range(3)]
            await client.aclose()
            return results

        results = asyncio.run(calls())
        self.assertEqual([a.text for a, _ in results], ["olleh"] * 3)
        self.assertEqual([r.attempts for _, r in results], [2, 1, 1])
        self.assertGreaterEqual(results[0][1].end - results[0][1].start, 0.1)
        self.assertEqual(self.server.connections, 1, "HTTP/1.1 keep-alive: one connection")

    def test_bad_requests_are_not_retried_and_fail_strictly(self) -> None:
        self.server.script = [(400, {}, 0.0)]
        with self.assertRaisesRegex(LlmError, "HTTP 400: scripted 400"):
            BlockingClient(self.config()).chat(MESSAGES, 8)
        self.assertEqual(len(self.server.requests), 1)

    def test_give_up_after_retries_is_recorded_when_not_strict(self) -> None:
        self.server.script = [(500, {}, 0.0)] * 3
        answer, record = BlockingClient(self.config(max_retries=2, strict=False)).chat(
            MESSAGES, 8)
        self.assertEqual(answer.text, "")
        self.assertFalse(record.ok)
        self.assertEqual((record.status, record.attempts), (500, 3))
        self.assertIn("after 3 attempt(s)", record.error)

    def test_timeouts(self) -> None:
        self.server.script = [(200, {}, 1.0)]
        config = self.config(timeout_s=0.2, max_retries=0)
        with self.assertRaisesRegex(LlmError, "no answer"):
            BlockingClient(config).chat(MESSAGES, 8)
        self.server.script = [(200, {}, 1.0)]

        async def call() -> None:
            await AsyncClient(config).chat_async(MESSAGES, 8)

        with self.assertRaisesRegex(LlmError, "TimeoutError"):
            asyncio.run(call())

    def test_the_api_key_comes_from_the_named_variable(self) -> None:
        os.environ["GIL_LAB_TEST_KEY"] = "sk-test-123"
        self.addCleanup(os.environ.pop, "GIL_LAB_TEST_KEY")
        BlockingClient(self.config(api_key_env="GIL_LAB_TEST_KEY")).chat(MESSAGES, 8)
        self.assertEqual(self.server.authorizations, ["Bearer sk-test-123"])
        self.assertNotIn("sk-test-123", json.dumps(self.config(
            api_key_env="GIL_LAB_TEST_KEY").to_dict()))

    def test_retry_delay_rules(self) -> None:
        self.assertEqual(retry_delay(0, {}), 0.05)
        self.assertEqual(retry_delay(2, {}), 0.2)
        self.assertEqual(retry_delay(30, {}), 5.0)
        self.assertEqual(retry_delay(0, {"Retry-After": "2"}), 2.0)
        self.assertEqual(retry_delay(0, {"retry-after-ms": "150", "retry-after": "9"}), 0.15)
        date = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 60))
        self.assertGreater(retry_delay(0, {"Retry-After": date}), 50)

    def test_bad_configs_name_the_field(self) -> None:
        for raw, field in [({"url": "ftp://x"}, "llm.url"),
                           ({"url": "http://x", "timeout_s": 0}, "llm.timeout_s"),
                           ({"url": "http://x", "max_retries": -1}, "llm.max_retries"),
                           ({"url": "http://x", "strict": "yes"}, "llm.strict")]:
            with self.assertRaisesRegex(ValueError, field):
                LlmConfig.from_dict(raw)


class ScenarioTest(unittest.TestCase):
    def test_text_hash_is_fnv1a_then_mix64(self) -> None:
        from gil_lab.prng import mix64

        self.assertEqual(io_scenario.text_hash(""), mix64(0xCBF29CE484222325))
        self.assertEqual(io_scenario.text_hash("a"), mix64(0xAF63DC4C8601EC8C))

    def test_prompts(self) -> None:
        task = make_tasks(0.125, 1)[0]
        system, user = io_scenario.messages(task, 1, 0xAB)
        self.assertEqual(system["content"], "You are the planner agent of gil-lab.")
        self.assertEqual(user["content"], f"task 0 call 1 seed {task.seed:016x} "
                                          "previous 00000000000000ab: answer in a few words.")

    def test_a_spec_without_an_endpoint_is_a_bad_spec(self) -> None:
        status, result = run_runner(json.dumps({"scenario": "io", "approach": "threads"}))
        self.assertEqual(status, 1)
        self.assertEqual(result["error"]["kind"], "bad_spec")
        self.assertIn('"llm"', result["error"]["message"])


@unittest.skipUnless(os.environ.get(URL_ENV), f"set {URL_ENV} to a running gil-lab llm-serve")
class EndpointTest(unittest.TestCase):
    """Every approach against the built-in endpoint: same digest everywhere."""

    def test_every_approach_agrees(self) -> None:
        llm = {"url": os.environ[URL_ENV]}
        for scenario in ("io", "mixed"):
            digests = {}
            for approach in APPROACHES:
                result = run_spec(scenario=scenario, approach=approach, workers=4,
                                  scale=0.125, llm=llm)
                if result["result"] == "skipped":
                    continue
                self.assertEqual(result["result"], "success", result.get("error"))
                digests[approach] = result["digest"]
                calls = result["llm_calls"]
                self.assertEqual(len(calls), 4 * 2)
                self.assertTrue(all(c["ok"] and c["attempts"] == 1 for c in calls))
                self.assertTrue(all(0 <= c["start"] <= c["end"] for c in calls))
            self.assertEqual(len(set(digests.values())), 1, (scenario, digests))


if __name__ == "__main__":
    unittest.main()
