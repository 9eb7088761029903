"""Writes SIZE bytes to stdout and SIZE bytes to stderr, interleaved in
small pieces, so that a reader of only one pipe would deadlock."""
import sys

size = int(sys.argv[1])
piece = 1000
out = sys.stdout.buffer
err = sys.stderr.buffer
for i in range(0, size, piece):
    n = min(piece, size - i)
    out.write(b"o" * n)
    err.write(b"e" * n)
    out.flush()
    err.flush()
