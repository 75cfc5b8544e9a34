"""NaiveBot: a trading loop with the resilience bugs real bots ship with.

Each bug is marked ``BUG:``; the harness's chaos suite proves it finds every one of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import Any

import aiohttp

from strategies.crossover import limit_price, side_for


class NaiveBot:
    def __init__(
        self,
        base_url: str,
        symbol: str = "BTCUSDT",
        qty: float = 0.001,
        cycle_s: float = 0.05,
        stream: bool = False,
    ) -> None:
        self.base_url = base_url
        self.symbol = symbol
        self.qty = qty
        self.cycle_s = cycle_s
        self.known_orders: dict[str, str] = {}
        self.cycles: list[float] = []
        self.errors: list[str] = []
        self._open_order: str | None = None
        self.stream = stream
        self.best: tuple[float, float] | None = None  # (bid, ask) from the book stream
        self.connects: list[float] = []
        # BUG: no timeout. aiohttp's default waits up to five minutes for a hung exchange.
        self._session: aiohttp.ClientSession | None = None

    @classmethod
    def production(cls, base_url: str, **overrides: Any) -> NaiveBot:
        """The bot at a production bot's pace: a cycle a minute (its bugs are its own)."""
        return cls(base_url, **{"cycle_s": 60.0, **overrides})

    async def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        assert self._session is not None
        # BUG: every failure is retried at once, ten times, whatever it was: no backoff,
        # no limit per request that a rate limiter would accept.
        last: Exception | None = None
        for _ in range(10):
            try:
                async with self._session.request(method, self.base_url + path, **kwargs) as resp:
                    # BUG: 429 and 418 are retried immediately: Retry-After and bans are ignored.
                    if resp.status in (418, 429) or resp.status >= 500:
                        last = RuntimeError(f"HTTP {resp.status}")
                        continue
                    return resp.status, await resp.json(content_type=None)
            except (aiohttp.ClientError, ValueError, TimeoutError) as exc:
                # BUG: a POST /v1/orders that timed out or lost its connection is sent again
                # as a new order: there is no client order id, so the exchange cannot tell.
                last = exc
        raise RuntimeError(f"{method} {path} failed 10 times: {last!r}")

    async def cycle(self) -> None:
        _, bars = await self._call(
            "GET", "/v1/bars", params={"symbol": self.symbol, "interval": "1s", "limit": "30"}
        )
        # BUG: the data is trusted: no validation (NaN, negative or swapped prices pass) and
        # no staleness check (an hour-old bar or a replayed ticker looks like today's).
        closes = [bar["close"] for bar in bars]
        side = side_for(closes)
        _, ticker = await self._call("GET", "/v1/ticker", params={"symbol": self.symbol})
        if self.stream and self.best is not None:
            # BUG: the streamed book is trusted whatever happened to the stream: a lost or
            # skipped update (a sequence gap), a stall or a NaN go straight into the price.
            ticker = {"price": self.best[0] if side == "buy" else self.best[1]}
        if self._open_order is not None:
            status, body = await self._call("DELETE", f"/v1/orders/{self._open_order}")
            if status == 200:
                self.known_orders[body["order_id"]] = body["status"]
            self._open_order = None
        status, order = await self._call(
            "POST",
            "/v1/orders",
            json={
                "symbol": self.symbol,
                "side": side,
                "type": "limit",
                "qty": self.qty,
                "price": limit_price(side, ticker["price"]),
            },
        )
        if status == 201:
            # BUG: the status at placement is all it ever knows: it never reconciles.
            self.known_orders[order["order_id"]] = order["status"]
            self._open_order = order["order_id"]
        self.cycles.append(time.monotonic())

    async def _consume(self) -> None:
        assert self._session is not None
        url = self.base_url.replace("http", "ws", 1) + "/v1/stream"
        while True:
            try:
                self.connects.append(time.monotonic())
                async with self._session.ws_connect(url) as ws:
                    await ws.send_json({"op": "subscribe", "channels": [f"book:{self.symbol}"]})
                    async for msg in ws:
                        if msg.type != aiohttp.WSMsgType.TEXT:
                            break
                        try:
                            data = json.loads(msg.data)
                            if "seq" in data:  # BUG: the sequence number is never checked
                                book = data["data"]
                                self.best = (book["bids"][0][0], book["asks"][0][0])
                        except (ValueError, KeyError, IndexError, TypeError):
                            pass
            except (aiohttp.ClientError, OSError):
                pass
            # BUG: it reconnects at once, in a tight loop, however often the stream drops.

    async def run(self, cycles: int) -> None:
        self._session = aiohttp.ClientSession()
        consumer = asyncio.create_task(self._consume()) if self.stream else None
        try:
            for _ in range(cycles):
                try:
                    await self.cycle()
                except Exception as exc:
                    self.errors.append(repr(exc))
                await asyncio.sleep(self.cycle_s)
        finally:
            if consumer is not None:
                consumer.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await consumer
            await self._session.close()
