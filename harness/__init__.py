"""trading-chaos-harness: a mock exchange that lies, stalls and drops, for trading clients.

The names below load on first use, so importing the package (and its pytest plugin)
stays cheap for a project's test run.

PYTEST_DONT_REWRITE: this package holds no assertions to rewrite; the marker keeps
``chaos-harness run`` (pytest in the CLI's own process, the package already imported)
free of pytest's "already imported, cannot be rewritten" warning.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.errors import (
        HarnessError,
        LiveEndpointBlocked,
        MockConfigError,
        UnmatchedRequestError,
    )
    from harness.mock import Journal, JournalEntry, MockServer, Request, Response, Route

__version__ = "0.1.0"

_WHERE = {
    "HarnessError": "harness.errors",
    "LiveEndpointBlocked": "harness.errors",
    "MockConfigError": "harness.errors",
    "UnmatchedRequestError": "harness.errors",
    "Journal": "harness.mock",
    "JournalEntry": "harness.mock",
    "MockServer": "harness.mock",
    "Request": "harness.mock",
    "Response": "harness.mock",
    "Route": "harness.mock",
}

__all__ = [
    "HarnessError",
    "Journal",
    "JournalEntry",
    "LiveEndpointBlocked",
    "MockConfigError",
    "MockServer",
    "Request",
    "Response",
    "Route",
    "UnmatchedRequestError",
    "__version__",
]


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'harness' has no attribute {name!r}")
