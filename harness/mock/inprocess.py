"""The in-process backend: aiohttp requests answered by MockServers without sockets.

Built on aioresponses' interception (a patch of ``ClientSession._request``, so sessions
created before the patch, and by third-party code, are intercepted too), with two
changes measured on aiohttp 3.14:

* responses are built directly from the running loop, with no ``unittest.mock`` objects
  (aioresponses 0.7.9 cannot build a ``ClientResponse`` on aiohttp >= 3.14 at all, and
  its Mock-based builder is slower than a real loopback server);
* the request's ``ClientTimeout`` is honoured as a socket would: the server-side work runs
  in its own task (a real exchange keeps processing an order after the client gave up),
  and the client gets ``asyncio.TimeoutError`` (``total``) or ``SocketTimeoutError``
  (``sock_read``) at the moment aiohttp itself would raise it.

Requests to a host no MockServer owns go to the network only when it is loopback or the
live-endpoint guard is off; otherwise they raise ``LiveEndpointBlocked``.
"""

from __future__ import annotations

import asyncio
import ipaddress
import math
from collections.abc import Mapping
from http import HTTPStatus
from math import ceil
from typing import TYPE_CHECKING, Any
from unittest.mock import patch

import aiohttp
from aiohttp import ClientResponse, ClientTimeout, RequestInfo
from aiohttp.client_exceptions import ClientPayloadError, SocketTimeoutError
from aiohttp.helpers import BaseTimerContext, TimeoutHandle, TimerNoop
from aiohttp.http import HttpVersion11
from aiohttp.streams import StreamReader
from aioresponses import aioresponses
from multidict import CIMultiDict, CIMultiDictProxy, MultiDictProxy
from yarl import URL

from harness.errors import LiveEndpointBlocked
from harness.mock.journal import ClientOutcome
from harness.mock.routes import Request, Response
from harness.mock.signals import ConnectionDrop, DribbledBody, TruncatedBody

if TYPE_CHECKING:
    from harness.mock.server import MockServer

__all__ = ["dispatcher", "is_loopback"]

_LOOPBACK_NAMES = frozenset(("localhost", "localhost.localdomain", "ip6-localhost"))


def is_loopback(host: str | None) -> bool:
    """True for 127.0.0.0/8, ::1 and localhost."""
    if not host:
        return False
    host = host.strip("[]").lower()
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _NullProtocol:
    """The protocol a StreamReader needs: never paused, always connected."""

    connected = True
    _reading_paused = False

    def pause_reading(self) -> None:
        pass

    def resume_reading(self, resume_parser: bool = True) -> None:
        pass


class _SentWriter:
    """Stands in for the stream writer of a request that has been fully sent."""

    output_size = 0


_NULL_PROTOCOL = _NullProtocol()
_SENT_WRITER = _SentWriter()
_READ_LIMIT = 2**16


def build_client_response(
    session: aiohttp.ClientSession,
    method: str,
    url: URL,
    request_headers: CIMultiDict[str],
    response: Response,
    loop: asyncio.AbstractEventLoop,
    truncated: TruncatedBody | None = None,
    dribble: DribbledBody | None = None,
    timer: BaseTimerContext | None = None,
) -> ClientResponse:
    """A real ``ClientResponse`` whose body is already in its stream, as after a socket read.

    With ``truncated``, the stream holds only the first bytes and then fails (or ends) the
    way aiohttp's parser does when a server closes mid-body. With ``dribble``, the body
    arrives in pieces, read under ``timer`` (the request's ``total`` timeout, as aiohttp
    reads a body from a socket).
    """
    resp = session._response_class(
        method,
        url,
        writer=None,
        continue100=None,
        timer=TimerNoop(),
        request_info=RequestInfo(url, method, CIMultiDictProxy(request_headers), url),
        traces=[],
        loop=loop,
        session=session,
        stream_writer=_SENT_WRITER,  # type: ignore[arg-type]
    )
    body = b"" if method == "HEAD" else response.body
    # as aiohttp's parser reads a header line: no spaces or tabs around the value
    headers = CIMultiDict((k, v.strip(" \t")) for k, v in response.headers.items())
    if truncated is not None and truncated.framing == "close":
        headers.pop("Content-Length", None)
        headers["Connection"] = "close"
    else:
        headers["Content-Length"] = str(len(response.body))
    resp.version = HttpVersion11
    resp.status = response.status
    reason = response.reason
    if reason is None:
        try:
            reason = HTTPStatus(response.status).phrase
        except ValueError:
            reason = ""
    resp.reason = reason
    resp._headers = CIMultiDictProxy(headers)
    resp._raw_headers = tuple((k.encode(), v.encode()) for k, v in headers.items())
    cookies = headers.getall("Set-Cookie", ())
    if cookies:
        resp._raw_cookie_headers = tuple(cookies)
        session._cookie_jar.update_cookies_from_headers(list(cookies), url)
    content = StreamReader(
        _NULL_PROTOCOL,  # type: ignore[arg-type]
        _READ_LIMIT,
        timer=timer if dribble is not None else None,
        loop=loop,
    )
    if truncated is not None and method != "HEAD":
        body = truncated.body
    if dribble is not None and body:
        _feed_slowly(content, body, dribble, loop)
        resp.content = content
        resp._closed = False
        return resp
    if body:
        content.feed_data(body)
    if truncated is not None and truncated.framing == "content_length" and method != "HEAD":
        content.set_exception(
            ClientPayloadError(
                "Response payload is not completed: <ContentLengthError: 400, message='Not "
                "enough data to satisfy content length header (received "
                f"{truncated.keep} of {len(response.body)} bytes).'>"
            )
        )
    else:
        content.feed_eof()
    resp.content = content
    resp._closed = False
    return resp


def _feed_slowly(
    content: StreamReader, body: bytes, dribble: DribbledBody, loop: asyncio.AbstractEventLoop
) -> None:
    """Feed the body in ``dribble.chunks`` pieces over ``dribble.over_ms``, then the end."""
    pieces, pause = dribble.pieces()
    start = loop.time()

    def feed(n: int) -> None:
        # Each piece schedules the next: timers due at the same instant (a pause of 0, or
        # virtual time) run in no set order, and the end must come after the last piece.
        if n == len(pieces):
            content.feed_eof()
            return
        content.feed_data(pieces[n])
        loop.call_at(start + pause * (n + 1), feed, n + 1)

    feed(0)


async def _encode_body(
    session: aiohttp.ClientSession, kwargs: Mapping[str, Any]
) -> tuple[bytes, str | None]:
    json_value = kwargs.get("json")
    data = kwargs.get("data")
    if json_value is not None:
        if data is not None:
            raise ValueError("data and json parameters can not be used at the same time")
        serialize_bytes = getattr(session, "_json_serialize_bytes", None)
        if serialize_bytes is not None:
            return serialize_bytes(json_value), "application/json"
        return session._json_serialize(json_value).encode(), "application/json"
    if data is None:
        return b"", None
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data), "application/octet-stream"
    if isinstance(data, str):
        return data.encode(), "text/plain; charset=utf-8"
    if isinstance(data, (Mapping, list, tuple)):
        data = aiohttp.FormData(data)
    if isinstance(data, aiohttp.FormData):
        data = data()
    if hasattr(data, "__aiter__") and not isinstance(data, aiohttp.payload.Payload):
        chunks = [bytes(chunk) async for chunk in data]
        return b"".join(chunks), "application/octet-stream"
    payload = aiohttp.payload.get_payload(data)
    return await payload.as_bytes(), payload.content_type


def _deadline(loop: asyncio.AbstractEventLoop, timeout: ClientTimeout) -> tuple[float | None, bool]:
    """When the client gives up, and whether ``sock_read`` (rather than ``total``) decides.

    Mirrors aiohttp: ``total`` is rounded up to a whole loop second when it is at least
    ``ceil_threshold``; ``sock_read`` when it is above it. ``sock_connect`` and
    ``connect`` never fire: an in-process connection is established at once.
    """
    now = loop.time()
    threshold = timeout.ceil_threshold
    total_at = read_at = None
    if timeout.total is not None and timeout.total > 0:
        total_at = now + timeout.total
        if timeout.total >= threshold:
            total_at = ceil(total_at)
    if timeout.sock_read is not None and timeout.sock_read > 0:
        read_at = now + timeout.sock_read
        if timeout.sock_read > threshold:
            read_at = ceil(read_at)
    if read_at is not None and (total_at is None or read_at < total_at):
        return read_at, True
    return total_at, False


class _Interceptor(aioresponses):
    """aioresponses' interception, dispatching to MockServers.

    aioresponses patches ``ClientSession._request`` with an autospec ``Mock`` that
    records every call forever; this subclass patches it with a plain coroutine function
    (no recording, no Mock per request) and keeps aioresponses' start/stop lifecycle and
    its access to the original ``_request`` for loopback passthrough.
    """

    def __init__(self, owner: _Dispatcher) -> None:
        super().__init__()

        async def _request(
            session: aiohttp.ClientSession, method: str, str_or_url: Any, **kwargs: Any
        ) -> ClientResponse:
            __tracebackhide__ = True  # its arguments hold the raw URL (signatures, keys)
            return await owner.dispatch(session, method, str_or_url, kwargs)

        self.patcher = patch("aiohttp.client.ClientSession._request", new=_request)

    async def original(
        self, session: aiohttp.ClientSession, method: str, str_or_url: Any, kwargs: dict[str, Any]
    ) -> ClientResponse:
        return await self.patcher.temp_original(session, method, str_or_url, **kwargs)  # type: ignore[attr-defined]


class _Dispatcher:
    """Process-wide: which MockServers are intercepting, and whether the guard is on."""

    def __init__(self) -> None:
        self.servers: list[MockServer] = []
        self.guards = 0
        self._interceptor: _Interceptor | None = None

    # -- activation (reference counted: several servers, guard and servers together) ----
    def _acquire(self) -> None:
        if self._interceptor is None:
            self._interceptor = _Interceptor(self)
            self._interceptor.start()

    def _release(self) -> None:
        if not self.servers and not self.guards and self._interceptor is not None:
            self._interceptor.stop()
            self._interceptor = None

    def add_server(self, server: MockServer) -> None:
        self._acquire()
        self.servers.append(server)

    def remove_server(self, server: MockServer) -> None:
        if server in self.servers:
            self.servers.remove(server)
        self._release()

    def add_guard(self) -> None:
        self._acquire()
        self.guards += 1

    def remove_guard(self) -> None:
        self.guards = max(0, self.guards - 1)
        self._release()

    @property
    def active(self) -> bool:
        return self._interceptor is not None

    # -- the request path ---------------------------------------------------------------
    def find(self, url: URL) -> tuple[MockServer, str] | None:
        # The newest server wins, so a test's server shadows a session-wide one.
        for server in reversed(self.servers):
            rel = server.owns(url)
            if rel is not None:
                return server, rel
        return None

    async def dispatch(
        self,
        session: aiohttp.ClientSession,
        method: str,
        str_or_url: Any,
        kwargs: dict[str, Any],
    ) -> ClientResponse:
        __tracebackhide__ = True
        if session.closed:
            raise RuntimeError("Session is closed")
        method = method.upper()
        url = session._build_url(str_or_url)
        params = kwargs.get("params")
        if params:
            url = url.extend_query(params)
        found = self.find(url)
        if found is None:
            if self.guards and not is_loopback(url.host):
                raise LiveEndpointBlocked(url.host or str(url), url.port, via="aiohttp")
            assert self._interceptor is not None
            return await self._interceptor.original(session, method, str_or_url, kwargs)
        server, rel_path = found
        loop = asyncio.get_running_loop()
        headers = session._prepare_headers(kwargs.get("headers"))
        body, content_type = await _encode_body(session, kwargs)
        if content_type and "Content-Type" not in headers:
            headers["Content-Type"] = content_type
        when, by_read = _deadline(loop, _client_timeout(session, kwargs))
        # aiohttp re-sends an idempotent request once when the connection closes before
        # any response byte (ClientSession._retry_connection); so does this backend.
        retry = getattr(session, "_retry_connection", True) and method in IDEMPOTENT_METHODS
        attempt = 1
        while True:
            request = Request(
                method=method,
                url=url,
                path=url.path,
                query=MultiDictProxy(url.query),  # type: ignore[arg-type]
                headers=CIMultiDictProxy(headers),
                body=body,
                index=server.next_index(),
                attempt=attempt,
                rel_path=rel_path,
            )
            truncated: TruncatedBody | None = None
            dribble: DribbledBody | None = None
            try:
                response = await self._serve(server, request, when, by_read, loop)
            except ConnectionDrop as drop:
                resend = retry and attempt == 1
                server.note_client_outcome(request.index, drop.client_outcome(resent=resend))
                if resend:
                    attempt = 2
                    continue
                raise drop.client_error() from None
            except TruncatedBody as cut:
                truncated = cut
                response = cut.response
            except DribbledBody as slow:
                dribble = slow
                response = slow.response
            break
        timer, handle = None, None
        if dribble is not None:
            total_at = when if not by_read else None
            timer, handle = _body_timer(loop, total_at, server, request.index)
        resp = build_client_response(
            session, method, url, headers, response, loop, truncated, dribble, timer
        )
        if handle is not None:
            resp.content.on_eof(handle.cancel)
        raise_for_status = kwargs.get("raise_for_status")
        if raise_for_status is None:
            raise_for_status = getattr(session, "_raise_for_status", False)
        if callable(raise_for_status):
            await raise_for_status(resp)
        elif raise_for_status:
            resp.raise_for_status()
        return resp

    async def _serve(
        self,
        server: MockServer,
        request: Request,
        when: float | None,
        by_read: bool,
        loop: asyncio.AbstractEventLoop,
    ) -> Response:
        __tracebackhide__ = True
        # The server's work is a task of its own: when the client times out or is
        # cancelled, the exchange goes on (an order still gets placed), as over a socket.
        task = loop.create_task(server.handle(request))
        server.track(task)
        if when is None:
            return await asyncio.shield(task)
        try:
            async with asyncio.timeout_at(when) as cm:
                return await asyncio.shield(task)
        except TimeoutError:
            if not cm.expired():
                raise
            if by_read:
                server.note_client_outcome(
                    request.index, ClientOutcome("timeout", "SocketTimeoutError (sock_read)")
                )
                raise SocketTimeoutError("Timeout on reading data from socket") from None
            server.note_client_outcome(
                request.index, ClientOutcome("timeout", "TimeoutError (total)")
            )
            raise TimeoutError() from None


def _body_timer(
    loop: asyncio.AbstractEventLoop, total_at: float | None, server: MockServer, index: int
) -> tuple[BaseTimerContext | None, asyncio.TimerHandle | None]:
    """aiohttp's own timer for reading a dribbled body until the request's ``total``
    deadline (``total_at``, loop time), and its handle: the read fails with
    ``TimeoutError`` then, as from a socket. (None, None) without a total deadline."""
    if total_at is None:
        return None, None
    handle = TimeoutHandle(loop, max(total_at - loop.time(), 1e-9), ceil_threshold=math.inf)
    handle.register(
        server.note_client_outcome, index, ClientOutcome("timeout", "TimeoutError (total)")
    )
    started = handle.start()
    return handle.timer(), started


IDEMPOTENT_METHODS = frozenset(("GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"))


def _client_timeout(session: aiohttp.ClientSession, kwargs: Mapping[str, Any]) -> ClientTimeout:
    timeout = kwargs.get("timeout", session.timeout)
    if timeout is None:
        return ClientTimeout(total=None)
    if not isinstance(timeout, ClientTimeout):
        return ClientTimeout(total=timeout)
    return timeout


dispatcher = _Dispatcher()
