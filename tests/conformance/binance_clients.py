"""Real clients (ccxt, python-binance), unmodified, against the binance-spot profile.

``Venue`` holds one binance-spot MockExchange on one backend: ``inprocess`` (the clients
keep Binance's production hostnames, which the MockServer intercepts) or ``socket`` (the
clients are pointed at a real 127.0.0.1 socket with :func:`ccxt_urls` and
:func:`python_binance_urls`). Credentials are given so every signed call happens, and the
profile verifies each signature with the secret.
"""

from __future__ import annotations

import contextlib
import functools
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import ccxt.async_support as ccxt
from binance import AsyncClient

from harness.exchange import FakeExchange, Instrument, MockExchange
from harness.exchange.profiles.binance import ccxt_urls, python_binance_urls

KEY = "conformanceKEY7f3a9c1e5b2d4f6a8c0e2b4d6f8a0c2e4b6d8f0a2c4e6b8d0f2a4c6e8b0d2f4a6c"
SECRET = "conformanceSECRET0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e"
BACKENDS = ("inprocess", "socket")

BTC = Instrument("BTCUSDT", "BTC", "USDT", tick=0.01, step=0.00001, min_qty=0.00001, min_notional=5)
ETH = Instrument("ETHUSDT", "ETH", "USDT", tick=0.01, step=0.0001, min_qty=0.001, min_notional=5)


def prepare(me: MockExchange) -> FakeExchange:
    """Binance-like symbols (BTCUSDT, ETHUSDT with its own filters), balances, and the
    API key whose signatures the profile checks. Call it before the first request."""
    exchange = me.exchange
    exchange.instruments[BTC.symbol] = BTC
    exchange.add_instrument(ETH, price=3000.0)
    exchange.balances["ETH"] = 50.0
    me.profile.api_keys = {KEY: SECRET}  # type: ignore[attr-defined]
    return exchange


@functools.cache
def _ssl_context(cafile: str) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=cafile)


@dataclass
class Venue:
    """One binance-spot exchange on one backend, and the clients opened on it."""

    backend: str
    me: MockExchange
    url: str | None = None
    """The socket URL (None in-process: clients keep the production hostnames)."""
    _opened: list[Any] = field(default_factory=list)

    @property
    def exchange(self) -> FakeExchange:
        return self.me.exchange

    def ccxt(self, **options: Any) -> ccxt.binance:
        """ccxt's async binance with its default options and credentials. Three settings only
        save time: the client-side throttle is off (``enableRateLimit=False``), ``close()``
        does not sleep (``timeout_on_exit=0``; ccxt waits 250 ms for TLS to shut down), and
        every instance shares one TLS context (ccxt builds its own, the same, in 0.1 s)."""
        exchange = ccxt.binance(
            {
                "apiKey": KEY,
                "secret": SECRET,
                "enableRateLimit": False,
                "timeout_on_exit": 0,
                **options,
            }
        )
        if self.url is not None:
            exchange.urls["api"] = ccxt_urls(self.url)
        exchange.ssl_context = _ssl_context(exchange.cafile)
        self._opened.append(exchange)
        return exchange

    async def binance(self, **kwargs: Any) -> AsyncClient:
        """python-binance's AsyncClient (a subclass carrying the socket URLs over a socket)."""
        cls = AsyncClient
        if self.url is not None:
            cls = type("MockBinance", (AsyncClient,), python_binance_urls(self.url))
        client = await cls.create(KEY, SECRET, **kwargs)
        self._opened.append(client)
        return client

    async def close(self) -> None:
        for client in self._opened:
            with contextlib.suppress(Exception):
                if isinstance(client, AsyncClient):
                    await client.close_connection()
                else:
                    await client.close()
        self._opened.clear()


@contextlib.asynccontextmanager
async def open_venue(me: MockExchange, backend: str) -> AsyncIterator[Venue]:
    """``me`` on ``backend`` (the caller intercepts in-process: the ``mock_exchange`` fixture
    does); its clients are closed before the socket stops."""
    if backend == "socket":
        async with me.server.serve() as url:
            venue = Venue(backend, me, url)
            try:
                yield venue
            finally:
                await venue.close()
    else:
        venue = Venue(backend, me)
        try:
            yield venue
        finally:
            await venue.close()
