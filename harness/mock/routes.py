"""Routes: what a request must look like to match, and what answers it.

A :class:`Route` is returned by ``server.get(...)`` and friends. It matches on method,
path pattern, query subset, header subset and (optionally) a JSON body subset, holds
a responder, and records its calls (``route.called``, ``route.call_count``,
``route.calls.last``).
"""

from __future__ import annotations

import inspect
import json as _json
import re
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from multidict import CIMultiDict, CIMultiDictProxy, MultiDict, MultiDictProxy
from yarl import URL

from harness.errors import MockConfigError, RouteMiss, messages
from harness.mock.headers import header_problem, reason_problem
from harness.mock.patterns import All, Headers, JsonBody, Method, Path, PathPattern, Pattern, Query
from harness.roles import check_role

__all__ = [
    "Call",
    "CallList",
    "PathPattern",
    "Request",
    "Responder",
    "Response",
    "Route",
]


@dataclass(eq=False)
class Request:
    """A request as the mock server saw it."""

    method: str
    url: URL
    path: str
    query: MultiDictProxy[str]
    headers: CIMultiDictProxy[str]
    body: bytes = b""
    path_params: dict[str, str] = field(default_factory=dict)
    index: int = 0
    """Position of this request among all requests the server received in this test."""
    attempt: int = 1
    """1 for a first attempt; 2 when the client transparently re-sent it."""
    context: dict[str, Any] = field(default_factory=dict)
    """What faults tell the responder (e.g. ``clock_offset_s`` from ``clock_skew``)."""
    rel_path: str = ""
    """The path relative to the server's base URL (what routes and faults match)."""
    role: str | None = None
    """The role of the route that matched (``bars``, ``order_place``...), once routed."""

    @classmethod
    def build(
        cls,
        method: str,
        url: str | URL,
        headers: Mapping[str, str] | None = None,
        body: bytes = b"",
        rel_path: str | None = None,
    ) -> Request:
        """A request from its parts (for responder unit tests, replay probes): the query is
        read from the URL, ``rel_path`` defaults to the URL's path."""
        url = URL(url)
        return cls(
            method.upper(),
            url,
            url.path,
            MultiDictProxy(MultiDict(url.query)),
            CIMultiDictProxy(CIMultiDict(headers or {})),
            body,
            rel_path=url.path if rel_path is None else rel_path,
        )

    @property
    def params(self) -> MultiDictProxy[str]:
        """Alias of :attr:`query`, as aiohttp calls it."""
        return self.query

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body parsed as JSON (``None`` for an empty body)."""
        if not self.body.strip():
            return None
        return _json.loads(self.body)

    @property
    def form(self) -> MultiDictProxy[str]:
        """The body parsed as ``application/x-www-form-urlencoded``."""
        return MultiDictProxy(MultiDict(parse_qsl(self.text, keep_blank_values=True)))

    def __repr__(self) -> str:
        from harness.redaction import redact_text

        return f"<Request {self.method} {redact_text(str(self.url))}>"  # tracebacks show it


class Response:
    """What a responder answers: status, headers and a body (bytes)."""

    __slots__ = ("body", "headers", "reason", "status")

    def __init__(
        self,
        status: int = 200,
        *,
        json: Any = None,
        body: bytes | str | None = None,
        text: str | None = None,
        headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
        content_type: str | None = None,
        reason: str | None = None,
    ) -> None:
        if not isinstance(status, int) or not 100 <= status <= 599:
            raise MockConfigError("Response", f"status={status!r} must be an int in 100..599")
        given = [
            name for name, v in (("json", json), ("body", body), ("text", text)) if v is not None
        ]
        if len(given) > 1:
            raise MockConfigError("Response", f"got {' and '.join(given)}", "give one body only")
        try:
            hdrs: CIMultiDict[str] = CIMultiDict(headers or {})
        except (TypeError, ValueError) as exc:
            raise MockConfigError("Response", messages.headers_not_pairs(headers, exc)) from None
        if json is not None:
            payload = _json.dumps(json, separators=(",", ":")).encode()
            ctype = "application/json"
        elif text is not None:
            payload = text.encode()
            ctype = "text/plain; charset=utf-8"
        elif body is not None:
            payload = body.encode() if isinstance(body, str) else bytes(body)
            ctype = "application/octet-stream"
        else:
            payload = b""
            ctype = "application/json"
        if content_type is not None:
            ctype = content_type
        if "Content-Type" not in hdrs:
            hdrs["Content-Type"] = ctype
        self.status = status
        self.body = payload
        self.headers = hdrs
        self.reason = reason
        problem = self.problem()
        if problem is not None:  # refused here, not by a socket server at request time
            raise MockConfigError("Response", problem)

    @classmethod
    def coerce(cls, value: Any) -> Response:
        """Turn a responder's return value into a Response.

        Accepts a Response, a dict or list (JSON), str (text), bytes, ``None`` (204), or a
        ``(status, json)`` / ``(status, json, headers)`` tuple.
        """
        if isinstance(value, Response):
            return value
        if value is None:
            return cls(204)
        if isinstance(value, (dict, list)):
            return cls(json=value)
        if isinstance(value, str):
            return cls(text=value)
        if isinstance(value, (bytes, bytearray)):
            return cls(body=bytes(value))
        if isinstance(value, tuple) and 2 <= len(value) <= 3 and isinstance(value[0], int):
            return cls(value[0], json=value[1], headers=value[2] if len(value) == 3 else None)
        raise MockConfigError(
            "responder",
            f"returned {type(value).__name__} {value!r:.80}",
            "return a Response, dict, list, str, bytes, None or (status, json[, headers])",
        )

    def json(self) -> Any:
        return _json.loads(self.body) if self.body.strip() else None

    def problem(self) -> str | None:
        """Why this response cannot be sent as it is now (its headers may have been changed
        since it was built), or ``None``: :mod:`harness.mock.headers`' rule."""
        for name, value in self.headers.items():
            problem = header_problem(name, value)
            if problem is not None:
                return problem
        return reason_problem(self.reason)

    def copy(self) -> Response:
        new = Response.__new__(Response)
        new.status, new.body, new.reason = self.status, self.body, self.reason
        new.headers = CIMultiDict(self.headers)
        return new

    def __repr__(self) -> str:
        return f"<Response {self.status} {len(self.body)} bytes>"


Handler = Callable[[Request], Any | Awaitable[Any]]
Scripted = Response | BaseException | type | Handler | dict | list | str | bytes | None


class Responder:
    """Produces the response for a matched request: static, a handler, or a sequence."""

    __slots__ = ("_handler", "_index", "_items", "_static")

    def __init__(
        self,
        static: Response | None = None,
        handler: Handler | None = None,
        items: Sequence[Scripted] | None = None,
    ) -> None:
        self._static = static
        self._handler = handler
        self._items = list(items) if items is not None else None
        self._index = 0

    async def __call__(self, request: Request) -> Response:
        if self._static is not None:
            return self._static
        if self._handler is not None:
            return await _run(self._handler, request)
        assert self._items is not None
        item = self._items[min(self._index, len(self._items) - 1)]
        self._index += 1
        if isinstance(item, BaseException):
            raise item
        if isinstance(item, type) and issubclass(item, BaseException):
            raise item()
        if callable(item) and not isinstance(item, Response):
            return await _run(item, request)
        return Response.coerce(item)

    def reset(self) -> None:
        self._index = 0


async def _run(handler: Handler, request: Request) -> Response:
    result = handler(request)
    if inspect.isawaitable(result):
        result = await result
    return Response.coerce(result)


@dataclass(frozen=True)
class Call:
    """One request a route answered, and what it answered (``None`` if it raised or was lost)."""

    request: Request
    response: Response | None


class CallList(deque):  # type: ignore[type-arg]
    """The calls of a route, newest last; bounded like the journal."""

    @property
    def last(self) -> Call:
        if not self:
            raise IndexError("route has no calls")
        return self[-1]


_DEFAULT_RESPONSE = Response(200, json={})


class Route:
    """A registered route; the handle ``server.get(...)`` returns."""

    def __init__(
        self,
        method: str,
        path: str | re.Pattern[str],
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        json: Any = None,
        name: str | None = None,
        role: str | None = None,
        max_calls: int = 10_000,
    ) -> None:
        if not isinstance(method, str) or not method.strip():
            raise MockConfigError("route", f"method={method!r}", "expected GET, POST, ... or '*'")
        self.method = method.upper()
        self.path = Path(path)
        parts: list[Pattern] = [Method(self.method), self.path]
        if params:
            parts.append(Query(params))
        if headers:
            parts.append(Headers(headers))
        if json is not None:
            parts.append(JsonBody(json))
        self.pattern: Pattern = All(*parts)
        """Everything a request must show to match this route."""
        self.name = name or f"{self.method} {self.path.describe()}"
        self.role = check_role(role, f"route {self.name}")
        """What the endpoint is for (``bars``, ``order_place``...): faults and invariants
        speak roles, so one scenario applies to every API that declares them."""
        self.responder = Responder(static=_DEFAULT_RESPONSE)
        self.calls: CallList = CallList(maxlen=max_calls)
        self.call_count = 0

    # -- configuring the answer ---------------------------------------------------------
    def respond(
        self,
        handler: Handler | Response | None = None,
        /,
        status: int = 200,
        *,
        json: Any = None,
        body: bytes | str | None = None,
        text: str | None = None,
        headers: Mapping[str, str] | None = None,
        content_type: str | None = None,
    ) -> Route:
        """Answer with a static response, or with ``handler(request)`` (sync or async)."""
        if handler is not None:
            others = [json, body, text, headers, content_type]
            if any(v is not None for v in others) or status != 200:
                raise MockConfigError(
                    f"{self.name}.respond",
                    "got a handler and response arguments",
                    "give either a handler or status/json/body/headers",
                )
            if isinstance(handler, Response):
                self.responder = Responder(static=handler)
            elif callable(handler):
                self.responder = Responder(handler=handler)
            else:
                raise MockConfigError(
                    f"{self.name}.respond",
                    f"{handler!r:.60} is not callable",
                    "pass a function request -> response, or keyword arguments",
                )
            return self
        self.responder = Responder(
            static=Response(
                status,
                json=json,
                body=body,
                text=text,
                headers=headers,
                content_type=content_type,
            )
        )
        return self

    def respond_seq(self, items: Iterable[Scripted]) -> Route:
        """Answer with each item in turn; the last one repeats.

        Items are Responses, JSON-able values, handlers, or exceptions (raised to the client).
        """
        seq = list(items)
        if not seq:
            raise MockConfigError(f"{self.name}.respond_seq", "the sequence is empty")
        self.responder = Responder(items=seq)
        return self

    # -- matching -----------------------------------------------------------------------
    def match(self, request: Request) -> dict[str, str] | None:
        """The captured path parameters when the request matches, else ``None``."""
        if self.pattern.difference(request):
            return None
        return self.path.captures(request)

    def miss(self, request: Request) -> tuple[float, RouteMiss]:
        """How close this route came to matching, and why it did not."""
        reasons = tuple(str(m) for m in self.pattern.difference(request))
        return self.pattern.closeness(request), RouteMiss(self.describe(), reasons or ("matched",))

    def describe(self) -> str:
        return self.pattern.describe()

    # -- recording ------------------------------------------------------------------------
    def record(self, request: Request, response: Response | None) -> None:
        self.call_count += 1
        self.calls.append(Call(request, response))

    @property
    def called(self) -> bool:
        return self.call_count > 0

    def reset(self) -> None:
        self.calls.clear()
        self.call_count = 0
        self.responder.reset()

    def __repr__(self) -> str:
        return f"<Route {self.describe()} calls={self.call_count}>"
