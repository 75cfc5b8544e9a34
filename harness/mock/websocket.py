"""WebSocket feeds, served by the socket backend, with chaos on every message.

``server.websocket(path, feed=...)`` registers a feed. The wire format (how a client
subscribes, what a message looks like, how messages are numbered) belongs to a
:class:`Feed`: the exchange profiles provide theirs (``GenericFeed``, ``BinanceFeed`` in
``harness.exchange``), and ``script=[...]`` sends a fixed list of messages in order.
This module only runs connections: subscriptions, pacing, heartbeats, the journal, and
message faults (``ws_*``): drop, duplicate, reorder, delay, gap, corrupt, silence,
disconnect. WebSockets need the socket backend (aiohttp cannot intercept ``ws_connect``
in-process).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from aiohttp import WSMsgType, web

from harness.errors import MockConfigError
from harness.mock.journal import JournalEntry
from harness.mock.patterns import PathPattern
from harness.mock.routes import Request, Route
from harness.mock.signals import Gap, WsClose, WsSilence
from harness.mock.socket import reset_connection

if TYPE_CHECKING:
    from harness.mock.server import MockServer

__all__ = ["Feed", "FeedState", "ScriptFeed", "WebSocketRoute"]


class FeedState:
    """One connection's subscriptions and sequence counters."""

    def __init__(self) -> None:
        self.channels: list[str] = []
        self.seq: dict[str, int] = {}

    def next_seq(self, channel: str) -> int:
        self.seq[channel] = self.seq.get(channel, 0) + 1
        return self.seq[channel]


class Feed(Protocol):
    """A stream's wire format and the source of its messages."""

    def channels_from_path(self, rest: str) -> list[str]:
        """Channels a client subscribes to by the URL (``/ws/btcusdt@depth``): ``rest`` is
        the part after the feed's path; [] when the format has no such streams."""
        ...

    def control(self, body: Any, state: FeedState) -> Any:
        """Handle a message from the client (subscribe, unsubscribe); return the reply."""
        ...

    def message(self, channel: str, state: FeedState) -> Any:
        """The next message of ``channel``."""
        ...

    def heartbeat(self) -> Any | None:
        """A keepalive message, or None when the format has none."""
        ...

    def numbered(self, message: Any) -> bool:
        """Whether this message carries a sequence number (a gap can skip it)."""
        ...

    def skip(self, message: Any, skip: int, state: FeedState) -> Any:
        """Renumber ``message`` and the feed's counters as if ``skip`` updates were lost."""
        ...


class ScriptFeed:
    """A fixed list of messages, sent in order, with no subscription."""

    def __init__(self, script: Sequence[Any]) -> None:
        self.script = list(script)

    def channels_from_path(self, rest: str) -> list[str]:
        return []

    def control(self, body: Any, state: FeedState) -> Any:
        return {"error": "this feed takes no requests"}

    def message(self, channel: str, state: FeedState) -> Any:  # pragma: no cover - unused
        raise NotImplementedError

    def heartbeat(self) -> Any | None:
        return None

    def numbered(self, message: Any) -> bool:
        return False

    def skip(self, message: Any, skip: int, state: FeedState) -> Any:
        return message


class WebSocketRoute:
    """A WebSocket endpoint of a MockServer and the feed it serves."""

    def __init__(
        self,
        path: str,
        *,
        feed: Feed | None = None,
        script: Sequence[Any] | None = None,
        interval_s: float = 0.02,
        heartbeat_s: float | None = 1.0,
        role: str = "stream",
    ) -> None:
        if (feed is None) == (script is None):
            raise MockConfigError(
                "websocket",
                "give exactly one message source",
                "feed= (an exchange profile's feed, e.g. GenericFeed(exchange)) or script=[...]",
            )
        if interval_s <= 0:
            raise MockConfigError("websocket", f"interval_s={interval_s} must be > 0")
        self.path = path
        self.pattern = PathPattern(path)
        self.script = list(script) if script is not None else None
        self.feed: Feed = feed if feed is not None else ScriptFeed(self.script or [])
        self.interval_s = interval_s
        self.heartbeat_s = heartbeat_s
        self.route = Route("WS", path, role=role)  # the journal's and the fault log's view
        self.connections = 0
        self.sent = 0

    def matches(self, rel_path: str) -> bool:
        """The feed's path, or ``<path>/<stream>`` when the feed subscribes by URL."""
        if self.pattern.match(rel_path) is not None:
            return True
        base = self.path.rstrip("/") + "/"
        return rel_path.startswith(base) and bool(
            self.feed.channels_from_path(rel_path[len(base) :])
        )

    # -- one connection ---------------------------------------------------------------------
    async def serve(
        self, ws: web.WebSocketResponse, request: Request, server: MockServer, transport: Any = None
    ) -> None:
        self.connections += 1
        request.method = "WS"
        request.role = self.route.role
        entry = JournalEntry.from_request(request, server.now(), self.route.name)
        entry.status = 101
        server.journal.append(entry)
        self.route.record(request, None)
        connection = _Connection(self, ws, request, server, entry, transport)
        reader = asyncio.create_task(connection.read())
        try:
            await connection.write()
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader


class _Connection:
    def __init__(
        self,
        route: WebSocketRoute,
        ws: web.WebSocketResponse,
        request: Request,
        server: MockServer,
        entry: JournalEntry,
        transport: Any = None,
    ) -> None:
        self.route = route
        self.ws = ws
        self.request = request
        self.server = server
        self.entry = entry
        self.transport = transport
        self.state = FeedState()
        self.count = 0
        self.subscribed = asyncio.Event()
        base = route.path.rstrip("/") + "/"
        rel = request.rel_path
        if rel.startswith(base):
            self._subscribe(route.feed.channels_from_path(rel[len(base) :]))

    def _subscribe(self, channels: Sequence[str]) -> None:
        for channel in channels:
            if channel not in self.state.channels:
                self.state.channels.append(channel)
        if self.state.channels:
            self.subscribed.set()

    async def read(self) -> None:
        async for msg in self.ws:
            if msg.type != WSMsgType.TEXT:
                continue
            try:
                body = json.loads(msg.data)
            except ValueError:
                await self.ws.send_json({"error": "invalid JSON"})
                continue
            reply = self.route.feed.control(body, self.state)
            if self.state.channels:
                self.subscribed.set()
            if reply is not None:
                await self.ws.send_json(reply)

    # -- the writer ------------------------------------------------------------------------
    async def write(self) -> None:
        loop = asyncio.get_running_loop()
        last_beat = loop.time()
        script = list(self.route.script) if self.route.script is not None else None
        if script is None:
            await self.subscribed.wait()
        while not self.ws.closed:
            if script is not None:
                batch = [script.pop(0)] if script else []
            else:
                batch = [self.route.feed.message(c, self.state) for c in list(self.state.channels)]
            for message in batch:
                try:
                    out = await self._chaos(message)
                except WsSilence as silence:
                    await asyncio.sleep(silence.seconds)  # the reader still answers pings
                    continue
                except WsClose as close:
                    await self._close(close)
                    return
                for item in out:
                    await self._send(item)
            now = loop.time()
            if self.route.heartbeat_s and now - last_beat >= self.route.heartbeat_s:
                last_beat = now
                beat = self.route.feed.heartbeat()
                if beat is not None:
                    await self._send(beat)
            await asyncio.sleep(self.route.interval_s)

    async def _chaos(self, message: Any) -> list[Any]:
        chaos = self.server.chaos
        self.count += 1
        if chaos is None:
            return [message]
        out = await chaos.messages(
            self.request,
            self.route.route,
            self.entry,
            message,
            self.count,
            self.route.feed.numbered,
        )
        return [
            self.route.feed.skip(m.message, m.skip, self.state) if isinstance(m, Gap) else m
            for m in out
        ]

    async def _send(self, message: Any) -> None:
        if self.ws.closed:
            return
        text = message if isinstance(message, str) else json.dumps(message, separators=(",", ":"))
        with contextlib.suppress(ConnectionResetError, RuntimeError):
            await self.ws.send_str(text)
            self.route.sent += 1

    async def _close(self, close: WsClose) -> None:
        close.journal(self.entry)
        if close.abrupt:
            if self.transport is not None:
                reset_connection(self.transport)
            return
        await self.ws.close(code=close.code, message=b"chaos: ws_disconnect")
