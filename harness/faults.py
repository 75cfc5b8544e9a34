"""Fault classes, named after their kind: ``faults.Latency(p50_ms=20, p99_ms=250)``.

Each kind is one class in :mod:`harness.chaos.faults`; this module is their public face,
with the ``Match``, ``Schedule`` and ``Window`` every fault takes.
"""

from harness.chaos import faults as _kinds
from harness.chaos.faults import *  # noqa: F403
from harness.chaos.schedule import Match, Schedule, Window

__all__ = [*_kinds.__all__, "Match", "Schedule", "Window"]
