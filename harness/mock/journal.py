"""The request journal: every request a MockServer saw, what it answered, which faults acted.

Bounded (``maxlen``, default 10,000 entries) so a long chaos run does not grow without
limit; ``journal.total`` keeps counting past the bound. Secrets are redacted when an
entry is written, by the one policy of :mod:`harness.redaction`: API-key headers,
Authorization, and secret query parameters and body fields (``signature``, ``apiKey``...).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from harness.mock.routes import Request, Response
from harness.redaction import redact_body_text, redact_headers, redact_query

if TYPE_CHECKING:
    from harness.faultlog import FaultEvent

__all__ = [
    "ClientOutcome",
    "Journal",
    "JournalEntry",
    "WireError",
]

WireErrorKind = Literal[
    "closed", "reset_by_peer", "truncated", "cancelled", "raised", "unmatched", "ws_closed"
]


@dataclass(frozen=True)
class WireError:
    """What went wrong on the server's side of one request, as data.

    ``kind``: ``closed`` / ``reset_by_peer`` (the connection dropped: FIN or RST),
    ``truncated`` (part of
    the body was sent), ``cancelled`` (still in progress when the test ended: a hang),
    ``raised`` (the responder raised), ``unmatched`` (no route), ``ws_closed``.
    ``after_response``: the responder had already run (an order exists, its answer lost).
    """

    kind: WireErrorKind
    after_response: bool = False
    detail: str = ""

    def __str__(self) -> str:
        text = {
            "closed": "connection closed",
            "reset_by_peer": "connection reset",
            "truncated": "body truncated",
            "cancelled": "cancelled at teardown (still in progress)",
            "raised": "the responder raised",
            "unmatched": "no route matched",
            "ws_closed": "stream closed",
        }[self.kind]
        if self.after_response and self.kind in ("closed", "reset_by_peer"):
            text += " after the responder ran"
        return f"{text} {self.detail}".strip() if self.detail else text


@dataclass(frozen=True)
class ClientOutcome:
    """What the client saw when it differs from the server's answer.

    ``kind``: ``timeout`` (the client gave up), ``dropped`` (it saw the connection drop),
    ``resent`` (aiohttp re-sent the request transparently after a drop); ``detail`` names
    the exception the client got.
    """

    kind: Literal["timeout", "dropped", "resent"]
    detail: str = ""

    def __str__(self) -> str:
        if self.kind == "resent":
            return f"{self.detail}; aiohttp re-sent the request"
        return self.detail or self.kind


@dataclass
class JournalEntry:
    """One request: what was asked, what was answered (or raised), and the faults applied."""

    index: int
    t: float
    method: str
    url: str
    path: str
    params: dict[str, Any]
    headers: dict[str, str]
    body: str
    route: str | None
    attempt: int = 1
    status: int | None = None
    """The status sent to the client (None when none was sent)."""
    responder_status: int | None = None
    """The status the responder produced (None when it did not run): a request whose
    responder answered 2xx took effect on the exchange, whatever the client then saw."""
    response_body: bytes | None = None
    response_headers: dict[str, str] | None = None
    error: WireError | None = None
    faults: list[FaultEvent] = field(default_factory=list)
    duration: float | None = None
    client_outcome: ClientOutcome | None = None
    """What the client saw when it differs from the response: a timeout, a reset."""
    role: str | None = None
    """The role of the route that answered (``bars``, ``order_place``...)."""
    rel_path: str = ""
    """The path relative to the server's base URL."""
    matched_faults: list[int] = field(default_factory=list)
    """Positions (in ``chaos.armed``) of the faults whose ``match`` accepted this request."""

    @classmethod
    def from_request(cls, request: Request, t: float, route: str | None) -> JournalEntry:
        return cls(
            index=request.index,
            t=t,
            method=request.method,
            url=str(request.url.with_query(redact_query(request.query))),
            path=request.path,
            params=redact_query(request.query),
            headers=redact_headers(request.headers),
            body=redact_body_text(request.body, request.headers.get("Content-Type", "")),
            route=route,
            attempt=request.attempt,
            role=request.role,
            rel_path=request.rel_path or request.path,
        )

    def set_response(self, response: Response) -> None:
        self.status = response.status
        self.response_body = response.body
        self.response_headers = dict(response.headers)

    @property
    def delivered(self) -> bool:
        """The client received this response (not lost, not timed out; a cut body counts:
        the client holds the bad data)."""
        if self.client_outcome is not None or self.status is None:
            return False
        return self.error is None or self.error.kind == "truncated"

    @property
    def failed(self) -> bool:
        """The client did not get a good answer: an error status, a wire error, a timeout."""
        return (
            self.status is None
            or self.status >= 400
            or self.error is not None
            or self.client_outcome is not None
        )

    @property
    def took_effect(self) -> bool:
        """The responder ran and answered with success (an order it places exists)."""
        return self.responder_status is not None and self.responder_status < 400

    def to_dict(self) -> dict[str, Any]:
        body = self.response_body
        return {
            "index": self.index,
            "t": round(self.t, 6),
            "method": self.method,
            "url": self.url,
            "path": self.path,
            "params": self.params,
            "headers": self.headers,
            "body": self.body,
            "route": self.route,
            "attempt": self.attempt,
            "status": self.status,
            "response_body": body.decode("utf-8", errors="replace") if body is not None else None,
            "responder_status": self.responder_status,
            "role": self.role,
            "error": str(self.error) if self.error is not None else None,
            "error_kind": self.error.kind if self.error is not None else None,
            "faults": [f.to_dict() for f in self.faults],
            "duration": self.duration,
            "client_outcome": str(self.client_outcome) if self.client_outcome else None,
        }


class Journal:
    """The entries of one MockServer, oldest first, bounded to ``maxlen``."""

    def __init__(self, maxlen: int = 10_000) -> None:
        self._entries: deque[JournalEntry] = deque(maxlen=maxlen)
        self.total = 0

    def append(self, entry: JournalEntry) -> None:
        self._entries.append(entry)
        self.total += 1

    def clear(self) -> None:
        self._entries.clear()
        self.total = 0

    @property
    def last(self) -> JournalEntry:
        if not self._entries:
            raise IndexError("the journal is empty")
        return self._entries[-1]

    def __iter__(self) -> Iterator[JournalEntry]:
        return iter(self._entries)

    def __reversed__(self) -> Iterator[JournalEntry]:
        return reversed(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __getitem__(self, i: int) -> JournalEntry:
        return self._entries[i]

    def __repr__(self) -> str:
        return f"<Journal {len(self._entries)} entries, {self.total} total>"
