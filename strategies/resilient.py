"""ResilientBot: the same trading loop as NaiveBot, written to survive a misbehaving exchange.

* every request has a timeout;
* retries use tenacity (a well-kept library for exactly this: attempts, backoff and jitter
  are declared, not hand-rolled), capped at 4 attempts with exponential backoff and jitter;
* Retry-After (429, 503) and 418 bans are waited out before anything else is sent;
* every order intent gets a client order id; after any ambiguous failure (timeout, lost
  connection, 5xx) the bot asks the exchange whether the order exists before resending;
* every market-data payload goes through ``validate_edge`` and a staleness check;
* a circuit breaker pauses trading after repeated failed cycles;
* at the end, it reconciles every order it placed with the exchange.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import random
import time
from typing import Any

import aiohttp
import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt
from tenacity.wait import wait_base, wait_exponential_jitter

from harness.errors import MarketDataError
from harness.schemas import OHLCV, validate_edge
from strategies.crossover import SLOW, limit_price, side_for

RECONCILE_ROUNDS = 5
"""Final reconciliations tried before giving up (a breaker cooldown between them)."""


class Ticker(pa.DataFrameModel):
    """The ticker contract: a finite positive price and a timestamp."""

    symbol: Series[str]
    price: Series[float] = pa.Field(gt=0)
    time: Series[int] = pa.Field(gt=0)

    @pa.check("price", name="finite")
    def _finite(cls, price: Series[float]) -> Series[bool]:
        return price.map(math.isfinite)  # type: ignore[return-value]

    class Config:
        coerce = True


class Retryable(Exception):
    """A failure worth retrying; ``retry_after`` when the exchange said how long to wait."""

    def __init__(
        self, reason: str, retry_after: float | None = None, ambiguous: bool = False
    ) -> None:
        super().__init__(reason)
        self.retry_after = retry_after
        self.ambiguous = ambiguous


class Rejected(Exception):
    """The exchange answered with a definite 4xx: retrying the same request will not help."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"HTTP {status}: {body}")
        self.status = status
        self.body = body


class _WaitRetryAfter(wait_base):
    """Backoff with jitter, but never shorter than the Retry-After the exchange asked for."""

    def __init__(self, first_s: float, max_s: float) -> None:
        self._backoff = wait_exponential_jitter(multiplier=first_s, max=max_s, jitter=first_s)

    def __call__(self, retry_state: RetryCallState) -> float:
        backoff = self._backoff(retry_state)
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        if isinstance(exc, Retryable) and exc.retry_after is not None:
            return max(backoff, exc.retry_after + 0.01)
        return backoff


class StaleData(Exception):
    pass


class ResilientBot:
    def __init__(
        self,
        base_url: str,
        symbol: str = "BTCUSDT",
        qty: float = 0.001,
        cycle_s: float = 0.05,
        timeout_s: float = 0.5,
        breaker_after: int = 3,
        breaker_cooldown_s: float = 1.2,
        stream: bool = False,
        silence_s: float = 0.5,
        backoff_s: float = 0.02,
        backoff_max_s: float = 0.5,
    ) -> None:
        self.base_url = base_url
        self.backoff_s = backoff_s
        """The first retry's pause (doubling up to ``backoff_max_s``, plus as much jitter)."""
        self.backoff_max_s = backoff_max_s
        self.symbol = symbol
        self.qty = qty
        self.cycle_s = cycle_s
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)
        self.breaker_after = breaker_after
        self.breaker_cooldown_s = breaker_cooldown_s
        self.known_orders: dict[str, str] = {}
        self.pending: dict[
            str, dict[str, Any]
        ] = {}  # client order id -> order request, unconfirmed
        self.cycles: list[float] = []
        self.errors: list[str] = []
        self._open_order: str | None = None
        self._last_ticker_ms = 0
        self._not_before = 0.0  # loop time before which nothing may be sent (Retry-After, bans)
        self._failures = 0
        self._intent = 0
        self._session: aiohttp.ClientSession | None = None
        self.stream = stream
        self.silence_s = silence_s
        self.best: tuple[float, float] | None = None
        self.connects: list[float] = []
        self.resyncs = 0
        self._book_seq: int | None = None  # the last book update applied; None = resync needed
        self._last_update = 0.0
        self._id = f"rb-{random.getrandbits(32):08x}"  # its client order ids' prefix

    @classmethod
    def production(cls, base_url: str, **overrides: Any) -> ResilientBot:
        """The bot with a production bot's pace: a cycle a minute (1-minute bars), 10 s
        request timeouts, retries backing off from 1 s to 30 s, a one-minute circuit
        breaker, a stream declared silent after 30 s. The library's ``realistic``
        scenarios meet it on virtual time."""
        params: dict[str, Any] = dict(
            cycle_s=60.0,
            timeout_s=10.0,
            backoff_s=1.0,
            backoff_max_s=30.0,
            breaker_cooldown_s=60.0,
            silence_s=30.0,
        )
        return cls(base_url, **{**params, **overrides})

    # -- one request, with its retries ----------------------------------------------------
    async def _once(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        assert self._session is not None
        loop = asyncio.get_running_loop()
        if loop.time() < self._not_before:
            await asyncio.sleep(self._not_before - loop.time())
        try:
            async with self._session.request(
                method, self.base_url + path, timeout=self.timeout, **kwargs
            ) as resp:
                if resp.status in (418, 429, 503) or resp.status >= 500:
                    wait = _retry_after(resp.headers.get("Retry-After"))
                    if wait is not None:
                        self._not_before = max(self._not_before, loop.time() + wait + 0.01)
                    raise Retryable(f"HTTP {resp.status}", wait, ambiguous=resp.status >= 500)
                body = await resp.json(content_type=None)
                if resp.status >= 400:
                    raise Rejected(resp.status, body)
                return resp.status, body
        except (TimeoutError, aiohttp.ClientConnectionError, aiohttp.ClientPayloadError) as exc:
            raise Retryable(repr(exc), ambiguous=True) from exc
        except ValueError as exc:  # a body that is not JSON
            raise Retryable(f"bad body: {exc}") from exc

    async def _call(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        async for attempt in AsyncRetrying(
            stop=stop_after_attempt(4),
            wait=_WaitRetryAfter(self.backoff_s, self.backoff_max_s),
            retry=retry_if_exception_type(Retryable),
            reraise=True,
        ):
            with attempt:
                return await self._once(method, path, **kwargs)
        raise AssertionError("unreachable")  # pragma: no cover

    # -- orders: idempotent placement and reconciliation ------------------------------------
    async def _find(self, client_order_id: str) -> dict[str, Any] | None:
        _, found = await self._call(
            "GET", "/v1/orders", params={"client_order_id": client_order_id}
        )
        return found[0] if found else None

    async def _place(self, order: dict[str, Any]) -> dict[str, Any] | None:
        client_id = order["client_order_id"]
        self.pending[client_id] = order
        for _ in range(3):
            try:
                _, placed = await self._once("POST", "/v1/orders", json=order)
            except Rejected as exc:
                if exc.status == 409:  # our earlier attempt did reach the exchange
                    placed = await self._find(client_id)
                else:
                    self.pending.pop(client_id, None)
                    raise
            except Retryable as exc:
                # Ambiguous: the order may exist. Ask before sending it again.
                if exc.retry_after is not None:
                    await asyncio.sleep(exc.retry_after + 0.01)
                placed = await self._find(client_id)
                if placed is None:
                    await asyncio.sleep(self.backoff_s)
                    continue
            if placed is not None and not _trusted(placed, client_id):
                placed = await self._find(client_id)  # a garbled ack: ask the exchange
            if placed is not None and _trusted(placed, client_id):
                self.pending.pop(client_id, None)
                self.known_orders[placed["order_id"]] = placed["status"]
                return placed
        return None  # still pending: reconciled at the end

    async def _cancel_open(self) -> None:
        """Cancel the resting order, if any."""
        if self._open_order is not None:
            try:
                _, canceled = await self._call("DELETE", f"/v1/orders/{self._open_order}")
                self.known_orders[canceled["order_id"]] = canceled["status"]
            except Rejected:
                pass  # already filled: reconciliation will say so
            self._open_order = None

    async def reconcile(self) -> None:
        """Make the bot's view of its orders equal the exchange's. Nothing rests on the
        book afterwards (a resting order could fill after the bot looked)."""
        await self._cancel_open()
        for client_id in list(self.pending):
            found = await self._find(client_id)
            if found is not None:
                self.known_orders[found["order_id"]] = found["status"]
                if found["status"] in ("new", "partially_filled"):
                    self._open_order = found["order_id"]
                    await self._cancel_open()
            self.pending.pop(client_id, None)
        for order_id in list(self.known_orders):
            _, order = await self._call("GET", f"/v1/orders/{order_id}")
            self.known_orders[order_id] = order["status"]

    # -- the trading loop --------------------------------------------------------------------
    async def cycle(self) -> None:
        _, server = await self._call("GET", "/v1/time")
        _, bars = await self._call(
            "GET", "/v1/bars", params={"symbol": self.symbol, "interval": "1s", "limit": "30"}
        )
        frame = validate_edge(bars, OHLCV, source="GET /v1/bars")
        if len(frame) < SLOW:
            raise StaleData(f"only {len(frame)} bars")
        last_bar = frame["ts"].iloc[-1]
        try:
            now = pd.Timestamp(int(float(server["time"])), unit="ms", tz="UTC")
        except (KeyError, TypeError, ValueError, OverflowError) as exc:
            raise StaleData(f"unreadable server time: {server!r:.80}") from exc
        if now - last_bar > pd.Timedelta(seconds=5):
            raise StaleData(f"last bar {last_bar} is old")
        side = side_for(frame["close"].tolist())
        _, ticker = await self._call("GET", "/v1/ticker", params={"symbol": self.symbol})
        ticker_frame = validate_edge([ticker], Ticker, source="GET /v1/ticker")
        if ticker_frame["symbol"].iloc[0] != self.symbol:
            raise StaleData(f"a ticker for {ticker_frame['symbol'].iloc[0]!r}, not {self.symbol}")
        if self.stream:
            ticker_frame = ticker_frame.assign(price=self._stream_price(side))
        ticker_ms = int(ticker_frame["time"].iloc[0])
        if ticker_ms <= self._last_ticker_ms:
            raise StaleData("the ticker went back in time")
        if now - pd.Timestamp(ticker_ms, unit="ms", tz="UTC") > pd.Timedelta(seconds=5):
            raise StaleData(f"the ticker of {ticker_ms} ms is old")
        self._last_ticker_ms = ticker_ms
        await self._cancel_open()
        self._intent += 1
        placed = await self._place(
            {
                "symbol": self.symbol,
                "side": side,
                "type": "limit",
                "qty": self.qty,
                "price": limit_price(side, float(ticker_frame["price"].iloc[0])),
                "client_order_id": f"{self._id}-{self._intent}",
            }
        )
        if placed is not None and placed["status"] in ("new", "partially_filled"):
            self._open_order = placed["order_id"]
        self.cycles.append(time.monotonic())

    # -- the order-book stream: gaps resynced from the REST snapshot, silence detected --------
    def _stream_price(self, side: str) -> float:
        loop = asyncio.get_running_loop()
        if (
            self.best is None
            or self._book_seq is None
            or loop.time() - self._last_update > self.silence_s
        ):
            raise StaleData("the book stream is not in sync")
        price = self.best[0] if side == "buy" else self.best[1]
        if not (math.isfinite(price) and price > 0):
            raise StaleData(f"the book stream gave price {price!r}")
        return price

    async def _resync(self) -> None:
        """A gap in the diffs: the local book is wrong until rebuilt from the REST snapshot."""
        self.resyncs += 1
        _, snapshot = await self._call("GET", "/v1/book", params={"symbol": self.symbol})
        self.best = (float(snapshot["bids"][0][0]), float(snapshot["asks"][0][0]))
        self._book_seq = int(snapshot["seq"])
        self._last_update = asyncio.get_running_loop().time()

    async def _apply(self, message: dict[str, Any]) -> None:
        seq = int(message["seq"])
        if self._book_seq is not None and seq <= self._book_seq:
            return  # a duplicate, or older than the snapshot
        if self._book_seq is None or seq != self._book_seq + 1:
            self._book_seq = None
            await self._resync()
            if seq <= (self._book_seq or 0):
                return
            if seq != (self._book_seq or 0) + 1:
                self._book_seq = None  # still not contiguous: resync on the next one
                return
        book = message["data"]
        bid, ask = float(book["bids"][0][0]), float(book["asks"][0][0])
        if not (math.isfinite(bid) and math.isfinite(ask) and 0 < bid < ask):
            self._book_seq = None  # a corrupt update: resync before trusting the book again
            return
        self.best, self._book_seq = (bid, ask), seq
        self._last_update = asyncio.get_running_loop().time()

    async def _consume(self) -> None:
        assert self._session is not None
        url = self.base_url.replace("http", "ws", 1) + "/v1/stream"
        delay = 0.1
        while True:
            self._book_seq = None
            try:
                self.connects.append(time.monotonic())
                async with self._session.ws_connect(
                    url, timeout=aiohttp.ClientWSTimeout(ws_close=1.0)
                ) as ws:
                    await ws.send_json({"op": "subscribe", "channels": [f"book:{self.symbol}"]})
                    while True:
                        # silence: no message for silence_s (heartbeats are 1 s apart here, so
                        # data is what keeps it alive) -> reconnect
                        msg = await ws.receive(timeout=self.silence_s)
                        if msg.type != aiohttp.WSMsgType.TEXT:
                            break
                        data = json.loads(msg.data)
                        if isinstance(data, dict) and "seq" in data:
                            await self._apply(data)
                            delay = 0.1  # a healthy stream resets the backoff
            except (
                TimeoutError,
                aiohttp.ClientError,
                OSError,
                ValueError,
                KeyError,
                IndexError,
                TypeError,
                Retryable,
                Rejected,
            ):
                pass
            # reconnect with capped exponential backoff and jitter
            await asyncio.sleep(delay + random.uniform(0, delay / 2))
            delay = min(delay * 2, 1.0)

    async def run(self, cycles: int) -> None:
        self._session = aiohttp.ClientSession()
        consumer = asyncio.create_task(self._consume()) if self.stream else None
        if consumer is not None:
            await asyncio.sleep(0.2)  # let the stream sync before the first cycle
        try:
            for _ in range(cycles):
                try:
                    await self.cycle()
                    self._failures = 0
                except (Retryable, Rejected, MarketDataError, StaleData) as exc:
                    self.errors.append(repr(exc))
                    # Circuit breaker: retries exhausted (the exchange is down for now), or
                    # several bad cycles in a row: stop sending for a while.
                    self._failures += 1
                    if isinstance(exc, Retryable) or self._failures >= self.breaker_after:
                        await asyncio.sleep(self.breaker_cooldown_s)
                        self._failures = 0
                await asyncio.sleep(self.cycle_s)
            for _ in range(RECONCILE_ROUNDS):  # the exchange may refuse lookups for a while
                try:
                    await self.reconcile()
                    break
                except (Retryable, Rejected) as exc:
                    self.errors.append(f"reconcile: {exc!r}")
                    await asyncio.sleep(self.breaker_cooldown_s)
        finally:
            if consumer is not None:
                consumer.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await consumer
            await self._session.close()


STATUSES = frozenset(
    ("new", "accepted", "partially_filled", "filled", "canceled", "rejected", "expired", "replaced")
)


def _trusted(order: Any, client_id: str) -> bool:
    """An order answer the bot can act on: its own client order id, an id it can put in a
    path, a status it knows."""
    return (
        isinstance(order, dict)
        and order.get("client_order_id") == client_id
        and isinstance(order.get("order_id"), str)
        and order["order_id"].isalnum()
        and order.get("status") in STATUSES
    )


def _retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
