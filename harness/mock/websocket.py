"""WebSocket market-data feeds, served by the socket backend, with chaos on every message.

``server.websocket("/v1/stream", market=exchange)`` registers a feed. Clients subscribe to
channels (``trades``, ``bars``, ``book`` diffs with sequence numbers, ``ticker``), the way
their exchange does it:

* ``generic``: ``{"op": "subscribe", "channels": ["book:BTCUSDT"]}`` -> ``{"op": "subscribed"}``;
  data ``{"channel": "book:BTCUSDT", "seq": 7, "data": {...}}``; ``{"op": "heartbeat"}``.
* ``binance``: streams from the path (``/ws/btcusdt@depth``) or
  ``{"method": "SUBSCRIBE", "params": [...], "id": 1}``; payloads as Binance sends them
  (``trade``, ``kline``, ``depthUpdate`` with ``U``/``u`` update ids).

Messages come from the seeded market (a FakeExchange) or a scripted list. Message faults
(``ws_*``) act on each outgoing message: drop, duplicate, reorder, delay, gap, corrupt,
silence, disconnect. WebSockets need the socket backend (aiohttp cannot intercept
``ws_connect`` in-process).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from harness.errors import MockConfigError, WsClose, WsSilence
from harness.mock.journal import JournalEntry
from harness.mock.routes import PathPattern, Request, Route
from harness.mock.socket import reset_connection

if TYPE_CHECKING:
    from harness.exchange.core import FakeExchange
    from harness.mock.server import MockServer

__all__ = ["WebSocketRoute"]

GENERIC_CHANNELS = ("trades", "bars", "book", "ticker")
BINANCE_STREAMS = ("trade", "kline_1m", "depth")


class WebSocketRoute:
    """A WebSocket endpoint of a MockServer and the feed it serves."""

    def __init__(
        self,
        path: str,
        *,
        protocol: str = "generic",
        market: FakeExchange | None = None,
        script: Sequence[Any] | None = None,
        interval_s: float = 0.02,
        heartbeat_s: float | None = 1.0,
    ) -> None:
        if protocol not in ("generic", "binance"):
            raise MockConfigError(
                "websocket", f"protocol={protocol!r}", "use 'generic' or 'binance'"
            )
        if market is None and script is None:
            raise MockConfigError(
                "websocket", "no message source", "give market= (a FakeExchange) or script=[...]"
            )
        if interval_s <= 0:
            raise MockConfigError("websocket", f"interval_s={interval_s} must be > 0")
        self.path = path
        self.pattern = PathPattern(path)
        self.protocol = protocol
        self.market = market
        self.script = list(script) if script is not None else None
        self.interval_s = interval_s
        self.heartbeat_s = heartbeat_s
        self.route = Route("WS", path)  # the journal's and the fault log's view of this feed
        self.connections = 0
        self.sent = 0

    def matches(self, rel_path: str) -> bool:
        """The feed's path; for Binance also ``<path>/<stream>`` (``/ws/btcusdt@depth``)."""
        if self.pattern.match(rel_path) is not None:
            return True
        return self.protocol == "binance" and rel_path.startswith(self.path.rstrip("/") + "/")

    # -- one connection ---------------------------------------------------------------------
    async def serve(
        self, ws: web.WebSocketResponse, request: Request, server: MockServer, transport: Any = None
    ) -> None:
        self.connections += 1
        request.method = "WS"
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
        self.route, self.ws, self.request, self.server, self.entry = (
            route,
            ws,
            request,
            server,
            entry,
        )
        self.transport = transport
        self.channels: list[str] = []
        self.seq: dict[str, int] = {}
        self.count = 0
        self.subscribed = asyncio.Event()
        rel = server.owns_path(request.path) or request.path
        base = route.path.rstrip("/")
        if route.protocol == "binance" and rel.startswith(base + "/") and rel != base:
            self._subscribe([rel[len(base) + 1 :]])
        self.rel_path = rel

    def _subscribe(self, channels: Sequence[str]) -> list[str]:
        accepted = []
        for channel in channels:
            if self._valid(channel) and channel not in self.channels:
                self.channels.append(channel)
                accepted.append(channel)
        if self.channels or self.route.script is not None:
            self.subscribed.set()
        return accepted

    def _valid(self, channel: str) -> bool:
        if self.route.protocol == "generic":
            kind, _, symbol = channel.partition(":")
            return kind in GENERIC_CHANNELS and bool(symbol)
        symbol, _, stream = channel.partition("@")
        return bool(symbol) and stream in BINANCE_STREAMS

    async def read(self) -> None:
        async for msg in self.ws:
            if msg.type != WSMsgType.TEXT:
                continue
            try:
                body = json.loads(msg.data)
            except ValueError:
                await self.ws.send_json({"error": "invalid JSON"})
                continue
            await self._control(body)

    async def _control(self, body: Any) -> None:
        if self.route.protocol == "generic" and isinstance(body, dict):
            channels = [str(c) for c in body.get("channels", [])]
            if body.get("op") == "subscribe":
                await self.ws.send_json({"op": "subscribed", "channels": self._subscribe(channels)})
            elif body.get("op") == "unsubscribe":
                self.channels = [c for c in self.channels if c not in channels]
                await self.ws.send_json({"op": "unsubscribed", "channels": channels})
            else:
                await self.ws.send_json(
                    {"op": "error", "message": f"unknown op {body.get('op')!r}"}
                )
        elif isinstance(body, dict) and body.get("method") in ("SUBSCRIBE", "UNSUBSCRIBE"):
            params = [str(p).lower() for p in body.get("params", [])]
            if body["method"] == "SUBSCRIBE":
                self._subscribe(params)
            else:
                self.channels = [c for c in self.channels if c not in params]
            await self.ws.send_json({"result": None, "id": body.get("id")})
        else:
            await self.ws.send_json({"code": 2, "msg": "Invalid request"})

    # -- the writer ------------------------------------------------------------------------
    async def write(self) -> None:
        loop = asyncio.get_running_loop()
        last_beat = loop.time()
        script = list(self.route.script or [])
        if self.route.script is not None:
            self.subscribed.set()
        await self.subscribed.wait()
        while not self.ws.closed:
            batch: list[Any] = []
            if self.route.script is not None:
                if script:
                    batch = [script.pop(0)]
            else:
                batch = [self._next(channel) for channel in list(self.channels)]
            for message in batch:
                try:
                    out = await self._chaos(message)
                except WsSilence as silence:
                    await self._silent(silence.seconds)
                    continue
                except WsClose as close:
                    await self._close(close)
                    return
                for item in out:
                    await self._send(item)
            now = loop.time()
            if self.route.heartbeat_s and now - last_beat >= self.route.heartbeat_s:
                last_beat = now
                await self._heartbeat()
            await asyncio.sleep(self.route.interval_s)

    async def _chaos(self, message: Any) -> list[Any]:
        chaos = self.server.chaos
        self.count += 1
        if chaos is None or not hasattr(chaos, "messages"):
            return [message]
        out = await chaos.messages(
            self.request, self.route.route, self.rel_path, self.entry, message, self.count
        )
        return [self._regap(m) for m in out]

    def _regap(self, message: Any) -> Any:
        """A ws_gap fault asks the feed to skip sequence numbers: renumber from here on."""
        if isinstance(message, dict) and "__gap__" in message:
            skip = int(message.pop("__gap__"))
            channel = message.get("channel") or message.get("s", "") + "@depth"
            self.seq[channel] = self.seq.get(channel, 0) + skip
            if "seq" in message:
                message["seq"] += skip
            if "U" in message:
                message["U"] += skip
                message["u"] += skip
            if self.route.market is not None and hasattr(self.route.market, "book_update_id"):
                self.route.market.book_update_id += skip
        return message

    async def _send(self, message: Any) -> None:
        if self.ws.closed:
            return
        text = message if isinstance(message, str) else json.dumps(message, separators=(",", ":"))
        with contextlib.suppress(ConnectionResetError, RuntimeError):
            await self.ws.send_str(text)
            self.route.sent += 1

    async def _heartbeat(self) -> None:
        if self.route.protocol == "generic":
            await self._send({"op": "heartbeat", "ts": int(time.time() * 1000)})

    async def _silent(self, seconds: float) -> None:
        """No data for a while; the socket stays open (pings are still answered by the reader)."""
        await asyncio.sleep(seconds)

    async def _close(self, close: WsClose) -> None:
        self.entry.error = f"ws_disconnect ({'abrupt' if close.abrupt else close.code})"
        if close.abrupt:
            if self.transport is not None:
                reset_connection(self.transport)
            return
        await self.ws.close(code=close.code, message=b"chaos: ws_disconnect")

    # -- messages from the market --------------------------------------------------------------
    def _next_seq(self, channel: str) -> int:
        self.seq[channel] = self.seq.get(channel, 0) + 1
        return self.seq[channel]

    def _next(self, channel: str) -> Any:
        market = self.route.market
        assert market is not None
        now_ms = int(time.time() * 1000)
        if self.route.protocol == "generic":
            kind, _, symbol = channel.partition(":")
            data = _generic(kind, symbol, market, now_ms)
            if kind == "book":
                market.book_update_id += 1
                seq = market.book_update_id
                self.seq[channel] = seq
            else:
                seq = self._next_seq(channel)
            return {"channel": channel, "seq": seq, "data": data}
        symbol, _, stream = channel.partition("@")
        return _binance(stream, symbol.upper(), market, now_ms, self)


def _generic(kind: str, symbol: str, market: FakeExchange, now_ms: int) -> dict[str, Any]:
    price = market.step(symbol)
    if kind == "trades":
        return {
            "trade_id": str(len(market.fills) + now_ms),
            "price": price,
            "qty": 0.01,
            "side": "buy",
            "ts": now_ms,
        }
    if kind == "bars":
        bar = market.bars(symbol, "1s", 1)[-1]
        return {
            "ts": int(bar[0] * 1000),
            "open": bar[1],
            "high": bar[2],
            "low": bar[3],
            "close": bar[4],
            "volume": bar[5],
        }
    if kind == "book":
        book = market.book(symbol, 3)
        return {"bids": book["bids"][:1], "asks": book["asks"][:1], "ts": now_ms}
    return {"symbol": symbol, "price": price, "time": now_ms}


def _binance(
    stream: str, symbol: str, market: FakeExchange, now_ms: int, conn: _Connection
) -> dict[str, Any]:
    price = market.step(symbol)
    if stream == "trade":
        seq = conn._next_seq(f"{symbol}@trade")
        return {
            "e": "trade",
            "E": now_ms,
            "s": symbol,
            "t": seq,
            "p": f"{price:.2f}",
            "q": "0.01000000",
            "T": now_ms,
            "m": False,
            "M": True,
        }
    if stream == "kline_1m":
        bar = market.bars(symbol, "1m", 1)[-1]
        return {
            "e": "kline",
            "E": now_ms,
            "s": symbol,
            "k": {
                "t": int(bar[0] * 1000),
                "T": int(bar[0] * 1000) + 59_999,
                "s": symbol,
                "i": "1m",
                "o": f"{bar[1]:.2f}",
                "c": f"{bar[4]:.2f}",
                "h": f"{bar[2]:.2f}",
                "l": f"{bar[3]:.2f}",
                "v": f"{bar[5]:.8f}",
                "x": False,
            },
        }
    book = market.book(symbol, 3)
    first = market.book_update_id + 1
    market.book_update_id += 2
    return {
        "e": "depthUpdate",
        "E": now_ms,
        "s": symbol,
        "U": first,
        "u": market.book_update_id,
        "b": [[f"{p:.2f}", f"{q:.8f}"] for p, q in book["bids"][:1]],
        "a": [[f"{p:.2f}", f"{q:.8f}"] for p, q in book["asks"][:1]],
    }
