"""The four reasoning agents. Each one is a pure function
`run(task_seed) -> list[int]`: it makes its own problem instance from the task
seed with a private SplitMix64 generator and returns integer results, so the
same task gives the same result on any interpreter, approach or language.

Why the agents build their lookup tables inside every call instead of keeping
them at module level: on a free-threaded build every thread that touches a
shared object writes its reference count with an atomic instruction, and two
cores hammering one cache line serialise each other. Task-local tables keep
the hot loops free of shared objects (module-level functions, classes and
method descriptors are immortalized by CPython 3.13t once a second thread
starts, so calling them is free of contention).
"""

from __future__ import annotations

from . import planner, reasoner, solver, strategist

#: Agent names in the order tasks cycle through them; the position is the
#: agent's code in the digest.
AGENT_NAMES = ("planner", "solver", "strategist", "reasoner")

#: Each agent's task function, by name.
AGENT_RUN = {
    "planner": planner.run,
    "solver": solver.run,
    "strategist": strategist.run,
    "reasoner": reasoner.run,
}
