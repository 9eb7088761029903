"""gil-lab's Python side: the multi-agent workload, the runner and the probe.

Standard library only; runs on CPython 3.10+ (default and free-threaded
builds) and PyPy.
"""
