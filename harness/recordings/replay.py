"""Recorded interactions as MockServer routes, with the harness's chaos on top.

**Matching** follows VCR.py's matchers by name (``match_on``): ``method``, ``scheme``,
``host``, ``port``, ``path``, ``query`` (the default: all six) and ``body`` (off by
default, as in VCR.py). The query is compared as VCR.py compares it: the whole query,
decoded, in any order, blank values dropped (``sorted(parse_qsl(query))``); ``/x?a=1``
never answers ``/x?a=1&b=2``. This exactness lives in :class:`RecordedRequest`, a pattern
of this module added to each recorded route (a route's own ``params=`` is a subset match
and stays as it is). Two departures, both because a replay must match a *live* client:
the values of secret parameters (``signature``, ``apiKey``...: a recording holds ``***``)
and of ``ignore_params`` (``timestamp`` and ``nonce`` by default: they change on every
send) are not compared, only their presence. ``body`` compares JSON bodies as data (key
order ignored), form bodies as sorted pairs, other bodies as bytes; aiohttp's recorded
``json=``/``data=`` mappings match either.

**Repeats**: requests that match alike form one route answered with their recorded
answers in order, then the last one repeats (VCR.py raises once all are played, or with
``allow_playback_repeats`` replays the first forever; "the last repeats" is what a 503 then
200 retry recording needs).

**Several hosts**: one MockServer answers a whole recording. Every recorded host
(scheme, host, port) becomes an alias of the server, so aiohttp reaches each one
in-process by its hostname; routes keep their host, so a path recorded on two hosts
answers each host with its own answers. Over a socket every host arrives at one address:
the route of the host recorded first answers. :func:`servers_by_host` gives one server per
host instead (serve each on its own socket).

**Roles**: a route recorded against a known profile's host (``api.binance.com`` for
``binance-spot``...) takes the role of the profile route that answers the same request;
otherwise the caller's role map (``roles=``, the project's ``[tool.chaos-harness.roles]``)
applies; otherwise it has none.

**Secrets**: recorded answers are cleaned before they become routes (values of secret
fields, and any secret the recorded requests carried, are replaced by ``***``), route
names and descriptions never show a secret value, and a recording that holds an
unredacted secret in a request warns once, naming the fields.

Nothing is half-loaded: the file is read and every route built before the server changes.
"""

from __future__ import annotations

import json
import os
import re
import sys
import warnings
import weakref
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from multidict import CIMultiDict
from yarl import URL

from harness.errors import (
    HarnessWarning,
    MockConfigError,
    RecordingError,
    RecordingProblem,
    UnmatchedRequestError,
    messages,
)
from harness.mock.patterns import All, Mismatch, Pattern, RequestLike
from harness.mock.routes import Request, Response, Route
from harness.recordings.formats import Interaction, read_recording
from harness.recordings.secrets import (
    REDACTED,
    Found,
    header_secrets,
    is_placeholder,
    is_secret_header,
    is_secret_key,
    redact_body,
    redact_mapping,
    scrub,
    scrub_text,
)
from harness.roles import RoleMap

if TYPE_CHECKING:
    from harness.mock.server import MockServer

__all__ = [
    "DEFAULT_IGNORE_PARAMS",
    "DEFAULT_MATCH_ON",
    "MATCHERS",
    "MatchOptions",
    "RecordedRequest",
    "load_recording",
    "server_from_recording",
    "servers_by_host",
]

MATCHERS = ("method", "scheme", "host", "port", "path", "query", "body")
"""The matchers ``match_on`` may name (VCR.py's names; ``uri``/``url`` mean all of
scheme, host, port, path and query)."""
DEFAULT_MATCH_ON = ("method", "scheme", "host", "port", "path", "query")
"""VCR.py's default ``match_on``: the body is not compared."""
DEFAULT_IGNORE_PARAMS = ("timestamp", "nonce")
"""Parameters whose values change on every send: only their presence is compared."""

_ORIGIN_PARTS = ("scheme", "host", "port")
_MASK = "\x00*"  # stands for a value that is not compared


# -- options -----------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class MatchOptions:
    """What a recorded request and a live one must share to match."""

    match_on: frozenset[str]
    ignore: frozenset[str]
    """Lowercase names of parameters and body fields whose values are not compared."""

    @classmethod
    def build(
        cls,
        match_on: Iterable[str] = DEFAULT_MATCH_ON,
        ignore_params: Iterable[str] = DEFAULT_IGNORE_PARAMS,
    ) -> MatchOptions:
        names = [match_on] if isinstance(match_on, str) else [str(m) for m in match_on]
        chosen: set[str] = set()
        unknown = []
        for name in names:
            if name in ("uri", "url"):
                chosen.update(("scheme", "host", "port", "path", "query"))
            elif name in MATCHERS:
                chosen.add(name)
            else:
                unknown.append(name)
        if unknown:
            raise MockConfigError(
                "match_on", messages.recording_bad_match_on(unknown, [*MATCHERS, "uri"])
            )
        ignore = [ignore_params] if isinstance(ignore_params, str) else list(ignore_params)
        return cls(frozenset(chosen), frozenset(str(p).lower() for p in ignore))

    def masked(self, name: str) -> bool:
        """The value of this parameter or body field is not compared."""
        return name.lower() in self.ignore or is_secret_key(name)

    def shown(self, name: str, value: str) -> str:
        """A value as names and messages show it: never a secret."""
        if is_secret_key(name):
            return REDACTED
        return "*" if name.lower() in self.ignore else value


# -- comparing requests ------------------------------------------------------------------------


def _query_key(pairs: Iterable[tuple[str, str]], opts: MatchOptions) -> tuple[tuple[str, str], ...]:
    # VCR.py: sorted(parse_qsl(query)): decoded, any order, blank values dropped
    return tuple(sorted((k, _MASK if opts.masked(k) else v) for k, v in pairs if v != ""))


def _show_query(pairs: Iterable[tuple[str, str]], opts: MatchOptions) -> str:
    return "&".join(f"{k}={opts.shown(k, v)}" for k, v in sorted(pairs) if v != "")


def _mask_json(value: Any, opts: MatchOptions) -> Any:
    if isinstance(value, Mapping):
        return {
            str(k): _MASK if opts.masked(str(k)) else _mask_json(v, opts) for k, v in value.items()
        }
    if isinstance(value, list):
        return [_mask_json(v, opts) for v in value]
    return value


def _canon(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def _json_canon(body: bytes, opts: MatchOptions) -> str | None:
    if not body or body.lstrip()[:1] not in (b"{", b"["):
        return None
    try:
        return _canon(_mask_json(json.loads(body), opts))
    except ValueError:
        return None


def _form_key(pairs: Iterable[tuple[str, str]], opts: MatchOptions) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((k, _MASK if opts.masked(k) else v) for k, v in pairs))


def _form_of(body: bytes, opts: MatchOptions) -> tuple[tuple[str, str], ...] | None:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if "=" not in text:
        return None
    return _form_key(parse_qsl(text, keep_blank_values=True), opts)


def _mapping_pairs(value: Mapping[str, Any]) -> list[tuple[str, str]]:
    pairs = []
    for k, v in value.items():
        for item in v if isinstance(v, list) else [v]:
            pairs.append((str(k), "" if item is None else str(item)))
    return pairs


BodyKey = tuple[Any, ...]


def _body_key(
    body: bytes | Mapping[str, Any] | None, content_type: str, opts: MatchOptions
) -> BodyKey:
    """A recorded body as it is compared: ``("empty",)``, ``("json", canon)``, ``("form",
    pairs)``, ``("data", canon, pairs)`` (an aiohttp mapping: JSON or form) or
    ``("raw", bytes, canon-or-None)``."""
    if body is None or (isinstance(body, bytes) and not body):
        return ("empty",)
    if isinstance(body, Mapping):
        return ("data", _canon(_mask_json(body, opts)), _form_key(_mapping_pairs(body), opts))
    if "x-www-form-urlencoded" in content_type:
        form = _form_of(body, opts)
        if form is not None:
            return ("form", form)
    canon = _json_canon(body, opts)
    if canon is not None and "json" in content_type:
        return ("json", canon)
    return ("raw", body, canon)


def _show_body(key: BodyKey) -> str:
    kind = key[0]
    if kind == "empty":
        return "no body"
    if kind in ("json", "data"):
        text = key[1].replace(_MASK, "*")
    elif kind == "form":
        text = "&".join(f"{k}={v.replace(_MASK, '*')}" for k, v in key[1])
    else:
        return f"{len(key[1])} bytes"
    return text if len(text) <= 80 else text[:77] + "..."


class _Live:
    """What the recorded patterns read of one live request, computed once per request
    (every recorded route a request is tried against asks the same questions)."""

    __slots__ = ("_body", "_query", "_shown", "origin", "request")

    def __init__(self, request: RequestLike) -> None:
        self.request = request
        url = getattr(request, "url", None)
        self.origin = (url.scheme, url.host or "", url.port or 0) if url is not None else None
        self._query: dict[MatchOptions, tuple[tuple[str, str], ...]] = {}
        self._shown: dict[MatchOptions, str] = {}
        self._body: dict[MatchOptions, tuple[str | None, tuple[tuple[str, str], ...] | None]] = {}

    def query(self, opts: MatchOptions) -> tuple[tuple[str, str], ...]:
        key = self._query.get(opts)
        if key is None:
            key = self._query[opts] = _query_key(self.request.query.items(), opts)
        return key

    def shown_query(self, opts: MatchOptions) -> str:
        text = self._shown.get(opts)
        if text is None:
            text = self._shown[opts] = "?" + _show_query(self.request.query.items(), opts)
        return text

    def body(self, opts: MatchOptions) -> tuple[str | None, tuple[tuple[str, str], ...] | None]:
        forms = self._body.get(opts)
        if forms is None:
            raw = self.request.body
            forms = self._body[opts] = (
                _json_canon(raw, opts),
                _form_of(raw, opts) if raw else None,
            )
        return forms


_last: _Live | None = None


def _live(request: RequestLike) -> _Live:
    global _last
    memo = _last
    if memo is not None and memo.request is request:
        return memo
    memo = _Live(request)
    _last = memo
    return memo


def _body_matches(recorded: BodyKey, live: _Live, opts: MatchOptions) -> bool:
    kind = recorded[0]
    raw = live.request.body
    if kind == "empty":
        return not raw
    as_json, as_form = live.body(opts)
    if kind == "json":
        return as_json == recorded[1]
    if kind == "form":
        return as_form == recorded[1]
    if kind == "data":
        return as_json == recorded[1] or as_form == recorded[2]
    return raw == recorded[1] or (recorded[2] is not None and as_json == recorded[2])


class RecordedRequest(Pattern):
    """What a recorded route adds to method and path: the host it was recorded on, the
    exact query (VCR.py's comparison) and, with ``match_on`` body, the body.

    These are compared only for requests on the route's own path (``path``; None: any):
    on another path the route's path pattern already says why it does not match, and a
    request is tried against every route until one matches.
    """

    def __init__(
        self,
        opts: MatchOptions,
        *,
        path: str | None,
        origin: tuple[str, str, int] | None,
        origins: set[tuple[str, str, int]],
        query: tuple[tuple[str, str], ...] | None,
        shown_query: str,
        body: BodyKey | None,
    ) -> None:
        self.opts = opts
        self.path = path
        self.origin = origin
        self.origins = origins
        """Every host recorded on the server (shared by its recorded routes): a request
        for one of them must be for this route's; a request that came another way (the
        server's socket, its own base URL) cannot tell, and matches on the rest."""
        self._parts = [i for i, part in enumerate(_ORIGIN_PARTS) if part in opts.match_on]
        self.query = query
        self.shown_query = shown_query
        self.body = body

    def _origin_differs(self, live: _Live) -> bool:
        got = live.origin
        if self.origin is None or got is None or got == self.origin or got not in self.origins:
            return False
        return any(got[i] != self.origin[i] for i in self._parts)

    def difference(self, request: RequestLike) -> list[Mismatch]:
        if self.path is not None and request.rel_path != self.path:
            return []
        live = _live(request)
        out = []
        if self._origin_differs(live):
            assert live.origin is not None and self.origin is not None
            out.append(Mismatch("host", _show_origin(self.origin), _show_origin(live.origin)))
        if self.query is not None and live.query(self.opts) != self.query:
            out.append(Mismatch("query", "?" + self.shown_query, live.shown_query(self.opts)))
        if self.body is not None and not _body_matches(self.body, live, self.opts):
            out.append(Mismatch("body", _show_body(self.body), "a different body"))
        return out

    def closeness(self, request: RequestLike) -> float:
        if self.path is not None and request.rel_path != self.path:
            return 0.0
        return max(0.0, 1.0 - 0.5 * len(self.difference(request)))

    def describe(self) -> str:
        parts = []
        if self.query:
            parts.append("?" + self.shown_query)
        if self.origin is not None and len(self.origins) > 1:
            parts.append("@" + _show_origin(self.origin))
        if self.body is not None:
            parts.append("body=" + _show_body(self.body))
        return " ".join(parts) or "(any query)"


def _show_origin(origin: tuple[str, str, int]) -> str:
    scheme, host, port = origin
    default = {"http": 80, "https": 443}.get(scheme)
    return f"{scheme}://{host}" + ("" if port == default else f":{port}")


# One set of recorded hosts per server, shared by its recorded routes.
_ORIGINS: weakref.WeakKeyDictionary[Any, set[tuple[str, str, int]]] = weakref.WeakKeyDictionary()


def _origins_of(server: MockServer) -> set[tuple[str, str, int]]:
    found = _ORIGINS.get(server)
    if found is None:
        found = _ORIGINS[server] = set()
    return found


# -- roles -------------------------------------------------------------------------------------


class _Roles:
    """Roles for recorded requests: a known profile's first, then the caller's map."""

    def __init__(self, roles: RoleMap | None) -> None:
        self.roles = roles
        self._profiles: dict[tuple[str, str, int], str] | None = None
        self._probes: dict[str, MockServer] = {}

    def _profile_of(self, origin: tuple[str, str, int]) -> str | None:
        if self._profiles is None:
            from harness.exchange.profiles import PROFILES

            self._profiles = {}
            for name, profile in PROFILES.items():
                for value in (profile.base_url, *profile.aliases):
                    url = URL(value)
                    self._profiles.setdefault((url.scheme, url.host or "", url.port or 0), name)
        return self._profiles.get(origin)

    def _probe(self, name: str) -> MockServer:
        # the profile mounted on a throwaway server: its routes say which role a request has
        probe = self._probes.get(name)
        if probe is None:
            from harness.exchange import PROFILES, FakeExchange, mount
            from harness.mock.server import MockServer

            probe = MockServer(PROFILES[name].base_url)
            mount(probe, FakeExchange(0), name)
            self._probes[name] = probe
        return probe

    def role_for(self, interaction: Interaction, rel_path: str) -> str | None:
        name = self._profile_of(interaction.origin)
        if name is not None:
            role = self._profile_role(name, interaction)
            if role is not None:
                return role
        if self.roles is not None:
            return self.roles.role_for(interaction.method, rel_path)
        return None

    def _profile_role(self, name: str, interaction: Interaction) -> str | None:
        probe = self._probe(name)
        url = interaction.url
        rel = probe.owns(url)
        if rel is None:
            return None
        request = Request.build(interaction.method, url, interaction.request_headers, rel_path=rel)
        try:
            return probe.find_route(request).role
        except UnmatchedRequestError:
            return None


def _role_map(roles: RoleMap | Mapping[str, str] | None) -> RoleMap | None:
    if roles is None or isinstance(roles, RoleMap):
        return roles
    return RoleMap(roles, source="roles")


# -- building routes ---------------------------------------------------------------------------


@dataclass
class _RouteSpec:
    method: str
    path: str | re.Pattern[str]
    name: str
    role: str | None
    pattern: RecordedRequest
    responses: list[Response] = field(default_factory=list)


@dataclass
class _Plan:
    """Everything a load will do to a server, built before it does any of it."""

    aliases: list[str]
    origins: set[tuple[str, str, int]]
    routes: list[_RouteSpec]


def _place(file_kind: str, index: int) -> tuple[str, str]:
    if file_kind == "har":
        return f"log.entries[{index}]", "request.url"
    return f"interactions[{index}]", "request.uri"


def _request_secrets(interaction: Interaction) -> tuple[list[str], list[str]]:
    """The fields of a recorded request holding an unredacted secret, and the values."""
    fields: list[str] = []
    values: list[str] = []
    for name, value in interaction.request_headers:
        if is_secret_header(name):
            found = header_secrets(name, value)
            if found:
                fields.append(f"request header {name}")
                values.extend(found)
    for name, value in interaction.url.query.items():
        if is_secret_key(name) and not is_placeholder(value):
            fields.append(f"query parameter {name}")
            values.append(value)
    body = interaction.request_body
    found_body: Found = []
    if isinstance(body, Mapping):
        _, found_body = redact_mapping(body)
    elif body:
        _, found_body = redact_body(body, interaction.request_header("Content-Type"))
    for name, value in found_body:
        fields.append(f"body field {name}")
        values.append(value)
    return fields, values


def _response(interaction: Interaction, secrets: list[str]) -> Response:
    ctype = next((v for k, v in interaction.headers if k.lower() == "content-type"), None)
    body, _ = redact_body(interaction.body, ctype or "")
    body = scrub(body, secrets)
    headers: CIMultiDict[str] = CIMultiDict()
    for name, value in interaction.headers:
        headers.add(name, REDACTED if is_secret_header(name) else scrub_text(value, secrets))
    response = Response(interaction.status, body=body, headers=headers, reason=interaction.reason)
    if ctype is None:
        del response.headers["Content-Type"]  # as recorded: no type the server never sent
    return response


def _secrets(interactions: list[Interaction]) -> tuple[list[str], list[str]]:
    """The fields of the recorded requests that hold an unredacted secret (each named
    once), and the secret values (to clean them out of the answers)."""
    fields: list[str] = []
    values: list[str] = []
    for interaction in interactions:
        found_fields, found_values = _request_secrets(interaction)
        fields.extend(f for f in found_fields if f not in fields)
        values.extend(found_values)
    return fields, values


def _plan(
    server: MockServer,
    file: object,
    file_kind: str,
    interactions: list[Interaction],
    opts: MatchOptions,
    roles: RoleMap | None,
    secret_values: list[str],
) -> _Plan:
    problems = []
    rel_paths: list[str] = []
    for interaction in interactions:
        rel = server.owns_path(interaction.url.path)
        if rel is None:
            place, url_field = _place(file_kind, interaction.index)
            base = server.base_url.path.rstrip("/") or "/"
            problems.append(
                RecordingProblem(
                    interaction.index,
                    f"{place}.{url_field}",
                    messages.recording_outside_base(interaction.url.path, base),
                )
            )
        rel_paths.append(rel or "/")
    if problems:
        raise RecordingError(file, problems)

    shared = _origins_of(server)
    origins = dict.fromkeys(i.origin for i in interactions)  # in the order first recorded
    aliases = []
    base_path = server.base_url.path
    for scheme, host, port in origins:
        url = URL.build(scheme=scheme, host=host, port=port, path=base_path)
        if server.owns(url) is None:
            default = {"http": 80, "https": 443}.get(scheme)
            shown = URL.build(scheme=scheme, host=host, port=None if port == default else port)
            aliases.append(str(shown.with_path(base_path)))

    match = opts.match_on
    role_finder = _Roles(roles)
    groups: dict[tuple[Any, ...], _RouteSpec] = {}
    for interaction, rel in zip(interactions, rel_paths, strict=True):
        pairs = list(interaction.url.query.items())
        query = _query_key(pairs, opts) if "query" in match else None
        ctype = interaction.request_header("Content-Type")
        body = _body_key(interaction.request_body, ctype, opts) if "body" in match else None
        origin = tuple(
            p for p, part in zip(interaction.origin, _ORIGIN_PARTS, strict=True) if part in match
        )
        key = (
            interaction.method if "method" in match else None,
            origin,
            rel if "path" in match else None,
            query,
            body,
        )
        spec = groups.get(key)
        if spec is None:
            method = interaction.method if "method" in match else "*"
            path: str | re.Pattern[str] = "/**"
            if "path" in match:
                path = re.compile(re.escape(rel)) if ("{" in rel or "*" in rel) else rel
            shown_query = _show_query(pairs, opts) if query is not None else ""
            pattern = RecordedRequest(
                opts,
                path=rel if "path" in match else None,
                origin=interaction.origin if origin else None,
                origins=shared,
                query=query,
                shown_query=shown_query,
                body=body,
            )
            name = f"{method} {rel if 'path' in match else '*'}"
            if shown_query:
                name += "?" + shown_query
            role = role_finder.role_for(interaction, rel)
            spec = groups[key] = _RouteSpec(method, path, name, role, pattern)
        spec.responses.append(_response(interaction, secret_values))
    return _Plan(aliases, set(origins), list(groups.values()))


def _apply(server: MockServer, plan: _Plan) -> list[Route]:
    if plan.aliases:
        server.add_aliases(*plan.aliases)
    _origins_of(server).update(plan.origins)
    routes = []
    for spec in plan.routes:
        route = server.route(spec.method, spec.path, name=spec.name, role=spec.role)
        route.pattern = All(route.pattern, spec.pattern)
        route.respond_seq(spec.responses)
        routes.append(route)
    return routes


def _warn_secrets(file: object, fields: list[str]) -> None:
    if not fields:
        return
    # point at the caller's line: the first frame outside the harness
    frame, level = sys._getframe(1), 2
    while frame.f_back is not None and frame.f_globals.get("__name__", "").startswith("harness."):
        frame, level = frame.f_back, level + 1
    warnings.warn(messages.recording_secrets(str(file), fields), HarnessWarning, stacklevel=level)


def _kind(path: object, kind: str) -> str:
    if kind == "auto":
        return "har" if str(path).lower().endswith(".har") else "cassette"
    if kind not in ("cassette", "har"):
        raise MockConfigError("recording", f"kind={kind!r}", "expected 'cassette', 'har' or 'auto'")
    return kind


@dataclass
class _Recording:
    """A recording read and checked, with what every entry point needs to plan routes."""

    path: Any
    kind: str
    interactions: list[Interaction]
    opts: MatchOptions
    roles: RoleMap | None
    secret_fields: list[str]
    secret_values: list[str]

    @classmethod
    def read(
        cls,
        path: Any,
        kind: str,
        match_on: Iterable[str],
        ignore_params: Iterable[str],
        roles: RoleMap | Mapping[str, str] | None,
    ) -> _Recording:
        opts = MatchOptions.build(match_on, ignore_params)
        role_map = _role_map(roles)
        file_kind = _kind(path, kind)
        interactions = read_recording(path, file_kind)
        fields, values = _secrets(interactions)
        return cls(path, file_kind, interactions, opts, role_map, fields, values)

    def plan(self, server: MockServer, interactions: list[Interaction] | None = None) -> Any:
        items = self.interactions if interactions is None else interactions
        return _plan(server, self.path, self.kind, items, self.opts, self.roles, self.secret_values)

    def warn(self) -> None:
        _warn_secrets(self.path, self.secret_fields)


# -- the public entry points -------------------------------------------------------------------


def load_recording(
    server: MockServer,
    path: str | Any,
    kind: str = "auto",
    *,
    match_on: Iterable[str] = DEFAULT_MATCH_ON,
    roles: RoleMap | Mapping[str, str] | None = None,
    ignore_params: Iterable[str] = DEFAULT_IGNORE_PARAMS,
) -> list[Route]:
    """Register every request of a cassette (``kind="cassette"``) or HAR file (``"har"``;
    ``"auto"``: by the file's suffix) on ``server``; returns the new routes, in the order
    their requests were first recorded.

    Raises :class:`~harness.errors.RecordingError` (and changes nothing) when the file is
    not valid; warns (:class:`~harness.errors.HarnessWarning`) when it holds secrets.
    """
    recording = _Recording.read(path, kind, match_on, ignore_params, roles)
    plan = recording.plan(server)
    recording.warn()
    return _apply(server, plan)


def server_from_recording(
    path: str | Any,
    kind: str = "auto",
    *,
    match_on: Iterable[str] = DEFAULT_MATCH_ON,
    roles: RoleMap | Mapping[str, str] | None = None,
    ignore_params: Iterable[str] = DEFAULT_IGNORE_PARAMS,
    server_class: type[MockServer] | None = None,
    **server_options: Any,
) -> MockServer:
    """A new MockServer answering a whole recording: its base URL is the first recorded
    host, every other recorded host is an alias. ``server_options`` go to the server
    (``seed``, ``journal_size``...)."""
    from harness.mock.server import DEFAULT_BASE_URL, MockServer

    recording = _Recording.read(path, kind, match_on, ignore_params, roles)
    interactions = recording.interactions
    base = _show_origin(interactions[0].origin) if interactions else DEFAULT_BASE_URL
    server = (server_class or MockServer)(base, roles=recording.roles, **server_options)
    plan = recording.plan(server)
    recording.warn()
    _apply(server, plan)
    return server


def servers_by_host(
    path: str | Any,
    kind: str = "auto",
    *,
    match_on: Iterable[str] = DEFAULT_MATCH_ON,
    roles: RoleMap | Mapping[str, str] | None = None,
    ignore_params: Iterable[str] = DEFAULT_IGNORE_PARAMS,
    **server_options: Any,
) -> dict[str, MockServer]:
    """One MockServer per recorded host (``{"https://api.binance.com": server, ...}``, in
    the order the hosts were first recorded): to serve each host on its own socket."""
    from harness.mock.server import MockServer

    recording = _Recording.read(path, kind, match_on, ignore_params, roles)
    by_origin: dict[tuple[str, str, int], list[Interaction]] = {}
    for interaction in recording.interactions:
        by_origin.setdefault(interaction.origin, []).append(interaction)
    servers: dict[str, MockServer] = {}
    plans = []
    for origin, items in by_origin.items():
        server = MockServer(_show_origin(origin), roles=recording.roles, **server_options)
        plans.append((server, recording.plan(server, items)))
        servers[_show_origin(origin)] = server
    recording.warn()
    for server, plan in plans:
        _apply(server, plan)
    return servers


def load_marked(
    server: Any,
    markers: Sequence[tuple[Sequence[Any], Mapping[str, Any]]],
    search: Sequence[str | os.PathLike[str]],
) -> str | None:
    """Load the recordings of ``@pytest.mark.chaos_cassette(path, ...)`` markers (args,
    kwargs; closest last) into ``server``: each path is looked up in ``search`` (the test's
    folder, then the project's root) unless absolute; ``.har`` files as HAR. Returns the
    backend a marker asked for (``"socket"``), if any."""
    backend = None
    for args, kwargs in markers:
        if not args:
            raise MockConfigError("chaos_cassette", messages.cassette_marker_needs_path())
        path = Path(args[0])
        if not path.is_absolute():
            path = next((Path(d) / path for d in search if (Path(d) / path).exists()), path)
        options = {k: v for k, v in kwargs.items() if k != "backend" and v is not None}
        load_recording(server, path, "auto", **options)  # .har files as HAR
        backend = kwargs.get("backend", backend)
    return backend
