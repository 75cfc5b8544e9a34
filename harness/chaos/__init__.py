"""Chaos: faults, their schedules, and the engine that runs them between client and exchange."""

from harness.chaos.engine import ArmedFault, Chaos
from harness.chaos.faults import Fault, FaultContext, registry
from harness.chaos.schedule import Match, Schedule, Window

__all__ = [
    "ArmedFault",
    "Chaos",
    "Fault",
    "FaultContext",
    "Match",
    "Schedule",
    "Window",
    "registry",
]
