"""Fault classes, named after their kind: ``faults.Latency(p50_ms=20, p99_ms=250)``.

Each kind is one class in :mod:`harness.chaos.faults`; this module is their public face.
"""

from harness.chaos.faults import (
    AckLost,
    ClockSkew,
    Corrupt,
    Disconnect,
    Dribble,
    Error,
    Fault,
    Hang,
    Latency,
    RateLimit,
    Reset,
    Stale,
    Truncate,
    WsCorrupt,
    WsDelay,
    WsDisconnect,
    WsDrop,
    WsDuplicate,
    WsGap,
    WsReorder,
    WsSilence,
    registry,
)
from harness.chaos.schedule import Match, Schedule, Window

__all__ = [
    "AckLost",
    "ClockSkew",
    "Corrupt",
    "Disconnect",
    "Dribble",
    "Error",
    "Fault",
    "Hang",
    "Latency",
    "Match",
    "RateLimit",
    "Reset",
    "Schedule",
    "Stale",
    "Truncate",
    "Window",
    "WsCorrupt",
    "WsDelay",
    "WsDisconnect",
    "WsDrop",
    "WsDuplicate",
    "WsGap",
    "WsReorder",
    "WsSilence",
    "registry",
]
