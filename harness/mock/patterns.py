"""Request patterns: what a request must look like, and how it differs when it does not.

One pattern object serves every place that asks "does this request match?": routes,
the ``match`` of a fault, and the unmatched-route message. ``pattern.difference(request)``
lists what does not match, each with the expected and the actual value (empty when the
request matches); ``pattern.match(request)`` is ``not pattern.difference(request)``.
Patterns combine with ``&``, ``|`` and ``~``::

    Method("POST") & Path("/v1/orders") & ~Query({"test": True})
"""

from __future__ import annotations

import difflib
import json as _json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from harness.errors import MockConfigError
from harness.redaction import REDACTED, is_secret_key

__all__ = [
    "All",
    "Any_",
    "Headers",
    "JsonBody",
    "Method",
    "Mismatch",
    "Not",
    "Path",
    "PathPattern",
    "Pattern",
    "Query",
    "RequestLike",
    "Role",
    "query_value",
]


class RequestLike(Protocol):
    """What a pattern reads of a request (``harness.mock.Request`` has all of it)."""

    method: str
    rel_path: str
    role: str | None
    body: bytes

    @property
    def query(self) -> Any: ...  # a MultiDict: ``getall(key, default)``

    @property
    def headers(self) -> Any: ...  # case-insensitive mapping


@dataclass(frozen=True)
class Mismatch:
    """One way a request differs from a pattern: which part, what was expected, what came."""

    part: str
    expected: str
    actual: str

    def __str__(self) -> str:
        if self.part == "path":
            return f"path {self.actual} does not match {self.expected}"
        if self.part.startswith("query "):
            return f"{self.part}={self.expected} (got {self.actual})"
        if self.part.startswith("header "):
            return f"{self.part}: {self.actual}"
        return f"{self.part} {self.actual} != {self.expected}"


def query_value(value: Any) -> str:
    """A query value as it travels on the wire (``True`` is ``true``, as clients send it)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class Pattern:
    """Base of every pattern. Subclasses implement :meth:`difference`."""

    def difference(self, request: RequestLike) -> list[Mismatch]:  # pragma: no cover - abstract
        raise NotImplementedError

    def match(self, request: RequestLike) -> bool:
        return not self.difference(request)

    def closeness(self, request: RequestLike) -> float:
        """How close a request came (higher is closer), to list routes closest first."""
        return 0.0 if self.difference(request) else 1.0

    def describe(self) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def __and__(self, other: Pattern) -> Pattern:
        return All(self, other)

    def __or__(self, other: Pattern) -> Pattern:
        return Any_(self, other)

    def __invert__(self) -> Pattern:
        return Not(self)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.describe()}>"


class All(Pattern):
    """Every part must match; the difference lists every part that does not."""

    def __init__(self, *parts: Pattern) -> None:
        flat: list[Pattern] = []
        for part in parts:
            flat.extend(part.parts if isinstance(part, All) else [part])
        self.parts = tuple(flat)

    def difference(self, request: RequestLike) -> list[Mismatch]:
        return [m for part in self.parts for m in part.difference(request)]

    def closeness(self, request: RequestLike) -> float:
        return sum(part.closeness(request) for part in self.parts)

    def describe(self) -> str:
        text = " ".join(p.describe() for p in self.parts) or "any request"
        return text.replace(" ?", "?")


class Any_(Pattern):
    """At least one part must match; when none does, the closest part's difference."""

    def __init__(self, *parts: Pattern) -> None:
        self.parts = parts

    def difference(self, request: RequestLike) -> list[Mismatch]:
        best: list[Mismatch] | None = None
        for part in self.parts:
            diff = part.difference(request)
            if not diff:
                return []
            if best is None or len(diff) < len(best):
                best = diff
        return best or []

    def closeness(self, request: RequestLike) -> float:
        return max((p.closeness(request) for p in self.parts), default=0.0)

    def describe(self) -> str:
        return "(" + " | ".join(p.describe() for p in self.parts) + ")"


class Not(Pattern):
    def __init__(self, part: Pattern) -> None:
        self.part = part

    def difference(self, request: RequestLike) -> list[Mismatch]:
        if self.part.difference(request):
            return []
        return [Mismatch("not", f"not {self.part.describe()}", "matched")]

    def describe(self) -> str:
        return f"not({self.part.describe()})"


class Method(Pattern):
    """One or several HTTP methods (``WS`` for a WebSocket); ``*`` or none: any."""

    def __init__(self, methods: str | Iterable[str] | None = None) -> None:
        names = [methods] if isinstance(methods, str) else list(methods or [])
        upper = frozenset(m.upper() for m in names)
        self.methods: frozenset[str] | None = None if not upper or "*" in upper else upper

    def difference(self, request: RequestLike) -> list[Mismatch]:
        if self.methods is None or request.method in self.methods:
            return []
        return [Mismatch("method", "|".join(sorted(self.methods)), request.method)]

    def closeness(self, request: RequestLike) -> float:
        return 0.0 if self.difference(request) else 1.0

    def describe(self) -> str:
        return "*" if self.methods is None else "|".join(sorted(self.methods))


_PLACEHOLDER_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class PathPattern:
    """A path pattern: exact, ``{name}`` placeholders, glob ``*`` / ``**``, or a compiled regex.

    ``{name}`` matches one path segment and is captured into ``request.path_params``;
    ``*`` matches within one segment, ``**`` across segments; a compiled regex must match
    the whole path, and its named groups are captured.
    """

    __slots__ = ("_exact", "_regex", "source")

    def __init__(self, pattern: str | re.Pattern[str]) -> None:
        self._exact: str | None = None
        self._regex: re.Pattern[str] | None = None
        if isinstance(pattern, re.Pattern):
            self.source = f"re:{pattern.pattern}"
            self._regex = pattern
            return
        if not isinstance(pattern, str):
            raise MockConfigError(
                "route path",
                f"{pattern!r} is a {type(pattern).__name__}",
                "expected a str such as '/api/v3/klines' or a compiled re.Pattern",
            )
        if not pattern.startswith("/"):
            pattern = "/" + pattern
        self.source = pattern
        if "{" not in pattern and "*" not in pattern:
            self._exact = pattern
            return
        out = []
        pos = 0
        for m in re.finditer(r"\{([^}]*)\}|\*\*|\*", pattern):
            out.append(re.escape(pattern[pos : m.start()]))
            token = m.group(0)
            if token == "**":
                out.append(".*")
            elif token == "*":
                out.append("[^/]*")
            else:
                name = m.group(1)
                if not _PLACEHOLDER_NAME.fullmatch(name):
                    raise MockConfigError(
                        "route path",
                        f"placeholder {token!r} in {pattern!r} is not a name",
                        "use {order_id}: letters, digits and _",
                    )
                out.append(f"(?P<{name}>[^/]+)")
            pos = m.end()
        out.append(re.escape(pattern[pos:]))
        try:
            self._regex = re.compile("".join(out))
        except re.error as exc:  # duplicate placeholder names
            raise MockConfigError("route path", f"{pattern!r}: {exc}") from None

    def match(self, path: str) -> dict[str, str] | None:
        """The captured path parameters when ``path`` matches, else ``None``."""
        if self._exact is not None:
            return {} if path == self._exact else None
        assert self._regex is not None
        m = self._regex.fullmatch(path)
        if m is None:
            return None
        return {k: v for k, v in m.groupdict().items() if v is not None}

    def similarity(self, path: str) -> float:
        return difflib.SequenceMatcher(None, self.source, path).ratio()

    def __repr__(self) -> str:
        return f"PathPattern({self.source!r})"


class Path(Pattern):
    """The request's path relative to the server's base URL."""

    def __init__(self, pattern: str | re.Pattern[str] | PathPattern) -> None:
        self.pattern = pattern if isinstance(pattern, PathPattern) else PathPattern(pattern)

    def captures(self, request: RequestLike) -> dict[str, str] | None:
        return self.pattern.match(request.rel_path)

    def difference(self, request: RequestLike) -> list[Mismatch]:
        if self.pattern.match(request.rel_path) is not None:
            return []
        return [Mismatch("path", self.pattern.source, request.rel_path)]

    def closeness(self, request: RequestLike) -> float:
        return 2.0 * self.pattern.similarity(request.rel_path)

    def describe(self) -> str:
        return self.pattern.source


class Query(Pattern):
    """Query parameters the request must carry (a subset; repeated keys may hold any)."""

    def __init__(self, params: Mapping[str, Any]) -> None:
        self.params = {str(k): query_value(v) for k, v in params.items()}

    def difference(self, request: RequestLike) -> list[Mismatch]:
        out = []
        for key, value in self.params.items():
            got = request.query.getall(key, [])
            if value not in got:
                if is_secret_key(key):  # say only whether it was there
                    seen = "a different value" if got else "none"
                    out.append(Mismatch(f"query {key}", "the expected value", seen))
                else:
                    out.append(Mismatch(f"query {key}", value, ",".join(got) or "none"))
        return out

    def closeness(self, request: RequestLike) -> float:
        return 0.25 * sum(1 for k, v in self.params.items() if v in request.query.getall(k, []))

    def describe(self) -> str:
        return "?" + "&".join(
            f"{k}={REDACTED if is_secret_key(k) else v}" for k, v in self.params.items()
        )


class Headers(Pattern):
    """Headers the request must carry with these exact values (names case-insensitive)."""

    def __init__(self, headers: Mapping[str, Any]) -> None:
        self.headers = {str(k): str(v) for k, v in headers.items()}

    def difference(self, request: RequestLike) -> list[Mismatch]:
        out = []
        for key, value in self.headers.items():
            got = request.headers.get(key)
            if got != value:
                # the value itself may be a secret: say only whether it was there
                seen = "a different value" if got is not None else "none"
                out.append(Mismatch(f"header {key}", "the expected value", seen))
        return out

    def describe(self) -> str:
        return " ".join(f"[{k}]" for k in self.headers)


class JsonBody(Pattern):
    """The body parsed as JSON must contain this subset (nested mappings compared key by key)."""

    def __init__(self, subset: Any) -> None:
        self.subset = subset

    def difference(self, request: RequestLike) -> list[Mismatch]:
        try:
            actual = _json.loads(request.body) if request.body.strip() else None
        except ValueError:
            return [Mismatch("JSON body", "a JSON body", "not JSON")]
        if _subset(self.subset, actual):
            return []
        return [Mismatch("JSON body", _json.dumps(self.subset, default=str), "a different body")]

    def describe(self) -> str:
        return f"json~{_json.dumps(self.subset, default=str)}"


class Role(Pattern):
    """What the endpoint is for (``bars``, ``order_place``...), as its route declares it."""

    def __init__(self, roles: str | Iterable[str]) -> None:
        self.roles = frozenset([roles] if isinstance(roles, str) else roles)

    def difference(self, request: RequestLike) -> list[Mismatch]:
        if request.role in self.roles:
            return []
        return [Mismatch("role", "|".join(sorted(self.roles)), request.role or "none")]

    def describe(self) -> str:
        return "role=" + "|".join(sorted(self.roles))


def _subset(expected: Any, actual: Any) -> bool:
    if isinstance(expected, Mapping):
        return isinstance(actual, Mapping) and all(
            k in actual and _subset(v, actual[k]) for k, v in expected.items()
        )
    return bool(expected == actual)
