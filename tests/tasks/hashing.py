"""CPU-bound work in native code that releases the GIL: hashing a large
buffer (hashlib lets go of the GIL while it hashes more than 2 KiB)."""

import hashlib

_BUFFER = bytes(range(256)) * (4 * 1024 * 1024 // 256)  # 4 MiB


def digest(i: int) -> dict[str, object]:
    h = hashlib.sha256()
    for _ in range(6):
        h.update(_BUFFER)
    h.update(str(i).encode())
    return {"call": i, "digest": h.hexdigest()[:16]}
