"""An async I/O-bound task: short waits, like awaiting a fast tool or cache."""
import asyncio


async def fetch(i):
    for _ in range(2):
        await asyncio.sleep(0.0005)
    return [i, i * i]
