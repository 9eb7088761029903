"""An async tool-calling agent: for question i it asks the model, runs a
tool on the answer (a word count), and asks the model again with the tool's
result. It talks to the OpenAI-compatible endpoint gil-lab ships
(docs/llm-endpoint.md), with asyncio streams only (standard library).

Start the endpoint first, on the port this file expects:

    gil-lab llm-serve --port 8765 --latency 20 &
    gil-lab bench --task examples/tool_agent.py:answer
"""

import asyncio
import hashlib
import json

HOST, PORT = "127.0.0.1", 8765


async def chat(messages):
    """One chat completion; the answer's text."""
    body = json.dumps({"model": "gil-lab-sim", "messages": messages,
                       "max_tokens": 16}).encode()
    reader, writer = await asyncio.open_connection(HOST, PORT)
    try:
        writer.write(b"POST /v1/chat/completions HTTP/1.1\r\nHost: " + HOST.encode()
                     + b"\r\nContent-Type: application/json\r\nConnection: close\r\n"
                     + b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
        await writer.drain()
        response = await reader.read()
    finally:
        writer.close()
    head, _, payload = response.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(head.split(b"\r\n")[0].decode())
    return json.loads(payload)["choices"][0]["message"]["content"]


def word_count(text):
    """The tool."""
    return len(text.split())


async def answer(i):
    """Question i: model, tool, model."""
    question = [{"role": "user", "content": f"question {i}: which route is shortest?"}]
    first = await chat(question)
    tool = word_count(first)
    second = await chat(question + [
        {"role": "assistant", "content": first},
        {"role": "user", "content": f"the tool counted {tool} words; answer briefly."},
    ])
    return hashlib.sha256((first + "|" + second).encode()).hexdigest()[:16]
