"""A retrieval step with a bug many agents have: a module-level scratch list
reused by every call to build the context, with a log write in between.
Sequential runs agree; threads (on any build, and above all free-threaded)
mix their contexts up. gil-lab reports it as a data race, and processes as
safe (each worker process has its own list).

    gil-lab bench --task examples/session_memory.py:build_context --stress 3
"""

import sys

_context = []

DOCUMENTS = [f"document {n}: " + "lorem ipsum " * (n % 7 + 1) for n in range(200)]


def build_context(i):
    """The context for question i: its relevant documents' total length."""
    _context.clear()
    for n, document in enumerate(DOCUMENTS):
        if (n * 31 + i) % 5 == 0:
            _context.append(document)
    sys.stderr.flush()  # the "log write": a moment for another thread to run
    return sum(len(d) for d in _context), len(_context)
