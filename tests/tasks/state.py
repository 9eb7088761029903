"""Per-worker state: a module-level session memory each worker process has its own copy of."""
_seen = []


def remember(i):
    _seen.append(i)
    total = 0
    for k in range(2000):
        total += k * i % 7
    return (total, len(_seen))
