"""gil-lab's Python side: the multi-agent workload and its runner.

Standard library only; runs on the CPython (default and free-threaded builds)
and PyPy versions gil-lab supports (src/interpreters/supported.rs).
"""
