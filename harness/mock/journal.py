"""The request journal: every request a MockServer saw, what it answered, which faults acted.

Bounded (``maxlen``, default 10,000 entries) so a long chaos run does not grow without
limit; ``journal.total`` keeps counting past the bound. Secrets are redacted when an
entry is written: API-key headers, Authorization, and ``signature`` query parameters.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from multidict import MultiDict

from harness.mock.routes import Request, Response

__all__ = ["Journal", "JournalEntry", "redact_headers", "redact_query"]

REDACTED = "***"
_SECRET_HEADERS = frozenset(
    h.lower()
    for h in (
        "authorization",
        "proxy-authorization",
        "cookie",
        "x-mbx-apikey",
        "api-key",
        "apikey",
        "x-api-key",
        "ok-access-key",
        "ok-access-sign",
        "ok-access-passphrase",
        "cb-access-key",
        "cb-access-sign",
        "cb-access-passphrase",
        "x-bapi-api-key",
        "x-bapi-sign",
        "kc-api-key",
        "kc-api-sign",
        "kc-api-passphrase",
        "api-sign",
    )
)
_SECRET_PARAMS = frozenset(("signature", "sign", "apikey", "api_key", "secret", "passphrase"))


def redact_headers(headers: Any) -> dict[str, str]:
    """A plain dict of headers with secret values replaced by ``***``."""
    return {k: (REDACTED if k.lower() in _SECRET_HEADERS else v) for k, v in headers.items()}


def redact_query(query: Any) -> dict[str, Any]:
    """Query parameters as a dict (lists for repeated keys), secrets replaced."""
    out: dict[str, Any] = {}
    for key, value in query.items():
        value = REDACTED if key.lower() in _SECRET_PARAMS else value
        if key in out:
            prev = out[key]
            out[key] = [*prev, value] if isinstance(prev, list) else [prev, value]
        else:
            out[key] = value
    return out


def _redact_body(body: bytes, content_type: str) -> str:
    text = body.decode("utf-8", errors="replace")
    if "x-www-form-urlencoded" in content_type and "=" in text:
        from urllib.parse import parse_qsl, urlencode

        pairs = parse_qsl(text, keep_blank_values=True)
        if any(k.lower() in _SECRET_PARAMS for k, _ in pairs):
            cleaned = MultiDict(
                (k, REDACTED if k.lower() in _SECRET_PARAMS else v) for k, v in pairs
            )
            return urlencode(list(cleaned.items()))
    return text


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
    response_body: bytes | None = None
    response_headers: dict[str, str] | None = None
    error: str | None = None
    faults: list[dict[str, Any]] = field(default_factory=list)
    duration: float | None = None
    client_outcome: str | None = None
    """What the client saw when it differs from the response: a timeout, a reset."""

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
            body=_redact_body(request.body, request.headers.get("Content-Type", "")),
            route=route,
            attempt=request.attempt,
        )

    def set_response(self, response: Response) -> None:
        self.status = response.status
        self.response_body = response.body
        self.response_headers = dict(response.headers)

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
            "error": self.error,
            "faults": self.faults,
            "duration": self.duration,
            "client_outcome": self.client_outcome,
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

    def filter(self, method: str | None = None, path: str | None = None) -> list[JournalEntry]:
        return [
            e
            for e in self._entries
            if (method is None or e.method == method.upper()) and (path is None or e.path == path)
        ]

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
