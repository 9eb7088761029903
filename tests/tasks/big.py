"""Memory-hungry tasks for the --memory-limit tests (tests/memory_limit.rs)."""

from __future__ import annotations

import mmap

MB = 1024 * 1024
PAGE = mmap.PAGESIZE


def task(i: int) -> int:
    """Allocates and touches 300 MB, and keeps it for the rest of the call."""
    block = bytearray(300 * MB)
    for offset in range(0, len(block), PAGE):
        block[offset] = 1
    return i + block[-PAGE]


def blip(i: int) -> int:
    """A peak of 300 MB that lasts a few milliseconds: allocate, touch, free."""
    block = bytearray(300 * MB)  # calloc'd: touching makes it resident
    block[::PAGE] = b"\x01" * len(range(0, len(block), PAGE))
    size = sum(block[::PAGE * 1024])
    del block
    return i + size
