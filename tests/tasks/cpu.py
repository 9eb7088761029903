"""A CPU-bound pure function: a small scoring kernel."""


def score(i):
    total = 0
    for k in range(30_000):
        total = (total * 31 + k * (i + 1)) % 1_000_003
    return {"call": i, "score": total}
