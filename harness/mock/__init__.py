"""The mock exchange server: routes, responders, the request journal and its backends."""

from harness.mock.journal import Journal, JournalEntry
from harness.mock.routes import Call, Request, Response, Route
from harness.mock.server import MockServer

__all__ = ["Call", "Journal", "JournalEntry", "MockServer", "Request", "Response", "Route"]
