"""A call's return value reduced to a stable digest: 16 hex digits that are
equal for equal values in any process, interpreter or approach.

The value is encoded canonically (type tag, then contents), and the encoding
hashed into 64 bits. Dicts and sets are encoded in the order of
their items' encodings, so their iteration order (which depends on string
hash randomisation) does not count; floats by their exact bits (``hex``);
dataclasses and other objects by class name and attributes; anything else by
its ``repr`` without memory addresses. A cycle is encoded as a back
reference. The 64 bits are zlib's CRC-32 and Adler-32 of the encoding: not
cryptographic, and importable everywhere (hashlib crashes CPython 3.12's
isolated subinterpreters).
"""

from __future__ import annotations

import dataclasses
import enum
import re
import zlib
from typing import Any

#: `<Foo object at 0x7f...>`: the address differs in every process.
ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def encode(value: Any, out: list[bytes], active: set[int]) -> None:
    """Appends the canonical encoding of `value` to `out`."""
    if value is None:
        out.append(b"N")
    elif value is True or value is False:
        out.append(b"T" if value else b"F")
    elif isinstance(value, int) and not isinstance(value, enum.Enum):
        out.append(b"i%d;" % value)
    elif isinstance(value, float):
        out.append(b"f" + float(value).hex().encode() + b";")
    elif isinstance(value, complex):
        out.append(b"c" + value.real.hex().encode() + b"," + value.imag.hex().encode() + b";")
    elif isinstance(value, str):
        data = value.encode("utf-8", "surrogatepass")
        out.append(b"s%d:" % len(data) + data)
    elif isinstance(value, (bytes, bytearray, memoryview)):
        data = bytes(value)
        out.append(b"b%d:" % len(data) + data)
    elif isinstance(value, enum.Enum):
        out.append(b"e" + type(value).__qualname__.encode() + b"." + value.name.encode() + b";")
    else:
        key = id(value)
        if key in active:
            out.append(b"@")
            return
        active.add(key)
        try:
            encode_container(value, out, active)
        finally:
            active.discard(key)


def encode_container(value: Any, out: list[bytes], active: set[int]) -> None:
    """Containers, dataclasses and objects (a cycle guard is set)."""
    if isinstance(value, (list, tuple)):
        out.append((b"l" if isinstance(value, list) else b"t") + b"%d[" % len(value))
        for item in value:
            encode(item, out, active)
        out.append(b"]")
    elif isinstance(value, dict):
        items = sorted(encoded(k, active) + encoded(v, active) for k, v in value.items())
        out.append(b"d%d{" % len(items) + b"".join(items) + b"}")
    elif isinstance(value, (set, frozenset)):
        items = sorted(encoded(v, active) for v in value)
        out.append(b"S%d{" % len(items) + b"".join(items) + b"}")
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        out.append(b"D" + type(value).__qualname__.encode() + b"(")
        for field in dataclasses.fields(value):
            out.append(field.name.encode() + b"=")
            encode(getattr(value, field.name, None), out, active)
        out.append(b")")
    elif hasattr(value, "__dict__") and not callable(value) and vars(value):
        out.append(b"o" + type(value).__qualname__.encode() + b"(")
        encode(vars(value), out, active)
        out.append(b")")
    else:
        text = ADDRESS.sub("", repr(value)).encode("utf-8", "replace")
        out.append(b"r%d:" % len(text) + text)


def encoded(value: Any, active: set[int]) -> bytes:
    """The encoding of `value` as one bytes object."""
    out: list[bytes] = []
    encode(value, out, active)
    return b"".join(out)


def hash64(data: bytes) -> str:
    """16 hex digits: CRC-32 and Adler-32 of `data`."""
    return f"{zlib.crc32(data):08x}{zlib.adler32(data):08x}"


def digest(value: Any) -> str:
    """The 16-hex-digit digest of `value`."""
    return hash64(encoded(value, set()))


def combine(digests: list[str]) -> str:
    """The digest of a trial: its calls' digests in call order."""
    return hash64("\n".join(digests).encode())
