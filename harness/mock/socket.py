"""The socket backend: the same routes and faults, served by aiohttp.web on 127.0.0.1.

Any client reaches it (aiohttp, httpx, requests, websockets), and wire faults happen on the
wire: ``reset`` is a real TCP RST (SO_LINGER 0), ``disconnect`` closes without a response,
``truncate`` sends part of the body then closes, ``hang`` never answers, ``dribble`` sends
the body in chunks over time.

``async with server.serve() as url`` serves in the running loop; ``server.serve_in_thread()``
serves from a background thread for synchronous tests and clients.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any

from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy, MultiDictProxy
from yarl import URL

from harness.errors import UnmatchedRequestError, UsageError, messages
from harness.mock.routes import Request, Response
from harness.mock.signals import ConnectionDrop, DribbledBody, TruncatedBody
from harness.redaction import redact_query

if TYPE_CHECKING:
    from harness.mock.server import MockServer

__all__ = ["SocketBackend", "serve", "serve_in_thread"]

_SHUTDOWN_TIMEOUT = 0.2


class SocketBackend:
    """One aiohttp.web app in front of one MockServer."""

    def __init__(self, server: MockServer) -> None:
        self.server = server
        self._handlers: set[asyncio.Task[Any]] = set()
        self._websockets: set[web.WebSocketResponse] = set()
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        app.on_shutdown.append(self._on_shutdown)
        self.runner = web.AppRunner(
            app, access_log=None, shutdown_timeout=_SHUTDOWN_TIMEOUT, handle_signals=False
        )
        await self.runner.setup()
        site = web.TCPSite(self.runner, host, port)
        await site.start()
        bound = self.runner.addresses[0]
        base_path = self.server.base_url.path.rstrip("/")
        self.url = f"http://{host}:{bound[1]}{base_path}"
        return self.url

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None

    async def _on_shutdown(self, app: web.Application) -> None:
        for ws in list(self._websockets):
            with contextlib.suppress(Exception):
                await ws.close(code=1001, message=b"server shutdown")
        for task in list(self._handlers):
            if task is not asyncio.current_task():
                task.cancel()

    # -- one request -----------------------------------------------------------------------
    async def _handle(self, web_request: web.Request) -> web.StreamResponse:
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
        try:
            ws_route = self.server.websocket_route(web_request.path)
            if (
                ws_route is not None
                and web_request.headers.get("Upgrade", "").lower() == "websocket"
            ):
                return await self._websocket(web_request, ws_route)
            return await self._http(web_request)
        finally:
            if task is not None:
                self._handlers.discard(task)

    def _request(self, web_request: web.Request, body: bytes) -> Request:
        return Request(
            method=web_request.method,
            url=URL(str(web_request.url)),
            path=web_request.path,
            query=MultiDictProxy(web_request.query),  # type: ignore[arg-type]
            headers=CIMultiDictProxy(web_request.headers),  # type: ignore[arg-type]
            body=body,
            index=self.server.next_index(),
            rel_path=self.server.owns_path(web_request.path) or web_request.path,
        )

    async def _http(self, web_request: web.Request) -> web.StreamResponse:
        body = await web_request.read()
        request = self._request(web_request, body)
        transport = web_request.transport
        try:
            response = await self.server.handle(request)
        except UnmatchedRequestError:
            # An error in the API's own format that clients raise (never data, never a
            # network error), secrets redacted; MockServer.verify fails the test at teardown.
            target = request.url.with_query(redact_query(request.query)).path_qs
            message = messages.unmatched_answer(request.method, target)
            answer = self.server.dialect.error(404, "unmatched", message)
            return _web_response(answer, web_request.method)
        except ConnectionDrop as drop:
            if transport is not None:
                if drop.mode == "reset":
                    reset_connection(transport)
                else:
                    transport.close()
            raise _Dropped() from None
        except TruncatedBody as cut:
            if transport is not None:
                transport.write(_head(cut.response, framing=cut.framing) + cut.body)
                transport.close()
            raise _Dropped() from None
        except DribbledBody as slow:
            return await self._dribble(web_request, slow)
        except Exception as exc:  # a responder raised: the client sees a 500, as from any server
            return web.json_response(
                {"error": {"code": "responder_error", "message": messages.responder_raised(exc)}},
                status=500,
            )
        return _web_response(response, web_request.method)

    async def _dribble(self, web_request: web.Request, slow: DribbledBody) -> web.StreamResponse:
        response = slow.response
        out = web.StreamResponse(status=response.status, reason=response.reason)
        for key, value in response.headers.items():
            out.headers.add(key, value)
        out.content_length = len(response.body)
        await out.prepare(web_request)
        pieces, pause = slow.pieces()
        for piece in pieces:
            await out.write(piece)
            await asyncio.sleep(pause)
        await out.write_eof()
        return out

    async def _websocket(self, web_request: web.Request, route: Any) -> web.StreamResponse:
        ws = web.WebSocketResponse(heartbeat=None, autoping=True)
        await ws.prepare(web_request)
        self._websockets.add(ws)
        request = self._request(web_request, b"")
        try:
            await route.serve(ws, request, self.server, web_request.transport)
        finally:
            self._websockets.discard(ws)
            if not ws.closed:
                with contextlib.suppress(Exception):
                    await ws.close()
        return ws


def reset_connection(transport: asyncio.BaseTransport) -> None:
    """Close with a TCP RST (SO_LINGER 0), so the peer sees "connection reset by peer"."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()  # type: ignore[attr-defined]


class _Dropped(web.HTTPException):
    """The connection was dropped on purpose: aiohttp must not write a response."""


def _head(response: Response, framing: str) -> bytes:
    reason = response.reason or web.Response(status=response.status).reason or ""
    lines = [f"HTTP/1.1 {response.status} {reason}"]
    for key, value in response.headers.items():
        if key.lower() not in ("content-length", "connection", "transfer-encoding"):
            lines.append(f"{key}: {value}")
    if framing == "close":
        lines.append("Connection: close")
    else:
        lines.append(f"Content-Length: {len(response.body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()  # UTF-8, as aiohttp writes headers


def _web_response(response: Response, method: str) -> web.Response:
    headers = CIMultiDict(
        (k, v) for k, v in response.headers.items() if k.lower() != "content-length"
    )
    return web.Response(
        status=response.status,
        reason=response.reason,
        body=response.body if method != "HEAD" else None,
        headers=headers,
    )


@contextlib.asynccontextmanager
async def serve(server: MockServer, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[str]:
    """Serve ``server`` on a free loopback port in the running loop; yields the base URL."""
    backend = SocketBackend(server)
    url = await backend.start(host, port)
    server._served.append(url)
    try:
        yield url
    finally:
        server._served.remove(url)
        await backend.stop()
        server.cancel_tasks()


class ThreadedServe:
    """A MockServer served from a background thread with its own event loop."""

    def __init__(self, server: MockServer, host: str = "127.0.0.1") -> None:
        self.server = server
        self.host = host
        self.url = ""
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._run, name=f"mock-server-{id(server):x}", daemon=True
        )
        self._ready = threading.Event()
        self._backend: SocketBackend | None = None
        self._error: BaseException | None = None

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)

        async def start() -> None:
            self._backend = SocketBackend(self.server)
            self.url = await self._backend.start(self.host)

        try:
            self._loop.run_until_complete(start())
        except BaseException as exc:
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        self._loop.run_forever()

    def start(self) -> str:
        self._thread.start()
        self._ready.wait(30)
        if self._error is not None or not self.url:
            raise UsageError(messages.thread_did_not_start(self._error))
        return self.url

    def stop(self) -> None:
        if not self._thread.is_alive():
            return

        async def shutdown() -> None:
            if self._backend is not None:
                await self._backend.stop()
            self.server.cancel_tasks()

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(30)
        self._loop.close()


@contextlib.contextmanager
def serve_in_thread(server: MockServer, host: str = "127.0.0.1") -> Iterator[str]:
    """Serve ``server`` on a free loopback port from a background thread; yields the URL."""
    threaded = ThreadedServe(server, host)
    url = threaded.start()
    server._served.append(url)
    try:
        yield url
    finally:
        server._served.remove(url)
        threaded.stop()
