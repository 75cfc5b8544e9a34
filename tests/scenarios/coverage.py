"""Which built-in scenarios fire against which profiles, driven by a client that calls every
role of the profile. The docs' scenario x profile table is generated from these runs
(``python -m tests.scenarios.coverage``), and a test fails when it drifts.

Each profile has an exerciser: a plain aiohttp client that, round after round, calls every
route of the profile with a valid request (signed where the API signs), and reads its
streams over a socket. Its faults are then counted per scenario.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp

from harness.chaos import Chaos
from harness.clock import virtual_time
from harness.exchange import MockExchange
from harness.scenario import Scenario, load_library

HERE = Path(__file__).resolve().parent
CUSTOM = HERE / "mybroker.yaml"
ROUNDS = 10
TIMEOUT = aiohttp.ClientTimeout(total=0.3)


@dataclass
class Call:
    method: str
    path: str
    params: dict[str, Any] = field(default_factory=dict)
    json: Any = None
    signed: bool = False
    headers: dict[str, str] = field(default_factory=dict)


def _binance_sign(params: dict[str, Any]) -> str:
    query = urlencode({**params, "timestamp": int(time.time() * 1000), "recvWindow": 10000})
    return query + "&signature=" + hmac.new(b"s", query.encode(), hashlib.sha256).hexdigest()


GENERIC = [
    Call("GET", "/v1/time"),
    Call("GET", "/v1/bars", {"symbol": "BTCUSDT", "interval": "1m", "limit": "5"}),
    Call("GET", "/v1/ticker", {"symbol": "BTCUSDT"}),
    Call("GET", "/v1/book", {"symbol": "BTCUSDT", "depth": "5"}),
    Call(
        "POST",
        "/v1/orders",
        json={"symbol": "BTCUSDT", "side": "buy", "type": "limit", "qty": 0.001, "price": 1.0},
    ),
    Call("GET", "/v1/orders", {"status": "open"}),
    Call("GET", "/v1/orders/1"),
    Call("GET", "/v1/balances"),
]
CUSTOM_CALLS = [
    Call("GET", "/api/time"),
    Call("GET", "/api/candles", {"market": "BTC-USD", "tf": "1m", "n": "5"}),
    Call("GET", "/api/ticker", {"market": "BTC-USD"}),
    Call(
        "POST",
        "/api/orders",
        json={"market": "BTC-USD", "side": "BUY", "type": "limit", "size": "0.01", "price": "1"},
    ),
    Call("GET", "/api/orders", {"cid": "none"}),
    Call("GET", "/api/orders/1"),
    Call("GET", "/api/balances"),
]
BINANCE = [
    Call("GET", "/api/v3/ping"),
    Call("GET", "/api/v3/time"),
    Call("GET", "/api/v3/exchangeInfo"),
    Call("GET", "/api/v3/klines", {"symbol": "BTCUSDT", "interval": "1m", "limit": "5"}),
    Call("GET", "/api/v3/depth", {"symbol": "BTCUSDT", "limit": "5"}),
    Call("GET", "/api/v3/ticker/price", {"symbol": "BTCUSDT"}),
    Call("GET", "/api/v3/ticker/24hr", {"symbol": "BTCUSDT"}),
    Call(
        "POST",
        "/api/v3/order",
        {
            "symbol": "BTCUSDT",
            "side": "BUY",
            "type": "LIMIT",
            "timeInForce": "GTC",
            "quantity": "0.001",
            "price": "1000",
        },
        signed=True,
    ),
    Call("GET", "/api/v3/order", {"symbol": "BTCUSDT", "orderId": "1"}, signed=True),
    Call("GET", "/api/v3/openOrders", {"symbol": "BTCUSDT"}, signed=True),
    Call("GET", "/api/v3/account", signed=True),
]
_KEYS = {"APCA-API-KEY-ID": "PKTEST", "APCA-API-SECRET-KEY": "secret"}
ALPACA = [
    Call("GET", "/v2/clock", headers=_KEYS),
    Call("GET", "/v2/assets", {"status": "active"}, headers=_KEYS),
    Call("GET", "/v2/account", headers=_KEYS),
    Call(
        "GET",
        "/v2/stocks/bars",
        {"symbols": "AAPL", "timeframe": "1Min", "limit": "5"},
        headers=_KEYS,
    ),
    Call("GET", "/v2/stocks/trades/latest", {"symbols": "AAPL"}, headers=_KEYS),
    Call("GET", "/v2/stocks/quotes/latest", {"symbols": "AAPL"}, headers=_KEYS),
    Call("GET", "/v2/stocks/snapshots", {"symbols": "AAPL"}, headers=_KEYS),
    Call(
        "POST",
        "/v2/orders",
        json={
            "symbol": "AAPL",
            "qty": "1",
            "side": "buy",
            "type": "limit",
            "time_in_force": "gtc",
            "limit_price": "1",
        },
        headers=_KEYS,
    ),
    Call("GET", "/v2/orders", {"status": "open"}, headers=_KEYS),
    Call("GET", "/v2/orders:by_client_order_id", {"client_order_id": "none"}, headers=_KEYS),
    Call("GET", "/v2/positions", headers=_KEYS),
]
# profile -> (how a client calls each role, how it subscribes to a stream or None)
PROFILES: dict[str, tuple[list[Call], tuple[str, Any] | None]] = {
    "generic": (GENERIC, ("/v1/stream", {"op": "subscribe", "channels": ["book:BTCUSDT"]})),
    "binance-spot": (BINANCE, ("/ws/btcusdt@depth", None)),
    "alpaca": (ALPACA, None),
    "custom (profile YAML)": (CUSTOM_CALLS, None),
}
NO_STREAM = "the profile has no stream"
TOXIC = "toxics act on TCP, not on roles"


async def _call(session: aiohttp.ClientSession, url: str, call: Call) -> None:
    headers, params, data = dict(call.headers), dict(call.params), None
    if call.signed:
        headers["X-MBX-APIKEY"] = "k"
        query = _binance_sign(params)
        params, target = {}, f"{url}{call.path}?{query}"
        if call.method == "POST":
            target, data = f"{url}{call.path}", query
            headers["Content-Type"] = "application/x-www-form-urlencoded"
    else:
        target = url + call.path
    try:
        async with session.request(
            call.method,
            target,
            params=params or None,
            json=call.json,
            data=data,
            headers=headers,
            timeout=TIMEOUT,
        ) as resp:
            await resp.read()
    except (aiohttp.ClientError, TimeoutError, ValueError):
        pass  # the exerciser only has to call: what the fault does is the fault's business


async def _rest(me: MockExchange, calls: list[Call]) -> None:
    # in-process, on virtual time: hangs, latencies and maintenance windows cost nothing
    async with virtual_time(), me.server.intercept(), aiohttp.ClientSession() as session:
        for _ in range(ROUNDS):
            for call in calls:
                await _call(session, me.url, call)


async def _stream(me: MockExchange, stream: tuple[str, Any]) -> None:
    path, subscribe = stream
    async with me.server.serve() as url, aiohttp.ClientSession() as session:
        for _ in range(3):  # reconnect after a dropped stream, as a client would
            try:
                async with session.ws_connect(url.replace("http", "ws", 1) + path) as ws:
                    if subscribe is not None:
                        await ws.send_json(subscribe)
                    for _ in range(40):
                        await ws.receive(timeout=1)
            except (aiohttp.ClientError, TimeoutError, RuntimeError):
                pass


def _exchange(profile: str, seed: int) -> MockExchange:
    return MockExchange.create(CUSTOM if profile.startswith("custom") else profile, seed=seed)


async def fired(scenario: Scenario, profile: str, seed: int = 7) -> int | str:
    """How many faults of ``scenario`` fire against an exerciser of ``profile``; a string
    says why the pair does not apply."""
    if scenario.toxics and not scenario.faults:
        return TOXIC
    calls, stream = PROFILES[profile]
    if scenario.streams and stream is None:
        return NO_STREAM
    me = _exchange(profile, seed)
    chaos = Chaos(me.server, seed=seed)
    chaos.load(scenario)
    runner: Callable[[], Awaitable[None]] = (
        (lambda: _stream(me, stream)) if scenario.streams and stream else (lambda: _rest(me, calls))
    )
    await runner()
    me.server.cancel_tasks()
    return len(chaos.log)


async def matrix() -> dict[str, dict[str, int | str]]:
    library = load_library()
    out: dict[str, dict[str, int | str]] = {}
    for name in sorted(library):
        out[name] = {}
        for profile in PROFILES:
            out[name][profile] = await fired(library[name], profile)
    return out


def render(results: dict[str, dict[str, int | str]]) -> str:
    profiles = list(PROFILES)
    notes = [NO_STREAM, TOXIC]
    lines = [
        "| scenario | " + " | ".join(profiles) + " |",
        "| --- |" + " :---: |" * len(profiles),
    ]
    for name, row in results.items():
        cells = []
        for profile in profiles:
            value = row[profile]
            if isinstance(value, str):
                cells.append(f"n/a ({notes.index(value) + 1})")
            else:
                cells.append("fires" if value > 0 else "**none**")
        lines.append(f"| `{name}` | " + " | ".join(cells) + " |")
    lines += ["", *(f"({i}) {note}." for i, note in enumerate(notes, start=1))]
    return "\n".join(lines)


if __name__ == "__main__":
    print(render(asyncio.run(matrix())))
