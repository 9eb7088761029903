"""A team's own function as gil-lab's workload (`gil-lab bench --task`).

The function is called once per call index, ``function(i)`` for ``i`` in
``0..calls``, under each approach; every call's return value is reduced to a
stable digest (`digest`) and compared with the sequential ones. `target`
finds the function, `calls` runs and records single calls, `pools` holds the
approaches, `runner` is the trial (``python -m gil_lab.task.runner SPEC``)
and `probe` the check gil-lab makes on each interpreter before any trial
(docs/tasks.md).
"""
