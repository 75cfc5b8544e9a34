"""MockServer: one set of routes standing in for an exchange's API.

The server owns routes, the journal and the request pipeline; backends (in-process,
and sockets later) only carry requests to :meth:`MockServer.handle` and answers back.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, Protocol

from yarl import URL

from harness.clock import Anchor, refuse_virtual
from harness.errors import MockConfigError, UnmatchedRequestError, UsageError, messages
from harness.mock.dialect import Dialect
from harness.mock.journal import ClientOutcome, Journal, JournalEntry, WireError
from harness.mock.routes import Request, Response, Route
from harness.mock.signals import WireSignal
from harness.redaction import redact_query
from harness.roles import RoleMap

__all__ = ["DEFAULT_BASE_URL", "ChaosHooks", "MockServer"]

DEFAULT_BASE_URL = "https://api.exchange.test"
"""The base URL of a MockServer (and of the ``mock_server`` fixture) when none is given."""


class ChaosHooks(Protocol):
    """What the server and its feeds ask of a chaos engine (harness.chaos.Chaos implements it)."""

    async def before(
        self, request: Request, route: Route, entry: JournalEntry
    ) -> Response | None: ...

    async def after(
        self, request: Request, route: Route, response: Response, entry: JournalEntry
    ) -> Response: ...

    async def messages(
        self,
        request: Request,
        route: Route,
        entry: JournalEntry,
        message: Any,
        number: int,
        numbered: Callable[[Any], bool] | None = None,
    ) -> list[Any]: ...


class MockServer:
    """A route-based mock of an exchange API.

    >>> server = MockServer("https://api.exchange.test")
    >>> bars = server.get("/api/v3/klines", params={"symbol": "BTCUSDT"}).respond(json=[])
    >>> async with server.intercept():     # every aiohttp.ClientSession is served by the routes
    ...     ...
    """

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        *,
        seed: int | None = None,
        journal_size: int = 10_000,
        assert_all_called: bool = False,
        aliases: Iterable[str] = (),
        dialect: Dialect | None = None,
        roles: RoleMap | None = None,
    ) -> None:
        self.base_url = _base_url(base_url, "base_url")
        self._base_path = self.base_url.path.rstrip("/")
        self.aliases = [_base_url(alias, "aliases") for alias in aliases]
        """More base URLs this server answers in-process (an exchange's other hosts, such as
        Binance's ``fapi`` and ``dapi``); they share the base URL's path."""
        for alias in self.aliases:
            self._check_alias(alias)
        self.dialect = dialect or Dialect()
        """How this API says "no" (error bodies, rate-limit headers): faults answer in it."""
        self.roles = roles
        """Roles for routes that declare none (a project's ``[tool.chaos-harness.roles]``)."""
        self.seed = seed
        self.assert_all_called = assert_all_called
        self.routes: list[Route] = []
        self.journal = Journal(journal_size)
        self.unmatched: list[UnmatchedRequestError] = []
        self.misconfigured: list[MockConfigError] = []
        """Answers that could not be sent (a header with CR or LF...): each request got a
        500 on either backend, and :meth:`verify` fails the test."""
        self._journal_size = journal_size
        self._next_index = 0
        self._clock = Anchor()
        self._tasks: set[asyncio.Task[Any]] = set()
        self.chaos: ChaosHooks | None = None
        self.ws_routes: list[Any] = []
        self._served: list[str] = []
        self.profile: Any = None
        """The exchange profile mounted on this server, if any (``harness.exchange.mount``):
        its ``exchange`` is the stateful FakeExchange behind the routes."""

    # -- identity -------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """The base URL clients should use (no trailing slash): the socket URL while the
        server is served on a socket, its own base URL otherwise (in-process)."""
        if self._served:
            return self._served[-1]
        return str(self.base_url).rstrip("/")

    def _check_alias(self, alias: URL) -> None:
        if alias.path.rstrip("/") != self._base_path:
            raise MockConfigError(
                "MockServer", f"aliases: {str(alias)!r}", messages.alias_path(self._base_path)
            )

    def add_aliases(self, *urls: str) -> None:
        """Answer these base URLs too (in-process); ones that are already answered are skipped."""
        for value in urls:
            alias = _base_url(value, "aliases")
            if self.owns(alias) is None:
                self._check_alias(alias)
                self.aliases.append(alias)

    @property
    def address(self) -> str:
        """``host:port`` of the socket the server is served on (for a proxy's upstream)."""
        if not self._served:
            raise UsageError(messages.not_served(str(self.base_url)))
        url = URL(self._served[-1])
        return f"{url.host}:{url.port}"

    def owns(self, url: URL) -> str | None:
        """The path relative to the base URL when ``url`` belongs to this server."""
        origin = (url.scheme, url.host, url.port)
        for base in (self.base_url, *self.aliases):
            if origin == (base.scheme, base.host, base.port):
                return self.owns_path(url.path)
        return None

    def owns_path(self, path: str) -> str | None:
        """The path relative to the base URL's path, or None when it lies outside it."""
        if not self._base_path:
            return path
        if path == self._base_path:
            return "/"
        if path.startswith(self._base_path + "/"):
            return path[len(self._base_path) :]
        return None

    # -- routes ---------------------------------------------------------------------------
    def route(
        self,
        method: str,
        path: str | re.Pattern[str],
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        json: Any = None,
        name: str | None = None,
        role: str | None = None,
    ) -> Route:
        """Register a route; the first registered route that matches answers. ``role`` says
        what the endpoint is for (``bars``, ``order_place``...)."""
        route = Route(
            method,
            path,
            params=params,
            headers=headers,
            json=json,
            name=name,
            role=role,
            max_calls=self._journal_size,
        )
        self.routes.append(route)
        return route

    def get(self, path: str | re.Pattern[str], **kw: Any) -> Route:
        return self.route("GET", path, **kw)

    def post(self, path: str | re.Pattern[str], **kw: Any) -> Route:
        return self.route("POST", path, **kw)

    def put(self, path: str | re.Pattern[str], **kw: Any) -> Route:
        return self.route("PUT", path, **kw)

    def patch(self, path: str | re.Pattern[str], **kw: Any) -> Route:
        return self.route("PATCH", path, **kw)

    def delete(self, path: str | re.Pattern[str], **kw: Any) -> Route:
        return self.route("DELETE", path, **kw)

    def head(self, path: str | re.Pattern[str], **kw: Any) -> Route:
        return self.route("HEAD", path, **kw)

    def options(self, path: str | re.Pattern[str], **kw: Any) -> Route:
        return self.route("OPTIONS", path, **kw)

    # -- the pipeline ---------------------------------------------------------------------
    def now(self) -> float:
        """Seconds since the server was created (or last reset), on the harness clock
        (:mod:`harness.clock`: virtual time when the test runs on it)."""
        return self._clock.elapsed()

    @property
    def t0(self) -> float:
        """The reading of :func:`harness.clock.monotonic` at which :meth:`now` is 0."""
        return self._clock.t0

    def next_index(self) -> int:
        index = self._next_index
        self._next_index += 1
        return index

    def find_route(self, request: Request) -> Route:
        """The first route that matches; sets the request's path parameters and role."""
        __tracebackhide__ = True
        for route in self.routes:
            captured = route.match(request)
            if captured is not None:
                request.path_params = captured
                request.role = route.role
                if request.role is None and self.roles is not None:
                    request.role = self.roles.role_for(request.method, request.rel_path)
                return route
        misses = sorted((route.miss(request) for route in self.routes), key=lambda pair: -pair[0])
        url = str(request.url.with_query(redact_query(request.query)))  # no secrets in errors
        error = UnmatchedRequestError(request.method, url, [m for _, m in misses])
        self.unmatched.append(error)
        raise error

    async def handle(self, request: Request) -> Response:
        """Match, run chaos and the responder, journal. Raises what the client should see.

        Wire faults (a dropped connection, a truncated body) leave as ``WireSignal``s for
        the backend to carry out.
        """
        __tracebackhide__ = True
        entry = JournalEntry.from_request(request, self.now(), None)
        self.journal.append(entry)
        try:
            route = self.find_route(request)
        except UnmatchedRequestError:
            entry.error = WireError("unmatched")
            raise
        entry.route = route.name
        entry.role = request.role
        chaos = self.chaos
        response: Response | None = None
        try:
            if chaos is not None:
                response = await chaos.before(request, route, entry)
            if response is None:
                response = await route.responder(request)
                entry.set_response(response)
                entry.responder_status = response.status
                if chaos is not None:
                    response = await chaos.after(request, route, response, entry)
        except asyncio.CancelledError:
            entry.error = WireError("cancelled", after_response=entry.responder_status is not None)
            route.record(request, None)
            raise
        except WireSignal as signal:
            carried = getattr(signal, "response", None)  # a cut or dribbled body
            problem = carried.problem() if isinstance(carried, Response) else None
            if problem is not None:
                return self._refuse(request, route, entry, problem)
            kept = signal.journal(entry)
            if kept is not None:
                entry.duration = self.now() - entry.t
            route.record(request, kept)
            raise
        except MockConfigError as exc:  # a Response built at request time, refused
            return self._refuse(request, route, entry, str(exc))
        except BaseException as exc:
            entry.error = WireError("raised", detail=f"{type(exc).__name__}: {exc}".rstrip(": "))
            route.record(request, None)
            raise
        problem = response.problem()  # its headers may have been changed after it was built
        if problem is not None:
            return self._refuse(request, route, entry, problem)
        entry.set_response(response)
        entry.duration = self.now() - entry.t
        route.record(request, response)
        return response

    def _refuse(
        self, request: Request, route: Route, entry: JournalEntry, problem: str
    ) -> Response:
        """Answer a 500 in the API's error format instead of an answer that cannot be sent
        (a header with CR or LF...), the same on both backends; the test fails at teardown."""
        error = MockConfigError(f"route {route.name}", problem)
        self.misconfigured.append(error)
        message = messages.invalid_answer(route.name, problem)
        try:
            answer = self.dialect.error(500, "responder_error", message)
        except MockConfigError:  # the dialect's own error headers are the problem
            answer = Dialect().error(500, "responder_error", message)
        entry.error = WireError("raised", detail=f"MockConfigError: {error}")
        entry.set_response(answer)
        entry.duration = self.now() - entry.t
        route.record(request, None)
        return answer

    def attach_chaos(self, chaos: ChaosHooks | None) -> None:
        """Put a chaos engine between the routes and their responders (None removes it)."""
        self.chaos = chaos

    def note_client_outcome(self, index: int, outcome: ClientOutcome) -> None:
        """Record what the client saw for request ``index`` (a timeout, a dropped connection)."""
        for entry in reversed(self.journal):
            if entry.index == index:
                entry.client_outcome = outcome
                return

    # -- lifecycle ------------------------------------------------------------------------
    def track(self, task: asyncio.Task[Any]) -> None:
        """Keep a server-side task so it can be cancelled when the server stops."""
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(_settle)

    @property
    def in_flight(self) -> int:
        """Server-side work still running (a hung responder, a long delay, an order the
        exchange is still placing after its client gave up)."""
        return sum(1 for task in self._tasks if not task.done())

    def cancel_tasks(self) -> int:
        """Cancel server-side work still running (a hung responder, a long delay)."""
        cancelled = 0
        for task in list(self._tasks):
            if not task.done() and not task.get_loop().is_closed():
                task.cancel()
                cancelled += 1
        self._tasks.clear()
        return cancelled

    @contextlib.contextmanager
    def _interception(self) -> Iterator[MockServer]:
        from harness.mock.inprocess import dispatcher

        dispatcher.add_server(self)
        try:
            yield self
        finally:
            dispatcher.remove_server(self)
            self.cancel_tasks()

    def intercept(self) -> _InterceptContext:
        """Serve every aiohttp ``ClientSession`` request to this server's URL in-process.

        Usable as ``with`` or ``async with``. Sessions created before, inside, or by
        third-party code are all intercepted.
        """
        return _InterceptContext(self)

    def serve(
        self, host: str = "127.0.0.1", port: int = 0
    ) -> contextlib.AbstractAsyncContextManager[str]:
        """Serve the routes and faults on a real socket (127.0.0.1, a free port) in the
        running loop: ``async with server.serve() as url: ...``. Refused on virtual time
        (:mod:`harness.clock`): socket I/O cannot be fast-forwarded."""
        from harness.mock.socket import serve

        refuse_virtual("MockServer.serve()", messages.real_socket_io())
        return serve(self, host, port)

    def serve_in_thread(self, host: str = "127.0.0.1") -> contextlib.AbstractContextManager[str]:
        """Serve on a real socket from a background thread (for synchronous clients and
        tests): ``with server.serve_in_thread() as url: requests.get(url + ...)``. Refused
        on virtual time: the thread keeps real time."""
        from harness.mock.socket import serve_in_thread

        refuse_virtual("MockServer.serve_in_thread()", messages.real_socket_io())
        return serve_in_thread(self, host)

    def websocket(
        self,
        path: str,
        *,
        feed: Any = None,
        script: Any = None,
        interval_s: float = 0.02,
        heartbeat_s: float | None = 1.0,
        role: str = "stream",
    ) -> Any:
        """Register a WebSocket feed (served by the socket backend): the messages of a
        ``feed`` (an exchange profile's stream, such as ``GenericFeed(exchange)``) or of
        ``script``, a list sent in order."""
        from harness.mock.websocket import WebSocketRoute

        route = WebSocketRoute(
            path,
            feed=feed,
            script=script,
            interval_s=interval_s,
            heartbeat_s=heartbeat_s,
            role=role,
        )
        self.ws_routes.append(route)
        return route

    def websocket_route(self, path: str) -> Any:
        """The WebSocket feed registered for ``path``, if any."""
        rel = self.owns_path(path)
        for route in self.ws_routes:
            if rel is not None and route.matches(rel):
                return route
        return None

    def reset(self) -> None:
        """Forget calls and the journal; keep the routes."""
        for route in self.routes:
            route.reset()
        self.journal.clear()
        self.unmatched.clear()
        self.misconfigured.clear()
        self._next_index = 0
        self._clock.restart()

    def clear(self) -> None:
        """Remove every route and forget everything."""
        self.reset()
        self.routes.clear()

    def uncalled_routes(self) -> list[Route]:
        return [r for r in self.routes if not r.called]

    @contextlib.contextmanager
    def expect_unmatched(self, count: int | None = None) -> Iterator[list[UnmatchedRequestError]]:
        """Acknowledge the unmatched requests made inside the block (a test that asserts a
        missing route): they are handed to the block's list and not failed again at
        teardown. Raises when none came (or not ``count`` of them)::

            with mock_server.expect_unmatched() as missed:
                with pytest.raises(UnmatchedRequestError):
                    await session.get(mock_server.url + "/v1/nope")
            assert missed[0].url.endswith("/v1/nope")
        """
        __tracebackhide__ = True
        before = len(self.unmatched)
        missed: list[UnmatchedRequestError] = []
        yield missed
        missed.extend(self.unmatched[before:])
        del self.unmatched[before:]
        if (count is None and not missed) or (count is not None and len(missed) != count):
            raise AssertionError(messages.expected_unmatched(count, len(missed)))

    def verify_answers(self) -> None:
        """Raise when a request went unmatched or got a 500 for an answer that could not be
        sent (what :meth:`verify` checks of every request, without the unused routes)."""
        __tracebackhide__ = True
        if self.unmatched:
            raise UnmatchedRequestError.at_teardown(self.unmatched)
        if self.misconfigured:
            first = self.misconfigured[0]
            raise MockConfigError(
                "MockServer", messages.invalid_answers(len(self.misconfigured), str(first))
            )

    def verify(self) -> None:
        """Raise when a request went unmatched, got a 500 for an answer that could not be
        sent, or (with assert_all_called) a route was unused."""
        __tracebackhide__ = True
        self.verify_answers()
        if self.assert_all_called:
            uncalled = self.uncalled_routes()
            if uncalled:
                raise AssertionError(messages.not_called([r.describe() for r in uncalled]))

    def __repr__(self) -> str:
        return f"<MockServer {self.url} routes={len(self.routes)}>"

    # -- recordings (harness.recordings) --------------------------------------------------
    @classmethod
    def from_cassette(cls, path: Any, **options: Any) -> MockServer:
        """A server answering a VCR.py cassette (YAML or JSON): its base URL is the first
        recorded host, the others are aliases. ``options``: ``match_on`` (VCR.py's
        matcher names; default method, scheme, host, port, path, query), ``roles``,
        ``ignore_params``, and MockServer arguments (``seed``...)."""
        from harness.recordings import server_from_recording

        return server_from_recording(path, "cassette", server_class=cls, **options)

    def load_cassette(self, path: Any, **options: Any) -> list[Route]:
        """Add a VCR.py cassette's requests as routes (recorded answers in order, then the
        last repeats); returns them. Options as :meth:`from_cassette`."""
        from harness.recordings import load_recording

        return load_recording(self, path, "cassette", **options)

    @classmethod
    def from_har(cls, path: Any, **options: Any) -> MockServer:
        """A server answering a HAR 1.2 file; as :meth:`from_cassette`."""
        from harness.recordings import server_from_recording

        return server_from_recording(path, "har", server_class=cls, **options)

    def load_har(self, path: Any, **options: Any) -> list[Route]:
        """Add a HAR 1.2 file's requests as routes; as :meth:`load_cassette`."""
        from harness.recordings import load_recording

        return load_recording(self, path, "har", **options)


def _base_url(value: str, argument: str) -> URL:
    try:
        url = URL(value)
    except (TypeError, ValueError) as exc:
        raise MockConfigError("MockServer", f"{argument}={value!r}: {exc}") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise MockConfigError(
            "MockServer",
            f"{argument}={value!r}",
            "expected an absolute http(s) URL such as 'https://api.exchange.test'",
        )
    return url.with_query(None).with_fragment(None)


def _settle(task: asyncio.Task[Any]) -> None:
    # The client may have stopped waiting (timeout): the outcome stays in the journal,
    # and asyncio must not report an exception nobody retrieved.
    if not task.cancelled():
        task.exception()


class _InterceptContext:
    """``with server.intercept():`` and ``async with server.intercept():`` alike."""

    def __init__(self, server: MockServer) -> None:
        self._server = server
        self._cm: contextlib.AbstractContextManager[MockServer] | None = None

    def __enter__(self) -> MockServer:
        self._cm = self._server._interception()
        return self._cm.__enter__()

    def __exit__(self, *exc: object) -> None:
        assert self._cm is not None
        self._cm.__exit__(*exc)  # type: ignore[arg-type]

    async def __aenter__(self) -> MockServer:
        return self.__enter__()

    async def __aexit__(self, *exc: object) -> None:
        self.__exit__(*exc)
