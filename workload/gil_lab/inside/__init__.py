"""Inside the interpreter: what CPython does with the agents' code, read from
inside the interpreter that runs it (`python -m gil_lab.inside '<spec-json>'`,
see docs/inside-cpython.md).

For each unit of work (an agent, the shared knowledge base, or a user's task
function) it finds the hot functions with the profiler, warms them up, and
reports their bytecode as `dis` shows it before and after the specialising
adaptive interpreter rewrote it, what the garbage collector did, and what
the interpreter offers (specialisation, JIT, collector, immortal objects,
biased reference counting, mimalloc). Standard library only; a feature an
interpreter lacks is reported as absent, never as an error.
"""
