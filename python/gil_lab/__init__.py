"""gil-lab's Python side: the multi-agent workload and its runner.

Standard library only; runs on CPython 3.10+ (default and free-threaded
builds) and PyPy.
"""
