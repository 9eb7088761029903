"""The reasoner: probabilistic inference by rejection sampling.

The network is the classic burglary-alarm network (Pearl), with probabilities
written as integer thresholds out of 65536: a variable is true when the top 16
bits of a fresh 64-bit SplitMix64 output are below its threshold. Integer
comparisons make the counts exact in any language.
"""

from __future__ import annotations

from ..prng import GAMMA, MASK64, MUL1, MUL2, SplitMix64
from .owned import owned

#: Samples drawn per task.
SAMPLES = 9000
#: Thresholds (out of 65536) of P(variable is true | parents).
P_BURGLARY = 6554  # 0.10
P_EARTHQUAKE = 13107  # 0.20
#: P(alarm | burglary, earthquake), indexed by burglary * 2 + earthquake.
P_ALARM = (3277, 19005, 61604, 62259)  # 0.05, 0.29, 0.94, 0.95
#: P(John calls | alarm) and P(Mary calls | alarm), indexed by alarm.
P_JOHN = (3277, 58982)  # 0.05, 0.90
P_MARY = (655, 45875)  # 0.01, 0.70
#: Query variables, by the number drawn for the task.
QUERY_NAMES = ("burglary", "earthquake", "alarm")


def run(task_seed: int) -> list[int]:
    """Estimates P(query | John calls = j, Mary calls = m). The task seed
    draws query = below(3), j = below(2), m = below(2); then every sample
    draws burglary, earthquake, alarm, John, Mary in that order (5 outputs,
    always all 5). Result = [query, j, m, accepted samples, accepted samples
    in which the query variable is true]."""
    rng = SplitMix64(task_seed)
    query = rng.below(3)
    john_wanted = rng.below(2)
    mary_wanted = rng.below(2)
    # The generator is inlined below: a method call per draw would cost more
    # than the sampling itself. Its constants are thread-owned copies (see
    # agents/owned.py).
    state = rng.state
    gamma, mask, mul1, mul2 = (owned(c) for c in (GAMMA, MASK64, MUL1, MUL2))
    p_b, p_e = P_BURGLARY, P_EARTHQUAKE
    p_a, p_j, p_m = list(P_ALARM), list(P_JOHN), list(P_MARY)
    accepted = 0
    hits = 0
    for _ in range(SAMPLES):
        values = []
        for _ in range(5):
            state = (state + gamma) & mask
            z = ((state ^ (state >> 30)) * mul1) & mask
            z = ((z ^ (z >> 27)) * mul2) & mask
            values.append((z ^ (z >> 31)) >> 48)
        burglary = 1 if values[0] < p_b else 0
        earthquake = 1 if values[1] < p_e else 0
        alarm = 1 if values[2] < p_a[burglary * 2 + earthquake] else 0
        john = 1 if values[3] < p_j[alarm] else 0
        mary = 1 if values[4] < p_m[alarm] else 0
        if john == john_wanted and mary == mary_wanted:
            accepted += 1
            hits += (burglary, earthquake, alarm)[query]
    return [query, john_wanted, mary_wanted, accepted, hits]
