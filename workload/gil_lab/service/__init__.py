"""The `service` scenario: agent requests arriving at a fixed rate, open-loop.

A request is the `mixed` agent's work (a model call, then a reasoning step on
the answer), so its digest proves the work. Each request's arrival
time is fixed before the level starts (arrival i at t0 + i / rate) and its
latency counts from that time, whatever the workers were doing: a stalled
worker's queue shows in the figures (no coordinated omission).

- `request`: one request's work, instrumented (queueing, the model's time up
  to the endpoint's `x-gil-lab-sent` stamp, the wait until the agent ran
  again, the reasoning step);
- `load`: the open-loop driver of each approach, and the calibration;
- `runner`: `python -m gil_lab.service.runner '<spec-json>'` prints one JSON
  object (docs/service.md).
"""
