"""Runs one trial: `python -m gil_lab.runner '<spec-json>'` (see
docs/trial-protocol.md); prints exactly one JSON object on stdout.

This entry module is kept to syntax every Python can parse, so an interpreter
too old to parse the workload still answers with a protocol error result
instead of a SyntaxError; the work is in `gil_lab.trial`. Which versions
gil-lab supports is decided in Rust (src/interpreters/supported.rs), and gil-lab
sends trials to no other: this guard is about syntax only.
"""

import json
import platform
import sys

#: Oldest Python that can parse the workload package: it uses
#: ``from __future__ import annotations`` (3.7+).
MINIMUM = (3, 7)


def unsupported():
    """The error result for an interpreter too old to parse the workload."""
    return {
        "protocol": 1,
        "result": "error",
        "runtime": {
            "implementation": platform.python_implementation(),
            "version": platform.python_version(),
        },
        "error": {
            "kind": "unsupported_interpreter",
            "message": "the gil-lab workload needs Python %d.%d or newer to parse, this is %s"
            % (MINIMUM[0], MINIMUM[1], platform.python_version()),
            "traceback": "",
        },
    }


if __name__ == "__main__":
    if sys.version_info < MINIMUM:
        sys.stdout.write(json.dumps(unsupported()) + "\n")
        sys.exit(1)
    from gil_lab.trial import main

    sys.exit(main(sys.argv[1:]))
