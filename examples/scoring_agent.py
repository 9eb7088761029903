"""A pure-Python planning agent: for request i, it builds candidate delivery
plans and scores them with a knapsack over the truck's capacity (CPU-bound,
standard library only).

    gil-lab bench --task examples/scoring_agent.py:plan_route
"""

import random

CAPACITY = 60
PARCELS = 40


def best_load(weights, values, capacity):
    """0/1 knapsack: the best value that fits in `capacity`."""
    best = [0] * (capacity + 1)
    for weight, value in zip(weights, values):
        for room in range(capacity, weight - 1, -1):
            candidate = best[room - weight] + value
            if candidate > best[room]:
                best[room] = candidate
    return best[capacity]


def plan_route(i):
    """Scores 6 candidate plans for request `i`; returns the best one."""
    rng = random.Random(i)
    plans = []
    for plan in range(6):
        weights = [rng.randint(1, 15) for _ in range(PARCELS)]
        values = [rng.randint(1, 100) for _ in range(PARCELS)]
        plans.append((best_load(weights, values, CAPACITY), plan))
    score, plan = max(plans)
    return {"request": i, "plan": plan, "score": score}
