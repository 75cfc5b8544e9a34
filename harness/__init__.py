"""trading-chaos-harness: a mock exchange that lies, stalls and drops, for trading clients."""

from harness.errors import (
    HarnessError,
    LiveEndpointBlocked,
    MockConfigError,
    UnmatchedRequestError,
)
from harness.mock import Journal, JournalEntry, MockServer, Request, Response, Route

__version__ = "0.1.0"

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
