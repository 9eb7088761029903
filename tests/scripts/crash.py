"""Crashes: kills itself with SIGSEGV after writing a line to stderr."""
import os
import resource
import signal
import sys

# No core file: only the signal matters.
resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
sys.stderr.write("about to crash\n")
sys.stderr.flush()
os.kill(os.getpid(), signal.SIGSEGV)
